//! The deadpool-diesel pool. Its wait timeout is what turns an exhausted pool into
//! `StoreError::Unavailable` (503 + Retry-After) instead of a request hanging forever.
//!
//! Checkout is fast. deadpool-diesel's own manager checks a returned connection inside
//! `interact`, so every checkout cost a hop to a blocking thread and back before the work's
//! own hop, and its default (`Verified`) added a `SELECT 1` round trip (11 of the ~55 round
//! trips of a create + send, docs/benchmarks.md). [`PgManager`] makes deadpool-diesel's
//! connections the same way but checks them where they are, on the caller's thread: a
//! returned connection is refused only when its transaction state is broken, which is a
//! look at libpq's status, not a query. A connection that died while idle fails its next
//! query (`Unavailable`); libpq then reports its transaction status as unknown, diesel marks
//! the connection broken, and that check drops it, so the next checkout connects afresh.

use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_diesel::Runtime;
use diesel::PgConnection;
use diesel::connection::TransactionManager;
use pos_domain::StoreError;

/// A pooled connection: deadpool-diesel's wrapper, whose `interact` runs on a blocking thread.
pub type PooledConnection = deadpool_diesel::Connection<PgConnection>;

/// The pool of [`PgManager`] connections.
pub type Pool = deadpool_diesel::Pool<PgManager>;

/// Makes connections as deadpool-diesel's manager does and checks returned ones without
/// leaving the caller's thread (see the module docs).
pub struct PgManager {
    connect: deadpool_diesel::postgres::Manager,
}

impl PgManager {
    pub fn new(database_url: &str) -> PgManager {
        PgManager {
            connect: deadpool_diesel::postgres::Manager::new(database_url, Runtime::Tokio1),
        }
    }
}

impl std::fmt::Debug for PgManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never print it.
        f.debug_struct("PgManager").finish_non_exhaustive()
    }
}

impl managed::Manager for PgManager {
    type Type = PooledConnection;
    type Error = deadpool_diesel::Error;

    async fn create(&self) -> Result<PooledConnection, deadpool_diesel::Error> {
        managed::Manager::create(&self.connect).await
    }

    async fn recycle(
        &self,
        conn: &mut PooledConnection,
        _: &Metrics,
    ) -> RecycleResult<deadpool_diesel::Error> {
        // Back in the pool, nothing holds the connection's lock: a failed try means a
        // poisoned lock (a panic mid-query), and such a connection is unusable anyway.
        let mut guard = conn
            .try_lock()
            .map_err(|_| RecycleError::message("the connection's lock is poisoned"))?;
        let conn: &mut PgConnection = &mut guard;
        if <PgConnection as diesel::Connection>::TransactionManager::is_broken_transaction_manager(conn) {
            return Err(RecycleError::Backend(
                deadpool_diesel::Error::BrokenTransactionManger,
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Connections at most (DB_POOL_SIZE).
    pub max_size: usize,
    /// How long a request waits for a free connection before `Unavailable`.
    pub wait_timeout: Duration,
    /// How long establishing a new connection may take.
    pub create_timeout: Duration,
    /// How long recycling a returned connection may take (a look at its state: no round trip
    /// to the database, no hop to another thread).
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
    Pool::builder(PgManager::new(database_url))
        .max_size(config.max_size)
        .wait_timeout(Some(config.wait_timeout))
        .create_timeout(Some(config.create_timeout))
        .recycle_timeout(Some(config.recycle_timeout))
        // Timeouts are enforced by the runtime's timer: without one they would be refused.
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Internal(format!("building the database pool: {e}")))
}
