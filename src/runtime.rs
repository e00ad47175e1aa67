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

/// Stack size of the runtime's threads. fred 10.1 decodes replies with redis-protocol 6, whose
/// decoder recurses once per level of nesting (about 270 bytes of stack per level, and every
/// level costs the sender at least 4 bytes: `*1\r\n`), then converts and drops the reply
/// recursively too. A reply nested deeper than the stack allows overflows it, and the process
/// dies with SIGSEGV; no fred or redis-protocol setting bounds the depth (docs/upstream.md).
/// This stack is reserved address space, not memory: only the pages a deep reply touches are
/// ever used. With 1 GiB a reply nested 3,000,000 levels deep is survived (measured; 3,500,000
/// overflows) and refused as `ERR_REDIS_PROTOCOL` (README, "Hostile servers").
pub const STACK_SIZE: usize = 1 << 30;

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
            // Where the address space cannot be reserved (a strict overcommit policy, a small
            // ulimit -v), fall back to the default stack rather than not start at all.
            build(Some(STACK_SIZE))
                .or_else(|_| build(None))
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Connection(format!("cannot start the tokio runtime: {e}")))
}
