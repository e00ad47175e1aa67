//! The session methods on a single server (or Sentinel, which hands the store one server).
//!
//! What this path guarantees: every method is one Redis round trip, one Lua script from
//! [`crate::scripts`] that touches all of the method's keys (the session, its owner index, its
//! kill receipt) at once, so each method is atomic: no other call ever sees a session without
//! its index entry or an index entry added before its session. Scripts go by `EVALSHA`, loaded
//! again on `NOSCRIPT`. `get` and `update`, single-key on every topology, are in `mod.rs`; the
//! Redis Cluster path, which cannot put two slots in one script, is `cluster.rs`.

use fred::prelude::{FromValue, Value};
use fred::types::scripts::Script;

use super::decode::decode_session;
use super::{collisions, NewSession, SessionStore, CREATE_ATTEMPTS};
use crate::error::Result;
use crate::keys::{
    session_id, AppKeys, SessionId, CREATED_FIELD, DEADLINE_FIELD, ORDER_FIELD, OWNER_FIELD,
};
use crate::manage;
use crate::reply::{bytes, flag, key};
use crate::scripts::SCRIPTS;

/// `create`: `create.lua` writes the session, lists it in the owner's index and applies
/// `maxAge` and `maxSessions`, or reports that the drawn token is taken (then a fresh one is
/// drawn).
pub(super) async fn create(store: &SessionStore, new: &NewSession<'_>) -> Result<String> {
    let duration = Value::from(new.seconds as i64);
    let (owner, data) = new.fields.split_at(2);
    for _ in 0..CREATE_ATTEMPTS {
        let token = store.token.generate();
        let id = session_id(token.as_bytes());
        let session = key(new.keys.session(&id));
        // create.lua's layout: id, duration, owner field and owner, then the order field and
        // the management arguments, then the data pairs.
        let mut args = Vec::with_capacity(8 + new.fields.len());
        args.push(bytes(&id));
        args.push(duration.clone());
        args.extend(owner.iter().cloned());
        args.extend([
            bytes(ORDER_FIELD),
            bytes(CREATED_FIELD),
            bytes(DEADLINE_FIELD),
            new.max_age(),
            Value::from(new.limits.max_sessions.unwrap_or(0) as i64),
            bytes(&new.keys.session_prefix()),
        ]);
        args.extend(data.iter().cloned());
        let created: i64 = store
            .eval(
                &SCRIPTS.create,
                vec![session.clone(), new.index.clone()],
                args,
            )
            .await?;
        // A "collision" can be this very call's own write: fred re-sends a command whose reply
        // was lost with its connection, and the re-sent script finds the session the first run
        // created.
        if created == 1 || store.is_own_write(&session, &new.fields).await? {
            return Ok(token);
        }
    }
    Err(collisions())
}

/// `refresh`: `refresh.lua` sets the session's expiry (capped by its `maxAge` deadline) and its
/// index entry's together.
pub(super) async fn refresh(
    store: &SessionStore,
    keys: &AppKeys,
    id: &SessionId,
    duration: u64,
) -> Result<bool> {
    let refreshed: i64 = eval_refresh(store, &SCRIPTS.refresh, keys, id, duration).await?;
    Ok(refreshed == 1)
}

/// `get_refresh`: `get_refresh.lua` is `refresh.lua` answering with the session's hash.
pub(super) async fn get_refresh(
    store: &SessionStore,
    keys: &AppKeys,
    id: &SessionId,
    duration: u64,
) -> Result<Option<String>> {
    let reply: Value = eval_refresh(store, &SCRIPTS.get_refresh, keys, id, duration).await?;
    decode_session(reply)
}

/// `refresh.lua` or `get_refresh.lua`, which take the same keys and arguments.
async fn eval_refresh<R: FromValue + Send>(
    store: &SessionStore,
    script: &'static Script,
    keys: &AppKeys,
    id: &SessionId,
    duration: u64,
) -> Result<R> {
    let args = vec![
        bytes(id),
        Value::from(duration as i64),
        bytes(OWNER_FIELD),
        bytes(&keys.index_prefix()),
        bytes(DEADLINE_FIELD),
    ];
    store.eval(script, vec![key(keys.session(id))], args).await
}

/// `kill`: `kill.lua` deletes the session and its index entry (only when it is
/// `escaped_owner`'s, if given), and leaves the call's receipt (so that fred's re-send of it
/// after a lost reply still answers `true`).
pub(super) async fn kill(
    store: &SessionStore,
    keys: &AppKeys,
    id: &SessionId,
    escaped_owner: Option<&[u8]>,
    (nonce, receipt_ms): (Value, Value),
) -> Result<bool> {
    let session = key(keys.session(id));
    let receipt = key(keys.kill_receipt(id));
    let args = vec![
        bytes(id),
        bytes(OWNER_FIELD),
        bytes(&keys.index_prefix()),
        nonce,
        receipt_ms,
        bytes(escaped_owner.unwrap_or_default()),
    ];
    let killed: i64 = store
        .eval(&SCRIPTS.kill, vec![session, receipt], args)
        .await?;
    Ok(killed == 1)
}

/// `killAll`: `kill_all.lua` deletes every session the owner's index lists (each only if it
/// is that owner's) but `except`, and the index with them.
pub(super) async fn kill_all(
    store: &SessionStore,
    keys: &AppKeys,
    escaped_owner: &[u8],
    except: Option<SessionId>,
    (nonce, receipt_ms): (Value, Value),
) -> Result<bool> {
    let index = key(keys.index_for_escaped(escaped_owner));
    let receipt = key(keys.kill_all_receipt(escaped_owner));
    let args = vec![
        bytes(&keys.session_prefix()),
        bytes(OWNER_FIELD),
        bytes(escaped_owner),
        except.as_ref().map_or(Value::from(""), |id| bytes(id)),
        nonce,
        receipt_ms,
    ];
    let killed: i64 = store
        .eval(&SCRIPTS.kill_all, vec![index, receipt], args)
        .await?;
    Ok(killed > 0)
}

/// `list`: `list.lua` reads every session the index lists, pruning dead entries; with a
/// `limit`, it returns the fields of the newest-created ones only.
pub(super) async fn list(
    store: &SessionStore,
    keys: &AppKeys,
    escaped_owner: &[u8],
    limit: Option<u32>,
) -> Result<String> {
    let mut args = list_args(keys, escaped_owner, true);
    args.extend([Value::from(limit.unwrap_or(0)), bytes(CREATED_FIELD)]);
    let reply: Value = store
        .eval(
            &SCRIPTS.list,
            vec![key(keys.index_for_escaped(escaped_owner))],
            args,
        )
        .await?;
    Ok(manage::list_json(manage::decode_list(&reply)?, limit))
}

/// `count`: `list.lua` without the sessions' fields.
pub(super) async fn count(
    store: &SessionStore,
    keys: &AppKeys,
    escaped_owner: &[u8],
) -> Result<usize> {
    let ids: Vec<Value> = store
        .eval(
            &SCRIPTS.list,
            vec![key(keys.index_for_escaped(escaped_owner))],
            list_args(keys, escaped_owner, false),
        )
        .await?;
    Ok(ids.len())
}

/// The arguments of `list.lua`; `with_fields`: return each session's fields, not only its id.
fn list_args(keys: &AppKeys, escaped_owner: &[u8], with_fields: bool) -> Vec<Value> {
    vec![
        bytes(&keys.session_prefix()),
        bytes(OWNER_FIELD),
        bytes(escaped_owner),
        flag(with_fields),
    ]
}

/// `rotate`: `rotate.lua` renames the session to a fresh token's key and re-lists it at the
/// same score, or reports that the drawn token is taken (then a fresh one is drawn).
pub(super) async fn rotate(
    store: &SessionStore,
    keys: &AppKeys,
    old_id: &SessionId,
) -> Result<Option<String>> {
    let old = keys.session(old_id);
    for _ in 0..CREATE_ATTEMPTS {
        let new_token = store.token.generate();
        let new_id = session_id(new_token.as_bytes());
        let args = vec![
            bytes(old_id),
            bytes(&new_id),
            bytes(OWNER_FIELD),
            bytes(&keys.index_prefix()),
        ];
        let moved: i64 = store
            .eval(
                &SCRIPTS.rotate,
                vec![key(old.clone()), key(keys.session(&new_id))],
                args,
            )
            .await?;
        match moved {
            1 => return Ok(Some(new_token)),
            -1 => return Ok(None),
            _ => continue, // the new token's key is taken: draw again
        }
    }
    Err(collisions())
}
