//! Session management beyond 1.x (`list`, `count`, `maxSessions`, `maxAge`, `rotate`, …): the
//! options, and the decoding of what the management scripts return. Plain Rust, no I/O; the
//! Redis work is in [`crate::store`], the layout in [`crate::keys`].

use fred::prelude::Value;

use crate::error::{Error, Result};
use crate::keys::{is_reserved, session_id_text, SessionId, CREATED_FIELD, ID_LEN};
use crate::reply::{as_bytes, as_u64};
use crate::text::push_json_string;

/// `create`'s session management options, already validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CreateLimits {
    /// Absolute lifetime in seconds from creation (`maxAge`).
    pub max_age: Option<u64>,
    /// Most live sessions the owner keeps in that app (`maxSessions`).
    pub max_sessions: Option<u32>,
}

fn malformed(what: &str) -> Error {
    Error::UnexpectedReply(format!(
        "unexpected reply from a session management script: {what}"
    ))
}

/// The field/value pairs of an `HGETALL` reply made inside a script (a flat array).
pub fn hash_pairs(reply: &Value) -> Result<Vec<(&[u8], &[u8])>> {
    let items: &[Value] = match reply {
        Value::Array(items) => items,
        Value::Null => &[],
        _ => return Err(malformed("a session hash is not an array")),
    };
    if !items.len().is_multiple_of(2) {
        return Err(malformed("a session hash has an odd length"));
    }
    items
        .chunks(2)
        .map(|pair| match (as_bytes(&pair[0]), as_bytes(&pair[1])) {
            (Some(k), Some(v)) => Ok((k, v)),
            _ => Err(malformed("a session field is not a string")),
        })
        .collect()
}

/// The value of field `name` in `pairs`.
pub fn field<'a>(pairs: &[(&'a [u8], &'a [u8])], name: &[u8]) -> Option<&'a [u8]> {
    pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
}

/// A 16-byte session id from an index member.
pub fn member_id(member: &[u8]) -> Result<SessionId> {
    member
        .try_into()
        .map_err(|_| malformed(&format!("an index member is not {ID_LEN} bytes")))
}

/// One live session, ready to be listed.
#[derive(Debug)]
pub struct Listed {
    /// Creation time (ms since the epoch); `None` for a session created before it was stored.
    pub created: Option<u64>,
    id: SessionId,
    json: String,
}

impl Listed {
    /// `["<sessionId>",createdAt|null,expiresAt|null,{data}]` for a session `id` whose expiry
    /// is `expiry` (ms since the epoch, `0`: never) and whose hash is `pairs`.
    pub fn new(id: SessionId, expiry: u64, pairs: &[(&[u8], &[u8])]) -> Result<Self> {
        let created = field(pairs, CREATED_FIELD)
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok());
        let mut json = String::with_capacity(64);
        json.push_str("[\"");
        json.push_str(&session_id_text(&id));
        json.push_str("\",");
        push_number_or_null(&mut json, created);
        json.push(',');
        push_number_or_null(&mut json, (expiry > 0).then_some(expiry));
        json.push_str(",{");
        let mut first = true;
        for (k, v) in pairs.iter().filter(|(k, _)| !is_reserved(k)) {
            let v = std::str::from_utf8(v).map_err(|_| {
                Error::UnexpectedReply("a session field holds bytes that are not JSON".into())
            })?;
            if !first {
                json.push(',');
            }
            first = false;
            push_json_string(&mut json, k);
            json.push(':');
            json.push_str(v);
        }
        json.push_str("}]");
        Ok(Listed { created, id, json })
    }

    /// The session's id.
    pub fn id(&self) -> &SessionId {
        &self.id
    }
}

/// Newest first: by creation time, latest first; sessions without one (created before it was
/// stored) last; equal times by id, so that the order is stable.
pub fn sort_newest_first(sessions: &mut [Listed]) {
    sessions.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
}

/// The JSON array text that `list` hands to JavaScript, newest first, at most `limit` of them.
pub fn list_json(mut sessions: Vec<Listed>, limit: Option<u32>) -> String {
    sort_newest_first(&mut sessions);
    if let Some(limit) = limit {
        sessions.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    let mut out =
        String::with_capacity(2 + sessions.iter().map(|s| s.json.len() + 1).sum::<usize>());
    out.push('[');
    for (i, s) in sessions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&s.json);
    }
    out.push(']');
    out
}

fn push_number_or_null(out: &mut String, n: Option<u64>) {
    match n {
        Some(n) => out.push_str(&n.to_string()),
        None => out.push_str("null"),
    }
}

/// Decodes list.lua's reply (`{ id, expiry, fields, … }`).
pub fn decode_list(reply: &Value) -> Result<Vec<Listed>> {
    let Value::Array(items) = reply else {
        return Ok(Vec::new());
    };
    if !items.len().is_multiple_of(3) {
        return Err(malformed("list reply length"));
    }
    items
        .chunks(3)
        .map(|entry| {
            let id = member_id(as_bytes(&entry[0]).ok_or_else(|| malformed("session id"))?)?;
            let expiry = as_u64(&entry[1]).ok_or_else(|| malformed("expiry"))?;
            Listed::new(id, expiry, &hash_pairs(&entry[2])?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{session_id, DEADLINE_FIELD, OWNER_FIELD};
    use crate::reply::bytes as b;

    #[test]
    fn lists_newest_first_without_reserved_fields() {
        let (a, c, old) = (session_id(b"a"), session_id(b"c"), session_id(b"old"));
        let reply = Value::Array(vec![
            b(&old),
            b(b"0"),
            Value::Array(vec![b(OWNER_FIELD), b(b"o"), b(b"k"), b(b"1")]),
            b(&a),
            b(b"5000"),
            Value::Array(vec![
                b(OWNER_FIELD),
                b(b"o"),
                b(CREATED_FIELD),
                b(b"100"),
                b(DEADLINE_FIELD),
                b(b"9000"),
                b(b"x"),
                b(b"\"y\""),
            ]),
            b(&c),
            Value::Integer(6000),
            Value::Array(vec![b(OWNER_FIELD), b(b"o"), b(CREATED_FIELD), b(b"200")]),
        ]);
        let json = list_json(decode_list(&reply).unwrap(), None);
        let expected = format!(
            r#"[["{}",200,6000,{{}}],["{}",100,5000,{{"x":"y"}}],["{}",null,null,{{"k":1}}]]"#,
            session_id_text(&c),
            session_id_text(&a),
            session_id_text(&old)
        );
        assert_eq!(json, expected);
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 3);
        // A limit keeps the newest.
        let two = list_json(decode_list(&reply).unwrap(), Some(2));
        assert_eq!(two, expected.rsplit_once(",[").unwrap().0.to_string() + "]");
        assert_eq!(list_json(decode_list(&reply).unwrap(), Some(9)), expected);
    }

    #[test]
    fn refuses_malformed_replies() {
        assert!(decode_list(&Value::Array(vec![
            b(b"short"),
            b(b"0"),
            Value::Array(vec![])
        ]))
        .is_err());
        assert!(decode_list(&Value::Array(vec![b(b"x")])).is_err());
        let id = crate::keys::session_id(b"t");
        let odd = Value::Array(vec![b(&id), b(b"0"), Value::Array(vec![b(b"k")])]);
        assert!(decode_list(&odd).is_err());
        assert!(hash_pairs(&Value::Array(vec![b(b"k")])).is_err());
        assert!(decode_list(&Value::Array(vec![])).unwrap().is_empty());
    }
}
