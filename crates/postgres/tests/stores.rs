#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The store ports against a real database, including the errors each port promises.

use std::time::{Duration, Instant};

use chrono::{NaiveTime, TimeZone, Utc};
use diesel::sql_types::{BigInt, Integer};
use diesel::{QueryableByName, RunQueryDsl, sql_query};
use pos_domain::event::NewEvent;
use pos_domain::ids::{StaffId, TerminalId};
use pos_domain::ports::{
    HealthProbe, MenuStore, SeedStore, SettingsStore, StaffStore, TableStore, TerminalStore,
};
use pos_domain::seed::{SeedCategory, SeedProduct, SeedStaff, SeedTable, SeedTerminal, VenueSeed};
use pos_domain::settings::Settings;
use pos_domain::staff::{NewStaff, NewTerminal, Station, TerminalChanges, TerminalKind};
use pos_domain::validate::{Label, PersonName, Sku, Username};
use pos_domain::{Currency, Money, Role, StoreError};
use pos_postgres::{DbError, EventFollower, PgStore, PoolConfig};
use pos_testkit::TestDb;

async fn store(db: &TestDb) -> PgStore {
    PgStore::connect(db.url(), 4).await.unwrap()
}

fn new_staff(username: &str, role: Role) -> NewStaff {
    NewStaff {
        username: Username::parse(username).unwrap(),
        full_name: PersonName::parse("Test Person").unwrap(),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        pin_hash: None,
        must_change_password: false,
    }
}

fn new_terminal(code: &str) -> NewTerminal {
    NewTerminal {
        code: code.to_owned(),
        name: Label::parse("Front till").unwrap(),
        kind: TerminalKind::Pos,
        station: None,
        location: Some("counter".to_owned()),
        has_printer: true,
        has_cash_drawer: true,
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(store: &PgStore, table: &'static str) -> i64 {
    store
        .interact(move |c| {
            Ok(sql_query(format!("SELECT count(*) AS n FROM {table}"))
                .get_result::<Count>(c)?
                .n)
        })
        .await
        .unwrap()
}

/// Runs raw SQL through the store, so its error is classified at the boundary.
async fn exec(store: &PgStore, sql: &str) -> Result<usize, StoreError> {
    let sql = sql.to_owned();
    store.interact(move |c| Ok(sql_query(sql).execute(c)?)).await
}

#[tokio::test]
async fn staff_can_be_created_read_found_and_listed() {
    let db = TestDb::new();
    let store = store(&db).await;

    let created = store
        .create_staff(new_staff("Phiona", Role::Cashier))
        .await
        .unwrap();
    assert_eq!(created.username.as_str(), "phiona");
    assert_eq!(created.role, Role::Cashier);
    assert!(created.active);
    assert_eq!(created.token_version, 0);
    assert!(!created.has_pin);

    assert_eq!(store.get_staff(created.id).await.unwrap(), created);
    assert_eq!(
        store.get_staff(StaffId::new()).await,
        Err(StoreError::NotFound { entity: "staff" })
    );

    let creds = store
        .find_credentials(&Username::parse("phiona").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.staff, created);
    assert!(creds.password_hash.starts_with("$argon2id$"));
    assert_eq!(creds.pin_hash, None);
    assert!(
        store
            .find_credentials(&Username::parse("nobody").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let mut with_pin = new_staff("able", Role::Admin);
    with_pin.pin_hash = Some("$argon2id$pin".to_owned());
    let able = store.create_staff(with_pin).await.unwrap();
    assert!(able.has_pin);
    let zed = store.create_staff(new_staff("zed", Role::Waiter)).await.unwrap();
    exec(
        &store,
        &format!("UPDATE staff SET active = false WHERE id = '{}'", able.id),
    )
    .await
    .unwrap();
    let names: Vec<String> = store
        .list_staff()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.username.as_str().to_owned())
        .collect();
    assert_eq!(names, ["phiona", "zed", "able"], "active first, then by username");
    assert!(zed.active);
}

#[tokio::test]
async fn a_duplicate_username_is_a_conflict_naming_the_constraint() {
    let db = TestDb::new();
    let store = store(&db).await;
    store
        .create_staff(new_staff("linus", Role::Manager))
        .await
        .unwrap();
    assert_eq!(
        store.create_staff(new_staff("LINUS", Role::Waiter)).await,
        Err(StoreError::Conflict {
            constraint: "staff_username_key".to_owned()
        })
    );
    assert_eq!(count(&store, "staff").await, 1);
}

#[tokio::test]
async fn terminals_are_registered_found_and_touched() {
    let db = TestDb::new();
    let store = store(&db).await;
    let created = store.create_terminal(new_terminal("pos-1")).await.unwrap();
    assert_eq!(created.kind, TerminalKind::Pos);
    assert_eq!(created.last_seen_at, None);
    assert!(created.has_printer && created.has_cash_drawer && created.active);
    assert_eq!(store.find_terminal("pos-1").await.unwrap(), Some(created.clone()));
    assert_eq!(store.find_terminal("pos-9").await.unwrap(), None);

    let mut kds = new_terminal("kds-1");
    kds.kind = TerminalKind::Kds;
    kds.station = Some(Station::Kitchen);
    store.create_terminal(kds).await.unwrap();
    assert_eq!(
        store.create_terminal(new_terminal("pos-1")).await,
        Err(StoreError::Conflict {
            constraint: "terminals_code_key".to_owned()
        })
    );
    let codes: Vec<String> = store
        .list_terminals()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.code)
        .collect();
    assert_eq!(codes, ["kds-1", "pos-1"]);

    let noon = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    store.touch_terminal(created.id, noon).await.unwrap();
    let seen =
        |store: PgStore| async move { store.find_terminal("pos-1").await.unwrap().unwrap().last_seen_at };
    assert_eq!(seen(store.clone()).await, Some(noon));
    // A request that finished late never moves last-seen back.
    store
        .touch_terminal(created.id, noon - chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(seen(store.clone()).await, Some(noon));
    store
        .touch_terminal(created.id, noon + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        seen(store.clone()).await,
        Some(noon + chrono::Duration::minutes(1))
    );

    assert_eq!(
        store.touch_terminal(TerminalId::new(), noon).await,
        Err(StoreError::NotFound { entity: "terminal" })
    );

    let current = store.get_terminal(created.id).await.unwrap();
    assert_eq!(current.last_seen_at, Some(noon + chrono::Duration::minutes(1)));
    assert_eq!(
        store.get_terminal(TerminalId::new()).await,
        Err(StoreError::NotFound { entity: "terminal" })
    );
    assert_eq!(
        store
            .update_terminal(created.id, TerminalChanges::default())
            .await
            .unwrap(),
        current,
        "no changes, nothing changed"
    );
    let updated = store
        .update_terminal(
            created.id,
            TerminalChanges {
                code: Some("bar-1".to_owned()),
                kind: Some(TerminalKind::Kds),
                station: Some(Some(Station::Bar)),
                location: Some(None),
                active: Some(false),
                ..TerminalChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            updated.code.as_str(),
            updated.kind,
            updated.station,
            updated.location.as_deref(),
            updated.active
        ),
        ("bar-1", TerminalKind::Kds, Some(Station::Bar), None, false)
    );
    assert_eq!(updated.name, current.name, "fields not named stay as they were");
    assert!(updated.has_printer);
    let cleared = store
        .update_terminal(
            created.id,
            TerminalChanges {
                station: Some(None),
                ..TerminalChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.station, None);
    assert_eq!(
        store
            .update_terminal(
                created.id,
                TerminalChanges {
                    code: Some("kds-1".to_owned()),
                    ..TerminalChanges::default()
                }
            )
            .await,
        Err(StoreError::Conflict {
            constraint: "terminals_code_key".to_owned()
        })
    );
    assert_eq!(
        store
            .update_terminal(
                TerminalId::new(),
                TerminalChanges {
                    active: Some(true),
                    ..TerminalChanges::default()
                }
            )
            .await,
        Err(StoreError::NotFound { entity: "terminal" })
    );
}

fn demo_seed() -> VenueSeed {
    let ugx = |n| Money::new(n, Currency::Ugx);
    let product = |sku: &str, name: &str, category: &str, section: Option<&str>, price| SeedProduct {
        sku: Sku::parse(sku).unwrap(),
        name: Label::parse(name).unwrap(),
        category: Label::parse(category).unwrap(),
        section: section.map(str::to_owned),
        price: ugx(price),
        station: None,
        happy_hour_price: None,
        image_url: None,
        sort_order: 0,
    };
    let mut pizza = product("FOOD-PZ-001", "Margherita", "Food", Some("Pizza"), 35_000);
    pizza.sort_order = 1;
    let mut beer = product("DRK-BR-001", "Nile Special", "Drinks", Some("Beer"), 6_000);
    beer.happy_hour_price = Some(ugx(5_000));
    let mut water = product("DRK-WT-001", "Water", "Drinks", None, 2_000);
    water.station = Some(Station::Kitchen);
    VenueSeed {
        settings: Settings::defaults("Cafe Havilah"),
        staff: vec![
            SeedStaff {
                username: Username::parse("able").unwrap(),
                full_name: PersonName::parse("Able").unwrap(),
                role: Role::Admin,
                password_hash: "$argon2id$seed".to_owned(),
            },
            SeedStaff {
                username: Username::parse("emma").unwrap(),
                full_name: PersonName::parse("Emma").unwrap(),
                role: Role::Kitchen,
                password_hash: "$argon2id$seed".to_owned(),
            },
        ],
        terminals: vec![
            SeedTerminal {
                code: "pos-1".to_owned(),
                name: Label::parse("POS 1").unwrap(),
                kind: TerminalKind::Pos,
                station: None,
            },
            SeedTerminal {
                code: "kds-1".to_owned(),
                name: Label::parse("Kitchen Display 1").unwrap(),
                kind: TerminalKind::Kds,
                station: Some(Station::Kitchen),
            },
        ],
        tables: vec![
            SeedTable {
                code: Label::parse("T1").unwrap(),
                seats: 4,
                sort_order: 1,
            },
            SeedTable {
                code: Label::parse("Booth I").unwrap(),
                seats: 3,
                sort_order: 0,
            },
        ],
        categories: vec![
            SeedCategory {
                name: Label::parse("Food").unwrap(),
                default_station: Some(Station::Kitchen),
                sort_order: 0,
            },
            SeedCategory {
                name: Label::parse("Drinks").unwrap(),
                default_station: Some(Station::Bar),
                sort_order: 1,
            },
        ],
        products: vec![pizza, beer, water],
    }
}

#[tokio::test]
async fn seeding_twice_changes_nothing_the_second_time() {
    let db = TestDb::new();
    let store = store(&db).await;
    let seed = demo_seed();

    let first = store.seed_venue(&seed).await.unwrap();
    assert_eq!(
        (
            first.staff,
            first.terminals,
            first.tables,
            first.categories,
            first.products,
            first.settings
        ),
        (2, 2, 2, 2, 3, true)
    );
    let tables = [
        "staff",
        "terminals",
        "dining_tables",
        "categories",
        "products",
        "settings",
    ];
    let mut before = Vec::new();
    for t in tables {
        before.push(count(&store, t).await);
    }
    assert_eq!(before, [2, 2, 2, 2, 3, 1]);
    let staff_before = store.list_staff().await.unwrap();

    let second = store.seed_venue(&seed).await.unwrap();
    assert_eq!(second, pos_domain::seed::SeedReport::default(), "all zeros");
    let mut after = Vec::new();
    for t in tables {
        after.push(count(&store, t).await);
    }
    assert_eq!(after, before);
    assert_eq!(
        store.list_staff().await.unwrap(),
        staff_before,
        "existing rows untouched"
    );

    let creds = store
        .find_credentials(&Username::parse("emma").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        creds.staff.must_change_password,
        "seeded accounts must change the demo password"
    );
    assert_eq!(creds.staff.role, Role::Kitchen);
    assert_eq!(
        store.get_settings().await.unwrap(),
        Settings::defaults("Cafe Havilah")
    );

    let codes: Vec<String> = store
        .list_tables()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.code.as_str().to_owned())
        .collect();
    assert_eq!(codes, ["Booth I", "T1"], "tables in sort order");
    let categories = store.list_categories().await.unwrap();
    assert_eq!(
        categories
            .iter()
            .map(|c| (c.name.as_str(), c.default_station))
            .collect::<Vec<_>>(),
        [("Food", Some(Station::Kitchen)), ("Drinks", Some(Station::Bar))]
    );
    let products = store.list_products().await.unwrap();
    let summary: Vec<_> = products
        .iter()
        .map(|p| (p.sku.as_str(), p.section.as_deref(), p.station, p.category_id))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "FOOD-PZ-001",
                Some("Pizza"),
                Some(Station::Kitchen),
                categories[0].id
            ),
            ("DRK-BR-001", Some("Beer"), Some(Station::Bar), categories[1].id),
            // An explicit station wins over the category's default.
            ("DRK-WT-001", None, Some(Station::Kitchen), categories[1].id),
        ]
    );
    assert_eq!(products[1].price, Money::new(6_000, Currency::Ugx));
    assert_eq!(
        products[1].happy_hour_price,
        Some(Money::new(5_000, Currency::Ugx))
    );
}

#[tokio::test]
async fn a_seed_is_all_or_nothing() {
    let db = TestDb::new();
    let store = store(&db).await;
    let mut seed = demo_seed();
    seed.products[2].category = Label::parse("Desserts").unwrap();
    assert_eq!(
        store.seed_venue(&seed).await,
        Err(StoreError::ForeignKeyViolation {
            constraint: "products_category_id_fkey".to_owned()
        })
    );
    for t in [
        "staff",
        "terminals",
        "dining_tables",
        "categories",
        "products",
        "settings",
    ] {
        assert_eq!(count(&store, t).await, 0, "{t} rolled back");
    }
}

#[tokio::test]
async fn products_come_with_their_active_modifiers() {
    let db = TestDb::new();
    let store = store(&db).await;
    store.seed_venue(&demo_seed()).await.unwrap();
    exec(
        &store,
        "INSERT INTO modifiers (product_id, name, price, sort_order, active) \
         SELECT id, m.name, m.price, m.sort_order, m.active FROM products, \
         (VALUES ('Extra cheese', 3000, 1, true), ('No basil', 0, 0, true), ('Retired', 100, 2, false)) \
           AS m(name, price, sort_order, active) WHERE sku = 'FOOD-PZ-001'",
    )
    .await
    .unwrap();
    exec(
        &store,
        "UPDATE products SET active = false WHERE sku = 'DRK-WT-001'",
    )
    .await
    .unwrap();

    let products = store.list_products().await.unwrap();
    assert_eq!(products.len(), 2, "retired products are not on the menu");
    let pizza = &products[0];
    let mods: Vec<_> = pizza
        .modifiers
        .iter()
        .map(|m| (m.name.as_str(), m.price.minor()))
        .collect();
    assert_eq!(mods, [("No basil", 0), ("Extra cheese", 3000)]);
    assert!(
        pizza
            .modifiers
            .iter()
            .all(|m| m.product_id == pizza.id && m.price.currency() == Currency::Ugx)
    );
    assert!(products[1].modifiers.is_empty());
}

#[tokio::test]
async fn settings_round_trip() {
    let db = TestDb::new();
    let store = store(&db).await;
    assert_eq!(
        store.get_settings().await,
        Err(StoreError::NotFound { entity: "settings" })
    );

    let mut settings = Settings::defaults("Cafe Havilah");
    assert_eq!(store.put_settings(&settings).await.unwrap(), settings);
    settings.currency = Currency::Kes;
    settings.vat_rate_bp = 1800;
    settings.prices_include_tax = false;
    settings.service_charge_bp = 500;
    settings.receipt_footer = "Karibu tena".to_owned();
    settings.happy_hour_start = NaiveTime::from_hms_opt(17, 30, 0).unwrap();
    settings.shift_variance_threshold = Money::new(10_000, Currency::Kes);
    assert_eq!(store.put_settings(&settings).await.unwrap(), settings);
    assert_eq!(store.get_settings().await.unwrap(), settings);
    assert_eq!(count(&store, "settings").await, 1, "one settings row, replaced");

    let mut impossible = settings.clone();
    impossible.vat_rate_bp = 20_000;
    assert_eq!(
        store.put_settings(&impossible).await,
        Err(StoreError::CheckViolation {
            constraint: "settings_vat_rate_bp_check".to_owned()
        })
    );
    assert_eq!(store.get_settings().await.unwrap(), settings);
    assert_eq!(
        exec(&store, "INSERT INTO settings (id, cafe_name, currency, vat_rate_bp, prices_include_tax, \
             service_charge_bp, receipt_footer, cashier_discount_limit_bp, backup_retention_days, \
             business_day_cutoff_hour, utc_offset_minutes, happy_hour_start, happy_hour_end, \
             shift_variance_threshold) VALUES (false, 'X', 'UGX', 0, true, 0, '', 0, 1, 0, 0, '16:00', '19:00', 0)")
        .await,
        Err(StoreError::CheckViolation {
            constraint: "settings_single_row_check".to_owned()
        })
    );
}

/// Inserts a staff member, a table, a category and a product; returns (staff id, product id).
async fn menu_and_waiter(store: &PgStore) -> (String, String) {
    let waiter = store
        .create_staff(new_staff("waiter", Role::Waiter))
        .await
        .unwrap();
    store.seed_venue(&demo_seed()).await.unwrap();
    let product = store.list_products().await.unwrap()[0].id;
    (waiter.id.to_string(), product.to_string())
}

#[tokio::test]
async fn check_constraints_refuse_what_must_never_happen() {
    let db = TestDb::new();
    let store = store(&db).await;
    let (waiter, product) = menu_and_waiter(&store).await;
    let check = |constraint: &str| {
        Err(StoreError::CheckViolation {
            constraint: constraint.to_owned(),
        })
    };

    assert_eq!(
        exec(&store, "UPDATE products SET price = -1 WHERE sku = 'FOOD-PZ-001'").await,
        check("products_price_check")
    );
    assert_eq!(
        exec(
            &store,
            "UPDATE products SET stock_qty = -1 WHERE sku = 'FOOD-PZ-001'"
        )
        .await,
        check("products_stock_qty_check")
    );

    let order = format!(
        "INSERT INTO orders (id, business_date, number, order_type, staff_id, currency, pricing, total) \
         VALUES ('00000000-0000-7000-8000-000000000001', '2026-11-25', 1, 'takeaway', '{waiter}', 'UGX', \
         '{{\"vat_rate_bp\": 1600, \"prices_include_tax\": true, \"service_charge_bp\": 0}}', 35000)"
    );
    exec(&store, &order).await.unwrap();
    let item = |quantity: i32| {
        format!(
            "INSERT INTO order_items (order_id, product_id, name, unit_price, quantity) \
             VALUES ('00000000-0000-7000-8000-000000000001', '{product}', 'Margherita', 35000, {quantity})"
        )
    };
    assert_eq!(exec(&store, &item(0)).await, check("order_items_quantity_check"));
    assert_eq!(
        exec(&store, &item(1000)).await,
        check("order_items_quantity_check")
    );
    assert_eq!(exec(&store, &item(2)).await, Ok(1));

    assert_eq!(
        exec(&store, "UPDATE orders SET paid = total + 1").await,
        check("orders_paid_check")
    );
    assert_eq!(
        exec(&store, "UPDATE orders SET order_type = 'dine_in'").await,
        check("orders_dine_in_table_check")
    );
    assert_eq!(
        exec(&store, &order.replace("000000000001", "000000000002")).await,
        Err(StoreError::Conflict {
            constraint: "orders_business_date_number_key".to_owned()
        }),
        "daily order numbers never collide"
    );
    assert_eq!(
        exec(
            &store,
            "UPDATE orders SET pricing = jsonb_set(pricing, '{vat_rate_bp}', '20000')"
        )
        .await,
        check("orders_pricing_check")
    );
    assert_eq!(
        exec(&store, "UPDATE orders SET status = 'merged'").await,
        check("orders_status_check")
    );

    let pay = |amount: i64| {
        format!(
            "INSERT INTO payments (order_id, method, amount, currency, staff_id, status, completed_at) \
             SELECT id, 'card', {amount}, 'UGX', staff_id, 'completed', now() FROM orders"
        )
    };
    assert_eq!(exec(&store, &pay(0)).await, check("payments_amount_check"));
    assert_eq!(exec(&store, &pay(10_000)).await, Ok(1));
    assert_eq!(
        exec(
            &store,
            "UPDATE payments SET refunded_amount = 10001, status = 'refunded'"
        )
        .await,
        check("payments_refunded_amount_check"),
        "never refunded beyond what was paid"
    );
    assert_eq!(
        exec(
            &store,
            "UPDATE payments SET refunded_amount = 4000, status = 'refunded'"
        )
        .await,
        check("payments_refunded_status_check")
    );
    assert_eq!(
        exec(
            &store,
            "UPDATE payments SET refunded_amount = 4000, status = 'partially_refunded'"
        )
        .await,
        Ok(1)
    );
    assert_eq!(
        exec(
            &store,
            "INSERT INTO payments (order_id, method, amount, currency, staff_id, tendered, change_given) \
             SELECT id, 'cash', 5000, 'UGX', staff_id, 10000, 4000 FROM orders"
        )
        .await,
        check("payments_change_check")
    );
    assert_eq!(
        exec(
            &store,
            "INSERT INTO products (sku, name, category_id, price, currency) \
             VALUES ('NEW-1', 'Ghost', '00000000-0000-7000-8000-0000000000ff', 1, 'UGX')"
        )
        .await,
        Err(StoreError::ForeignKeyViolation {
            constraint: "products_category_id_fkey".to_owned()
        })
    );
}

#[tokio::test]
async fn a_staff_member_has_at_most_one_open_shift() {
    let db = TestDb::new();
    let store = store(&db).await;
    let cashier = store
        .create_staff(new_staff("phiona", Role::Cashier))
        .await
        .unwrap();
    let open = format!(
        "INSERT INTO shifts (staff_id, currency, opening_float) VALUES ('{}', 'UGX', 50000)",
        cashier.id
    );
    exec(&store, &open).await.unwrap();
    assert_eq!(
        exec(&store, &open).await,
        Err(StoreError::Conflict {
            constraint: "shifts_one_open_per_staff".to_owned()
        })
    );
    exec(
        &store,
        &format!(
            "UPDATE shifts SET status = 'closed', closed_at = now(), counted_cash = 50000, \
             expected_cash = 50000, closed_by = '{}'",
            cashier.id
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        exec(&store, &open).await,
        Ok(1),
        "a new shift once the last one is closed"
    );
}

#[tokio::test]
async fn z_reports_and_the_audit_log_cannot_be_rewritten() {
    let db = TestDb::new();
    let store = store(&db).await;
    let manager = store
        .create_staff(new_staff("linus", Role::Manager))
        .await
        .unwrap();
    exec(
        &store,
        &format!(
            "INSERT INTO z_reports (number, business_date, currency, totals, created_by, \
             period_start, period_end, prev_hash, hash) \
             VALUES (1, '2026-11-25', 'UGX', '{{\"sales\": 100}}', '{}', now(), now(), \
             repeat('0', 64), repeat('b', 64))",
            manager.id
        ),
    )
    .await
    .unwrap();
    for sql in [
        "UPDATE z_reports SET totals = '{}'",
        "DELETE FROM z_reports",
        "TRUNCATE z_reports",
    ] {
        let err = exec(&store, sql).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Internal(m) if m.contains("append-only")),
            "{sql}: {err:?}"
        );
    }
    assert_eq!(count(&store, "z_reports").await, 1);

    let zeros = "0".repeat(64);
    let hash = "a".repeat(64);
    let append = |prev: &str, hash: &str| {
        format!(
            "INSERT INTO audit_log (actor_id, action, entity, prev_hash, hash) \
             VALUES ('{}', 'staff.create', 'staff', '{prev}', '{hash}')",
            manager.id
        )
    };
    exec(&store, &append(&zeros, &hash)).await.unwrap();
    assert_eq!(
        exec(&store, &append(&zeros, &"b".repeat(64))).await,
        Err(StoreError::Conflict {
            constraint: "audit_log_prev_hash_key".to_owned()
        }),
        "two rows can never claim the same predecessor: the chain stays linear"
    );
    assert!(exec(&store, "DELETE FROM audit_log").await.is_err());
    assert_eq!(count(&store, "audit_log").await, 1);
}

#[tokio::test]
async fn the_event_log_is_append_only_and_read_in_order() {
    let db = TestDb::new();
    let store = store(&db).await;
    assert_eq!(store.last_event_id().await.unwrap(), 0);
    let appended = store
        .append_events(vec![
            NewEvent::new("order.created", "orders", serde_json::json!({"number": 1})),
            NewEvent::new("order.sent", "kds", serde_json::json!({"number": 1})).for_station(Station::Bar),
        ])
        .await
        .unwrap();
    assert!(appended[0].id < appended[1].id);
    assert_eq!(appended[1].station, Some(Station::Bar));
    assert_eq!(store.last_event_id().await.unwrap(), appended[1].id);

    assert_eq!(store.events_after(0, 100).await.unwrap(), appended);
    assert_eq!(
        store.events_after(appended[0].id, 100).await.unwrap(),
        appended[1..]
    );
    assert_eq!(store.events_after(0, 1).await.unwrap(), appended[..1]);
    assert!(store.events_after(appended[1].id, 100).await.unwrap().is_empty());

    for sql in [
        "UPDATE events SET topic = 'x'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let err = exec(&store, sql).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Internal(m) if m.contains("events is append-only")),
            "{err:?}"
        );
    }
    assert_eq!(
        store.events_after(0, 100).await.unwrap(),
        appended,
        "nothing changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_never_skips_an_event_that_commits_late() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), 8).await.unwrap();
    const WRITERS: usize = 4;
    const EACH: usize = 25;

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    let outcome = store
                        .transaction(move |conn| {
                            let event =
                                NewEvent::new("test.tick", "orders", serde_json::json!({"w": w, "i": i}));
                            pos_postgres::append_event(conn, &event)?;
                            // Commit late, so that later ids become visible first; and roll
                            // some back, leaving ids that never appear.
                            std::thread::sleep(Duration::from_millis(((w * 7 + i * 3) % 5) as u64));
                            if i % 10 == 3 {
                                return Err(DbError::Store(StoreError::not_found("rolled back on purpose")));
                            }
                            Ok(())
                        })
                        .await;
                    assert!(outcome.is_ok() || i % 10 == 3, "{outcome:?}");
                }
            })
        })
        .collect();

    let mut follower = EventFollower::new(0);
    let mut seen = Vec::new();
    loop {
        let done = writers.iter().all(|w| w.is_finished());
        let (next, events) = store.follow_events(follower.clone(), 1000).await.unwrap();
        follower = next;
        seen.extend(events.iter().map(|e| e.id));
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for w in writers {
        w.await.unwrap();
    }
    let committed: Vec<i64> = store
        .events_after(0, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    // Every writer has finished: each remaining rolled-back id takes one more poll to pass.
    for _ in 0..committed.len() {
        if follower.position() == *committed.last().unwrap() {
            break;
        }
        let (next, events) = store.follow_events(follower.clone(), 1000).await.unwrap();
        follower = next;
        seen.extend(events.iter().map(|e| e.id));
    }
    let rolled_back = WRITERS * (EACH / 10 + usize::from(EACH % 10 > 3));
    assert_eq!(committed.len(), WRITERS * EACH - rolled_back);
    assert_eq!(
        seen, committed,
        "the follower saw every committed event exactly once, in order"
    );
    assert_eq!(follower.position(), *committed.last().unwrap());
}

#[tokio::test]
async fn a_follower_waits_for_a_running_transaction_and_passes_a_rolled_back_one() {
    let db = TestDb::new();
    let store = store(&db).await;
    let event = |n: i64| NewEvent::new("test.tick", "orders", serde_json::json!({"n": n}));

    // A transaction draws an id and stays open while a later one commits.
    let mut slow = db.connect();
    let (tx_started, go_commit) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<bool>());
    let (started, commit) = (tx_started.0, go_commit.1);
    let slow_writer = std::thread::spawn(move || {
        use diesel::Connection;
        slow.transaction(|conn| {
            pos_postgres::append_event(conn, &event(1))?;
            started.send(()).unwrap();
            if commit.recv().unwrap() {
                Ok(())
            } else {
                Err(diesel::result::Error::RollbackTransaction)
            }
        })
    });
    tx_started.1.recv().unwrap();
    let later = store.append_events(vec![event(2)]).await.unwrap();

    let mut follower = EventFollower::new(0);
    for _ in 0..3 {
        let (next, events) = store.follow_events(follower.clone(), 100).await.unwrap();
        follower = next;
        assert!(
            events.is_empty(),
            "event 2 must wait while event 1 may still commit"
        );
    }
    assert_eq!(
        store.events_after(0, 100).await.unwrap(),
        later,
        "a raw read would already skip ahead"
    );

    go_commit.0.send(true).unwrap();
    slow_writer.join().unwrap().unwrap();
    let (next, events) = store.follow_events(follower.clone(), 100).await.unwrap();
    follower = next;
    assert_eq!(
        events
            .iter()
            .map(|e| e.payload["n"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2]
    );

    // Now a transaction that rolls back: its id never appears, and the follower moves on.
    let mut doomed = db.connect();
    let (tx_started, go_commit) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<bool>());
    let (started, commit) = (tx_started.0, go_commit.1);
    let doomed_writer = std::thread::spawn(move || {
        use diesel::Connection;
        doomed.transaction(|conn| {
            pos_postgres::append_event(conn, &event(3))?;
            started.send(()).unwrap();
            if commit.recv().unwrap() {
                Ok(())
            } else {
                Err(diesel::result::Error::RollbackTransaction)
            }
        })
    });
    tx_started.1.recv().unwrap();
    store.append_events(vec![event(4)]).await.unwrap();
    let (next, events) = store.follow_events(follower.clone(), 100).await.unwrap();
    follower = next;
    assert!(events.is_empty());
    go_commit.0.send(false).unwrap();
    assert!(doomed_writer.join().unwrap().is_err());
    let (next, events) = store.follow_events(follower.clone(), 100).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.payload["n"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [4]
    );
    assert_eq!(next.position(), events[0].id);
}

#[tokio::test]
async fn an_exhausted_pool_is_unavailable_not_a_hang() {
    let db = TestDb::new();
    let config = PoolConfig {
        wait_timeout: Duration::from_millis(300),
        ..PoolConfig::new(1)
    };
    let store = PgStore::with_config(db.url(), config).unwrap();
    store.ping().await.unwrap();

    let held = store.pool().get().await.unwrap();
    let started = Instant::now();
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up after the wait timeout"
    );
    let err = store.list_staff().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");

    drop(held);
    store.ping().await.unwrap();
}

#[derive(QueryableByName)]
struct BackendPid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

async fn backend_pid(store: &PgStore) -> Result<i32, StoreError> {
    store
        .interact(|c| {
            Ok(sql_query("SELECT pg_backend_pid() AS pid")
                .get_result::<BackendPid>(c)?
                .pid)
        })
        .await
}

#[tokio::test]
async fn a_connection_that_lost_its_server_is_unavailable_once_then_replaced() {
    let db = TestDb::new();
    let store = PgStore::with_config(db.url(), PoolConfig::new(1)).unwrap();
    let first = backend_pid(&store).await.unwrap();
    assert_eq!(
        backend_pid(&store).await.unwrap(),
        first,
        "the one connection is reused"
    );

    // Checkout does not test the connection, so its death shows on first use...
    let mut admin = db.connect();
    sql_query(format!("SELECT pg_terminate_backend({first}, 5000)"))
        .execute(&mut admin)
        .unwrap();
    let err = backend_pid(&store).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");

    // ...and the dead connection is not handed out again (the pool's recycle check sees it
    // broken).
    let replaced = backend_pid(&store).await.unwrap();
    assert_ne!(replaced, first);
    assert_eq!(backend_pid(&store).await.unwrap(), replaced);
}

#[tokio::test]
async fn a_database_that_does_not_answer_is_unavailable() {
    let err = PgStore::connect("postgres://postgres@127.0.0.1:1/none?connect_timeout=2", 2)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_domain_error_inside_a_transaction_rolls_it_back() {
    let db = TestDb::new();
    let store = store(&db).await;
    let result: Result<(), StoreError> = store
        .transaction(|conn| {
            sql_query("INSERT INTO dining_tables (code, seats) VALUES ('T9', 2)").execute(conn)?;
            Err(DbError::Store(StoreError::not_found("order")))
        })
        .await;
    assert_eq!(result, Err(StoreError::NotFound { entity: "order" }));
    assert_eq!(count(&store, "dining_tables").await, 0);
}
