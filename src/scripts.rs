//! The Lua scripts behind the multi-key steps, loaded once per server and called by SHA.
//!
//! The scripts live in `src/lua/` as files; each one's header says its keys and arguments.
//! `lib.lua` holds the helpers they share and is prepended to each at compile time.
//! `EVALSHA` falls back to `SCRIPT LOAD` when a server answers `NOSCRIPT` (a restarted or
//! failed-over Redis has an empty script cache).

use std::sync::LazyLock;

use fred::types::scripts::Script;

/// Every script the store uses.
pub struct Scripts {
    // Single server: one atomic script per method.
    pub create: Script,
    pub refresh: Script,
    pub update: Script,
    pub kill: Script,
    pub kill_all: Script,
    // Redis Cluster: single-key steps the store sequences.
    pub index_remove: Script,
    pub session_create: Script,
    pub session_take: Script,
    // The one-off 1.x migration (crate::migrate); `lua/v1.lua` follows `lib.lua` in each.
    pub v1_read: Script,
    pub v1_migrate: Script,
    pub v1_mark: Script,
    // Session management (see the README's "Session management").
    pub list: Script,
    pub get_refresh: Script,
    pub rotate: Script,
    pub index_add_until: Script,
    pub index_rotate: Script,
    pub session_info: Script,
    pub session_take_all: Script,
    pub session_restore: Script,
}

/// `lua/lib.lua` followed by `lua/<name>.lua`.
macro_rules! script {
    ($name:literal) => {
        Script::from_lua(concat!(
            include_str!("lua/lib.lua"),
            include_str!(concat!("lua/", $name, ".lua"))
        ))
    };
}

/// `lua/lib.lua`, `lua/v1.lua`, then `lua/<name>.lua`.
macro_rules! v1_script {
    ($name:literal) => {
        Script::from_lua(concat!(
            include_str!("lua/lib.lua"),
            include_str!("lua/v1.lua"),
            include_str!(concat!("lua/", $name, ".lua"))
        ))
    };
}

/// The scripts, hashed once per process.
pub static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    create: script!("create"),
    refresh: script!("refresh"),
    update: script!("update"),
    kill: script!("kill"),
    kill_all: script!("kill_all"),
    index_remove: script!("step_index_remove"),
    session_create: script!("step_session_create"),
    session_take: script!("step_session_take"),
    v1_read: v1_script!("v1_read"),
    v1_migrate: v1_script!("v1_migrate"),
    v1_mark: v1_script!("v1_mark"),
    list: script!("list"),
    get_refresh: script!("get_refresh"),
    rotate: script!("rotate"),
    index_add_until: script!("step_index_add_until"),
    index_rotate: script!("step_index_rotate"),
    session_info: script!("step_session_info"),
    session_take_all: script!("step_session_take_all"),
    session_restore: script!("step_session_restore"),
});
