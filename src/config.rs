//! Constructor options: parsing, validation and the fred client configuration they produce.

use std::time::Duration;

use fred::prelude::{Config, ConnectionConfig, PerformanceConfig, ReconnectPolicy};

use crate::error::{Error, Result};
use crate::token::{parse_token_size, TokenEncoding, TokenOptions, DEFAULT_TOKEN_SIZE};

/// Default `connectTimeout` in milliseconds (ioredis's default).
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
/// Default `commandTimeout` in milliseconds: how long a call may wait for Redis, including while
/// the connection is (re)established, before it rejects.
pub const DEFAULT_COMMAND_TIMEOUT_MS: u64 = 5_000;
/// Where `new SpotsSessions()` connects, as ioredis does.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// Options as they arrive from JavaScript (already type-checked there).
#[derive(Debug, Default, Clone)]
pub struct RawOptions {
    pub connection_string: Option<String>,
    pub token_encoding: Option<String>,
    pub token_size: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub command_timeout: Option<f64>,
    pub max_retries_per_request: Option<f64>,
    /// `Some(false)`: reject at once while disconnected instead of queueing.
    pub enable_offline_queue: Option<bool>,
    pub offline_queue_limit: Option<f64>,
}

/// Default `maxRetriesPerRequest` (ioredis's default).
pub const DEFAULT_MAX_RETRIES: u32 = 20;

/// Validated options.
#[derive(Debug, Clone)]
pub struct Options {
    pub redis: Config,
    pub token: TokenOptions,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// How often a command is re-sent after its connection dropped mid-flight.
    pub max_retries: u32,
    /// Queue commands while disconnected (ioredis's `enableOfflineQueue`).
    pub offline_queue: bool,
    /// Most commands waiting for the connection; 0: no limit.
    pub offline_queue_limit: usize,
}

fn count(field: &'static str, value: Option<f64>, default: u32) -> Result<u32> {
    let Some(n) = value else {
        return Ok(default);
    };
    if !n.is_finite() || n < 0.0 || n.fract() != 0.0 || n > f64::from(u32::MAX - 1) {
        return Err(Error::invalid(
            field,
            format!("must be a whole number from 0 to {}, got {n}", u32::MAX - 1),
        ));
    }
    Ok(n as u32)
}

fn millis(field: &'static str, value: Option<f64>, default: u64) -> Result<Duration> {
    let Some(ms) = value else {
        return Ok(Duration::from_millis(default));
    };
    if !ms.is_finite() || ms <= 0.0 || ms > 86_400_000.0 {
        return Err(Error::invalid(
            field,
            format!("must be a positive number of milliseconds up to one day, got {ms}"),
        ));
    }
    Ok(Duration::from_millis(ms.ceil() as u64))
}

/// Parses a connection string. Only `redis://` is supported by this version.
pub fn parse_url(url: &str) -> Result<Config> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("redis") => {}
        Some(s @ ("rediss" | "redis-cluster" | "redis-sentinel" | "redis+unix" | "unix")) => {
            return Err(Error::invalid(
                "connectionString",
                format!("the '{s}://' scheme is not supported by this version; use redis://"),
            ))
        }
        Some(s) => {
            return Err(Error::invalid(
                "connectionString",
                format!("unknown scheme '{s}://' in '{url}'; use redis://host:port/db"),
            ))
        }
        None => {
            return Err(Error::invalid(
                "connectionString",
                format!("'{url}' is not a URL; expected redis://[user:password@]host[:port][/db]"),
            ))
        }
    }
    Config::from_url_centralized(url).map_err(|e| {
        Error::invalid(
            "connectionString",
            format!("malformed URL '{url}': {}", e.details()),
        )
    })
}

impl Options {
    /// Validates every option; the first bad one is named in the error.
    pub fn parse(raw: RawOptions) -> Result<Self> {
        let mut redis = parse_url(raw.connection_string.as_deref().unwrap_or(DEFAULT_URL))?;
        // Like ioredis, keep trying when the very first connection fails (Redis not up yet):
        // calls wait for it, bounded by `commandTimeout`.
        redis.fail_fast = false;
        let encoding = match raw.token_encoding.as_deref() {
            Some(name) => TokenEncoding::parse(name)?,
            None => TokenEncoding::Base64,
        };
        let size = match raw.token_size {
            Some(size) => parse_token_size(size)?,
            None => DEFAULT_TOKEN_SIZE,
        };
        Ok(Options {
            redis,
            token: TokenOptions { size, encoding },
            connect_timeout: millis(
                "connectTimeout",
                raw.connect_timeout,
                DEFAULT_CONNECT_TIMEOUT_MS,
            )?,
            command_timeout: millis(
                "commandTimeout",
                raw.command_timeout,
                DEFAULT_COMMAND_TIMEOUT_MS,
            )?,
            max_retries: count(
                "maxRetriesPerRequest",
                raw.max_retries_per_request,
                DEFAULT_MAX_RETRIES,
            )?,
            offline_queue: raw.enable_offline_queue.unwrap_or(true),
            offline_queue_limit: count("offlineQueueLimit", raw.offline_queue_limit, 0)? as usize,
        })
    }

    /// fred's connection settings for these options.
    pub fn connection_config(&self) -> ConnectionConfig {
        ConnectionConfig {
            connection_timeout: self.connect_timeout,
            internal_command_timeout: self.connect_timeout,
            // fred counts the first send as an attempt.
            max_command_attempts: self.max_retries.saturating_add(1),
            // fred bounds its command channel, which fills only while the connection is down.
            max_command_buffer_len: self.offline_queue_limit,
            ..ConnectionConfig::default()
        }
    }

    /// fred's performance settings: every command is bounded by `commandTimeout`.
    pub fn performance_config(&self) -> PerformanceConfig {
        PerformanceConfig {
            default_command_timeout: self.command_timeout,
            ..PerformanceConfig::default()
        }
    }

    /// Reconnect forever with capped exponential backoff (100 ms doubling to 2 s), as ioredis
    /// users expect; fred's own default is not to reconnect at all.
    pub fn reconnect_policy(&self) -> ReconnectPolicy {
        ReconnectPolicy::new_exponential(0, 100, 2_000, 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: RawOptions) -> std::result::Result<Options, String> {
        Options::parse(raw).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let opts = parse(RawOptions::default()).unwrap();
        assert_eq!(opts.token.size, 128);
        assert_eq!(opts.token.encoding, TokenEncoding::Base64);
        assert_eq!(opts.command_timeout, Duration::from_millis(5_000));
        assert_eq!(opts.redis.server.hosts()[0].port, 6379);
        assert_eq!(opts.connection_config().max_command_attempts, 21);
        assert!(opts.offline_queue);
    }

    #[test]
    fn urls() {
        let cfg = parse_url("redis://user:pass@example.test:6380/2").unwrap();
        assert_eq!(cfg.username.as_deref(), Some("user"));
        assert_eq!(cfg.password.as_deref(), Some("pass"));
        assert_eq!(cfg.database, Some(2));
        for (bad, needle) in [
            ("localhost:6379", "not a URL"),
            ("http://localhost", "unknown scheme 'http://'"),
            ("rediss://localhost", "not supported"),
            ("redis://localhost:99999", "malformed URL"),
            ("redis://localhost/notadb", "malformed URL"),
        ] {
            let err = parse_url(bad).unwrap_err().to_string();
            assert!(
                err.starts_with("connectionString:") && err.contains(needle),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn bad_options_name_the_option() {
        let err = parse(RawOptions {
            token_size: Some(-1.0),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.starts_with("tokenSize:"), "{err}");
        let err = parse(RawOptions {
            command_timeout: Some(f64::NAN),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.starts_with("commandTimeout:"), "{err}");
        let err = parse(RawOptions {
            token_encoding: Some("latin1".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.starts_with("tokenEncoding:"), "{err}");
    }
}
