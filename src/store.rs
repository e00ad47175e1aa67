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

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fred::bytes::Bytes;
use fred::prelude::{Builder, Client, ClientLike, FromValue, HashesInterface, Key, Value};
use fred::types::config::ServerConfig;
use fred::types::scripts::Script;
use fred::types::{ClusterHash, CustomCommand};
use fred::util::redis_keyslot;

use crate::config::Options;
use crate::data::{is_null, session_json, split_object};
use crate::error::{Error, Result};
use crate::keys::{escape, session_id, unescape, AppKeys, SessionId, OWNER_FIELD};
use crate::link::Link;
use crate::scripts::SCRIPTS;
use crate::token::TokenOptions;

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

/// A fred client for these options (not yet connecting).
pub(crate) fn build_client(opts: &Options) -> Result<Client> {
    Builder::from_config(opts.redis.clone())
        .set_connection_config(opts.connection_config())
        .set_performance_config(opts.performance_config())
        .set_policy(opts.reconnect_policy())
        .build()
        .map_err(Error::from)
}

/// A connected session store.
pub struct SessionStore {
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
    /// The sessions' connection health: waits for it, fails fast on bad credentials, and
    /// reconnects when it goes silent.
    link: Arc<Link>,
    closed: AtomicBool,
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
    /// Builds the client and starts connecting in the background; `on_event` hears about every
    /// (re)connection and connection error until the store is closed. Must run inside the tokio
    /// runtime; never waits for Redis.
    pub fn connect(
        opts: &Options,
        on_event: impl Fn(ConnectionEvent) + Send + Sync + 'static,
    ) -> Result<Self> {
        let cluster = matches!(opts.redis.server, ServerConfig::Clustered { .. });
        let link = Link::connect(opts, Arc::new(on_event))?;
        Ok(SessionStore {
            options: opts.clone(),
            commands_client: tokio::sync::OnceCell::new(),
            token: opts.token,
            command_timeout: opts.command_timeout,
            offline_queue: opts.offline_queue,
            cluster,
            link,
            closed: AtomicBool::new(false),
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
        if self.cluster && !client.is_connected() {
            // fred refuses commands while it has no Redis Cluster routing table yet.
            match tokio::time::timeout(self.command_timeout, client.wait_for_connect()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(Error::from(e)),
                Err(_) => {
                    return Err(Error::Timeout(format!(
                        "no connection to the cluster within commandTimeout ({} ms)",
                        self.command_timeout.as_millis()
                    )))
                }
            }
        }
        Ok(client)
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

    async fn eval<R: FromValue + Send>(
        &self,
        script: &Script,
        keys: Vec<Key>,
        args: Vec<Value>,
    ) -> Result<R> {
        let client = self.redis().await?;
        self.send(Box::pin(
            script.evalsha_with_reload::<R, _, _>(&client, keys, args),
        ))
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
            let client = self.redis().await?;
            let reply = self
                .send(Box::pin(script.evalsha_with_reload::<i64, _, _>(
                    &client,
                    keys.clone(),
                    args.clone(),
                )))
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
    async fn command<R: FromValue + Send>(
        &self,
        name: &'static str,
        args: Vec<Value>,
    ) -> Result<R> {
        let client = self.redis().await?;
        self.send(Box::pin(client.custom::<R, Value>(
            CustomCommand::new_static(name, ClusterHash::FirstKey, false),
            args,
        )))
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
        let mut session_args = Vec::with_capacity(2 + 2 * fields.len());
        session_args.push(bytes(OWNER_FIELD));
        session_args.push(bytes(&escaped_owner));
        for (k, v) in &fields {
            session_args.push(bytes(k.as_bytes()));
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
                let mut args = Vec::with_capacity(2 + session_args.len());
                args.push(bytes(&id));
                args.push(duration.clone());
                args.extend(session_args.iter().cloned());
                self.eval(&SCRIPTS.create, vec![session.clone(), index.clone()], args)
                    .await?
            };
            // A "collision" can be this very call's own write: fred re-sends a command whose
            // reply was lost with its connection, and the re-sent script finds the session the
            // first run created.
            if created == 1 || self.is_own_write(&session, &session_args).await? {
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
        let client = self.redis().await?;
        let reply: Value = self
            .send(Box::pin(client.hgetall(session.clone())))
            .await
            .map_err(|e| self.redis_error(e))?;
        let stored: Option<std::collections::BTreeMap<&[u8], &[u8]>> = match &reply {
            Value::Array(items) => items
                .chunks(2)
                .map(|p| Some((value_bytes(p.first()?)?, value_bytes(p.get(1)?)?)))
                .collect(),
            Value::Map(map) => map
                .iter()
                .map(|(k, v)| Some((k.as_bytes(), value_bytes(v)?)))
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
            // The typed command, not a custom one: fred flushes the socket after every custom
            // command and script, but lets typed commands queued together leave in one write.
            let client = self.redis().await?;
            let reply: Value = self
                .send(Box::pin(client.hgetall(Bytes::from(session))))
                .await
                .map_err(|e| self.redis_error(e))?;
            return decode_session(reply).map_err(|e| self.checked(e));
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
                return decode_session(hash).map_err(|e| self.checked(e));
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
    pub async fn update(&self, app: &[u8], token: &[u8], data_json: &str) -> Result<bool> {
        let fields = split_object(data_json)?;
        let (deletes, sets): (Vec<_>, Vec<_>) = fields.iter().partition(|(_, v)| is_null(v));
        let mut args = Vec::with_capacity(1 + 2 * sets.len() + deletes.len());
        args.push(Value::from(sets.len() as i64));
        for (k, v) in &sets {
            args.push(bytes(k.as_bytes()));
            args.push(bytes(v.get().as_bytes()));
        }
        for (k, _) in &deletes {
            args.push(bytes(k.as_bytes()));
        }
        let session = AppKeys::new(app).session(&session_id(token));
        Ok(self
            .eval_idempotent(&SCRIPTS.update, vec![key(session)], args)
            .await?
            == 1)
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
        let keys = AppKeys::new(app);
        let id = session_id(token);
        let session = key(keys.session(&id));
        let (nonce, receipt_ms) = self.receipt_args();
        if !self.cluster {
            let receipt = key(keys.kill_receipt(&id));
            let args = vec![
                bytes(&id),
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
        let receipt = key(keys.kill_receipt_in_slot(&id, redis_keyslot(session.as_bytes())));
        let args = vec![
            bytes(OWNER_FIELD),
            Value::from("0"),
            Value::from(""),
            nonce,
            receipt_ms,
        ];
        let owner: Option<Bytes> = self
            .eval(&SCRIPTS.session_take, vec![session, receipt], args)
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
        let (nonce, receipt_ms) = self.receipt_args();
        if !self.cluster {
            let receipt = key(keys.kill_all_receipt(&escaped_owner));
            let args = vec![
                bytes(&keys.session_prefix()),
                bytes(OWNER_FIELD),
                bytes(&escaped_owner),
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
            deletes.spawn(async move {
                let take = SCRIPTS
                    .session_take
                    .evalsha_with_reload::<Option<Bytes>, _, _>(
                        &client,
                        vec![session, receipt],
                        args,
                    );
                let taken = link.watch(Box::pin(take)).await?;
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
        let client = self.link.close();
        if !client.is_connected() {
            // Nothing was ever answered or nothing is left to answer: don't wait for a
            // connection (as ioredis, whose quit() resolves at once while connecting).
            tokio::spawn(async move {
                let _ = client.quit().await;
            });
            return Ok(());
        }
        client.quit().await.map_err(|e| self.redis_error(e))
    }

    /// Marks the store closed at once; the connection is closed in the background.
    pub fn disconnect(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            let clients = [Some(self.link.close()), self.commands_client.get().cloned()];
            tokio::spawn(async move {
                // Nothing waits for this; an error only means the connection was already gone.
                for client in clients.into_iter().flatten() {
                    let _ = client.quit().await;
                }
            });
        }
    }
}

fn value_bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Bytes(b) => Some(b),
        Value::String(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// Turns an `HGETALL` reply into the `[owner, data]` JSON text, or `None` for a missing key.
/// Turns an `HGETALL` reply (an array of field, value, … or, from fred's typed command, a map)
/// into the `[owner, data]` JSON text, or `None` for a missing key.
/// One field and value of a reply, as bytes when they are strings.
type RawPair<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

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
    let mut fields = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let (Some(k), Some(v)) = pair else {
            return Err(Error::Protocol("malformed HGETALL reply".into()));
        };
        if k == OWNER_FIELD {
            owner = Some(v);
        } else {
            fields.push((k, v));
        }
    }
    let owner = owner
        .and_then(unescape)
        .ok_or_else(|| Error::Redis("session hash has no valid owner field".into()))?;
    session_json(&owner, fields.into_iter()).map(Some)
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
}
