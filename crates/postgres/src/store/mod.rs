//! [`PgStore`]: the pool plus the port implementations, one module per port.

mod audit;
mod auth;
mod catalog;
mod coalesce;
mod event_feed;
pub(crate) mod events;
mod health;
mod images;
mod online_payments;
mod ops;
mod orders;
mod print_jobs;
pub(crate) mod receipts;
mod reports;
mod seed;
mod settings;
mod shifts;
mod staff;
mod terminals;
mod venue;

use std::fmt;
use std::sync::Arc;

use diesel::{Connection, PgConnection};
use pos_domain::StoreError;
use tokio::sync::OnceCell;

use crate::error::{DbError, classify_interact, classify_pool};
use crate::pool::{Pool, PoolConfig, build_pool};

pub use audit::{AUDIT_LOCK_KEY, AUDIT_PAGE_MAX, append_audit};
pub use events::{EventFollower, append_event, events_after};
pub use online_payments::{PESAPAL_POLLER_LOCK_KEY, PollerLease};
pub use ops::OpsCounts;
/// The idempotency claim's statements, for the backup engine's claimed backups.
pub(crate) use orders::{Abort, claim_key, store_response};
pub use reports::rebuild_item_sales;

/// The PostgreSQL store: cheap to clone (the pool is reference-counted), shared by every
/// request handler.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// The PIN pepper once read (it never changes), shared by every clone.
    pin_pepper: Arc<OnceCell<Vec<u8>>>,
    /// Staff rows behind tokens, read together (`coalesce`).
    staff_reads: Arc<coalesce::ReadQueue<uuid::Uuid, crate::rows::StaffRow>>,
    /// Products to order with their active modifiers, read together (`coalesce`).
    product_reads: Arc<coalesce::ReadQueue<uuid::Uuid, orders::ProductWithModifiers>>,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgStore")
            .field("max_size", &status.max_size)
            .field("size", &status.size)
            .field("available", &status.available)
            .finish()
    }
}

impl PgStore {
    pub fn new(pool: Pool) -> PgStore {
        PgStore {
            pool,
            pin_pepper: Arc::new(OnceCell::new()),
            staff_reads: Arc::default(),
            product_reads: Arc::default(),
        }
    }

    /// A store over a new pool; connects lazily.
    pub fn with_config(database_url: &str, config: PoolConfig) -> Result<PgStore, StoreError> {
        build_pool(database_url, config).map(PgStore::new)
    }

    /// A store with `pool_size` connections at most and the default timeouts, checked with a
    /// round trip so that a wrong URL fails at start-up, not on the first request.
    pub async fn connect(database_url: &str, pool_size: usize) -> Result<PgStore, StoreError> {
        let store = PgStore::with_config(database_url, PoolConfig::new(pool_size))?;
        pos_domain::ports::HealthProbe::ping(&store).await?;
        Ok(store)
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs `f` on a pooled connection, off the async executor, outside any transaction.
    /// `f` must not panic (that would poison the connection): return errors instead.
    pub async fn interact<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut PgConnection) -> Result<R, DbError> + Send + 'static,
        R: Send + 'static,
    {
        let conn = self.pool.get().await.map_err(classify_pool)?;
        conn.interact(f)
            .await
            .map_err(classify_interact)?
            .map_err(StoreError::from)
    }

    /// Runs `f` in one transaction on a pooled connection: committed when `f` returns `Ok`,
    /// rolled back otherwise. This is the unit of work: a store method that must be atomic
    /// (an order with its events and idempotency record) is one call.
    pub async fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut PgConnection) -> Result<R, DbError> + Send + 'static,
        R: Send + 'static,
    {
        self.interact(move |conn| conn.transaction(f)).await
    }
}
