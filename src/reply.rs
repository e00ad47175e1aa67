//! What goes to Redis and what comes back, at the level of single values: the arguments every
//! script and command is built from, and the readers of the replies. Defined once so that the
//! store, session management and the 1.x migration turn bytes into arguments, and replies into
//! bytes and numbers, the same way. Plain Rust on fred's types, no I/O.
//!
//! Names and data travel as raw bytes (WTF-8, see [`crate::text`]), never as Rust strings, so
//! a name that is not valid UTF-8 reaches Redis unchanged; a reply is read back the same way,
//! whichever of RESP's string kinds fred decoded it as.

use fred::bytes::Bytes;
use fred::prelude::{Key, Value};

use crate::error::Error;

/// A byte string argument (a copy of `v`, since a command outlives the caller's buffers).
pub fn bytes(v: &[u8]) -> Value {
    Value::Bytes(Bytes::copy_from_slice(v))
}

/// A key argument, taking the built key name without a copy.
pub fn key(v: Vec<u8>) -> Key {
    Key::from(Bytes::from(v))
}

/// A yes/no argument of a script, as the scripts read it: `"1"` or `"0"`.
pub fn flag(on: bool) -> Value {
    Value::from(if on { "1" } else { "0" })
}

/// A string-like reply as bytes; `None` for any other kind. fred hands a bulk string over as
/// [`Value::Bytes`] or [`Value::String`] depending on its content, so both count.
pub fn as_bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Bytes(b) => Some(b),
        Value::String(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// A reply holding a signed number, as an integer or as decimal text (a script may return
/// either, and a remaining life can be negative).
pub fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        other => as_bytes(other).and_then(|b| std::str::from_utf8(b).ok()?.parse().ok()),
    }
}

/// A reply holding a number that is never negative (a count, a time in ms), as an integer or
/// as decimal text; `None` for a negative one. Text is parsed as `u64` directly, so a value
/// above `i64::MAX` still reads.
pub fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Integer(n) => u64::try_from(*n).ok(),
        other => std::str::from_utf8(as_bytes(other)?).ok()?.parse().ok(),
    }
}

/// The error for a reply of the wrong shape to `what` (a command or a script's purpose).
pub fn unexpected(what: &str) -> Error {
    Error::UnexpectedReply(format!("unexpected reply to {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_string_kinds_and_numbers() {
        let text = Value::String("12".into());
        let raw = bytes(b"\xff12");
        assert_eq!(as_bytes(&text), Some(&b"12"[..]));
        assert_eq!(as_bytes(&raw), Some(&b"\xff12"[..]));
        assert_eq!(as_bytes(&Value::Integer(1)), None);
        assert_eq!(as_int(&text), Some(12));
        assert_eq!(as_int(&Value::Integer(-2)), Some(-2));
        assert_eq!(as_int(&bytes(b"-2")), Some(-2));
        assert_eq!(as_int(&raw), None);
        assert_eq!(as_u64(&text), Some(12));
        assert_eq!(as_u64(&Value::Integer(-2)), None);
        assert_eq!(as_u64(&bytes(b"18446744073709551615")), Some(u64::MAX));
        assert_eq!(as_int(&bytes(b"18446744073709551615")), None);
        assert_eq!(as_u64(&Value::Null), None);
    }

    #[test]
    fn builds_arguments() {
        assert_eq!(flag(true), Value::from("1"));
        assert_eq!(flag(false), Value::from("0"));
        assert_eq!(key(b"k\xff".to_vec()).as_bytes(), b"k\xff");
        assert_eq!(as_bytes(&bytes(b"")), Some(&b""[..]));
    }
}
