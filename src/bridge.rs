//! The one place where Rust results reach JavaScript: batched completions.
//!
//! Every call carries an id chosen by the JavaScript layer, which keeps the call's resolver in a
//! table. When a call finishes on a tokio thread its outcome is pushed onto this instance's
//! queue; only the push that finds the queue idle schedules a wake-up of the JS thread (one
//! threadsafe-function call), and that wake-up hands *every* queued outcome to JavaScript in one
//! flat array `[id, tag, value, id, tag, value, …]`. Under load one wake-up settles hundreds of
//! calls, and no call creates its own threadsafe function or N-API async work.
//!
//! Tags: `0` resolve with `value` (a string, number, boolean, `null` or Buffer); `1` a `get`
//! result, `value` is `[owner, data]` JSON text or `null` (not found); `2` reject, `value` is
//! `"<code>:<message>"`; `3`/`4` resolve with the nested reply encoded in the Buffer `value`
//! (see [`crate::reply`]), decoding its strings as text (`3`) or as Buffers (`4`); `5` (id `0`)
//! a connection event for the `client`.

use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::{Buffer, Either6, Function, Null};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};

use crate::error::Error;
use crate::reply::Reply;

/// What a finished call resolves or rejects with.
#[derive(Debug)]
pub enum Outcome {
    /// Resolve with a string (a token, or `'OK'`).
    Text(String),
    /// Resolve with a boolean.
    Bool(bool),
    /// A `get`: the `[owner, data]` JSON text, or `None` for "not found".
    Session(Option<String>),
    /// A `client` command's reply; `true` when its strings should arrive as Buffers.
    Reply(Reply, bool),
    /// A connection event for the `client` (delivered with id 0): `ready`, `error:<detail>`,
    /// `end`.
    Event(String),
    /// Reject.
    Failed(Error),
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

/// One element of the flat batch array handed to JavaScript.
pub type Item = Either6<u32, f64, String, bool, Null, Buffer>;

#[derive(Default)]
struct Queue {
    items: Vec<(u32, Outcome)>,
    /// A wake-up is pending: later pushes ride along with it.
    scheduled: bool,
}

type Tsfn = ThreadsafeFunction<(), (), Vec<Item>, Status, false, true>;

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

/// Reply bytes as a JS string: UTF-8, invalid sequences replaced (what ioredis's
/// `buffer.toString()` does); the `*Buffer` variants exist for binary data.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn flatten(items: Vec<(u32, Outcome)>) -> Vec<Item> {
    let mut flat = Vec::with_capacity(items.len() * 3);
    for (id, outcome) in items {
        flat.push(Either6::A(id));
        let (tag, value) = match outcome {
            Outcome::Text(s) => (0, Either6::C(s)),
            Outcome::Bool(b) => (0, Either6::D(b)),
            Outcome::Session(Some(json)) => (1, Either6::C(json)),
            Outcome::Session(None) => (1, Either6::E(Null)),
            Outcome::Failed(err) => (2, Either6::C(format!("{}:{err}", err.code()))),
            Outcome::Reply(reply, buffers) => match reply {
                Reply::Nil => (0, Either6::E(Null)),
                Reply::Number(n) => (0, Either6::B(n)),
                Reply::Text(bytes) if buffers => (0, Either6::F(bytes.into())),
                Reply::Text(bytes) => (0, Either6::C(text(bytes))),
                Reply::Encoded(bytes) => (if buffers { 4 } else { 3 }, Either6::F(bytes.into())),
            },
            Outcome::Event(text) => (5, Either6::C(text)),
        };
        flat.push(Either6::A(tag));
        flat.push(value);
    }
    flat
}

impl Bridge {
    /// Wraps the JavaScript function that settles a batch. The threadsafe function starts
    /// unreferenced: an idle instance never keeps Node alive.
    pub fn new(on_batch: Function<'_, Vec<Item>, ()>) -> napi::Result<Self> {
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
                Ok(flatten(items))
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
        let flat = flatten(vec![
            (1, Outcome::Text("tok".into())),
            (2, Outcome::Bool(true)),
            (3, Outcome::Session(None)),
            (4, Outcome::Failed(Error::Closed)),
        ]);
        assert_eq!(flat.len(), 12);
        assert!(matches!(flat[0], Either6::A(1)));
        assert!(matches!(&flat[2], Either6::C(s) if s == "tok"));
        assert!(matches!(flat[5], Either6::D(true)));
        assert!(matches!(flat[7], Either6::A(1)));
        assert!(matches!(flat[8], Either6::E(Null)));
        assert!(matches!(&flat[11], Either6::C(s) if s.starts_with("ERR_CLOSED:")));
    }
}
