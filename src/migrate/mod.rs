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
//! 3. The data is split into fields exactly as `create` splits it ([`split_object`]).
//! 4. Single server: `lua/v1_migrate.lua` converts it atomically, if the key still holds the
//!    value read in step 2 (else steps 2–4 run again): unless the "migrated" marker or the
//!    session exists already, it writes the index entry and the session as `create.lua` does,
//!    with the remaining life rounded to the nearest second; then it writes the marker (or, with
//!    `deleteOld`, deletes the 1.x key and the marker).
//!
//!    Redis Cluster: the 1.x key, the session, its index and the marker live in different slots,
//!    so the same work runs as ordered single-key steps (see [`Migration::convert_cluster`]).
//!
//! A report never holds a 1.x key's name, which holds the raw token: a key that is skipped or
//! fails is reported as `{ app, ownerId, sessionId, reason }` ([`Entry`]), and no reason quotes
//! the session's data or the arguments Redis may echo in an error.
//!
//! The marker (`M1:<app>:<id>`, see [`crate::keys`]) outlives the 1.x key by
//! [`MARKER_GRACE_SECS`] and is refitted by every run: a session that 2.x killed after an earlier
//! run converted it is never brought back by a later run while the 1.x key is still there.

use crate::data::split_object;
use crate::error::{Error, Result};
use crate::keys::{escape, session_id, session_id_text, AppKeys, ORDER_FIELD, OWNER_FIELD};
use crate::reply::{as_bytes, as_int, bytes, flag, key, unexpected};
use crate::scripts::SCRIPTS;
use crate::store::SessionStore;
use crate::text::push_json_string;
use crate::validate;
use fred::bytes::Bytes;
use fred::prelude::{ClientLike, Key, Value};
use fred::types::config::{Server, ServerConfig};
use fred::types::{ClusterHash, CustomCommand};
use futures_util::stream::{self, StreamExt};

pub mod v1;

use v1::{check_v1_token, parse_v1_key, v1_fixed_parts, V1Key, MIN_V1_TOKEN_LEN, V1_PATTERN};

/// How long a "migrated" marker outlives its 1.x key, in seconds: one day. A 1.x instance that
/// is still running can extend the 1.x key (`refresh`) past its marker; two runs less than a
/// day apart still never resurrect a session that 2.x killed in between.
pub const MARKER_GRACE_SECS: u64 = 86_400;

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

/// Keys per `MGET` when the values of a batch are read ahead (single server).
const PREFETCH_CHUNK: usize = 256;

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

/// What one run does.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Count what would happen; write nothing.
    pub dry_run: bool,
    /// Delete each 1.x key once it is converted (or was converted by an earlier run).
    pub delete_old: bool,
    /// `SCAN COUNT`.
    pub batch_size: u32,
}

/// What happened to one key.
#[derive(Debug, PartialEq, Eq)]
enum Status {
    /// Converted by this run (dry run: would be).
    Migrated,
    /// Converted by an earlier run (the marker), or the session exists.
    Already,
    /// The key expired or was deleted since `SCAN` listed it.
    Gone,
    /// Not converted, with the reason.
    Skipped(String),
}

/// One data field as stored: the key and its value's JSON text.
type StoredField = (Vec<u8>, Vec<u8>);

/// The outcome of one key: its status, and whether its 1.x key was (dry run: would be) deleted.
type KeyOutcome = (Status, bool);

/// A 1.x key that was not converted, as a report shows it: never the key's name, which holds
/// the raw token. `None` (JSON `null`) where the name does not fix the part: an ambiguous name
/// has no certain token (so no session id) and perhaps no certain app or owner; a token too
/// short to convert has no session id either, as its id could be reversed by trying every
/// token that short.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The app name (WTF-8).
    pub app: Option<Vec<u8>>,
    /// The owner id (WTF-8).
    pub owner: Option<Vec<u8>>,
    /// The session's public id (`SpotsSessions.sessionIdOf(token)`).
    pub session_id: Option<String>,
    /// Why it was skipped or what failed; never the token or the session's data.
    pub reason: String,
}

impl Entry {
    /// The entry of the key `name`, with what its name says safely, and `reason`.
    fn of(name: &[u8], reason: String) -> Self {
        match parse_v1_key(name) {
            Ok(v1) => Entry {
                app: Some(v1.app.to_vec()),
                owner: Some(v1.owner.to_vec()),
                session_id: (v1.token.len() >= MIN_V1_TOKEN_LEN)
                    .then(|| session_id_text(&session_id(v1.token))),
                reason,
            },
            Err(_) => {
                let (app, owner) = v1_fixed_parts(name);
                Entry {
                    app: app.map(<[u8]>::to_vec),
                    owner: owner.map(<[u8]>::to_vec),
                    session_id: None,
                    reason: format!(
                        "{reason} (the name holds the token, so it is not shown; app and ownerId are given only where the name fixes them)"
                    ),
                }
            }
        }
    }

    /// The entry of the key `name` whose conversion failed with `err`.
    fn failed(name: &[u8], err: &Error) -> Self {
        let token = parse_v1_key(name).ok().map(|v1| v1.token);
        Entry::of(name, scrub(&err.to_string(), token))
    }

    fn push_json(&self, out: &mut String) {
        let part = |out: &mut String, v: Option<&[u8]>| match v {
            Some(bytes) => push_json_string(out, bytes),
            None => out.push_str("null"),
        };
        out.push_str("{\"app\":");
        part(out, self.app.as_deref());
        out.push_str(",\"ownerId\":");
        part(out, self.owner.as_deref());
        out.push_str(",\"sessionId\":");
        part(out, self.session_id.as_deref().map(str::as_bytes));
        out.push_str(",\"reason\":");
        push_json_string(out, self.reason.as_bytes());
        out.push('}');
    }
}

/// Shortest run of a token's characters that [`scrub`] hides.
const SCRUB_RUN: usize = 8;

/// Longest error message a report keeps, in bytes.
const SCRUB_MAX: usize = 1_000;

/// An error message as a report (or a rejection) may show it: Redis's echo of a command's
/// arguments (`…, with args beginning with: '<key>' …`, for a command renamed or disabled on the
/// server) cut off, and every run of [`SCRUB_RUN`] or more bytes that also occurs in `token`
/// replaced by `…`, whatever else quoted it.
pub fn scrub(message: &str, token: Option<&[u8]>) -> String {
    let mut text = message.as_bytes();
    if let Some(at) = find(text, b"with args beginning with") {
        text = &text[..at];
    }
    let text = &text[..text.len().min(SCRUB_MAX)];
    let Some(token) = token.filter(|t| t.len() >= SCRUB_RUN) else {
        return String::from_utf8_lossy(text).into_owned();
    };
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        // The longest run from `i` that occurs in the token.
        let mut len = 0;
        for n in SCRUB_RUN..=(text.len() - i).min(token.len()) {
            if find(token, &text[i..i + n]).is_some() {
                len = n;
            } else {
                break;
            }
        }
        if len > 0 {
            out.extend_from_slice("…".as_bytes());
            i += len;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The report of one batch, merged into the run's report by the JavaScript layer.
#[derive(Debug, Default)]
pub struct BatchReport {
    /// 1.x keys `SCAN` listed in this batch.
    pub scanned: u64,
    /// Converted by this run.
    pub migrated: u64,
    /// Converted before (or the session exists); left as they are.
    pub already: u64,
    /// 1.x keys deleted (`deleteOld`).
    pub deleted: u64,
    /// Keys not converted, with the reason.
    pub skipped: Vec<Entry>,
    /// Keys whose conversion failed (a Redis error), with the message. A later run retries them.
    pub errors: Vec<Entry>,
    /// Where the next batch starts; `None` when every server has been scanned.
    pub cursor: Option<String>,
    /// On the first batch: the number of keys on the scanned servers (`DBSIZE`), for an ETA.
    pub total_keys: Option<u64>,
}

impl BatchReport {
    /// The JSON text the JavaScript layer parses. Written by hand rather than through
    /// `serde_json::Value`, whose strings cannot hold the lone surrogates an app or owner may.
    pub fn to_json(&self) -> String {
        let mut out = format!(
            "{{\"scanned\":{},\"migrated\":{},\"alreadyMigrated\":{},\"deleted\":{}",
            self.scanned, self.migrated, self.already, self.deleted
        );
        for (name, list) in [("skipped", &self.skipped), ("errors", &self.errors)] {
            out.push_str(&format!(",\"{name}\":["));
            for (i, entry) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                entry.push_json(&mut out);
            }
            out.push(']');
        }
        out.push_str(",\"cursor\":");
        match &self.cursor {
            Some(c) => push_json_string(&mut out, c.as_bytes()),
            None => out.push_str("null"),
        }
        out.push_str(",\"totalKeys\":");
        match self.total_keys {
            Some(n) => out.push_str(&n.to_string()),
            None => out.push_str("null"),
        }
        out.push('}');
        out
    }
}

/// A run of the migration, on connections of its own (see [`SessionStore::dedicated`]).
pub struct Migration {
    store: SessionStore,
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

/// The 1.x value read from a key: its JSON text, remaining life in seconds (0: never) and PTTL.
#[derive(Debug)]
struct V1Value {
    value: Bytes,
    duration: u64,
    pttl: i64,
}

/// The reply of `v1_read.lua`: `Ok(None)` when the key is gone, `Err(reason)` when it is not a
/// string.
fn decode_read(reply: Vec<Value>) -> Result<std::result::Result<Option<V1Value>, String>> {
    let kind = reply
        .first()
        .and_then(as_bytes)
        .ok_or_else(|| unexpected("the 1.x read"))?;
    match kind {
        b"none" => Ok(Ok(None)),
        b"string" => {
            let (Some(value), Some(duration), Some(pttl)) = (
                reply.get(1).and_then(as_bytes),
                reply.get(2).and_then(as_int),
                reply.get(3).and_then(as_int),
            ) else {
                return Err(unexpected("the 1.x read"));
            };
            Ok(Ok(Some(V1Value {
                value: Bytes::copy_from_slice(value),
                duration: duration.max(0) as u64,
                pttl,
            })))
        }
        other => Ok(Err(format!(
            "wrong type: a {}, where 1.x stored a string",
            String::from_utf8_lossy(other)
        ))),
    }
}

/// The data fields of a 1.x value, as `create` would store them, or why it cannot be converted.
/// No reason quotes the value: serde's own messages do (`invalid type: string "…"`), so only its
/// syntax messages (fixed texts with a position) are passed on.
fn split_value(value: &[u8]) -> std::result::Result<Vec<StoredField>, String> {
    let text = std::str::from_utf8(value).map_err(|_| "not JSON: not UTF-8 text".to_string())?;
    if let Err(e) = serde_json::from_str::<&serde_json::value::RawValue>(text) {
        return Err(match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("not JSON: {e}")
            }
            _ => format!("not JSON (line {} column {})", e.line(), e.column()),
        });
    }
    let kind = match text.trim_start().as_bytes().first() {
        Some(b'{') => None,
        Some(b'[') => Some("an array"),
        Some(b'"') => Some("a string"),
        Some(b't' | b'f') => Some("a boolean"),
        Some(b'n') => Some("null"),
        _ => Some("a number"),
    };
    if let Some(kind) = kind {
        return Err(format!("data must be a JSON object, got {kind}"));
    }
    // An object: its remaining errors are the documented limits, which quote nothing.
    let fields = split_object(text).map_err(|e| match e {
        Error::InvalidArgument { reason, .. } => format!("data {reason}"),
        other => other.to_string(),
    })?;
    Ok(fields
        .into_iter()
        .map(|(k, v)| (k, v.get().as_bytes().to_vec()))
        .collect())
}

impl Migration {
    /// A run on `store`, which should be a dedicated one ([`SessionStore::dedicated`]).
    pub fn new(store: SessionStore) -> Self {
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
                // One centralized config per primary, from fred's routing table; the clients
                // themselves are never connected: only their server addresses are used.
                let split = client
                    .split_cluster()
                    .map_err(|e| self.store.map_error(e))?;
                let mut servers = Vec::with_capacity(split.len());
                for c in split {
                    if let ServerConfig::Centralized { server } = c.client_config().server {
                        servers.push(Some(server));
                    }
                }
                if servers.is_empty() {
                    // fred's routing table, not a reply decoded here: kept as a Redis error.
                    return Err(Error::Redis("the cluster reported no primary".into()));
                }
                Ok(servers)
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
    pub async fn step(&self, cursor: &str, opts: Options) -> Result<BatchReport> {
        self.scan_and_convert(cursor, opts)
            .await
            .map_err(|e| e.map_message(|m| scrub(&m, None)))
    }

    async fn scan_and_convert(&self, cursor: &str, opts: Options) -> Result<BatchReport> {
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
        let prefetched = self.prefetch(&names).await?;
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

    /// Single server: the values of `names` in a few `MGET`s (`None` for a key that is gone or
    /// not a string, which [`Self::migrate_key`] then reads with its type). Saves a round trip
    /// and a script per key; the conversion script still checks the value it converts.
    async fn prefetch(&self, names: &[Vec<u8>]) -> Result<Vec<Option<Bytes>>> {
        if self.store.is_cluster() {
            return Ok(vec![None; names.len()]);
        }
        let chunks = names.chunks(PREFETCH_CHUNK).map(|chunk| {
            let args = chunk[1..].iter().map(|n| bytes(n)).collect();
            self.store
                .run_command::<Vec<Value>>("MGET", key(chunk[0].clone()), args)
        });
        let mut values = Vec::with_capacity(names.len());
        for chunk in futures_util::future::join_all(chunks).await {
            let chunk = chunk?;
            values.extend(
                chunk
                    .iter()
                    .map(|v| as_bytes(v).map(Bytes::copy_from_slice)),
            );
        }
        if values.len() != names.len() {
            return Err(unexpected("MGET"));
        }
        Ok(values)
    }

    /// Converts one 1.x key (see the module docs). `prefetched`: its value from
    /// [`Self::prefetch`] (single server only).
    async fn migrate_key(
        &self,
        name: &[u8],
        prefetched: Option<Bytes>,
        opts: Options,
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
                Some(
                    self.convert_cluster(name, &v1, &read, &fields, opts)
                        .await?,
                )
            } else {
                self.convert_single(name, &v1, &read.value, &fields, opts)
                    .await?
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

    /// Single server: one atomic script. `None` when the key changed since it was read.
    async fn convert_single(
        &self,
        name: &[u8],
        v1: &V1Key<'_>,
        value: &[u8],
        fields: &[StoredField],
        opts: Options,
    ) -> Result<Option<KeyOutcome>> {
        let keys = AppKeys::new(v1.app);
        let id = session_id(v1.token);
        let escaped_owner = escape(v1.owner);
        let mut args = Vec::with_capacity(7 + 2 * fields.len());
        args.extend([
            bytes(value),
            bytes(&id),
            bytes(OWNER_FIELD),
            bytes(&escaped_owner),
            flag(opts.dry_run),
            flag(opts.delete_old),
            Value::from(MARKER_GRACE_SECS as i64),
            bytes(ORDER_FIELD),
        ]);
        for (k, v) in fields {
            args.push(bytes(k));
            args.push(bytes(v));
        }
        let script_keys = vec![
            key(name.to_vec()),
            key(keys.session(&id)),
            key(keys.index_for_escaped(&escaped_owner)),
            key(keys.v1_marker(&id)),
        ];
        let reply: Vec<Value> = self
            .store
            .run_script(&SCRIPTS.v1_migrate, script_keys, args)
            .await?;
        let status = reply
            .first()
            .and_then(as_bytes)
            .ok_or_else(|| unexpected("the 1.x conversion"))?;
        let deleted = reply.get(1).and_then(as_int) == Some(1);
        let status = match status {
            b"migrated" => Status::Migrated,
            b"already" => Status::Already,
            b"gone" => Status::Gone,
            b"changed" => return Ok(None),
            b"wrongtype" => Status::Skipped("wrong type: no longer a string".into()),
            _ => return Err(unexpected("the 1.x conversion")),
        };
        Ok(Some((status, deleted)))
    }

    /// Redis Cluster: the 1.x key, the session, the index and the marker hash to different
    /// slots, so the conversion runs as single-key steps, in an order that keeps every
    /// guarantee that survives a crash between two steps:
    ///
    /// 1. (done by the caller) read the 1.x key;
    /// 2. `EXISTS` the marker, then the session: either means "converted before";
    /// 3. the index entry (as `create` does on Cluster: the index first), then the session
    ///    (`step_session_create.lua`, which writes nothing if the session exists: a concurrent
    ///    run won);
    /// 4. read the 1.x key again: if a 1.x instance killed it meanwhile, kill the new session
    ///    too; else write the marker from its current TTL;
    /// 5. with `deleteOld`: delete the 1.x key, then the marker.
    ///
    /// A crash after 3 and before 4 leaves a session without a marker: the next run counts it
    /// as already migrated (the session exists) and writes the marker then; only a session
    /// that 2.x kills in that window, before the next run, would be converted again. A crash
    /// inside 3 leaves an index entry without a session, which `killAll` tolerates and pruning
    /// removes. A crash inside 5 leaves a marker without a 1.x key, which expires on its TTL.
    async fn convert_cluster(
        &self,
        name: &[u8],
        v1: &V1Key<'_>,
        read: &V1Value,
        fields: &[StoredField],
        opts: Options,
    ) -> Result<KeyOutcome> {
        let keys = AppKeys::new(v1.app);
        let id = session_id(v1.token);
        let escaped_owner = escape(v1.owner);
        let marker = key(keys.v1_marker(&id));
        let session = key(keys.session(&id));
        let exists = |k: &Key| self.store.run_command::<i64>("EXISTS", k.clone(), vec![]);
        let mut status = if exists(&marker).await? == 1 || exists(&session).await? == 1 {
            Status::Already
        } else {
            Status::Migrated
        };
        if opts.dry_run {
            return Ok((status, opts.delete_old));
        }
        let mut pttl = read.pttl;
        if status == Status::Migrated {
            let index = key(keys.index_for_escaped(&escaped_owner));
            let expiry = self.store.run_index_add(&index, &id, read.duration).await?;
            let mut args = Vec::with_capacity(3 + 2 * fields.len());
            args.extend([
                expiry,
                bytes(OWNER_FIELD),
                bytes(&escaped_owner),
                bytes(ORDER_FIELD),
            ]);
            for (k, v) in fields {
                args.push(bytes(k));
                args.push(bytes(v));
            }
            let created: i64 = self
                .store
                .run_script(&SCRIPTS.session_create, vec![session.clone()], args)
                .await?;
            if created != 1 {
                status = Status::Already;
            }
            let again: Vec<Value> = self
                .store
                .run_script(&SCRIPTS.v1_read, vec![key(name.to_vec())], vec![])
                .await?;
            match decode_read(again)? {
                Ok(Some(now)) => pttl = now.pttl,
                _ => {
                    // Killed (or expired) by 1.x while it was being converted: so is the copy.
                    if created == 1 {
                        self.store.kill(v1.app, v1.token, None).await?;
                    }
                    return Ok((Status::Gone, false));
                }
            }
        }
        if opts.delete_old {
            let _: i64 = self
                .store
                .run_command("DEL", key(name.to_vec()), vec![])
                .await?;
            let _: i64 = self.store.run_command("DEL", marker, vec![]).await?;
            return Ok((status, true));
        }
        let _: i64 = self
            .store
            .run_script(
                &SCRIPTS.v1_mark,
                vec![marker],
                vec![Value::from(pttl), Value::from(MARKER_GRACE_SECS as i64)],
            )
            .await?;
        Ok((status, false))
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

    #[test]
    fn splits_1x_values_or_says_why_not() {
        let fields = split_value(br#"{"a":{"b":[1,2]},"n":12345678901234567890}"#).unwrap();
        assert_eq!(fields[0], (b"a".to_vec(), br#"{"b":[1,2]}"#.to_vec()));
        assert_eq!(fields[1].1, b"12345678901234567890".to_vec());
        assert!(split_value(b"{}").unwrap().is_empty());
        assert!(split_value(b"{not json")
            .unwrap_err()
            .starts_with("not JSON"));
        assert!(split_value(b"\xff").unwrap_err().starts_with("not JSON"));
        for not_object in [&b"null"[..], b"[1]", b"\"s\"", b"3"] {
            let reason = split_value(not_object).unwrap_err();
            assert!(reason.contains("must be a JSON object"), "{reason}");
        }
    }

    #[test]
    fn decodes_reads() {
        let s = |t: &str| Value::String(t.into());
        assert!(matches!(decode_read(vec![s("none")]).unwrap(), Ok(None)));
        let hash = decode_read(vec![s("hash")]).unwrap().unwrap_err();
        assert!(hash.contains("a hash"));
        let read = decode_read(vec![
            s("string"),
            s("{}"),
            Value::Integer(60),
            Value::Integer(59_600),
        ])
        .unwrap()
        .unwrap()
        .unwrap();
        assert_eq!(
            (read.duration, read.pttl, &read.value[..]),
            (60, 59_600, &b"{}"[..])
        );
        assert!(decode_read(vec![s("string")]).is_err());
        assert!(decode_read(vec![]).is_err());
    }

    #[test]
    fn reports_as_json_without_key_names() {
        let report = BatchReport {
            scanned: 3,
            migrated: 1,
            skipped: vec![
                Entry::of(b"app:a\xed\xa0\x80|token:|ownerId:o", "why".into()),
                Entry::of(
                    b"app:a|token:t|token:SECRETSECRET|ownerId:o",
                    "ambiguous".into(),
                ),
            ],
            errors: vec![Entry::of(
                b"app:a|token:SECRETSECRET|ownerId:o",
                "failed".into(),
            )],
            cursor: Some("0:5".into()),
            ..Default::default()
        };
        let text = report.to_json();
        assert!(
            !text.contains("SECRET") && !text.contains("token:"),
            "{text}"
        );
        // A lone surrogate in an app comes out as the escape JSON.parse turns back into it.
        assert!(text.contains(r#""app":"a\ud800""#), "{text}");
        // serde_json refuses lone surrogates, so read the rest without that entry.
        let text = text.replace(r"\ud800", "");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["scanned"], 3);
        assert_eq!(v["alreadyMigrated"], 0);
        assert_eq!(v["skipped"][0]["reason"], "why");
        assert_eq!(v["skipped"][0]["ownerId"], "o");
        // The empty token is too short: no session id, which would reveal it.
        assert!(v["skipped"][0]["sessionId"].is_null());
        assert!(v["skipped"][1]["app"].is_null());
        assert_eq!(v["skipped"][1]["ownerId"], "o");
        assert!(v["skipped"][1]["sessionId"].is_null());
        assert!(v["skipped"][1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("ambiguous (the name holds the token"));
        assert_eq!(
            v["errors"][0]["sessionId"],
            session_id_text(&session_id(b"SECRETSECRET"))
        );
        assert_eq!(v["errors"][0]["reason"], "failed");
        assert_eq!(v["cursor"], "0:5");
        assert!(v["totalKeys"].is_null());
    }

    #[test]
    fn scrubs_echoed_arguments_and_token_runs() {
        let token = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let echoed = "ERR unknown command 'MGET', with args beginning with: 'app:a|token:abcdefghijklmnopqrstuvwxyz0123456789|ownerId:o' ";
        assert_eq!(scrub(echoed, None), "ERR unknown command 'MGET', ");
        let quoted = "ERR something about 'xx abcdefghijklmnopqrst yy' and qrstuvwxyz0123 too";
        let out = scrub(quoted, Some(token));
        assert_eq!(out, "ERR something about 'xx … yy' and … too");
        // Runs shorter than SCRUB_RUN are ordinary words that happen to share letters.
        assert_eq!(scrub("ERR abc", Some(token)), "ERR abc");
        assert_eq!(scrub("plain", Some(b"")), "plain");
        let err = Error::Redis(echoed.into()).map_message(|m| scrub(&m, None));
        assert_eq!(err.code(), crate::error::ErrorCode::Redis);
        assert!(!err.to_string().contains("abcdefgh"));
    }

    #[test]
    fn value_reasons_never_quote_the_data() {
        for (value, needle) in [
            (&br#""secret-data""#[..], "got a string"),
            (b"12345678", "got a number"),
            (b"[\"secret-data\"]", "got an array"),
            (b"true", "got a boolean"),
            (b"null", "got null"),
            (b"{\"a\":\"secret-data\"", "not JSON"),
            (b"{\"a\":secret-data}", "not JSON"),
            (b"\"secret-data", "not JSON"),
        ] {
            let reason = split_value(value).unwrap_err();
            assert!(reason.contains(needle), "{reason}");
            assert!(
                !reason.contains("secret") && !reason.contains("12345678"),
                "{reason}"
            );
        }
    }
}
