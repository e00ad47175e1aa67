//! Where every call's work runs: one task per instance that drives all of its calls.
//!
//! Calls arrive from the JS thread over a channel; the task takes every call queued since its
//! last wake-up in one go and polls them together, so that their Redis commands reach fred's
//! router as a burst and leave in one socket write (the pipelining ioredis gets from
//! `enableAutoPipelining`). It also spares a task spawn, and a cross-thread wake-up, per call.
//!
//! Some calls can do better than share a socket write: consecutive calls of a kind that a
//! [`Gather`] knows how to combine (the `get`s of a burst) become one piece of work, one Redis
//! round trip for all of them. Order is kept: a run of such calls is started before the call
//! that follows it in the channel, so a `get` made after an `update` still sees it.

use std::future::Future;
use std::pin::Pin;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// A call's work: completes by delivering its own outcome.
pub type Work = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Combines a run of consecutive calls of one kind into one piece of work.
pub trait Gather: Send + Sync + 'static {
    /// One call of the kind.
    type Call: Send + 'static;
    /// The work that runs `calls` (one or more, in the order they were made) and delivers each
    /// one's outcome.
    fn gather(&self, calls: Vec<Self::Call>) -> Work;
}

/// What the instance queues: a call's own work, or a call that may be gathered.
pub enum Job<C> {
    Run(Work),
    Gathered(C),
}

/// Most calls taken from the channel per wake-up, so one burst cannot starve the polling of
/// calls already in flight.
const BURST: usize = 512;

/// The sending half, owned by the instance. Dropping it ends the task once the calls in
/// flight have finished.
pub struct Dispatcher<G: Gather> {
    tx: UnboundedSender<Job<G::Call>>,
}

impl<G: Gather> Dispatcher<G> {
    /// Starts the task on `runtime`; `gather` combines the [`Job::Gathered`] calls.
    pub fn start(runtime: &tokio::runtime::Runtime, gather: G) -> Self {
        let (tx, rx) = unbounded_channel();
        runtime.spawn(run(rx, gather));
        Dispatcher { tx }
    }

    /// Queues a call. Returns the job back if the task is gone (only when the runtime is
    /// shutting down), so that the caller can still settle the call.
    pub fn submit(&self, job: Job<G::Call>) -> Result<(), Job<G::Call>> {
        self.tx.send(job).map_err(|e| e.0)
    }
}

async fn run<G: Gather>(mut rx: UnboundedReceiver<Job<G::Call>>, gather: G) {
    let mut in_flight = FuturesUnordered::new();
    let mut arrived = Vec::with_capacity(BURST);
    let mut run_of = Vec::new();
    let mut open = true;
    while open || !in_flight.is_empty() {
        tokio::select! {
            // New calls first: each is polled once right away, which sends its command.
            // FuturesUnordered polls new work in the order it was pushed.
            biased;
            n = rx.recv_many(&mut arrived, BURST), if open => {
                if n == 0 {
                    open = false;
                }
                for job in arrived.drain(..) {
                    match job {
                        Job::Gathered(call) => run_of.push(call),
                        Job::Run(work) => {
                            if !run_of.is_empty() {
                                in_flight.push(gather.gather(std::mem::take(&mut run_of)));
                            }
                            in_flight.push(work);
                        }
                    }
                }
                if !run_of.is_empty() {
                    in_flight.push(gather.gather(std::mem::take(&mut run_of)));
                }
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

    /// Records each run when its work starts (is first polled), as the calls' numbers.
    struct Recorder(Arc<std::sync::Mutex<Vec<Vec<u64>>>>);

    impl Gather for Recorder {
        type Call = u64;
        fn gather(&self, calls: Vec<u64>) -> Work {
            let runs = Arc::clone(&self.0);
            Box::pin(async move { runs.lock().unwrap().push(calls) })
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn gathers_consecutive_calls_and_keeps_their_place() {
        let runs = Arc::new(std::sync::Mutex::new(Vec::new()));
        // Each plain call records how many runs had started before it did.
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        // The whole burst is queued before the task runs, as under load.
        let (tx, rx) = unbounded_channel();
        let dispatcher = Dispatcher::<Recorder> { tx };
        for n in [1, 2, 0, 3, 0, 4, 5] {
            let job = if n == 0 {
                let (runs, seen) = (Arc::clone(&runs), Arc::clone(&seen));
                Job::Run(Box::pin(async move {
                    let started = runs.lock().unwrap().len();
                    seen.lock().unwrap().push(started);
                }) as Work)
            } else {
                Job::Gathered(n)
            };
            assert!(dispatcher.submit(job).is_ok());
        }
        drop(dispatcher);
        runtime().block_on(run(rx, Recorder(Arc::clone(&runs))));
        assert_eq!(*runs.lock().unwrap(), vec![vec![1, 2], vec![3], vec![4, 5]]);
        assert_eq!(*seen.lock().unwrap(), vec![1, 2]);
    }

    #[test]
    fn runs_every_call_and_ends_when_dropped() {
        let rt = runtime();
        let done = Arc::new(AtomicUsize::new(0));
        let dispatcher = Dispatcher::start(&rt, Recorder(Default::default()));
        for i in 0..1000u64 {
            let done = Arc::clone(&done);
            let work: Work = Box::pin(async move {
                tokio::time::sleep(std::time::Duration::from_micros(i % 7)).await;
                done.fetch_add(1, Ordering::SeqCst);
            });
            assert!(dispatcher.submit(Job::Run(work)).is_ok());
        }
        drop(dispatcher);
        rt.block_on(async {
            for _ in 0..200 {
                if done.load(Ordering::SeqCst) == 1000 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), 1000);
    }
}
