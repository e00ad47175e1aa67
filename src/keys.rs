//! The storage layout, in one place. Format version 1.
//!
//! | what | key | type | contents |
//! | --- | --- | --- | --- |
//! | a session | `S1:<app>:<id>` | hash | field `\xFF` → `<owner>`; one field per top-level data key → that value's JSON text |
//! | | | | field `\xFE` (only once Redis stores the hash unordered) → the data keys in order |
//! | an owner's index | `O1:<app>:<owner>` | sorted set | member `<id>`, score = expiry in seconds since the epoch, rounded up (`+inf`: never) |
//!
//! - `<id>` is the first 16 bytes of SHA-256(token), as raw bytes. The token itself is never
//!   stored, so a dump of the keyspace yields no usable token. Raw bytes rather than text keep
//!   every key and index member short (memory per session is a product requirement).
//! - `<app>` and `<owner>` are the names' bytes (WTF-8, see [`crate::text`]) escaped by
//!   [`escape`]: `\` → `\\`, `:` → `\.`, `{` → `\(`, `}` → `\)`. The escaped form holds no `:`,
//!   so the parts of a key are always told apart (the id has a fixed length), and no `{…}`, so
//!   user input never picks a Redis Cluster hash slot (the id's bytes come from a hash).
//! - The owner field's name is the single byte `0xFF`, which never occurs in UTF-8 and therefore
//!   never equals a data key. It holds the *escaped* owner so that a script can form the index
//!   key as `index_prefix(app) .. owner` without re-implementing the escaping.
//! - The order field `0xFE` (also never in UTF-8) keeps the data keys' order once Redis has
//!   converted the hash from a listpack (insertion-ordered) to a hashtable (unordered): each
//!   key, in order, as `<decimal length>:<bytes>`. The scripts write it (`lua/lib.lua`);
//!   sessions without it are in insertion order already.
//! - The `1` in `S1:`/`O1:` is the layout version; a later version can find and migrate these keys.

use sha2::{Digest, Sha256};

/// Name of the hash field that holds the (escaped) owner.
pub const OWNER_FIELD: &[u8] = b"\xFF";

/// Name of the hash field that keeps the data keys' order, when Redis no longer does.
pub const ORDER_FIELD: &[u8] = b"\xFE";

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
    fn owner_and_order_fields_are_not_utf8() {
        // Bytes 0xF8..=0xFF never occur in UTF-8 (nor WTF-8), so no data key can equal them.
        assert!(OWNER_FIELD.iter().all(|&b| b >= 0xF8));
        assert!(ORDER_FIELD.iter().all(|&b| b >= 0xF8));
        assert_ne!(OWNER_FIELD, ORDER_FIELD);
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
