//! The process-wide tokio runtime that drives every instance's Redis traffic.
//!
//! One runtime serves all instances (and all worker threads), so that creating many
//! `SpotsSessions` does not create many thread pools. It lives in a static and is never dropped:
//! Node may exit while connections are open, and tearing a runtime down from a finalizer on the
//! JS thread is what crashes addons at exit.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

use crate::error::{Error, Result};
use crate::upstream;

/// Environment variable that sets the number of tokio worker threads.
pub const WORKERS_ENV: &str = "SPOTS_SESSIONS_WORKER_THREADS";

static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// Default worker threads. One: an instance's calls funnel through fred's single router task
/// per connection anyway, and keeping the dispatcher, the router and the socket reader on one
/// thread spares a cross-thread wake-up per reply. Measured on 2 cores (benchmark/, 100k
/// sessions): one worker used less client CPU per call than two (get at c=256: 10.5 vs 11.3 µs)
/// with the same or better throughput and c=1 latency.
pub const DEFAULT_WORKERS: usize = 1;

/// Worker threads: `SPOTS_SESSIONS_WORKER_THREADS` if set to 1–64, else [`DEFAULT_WORKERS`].
pub fn worker_threads() -> usize {
    std::env::var(WORKERS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or(DEFAULT_WORKERS)
}

/// The shared runtime, started on first use.
pub fn get() -> Result<&'static Runtime> {
    RUNTIME
        .get_or_init(|| {
            let build = |stack: Option<usize>| {
                let mut builder = Builder::new_multi_thread();
                builder
                    .worker_threads(worker_threads())
                    .thread_name("spots-sessions")
                    .enable_all();
                if let Some(stack) = stack {
                    builder.thread_stack_size(stack);
                }
                builder.build()
            };
            // 1 GiB stacks, for replies nested deeper than tokio's default stack allows:
            // a workaround for a redis-protocol bug (docs/upstream.md#deep-replies).
            upstream::deep_replies::with_deep_stacks(build).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Connection(format!("cannot start the tokio runtime: {e}")))
}
