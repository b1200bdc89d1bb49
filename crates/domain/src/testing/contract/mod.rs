//! The contract of [`OrderStore`] and [`OrderCatalog`], as checks any implementation must
//! pass: the in-memory fake runs them in this crate's tests, the PostgreSQL adapter in its
//! own (with a seeded database and a [`ContractFixture`] pointing into it).
//!
//! The checks tolerate data other checks left behind (numbers are compared relatively, lists
//! are searched), so [`run_all`] can run them one after the other on one store.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "contract checks are test code: a broken expectation must panic"
)]

use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};

use crate::error::StoreError;
use crate::event::NewEvent;
use crate::idempotency::{IdempotencyKey, RequestFingerprint, StoredResponse};
use crate::ids::{OrderId, OrderItemId, PrintJobId, ProductId, StaffId, TableId};
use crate::order::ports::{
    Committed, CreateWork, Effects, IdempotencyClaim, Mutation, OrderCatalog, OrderChange, OrderFilter,
    OrderStore, OrderTarget, RenderInput, StockChange, WorkOutput,
};
use crate::order::{
    ItemChoice, ItemStatus, NewOrder, NewOrderItem, Order, OrderError, OrderStatus, OrderType,
};
use crate::print_job::{NewPrintJob, PrintJobKind};
use crate::printing::Paper;
use crate::settings::Settings;
use crate::staff::Station;
use crate::totals::Pricing;
use crate::validate::{Note, Quantity};

mod changes;
mod effects;
mod reads;

pub use changes::{
    aggregates_round_trip_and_removed_items_go, idempotency_claims_replay_mismatch_and_roll_back,
    numbers_increase_and_refusals_write_no_order, stale_versions_are_refused_with_the_current_order,
};
pub use effects::{
    a_create_moves_no_stock, availability_is_read_as_stored_and_refused_by_the_domain,
    events_and_print_jobs_are_appended_in_order, stock_is_all_or_nothing_and_reported,
};
pub use reads::{
    item_targets_and_station_reads, merges_move_items_and_cancel_the_source, popularity_and_recent_reads,
};

/// Where the checks may write. The store must already hold these rows.
#[derive(Debug, Clone)]
pub struct ContractFixture {
    /// An active staff member orders are opened by.
    pub staff: StaffId,
    /// Another one (idempotency keys are per staff member).
    pub other_staff: StaffId,
    /// An active table.
    pub table: TableId,
    /// An available kitchen product whose stock is tracked, with at least 10 units.
    pub stocked: ProductId,
    /// An available bar product whose stock is not tracked.
    pub untracked: ProductId,
    /// The venue settings (currency and pricing of the orders created).
    pub settings: Settings,
    /// The business date orders are created on.
    pub business_date: NaiveDate,
}

/// Runs every check in turn.
pub async fn run_all<S: OrderStore + OrderCatalog + ?Sized>(store: &S, fixture: &ContractFixture) {
    numbers_increase_and_refusals_write_no_order(store, fixture).await;
    aggregates_round_trip_and_removed_items_go(store, fixture).await;
    stale_versions_are_refused_with_the_current_order(store, fixture).await;
    idempotency_claims_replay_mismatch_and_roll_back(store, fixture).await;
    stock_is_all_or_nothing_and_reported(store, fixture).await;
    a_create_moves_no_stock(store, fixture).await;
    availability_is_read_as_stored_and_refused_by_the_domain(store, fixture).await;
    events_and_print_jobs_are_appended_in_order(store, fixture).await;
    item_targets_and_station_reads(store, fixture).await;
    merges_move_items_and_cancel_the_source(store, fixture).await;
    popularity_and_recent_reads(store, fixture).await;
}

/// Microseconds: what PostgreSQL keeps of a timestamp, so saved orders compare equal.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

async fn products<S: OrderCatalog + ?Sized>(store: &S, id: ProductId) -> crate::venue::Product {
    store
        .products_by_ids(&[id])
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("fixture product {id} is missing"))
}

async fn stock_of<S: OrderCatalog + ?Sized>(store: &S, id: ProductId) -> Option<i32> {
    products(store, id).await.stock_qty
}

/// A create work for a dine-in order at the fixture table with `lines` (product, quantity).
async fn create_work<S: OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
    lines: &[(ProductId, i64)],
) -> CreateWork {
    let at = now();
    let mut items = Vec::new();
    for (product, quantity) in lines {
        let product = products(store, *product).await;
        let quantity = Quantity::parse("quantity", *quantity).unwrap();
        items.push(
            NewOrderItem::from_product(&product, quantity, ItemChoice::default(), &f.settings, at).unwrap(),
        );
    }
    let new = NewOrder {
        number: 0,
        business_date: f.business_date,
        order_type: OrderType::DineIn,
        table_id: Some(f.table),
        staff_id: f.staff,
        terminal_id: None,
        shift_id: None,
        preparation_notes: Some(Note::parse("contract").unwrap()),
        currency: f.settings.currency,
        pricing: Pricing::from_settings(&f.settings),
    };
    Box::new(move |number| {
        let mut order = Order::new(NewOrder { number, ..new }, at)?;
        let mut ids = Vec::new();
        for item in items {
            ids.push(order.add_item(item, at)?);
        }
        let output = WorkOutput {
            change: OrderChange::Created { items: ids },
            effects: Effects::default(),
        };
        Ok((order, output))
    })
}

async fn create<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
    lines: &[(ProductId, i64)],
) -> Order {
    let work = create_work(store, f, lines).await;
    committed(store.create_order(f.business_date, None, work).await).order
}

fn committed(result: Result<Mutation, StoreError>) -> Committed {
    match result {
        Ok(Mutation::Committed(c)) => *c,
        other => panic!("expected a committed unit, got {other:?}"),
    }
}

fn refused(result: Result<Mutation, StoreError>) -> crate::order::ports::Refusal {
    match result {
        Ok(Mutation::Refused(r)) => *r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn output(change: OrderChange) -> WorkOutput {
    WorkOutput {
        change,
        effects: Effects::default(),
    }
}

fn render(input: RenderInput<'_>) -> StoredResponse {
    match input {
        RenderInput::Committed { order, .. } => StoredResponse {
            status: 201,
            content_type: "application/json".into(),
            body: format!("{{\"number\":{},\"version\":{}}}", order.number, order.version).into_bytes(),
        },
        RenderInput::Refused { error, current } => StoredResponse {
            status: 409,
            content_type: "application/problem+json".into(),
            body: format!(
                "{{\"code\":\"{}\",\"version\":{:?}}}",
                error.code(),
                current.map(|o| o.version)
            )
            .into_bytes(),
        },
    }
}

fn claim(staff: StaffId, key: &IdempotencyKey, body: &str) -> IdempotencyClaim {
    IdempotencyClaim::new(
        staff,
        key.clone(),
        RequestFingerprint::new("POST", "/contract", body.as_bytes()),
        render,
    )
}

fn fresh_key() -> IdempotencyKey {
    IdempotencyKey::parse(&format!("contract-{}", uuid::Uuid::now_v7())).unwrap()
}
