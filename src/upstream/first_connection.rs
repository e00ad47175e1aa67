//! A new client's first connection without fred's reconnection delay in front of it
//! ([write-up](../../docs/upstream.md#first-connection-delay)).
//!
//! Unless a client is `fail_fast`, fred sleeps its reconnection policy's first delay (100–200 ms
//! here) before even the first connection attempt (`router::utils::reconnect_with_policy`), and
//! every new instance paid that on its first call (a serverless cold start pays it on every
//! start). So the sessions client is `fail_fast` ([`no_first_delay`]): its first attempt starts
//! at once. But in that mode a first attempt that fails ends fred's connection task, where
//! fred would otherwise keep retrying; [`drive`] starts the task again, with the same backoff as
//! the reconnection policy, until a connection is made (from then on fred reconnects by itself)
//! or the owner is closed or dropped.
//!
//! Remove both when fred attempts the first connection at once (or takes a zero first delay):
//! the client is then built with `fail_fast: false` and its task started once.

use std::sync::Weak;
use std::time::Duration;

use fred::prelude::{Client, ClientLike};
use fred::types::config::Config;
use tokio::task::AbortHandle;

/// The first retry of a first connection that failed, and the longest wait between retries:
/// the reconnection backoff of `Options::reconnect_policy`.
const FIRST_CONNECT_RETRY: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_millis(2_000));

/// What holds the client whose connection [`drive`] runs.
pub trait Owner: Send + Sync + 'static {
    /// The client is no longer wanted: its connection task is ended and not started again.
    fn is_closed(&self) -> bool;
    /// Keeps the handle of the connection task just started (to end it on close).
    fn started(&self, task: AbortHandle);
    /// The attempt failed; the next one starts after `delay` (for connection events).
    fn retrying(&self, _delay: Duration) {}
}

/// Makes `config` a `fail_fast` client's, so that its first connection attempt starts at once
/// (with [`drive`] running its connection).
pub fn no_first_delay(config: &mut Config) {
    config.fail_fast = true;
}

/// Runs `client`'s connection task (fred's, which reconnects forever once connected), and
/// starts it again, with the reconnection backoff, while its first connection attempt fails.
/// Stops when `owner` is dropped or closed, or when the task ends otherwise (quit, or aborted).
pub fn drive<O: Owner>(owner: Weak<O>, client: Client) {
    let (first, most) = FIRST_CONNECT_RETRY;
    tokio::spawn(async move {
        let mut delay = first;
        loop {
            let task = client.connect();
            {
                let Some(owner) = owner.upgrade() else {
                    task.abort();
                    return;
                };
                if owner.is_closed() {
                    task.abort();
                    return;
                }
                owner.started(task.abort_handle());
            }
            match task.await {
                // Quit, or ended by the owner.
                Ok(Ok(())) | Err(_) => return,
                Ok(Err(e)) if e.is_canceled() => return,
                // The first attempt failed (fred has told the error listeners).
                Ok(Err(_)) => {}
            }
            match owner.upgrade() {
                Some(owner) if !owner.is_closed() => owner.retrying(delay),
                _ => return,
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(most);
        }
    });
}
