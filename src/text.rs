//! Lossless conversion between JavaScript strings and the bytes stored in Redis.
//!
//! JavaScript strings are UTF-16 and may hold lone surrogates, which UTF-8 cannot encode: the
//! plain N-API UTF-8 conversion replaces them with U+FFFD, so `"\uD800"` and `"\uD801"` would turn
//! into the same bytes and reach the same session. Names are therefore stored as WTF-8, the
//! superset of UTF-8 that also encodes lone surrogates (as the three-byte sequences UTF-8
//! forbids). For every well-formed string WTF-8 *is* UTF-8, so the common case costs nothing.

/// Encodes UTF-16 code units as WTF-8. Injective: distinct inputs give distinct outputs.
pub fn wtf8_from_utf16(units: &[u16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(units.len() * 3);
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        let cp = if (0xD800..0xDC00).contains(&u)
            && i + 1 < units.len()
            && (0xDC00..0xE000).contains(&units[i + 1])
        {
            i += 1;
            0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(units[i]) - 0xDC00)
        } else {
            u32::from(u)
        };
        push_code_point(&mut out, cp);
        i += 1;
    }
    out
}

fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    // Truncating casts are intended: each byte takes the low bits its position encodes.
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]);
    } else if cp < 0x10000 {
        out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            0xF0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3F) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    }
}

/// True when `utf8` may be the lossy rendering of a string with lone surrogates, i.e. it holds
/// U+FFFD. Only then does the caller need the exact UTF-16 form.
pub fn may_be_lossy(utf8: &[u8]) -> bool {
    utf8.windows(3).any(|w| w == [0xEF, 0xBF, 0xBD])
}

/// Appends `bytes` (WTF-8, as produced by [`wtf8_from_utf16`]) to `out` as a JSON string literal,
/// quotes included. Lone surrogates become `\uXXXX` escapes, which `JSON.parse` turns back into
/// the original code unit; bytes that are not WTF-8 at all become U+FFFD rather than invalid JSON.
pub fn push_json_string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push_escaped(out, s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // `good` is valid UTF-8 by construction of `valid_up_to`.
                push_escaped(out, std::str::from_utf8(good).unwrap_or_default());
                if let [a @ 0xED, b @ 0xA0..=0xBF, c @ 0x80..=0xBF, ..] = *bad {
                    let unit = (u32::from(a & 0x0F) << 12)
                        | (u32::from(b & 0x3F) << 6)
                        | u32::from(c & 0x3F);
                    out.push_str(&format!("\\u{unit:04x}"));
                    rest = &bad[3..];
                } else {
                    out.push('\u{FFFD}');
                    rest = &bad[e.error_len().unwrap_or(bad.len()).min(bad.len())..];
                }
            }
        }
    }
    out.push('"');
}

fn push_escaped(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn well_formed_strings_are_plain_utf8() {
        for s in ["", "abc", "é", "日本", "😀 and more", "a\u{FFFD}b"] {
            assert_eq!(wtf8_from_utf16(&utf16(s)), s.as_bytes());
        }
    }

    #[test]
    fn lone_surrogates_stay_distinct() {
        let a = wtf8_from_utf16(&[0xD800]);
        let b = wtf8_from_utf16(&[0xD801]);
        let c = wtf8_from_utf16(&[0xDC00]);
        let replacement = wtf8_from_utf16(&[0xFFFD]);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, replacement);
        assert_eq!(a, [0xED, 0xA0, 0x80]);
    }

    #[test]
    fn lossy_detection() {
        assert!(!may_be_lossy(b"plain"));
        assert!(may_be_lossy("x\u{FFFD}".as_bytes()));
    }

    #[test]
    fn json_string_round_trips_escapes_and_surrogates() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\n\u{1}é😀".as_bytes());
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001é😀\"");
        assert_eq!(
            serde_json::from_str::<String>(&out).unwrap(),
            "a\"b\\c\n\u{1}é😀"
        );

        let mut out = String::new();
        push_json_string(&mut out, &wtf8_from_utf16(&[0x61, 0xD800, 0x62]));
        assert_eq!(out, "\"a\\ud800b\"");

        let mut out = String::new();
        push_json_string(&mut out, &[0x61, 0xFF, 0x62]);
        assert_eq!(out, "\"a\u{FFFD}b\"");
    }
}
