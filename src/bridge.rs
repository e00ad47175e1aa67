//! The one place where Rust results reach JavaScript: batched completions.
//!
//! Every call carries an id chosen by the JavaScript layer, which keeps the call's resolver in a
//! table. When a call finishes on a tokio thread its outcome is pushed onto this instance's
//! queue; only the push that finds the queue idle schedules a wake-up of the JS thread (one
//! threadsafe-function call), and that wake-up hands *every* queued outcome to JavaScript at
//! once, as two arguments: a `Uint32Array` of `[id, tag, code, id, tag, code, …]` and an array
//! of the payloads that are not a constant ([`ValueCode`]: `false`, `true`, `null`, or
//! `ValueCode.FirstPayload + k` for `payloads[k]`). Under load one wake-up settles hundreds of
//! calls with a handful of N-API calls (booleans cost none), and no call creates its own
//! threadsafe function or N-API async work.
//!
//! Tags ([`Completion`], exported to JavaScript with the value codes, so `index.js` keeps no
//! numbers of its own): `Value` resolves with a string or boolean; `Session` is a `get` result,
//! `[owner, data]` JSON text or `null` (not found); `Failure` rejects with a [`Notice`]
//! (`{ code, message }`); `Warning` (id `0`, no call) is a [`Notice`] about the server's
//! configuration, for `process.emitWarning`; `Event` (id `0`, no call) is a
//! [`ConnectionEvent`], for the `spots-sessions:connection:*` channels ([`crate::events`]).

use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::{Either3, FnArgs, Function, Uint32Array};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;

use crate::error::{Error, ErrorCode};
use crate::events::ConnectionEvent;

/// The kind of each completion in a batch (its `tag`).
#[napi]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Resolve with the value (a string or boolean).
    Value = 0,
    /// A `get` result: `[owner, data]` JSON text, or `null` for "not found".
    Session = 1,
    /// Reject with the [`Notice`].
    Failure = 2,
    /// Not a call's outcome (id 0): a [`Notice`] for `process.emitWarning`.
    Warning = 3,
    /// Not a call's outcome (id 0): a [`ConnectionEvent`] to publish on its channel.
    Event = 4,
}

/// The value code of each completion in a batch: a constant, or an index into the payloads.
#[napi]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueCode {
    /// `false`.
    False = 0,
    /// `true`.
    True = 1,
    /// `null`.
    Null = 2,
    /// `FirstPayload + k` is `payloads[k]`.
    FirstPayload = 4,
}

/// An error or warning as it crosses to JavaScript: its stable code and its message.
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub code: ErrorCode,
    pub message: String,
    /// `ERR_REDIS_DURABILITY`: how many replicas acknowledged the write.
    pub acknowledged: Option<u32>,
}

impl Notice {
    /// A warning (no call's failure).
    pub fn warning(code: ErrorCode, message: String) -> Self {
        Notice {
            code,
            message,
            acknowledged: None,
        }
    }
}

impl From<&crate::error::Error> for Notice {
    fn from(err: &crate::error::Error) -> Self {
        Notice {
            code: err.code(),
            message: err.to_string(),
            acknowledged: err.acknowledged(),
        }
    }
}

/// What a finished call resolves or rejects with.
#[derive(Debug)]
pub enum Outcome {
    /// Resolve with a string (a token, or `'OK'`).
    Text(String),
    /// Resolve with a boolean.
    Bool(bool),
    /// A `get`: the `[owner, data]` JSON text, or `None` for "not found".
    Session(Option<String>),
    /// Reject.
    Failed(Error),
    /// Not a call's outcome: a warning for `process.emitWarning` (delivered with id 0).
    Warning(Notice),
    /// Not a call's outcome: a connection event (delivered with id 0).
    Event(ConnectionEvent),
}

impl<T: Into<Outcome>> From<crate::error::Result<T>> for Outcome {
    fn from(r: crate::error::Result<T>) -> Self {
        r.map_or_else(Outcome::Failed, Into::into)
    }
}

impl From<String> for Outcome {
    fn from(s: String) -> Self {
        Outcome::Text(s)
    }
}

impl From<bool> for Outcome {
    fn from(b: bool) -> Self {
        Outcome::Bool(b)
    }
}

impl From<Option<String>> for Outcome {
    fn from(s: Option<String>) -> Self {
        Outcome::Session(s)
    }
}

/// A completion value that is not one of the constant codes: text, an error or warning, or a
/// connection event.
pub type Payload = Either3<String, Notice, ConnectionEvent>;

/// What one wake-up hands to the JavaScript batch callback.
pub type Batch = FnArgs<(Uint32Array, Vec<Payload>)>;

#[derive(Default)]
struct Queue {
    items: Vec<(u32, Outcome)>,
    /// A wake-up is pending: later pushes ride along with it.
    scheduled: bool,
}

type Tsfn = ThreadsafeFunction<(), (), Batch, Status, false, true>;

/// The completion channel of one instance.
pub struct Bridge {
    queue: Arc<Mutex<Queue>>,
    tsfn: Mutex<Tsfn>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them inconsistent (they guard plain
    // pushes and swaps), so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The two arrays of one batch (see the module docs).
fn flatten(items: Vec<(u32, Outcome)>) -> (Vec<u32>, Vec<Payload>) {
    let mut meta = Vec::with_capacity(items.len() * 3);
    let mut payloads = Vec::new();
    let mut push = |payload: Payload| {
        payloads.push(payload);
        // A batch never approaches 2^32 payloads.
        ValueCode::FirstPayload as u32 + (payloads.len() as u32 - 1)
    };
    for (id, outcome) in items {
        let bool_code = |b| if b { ValueCode::True } else { ValueCode::False } as u32;
        let (tag, code) = match outcome {
            Outcome::Text(s) => (Completion::Value, push(Either3::A(s))),
            Outcome::Bool(b) => (Completion::Value, bool_code(b)),
            Outcome::Session(Some(json)) => (Completion::Session, push(Either3::A(json))),
            Outcome::Session(None) => (Completion::Session, ValueCode::Null as u32),
            Outcome::Failed(err) => (Completion::Failure, push(Either3::B(Notice::from(&err)))),
            Outcome::Warning(notice) => (Completion::Warning, push(Either3::B(notice))),
            Outcome::Event(event) => (Completion::Event, push(Either3::C(event))),
        };
        meta.extend_from_slice(&[id, tag as u32, code]);
    }
    (meta, payloads)
}

impl Bridge {
    /// Wraps the JavaScript function that settles a batch. The threadsafe function starts
    /// unreferenced: an idle instance never keeps Node alive.
    pub fn new(on_batch: Function<'_, Batch, ()>) -> napi::Result<Self> {
        let queue = Arc::new(Mutex::new(Queue::default()));
        let drained = Arc::clone(&queue);
        let tsfn = on_batch
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(move |_ctx| {
                let items = {
                    let mut q = lock(&drained);
                    q.scheduled = false;
                    std::mem::take(&mut q.items)
                };
                let (meta, payloads) = flatten(items);
                Ok(FnArgs::from((Uint32Array::new(meta), payloads)))
            })?;
        Ok(Bridge {
            queue,
            tsfn: Mutex::new(tsfn),
        })
    }

    /// Delivers a call's outcome. Callable from any thread.
    pub fn complete(&self, id: u32, outcome: Outcome) {
        let wake = {
            let mut q = lock(&self.queue);
            q.items.push((id, outcome));
            !std::mem::replace(&mut q.scheduled, true)
        };
        if wake {
            // Fails only while Node tears the environment down, when nobody waits any more.
            let _ = lock(&self.tsfn).call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// Keeps the event loop alive while calls are in flight (`true`), and lets it exit when
    /// the instance is idle (`false`). Called by the JS layer on the 0↔1 in-flight transitions.
    #[allow(deprecated)] // refer/unref are the only safe wrappers of napi_(un)ref_threadsafe_function.
    pub fn set_active(&self, env: &Env, active: bool) -> napi::Result<()> {
        let mut tsfn = lock(&self.tsfn);
        if active {
            tsfn.refer(env)
        } else {
            tsfn.unref(env)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;

    #[test]
    fn flatten_encodes_each_outcome() {
        let (meta, payloads) = flatten(vec![
            (1, Outcome::Text("tok".into())),
            (2, Outcome::Bool(true)),
            (3, Outcome::Session(None)),
            (4, Outcome::Failed(Error::Closed)),
            (5, Outcome::Bool(false)),
            (
                0,
                Outcome::Event(ConnectionEvent::new(EventKind::Ready, None)),
            ),
        ]);
        let (value, session, failure, event) = (0, 1, 2, 4);
        let (f, t, null) = (0, 1, 2);
        assert_eq!(
            meta,
            vec![
                1, value, 4, 2, value, t, 3, session, null, 4, failure, 5, 5, value, f, 0, event, 6
            ]
        );
        assert_eq!(payloads.len(), 3);
        assert!(matches!(&payloads[0], Either3::A(s) if s == "tok"));
        assert!(matches!(
            &payloads[1],
            Either3::B(Notice { code: ErrorCode::Closed, message, .. }) if message.starts_with("Connection is closed")
        ));
        assert!(matches!(&payloads[2], Either3::C(e) if e.event == "ready"));
    }
}
