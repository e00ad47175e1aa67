//! The session logic, in plain async Rust over a fred client. Nothing here knows about Node.
//!
//! On a single server (or Sentinel) every method is one Redis round trip: `get` is a single
//! `HGETALL`, and every method that touches more than one key is one Lua script from
//! [`crate::scripts`], so each method is atomic.
//!
//! On Redis Cluster a session and its owner index hash to different slots, so the multi-key
//! methods run single-key steps in an order that keeps the owner index a superset of the live
//! sessions: the index first when adding or extending, the session first when removing, and
//! `killAll` removes only the index members it read. Every cluster step goes through
//! [`crate::upstream::cluster_redirect`], which handles `MOVED` and `ASK` in place of fred. Key
//! names come from [`crate::keys`] only; workarounds for bugs in fred are in [`crate::upstream`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fred::bytes::Bytes;
use fred::prelude::{
    Builder, Client, ClientLike, ConnectionConfig, EventInterface, FromValue, Key, Value,
};
use fred::types::config::ServerConfig;
use fred::types::scripts::Script;
use fred::types::{ClusterHash, CustomCommand};
use fred::util::redis_keyslot;
use tokio::sync::broadcast::error::RecvError;

use crate::config::Options;
use crate::data::{is_null, session_json, split_object};
use crate::error::{Error, Result};
use crate::keys::{
    decode_order, escape, is_reserved, session_id, unescape, AppKeys, SessionId, CREATED_FIELD,
    DEADLINE_FIELD, ORDER_FIELD, OWNER_FIELD,
};
use crate::link::Link;
use crate::manage::{self, CreateLimits, Listed};
use crate::scripts::SCRIPTS;
use crate::token::TokenOptions;
use crate::upstream::cluster_redirect::{self, Redirects, Step};
use crate::upstream::{self, first_connection};
use crate::validate::{MAX_DATA_BYTES, MAX_DATA_FIELDS};

/// How many fresh tokens `create` draws before giving up on collisions. With the minimum
/// `tokenSize` of 8 random bytes a single collision is already vanishingly unlikely.
const CREATE_ATTEMPTS: usize = 3;

/// Cluster steps of the session-management calls echo their key, and one whose echo does not
/// match is read again before the call fails. Since `cluster_redirect` keeps fred from sending
/// `ASKING` on the pipelined connection, replies are no longer handed to the wrong caller; the
/// echo stays as a cheap backstop against ever returning one caller another's session.
const MISMATCH_ATTEMPTS: usize = 2;

/// The sessions' fred client for `opts` (not yet connecting): on Redis Cluster with fred's own
/// redirection handling off (see [`cluster_redirect`]), and `fail_fast`, so that its first
/// connection attempt starts at once ([`first_connection`]; [`Link`] retries a first attempt
/// that fails). Both are workarounds for fred bugs.
pub(crate) fn session_client(opts: &Options) -> Result<Client> {
    let connection = if matches!(opts.redis.server, ServerConfig::Clustered { .. }) {
        cluster_redirect::session_connection(opts)
    } else {
        opts.connection_config()
    };
    let mut config = opts.redis.clone();
    first_connection::no_first_delay(&mut config);
    build(config, opts, connection)
}

/// A fred client for `opts`, with `connection` as its connection settings.
pub(crate) fn build_client(opts: &Options, connection: ConnectionConfig) -> Result<Client> {
    build(opts.redis.clone(), opts, connection)
}

fn build(
    config: fred::types::config::Config,
    opts: &Options,
    connection: ConnectionConfig,
) -> Result<Client> {
    Builder::from_config(config)
        .set_connection_config(connection)
        .set_performance_config(opts.performance_config())
        .set_policy(opts.reconnect_policy())
        .build()
        .map_err(Error::from)
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
    /// Redis Cluster: multi-key steps run one key at a time (see `lua/lib.lua`).
    cluster: bool,
    /// Redis Cluster: runs each step, following `MOVED` and `ASK` (see `cluster_redirect`).
    redirects: Arc<Redirects>,
    closed: AtomicBool,
    /// What the store was made from, for [`SessionStore::dedicated`].
    options: Options,
}

/// A fred command's future, boxed so that a call waiting for the connection holds none of its
/// (several KB of) state.
type Pending<'a, T> =
    Pin<Box<dyn Future<Output = std::result::Result<T, fred::error::Error>> + Send + 'a>>;

fn bytes(v: &[u8]) -> Value {
    Value::Bytes(v.to_vec().into())
}

fn key(v: Vec<u8>) -> Key {
    Key::from(Bytes::from(v))
}

impl SessionStore {
    /// Builds the client and starts connecting in the background. Must run inside the tokio
    /// runtime; never waits for Redis.
    pub fn connect(opts: &Options) -> Result<Self> {
        let cluster = matches!(opts.redis.server, ServerConfig::Clustered { .. });
        let link = Link::connect(opts)?;
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

    /// The connection, once it can take commands. While it is being (re)made the call waits
    /// here (see [`Link::ready`]), within `commandTimeout` and `offlineQueueLimit`, rather than
    /// in fred's queue; fred also refuses commands while it has no Redis Cluster routing table.
    async fn redis(&self) -> Result<Client> {
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
    /// `MOVED` and `ASK` (see `cluster_redirect`).
    async fn eval<R: FromValue + Send>(
        &self,
        script: &'static Script,
        keys: Vec<Key>,
        args: Vec<Value>,
    ) -> Result<R> {
        let client = self.redis().await?;
        let reply = if self.cluster {
            let step = Step::Script(script);
            self.send(Box::pin(self.redirects.run(&client, step, keys, args)))
                .await
        } else {
            self.send(Box::pin(
                script.evalsha_with_reload::<R, _, _>(&client, keys, args),
            ))
            .await
        };
        reply.map_err(|e| self.redis_error(e))
    }

    /// A plain command on `key`, following `MOVED` and `ASK` on Redis Cluster.
    async fn command<R: FromValue + Send>(
        &self,
        name: &'static str,
        key: Key,
        args: Vec<Value>,
    ) -> Result<R> {
        let client = self.redis().await?;
        let step = Step::Command(name);
        self.send(Box::pin(self.redirects.run(&client, step, vec![key], args)))
            .await
            .map_err(|e| self.redis_error(e))
    }

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
        let fields = split_object(data_json)?;
        let keys = AppKeys::new(app);
        let escaped_owner = escape(owner);
        let index = key(keys.index_for_escaped(&escaped_owner));
        let seconds = duration.unwrap_or(0);
        let duration = Value::from(seconds as i64);
        let max_age = Value::from(limits.max_age.unwrap_or(0) as i64);
        // The owner field and owner, then the data pairs: the fields `create` writes (see
        // `is_own_write`); create.lua and step_session_create.lua take them with other
        // arguments between the two parts.
        let mut session_args = Vec::with_capacity(2 + 2 * fields.len());
        session_args.push(bytes(OWNER_FIELD));
        session_args.push(bytes(&escaped_owner));
        for (k, v) in &fields {
            session_args.push(bytes(k));
            session_args.push(bytes(v.get().as_bytes()));
        }
        for _ in 0..CREATE_ATTEMPTS {
            let token = self.token.generate();
            let id = session_id(token.as_bytes());
            let session = key(keys.session(&id));
            let created: i64 = if self.cluster {
                // The index first, so that it always over-approximates the live sessions. Its
                // step also reads the clock for the creation time and the maxAge deadline.
                let (expiry, now, deadline) = self
                    .index_add_until_step(&index, &id, seconds, max_age.clone(), "0".into())
                    .await?;
                let mut args = Vec::with_capacity(5 + session_args.len());
                args.push(expiry);
                args.extend(session_args[..2].iter().cloned());
                args.push(bytes(ORDER_FIELD));
                // The reserved fields go in as the first "data" pairs (step_session_create.lua).
                args.extend([bytes(CREATED_FIELD), now]);
                if limits.max_age.is_some() {
                    args.extend([bytes(DEADLINE_FIELD), deadline]);
                }
                args.extend(session_args[2..].iter().cloned());
                let created = self
                    .eval(&SCRIPTS.session_create, vec![session.clone()], args)
                    .await?;
                if created != 1 && self.is_own_write(&session, &session_args).await? {
                    return Ok(token);
                }
                if created != 1 {
                    // A collision: that id is someone else's session, so it must leave our index.
                    let _: Value = self
                        .eval(&SCRIPTS.index_remove, vec![index.clone()], vec![bytes(&id)])
                        .await?;
                }
                created
            } else {
                // create.lua's layout: id, duration, owner field and owner, then the order field
                // and the management arguments, then the data pairs.
                let mut args = Vec::with_capacity(8 + session_args.len());
                args.push(bytes(&id));
                args.push(duration.clone());
                args.extend(session_args[..2].iter().cloned());
                args.extend([
                    bytes(ORDER_FIELD),
                    bytes(CREATED_FIELD),
                    bytes(DEADLINE_FIELD),
                    max_age.clone(),
                    Value::from(limits.max_sessions.unwrap_or(0) as i64),
                    bytes(&keys.session_prefix()),
                ]);
                args.extend(session_args[2..].iter().cloned());
                self.eval(&SCRIPTS.create, vec![session.clone(), index.clone()], args)
                    .await?
            };
            // A "collision" can be this very call's own write: fred re-sends a command whose
            // reply was lost with its connection, and the re-sent script finds the session the
            // first run created.
            if created == 1 || self.is_own_write(&session, &session_args).await? {
                if let (true, Some(max)) = (self.cluster, limits.max_sessions) {
                    // Not atomic on a cluster: see `evict_in_cluster`.
                    self.evict_in_cluster(app, &escaped_owner, max, &id).await?;
                }
                return Ok(token);
            }
        }
        Err(Error::Redis(format!(
            "{CREATE_ATTEMPTS} fresh tokens in a row collided with existing sessions; raise tokenSize"
        )))
    }

    /// Whether the session at `session` holds exactly the fields `create` writes for these
    /// `session_args` (owner field, owner, then data field, value, …): then a reported
    /// collision was this call's own earlier write. A real collision would need a fresh random
    /// token equal to a live one (2^-64 at the smallest `tokenSize`) *and* the same owner and
    /// data, so answering with the token opens nothing its caller does not already own.
    async fn is_own_write(&self, session: &Key, session_args: &[Value]) -> Result<bool> {
        let reply: Value = self
            .command(upstream::HGETALL, session.clone(), vec![])
            .await?;
        // The creation time and deadline are the server's, not part of the comparison; the
        // owner field is.
        let kept = |k: &[u8]| k == OWNER_FIELD || !is_reserved(k);
        let stored: Option<std::collections::BTreeMap<&[u8], &[u8]>> = match &reply {
            Value::Array(items) => items
                .chunks(2)
                .map(|p| Some((value_bytes(p.first()?)?, value_bytes(p.get(1)?)?)))
                .filter(|p| p.is_none_or(|(k, _)| kept(k)))
                .collect(),
            Value::Map(map) => map
                .iter()
                .map(|(k, v)| Some((k.as_bytes(), value_bytes(v)?)))
                .filter(|p| p.is_none_or(|(k, _)| kept(k)))
                .collect(),
            _ => None,
        };
        // HSET semantics: a repeated field keeps its last value.
        let wanted: Option<std::collections::BTreeMap<&[u8], &[u8]>> = session_args
            .chunks(2)
            .map(|p| Some((value_bytes(p.first()?)?, value_bytes(p.get(1)?)?)))
            .collect();
        Ok(stored.is_some() && stored == wanted)
    }

    /// The session's owner and data as the JSON text `[owner, data]`, or `None`.
    pub async fn get(&self, app: &[u8], token: &[u8]) -> Result<Option<String>> {
        let session = AppKeys::new(app).session(&session_id(token));
        if !self.cluster {
            let reply: Value = self
                .command(upstream::HGETALL, key(session), vec![])
                .await?;
            return decode_session(reply).map_err(|e| self.checked(e));
        }
        let reply: Value = self
            .command(upstream::HGETALL, key(session), vec![])
            .await?;
        decode_session(reply).map_err(|e| self.checked(e))
    }

    /// Sets the session's remaining life to `duration` seconds. `false` if it does not exist.
    pub async fn refresh(&self, app: &[u8], token: &[u8], duration: u64) -> Result<bool> {
        let keys = AppKeys::new(app);
        let id = session_id(token);
        let session = key(keys.session(&id));
        if !self.cluster {
            let args = vec![
                bytes(&id),
                Value::from(duration as i64),
                bytes(OWNER_FIELD),
                bytes(&keys.index_prefix()),
                bytes(DEADLINE_FIELD),
            ];
            return Ok(self
                .eval::<i64>(&SCRIPTS.refresh, vec![session], args)
                .await?
                == 1);
        }
        // The owner, and the maxAge deadline that caps the new expiry.
        let fields: Vec<Option<Bytes>> = self
            .command(
                "HMGET",
                session.clone(),
                vec![bytes(OWNER_FIELD), bytes(DEADLINE_FIELD)],
            )
            .await?;
        let mut fields = fields.into_iter();
        let (Some(Some(owner)), deadline) = (fields.next(), fields.next().flatten()) else {
            return Ok(false);
        };
        let deadline = deadline.map_or(Value::from("0"), Value::Bytes);
        // The index first (extending it before the session), then the session, which must
        // not be brought back if it was killed in between: PEXPIREAT on a missing key is a no-op.
        let index = key(keys.index_for_escaped(&owner));
        let (expiry, _, _) = self
            .index_add_until_step(&index, &id, duration, Value::from(0), deadline)
            .await?;
        let applied: i64 = self.command("PEXPIREAT", session, vec![expiry]).await?;
        Ok(applied == 1)
    }

    /// Shallow-merges `data_json` into the session: `null` deletes a key. The TTL is unchanged.
    /// The data limits hold for the merged data, so no number of updates grows a session past
    /// them; an update that would is refused whole.
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
            other => Err(Error::Redis(format!("unexpected reply to update: {other}"))),
        }
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

    /// Deletes the session and its index entry. `false` if it did not exist.
    pub async fn kill(&self, app: &[u8], token: &[u8]) -> Result<bool> {
        self.kill_id(app, &session_id(token)).await
    }

    /// [`kill`](Self::kill), addressed by session id.
    pub async fn kill_id(&self, app: &[u8], id: &SessionId) -> Result<bool> {
        let keys = AppKeys::new(app);
        let session = key(keys.session(id));
        let (nonce, receipt_ms) = self.receipt_args();
        if !self.cluster {
            let receipt = key(keys.kill_receipt(id));
            let args = vec![
                bytes(id),
                bytes(OWNER_FIELD),
                bytes(&keys.index_prefix()),
                nonce,
                receipt_ms,
            ];
            return Ok(self
                .eval::<i64>(&SCRIPTS.kill, vec![session, receipt], args)
                .await?
                == 1);
        }
        // The session first, then its index entry: the index may only ever hold too much.
        let receipt = key(keys.kill_receipt_in_slot(id, redis_keyslot(session.as_bytes())));
        let args = vec![
            bytes(OWNER_FIELD),
            Value::from("0"),
            Value::from(""),
            nonce,
            receipt_ms,
        ];
        let client = self.redis().await?;
        let owner = take_step(&self.link, &self.redirects, &client, session, receipt, args)
            .await
            .map_err(|e| self.redis_error(e))?;
        let Some(owner) = owner else {
            return Ok(false);
        };
        let index = key(keys.index_for_escaped(&owner));
        let _: Value = self
            .eval(&SCRIPTS.index_remove, vec![index], vec![bytes(id)])
            .await?;
        Ok(true)
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
        let index = key(keys.index_for_escaped(&escaped_owner));
        let (nonce, receipt_ms) = self.receipt_args();
        if !self.cluster {
            let receipt = key(keys.kill_all_receipt(&escaped_owner));
            let args = vec![
                bytes(&keys.session_prefix()),
                bytes(OWNER_FIELD),
                bytes(&escaped_owner),
                except.as_ref().map_or(Value::from(""), |id| bytes(id)),
                nonce,
                receipt_ms,
            ];
            return Ok(self
                .eval::<i64>(&SCRIPTS.kill_all, vec![index, receipt], args)
                .await?
                > 0);
        }
        // Read the index, delete those sessions (each only if it is this owner's), then remove
        // exactly the members read: a session a racing create adds meanwhile stays listed.
        let ids: Vec<Bytes> = self
            .command("ZRANGE", index.clone(), vec![0.into(), (-1).into()])
            .await?;
        // The session to keep is neither deleted nor removed from the index.
        let ids: Vec<Bytes> = ids
            .into_iter()
            .filter(|id| except.as_ref().is_none_or(|keep| &id[..] != keep))
            .collect();
        if ids.is_empty() {
            return Ok(false);
        }
        let mut deletes = tokio::task::JoinSet::new();
        for id in ids {
            let session = key([&keys.session_prefix()[..], &id[..]].concat());
            // An index member that is not an id of ours still gets a receipt in its slot.
            let session_id: SessionId = id[..].try_into().unwrap_or_default();
            let receipt =
                key(keys.kill_receipt_in_slot(&session_id, redis_keyslot(session.as_bytes())));
            let args = vec![
                bytes(OWNER_FIELD),
                Value::from("1"),
                bytes(&escaped_owner),
                nonce.clone(),
                receipt_ms.clone(),
            ];
            let client = self.link.client();
            let link = Arc::clone(&self.link);
            let redirects = Arc::clone(&self.redirects);
            deletes.spawn(async move {
                let taken = take_step(&link, &redirects, &client, session, receipt, args).await?;
                Ok::<_, fred::error::Error>(taken.map(|_| id))
            });
        }
        let mut killed = Vec::new();
        let mut failure = None;
        while let Some(done) = deletes.join_next().await {
            match done {
                Ok(Ok(Some(id))) => killed.push(Value::Bytes(id)),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => failure = Some(self.redis_error(e)),
                Err(e) => failure = Some(Error::Redis(format!("killAll step failed: {e}"))),
            }
        }
        if let Some(err) = failure {
            // Some sessions may be left: the index still lists them all, so a retry finds them.
            return Err(err);
        }
        if killed.is_empty() {
            return Ok(false);
        }
        // Only the members whose sessions were deleted leave the index (with, inside the step,
        // members that have expired): a member without a session may be a create between its
        // index step and its session step, whose session must stay findable.
        let _: Value = self
            .eval(&SCRIPTS.index_remove, vec![index], killed)
            .await?;
        Ok(true)
    }

    /// Checks Redis's `maxmemory-policy` on every (re)connection, and calls `warn` once if it
    /// lets Redis evict keys that are not about to expire anyway (`allkeys-*`, `volatile-*`):
    /// an evicted owner index makes `killAll` miss that owner's live sessions. A server that
    /// refuses `CONFIG GET` (a managed Redis, an ACL) is not checked. The task holds neither the
    /// store nor its connection, so it ends when the store is dropped or closed.
    pub fn watch_eviction_policy(
        self: &std::sync::Arc<Self>,
        warn: impl Fn(String) + Send + 'static,
    ) {
        let client = self.link.client();
        let mut reconnects = client.reconnect_rx();
        let store = std::sync::Arc::downgrade(self);
        let connected = client.is_connected();
        tokio::spawn(async move {
            let mut ready = connected;
            loop {
                if !ready {
                    match reconnects.recv().await {
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return,
                    }
                }
                ready = false;
                let Some(store) = store.upgrade() else { return };
                if store.closed.load(Ordering::Acquire) {
                    return;
                }
                if let Ok(Some(policy)) = store.eviction_policy().await {
                    if evicts_live_keys(&policy) {
                        warn(format!(
                            "Redis's maxmemory-policy is {policy}: under memory pressure Redis may evict owner indexes of live sessions, and killAll() would then miss those sessions. Use maxmemory-policy noeviction (see the README, \"Guarantees: Eviction\")."
                        ));
                        return;
                    }
                }
            }
        });
    }

    /// `CONFIG GET maxmemory-policy`, or `None` when the server does not say.
    async fn eviction_policy(&self) -> Result<Option<String>> {
        let reply: Vec<Value> = self
            .link
            .client()
            .custom(
                CustomCommand::new_static("CONFIG", ClusterHash::Random, false),
                vec![Value::from("GET"), Value::from("maxmemory-policy")],
            )
            .await
            .map_err(|e| self.redis_error(e))?;
        Ok(reply
            .get(1)
            .and_then(value_bytes)
            .map(|v| String::from_utf8_lossy(v).into_owned()))
    }

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

    /// A second store with connections of its own to the same Redis, with the same options,
    /// for the one-off 1.x migration ([`crate::migrate`]): its bursts of `SCAN`s and scripts
    /// then never queue in front of the application's session calls on this store's
    /// connection. Must run inside the tokio runtime.
    pub fn dedicated(&self) -> Result<SessionStore> {
        self.check_open()?;
        SessionStore::connect(&self.options)
    }

    /// Whether this store talks to a Redis Cluster (multi-key steps then run one key at a time).
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// The connection, once it can take commands (for [`crate::migrate`]'s `SCAN`s).
    pub(crate) async fn connection(&self) -> Result<Client> {
        self.redis().await
    }

    /// Runs one of [`SCRIPTS`] (for [`crate::migrate`]).
    pub(crate) async fn run_script<R: FromValue + Send>(
        &self,
        script: &'static Script,
        keys: Vec<Key>,
        args: Vec<Value>,
    ) -> Result<R> {
        self.eval(script, keys, args).await
    }

    /// The Cluster index step of `create`, with its checks (for [`crate::migrate`]).
    pub(crate) async fn run_index_add(
        &self,
        index: &Key,
        id: &[u8],
        duration: u64,
    ) -> Result<Value> {
        let (expiry, _, _) = self
            .index_add_until_step(index, id, duration, Value::from(0), Value::from("0"))
            .await?;
        Ok(expiry)
    }

    /// A plain command on `key` (and, on a single server, other keys in `args`), for
    /// [`crate::migrate`].
    pub(crate) async fn run_command<R: FromValue + Send>(
        &self,
        name: &'static str,
        key: Key,
        args: Vec<Value>,
    ) -> Result<R> {
        self.command(name, key, args).await
    }

    /// Maps a fred error as the session methods do (for [`crate::migrate`]).
    pub(crate) fn map_error(&self, err: fred::error::Error) -> Error {
        self.redis_error(err)
    }
}

/// What the Cluster read of one session (`step_session_info.lua`) found.
struct ClusterInfo {
    /// The escaped owner.
    owner: Vec<u8>,
    /// Absolute expiry in ms (`0`: never).
    expiry: u64,
    /// Creation time in ms, when stored.
    created: Option<u64>,
    /// The HGETALL, when asked for.
    fields: Value,
}

/// Session management beyond 1.x (see the README's "Session management"). On a single server
/// each method is one script; on Redis Cluster, single-key steps in the index-superset order.
impl SessionStore {
    /// Cluster step: lists (or re-scores) `id` in `index` for `duration` seconds, capped by the
    /// deadline `now + max_age` (a new session) or `deadline` (ms; an existing one). Returns the
    /// expiry (ms, `"0"`: never), the server's clock and the deadline (`"0"`: none), read again
    /// when the echoed key shows a reply meant for another call (re-scoring is safe to repeat).
    async fn index_add_until_step(
        &self,
        index: &Key,
        id: &[u8],
        duration: u64,
        max_age: Value,
        deadline: Value,
    ) -> Result<(Value, Value, Value)> {
        let args = vec![bytes(id), Value::from(duration as i64), max_age, deadline];
        for _ in 0..MISMATCH_ATTEMPTS {
            let reply: Vec<Value> = self
                .eval(&SCRIPTS.index_add_until, vec![index.clone()], args.clone())
                .await?;
            if let Ok([echo, expiry, now, deadline]) = <[Value; 4]>::try_from(reply) {
                if value_bytes(&echo) == Some(index.as_bytes()) {
                    return Ok((expiry, now, deadline));
                }
            }
        }
        Err(mismatch())
    }

    /// Cluster read of one session (see `step_session_info.lua`), `None` when it does not exist.
    async fn session_info_step(
        &self,
        session: Vec<u8>,
        with_fields: bool,
    ) -> Result<Option<ClusterInfo>> {
        let args = vec![
            bytes(OWNER_FIELD),
            bytes(CREATED_FIELD),
            Value::from(if with_fields { "1" } else { "0" }),
        ];
        for _ in 0..MISMATCH_ATTEMPTS {
            let reply: Vec<Value> = self
                .eval(
                    &SCRIPTS.session_info,
                    vec![key(session.clone())],
                    args.clone(),
                )
                .await?;
            if reply.first().and_then(value_bytes) != Some(&session[..]) {
                continue; // a reply meant for another call: read again
            }
            let Ok([_, owner, expiry, created, fields]) = <[Value; 5]>::try_from(reply) else {
                return Ok(None);
            };
            let (Some(owner), Some(expiry)) = (value_bytes(&owner), manage::value_u64(&expiry))
            else {
                return Err(Error::Redis("malformed session info reply".into()));
            };
            return Ok(Some(ClusterInfo {
                owner: owner.to_vec(),
                expiry,
                created: manage::value_u64(&created),
                fields,
            }));
        }
        Err(mismatch())
    }

    /// Cluster: the live sessions of an owner. Reads the index, then each listed session. A
    /// member whose session belongs to another owner is removed from the index; a member without
    /// a session is left out but NOT removed: it may be a `create` or `rotate` between its index
    /// step and its session step, whose session must stay findable (it is pruned by time, or by
    /// `kill`/`killAll`).
    async fn cluster_live(
        &self,
        keys: &AppKeys,
        escaped_owner: &[u8],
        with_fields: bool,
    ) -> Result<Vec<(SessionId, ClusterInfo)>> {
        let index = key(keys.index_for_escaped(escaped_owner));
        let ids: Vec<Bytes> = self
            .command("ZRANGE", index.clone(), vec![0.into(), (-1).into()])
            .await?;
        let prefix = keys.session_prefix();
        let reads = ids
            .iter()
            .map(|id| self.session_info_step([&prefix[..], &id[..]].concat(), with_fields));
        let infos = futures_util::future::join_all(reads).await;
        let mut live = Vec::with_capacity(ids.len());
        let mut foreign = Vec::new();
        for (id, info) in ids.iter().zip(infos) {
            match info? {
                Some(info) if info.owner == escaped_owner => {
                    live.push((manage::member_id(id)?, info));
                }
                Some(_) => foreign.push(Value::Bytes(id.clone())),
                None => {}
            }
        }
        if !foreign.is_empty() {
            let _: Value = self
                .eval(&SCRIPTS.index_remove, vec![index], foreign)
                .await?;
        }
        Ok(live)
    }

    /// Cluster `maxSessions`: after `keep` was created, kills the owner's oldest-created live
    /// sessions beyond `max`. Not atomic: logins racing each other may each evict, leaving
    /// fewer than `max` for a moment (never more than the calls allowed once all have settled).
    async fn evict_in_cluster(
        &self,
        app: &[u8],
        escaped_owner: &[u8],
        max: u32,
        keep: &SessionId,
    ) -> Result<()> {
        let keys = AppKeys::new(app);
        let mut live = self.cluster_live(&keys, escaped_owner, false).await?;
        let Some(extra) = live.len().checked_sub(max as usize).filter(|&n| n > 0) else {
            return Ok(());
        };
        // Oldest first: no creation time (created before it was stored) before any time; the
        // new session last.
        live.sort_by(|(ia, a), (ib, b)| {
            (ia == keep, a.created, ia).cmp(&(ib == keep, b.created, ib))
        });
        let kills = live[..extra].iter().map(|(id, _)| self.kill_id(app, id));
        for killed in futures_util::future::join_all(kills).await {
            killed?;
        }
        Ok(())
    }

    /// Every live session of `owner` in `app` as the JSON text
    /// `[[sessionId, createdAt, expiresAt, data], …]`, newest first. Dead index entries are
    /// pruned as they are seen (on a cluster, see `cluster_live`).
    pub async fn list(&self, app: &[u8], owner: &[u8]) -> Result<String> {
        let keys = AppKeys::new(app);
        let escaped_owner = escape(owner);
        let listed = if self.cluster {
            self.cluster_live(&keys, &escaped_owner, true)
                .await?
                .into_iter()
                .map(|(id, info)| Listed::new(id, info.expiry, &manage::hash_pairs(&info.fields)?))
                .collect::<Result<Vec<_>>>()?
        } else {
            let reply: Value = self
                .eval(
                    &SCRIPTS.list,
                    vec![key(keys.index_for_escaped(&escaped_owner))],
                    self.list_args(&keys, &escaped_owner, "1"),
                )
                .await?;
            manage::decode_list(&reply)?
        };
        Ok(manage::list_json(listed))
    }

    /// How many live sessions `owner` has in `app`, as decimal text.
    pub async fn count(&self, app: &[u8], owner: &[u8]) -> Result<String> {
        let keys = AppKeys::new(app);
        let escaped_owner = escape(owner);
        let n = if self.cluster {
            self.cluster_live(&keys, &escaped_owner, false).await?.len()
        } else {
            let ids: Vec<Value> = self
                .eval(
                    &SCRIPTS.list,
                    vec![key(keys.index_for_escaped(&escaped_owner))],
                    self.list_args(&keys, &escaped_owner, "0"),
                )
                .await?;
            ids.len()
        };
        Ok(n.to_string())
    }

    fn list_args(&self, keys: &AppKeys, escaped_owner: &[u8], with_fields: &str) -> Vec<Value> {
        vec![
            bytes(&keys.session_prefix()),
            bytes(OWNER_FIELD),
            bytes(escaped_owner),
            Value::from(with_fields),
        ]
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
        let session = keys.session(&id);
        if !self.cluster {
            let args = vec![
                bytes(&id),
                Value::from(duration as i64),
                bytes(OWNER_FIELD),
                bytes(&keys.index_prefix()),
                bytes(DEADLINE_FIELD),
            ];
            let reply: Value = self
                .eval(&SCRIPTS.get_refresh, vec![key(session)], args)
                .await?;
            return decode_session(reply);
        }
        // Read, then the index (extended first), then the session's expiry.
        let hash = self.session_hash_step(&session).await?;
        let (owner, deadline) = {
            let pairs = manage::hash_pairs(&hash)?;
            let owner = manage::field(&pairs, OWNER_FIELD).map(<[u8]>::to_vec);
            let deadline = manage::field(&pairs, DEADLINE_FIELD).map(bytes);
            (owner, deadline.unwrap_or_else(|| Value::from("0")))
        };
        let Some(owner) = owner else {
            // Missing (or malformed, which decode_session reports).
            return decode_session(hash);
        };
        let index = key(keys.index_for_escaped(&owner));
        let (expiry, _, _) = self
            .index_add_until_step(&index, &id, duration, Value::from(0), deadline)
            .await?;
        let applied: i64 = self
            .command("PEXPIREAT", key(session.to_vec()), vec![expiry])
            .await?;
        if applied != 1 {
            return Ok(None); // killed between the read and the refresh
        }
        decode_session(hash)
    }

    /// Cluster read of a session's hash (as `get`).
    async fn session_hash_step(&self, session: &[u8]) -> Result<Value> {
        self.command(upstream::HGETALL, key(session.to_vec()), vec![])
            .await
    }

    /// Moves the session of `token` to a new token and returns it (`None`: no such session).
    /// Owner, data, expiry, creation time and place in the owner index stay; the old token
    /// stops working at once.
    pub async fn rotate(&self, app: &[u8], token: &[u8]) -> Result<Option<String>> {
        let keys = AppKeys::new(app);
        let old_id = session_id(token);
        if self.cluster {
            return self.rotate_in_cluster(&keys, &old_id).await;
        }
        let old = keys.session(&old_id);
        for _ in 0..CREATE_ATTEMPTS {
            let new_token = self.token.generate();
            let new_id = session_id(new_token.as_bytes());
            let args = vec![
                bytes(&old_id),
                bytes(&new_id),
                bytes(OWNER_FIELD),
                bytes(&keys.index_prefix()),
            ];
            let moved: i64 = self
                .eval(
                    &SCRIPTS.rotate,
                    vec![key(old.clone()), key(keys.session(&new_id))],
                    args,
                )
                .await?;
            match moved {
                1 => return Ok(Some(new_token)),
                -1 => return Ok(None),
                _ => continue, // the new token's key is taken: draw again
            }
        }
        Err(collisions())
    }

    /// Cluster `rotate`: take the old session (read and delete in one step: the old token is
    /// dead at once), list the new id at the old id's score, write the new session with the
    /// same fields and expiry, then unlist the old id. A failure after the take logs the user
    /// out (the safe direction); the index only ever holds too much.
    async fn rotate_in_cluster(
        &self,
        keys: &AppKeys,
        old_id: &SessionId,
    ) -> Result<Option<String>> {
        let old = keys.session(old_id);
        let mut taken = None;
        for _ in 0..MISMATCH_ATTEMPTS {
            let reply: Vec<Value> = self
                .eval(&SCRIPTS.session_take_all, vec![key(old.clone())], vec![])
                .await?;
            if reply.first().and_then(value_bytes) == Some(&old[..]) {
                taken = Some(reply);
                break;
            }
            // A reply meant for another call; if ours was the take, the next read finds nothing
            // and the rotation reports "not found": the user is logged out, never mixed up.
        }
        let Some(reply) = taken else {
            return Err(mismatch());
        };
        let Ok([_, expiry, hash]) = <[Value; 3]>::try_from(reply) else {
            return Ok(None);
        };
        let pairs = manage::hash_pairs(&hash)?;
        let owner = manage::field(&pairs, OWNER_FIELD)
            .ok_or_else(|| Error::Redis("session hash has no valid owner field".into()))?;
        let index = key(keys.index_for_escaped(owner));
        let mut restore_args = Vec::with_capacity(1 + 2 * pairs.len());
        restore_args.push(expiry.clone());
        for (k, v) in &pairs {
            restore_args.extend([bytes(k), bytes(v)]);
        }
        for _ in 0..CREATE_ATTEMPTS {
            let new_token = self.token.generate();
            let new_id = session_id(new_token.as_bytes());
            let new = keys.session(&new_id);
            let listed: Vec<Value> = self
                .eval(
                    &SCRIPTS.index_rotate,
                    vec![index.clone()],
                    vec![bytes(old_id), bytes(&new_id), expiry.clone()],
                )
                .await?;
            if listed.first().and_then(value_bytes) != Some(index.as_bytes()) {
                return Err(mismatch());
            }
            let written: Vec<Value> = self
                .eval(
                    &SCRIPTS.session_restore,
                    vec![key(new.clone())],
                    restore_args.clone(),
                )
                .await?;
            let ok = match <[Value; 2]>::try_from(written) {
                Ok([echo, flag]) if value_bytes(&echo) == Some(&new[..]) => {
                    manage::value_u64(&flag) == Some(1)
                }
                _ => return Err(mismatch()),
            };
            let unlist = if ok { old_id } else { &new_id };
            let _: Value = self
                .eval(
                    &SCRIPTS.index_remove,
                    vec![index.clone()],
                    vec![bytes(unlist)],
                )
                .await?;
            if ok {
                return Ok(Some(new_token));
            }
        }
        Err(collisions())
    }
}

fn mismatch() -> Error {
    Error::Redis(
        "replies from the cluster did not match their requests (slot migration in progress); try again".into(),
    )
}

fn collisions() -> Error {
    Error::Redis(format!(
        "{CREATE_ATTEMPTS} fresh tokens in a row collided with existing sessions; raise tokenSize"
    ))
}

/// True for the `maxmemory-policy` values under which Redis may evict an owner index while its
/// sessions live: every `allkeys-*` and `volatile-*` policy. Even `volatile-ttl` picks its
/// victims from a sample, so an index can go before the sessions it lists.
fn evicts_live_keys(policy: &str) -> bool {
    policy.starts_with("allkeys-") || policy.starts_with("volatile-")
}

/// Cluster: the session-take step (`step_session_take.lua`) with this call's kill receipt, in
/// the session's slot. While that slot is being migrated, Redis refuses a script whose keys are
/// not all on the same side (`TRYAGAIN`), and the new receipt key is on neither; the step then
/// runs on the session key alone. The kill happens either way; only a re-send of it after a lost
/// reply, during the migration, could then report `false` (the receipt is what tells it).
async fn take_step(
    link: &Arc<Link>,
    redirects: &Redirects,
    client: &Client,
    session: Key,
    receipt: Key,
    args: Vec<Value>,
) -> std::result::Result<Option<Bytes>, fred::error::Error> {
    let step = Step::Script(&SCRIPTS.session_take);
    let with_receipt = redirects.run(client, step, vec![session.clone(), receipt], args.clone());
    match link.watch(Box::pin(with_receipt)).await {
        Err(e) if is_try_again(&e) => {
            let alone = redirects.run(client, step, vec![session], args);
            link.watch(Box::pin(alone)).await
        }
        other => other,
    }
}

/// Redis's refusal of a multi-key command while its slot is being migrated and its keys are
/// not all on one side (`TRYAGAIN`). Unlike a redirection, waiting does not help until the
/// migration of that slot ends.
fn is_try_again(err: &fred::error::Error) -> bool {
    err.details().starts_with("TRYAGAIN")
}

fn value_bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Bytes(b) => Some(b),
        Value::String(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// One field and value of a reply, as bytes when they are strings.
type RawPair<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// Turns an `HGETALL` reply (an array of field, value, …) into the `[owner, data]` JSON text,
/// or `None` for a missing key. The data keys come in the order the order field lists, when
/// the session has one (see [`crate::keys`]), else in the hash's own (insertion) order.
fn decode_session(reply: Value) -> Result<Option<String>> {
    let pairs: Vec<RawPair<'_>> = match &reply {
        Value::Null => return Ok(None),
        Value::Array(items) => items
            .chunks(2)
            .map(|pair| {
                (
                    pair.first().and_then(value_bytes),
                    pair.get(1).and_then(value_bytes),
                )
            })
            .collect(),
        Value::Map(map) => map
            .iter()
            .map(|(k, v)| (Some(k.as_bytes()), value_bytes(v)))
            .collect(),
        other => {
            return Err(Error::Protocol(format!(
                "unexpected HGETALL reply: {:?}",
                other.kind()
            )))
        }
    };
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut owner = None;
    let mut order = None;
    let mut fields = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let (Some(k), Some(v)) = pair else {
            return Err(Error::Protocol("malformed HGETALL reply".into()));
        };
        if k == OWNER_FIELD {
            owner = Some(v);
        } else if k == ORDER_FIELD {
            order = Some(v);
        } else if !is_reserved(k) {
            // Other reserved fields (creation time, deadline) are not data.
            fields.push((k, v));
        }
    }
    let owner = owner
        .and_then(unescape)
        .ok_or_else(|| Error::Redis("session hash has no valid owner field".into()))?;
    if let Some(order) = order.and_then(decode_order) {
        fields = in_order(fields, &order);
    }
    session_json(&owner, fields.into_iter()).map(Some)
}

/// `fields` in the order `order` lists their keys; any field it does not list follows, in its
/// place in `fields`.
fn in_order<'a>(fields: Vec<(&'a [u8], &'a [u8])>, order: &[&[u8]]) -> Vec<(&'a [u8], &'a [u8])> {
    let mut slots: std::collections::HashMap<&[u8], (&'a [u8], &'a [u8])> =
        fields.iter().map(|&(k, v)| (k, (k, v))).collect();
    let mut out = Vec::with_capacity(fields.len());
    for key in order {
        if let Some(field) = slots.remove(key) {
            out.push(field);
        }
    }
    out.extend(fields.into_iter().filter(|(k, _)| slots.contains_key(k)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &[u8]) -> Value {
        bytes(s)
    }

    #[test]
    fn decodes_hgetall_replies() {
        assert_eq!(decode_session(Value::Array(vec![])).unwrap(), None);
        let reply = Value::Array(vec![
            b(b"name"),
            b(b"\"John\""),
            b(OWNER_FIELD),
            b(b"u\\.1"),
            b(b"n"),
            b(b"12345678901234567890"),
        ]);
        assert_eq!(
            decode_session(reply).unwrap().unwrap(),
            r#"["u:1",{"name":"John","n":12345678901234567890}]"#
        );
        let ownerless = Value::Array(vec![b(b"name"), b(b"1")]);
        assert!(decode_session(ownerless).is_err());
    }

    #[test]
    fn evicting_policies() {
        for p in [
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
        ] {
            assert!(evicts_live_keys(p), "{p}");
        }
        assert!(evicts_live_keys("volatile-ttl"));
        for p in ["noeviction", ""] {
            assert!(!evicts_live_keys(p), "{p}");
        }
    }

    #[test]
    fn follows_the_order_field() {
        let reply = Value::Array(vec![
            b(b"c"),
            b(b"3"),
            b(OWNER_FIELD),
            b(b"o"),
            b(b"a"),
            b(b"1"),
            b(ORDER_FIELD),
            b(b"1:a1:b1:c"),
            b(b"z"),
            b(b"26"),
        ]);
        // "b" is listed but gone; "z" is not listed and follows in hash order.
        assert_eq!(
            decode_session(reply).unwrap().unwrap(),
            r#"["o",{"a":1,"c":3,"z":26}]"#
        );
    }
}
