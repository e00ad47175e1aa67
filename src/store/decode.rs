//! Reading a session's `HGETALL` reply: what `get` returns (the owner, and the data in the
//! order the session stores it), and whether a session holds exactly what a `create` wrote.
//! Plain Rust, no I/O; the same on both topologies.

use std::collections::{BTreeMap, HashMap};

use fred::prelude::Value;

use crate::data::session_json;
use crate::error::{Error, Result};
use crate::keys::{decode_order, is_reserved, unescape, ORDER_FIELD, OWNER_FIELD};
use crate::reply::as_bytes;

/// One field and value of a reply, as bytes when they are strings.
type RawPair<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// The field/value pairs of an `HGETALL` reply (an array of field, value, …, or a RESP3 map),
/// or `None` for a reply of another type. An odd array's last field has no value.
fn raw_pairs(reply: &Value) -> Option<Vec<RawPair<'_>>> {
    match reply {
        Value::Array(items) => Some(
            items
                .chunks(2)
                .map(|pair| {
                    (
                        pair.first().and_then(as_bytes),
                        pair.get(1).and_then(as_bytes),
                    )
                })
                .collect(),
        ),
        Value::Map(map) => Some(
            map.iter()
                .map(|(k, v)| (Some(k.as_bytes()), as_bytes(v)))
                .collect(),
        ),
        _ => None,
    }
}

/// Turns an `HGETALL` reply into the `[owner, data]` JSON text, or `None` for a missing key.
/// The data keys come in the order the order field lists, when the session has one (see
/// [`crate::keys`]), else in the hash's own (insertion) order.
pub(super) fn decode_session(reply: Value) -> Result<Option<String>> {
    if let Value::Null = reply {
        return Ok(None);
    }
    let Some(pairs) = raw_pairs(&reply) else {
        return Err(Error::Protocol(format!(
            "unexpected HGETALL reply: {:?}",
            reply.kind()
        )));
    };
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut owner = None;
    let mut order = None;
    let mut fields = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let (Some(k), Some(v)) = pair else {
            return Err(Error::Protocol("malformed HGETALL reply".into()));
        };
        if k == OWNER_FIELD {
            owner = Some(v);
        } else if k == ORDER_FIELD {
            order = Some(v);
        } else if !is_reserved(k) {
            // Other reserved fields (creation time, deadline) are not data.
            fields.push((k, v));
        }
    }
    let owner = owner
        .and_then(unescape)
        .ok_or_else(|| Error::UnexpectedReply("session hash has no valid owner field".into()))?;
    if let Some(order) = order.and_then(decode_order) {
        fields = in_order(fields, &order);
    }
    session_json(&owner, fields.into_iter()).map(Some)
}

/// `fields` in the order `order` lists their keys; any field it does not list follows, in its
/// place in `fields`.
fn in_order<'a>(fields: Vec<(&'a [u8], &'a [u8])>, order: &[&[u8]]) -> Vec<(&'a [u8], &'a [u8])> {
    let mut slots: HashMap<&[u8], (&'a [u8], &'a [u8])> =
        fields.iter().map(|&(k, v)| (k, (k, v))).collect();
    let mut out = Vec::with_capacity(fields.len());
    for key in order {
        if let Some(field) = slots.remove(key) {
            out.push(field);
        }
    }
    out.extend(fields.into_iter().filter(|(k, _)| slots.contains_key(k)));
    out
}

/// Whether the `HGETALL` `reply` holds exactly the fields `create` writes for `written` (owner
/// field, owner, then data field, value, …). The creation time and deadline are the server's,
/// not part of the comparison; the owner field is. A repeated field in `written` keeps its last
/// value, as with `HSET`.
pub(super) fn is_written(reply: &Value, written: &[Value]) -> bool {
    let kept = |k: &[u8]| k == OWNER_FIELD || !is_reserved(k);
    let stored: Option<BTreeMap<&[u8], &[u8]>> = raw_pairs(reply).and_then(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| Some((k?, v?)))
            .filter(|p| p.is_none_or(|(k, _)| kept(k)))
            .collect()
    });
    let wanted: Option<BTreeMap<&[u8], &[u8]>> = written
        .chunks(2)
        .map(|p| Some((as_bytes(p.first()?)?, as_bytes(p.get(1)?)?)))
        .collect();
    stored.is_some() && stored == wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::CREATED_FIELD;
    use crate::reply::bytes as b;

    #[test]
    fn decodes_hgetall_replies() {
        assert_eq!(decode_session(Value::Array(vec![])).unwrap(), None);
        assert_eq!(decode_session(Value::Null).unwrap(), None);
        let reply = Value::Array(vec![
            b(b"name"),
            b(b"\"John\""),
            b(OWNER_FIELD),
            b(b"u\\.1"),
            b(b"n"),
            b(b"12345678901234567890"),
        ]);
        assert_eq!(
            decode_session(reply).unwrap().unwrap(),
            r#"["u:1",{"name":"John","n":12345678901234567890}]"#
        );
        let ownerless = Value::Array(vec![b(b"name"), b(b"1")]);
        assert!(decode_session(ownerless).is_err());
        let odd = Value::Array(vec![b(OWNER_FIELD), b(b"o"), b(b"name")]);
        assert_eq!(
            decode_session(odd).unwrap_err().code(),
            crate::error::ErrorCode::Protocol
        );
        let number = Value::Integer(1);
        assert_eq!(
            decode_session(number).unwrap_err().code(),
            crate::error::ErrorCode::Protocol
        );
    }

    #[test]
    fn follows_the_order_field() {
        let reply = Value::Array(vec![
            b(b"c"),
            b(b"3"),
            b(OWNER_FIELD),
            b(b"o"),
            b(b"a"),
            b(b"1"),
            b(ORDER_FIELD),
            b(b"1:a1:b1:c"),
            b(b"z"),
            b(b"26"),
        ]);
        // "b" is listed but gone; "z" is not listed and follows in hash order.
        assert_eq!(
            decode_session(reply).unwrap().unwrap(),
            r#"["o",{"a":1,"c":3,"z":26}]"#
        );
    }

    #[test]
    fn recognises_its_own_write() {
        let written = [b(OWNER_FIELD), b(b"o"), b(b"a"), b(b"1")];
        // As create wrote it, with the creation time the server added.
        let stored = Value::Array(vec![
            b(OWNER_FIELD),
            b(b"o"),
            b(CREATED_FIELD),
            b(b"1700000000000"),
            b(b"a"),
            b(b"1"),
        ]);
        assert!(is_written(&stored, &written));
        let other_data = Value::Array(vec![b(OWNER_FIELD), b(b"o"), b(b"a"), b(b"2")]);
        assert!(!is_written(&other_data, &written));
        let other_owner = Value::Array(vec![b(OWNER_FIELD), b(b"p"), b(b"a"), b(b"1")]);
        assert!(!is_written(&other_owner, &written));
        assert!(!is_written(&Value::Null, &written));
        assert!(!is_written(&Value::Array(vec![b(OWNER_FIELD)]), &written));
    }
}
