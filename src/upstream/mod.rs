//! Every workaround for a bug in a dependency (`fred` 10.1, `redis-protocol` 6, `napi-derive` 3),
//! in one place.
//!
//! Each bug is written up, ready to file upstream, in `docs/upstream.md`; each item below links
//! its section and names the code that carries the workaround; that code's own doc says what
//! to remove once the dependency is fixed. Three workarounds are woven into another module's own
//! job and stay there, marked with a comment that links the same section: they are listed here
//! as pointers.
//!
//! - [`ASKING` reads an unrelated reply](../../docs/upstream.md#asking-reads-an-unrelated-reply)
//!   and [`ASK` is retried on the source node](../../docs/upstream.md#ask-is-retried-on-the-source-node):
//!   [`cluster_redirect`]. The sessions client on Redis Cluster turns fred's redirection
//!   handling off, and a redirected step is sent again here (through `MULTI`/`EXEC` on a client
//!   of its own once it is `ASK`ed).
//! - [The RESP decoder recurses once per level of nesting](../../docs/upstream.md#deep-replies):
//!   [`deep_replies`], the 1 GiB stacks of the runtime's threads ([`crate::runtime`] builds
//!   with them). The reply, once decoded, is refused as `ERR_REDIS_PROTOCOL` and its connection
//!   remade by the store's own error mapping (`SessionStore::protocol_error` in
//!   [`crate::store`]), which is not a workaround: any impossible reply gets it.
//! - [`UnresponsiveConfig` measures from the latest write](../../docs/upstream.md#unresponsive-config):
//!   not moved here, pointed to. Noticing a silent connection is woven into [`crate::link`]'s
//!   own job, the connection's health as calls see it (`Link::watch`, `Link::is_silent_since`,
//!   `Link::force_reconnect`); with a fixed fred, `UnresponsiveConfig` would replace those three.
//! - [`force_reconnection()` on a Cluster keeps the node connections](../../docs/upstream.md#cluster-force-reconnection):
//!   not moved here, pointed to. `Link::reconnect` in [`crate::link`] replaces the whole client
//!   on Redis Cluster (and when the router is stuck in a write); it needs the Link's generation
//!   of event listeners and its router handle. With a fixed fred, `force_reconnection()` alone
//!   would do.
//! - ["Failed to route command." is `ErrorKind::Unknown`](../../docs/upstream.md#failed-to-route):
//!   not moved here, pointed to. Mapping fred's errors to the crate's is [`crate::error`]'s own
//!   job, so `is_route_failure` is there: it maps that message to `ERR_REDIS_CONNECTION`, and
//!   [`crate::link`] counts it as a lost connection. (Kept there, the error type, which
//!   everything imports, imports nothing of the crate.)
//! - [Typed `hgetall` loses the field order](../../docs/upstream.md#hgetall-order): [`HGETALL`],
//!   the custom command the store sends instead of fred's typed `hgetall`.
//! - [The first connection waits for the reconnection delay](../../docs/upstream.md#first-connection-delay):
//!   [`first_connection`]: the sessions client is `fail_fast`, and a first attempt that fails
//!   is started again with the reconnection backoff.
//! - [Every `EVALSHA` is flushed on its own](../../docs/upstream.md#evalsha-flush): no workaround:
//!   fred flushes every script however it is sent (typed `evalsha`, custom command, pipeline).
//!   The cost is measured in the write-up, with a batching script tried here and measured
//!   slower.
//! - [A non-UTF-8 error reply shifts every later reply](../../docs/upstream.md#non-utf8-error-reply):
//!   not in Rust. The sessions connection only ever carries the session methods' own commands,
//!   whose error replies echo no caller bytes; `sessions.client`, where applications send
//!   anything, is ioredis on connections of its own (`index.js`, `redis-client.js`).
//! - [`js_name` on a `#[napi] const` renames the typings, not the export](../../docs/upstream.md#napi-const-js-name)
//!   (napi-derive 3.7): the constants exported to JavaScript (`crate::migrate`) are named in
//!   Rust as in JavaScript.

pub mod cluster_redirect;
pub mod deep_replies;
pub mod first_connection;

/// `HGETALL`, sent as a custom command, never as fred's typed `hgetall`: that one turns the
/// reply into a hash map, which loses the order of the fields, and `get` returns a session's
/// keys in stored order. The price: fred flushes the socket after every custom command instead
/// of letting queued typed commands share a write
/// ([write-up](../../docs/upstream.md#hgetall-order)). Remove when fred keeps the reply's order.
pub const HGETALL: &str = "HGETALL";
