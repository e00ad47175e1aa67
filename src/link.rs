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

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use fred::error::{Error as FredError, ErrorKind};
use fred::prelude::{Client, ClientLike, EventInterface};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::config::Options;
use crate::error::{Error, Result};
use crate::store::session_client;
use crate::upstream::{self, first_connection};

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
                ErrorKind::Unknown if upstream::is_route_failure(e) => Heard::Lost,
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
    options: Options,
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
}

/// Decrements the waiting count when a wait ends, however it ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Link {
    /// Builds the client for `options` and starts connecting in the background. Must run inside
    /// the tokio runtime; never waits for Redis. Calls wait for the connection within `commandTimeout`,
    /// at most `offlineQueueLimit` of them.
    pub fn connect(options: &Options) -> Result<Arc<Link>> {
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
            cluster: matches!(
                options.redis.server,
                fred::types::config::ServerConfig::Clustered { .. }
            ),
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
    fn listen(self: &Arc<Self>, client: &Client, generation: u64) {
        let mut reconnects = client.reconnect_rx();
        let mut errors = client.error_rx();
        let link: Weak<Link> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    r = reconnects.recv() => r.map(|_| None),
                    e = errors.recv() => e.map(|(err, _)| Some(err)),
                };
                let Some(link) = link.upgrade() else { break };
                let current = link.generation.load(Ordering::Acquire) == generation;
                match event {
                    Ok(None) if current => link.connected(),
                    Ok(Some(err)) if current => link.failed(&err),
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                }
            }
        });
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
        self.closed.store(true, Ordering::Release);
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
