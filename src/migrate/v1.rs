//! The 1.x format, as the migration reads it: a session's key name, split into app, token and
//! owner; the token rule that decides whether it may be converted; and its value, as
//! `lua/v1_read.lua` reads it back and as it splits into the fields `create` would store.
//!
//! 1.x stored a session as the string key `app:<app>|token:<token>|ownerId:<owner>` holding
//! `JSON.stringify(data)`. The current layout, which the migration writes, is
//! [`crate::keys`]; this file is only about what 1.x left behind, which nothing but
//! [`crate::migrate`] reads. Plain Rust, no I/O.

use fred::bytes::Bytes;
use fred::prelude::Value;

use crate::data::split_object;
use crate::error::{Error, Result};
use crate::reply::{as_bytes, as_int, unexpected};

/// The `SCAN MATCH` pattern of 1.x session keys. It is narrower than `app:*` on purpose: an
/// application's own keys that merely start with `app:` are not 1.x sessions and not ours to
/// report. (`|` and `:` are not special in a glob.)
pub const V1_PATTERN: &str = "app:*|token:*|ownerId:*";

/// The parts of a 1.x session key name, as raw bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct V1Key<'a> {
    /// The app name.
    pub app: &'a [u8],
    /// The token (1.x tokens are base64, base64url or hex text).
    pub token: &'a [u8],
    /// The owner id.
    pub owner: &'a [u8],
}

/// What a 1.x key name starts with.
const V1_APP: &[u8] = b"app:";
/// What stands between the app and the token.
const V1_TOKEN: &[u8] = b"|token:";
/// What stands between the token and the owner.
const V1_OWNER: &[u8] = b"|ownerId:";

/// Start offsets of every occurrence of `needle` in `haystack` (the separators start with `|`,
/// which occurs nowhere else in them, so occurrences never overlap).
fn occurrences(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter_map(|(i, w)| (w == needle).then_some(i))
        .collect()
}

/// Splits a 1.x key name `app:<app>|token:<token>|ownerId:<owner>` into its parts.
///
/// 1.x built the name by plain concatenation, so a name in which either separator occurs more
/// than once (an app containing `|token:`, an owner or token containing `|ownerId:`, …) has
/// several readings; it is refused with the reason, never guessed.
pub fn parse_v1_key(name: &[u8]) -> std::result::Result<V1Key<'_>, String> {
    let rest = name
        .strip_prefix(V1_APP)
        .ok_or_else(|| "not a 1.x session key (no `app:` prefix)".to_string())?;
    let tokens = occurrences(rest, V1_TOKEN);
    let owners = occurrences(rest, V1_OWNER);
    if tokens.len() > 1 || owners.len() > 1 {
        let times = |n: usize| match n {
            0 => "no".to_string(),
            1 => "once".to_string(),
            n => format!("{n} times"),
        };
        return Err(format!(
            "ambiguous name: `|token:` occurs {}, `|ownerId:` {}; an app, token or ownerId contains a separator, so the name cannot be split without guessing",
            times(tokens.len()),
            times(owners.len())
        ));
    }
    match (tokens.first(), owners.first()) {
        (Some(&t), Some(&o)) if t + V1_TOKEN.len() <= o => Ok(V1Key {
            app: &rest[..t],
            token: &rest[t + V1_TOKEN.len()..o],
            owner: &rest[o + V1_OWNER.len()..],
        }),
        _ => Err("not a 1.x session key (needs `|token:` then `|ownerId:`)".to_string()),
    }
}

/// The shortest 1.x token the migration converts, in characters: 8 random bytes in base64url
/// (11 characters; base64 gives 12, hex 16). 8 bytes is the smallest `tokenSize` 2.x accepts;
/// 1.x checked nothing, so `tokenSize: 0` gave the empty token and a small one a token anyone
/// could guess. Such a session is not converted: its users sign in again.
pub const MIN_V1_TOKEN_LEN: usize = 11;

/// Whether a 1.x token may be converted ([`MIN_V1_TOKEN_LEN`]), or why not. The reason never
/// quotes the token.
pub fn check_v1_token(token: &[u8]) -> std::result::Result<(), String> {
    match token.len() {
        0 => Err("empty token: 1.x never issues one, and a session opened by the empty string would be open to anyone".into()),
        n if n < MIN_V1_TOKEN_LEN => Err(format!(
            "token too short: {n} characters, fewer than the {MIN_V1_TOKEN_LEN} of 8 random bytes (the smallest tokenSize), so it could be guessed"
        )),
        _ => Ok(()),
    }
}

/// The parts of a 1.x key name that every reading of it agrees on, for a name that
/// [`parse_v1_key`] refuses: the app when `|token:` occurs once (the app is everything before
/// it), the owner when `|ownerId:` occurs once (everything after it). Neither ever holds a part
/// of the token, which always lies between the two separators.
pub fn v1_fixed_parts(name: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let Some(rest) = name.strip_prefix(V1_APP) else {
        return (None, None);
    };
    let tokens = occurrences(rest, V1_TOKEN);
    let owners = occurrences(rest, V1_OWNER);
    let app = match tokens[..] {
        [t] => Some(&rest[..t]),
        _ => None,
    };
    let owner = match owners[..] {
        // The owner's separator must follow a token separator, or no reading exists at all.
        [o] if tokens.first().is_some_and(|&t| t + V1_TOKEN.len() <= o) => {
            Some(&rest[o + V1_OWNER.len()..])
        }
        _ => None,
    };
    (app, owner)
}

/// One data field as stored: the key and its value's JSON text.
pub(super) type StoredField = (Vec<u8>, Vec<u8>);

/// The 1.x value read from a key: its JSON text, remaining life in seconds (0: never) and PTTL.
#[derive(Debug)]
pub(super) struct V1Value {
    /// The JSON text 1.x stored.
    pub(super) value: Bytes,
    /// Remaining life in whole seconds, as `create` takes it (0: never expires).
    pub(super) duration: u64,
    /// Remaining life in ms as `PTTL` gives it (-1: never expires), for the marker.
    pub(super) pttl: i64,
}

/// The reply of `v1_read.lua`: `Ok(None)` when the key is gone, `Err(reason)` when it is not a
/// string.
pub(super) fn decode_read(
    reply: Vec<Value>,
) -> Result<std::result::Result<Option<V1Value>, String>> {
    let kind = reply
        .first()
        .and_then(as_bytes)
        .ok_or_else(|| unexpected("the 1.x read"))?;
    match kind {
        b"none" => Ok(Ok(None)),
        b"string" => {
            let (Some(value), Some(duration), Some(pttl)) = (
                reply.get(1).and_then(as_bytes),
                reply.get(2).and_then(as_int),
                reply.get(3).and_then(as_int),
            ) else {
                return Err(unexpected("the 1.x read"));
            };
            Ok(Ok(Some(V1Value {
                value: Bytes::copy_from_slice(value),
                duration: duration.max(0) as u64,
                pttl,
            })))
        }
        other => Ok(Err(format!(
            "wrong type: a {}, where 1.x stored a string",
            String::from_utf8_lossy(other)
        ))),
    }
}

/// The data fields of a 1.x value, as `create` would store them, or why it cannot be converted.
/// No reason quotes the value: serde's own messages do (`invalid type: string "…"`), so only its
/// syntax messages (fixed texts with a position) are passed on.
pub(super) fn split_value(value: &[u8]) -> std::result::Result<Vec<StoredField>, String> {
    let text = std::str::from_utf8(value).map_err(|_| "not JSON: not UTF-8 text".to_string())?;
    if let Err(e) = serde_json::from_str::<&serde_json::value::RawValue>(text) {
        return Err(match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("not JSON: {e}")
            }
            _ => format!("not JSON (line {} column {})", e.line(), e.column()),
        });
    }
    let kind = match text.trim_start().as_bytes().first() {
        Some(b'{') => None,
        Some(b'[') => Some("an array"),
        Some(b'"') => Some("a string"),
        Some(b't' | b'f') => Some("a boolean"),
        Some(b'n') => Some("null"),
        _ => Some("a number"),
    };
    if let Some(kind) = kind {
        return Err(format!("data must be a JSON object, got {kind}"));
    }
    // An object: its remaining errors are the documented limits, which quote nothing.
    let fields = split_object(text).map_err(|e| match e {
        Error::InvalidArgument { reason, .. } => format!("data {reason}"),
        other => other.to_string(),
    })?;
    Ok(fields
        .into_iter()
        .map(|(k, v)| (k, v.get().as_bytes().to_vec()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1_key_names() {
        let k = parse_v1_key(b"app:my-app|token:ab+/c=|ownerId:u:1").unwrap();
        assert_eq!(k.app, b"my-app");
        assert_eq!(k.token, b"ab+/c=");
        assert_eq!(k.owner, b"u:1");
        let empty = parse_v1_key(b"app:|token:|ownerId:").unwrap();
        assert_eq!(
            (empty.app, empty.token, empty.owner),
            (&b""[..], &b""[..], &b""[..])
        );
        // Other separators-like text is fine as long as each separator occurs once.
        let odd = parse_v1_key(b"app:a|b:c|token:t|ownerId:|token").unwrap();
        assert_eq!((odd.app, odd.owner), (&b"a|b:c"[..], &b"|token"[..]));
    }

    #[test]
    fn refuses_ambiguous_and_foreign_v1_names() {
        for bad in [
            &b"app:a|token:b|token:c|ownerId:o"[..],
            b"app:a|token:t|ownerId:o|ownerId:p",
            b"app:a|token:t|ownerId:o|token:x",
        ] {
            assert!(parse_v1_key(bad).unwrap_err().starts_with("ambiguous"));
        }
        for bad in [
            &b"app:a|ownerId:o|token:t"[..],
            b"app:a|token:t",
            b"apps:a|token:t|ownerId:o",
            b"app:a|token:t|ownerId",
        ] {
            assert!(parse_v1_key(bad).unwrap_err().starts_with("not a 1.x"));
        }
    }

    #[test]
    fn v1_tokens_shorter_than_8_random_bytes_are_refused() {
        assert!(check_v1_token(b"").unwrap_err().starts_with("empty token"));
        for short in [&b"Zq9"[..], b"Zq9x==", b"0123456789"] {
            let reason = check_v1_token(short).unwrap_err();
            assert!(reason.starts_with("token too short"), "{reason}");
            assert!(!reason.contains(std::str::from_utf8(short).unwrap()));
        }
        // 8 random bytes, as 1.x's encodings write them: base64url, base64, hex.
        for ok in [&b"AAAAAAAAAAA"[..], b"AAAAAAAAAAA=", b"0011223344556677"] {
            assert!(check_v1_token(ok).is_ok());
        }
        assert_eq!(MIN_V1_TOKEN_LEN, "AAAAAAAAAAA".len());
    }

    #[test]
    fn v1_fixed_parts_never_hold_the_token() {
        // `|ownerId:` twice: the app is fixed, the owner and token are not.
        assert_eq!(
            v1_fixed_parts(b"app:a|token:SECRET|ownerId:o|ownerId:p"),
            (Some(&b"a"[..]), None)
        );
        // `|token:` twice (an app containing it): the owner is fixed, the app is not.
        assert_eq!(
            v1_fixed_parts(b"app:my|token:app|token:SECRET|ownerId:o"),
            (None, Some(&b"o"[..]))
        );
        assert_eq!(
            v1_fixed_parts(b"app:a|token:x|token:y|ownerId:o|ownerId:p"),
            (None, None)
        );
        assert_eq!(v1_fixed_parts(b"apps:a|token:t|ownerId:o"), (None, None));
        assert_eq!(
            v1_fixed_parts(b"app:a|ownerId:o|token:t"),
            (Some(&b"a|ownerId:o"[..]), None)
        );
    }

    #[test]
    fn splits_1x_values_or_says_why_not() {
        let fields = split_value(br#"{"a":{"b":[1,2]},"n":12345678901234567890}"#).unwrap();
        assert_eq!(fields[0], (b"a".to_vec(), br#"{"b":[1,2]}"#.to_vec()));
        assert_eq!(fields[1].1, b"12345678901234567890".to_vec());
        assert!(split_value(b"{}").unwrap().is_empty());
        assert!(split_value(b"{not json")
            .unwrap_err()
            .starts_with("not JSON"));
        assert!(split_value(b"\xff").unwrap_err().starts_with("not JSON"));
        for not_object in [&b"null"[..], b"[1]", b"\"s\"", b"3"] {
            let reason = split_value(not_object).unwrap_err();
            assert!(reason.contains("must be a JSON object"), "{reason}");
        }
    }

    #[test]
    fn decodes_reads() {
        let s = |t: &str| Value::String(t.into());
        assert!(matches!(decode_read(vec![s("none")]).unwrap(), Ok(None)));
        let hash = decode_read(vec![s("hash")]).unwrap().unwrap_err();
        assert!(hash.contains("a hash"));
        let read = decode_read(vec![
            s("string"),
            s("{}"),
            Value::Integer(60),
            Value::Integer(59_600),
        ])
        .unwrap()
        .unwrap()
        .unwrap();
        assert_eq!(
            (read.duration, read.pttl, &read.value[..]),
            (60, 59_600, &b"{}"[..])
        );
        assert!(decode_read(vec![s("string")]).is_err());
        assert!(decode_read(vec![]).is_err());
    }

    #[test]
    fn value_reasons_never_quote_the_data() {
        for (value, needle) in [
            (&br#""secret-data""#[..], "got a string"),
            (b"12345678", "got a number"),
            (b"[\"secret-data\"]", "got an array"),
            (b"true", "got a boolean"),
            (b"null", "got null"),
            (b"{\"a\":\"secret-data\"", "not JSON"),
            (b"{\"a\":secret-data}", "not JSON"),
            (b"\"secret-data", "not JSON"),
        ] {
            let reason = split_value(value).unwrap_err();
            assert!(reason.contains(needle), "{reason}");
            assert!(
                !reason.contains("secret") && !reason.contains("12345678"),
                "{reason}"
            );
        }
    }
}
