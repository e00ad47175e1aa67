//! The 1.x migration on Redis Cluster: the servers to scan are every primary, and a key is
//! converted by ordered single-key steps, since the 1.x key, the session, its index and the
//! marker hash to different slots (see [`convert`]).
//!
//! The single-server path, one atomic script per key, is `single.rs`; the run that picks
//! between them is `mod.rs`.

use fred::prelude::{Client, ClientLike, Key, Value};
use fred::types::config::{Server, ServerConfig};

use super::types::{KeyOutcome, RunSettings, Status, MARKER_GRACE_SECS};
use super::v1::{decode_read, StoredField, V1Key, V1Value};
use crate::error::{Error, Result};
use crate::keys::{escape, session_id, AppKeys, ORDER_FIELD, OWNER_FIELD};
use crate::reply::{bytes, key};
use crate::scripts::SCRIPTS;
use crate::store::MigrationStore;

/// The servers to scan: every primary, from fred's routing table. One centralized config per
/// primary; the clients themselves are never connected: only their server addresses are used.
pub(super) fn primaries(store: &MigrationStore, client: &Client) -> Result<Vec<Option<Server>>> {
    let split = client.split_cluster().map_err(|e| store.map_error(e))?;
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
pub(super) async fn convert(
    store: &MigrationStore,
    name: &[u8],
    v1: &V1Key<'_>,
    read: &V1Value,
    fields: &[StoredField],
    opts: RunSettings,
) -> Result<KeyOutcome> {
    let keys = AppKeys::new(v1.app);
    let id = session_id(v1.token);
    let escaped_owner = escape(v1.owner);
    let marker = key(keys.v1_marker(&id));
    let session = key(keys.session(&id));
    let exists = |k: &Key| store.run_command::<i64>("EXISTS", k.clone(), vec![]);
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
        let expiry = store.run_index_add(&index, &id, read.duration).await?;
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
        let created: i64 = store
            .run_script(&SCRIPTS.session_create, vec![session.clone()], args)
            .await?;
        if created != 1 {
            status = Status::Already;
        }
        let again: Vec<Value> = store
            .run_script(&SCRIPTS.v1_read, vec![key(name.to_vec())], vec![])
            .await?;
        match decode_read(again)? {
            Ok(Some(now)) => pttl = now.pttl,
            _ => {
                // Killed (or expired) by 1.x while it was being converted: so is the copy.
                if created == 1 {
                    store.kill(v1.app, v1.token).await?;
                }
                return Ok((Status::Gone, false));
            }
        }
    }
    if opts.delete_old {
        let _: i64 = store.run_command("DEL", key(name.to_vec()), vec![]).await?;
        let _: i64 = store.run_command("DEL", marker, vec![]).await?;
        return Ok((status, true));
    }
    let _: i64 = store
        .run_script(
            &SCRIPTS.v1_mark,
            vec![marker],
            vec![Value::from(pttl), Value::from(MARKER_GRACE_SECS as i64)],
        )
        .await?;
    Ok((status, false))
}
