//! The process-wide tokio runtime that drives every instance's Redis traffic.
//!
//! One runtime serves all instances (and all worker threads), so that creating many
//! `SpotsSessions` does not create many thread pools. It lives in a static and is never dropped:
//! Node may exit while connections are open, and tearing a runtime down from a finalizer on the
//! JS thread is what crashes addons at exit.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

use crate::error::{Error, Result};

/// Environment variable that sets the number of tokio worker threads.
pub const WORKERS_ENV: &str = "SPOTS_SESSIONS_WORKER_THREADS";

static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// Worker threads: `SPOTS_SESSIONS_WORKER_THREADS` if set to 1–64, else 2 (or 1 on a 1-CPU machine).
pub fn worker_threads() -> usize {
    std::env::var(WORKERS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().min(2))
                .unwrap_or(1)
        })
}

/// The shared runtime, started on first use.
pub fn get() -> Result<&'static Runtime> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(worker_threads())
                .thread_name("spots-sessions")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Connection(format!("cannot start the tokio runtime: {e}")))
}
