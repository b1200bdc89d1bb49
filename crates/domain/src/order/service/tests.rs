//! The order use cases against the in-memory fake of their ports.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};

use super::*;
use crate::approval::{Actor, ApprovalError};
use crate::idempotency::{IdempotencyKey, RequestFingerprint, StoredResponse};
use crate::ids::{OrderId, OrderItemId, PrintJobId, ProductId, TableId};
use crate::order::events::{ItemStatusPayload, OrderUpdatedPayload, TicketMovedPayload, TicketPayload};
use crate::order::ports::{IdempotencyClaim, OrderChange, OrderFilter, RenderInput};
use crate::order::views::TableState;
use crate::order::{ItemStatus, Order, OrderError, OrderStatus, OrderType};
use crate::permissions::{Action, Role};
use crate::ports::Clock;
use crate::print_job::{NewPrintJob, PrintJobKind};
use crate::printing::Paper;
use crate::staff::Station;
use crate::testing::contract::{self, ContractFixture};
use crate::testing::{InMemoryStore, ManualClock, RecordingBus};
use crate::validate::{Note, Quantity};
use crate::venue::{Modifier, Product, Table};

/// 10:00 in Kampala (UTC+3), outside the 16:00–19:00 happy hour.
fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 15, 7, 0, 0).single().unwrap()
}

struct Venue {
    store: Arc<InMemoryStore>,
    bus: Arc<RecordingBus>,
    clock: ManualClock,
    service: OrderService<InMemoryStore, ManualClock>,
    waiter: Caller,
    cashier: Caller,
    manager: Caller,
    kitchen: Caller,
    bar: Caller,
    table: Table,
    other_table: Table,
    /// Kitchen, 8 000, stock tracked (5 left), with an "extra egg" modifier.
    rolex: Product,
    egg: Modifier,
    /// Bar, 6 000, happy hour 4 000, stock not tracked.
    beer: Product,
    /// No station, 2 000.
    water: Product,
}

fn venue() -> Venue {
    let clock = ManualClock::at(morning());
    let store = Arc::new(InMemoryStore::new(Arc::new(clock.clone())));
    let bus = Arc::new(RecordingBus::default());
    let caller = |role, name| Caller::new(store.add_staff(role, name), None);
    let (waiter, cashier, manager, kitchen, bar) = (
        caller(Role::Waiter, "wendy"),
        caller(Role::Cashier, "carl"),
        caller(Role::Manager, "mary"),
        caller(Role::Kitchen, "kit"),
        caller(Role::Bar, "barney"),
    );
    let table = store.add_table("T4");
    let other_table = store.add_table("T7");
    let food = store.add_category("Food", Some(Station::Kitchen));
    let drinks = store.add_category("Drinks", Some(Station::Bar));
    let rolex = store.add_product(food.id, "Rolex", 8_000, Some(Station::Kitchen));
    let egg = store.add_modifier(rolex.id, "extra egg", 1_000);
    let rolex = store.update_product(rolex.id, |p| p.stock_qty = Some(5));
    let beer = store.add_product(drinks.id, "Nile Special", 6_000, Some(Station::Bar));
    let beer = store.update_product(beer.id, |p| {
        p.happy_hour_price = Some(crate::money::Money::new(4_000, p.price.currency()));
    });
    let water = store.add_product(drinks.id, "Water", 2_000, None);
    let service = OrderService::new(
        Arc::clone(&store),
        Arc::clone(&bus) as Arc<dyn crate::ports::EventBus>,
        clock.clone(),
        OrderServiceConfig::default(),
    );
    Venue {
        store,
        bus,
        clock,
        service,
        waiter,
        cashier,
        manager,
        kitchen,
        bar,
        table,
        other_table,
        rolex,
        egg,
        beer,
        water,
    }
}

fn qty(n: i64) -> Quantity {
    Quantity::parse("quantity", n).unwrap()
}

fn line(product: &Product, n: i64) -> ItemRequest {
    ItemRequest::new(product.id, qty(n))
}

fn note(text: &str) -> Note {
    Note::parse(text).unwrap()
}

fn key(raw: &str) -> IdempotencyKey {
    IdempotencyKey::parse(raw).unwrap()
}

fn render(input: RenderInput<'_>) -> StoredResponse {
    let (status, body) = match input {
        RenderInput::Committed { order, .. } => (201, format!("#{} v{}", order.number, order.version)),
        RenderInput::Refused { error, .. } => (409, error.code().to_owned()),
    };
    StoredResponse {
        status,
        content_type: "text/plain".into(),
        body: body.into_bytes(),
    }
}

fn claim(caller: Caller, raw_key: &str, body: &str) -> IdempotencyClaim {
    IdempotencyClaim::new(
        caller.actor.id,
        key(raw_key),
        RequestFingerprint::new("POST", "/api/orders", body.as_bytes()),
        render,
    )
}

fn applied(result: Result<Outcome, OrderServiceError>) -> Applied {
    match result {
        Ok(Outcome::Applied(applied)) => *applied,
        other => panic!("expected an applied change, got {other:?}"),
    }
}

fn refusal(result: Result<Outcome, OrderServiceError>) -> (OrderError, Option<Box<Order>>) {
    match result {
        Err(OrderServiceError::Refused { error, current, .. }) => (error, current),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn types(applied: &Applied) -> Vec<&str> {
    applied.events.iter().map(|e| e.event_type.as_str()).collect()
}

impl Venue {
    fn dine_in(&self, items: Vec<ItemRequest>) -> CreateOrderCmd {
        CreateOrderCmd {
            order_type: OrderType::DineIn,
            table_id: Some(self.table.id),
            shift_id: None,
            preparation_notes: None,
            items,
        }
    }

    async fn open(&self, items: Vec<ItemRequest>) -> Order {
        applied(
            self.service
                .create_order(self.waiter, self.dine_in(items), None)
                .await,
        )
        .order
    }

    async fn send(&self, order: &Order) -> Applied {
        applied(
            self.service
                .send(self.waiter, Edit::new(order.id, Some(order.version)), None)
                .await,
        )
    }

    fn edit(order: &Order) -> Edit {
        Edit::new(order.id, Some(order.version))
    }
}

// ----- permissions -------------------------------------------------------------------------

#[tokio::test]
async fn every_use_case_checks_the_matrix_before_touching_anything() {
    let v = venue();
    let forbidden = |r: Result<Outcome, OrderServiceError>| match r {
        Err(OrderServiceError::Forbidden(ApprovalError::NotPermitted { action, .. })) => action,
        other => panic!("expected 403, got {other:?}"),
    };
    let create = v
        .service
        .create_order(
            v.kitchen,
            v.dine_in(vec![line(&v.rolex, 1)]),
            Some(claim(v.kitchen, "k1", "a")),
        )
        .await;
    assert_eq!(forbidden(create), Action::CreateOrder);
    assert_eq!(v.store.order_count(), 0);
    assert!(v.store.events().is_empty());
    assert_eq!(
        v.store.idempotency_record(v.kitchen.actor.id, &key("k1")),
        None,
        "a forbidden request claims no key"
    );

    let order = v.open(vec![line(&v.rolex, 1)]).await;
    let edit = Venue::edit(&order);
    assert_eq!(
        forbidden(
            v.service
                .add_items(v.bar, edit, vec![line(&v.beer, 1)], None)
                .await
        ),
        Action::EditUnsentItems
    );
    assert_eq!(
        forbidden(v.service.send(v.kitchen, edit, None).await),
        Action::SendOrder
    );
    let other = v.open(vec![]).await;
    assert_eq!(
        forbidden(v.service.merge(v.waiter, edit, Venue::edit(&other), None).await),
        Action::MergeOrders
    );
    let item = order.items[0].id;
    assert_eq!(
        forbidden(v.service.bump_item(v.waiter, item, None).await),
        Action::BumpKdsItems
    );
    assert_eq!(
        forbidden(
            v.service
                .bump_ticket(v.bar, order.id, Station::Kitchen, None)
                .await
        ),
        Action::BumpKdsItems,
        "a bar account bumps bar tickets only"
    );
    assert!(matches!(
        v.service.kds_queue(v.kitchen, Station::Bar).await,
        Err(OrderServiceError::Forbidden(_))
    ));
    assert!(matches!(
        v.service.get_order(v.kitchen, order.id).await,
        Err(OrderServiceError::Forbidden(_))
    ));
    assert!(matches!(
        v.service.tables(v.bar).await,
        Err(OrderServiceError::Forbidden(_))
    ));
    assert!(
        v.service.menu(v.kitchen).await.is_ok(),
        "every role reads the menu"
    );
    assert_eq!(v.store.order(order.id), Some(order), "nothing changed");
}

#[tokio::test]
async fn a_station_account_cannot_bump_the_other_stations_items() {
    let v = venue();
    let order = v.open(vec![line(&v.beer, 1)]).await;
    v.send(&order).await;
    let beer_item = order.items[0].id;
    let (error, _) = refusal(v.service.bump_item(v.kitchen, beer_item, None).await);
    assert_eq!(error.code(), "not_permitted");
    let bumped = applied(v.service.bump_item(v.bar, beer_item, None).await);
    assert_eq!(
        bumped.change,
        OrderChange::ItemBumped {
            item: beer_item,
            status: ItemStatus::Preparing
        }
    );
}

// ----- creating ----------------------------------------------------------------------------

#[tokio::test]
async fn creating_numbers_orders_per_business_day_and_announces_them() {
    let v = venue();
    let first = applied(
        v.service
            .create_order(
                v.waiter,
                v.dine_in(vec![line(&v.rolex, 2), line(&v.beer, 1)]),
                None,
            )
            .await,
    );
    assert_eq!(types(&first), ["order.created", "table.updated"]);
    assert_eq!(first.events[1].topic, "tables");
    assert_eq!(first.events[1].payload["change"], "order_opened");
    let order = &first.order;
    assert_eq!(
        (order.number, order.version, order.status),
        (1, 1, OrderStatus::Open)
    );
    assert_eq!(order.business_date, NaiveDate::from_ymd_opt(2024, 3, 15).unwrap());
    assert_eq!(order.staff_id, v.waiter.actor.id);
    assert_eq!(order.items.len(), 2);
    assert_eq!(order.totals().unwrap().total.minor(), 22_000);
    assert_eq!(first.events[0].payload["total"], 22_000);
    match &first.change {
        OrderChange::Created { items } => assert_eq!(items.len(), 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(v.bus.published(), first.events, "what was appended is published");

    let takeaway = applied(
        v.service
            .create_order(
                v.cashier,
                CreateOrderCmd {
                    order_type: OrderType::Takeaway,
                    table_id: None,
                    shift_id: None,
                    preparation_notes: Some(note("to go")),
                    items: vec![],
                },
                None,
            )
            .await,
    );
    assert_eq!(takeaway.order.number, 2);
    assert_eq!(types(&takeaway), ["order.created"]);

    // 05:00 local the next day is a new business day (cut-off 04:00): numbering restarts.
    v.clock
        .set(Utc.with_ymd_and_hms(2024, 3, 16, 2, 0, 0).single().unwrap());
    let next_day = v.open(vec![]).await;
    assert_eq!(
        (next_day.number, next_day.business_date.to_string().as_str()),
        (1, "2024-03-16")
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_nothing_written() {
    let v = venue();
    let mut no_table = v.dine_in(vec![]);
    no_table.table_id = None;
    assert_eq!(
        refusal(v.service.create_order(v.waiter, no_table, None).await).0,
        OrderError::TableRequired
    );
    let mut takeaway_at_table = v.dine_in(vec![]);
    takeaway_at_table.order_type = OrderType::Takeaway;
    assert_eq!(
        refusal(v.service.create_order(v.waiter, takeaway_at_table, None).await).0,
        OrderError::TakeawayHasNoTable
    );
    let mut unknown_table = v.dine_in(vec![]);
    unknown_table.table_id = Some(TableId::new());
    match v.service.create_order(v.waiter, unknown_table, None).await {
        Err(OrderServiceError::Invalid(e)) => assert_eq!(e.field, "table_id"),
        other => panic!("{other:?}"),
    }
    let unknown_product = v.dine_in(vec![
        line(&v.rolex, 1),
        ItemRequest::new(ProductId::new(), qty(1)),
    ]);
    match v
        .service
        .create_order(v.waiter, unknown_product, Some(claim(v.waiter, "bad-1", "x")))
        .await
    {
        Err(OrderServiceError::Invalid(e)) => {
            assert_eq!(
                (e.field.as_str(), e.message.as_str()),
                ("items[1].product_id", "no such product")
            );
        }
        other => panic!("{other:?}"),
    }
    let sold_out = v.store.update_product(v.beer.id, |p| p.available = false);
    assert_eq!(
        refusal(
            v.service
                .create_order(v.waiter, v.dine_in(vec![line(&sold_out, 1)]), None)
                .await
        )
        .0,
        OrderError::ProductUnavailable(v.beer.id)
    );
    assert_eq!(
        refusal(
            v.service
                .create_order(v.waiter, v.dine_in(vec![line(&v.rolex, 6)]), None)
                .await
        )
        .0,
        OrderError::OutOfStock {
            product: v.rolex.id,
            left: 5
        }
    );
    let mut foreign_modifier = line(&v.beer, 1);
    foreign_modifier.modifier_ids = vec![v.egg.id];
    v.store.update_product(v.beer.id, |p| p.available = true);
    assert_eq!(
        refusal(
            v.service
                .create_order(v.waiter, v.dine_in(vec![foreign_modifier]), None)
                .await
        )
        .0,
        OrderError::UnknownModifier(v.egg.id)
    );
    assert_eq!(v.store.order_count(), 0);
    assert!(v.store.events().is_empty());
    assert_eq!(v.store.idempotency_record(v.waiter.actor.id, &key("bad-1")), None);

    let order = v.open(vec![]).await;
    match v
        .service
        .add_items(v.waiter, Venue::edit(&order), vec![], None)
        .await
    {
        Err(OrderServiceError::Invalid(e)) => assert_eq!(e.field, "items"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        refusal(v.service.send(v.waiter, Venue::edit(&order), None).await).0,
        OrderError::NothingToSend
    );
}

// ----- idempotency -------------------------------------------------------------------------

#[tokio::test]
async fn idempotency_decisions_flow_through_the_use_cases() {
    let v = venue();
    let cmd = || v.dine_in(vec![line(&v.rolex, 1)]);
    let first = applied(
        v.service
            .create_order(v.waiter, cmd(), Some(claim(v.waiter, "k-1", "a")))
            .await,
    );
    let stored = first.response.clone().unwrap();
    assert_eq!(
        (stored.status, stored.body.as_slice()),
        (201, b"#1 v1".as_slice())
    );
    let published = v.bus.published().len();

    let replay = v
        .service
        .create_order(v.waiter, cmd(), Some(claim(v.waiter, "k-1", "a")))
        .await;
    assert_eq!(replay, Ok(Outcome::Replayed(stored.clone())));
    assert_eq!(v.store.order_count(), 1);
    assert_eq!(v.bus.published().len(), published, "a replay publishes nothing");

    let mismatch = v
        .service
        .create_order(v.waiter, cmd(), Some(claim(v.waiter, "k-1", "b")))
        .await;
    assert_eq!(mismatch, Err(OrderServiceError::KeyMismatch));
    assert_eq!(mismatch.unwrap_err().code(), "idempotency_key_mismatch");

    let held = claim(v.waiter, "k-2", "a");
    v.store.hold_key(v.waiter.actor.id, &held.key, &held.fingerprint);
    assert_eq!(
        v.service.create_order(v.waiter, cmd(), Some(held)).await,
        Err(OrderServiceError::KeyInProgress)
    );

    // Another staff member's identical key is theirs alone.
    let theirs = applied(
        v.service
            .create_order(v.cashier, cmd(), Some(claim(v.cashier, "k-1", "a")))
            .await,
    );
    assert_eq!(theirs.order.number, 2);

    // A refusal is stored with the key and replayed, not re-run.
    let empty = v.open(vec![]).await;
    let send = |k| {
        v.service
            .send(v.waiter, Venue::edit(&empty), Some(claim(v.waiter, k, "send")))
    };
    let refused = send("k-3").await;
    let stored = match refused {
        Err(OrderServiceError::Refused {
            error: OrderError::NothingToSend,
            response: Some(response),
            current: Some(_),
        }) => response,
        other => panic!("{other:?}"),
    };
    assert_eq!(stored.body, b"nothing_to_send");
    v.service
        .add_items(v.waiter, Venue::edit(&empty), vec![line(&v.water, 1)], None)
        .await
        .unwrap();
    assert_eq!(send("k-3").await, Ok(Outcome::Replayed(stored)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_duplicates_create_exactly_one_order() {
    let v = venue();
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let service = v.service.clone();
            let (waiter, cmd) = (v.waiter, v.dine_in(vec![line(&v.beer, 1)]));
            let claim = claim(v.waiter, "same-key", "same-body");
            tokio::spawn(async move { service.create_order(waiter, cmd, Some(claim)).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.unwrap());
    }
    let applied_count = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Outcome::Applied(_))))
        .count();
    let replayed = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Outcome::Replayed(r)) if r.body == b"#1 v1"))
        .count();
    assert_eq!((applied_count, replayed), (1, 49));
    assert_eq!(v.store.order_count(), 1);
}

// ----- concurrent edits --------------------------------------------------------------------

#[tokio::test]
async fn a_stale_edit_is_refused_with_the_current_order() {
    let v = venue();
    let order = v.open(vec![line(&v.rolex, 1)]).await;
    let first = applied(
        v.service
            .add_items(v.waiter, Venue::edit(&order), vec![line(&v.beer, 1)], None)
            .await,
    );
    assert_eq!(first.order.version, 2);
    assert_eq!(types(&first), ["order.updated"]);
    let payload: OrderUpdatedPayload = serde_json::from_value(first.events[0].payload.clone()).unwrap();
    assert_eq!((payload.order.version, payload.order.item_count), (2, 2));
    let events_before = v.store.events().len();

    // A second waiter still holds version 1.
    let (error, current) = refusal(
        v.service
            .add_items(v.cashier, Venue::edit(&order), vec![line(&v.water, 1)], None)
            .await,
    );
    assert_eq!(
        error,
        OrderError::StaleVersion {
            expected: 1,
            current: 2
        }
    );
    assert_eq!(current.map(|o| *o), Some(first.order.clone()));
    assert_eq!(v.store.order(order.id), Some(first.order));
    assert_eq!(v.store.events().len(), events_before);
}

#[tokio::test]
async fn pending_items_are_updated_and_removed() {
    let v = venue();
    let order = v.open(vec![line(&v.rolex, 1), line(&v.beer, 1)]).await;
    let rolex_item = order.items[0].id;
    let update = ItemUpdate {
        quantity: Some(qty(2)),
        modifier_ids: Some(vec![v.egg.id]),
        notes: Some(Some(note("well done"))),
        seat: Some(std::num::NonZeroU8::new(3)),
        course: None,
    };
    let changed = applied(
        v.service
            .update_item(v.waiter, Venue::edit(&order), rolex_item, update, None)
            .await,
    );
    let item = changed.order.item(rolex_item).unwrap();
    assert_eq!(item.quantity, qty(2));
    assert_eq!(item.modifiers[0].name.as_str(), "extra egg");
    assert_eq!(item.notes.as_ref().map(Note::as_str), Some("well done"));
    assert_eq!(changed.order.totals().unwrap().total.minor(), 2 * 9_000 + 6_000);
    assert_eq!(changed.events[0].payload["change"], "item_updated");

    let foreign = ItemUpdate {
        modifier_ids: Some(vec![v.egg.id]),
        ..ItemUpdate::default()
    };
    let beer_item = order.items[1].id;
    assert_eq!(
        refusal(
            v.service
                .update_item(v.waiter, Venue::edit(&changed.order), beer_item, foreign, None)
                .await
        )
        .0,
        OrderError::UnknownModifier(v.egg.id)
    );

    let removed = applied(
        v.service
            .remove_item(v.waiter, Venue::edit(&changed.order), beer_item, None)
            .await,
    );
    assert_eq!(removed.change, OrderChange::ItemRemoved(beer_item));
    assert_eq!(removed.order.items.len(), 1);
    let notes = applied(
        v.service
            .set_preparation_notes(
                v.waiter,
                Venue::edit(&removed.order),
                Some(note("allergy: nuts")),
                None,
            )
            .await,
    );
    assert_eq!(
        notes.order.preparation_notes.as_ref().map(Note::as_str),
        Some("allergy: nuts")
    );

    let sent = v.send(&notes.order).await;
    assert_eq!(
        refusal(
            v.service
                .remove_item(v.waiter, Venue::edit(&sent.order), rolex_item, None)
                .await
        )
        .0,
        OrderError::ItemNotPending {
            item: rolex_item,
            status: ItemStatus::Sent
        }
    );
}

// ----- send --------------------------------------------------------------------------------

#[tokio::test]
async fn sending_routes_items_to_stations_with_tickets_stock_and_events() {
    let v = venue();
    let mut with_egg = line(&v.rolex, 2);
    with_egg.modifier_ids = vec![v.egg.id];
    with_egg.notes = Some(note("no onions"));
    let mut cmd = v.dine_in(vec![with_egg, line(&v.beer, 1), line(&v.water, 1)]);
    cmd.preparation_notes = Some(note("birthday table"));
    let order = applied(v.service.create_order(v.waiter, cmd, None).await).order;
    v.clock.advance(TimeDelta::minutes(2));
    let sent = v.send(&order).await;

    assert_eq!(
        types(&sent),
        [
            "order.sent",
            "print_job.queued",
            "order.sent",
            "print_job.queued",
            "order.updated",
            "menu.updated"
        ]
    );
    let kitchen: TicketPayload = serde_json::from_value(sent.events[0].payload.clone()).unwrap();
    let bar: TicketPayload = serde_json::from_value(sent.events[2].payload.clone()).unwrap();
    assert_eq!(sent.events[0].station, Some(Station::Kitchen));
    assert_eq!(sent.events[2].station, Some(Station::Bar));
    assert_eq!(sent.events[0].topic, "kds");
    assert_eq!(kitchen.table.as_deref(), Some("T4"));
    assert_eq!(kitchen.items.len(), 1);
    assert_eq!(kitchen.items[0].modifiers, ["extra egg"]);
    assert_eq!(kitchen.preparation_notes.as_deref(), Some("birthday table"));
    assert_eq!((bar.items[0].name.as_str(), bar.version), ("Nile Special", 2));

    let jobs = v.store.print_jobs();
    assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), sent.print_jobs);
    let kinds: Vec<(PrintJobKind, &str)> = jobs.iter().map(|j| (j.kind, j.printer.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (PrintJobKind::KitchenTicket, "kitchen"),
            (PrintJobKind::BarTicket, "bar")
        ]
    );
    let ticket = &jobs[0].payload_text;
    assert!(ticket.contains("Test Cafe") && ticket.contains("T4"), "{ticket}");
    assert!(ticket.contains("Rolex") && ticket.contains("extra egg") && ticket.contains("no onions"));
    assert!(ticket.contains("10:02"), "venue local send time: {ticket}");
    assert!(!ticket.contains("Nile Special"));
    assert!(jobs[0].payload_escpos.starts_with(&[0x1b, 0x40]));
    assert_eq!(jobs[0].order_id, Some(order.id));
    assert_eq!(
        sent.events[1].payload["print_job_id"],
        serde_json::json!(jobs[0].id)
    );

    let saved = &sent.order;
    assert_eq!(saved.status, OrderStatus::Sent);
    assert_eq!(saved.sent_to_kitchen_at, Some(v.clock.now()));
    assert_eq!(saved.sent_to_bar_at, Some(v.clock.now()));
    assert_eq!(
        saved.items[2].status,
        ItemStatus::Ready,
        "no station: ready at once"
    );
    assert_eq!(v.store.stock(v.rolex.id), Some(3));
    assert_eq!(
        sent.events[5].payload["stock"],
        serde_json::json!([{ "product_id": v.rolex.id, "stock_qty": 3, "delta": -2 }])
    );
    match &sent.change {
        OrderChange::Sent(outcome) => assert_eq!(outcome.stations(), [Station::Kitchen, Station::Bar]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_send_of_station_less_items_makes_the_order_ready() {
    let v = venue();
    let order = v.open(vec![line(&v.water, 2)]).await;
    let sent = v.send(&order).await;
    assert_eq!(types(&sent), ["order.updated", "order.ready"]);
    assert!(sent.print_jobs.is_empty());
    assert_eq!(sent.order.status, OrderStatus::Ready);
}

#[tokio::test]
async fn a_send_beyond_the_stock_left_is_refused_whole() {
    let v = venue();
    let order = v
        .open(vec![line(&v.rolex, 3), line(&v.rolex, 3), line(&v.beer, 1)])
        .await;
    let (error, current) = refusal(v.service.send(v.waiter, Venue::edit(&order), None).await);
    assert_eq!(
        error,
        OrderError::OutOfStock {
            product: v.rolex.id,
            left: 5
        }
    );
    assert_eq!(current.map(|o| *o), Some(order.clone()));
    assert_eq!(v.store.stock(v.rolex.id), Some(5));
    assert!(v.store.print_jobs().is_empty());
    assert_eq!(v.store.order(order.id), Some(order));
}

// ----- kitchen display ---------------------------------------------------------------------

#[tokio::test]
async fn bumping_items_moves_them_and_readies_the_order() {
    let v = venue();
    let order = v.open(vec![line(&v.rolex, 1), line(&v.beer, 1)]).await;
    let (rolex_item, beer_item) = (order.items[0].id, order.items[1].id);
    v.send(&order).await;
    v.clock.advance(TimeDelta::minutes(5));

    let queue = v.service.kds_queue(v.kitchen, Station::Kitchen).await.unwrap();
    assert_eq!(queue.tickets.len(), 1);
    let ticket = &queue.tickets[0];
    assert_eq!(
        (ticket.number, ticket.table.as_deref(), ticket.age_seconds),
        (1, Some("T4"), 300)
    );
    assert_eq!(ticket.items.len(), 1, "the kitchen sees kitchen items only");
    assert_eq!((queue.counts.sent, queue.counts.waiting), (1, 1));

    let bump = applied(v.service.bump_item(v.kitchen, rolex_item, None).await);
    assert_eq!(types(&bump), ["item.status_changed"]);
    let payload: ItemStatusPayload = serde_json::from_value(bump.events[0].payload.clone()).unwrap();
    assert_eq!(
        (payload.previous, payload.status, payload.station),
        (ItemStatus::Sent, ItemStatus::Preparing, Some(Station::Kitchen))
    );
    assert_eq!(bump.events[0].station, Some(Station::Kitchen));

    let recall = applied(v.service.recall_item(v.kitchen, rolex_item, None).await);
    assert_eq!(
        recall.change,
        OrderChange::ItemRecalled {
            item: rolex_item,
            status: ItemStatus::Sent
        }
    );
    assert_eq!(
        refusal(v.service.recall_item(v.kitchen, rolex_item, None).await).0,
        OrderError::InvalidItemTransition {
            item: rolex_item,
            status: ItemStatus::Sent,
            action: "recall"
        }
    );

    let whole = applied(
        v.service
            .bump_ticket(v.kitchen, order.id, Station::Kitchen, None)
            .await,
    );
    assert_eq!(types(&whole), ["item.status_changed"]);
    assert_eq!(
        whole.order.status,
        OrderStatus::Sent,
        "the beer is still at the bar"
    );

    applied(v.service.bump_item(v.bar, beer_item, None).await);
    let last = applied(v.service.bump_item(v.bar, beer_item, None).await);
    assert_eq!(types(&last), ["item.status_changed", "order.ready"]);
    assert_eq!(last.order.status, OrderStatus::Ready);
    let queue = v.service.kds_queue(v.bar, Station::Bar).await.unwrap();
    assert_eq!((queue.counts.ready, queue.counts.waiting), (1, 0));

    assert!(matches!(
        v.service.bump_item(v.kitchen, OrderItemId::new(), None).await,
        Err(OrderServiceError::Store(crate::StoreError::NotFound {
            entity: "order_item"
        }))
    ));

    let served = applied(v.service.serve(v.waiter, Venue::edit(&last.order), None).await);
    assert_eq!(
        types(&served),
        ["item.status_changed", "item.status_changed", "order.updated"]
    );
    assert_eq!(served.order.status, OrderStatus::Served);
    assert!(
        v.service
            .kds_queue(v.kitchen, Station::Kitchen)
            .await
            .unwrap()
            .tickets
            .is_empty()
    );
}

#[tokio::test]
async fn an_order_is_not_ready_for_the_board_while_a_later_course_is_held() {
    let v = venue();
    let mut beer = line(&v.beer, 1);
    beer.course = std::num::NonZeroU8::new(2);
    let order = v.open(vec![line(&v.rolex, 1), beer]).await;
    let sent = v.send(&order).await.order;
    let beer_item = sent.items[1].id;
    let done = applied(
        v.service
            .bump_ticket(v.kitchen, order.id, Station::Kitchen, None)
            .await,
    );
    // The kitchen has made all it was sent, but the bar's course 2 is still held: the
    // kitchen's ticket cannot see that, so the ticket carries the order's own verdict.
    assert_ne!(done.order.status, OrderStatus::Ready);
    let kitchen = v.service.kds_queue(v.kitchen, Station::Kitchen).await.unwrap();
    let ticket = &kitchen.tickets[0];
    assert!(ticket.items.iter().all(|i| i.status == ItemStatus::Ready));
    assert!(ticket.held.is_empty(), "the held course is the bar's");
    assert!(
        !ticket.order_ready,
        "a held course keeps the order off the board's ready list"
    );

    let fired = applied(
        v.service
            .fire_course(
                v.waiter,
                Venue::edit(&done.order),
                std::num::NonZeroU8::new(2).unwrap(),
                None,
            )
            .await,
    );
    assert_eq!(fired.order.item(beer_item).unwrap().status, ItemStatus::Sent);
    applied(v.service.bump_item(v.bar, beer_item, None).await);
    applied(v.service.bump_item(v.bar, beer_item, None).await);
    let kitchen = v.service.kds_queue(v.kitchen, Station::Kitchen).await.unwrap();
    assert!(kitchen.tickets[0].order_ready, "every course made: ready");
}

// ----- voids -------------------------------------------------------------------------------

#[tokio::test]
async fn voiding_a_sent_item_needs_a_manager_and_is_audited_with_both_people() {
    let v = venue();
    let order = v.open(vec![line(&v.rolex, 2), line(&v.beer, 1)]).await;
    let rolex_item = order.items[0].id;
    let sent = v.send(&order).await.order;
    assert_eq!(v.store.stock(v.rolex.id), Some(3));
    let void = |approval: Option<Actor>| VoidCmd {
        reason: note("customer left"),
        approval,
    };
    let edit = Venue::edit(&sent);

    let (error, _) = refusal(
        v.service
            .void_item(v.waiter, edit, rolex_item, void(None), None)
            .await,
    );
    assert_eq!(error.code(), "approval_required");
    let (error, _) = refusal(
        v.service
            .void_item(v.waiter, edit, rolex_item, void(Some(v.cashier.actor)), None)
            .await,
    );
    assert_eq!(error.code(), "approver_not_allowed");
    assert!(v.store.audit().is_empty());

    let voided = applied(
        v.service
            .void_item(v.waiter, edit, rolex_item, void(Some(v.manager.actor)), None)
            .await,
    );
    assert_eq!(
        types(&voided),
        ["item.status_changed", "order.updated", "menu.updated"]
    );
    assert_eq!(voided.events[0].station, Some(Station::Kitchen));
    assert_eq!(voided.events[0].payload["status"], "voided");
    assert_eq!(v.store.stock(v.rolex.id), Some(5), "sent stock comes back");
    let audit = v.store.audit();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "order_item.voided");
    assert_eq!(audit[0].actor_id, Some(v.waiter.actor.id));
    assert_eq!(audit[0].approver_id, Some(v.manager.actor.id));
    assert_eq!(audit[0].entity_id, Some(rolex_item.to_string()));
    assert_eq!(audit[0].before.as_ref().unwrap()["status"], "sent");
    assert_eq!(audit[0].after.as_ref().unwrap()["reason"], "customer left");
    match voided.change {
        OrderChange::ItemVoided { record, .. } => assert_eq!(record.approved_by, Some(v.manager.actor.id)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn voiding_a_pending_item_needs_no_approval_and_moves_no_stock() {
    let v = venue();
    let order = v.open(vec![line(&v.rolex, 1)]).await;
    let void = VoidCmd {
        reason: note("wrong table"),
        approval: None,
    };
    let voided = applied(
        v.service
            .void_item(v.waiter, Venue::edit(&order), order.items[0].id, void, None)
            .await,
    );
    assert_eq!(types(&voided), ["order.updated"]);
    assert_eq!(v.store.stock(v.rolex.id), Some(5));
    assert_eq!(v.store.audit()[0].approver_id, None);
}

#[tokio::test]
async fn voiding_a_sent_order_frees_the_table_and_returns_sent_stock() {
    let v = venue();
    let order = v.open(vec![line(&v.rolex, 1)]).await;
    let sent = v.send(&order).await.order;
    let with_pending = applied(
        v.service
            .add_items(v.waiter, Venue::edit(&sent), vec![line(&v.rolex, 2)], None)
            .await,
    )
    .order;
    assert_eq!(v.store.stock(v.rolex.id), Some(4));
    let void = VoidCmd {
        reason: note("kitchen fire"),
        approval: None,
    };
    let (error, _) = refusal(
        v.service
            .void_order(v.cashier, Venue::edit(&with_pending), void.clone(), None)
            .await,
    );
    assert_eq!(error.code(), "approval_required");
    let voided = applied(
        v.service
            .void_order(
                v.manager,
                Venue::edit(&with_pending),
                void,
                Some(claim(v.manager, "void-1", "v")),
            )
            .await,
    );
    assert_eq!(
        types(&voided),
        [
            "item.status_changed",
            "order.voided",
            "table.updated",
            "menu.updated"
        ]
    );
    assert_eq!(voided.order.status, OrderStatus::Voided);
    assert_eq!(
        voided.events[1].payload["approved_by"],
        serde_json::json!(v.manager.actor.id)
    );
    assert_eq!(
        v.store.stock(v.rolex.id),
        Some(5),
        "only the sent unit comes back"
    );
    let audit = v.store.audit();
    assert_eq!(
        (audit[0].action.as_str(), audit[0].entity.as_str()),
        ("order.voided", "order")
    );
    assert_eq!(audit[0].actor_id, Some(v.manager.actor.id));
    assert_eq!(audit[0].approver_id, Some(v.manager.actor.id));
    let tables = v.service.tables(v.waiter).await.unwrap();
    assert_eq!(tables[0].state, TableState::Free);
    assert!(voided.response.is_some());
}

// ----- cancel, move, merge -----------------------------------------------------------------

#[tokio::test]
async fn an_empty_order_is_cancelled_and_a_full_one_is_not() {
    let v = venue();
    let full = v.open(vec![line(&v.beer, 1)]).await;
    assert_eq!(
        refusal(v.service.cancel_empty(v.waiter, Venue::edit(&full), None).await).0,
        OrderError::NotEmpty
    );
    let empty = v.open(vec![]).await;
    let cancelled = applied(v.service.cancel_empty(v.waiter, Venue::edit(&empty), None).await);
    assert_eq!(types(&cancelled), ["order.closed", "table.updated"]);
    assert_eq!(cancelled.events[0].payload["status"], "cancelled");
    assert_eq!(
        refusal(
            v.service
                .add_items(
                    v.waiter,
                    Venue::edit(&cancelled.order),
                    vec![line(&v.beer, 1)],
                    None
                )
                .await
        )
        .0,
        OrderError::OrderFinished {
            status: OrderStatus::Cancelled
        }
    );
}

#[tokio::test]
async fn moving_announces_both_tables() {
    let v = venue();
    let order = v.open(vec![line(&v.beer, 1)]).await;
    let moved = applied(
        v.service
            .move_to_table(v.waiter, Venue::edit(&order), v.other_table.id, None)
            .await,
    );
    assert_eq!(types(&moved), ["order.updated", "table.updated", "table.updated"]);
    assert_eq!(moved.events[1].payload["table_id"], serde_json::json!(v.table.id));
    assert_eq!(moved.events[1].payload["change"], "order_moved_out");
    assert_eq!(
        moved.events[2].payload["table_id"],
        serde_json::json!(v.other_table.id)
    );
    assert_eq!(moved.order.table_id, Some(v.other_table.id));
    match v
        .service
        .move_to_table(v.waiter, Venue::edit(&moved.order), TableId::new(), None)
        .await
    {
        Err(OrderServiceError::Invalid(e)) => assert_eq!(e.field, "table_id"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        refusal(
            v.service
                .move_to_table(v.waiter, Venue::edit(&moved.order), v.other_table.id, None)
                .await
        )
        .0,
        OrderError::SameTable
    );
}

#[tokio::test]
async fn merging_moves_items_and_tells_the_stations() {
    let v = venue();
    let target = v.open(vec![line(&v.beer, 1)]).await;
    let mut cmd = v.dine_in(vec![line(&v.rolex, 1)]);
    cmd.table_id = Some(v.other_table.id);
    let source = applied(v.service.create_order(v.waiter, cmd, None).await).order;
    let source = v.send(&source).await.order;
    assert_eq!(
        refusal(
            v.service
                .merge(v.cashier, Venue::edit(&target), Venue::edit(&target), None)
                .await
        )
        .0,
        OrderError::MergeWithItself
    );
    let merged = applied(
        v.service
            .merge(v.cashier, Venue::edit(&target), Venue::edit(&source), None)
            .await,
    );
    assert_eq!(
        types(&merged),
        ["order.updated", "order.closed", "order.merged", "table.updated"]
    );
    let moved: TicketMovedPayload = serde_json::from_value(merged.events[2].payload.clone()).unwrap();
    assert_eq!(
        (moved.number, moved.source_number, moved.station),
        (target.number, source.number, Station::Kitchen)
    );
    assert_eq!(merged.events[2].station, Some(Station::Kitchen));
    assert_eq!(merged.order.items.len(), 2);
    assert_eq!(merged.order.status, OrderStatus::Sent);
    let other = merged.other.unwrap();
    assert_eq!(
        (other.status, other.merged_into),
        (OrderStatus::Cancelled, Some(target.id))
    );
    assert_eq!(v.store.audit()[0].action, "order.merged");
    let queue = v.service.kds_queue(v.kitchen, Station::Kitchen).await.unwrap();
    assert_eq!(
        queue.tickets[0].number, target.number,
        "the station item follows its new order"
    );
}

// ----- reads -------------------------------------------------------------------------------

#[tokio::test]
async fn the_menu_shows_prices_now_availability_and_lists() {
    let v = venue();
    v.store.update_product(v.water.id, |p| p.stock_qty = Some(0));
    let order = v.open(vec![line(&v.beer, 2), line(&v.rolex, 1)]).await;
    let _ = order;
    let menu = v.service.menu(v.waiter).await.unwrap();
    assert_eq!(
        menu.categories
            .iter()
            .map(|c| c.category.name.as_str())
            .collect::<Vec<_>>(),
        ["Food", "Drinks"]
    );
    let drinks = &menu.categories[1].products;
    let beer = drinks.iter().find(|p| p.product.id == v.beer.id).unwrap();
    assert_eq!(
        (beer.effective_price.minor(), beer.happy_hour_active),
        (6_000, false)
    );
    let water = drinks.iter().find(|p| p.product.id == v.water.id).unwrap();
    assert!(!water.orderable, "no stock left");
    assert_eq!(menu.happy_hour.products, [v.beer.id]);
    assert!(!menu.happy_hour.active);
    assert_eq!(menu.popular, [v.beer.id, v.rolex.id]);
    assert_eq!(menu.recent.len(), 2);
    assert!(
        v.service.menu(v.cashier).await.unwrap().recent.is_empty(),
        "recent is per staff member"
    );

    // 17:00 local: happy hour.
    v.clock
        .set(Utc.with_ymd_and_hms(2024, 3, 15, 14, 0, 0).single().unwrap());
    v.store.update_product(v.rolex.id, |p| p.available = false);
    let menu = v.service.menu(v.waiter).await.unwrap();
    assert!(menu.happy_hour.active);
    let beer = menu.categories[1]
        .products
        .iter()
        .find(|p| p.product.id == v.beer.id)
        .unwrap();
    assert_eq!(
        (beer.effective_price.minor(), beer.happy_hour_active),
        (4_000, true)
    );
    assert!(!menu.categories[0].products[0].orderable, "86'd");
    let added = v.open(vec![line(&v.beer, 1)]).await;
    assert_eq!(
        added.items[0].unit_price.minor(),
        4_000,
        "ordered at the happy-hour price"
    );
}

#[tokio::test]
async fn tables_show_their_live_state() {
    let v = venue();
    let tables = v.service.tables(v.waiter).await.unwrap();
    assert!(
        tables
            .iter()
            .all(|t| t.state == TableState::Free && t.orders.is_empty())
    );
    let mut seated = line(&v.beer, 1);
    seated.seat = std::num::NonZeroU8::new(2);
    let first = v.open(vec![seated]).await;
    let second = v.open(vec![line(&v.rolex, 1)]).await;
    let tables = v.service.tables(v.waiter).await.unwrap();
    assert_eq!(tables[0].table.id, v.table.id);
    assert_eq!(tables[0].state, TableState::Occupied);
    assert_eq!(
        tables[0].orders.iter().map(|o| o.order_id).collect::<Vec<_>>(),
        [first.id, second.id],
        "several orders per table"
    );
    assert_eq!(tables[0].seats_taken, 1);
    assert_eq!(tables[1].state, TableState::Free);

    v.store.queue_print_job(NewPrintJob {
        id: PrintJobId::new(),
        kind: PrintJobKind::Receipt,
        printer: "front".into(),
        order_id: Some(second.id),
        shift_id: None,
        paper: Paper::Mm80,
        payload_text: "BILL".into(),
        payload_escpos: vec![],
    });
    let tables = v.service.tables(v.waiter).await.unwrap();
    assert_eq!(tables[0].state, TableState::BillRequested);
    assert!(tables[0].orders[1].bill_requested && !tables[0].orders[0].bill_requested);

    let open = v
        .service
        .list_orders(v.cashier, OrderFilter::unfinished(0))
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "a limit of 0 is clamped to 1");
    assert_eq!(open[0].id, second.id, "newest first");
    assert_eq!(v.service.get_order(v.waiter, first.id).await.unwrap(), first);
    assert!(matches!(
        v.service.get_order(v.waiter, OrderId::new()).await,
        Err(OrderServiceError::Store(crate::StoreError::NotFound {
            entity: "order"
        }))
    ));
}

#[tokio::test]
async fn a_bus_outage_loses_nothing_the_log_keeps() {
    let v = venue();
    v.bus.set_down(true);
    let created = applied(v.service.create_order(v.waiter, v.dine_in(vec![]), None).await);
    assert!(matches!(
        created.publish_error,
        Some(crate::BusError::Unavailable(_))
    ));
    assert_eq!(v.store.events(), created.events);
    assert!(v.bus.published().is_empty());
    v.bus.set_down(false);
    let again = applied(v.service.create_order(v.waiter, v.dine_in(vec![]), None).await);
    assert_eq!(again.publish_error, None);
    assert_eq!(v.bus.published(), again.events);
}

// ----- the store contract, on the fake -----------------------------------------------------

#[tokio::test]
async fn the_fake_meets_the_order_store_contract() {
    let v = venue();
    let fixture = ContractFixture {
        staff: v.waiter.actor.id,
        other_staff: v.cashier.actor.id,
        table: v.table.id,
        stocked: v.store.update_product(v.rolex.id, |p| p.stock_qty = Some(20)).id,
        untracked: v.beer.id,
        settings: crate::settings::Settings::defaults("Test Cafe"),
        business_date: NaiveDate::from_ymd_opt(2024, 3, 15).unwrap(),
    };
    contract::run_all(v.store.as_ref(), &fixture).await;
}

#[tokio::test]
async fn expired_keys_are_purged_and_then_execute_again() {
    use crate::order::ports::IdempotencyPurge;
    let v = venue();
    let first = applied(
        v.service
            .create_order(v.waiter, v.dine_in(vec![]), Some(claim(v.waiter, "old", "a")))
            .await,
    );
    v.clock.advance(TimeDelta::hours(25));
    // Expired but not yet purged: it no longer replays.
    let second = applied(
        v.service
            .create_order(v.waiter, v.dine_in(vec![]), Some(claim(v.waiter, "old", "a")))
            .await,
    );
    assert_ne!(first.order.id, second.order.id);
    v.clock.advance(TimeDelta::hours(25));
    let cutoff = crate::idempotency::purge_cutoff(v.clock.now());
    assert_eq!(v.store.purge_idempotency_records(cutoff).await, Ok(1));
    assert_eq!(v.store.idempotency_record(v.waiter.actor.id, &key("old")), None);
}

#[tokio::test]
async fn voiding_the_last_item_in_the_kitchen_readies_the_order() {
    let v = venue();
    let order = v.open(vec![line(&v.rolex, 1), line(&v.water, 1)]).await;
    let sent = v.send(&order).await.order;
    assert_eq!(sent.status, OrderStatus::Sent);
    let void = VoidCmd {
        reason: note("burnt"),
        approval: None,
    };
    let voided = applied(
        v.service
            .void_item(v.manager, Venue::edit(&sent), order.items[0].id, void, None)
            .await,
    );
    assert_eq!(voided.order.status, OrderStatus::Ready);
    assert_eq!(
        types(&voided),
        [
            "item.status_changed",
            "order.updated",
            "order.ready",
            "menu.updated"
        ]
    );
}

#[tokio::test]
async fn station_counts_follow_the_callers_station() {
    let v = venue();
    let order = v
        .open(vec![line(&v.rolex, 1), line(&v.rolex, 1), line(&v.beer, 1)])
        .await;
    v.send(&order).await;
    v.service
        .bump_item(v.kitchen, order.items[0].id, None)
        .await
        .unwrap();
    let all = v.service.station_counts(v.waiter).await.unwrap();
    let summary: Vec<(Station, u32, u32, u32)> = all
        .iter()
        .map(|c| (c.station, c.sent, c.preparing, c.waiting))
        .collect();
    assert_eq!(summary, [(Station::Kitchen, 1, 1, 2), (Station::Bar, 1, 0, 1)]);
    let bar = v.service.station_counts(v.bar).await.unwrap();
    assert_eq!(bar.iter().map(|c| c.station).collect::<Vec<_>>(), [Station::Bar]);
}

#[test]
fn the_service_runs_over_trait_objects_with_send_futures() {
    fn assert_send<T: Send>(_: &T) {}
    let clock = ManualClock::at(morning());
    let fake = InMemoryStore::new(Arc::new(clock.clone()));
    let caller = Caller::new(fake.add_staff(Role::Waiter, "wendy"), None);
    let store: Arc<dyn OrderPorts> = Arc::new(fake);
    let bus: Arc<dyn crate::ports::EventBus> = Arc::new(RecordingBus::default());
    let service: OrderService<dyn OrderPorts, crate::ports::SystemClock> = OrderService::new(
        store,
        bus,
        crate::ports::SystemClock,
        OrderServiceConfig::default(),
    );
    let menu = service.menu(caller);
    assert_send(&menu);
    let send = service.send(caller, Edit::new(OrderId::new(), None), None);
    assert_send(&send);
}
