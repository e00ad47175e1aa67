//! Redis Cluster redirections (`MOVED`, `ASK`), handled here instead of by fred.
//!
//! fred 10.1.0 follows an `ASK` redirection wrongly in two ways, both written up in
//! `docs/upstream.md`:
//!
//! - [`ASKING` reads an unrelated reply](../../docs/upstream.md#asking-reads-an-unrelated-reply):
//!   `send_asking_with_policy` reads the reply to its `ASKING` off a connection that still has
//!   pipelined replies pending, so every command in flight gets its neighbour's reply;
//! - [an `ASK` is retried on the source node](../../docs/upstream.md#ask-is-retried-on-the-source-node):
//!   `process_ask` never points the retried command at the `ASK` target, so it bounces between
//!   `ASK` and a stray `ASKING` until the redirection budget runs out, and an `ASK` target
//!   without a connection ends the client's router task.
//!
//! Both are avoided without touching fred: the session connection is built with
//! `max_redirections: 0` ([`session_connection`]). fred checks that budget before it sends
//! `ASKING`, so it never sends one outside a transaction and answers a redirected command with
//! a routing error instead; on `MOVED` it still refreshes its slot map first. A redirected
//! command did not run on the server, so [`Redirects::run`] simply sends it again (a `MOVED`
//! one then reaches the new owner). A command redirected twice in a row is most likely being
//! `ASK`ed (its slot is half-migrated and its key is already on the target): it then runs as
//! `MULTI` + the step + `EXEC` on a client of its own ([`fallback_connection`]), because
//! fred's transaction path waits for every reply in flight and sends `ASKING` correctly.
//! Either way the retries are bounded by `commandTimeout`.
//!
//! Remove when fred follows `ASK` correctly: the session connection then keeps fred's default
//! `max_redirections`, and the store sends its steps directly (`evalsha_with_reload`, `custom`).

use std::time::{Duration, Instant};

use fred::error::{Error as FredError, ErrorKind};
use fred::prelude::{
    Client, ClientLike, ConnectionConfig, FromValue, Key, TransactionInterface, Value,
};
use fred::types::scripts::Script;
use fred::types::{ClusterHash, CustomCommand};
use tokio::sync::OnceCell;

use crate::client::build_client;
use crate::config::Settings;

/// The transaction client may follow this many redirections per call: the `ASK` from the
/// source node, then at most a `MOVED` or two if the migration ends meanwhile.
const FALLBACK_REDIRECTIONS: u32 = 5;

/// Consecutive redirections of one call before it takes the transaction path. After a `MOVED`
/// fred has already refreshed its slot map, so one plain retry reaches the right node; a second
/// redirection means the slot is half-migrated (`ASK`), which only a retry with `ASKING` gets
/// through.
const PLAIN_ATTEMPTS: u32 = 2;

/// Pause before a transaction is tried again after it, too, was redirected too often; doubled
/// each time up to [`MAX_BACKOFF`]. The first plain retry and the first transaction go at once.
const FIRST_BACKOFF: Duration = Duration::from_millis(2);
const MAX_BACKOFF: Duration = Duration::from_millis(50);

/// The session connection's settings on Redis Cluster: fred's own redirection handling off.
pub fn session_connection(opts: &Settings) -> ConnectionConfig {
    ConnectionConfig {
        max_redirections: 0,
        ..opts.connection_config()
    }
}

/// The transaction client's settings: fred follows `ASK` and `MOVED` inside a transaction
/// correctly (`router/transactions.rs`), so it may do so there.
pub fn fallback_connection(opts: &Settings) -> ConnectionConfig {
    ConnectionConfig {
        max_redirections: FALLBACK_REDIRECTIONS,
        ..opts.connection_config()
    }
}

/// fred's answer to a redirected command when its redirection budget is spent:
/// `ErrorKind::Routing`, "Too many redirections." (`Command::decr_check_redirections`).
/// Matched by kind first; the wording only tells it from the other routing errors (no
/// connection to any node), which are not redirections and must not be retried here.
pub fn is_redirect_refusal(err: &FredError) -> bool {
    *err.kind() == ErrorKind::Routing && err.details().to_ascii_lowercase().contains("redirection")
}

/// The transaction path's answer when a call kept being redirected: "Max redirections
/// exceeded" (`router/transactions.rs`, `ErrorKind::Unknown`).
fn is_fallback_redirect_refusal(err: &FredError) -> bool {
    is_redirect_refusal(err)
        || (*err.kind() == ErrorKind::Unknown
            && err.details().to_ascii_lowercase().contains("redirections"))
}

/// One single-key cluster step: a script from [`crate::scripts`] or a plain command. The
/// first key is the one that picks the slot.
#[derive(Clone, Copy)]
pub enum Step {
    Script(&'static Script),
    Command(&'static str),
}

impl Step {
    /// Sends the step once on `client`, as it is: what a single server runs, and each attempt
    /// of [`Redirects::run`] on Redis Cluster.
    pub async fn send<R: FromValue>(
        self,
        client: &Client,
        keys: Vec<Key>,
        args: Vec<Value>,
    ) -> std::result::Result<R, FredError> {
        match self {
            Step::Script(script) => script.evalsha_with_reload(client, keys, args).await,
            Step::Command(name) => {
                let mut line: Vec<Value> = keys.into_iter().map(Value::from).collect();
                line.extend(args);
                client
                    .custom(
                        CustomCommand::new_static(name, ClusterHash::FirstKey, false),
                        line,
                    )
                    .await
            }
        }
    }
}

/// Runs cluster steps on the session connection, retrying redirected ones (see the module
/// docs). Owns the transaction client, which is opened only when a call is first `ASK`ed.
pub struct Redirects {
    options: Settings,
    fallback: OnceCell<Client>,
}

impl Redirects {
    /// No connection is opened until a call needs the transaction path.
    pub fn new(options: &Settings) -> Self {
        Redirects {
            options: options.clone(),
            fallback: OnceCell::new(),
        }
    }

    /// Runs `step` on `session` (a client built with [`session_connection`]). A redirected
    /// call is sent again, through a transaction once it has been redirected twice in a row,
    /// until it gets an answer or `commandTimeout` has passed since it started.
    pub async fn run<R: FromValue>(
        &self,
        session: &Client,
        step: Step,
        keys: Vec<Key>,
        args: Vec<Value>,
    ) -> std::result::Result<R, FredError> {
        let started = Instant::now();
        let budget = self.options.command_timeout;
        let mut redirected = 0u32;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let refusal: FredError = if redirected < PLAIN_ATTEMPTS {
                match step.send(session, keys.clone(), args.clone()).await {
                    Err(e) if is_redirect_refusal(&e) => e,
                    other => return other,
                }
            } else {
                match self
                    .transaction(step, keys.clone(), args.clone(), started)
                    .await
                {
                    Err(e) if is_fallback_redirect_refusal(&e) => e,
                    other => return other,
                }
            };
            redirected += 1;
            // The plain retry and the first transaction go at once: each is expected to get
            // through. Only a call that the transaction path could not place either (its slot
            // map is changing under it) waits before trying again.
            let pause = if redirected <= PLAIN_ATTEMPTS {
                Duration::ZERO
            } else {
                backoff
            };
            if started.elapsed() + pause >= budget {
                let last = refusal.details();
                return Err(FredError::new(
                    ErrorKind::Timeout,
                    format!(
                        "the cluster kept redirecting the call for commandTimeout ({} ms; slot migration in progress?): {last}",
                        budget.as_millis()
                    ),
                ));
            }
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    /// `MULTI` + the step + `EXEC` on the transaction client, which sends `ASKING` first when
    /// the source node answers `ASK`. Scripts go as `EVAL`, not `EVALSHA`: inside `EXEC` a
    /// `NOSCRIPT` could not be answered by loading the script and trying again.
    async fn transaction<R: FromValue>(
        &self,
        step: Step,
        keys: Vec<Key>,
        args: Vec<Value>,
        started: Instant,
    ) -> std::result::Result<R, FredError> {
        let client = self.fallback_client(started).await?;
        let slot = keys
            .first()
            .map(|k| fred::util::redis_keyslot(k.as_bytes()))
            .ok_or_else(|| {
                FredError::new(ErrorKind::InvalidArgument, "a cluster step needs a key")
            })?;
        let (name, mut line): (&'static str, Vec<Value>) = match step {
            Step::Script(script) => {
                let lua = script.lua().ok_or_else(|| {
                    FredError::new(ErrorKind::InvalidArgument, "script without its source")
                })?;
                (
                    "EVAL",
                    vec![Value::from(lua.clone()), Value::from(keys.len() as i64)],
                )
            }
            Step::Command(name) => (name, Vec::new()),
        };
        line.extend(keys.into_iter().map(Value::from));
        line.extend(args);
        let trx = client.multi();
        // Answers QUEUED at once; the step's reply comes with EXEC.
        let _: Value = trx
            .custom(
                CustomCommand::new_static(name, ClusterHash::Custom(slot), false),
                line,
            )
            .await?;
        match trx.exec::<Value>(true).await? {
            Value::Array(mut replies) if replies.len() == 1 => R::from_value(replies.remove(0)),
            other => Err(FredError::new(
                ErrorKind::Protocol,
                format!("EXEC of one step answered {:?}", other.kind()),
            )),
        }
    }

    /// The transaction client, connected (within what is left of `commandTimeout`).
    async fn fallback_client(&self, started: Instant) -> std::result::Result<&Client, FredError> {
        let client = self
            .fallback
            .get_or_try_init(|| async {
                let client = build_client(
                    self.options.redis.clone(),
                    &self.options,
                    fallback_connection(&self.options),
                )
                .map_err(|e| FredError::new(ErrorKind::Config, e.to_string()))?;
                drop(client.connect());
                Ok::<_, FredError>(client)
            })
            .await?;
        if !client.is_connected() {
            let left = self
                .options
                .command_timeout
                .saturating_sub(started.elapsed());
            match tokio::time::timeout(left, client.wait_for_connect()).await {
                Ok(result) => result?,
                Err(_) => {
                    return Err(FredError::new(
                        ErrorKind::Timeout,
                        "no connection for a redirected call within commandTimeout",
                    ))
                }
            }
        }
        Ok(client)
    }

    /// Closes the transaction client, if one was opened.
    pub fn close(&self) {
        if let Some(client) = self.fallback.get() {
            let client = client.clone();
            tokio::spawn(async move {
                // Nothing waits for this; an error only means the connection was already gone.
                let _ = client.quit().await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_freds_redirection_refusals_only() {
        let spent = FredError::new(ErrorKind::Routing, "Too many redirections.");
        assert!(is_redirect_refusal(&spent));
        assert!(is_fallback_redirect_refusal(&spent));
        let trx = FredError::new(ErrorKind::Unknown, "Max redirections exceeded");
        assert!(!is_redirect_refusal(&trx));
        assert!(is_fallback_redirect_refusal(&trx));
        // No connection to route to: a connection problem, not a redirection.
        let unroutable =
            FredError::new(ErrorKind::Routing, "Unable to route command or reconnect.");
        assert!(!is_redirect_refusal(&unroutable));
        assert!(!is_fallback_redirect_refusal(&unroutable));
        let reply = FredError::new(ErrorKind::Unknown, "ERR unknown command");
        assert!(!is_fallback_redirect_refusal(&reply));
    }

    #[test]
    fn only_the_session_connection_turns_redirections_off() {
        let opts = Settings::parse(Default::default()).unwrap();
        assert_eq!(session_connection(&opts).max_redirections, 0);
        assert!(fallback_connection(&opts).max_redirections > 0);
        assert_eq!(
            session_connection(&opts).max_command_attempts,
            opts.connection_config().max_command_attempts
        );
    }
}
