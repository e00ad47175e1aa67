//! The 1.x format, as the migration reads it: a session's key name, split into app, token and
//! owner, and the token rule that decides whether it may be converted.
//!
//! 1.x stored a session as the string key `app:<app>|token:<token>|ownerId:<owner>`. The
//! current layout, which the migration writes, is [`crate::keys`]; this file is only about
//! what 1.x left behind, which nothing but [`crate::migrate`] reads. Plain Rust, no I/O.

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
}
