//! Connection events, for the `spots-sessions:connection:*` diagnostics channels.
//!
//! 1.x users read ioredis's `connect`, `ready`, `error`, `close` and `reconnecting` events; on
//! 2.x the connection is fred's, in Rust, so [`crate::link::Link`] turns what fred and the
//! first-connection driver report into [`ConnectionEvent`]s and hands them to an [`EventSink`].
//! The instance's sink sends them through its [`crate::bridge::Bridge`] (id 0, like warnings),
//! and `index.js` publishes each on the channel named after its [`EventKind`] when that channel
//! has subscribers. Events are rare (one per connection change), so they ride the same batched
//! path as call outcomes and cost the calls nothing.
//!
//! An event carries addresses and reasons only: never a password or user name (fred's error
//! texts hold neither).

use std::sync::Arc;

use fred::prelude::Server;
use napi_derive::napi;

use crate::error::ErrorCode;

/// What happened to a connection; [`EventKind::as_str`] names its channel
/// (`spots-sessions:connection:<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// An attempt at the first connection starts (the later ones are `Reconnecting`'s).
    Connect,
    /// A connection is up and takes commands (ioredis's `ready`).
    Ready,
    /// A connection attempt failed (ioredis's `error`).
    Error,
    /// A connection that was up was lost, or the instance was closed (ioredis's `close`).
    Close,
    /// Another attempt follows (ioredis's `reconnecting`), with the delay when it is known.
    Reconnecting,
    /// The server changed: Sentinel named a new master, or Redis Cluster nodes joined or left.
    Failover,
}

impl EventKind {
    /// The channel's last part.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Connect => "connect",
            EventKind::Ready => "ready",
            EventKind::Error => "error",
            EventKind::Close => "close",
            EventKind::Reconnecting => "reconnecting",
            EventKind::Failover => "failover",
        }
    }
}

/// One connection event as it crosses to JavaScript: the message published on its channel.
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionEvent {
    /// `'connect'`, `'ready'`, `'error'`, `'close'`, `'reconnecting'` or `'failover'`.
    pub event: String,
    /// The server concerned (the new one for `failover`), when known.
    pub server_address: Option<String>,
    pub server_port: Option<u32>,
    /// Why (`error`, `close`, `reconnecting`, `failover`): fred's or Redis's text.
    pub reason: Option<String>,
    /// `error`: the code a call failing for the same reason would carry.
    pub code: Option<ErrorCode>,
    /// `connect`: which attempt at the first connection (1, 2, …).
    pub attempt: Option<u32>,
    /// `reconnecting`: milliseconds until the next attempt, when known.
    pub delay: Option<u32>,
    /// `failover` on Sentinel: the master before.
    pub previous_address: Option<String>,
    pub previous_port: Option<u32>,
    /// `failover` on Redis Cluster: the nodes that joined and left, as `host:port`.
    pub added: Option<Vec<String>>,
    pub removed: Option<Vec<String>>,
}

impl ConnectionEvent {
    /// An event of `kind` about `server` (when known).
    pub fn new(kind: EventKind, server: Option<&Server>) -> Self {
        ConnectionEvent {
            event: kind.as_str().to_string(),
            server_address: server.map(|s| s.host.to_string()),
            server_port: server.map(|s| u32::from(s.port)),
            ..Default::default()
        }
    }

    /// The same event with a reason.
    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// Where a link's events go (the instance's bridge). Called on tokio threads.
pub type EventSink = Arc<dyn Fn(ConnectionEvent) + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_fields() {
        let server = Server::new("10.0.0.1", 6380);
        let e = ConnectionEvent::new(EventKind::Close, Some(&server)).because("reset");
        assert_eq!(e.event, "close");
        assert_eq!(e.server_address.as_deref(), Some("10.0.0.1"));
        assert_eq!(e.server_port, Some(6380));
        assert_eq!(e.reason.as_deref(), Some("reset"));
        let kinds = [
            EventKind::Connect,
            EventKind::Ready,
            EventKind::Error,
            EventKind::Close,
            EventKind::Reconnecting,
            EventKind::Failover,
        ];
        let names: Vec<_> = kinds.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "connect",
                "ready",
                "error",
                "close",
                "reconnecting",
                "failover"
            ]
        );
        assert_eq!(
            ConnectionEvent::new(EventKind::Ready, None).server_port,
            None
        );
    }
}
