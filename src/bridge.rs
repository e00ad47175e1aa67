//! The one place where Rust results reach JavaScript: batched completions.
//!
//! Every call carries an id chosen by the JavaScript layer, which keeps the call's resolver in a
//! table. When a call finishes on a tokio thread its outcome is pushed onto this instance's
//! queue; only the push that finds the queue idle schedules a wake-up of the JS thread (one
//! threadsafe-function call), and that wake-up hands *every* queued outcome to JavaScript at
//! once, as two arguments: a `Uint32Array` of `[id, tag, code, id, tag, code, …]` and an array
//! of the values that are not a constant (`code` 0: `false`, 1: `true`, 2: `null`, `4 + k`:
//! `values[k]`). Under load one wake-up settles hundreds of calls with a handful of N-API calls
//! (booleans cost none), and no call creates its own threadsafe function or N-API async work.
//!
//! Tags: `0` resolve with `value` (a string or boolean); `1` a `get` result, `value` is
//! `[owner, data]` JSON text or `null` (not found); `2` reject, `value` is `"<code>:<message>"`;
//! `3` (id `0`, no call) a warning about the server's configuration, `value` is its text.

use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::{FnArgs, Function, Uint32Array};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};

use crate::error::Error;

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
    Warning(String),
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

/// A completion value that is not one of the constant codes: always text.
pub type Value = String;

/// What one wake-up hands to the JavaScript batch callback.
pub type Batch = FnArgs<(Uint32Array, Vec<Value>)>;

/// Value codes in the `Uint32Array` (`VALUE_BASE + k` is `values[k]`).
const FALSE: u32 = 0;
const TRUE: u32 = 1;
const NULL: u32 = 2;
const VALUE_BASE: u32 = 4;

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
fn flatten(items: Vec<(u32, Outcome)>) -> (Vec<u32>, Vec<Value>) {
    let mut meta = Vec::with_capacity(items.len() * 3);
    let mut values = Vec::new();
    let mut push = |value: Value| {
        values.push(value);
        // A batch never approaches 2^32 values.
        VALUE_BASE + (values.len() as u32 - 1)
    };
    for (id, outcome) in items {
        let (tag, code) = match outcome {
            Outcome::Text(s) => (0, push(s)),
            Outcome::Bool(b) => (0, if b { TRUE } else { FALSE }),
            Outcome::Session(Some(json)) => (1, push(json)),
            Outcome::Session(None) => (1, NULL),
            Outcome::Failed(err) => (2, push(format!("{}:{err}", err.code()))),
            Outcome::Warning(text) => (3, push(text)),
        };
        meta.extend_from_slice(&[id, tag, code]);
    }
    (meta, values)
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
                let (meta, values) = flatten(items);
                Ok(FnArgs::from((Uint32Array::new(meta), values)))
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

    #[test]
    fn flatten_encodes_each_outcome() {
        let (meta, values) = flatten(vec![
            (1, Outcome::Text("tok".into())),
            (2, Outcome::Bool(true)),
            (3, Outcome::Session(None)),
            (4, Outcome::Failed(Error::Closed)),
            (5, Outcome::Bool(false)),
        ]);
        assert_eq!(
            meta,
            vec![1, 0, 4, 2, 0, TRUE, 3, 1, NULL, 4, 2, 5, 5, 0, FALSE]
        );
        assert_eq!(values.len(), 2);
        assert_eq!(values[0], "tok");
        assert!(values[1].starts_with("ERR_CLOSED:"));
    }
}
