#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The order ports against a real database: the domain's contract checks, then what only a
//! real database can show — concurrency (numbers, idempotency keys, opposite merges), the
//! all-or-nothing transaction (stock, events, print jobs, audit), and the rows written.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl, sql_query};
use pos_domain::approval::Actor;
use pos_domain::event::NewEvent;
use pos_domain::idempotency::{IdempotencyKey, RequestFingerprint, StoredResponse, purge_cutoff};
use pos_domain::ids::{OrderId, ProductId, StaffId, TableId};
use pos_domain::order::ports::{
    CreateWork, Effects, IdempotencyClaim, IdempotencyPurge, Mutation, OrderChange, OrderStore, OrderTarget,
    OrderWork, RenderInput, StockChange, WorkOutput,
};
use pos_domain::order::service::{
    Caller, CreateOrderCmd, Edit, ItemRequest, OrderService, OrderServiceConfig, OrderServiceError, VoidCmd,
};
use pos_domain::order::{ItemStatus, NewOrder, Order, OrderError, OrderStatus, OrderType};
use pos_domain::ports::{SettingsStore, StaffStore, SystemClock};
use pos_domain::settings::Settings;
use pos_domain::staff::{NewStaff, Station};
use pos_domain::testing::RecordingBus;
use pos_domain::testing::contract::{ContractFixture, run_all};
use pos_domain::totals::Pricing;
use pos_domain::validate::{Note, PersonName, Quantity, Username};
use pos_domain::{Role, StoreError};
use pos_postgres::{PgStore, PoolConfig};
use pos_testkit::TestDb;

// ----- a seeded venue ---------------------------------------------------------------------

struct Venue {
    store: PgStore,
    fixture: ContractFixture,
    waiter: Actor,
    manager: Actor,
    /// A kitchen product with 50 in stock.
    stocked: ProductId,
    /// A bar product whose stock is not tracked.
    untracked: ProductId,
    table: TableId,
}

fn new_staff(username: &str, role: Role) -> NewStaff {
    NewStaff {
        username: Username::parse(username).unwrap(),
        full_name: PersonName::parse(&format!("{username} person")).unwrap(),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        pin_hash: None,
        must_change_password: false,
    }
}

/// Runs one or more statements of test setup.
async fn exec(store: &PgStore, sql: String) {
    store.interact(move |c| Ok(c.batch_execute(&sql)?)).await.unwrap();
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `sql` must select one bigint named `n`.
async fn count(store: &PgStore, sql: &str) -> i64 {
    let sql = sql.to_owned();
    store
        .interact(move |c| Ok(sql_query(sql).get_result::<Count>(c)?.n))
        .await
        .unwrap()
}

#[derive(QueryableByName)]
struct Stock {
    #[diesel(sql_type = Nullable<Integer>)]
    stock_qty: Option<i32>,
}

async fn stock(store: &PgStore, product: ProductId) -> Option<i32> {
    store
        .interact(move |c| {
            Ok(
                sql_query(format!("SELECT stock_qty FROM products WHERE id = '{product}'"))
                    .get_result::<Stock>(c)?
                    .stock_qty,
            )
        })
        .await
        .unwrap()
}

async fn venue(db: &TestDb, pool_size: usize) -> Venue {
    let store = PgStore::with_config(db.url(), PoolConfig::new(pool_size)).unwrap();
    let settings = store
        .put_settings(&Settings::defaults("Test Cafe"))
        .await
        .unwrap();
    let waiter = store
        .create_staff(new_staff("waiter", Role::Waiter))
        .await
        .unwrap();
    let other = store
        .create_staff(new_staff("other", Role::Waiter))
        .await
        .unwrap();
    let manager = store
        .create_staff(new_staff("boss", Role::Manager))
        .await
        .unwrap();
    let (table, kitchen, bar, stocked, untracked) = (
        TableId::new(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        ProductId::new(),
        ProductId::new(),
    );
    let currency = settings.currency.code();
    exec(
        &store,
        format!(
            "INSERT INTO dining_tables (id, code, seats) VALUES ('{table}', 'T1', 4);
             INSERT INTO categories (id, name, default_station) VALUES
                 ('{kitchen}', 'Food', 'kitchen'), ('{bar}', 'Drinks', 'bar');
             INSERT INTO products (id, sku, name, category_id, price, currency, station, stock_qty) VALUES
                 ('{stocked}', 'ROLEX', 'Rolex', '{kitchen}', 5000, '{currency}', 'kitchen', 50),
                 ('{untracked}', 'SODA', 'Soda', '{bar}', 2000, '{currency}', 'bar', NULL);"
        ),
    )
    .await;
    let fixture = ContractFixture {
        staff: waiter.id,
        other_staff: other.id,
        table,
        stocked,
        untracked,
        settings,
        business_date: Utc::now().date_naive(),
    };
    Venue {
        store,
        fixture,
        waiter: Actor::new(waiter.id, Role::Waiter),
        manager: Actor::new(manager.id, Role::Manager),
        stocked,
        untracked,
        table,
    }
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A takeaway order of `date` with one `order.created` event.
fn takeaway(f: &ContractFixture, date: NaiveDate) -> CreateWork {
    let new = NewOrder {
        number: 0,
        business_date: date,
        order_type: OrderType::Takeaway,
        table_id: None,
        staff_id: f.staff,
        terminal_id: None,
        shift_id: None,
        preparation_notes: None,
        currency: f.settings.currency,
        pricing: Pricing::from_settings(&f.settings),
    };
    let at = now();
    Box::new(move |number| {
        let order = Order::new(NewOrder { number, ..new }, at)?;
        let event = NewEvent::new(
            "order.created",
            "orders",
            serde_json::json!({ "order_id": order.id, "number": number }),
        );
        Ok((
            order,
            WorkOutput {
                change: OrderChange::Created { items: vec![] },
                effects: Effects {
                    events: vec![event],
                    ..Effects::default()
                },
            },
        ))
    })
}

fn render(input: RenderInput<'_>) -> StoredResponse {
    match input {
        RenderInput::Committed { order, .. } => StoredResponse {
            status: 201,
            content_type: "application/json".into(),
            body: format!("{{\"id\":\"{}\",\"number\":{}}}", order.id, order.number).into_bytes(),
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

fn claim(staff: StaffId, key: &str, body: &str) -> IdempotencyClaim {
    IdempotencyClaim::new(
        staff,
        IdempotencyKey::parse(key).unwrap(),
        RequestFingerprint::new("POST", "/api/orders", body.as_bytes()),
        render,
    )
}

fn committed(result: Result<Mutation, StoreError>) -> pos_domain::order::ports::Committed {
    match result {
        Ok(Mutation::Committed(c)) => *c,
        other => panic!("expected a committed unit, got {other:?}"),
    }
}

fn refused(result: Result<Mutation, StoreError>) -> pos_domain::order::ports::Refusal {
    match result {
        Ok(Mutation::Refused(r)) => *r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn service(v: &Venue) -> OrderService<PgStore, SystemClock> {
    OrderService::new(
        Arc::new(v.store.clone()),
        Arc::new(RecordingBus::default()),
        SystemClock,
        OrderServiceConfig::default(),
    )
}

// ----- the contract -----------------------------------------------------------------------

#[tokio::test]
async fn the_order_store_contract_holds_on_postgres() {
    let db = TestDb::new();
    let v = venue(&db, 4).await;
    run_all(&v.store, &v.fixture).await;
}

// ----- concurrency ------------------------------------------------------------------------

/// Numbers are taken outside the unit's transaction (no counter row stays locked until a
/// create commits): creates that all succeed are numbered 1..n, none repeated, none skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_creates_get_numbers_1_to_200() {
    let db = TestDb::new();
    let v = venue(&db, 10).await;
    let date = v.fixture.business_date;
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let store = v.store.clone();
        let work = takeaway(&v.fixture, date);
        tasks.push(tokio::spawn(
            async move { store.create_order(date, None, work).await },
        ));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(committed(task.await.unwrap()).order.number);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=200).collect::<Vec<i32>>());
    let stored = count(
        &v.store,
        &format!(
            "SELECT count(DISTINCT number) AS n FROM orders WHERE business_date = '{date}' AND number BETWEEN 1 AND 200"
        ),
    )
    .await;
    assert_eq!(stored, 200);
    assert_eq!(
        count(
            &v.store,
            "SELECT count(*) AS n FROM events WHERE event_type = 'order.created'"
        )
        .await,
        200,
        "one event per committed create"
    );
    // A refused create writes no order; numbers stay increasing after it.
    let refusal = refused(
        v.store
            .create_order(date, None, Box::new(|_| Err(OrderError::EmptyOrder)))
            .await,
    );
    assert_eq!(refusal.error, OrderError::EmptyOrder);
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM orders").await, 200);
    let next = committed(v.store.create_order(date, None, takeaway(&v.fixture, date)).await);
    assert!(next.order.number > 200, "{}", next.order.number);
    // Another business date starts again at 1.
    let tomorrow = date.succ_opt().unwrap();
    let first = committed(
        v.store
            .create_order(tomorrow, None, takeaway(&v.fixture, tomorrow))
            .await,
    );
    assert_eq!(first.order.number, 1);
}

/// Concurrent creates each keep their own answer: refusals stored on their keys, a twin key
/// replayed, a key on record with another request refused as a mismatch.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_each_keep_their_own_answer() {
    let db = TestDb::new();
    let v = venue(&db, 4).await;
    let date = v.fixture.business_date;
    let staff = v.fixture.staff;
    let on_record = committed(
        v.store
            .create_order(
                date,
                Some(claim(staff, "on-record", "a")),
                takeaway(&v.fixture, date),
            )
            .await,
    );
    assert_eq!(on_record.order.number, 1);

    let mut tasks = Vec::new();
    for i in 0..60 {
        let store = v.store.clone();
        let (key, body, work): (String, &str, CreateWork) = match i % 6 {
            // refused by its work, with a key of its own
            1 => (
                format!("refused-{i}"),
                "r",
                Box::new(|_| Err(OrderError::EmptyOrder)),
            ),
            // the same key and request, twice
            2 => (format!("twin-{i}"), "t", takeaway(&v.fixture, date)),
            3 => (format!("twin-{}", i - 1), "t", takeaway(&v.fixture, date)),
            // the key of a committed create, another request
            4 => ("on-record".to_owned(), "other", takeaway(&v.fixture, date)),
            _ => (format!("fresh-{i}"), "f", takeaway(&v.fixture, date)),
        };
        let claim = claim(staff, &key, body);
        tasks.push(tokio::spawn(async move {
            (i % 6, store.create_order(date, Some(claim), work).await)
        }));
    }
    let mut numbers = vec![1];
    let (mut refusals, mut twins_replayed, mut mismatches) = (0, 0, 0);
    for task in tasks {
        match task.await.unwrap() {
            (1, Ok(Mutation::Refused(r))) => {
                assert!(r.response.is_some(), "a refusal with a key is stored");
                refusals += 1;
            }
            (2 | 3, Ok(Mutation::Replayed(_))) => twins_replayed += 1,
            (4, Ok(Mutation::KeyMismatch)) => mismatches += 1,
            (0 | 2 | 3 | 5, Ok(Mutation::Committed(c))) => numbers.push(c.order.number),
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((refusals, twins_replayed, mismatches), (10, 10, 10));
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 31, "no duplicate number");
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM orders").await, 31);
    assert_eq!(
        count(
            &v.store,
            "SELECT count(*) AS n FROM events WHERE event_type = 'order.created'"
        )
        .await,
        31
    );
    assert_eq!(
        count(
            &v.store,
            "SELECT count(*) AS n FROM idempotency_records WHERE status_code IS NOT NULL"
        )
        .await,
        1 + 20 + 10 + 10,
        "every key's answer is stored: on record, fresh, twins, refusals"
    );
    // A retry of a refused create replays its refusal and writes no order.
    let replay = v
        .store
        .create_order(
            date,
            Some(claim(staff, "refused-1", "r")),
            takeaway(&v.fixture, date),
        )
        .await
        .unwrap();
    assert!(
        matches!(replay, Mutation::Replayed(ref r) if r.status == 409),
        "{replay:?}"
    );
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM orders").await, 31);
    let next = committed(v.store.create_order(date, None, takeaway(&v.fixture, date)).await);
    assert!(next.order.number > *numbers.last().unwrap(), "numbers increase");
}

/// Concurrent changes to different orders each keep their own answer: stock taken one by
/// one and refused alone once a tracked stock is out, a stale version refused with the
/// order as it is, the refusals stored on their keys, nothing of a refused change written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_each_keep_their_own_answer() {
    let db = TestDb::new();
    let v = venue(&db, 4).await;
    let date = v.fixture.business_date;
    let mut orders = Vec::new();
    for _ in 0..40 {
        orders.push(committed(v.store.create_order(date, None, takeaway(&v.fixture, date)).await).order);
    }
    exec(
        &v.store,
        format!("UPDATE products SET stock_qty = 25 WHERE id = '{}'", v.stocked),
    )
    .await;
    let stocked = v.stocked;
    let mut tasks = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        let store = v.store.clone();
        let (id, version) = (order.id, order.version);
        // Every 8th request edits with a version that is no longer current.
        let expected = if i % 8 == 3 {
            Some(version + 7)
        } else {
            Some(version)
        };
        let claim = claim(v.fixture.staff, &format!("change-{i}"), &format!("{i}"));
        let work: OrderWork = Box::new(move |order| {
            order.preparation_notes = Some(Note::parse("grouped").unwrap());
            Ok(WorkOutput {
                change: OrderChange::PreparationNotesSet,
                effects: Effects {
                    stock: vec![StockChange {
                        product_id: stocked,
                        delta: -1,
                    }],
                    events: vec![NewEvent::new(
                        "order.updated",
                        "orders",
                        serde_json::json!({ "order_id": order.id, "version": order.version }),
                    )],
                    ..Effects::default()
                },
            })
        });
        tasks.push(tokio::spawn(async move {
            (
                i,
                store
                    .mutate_order(OrderTarget::Order(id), expected, Some(claim), work)
                    .await,
            )
        }));
    }
    let (mut taken, mut out, mut stale) = (0, 0, 0);
    for task in tasks {
        match task.await.unwrap() {
            (i, Ok(Mutation::Refused(r))) if i % 8 == 3 => {
                assert!(matches!(r.error, OrderError::StaleVersion { .. }), "{r:?}");
                assert_eq!(r.current.as_ref().map(|o| o.version), Some(1));
                assert!(r.response.is_some());
                stale += 1;
            }
            (_, Ok(Mutation::Refused(r))) => {
                assert_eq!(
                    r.error,
                    OrderError::OutOfStock {
                        product: stocked,
                        left: 0
                    }
                );
                assert!(r.response.is_some());
                out += 1;
            }
            (_, Ok(Mutation::Committed(c))) => {
                assert_eq!(c.order.version, 2);
                let menu = c.events.iter().find(|e| e.event_type == "menu.updated");
                assert!(menu.is_some(), "each stock change announces its level");
                taken += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((taken, out, stale), (25, 10, 5));
    assert_eq!(stock(&v.store, stocked).await, Some(0));
    assert_eq!(
        count(
            &v.store,
            "SELECT count(*) AS n FROM orders WHERE version = 2 AND preparation_notes = 'grouped'"
        )
        .await,
        25,
        "only the committed changes are saved"
    );
    assert_eq!(
        count(
            &v.store,
            "SELECT count(*) AS n FROM events WHERE event_type = 'order.updated'"
        )
        .await,
        25
    );
    assert_eq!(
        count(&v.store, "SELECT count(*) AS n FROM idempotency_records WHERE key LIKE 'change-%' AND status_code IS NOT NULL").await,
        40
    );
    // The levels each change announced go down one by one, none twice.
    let mut levels: Vec<i64> = Vec::new();
    for n in 0..25 {
        levels.push(count(&v.store, &format!(
            "SELECT count(*) AS n FROM events WHERE event_type = 'menu.updated' AND (payload->'stock'->0->>'stock_qty')::int = {n}"
        )).await);
    }
    assert!(levels.iter().all(|&l| l == 1), "{levels:?}");
    // A missing order is answered alone.
    let missing = v
        .store
        .mutate_order(
            OrderTarget::Order(OrderId::new()),
            None,
            None,
            Box::new(|_| Err(OrderError::NothingToSend)),
        )
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_requests_with_one_key_make_exactly_one_order() {
    let db = TestDb::new();
    let v = venue(&db, 10).await;
    let date = v.fixture.business_date;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let store = v.store.clone();
        let work = takeaway(&v.fixture, date);
        let claim = claim(v.fixture.staff, "same-key-50", r#"{"type":"takeaway"}"#);
        tasks.push(tokio::spawn(async move {
            store.create_order(date, Some(claim), work).await
        }));
    }
    let (mut created, mut replayed, mut in_progress) = (Vec::new(), Vec::new(), 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(Mutation::Committed(c)) => created.push(c),
            Ok(Mutation::Replayed(response)) => replayed.push(response),
            Ok(Mutation::KeyInProgress) => in_progress += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one request executes");
    assert_eq!(replayed.len() + in_progress, 49);
    let stored = created[0].response.clone().unwrap();
    assert!(
        replayed.iter().all(|r| *r == stored),
        "replays answer what was stored"
    );
    assert_eq!(
        count(&v.store, "SELECT count(*) AS n FROM orders").await,
        1,
        "no duplicate order"
    );
    assert_eq!(
        count(&v.store, "SELECT count(*) AS n FROM events").await,
        1,
        "no duplicate event"
    );
    assert_eq!(
        count(
            &v.store,
            "SELECT count(*) AS n FROM idempotency_records WHERE status_code = 201 AND completed_at IS NOT NULL"
        )
        .await,
        1
    );
}

/// A work that sets the order's preparation notes (no event).
fn set_notes(text: &'static str) -> OrderWork {
    let at = now();
    Box::new(move |order: &mut Order| {
        order.set_preparation_notes(Some(Note::parse(text).unwrap()), at)?;
        Ok(WorkOutput {
            change: OrderChange::PreparationNotesSet,
            effects: Effects::default(),
        })
    })
}

/// Changes that run at the same time each end exactly as they would alone: a failure or a
/// refusal undoes only its own writes, a twin key replays, a stale version is refused, and
/// what the database holds afterwards is what the answers said. (The first create waits
/// inside its transaction until the others are under way; nothing asserted depends on
/// which ran first.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_each_end_as_they_would_alone() {
    let db = TestDb::new();
    let v = venue(&db, 12).await;
    let date = v.fixture.business_date;
    let staff = v.fixture.staff;
    let existing = committed(v.store.create_order(date, None, takeaway(&v.fixture, date)).await).order;

    let (release, released) = std::sync::mpsc::channel::<()>();
    let (started, has_started) = tokio::sync::oneshot::channel::<()>();
    let held_work = takeaway(&v.fixture, date);
    let held = {
        let store = v.store.clone();
        tokio::spawn(async move {
            let work: CreateWork = Box::new(move |number| {
                let _ = started.send(());
                let _ = released.recv_timeout(Duration::from_secs(10));
                held_work(number)
            });
            store.create_order(date, None, work).await
        })
    };
    has_started.await.unwrap();

    let create = |claim: Option<IdempotencyClaim>, work: CreateWork| {
        let store = v.store.clone();
        tokio::spawn(async move { store.create_order(date, claim, work).await })
    };
    let mutate = |target: OrderId, version: Option<i32>, claim: Option<IdempotencyClaim>, work: OrderWork| {
        let store = v.store.clone();
        tokio::spawn(async move {
            store
                .mutate_order(OrderTarget::Order(target), version, claim, work)
                .await
        })
    };
    let twins = [
        create(Some(claim(staff, "twin", "same")), takeaway(&v.fixture, date)),
        create(Some(claim(staff, "twin", "same")), takeaway(&v.fixture, date)),
    ];
    let refused_create = create(
        Some(claim(staff, "empty", "nothing")),
        Box::new(|_| Err(OrderError::EmptyOrder)),
    );
    let missing = mutate(OrderId::new(), None, None, set_notes("nobody"));
    let failing_at = now();
    // No expected version: it reaches its writes whichever change of the order ran first.
    let failing = mutate(
        existing.id,
        None,
        Some(claim(staff, "doomed", "notes")),
        Box::new(move |order: &mut Order| {
            order.set_preparation_notes(Some(Note::parse("doomed").unwrap()), failing_at)?;
            Ok(WorkOutput {
                change: OrderChange::PreparationNotesSet,
                effects: Effects {
                    // events_event_type_check: at most 100 characters; fails after the save.
                    events: vec![NewEvent::new(&"x".repeat(101), "orders", serde_json::json!({}))],
                    ..Effects::default()
                },
            })
        }),
    );
    let rivals = [
        mutate(existing.id, Some(1), None, set_notes("first")),
        mutate(existing.id, Some(1), None, set_notes("second")),
    ];
    let plain: Vec<_> = (0..5).map(|_| create(None, takeaway(&v.fixture, date))).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    release.send(()).unwrap();

    let mut numbers = vec![existing.number, committed(held.await.unwrap()).order.number];
    let [first_twin, second_twin] = twins;
    let twin_answers = [first_twin.await.unwrap(), second_twin.await.unwrap()];
    let twin = twin_answers
        .iter()
        .find_map(|a| match a {
            Ok(Mutation::Committed(c)) => Some(c.clone()),
            _ => None,
        })
        .expect("one twin commits");
    let stored = twin.response.clone().unwrap();
    assert!(
        twin_answers
            .iter()
            .any(|a| matches!(a, Ok(Mutation::Replayed(r)) if *r == stored)),
        "the other twin replays its answer: {twin_answers:?}"
    );
    numbers.push(twin.order.number);
    let refusal = refused(refused_create.await.unwrap());
    assert_eq!(refusal.error, OrderError::EmptyOrder);
    assert!(refusal.response.is_some(), "a refusal with a key is stored");
    assert!(matches!(missing.await.unwrap(), Err(StoreError::NotFound { .. })));
    assert_eq!(
        failing.await.unwrap(),
        Err(StoreError::CheckViolation {
            constraint: "events_event_type_check".into()
        })
    );
    let [a, b] = rivals;
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let (winner, loser) = match (&a, &b) {
        (Ok(Mutation::Committed(_)), _) => (committed(a), refused(b)),
        _ => (committed(b), refused(a)),
    };
    assert_eq!(winner.order.version, 2);
    assert_eq!(
        loser.error,
        OrderError::StaleVersion {
            expected: 1,
            current: 2
        }
    );
    for create in plain {
        numbers.push(committed(create.await.unwrap()).order.number);
    }
    let distinct: BTreeSet<i32> = numbers.iter().copied().collect();
    assert_eq!(distinct.len(), numbers.len(), "numbers are distinct: {numbers:?}");

    // What the database holds is exactly what the answers said.
    assert_eq!(v.store.get_order(existing.id).await.unwrap(), winner.order);
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM orders").await, 8);
    assert_eq!(
        count(
            &v.store,
            "SELECT count(*) AS n FROM events WHERE event_type = 'order.created'"
        )
        .await,
        8
    );
    assert_eq!(
        count(
            &v.store,
            "SELECT count(*) AS n FROM idempotency_records WHERE key = 'doomed'"
        )
        .await,
        0,
        "the failed change's claim went with it"
    );
    assert_eq!(
        count(&v.store, "SELECT count(*) AS n FROM idempotency_records").await,
        2,
        "the twin's and the refusal's"
    );
    // The refusal replays as stored.
    assert_eq!(
        v.store
            .create_order(
                date,
                Some(claim(staff, "empty", "nothing")),
                takeaway(&v.fixture, date)
            )
            .await,
        Ok(Mutation::Replayed(refusal.response.unwrap()))
    );
}

#[tokio::test]
async fn a_key_reused_with_another_request_is_a_mismatch_and_writes_nothing() {
    let db = TestDb::new();
    let v = venue(&db, 2).await;
    let date = v.fixture.business_date;
    let staff = v.fixture.staff;
    committed(
        v.store
            .create_order(
                date,
                Some(claim(staff, "k-1", "first")),
                takeaway(&v.fixture, date),
            )
            .await,
    );
    assert_eq!(
        v.store
            .create_order(
                date,
                Some(claim(staff, "k-1", "second")),
                takeaway(&v.fixture, date)
            )
            .await,
        Ok(Mutation::KeyMismatch)
    );
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM orders").await, 1);
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM events").await, 1);
    // The record still remembers the first request.
    let fingerprint = RequestFingerprint::new("POST", "/api/orders", b"first");
    assert_eq!(
        count(
            &v.store,
            &format!(
                "SELECT count(*) AS n FROM idempotency_records WHERE key = 'k-1' AND fingerprint = '{}'",
                fingerprint.as_str()
            )
        )
        .await,
        1
    );
}

/// A committed record without a response (what an older writer may leave) is a request in
/// progress: the unit does not run.
#[tokio::test]
async fn a_committed_record_without_a_response_answers_in_progress() {
    let db = TestDb::new();
    let v = venue(&db, 2).await;
    let date = v.fixture.business_date;
    let staff = v.fixture.staff;
    let fingerprint = RequestFingerprint::new("POST", "/api/orders", b"pending");
    exec(
        &v.store,
        format!(
            "INSERT INTO idempotency_records (staff_id, key, fingerprint) VALUES ('{staff}', 'pending', '{}')",
            fingerprint.as_str()
        ),
    )
    .await;
    assert_eq!(
        v.store
            .create_order(
                date,
                Some(claim(staff, "pending", "pending")),
                takeaway(&v.fixture, date)
            )
            .await,
        Ok(Mutation::KeyInProgress)
    );
    assert_eq!(
        v.store
            .create_order(
                date,
                Some(claim(staff, "pending", "other")),
                takeaway(&v.fixture, date)
            )
            .await,
        Ok(Mutation::KeyMismatch)
    );
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM orders").await, 0);
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM events").await, 0);
}

/// A request whose key is held by a transaction that does not finish within the claim's
/// wait is told the request is in progress, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_held_by_a_running_transaction_answers_in_progress() {
    let db = TestDb::new();
    let v = venue(&db, 3).await;
    let date = v.fixture.business_date;
    let staff = v.fixture.staff;
    let fingerprint = RequestFingerprint::new("POST", "/api/orders", b"slow");
    // Another session claims the key and sits on it (uncommitted) for longer than the wait.
    let holder = v.store.clone();
    let sql = format!(
        "INSERT INTO idempotency_records (staff_id, key, fingerprint) VALUES ('{staff}', 'held', '{}')",
        fingerprint.as_str()
    );
    let hold = tokio::spawn(async move {
        holder
            .transaction(move |c| {
                sql_query(sql).execute(c)?;
                sql_query("SELECT pg_sleep(6.5)").execute(c)?;
                Err::<(), _>(StoreError::Internal("rolled back on purpose".into()).into())
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Creates with fresh keys arrive with it and still commit, each with its own number.
    let others: Vec<_> = (0..8)
        .map(|i| {
            let store = v.store.clone();
            let work = takeaway(&v.fixture, date);
            let claim = claim(staff, &format!("beside-held-{i}"), "fresh");
            tokio::spawn(async move { store.create_order(date, Some(claim), work).await })
        })
        .collect();
    let answer = v
        .store
        .create_order(
            date,
            Some(claim(staff, "held", "slow")),
            takeaway(&v.fixture, date),
        )
        .await;
    // The answer came while the holder still held the key: it waited for it, then gave up.
    assert!(!hold.is_finished(), "answered while the key is held");
    assert_eq!(answer, Ok(Mutation::KeyInProgress));
    let mut numbers = Vec::new();
    for other in others {
        numbers.push(committed(other.await.unwrap()).order.number);
    }
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 8);
    assert!(hold.await.unwrap().is_err());
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM orders").await, 8);
    // Once the holder rolled back, the key is free.
    committed(
        v.store
            .create_order(
                date,
                Some(claim(staff, "held", "slow")),
                takeaway(&v.fixture, date),
            )
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opposite_merges_running_together_never_deadlock() {
    let db = TestDb::new();
    let v = venue(&db, 10).await;
    let service = service(&v);
    let caller = Caller::new(v.waiter, None);
    let mut pairs = Vec::new();
    for _ in 0..15 {
        let mut ids = Vec::new();
        for product in [v.stocked, v.untracked] {
            let order = service
                .create_order(
                    caller,
                    CreateOrderCmd {
                        order_type: OrderType::DineIn,
                        table_id: Some(v.table),
                        shift_id: None,
                        preparation_notes: None,
                        items: vec![ItemRequest::new(product, Quantity::parse("q", 1).unwrap())],
                    },
                    None,
                )
                .await
                .unwrap()
                .applied()
                .unwrap()
                .order;
            ids.push(order.id);
        }
        pairs.push((ids[0], ids[1]));
    }
    let manager = Caller::new(v.manager, None);
    let mut tasks = Vec::new();
    for &(a, b) in &pairs {
        for (target, source) in [(a, b), (b, a)] {
            let service = service.clone();
            tasks.push(tokio::spawn(async move {
                let answer = service
                    .merge(manager, Edit::new(target, None), Edit::new(source, None), None)
                    .await;
                (target, source, answer)
            }));
        }
    }
    let mut merged = Vec::new();
    for task in tasks {
        let (target, source, answer) = task.await.unwrap();
        match answer {
            Ok(outcome) => merged.push((target, source, outcome.applied().unwrap())),
            // The loser finds its target already merged away (cancelled).
            Err(OrderServiceError::Refused {
                error: OrderError::OrderFinished { .. },
                ..
            }) => {}
            Err(e) => panic!("merge {source} → {target} failed: {e:?}"),
        }
    }
    assert_eq!(merged.len(), pairs.len(), "one merge of each pair wins");
    for (target, source, applied) in merged {
        let (t, s) = (
            v.store.get_order(target).await.unwrap(),
            v.store.get_order(source).await.unwrap(),
        );
        assert_eq!(t, applied.order);
        assert_eq!(t.items.len(), 2);
        assert_eq!((s.status, s.merged_into), (OrderStatus::Cancelled, Some(target)));
        assert!(s.items.is_empty());
    }
    assert_eq!(
        count(
            &v.store,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'order.merged'"
        )
        .await,
        15
    );
}

/// Sends lock the products whose stock they move (in id order) while creates insert items
/// referencing the same products (a foreign-key share lock each, in item order, here the
/// reverse): neither waits on the other, so nothing deadlocks and no stock is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sends_and_creates_of_the_same_products_never_deadlock() {
    let db = TestDb::new();
    let v = venue(&db, 10).await;
    let service = service(&v);
    let caller = Caller::new(v.waiter, None);
    let (low, high) = {
        let (a, b) = (ProductId::new(), ProductId::new());
        if a < b { (a, b) } else { (b, a) }
    };
    let category = uuid::Uuid::now_v7();
    exec(
        &v.store,
        format!(
            "INSERT INTO categories (id, name) VALUES ('{category}', 'Grill');
             INSERT INTO products (id, sku, name, category_id, price, currency, station, stock_qty) VALUES
                 ('{low}', 'LOW', 'Low', '{category}', 1000, 'UGX', 'kitchen', 1000),
                 ('{high}', 'HIGH', 'High', '{category}', 1000, 'UGX', 'kitchen', 1000);"
        ),
    )
    .await;
    let lines = move || {
        vec![
            ItemRequest::new(high, Quantity::parse("q", 1).unwrap()),
            ItemRequest::new(low, Quantity::parse("q", 1).unwrap()),
        ]
    };
    let cmd = move || CreateOrderCmd {
        order_type: OrderType::Takeaway,
        table_id: None,
        shift_id: None,
        preparation_notes: None,
        items: lines(),
    };
    let mut waiting = Vec::new();
    for _ in 0..30 {
        let order = service
            .create_order(caller, cmd(), None)
            .await
            .unwrap()
            .applied()
            .unwrap()
            .order;
        waiting.push(order.id);
    }
    let mut tasks = Vec::new();
    for id in waiting {
        let sender = service.clone();
        tasks.push(tokio::spawn(async move {
            sender.send(caller, Edit::new(id, None), None).await.map(|_| ())
        }));
        let creator = service.clone();
        tasks.push(tokio::spawn(async move {
            creator.create_order(caller, cmd(), None).await.map(|_| ())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(stock(&v.store, low).await, Some(970));
    assert_eq!(stock(&v.store, high).await, Some(970));
}

// ----- the unit of work: refusals, stock, rollback ---------------------------------------

#[tokio::test]
async fn a_refusal_with_a_key_is_stored_and_replayed_and_nothing_else_is_written() {
    let db = TestDb::new();
    let v = venue(&db, 2).await;
    let date = v.fixture.business_date;
    let order = committed(v.store.create_order(date, None, takeaway(&v.fixture, date)).await).order;
    let events_before = count(&v.store, "SELECT count(*) AS n FROM events").await;
    let at = now();
    let send = |_: ()| -> pos_domain::order::ports::OrderWork {
        Box::new(move |order| {
            Ok(WorkOutput {
                change: OrderChange::Sent(order.send(at)?),
                effects: Effects {
                    events: vec![NewEvent::new("order.sent", "orders", serde_json::json!({}))],
                    ..Effects::default()
                },
            })
        })
    };
    let refusal = refused(
        v.store
            .mutate_order(
                OrderTarget::Order(order.id),
                Some(1),
                Some(claim(v.fixture.staff, "send-1", "send")),
                send(()),
            )
            .await,
    );
    assert_eq!(refusal.error, OrderError::NothingToSend);
    assert_eq!(refusal.current.as_ref(), Some(&order));
    let stored = refusal.response.unwrap();
    assert_eq!(stored.status, 409);
    assert_eq!(
        count(
            &v.store,
            "SELECT count(*) AS n FROM idempotency_records WHERE key = 'send-1' AND status_code = 409 \
             AND content_type = 'application/problem+json' AND completed_at IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        v.store
            .mutate_order(
                OrderTarget::Order(order.id),
                Some(1),
                Some(claim(v.fixture.staff, "send-1", "send")),
                send(()),
            )
            .await,
        Ok(Mutation::Replayed(stored))
    );
    assert_eq!(v.store.get_order(order.id).await.unwrap(), order);
    assert_eq!(
        count(&v.store, "SELECT count(*) AS n FROM events").await,
        events_before
    );
}

#[tokio::test]
async fn a_stale_version_is_refused_with_the_current_order() {
    let db = TestDb::new();
    let v = venue(&db, 2).await;
    let service = service(&v);
    let caller = Caller::new(v.waiter, None);
    let order = service
        .create_order(
            caller,
            CreateOrderCmd {
                order_type: OrderType::DineIn,
                table_id: Some(v.table),
                shift_id: None,
                preparation_notes: None,
                items: vec![ItemRequest::new(v.untracked, Quantity::parse("q", 2).unwrap())],
            },
            None,
        )
        .await
        .unwrap()
        .applied()
        .unwrap()
        .order;
    // Two waiters read version 1; the first one's edit wins.
    let notes = |text: &str| Some(Note::parse(text).unwrap());
    let first = service
        .set_preparation_notes(caller, Edit::new(order.id, Some(1)), notes("no onions"), None)
        .await
        .unwrap()
        .applied()
        .unwrap()
        .order;
    assert_eq!(first.version, 2);
    match service
        .set_preparation_notes(caller, Edit::new(order.id, Some(1)), notes("extra chili"), None)
        .await
    {
        Err(OrderServiceError::Refused {
            error:
                OrderError::StaleVersion {
                    expected: 1,
                    current: 2,
                },
            current: Some(current),
            response: None,
        }) => assert_eq!(*current, first),
        other => panic!("expected a stale refusal, got {other:?}"),
    }
    let stored = v.store.get_order(order.id).await.unwrap();
    assert_eq!(stored, first);
    assert_eq!(stored.preparation_notes, notes("no onions"));
}

#[tokio::test]
async fn sending_takes_stock_queues_tickets_and_voiding_gives_it_back() {
    let db = TestDb::new();
    let v = venue(&db, 2).await;
    let service = service(&v);
    let caller = Caller::new(v.waiter, None);
    let order = service
        .create_order(
            caller,
            CreateOrderCmd {
                order_type: OrderType::DineIn,
                table_id: Some(v.table),
                shift_id: None,
                preparation_notes: None,
                items: vec![
                    ItemRequest::new(v.stocked, Quantity::parse("q", 3).unwrap()),
                    ItemRequest::new(v.untracked, Quantity::parse("q", 2).unwrap()),
                ],
            },
            None,
        )
        .await
        .unwrap()
        .applied()
        .unwrap()
        .order;
    assert_eq!(
        stock(&v.store, v.stocked).await,
        Some(50),
        "creating takes no stock"
    );
    // A row lock leaves its transaction in the row's xmax.
    let xmax =
        |product: ProductId| format!("SELECT xmax::text::bigint AS n FROM products WHERE id = '{product}'");
    let untracked_xmax = count(&v.store, &xmax(v.untracked)).await;
    let sent = service
        .send(
            caller,
            Edit::new(order.id, Some(order.version)),
            Some(claim(v.waiter.id, "send-key", "send")),
        )
        .await
        .unwrap()
        .applied()
        .unwrap();
    assert_eq!(sent.order.status, OrderStatus::Sent);
    assert!(sent.order.sent_to_kitchen_at.is_some() && sent.order.sent_to_bar_at.is_some());
    assert_eq!(stock(&v.store, v.stocked).await, Some(47));
    assert_eq!(stock(&v.store, v.untracked).await, None);
    assert_eq!(
        count(&v.store, &xmax(v.untracked)).await,
        untracked_xmax,
        "a stock that is not tracked is neither locked nor written by a send"
    );
    assert_eq!(v.store.get_order(order.id).await.unwrap(), sent.order);

    // One ticket per station, queued for its printer, in the same transaction.
    assert_eq!(sent.print_jobs.len(), 2);
    assert_eq!(
        count(
            &v.store,
            &format!(
                "SELECT count(*) AS n FROM print_jobs WHERE order_id = '{}' AND status = 'queued' AND attempts = 0 \
                 AND ((kind = 'kitchen_ticket' AND printer = 'kitchen') OR (kind = 'bar_ticket' AND printer = 'bar')) \
                 AND length(payload_text) > 0 AND length(payload_escpos) > 0",
                order.id
            )
        )
        .await,
        2
    );
    // The events are in the log with the ids the unit returned, the stock report last.
    let types: Vec<&str> = sent.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types.last(), Some(&"menu.updated"));
    assert_eq!(
        sent.events.last().unwrap().payload["stock"],
        serde_json::json!([{ "product_id": v.stocked, "stock_qty": 47, "delta": -3 }])
    );
    let first_id = sent.events[0].id;
    assert_eq!(
        count(
            &v.store,
            &format!("SELECT count(*) AS n FROM events WHERE id >= {first_id}")
        )
        .await,
        i64::try_from(sent.events.len()).unwrap()
    );
    let at_kitchen = v.store.orders_at_station(Station::Kitchen).await.unwrap();
    assert_eq!(
        at_kitchen.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![order.id]
    );

    // Voiding a sent item needs a manager and gives its stock back; the audit names both.
    let kitchen_item = sent
        .order
        .items
        .iter()
        .find(|i| i.product_id == v.stocked)
        .unwrap()
        .id;
    let voided = service
        .void_item(
            caller,
            Edit::new(order.id, Some(sent.order.version)),
            kitchen_item,
            VoidCmd {
                reason: Note::parse("dropped on the floor").unwrap(),
                approval: Some(v.manager),
            },
            None,
        )
        .await
        .unwrap()
        .applied()
        .unwrap();
    assert_eq!(
        voided.order.item(kitchen_item).unwrap().status,
        ItemStatus::Voided
    );
    assert_eq!(stock(&v.store, v.stocked).await, Some(50));
    assert_eq!(
        count(
            &v.store,
            &format!(
                "SELECT count(*) AS n FROM audit_log WHERE action = 'order_item.voided' \
                 AND actor_id = '{}' AND approver_id = '{}' AND entity_id = '{kitchen_item}'",
                v.waiter.id, v.manager.id
            )
        )
        .await,
        1
    );
    let stored = v.store.get_order(order.id).await.unwrap();
    assert_eq!(stored, voided.order);
    let void = stored.item(kitchen_item).unwrap().void.clone().unwrap();
    assert_eq!(void.approved_by, Some(v.manager.id));
    // The voided line no longer counts; the stored totals are the domain's.
    let totals = stored.totals().unwrap();
    assert_eq!(
        count(
            &v.store,
            &format!("SELECT total AS n FROM orders WHERE id = '{}'", order.id)
        )
        .await,
        totals.total.minor()
    );
    assert_eq!(totals.total.minor(), 4000);
}

#[tokio::test]
async fn an_out_of_stock_send_writes_nothing_at_all() {
    let db = TestDb::new();
    let v = venue(&db, 2).await;
    let service = service(&v);
    let caller = Caller::new(v.waiter, None);
    exec(
        &v.store,
        format!("UPDATE products SET stock_qty = 2 WHERE id = '{}'", v.stocked),
    )
    .await;
    let order = service
        .create_order(
            caller,
            CreateOrderCmd {
                order_type: OrderType::DineIn,
                table_id: Some(v.table),
                shift_id: None,
                preparation_notes: None,
                items: vec![
                    ItemRequest::new(v.untracked, Quantity::parse("q", 1).unwrap()),
                    ItemRequest::new(v.stocked, Quantity::parse("q", 2).unwrap()),
                ],
            },
            None,
        )
        .await
        .unwrap()
        .applied()
        .unwrap()
        .order;
    // Someone else's send took one in between.
    exec(
        &v.store,
        format!("UPDATE products SET stock_qty = 1 WHERE id = '{}'", v.stocked),
    )
    .await;
    let events = count(&v.store, "SELECT count(*) AS n FROM events").await;
    match service
        .send(
            caller,
            Edit::new(order.id, Some(order.version)),
            Some(claim(v.waiter.id, "send-oos", "send")),
        )
        .await
    {
        Err(OrderServiceError::Refused {
            error: OrderError::OutOfStock { product, left: 1 },
            current: Some(current),
            response: Some(response),
        }) => {
            assert_eq!(product, v.stocked);
            assert_eq!(*current, order);
            assert_eq!(response.status, 409);
        }
        other => panic!("expected out of stock, got {other:?}"),
    }
    assert_eq!(stock(&v.store, v.stocked).await, Some(1));
    assert_eq!(
        v.store.get_order(order.id).await.unwrap(),
        order,
        "items still pending"
    );
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM events").await, events);
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM print_jobs").await, 0);
    assert_eq!(
        count(
            &v.store,
            "SELECT count(*) AS n FROM idempotency_records WHERE key = 'send-oos' AND status_code = 409"
        )
        .await,
        1,
        "only the answer is kept"
    );
}

#[tokio::test]
async fn a_unit_that_fails_after_its_first_event_leaves_no_event_and_no_claim() {
    let db = TestDb::new();
    let v = venue(&db, 2).await;
    let date = v.fixture.business_date;
    let order = committed(v.store.create_order(date, None, takeaway(&v.fixture, date)).await).order;
    let events = count(&v.store, "SELECT count(*) AS n FROM events").await;
    let at = now();
    let order_id = order.id;
    let failing = Box::new(move |order: &mut Order| {
        order.set_preparation_notes(Some(Note::parse("changed").unwrap()), at)?;
        Ok(WorkOutput {
            change: OrderChange::PreparationNotesSet,
            effects: Effects {
                print_jobs: vec![pos_domain::print_job::NewPrintJob {
                    id: pos_domain::ids::PrintJobId::new(),
                    kind: pos_domain::print_job::PrintJobKind::Receipt,
                    printer: "front".into(),
                    order_id: Some(order_id),
                    shift_id: None,
                    paper: pos_domain::printing::Paper::Mm80,
                    payload_text: "BILL\n".into(),
                    payload_escpos: vec![0x1b, 0x40],
                }],
                events: vec![
                    NewEvent::new("order.updated", "orders", serde_json::json!({})),
                    // events_event_type_check: at most 100 characters.
                    NewEvent::new(&"x".repeat(101), "orders", serde_json::json!({})),
                ],
                ..Effects::default()
            },
        })
    });
    let answer = v
        .store
        .mutate_order(
            OrderTarget::Order(order.id),
            Some(1),
            Some(claim(v.fixture.staff, "doomed", "notes")),
            failing,
        )
        .await;
    assert_eq!(
        answer,
        Err(StoreError::CheckViolation {
            constraint: "events_event_type_check".into()
        })
    );
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM events").await, events);
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM print_jobs").await, 0);
    assert_eq!(v.store.get_order(order.id).await.unwrap(), order);
    assert!(v.store.bills_requested(&[order.id]).await.unwrap().is_empty());
    assert_eq!(
        count(&v.store, "SELECT count(*) AS n FROM idempotency_records").await,
        0,
        "the claim rolled back with the unit"
    );

    // A server error rendered for the answer rolls everything back too.
    let server_error = IdempotencyClaim::new(
        v.fixture.staff,
        IdempotencyKey::parse("five-hundred").unwrap(),
        RequestFingerprint::new("POST", "/x", b""),
        |_| StoredResponse {
            status: 500,
            content_type: "application/problem+json".into(),
            body: Vec::new(),
        },
    );
    let answer = v
        .store
        .create_order(date, Some(server_error), takeaway(&v.fixture, date))
        .await;
    assert!(matches!(answer, Err(StoreError::Internal(_))), "{answer:?}");
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM orders").await, 1);
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM events").await, events);
    assert_eq!(
        count(&v.store, "SELECT count(*) AS n FROM idempotency_records").await,
        0
    );
    let next = committed(v.store.create_order(date, None, takeaway(&v.fixture, date)).await);
    assert!(
        next.order.number >= 2,
        "numbers increase past a rolled-back create"
    );
    assert_eq!(count(&v.store, "SELECT count(*) AS n FROM orders").await, 2);
}

#[tokio::test]
async fn an_item_target_follows_its_item_after_a_merge() {
    let db = TestDb::new();
    let v = venue(&db, 2).await;
    let service = service(&v);
    let caller = Caller::new(v.waiter, None);
    let mut orders = Vec::new();
    for product in [v.stocked, v.untracked] {
        let order = service
            .create_order(
                caller,
                CreateOrderCmd {
                    order_type: OrderType::DineIn,
                    table_id: Some(v.table),
                    shift_id: None,
                    preparation_notes: None,
                    items: vec![ItemRequest::new(product, Quantity::parse("q", 1).unwrap())],
                },
                None,
            )
            .await
            .unwrap()
            .applied()
            .unwrap()
            .order;
        let sent = service
            .send(caller, Edit::new(order.id, None), None)
            .await
            .unwrap()
            .applied()
            .unwrap()
            .order;
        orders.push(sent);
    }
    let (target, source) = (&orders[0], &orders[1]);
    let moved = source.items[0].id;
    service
        .merge(
            Caller::new(v.manager, None),
            Edit::new(target.id, Some(target.version)),
            Edit::new(source.id, Some(source.version)),
            None,
        )
        .await
        .unwrap();
    let bumped = service
        .bump_item(Caller::new(v.manager, None), moved, None)
        .await
        .unwrap()
        .applied()
        .unwrap();
    assert_eq!(bumped.order.id, target.id, "the bump found the item's new order");
    assert_eq!(bumped.order.item(moved).unwrap().status, ItemStatus::Preparing);
    let at_bar = v.store.orders_at_station(Station::Bar).await.unwrap();
    assert_eq!(at_bar.iter().map(|o| o.id).collect::<Vec<_>>(), vec![target.id]);
    assert_eq!(at_bar[0].items.len(), 2, "with all its items");
}

#[tokio::test]
async fn station_queues_are_oldest_first_and_lists_load_every_order_with_its_items() {
    let db = TestDb::new();
    let v = venue(&db, 2).await;
    let service = service(&v);
    let caller = Caller::new(v.waiter, None);
    let mut sent = Vec::new();
    for quantity in 1..=3 {
        let order = service
            .create_order(
                caller,
                CreateOrderCmd {
                    order_type: OrderType::Takeaway,
                    table_id: None,
                    shift_id: None,
                    preparation_notes: None,
                    items: vec![
                        ItemRequest::new(v.stocked, Quantity::parse("q", quantity).unwrap()),
                        ItemRequest::new(v.untracked, Quantity::parse("q", 1).unwrap()),
                    ],
                },
                None,
            )
            .await
            .unwrap()
            .applied()
            .unwrap()
            .order;
        tokio::time::sleep(Duration::from_millis(2)).await;
        sent.push(
            service
                .send(caller, Edit::new(order.id, None), None)
                .await
                .unwrap()
                .applied()
                .unwrap()
                .order,
        );
    }
    let queue: Vec<OrderId> = v
        .store
        .orders_at_station(Station::Kitchen)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(
        queue,
        sent.iter().map(|o| o.id).collect::<Vec<_>>(),
        "oldest first"
    );
    // A whole ticket bumped to ready stays on the queue; a voided order leaves it.
    service
        .void_order(
            Caller::new(v.manager, None),
            Edit::new(sent[0].id, None),
            VoidCmd {
                reason: Note::parse("customer left").unwrap(),
                approval: None,
            },
            None,
        )
        .await
        .unwrap();
    let queue: Vec<OrderId> = v
        .store
        .orders_at_station(Station::Kitchen)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(queue, vec![sent[1].id, sent[2].id]);
    assert_eq!(stock(&v.store, v.stocked).await, Some(50 - 2 - 3));

    let listed = v
        .store
        .list_orders(&pos_domain::order::ports::OrderFilter::unfinished(500))
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![sent[2].id, sent[1].id]
    );
    for order in &listed {
        assert_eq!(order, &v.store.get_order(order.id).await.unwrap());
        assert_eq!(order.items.len(), 2);
    }
    let limited = v
        .store
        .list_orders(&pos_domain::order::ports::OrderFilter {
            limit: 1,
            ..pos_domain::order::ports::OrderFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    let voided = v
        .store
        .list_orders(&pos_domain::order::ports::OrderFilter {
            statuses: vec![OrderStatus::Voided],
            staff_id: Some(v.waiter.id),
            business_date: Some(sent[0].business_date),
            limit: 10,
            ..pos_domain::order::ports::OrderFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(voided.iter().map(|o| o.id).collect::<Vec<_>>(), vec![sent[0].id]);
    assert!(voided[0].items.iter().all(|i| i.status == ItemStatus::Voided));
}

#[tokio::test]
async fn purging_deletes_only_records_older_than_the_cutoff() {
    let db = TestDb::new();
    let v = venue(&db, 2).await;
    let staff = v.fixture.staff;
    let fingerprint = RequestFingerprint::new("POST", "/api/orders", b"{}");
    exec(
        &v.store,
        format!(
            "INSERT INTO idempotency_records (staff_id, key, fingerprint, status_code, created_at) VALUES
                 ('{staff}', 'old', '{f}', 201, now() - interval '25 hours'),
                 ('{staff}', 'edge', '{f}', 201, now() - interval '23 hours 59 minutes'),
                 ('{staff}', 'new', '{f}', 201, now() - interval '1 hour')",
            f = fingerprint.as_str()
        ),
    )
    .await;
    let purged = v
        .store
        .purge_idempotency_records(purge_cutoff(Utc::now()))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    #[derive(QueryableByName)]
    struct Key {
        #[diesel(sql_type = Text)]
        key: String,
    }
    let left: BTreeSet<String> = v
        .store
        .interact(|c| Ok(sql_query("SELECT key FROM idempotency_records").load::<Key>(c)?))
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.key)
        .collect();
    assert_eq!(left, BTreeSet::from(["edge".to_owned(), "new".to_owned()]));
    assert_eq!(
        v.store
            .purge_idempotency_records(Utc::now() - TimeDelta::days(2))
            .await
            .unwrap(),
        0
    );
}

/// A record that outlived its retention but was not purged yet is taken over by a new
/// request with that key, whatever it was used for.
#[tokio::test]
async fn an_expired_record_is_reused_by_a_new_request() {
    let db = TestDb::new();
    let v = venue(&db, 2).await;
    let date = v.fixture.business_date;
    let staff = v.fixture.staff;
    let old = RequestFingerprint::new("POST", "/api/orders", b"yesterday");
    exec(
        &v.store,
        format!(
            "INSERT INTO idempotency_records (staff_id, key, fingerprint, status_code, response_body, content_type, created_at)
             VALUES ('{staff}', 'reused', '{}', 201, 'old', 'text/plain', now() - interval '25 hours')",
            old.as_str()
        ),
    )
    .await;
    let created = committed(
        v.store
            .create_order(
                date,
                Some(claim(staff, "reused", "today")),
                takeaway(&v.fixture, date),
            )
            .await,
    );
    assert_eq!(
        v.store
            .create_order(
                date,
                Some(claim(staff, "reused", "today")),
                takeaway(&v.fixture, date)
            )
            .await,
        Ok(Mutation::Replayed(created.response.unwrap()))
    );
    assert_eq!(
        count(
            &v.store,
            "SELECT count(*) AS n FROM idempotency_records WHERE key = 'reused' AND created_at > now() - interval '1 minute'"
        )
        .await,
        1
    );
}
