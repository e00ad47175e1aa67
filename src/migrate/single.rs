//! The 1.x migration on a single server, or Sentinel: a batch's values are read ahead in a few
//! `MGET`s, and each key is converted by one atomic script (`lua/v1_migrate.lua`), which checks
//! that the key still holds the value read.
//!
//! The Redis Cluster path, ordered single-key steps, is `cluster.rs`; the run that picks
//! between them is `mod.rs`.

use fred::bytes::Bytes;
use fred::prelude::Value;

use super::types::{KeyOutcome, RunSettings, Status, MARKER_GRACE_SECS};
use super::v1::{StoredField, V1Key};
use crate::error::Result;
use crate::keys::{escape, session_id, AppKeys, ORDER_FIELD, OWNER_FIELD};
use crate::reply::{as_bytes, as_int, bytes, flag, key, unexpected};
use crate::scripts::SCRIPTS;
use crate::store::MigrationStore;

/// Keys per `MGET` when the values of a batch are read ahead.
const PREFETCH_CHUNK: usize = 256;

/// Single server: the values of `names` in a few `MGET`s (`None` for a key that is gone or
/// not a string, which [`super::Migration`] then reads with its type). Saves a round trip
/// and a script per key; the conversion script still checks the value it converts.
pub(super) async fn prefetch(
    store: &MigrationStore,
    names: &[Vec<u8>],
) -> Result<Vec<Option<Bytes>>> {
    let chunks = names.chunks(PREFETCH_CHUNK).map(|chunk| {
        let args = chunk[1..].iter().map(|n| bytes(n)).collect();
        store.run_command::<Vec<Value>>("MGET", key(chunk[0].clone()), args)
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

/// Single server: one atomic script. `None` when the key changed since it was read.
pub(super) async fn convert(
    store: &MigrationStore,
    name: &[u8],
    v1: &V1Key<'_>,
    value: &[u8],
    fields: &[StoredField],
    opts: RunSettings,
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
    let reply: Vec<Value> = store
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
