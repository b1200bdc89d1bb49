//! The order use cases (spec §3): services over the ports of [`crate::order_ports`], the
//! events they append and the read models terminals and kitchen displays get.

pub mod events;
mod read_cache;
pub mod service;
pub mod views;

pub use service::{
    Applied, Caller, CreateOrderCmd, Edit, ItemRequest, ItemUpdate, OrderPorts, OrderService,
    OrderServiceConfig, OrderServiceError, Outcome, VoidCmd,
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
