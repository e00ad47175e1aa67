//! `@spots-tech/sessions`, native: users' sessions in Redis, for Node.js.
//!
//! The crate is split by concern:
//!
//! - [`keys`]: the storage layout (one place);
//! - [`store`]: the session operations in plain async Rust on `fred`, with the Lua scripts of
//!   [`scripts`] for every multi-key step;
//! - [`data`], [`token`], [`text`], [`validate`], [`config`], [`tls`]: values, options and their
//!   checks;
//! - [`commands`], [`reply`]: arbitrary commands for the ioredis-style `client`, and their
//!   replies;
//! - [`dispatch`]: the per-instance task that drives every call (commands leave in bursts);
//! - [`bridge`]: the single path by which results reach JavaScript (batched completions);
//! - [`binding`]: the thin N-API class that `index.js` wraps as `SpotsSessions`;
//! - [`link`]: the connection's health as calls see it (waiting, auth failures, silence);
//! - [`runtime`]: the shared tokio runtime;
//! - [`error`]: the crate's one error type.

pub mod binding;
pub mod bridge;
pub mod commands;
pub mod config;
pub mod data;
pub mod dispatch;
pub mod error;
pub mod keys;
pub mod link;
pub mod reply;
pub mod runtime;
pub mod scripts;
pub mod store;
pub mod text;
pub mod tls;
pub mod token;
pub mod validate;
