//! `@spots-tech/sessions`, native: users' sessions in Redis, for Node.js.
//!
//! The crate is split by concern:
//!
//! - [`keys`]: the storage layout (one place);
//! - [`migrate`]: the one-off migration of 1.x sessions into that layout;
//! - [`store`]: the session operations in plain async Rust on `fred`, with the Lua scripts of
//!   [`scripts`] for every multi-key step: a single-server path and a Redis Cluster path, side
//!   by side;
//! - [`upstream`]: every workaround for a bug in fred or redis-protocol (Redis Cluster's `MOVED`
//!   and `ASK` followed in place of fred's, among others), each linked to its write-up in
//!   `docs/upstream.md`;
//! - [`manage`]: session management beyond 1.x (list, count, limits, rotate): options and replies;
//! - [`options`]: the constructor's options, defined once (their types reach `index.d.ts`);
//! - [`data`], [`token`], [`text`], [`validate`], [`config`], [`tls`]: values, options and their
//!   checks;
//! - [`connection`]: the parsed connection, described for the `client` (an ioredis instance
//!   that `index.js` builds);
//! - [`dispatch`]: the per-instance task that drives every call (commands leave in bursts);
//! - [`bridge`]: the single path by which results reach JavaScript (batched completions);
//! - [`binding`]: the thin N-API class that `index.js` wraps as `SpotsSessions`;
//! - [`link`]: the connection's health as calls see it (waiting, auth failures, silence), and
//!   its events;
//! - [`events`]: connection events, for the `spots-sessions:connection:*` channels;
//! - [`runtime`]: the shared tokio runtime;
//! - [`error`]: the crate's one error type.

pub mod binding;
pub mod bridge;
pub mod config;
pub mod connection;
pub mod data;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod keys;
pub mod link;
pub mod manage;
pub mod migrate;
pub mod options;
pub mod runtime;
pub mod scripts;
pub mod store;
pub mod text;
pub mod tls;
pub mod token;
pub mod upstream;
pub mod validate;
