//! The session logic, in plain async Rust over a fred client. Nothing here knows about Node.
//!
//! Each session method runs one of two ways, by the server's topology, each in a file of its
//! own that reads alone (as fred's `router/centralized.rs` and `router/clustered.rs` do):
//!
//! - `single.rs`: a single server, or Sentinel. Every method is one Redis round trip, one Lua
//!   script from [`crate::scripts`], so each method is atomic.
//! - `cluster.rs`: Redis Cluster. A session and its owner index hash to different slots, so
//!   the multi-key methods run single-key steps in an order that keeps the owner index a
//!   superset of the live sessions.
//!
//! This file holds what both share: [`SessionStore`] and its plumbing (waiting for the
//! connection, sending a step on a client, mapping errors), the public methods, which only
//! prepare their arguments and pick the topology's path (`get` and `update` are one single-key
//! command or script on both, so they have no second path), and the store's life (`quit`,
//! `disconnect`, where a call goes). `decode.rs` turns `HGETALL` replies into what `get`
//! returns; `eviction.rs` watches Redis's eviction policy; `migration.rs` is the one door of the
//! 1.x migration ([`MigrationStore`]). Key names come from [`crate::keys`] only; workarounds for
//! bugs in fred are in [`crate::upstream`].

mod cluster;
mod decode;
pub mod durable;
mod eviction;
mod migration;
mod single;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fred::prelude::{Client, ClientLike, FromValue, Key, Server, Value};
use fred::types::config::ServerConfig;
use fred::types::scripts::Script;

use crate::config::Settings;
use crate::data::{is_null, split_object};
use crate::error::{Error, Result};
use crate::events::EventSink;
use crate::keys::{escape, session_id, AppKeys, SessionId, ORDER_FIELD, OWNER_FIELD};
use crate::link::Link;
use crate::manage::CreateLimits;
use crate::reply::{bytes, key};
use crate::scripts::SCRIPTS;
use crate::token::TokenOptions;
use crate::upstream;
use crate::upstream::cluster_redirect::{Redirects, Step};
use crate::validate::{MAX_DATA_BYTES, MAX_DATA_FIELDS};

use decode::{decode_session, is_written};
pub use migration::MigrationStore;

/// `cluster::$path(store, args…)` on Redis Cluster, else `single::$path(store, args…)`: the
/// session methods' one dispatch by topology.
macro_rules! by_topology {
    ($store:expr, $path:ident($($arg:expr),* $(,)?)) => {
        if $store.cluster {
            cluster::$path($store, $($arg),*).await
        } else {
            single::$path($store, $($arg),*).await
        }
    };
}

/// How many fresh tokens `create` (and `rotate`) draws before giving up on collisions. With the
/// minimum `tokenSize` of 8 random bytes a single collision is already vanishingly unlikely.
const CREATE_ATTEMPTS: usize = 3;

/// What a call is addressed by, for [`SessionStore::server_for`].
#[derive(Debug, Clone, Copy)]
pub enum CallKey<'a> {
    /// A token: the session's key.
    Token(&'a [u8]),
    /// A session id: the session's key.
    SessionId(&'a SessionId),
    /// An owner: the owner's index.
    Owner(&'a [u8]),
}

/// A connected session store.
pub struct SessionStore {
    /// The sessions' connection, and its health (waiting for it, failing fast on bad
    /// credentials, reconnecting when it goes silent: see `link`). It carries only the session
    /// methods' own commands, never a user's: with fred 10.1 / redis-protocol 6, an error reply
    /// that is not valid UTF-8 (easy to provoke with arbitrary commands) silently drops one reply
    /// and shifts every later reply on that connection by one, which would hand one user's
    /// session to another. The `client` that `index.js` exposes is an ioredis instance with
    /// connections of its own.
    link: Arc<Link>,
    token: TokenOptions,
    command_timeout: Duration,
    offline_queue: bool,
    /// Redis Cluster: multi-key steps run one key at a time (`cluster.rs`, `lua/lib.lua`).
    cluster: bool,
    /// Redis Cluster: runs each step, following `MOVED` and `ASK` (see [`cluster_redirect`]).
    redirects: Arc<Redirects>,
    closed: AtomicBool,
    /// What the store was made from, for [`SessionStore::dedicated`].
    options: Settings,
}

/// A fred command's future, boxed so that a call waiting for the connection holds none of its
/// (several KB of) state.
type Pending<'a, T> =
    Pin<Box<dyn Future<Output = std::result::Result<T, fred::error::Error>> + Send + 'a>>;

/// What `create` writes, prepared once for all its attempts (each with a fresh token).
struct NewSession<'a> {
    app: &'a [u8],
    keys: AppKeys,
    escaped_owner: Vec<u8>,
    /// The owner's index.
    index: Key,
    /// Seconds to live (`0`: never expires).
    seconds: u64,
    limits: CreateLimits,
    /// The owner field and owner, then the data pairs: the fields `create` writes (see
    /// [`SessionStore::is_own_write`]); `create.lua` and `step_session_create.lua` take them
    /// with other arguments between the two parts.
    fields: Vec<Value>,
}

impl NewSession<'_> {
    /// `max_age` as a script argument (`0`: none).
    fn max_age(&self) -> Value {
        Value::from(self.limits.max_age.unwrap_or(0) as i64)
    }
}

/// The connection and its plumbing, for every path.
impl SessionStore {
    /// Builds the client and starts connecting in the background. Must run inside the tokio
    /// runtime; never waits for Redis.
    pub fn connect(opts: &Settings) -> Result<Self> {
        Self::connect_observed(opts, None)
    }

    /// [`SessionStore::connect`], reporting connection events to `events` (the instance's own
    /// store; the migration's and the confirmations' connections report none).
    pub fn connect_observed(opts: &Settings, events: Option<EventSink>) -> Result<Self> {
        let cluster = matches!(opts.redis.server, ServerConfig::Clustered { .. });
        let link = Link::connect(opts, events)?;
        Ok(SessionStore {
            link,
            token: opts.token,
            command_timeout: opts.command_timeout,
            offline_queue: opts.offline_queue,
            cluster,
            redirects: Arc::new(Redirects::new(opts)),
            closed: AtomicBool::new(false),
            options: opts.clone(),
        })
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else if !self.offline_queue && !self.link.client().is_connected() {
            Err(Error::Offline(
                "enableOfflineQueue is false, so calls are not queued until it reconnects".into(),
            ))
        } else {
            Ok(())
        }
    }

    /// Waits until the connection can take commands, then returns its client. While it is
    /// being (re)made the call waits here (see [`Link::ready`]), within `commandTimeout` and
    /// `offlineQueueLimit`, rather than in fred's queue; fred also refuses commands while it has
    /// no Redis Cluster routing table.
    async fn ready_client(&self) -> Result<Client> {
        self.check_open()?;
        let client = self.link.client();
        self.link.ready(&client).await?;
        Ok(client)
    }

    /// Awaits one fred command on the sessions' connection, watching the connection's health
    /// (see [`Link::watch`]).
    async fn send<T>(&self, command: Pending<'_, T>) -> std::result::Result<T, fred::error::Error> {
        self.link.watch(command).await
    }

    fn redis_error(&self, err: fred::error::Error) -> Error {
        match Error::from(err) {
            Error::Timeout(details) => Error::Timeout(format!(
                "no reply from Redis within commandTimeout ({} ms): {details}",
                self.command_timeout.as_millis()
            )),
            Error::Protocol(details) => self.protocol_error(details),
            other => other,
        }
    }

    /// `err`, after dropping the connection when it is a protocol error.
    fn checked(&self, err: Error) -> Error {
        match err {
            Error::Protocol(details) => self.protocol_error(details),
            other => other,
        }
    }

    /// A reply no session command can produce: the link cannot be trusted to stay in step,
    /// so it is dropped and remade before the next call uses it.
    fn protocol_error(&self, details: String) -> Error {
        self.link.force_reconnect();
        Error::Protocol(details)
    }

    /// One script: atomically on a single server; on Redis Cluster as a step that follows
    /// `MOVED` and `ASK` (see [`cluster_redirect`]).
    async fn eval<R: FromValue + Send>(
        &self,
        script: &'static Script,
        keys: Vec<Key>,
        args: Vec<Value>,
    ) -> Result<R> {
        self.step(Step::Script(script), keys, args).await
    }

    /// A plain command on `key`, following `MOVED` and `ASK` on Redis Cluster.
    async fn command<R: FromValue + Send>(
        &self,
        name: &'static str,
        key: Key,
        args: Vec<Value>,
    ) -> Result<R> {
        self.step(Step::Command(name), vec![key], args).await
    }

    /// Sends `step` once the connection is ready. Only Redis Cluster goes through
    /// [`Redirects::run`]: a single server has no redirection to follow, so its calls skip the
    /// retry loop and the copies of the keys and arguments that each attempt of it makes.
    async fn step<R: FromValue + Send>(
        &self,
        step: Step,
        keys: Vec<Key>,
        args: Vec<Value>,
    ) -> Result<R> {
        let client = self.ready_client().await?;
        if self.cluster {
            if let Some(first) = keys.first() {
                durable::record_slot(first.as_bytes());
            }
        }
        self.run_step(&client, step, keys, args)
            .await
            .map_err(|e| self.redis_error(e))
    }

    /// The one way to send `step` on `client` (a client of this store's connection): on Redis
    /// Cluster through [`Redirects::run`], else as it is; watched by the link either way (see
    /// [`Link::watch`]). fred's error comes back unmapped, for a caller that looks at it before
    /// mapping it (`cluster.rs`'s `TRYAGAIN` fallback). The topology's paths send through this
    /// rather than through the link and the redirections themselves.
    async fn run_step<R: FromValue + Send>(
        &self,
        client: &Client,
        step: Step,
        keys: Vec<Key>,
        args: Vec<Value>,
    ) -> std::result::Result<R, fred::error::Error> {
        if self.cluster {
            self.send(Box::pin(self.redirects.run(client, step, keys, args)))
                .await
        } else {
            self.send(Box::pin(step.send(client, keys, args))).await
        }
    }

    /// The connection's current client, without waiting for it to be ready: for the steps of
    /// one call that run side by side, after the call waited once (see [`Link::client`]).
    fn current_client(&self) -> Client {
        self.link.client()
    }

    /// Whether the session at `session` holds exactly the fields `create` writes for these
    /// `fields` (owner field, owner, then data field, value, …): then a reported collision was
    /// this call's own earlier write. A real collision would need a fresh random token equal to
    /// a live one (2^-64 at the smallest `tokenSize`) *and* the same owner and data, so
    /// answering with the token opens nothing its caller does not already own.
    async fn is_own_write(&self, session: &Key, fields: &[Value]) -> Result<bool> {
        let reply: Value = self
            .command(upstream::HGETALL, session.clone(), vec![])
            .await?;
        Ok(is_written(&reply, fields))
    }

    /// A nonce that identifies one `kill`/`killAll` call across fred's re-sends, and the life
    /// of the receipt it leaves (see [`crate::keys`]): fred re-sends only while the call has
    /// not timed out, so `commandTimeout` plus a margin for the server's clock covers it.
    fn receipt_args(&self) -> (Value, Value) {
        let nonce: [u8; 16] = rand::random();
        let life = self.command_timeout.as_millis().saturating_add(1_000);
        (
            bytes(&nonce),
            Value::from(life.min(i64::MAX as u128) as i64),
        )
    }
}

/// The session methods: arguments prepared here, then the topology's path.
impl SessionStore {
    /// Creates a session and returns its token. `duration` is whole seconds (`None`: never
    /// expires); `data_json` is a JSON object's text; `limits` are `maxAge` and `maxSessions`.
    pub async fn create(
        &self,
        app: &[u8],
        owner: &[u8],
        data_json: &str,
        duration: Option<u64>,
        limits: CreateLimits,
    ) -> Result<String> {
        let data = split_object(data_json)?;
        let keys = AppKeys::new(app);
        let escaped_owner = escape(owner);
        let mut fields = Vec::with_capacity(2 + 2 * data.len());
        fields.push(bytes(OWNER_FIELD));
        fields.push(bytes(&escaped_owner));
        for (k, v) in &data {
            fields.push(bytes(k));
            fields.push(bytes(v.get().as_bytes()));
        }
        let new = NewSession {
            app,
            index: key(keys.index_for_escaped(&escaped_owner)),
            keys,
            escaped_owner,
            seconds: duration.unwrap_or(0),
            limits,
            fields,
        };
        by_topology!(self, create(&new))
    }

    /// The session's owner and data as the JSON text `[owner, data]`, or `None`. One
    /// `HGETALL` on both topologies.
    pub async fn get(&self, app: &[u8], token: &[u8]) -> Result<Option<String>> {
        let session = AppKeys::new(app).session(&session_id(token));
        let reply: Value = self
            .command(upstream::HGETALL, key(session), vec![])
            .await?;
        decode_session(reply).map_err(|e| self.checked(e))
    }

    /// Sets the session's remaining life to `duration` seconds. `false` if it does not exist.
    pub async fn refresh(&self, app: &[u8], token: &[u8], duration: u64) -> Result<bool> {
        let keys = AppKeys::new(app);
        let id = session_id(token);
        by_topology!(self, refresh(&keys, &id, duration))
    }

    /// Shallow-merges `data_json` into the session: `null` deletes a key. The TTL is unchanged.
    /// The data limits hold for the merged data, so no number of updates grows a session past
    /// them; an update that would is refused whole. One single-key script on both topologies.
    pub async fn update(&self, app: &[u8], token: &[u8], data_json: &str) -> Result<bool> {
        let fields = split_object(data_json)?;
        let (deletes, sets): (Vec<_>, Vec<_>) = fields.iter().partition(|(_, v)| is_null(v));
        let mut args = Vec::with_capacity(5 + 2 * sets.len() + deletes.len());
        args.push(bytes(OWNER_FIELD));
        args.push(bytes(ORDER_FIELD));
        args.push(Value::from(MAX_DATA_BYTES as i64));
        args.push(Value::from(MAX_DATA_FIELDS as i64));
        args.push(Value::from(sets.len() as i64));
        for (k, v) in &sets {
            args.push(bytes(k));
            args.push(bytes(v.get().as_bytes()));
        }
        for (k, _) in &deletes {
            args.push(bytes(k));
        }
        let session = AppKeys::new(app).session(&session_id(token));
        match self
            .eval::<i64>(&SCRIPTS.update, vec![key(session)], args)
            .await?
        {
            1 => Ok(true),
            0 => Ok(false),
            -1 => Err(Error::invalid(
                "data",
                format!(
                    "the session would have more than {MAX_DATA_FIELDS} top-level keys after this update; the limit holds for the whole session"
                ),
            )),
            -2 => Err(Error::invalid(
                "data",
                format!(
                    "the session's data would take more than {MAX_DATA_BYTES} bytes as JSON after this update; the limit holds for the whole session"
                ),
            )),
            other => Err(Error::UnexpectedReply(format!(
                "unexpected reply to update: {other}"
            ))),
        }
    }

    /// Deletes the session and its index entry. `false` if it did not exist, or if `owner` is
    /// given and the session is another owner's (then it is left alone).
    pub async fn kill(&self, app: &[u8], token: &[u8], owner: Option<&[u8]>) -> Result<bool> {
        self.kill_id(app, &session_id(token), owner).await
    }

    /// [`kill`](Self::kill), addressed by session id. Ids are shown in pages and logs, so an
    /// application passes the signed-in `owner` to make sure that one user cannot sign out
    /// another by id.
    pub async fn kill_id(&self, app: &[u8], id: &SessionId, owner: Option<&[u8]>) -> Result<bool> {
        let keys = AppKeys::new(app);
        let receipt = self.receipt_args();
        let escaped_owner = owner.map(escape);
        by_topology!(self, kill(&keys, id, escaped_owner.as_deref(), receipt))
    }

    /// Deletes every session of `owner` in `app` but `except` (which stays, and stays listed).
    /// `true` if at least one was deleted.
    pub async fn kill_all(
        &self,
        app: &[u8],
        owner: &[u8],
        except: Option<SessionId>,
    ) -> Result<bool> {
        let keys = AppKeys::new(app);
        let escaped_owner = escape(owner);
        let receipt = self.receipt_args();
        by_topology!(self, kill_all(&keys, &escaped_owner, except, receipt))
    }

    /// Every live session of `owner` in `app` (at most `limit`, the newest-created) as the JSON
    /// text `[[sessionId, createdAt, expiresAt, data], …]`, newest first. Dead index entries
    /// are pruned as they are seen.
    pub async fn list(&self, app: &[u8], owner: &[u8], limit: Option<u32>) -> Result<String> {
        let keys = AppKeys::new(app);
        let escaped_owner = escape(owner);
        by_topology!(self, list(&keys, &escaped_owner, limit))
    }

    /// How many live sessions `owner` has in `app`, as decimal text.
    pub async fn count(&self, app: &[u8], owner: &[u8]) -> Result<String> {
        let keys = AppKeys::new(app);
        let escaped_owner = escape(owner);
        let n = by_topology!(self, count(&keys, &escaped_owner))?;
        Ok(n.to_string())
    }

    /// `get` and `refresh` in one: the session as `get` returns it, after setting its remaining
    /// life to `duration` seconds (capped by its `maxAge` deadline).
    pub async fn get_refresh(
        &self,
        app: &[u8],
        token: &[u8],
        duration: u64,
    ) -> Result<Option<String>> {
        let keys = AppKeys::new(app);
        let id = session_id(token);
        by_topology!(self, get_refresh(&keys, &id, duration))
    }

    /// Moves the session of `token` to a new token and returns it (`None`: no such session).
    /// Owner, data, expiry, creation time and place in the owner index stay; the old token
    /// stops working at once.
    pub async fn rotate(&self, app: &[u8], token: &[u8]) -> Result<Option<String>> {
        let keys = AppKeys::new(app);
        let old_id = session_id(token);
        by_topology!(self, rotate(&keys, &old_id))
    }
}

/// The store's life, and where its calls go.
impl SessionStore {
    /// Closes the connection after the commands already sent have been answered.
    pub async fn quit(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.redirects.close();
        // Not connected: nothing was ever answered or nothing is left to answer, so don't wait
        // for a connection (as ioredis, whose quit() resolves at once while connecting).
        match self.link.close() {
            Some(client) => client.quit().await.map_err(|e| self.redis_error(e)),
            None => Ok(()),
        }
    }

    /// Marks the store closed at once; the connection is closed in the background.
    pub fn disconnect(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.redirects.close();
            if let Some(client) = self.link.close() {
                tokio::spawn(async move {
                    // Nothing waits for this; an error only means the connection was gone.
                    let _ = client.quit().await;
                });
            }
        }
    }

    /// The server that serves a call on `app` addressed by `key`, for its trace: on Redis
    /// Cluster the primary of the slot of the call's first key (the session's, or for `Owner`
    /// the owner's index), from the cached slot map; elsewhere the server of the last ready
    /// connection (see [`Link::known_server`]). Synchronous, and never touches Redis.
    pub fn server_for(&self, app: &[u8], key: CallKey<'_>) -> Option<Server> {
        if !self.cluster {
            return self.link.known_server();
        }
        let keys = AppKeys::new(app);
        let name = match key {
            CallKey::Token(token) => keys.session(&session_id(token)),
            CallKey::SessionId(id) => keys.session(id),
            CallKey::Owner(owner) => keys.index_for_escaped(&escape(owner)),
        };
        self.link.primary_for(&name)
    }

    /// Whether this store talks to a Redis Cluster (multi-key steps then run one key at a time).
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }
}

/// `create` and `rotate` drew [`CREATE_ATTEMPTS`] fresh tokens and each was taken.
fn collisions() -> Error {
    Error::TokenCollision {
        attempts: CREATE_ATTEMPTS,
    }
}
