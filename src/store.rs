//! The session logic, in plain async Rust over a fred client. Nothing here knows about Node.
//!
//! On a single server (or Sentinel) every method is one Redis round trip: `get` is a single
//! `HGETALL`, and every method that touches more than one key is one Lua script from
//! [`crate::scripts`], so each method is atomic.
//!
//! On Redis Cluster a session and its owner index hash to different slots, so the multi-key
//! methods run single-key steps in an order that keeps the owner index a superset of the live
//! sessions: the index first when adding or extending, the session first when removing, and
//! `killAll` removes only the index members it read. Key names come from [`crate::keys`] only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fred::bytes::Bytes;
use fred::prelude::{Builder, Client, ClientLike, EventInterface, FromValue, Key, Value};
use fred::types::config::ServerConfig;
use fred::types::scripts::Script;
use fred::types::{ClusterHash, CustomCommand};
use tokio::sync::broadcast::error::RecvError;

use crate::config::Options;
use crate::data::{is_null, session_json, split_object};
use crate::error::{Error, Result};
use crate::keys::{decode_order, escape, session_id, unescape, AppKeys, ORDER_FIELD, OWNER_FIELD};
use crate::scripts::SCRIPTS;
use crate::token::TokenOptions;
use crate::validate::{MAX_DATA_BYTES, MAX_DATA_FIELDS};

/// How many fresh tokens `create` draws before giving up on collisions. With the minimum
/// `tokenSize` of 8 random bytes a single collision is already vanishingly unlikely.
const CREATE_ATTEMPTS: usize = 3;

/// On Redis Cluster, how often a step is re-read when its reply was evidently meant for another
/// call (fred 10.1's ASK handling during a slot migration; see `eval_idempotent`).
const MISMATCH_ATTEMPTS: usize = 3;

/// A change in the connection's state, for the `client`'s ioredis-style events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEvent {
    /// Connected (first time or again) and ready for commands.
    Ready,
    /// The connection failed or was lost; fred keeps reconnecting.
    Error(String),
}

fn build_client(opts: &Options) -> Result<Client> {
    Builder::from_config(opts.redis.clone())
        .set_connection_config(opts.connection_config())
        .set_performance_config(opts.performance_config())
        .set_policy(opts.reconnect_policy())
        .build()
        .map_err(Error::from)
}

/// Waits until `client` can take commands: fred queues commands while a single server or
/// Sentinel connection is being (re)made, but refuses them while it has no Redis Cluster routing
/// table yet.
async fn until_routable(client: &Client, cluster: bool, timeout: Duration) -> Result<()> {
    if !cluster || client.is_connected() {
        return Ok(());
    }
    match tokio::time::timeout(timeout, client.wait_for_connect()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Error::from(e)),
        Err(_) => Err(Error::Timeout(format!(
            "no connection to the cluster within commandTimeout ({} ms)",
            timeout.as_millis()
        ))),
    }
}

/// A connected session store.
pub struct SessionStore {
    /// The sessions' connection.
    client: Client,
    /// The `client`'s own connection to the same server(s), opened on its first command. The
    /// session methods never share a connection with arbitrary user commands: with fred 10.1 /
    /// redis-protocol 6, an error reply that is not valid UTF-8 (easy to provoke from a
    /// `client` call) silently drops one reply and shifts every later reply on that connection
    /// by one, which would hand one user's session to another.
    commands_client: tokio::sync::OnceCell<Client>,
    options: Options,
    token: TokenOptions,
    command_timeout: Duration,
    offline_queue: bool,
    /// Redis Cluster: multi-key steps run one key at a time (see `lua/lib.lua`).
    cluster: bool,
    closed: AtomicBool,
    /// The task that drives the connection. Closing a client that is not connected aborts it:
    /// fred's `quit` then waits for a connection that may never come, and that task would hold
    /// the client, its buffers and its reconnect loop for the life of the process.
    router: std::sync::Mutex<Option<fred::types::ConnectHandle>>,
}

fn bytes(v: &[u8]) -> Value {
    Value::Bytes(v.to_vec().into())
}

fn key(v: Vec<u8>) -> Key {
    Key::from(Bytes::from(v))
}

impl SessionStore {
    /// Builds the client and starts connecting in the background; `on_event` hears about every
    /// (re)connection and connection error until the store is closed. Must run inside the tokio
    /// runtime; never waits for Redis.
    pub fn connect(
        opts: &Options,
        on_event: impl Fn(ConnectionEvent) + Send + 'static,
    ) -> Result<Self> {
        let client = build_client(opts)?;
        // Subscribe before connecting, so that the first connection is heard too. fred closes
        // these streams on quit, which ends the task.
        let mut reconnects = client.reconnect_rx();
        let mut errors = client.error_rx();
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    r = reconnects.recv() => r.map(|_| ConnectionEvent::Ready),
                    e = errors.recv() => e.map(|(err, _)| ConnectionEvent::Error(err.details().to_string())),
                };
                match event {
                    Ok(event) => on_event(event),
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                }
            }
        });
        // The task drives the connection and reconnects forever; commands issued before it
        // is up wait in fred's queue, bounded by `commandTimeout`.
        let router = client.connect();
        Ok(SessionStore {
            client,
            options: opts.clone(),
            commands_client: tokio::sync::OnceCell::new(),
            token: opts.token,
            command_timeout: opts.command_timeout,
            offline_queue: opts.offline_queue,
            cluster: matches!(opts.redis.server, ServerConfig::Clustered { .. }),
            closed: AtomicBool::new(false),
            router: std::sync::Mutex::new(Some(router)),
        })
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else if !self.offline_queue && !self.client.is_connected() {
            Err(Error::Offline(
                "enableOfflineQueue is false, so calls are not queued until it reconnects".into(),
            ))
        } else {
            Ok(())
        }
    }

    /// The connection, once it can take commands. fred queues commands while a single server
    /// or Sentinel connection is being (re)made, but refuses them while it has no Redis Cluster
    /// routing table yet; there the call waits for the connection, within `commandTimeout`.
    async fn redis(&self) -> Result<&Client> {
        self.check_open()?;
        until_routable(&self.client, self.cluster, self.command_timeout).await?;
        Ok(&self.client)
    }

    /// The `client`'s connection (see `commands_client`), opened on first use.
    pub async fn commands_redis(&self) -> Result<&Client> {
        self.check_open()?;
        let client = self
            .commands_client
            .get_or_try_init(|| async {
                let client = build_client(&self.options)?;
                drop(client.connect());
                Ok::<_, Error>(client)
            })
            .await?;
        until_routable(client, self.cluster, self.command_timeout).await?;
        Ok(client)
    }

    fn redis_error(&self, err: fred::error::Error) -> Error {
        match Error::from(err) {
            Error::Timeout(details) => Error::Timeout(format!(
                "no reply from Redis within commandTimeout ({} ms): {details}",
                self.command_timeout.as_millis()
            )),
            other => other,
        }
    }

    async fn eval<R: FromValue>(
        &self,
        script: &Script,
        keys: Vec<Key>,
        args: Vec<Value>,
    ) -> Result<R> {
        script
            .evalsha_with_reload::<R, _, _>(self.redis().await?, keys, args)
            .await
            .map_err(|e| self.redis_error(e))
    }

    /// `eval` for steps that are safe to repeat (`update`, `refresh`), repeated on Redis
    /// Cluster when the reply has the wrong type: fred 10.1 can hand a reply to the wrong caller
    /// while it follows an ASK redirection during a slot migration.
    async fn eval_idempotent(
        &self,
        script: &Script,
        keys: Vec<Key>,
        args: Vec<Value>,
    ) -> Result<i64> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let reply = self
                .redis()
                .await
                .map(|client| {
                    script.evalsha_with_reload::<i64, _, _>(client, keys.clone(), args.clone())
                })?
                .await;
            match reply {
                Err(e)
                    if self.cluster
                        && *e.kind() == fred::error::ErrorKind::Parse
                        && attempts < MISMATCH_ATTEMPTS =>
                {
                    continue
                }
                other => return other.map_err(|e| self.redis_error(e)),
            }
        }
    }

    /// Cluster step: lists (or re-scores) `id` in `index` for `duration` seconds and returns the
    /// absolute expiry (ms, or `"0"` for never) to give the session. Re-scoring is safe to
    /// repeat, so a reply that cannot be that expiry (one meant for another call, see
    /// `eval_idempotent`) is read again: applying, say, a stray `1` with PEXPIREAT would
    /// delete the session on the spot.
    async fn index_add_step(&self, index: &Key, id: &[u8], duration: u64) -> Result<Value> {
        // The scripts use the server's clock; allow it to lag the client's by up to a minute.
        let floor = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
            .saturating_sub(60_000);
        for _ in 0..MISMATCH_ATTEMPTS {
            let reply: Value = self
                .eval(
                    &SCRIPTS.index_add,
                    vec![index.clone()],
                    vec![bytes(id), Value::from(duration as i64)],
                )
                .await?;
            // The script returns its expiry as a bulk string, never as an integer reply.
            let plausible = match &reply {
                Value::String(s) if duration == 0 => &**s == "0",
                Value::String(s) => s.parse::<u128>().is_ok_and(|ms| ms >= floor),
                _ => false,
            };
            if plausible {
                return Ok(reply);
            }
        }
        Err(Error::Redis(
            "replies from the cluster did not match their requests (slot migration in progress); try again".into(),
        ))
    }

    /// A plain single-key command.
    async fn command<R: FromValue>(&self, name: &'static str, args: Vec<Value>) -> Result<R> {
        self.redis()
            .await?
            .custom::<R, Value>(
                CustomCommand::new_static(name, ClusterHash::FirstKey, false),
                args,
            )
            .await
            .map_err(|e| self.redis_error(e))
    }

    /// Creates a session and returns its token. `duration` is whole seconds (`None`: never
    /// expires); `data_json` is a JSON object's text.
    pub async fn create(
        &self,
        app: &[u8],
        owner: &[u8],
        data_json: &str,
        duration: Option<u64>,
    ) -> Result<String> {
        let fields = split_object(data_json)?;
        let keys = AppKeys::new(app);
        let escaped_owner = escape(owner);
        let index = key(keys.index_for_escaped(&escaped_owner));
        let seconds = duration.unwrap_or(0);
        let duration = Value::from(seconds as i64);
        // Argument layout shared by create.lua (ARGV[3…]) and step_session_create.lua (ARGV[2…]).
        let mut session_args = Vec::with_capacity(3 + 2 * fields.len());
        session_args.push(bytes(OWNER_FIELD));
        session_args.push(bytes(&escaped_owner));
        session_args.push(bytes(ORDER_FIELD));
        for (k, v) in &fields {
            session_args.push(bytes(k));
            session_args.push(bytes(v.get().as_bytes()));
        }
        for _ in 0..CREATE_ATTEMPTS {
            let token = self.token.generate();
            let id = session_id(token.as_bytes());
            let session = key(keys.session(&id));
            let created: i64 = if self.cluster {
                // The index first, so that it always over-approximates the live sessions.
                let expiry = self.index_add_step(&index, &id, seconds).await?;
                let mut args = Vec::with_capacity(1 + session_args.len());
                args.push(expiry);
                args.extend(session_args.iter().cloned());
                let created = self
                    .eval(&SCRIPTS.session_create, vec![session], args)
                    .await?;
                if created != 1 {
                    // A collision: that id is someone else's session, so it must leave our index.
                    let _: Value = self
                        .eval(&SCRIPTS.index_remove, vec![index.clone()], vec![bytes(&id)])
                        .await?;
                }
                created
            } else {
                let mut args = Vec::with_capacity(2 + session_args.len());
                args.push(bytes(&id));
                args.push(duration.clone());
                args.extend(session_args.iter().cloned());
                self.eval(&SCRIPTS.create, vec![session, index.clone()], args)
                    .await?
            };
            if created == 1 {
                return Ok(token);
            }
        }
        Err(Error::Redis(format!(
            "{CREATE_ATTEMPTS} fresh tokens in a row collided with existing sessions; raise tokenSize"
        )))
    }

    /// The session's owner and data as the JSON text `[owner, data]`, or `None`.
    pub async fn get(&self, app: &[u8], token: &[u8]) -> Result<Option<String>> {
        let session = AppKeys::new(app).session(&session_id(token));
        if !self.cluster {
            // A custom command, not fred's typed `hgetall`: that one turns the reply into a hash
            // map, which loses the fields' order. The price: fred flushes the socket after
            // every custom command instead of letting queued typed commands share a write.
            let reply: Value = self
                .command("HGETALL", vec![Value::Bytes(session.into())])
                .await?;
            return decode_session(reply);
        }
        for _ in 0..MISMATCH_ATTEMPTS {
            let reply: Vec<Value> = self
                .eval(&SCRIPTS.session_get, vec![key(session.clone())], vec![])
                .await?;
            let mut reply = reply.into_iter();
            let (Some(echoed), Some(hash)) = (reply.next(), reply.next()) else {
                continue;
            };
            if value_bytes(&echoed) == Some(&session[..]) {
                return decode_session(hash);
            }
            // A reply meant for another call (see step_session_get.lua): read again.
        }
        Err(Error::Redis(
            "replies from the cluster did not match their requests (slot migration in progress); try again".into(),
        ))
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
            ];
            return Ok(self
                .eval::<i64>(&SCRIPTS.refresh, vec![session], args)
                .await?
                == 1);
        }
        let owner: Option<Bytes> = self
            .command(
                "HGET",
                vec![Value::from(session.clone()), bytes(OWNER_FIELD)],
            )
            .await?;
        let Some(owner) = owner else {
            return Ok(false);
        };
        // The index first (extending it before the session), then the session, which must
        // not be brought back if it was killed in between: PEXPIREAT on a missing key is a no-op.
        let index = key(keys.index_for_escaped(&owner));
        let expiry = self.index_add_step(&index, &id, duration).await?;
        let applied: i64 = self
            .command("PEXPIREAT", vec![Value::from(session), expiry])
            .await?;
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
            .eval_idempotent(&SCRIPTS.update, vec![key(session)], args)
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

    /// Deletes the session and its index entry. `false` if it did not exist.
    pub async fn kill(&self, app: &[u8], token: &[u8]) -> Result<bool> {
        let keys = AppKeys::new(app);
        let id = session_id(token);
        let session = key(keys.session(&id));
        if !self.cluster {
            let args = vec![bytes(&id), bytes(OWNER_FIELD), bytes(&keys.index_prefix())];
            return Ok(self.eval::<i64>(&SCRIPTS.kill, vec![session], args).await? == 1);
        }
        // The session first, then its index entry: the index may only ever hold too much.
        let args = vec![bytes(OWNER_FIELD), Value::from("0"), Value::from("")];
        let owner: Option<Bytes> = self
            .eval(&SCRIPTS.session_take, vec![session], args)
            .await?;
        let Some(owner) = owner else {
            return Ok(false);
        };
        let index = key(keys.index_for_escaped(&owner));
        let _: Value = self
            .eval(&SCRIPTS.index_remove, vec![index], vec![bytes(&id)])
            .await?;
        Ok(true)
    }

    /// Deletes every session of `owner` in `app`. `true` if at least one existed.
    pub async fn kill_all(&self, app: &[u8], owner: &[u8]) -> Result<bool> {
        let keys = AppKeys::new(app);
        let escaped_owner = escape(owner);
        let index = key(keys.index_for_escaped(&escaped_owner));
        if !self.cluster {
            let args = vec![
                bytes(&keys.session_prefix()),
                bytes(OWNER_FIELD),
                bytes(&escaped_owner),
            ];
            return Ok(self
                .eval::<i64>(&SCRIPTS.kill_all, vec![index], args)
                .await?
                > 0);
        }
        // Read the index, delete those sessions (each only if it is this owner's), then remove
        // exactly the members read: a session a racing create adds meanwhile stays listed.
        let ids: Vec<Bytes> = self
            .command(
                "ZRANGE",
                vec![Value::from(index.clone()), 0.into(), (-1).into()],
            )
            .await?;
        if ids.is_empty() {
            return Ok(false);
        }
        let mut deletes = tokio::task::JoinSet::new();
        for id in ids {
            let session = key([&keys.session_prefix()[..], &id[..]].concat());
            let args = vec![bytes(OWNER_FIELD), Value::from("1"), bytes(&escaped_owner)];
            let client = self.client.clone();
            deletes.spawn(async move {
                let taken = SCRIPTS
                    .session_take
                    .evalsha_with_reload::<Option<Bytes>, _, _>(&client, vec![session], args)
                    .await?;
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
        let mut reconnects = self.client.reconnect_rx();
        let store = std::sync::Arc::downgrade(self);
        let connected = self.client.is_connected();
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
            .client
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
        if let Some(commands) = self.commands_client.get() {
            let commands = commands.clone();
            tokio::spawn(async move {
                let _ = commands.quit().await;
            });
        }
        if !self.client.is_connected() {
            // Nothing was ever answered or nothing is left to answer: don't wait for a
            // connection (as ioredis, whose quit() resolves at once while connecting).
            self.stop_router();
            return Ok(());
        }
        self.client.quit().await.map_err(|e| self.redis_error(e))
    }

    /// Ends the connection task of a client that is not connected (see `router`).
    fn stop_router(&self) {
        let router = self
            .router
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(router) = router {
            router.abort();
        }
    }

    /// Marks the store closed at once; the connection is closed in the background.
    pub fn disconnect(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            if !self.client.is_connected() {
                self.stop_router();
            }
            let clients = [
                Some(self.client.clone()),
                self.commands_client.get().cloned(),
            ];
            tokio::spawn(async move {
                // Nothing waits for this; an error only means the connection was already gone.
                for client in clients.into_iter().flatten() {
                    let _ = client.quit().await;
                }
            });
        }
    }
}

/// True for the `maxmemory-policy` values under which Redis may evict an owner index while its
/// sessions live: every `allkeys-*` and `volatile-*` policy. Even `volatile-ttl` picks its
/// victims from a sample, so an index can go before the sessions it lists.
fn evicts_live_keys(policy: &str) -> bool {
    policy.starts_with("allkeys-") || policy.starts_with("volatile-")
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
            return Err(Error::Redis(format!(
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
            return Err(Error::Redis("malformed HGETALL reply".into()));
        };
        if k == OWNER_FIELD {
            owner = Some(v);
        } else if k == ORDER_FIELD {
            order = Some(v);
        } else {
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
