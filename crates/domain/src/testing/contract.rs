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

/// Numbers of one business date are distinct and increasing; a refused create writes no
/// order (it may leave its number unused: numbers are not gap-free, fiscal documents are).
pub async fn numbers_increase_and_refusals_write_no_order<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let first = create(store, f, &[]).await;
    assert!(first.number >= 1);
    assert_eq!((first.business_date, first.version), (f.business_date, 1));
    let refusal = refused(
        store
            .create_order(f.business_date, None, Box::new(|_| Err(OrderError::EmptyOrder)))
            .await,
    );
    assert_eq!((refusal.error, refusal.current), (OrderError::EmptyOrder, None));
    let second = create(store, f, &[]).await;
    assert!(second.number > first.number, "numbers increase");
    let listed = store
        .list_orders(&OrderFilter {
            business_date: Some(f.business_date),
            limit: 1_000,
            ..OrderFilter::default()
        })
        .await
        .unwrap();
    assert!(listed.iter().any(|o| o.id == second.id));
    assert!(
        !listed
            .iter()
            .any(|o| o.number > first.number && o.number < second.number),
        "the refused create wrote no order"
    );
}

/// What a unit saves is what a read returns; removed pending items are gone; the version goes
/// up by one per unit.
pub async fn aggregates_round_trip_and_removed_items_go<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let created = create(store, f, &[(f.stocked, 1), (f.untracked, 2)]).await;
    assert_eq!(store.get_order(created.id).await.unwrap(), created);
    let remove = created.items[1].id;
    let at = now();
    let saved = committed(
        store
            .mutate_order(
                OrderTarget::Order(created.id),
                Some(1),
                None,
                Box::new(move |order| {
                    assert_eq!(order.version, 2, "the work sees the version it is saved with");
                    order.remove_item(remove, at)?;
                    Ok(output(OrderChange::ItemRemoved(remove)))
                }),
            )
            .await,
    );
    assert_eq!(saved.order.version, 2);
    assert_eq!(saved.order.items.len(), 1);
    assert_eq!(saved.change, OrderChange::ItemRemoved(remove));
    let read = store.get_order(created.id).await.unwrap();
    assert_eq!(read, saved.order);
    let filter = OrderFilter {
        statuses: vec![OrderStatus::Open],
        table_id: Some(f.table),
        limit: 500,
        ..OrderFilter::default()
    };
    let listed = store.list_orders(&filter).await.unwrap();
    assert!(listed.iter().all(|o| filter.matches(o)));
    assert_eq!(listed.iter().find(|o| o.id == created.id), Some(&read));
    let newest_first = listed
        .windows(2)
        .all(|w| (w[0].created_at, w[0].id) >= (w[1].created_at, w[1].id));
    assert!(newest_first, "lists are newest first");
    let closed_only = OrderFilter {
        statuses: vec![OrderStatus::Closed],
        table_id: Some(f.table),
        limit: 500,
        ..OrderFilter::default()
    };
    assert!(
        !store
            .list_orders(&closed_only)
            .await
            .unwrap()
            .iter()
            .any(|o| o.id == created.id)
    );
    assert_eq!(
        store.get_order(OrderId::new()).await,
        Err(StoreError::not_found("order"))
    );
}

/// A stale expected version is refused with the order as it is; nothing changes.
pub async fn stale_versions_are_refused_with_the_current_order<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let order = create(store, f, &[(f.untracked, 1)]).await;
    let refusal = refused(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                Some(7),
                None,
                Box::new(|_| panic!("the work of a stale edit must not run")),
            )
            .await,
    );
    assert_eq!(
        refusal.error,
        OrderError::StaleVersion {
            expected: 7,
            current: 1
        }
    );
    assert_eq!(refusal.current.as_ref(), Some(&order));
    assert_eq!(refusal.response, None);
    let at = now();
    let refusal = refused(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                Some(1),
                None,
                Box::new(move |order| {
                    order.set_preparation_notes(None, at)?;
                    Err(OrderError::NothingToSend)
                }),
            )
            .await,
    );
    assert_eq!(refusal.error, OrderError::NothingToSend);
    assert_eq!(
        refusal.current.as_ref(),
        Some(&order),
        "a refusal shows the order as loaded"
    );
    assert_eq!(
        store.get_order(order.id).await.unwrap(),
        order,
        "a refused work changes nothing"
    );
}

/// Claims: replay of the same request, 422 for another request, per-staff scope, refusals
/// stored, and a unit that fails with a store error keeps no claim.
pub async fn idempotency_claims_replay_mismatch_and_roll_back<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let key = fresh_key();
    let work = create_work(store, f, &[]).await;
    let first = committed(
        store
            .create_order(f.business_date, Some(claim(f.staff, &key, "a")), work)
            .await,
    );
    let stored = first
        .response
        .clone()
        .expect("a claimed unit returns its stored response");
    assert_eq!(
        stored,
        render(RenderInput::Committed {
            order: &first.order,
            other: None,
            change: &first.change,
        })
    );
    let again = create_work(store, f, &[]).await;
    assert_eq!(
        store
            .create_order(f.business_date, Some(claim(f.staff, &key, "a")), again)
            .await,
        Ok(Mutation::Replayed(stored))
    );
    let other_body = create_work(store, f, &[]).await;
    assert_eq!(
        store
            .create_order(f.business_date, Some(claim(f.staff, &key, "b")), other_body)
            .await,
        Ok(Mutation::KeyMismatch)
    );
    // The replay and the mismatch wrote no order.
    let next = create(store, f, &[]).await;
    assert!(next.number > first.order.number);
    let day = OrderFilter {
        business_date: Some(f.business_date),
        limit: 1_000,
        ..OrderFilter::default()
    };
    let between = store.list_orders(&day).await.unwrap();
    assert!(
        !between
            .iter()
            .any(|o| o.number > first.order.number && o.number < next.number),
        "a replay or a mismatch writes no order"
    );
    // Keys are per staff member.
    let theirs = create_work(store, f, &[]).await;
    committed(
        store
            .create_order(f.business_date, Some(claim(f.other_staff, &key, "a")), theirs)
            .await,
    );

    // A refusal is stored and replayed.
    let refused_key = fresh_key();
    let refusal = refused(
        store
            .mutate_order(
                OrderTarget::Order(next.id),
                None,
                Some(claim(f.staff, &refused_key, "send")),
                Box::new(|_| Err(OrderError::NothingToSend)),
            )
            .await,
    );
    let stored = refusal
        .response
        .expect("a claimed refusal returns its stored response");
    assert_eq!(stored.status, 409);
    assert_eq!(
        store
            .mutate_order(
                OrderTarget::Order(next.id),
                None,
                Some(claim(f.staff, &refused_key, "send")),
                Box::new(|_| panic!("a replay must not run the work")),
            )
            .await,
        Ok(Mutation::Replayed(stored))
    );

    // A store error rolls the claim back: the same key executes afterwards.
    let lost_key = fresh_key();
    assert_eq!(
        store
            .mutate_order(
                OrderTarget::Order(OrderId::new()),
                None,
                Some(claim(f.staff, &lost_key, "x")),
                Box::new(|_| panic!("no order, no work")),
            )
            .await,
        Err(StoreError::not_found("order"))
    );
    let at = now();
    let notes = committed(
        store
            .mutate_order(
                OrderTarget::Order(next.id),
                None,
                Some(claim(f.staff, &lost_key, "x")),
                Box::new(move |order| {
                    order.set_preparation_notes(None, at)?;
                    Ok(output(OrderChange::PreparationNotesSet))
                }),
            )
            .await,
    );
    assert_eq!(notes.order.version, next.version + 1);
}

/// Stock: a unit that would take a tracked stock below zero is refused whole; a committed
/// unit moves tracked stock only and ends with a `menu.updated` event of the new levels.
pub async fn stock_is_all_or_nothing_and_reported<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let before = stock_of(store, f.stocked)
        .await
        .expect("the stocked fixture product tracks stock");
    assert_eq!(stock_of(store, f.untracked).await, None);
    let order = create(store, f, &[(f.stocked, 1), (f.untracked, 1)]).await;
    let at = now();
    let (stocked, untracked) = (f.stocked, f.untracked);
    let key = fresh_key();
    let refusal = refused(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                Some(order.version),
                Some(claim(f.staff, &key, "send")),
                Box::new(move |order| {
                    let sent = order.send(at)?;
                    Ok(WorkOutput {
                        change: OrderChange::Sent(sent),
                        effects: Effects {
                            stock: vec![
                                StockChange {
                                    product_id: untracked,
                                    delta: -1,
                                },
                                StockChange {
                                    product_id: stocked,
                                    delta: -(before + 1),
                                },
                            ],
                            events: vec![NewEvent::new(
                                "contract.should_not_exist",
                                "orders",
                                serde_json::json!({}),
                            )],
                            ..Effects::default()
                        },
                    })
                }),
            )
            .await,
    );
    assert_eq!(
        refusal.error,
        OrderError::OutOfStock {
            product: f.stocked,
            left: before
        }
    );
    assert_eq!(refusal.current.as_ref(), Some(&order));
    assert_eq!(refusal.response.map(|r| r.status), Some(409));
    assert_eq!(stock_of(store, f.stocked).await, Some(before));
    assert_eq!(
        store.get_order(order.id).await.unwrap(),
        order,
        "nothing of the unit was saved"
    );

    let sent = committed(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                Some(order.version),
                None,
                Box::new(move |order| {
                    let sent = order.send(at)?;
                    Ok(WorkOutput {
                        change: OrderChange::Sent(sent),
                        effects: Effects {
                            // Two movements of one product are summed.
                            stock: vec![
                                StockChange {
                                    product_id: stocked,
                                    delta: -2,
                                },
                                StockChange {
                                    product_id: untracked,
                                    delta: -1,
                                },
                                StockChange {
                                    product_id: stocked,
                                    delta: 1,
                                },
                            ],
                            events: vec![
                                NewEvent::new("order.sent", "kds", serde_json::json!({}))
                                    .for_station(Station::Kitchen),
                            ],
                            ..Effects::default()
                        },
                    })
                }),
            )
            .await,
    );
    assert_eq!(stock_of(store, f.stocked).await, Some(before - 1));
    assert_eq!(stock_of(store, f.untracked).await, None);
    let types: Vec<&str> = sent.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["order.sent", "menu.updated"]);
    assert_eq!(sent.events[0].station, Some(Station::Kitchen));
    let menu = &sent.events[1];
    assert_eq!(menu.topic, "menu");
    assert_eq!(
        menu.payload["stock"],
        serde_json::json!([{ "product_id": f.stocked, "stock_qty": before - 1, "delta": -1 }])
    );

    let restored = committed(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                None,
                None,
                Box::new(move |_| {
                    Ok(WorkOutput {
                        change: OrderChange::PreparationNotesSet,
                        effects: Effects {
                            stock: vec![StockChange {
                                product_id: stocked,
                                delta: 1,
                            }],
                            ..Effects::default()
                        },
                    })
                }),
            )
            .await,
    );
    assert_eq!(stock_of(store, f.stocked).await, Some(before));
    assert_eq!(restored.events.len(), 1);
}

/// A create's work that lists stock movements is a bug, not a refusal: the store fails the
/// unit and writes nothing (no order, no stock change, no claim kept).
pub async fn a_create_moves_no_stock<S: OrderStore + OrderCatalog + ?Sized>(store: &S, f: &ContractFixture) {
    let before = stock_of(store, f.stocked).await;
    let work = create_work(store, f, &[(f.stocked, 1)]).await;
    let stocked = f.stocked;
    let moving: CreateWork = Box::new(move |number| {
        let (order, mut output) = work(number)?;
        output.effects.stock.push(StockChange {
            product_id: stocked,
            delta: -1,
        });
        Ok((order, output))
    });
    let key = fresh_key();
    let answer = store
        .create_order(f.business_date, Some(claim(f.staff, &key, "moves")), moving)
        .await;
    assert!(matches!(answer, Err(StoreError::Internal(_))), "{answer:?}");
    assert_eq!(stock_of(store, f.stocked).await, before, "no stock moved");
    let day = OrderFilter {
        business_date: Some(f.business_date),
        limit: 1_000,
        ..OrderFilter::default()
    };
    let before_retry = store.list_orders(&day).await.unwrap().len();
    // The claim rolled back with it: the same key runs afresh.
    let retry = create_work(store, f, &[(f.stocked, 1)]).await;
    committed(
        store
            .create_order(f.business_date, Some(claim(f.staff, &key, "moves")), retry)
            .await,
    );
    assert_eq!(store.list_orders(&day).await.unwrap().len(), before_retry + 1);
    assert_eq!(
        stock_of(store, f.stocked).await,
        before,
        "a create moves no stock"
    );
}

/// The catalogue reads a product's availability as stored, and the domain's rule refuses an
/// unavailable product for every create built from what the catalogue read.
pub async fn availability_is_read_as_stored_and_refused_by_the_domain<
    S: OrderStore + OrderCatalog + ?Sized,
>(
    store: &S,
    f: &ContractFixture,
) {
    let mut product = products(store, f.untracked).await;
    assert!(
        product.available && product.active,
        "the fixture product is orderable"
    );
    let quantity = Quantity::parse("quantity", 1).unwrap();
    assert!(
        NewOrderItem::from_product(&product, quantity, ItemChoice::default(), &f.settings, now()).is_ok()
    );
    product.available = false;
    assert_eq!(
        NewOrderItem::from_product(&product, quantity, ItemChoice::default(), &f.settings, now()),
        Err(OrderError::ProductUnavailable(product.id))
    );
}

/// Events come back with increasing ids in the order listed; print jobs are queued; a
/// receipt marks the bill as requested.
pub async fn events_and_print_jobs_are_appended_in_order<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let order = create(store, f, &[]).await;
    assert!(store.bills_requested(&[order.id]).await.unwrap().is_empty());
    assert!(store.bills_requested(&[]).await.unwrap().is_empty());
    let job = |kind| NewPrintJob {
        id: PrintJobId::new(),
        kind,
        printer: "contract".into(),
        order_id: Some(order.id),
        shift_id: None,
        paper: Paper::Mm58,
        payload_text: "TICKET\n".into(),
        payload_escpos: vec![0x1b, 0x40],
    };
    let (ticket, receipt) = (job(PrintJobKind::KitchenTicket), job(PrintJobKind::Receipt));
    let ids = vec![ticket.id, receipt.id];
    let unit = committed(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                None,
                None,
                Box::new(move |_| {
                    Ok(WorkOutput {
                        change: OrderChange::PreparationNotesSet,
                        effects: Effects {
                            print_jobs: vec![ticket, receipt],
                            events: vec![
                                NewEvent::new("contract.first", "orders", serde_json::json!({"n": 1})),
                                NewEvent::new("contract.second", "tables", serde_json::json!({"n": 2})),
                            ],
                            ..Effects::default()
                        },
                    })
                }),
            )
            .await,
    );
    assert_eq!(unit.print_jobs, ids);
    let types: Vec<&str> = unit.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["contract.first", "contract.second"]);
    assert!(unit.events[0].id < unit.events[1].id);
    assert_eq!(unit.events[1].payload, serde_json::json!({"n": 2}));
    assert_eq!(
        store.bills_requested(&[order.id, OrderId::new()]).await.unwrap(),
        vec![order.id]
    );
}

/// Units addressed by item find its order; the KDS read finds sent orders of its station.
pub async fn item_targets_and_station_reads<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let order = create(store, f, &[(f.stocked, 1)]).await;
    let item: OrderItemId = order.items[0].id;
    let at = now();
    committed(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                None,
                None,
                Box::new(move |order| Ok(output(OrderChange::Sent(order.send(at)?)))),
            )
            .await,
    );
    let at_kitchen = store.orders_at_station(Station::Kitchen).await.unwrap();
    assert!(at_kitchen.iter().any(|o| o.id == order.id));
    assert!(at_kitchen.iter().all(|o| !o.is_finished()));
    assert!(
        !store
            .orders_at_station(Station::Bar)
            .await
            .unwrap()
            .iter()
            .any(|o| o.id == order.id)
    );
    let bumped = committed(
        store
            .mutate_order(
                OrderTarget::Item(item),
                None,
                None,
                Box::new(move |order| {
                    let status = order.bump_item(item, at)?;
                    Ok(output(OrderChange::ItemBumped { item, status }))
                }),
            )
            .await,
    );
    assert_eq!(bumped.order.id, order.id);
    assert_eq!(
        bumped.order.item(item).map(|i| i.status),
        Ok(ItemStatus::Preparing)
    );
    assert_eq!(
        store
            .mutate_order(
                OrderTarget::Item(OrderItemId::new()),
                None,
                None,
                Box::new(|_| panic!("no item, no work")),
            )
            .await,
        Err(StoreError::not_found("order_item"))
    );
}

/// A merge moves the source's items onto the target and cancels the source.
pub async fn merges_move_items_and_cancel_the_source<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let target = create(store, f, &[(f.untracked, 1)]).await;
    let source = create(store, f, &[(f.untracked, 2)]).await;
    let moved_item = source.items[0].id;
    let stale = refused(
        store
            .merge_orders(
                (target.id, Some(1)),
                (source.id, Some(3)),
                None,
                Box::new(|_, _| panic!("a stale merge must not run")),
            )
            .await,
    );
    assert_eq!(stale.current.as_ref(), Some(&source));
    let at = now();
    let merged = committed(
        store
            .merge_orders(
                (target.id, Some(1)),
                (source.id, Some(1)),
                None,
                Box::new(move |target, source| {
                    assert_eq!((target.version, source.version), (2, 2));
                    let items = target.merge_from(source, at)?;
                    Ok(output(OrderChange::Merged {
                        source: source.id,
                        items,
                    }))
                }),
            )
            .await,
    );
    let (saved_target, saved_source) = (
        store.get_order(target.id).await.unwrap(),
        store.get_order(source.id).await.unwrap(),
    );
    assert_eq!(saved_target, merged.order);
    assert_eq!(Some(&saved_source), merged.other.as_ref());
    assert_eq!(saved_target.items.len(), 2);
    assert!(saved_target.items.iter().any(|i| i.id == moved_item));
    assert_eq!(saved_source.status, OrderStatus::Cancelled);
    assert_eq!(saved_source.merged_into, Some(target.id));
    assert!(saved_source.items.is_empty());
}

/// Popularity counts live items in the window; recent products follow the staff's orders.
pub async fn popularity_and_recent_reads<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    create(store, f, &[(f.untracked, 3)]).await;
    // Item times must differ for "newest first" to mean something.
    std::thread::sleep(std::time::Duration::from_millis(2));
    create(store, f, &[(f.stocked, 1)]).await;
    let since = now() - TimeDelta::days(1);
    let popular = store.popular_products(since, 100).await.unwrap();
    let count = |id| popular.iter().find(|c| c.product_id == id).map(|c| c.quantity);
    assert!(count(f.untracked).is_some_and(|q| q >= 3));
    assert!(count(f.stocked).is_some_and(|q| q >= 1));
    assert!(
        popular.windows(2).all(|w| w[0].quantity >= w[1].quantity),
        "most first"
    );
    assert!(
        store
            .popular_products(now() + TimeDelta::days(1), 100)
            .await
            .unwrap()
            .is_empty()
    );
    let recent = store.recent_products(f.staff, 10).await.unwrap();
    assert_eq!(recent.first(), Some(&f.stocked), "newest first");
    assert!(recent.contains(&f.untracked));
    assert_eq!(
        recent.iter().filter(|p| **p == f.untracked).count(),
        1,
        "distinct"
    );
    assert_eq!(store.recent_products(f.staff, 1).await.unwrap().len(), 1);
    assert!(
        store
            .recent_products(StaffId::new(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
