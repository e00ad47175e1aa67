//! The constructor's options as JavaScript passes them, declared once (no parsing here).
//!
//! [`SessionsOptions`] is what `new SpotsSessions(options)` takes: its doc comments and field
//! types become the `SessionsOptions` interface of `binding.d.ts`, from which `index.d.ts`
//! derives the public `SpotsSessionsOptions` (so an option added here cannot be missing from the
//! types), and every default is applied in Rust, by [`crate::config::Settings::parse`]. The
//! JavaScript layer only checks each value's type, so that a wrong one is reported with the
//! option's name and `code: 'ERR_INVALID_ARG_TYPE'`, and turns PEM Buffers into text.
//!
//! ```
//! use spots_sessions::config::Settings;
//! use spots_sessions::options::SessionsOptions;
//!
//! let opts = Settings::parse(SessionsOptions {
//!     connection_string: Some("redis://127.0.0.1:6380/2".into()),
//!     command_timeout: Some(2_000.0),
//!     ..Default::default()
//! })
//! .unwrap();
//! assert_eq!(opts.redis.database, Some(2));
//! ```

use napi::bindgen_prelude::{Either, Null};
use napi_derive::napi;

/// A `{ host, port }` entry of `sentinels` or `cluster`.
#[napi(object, object_to_js = false)]
#[derive(Debug, Clone, Default)]
pub struct NodeAddress {
    /// Default `'127.0.0.1'`.
    pub host: Option<String>,
    /// Default `26379` for a sentinel, `6379` for a Cluster node.
    pub port: Option<f64>,
}

/// The `tls` option's settings (PEM as text; the JavaScript layer also takes Buffers and arrays
/// of them, joined).
#[napi(object, object_to_js = false)]
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// CA certificates to trust instead of the system's.
    pub ca: Option<String>,
    /// Client certificate chain, for servers that require client authentication.
    pub cert: Option<String>,
    /// The client certificate's private key.
    pub key: Option<String>,
    /// `false` accepts any server certificate, as Node's TLS option. Default `true`.
    pub reject_unauthorized: Option<bool>,
}

/// The `durability` option: writes resolve only once replicas acknowledged them.
#[napi(object, object_to_js = false)]
#[derive(Debug, Clone, Default)]
pub struct DurabilitySettings {
    /// How many replicas of each node written to must acknowledge a write (Redis `WAIT`) before
    /// `create`, `update`, `kill`, `killAll` or `rotate` resolves: a whole number, 0 or more.
    pub replicas: f64,
    /// Milliseconds to wait for them; then the call rejects with `code: 'ERR_REDIS_DURABILITY'`
    /// (the write stays applied on the primary). A positive number.
    pub timeout: f64,
}

/// Options for `new SpotsSessions(options)`. Every field is optional; give either
/// `connectionString` or one server shape (`host`/`port`, `path`, `sentinels` + `name`, or
/// `cluster`).
#[napi(object, object_to_js = false)]
#[derive(Debug, Clone, Default)]
pub struct SessionsOptions {
    /// `redis://[user:password@]host[:port][/db]`, `rediss://` (TLS), `redis-sentinel://`,
    /// `redis-cluster://` or `redis+unix:///path`. Default: the `SPOTS_SESSIONS_REDIS_URL`
    /// environment variable when set, else `redis://127.0.0.1:6379`.
    pub connection_string: Option<String>,
    /// Host of a single server, instead of a connection string. Default `'127.0.0.1'`.
    pub host: Option<String>,
    /// Port of a single server. Default `6379`.
    pub port: Option<f64>,
    /// Unix socket path of a single server.
    pub path: Option<String>,
    /// ACL user name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Database number, 0 to 255 (only 0 on Redis Cluster). Default `0`.
    pub db: Option<f64>,
    /// TLS: `true` for the system's CAs, or your CA and client certificate. Default off.
    pub tls: Option<Either<bool, TlsSettings>>,
    /// Sentinel nodes; `name` is then the master group name.
    pub sentinels: Option<Vec<NodeAddress>>,
    /// The Sentinel master group name (required with `sentinels`).
    pub name: Option<String>,
    /// Redis Cluster seed nodes; `client` is then an ioredis `Cluster`.
    pub cluster: Option<Vec<NodeAddress>>,
    /// How tokens are encoded, as `Buffer#toString(encoding)`: `'base64'`, `'base64url'` or
    /// `'hex'`. Default `'base64'`.
    pub token_encoding: Option<String>,
    /// Random bytes per token, 8 to 1024. Default `128` (a 172-character base64 token).
    pub token_size: Option<f64>,
    /// Milliseconds allowed to establish a connection. Default `10000`.
    pub connect_timeout: Option<f64>,
    /// Milliseconds a call may wait for Redis (including while connecting or reconnecting)
    /// before it rejects with `code: 'ERR_REDIS_TIMEOUT'`. Default `5000`.
    pub command_timeout: Option<f64>,
    /// How many times a command is re-sent when its connection drops while it is in flight, as
    /// ioredis's option. Default `20`; `null` means no limit other than `commandTimeout`.
    pub max_retries_per_request: Option<Either<f64, Null>>,
    /// As ioredis: `true` lets calls wait for the connection while Redis is unreachable (up to
    /// `commandTimeout`); `false` rejects them at once with `code: 'ERR_REDIS_OFFLINE'`.
    /// Default `true`.
    pub enable_offline_queue: Option<bool>,
    /// Most calls that may wait for the connection at once; further calls reject at once with
    /// `code: 'ERR_REDIS_OFFLINE'`. Default `20000`; `0` means no limit.
    pub offline_queue_limit: Option<f64>,
    /// Writes (`create`, `update`, `kill`, `killAll`, `rotate`) resolve only once `replicas`
    /// replicas of each node written to acknowledged them, within `timeout` ms; reads,
    /// `refresh` and `get` with `refresh` never wait. Default: off (as Redis: acknowledged by the
    /// primary only).
    pub durability: Option<DurabilitySettings>,
}
