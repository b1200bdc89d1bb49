//! `pos-postgres`: the PostgreSQL adapter.
//!
//! - [`schema`]: diesel's view of `migrations/`; `rows` maps rows to and from the domain.
//! - [`run_migrations`] / [`migrate`]: the embedded migrations under an advisory lock.
//! - [`PgStore`]: a deadpool-diesel pool (wait timeout → `StoreError::Unavailable`)
//!   implementing the domain's store ports, plus the event log ([`append_event`] inside any
//!   transaction, [`EventFollower`] to read it in order without gaps) and the hash-chained
//!   audit log ([`append_audit`] inside any transaction).
//! - [`error`]: diesel and pool errors classified into `StoreError` at this boundary.

pub mod backup;
pub mod error;
mod migrate;
mod pool;
mod prepared;
mod rows;
pub mod schema;
mod store;

pub use error::DbError;
pub use migrate::{MIGRATION_LOCK_KEY, MIGRATIONS, migrate, run_migrations};
pub use pool::{PgManager, Pool, PoolConfig, PooledConnection, build_pool};
pub use store::OpsCounts;
pub use store::{
    AUDIT_LOCK_KEY, AUDIT_PAGE_MAX, EventFollower, PESAPAL_POLLER_LOCK_KEY, PgStore, PollerLease,
    append_audit, append_event, events_after, rebuild_item_sales,
};
