//! The store as the one-off 1.x migration ([`crate::migrate`]) sees it: [`MigrationStore`], a
//! store of its own whose few doors are named for what the migration does with them.
//!
//! The migration needs more than the session methods (the connection for its `SCAN`s, single
//! scripts and commands, the Cluster index step of `create`) and less than the whole store. Its
//! doors are kept here, apart from the session methods in `mod.rs`, so that the store reads as
//! the store and what the migration may touch is listed in one place.

use fred::prelude::{Client, FromValue, Key, Value};
use fred::types::scripts::Script;

use super::{cluster, SessionStore};
use crate::error::{Error, Result};

/// A store with connections of its own, for one migration run: its bursts of `SCAN`s and
/// scripts never queue in front of the application's session calls. Made by
/// [`SessionStore::dedicated`].
pub struct MigrationStore {
    store: SessionStore,
}

impl SessionStore {
    /// A second store with connections of its own to the same Redis, with the same settings,
    /// for the one-off 1.x migration ([`crate::migrate`]): its bursts of `SCAN`s and scripts
    /// then never queue in front of the application's session calls on this store's
    /// connection. Must run inside the tokio runtime.
    pub fn dedicated(&self) -> Result<MigrationStore> {
        self.check_open()?;
        Ok(MigrationStore {
            store: SessionStore::connect(&self.options)?,
        })
    }
}

impl MigrationStore {
    /// Whether the store talks to a Redis Cluster (the conversion then runs as single-key
    /// steps).
    pub(crate) fn is_cluster(&self) -> bool {
        self.store.is_cluster()
    }

    /// The connection, once it can take commands (for the `SCAN`s and `DBSIZE`s, sent to one
    /// server each).
    pub(crate) async fn connection(&self) -> Result<Client> {
        self.store.ready_client().await
    }

    /// Runs one of [`crate::scripts::SCRIPTS`], as the session methods do (on Redis Cluster a
    /// step that follows `MOVED` and `ASK`).
    pub(crate) async fn run_script<R: FromValue + Send>(
        &self,
        script: &'static Script,
        keys: Vec<Key>,
        args: Vec<Value>,
    ) -> Result<R> {
        self.store.eval(script, keys, args).await
    }

    /// A plain command on `key` (and, on a single server, other keys in `args`).
    pub(crate) async fn run_command<R: FromValue + Send>(
        &self,
        name: &'static str,
        key: Key,
        args: Vec<Value>,
    ) -> Result<R> {
        self.store.command(name, key, args).await
    }

    /// The Cluster index step of `create`, with its checks: lists `id` in `index` for
    /// `duration` seconds. Returns the expiry that the session step takes.
    pub(crate) async fn run_index_add(
        &self,
        index: &Key,
        id: &[u8],
        duration: u64,
    ) -> Result<Value> {
        let (expiry, _, _) = cluster::index_add_until(
            &self.store,
            index,
            id,
            duration,
            Value::from(0),
            Value::from("0"),
        )
        .await?;
        Ok(expiry)
    }

    /// Kills a converted session whose 1.x key was killed meanwhile, as `kill` does.
    pub(crate) async fn kill(&self, app: &[u8], token: &[u8]) -> Result<bool> {
        self.store.kill(app, token, None).await
    }

    /// Maps a fred error as the session methods do.
    pub(crate) fn map_error(&self, err: fred::error::Error) -> Error {
        self.store.redis_error(err)
    }

    /// Closes the run's connection after the commands already sent have been answered.
    pub(crate) async fn quit(&self) -> Result<()> {
        self.store.quit().await
    }

    /// Closes the run's connection at once, in the background.
    pub(crate) fn disconnect(&self) {
        self.store.disconnect()
    }
}
