//! Watching Redis's `maxmemory-policy`: a policy that lets Redis evict keys that are not about
//! to expire anyway can evict an owner index while its sessions live, and `killAll` would then
//! miss them. The store cannot prevent it; it says so, once.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use fred::prelude::{ClientLike, EventInterface, Value};
use fred::types::{ClusterHash, CustomCommand};
use tokio::sync::broadcast::error::RecvError;

use super::SessionStore;
use crate::error::Result;
use crate::reply::as_bytes;

impl SessionStore {
    /// Checks Redis's `maxmemory-policy` on every (re)connection, and calls `warn` once if it
    /// lets Redis evict keys that are not about to expire anyway (`allkeys-*`, `volatile-*`):
    /// an evicted owner index makes `killAll` miss that owner's live sessions. A server that
    /// refuses `CONFIG GET` (a managed Redis, an ACL) is not checked. The task holds neither the
    /// store nor its connection, so it ends when the store is dropped or closed.
    pub fn watch_eviction_policy(self: &Arc<Self>, warn: impl Fn(String) + Send + 'static) {
        let client = self.link.client();
        let mut reconnects = client.reconnect_rx();
        let store: Weak<Self> = Arc::downgrade(self);
        let connected = client.is_connected();
        tokio::spawn(async move {
            let mut ready = connected;
            loop {
                if !ready {
                    match reconnects.recv().await {
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return,
                    }
                }
                ready = false;
                let Some(store) = store.upgrade() else { return };
                if store.closed.load(Ordering::Acquire) {
                    return;
                }
                if let Ok(Some(policy)) = store.eviction_policy().await {
                    if evicts_live_keys(&policy) {
                        warn(format!(
                            "Redis's maxmemory-policy is {policy}: under memory pressure Redis may evict owner indexes of live sessions, and killAll() would then miss those sessions. Use maxmemory-policy noeviction (see the README, \"Guarantees: Eviction\")."
                        ));
                        return;
                    }
                }
            }
        });
    }

    /// `CONFIG GET maxmemory-policy`, or `None` when the server does not say.
    async fn eviction_policy(&self) -> Result<Option<String>> {
        let reply: Vec<Value> = self
            .link
            .client()
            .custom(
                CustomCommand::new_static("CONFIG", ClusterHash::Random, false),
                vec![Value::from("GET"), Value::from("maxmemory-policy")],
            )
            .await
            .map_err(|e| self.redis_error(e))?;
        Ok(reply
            .get(1)
            .and_then(as_bytes)
            .map(|v| String::from_utf8_lossy(v).into_owned()))
    }
}

/// True for the `maxmemory-policy` values under which Redis may evict an owner index while its
/// sessions live: every `allkeys-*` and `volatile-*` policy. Even `volatile-ttl` picks its
/// victims from a sample, so an index can go before the sessions it lists.
fn evicts_live_keys(policy: &str) -> bool {
    policy.starts_with("allkeys-") || policy.starts_with("volatile-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicting_policies() {
        for p in [
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
        ] {
            assert!(evicts_live_keys(p), "{p}");
        }
        assert!(evicts_live_keys("volatile-ttl"));
        for p in ["noeviction", ""] {
            assert!(!evicts_live_keys(p), "{p}");
        }
    }
}
