//! Durable writes: the `durability: { replicas, timeout }` option.
//!
//! Redis replicates asynchronously: a write that the primary acknowledged is lost when a
//! replica that never received it is promoted (a Sentinel or Cluster failover), and a session
//! the user signed out of works again. With `durability`, `create`, `update`, `kill`, `killAll`
//! and `rotate` resolve only once `replicas` replicas of each node they wrote to confirmed the
//! write, through Redis's `WAIT`; otherwise they reject with `ERR_REDIS_DURABILITY`. Reads,
//! `refresh` and `get({ refresh })` never wait.
//!
//! How, and why this way:
//!
//! - **Its own connection.** `WAIT` blocks the connection it is sent on, so it never goes on the
//!   sessions connection, where every other call would queue behind it. Each instance with
//!   `durability` has a second store ([`SessionStore::dedicated`]) that carries only
//!   confirmations.
//! - **A marker, then `WAIT`.** `WAIT` waits for the offset of the *sending connection's* own
//!   last write. The session write itself stays on the sessions connection; a confirmation
//!   first writes a marker key on its own connection (`SET D1:… 1 PX …`, see
//!   [`crate::keys::durability_marker`]), then sends `WAIT` behind it in the same burst.
//!   Replication offsets are global and ordered, so replicas that reached the marker hold every
//!   write that completed before it was sent, the call's own included. A `WAIT` without such a
//!   write of its own would return at once on a connection remade in between, reporting writes
//!   it never covered.
//! - **Group commit.** A node's confirmations run one at a time, and one round covers every call
//!   whose write finished before the round started: many concurrent durable writes share one
//!   marker and one `WAIT` instead of each queueing its own behind a blocked connection.
//! - **Redis Cluster.** The nodes written to are those owning the slots of the keys that the
//!   call's steps were sent on, recorded as the steps go out ([`record_slot`], in a task-local
//!   that only durable calls set); each such node is confirmed, concurrently, and the call
//!   resolves when all are.
//!
//! `WAIT` never rolls anything back: a rejected write stays applied on the primary (and may
//! still reach the replicas later). The README says what an application does about that.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fred::interfaces::{ClientLike, ClusterInterface, KeysInterface};
use fred::prelude::{Client, Value};
use fred::types::config::Options as CommandOptions;
use fred::types::config::Server;
use fred::types::{ClusterHash, CustomCommand, Expiration};
use fred::util::redis_keyslot;

use super::SessionStore;
use crate::config::{Durability, Settings};
use crate::error::{Error, Result};
use crate::keys::durability_marker;
use crate::reply::key;

tokio::task_local! {
    /// The Redis Cluster slots that the current durable call's steps were sent to.
    static WRITTEN: RefCell<Vec<u16>>;
}

/// Notes that the current call sent a step on `key` (Redis Cluster). Outside a durable call it
/// does nothing.
pub(super) fn record_slot(key: &[u8]) {
    let _ = WRITTEN.try_with(|written| written.borrow_mut().push(redis_keyslot(key)));
}

/// The confirmations of one instance: their connection, and the rounds of each node.
pub struct Durable {
    store: SessionStore,
    settings: Durability,
    /// One entry per node confirmed so far (the empty name on a single server).
    rounds: Mutex<HashMap<String, Arc<Rounds>>>,
}

/// One node's confirmation rounds (group commit: see the module's docs).
#[derive(Default)]
struct Rounds {
    /// How many rounds have started.
    started: AtomicU64,
    /// The latest finished round: its number and what it found. Held while a round runs.
    last: tokio::sync::Mutex<(u64, Option<Result<u32>>)>,
}

/// A node to confirm: its server (Redis Cluster) and a slot of it for the marker.
struct Target {
    name: String,
    server: Option<Server>,
    slot: Option<u16>,
}

impl Durable {
    /// Opens the confirmations' own connection (in the background). Must run inside the tokio
    /// runtime.
    pub fn connect(options: &Settings, settings: Durability) -> Result<Self> {
        Ok(Durable {
            store: SessionStore::connect(options)?,
            settings,
            rounds: Mutex::new(HashMap::new()),
        })
    }

    /// Runs `write` (a session method on the sessions store), then confirms it: resolves with
    /// its value once enough replicas of every node it wrote to acknowledged it.
    pub async fn write<T>(&self, write: impl Future<Output = Result<T>>) -> Result<T> {
        let (result, slots) = WRITTEN
            .scope(RefCell::new(Vec::new()), async move {
                let result = write.await;
                let slots = WRITTEN.with(|written| std::mem::take(&mut *written.borrow_mut()));
                (result, slots)
            })
            .await;
        let value = result?;
        self.confirm(&slots).await?;
        Ok(value)
    }

    /// Confirms the writes that completed so far on the nodes of `slots` (the one server when
    /// not on Cluster).
    async fn confirm(&self, slots: &[u16]) -> Result<()> {
        let client = self
            .store
            .ready_client()
            .await
            .map_err(|e| self.unconfirmed(0, e))?;
        let targets = if self.store.is_cluster() {
            targets_of(&client, slots).map_err(|e| self.unconfirmed(0, e))?
        } else {
            vec![Target {
                name: String::new(),
                server: None,
                slot: None,
            }]
        };
        let rounds = targets
            .into_iter()
            .map(|target| self.confirm_node(&client, target));
        let mut acknowledged = u32::MAX;
        for result in futures_util::future::join_all(rounds).await {
            acknowledged = acknowledged.min(result?);
        }
        if acknowledged < self.settings.replicas {
            return Err(Error::Durability {
                acknowledged,
                replicas: self.settings.replicas,
                timeout_ms: self.timeout_ms(),
                detail: None,
            });
        }
        Ok(())
    }

    /// One node's round for a call whose write has finished: the result of a round that
    /// started after it arrived, or of a round of its own.
    async fn confirm_node(&self, client: &Client, target: Target) -> Result<u32> {
        let rounds = {
            let mut all = self
                .rounds
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(all.entry(target.name.clone()).or_default())
        };
        let seen = rounds.started.load(Ordering::Acquire);
        let mut last = rounds.last.lock().await;
        if let (round, Some(result)) = &*last {
            if *round > seen {
                // That round started after this call's write finished: it covers it.
                return result.clone();
            }
        }
        let round = rounds.started.fetch_add(1, Ordering::AcqRel) + 1;
        let result = self.marker_and_wait(client, &target).await;
        *last = (round, Some(result.clone()));
        result
    }

    /// Writes the marker and sends `WAIT` behind it on the confirmations' connection (to
    /// `target`'s node); the number of replicas that acknowledged.
    async fn marker_and_wait(&self, client: &Client, target: &Target) -> Result<u32> {
        let timeout_ms = self.timeout_ms();
        let options = CommandOptions {
            // WAIT returns by itself after `timeout`; fred's own limit comes after that.
            timeout: Some(self.settings.timeout + self.store.command_timeout),
            cluster_node: target.server.clone(),
            // Re-sent on a new connection, the marker would prove nothing more than the first.
            max_attempts: Some(1),
            ..CommandOptions::default()
        };
        let client = client.with_options(&options);
        let marker = key(durability_marker(target.slot));
        let life =
            Expiration::PX(i64::try_from(timeout_ms.saturating_add(10_000)).unwrap_or(i64::MAX));
        let wait = CustomCommand::new_static("WAIT", ClusterHash::Random, false);
        let args = vec![
            Value::from(i64::from(self.settings.replicas)),
            Value::from(i64::try_from(timeout_ms).unwrap_or(i64::MAX)),
        ];
        // Polled in order, so the marker is sent first, and the WAIT right behind it.
        let (set, acknowledged) = futures_util::future::join(
            client.set::<Value, _, _>(marker, 1, Some(life), None, false),
            client.custom::<i64, _>(wait, args),
        )
        .await;
        let fail = |e: fred::error::Error| self.unconfirmed(0, self.store.redis_error(e));
        set.map_err(fail)?;
        let acknowledged = acknowledged.map_err(fail)?;
        Ok(u32::try_from(acknowledged.max(0)).unwrap_or(u32::MAX))
    }

    fn timeout_ms(&self) -> u64 {
        u64::try_from(self.settings.timeout.as_millis()).unwrap_or(u64::MAX)
    }

    /// The confirmation itself failed (no connection, a refused marker): the write stands on
    /// the primary, but nothing says that a replica has it.
    fn unconfirmed(&self, acknowledged: u32, cause: Error) -> Error {
        Error::Durability {
            acknowledged,
            replicas: self.settings.replicas,
            timeout_ms: self.timeout_ms(),
            detail: Some(format!("the confirmation failed: {cause}")),
        }
    }

    /// Closes the confirmations' connection after what was sent on it has been answered.
    pub async fn quit(&self) -> Result<()> {
        self.store.quit().await
    }

    /// Closes the confirmations' connection at once.
    pub fn disconnect(&self) {
        self.store.disconnect();
    }
}

/// The nodes that own `slots` in the client's routing table, one target (and one of its slots)
/// each.
fn targets_of(client: &Client, slots: &[u16]) -> Result<Vec<Target>> {
    let routing = client
        .cached_cluster_state()
        .ok_or_else(|| Error::Connection("no Redis Cluster routing table yet".into()))?;
    let mut targets: Vec<Target> = Vec::new();
    for &slot in slots {
        let server = routing
            .get_server(slot)
            .ok_or_else(|| Error::Connection(format!("no Redis Cluster node owns slot {slot}")))?;
        let name = server.to_string();
        if targets.iter().all(|t| t.name != name) {
            targets.push(Target {
                name,
                server: Some(server.clone()),
                slot: Some(slot),
            });
        }
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_slots_only_inside_a_durable_call() {
        record_slot(b"outside"); // no task-local: ignored, no panic
        let slots = WRITTEN
            .scope(RefCell::new(Vec::new()), async {
                record_slot(b"a");
                record_slot(b"b");
                WRITTEN.with(|w| w.borrow().clone())
            })
            .await;
        assert_eq!(slots, vec![redis_keyslot(b"a"), redis_keyslot(b"b")]);
    }
}
