//! The crate's one error type.
//!
//! Every failure a caller can see is an [`Error`]. Each variant carries a stable `code` (see
//! [`Error::code`]) that the JavaScript layer copies onto the `Error` it rejects with, so that
//! applications can branch on `err.code` instead of parsing messages.

use std::fmt;

use napi_derive::napi;

/// Every `err.code` this package rejects or throws with, and the `code` of its process warning.
/// Exported to JavaScript as the `ErrorCode` object, so that `index.js` keeps no copy.
#[napi(string_enum)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// An argument or option of the wrong type (raised by the JavaScript layer).
    #[napi(value = "ERR_INVALID_ARG_TYPE")]
    InvalidArgType,
    /// An argument or option of the right type but a bad value.
    #[napi(value = "ERR_INVALID_ARG_VALUE")]
    InvalidArgValue,
    /// Redis answered with an error reply, or the reply had an unexpected shape.
    #[napi(value = "ERR_REDIS")]
    Redis,
    /// No reply within `commandTimeout`.
    #[napi(value = "ERR_REDIS_TIMEOUT")]
    Timeout,
    /// The connection failed or was lost while the command was in flight.
    #[napi(value = "ERR_REDIS_CONNECTION")]
    Connection,
    /// The instance was closed with `quit()` or `disconnect()`.
    #[napi(value = "ERR_CLOSED")]
    Closed,
    /// Disconnected, with the offline queue disabled or full.
    #[napi(value = "ERR_REDIS_OFFLINE")]
    Offline,
    /// Redis refused the credentials.
    #[napi(value = "ERR_REDIS_AUTH")]
    Auth,
    /// A reply no session command can produce; the connection was dropped.
    #[napi(value = "ERR_REDIS_PROTOCOL")]
    Protocol,
    /// Redis refused a write at `maxmemory`.
    #[napi(value = "ERR_REDIS_OOM")]
    OutOfMemory,
    /// A write was applied on the primary, but fewer replicas than `durability.replicas`
    /// acknowledged it within `durability.timeout` (`err.acknowledged` says how many did).
    #[napi(value = "ERR_REDIS_DURABILITY")]
    Durability,
    /// The `code` of the process warning emitted when the server's `maxmemory-policy` may evict
    /// sessions (not an error: see `SessionStore::watch_eviction_policy`).
    #[napi(value = "SPOTS_SESSIONS_EVICTION")]
    EvictionWarning,
    /// The `code` of the process warning emitted, once per process, when an instance is made
    /// with a `tokenSize` under 16 bytes: session ids are unkeyed SHA-256 prefixes of the
    /// tokens, so a leaked id of a short token can be searched for offline.
    #[napi(value = "SPOTS_SESSIONS_WEAK_TOKEN")]
    WeakTokenWarning,
}

/// A failure of a session operation or of the instance's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// An argument or option was missing, of the wrong shape, or out of range. `field` names it.
    InvalidArgument { field: &'static str, reason: String },
    /// Redis answered with an error reply.
    Redis(String),
    /// `create` or `rotate` drew `attempts` fresh tokens in a row and each one's session key
    /// was taken: `tokenSize` is too small for the number of sessions.
    TokenCollision { attempts: usize },
    /// A well-formed reply that the session layout does not allow: a script's reply of the
    /// wrong shape, a session hash without a valid owner or with a field that is not JSON, a
    /// Redis Cluster step's reply that echoes another key. Unlike [`Error::Protocol`], the
    /// connection is kept.
    UnexpectedReply(String),
    /// The command did not complete within `commandTimeout` (Redis down, slow or unreachable).
    Timeout(String),
    /// The connection to Redis failed or was lost while the command was in flight.
    Connection(String),
    /// The instance was closed with `quit()` or `disconnect()`.
    Closed,
    /// Disconnected, and the offline queue is disabled or full.
    Offline(String),
    /// Redis refused the credentials (a wrong password, an unknown user, `NOAUTH`): no retry
    /// can succeed until the configuration or the server changes.
    Auth(String),
    /// A reply that no session command can produce (nested too deep, of the wrong type): the
    /// server is not behaving as Redis or the link is corrupted. The connection is dropped.
    Protocol(String),
    /// Redis refused a write because its memory is at `maxmemory` (`OOM command not allowed…`,
    /// under `maxmemory-policy noeviction` or when nothing is left to evict).
    OutOfMemory(String),
    /// The write was applied on the primary, but only `acknowledged` of the `replicas` replicas
    /// asked for (of some node written to) confirmed it within `timeout_ms` (Redis `WAIT`).
    Durability {
        acknowledged: u32,
        replicas: u32,
        timeout_ms: u64,
        /// Why, when not simply too few replicas in time (e.g. the confirmation failed).
        detail: Option<String>,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field,
            reason: reason.into(),
        }
    }

    /// The same error with `f` applied to its message (the reason, for
    /// [`Error::InvalidArgument`]); the variant, and so the code, stays.
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            Error::InvalidArgument { field, reason } => Error::InvalidArgument {
                field,
                reason: f(reason),
            },
            Error::Redis(m) => Error::Redis(f(m)),
            Error::UnexpectedReply(m) => Error::UnexpectedReply(f(m)),
            Error::Timeout(m) => Error::Timeout(f(m)),
            Error::Connection(m) => Error::Connection(f(m)),
            Error::Offline(m) => Error::Offline(f(m)),
            Error::Auth(m) => Error::Auth(f(m)),
            Error::Protocol(m) => Error::Protocol(f(m)),
            Error::OutOfMemory(m) => Error::OutOfMemory(f(m)),
            Error::Durability {
                acknowledged,
                replicas,
                timeout_ms,
                detail,
            } => Error::Durability {
                acknowledged,
                replicas,
                timeout_ms,
                detail: detail.map(f),
            },
            other @ (Error::TokenCollision { .. } | Error::Closed) => other,
        }
    }

    /// The stable, documented code for this error (`err.code` in JavaScript).
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument { .. } => ErrorCode::InvalidArgValue,
            // The last two were `Redis` errors before they had variants; their code stays.
            Error::Redis(_) | Error::TokenCollision { .. } | Error::UnexpectedReply(_) => {
                ErrorCode::Redis
            }
            Error::Timeout(_) => ErrorCode::Timeout,
            Error::Connection(_) => ErrorCode::Connection,
            Error::Closed => ErrorCode::Closed,
            Error::Offline(_) => ErrorCode::Offline,
            Error::Auth(_) => ErrorCode::Auth,
            Error::Protocol(_) => ErrorCode::Protocol,
            Error::OutOfMemory(_) => ErrorCode::OutOfMemory,
            Error::Durability { .. } => ErrorCode::Durability,
        }
    }

    /// How many replicas acknowledged a durable write that failed ([`Error::Durability`]).
    pub fn acknowledged(&self) -> Option<u32> {
        match self {
            Error::Durability { acknowledged, .. } => Some(*acknowledged),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument { field, reason } => write!(f, "{field}: {reason}"),
            // The last two keep the message they had as `Redis` errors.
            Error::Redis(msg) | Error::UnexpectedReply(msg) => write!(f, "Redis error: {msg}"),
            Error::TokenCollision { attempts } => write!(
                f,
                "Redis error: {attempts} fresh tokens in a row collided with existing sessions; raise tokenSize"
            ),
            Error::Timeout(msg) => write!(f, "Redis command timed out: {msg}"),
            Error::Connection(msg) => write!(f, "Redis connection error: {msg}"),
            Error::Closed => {
                f.write_str("Connection is closed (quit() or disconnect() was called)")
            }
            Error::Offline(msg) => write!(f, "Redis is not connected: {msg}"),
            Error::Auth(msg) => write!(f, "Redis refused the credentials: {msg}"),
            Error::Protocol(msg) => write!(
                f,
                "Redis sent a reply no session command can produce; the connection was dropped: {msg}"
            ),
            Error::OutOfMemory(msg) => write!(f, "Redis is out of memory: {msg}"),
            Error::Durability {
                acknowledged,
                replicas,
                timeout_ms,
                detail,
            } => {
                write!(
                    f,
                    "the write is applied on the primary, but {acknowledged} of the {replicas} replicas asked for (durability.replicas) acknowledged it within {timeout_ms} ms"
                )?;
                match detail {
                    Some(detail) => write!(f, ": {detail}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<fred::error::Error> for Error {
    fn from(err: fred::error::Error) -> Self {
        use fred::error::ErrorKind;
        let details = err.details().to_string();
        match err.kind() {
            ErrorKind::Timeout => Error::Timeout(details),
            ErrorKind::Backpressure => Error::Offline(format!(
                "the offline queue is full (offlineQueueLimit): {details}"
            )),
            ErrorKind::IO | ErrorKind::Canceled | ErrorKind::Routing => {
                Error::Connection(format!("{details} ({:?})", err.kind()))
            }
            // Redis's error code for a write refused at maxmemory; Redis 6.2 wraps it, inside a
            // script, as `ERR Error running script (…): @user_script:…: -OOM command not…`.
            _ if details.starts_with("OOM ") || details.contains(": -OOM command not allowed") => {
                Error::OutOfMemory(details)
            }
            // fred 10.1 reports a command that found no connection to write to (after its
            // retries) as `Unknown` "Failed to route command.": the connection was lost
            // (docs/upstream.md#failed-to-route).
            ErrorKind::Unknown if is_route_failure(&err) => {
                Error::Connection(format!("the connection to Redis was lost ({details})"))
            }
            ErrorKind::Auth => Error::Auth(details),
            // A reply of a shape the command cannot have (e.g. a nested array for a number).
            ErrorKind::Parse | ErrorKind::Protocol => Error::Protocol(details),
            _ => Error::Redis(details),
        }
    }
}

/// fred 10.1 reports a command that found no connection (after its retries) as
/// `ErrorKind::Unknown` "Failed to route command.", not as a connection error
/// ([write-up](../docs/upstream.md#failed-to-route)). A workaround listed in
/// [`crate::upstream`]; here because mapping fred's errors is this module's job. Remove when
/// fred reports it as `ErrorKind::IO` or `Routing`.
pub fn is_route_failure(err: &fred::error::Error) -> bool {
    err.details().starts_with("Failed to route command")
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_route_failure_only() {
        use fred::error::{Error as FredError, ErrorKind};
        let lost = FredError::new(ErrorKind::Unknown, "Failed to route command.");
        assert!(is_route_failure(&lost));
        let reply = FredError::new(ErrorKind::Unknown, "ERR unknown command");
        assert!(!is_route_failure(&reply));
    }

    #[test]
    fn invalid_argument_names_the_field() {
        let err = Error::invalid("duration", "must be a positive whole number of seconds");
        assert_eq!(
            err.to_string(),
            "duration: must be a positive whole number of seconds"
        );
        assert_eq!(err.code(), ErrorCode::InvalidArgValue);
    }

    #[test]
    fn fred_timeouts_map_to_timeout() {
        let err: Error =
            fred::error::Error::new(fred::error::ErrorKind::Timeout, "took too long").into();
        assert_eq!(err.code(), ErrorCode::Timeout);
        assert!(err.to_string().contains("took too long"));
    }

    #[test]
    fn lost_connections_and_bad_credentials_have_their_codes() {
        use fred::error::{Error as FredError, ErrorKind};
        let lost: Error = FredError::new(ErrorKind::Unknown, "Failed to route command.").into();
        assert_eq!(lost.code(), ErrorCode::Connection);
        let auth: Error = FredError::new(ErrorKind::Auth, "WRONGPASS invalid").into();
        assert_eq!(auth.code(), ErrorCode::Auth);
        let shape: Error = FredError::new(ErrorKind::Parse, "Could not convert to i64").into();
        assert_eq!(shape.code(), ErrorCode::Protocol);
        let other: Error = FredError::new(ErrorKind::Unknown, "ERR unknown").into();
        assert_eq!(other.code(), ErrorCode::Redis);
    }

    #[test]
    fn errors_that_are_not_redis_replies_keep_the_redis_code_and_message() {
        let collided = Error::TokenCollision { attempts: 3 };
        assert_eq!(collided.code(), ErrorCode::Redis);
        assert_eq!(
            collided.to_string(),
            "Redis error: 3 fresh tokens in a row collided with existing sessions; raise tokenSize"
        );
        let shape = Error::UnexpectedReply("malformed session info reply".into());
        assert_eq!(shape.code(), ErrorCode::Redis);
        assert_eq!(
            shape.to_string(),
            "Redis error: malformed session info reply"
        );
    }

    #[test]
    fn oom_replies_map_to_their_own_code() {
        let err: Error = fred::error::Error::new(
            fred::error::ErrorKind::Unknown,
            "OOM command not allowed when used memory > 'maxmemory'. script: abc",
        )
        .into();
        assert_eq!(err.code(), ErrorCode::OutOfMemory);
        assert!(err.to_string().contains("maxmemory"));
        let wrapped: Error = fred::error::Error::new(
            fred::error::ErrorKind::Unknown,
            "ERR Error running script (call to f_ae81): @user_script:34: @user_script: 34: -OOM command not allowed when used memory > 'maxmemory'.",
        )
        .into();
        assert_eq!(wrapped.code(), ErrorCode::OutOfMemory);
        let other: Error =
            fred::error::Error::new(fred::error::ErrorKind::Unknown, "ERR OOMish").into();
        assert_eq!(other.code(), ErrorCode::Redis);
    }
}
