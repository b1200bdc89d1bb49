//! Payments on orders end to end through `pos serve` over real PostgreSQL: a split bill in
//! cash (with change) and MoMo that closes the order and frees its table, the shift that
//! the payments and the drawer carry, idempotent retries, bad input that changes nothing,
//! and 20 concurrent payments that never sum above the order's total.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod till;

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use till::{Client, count_where, food, fresh_key, id, place_ready, venue};

/// A kitchen product and a free table of the seeded venue.
async fn menu_and_table(cashier: &Client) -> (Value, Value) {
    let food = food(cashier).await;
    let tables = cashier.get("/api/tables").await;
    let table = tables.expect(StatusCode::OK).as_array().unwrap()[0].clone();
    (food, table)
}

/// An order of `quantity` × `product` (seat 1 and seat 2 alternately), sent and made
/// ready by the kitchen.
async fn ready_order(
    cashier: &Client,
    cook: &Client,
    product: &Value,
    table: Option<&Value>,
    lines: usize,
) -> Value {
    let items: Vec<Value> = (0..lines)
        .map(|i| json!({"product_id": id(product), "quantity": 1, "seat": 1 + (i % 2)}))
        .collect();
    let body = match table {
        Some(table) => json!({"type": "dine_in", "table_id": id(table), "items": items}),
        None => json!({"type": "takeaway", "items": items}),
    };
    place_ready(cashier, cook, body).await
}

#[tokio::test]
async fn a_split_bill_in_cash_and_momo_closes_the_order_and_frees_its_table() {
    let venue = venue("payments-split").await;
    let server = &venue.server;
    let cashier = Client::adopt(server, "phiona").await;
    let cook = Client::adopt(server, "emma").await;
    let (food, table) = menu_and_table(&cashier).await;
    let order = ready_order(&cashier, &cook, &food, Some(&table), 4).await;
    let total = order["total"].as_i64().unwrap();
    let pay = format!("/api/orders/{}/payments", id(&order));

    // No drawer, no payment.
    cashier
        .post_keyed(&pay, json!({"method": "cash", "amount": 1}))
        .await
        .refused(StatusCode::CONFLICT, "no_open_shift", None);
    let shift = cashier
        .post_keyed("/api/shifts", json!({"opening_float": 10_000}))
        .await;
    let shift = shift.expect(StatusCode::CREATED).clone();

    // Seat 1 pays in cash with a big note; the answer carries the change.
    let key = fresh_key();
    let seat_one = cashier
        .call(Method::POST, &pay)
        .key(&key)
        .json(json!({"method": "cash", "seat": 1, "tendered": 1_000_000}))
        .await;
    let first = seat_one.expect(StatusCode::CREATED).clone();
    let seat_amount = first["payment"]["amount"].as_i64().unwrap();
    assert!(seat_amount > 0 && seat_amount < total, "{first}");
    assert_eq!(first["payment"]["change"], 1_000_000 - seat_amount);
    assert_eq!(first["payment"]["shift_id"], shift["id"]);
    assert_eq!(first["order"]["status"], "ready");
    assert_eq!(first["order"]["balance"], total - seat_amount);
    // A retry replays; nothing is taken twice.
    let again = cashier
        .call(Method::POST, &pay)
        .key(&key)
        .json(json!({"method": "cash", "seat": 1, "tendered": 1_000_000}))
        .await;
    assert_eq!((again.status, &again.bytes), (seat_one.status, &seat_one.bytes));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(count_where(&venue.db, "payments", "true"), 1);

    // MoMo needs its reference, and never more than the balance.
    let rest = total - seat_amount;
    cashier
        .post_keyed(&pay, json!({"method": "mtn_momo", "amount": rest}))
        .await
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reference_required",
            Some("reference"),
        );
    cashier
        .post_keyed(
            &pay,
            json!({"method": "mtn_momo", "amount": rest + 1, "reference": "MP240101.1234.A12345"}),
        )
        .await
        .refused(StatusCode::UNPROCESSABLE_ENTITY, "overpayment", Some("amount"));
    let settled = cashier
        .post_keyed(
            &pay,
            json!({"method": "mtn_momo", "amount": rest, "reference": "MP240101.1234.A12345"}),
        )
        .await;
    let settled = settled.expect(StatusCode::CREATED);
    assert_eq!(settled["order"]["status"], "closed");
    assert_eq!(settled["order"]["balance"], 0);
    assert_eq!(settled["payment"]["reference"], "MP240101.1234.A12345");
    for event in ["payment.completed", "order.paid", "order.closed", "table.updated"] {
        assert!(
            count_where(&venue.db, "events", &format!("event_type = '{event}'")) >= 1,
            "{event}"
        );
    }
    let tables = cashier.get("/api/tables").await;
    let freed = tables
        .expect(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == table["id"])
        .unwrap()
        .clone();
    assert!(freed.to_string().contains("free"), "{freed}");

    // A closed order takes no more money; the drawer counts the cash applied, not tendered.
    cashier
        .post_keyed(&pay, json!({"method": "card", "amount": 1}))
        .await
        .refused(StatusCode::CONFLICT, "order_finished", Some("order_id"));
    let drawer = cashier.get(&format!("/api/shifts/{}", id(&shift))).await;
    let drawer = drawer.expect(StatusCode::OK);
    assert_eq!(drawer["cash"]["cash_sales"], seat_amount);
    assert_eq!(drawer["cash"]["expected"], 10_000 + seat_amount);
    assert_eq!(
        count_where(&venue.db, "payments", &format!("shift_id = '{}'", id(&shift))),
        2
    );
    assert_eq!(
        count_where(&venue.db, "orders", &format!("shift_id = '{}'", id(&shift))),
        1
    );
}

#[tokio::test]
async fn bad_payments_are_named_and_change_nothing() {
    let venue = venue("payments-bad-input").await;
    let server = &venue.server;
    let cashier = Client::adopt(server, "phiona").await;
    let cook = Client::adopt(server, "emma").await;
    let (food, _) = menu_and_table(&cashier).await;
    cashier
        .post_keyed("/api/shifts", json!({"opening_float": 0}))
        .await
        .expect(StatusCode::CREATED);
    let order = ready_order(&cashier, &cook, &food, None, 1).await;
    let total = order["total"].as_i64().unwrap();
    let pay = format!("/api/orders/{}/payments", id(&order));

    let missing_key = cashier.post(&pay, json!({"method": "cash", "amount": 1})).await;
    missing_key.refused(
        StatusCode::BAD_REQUEST,
        "idempotency_key_required",
        Some("Idempotency-Key"),
    );
    for (body, status, field) in [
        (json!({"method": "cash", "amount": 0}), 422, "amount"),
        (json!({"method": "cash", "amount": -5}), 422, "amount"),
        (json!({"method": "cash", "amount": 1.5}), 400, "amount"),
        (json!({"method": "cash", "amount": "10"}), 400, "amount"),
        (json!({"method": "bitcoin", "amount": 10}), 422, "method"),
        (json!({"method": "cash"}), 422, "amount"),
        (json!({"method": "cash", "amount": 10, "seat": 1}), 422, "amount"),
        (
            json!({"method": "cash", "amount": total, "tendered": total - 1}),
            422,
            "tendered",
        ),
        (
            json!({"method": "card", "amount": 10, "tendered": 20}),
            422,
            "tendered",
        ),
        (json!({"method": "card", "amount": total + 1}), 422, "amount"),
        (json!({"method": "cash", "seat": 9}), 422, "amount"),
        (
            json!({"method": "cash", "items": [uuid::Uuid::new_v4()]}),
            404,
            "item_id",
        ),
        (
            json!({"method": "cash", "amount": 10, "staff_id": uuid::Uuid::new_v4()}),
            400,
            "",
        ),
    ] {
        let answer = cashier.post_keyed(&pay, body.clone()).await;
        assert_eq!(answer.status.as_u16(), status, "{body}: {}", answer.body);
        if !field.is_empty() {
            assert_eq!(answer.field(), field, "{body}: {}", answer.body);
        }
    }
    let unknown = format!("/api/orders/{}/payments", uuid::Uuid::new_v4());
    let answer = cashier
        .post_keyed(&unknown, json!({"method": "cash", "amount": 10}))
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    assert_eq!(count_where(&venue.db, "payments", "true"), 0);
    assert_eq!(count_where(&venue.db, "orders", "paid <> 0"), 0);

    // A voided order takes no money either.
    let manager = Client::adopt(server, "linus").await;
    let other = ready_order(&cashier, &cook, &food, None, 1).await;
    manager
        .post_keyed(
            &format!("/api/orders/{}/void", id(&other)),
            json!({"reason": "walked out"}),
        )
        .await
        .expect(StatusCode::OK);
    cashier
        .post_keyed(
            &format!("/api/orders/{}/payments", id(&other)),
            json!({"method": "cash", "amount": 10}),
        )
        .await
        .refused(StatusCode::CONFLICT, "order_finished", Some("order_id"));
    assert_eq!(count_where(&venue.db, "payments", "true"), 0);
}

#[tokio::test]
async fn twenty_concurrent_payments_never_sum_above_the_total() {
    let venue = venue("payments-concurrent").await;
    let server = &venue.server;
    let cashier = Arc::new(Client::adopt(server, "phiona").await);
    let cook = Client::adopt(server, "emma").await;
    let (food, _) = menu_and_table(&cashier).await;
    cashier
        .post_keyed("/api/shifts", json!({"opening_float": 0}))
        .await
        .expect(StatusCode::CREATED);
    let order = ready_order(&cashier, &cook, &food, None, 3).await;
    let total = order["total"].as_i64().unwrap();
    // Each asks for a third of the bill (rounded up): at most three of twenty fit.
    let part = total / 3 + 1;
    let pay = format!("/api/orders/{}/payments", id(&order));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let cashier = cashier.clone();
            let pay = pay.clone();
            tokio::spawn(async move {
                cashier
                    .post_keyed(&pay, json!({"method": "card", "amount": part}))
                    .await
            })
        })
        .collect();
    let mut taken = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.status {
            StatusCode::CREATED => taken += part,
            _ => assert!(
                ["overpayment", "nothing_due", "order_finished"].contains(&answer.code()),
                "{}",
                answer.body
            ),
        }
    }
    assert!(taken <= total, "{taken} > {total}");
    #[derive(diesel::QueryableByName)]
    struct Sum {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    let stored = diesel::sql_query(format!(
        "SELECT COALESCE(SUM(amount), 0)::bigint AS n FROM payments WHERE order_id = '{}'",
        id(&order)
    ))
    .get_result::<Sum>(&mut venue.db.connect())
    .unwrap()
    .n;
    assert_eq!(stored, taken);
    assert!(stored <= total);
    assert_eq!(
        count_where(
            &venue.db,
            "orders",
            &format!("id = '{}' AND paid = {stored}", id(&order))
        ),
        1
    );
}

/// Receipt numbers are taken inside the closing unit: orders closed at once get 1, 2, 3…
/// with no gap, one receipt each, and a payment refused on a closed order takes none.
#[tokio::test]
async fn orders_closed_at_once_get_receipt_numbers_without_gaps() {
    let venue = venue("payments-receipts").await;
    let server = &venue.server;
    let cashier = Arc::new(Client::adopt(server, "phiona").await);
    let cook = Client::adopt(server, "emma").await;
    let (food, _) = menu_and_table(&cashier).await;
    cashier
        .post_keyed("/api/shifts", json!({"opening_float": 0}))
        .await
        .expect(StatusCode::CREATED);
    let mut orders = Vec::new();
    for _ in 0..5 {
        orders.push(ready_order(&cashier, &cook, &food, None, 1).await);
    }
    // An open order is not numbered.
    let open = ready_order(&cashier, &cook, &food, None, 1).await;
    let tasks: Vec<_> = orders
        .iter()
        .map(|order| {
            let cashier = cashier.clone();
            let pay = format!("/api/orders/{}/payments", id(order));
            let total = order["total"].as_i64().unwrap();
            tokio::spawn(async move {
                cashier
                    .post_keyed(&pay, json!({"method": "card", "amount": total}))
                    .await
            })
        })
        .collect();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.expect(StatusCode::CREATED)["order"]["status"], "closed");
    }
    let pay_closed = format!("/api/orders/{}/payments", id(&orders[0]));
    cashier
        .post_keyed(&pay_closed, json!({"method": "card", "amount": 1}))
        .await
        .refused(StatusCode::CONFLICT, "order_finished", Some("order_id"));

    #[derive(diesel::QueryableByName)]
    struct Numbered {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        number: i64,
    }
    use diesel::RunQueryDsl;
    let numbers: Vec<i64> = diesel::sql_query("SELECT number FROM receipts ORDER BY number")
        .load::<Numbered>(&mut venue.db.connect())
        .unwrap()
        .into_iter()
        .map(|r| r.number)
        .collect();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5]);
    for order in &orders {
        assert_eq!(
            count_where(&venue.db, "receipts", &format!("order_id = '{}'", id(order))),
            1
        );
    }
    assert_eq!(
        count_where(&venue.db, "receipts", &format!("order_id = '{}'", id(&open))),
        0
    );

    // The receipt asked for again: its number, marked as a copy, as JSON, text or ESC/POS.
    let path = format!("/api/orders/{}/receipt", id(&orders[0]));
    let json = cashier.get(&path).await;
    let json = json.expect(StatusCode::OK);
    let number = json["receipt_number"].as_i64().unwrap();
    assert!((1..=5).contains(&number), "{json}");
    assert_eq!(json["copy"], true);
    let text = json["text"].as_str().unwrap();
    for part in ["*** COPY ***", &format!("Receipt No. {number}"), "Card", "TOTAL"] {
        assert!(text.contains(part), "{part} missing from\n{text}");
    }
    let plain = cashier
        .http
        .get(format!("{}{path}?paper=58mm", cashier.base))
        .bearer_auth(&cashier.token)
        .header("Accept", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    let plain = plain.text().await.unwrap();
    assert!(plain.lines().all(|l| l.chars().count() <= 32), "{plain}");
    assert!(plain.contains(&format!("Receipt No. {number}")));
    let escpos = cashier.get(&format!("{path}?format=escpos")).await;
    assert_eq!(escpos.status, StatusCode::OK);
    assert_eq!(escpos.header("content-type"), Some("application/octet-stream"));
    assert_eq!(&escpos.bytes[..2], b"\x1b@", "ESC @ first");
    // An open order has no number yet: its receipt is a bill.
    let bill = cashier.get(&format!("/api/orders/{}/receipt", id(&open))).await;
    assert!(bill.expect(StatusCode::OK)["receipt_number"].is_null());

    // Bad input names its parameter and changes nothing.
    cashier.get(&format!("{path}?format=pdf")).await.refused(
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        Some("format"),
    );
    let bad_paper = cashier.get(&format!("{path}?paper=99mm")).await;
    assert_eq!(bad_paper.status, StatusCode::BAD_REQUEST, "{}", bad_paper.body);
    assert!(bad_paper.body.to_string().contains("paper"), "{}", bad_paper.body);
    cashier
        .get(&format!("/api/orders/{}/receipt", uuid::Uuid::new_v4()))
        .await
        .refused(StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(count_where(&venue.db, "receipts", "true"), 5);
}
