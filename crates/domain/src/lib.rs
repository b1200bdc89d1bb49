//! `pos-domain`: the pure core of the point of sale.
//!
//! Entities, value objects, state machines, the permission matrix, totals and the port
//! traits adapters implement. No IO crate is allowed here (enforced by
//! `tests/architecture.rs`): everything is deterministic and unit-tested.

pub mod access;
pub mod approval;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod business_day;
pub mod catalog;
pub mod error;
pub mod event;
pub mod event_feed;
pub mod happy_hour;
pub mod idempotency;
pub mod ids;
pub mod images;
pub mod money;
pub mod order;
pub mod payment;
pub mod payments;
pub mod permissions;
pub mod ports;
pub mod print_job;
pub mod print_queue;
pub mod printing;
pub mod receipts;
pub mod reports;
pub mod seed;
pub mod settings;
pub mod shift;
pub mod shifts;
pub mod staff;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod totals;
pub mod validate;
pub mod venue;
pub mod z_report;

pub use error::{BusError, GatewayError, HashError, StoreError};
pub use money::{Currency, Money, MoneyError};
pub use permissions::{Action, Role};
pub use validate::ValidationError;
