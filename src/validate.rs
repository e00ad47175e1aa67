//! Argument checks and the documented limits. Everything here runs before a call reaches Redis.

use crate::error::{Error, Result};

/// Longest `app`, `ownerId` or `token`, in bytes (UTF-8).
pub const MAX_NAME_BYTES: usize = 4096;
/// Largest `data`, as JSON text, in bytes.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;
/// Most top-level keys in one `data` object.
pub const MAX_DATA_FIELDS: usize = 1024;
/// Longest `duration`, in seconds (2^31 - 1, about 68 years).
pub const MAX_DURATION_SECS: u64 = i32::MAX as u64;

/// Checks the length of a name argument.
pub fn name(field: &'static str, bytes: &[u8]) -> Result<()> {
    if bytes.len() > MAX_NAME_BYTES {
        return Err(Error::invalid(
            field,
            format!(
                "is {} bytes long; the limit is {MAX_NAME_BYTES}",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

/// Checks a duration given as a JavaScript number: a whole, positive number of seconds.
pub fn duration(secs: f64) -> Result<u64> {
    if !secs.is_finite() {
        return Err(Error::invalid(
            "duration",
            format!("must be a finite number of seconds, got {secs}"),
        ));
    }
    if secs <= 0.0 {
        return Err(Error::invalid(
            "duration",
            format!("must be positive, got {secs}"),
        ));
    }
    if secs.fract() != 0.0 {
        return Err(Error::invalid(
            "duration",
            format!("must be a whole number of seconds, got {secs}"),
        ));
    }
    if secs > MAX_DURATION_SECS as f64 {
        return Err(Error::invalid(
            "duration",
            format!("must be at most {MAX_DURATION_SECS} seconds, got {secs}"),
        ));
    }
    // Whole, positive and at most 2^31 - 1: the cast is exact.
    Ok(secs as u64)
}

/// Largest `maxSessions`.
pub const MAX_SESSIONS_LIMIT: u32 = 10_000;

/// Checks a number of seconds given for `field` (`maxAge`, `refresh`) exactly as [`duration`]
/// checks `duration`: whole, positive, at most 2^31 - 1.
pub fn seconds(field: &'static str, secs: f64) -> Result<u64> {
    duration(secs).map_err(|err| match err {
        Error::InvalidArgument { reason, .. } => Error::invalid(field, reason),
        other => other,
    })
}

/// Checks `maxAge` against `duration`: an idle timeout longer than the absolute one is a
/// mistake (the session could never live that long), so it is refused rather than capped.
pub fn max_age(secs: f64, duration: Option<u64>) -> Result<u64> {
    let max_age = seconds("maxAge", secs)?;
    match duration {
        Some(d) if d > max_age => Err(Error::invalid(
            "maxAge",
            format!("must be at least duration ({d} seconds), got {max_age}"),
        )),
        _ => Ok(max_age),
    }
}

/// Checks `maxSessions`: a whole number from 1 to [`MAX_SESSIONS_LIMIT`].
pub fn max_sessions(n: f64) -> Result<u32> {
    if !(n.is_finite() && n.fract() == 0.0 && n >= 1.0 && n <= MAX_SESSIONS_LIMIT as f64) {
        return Err(Error::invalid(
            "maxSessions",
            format!("must be a whole number from 1 to {MAX_SESSIONS_LIMIT}, got {n}"),
        ));
    }
    // Whole and within 1..=10,000: the cast is exact.
    Ok(n as u32)
}

/// Checks `list`'s `limit`: a whole number from 1 to 2^32 - 1 (more than any owner can have).
pub fn list_limit(n: f64) -> Result<u32> {
    if !(n.is_finite() && n.fract() == 0.0 && n >= 1.0 && n <= f64::from(u32::MAX)) {
        return Err(Error::invalid(
            "limit",
            format!("must be a whole number of at least 1, got {n}"),
        ));
    }
    // Whole and within 1..=u32::MAX: the cast is exact.
    Ok(n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_limits() {
        assert_eq!(list_limit(1.0).unwrap(), 1);
        assert_eq!(list_limit(4_294_967_295.0).unwrap(), u32::MAX);
        for bad in [0.0, -1.0, 1.5, f64::NAN, f64::INFINITY, 4_294_967_296.0] {
            let err = list_limit(bad).unwrap_err().to_string();
            assert!(err.starts_with("limit"), "{err}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration(1.0).unwrap(), 1);
        assert_eq!(duration(3600.0).unwrap(), 3600);
        assert_eq!(
            duration(MAX_DURATION_SECS as f64).unwrap(),
            MAX_DURATION_SECS
        );
        for bad in [
            0.0,
            -0.0,
            -1.0,
            1.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            2147483648.0,
            1e300,
        ] {
            let err = duration(bad).unwrap_err();
            assert!(err.to_string().starts_with("duration:"), "{err}");
        }
    }

    #[test]
    fn management_limits() {
        assert_eq!(seconds("refresh", 5.0).unwrap(), 5);
        assert!(seconds("refresh", 0.5)
            .unwrap_err()
            .to_string()
            .starts_with("refresh:"));
        assert_eq!(max_age(10.0, Some(10)).unwrap(), 10);
        assert_eq!(max_age(10.0, None).unwrap(), 10);
        assert!(max_age(9.0, Some(10))
            .unwrap_err()
            .to_string()
            .starts_with("maxAge:"));
        assert!(max_age(-1.0, None).is_err());
        assert_eq!(max_sessions(1.0).unwrap(), 1);
        assert_eq!(max_sessions(10_000.0).unwrap(), 10_000);
        for bad in [0.0, -1.0, 1.5, 10_001.0, f64::NAN, f64::INFINITY] {
            let err = max_sessions(bad).unwrap_err();
            assert!(err.to_string().starts_with("maxSessions:"), "{err}");
        }
    }

    #[test]
    fn names() {
        assert!(name("app", b"").is_ok());
        assert!(name("app", &vec![b'a'; MAX_NAME_BYTES]).is_ok());
        let err = name("ownerId", &vec![b'a'; MAX_NAME_BYTES + 1]).unwrap_err();
        assert!(err.to_string().starts_with("ownerId:"));
    }
}
