//! Short-lived copies of what every order request reads but a venue changes a few times a
//! year: the settings, the dining tables and staff names for tickets.
//!
//! Reading them on each create and send was a third of the statements an order cost. A copy
//! lives `ttl` (the server uses about a second); a change made on another instance or straight
//! in the database shows after at most that long. Never used for anything that decides who
//! may do what (tokens, roles) or for stock and availability, which are read fresh.
//! A `ttl` of zero turns the cache off (the default, so tests see every change at once).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::StoreError;

/// One value, or one value per key, each kept until `ttl` after it was loaded.
#[derive(Debug)]
pub(crate) struct Expiring<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, Arc<V>)>>,
}

/// At most this many keyed entries; past it the map is emptied (staff lists are small).
const MAX_ENTRIES: usize = 1024;

impl<K: Eq + Hash + Clone, V> Expiring<K, V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The fresh copy under `key`, else what `load` gives (kept when it succeeds).
    /// Concurrent misses may load twice; both answers are current, the later one is kept.
    pub(crate) async fn get_or_load<F, Fut>(&self, key: K, load: F) -> Result<Arc<V>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, StoreError>>,
    {
        if self.ttl.is_zero() {
            return load().await.map(Arc::new);
        }
        if let Some((loaded_at, value)) = self.lock().get(&key)
            && loaded_at.elapsed() < self.ttl
        {
            return Ok(Arc::clone(value));
        }
        let value = Arc::new(load().await?);
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), Arc::clone(&value)));
        Ok(value)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, Arc<V>)>> {
        // The map holds only copies: a panic elsewhere cannot leave it half-updated.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    async fn count(cache: &Expiring<(), u32>, loads: &AtomicU32) -> u32 {
        *cache
            .get_or_load((), || async { Ok(loads.fetch_add(1, Ordering::SeqCst) + 1) })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn keeps_a_copy_for_its_lifetime_then_loads_again() {
        let cache = Expiring::new(Duration::from_millis(50));
        let loads = AtomicU32::new(0);
        assert_eq!(count(&cache, &loads).await, 1);
        assert_eq!(count(&cache, &loads).await, 1);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(count(&cache, &loads).await, 2);
    }

    #[tokio::test]
    async fn a_zero_lifetime_always_loads() {
        let cache = Expiring::new(Duration::ZERO);
        let loads = AtomicU32::new(0);
        assert_eq!(count(&cache, &loads).await, 1);
        assert_eq!(count(&cache, &loads).await, 2);
    }

    #[tokio::test]
    async fn a_failed_load_is_not_kept() {
        let cache: Expiring<(), u32> = Expiring::new(Duration::from_secs(60));
        let failed = cache
            .get_or_load((), || async { Err(StoreError::Unavailable("down".into())) })
            .await;
        assert!(failed.is_err());
        let loads = AtomicU32::new(0);
        assert_eq!(count(&cache, &loads).await, 1);
    }
}
