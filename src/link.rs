//! The health of an instance's connection as its calls see it: waiting for a connection
//! (bounded), failing fast when it cannot be made for a reason no retry fixes (a wrong password,
//! a database the server lacks), and noticing a connection that has gone silent.
//!
//! fred reconnects when a socket reports an error, but a half-open link (the peer vanished, a
//! NAT or load balancer dropped the flow, a stuck proxy that keeps acknowledging) reports none:
//! every command just times out, forever. fred's own `UnresponsiveConfig` measures from the
//! *latest* write, so a steady stream of new commands keeps a dead link "responsive". [`Link`]
//! instead remembers when the connection last answered anything, and a call that timed out
//! although the connection was up for the call's whole life, with no reply at all meanwhile,
//! forces a reconnection. On Redis Cluster fred's forced reconnection keeps the connections to
//! nodes still in the slot map, silent ones included, so there the link replaces the whole
//! client instead.
//!
//! Both are workarounds for fred bugs, woven into this module's job and so kept here; the
//! workarounds' module, [`crate::upstream`], lists them as pointers:
//! - [`UnresponsiveConfig` measures from the latest write](../docs/upstream.md#unresponsive-config):
//!   [`Link::watch`], `Link::is_silent_since`, [`Link::force_reconnect`];
//! - [`force_reconnection()` on a Cluster keeps the node connections](../docs/upstream.md#cluster-force-reconnection):
//!   `Link::reconnect`.
//!
//! The first connection's retries are [`crate::upstream::first_connection`]'s.
//!
//! The link is also where connection events are heard, so it reports them ([`crate::events`]):
//! attempts, ready, errors, losses, reconnections and failovers, to the instance's sink when it
//! has one. It remembers the server of the last ready connection, which is what a call's trace
//! names as its server (on Redis Cluster, the primary of the call's key slot: [`Link::primary_for`]).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, Instant};

use fred::error::{Error as FredError, ErrorKind};
use fred::prelude::{Client, ClientLike, ClusterInterface, EventInterface, Server};
use fred::types::config::ServerConfig;
use fred::types::ClusterStateChange;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::client::build_client;
use crate::config::Settings;
use crate::error::{is_route_failure, Error, Result};
use crate::events::{ConnectionEvent, EventKind, EventSink};
use crate::upstream::{cluster_redirect, first_connection};

/// What the connection events last said.
#[derive(Debug, Clone, Default)]
struct State {
    /// A connection is up (fred marks itself connected a moment after announcing it).
    connected: bool,
    /// Why the last connection attempt failed, when retrying cannot help: calls reject with it
    /// at once instead of waiting out `commandTimeout`.
    failure: Option<Error>,
}

/// How a finished command went, for the silence check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// Redis answered (a value or an error reply): the connection is alive.
    Reply,
    /// No reply within `commandTimeout`.
    Silence,
    /// The connection failed or was lost; fred is already reconnecting.
    Lost,
}

impl Heard {
    /// Classifies a fred result.
    pub fn of<T>(result: &std::result::Result<T, FredError>) -> Heard {
        match result {
            Ok(_) => Heard::Reply,
            Err(e) => match e.kind() {
                ErrorKind::Timeout => Heard::Silence,
                ErrorKind::IO | ErrorKind::Canceled | ErrorKind::Routing => Heard::Lost,
                // fred's "Failed to route command." when there is no connection to write to.
                ErrorKind::Unknown if is_route_failure(e) => Heard::Lost,
                _ => Heard::Reply,
            },
        }
    }
}

/// A connection error that no reconnection can fix: wrong credentials or a database index the
/// server does not have.
pub fn configuration_failure(err: &FredError) -> Option<Error> {
    let details = err.details();
    let upper = details.to_ascii_uppercase();
    if *err.kind() == ErrorKind::Auth
        || upper.starts_with("WRONGPASS")
        || upper.starts_with("NOAUTH")
        || upper.contains("INVALID USERNAME-PASSWORD")
        || upper.contains("INVALID PASSWORD")
        || (upper.contains("AUTH") && upper.contains("WITHOUT ANY PASSWORD CONFIGURED"))
        || upper.contains("NOPERM")
    {
        return Some(Error::Auth(details.to_string()));
    }
    if upper.contains("DB INDEX") || upper.contains("INVALID DB") {
        return Some(Error::Redis(format!(
            "cannot select the database: {details}"
        )));
    }
    None
}

/// An instance's sessions connection and its health.
pub struct Link {
    /// The current client; replaced only on Redis Cluster (see [`Link::force_reconnect`]).
    client: RwLock<Client>,
    /// The task that drives the current client's connection. Closing a client that is not
    /// connected aborts it: fred's `quit` would wait for a connection that may never come, and
    /// the task would hold the client, its buffers and its reconnect loop for the life of the
    /// process.
    router: Mutex<Option<AbortHandle>>,
    /// Which client's events count: those of a replaced client are ignored.
    generation: AtomicU64,
    options: Settings,
    closed: AtomicBool,
    state: watch::Sender<State>,
    epoch: Instant,
    /// Milliseconds since `epoch` of the last reply of any kind.
    last_reply: AtomicU64,
    /// Milliseconds since `epoch` of the last connection event (up or down).
    last_event: AtomicU64,
    /// Milliseconds since `epoch` of the last forced reconnection.
    last_forced: AtomicU64,
    /// Calls waiting for a connection, and the most allowed (0: no limit).
    waiting: AtomicUsize,
    waiting_limit: usize,
    command_timeout: Duration,
    /// Redis Cluster: replies from other nodes prove nothing about the silent one.
    cluster: bool,
    /// Where connection events go ([`crate::events`]); `None` for the connections of a
    /// migration or of durable writes' confirmations, which report nothing.
    events: Option<EventSink>,
    /// The server of the last connection that became ready (not kept on Redis Cluster, where
    /// each call's server is its key slot's primary).
    server: Mutex<Option<Server>>,
    /// A connection has been ready once: from then on fred reconnects by itself.
    ever_ready: AtomicBool,
    /// Attempts at the first connection so far.
    attempts: AtomicU32,
}

/// What a client's event streams said (see [`Link::listen`]).
enum Happened {
    Up(Server),
    Down(FredError, Option<Server>),
    Changed(Vec<ClusterStateChange>),
}

/// Decrements the waiting count when a wait ends, however it ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The sessions' fred client for `opts` (not yet connecting): on Redis Cluster with fred's own
/// redirection handling off (see [`cluster_redirect`]), and `fail_fast`, so that its first
/// connection attempt starts at once ([`first_connection`]; [`Link`] retries a first attempt
/// that fails). Both are workarounds for fred bugs. Here, not in the store, because the link
/// is what makes (and remakes) the sessions' client.
fn session_client(opts: &Settings) -> Result<Client> {
    let connection = if matches!(opts.redis.server, ServerConfig::Clustered { .. }) {
        cluster_redirect::session_connection(opts)
    } else {
        opts.connection_config()
    };
    let mut config = opts.redis.clone();
    first_connection::no_first_delay(&mut config);
    build_client(config, opts, connection)
}

impl Link {
    /// Builds the client for `options` and starts connecting in the background. Must run inside
    /// the tokio runtime; never waits for Redis. Calls wait for the connection within `commandTimeout`,
    /// at most `offlineQueueLimit` of them. Connection events go to `events`, when given.
    pub fn connect(options: &Settings, events: Option<EventSink>) -> Result<Arc<Link>> {
        let client = session_client(options)?;
        let link = Arc::new(Link {
            client: RwLock::new(client.clone()),
            router: Mutex::new(None),
            generation: AtomicU64::new(0),
            options: options.clone(),
            closed: AtomicBool::new(false),
            state: watch::Sender::new(State::default()),
            epoch: Instant::now(),
            last_reply: AtomicU64::new(0),
            last_event: AtomicU64::new(0),
            last_forced: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
            waiting_limit: options.offline_queue_limit,
            command_timeout: options.command_timeout,
            cluster: matches!(options.redis.server, ServerConfig::Clustered { .. }),
            events,
            server: Mutex::new(None),
            ever_ready: AtomicBool::new(false),
            attempts: AtomicU32::new(0),
        });
        link.listen(&client, 0);
        link.drive(client);
        Ok(link)
    }

    /// Runs `client`'s connection task, started again while its first attempt fails (see
    /// [`first_connection`]).
    fn drive(self: &Arc<Self>, client: Client) {
        first_connection::drive(Arc::downgrade(self), client);
    }

    /// Forwards `client`'s connection events while `generation` is the current one. Subscribes
    /// before the client connects, so that its first connection is heard too; fred closes
    /// these streams on quit, which ends the task.
    ///
    /// `biased`, in the order fred sends them when several are pending: a Redis Cluster slot
    /// map change is broadcast before the connections it calls for, and a lost connection
    /// before the reconnection that follows it.
    fn listen(self: &Arc<Self>, client: &Client, generation: u64) {
        let mut reconnects = client.reconnect_rx();
        let mut errors = client.error_rx();
        let mut changes = client.cluster_change_rx();
        let link: Weak<Link> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    biased;
                    c = changes.recv() => c.map(Happened::Changed),
                    e = errors.recv() => e.map(|(err, server)| Happened::Down(err, server)),
                    r = reconnects.recv() => r.map(Happened::Up),
                };
                let Some(link) = link.upgrade() else { break };
                let current = link.generation.load(Ordering::Acquire) == generation;
                match event {
                    Ok(Happened::Up(server)) if current => {
                        link.connected();
                        link.announce_up(&server);
                    }
                    Ok(Happened::Down(err, server)) if current => {
                        link.failed(&err);
                        link.announce_down(&err, server.as_ref());
                    }
                    Ok(Happened::Changed(changes)) if current => link.announce_changes(changes),
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                }
            }
        });
    }

    /// Hands `event` to the sink, unless the link is closed (its one `close` event is sent by
    /// [`Link::close`]).
    fn emit(&self, event: ConnectionEvent) {
        if let Some(sink) = &self.events {
            if !self.closed.load(Ordering::Acquire) {
                sink(event);
            }
        }
    }

    /// [`Link::server`], also after a panic elsewhere poisoned its lock (it holds a plain value).
    fn server_slot(&self) -> MutexGuard<'_, Option<Server>> {
        self.server
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn last_server(&self) -> Option<Server> {
        self.server_slot().clone()
    }

    /// The server calls go to, as far as the link knows: the last one that became ready, else
    /// the configured server (a single server). `None` on Sentinel before the first connection,
    /// on a unix socket, and on Redis Cluster (see [`Link::primary_for`]).
    pub fn known_server(&self) -> Option<Server> {
        if self.cluster {
            return None;
        }
        self.last_server()
            .or_else(|| match &self.options.redis.server {
                ServerConfig::Centralized { server } => Some(server.clone()),
                _ => None,
            })
    }

    /// Redis Cluster: the primary that owns `key`'s slot in the client's current slot map, if
    /// it has one. Synchronous: reads fred's cached map.
    pub fn primary_for(&self, key: &[u8]) -> Option<Server> {
        let slot = fred::util::redis_keyslot(key);
        self.client()
            .cached_cluster_state()?
            .get_server(slot)
            .cloned()
    }

    /// A connection became ready on `server`: `ready`, after `failover` when the master is not
    /// the one before (Sentinel).
    fn announce_up(&self, server: &Server) {
        self.ever_ready.store(true, Ordering::Release);
        if self.events.is_none() {
            return;
        }
        if !self.cluster {
            let previous = self.server_slot().replace(server.clone());
            if let Some(previous) = previous.filter(|p| p != server) {
                let mut event = ConnectionEvent::new(EventKind::Failover, Some(server))
                    .because(format!("the master moved from {previous} to {server}"));
                event.previous_address = Some(previous.host.to_string());
                event.previous_port = Some(u32::from(previous.port));
                self.emit(event);
            }
        }
        self.emit(ConnectionEvent::new(EventKind::Ready, Some(server)));
    }

    /// fred reported `err`: a connection that was up was lost (`server` known: `close`), or an
    /// attempt failed (`error`). Once a connection has been ready, fred retries by itself
    /// (`reconnecting`); before that, the first-connection driver reports its retries.
    fn announce_down(&self, err: &FredError, server: Option<&Server>) {
        if self.events.is_none() {
            return;
        }
        let reason = err.to_string();
        let known = server.cloned().or_else(|| self.known_server());
        match server {
            Some(_) => {
                self.emit(ConnectionEvent::new(EventKind::Close, known.as_ref()).because(&reason))
            }
            None => {
                let code = configuration_failure(err)
                    .unwrap_or_else(|| Error::from(err.clone()))
                    .code();
                let mut event =
                    ConnectionEvent::new(EventKind::Error, known.as_ref()).because(&reason);
                event.code = Some(code);
                self.emit(event);
            }
        }
        if self.ever_ready.load(Ordering::Acquire) {
            self.emit(
                ConnectionEvent::new(EventKind::Reconnecting, known.as_ref()).because(reason),
            );
        }
    }

    /// Redis Cluster: nodes joined or left the slot map (a failover promotes a replica). The
    /// first slot map, made while connecting, is no change.
    fn announce_changes(&self, changes: Vec<ClusterStateChange>) {
        if self.events.is_none() || !self.ever_ready.load(Ordering::Acquire) {
            return;
        }
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        for change in changes {
            match change {
                ClusterStateChange::Add(server) => added.push(server.to_string()),
                ClusterStateChange::Remove(server) => removed.push(server.to_string()),
                ClusterStateChange::Rebalance => {}
            }
        }
        if added.is_empty() && removed.is_empty() {
            return;
        }
        let mut event = ConnectionEvent::new(EventKind::Failover, None).because(format!(
            "the Redis Cluster slot map changed (added: [{}], removed: [{}])",
            added.join(", "),
            removed.join(", ")
        ));
        event.added = Some(added);
        event.removed = Some(removed);
        self.emit(event);
    }

    /// The current client.
    pub fn client(&self) -> Client {
        self.client
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Keeps the current client's connection task, returning the one it replaces.
    fn set_router(&self, router: AbortHandle) -> Option<AbortHandle> {
        self.router
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .replace(router)
    }

    /// Marks the link closed (no more client replacements) and returns the client to quit, or
    /// `None` when it is not connected: then its connection task is ended here instead (there
    /// is nothing to answer, and fred's `quit` would wait for a connection).
    pub fn close(&self) -> Option<Client> {
        if let (false, Some(sink)) = (self.closed.swap(true, Ordering::AcqRel), &self.events) {
            sink(
                ConnectionEvent::new(EventKind::Close, self.known_server().as_ref())
                    .because("quit() or disconnect() was called"),
            );
        }
        let client = self.client();
        if client.is_connected() {
            return Some(client);
        }
        let router = self
            .router
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(router) = router {
            router.abort();
        }
        None
    }

    fn now(&self) -> u64 {
        // +1 so that 0 can mean "never".
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// A connection is up.
    pub fn connected(&self) {
        self.last_event.store(self.now(), Ordering::Release);
        self.state.send_replace(State {
            connected: true,
            failure: None,
        });
    }

    /// A connection attempt failed or the connection was lost.
    pub fn failed(&self, err: &FredError) {
        self.last_event.store(self.now(), Ordering::Release);
        let failure = configuration_failure(err);
        self.state.send_modify(|s| {
            s.connected = false;
            if failure.is_some() {
                s.failure = failure;
            }
        });
    }

    /// Waits until `client` can take commands, at most `commandTimeout`. Rejects at once when
    /// the last connection attempt failed for a reason retrying cannot fix, and when too many
    /// calls already wait (`offlineQueueLimit`). A call waits here, not in fred's queue, so that
    /// a waiting call holds no fred command (a few hundred bytes instead of several KB).
    pub async fn ready(&self, client: &Client) -> Result<()> {
        if client.is_connected() {
            return Ok(());
        }
        let mut rx = self.state.subscribe();
        if let Some(err) = rx.borrow_and_update().failure.clone() {
            return Err(err);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.waiting_limit
            && self.waiting_limit > 0
        {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Offline(format!(
                "{} calls are already waiting for the connection (offlineQueueLimit)",
                self.waiting_limit
            )));
        }
        let _waiting = Waiting(&self.waiting);
        let wait = async {
            loop {
                {
                    let state = rx.borrow_and_update();
                    if let Some(err) = &state.failure {
                        return Err(err.clone());
                    }
                    if state.connected || client.is_connected() {
                        return Ok(());
                    }
                }
                if rx.changed().await.is_err() {
                    return Err(Error::Closed);
                }
            }
        };
        match tokio::time::timeout(self.command_timeout, wait).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(format!(
                "no connection to Redis within commandTimeout ({} ms)",
                self.command_timeout.as_millis()
            ))),
        }
    }

    /// Runs one fred command and watches how it went: a command that timed out on a
    /// connection that was up for its whole life, and that answered nothing meanwhile, forces
    /// a reconnection. `command` is boxed by the caller so that a call's own future stays small.
    ///
    /// Workaround for fred's `UnresponsiveConfig`, which never fires on a busy client
    /// (../docs/upstream.md#unresponsive-config; listed in [`crate::upstream`]).
    pub async fn watch<T, F>(
        self: &Arc<Self>,
        command: std::pin::Pin<Box<F>>,
    ) -> std::result::Result<T, FredError>
    where
        F: Future<Output = std::result::Result<T, FredError>> + ?Sized,
    {
        let started = self.now();
        let result = command.await;
        match Heard::of(&result) {
            Heard::Reply => self.last_reply.store(self.now(), Ordering::Release),
            Heard::Lost => {}
            Heard::Silence => {
                if self.is_silent_since(started) {
                    self.force_reconnect();
                }
            }
        }
        result
    }

    /// Whether nothing was heard since `started` on a connection that was up all along. On
    /// Redis Cluster a reply from another node proves nothing, so only the connection events
    /// count there.
    fn is_silent_since(&self, started: u64) -> bool {
        let quiet = self.cluster || self.last_reply.load(Ordering::Acquire) < started;
        quiet && self.last_event.load(Ordering::Acquire) < started && self.state.borrow().connected
    }

    /// Drops the connection(s) and reconnects, at most once per `commandTimeout`; commands in
    /// flight are re-sent by fred on the new connection (within `maxRetriesPerRequest`).
    pub fn force_reconnect(self: &Arc<Self>) {
        let now = self.now();
        let last = self.last_forced.load(Ordering::Acquire);
        if last != 0 && now.saturating_sub(last) < self.command_timeout.as_millis() as u64 {
            return;
        }
        if self
            .last_forced
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return; // another call is forcing it right now
        }
        self.emit(
            ConnectionEvent::new(EventKind::Reconnecting, self.known_server().as_ref()).because(
                "no reply within commandTimeout on a connection that was up: reconnecting",
            ),
        );
        let link = Arc::clone(self);
        tokio::spawn(async move { link.reconnect().await });
    }

    async fn reconnect(self: Arc<Self>) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let old = self.client();
        if !self.cluster {
            // fred's router runs the reconnection between commands; while it is stuck writing
            // to a socket whose peer reads nothing (a full send buffer) it never gets to it.
            let forced =
                tokio::time::timeout(self.options.connect_timeout, old.force_reconnection()).await;
            // An error means fred is already reconnecting or was closed meanwhile.
            if forced.is_ok() {
                return;
            }
        }
        // Redis Cluster: fred's reconnection re-syncs the slot map but keeps every connection
        // to a node still in it, the silent one included (a fred bug: see
        // docs/upstream.md#cluster-force-reconnection, listed in crate::upstream). There, and
        // when the router is stuck, a fresh client replaces the old one once it is connected;
        // calls in flight on the old one time out.
        let Ok(fresh) = session_client(&self.options) else {
            return;
        };
        let generation = self.generation.load(Ordering::Acquire) + 1;
        self.listen(&fresh, generation);
        let router = fresh.connect();
        let connected =
            tokio::time::timeout(self.options.connect_timeout, fresh.wait_for_connect())
                .await
                .is_ok_and(|r| r.is_ok());
        if !connected || self.closed.load(Ordering::Acquire) {
            // Tried again after the next silent call; this client goes away.
            router.abort();
            return;
        }
        *self
            .client
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
        self.generation.store(generation, Ordering::Release);
        let old_router = self.set_router(router.abort_handle());
        self.connected();
        // The fresh client's own `ready` came while it was not yet the current one.
        self.emit(ConnectionEvent::new(
            EventKind::Ready,
            self.known_server().as_ref(),
        ));
        // The old client's connections may be silent: don't wait long for its QUIT, then end
        // its connection task whatever it is doing.
        let timeout = self.options.connect_timeout;
        tokio::spawn(async move {
            let _ = tokio::time::timeout(timeout, old.quit()).await;
            if let Some(router) = old_router {
                router.abort();
            }
        });
    }
}

impl first_connection::Owner for Link {
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn started(&self, task: AbortHandle) {
        self.set_router(task);
        let attempt = self.attempts.fetch_add(1, Ordering::AcqRel) + 1;
        let mut event = ConnectionEvent::new(EventKind::Connect, self.known_server().as_ref());
        event.attempt = Some(attempt);
        self.emit(event);
    }

    fn retrying(&self, delay: Duration) {
        let mut event = ConnectionEvent::new(EventKind::Reconnecting, self.known_server().as_ref())
            .because("the first connection attempt failed");
        event.delay = Some(u32::try_from(delay.as_millis()).unwrap_or(u32::MAX));
        self.emit(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_configuration_failures() {
        let auth = FredError::new(ErrorKind::Auth, "WRONGPASS invalid username-password pair");
        assert_eq!(
            configuration_failure(&auth).unwrap().code(),
            crate::error::ErrorCode::Auth
        );
        let noauth = FredError::new(ErrorKind::Unknown, "NOAUTH Authentication required.");
        assert_eq!(
            configuration_failure(&noauth).unwrap().code(),
            crate::error::ErrorCode::Auth
        );
        let db = FredError::new(ErrorKind::Unknown, "ERR DB index is out of range");
        let err = configuration_failure(&db).unwrap();
        assert_eq!(err.code(), crate::error::ErrorCode::Redis);
        assert!(err.to_string().contains("DB index is out of range"));
        let refused = FredError::new(ErrorKind::IO, "Connection refused");
        assert!(configuration_failure(&refused).is_none());
    }

    #[test]
    fn classifies_results() {
        let ok: std::result::Result<(), FredError> = Ok(());
        assert_eq!(Heard::of(&ok), Heard::Reply);
        let t: std::result::Result<(), FredError> = Err(FredError::new(ErrorKind::Timeout, "t"));
        assert_eq!(Heard::of(&t), Heard::Silence);
        let r: std::result::Result<(), FredError> = Err(FredError::new(
            ErrorKind::Unknown,
            "Failed to route command.",
        ));
        assert_eq!(Heard::of(&r), Heard::Lost);
        let e: std::result::Result<(), FredError> =
            Err(FredError::new(ErrorKind::Unknown, "ERR x"));
        assert_eq!(Heard::of(&e), Heard::Reply);
    }
}
