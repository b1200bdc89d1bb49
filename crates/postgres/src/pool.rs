//! The deadpool-diesel pool. Its wait timeout is what turns an exhausted pool into
//! `StoreError::Unavailable` (503 + Retry-After) instead of a request hanging forever.

use std::time::Duration;

use deadpool_diesel::Runtime;
use deadpool_diesel::postgres::{Manager, Pool};
use pos_domain::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Connections at most (DB_POOL_SIZE).
    pub max_size: usize,
    /// How long a request waits for a free connection before `Unavailable`.
    pub wait_timeout: Duration,
    /// How long establishing a new connection may take.
    pub create_timeout: Duration,
    /// How long the health check of a returned connection may take.
    pub recycle_timeout: Duration,
}

impl PoolConfig {
    pub fn new(max_size: usize) -> PoolConfig {
        PoolConfig {
            max_size: max_size.max(1),
            wait_timeout: Duration::from_secs(5),
            create_timeout: Duration::from_secs(5),
            recycle_timeout: Duration::from_secs(5),
        }
    }
}

/// Builds the pool; no connection is made until the first request for one.
pub fn build_pool(database_url: &str, config: PoolConfig) -> Result<Pool, StoreError> {
    let manager = Manager::new(database_url, Runtime::Tokio1);
    Pool::builder(manager)
        .max_size(config.max_size)
        .wait_timeout(Some(config.wait_timeout))
        .create_timeout(Some(config.create_timeout))
        .recycle_timeout(Some(config.recycle_timeout))
        // Timeouts are enforced by the runtime's timer: without one they would be refused.
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Internal(format!("building the database pool: {e}")))
}
