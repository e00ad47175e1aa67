//! The N-API surface: a thin `NativeSessions` class that converts arguments, checks them, and
//! hands the work to [`SessionStore`] on the tokio runtime. Results come back only through the
//! instance's [`Bridge`]. The public `SpotsSessions` class is the JavaScript layer in `index.js`.
//! [`describe_connection`] tells that layer how to build the `client` (an ioredis instance).

use std::future::Future;
use std::sync::Arc;

use napi::bindgen_prelude::{Function, ObjectFinalize};
use napi::{Env, JsString, Status};
use napi_derive::napi;

use crate::bridge::{Batch, Bridge, Notice, Outcome};
use crate::config::Settings;
use crate::connection;
use crate::dispatch::Dispatcher;
use crate::error::{Error, ErrorCode, Result};
use crate::events::EventSink;
use crate::keys::{parse_session_id, session_id, session_id_text};
use crate::manage::CreateLimits;
use crate::migrate::{Migration, RunSettings};
use crate::options::SessionsOptions;
use crate::store::durable::Durable;
use crate::store::{CallKey, SessionStore};
use crate::text::{may_be_lossy, wtf8_from_utf16};
use crate::{runtime, validate};

/// The native half of `SpotsSessions`. Each method takes the call id that the JavaScript layer
/// uses to settle the call's Promise when the outcome arrives through the batch callback.
#[napi(custom_finalize)]
pub struct NativeSessions {
    /// Everything the instance holds natively; `None` once [`NativeSessions::release`] (or the
    /// finalizer) has dropped it.
    open: Option<Open>,
    runtime: &'static tokio::runtime::Runtime,
}

/// The native half proper: fred's client with its buffers, channels and tasks, the completion
/// bridge (its threadsafe function) and the dispatcher task, about [`NATIVE_BYTES`] in all.
struct Open {
    store: Arc<SessionStore>,
    /// The `durability` option's confirmations, when set: writes resolve once replicas have them.
    durable: Option<Arc<Durable>>,
    bridge: Arc<Bridge>,
    dispatcher: Dispatcher,
}

/// A JavaScript string as bytes, losslessly (WTF-8): strings that differ stay different.
fn name_bytes(s: JsString) -> napi::Result<Vec<u8>> {
    let utf8 = s.into_utf8()?;
    if !may_be_lossy(utf8.as_slice()) {
        return Ok(utf8.take());
    }
    let utf16 = utf8.into_value().into_utf16()?;
    let units = utf16.as_slice();
    // The N-API buffer ends with a NUL terminator that is not part of the string.
    let units = units.strip_suffix(&[0]).unwrap_or(units);
    Ok(wtf8_from_utf16(units))
}

/// A name argument (`app`, `ownerId`, `token`, `exceptToken`) as bytes. Reading it can fail only
/// in N-API (thrown); a name that is too long is the call's rejection, so it is returned inside.
fn read_name(field: &'static str, s: JsString) -> napi::Result<Result<Vec<u8>>> {
    let bytes = name_bytes(s)?;
    Ok(validate::name(field, &bytes).map(|()| bytes))
}

/// Both checked arguments, or the first failure (in argument order, as before).
fn both<A, B>(a: Result<A>, b: Result<B>) -> Result<(A, B)> {
    Ok((a?, b?))
}

/// Checked arguments followed by the optional `ownerId` of `kill`, checked after them.
fn with_owner<A>(
    args: Result<A>,
    owner_id: Option<JsString>,
) -> napi::Result<Result<(A, Option<Vec<u8>>)>> {
    let owner = owner_id
        .map(|owner| read_name("ownerId", owner))
        .transpose()?;
    Ok(args.and_then(|args| Ok((args, owner.transpose()?))))
}

fn to_napi(err: Error) -> napi::Error {
    napi::Error::new(Status::InvalidArg, err.to_string())
}

/// What a call is addressed by, for [`NativeSessions::server_for`]: which of its names picks
/// its Redis Cluster node.
#[napi]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A token (`get`, `refresh`, `update`, `kill`, `rotate`): the session's key.
    Token = 0,
    /// A session id (`kill({ sessionId })`): the session's key.
    SessionId = 1,
    /// An owner (`create`, `killAll`, `list`, `count`): the owner's index.
    Owner = 2,
}

/// A server's address in [`NativeConnection`] and [`NativeSessions::server_for`].
#[napi(object, object_from_js = false)]
pub struct ServerAddress {
    pub host: String,
    pub port: u32,
}

/// Where and how a set of options connects (see [`connection::describe`]): what `index.js`
/// builds the `client`, an ioredis instance, from.
#[napi(object, object_from_js = false)]
pub struct NativeConnection {
    /// `'single'`, `'unix'`, `'sentinel'` or `'cluster'`.
    pub kind: String,
    /// The server (`single`), the sentinels (`sentinel`) or the seed nodes (`cluster`).
    pub nodes: Vec<ServerAddress>,
    /// The socket path (`unix`).
    pub path: Option<String>,
    /// The master group name (`sentinel`).
    pub name: Option<String>,
    /// Whether TLS is on.
    pub tls: bool,
    /// ACL user name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Database number.
    pub db: Option<u32>,
}

/// Parses `options` exactly as the constructor does and describes the connection they name.
/// Throws on the same bad options as the constructor.
#[napi]
pub fn describe_connection(options: SessionsOptions) -> napi::Result<NativeConnection> {
    let options = Settings::parse(options).map_err(to_napi)?;
    let c = connection::describe(&options.redis);
    Ok(NativeConnection {
        kind: c.kind.as_str().to_string(),
        nodes: c
            .nodes
            .into_iter()
            .map(|(host, port)| ServerAddress {
                host,
                port: u32::from(port),
            })
            .collect(),
        path: c.path,
        name: c.name,
        tls: c.tls,
        username: c.username,
        password: c.password,
        db: c.db.map(u32::from),
    })
}

impl NativeSessions {
    /// The native half, or a thrown `Closed` error once it was released. `index.js` drops its
    /// reference when it releases, so it never calls a method afterwards.
    fn open(&self) -> napi::Result<&Open> {
        self.open.as_ref().ok_or_else(|| to_napi(Error::Closed))
    }

    /// [`dispatch`](Self::dispatch) for a call that creates, changes or removes sessions: with
    /// the `durability` option it resolves only once replicas confirmed its write (see
    /// [`crate::store::durable`]).
    fn dispatch_write<A, T, F>(
        &self,
        id: u32,
        args: Result<A>,
        work: impl FnOnce(Arc<SessionStore>, A) -> F,
    ) -> napi::Result<()>
    where
        T: Into<Outcome> + Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        match &self.open()?.durable {
            None => self.dispatch(id, args, work),
            Some(durable) => {
                let durable = Arc::clone(durable);
                self.dispatch(id, args, move |store, args| {
                    let write = work(store, args);
                    async move { durable.write(write).await }
                })
            }
        }
    }

    /// Runs the call's work on the runtime, with its checked arguments, and delivers its
    /// outcome; arguments that failed their checks are delivered as the rejection at once, so
    /// bad arguments never reach Redis.
    fn dispatch<A, T, F>(
        &self,
        id: u32,
        args: Result<A>,
        work: impl FnOnce(Arc<SessionStore>, A) -> F,
    ) -> napi::Result<()>
    where
        T: Into<Outcome>,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let open = self.open()?;
        let bridge = Arc::clone(&open.bridge);
        match args {
            Err(err) => bridge.complete(id, Outcome::Failed(err)),
            Ok(args) => {
                let work = work(Arc::clone(&open.store), args);
                let call = Box::pin(async move {
                    let outcome = work.await.into();
                    bridge.complete(id, outcome);
                });
                if open.dispatcher.submit(call).is_err() {
                    // Only while the process shuts down; the call must still settle.
                    open.bridge.complete(
                        id,
                        Outcome::Failed(Error::Connection("the runtime is shutting down".into())),
                    );
                }
            }
        }
        Ok(())
    }

    /// Closes the connection (a no-op after `quit` or `disconnect`) and drops the native half;
    /// whether it was still there.
    ///
    /// What is dropped here is freed at once, not at the wrapper's collection: calls still in
    /// flight and the eviction watcher hold clones of the store and the bridge and let go of
    /// them when they end, and the bridge's threadsafe function is released with its last clone.
    fn close(&mut self) -> bool {
        let Some(open) = self.open.take() else {
            return false;
        };
        open.disconnect(self.runtime);
        drop(open);
        true
    }
}

impl Open {
    /// Closes the sessions connection and the confirmations' one at once (fred's `disconnect`
    /// needs the runtime entered). Calls in flight reject with `ERR_CLOSED`.
    fn disconnect(&self, runtime: &tokio::runtime::Runtime) {
        let _entered = runtime.enter();
        self.store.disconnect();
        if let Some(durable) = &self.durable {
            durable.disconnect();
        }
    }
}

/// About what one instance holds natively (fred's client with its buffers and channels, the
/// bridge, the dispatcher), reported to V8 as external memory. The JavaScript wrapper is tiny, so
/// without this V8 sees no reason to collect dropped instances, and thousands of them would pile
/// up between collections.
const NATIVE_BYTES: i64 = 48 * 1024;

impl ObjectFinalize for NativeSessions {
    /// Closes an instance that was never released (dropped without `quit()` or `disconnect()`)
    /// and returns its share of external memory (`release` returned it already otherwise).
    fn finalize(mut self, env: Env) -> napi::Result<()> {
        if self.close() {
            // Fails only while the environment is torn down, when it no longer matters.
            let _ = env.adjust_external_memory(-NATIVE_BYTES);
        }
        Ok(())
    }
}

impl Drop for NativeSessions {
    /// An instance that is never quit (a worker that exits, an environment torn down) still
    /// closes its connections instead of leaving them, and their reconnect loops, behind.
    fn drop(&mut self) {
        self.close();
    }
}

#[napi]
impl NativeSessions {
    /// Validates the options and starts connecting in the background; never waits for Redis.
    #[napi(
        constructor,
        ts_args_type = "options: SessionsOptions, onBatch: (meta: Uint32Array, payloads: Array<string | Notice>) => void"
    )]
    pub fn new(
        env: Env,
        options: SessionsOptions,
        on_batch: Function<'_, Batch, ()>,
    ) -> napi::Result<Self> {
        let options = Settings::parse(options).map_err(to_napi)?;
        let runtime = runtime::get().map_err(to_napi)?;
        let bridge = Arc::new(Bridge::new(on_batch)?);
        // Connection events reach JavaScript as id-0 completions (see crate::events).
        let events: EventSink = {
            let bridge = Arc::clone(&bridge);
            Arc::new(move |event| bridge.complete(0, Outcome::Event(event)))
        };
        let store = {
            let _entered = runtime.enter();
            SessionStore::connect_observed(&options, Some(events)).map_err(to_napi)?
        };
        let store = Arc::new(store);
        let durable = match options.durability {
            Some(settings) => {
                let _entered = runtime.enter();
                Some(Arc::new(
                    Durable::connect(&options, settings).map_err(to_napi)?,
                ))
            }
            None => None,
        };
        let warnings = Arc::clone(&bridge);
        {
            let _entered = runtime.enter();
            store.watch_eviction_policy(move |warning| {
                let notice = Notice::warning(ErrorCode::EvictionWarning, warning);
                warnings.complete(0, Outcome::Warning(notice));
            });
        }
        env.adjust_external_memory(NATIVE_BYTES)?;
        Ok(NativeSessions {
            open: Some(Open {
                store,
                durable,
                bridge,
                dispatcher: Dispatcher::start(runtime),
            }),
            runtime,
        })
    }

    /// Starts `create`; resolves to the new token. `max_age` and `max_sessions` are the
    /// session management options (`maxAge`, `maxSessions`).
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &self,
        id: u32,
        app: JsString,
        owner_id: JsString,
        data: String,
        duration: Option<f64>,
        max_age: Option<f64>,
        max_sessions: Option<f64>,
    ) -> napi::Result<()> {
        let (app, owner) = (read_name("app", app)?, read_name("ownerId", owner_id)?);
        let args = (|| {
            let (app, owner) = (app?, owner?);
            let duration = duration.map(validate::duration).transpose()?;
            let limits = CreateLimits {
                max_age: max_age
                    .map(|secs| validate::max_age(secs, duration))
                    .transpose()?,
                max_sessions: max_sessions.map(validate::max_sessions).transpose()?,
            };
            Ok((app, owner, duration, limits))
        })();
        self.dispatch_write(
            id,
            args,
            |store, (app, owner, duration, limits)| async move {
                store.create(&app, &owner, &data, duration, limits).await
            },
        )
    }

    /// Starts `get`; resolves to `[owner, data]` JSON text or `null`.
    #[napi]
    pub fn get(&self, id: u32, app: JsString, token: JsString) -> napi::Result<()> {
        let args = both(read_name("app", app)?, read_name("token", token)?);
        self.dispatch(id, args, |store, (app, token)| async move {
            store.get(&app, &token).await
        })
    }

    /// Starts `refresh`; resolves to whether the session existed.
    #[napi]
    pub fn refresh(
        &self,
        id: u32,
        app: JsString,
        token: JsString,
        duration: f64,
    ) -> napi::Result<()> {
        let names = both(read_name("app", app)?, read_name("token", token)?);
        let args = names.and_then(|names| Ok((names, validate::duration(duration)?)));
        self.dispatch(id, args, |store, ((app, token), duration)| async move {
            store.refresh(&app, &token, duration).await
        })
    }

    /// Starts `update`; resolves to whether the session existed.
    #[napi]
    pub fn update(
        &self,
        id: u32,
        app: JsString,
        token: JsString,
        data: String,
    ) -> napi::Result<()> {
        let args = both(read_name("app", app)?, read_name("token", token)?);
        self.dispatch_write(id, args, |store, (app, token)| async move {
            store.update(&app, &token, &data).await
        })
    }

    /// Starts `kill`; resolves to whether the session existed (and, with `owner_id`, was that
    /// owner's: another owner's session is left alone).
    #[napi]
    pub fn kill(
        &self,
        id: u32,
        app: JsString,
        token: JsString,
        owner_id: Option<JsString>,
    ) -> napi::Result<()> {
        let names = both(read_name("app", app)?, read_name("token", token)?);
        let args = with_owner(names, owner_id)?;
        self.dispatch_write(id, args, |store, ((app, token), owner)| async move {
            store.kill(&app, &token, owner.as_deref()).await
        })
    }

    /// Starts `killAll`; resolves to whether at least one session was killed. The session of
    /// `except_token`, when given, is kept.
    #[napi]
    pub fn kill_all(
        &self,
        id: u32,
        app: JsString,
        owner_id: JsString,
        except_token: Option<JsString>,
    ) -> napi::Result<()> {
        let names = both(read_name("app", app)?, read_name("ownerId", owner_id)?);
        let except = except_token
            .map(|token| read_name("exceptToken", token))
            .transpose()?;
        let args = names.and_then(|names| {
            let except = except.transpose()?.map(|token| session_id(&token));
            Ok((names, except))
        });
        self.dispatch_write(id, args, |store, ((app, owner), except)| async move {
            store.kill_all(&app, &owner, except).await
        })
    }

    /// Starts closing the connection gracefully; resolves to `'OK'`.
    #[napi]
    pub fn quit(&self, id: u32) -> napi::Result<()> {
        let durable = self.open()?.durable.clone();
        self.dispatch(id, Ok(()), |store, ()| async move {
            let (sessions, confirmations) = futures_util::future::join(store.quit(), async {
                match &durable {
                    Some(durable) => durable.quit().await,
                    None => Ok(()),
                }
            })
            .await;
            sessions.and(confirmations).map(|()| "OK".to_string())
        })
    }

    /// Closes the connection at once, without waiting for replies.
    #[napi]
    pub fn disconnect(&self) {
        if let Some(open) = &self.open {
            open.disconnect(self.runtime);
        }
    }

    /// Drops the native half now rather than when the wrapper is collected; `index.js` calls it
    /// once the instance is closed (`quit()` settled, or `disconnect()`) and then drops its
    /// reference. Otherwise fred's client, its tasks and buffers (about [`NATIVE_BYTES`]) would
    /// wait for V8's next full collection, which a loop of `new` + `quit()` that allocates
    /// little JavaScript puts off for thousands of instances: tens of megabytes at once, which
    /// the allocator then keeps as resident memory.
    #[napi]
    pub fn release(&mut self, env: Env) {
        if self.close() {
            // As in `finalize`: fails only while the environment is torn down.
            let _ = env.adjust_external_memory(-NATIVE_BYTES);
        }
    }

    /// Whether calls are in flight: keeps Node's event loop alive only while they are.
    #[napi]
    pub fn set_active(&self, env: Env, active: bool) -> napi::Result<()> {
        match &self.open {
            Some(open) => open.bridge.set_active(&env, active),
            None => Ok(()),
        }
    }

    /// Starts `list`; resolves to the JSON text `[[sessionId, createdAt, expiresAt, data], …]`:
    /// at most `limit` sessions (the newest-created) when given.
    #[napi]
    pub fn list(
        &self,
        id: u32,
        app: JsString,
        owner_id: JsString,
        limit: Option<f64>,
    ) -> napi::Result<()> {
        let names = both(read_name("app", app)?, read_name("ownerId", owner_id)?);
        let args =
            names.and_then(|names| Ok((names, limit.map(validate::list_limit).transpose()?)));
        self.dispatch(id, args, |store, ((app, owner), limit)| async move {
            store.list(&app, &owner, limit).await
        })
    }

    /// Starts `count`; resolves to the number of live sessions as decimal text.
    #[napi]
    pub fn count(&self, id: u32, app: JsString, owner_id: JsString) -> napi::Result<()> {
        let args = both(read_name("app", app)?, read_name("ownerId", owner_id)?);
        self.dispatch(id, args, |store, (app, owner)| async move {
            store.count(&app, &owner).await
        })
    }

    /// Starts `kill` addressed by session id (see [`session_id_of`]); with `owner_id`, only a
    /// session of that owner is killed.
    #[napi]
    pub fn kill_session_id(
        &self,
        id: u32,
        app: JsString,
        session_id: String,
        owner_id: Option<JsString>,
    ) -> napi::Result<()> {
        let parsed = parse_session_id(session_id.as_bytes()).ok_or_else(|| {
            Error::invalid(
                "sessionId",
                "must be a session id from sessionIdOf() or list() (22 base64url characters)",
            )
        });
        let args = with_owner(both(read_name("app", app)?, parsed), owner_id)?;
        self.dispatch_write(id, args, |store, ((app, sid), owner)| async move {
            store.kill_id(&app, &sid, owner.as_deref()).await
        })
    }

    /// Starts `get` with `refresh`; resolves as `get`.
    #[napi]
    pub fn get_refresh(
        &self,
        id: u32,
        app: JsString,
        token: JsString,
        refresh: f64,
    ) -> napi::Result<()> {
        let names = both(read_name("app", app)?, read_name("token", token)?);
        let args = names.and_then(|names| Ok((names, validate::seconds("refresh", refresh)?)));
        self.dispatch(id, args, |store, ((app, token), refresh)| async move {
            store.get_refresh(&app, &token, refresh).await
        })
    }

    /// The server that serves a call on `app` addressed by `name` (a token, session id or
    /// owner, as `kind` says), for the call's trace (`spots-sessions:call`): on Redis Cluster
    /// the primary of the call's key slot in the current slot map, elsewhere the server of the
    /// last ready connection (or the configured one). `null` when not known (no slot map yet,
    /// Sentinel before its first connection, a unix socket, a released instance). Never
    /// touches Redis; the names are only hashed, never kept.
    #[napi]
    pub fn server_for(
        &self,
        app: JsString,
        kind: KeyKind,
        name: JsString,
    ) -> napi::Result<Option<ServerAddress>> {
        let Some(open) = &self.open else {
            return Ok(None);
        };
        let server = if open.store.is_cluster() {
            let (app, name) = (name_bytes(app)?, name_bytes(name)?);
            match kind {
                KeyKind::Token => open.store.server_for(&app, CallKey::Token(&name)),
                KeyKind::Owner => open.store.server_for(&app, CallKey::Owner(&name)),
                KeyKind::SessionId => match parse_session_id(&name) {
                    Some(id) => open.store.server_for(&app, CallKey::SessionId(&id)),
                    None => None,
                },
            }
        } else {
            // Any name: the one server serves every call.
            open.store.server_for(&[], CallKey::Owner(&[]))
        };
        Ok(server.map(|s| ServerAddress {
            host: s.host.to_string(),
            port: u32::from(s.port),
        }))
    }

    /// Starts `rotate`; resolves to the new token, or `undefined` when not found.
    #[napi]
    pub fn rotate(&self, id: u32, app: JsString, token: JsString) -> napi::Result<()> {
        let args = both(read_name("app", app)?, read_name("token", token)?);
        self.dispatch_write(id, args, |store, (app, token)| async move {
            Ok(match store.rotate(&app, &token).await? {
                Some(token) => Outcome::Text(token),
                // A `Session` completion with null resolves to `undefined`, as `get` does for
                // "not found".
                None => Outcome::Session(None),
            })
        })
    }

    /// Starts a 1.x migration run on connections of its own (see [`crate::migrate`]); the
    /// JavaScript layer drives it batch by batch and closes it.
    #[napi]
    pub fn migrate_v1(&self) -> napi::Result<NativeMigration> {
        let open = self.open()?;
        let store = {
            let _entered = self.runtime.enter();
            open.store.dedicated().map_err(to_napi)?
        };
        Ok(NativeMigration {
            migration: Arc::new(Migration::new(store)),
            bridge: Arc::clone(&open.bridge),
            runtime: self.runtime,
        })
    }
}

/// One run of the 1.x migration. Its calls settle through the `NativeSessions` instance's
/// bridge, with ids from that instance's table.
#[napi]
pub struct NativeMigration {
    migration: Arc<Migration>,
    bridge: Arc<Bridge>,
    runtime: &'static tokio::runtime::Runtime,
}

impl NativeMigration {
    fn spawn<T: Into<Outcome>>(
        &self,
        id: u32,
        work: impl Future<Output = Result<T>> + Send + 'static,
    ) {
        let bridge = Arc::clone(&self.bridge);
        // Batches are few and large: a task of their own, outside the per-call dispatcher.
        self.runtime.spawn(async move {
            let outcome = work.await.into();
            bridge.complete(id, outcome);
        });
    }
}

#[napi]
impl NativeMigration {
    /// Scans and converts one batch from `cursor` (`""`: the start); resolves to the batch's
    /// report as JSON text (see [`crate::migrate::BatchReport`]).
    #[napi]
    pub fn step(&self, id: u32, cursor: String, dry_run: bool, delete_old: bool, batch_size: u32) {
        let migration = Arc::clone(&self.migration);
        let opts = RunSettings {
            dry_run,
            delete_old,
            batch_size,
        };
        self.spawn(id, async move {
            migration.step(&cursor, opts).await.map(|r| r.to_json())
        });
    }

    /// Closes the run's connections; resolves to `'OK'`.
    #[napi]
    pub fn close(&self, id: u32) {
        let migration = Arc::clone(&self.migration);
        self.spawn(id, async move {
            migration.close().await.map(|()| "OK".to_string())
        });
    }
}

impl Drop for NativeMigration {
    /// A run that is dropped without `close` (its promise abandoned) still closes its
    /// connections.
    fn drop(&mut self) {
        let _entered = self.runtime.enter();
        self.migration.disconnect();
    }
}

/// The public id of the session that `token` opens (`SpotsSessions.sessionIdOf`): 22 base64url
/// characters, safe to log or show; it opens nothing by itself.
#[napi]
pub fn session_id_of(token: JsString) -> napi::Result<String> {
    Ok(session_id_text(&session_id(&name_bytes(token)?)))
}
