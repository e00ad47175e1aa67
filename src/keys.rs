//! The storage layout of format version 1, in code: key names, reserved hash fields, escaping,
//! session ids, the kill receipt and marker keys (1.x's own key names are read by
//! [`crate::migrate::v1`]).
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
    fn v1_markers_are_not_session_keys() {
        assert_ne!(
            AppKeys::new(b"a").v1_marker(&session_id(b"t")),
            AppKeys::new(b"a").session(&session_id(b"t"))
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
