#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The product and category reports read whole hours from the hourly rollup and the edges
//! of a window from the items: every window gives what the items alone say.

use chrono::{DateTime, TimeZone, Utc};
use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl, sql_query};
use pos_domain::Currency;
use pos_domain::reports::{BusinessClock, ReportKind, ReportRows, ReportStore, ReportWindow};
use pos_postgres::{PgStore, rebuild_item_sales};
use pos_testkit::TestDb;

const STAFF: &str = "00000000-0000-0000-0000-0000000000a1";
const CATEGORY: &str = "00000000-0000-0000-0000-0000000000c1";
const PRODUCTS: [&str; 2] = [
    "00000000-0000-0000-0000-0000000000d1",
    "00000000-0000-0000-0000-0000000000d2",
];

async fn exec(store: &PgStore, sql: String) {
    store
        .interact(move |c| Ok(diesel::connection::SimpleConnection::batch_execute(c, &sql)?))
        .await
        .unwrap();
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap()
}

/// Closed orders at 09:50, 10:10, 10:40, 11:20 and 11:55 (and one still open at 10:30), each
/// with `n` of the first product and one of the second, and one voided line.
async fn trade(store: &PgStore) {
    exec(
        store,
        format!(
            "INSERT INTO staff (id, username, full_name, role, password_hash) VALUES ('{STAFF}', 'rollup', 'Roll Up', 'cashier', 'x'); \
             INSERT INTO categories (id, name) VALUES ('{CATEGORY}', 'Food'); \
             INSERT INTO products (id, sku, name, category_id, price, currency, station) VALUES \
             ('{}', 'R-1', 'Rolex', '{CATEGORY}', 3000, 'UGX', 'kitchen'), ('{}', 'R-2', 'Tea', '{CATEGORY}', 1000, 'UGX', 'kitchen')",
            PRODUCTS[0], PRODUCTS[1]
        ),
    )
    .await;
    let closes = [(9, 50, 1), (10, 10, 2), (10, 40, 3), (11, 20, 4), (11, 55, 5)];
    for (n, (h, m, qty)) in closes.into_iter().enumerate() {
        order(store, n as i64 + 1, "closed", at(h, m), qty).await;
    }
    order(store, 9, "ready", at(10, 30), 7).await;
}

async fn order(store: &PgStore, number: i64, status: &str, at: DateTime<Utc>, qty: i64) {
    let closed = if status == "closed" {
        format!("'{}'", at.to_rfc3339())
    } else {
        "NULL".into()
    };
    exec(
        store,
        format!(
            "WITH o AS (INSERT INTO orders (business_date, number, order_type, staff_id, status, currency, pricing, closed_at) \
               VALUES ('2026-12-07', {number}, 'takeaway', '{STAFF}', '{status}', 'UGX', '{{\"vat_rate_bp\": 1600, \"prices_include_tax\": true, \"service_charge_bp\": 0}}', {closed}) RETURNING id) \
             INSERT INTO order_items (order_id, product_id, name, unit_price, quantity, line_total, status, sent_at, voided_at, void_reason) \
             SELECT o.id, p, 'x', price, q, CASE WHEN s = 'voided' THEN 0 ELSE price * q END, s, now(), \
               CASE WHEN s = 'voided' THEN now() END, CASE WHEN s = 'voided' THEN 'mistake' END FROM o, (VALUES ('{}'::uuid, 3000, {qty}, 'served'), \
               ('{}'::uuid, 1000, 1, 'served'), ('{}'::uuid, 3000, 10, 'voided')) v(p, price, q, s)",
            PRODUCTS[0], PRODUCTS[1], PRODUCTS[0]
        ),
    )
    .await;
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// What the items alone say product `p` sold in `[from, to)`.
async fn sold_by_items(store: &PgStore, p: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let sql = format!(
        "SELECT COALESCE(sum(i.quantity), 0)::bigint AS n FROM orders o JOIN order_items i ON i.order_id = o.id \
         WHERE o.status = 'closed' AND i.status <> 'voided' AND i.product_id = '{p}' \
         AND o.closed_at >= '{}' AND o.closed_at < '{}'",
        from.to_rfc3339(),
        to.to_rfc3339()
    );
    store
        .interact(move |c| Ok(sql_query(sql).get_result::<N>(c)?.n))
        .await
        .unwrap()
}

#[tokio::test]
async fn every_window_sums_what_the_items_say() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), 2).await.unwrap();
    trade(&store).await;
    store.interact(|c| Ok(rebuild_item_sales(c)?)).await.unwrap();

    let windows = [
        (at(9, 0), at(13, 0)),    // whole hours only
        (at(9, 55), at(11, 30)),  // ragged at both ends
        (at(10, 30), at(11, 0)),  // inside one hour
        (at(10, 10), at(11, 20)), // an order on each bound: the start counts, the end does not
        (at(12, 0), at(13, 0)),   // nothing sold
    ];
    for (start, end) in windows {
        let window = ReportWindow {
            start,
            end,
            clock: BusinessClock {
                day_shift_minutes: 0,
                local_offset_minutes: 0,
            },
            currency: Currency::Ugx,
        };
        let ReportRows::SalesByProduct(rows) =
            store.report(ReportKind::SalesByProduct, &window).await.unwrap()
        else {
            panic!("not the product report");
        };
        for p in PRODUCTS {
            let reported = rows
                .iter()
                .find(|r| r.product_id.to_string() == p)
                .map_or(0, |r| r.quantity);
            assert_eq!(
                reported,
                sold_by_items(&store, p, start, end).await,
                "{p} in {start}..{end}"
            );
        }
        let ReportRows::SalesByCategory(categories) =
            store.report(ReportKind::SalesByCategory, &window).await.unwrap()
        else {
            panic!("not the category report");
        };
        let by_products: i64 = rows.iter().map(|r| r.sales).sum();
        assert_eq!(categories.iter().map(|c| c.sales).sum::<i64>(), by_products);
    }
    // Sanity: the ragged window really has orders on its edges and in its whole hours.
    assert_eq!(
        sold_by_items(&store, PRODUCTS[0], at(9, 55), at(11, 30)).await,
        2 + 3 + 4
    );
}
