//! The session methods on Redis Cluster.
//!
//! A session and its owner index hash to different slots, and no script may touch two slots,
//! so a method that touches both runs single-key steps (the `step_*.lua` scripts of
//! [`crate::scripts`], or plain commands) one after the other. What this path guarantees:
//!
//! - The owner index is always a superset of the live sessions: the index step comes first when
//!   a session is added or extended, the session step first when one is removed, and `killAll`
//!   removes only the index members it read. So `killAll`, `list` and `count` never miss a live
//!   session; a member without a session is left for time (or `kill`/`killAll`) to prune, as it
//!   may be a `create` between its two steps.
//! - Each step is atomic and follows `MOVED` and `ASK` (through
//!   [`crate::upstream::cluster_redirect`], the store's `eval` and `command`); a method as a
//!   whole is not atomic (see each function for what a race can leave).
//! - A step that returns a session's data echoes the key it ran on, and a reply whose echo
//!   names another key is read again, then refused ([`eval_echoed`]): never one caller another's
//!   session.
//!
//! The single-server path, one atomic script per method, is `single.rs`.

use futures_util::stream::{self, StreamExt};

use fred::bytes::Bytes;
use fred::prelude::{Client, Key, Value};
use fred::types::scripts::Script;
use fred::util::redis_keyslot;

use super::decode::decode_session;
use super::{collisions, NewSession, SessionStore, CREATE_ATTEMPTS};
use crate::error::{Error, Result};
use crate::keys::{
    session_id, AppKeys, SessionId, CREATED_FIELD, DEADLINE_FIELD, ORDER_FIELD, OWNER_FIELD,
};
use crate::manage::{self, Listed};
use crate::reply::{as_bytes, as_u64, bytes, flag, key};
use crate::scripts::SCRIPTS;
use crate::upstream::cluster_redirect::Step;
use crate::upstream::HGETALL;

/// A step whose reply echoes its key, and whose echo does not match, is read again this many
/// times in all before the call fails. Since `cluster_redirect` keeps fred from sending
/// `ASKING` on the pipelined connection, replies are no longer handed to the wrong caller; the
/// echo stays as a cheap backstop against ever returning one caller another's session.
const MISMATCH_ATTEMPTS: usize = 2;

/// `create`: the index step (which also reads the server's clock for the creation time and the
/// `maxAge` deadline), then the session step; with `maxSessions`, then [`evict`]. A token that
/// collides with another session leaves the index again and a fresh one is drawn.
pub(super) async fn create(store: &SessionStore, new: &NewSession<'_>) -> Result<String> {
    let (owner, data) = new.fields.split_at(2);
    for _ in 0..CREATE_ATTEMPTS {
        let token = store.token.generate();
        let id = session_id(token.as_bytes());
        let session = key(new.keys.session(&id));
        // The index first, so that it always over-approximates the live sessions.
        let (expiry, now, deadline) = index_add_until(
            store,
            &new.index,
            &id,
            new.seconds,
            new.max_age(),
            "0".into(),
        )
        .await?;
        let mut args = Vec::with_capacity(5 + new.fields.len());
        args.push(expiry);
        args.extend(owner.iter().cloned());
        args.push(bytes(ORDER_FIELD));
        // The reserved fields go in as the first "data" pairs (step_session_create.lua).
        args.extend([bytes(CREATED_FIELD), now]);
        if new.limits.max_age.is_some() {
            args.extend([bytes(DEADLINE_FIELD), deadline]);
        }
        args.extend(data.iter().cloned());
        let created: i64 = store
            .eval(&SCRIPTS.session_create, vec![session.clone()], args)
            .await?;
        if created == 1 {
            if let Some(max) = new.limits.max_sessions {
                evict(store, new.app, &new.escaped_owner, max, &id).await?;
            }
            return Ok(token);
        }
        // A "collision" can be this very call's own write: fred re-sends a command whose reply
        // was lost with its connection, and the re-sent step finds the session the first run
        // created. Its eviction, if any, is left to the next create.
        if store.is_own_write(&session, &new.fields).await? {
            return Ok(token);
        }
        // A real collision: that id is someone else's session, so it must leave our index.
        let _: Value = store
            .eval(
                &SCRIPTS.index_remove,
                vec![new.index.clone()],
                vec![bytes(&id)],
            )
            .await?;
    }
    Err(collisions())
}

/// `refresh`: read the owner and the `maxAge` deadline, extend the index entry, then the
/// session's expiry. A session killed in between is not brought back: `PEXPIREAT` on a missing
/// key is a no-op (`false`).
pub(super) async fn refresh(
    store: &SessionStore,
    keys: &AppKeys,
    id: &SessionId,
    duration: u64,
) -> Result<bool> {
    let session = key(keys.session(id));
    let fields: Vec<Option<Bytes>> = store
        .command(
            "HMGET",
            session.clone(),
            vec![bytes(OWNER_FIELD), bytes(DEADLINE_FIELD)],
        )
        .await?;
    let mut fields = fields.into_iter();
    let (Some(Some(owner)), deadline) = (fields.next(), fields.next().flatten()) else {
        return Ok(false);
    };
    let deadline = deadline.map_or(Value::from("0"), Value::Bytes);
    let index = key(keys.index_for_escaped(&owner));
    let (expiry, _, _) =
        index_add_until(store, &index, id, duration, Value::from(0), deadline).await?;
    let applied: i64 = store.command("PEXPIREAT", session, vec![expiry]).await?;
    Ok(applied == 1)
}

/// `get_refresh`: read the session, extend its index entry, then its expiry; `None` when it
/// was killed between the read and the refresh.
pub(super) async fn get_refresh(
    store: &SessionStore,
    keys: &AppKeys,
    id: &SessionId,
    duration: u64,
) -> Result<Option<String>> {
    let session = keys.session(id);
    let hash: Value = store.command(HGETALL, key(session.clone()), vec![]).await?;
    let (owner, deadline) = {
        let pairs = manage::hash_pairs(&hash)?;
        let owner = manage::field(&pairs, OWNER_FIELD).map(<[u8]>::to_vec);
        let deadline = manage::field(&pairs, DEADLINE_FIELD).map(bytes);
        (owner, deadline.unwrap_or_else(|| Value::from("0")))
    };
    let Some(owner) = owner else {
        // Missing (or malformed, which decode_session reports).
        return decode_session(hash);
    };
    let index = key(keys.index_for_escaped(&owner));
    let (expiry, _, _) =
        index_add_until(store, &index, id, duration, Value::from(0), deadline).await?;
    let applied: i64 = store
        .command("PEXPIREAT", key(session), vec![expiry])
        .await?;
    if applied != 1 {
        return Ok(None); // killed between the read and the refresh
    }
    decode_session(hash)
}

/// `kill`: take the session (delete it, leaving the call's receipt; only when it is
/// `escaped_owner`'s, if given), then remove its index entry: the index may only ever hold too
/// much.
pub(super) async fn kill(
    store: &SessionStore,
    keys: &AppKeys,
    id: &SessionId,
    escaped_owner: Option<&[u8]>,
    (nonce, receipt_ms): (Value, Value),
) -> Result<bool> {
    let session = key(keys.session(id));
    let receipt = key(keys.kill_receipt_in_slot(id, redis_keyslot(session.as_bytes())));
    let args = vec![
        bytes(OWNER_FIELD),
        flag(escaped_owner.is_some()),
        bytes(escaped_owner.unwrap_or_default()),
        nonce,
        receipt_ms,
    ];
    let client = store.ready_client().await?;
    let owner = take_step(store, &client, session, receipt, args)
        .await
        .map_err(|e| store.redis_error(e))?;
    let Some(owner) = owner else {
        return Ok(false);
    };
    let index = key(keys.index_for_escaped(&owner));
    let _: Value = store
        .eval(&SCRIPTS.index_remove, vec![index], vec![bytes(id)])
        .await?;
    Ok(true)
}

/// `killAll`: read the index, take each listed session (each only if it is this owner's), then
/// remove exactly the members whose sessions were taken: a session a racing `create` adds
/// meanwhile stays listed. A step that fails leaves the index listing every session, so a
/// retry finds the ones left.
///
/// The read and the takes are not one atomic step, so a `rotate` can move a session from an id
/// this call read to one it did not: its take of the old id finds nothing, and the new id is
/// listed (and its session written) only after the read. So the index is read again after
/// each pass, and every listed member this call has not killed is tried again, until a read
/// finds none or [`KILL_ALL_PASSES`] passes are done; a pass that changed nothing waits a
/// little first, for a rotation between its steps to finish. In the usual case (no race) the
/// second read finds the index gone and the call ends.
pub(super) async fn kill_all(
    store: &SessionStore,
    keys: &AppKeys,
    escaped_owner: &[u8],
    except: Option<SessionId>,
    (nonce, receipt_ms): (Value, Value),
) -> Result<bool> {
    let index = key(keys.index_for_escaped(escaped_owner));
    let mut killed_any = false;
    let mut killed_ids: std::collections::HashSet<Bytes> = std::collections::HashSet::new();
    for pass in 0..KILL_ALL_PASSES {
        let listed: Vec<Bytes> = store
            .command("ZRANGE", index.clone(), vec![0.into(), (-1).into()])
            .await?;
        // The session to keep is neither deleted nor removed from the index.
        let ids: Vec<Bytes> = listed
            .into_iter()
            .filter(|id| except.as_ref().is_none_or(|keep| &id[..] != keep))
            .filter(|id| !killed_ids.contains(id))
            .collect();
        if ids.is_empty() {
            break;
        }
        if pass > 0 {
            // Members left after a pass are sessions between two steps of a `create` or
            // `rotate` (or stale entries): give those steps a moment to land.
            tokio::time::sleep(KILL_ALL_RETRY_PAUSE * pass).await;
        }
        let killed = take_owned(store, keys, escaped_owner, ids, &nonce, &receipt_ms).await?;
        if killed.is_empty() {
            continue;
        }
        killed_any = true;
        killed_ids.extend(killed.iter().cloned());
        // Only the members whose sessions were deleted leave the index (with, inside the step,
        // members that have expired): a member without a session may be a create between its
        // index step and its session step, whose session must stay findable.
        let members = killed.into_iter().map(Value::Bytes).collect();
        let _: Value = store
            .eval(&SCRIPTS.index_remove, vec![index.clone()], members)
            .await?;
    }
    Ok(killed_any)
}

/// How many times `killAll` reads the index on Cluster (see [`kill_all`]).
const KILL_ALL_PASSES: u32 = 4;

/// The pause before each further pass of `killAll`, multiplied by the pass's number.
const KILL_ALL_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// How many single-session steps (reads or takes) one `list`, `count` or `killAll` has in
/// flight at once on Cluster: an owner with thousands of sessions must not queue thousands of
/// scripts in front of every other call on the connection at once.
const OWNER_STEPS_IN_FLIGHT: usize = 64;

/// Takes each session of `ids` that belongs to `escaped_owner`, [`OWNER_STEPS_IN_FLIGHT`] at a
/// time; returns the ids taken. A failed step fails the whole call, after the others settled
/// (the index still lists every session left, so a retry finds them).
async fn take_owned(
    store: &SessionStore,
    keys: &AppKeys,
    escaped_owner: &[u8],
    ids: Vec<Bytes>,
    nonce: &Value,
    receipt_ms: &Value,
) -> Result<Vec<Bytes>> {
    let client = store.current_client();
    let takes: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let session = key([&keys.session_prefix()[..], &id[..]].concat());
            // An index member that is not an id of ours still gets a receipt in its slot.
            let session_id: SessionId = id[..].try_into().unwrap_or_default();
            let receipt =
                key(keys.kill_receipt_in_slot(&session_id, redis_keyslot(session.as_bytes())));
            let args = vec![
                bytes(OWNER_FIELD),
                flag(true),
                bytes(escaped_owner),
                nonce.clone(),
                receipt_ms.clone(),
            ];
            let client = client.clone();
            async move {
                let taken = take_step(store, &client, session, receipt, args).await;
                taken.map(|t| t.map(|_| id))
            }
        })
        .collect();
    let results: Vec<_> = stream::iter(takes)
        .buffer_unordered(OWNER_STEPS_IN_FLIGHT)
        .collect()
        .await;
    let mut killed = Vec::new();
    let mut failure = None;
    for result in results {
        match result {
            Ok(Some(id)) => killed.push(id),
            Ok(None) => {}
            Err(e) => failure = Some(store.redis_error(e)),
        }
    }
    match failure {
        // Some sessions may be left: the index still lists them all, so a retry finds them.
        Some(err) => Err(err),
        None => Ok(killed),
    }
}

/// `list`: [`live`] with each session's fields. With a `limit`, the sessions are read without
/// their fields first, and only the newest-created `limit` of them are read again with them.
pub(super) async fn list(
    store: &SessionStore,
    keys: &AppKeys,
    escaped_owner: &[u8],
    limit: Option<u32>,
) -> Result<String> {
    let mut sessions = live(store, keys, escaped_owner, limit.is_none()).await?;
    if let Some(limit) = limit {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        // The order of `manage::sort_newest_first`: so that the same sessions are kept.
        sessions.sort_by(|(ia, a), (ib, b)| b.created.cmp(&a.created).then_with(|| ia.cmp(ib)));
        sessions.truncate(limit);
        let prefix = keys.session_prefix();
        let reads: Vec<_> = sessions
            .iter()
            .map(|(id, _)| session_info(store, [&prefix[..], &id[..]].concat(), true))
            .collect();
        let infos: Vec<_> = stream::iter(reads)
            .buffered(OWNER_STEPS_IN_FLIGHT)
            .collect()
            .await;
        let mut read = Vec::with_capacity(sessions.len());
        for ((id, _), info) in sessions.into_iter().zip(infos) {
            // A session killed (or moved to another owner) since the first read is left out.
            match info? {
                Some(info) if info.owner == escaped_owner => read.push((id, info)),
                _ => {}
            }
        }
        sessions = read;
    }
    let listed = sessions
        .into_iter()
        .map(|(id, info)| Listed::new(id, info.expiry, &manage::hash_pairs(&info.fields)?))
        .collect::<Result<Vec<_>>>()?;
    Ok(manage::list_json(listed, limit))
}

/// `count`: how many sessions [`live`] finds.
pub(super) async fn count(
    store: &SessionStore,
    keys: &AppKeys,
    escaped_owner: &[u8],
) -> Result<usize> {
    Ok(live(store, keys, escaped_owner, false).await?.len())
}

/// `rotate`: take the old session (read and delete in one step: the old token is dead at
/// once), list the new id at the old id's score, write the new session with the same fields
/// and expiry, then unlist the old id. A failure after the take logs the user out (the safe
/// direction); the index only ever holds too much.
pub(super) async fn rotate(
    store: &SessionStore,
    keys: &AppKeys,
    old_id: &SessionId,
) -> Result<Option<String>> {
    // A reply meant for another call is read again; if ours was the take, that read finds
    // nothing and the rotation reports "not found": the user is logged out, never mixed up.
    let taken = eval_echoed(
        store,
        &SCRIPTS.session_take_all,
        &keys.session(old_id),
        vec![],
        MISMATCH_ATTEMPTS,
        None,
    )
    .await?;
    let Ok([expiry, hash]) = <[Value; 2]>::try_from(taken) else {
        return Ok(None);
    };
    let pairs = manage::hash_pairs(&hash)?;
    let owner = manage::field(&pairs, OWNER_FIELD)
        .ok_or_else(|| Error::UnexpectedReply("session hash has no valid owner field".into()))?;
    let index = keys.index_for_escaped(owner);
    let mut restore_args = Vec::with_capacity(1 + 2 * pairs.len());
    restore_args.push(expiry.clone());
    for (k, v) in &pairs {
        restore_args.extend([bytes(k), bytes(v)]);
    }
    for _ in 0..CREATE_ATTEMPTS {
        let new_token = store.token.generate();
        let new_id = session_id(new_token.as_bytes());
        // These two steps are sent once: a reply meant for another call fails the rotation
        // (after the take, so the user is logged out, never mixed up), and a restore sent again
        // could not tell its own earlier write from a collision.
        let relist = vec![bytes(old_id), bytes(&new_id), expiry.clone()];
        eval_echoed(store, &SCRIPTS.index_rotate, &index, relist, 1, None).await?;
        let written = eval_echoed(
            store,
            &SCRIPTS.session_restore,
            &keys.session(&new_id),
            restore_args.clone(),
            1,
            Some(1),
        )
        .await?;
        let ok = as_u64(&written[0]) == Some(1);
        let unlist = if ok { old_id } else { &new_id };
        let _: Value = store
            .eval(
                &SCRIPTS.index_remove,
                vec![key(index.clone())],
                vec![bytes(unlist)],
            )
            .await?;
        if ok {
            return Ok(Some(new_token));
        }
    }
    Err(collisions())
}

/// `maxSessions`, after `keep` was created: kills the owner's oldest-created live sessions
/// beyond `max`. Not atomic: logins racing each other may each evict, leaving fewer than `max`
/// for a moment (never more than the calls allowed once all have settled).
async fn evict(
    store: &SessionStore,
    app: &[u8],
    escaped_owner: &[u8],
    max: u32,
    keep: &SessionId,
) -> Result<()> {
    let keys = AppKeys::new(app);
    let mut live = live(store, &keys, escaped_owner, false).await?;
    let Some(extra) = live.len().checked_sub(max as usize).filter(|&n| n > 0) else {
        return Ok(());
    };
    // Oldest first: no creation time (created before it was stored) before any time; the new
    // session last.
    live.sort_by(|(ia, a), (ib, b)| (ia == keep, a.created, ia).cmp(&(ib == keep, b.created, ib)));
    let kills = live[..extra]
        .iter()
        .map(|(id, _)| store.kill_id(app, id, None));
    for killed in futures_util::future::join_all(kills).await {
        killed?;
    }
    Ok(())
}

/// What the read of one session (`step_session_info.lua`) found.
struct Info {
    /// The escaped owner.
    owner: Vec<u8>,
    /// Absolute expiry in ms (`0`: never).
    expiry: u64,
    /// Creation time in ms, when stored.
    created: Option<u64>,
    /// The HGETALL, when asked for.
    fields: Value,
}

/// The live sessions of an owner. Reads the index, then each listed session. A member whose
/// session belongs to another owner is removed from the index; a member without a session is
/// left out but NOT removed: it may be a `create` or `rotate` between its index step and its
/// session step, whose session must stay findable (it is pruned by time, or by
/// `kill`/`killAll`).
async fn live(
    store: &SessionStore,
    keys: &AppKeys,
    escaped_owner: &[u8],
    with_fields: bool,
) -> Result<Vec<(SessionId, Info)>> {
    let index = key(keys.index_for_escaped(escaped_owner));
    let ids: Vec<Bytes> = store
        .command("ZRANGE", index.clone(), vec![0.into(), (-1).into()])
        .await?;
    let prefix = keys.session_prefix();
    let reads: Vec<_> = ids
        .iter()
        .map(|id| session_info(store, [&prefix[..], &id[..]].concat(), with_fields))
        .collect();
    let infos: Vec<_> = stream::iter(reads)
        .buffered(OWNER_STEPS_IN_FLIGHT)
        .collect()
        .await;
    let mut live = Vec::with_capacity(ids.len());
    let mut foreign = Vec::new();
    for (id, info) in ids.iter().zip(infos) {
        match info? {
            Some(info) if info.owner == escaped_owner => {
                live.push((manage::member_id(id)?, info));
            }
            Some(_) => foreign.push(Value::Bytes(id.clone())),
            None => {}
        }
    }
    if !foreign.is_empty() {
        let _: Value = store
            .eval(&SCRIPTS.index_remove, vec![index], foreign)
            .await?;
    }
    Ok(live)
}

/// The read of one session (see `step_session_info.lua`), `None` when it does not exist.
async fn session_info(
    store: &SessionStore,
    session: Vec<u8>,
    with_fields: bool,
) -> Result<Option<Info>> {
    let args = vec![bytes(OWNER_FIELD), bytes(CREATED_FIELD), flag(with_fields)];
    let reply = eval_echoed(
        store,
        &SCRIPTS.session_info,
        &session,
        args,
        MISMATCH_ATTEMPTS,
        None,
    )
    .await?;
    let Ok([owner, expiry, created, fields]) = <[Value; 4]>::try_from(reply) else {
        return Ok(None);
    };
    let (Some(owner), Some(expiry)) = (as_bytes(&owner), as_u64(&expiry)) else {
        return Err(Error::UnexpectedReply(
            "malformed session info reply".into(),
        ));
    };
    Ok(Some(Info {
        owner: owner.to_vec(),
        expiry,
        created: as_u64(&created),
        fields,
    }))
}

/// The index step: lists (or re-scores) `id` in `index` for `duration` seconds, capped by the
/// deadline `now + max_age` (a new session) or `deadline` (ms; an existing one). Returns the
/// expiry (ms, `"0"`: never), the server's clock and the deadline (`"0"`: none). Re-scoring is
/// safe to repeat, so a reply meant for another call is read again.
pub(super) async fn index_add_until(
    store: &SessionStore,
    index: &Key,
    id: &[u8],
    duration: u64,
    max_age: Value,
    deadline: Value,
) -> Result<(Value, Value, Value)> {
    let args = vec![bytes(id), Value::from(duration as i64), max_age, deadline];
    let reply = eval_echoed(
        store,
        &SCRIPTS.index_add_until,
        index.as_bytes(),
        args,
        MISMATCH_ATTEMPTS,
        Some(3),
    )
    .await?;
    let [expiry, now, deadline] = <[Value; 3]>::try_from(reply).map_err(|_| mismatch())?;
    Ok((expiry, now, deadline))
}

/// Runs `script`, a step on the one key `key` whose reply is an array that starts with that
/// key (its echo), up to `attempts` times while the reply is not this call's: its echo names
/// another key, or it does not have `items` items after the echo (when given). Returns the
/// items after the echo; after `attempts` replies that were not this call's, fails.
async fn eval_echoed(
    store: &SessionStore,
    script: &'static Script,
    key_name: &[u8],
    args: Vec<Value>,
    attempts: usize,
    items: Option<usize>,
) -> Result<Vec<Value>> {
    for _ in 0..attempts {
        let mut reply: Vec<Value> = store
            .eval(script, vec![key(key_name.to_vec())], args.clone())
            .await?;
        let echoed = reply.first().and_then(as_bytes) == Some(key_name);
        if echoed && items.is_none_or(|n| reply.len() == n + 1) {
            reply.remove(0);
            return Ok(reply);
        }
    }
    Err(mismatch())
}

fn mismatch() -> Error {
    Error::UnexpectedReply(
        "replies from the cluster did not match their requests (slot migration in progress); try again".into(),
    )
}

/// The session-take step (`step_session_take.lua`) with this call's kill receipt, in the
/// session's slot. While that slot is being migrated, Redis refuses a script whose keys are
/// not all on the same side (`TRYAGAIN`), and the new receipt key is on neither; the step then
/// runs on the session key alone. The kill happens either way; only a re-send of it after a lost
/// reply, during the migration, could then report `false` (the receipt is what tells it).
/// fred's error comes back unmapped, so that the fallback can look at it.
async fn take_step(
    store: &SessionStore,
    client: &Client,
    session: Key,
    receipt: Key,
    args: Vec<Value>,
) -> std::result::Result<Option<Bytes>, fred::error::Error> {
    super::durable::record_slot(session.as_bytes());
    let step = Step::Script(&SCRIPTS.session_take);
    let with_receipt = store
        .run_step(client, step, vec![session.clone(), receipt], args.clone())
        .await;
    match with_receipt {
        Err(e) if is_try_again(&e) => store.run_step(client, step, vec![session], args).await,
        other => other,
    }
}

/// Redis's refusal of a multi-key command while its slot is being migrated and its keys are
/// not all on one side (`TRYAGAIN`). Unlike a redirection, waiting does not help until the
/// migration of that slot ends.
fn is_try_again(err: &fred::error::Error) -> bool {
    err.details().starts_with("TRYAGAIN")
}
