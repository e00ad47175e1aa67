//! Building a fred client from the parsed settings, defined once.
//!
//! Every fred client of an instance (the sessions' connection that [`crate::link`] holds, and
//! the Cluster transaction client of [`crate::upstream::cluster_redirect`]) is built here, so
//! they share one performance configuration and one reconnection policy. It lives beside
//! [`crate::config`], not in the store, because it needs nothing but the instance's
//! [`Settings`]: the link and the workarounds can then build clients without importing the
//! store that uses them.

use fred::prelude::{Builder, Client, ConnectionConfig};
use fred::types::config::Config;

use crate::config::Settings;
use crate::error::{Error, Result};

/// A fred client (not yet connecting) for `config` (the server, credentials and database: `opts`
/// gives `opts.redis`, a caller may first adjust a copy of it), with `connection` as its
/// connection settings and `opts`'s performance configuration and reconnection policy.
pub(crate) fn build_client(
    config: Config,
    opts: &Settings,
    connection: ConnectionConfig,
) -> Result<Client> {
    Builder::from_config(config)
        .set_connection_config(connection)
        .set_performance_config(opts.performance_config())
        .set_policy(opts.reconnect_policy())
        .build()
        .map_err(Error::from)
}
