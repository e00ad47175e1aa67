//! The Lua scripts behind the multi-key steps, loaded once per server and called by SHA.
//!
//! The scripts live in `src/lua/` as files; each one's header says its keys and arguments.
//! `EVALSHA` falls back to `SCRIPT LOAD` when a server answers `NOSCRIPT` (a restarted or
//! failed-over Redis has an empty script cache).

use std::sync::LazyLock;

use fred::types::scripts::Script;

/// Every script the store uses.
pub struct Scripts {
    pub create: Script,
    pub refresh: Script,
    pub update: Script,
    pub kill: Script,
    pub kill_all: Script,
}

/// The scripts, hashed once per process.
pub static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    create: Script::from_lua(include_str!("lua/create.lua")),
    refresh: Script::from_lua(include_str!("lua/refresh.lua")),
    update: Script::from_lua(include_str!("lua/update.lua")),
    kill: Script::from_lua(include_str!("lua/kill.lua")),
    kill_all: Script::from_lua(include_str!("lua/kill_all.lua")),
});
