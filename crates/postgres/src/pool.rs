//! The deadpool-diesel pool. Its wait timeout is what turns an exhausted pool into
//! `StoreError::Unavailable` (503 + Retry-After) instead of a request hanging forever.
//!
//! Checkout is fast: deadpool-diesel's default recycling (`Verified`) runs `SELECT 1` on every
//! checkout, which was 11 of the ~55 round trips of a create + send (docs/benchmarks.md). A
//! returned connection is only checked for a broken transaction state (deadpool-diesel always
//! does that, without a round trip). A connection that died while idle fails its next query
//! (`Unavailable`); libpq then reports its transaction status as unknown, diesel marks the
//! connection broken, and that check drops it, so the next checkout connects afresh.

use std::time::Duration;

use deadpool_diesel::postgres::{Manager, Pool};
use deadpool_diesel::{ManagerConfig, RecyclingMethod, Runtime};
use pos_domain::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Connections at most (DB_POOL_SIZE).
    pub max_size: usize,
    /// How long a request waits for a free connection before `Unavailable`.
    pub wait_timeout: Duration,
    /// How long establishing a new connection may take.
    pub create_timeout: Duration,
    /// How long recycling a returned connection may take (a hop to a blocking thread, no
    /// round trip to the database).
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
    let manager = Manager::from_config(database_url, Runtime::Tokio1, fast_recycling());
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

/// deadpool-diesel 0.7 has no `RecyclingMethod::Fast`: a check that accepts the connection
/// is the same thing, since the broken-transaction check runs before any method.
fn fast_recycling() -> ManagerConfig<diesel::PgConnection> {
    ManagerConfig {
        recycling_method: RecyclingMethod::CustomFunction(Box::new(|_| Ok(()))),
    }
}
