//! Where every call's work runs: one task per instance that drives all of its calls.
//!
//! Calls arrive from the JS thread over a channel; the task takes every call queued since its
//! last wake-up in one go and polls them together, so that their Redis commands reach fred's
//! router as a burst and leave in one socket write (the pipelining ioredis gets from
//! `enableAutoPipelining`). It also spares a task spawn, and a cross-thread wake-up, per call.

use std::future::Future;
use std::pin::Pin;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// A call's work: completes by delivering its own outcome.
pub type Work = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Most calls taken from the channel per wake-up, so one burst cannot starve the polling of
/// calls already in flight.
const BURST: usize = 512;

/// The sending half, owned by the instance. Dropping it ends the task once the calls in
/// flight have finished.
pub struct Dispatcher {
    tx: UnboundedSender<Work>,
}

impl Dispatcher {
    /// Starts the task on `runtime`.
    pub fn start(runtime: &tokio::runtime::Runtime) -> Self {
        let (tx, rx) = unbounded_channel();
        runtime.spawn(run(rx));
        Dispatcher { tx }
    }

    /// Queues a call. Returns the work back if the task is gone (only when the runtime is
    /// shutting down), so that the caller can still settle the call.
    pub fn submit(&self, work: Work) -> Result<(), Work> {
        self.tx.send(work).map_err(|e| e.0)
    }
}

async fn run(mut rx: UnboundedReceiver<Work>) {
    let mut in_flight = FuturesUnordered::new();
    let mut arrived = Vec::with_capacity(BURST);
    let mut open = true;
    while open || !in_flight.is_empty() {
        tokio::select! {
            // New calls first: each is polled once right away, which sends its command.
            biased;
            n = rx.recv_many(&mut arrived, BURST), if open => {
                if n == 0 {
                    open = false;
                }
                in_flight.extend(arrived.drain(..));
            }
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn runs_every_call_and_ends_when_dropped() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let dispatcher = Dispatcher::start(&rt);
        for i in 0..1000u64 {
            let done = Arc::clone(&done);
            let work: Work = Box::pin(async move {
                tokio::time::sleep(std::time::Duration::from_micros(i % 7)).await;
                done.fetch_add(1, Ordering::SeqCst);
            });
            assert!(dispatcher.submit(work).is_ok());
        }
        drop(dispatcher);
        rt.block_on(async {
            // Up to 10 s: cargo runs other tests beside this one on a small machine.
            for _ in 0..2000 {
                if done.load(Ordering::SeqCst) == 1000 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), 1000);
    }
}
