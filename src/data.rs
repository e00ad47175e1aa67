//! Session data on the wire and in Redis.
//!
//! JavaScript hands `data` over as `JSON.stringify` text. It is split here into its top-level
//! fields, each kept as the exact JSON text of its value (numbers are never re-encoded, so they
//! come back exactly). `get` reassembles the fields into one JSON text for `JSON.parse`.
//!
//! Keys are kept as WTF-8 bytes (see [`crate::text`]): `JSON.stringify` writes a key holding a
//! lone surrogate as a `\uD800` escape, which is valid JSON but not UTF-8, and such a key must be
//! stored (and come back) like the same string nested deeper, whose text is kept verbatim.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::text::push_json_string;
use crate::validate::{MAX_DATA_BYTES, MAX_DATA_FIELDS};

/// One top-level field: the key (WTF-8) and its value's JSON text.
pub type Field<'a> = (Vec<u8>, &'a RawValue);

/// A key as WTF-8 bytes. serde_json's byte-string parsing processes escapes like its string
/// parsing, but turns a lone surrogate escape into its WTF-8 bytes instead of failing.
struct Key(Vec<u8>);

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(de: D) -> std::result::Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object key")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> std::result::Result<Key, E> {
                Ok(Key(v.to_vec()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Key, E> {
                Ok(Key(v.as_bytes().to_vec()))
            }
        }
        de.deserialize_bytes(KeyVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Vec<Field<'de>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some((Key(key), value)) = map.next_entry::<Key, &'de RawValue>()? {
            if fields.len() == MAX_DATA_FIELDS {
                return Err(serde::de::Error::custom(format!(
                    "has more than {MAX_DATA_FIELDS} top-level keys"
                )));
            }
            fields.push((key, value));
        }
        Ok(fields)
    }
}

/// Splits a JSON object into its top-level fields, checking the documented limits.
///
/// A key with a lone surrogate is kept as WTF-8, so it comes back from `get` as the same string.
pub fn split_object(json: &str) -> Result<Vec<Field<'_>>> {
    if json.len() > MAX_DATA_BYTES {
        return Err(Error::invalid(
            "data",
            format!(
                "is {} bytes as JSON; the limit is {MAX_DATA_BYTES}",
                json.len()
            ),
        ));
    }
    let mut de = serde_json::Deserializer::from_str(json);
    let fields = (&mut de)
        .deserialize_map(FieldsVisitor)
        .and_then(|fields| de.end().map(|()| fields))
        .map_err(|e| Error::invalid("data", format!("must be a JSON object: {e}")))?;
    Ok(fields)
}

/// True when a field's value is JSON `null` (which `update` treats as "delete this key").
pub fn is_null(value: &RawValue) -> bool {
    value.get().trim() == "null"
}

/// Builds the text `[<owner>,{<fields>}]` that the JavaScript layer parses into
/// `{ ownerId, data }`. `owner` is WTF-8; every field value must be JSON text.
pub fn session_json<'a>(
    owner: &[u8],
    fields: impl Iterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<String> {
    let mut out = String::with_capacity(128);
    out.push('[');
    push_json_string(&mut out, owner);
    out.push_str(",{");
    let mut first = true;
    for (key, value) in fields {
        let value = std::str::from_utf8(value).map_err(|_| {
            Error::UnexpectedReply("a session field holds bytes that are not JSON".into())
        })?;
        if !first {
            out.push(',');
        }
        first = false;
        push_json_string(&mut out, key);
        out.push(':');
        out.push_str(value);
    }
    out.push_str("}]");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_top_level_fields_verbatim() {
        let json = r#"{"a":1,"b":{"c":[1,2,{"d":null}]},"e":"x\"y","n":null,"big":12345678901234567890,"":0}"#;
        let fields = split_object(json).unwrap();
        let got: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (std::str::from_utf8(k).unwrap(), v.get()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", "1"),
                ("b", r#"{"c":[1,2,{"d":null}]}"#),
                ("e", r#""x\"y""#),
                ("n", "null"),
                ("big", "12345678901234567890"),
                ("", "0"),
            ]
        );
        assert!(is_null(fields[3].1));
        assert!(!is_null(fields[0].1));
    }

    #[test]
    fn refuses_non_objects_and_garbage() {
        for bad in ["[]", "1", "null", "\"s\"", "{", "{\"a\":}", "{} x", ""] {
            let err = split_object(bad).unwrap_err().to_string();
            assert!(err.starts_with("data:"), "{bad}: {err}");
        }
    }

    #[test]
    fn enforces_limits() {
        let many: String = format!(
            "{{{}}}",
            (0..=MAX_DATA_FIELDS)
                .map(|i| format!("\"k{i}\":1"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(split_object(&many)
            .unwrap_err()
            .to_string()
            .contains("top-level keys"));
        let huge = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_DATA_BYTES));
        assert!(split_object(&huge)
            .unwrap_err()
            .to_string()
            .contains("limit"));
    }

    #[test]
    fn unescapes_keys_and_reassembles() {
        let fields = split_object(r#"{"a\"b":1,"\u00e9":2}"#).unwrap();
        assert_eq!(fields[0].0, b"a\"b");
        assert_eq!(fields[1].0, "é".as_bytes());
        let text = session_json(
            b"own\"er",
            fields.iter().map(|(k, v)| (&k[..], v.get().as_bytes())),
        )
        .unwrap();
        assert_eq!(text, r#"["own\"er",{"a\"b":1,"é":2}]"#);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back[1]["a\"b"], 1);
    }

    #[test]
    fn keeps_lone_surrogate_keys_as_wtf8() {
        let fields = split_object(r#"{"\ud800":1,"x\udc00y":2,"\ud83d\ude00":3}"#).unwrap();
        assert_eq!(fields[0].0, [0xED, 0xA0, 0x80]);
        assert_eq!(fields[1].0, [b'x', 0xED, 0xB0, 0x80, b'y']);
        assert_eq!(fields[2].0, "😀".as_bytes());
        let text = session_json(
            b"o",
            fields.iter().map(|(k, v)| (&k[..], v.get().as_bytes())),
        )
        .unwrap();
        assert_eq!(text, r#"["o",{"\ud800":1,"x\udc00y":2,"😀":3}]"#);
    }
}
