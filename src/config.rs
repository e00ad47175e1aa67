//! An instance's settings: the constructor's options (as [`crate::options`] declares them)
//! parsed and validated into [`Settings`], with every default applied, and the fred
//! configuration that follows from them (connection, performance, reconnection policy).
//! Everything past the constructor reads these, never the raw options.

use std::time::Duration;

use fred::prelude::{Config, ConnectionConfig, PerformanceConfig, ReconnectPolicy, ServerConfig};

use napi::bindgen_prelude::Either;

use crate::error::{Error, Result};
use crate::options::{DurabilitySettings, NodeAddress, SessionsOptions};
use crate::tls::{self, TlsOptions};
use crate::token::{parse_token_size, TokenEncoding, TokenOptions, DEFAULT_TOKEN_SIZE};

/// Default `connectTimeout` in milliseconds (ioredis's default).
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
/// Default `commandTimeout` in milliseconds: how long a call may wait for Redis, including while
/// the connection is (re)established, before it rejects.
pub const DEFAULT_COMMAND_TIMEOUT_MS: u64 = 5_000;
/// Where `new SpotsSessions()` connects, as ioredis does, unless [`DEFAULT_URL_VARIABLE`] is set.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";
/// The environment variable that names another default server (handy in containers and for
/// running examples unchanged). Read when the instance is made, so `process.env` changes apply.
pub const DEFAULT_URL_VARIABLE: &str = "SPOTS_SESSIONS_REDIS_URL";
/// The host of a node given without one.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The port of a single server or Cluster node given without one.
pub const DEFAULT_PORT: u16 = 6379;
/// The port of a sentinel given without one.
pub const DEFAULT_SENTINEL_PORT: u16 = 26379;
/// `maxRetriesPerRequest: null`: re-send until `commandTimeout` ends the call.
const UNLIMITED_RETRIES: u32 = u32::MAX - 1;

/// Default `maxRetriesPerRequest` (ioredis's default).
pub const DEFAULT_MAX_RETRIES: u32 = 20;

/// Default `offlineQueueLimit`: calls that may wait for the connection at once. A waiting call
/// holds about 3 KB (measured with ../shared/repro/offline_queue_memory.js), so the queue
/// stays under ~60 MB during an outage, while a reconnection blip under heavy load (20,000
/// calls in flight) still rejects nothing. `0` lifts the bound.
pub const DEFAULT_OFFLINE_QUEUE_LIMIT: u32 = 20_000;

/// An instance's settings: its constructor options, validated, with every default applied.
/// Named apart from [`SessionsOptions`] (what JavaScript passes) so that "options" means only
/// what JavaScript sees.
#[derive(Debug, Clone)]
pub struct Settings {
    pub redis: Config,
    pub token: TokenOptions,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// How often a command is re-sent after its connection dropped mid-flight.
    pub max_retries: u32,
    /// Queue commands while disconnected (ioredis's `enableOfflineQueue`).
    pub offline_queue: bool,
    /// Most calls waiting for the connection; 0: no limit.
    pub offline_queue_limit: usize,
    /// Writes wait for replicas (the `durability` option).
    pub durability: Option<Durability>,
}

/// The `durability` option, checked: see [`crate::store::durable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durability {
    /// Replicas of each node written to that must acknowledge each write.
    pub replicas: u32,
    /// How long to wait for them.
    pub timeout: Duration,
}

impl Durability {
    /// Checks the option: `replicas` a whole number from 0 (to 1,000: more replicas than any
    /// deployment has), `timeout` a positive number of ms up to one day.
    fn parse(raw: &DurabilitySettings) -> Result<Self> {
        let replicas = raw.replicas;
        if !(replicas.is_finite() && replicas.fract() == 0.0 && (0.0..=1000.0).contains(&replicas))
        {
            return Err(Error::invalid(
                "durability",
                format!("replicas must be a whole number from 0 to 1000, got {replicas}"),
            ));
        }
        let timeout = raw.timeout;
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 86_400_000.0) {
            return Err(Error::invalid(
                "durability",
                format!("timeout must be a positive number of milliseconds up to one day, got {timeout}"),
            ));
        }
        Ok(Durability {
            // Whole and within 0..=1000: exact.
            replicas: replicas as u32,
            timeout: Duration::from_millis(timeout.ceil() as u64),
        })
    }
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

/// Parses a connection string: `redis://` and `rediss://` (TLS) for one server,
/// `redis-sentinel://` / `rediss-sentinel://` for Sentinel, `redis-cluster://` /
/// `rediss-cluster://` for Redis Cluster, and `redis+unix:///path/to.sock` for a unix socket.
pub fn parse_url(url: &str) -> Result<Config> {
    parse_url_from("connectionString", url)
}

/// [`parse_url`], with errors that name `source`: the option, or the environment variable the
/// string came from. An error shows the string only as [`redact_url`] gives it.
fn parse_url_from(source: &'static str, url: &str) -> Result<Config> {
    const SCHEMES: [&str; 7] = [
        "redis",
        "rediss",
        "redis-sentinel",
        "rediss-sentinel",
        "redis-cluster",
        "rediss-cluster",
        "redis+unix",
    ];
    let expected = "redis://, rediss://, redis-sentinel://, redis-cluster:// or redis+unix://";
    let shown = redact_url(url);
    let Some((scheme, _)) = url.split_once("://") else {
        return Err(Error::invalid(
            source,
            format!("'{shown}' is not a URL; expected {expected}"),
        ));
    };
    if !SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) {
        // Only the scheme's first 32 characters: a string without `://` where one was meant
        // (`user:pass@host`) would otherwise show its password as the "scheme".
        let scheme: String = redact_url(scheme).chars().take(32).collect();
        return Err(Error::invalid(
            source,
            format!("unknown scheme '{scheme}://' in '{shown}'; expected {expected}"),
        ));
    }
    let config = Config::from_url(url).map_err(|e| {
        // The redacted string may look well-formed when the password is what breaks it.
        let start = user_info_start(url);
        let hint = match url[start..].rfind('@') {
            Some(at) if url[start..start + at].contains(['/', '?', '#', '@']) => {
                "; a user name or password holding `/`, `?`, `#` or `@` must be percent-encoded"
            }
            _ => "",
        };
        Error::invalid(
            source,
            format!(
                "malformed URL '{shown}': {}{hint}",
                without_secrets(e.details(), url)
            ),
        )
    })?;
    Ok(config)
}

/// A connection string as errors and output may show it: the user-info (`user:password@`)
/// replaced by `***@`, and the value of every query parameter whose name mentions a password
/// (`sentinelPassword=…`) by `***`. Everything up to the *last* `@` counts as user-info, so
/// that a password holding an unescaped `@`, `/`, `?` or `#` is hidden whole even when the
/// string is malformed; a string without `://` is treated the same way (`user:pass@host`).
pub fn redact_url(url: &str) -> String {
    let start = user_info_start(url);
    let (head, rest) = url.split_at(start);
    let rest = match rest.rfind('@') {
        Some(at) => format!("***{}", &rest[at..]),
        None => rest.to_string(),
    };
    let rest = match rest.split_once('?') {
        Some((before, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((name, _)) if is_secret_param(name) => format!("{name}=***"),
                    _ => param.to_string(),
                })
                .collect();
            format!("{before}?{}", params.join("&"))
        }
        None => rest,
    };
    format!("{head}{rest}")
}

/// Where the user-info of `url` would start: after `<scheme>://`, or at 0 when what precedes
/// `://` is no scheme (`user:pass@redis://…`), so that nothing before it is shown unredacted.
fn user_info_start(url: &str) -> usize {
    match url.find("://") {
        Some(i)
            if url[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
        {
            i + 3
        }
        _ => 0,
    }
}

/// Whether a query parameter's name says it holds a credential.
fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "secret", "token", "auth"]
        .iter()
        .any(|word| name.contains(word))
}

/// `message` with the user-info of `url` (and its password alone) replaced by `***`: fred's
/// error details may quote a part of the string they could not parse.
fn without_secrets(message: &str, url: &str) -> String {
    let start = user_info_start(url);
    let Some(at) = url[start..].rfind('@') else {
        return message.to_string();
    };
    let user_info = &url[start..start + at];
    let mut out = message.to_string();
    for secret in [Some(user_info), user_info.split_once(':').map(|(_, p)| p)]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
    {
        out = out.replace(secret, "***");
    }
    out
}

fn port(field: &'static str, port: f64) -> Result<u16> {
    if port.fract() != 0.0 || !(1.0..=65535.0).contains(&port) {
        return Err(Error::invalid(
            field,
            format!("must be a port number from 1 to 65535, got {port}"),
        ));
    }
    Ok(port as u16)
}

fn nodes(
    field: &'static str,
    nodes: &[NodeAddress],
    default_port: u16,
) -> Result<Vec<(String, u16)>> {
    if nodes.is_empty() {
        return Err(Error::invalid(
            field,
            "must list at least one { host, port }",
        ));
    }
    nodes
        .iter()
        .map(|n| {
            let host = n.host.clone().unwrap_or_else(|| DEFAULT_HOST.into());
            let port = n.port.map(|p| port(field, p)).transpose()?;
            Ok((host, port.unwrap_or(default_port)))
        })
        .collect()
}

/// The server part of the options object: `cluster`, `sentinels` + `name`, `path`, or
/// `host`/`port`. `None` when none is given.
fn server_from_options(raw: &SessionsOptions) -> Result<Option<ServerConfig>> {
    let shapes = [
        raw.cluster.is_some(),
        raw.sentinels.is_some(),
        raw.path.is_some(),
        raw.host.is_some() || raw.port.is_some(),
    ];
    match shapes.iter().filter(|&&given| given).count() {
        0 => return Ok(None),
        1 => {}
        _ => {
            return Err(Error::invalid(
                "options",
                "give only one of cluster, sentinels, path, or host/port",
            ))
        }
    }
    if let Some(cluster) = &raw.cluster {
        return Ok(Some(ServerConfig::new_clustered(nodes(
            "cluster",
            cluster,
            DEFAULT_PORT,
        )?)));
    }
    if let Some(sentinels) = &raw.sentinels {
        let name = raw.name.clone().ok_or_else(|| {
            Error::invalid("name", "is required with sentinels (the master group name)")
        })?;
        return Ok(Some(ServerConfig::new_sentinel(
            nodes("sentinels", sentinels, DEFAULT_SENTINEL_PORT)?,
            name,
        )));
    }
    if let Some(path) = &raw.path {
        return Ok(Some(ServerConfig::new_unix_socket(path.as_str())));
    }
    let host = raw.host.clone().unwrap_or_else(|| DEFAULT_HOST.into());
    let port = raw
        .port
        .map(|p| port("port", p))
        .transpose()?
        .unwrap_or(DEFAULT_PORT);
    Ok(Some(ServerConfig::new_centralized(host, port)))
}

/// The fred configuration for the connection options.
fn redis_config(raw: &SessionsOptions) -> Result<Config> {
    let mut redis = match (&raw.connection_string, server_from_options(raw)?) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "connectionString",
                "give either a connection string or host/port/path/sentinels/cluster, not both",
            ))
        }
        (Some(url), None) => parse_url(url)?,
        (None, Some(server)) => Config {
            server,
            ..Config::default()
        },
        (None, None) => match std::env::var(DEFAULT_URL_VARIABLE) {
            // Errors name the variable, which is where the string has to be fixed.
            Ok(url) if !url.is_empty() => parse_url_from(DEFAULT_URL_VARIABLE, &url)?,
            _ => parse_url(DEFAULT_URL)?,
        },
    };
    if raw.username.is_some() {
        redis.username = raw.username.clone();
    }
    if raw.password.is_some() {
        redis.password = raw.password.clone();
    }
    if let Some(db) = raw.db {
        if db.fract() != 0.0 || !(0.0..=255.0).contains(&db) {
            return Err(Error::invalid(
                "db",
                format!("must be a database number from 0 to 255, got {db}"),
            ));
        }
        if matches!(redis.server, ServerConfig::Clustered { .. }) && db != 0.0 {
            return Err(Error::invalid("db", "Redis Cluster only has database 0"));
        }
        redis.database = Some(db as u8);
    }
    if let Some(opts) = tls_options(raw.tls.as_ref()) {
        redis.tls = Some(tls::config(&opts)?);
    }
    // Like ioredis, keep trying when the very first connection fails (Redis not up yet):
    // calls wait for it, bounded by `commandTimeout`.
    redis.fail_fast = false;
    Ok(redis)
}

/// The `tls` option: `true` is TLS with the system's CAs, `false` (or absent) no TLS.
fn tls_options(tls: Option<&Either<bool, crate::options::TlsSettings>>) -> Option<TlsOptions> {
    match tls? {
        Either::A(false) => None,
        Either::A(true) => Some(TlsOptions {
            reject_unauthorized: true,
            ..TlsOptions::default()
        }),
        Either::B(settings) => Some(TlsOptions {
            ca: settings.ca.clone(),
            cert: settings.cert.clone(),
            key: settings.key.clone(),
            reject_unauthorized: settings.reject_unauthorized.unwrap_or(true),
        }),
    }
}

impl Settings {
    /// Validates every option and applies every default; the first bad option is named in the
    /// error.
    pub fn parse(raw: SessionsOptions) -> Result<Self> {
        let redis = redis_config(&raw)?;
        let encoding = match raw.token_encoding.as_deref() {
            Some(name) => TokenEncoding::parse(name)?,
            None => TokenEncoding::Base64,
        };
        let size = match raw.token_size {
            Some(size) => parse_token_size(size)?,
            None => DEFAULT_TOKEN_SIZE,
        };
        Ok(Settings {
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
            max_retries: match raw.max_retries_per_request {
                Some(Either::B(_null)) => UNLIMITED_RETRIES,
                Some(Either::A(n)) => count("maxRetriesPerRequest", Some(n), DEFAULT_MAX_RETRIES)?,
                None => DEFAULT_MAX_RETRIES,
            },
            offline_queue: raw.enable_offline_queue.unwrap_or(true),
            offline_queue_limit: count(
                "offlineQueueLimit",
                raw.offline_queue_limit,
                DEFAULT_OFFLINE_QUEUE_LIMIT,
            )? as usize,
            durability: raw.durability.as_ref().map(Durability::parse).transpose()?,
        })
    }

    /// fred's connection settings for these options.
    pub fn connection_config(&self) -> ConnectionConfig {
        ConnectionConfig {
            connection_timeout: self.connect_timeout,
            internal_command_timeout: self.connect_timeout,
            // fred counts the first send as an attempt.
            max_command_attempts: self.max_retries.saturating_add(1),
            // Calls wait for a connection in `Link::ready`, which applies `offlineQueueLimit`;
            // fred's own channel only holds what is on its way to a connection that is up.
            max_command_buffer_len: 0,
            // `max_redirections` stays fred's: a single server or Sentinel never redirects, and
            // on Cluster `upstream::cluster_redirect` sets its own for each connection.
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

    fn parse(raw: SessionsOptions) -> std::result::Result<Settings, String> {
        Settings::parse(raw).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let opts = parse(SessionsOptions::default()).unwrap();
        assert_eq!(opts.token.size, 128);
        assert_eq!(opts.token.encoding, TokenEncoding::Base64);
        assert_eq!(opts.command_timeout, Duration::from_millis(5_000));
        assert_eq!(opts.redis.server.hosts()[0].port, 6379);
        assert_eq!(opts.connection_config().max_command_attempts, 21);
        assert!(opts.offline_queue);
        assert_eq!(opts.offline_queue_limit, 20_000);
        let unbounded = parse(SessionsOptions {
            offline_queue_limit: Some(0.0),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(unbounded.offline_queue_limit, 0);
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
            ("ftp://localhost", "unknown scheme 'ftp://'"),
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
    fn redacts_user_info_and_password_parameters() {
        for (url, shown) in [
            ("redis://user:s3cret@host:6379/2", "redis://***@host:6379/2"),
            ("redis://:s3cret@host", "redis://***@host"),
            ("rediss://s3cret@host", "rediss://***@host"),
            // Unescaped `@`, `/` and `?` in the password: everything up to the last `@`.
            ("redis://u:s3@c/r?e#t@host:1", "redis://***@host:1"),
            ("user:s3cret@host:6379", "***@host:6379"),
            ("s3cret@redis://host", "***@redis://host"),
            (
                "redis-sentinel://h:26379?sentinelServiceName=m&sentinelPassword=s3cret",
                "redis-sentinel://h:26379?sentinelServiceName=m&sentinelPassword=***",
            ),
            ("redis://host:6379", "redis://host:6379"),
            ("redis+unix:///tmp/r.sock", "redis+unix:///tmp/r.sock"),
            ("", ""),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn url_errors_never_show_the_password() {
        for bad in [
            "redis://user:s3cret@127.0.0.1:notaport",
            "redis://user:s3cret@127.0.0.1:6379/db99999",
            "redis://user:s3cret@127.0.0.1:6379/99999",
            "redis://user:s3cret@bad host:6379",
            "redis://user:s3cret@[::1:6379",
            "redis-cluster://user:s3cret@h:1?node=user:s3cret@h",
            "redis://user:s3c/ret@host:6379",
            "user:s3cret@host:6379",
            "s3cret@redis://host",
            "http://user:s3cret@host",
        ] {
            let err = parse_url(bad).unwrap_err().to_string();
            assert!(!err.contains("s3cret"), "{bad}: {err}");
            assert!(err.starts_with("connectionString:"), "{err}");
            let err = parse_url_from(DEFAULT_URL_VARIABLE, bad)
                .unwrap_err()
                .to_string();
            assert!(!err.contains("s3cret"), "{bad}: {err}");
            assert!(err.starts_with("SPOTS_SESSIONS_REDIS_URL:"), "{err}");
        }
        let err = parse_url("redis://user:s3cret@127.0.0.1:notaport")
            .unwrap_err()
            .to_string();
        assert!(err.contains("'redis://***@127.0.0.1:notaport'"), "{err}");
        assert!(!err.contains("percent-encoded"), "{err}");
        let err = parse_url("redis://user:s3c/ret@127.0.0.1:6379")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be percent-encoded"), "{err}");
    }

    #[test]
    fn topologies_from_urls_and_options() {
        let cfg = parse_url("redis-cluster://127.0.0.1:7000?node=127.0.0.1:7001").unwrap();
        assert!(
            matches!(cfg.server, ServerConfig::Clustered { ref hosts, .. } if hosts.len() == 2)
        );
        let cfg =
            parse_url("redis-sentinel://127.0.0.1:26379?sentinelServiceName=mymaster").unwrap();
        assert!(
            matches!(cfg.server, ServerConfig::Sentinel { ref service_name, .. } if service_name == "mymaster")
        );
        let cfg = parse_url("redis+unix:///tmp/redis.sock").unwrap();
        assert!(matches!(cfg.server, ServerConfig::Unix { .. }));
        assert!(parse_url("rediss://127.0.0.1:6380").unwrap().tls.is_some());

        let node = |port| NodeAddress {
            host: Some("127.0.0.1".into()),
            port: Some(port),
        };
        let opts = Settings::parse(SessionsOptions {
            cluster: Some(vec![node(7000.0), node(7001.0)]),
            ..Default::default()
        })
        .unwrap();
        assert!(matches!(opts.redis.server, ServerConfig::Clustered { .. }));
        let opts = Settings::parse(SessionsOptions {
            sentinels: Some(vec![node(26379.0)]),
            name: Some("m".into()),
            db: Some(2.0),
            ..Default::default()
        })
        .unwrap();
        assert!(matches!(opts.redis.server, ServerConfig::Sentinel { .. }));
        assert_eq!(opts.redis.database, Some(2));
        let opts = Settings::parse(SessionsOptions {
            host: Some("h".into()),
            port: Some(6380.0),
            password: Some("p".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(opts.redis.server.hosts()[0].port, 6380);
        assert_eq!(opts.redis.password.as_deref(), Some("p"));

        for (raw, field) in [
            (
                SessionsOptions {
                    sentinels: Some(vec![node(26379.0)]),
                    ..Default::default()
                },
                "name:",
            ),
            (
                SessionsOptions {
                    cluster: Some(vec![]),
                    ..Default::default()
                },
                "cluster:",
            ),
            (
                SessionsOptions {
                    port: Some(70000.0),
                    ..Default::default()
                },
                "port:",
            ),
            (
                SessionsOptions {
                    cluster: Some(vec![node(7000.0)]),
                    db: Some(1.0),
                    ..Default::default()
                },
                "db:",
            ),
            (
                SessionsOptions {
                    host: Some("h".into()),
                    connection_string: Some("redis://x".into()),
                    ..Default::default()
                },
                "connectionString:",
            ),
            (
                SessionsOptions {
                    host: Some("h".into()),
                    cluster: Some(vec![node(1.0)]),
                    ..Default::default()
                },
                "options:",
            ),
            (
                SessionsOptions {
                    tls: Some(Either::B(crate::options::TlsSettings {
                        ca: Some("not pem".into()),
                        ..Default::default()
                    })),
                    ..Default::default()
                },
                "tls.ca:",
            ),
        ] {
            let err = Settings::parse(raw).unwrap_err().to_string();
            assert!(err.starts_with(field), "{err}");
        }
    }

    #[test]
    fn bad_options_name_the_option() {
        let err = parse(SessionsOptions {
            token_size: Some(-1.0),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.starts_with("tokenSize:"), "{err}");
        let err = parse(SessionsOptions {
            command_timeout: Some(f64::NAN),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.starts_with("commandTimeout:"), "{err}");
        let err = parse(SessionsOptions {
            token_encoding: Some("latin1".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.starts_with("tokenEncoding:"), "{err}");
    }
}
