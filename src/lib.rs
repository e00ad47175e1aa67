//! `@spots-tech/sessions`, native: users' sessions in Redis, for Node.js.
//!
//! The N-API class that `index.js` wraps ([`binding`]) hands each call to a per-instance
//! dispatcher ([`dispatch`]), which runs it on the session store ([`store`], on `fred`) and hands
//! the outcome back to JavaScript through one batched bridge ([`bridge`]). Every module, with its
//! role, is listed once in `docs/design.md`, "Module map".

pub mod binding;
pub mod bridge;
pub mod client;
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
pub mod reply;
pub mod runtime;
pub mod scripts;
pub mod store;
pub mod text;
pub mod tls;
pub mod token;
pub mod upstream;
pub mod validate;
