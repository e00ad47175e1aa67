//! The storage layout of format version 1, in code: key names, reserved hash fields, escaping,
//! session ids, the kill receipt and marker keys, and the 1.x key parser.
//!
//! The layout itself (every key, field and invariant, and how each method uses them) is
//! described once, in `docs/design.md`, "Storage layout (format version 1)": keep that section
//! in step with this module.

use sha2::{Digest, Sha256};

/// Name of the hash field that holds the (escaped) owner.
pub const OWNER_FIELD: &[u8] = b"\xFF";

/// Name of the hash field that holds the creation time (ms since the epoch, server clock).
/// Sessions written before session management existed lack it.
pub const CREATED_FIELD: &[u8] = b"\xFE";

/// Name of the hash field that holds the absolute deadline set by `maxAge` (ms since the epoch):
/// no refresh extends the session past it. Absent when the session has no `maxAge`.
pub const DEADLINE_FIELD: &[u8] = b"\xFD";

/// Whether a hash field is one of the layout's own fields rather than a data key. Data keys are
/// UTF-8, which never contains a byte 0xF8..=0xFF, so a one-byte name in that range is reserved.
pub fn is_reserved(field: &[u8]) -> bool {
    matches!(field, [b] if *b >= 0xF8)
}

/// Name of the hash field that keeps the data keys' order, when Redis no longer does.
pub const ORDER_FIELD: &[u8] = b"\xFC";

/// The data keys listed in an order field's value (see the module docs), or `None` when it is
/// malformed.
pub fn decode_order(mut text: &[u8]) -> Option<Vec<&[u8]>> {
    let mut keys = Vec::new();
    while !text.is_empty() {
        let colon = text.iter().position(|&b| b == b':')?;
        let len: usize = std::str::from_utf8(&text[..colon]).ok()?.parse().ok()?;
        let rest = &text[colon + 1..];
        keys.push(rest.get(..len)?);
        text = &rest[len..];
    }
    Some(keys)
}

/// Length in bytes of a session id.
pub const ID_LEN: usize = 16;

/// A session id: what the keyspace stores instead of the token.
pub type SessionId = [u8; ID_LEN];

/// Escapes a name so that it contains none of `:`, `{`, `}` and can be decoded unambiguously.
pub fn escape(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for &b in name {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b':' => out.extend_from_slice(b"\\."),
            b'{' => out.extend_from_slice(b"\\("),
            b'}' => out.extend_from_slice(b"\\)"),
            _ => out.push(b),
        }
    }
    out
}

/// Reverses [`escape`]. Returns `None` for input `escape` cannot have produced.
pub fn unescape(escaped: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(escaped.len());
    let mut bytes = escaped.iter();
    while let Some(&b) = bytes.next() {
        if b == b'\\' {
            out.push(match bytes.next()? {
                b'\\' => b'\\',
                b'.' => b':',
                b'(' => b'{',
                b')' => b'}',
                _ => return None,
            });
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// The session id of a token: the first 16 bytes of its SHA-256 (preimage resistance of 128
/// bits; collisions are caught by `create` anyway).
pub fn session_id(token: &[u8]) -> SessionId {
    let digest = Sha256::digest(token);
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(&digest[..ID_LEN]);
    id
}

/// Length of [`session_id_text`]: 16 bytes in base64url without padding.
pub const ID_TEXT_LEN: usize = 22;

/// The public form of a session id: base64url without padding (22 characters).
pub fn session_id_text(id: &SessionId) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// Parses [`session_id_text`]'s output. `None` for anything it cannot have produced (wrong
/// length, characters outside base64url, padding, non-zero trailing bits).
pub fn parse_session_id(text: &[u8]) -> Option<SessionId> {
    use base64::Engine;
    if text.len() != ID_TEXT_LEN {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    bytes.try_into().ok()
}

fn key(prefix: &[u8], escaped_app: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + escaped_app.len() + 1 + rest.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(escaped_app);
    k.push(b':');
    k.extend_from_slice(rest);
    k
}

/// The keys of one app. Built once per call from the app name.
pub struct AppKeys {
    escaped_app: Vec<u8>,
}

impl AppKeys {
    /// Keys for `app` (WTF-8 bytes).
    pub fn new(app: &[u8]) -> Self {
        AppKeys {
            escaped_app: escape(app),
        }
    }

    /// `S1:<app>:<id>`.
    pub fn session(&self, id: &SessionId) -> Vec<u8> {
        key(b"S1:", &self.escaped_app, id)
    }

    /// `S1:<app>:`: a session key is this followed by the id.
    pub fn session_prefix(&self) -> Vec<u8> {
        key(b"S1:", &self.escaped_app, b"")
    }

    /// `O1:<app>:<owner>` for an already escaped owner.
    pub fn index_for_escaped(&self, escaped_owner: &[u8]) -> Vec<u8> {
        key(b"O1:", &self.escaped_app, escaped_owner)
    }

    /// `O1:<app>:`: an index key is this followed by the escaped owner.
    pub fn index_prefix(&self) -> Vec<u8> {
        key(b"O1:", &self.escaped_app, b"")
    }

    /// `M1:<app>:<id>`: the marker of a 1.x session that has been migrated (see the module docs).
    pub fn v1_marker(&self, id: &SessionId) -> Vec<u8> {
        key(b"M1:", &self.escaped_app, id)
    }

    /// `R1:<app>:s<id>`: the receipt a `kill` of that session leaves (single server).
    pub fn kill_receipt(&self, id: &SessionId) -> Vec<u8> {
        key(b"R1:", &self.escaped_app, &[&b"s"[..], id].concat())
    }

    /// `R1:<app>:o<owner>`: the receipt a `killAll` of that (escaped) owner leaves.
    pub fn kill_all_receipt(&self, escaped_owner: &[u8]) -> Vec<u8> {
        key(
            b"R1:",
            &self.escaped_app,
            &[&b"o"[..], escaped_owner].concat(),
        )
    }

    /// `R1:<app>:c<hex id>` and two (rarely three) bytes that make it hash to `slot`, the
    /// Redis Cluster slot of the session's key, so that one script can write both. The key
    /// holds no `{`/`}`, so its slot is the CRC of all of it, and CRC16 over two appended bytes
    /// reaches every value, so a suffix always exists.
    pub fn kill_receipt_in_slot(&self, id: &SessionId, slot: u16) -> Vec<u8> {
        let mut k = key(b"R1:", &self.escaped_app, b"c");
        for b in id {
            k.extend_from_slice(format!("{b:02x}").as_bytes());
        }
        in_slot(k, slot)
    }
}

/// `prefix` followed by two (rarely three) bytes that make it hash to the Redis Cluster `slot`.
/// `prefix` must hold no `{`/`}`: then the key's slot is the CRC of all of it, and CRC16 over two
/// appended bytes reaches every value, so a suffix always exists.
fn in_slot(mut k: Vec<u8>, slot: u16) -> Vec<u8> {
    let usable = |b: &u8| *b != b'{' && *b != b'}';
    let base = k.iter().fold(0, |crc, &b| crc16_step(crc, b));
    // A third byte only in case every two-byte solution holds a brace.
    for extra in [None, Some(b'0'), Some(b'1')] {
        let start = extra.map_or(base, |c| crc16_step(base, c));
        for a in (0..=255u8).filter(usable) {
            let after_a = crc16_step(start, a);
            for b in (0..=255u8).filter(usable) {
                if crc16_step(after_a, b) % 16384 == slot {
                    k.extend(extra);
                    k.extend_from_slice(&[a, b]);
                    return k;
                }
            }
        }
    }
    k
}

/// The key a durable write's confirmation writes before its `WAIT` (see
/// [`crate::store::durable`]): `D1:`, and on Redis Cluster two bytes that put it in `slot`, a
/// slot of the node to confirm. It holds `1` for a few seconds.
pub fn durability_marker(slot: Option<u16>) -> Vec<u8> {
    match slot {
        Some(slot) => in_slot(b"D1:".to_vec(), slot),
        None => b"D1:".to_vec(),
    }
}

/// One byte of CRC16-XMODEM (polynomial 0x1021, initial value 0): Redis Cluster's key hash.
fn crc16_step(mut crc: u16, byte: u8) -> u16 {
    crc ^= u16::from(byte) << 8;
    for _ in 0..8 {
        crc = if crc & 0x8000 != 0 {
            (crc << 1) ^ 0x1021
        } else {
            crc << 1
        };
    }
    crc
}

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

const V1_APP: &[u8] = b"app:";
const V1_TOKEN: &[u8] = b"|token:";
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn escape_round_trips_and_removes_separators() {
        for name in [
            &b""[..],
            b"plain",
            b"a:b",
            b"{tag}",
            b"\\",
            b"\\.",
            b"*?[|]",
            b"\xed\xa0\x80",
        ] {
            let e = escape(name);
            assert!(!e.contains(&b':') && !e.contains(&b'{') && !e.contains(&b'}'));
            assert_eq!(unescape(&e).as_deref(), Some(name));
        }
        assert_eq!(unescape(b"\\x"), None);
        assert_eq!(unescape(b"trailing\\"), None);
    }

    #[test]
    fn naive_concatenation_collisions_are_distinct_keys() {
        let pairs: [(&[u8], &[u8]); 8] = [
            (b"a:b", b"c"),
            (b"a", b"b:c"),
            (b"a\\", b".b"),
            (b"a", b"\\.b"),
            (b"", b"a:b:c"),
            (b"a:b:c", b""),
            (b"a\\.", b"b"),
            (b"a", b"\\.b"),
        ];
        let mut seen = HashSet::new();
        for (app, owner) in pairs {
            seen.insert(AppKeys::new(app).index_for_escaped(&escape(owner)));
        }
        // The last pair repeats the fourth on purpose; every other pair is distinct.
        assert_eq!(seen.len(), 7);
    }

    #[test]
    fn session_keys_are_prefix_plus_fixed_length_id() {
        let keys = AppKeys::new(b"my:app");
        let id = session_id(b"token");
        // SHA-256("token"), first 16 bytes.
        assert_eq!(id[..4], [0x3c, 0x46, 0x9e, 0x9d]);
        let k = keys.session(&id);
        assert_eq!(&k[..], [&keys.session_prefix()[..], &id[..]].concat());
        assert!(k.starts_with(b"S1:my\\.app:"));
        assert_eq!(keys.index_for_escaped(b"o"), b"O1:my\\.app:o");
        assert_ne!(session_id(b"token"), session_id(b"token2"));
    }

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
        assert_ne!(
            AppKeys::new(b"a").v1_marker(&session_id(b"t")),
            AppKeys::new(b"a").session(&session_id(b"t"))
        );
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
    fn session_id_text_round_trips_and_refuses_anything_else() {
        let id = session_id(b"token");
        let text = session_id_text(&id);
        assert_eq!(text.len(), ID_TEXT_LEN);
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(parse_session_id(text.as_bytes()), Some(id));
        let mut bad_tail = text.clone().into_bytes();
        // The last character carries 2 bits; any other value there is non-canonical.
        bad_tail[21] = if bad_tail[21] == b'B' { b'C' } else { b'B' };
        for bad in [
            &b""[..],
            &text.as_bytes()[..21],
            format!("{text}A").as_bytes(),
            format!("{}==", &text[..20]).as_bytes(),
            b"++++++++++++++++++++++",
            b"//////////////////////",
            "\u{e9}".repeat(11).as_bytes(),
            &bad_tail,
        ] {
            assert_eq!(
                parse_session_id(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn reserved_fields_are_not_utf8_and_distinct() {
        for f in [OWNER_FIELD, CREATED_FIELD, DEADLINE_FIELD] {
            assert!(is_reserved(f));
            assert!(std::str::from_utf8(f).is_err());
        }
        assert_ne!(CREATED_FIELD, DEADLINE_FIELD);
        assert!(!is_reserved(b"a"));
        assert!(!is_reserved("\u{ff}".as_bytes()));
        assert!(!is_reserved(b"\xFEx"));
    }

    #[test]
    fn cluster_kill_receipts_share_their_session_slot() {
        use fred::util::redis_keyslot;
        for app in [&b"a"[..], b"my:app", b"{x}", b""] {
            let keys = AppKeys::new(app);
            for n in 0..300u32 {
                let id = session_id(&n.to_le_bytes());
                let slot = redis_keyslot(&keys.session(&id));
                let receipt = keys.kill_receipt_in_slot(&id, slot);
                assert_eq!(redis_keyslot(&receipt), slot);
                assert!(receipt.starts_with(b"R1:"));
                assert!(!receipt.contains(&b'{') && !receipt.contains(&b'}'));
            }
        }
        let keys = AppKeys::new(b"a");
        let id = session_id(b"t");
        assert_ne!(keys.kill_receipt(&id), keys.kill_all_receipt(&id));
        assert!(keys.kill_receipt(&id).starts_with(b"R1:a:s"));
    }

    #[test]
    fn owner_and_order_fields_are_not_utf8() {
        // Bytes 0xF8..=0xFF never occur in UTF-8 (nor WTF-8), so no data key can equal them.
        assert!(OWNER_FIELD.iter().all(|&b| b >= 0xF8));
        assert!(ORDER_FIELD.iter().all(|&b| b >= 0xF8));
        assert_ne!(OWNER_FIELD, ORDER_FIELD);
        for f in [CREATED_FIELD, DEADLINE_FIELD] {
            assert_ne!(f, ORDER_FIELD);
        }
        assert!(is_reserved(ORDER_FIELD));
    }

    #[test]
    fn decodes_order_fields() {
        assert_eq!(decode_order(b""), Some(vec![]));
        assert_eq!(
            decode_order(b"1:a3:b:c0:"),
            Some(vec![&b"a"[..], b"b:c", b""])
        );
        for bad in [&b"1"[..], b"x:a", b"5:abc", b"-1:"] {
            assert_eq!(decode_order(bad), None);
        }
    }
}
