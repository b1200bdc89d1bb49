//! Orders, in one place (spec §3). Where each rule lives:
//!
//! - [`aggregate`]: the order and its lifecycle — every transition (add, send, serve, void,
//!   move, merge…) with its preconditions, totals and payment limits; [`parts`]: the values an
//!   order is made of and [`OrderError`].
//! - [`unit_of_work`]: the rules of committing a change — stale version, stock (a tracked
//!   stock never goes below 0, an untracked one is left alone), "a create moves no stock" —
//!   and the one recipe every store runs (claim, lock, work, effects, answer, events).
//! - [`ports`]: what the order use cases need from a store ([`ports::OrderStore`]…), with the
//!   transaction recipe the adapters follow.
//! - [`service`]: the use cases, one method per thing a terminal or a KDS does (permission,
//!   validation, availability, then one unit of work); [`events`]: what they append;
//!   [`views`]: the read models terminals and kitchen displays get.

mod aggregate;
pub mod events;
mod parts;
pub mod ports;
mod read_cache;
pub mod service;
pub mod unit_of_work;
pub mod views;

pub use aggregate::*;
pub use parts::*;
pub use service::{
    Applied, Caller, CreateOrderCmd, DiscountCmd, Edit, ItemRequest, ItemUpdate, OrderPorts, OrderService,
    OrderServiceConfig, OrderServiceError, Outcome, VoidCmd,
};
