//! The one-off migration of 1.x sessions into the current layout, batch by batch.
//!
//! 1.x stored a session as the string key `app:<app>|token:<token>|ownerId:<owner>` holding
//! `JSON.stringify(data)`, with a TTL when it had a duration. [`Migration::step`] runs one `SCAN`
//! page (`MATCH` [`V1_PATTERN`], `COUNT` the batch size) on one server and converts every key
//! on it, concurrently; the caller (the JavaScript layer) loops over the returned cursor, which
//! walks every master of a Redis Cluster in turn, and reports progress between batches.
//!
//! Per key:
//!
//! 1. The name is split ([`parse_v1_key`]); an ambiguous or foreign name is skipped with the
//!    reason, never guessed, and so is a token that 1.x cannot have issued
//!    ([`check_v1_token`]: empty, or shorter than 8 random bytes).
//! 2. `lua/v1_read.lua` reads its type, value and remaining life; a key that is not a string,
//!    not JSON, or not a JSON object within the documented limits is skipped with the reason.
//! 3. The data is split into fields exactly as `create` splits it (`v1.rs`, on
//!    [`crate::data::split_object`]).
//! 4. Single server: `lua/v1_migrate.lua` converts it atomically, if the key still holds the
//!    value read in step 2 (else steps 2–4 run again): unless the "migrated" marker or the
//!    session exists already, it writes the index entry and the session as `create.lua` does,
//!    with the remaining life rounded to the nearest second; then it writes the marker (or, with
//!    `deleteOld`, deletes the 1.x key and the marker).
//!
//!    Redis Cluster: the 1.x key, the session, its index and the marker live in different slots,
//!    so the same work runs as ordered single-key steps (see `cluster.rs`).
//!
//! A report never holds a 1.x key's name, which holds the raw token: a key that is skipped or
//! fails is reported as `{ app, ownerId, sessionId, reason }` ([`Entry`]), and no reason quotes
//! the session's data or the arguments Redis may echo in an error.
//!
//! The marker (`M1:<app>:<id>`, see [`crate::keys`]) outlives the 1.x key by
//! [`MARKER_GRACE_SECS`] and is refitted by every run: a session that 2.x killed after an earlier
//! run converted it is never brought back by a later run while the 1.x key is still there.
//!
//! The files, split as the store is (see [`crate::store`]):
//!
//! - this one: the run ([`Migration`]): the servers to scan, the cursor, one batch's `SCAN`
//!   page, and each key's steps 1–3, then the topology's path for step 4;
//! - `single.rs`: a single server or Sentinel (the read-ahead `MGET`s and the atomic script);
//! - `cluster.rs`: Redis Cluster (every primary to scan, and the ordered single-key steps);
//! - `v1.rs`: the 1.x format itself (key name, token rule, value), no I/O;
//! - `report.rs`: what a batch reports and what it never shows ([`Entry`], [`scrub`]);
//! - `types.rs`: the terms the run and both paths share ([`RunSettings`], what became of a key).

use crate::error::{Error, Result};
use crate::reply::{as_bytes, as_int, key, unexpected};
use crate::scripts::SCRIPTS;
use crate::store::MigrationStore;
use crate::validate;
use fred::bytes::Bytes;
use fred::prelude::{ClientLike, Value};
use fred::types::config::Server;
use fred::types::{ClusterHash, CustomCommand};
use futures_util::stream::{self, StreamExt};

mod cluster;
mod report;
mod single;
mod types;
pub mod v1;

pub use report::{scrub, BatchReport, Entry};
pub use types::{RunSettings, MARKER_GRACE_SECS};

use types::{KeyOutcome, Status};
use v1::{check_v1_token, decode_read, parse_v1_key, split_value, V1Value, V1_PATTERN};

/// Largest `batchSize` of `migrateFromV1` (`SCAN COUNT`): a batch's keys are converted
/// concurrently. Exported to JavaScript, which checks the option.
// Named as in JavaScript: napi-derive does not export a const under its `js_name`
// (docs/upstream.md#napi-const-js-name).
#[napi_derive::napi]
pub const MIGRATE_MAX_BATCH_SIZE: u32 = 100_000;

/// `migrateFromV1`'s default `batchSize`. Exported to JavaScript, which applies it.
#[napi_derive::napi]
pub const MIGRATE_DEFAULT_BATCH_SIZE: u32 = 1_000;

/// Keys converted at once by default. Bounded so that a batch never sends a burst of a
/// thousand scripts ahead of the application's own calls on the server.
pub const IN_FLIGHT: usize = 64;

/// Keys in flight: `SPOTS_SESSIONS_MIGRATE_IN_FLIGHT` (1–4096) if set, else [`IN_FLIGHT`].
fn in_flight() -> usize {
    std::env::var("SPOTS_SESSIONS_MIGRATE_IN_FLIGHT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| (1..=4096).contains(n))
        .unwrap_or(IN_FLIGHT)
}

/// How often a key is read again when a 1.x instance changed it between the read and the
/// conversion.
const CHANGED_ATTEMPTS: usize = 5;

/// A run of the migration, on connections of its own (see [`crate::store::SessionStore::dedicated`]).
pub struct Migration {
    /// The run's own store, so that its bursts never queue ahead of the application's calls.
    store: MigrationStore,
    /// The servers to scan, in order, fixed by the first batch: every primary of a Cluster, or
    /// `None` for the one server (or Sentinel master) the connection talks to.
    nodes: tokio::sync::OnceCell<Vec<Option<Server>>>,
}

/// A cursor as the JavaScript layer holds it: `""` (start), or `"<server>:<SCAN cursor>"`.
pub fn parse_cursor(cursor: &str, servers: usize) -> Result<(usize, String)> {
    if cursor.is_empty() {
        return Ok((0, "0".into()));
    }
    let bad = || Error::invalid("cursor", format!("is not a migration cursor: {cursor:?}"));
    let (node, scan) = cursor.split_once(':').ok_or_else(bad)?;
    let node: usize = node.parse().map_err(|_| bad())?;
    if node >= servers || scan.is_empty() || !scan.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    Ok((node, scan.to_string()))
}

/// The cursor after a `SCAN` page on `node` returned `next`.
fn next_cursor(node: usize, next: &str, servers: usize) -> Option<String> {
    if next != "0" {
        Some(format!("{node}:{next}"))
    } else if node + 1 < servers {
        Some(format!("{}:0", node + 1))
    } else {
        None
    }
}

impl Migration {
    /// A run on `store`, which should be a dedicated one ([`crate::store::SessionStore::dedicated`]).
    pub fn new(store: MigrationStore) -> Self {
        Migration {
            store,
            nodes: tokio::sync::OnceCell::new(),
        }
    }

    /// The servers to scan (fixed at the first call): every primary of a Cluster.
    async fn nodes(&self) -> Result<&[Option<Server>]> {
        let nodes = self
            .nodes
            .get_or_try_init(|| async {
                let client = self.store.connection().await?;
                if !self.store.is_cluster() {
                    return Ok::<_, Error>(vec![None]);
                }
                cluster::primaries(&self.store, &client)
            })
            .await?;
        Ok(nodes)
    }

    /// A command on one server to scan (`None`: the connection's own). `SCAN` and `DBSIZE` run
    /// as custom commands on an explicit server: fred's `scan_page` would route by the
    /// pattern's hash slot on Cluster, and the pattern has none.
    async fn on_node(
        &self,
        node: &Option<Server>,
        name: &'static str,
        args: Vec<Value>,
    ) -> Result<Value> {
        let client = self.store.connection().await?;
        let cmd = CustomCommand::new_static(name, ClusterHash::Random, false);
        let reply = match node {
            Some(server) => {
                client
                    .with_cluster_node(server.clone())
                    .custom::<Value, Value>(cmd, args)
                    .await
            }
            None => client.custom::<Value, Value>(cmd, args).await,
        };
        reply.map_err(|e| self.store.map_error(e))
    }

    /// Keys on every server to scan (`DBSIZE`), for an estimate of the time left.
    async fn total_keys(&self, nodes: &[Option<Server>]) -> Result<u64> {
        let mut total = 0;
        for node in nodes {
            let n = self.on_node(node, "DBSIZE", vec![]).await?;
            total += as_int(&n).ok_or_else(|| unexpected("DBSIZE"))?.max(0) as u64;
        }
        Ok(total)
    }

    /// Scans one page from `cursor` and converts the 1.x keys on it. A failure of the batch
    /// itself (the scan, the read-ahead) is [`scrub`]bed: Redis may echo the keys it was given.
    pub async fn step(&self, cursor: &str, opts: RunSettings) -> Result<BatchReport> {
        self.scan_and_convert(cursor, opts)
            .await
            .map_err(|e| e.map_message(|m| scrub(&m, None)))
    }

    /// [`Self::step`] before its errors are scrubbed: checks the batch size, scans the page
    /// on the cursor's server, converts its keys [`in_flight`] at a time and counts what
    /// became of each.
    async fn scan_and_convert(&self, cursor: &str, opts: RunSettings) -> Result<BatchReport> {
        if opts.batch_size == 0 || opts.batch_size > MIGRATE_MAX_BATCH_SIZE {
            return Err(Error::invalid(
                "batchSize",
                format!(
                    "must be 1 to {MIGRATE_MAX_BATCH_SIZE}, got {}",
                    opts.batch_size
                ),
            ));
        }
        let nodes = self.nodes().await?;
        let (node, scan) = parse_cursor(cursor, nodes.len())?;
        let mut report = BatchReport::default();
        if cursor.is_empty() {
            report.total_keys = Some(self.total_keys(nodes).await?);
        }
        let args = vec![
            Value::from(scan),
            Value::from("MATCH"),
            Value::from(V1_PATTERN),
            Value::from("COUNT"),
            Value::from(opts.batch_size as i64),
        ];
        let page = self.on_node(&nodes[node], "SCAN", args).await?;
        let Value::Array(mut page) = page else {
            return Err(unexpected("SCAN"));
        };
        let names = match page.pop() {
            Some(Value::Array(names)) => names,
            _ => return Err(unexpected("SCAN")),
        };
        let next = page
            .first()
            .and_then(as_bytes)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or_else(|| unexpected("SCAN"))?
            .to_string();
        report.cursor = next_cursor(node, &next, nodes.len());
        let names: Vec<Vec<u8>> = names
            .iter()
            .filter_map(|v| as_bytes(v).map(<[u8]>::to_vec))
            .collect();
        report.scanned = names.len() as u64;
        // By index: a closure over `&names` keeps the future's borrow concrete (a closure taking
        // `&Vec<u8>` makes rustc demand a higher-ranked `Send` it cannot prove).
        let names_ref = &names;
        // Read ahead on a single server only: on Redis Cluster the keys lie in different
        // slots, which one `MGET` cannot span.
        let prefetched = if self.store.is_cluster() {
            vec![None; names.len()]
        } else {
            single::prefetch(&self.store, &names).await?
        };
        let outcomes: Vec<_> = stream::iter(prefetched.into_iter().enumerate())
            .map(|(i, value)| self.migrate_key(&names_ref[i], value, opts))
            .buffered(in_flight())
            .collect()
            .await;
        for (name, outcome) in names.iter().zip(outcomes) {
            match outcome {
                Ok((status, deleted)) => {
                    report.deleted += u64::from(deleted);
                    match status {
                        Status::Migrated => report.migrated += 1,
                        Status::Already => report.already += 1,
                        Status::Gone => {}
                        Status::Skipped(reason) => report.skipped.push(Entry::of(name, reason)),
                    }
                }
                Err(e) => report.errors.push(Entry::failed(name, &e)),
            }
        }
        Ok(report)
    }

    /// Converts one 1.x key (see the module docs). `prefetched`: its value from
    /// [`single::prefetch`] (single server only).
    async fn migrate_key(
        &self,
        name: &[u8],
        prefetched: Option<Bytes>,
        opts: RunSettings,
    ) -> Result<KeyOutcome> {
        let v1 = match parse_v1_key(name) {
            Ok(v1) => v1,
            Err(reason) => return Ok((Status::Skipped(reason), false)),
        };
        if let Err(reason) = check_v1_token(v1.token) {
            return Ok((Status::Skipped(reason), false));
        }
        let names = validate::name("app", v1.app)
            .and(validate::name("token", v1.token))
            .and(validate::name("ownerId", v1.owner));
        if let Err(e) = names {
            return Ok((Status::Skipped(e.to_string()), false));
        }
        let mut prefetched = prefetched;
        for _ in 0..CHANGED_ATTEMPTS {
            let read = if let Some(value) = prefetched.take() {
                // Single server: the conversion script reads the TTL itself.
                V1Value {
                    value,
                    duration: 0,
                    pttl: -1,
                }
            } else {
                let read: Vec<Value> = self
                    .store
                    .run_script(&SCRIPTS.v1_read, vec![key(name.to_vec())], vec![])
                    .await?;
                match decode_read(read)? {
                    Ok(Some(read)) => read,
                    Ok(None) => return Ok((Status::Gone, false)),
                    Err(reason) => return Ok((Status::Skipped(reason), false)),
                }
            };
            let fields = match split_value(&read.value) {
                Ok(fields) => fields,
                Err(reason) => return Ok((Status::Skipped(reason), false)),
            };
            let converted = if self.store.is_cluster() {
                Some(cluster::convert(&self.store, name, &v1, &read, &fields, opts).await?)
            } else {
                single::convert(&self.store, name, &v1, &read.value, &fields, opts).await?
            };
            if let Some(outcome) = converted {
                return Ok(outcome);
            }
            // A 1.x instance changed the key since it was read: read it again.
        }
        // A race with a 1.x instance, which no variant names better: kept as a Redis error.
        Err(Error::Redis(format!(
            "the 1.x key changed {CHANGED_ATTEMPTS} times while it was being converted; run the migration again"
        )))
    }

    /// Closes the run's connections.
    pub async fn close(&self) -> Result<()> {
        self.store.quit().await
    }

    /// Closes the run's connections at once (the run was dropped without `close`).
    pub fn disconnect(&self) {
        self.store.disconnect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_walk_every_server_in_turn() {
        assert_eq!(parse_cursor("", 3).unwrap(), (0, "0".into()));
        assert_eq!(parse_cursor("2:123", 3).unwrap(), (2, "123".into()));
        for bad in ["3:0", "x:1", "1", "1:", "1:-4", "0:1a"] {
            assert!(parse_cursor(bad, 3).is_err(), "{bad}");
        }
        assert_eq!(next_cursor(0, "77", 3).as_deref(), Some("0:77"));
        assert_eq!(next_cursor(0, "0", 3).as_deref(), Some("1:0"));
        assert_eq!(next_cursor(2, "0", 3), None);
        assert_eq!(next_cursor(0, "0", 1), None);
    }
}
