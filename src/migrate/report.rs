//! What a batch of the migration reports, and what it never shows. A 1.x key's name holds the
//! raw token, so an entry names a key by what its name safely fixes (app, owner, session id),
//! and every error message is [`scrub`]bed of echoed arguments and runs of the token before it
//! reaches a report or a rejection. Plain Rust, no I/O.

use super::v1::{parse_v1_key, v1_fixed_parts, MIN_V1_TOKEN_LEN};
use crate::error::Error;
use crate::keys::{session_id, session_id_text};
use crate::text::push_json_string;

/// A 1.x key that was not converted, as a report shows it: never the key's name, which holds
/// the raw token. `None` (JSON `null`) where the name does not fix the part: an ambiguous name
/// has no certain token (so no session id) and perhaps no certain app or owner; a token too
/// short to convert has no session id either, as its id could be reversed by trying every
/// token that short.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The app name (WTF-8).
    pub app: Option<Vec<u8>>,
    /// The owner id (WTF-8).
    pub owner: Option<Vec<u8>>,
    /// The session's public id (`SpotsSessions.sessionIdOf(token)`).
    pub session_id: Option<String>,
    /// Why it was skipped or what failed; never the token or the session's data.
    pub reason: String,
}

impl Entry {
    /// The entry of the key `name`, with what its name says safely, and `reason`.
    pub(super) fn of(name: &[u8], reason: String) -> Self {
        match parse_v1_key(name) {
            Ok(v1) => Entry {
                app: Some(v1.app.to_vec()),
                owner: Some(v1.owner.to_vec()),
                session_id: (v1.token.len() >= MIN_V1_TOKEN_LEN)
                    .then(|| session_id_text(&session_id(v1.token))),
                reason,
            },
            Err(_) => {
                let (app, owner) = v1_fixed_parts(name);
                Entry {
                    app: app.map(<[u8]>::to_vec),
                    owner: owner.map(<[u8]>::to_vec),
                    session_id: None,
                    reason: format!(
                        "{reason} (the name holds the token, so it is not shown; app and ownerId are given only where the name fixes them)"
                    ),
                }
            }
        }
    }

    /// The entry of the key `name` whose conversion failed with `err`.
    pub(super) fn failed(name: &[u8], err: &Error) -> Self {
        let token = parse_v1_key(name).ok().map(|v1| v1.token);
        Entry::of(name, scrub(&err.to_string(), token))
    }

    /// Appends the entry as a JSON object, `null` for a part the name does not fix. By hand, as
    /// [`BatchReport::to_json`] is, so that a lone surrogate survives.
    fn push_json(&self, out: &mut String) {
        let part = |out: &mut String, v: Option<&[u8]>| match v {
            Some(bytes) => push_json_string(out, bytes),
            None => out.push_str("null"),
        };
        out.push_str("{\"app\":");
        part(out, self.app.as_deref());
        out.push_str(",\"ownerId\":");
        part(out, self.owner.as_deref());
        out.push_str(",\"sessionId\":");
        part(out, self.session_id.as_deref().map(str::as_bytes));
        out.push_str(",\"reason\":");
        push_json_string(out, self.reason.as_bytes());
        out.push('}');
    }
}

/// Shortest run of a token's characters that [`scrub`] hides.
const SCRUB_RUN: usize = 8;

/// Longest error message a report keeps, in bytes.
const SCRUB_MAX: usize = 1_000;

/// An error message as a report (or a rejection) may show it: Redis's echo of a command's
/// arguments (`…, with args beginning with: '<key>' …`, for a command renamed or disabled on the
/// server) cut off, and every run of [`SCRUB_RUN`] or more bytes that also occurs in `token`
/// replaced by `…`, whatever else quoted it.
pub fn scrub(message: &str, token: Option<&[u8]>) -> String {
    let mut text = message.as_bytes();
    if let Some(at) = find(text, b"with args beginning with") {
        text = &text[..at];
    }
    let text = &text[..text.len().min(SCRUB_MAX)];
    let Some(token) = token.filter(|t| t.len() >= SCRUB_RUN) else {
        return String::from_utf8_lossy(text).into_owned();
    };
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        // The longest run from `i` that occurs in the token.
        let mut len = 0;
        for n in SCRUB_RUN..=(text.len() - i).min(token.len()) {
            if find(token, &text[i..i + n]).is_some() {
                len = n;
            } else {
                break;
            }
        }
        if len > 0 {
            out.extend_from_slice("…".as_bytes());
            i += len;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where `needle` first occurs in `haystack`. Bytes, not `str::find`: a message cut at
/// [`SCRUB_MAX`] may end inside a character, and a token need not be UTF-8.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The report of one batch, merged into the run's report by the JavaScript layer.
#[derive(Debug, Default)]
pub struct BatchReport {
    /// 1.x keys `SCAN` listed in this batch.
    pub scanned: u64,
    /// Converted by this run.
    pub migrated: u64,
    /// Converted before (or the session exists); left as they are.
    pub already: u64,
    /// 1.x keys deleted (`deleteOld`).
    pub deleted: u64,
    /// Keys not converted, with the reason.
    pub skipped: Vec<Entry>,
    /// Keys whose conversion failed (a Redis error), with the message. A later run retries them.
    pub errors: Vec<Entry>,
    /// Where the next batch starts; `None` when every server has been scanned.
    pub cursor: Option<String>,
    /// On the first batch: the number of keys on the scanned servers (`DBSIZE`), for an ETA.
    pub total_keys: Option<u64>,
}

impl BatchReport {
    /// The JSON text the JavaScript layer parses. Written by hand rather than through
    /// `serde_json::Value`, whose strings cannot hold the lone surrogates an app or owner may.
    pub fn to_json(&self) -> String {
        let mut out = format!(
            "{{\"scanned\":{},\"migrated\":{},\"alreadyMigrated\":{},\"deleted\":{}",
            self.scanned, self.migrated, self.already, self.deleted
        );
        for (name, list) in [("skipped", &self.skipped), ("errors", &self.errors)] {
            out.push_str(&format!(",\"{name}\":["));
            for (i, entry) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                entry.push_json(&mut out);
            }
            out.push(']');
        }
        out.push_str(",\"cursor\":");
        match &self.cursor {
            Some(c) => push_json_string(&mut out, c.as_bytes()),
            None => out.push_str("null"),
        }
        out.push_str(",\"totalKeys\":");
        match self.total_keys {
            Some(n) => out.push_str(&n.to_string()),
            None => out.push_str("null"),
        }
        out.push('}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_as_json_without_key_names() {
        let report = BatchReport {
            scanned: 3,
            migrated: 1,
            skipped: vec![
                Entry::of(b"app:a\xed\xa0\x80|token:|ownerId:o", "why".into()),
                Entry::of(
                    b"app:a|token:t|token:SECRETSECRET|ownerId:o",
                    "ambiguous".into(),
                ),
            ],
            errors: vec![Entry::of(
                b"app:a|token:SECRETSECRET|ownerId:o",
                "failed".into(),
            )],
            cursor: Some("0:5".into()),
            ..Default::default()
        };
        let text = report.to_json();
        assert!(
            !text.contains("SECRET") && !text.contains("token:"),
            "{text}"
        );
        // A lone surrogate in an app comes out as the escape JSON.parse turns back into it.
        assert!(text.contains(r#""app":"a\ud800""#), "{text}");
        // serde_json refuses lone surrogates, so read the rest without that entry.
        let text = text.replace(r"\ud800", "");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["scanned"], 3);
        assert_eq!(v["alreadyMigrated"], 0);
        assert_eq!(v["skipped"][0]["reason"], "why");
        assert_eq!(v["skipped"][0]["ownerId"], "o");
        // The empty token is too short: no session id, which would reveal it.
        assert!(v["skipped"][0]["sessionId"].is_null());
        assert!(v["skipped"][1]["app"].is_null());
        assert_eq!(v["skipped"][1]["ownerId"], "o");
        assert!(v["skipped"][1]["sessionId"].is_null());
        assert!(v["skipped"][1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("ambiguous (the name holds the token"));
        assert_eq!(
            v["errors"][0]["sessionId"],
            session_id_text(&session_id(b"SECRETSECRET"))
        );
        assert_eq!(v["errors"][0]["reason"], "failed");
        assert_eq!(v["cursor"], "0:5");
        assert!(v["totalKeys"].is_null());
    }

    #[test]
    fn scrubs_echoed_arguments_and_token_runs() {
        let token = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let echoed = "ERR unknown command 'MGET', with args beginning with: 'app:a|token:abcdefghijklmnopqrstuvwxyz0123456789|ownerId:o' ";
        assert_eq!(scrub(echoed, None), "ERR unknown command 'MGET', ");
        let quoted = "ERR something about 'xx abcdefghijklmnopqrst yy' and qrstuvwxyz0123 too";
        let out = scrub(quoted, Some(token));
        assert_eq!(out, "ERR something about 'xx … yy' and … too");
        // Runs shorter than SCRUB_RUN are ordinary words that happen to share letters.
        assert_eq!(scrub("ERR abc", Some(token)), "ERR abc");
        assert_eq!(scrub("plain", Some(b"")), "plain");
        let err = Error::Redis(echoed.into()).map_message(|m| scrub(&m, None));
        assert_eq!(err.code(), crate::error::ErrorCode::Redis);
        assert!(!err.to_string().contains("abcdefgh"));
    }
}
