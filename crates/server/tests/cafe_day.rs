//! A whole café day through `pos serve` over real PostgreSQL, Pesapal being the fake of
//! `pos-testkit` over HTTP (issue 10, "Done when"): two cashiers' shifts opened with a
//! float; dine-in and takeaway orders sent and bumped by the kitchen; a split bill in cash
//! (with change) and MoMo (with a reference); a discount above the cashier's limit with a
//! manager's approval; a card tip and a cash tip; a cash refund with a manager's approval;
//! a Pesapal payment confirmed by IPN and another, on an order that outlived the first
//! shift, confirmed by the poller; both drawers closed with a variance (the larger one
//! approved by a manager); then a Z report whose totals equal the payments, refunds and
//! tips read row by row from the database, method by method.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod till;

use std::collections::BTreeMap;
use std::time::Duration;

use pos_testkit::pesapal::FakePesapal;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use till::{
    Client, count_where, food, fresh_key, id, make_ready, manager_approval, payment_column, payment_rows,
    pesapal_venue, refund_rows, scalar, wait_for,
};

/// Creates the order `body` and sends it to the kitchen.
async fn sent(cashier: &Client, body: Value) -> Value {
    let created = cashier.post_keyed("/api/orders", body).await;
    let order = created.expect(StatusCode::CREATED).clone();
    cashier
        .call(Method::POST, &format!("/api/orders/{}/send", id(&order)))
        .key(&fresh_key())
        .empty()
        .await
        .expect(StatusCode::OK)
        .clone()
}

/// [`sent`], then bumped by the cook until ready.
async fn ready(cashier: &Client, cook: &Client, body: Value) -> Value {
    let order = sent(cashier, body).await;
    let ready = make_ready(cashier, cook, &order).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    ready
}

fn items(product: &Value, lines: usize) -> Vec<Value> {
    (0..lines)
        .map(|_| json!({"product_id": id(product), "quantity": 1}))
        .collect()
}

/// Pays `body` on `order`; 201 expected. Returns `{payment, order, …}`.
async fn pay(cashier: &Client, order: &Value, body: Value) -> Value {
    let paid = cashier
        .post_keyed(&format!("/api/orders/{}/payments", id(order)), body)
        .await;
    paid.expect(StatusCode::CREATED).clone()
}

fn money(value: &Value) -> i64 {
    value.as_i64().unwrap_or_else(|| panic!("not an amount: {value}"))
}

async fn table_state(client: &Client, table: &str) -> String {
    let tables = client.get("/api/tables").await;
    tables
        .expect(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == table)
        .unwrap()["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_whole_cafe_day_closes_with_a_z_report_equal_to_its_rows() {
    let fake = FakePesapal::start();
    // The poller runs every second and asks about a payment 5 s after it started (the IPN
    // one is settled long before); nothing times out during the test.
    let venue = pesapal_venue(
        "cafe-day",
        &fake,
        &[
            ("PESAPAL_POLL_INTERVAL_SECS", "1"),
            ("PESAPAL_CONFIRM_AFTER_SECS", "5"),
            ("PESAPAL_PENDING_TIMEOUT_SECS", "300"),
        ],
    )
    .await;
    let server = &venue.server;
    let db = &venue.db;
    let morning = Client::adopt(server, "phiona").await;
    let afternoon = Client::adopt(server, "evyone").await;
    let cook = Client::adopt(server, "emma").await;
    let manager = Client::adopt(server, "linus").await;
    let linus = manager.me().await["staff"]["id"].as_str().unwrap().to_owned();
    let product = food(&morning).await;
    let tables = morning.get("/api/tables").await;
    let tables: Vec<String> = tables
        .expect(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(id)
        .collect();

    // ===== Morning: Phiona's drawer opens with 50,000. =====
    let first_shift = morning
        .post_keyed("/api/shifts", json!({"opening_float": 50_000}))
        .await;
    let first_shift = first_shift.expect(StatusCode::CREATED).clone();
    assert_eq!(first_shift["cash"]["expected"], 50_000);

    // A dine-in bill split: part cash (a note with change), the rest MoMo with its reference.
    let split = ready(
        &morning,
        &cook,
        json!({"type": "dine_in", "table_id": tables[0], "items": items(&product, 3)}),
    )
    .await;
    let split_total = money(&split["total"]);
    assert_eq!(split["balance"], split_total);
    assert_eq!(table_state(&morning, &tables[0]).await, "occupied");
    let cash_part = split_total / 2;
    let tendered = (cash_part / 10_000 + 1) * 10_000;
    let by_cash = pay(
        &morning,
        &split,
        json!({"method": "cash", "amount": cash_part, "tendered": tendered}),
    )
    .await;
    assert_eq!(by_cash["payment"]["change"], tendered - cash_part);
    assert_eq!(by_cash["payment"]["shift_id"], first_shift["id"]);
    assert_eq!(by_cash["order"]["balance"], split_total - cash_part);
    assert_eq!(by_cash["order"]["status"], "ready");
    assert_eq!(table_state(&morning, &tables[0]).await, "bill_requested");
    let momo_part = split_total - cash_part;
    let by_momo = pay(
        &morning,
        &split,
        json!({"method": "mtn_momo", "amount": momo_part, "reference": "MP240601.1200.A12345"}),
    )
    .await;
    assert_eq!(by_momo["payment"]["reference"], "MP240601.1200.A12345");
    assert_eq!(by_momo["order"]["balance"], 0);
    assert_eq!(by_momo["order"]["paid"], split_total);
    assert_eq!(by_momo["order"]["status"], "closed");
    assert_eq!(table_state(&morning, &tables[0]).await, "free");

    // A takeaway with 20 % off: above the cashier's 10 %, so only with a manager's approval
    // inside the request. Then paid by card with a tip on top.
    let discounted = sent(&morning, json!({"type": "takeaway", "items": items(&product, 2)})).await;
    let subtotal = money(&discounted["subtotal"]);
    let discount = format!("/api/orders/{}/discount", id(&discounted));
    morning
        .call(Method::PUT, &discount)
        .key(&fresh_key())
        .json(json!({"percent_bp": 2000, "reason": "birthday"}))
        .await
        .refused(StatusCode::FORBIDDEN, "approval_required", Some("approval"));
    let approved = morning
        .call(Method::PUT, &discount)
        .key(&fresh_key())
        .json(json!({"percent_bp": 2000, "reason": "birthday", "approval": manager_approval()}))
        .await;
    let approved = approved.expect(StatusCode::OK).clone();
    assert_eq!(approved["discount"], subtotal / 5);
    assert_eq!(approved["total"], subtotal - subtotal / 5);
    let discounted = make_ready(&morning, &cook, &discounted).await;
    assert_eq!(discounted["status"], "ready", "{discounted}");
    let card_total = money(&discounted["total"]);
    assert_eq!(card_total, subtotal - subtotal / 5);
    let by_card = pay(
        &morning,
        &discounted,
        json!({"method": "card", "amount": card_total, "tip": 2_000, "reference": "SLIP-0042"}),
    )
    .await;
    assert_eq!(by_card["payment"]["tip"], 2_000);
    assert_eq!(by_card["order"]["paid"], card_total);
    assert_eq!(by_card["order"]["status"], "closed");

    // A takeaway paid in cash, 1,000 of it refunded from the drawer with a manager's approval.
    let refunded = ready(
        &morning,
        &cook,
        json!({"type": "takeaway", "items": items(&product, 1)}),
    )
    .await;
    let refunded_total = money(&refunded["total"]);
    let cash_paid = pay(
        &morning,
        &refunded,
        json!({"method": "cash", "amount": refunded_total}),
    )
    .await;
    let refunds = format!("/api/payments/{}/refunds", id(&cash_paid["payment"]));
    morning
        .post_keyed(&refunds, json!({"amount": 1_000, "reason": "cold chapati"}))
        .await
        .refused(StatusCode::FORBIDDEN, "approval_required", Some("approval"));
    let refund = morning
        .post_keyed(
            &refunds,
            json!({"amount": 1_000, "reason": "cold chapati", "approval": manager_approval()}),
        )
        .await;
    let refund = refund.expect(StatusCode::CREATED).clone();
    assert_eq!(refund["payment"]["status"], "partially_refunded");
    assert_eq!(refund["payment"]["refunded"], 1_000);
    assert_eq!(refund["order"]["paid"], refunded_total - 1_000);
    assert_eq!(refund["refund"]["shift_id"], first_shift["id"]);
    assert_eq!(refund["refund"]["approved_by"].as_str(), Some(linus.as_str()));

    // A dine-in paid online: Pesapal's IPN confirms it at once.
    let online = ready(
        &morning,
        &cook,
        json!({"type": "dine_in", "table_id": tables[1], "items": items(&product, 2)}),
    )
    .await;
    let online_total = money(&online["total"]);
    let started = pay(
        &morning,
        &online,
        json!({"method": "pesapal", "amount": online_total, "customer_phone": "+256700000001"}),
    )
    .await;
    let ipn_payment = id(&started["payment"]);
    let ipn_tracking = started["order_tracking_id"].as_str().unwrap().to_owned();
    assert_eq!(started["payment"]["status"], "pending");
    assert_eq!(
        fake.order_for(&ipn_payment).unwrap().amount,
        online_total.to_string()
    );
    fake.complete(&ipn_tracking);
    assert_eq!(
        payment_column(&venue, &ipn_payment, "status").as_deref(),
        Some("pending"),
        "the poller waits 5 s: this one is the IPN's"
    );
    let (status, ack) = fake.notify(&ipn_tracking).await;
    assert_eq!((status, ack["status"].as_i64()), (200, Some(200)), "{ack}");
    assert_eq!(
        payment_column(&venue, &ipn_payment, "status").as_deref(),
        Some("completed")
    );
    assert!(payment_column(&venue, &ipn_payment, "provider_confirmation_code").is_some());
    let now = morning.get(&format!("/api/orders/{}", id(&online))).await;
    assert_eq!(now.expect(StatusCode::OK)["status"], "closed");
    assert_eq!(now.body["paid"], online_total);

    // A dine-in the kitchen has served but nobody paid yet: it outlives the morning shift.
    let carried = ready(
        &morning,
        &cook,
        json!({"type": "dine_in", "table_id": tables[2], "items": items(&product, 2)}),
    )
    .await;
    let carried_total = money(&carried["total"]);

    // The morning drawer: float + cash sales − the cash refund. 6,000 short is beyond the
    // 5,000 threshold: refused alone, closed with the manager's approval in the request.
    let morning_expected = 50_000 + cash_part + refunded_total - 1_000;
    let drawer = morning
        .get(&format!("/api/shifts/{}/x-report", id(&first_shift)))
        .await;
    let drawer = drawer.expect(StatusCode::OK)["shift"]["cash"].clone();
    assert_eq!(drawer["cash_sales"], cash_part + refunded_total);
    assert_eq!(drawer["cash_refunds"], 1_000);
    assert_eq!(drawer["cash_tips"], 0);
    assert_eq!(drawer["tips"], 2_000, "the card tip, not in the drawer");
    assert_eq!(drawer["expected"], morning_expected);
    let close = format!("/api/shifts/{}/close", id(&first_shift));
    morning
        .post_keyed(&close, json!({"counted_cash": morning_expected - 6_000}))
        .await
        .refused(StatusCode::FORBIDDEN, "approval_required", Some("approval"));
    let closed = morning
        .post_keyed(
            &close,
            json!({"counted_cash": morning_expected - 6_000, "note": "a note short",
                   "approval": manager_approval()}),
        )
        .await;
    let closed = closed.expect(StatusCode::OK).clone();
    assert_eq!(closed["expected_cash"], morning_expected);
    assert_eq!(closed["variance"], -6_000);
    assert_eq!(closed["variance_approved_by"].as_str(), Some(linus.as_str()));
    let still_open = morning.get(&format!("/api/orders/{}", id(&carried))).await;
    assert_eq!(still_open.expect(StatusCode::OK)["status"], "ready");
    assert_eq!(table_state(&morning, &tables[2]).await, "occupied");

    // ===== Afternoon: Evyone's drawer opens with 30,000. =====
    let second_shift = afternoon
        .post_keyed("/api/shifts", json!({"opening_float": 30_000}))
        .await;
    let second_shift = second_shift.expect(StatusCode::CREATED).clone();

    // The morning's table pays online, and no IPN ever comes: the poller confirms it.
    let started = pay(
        &afternoon,
        &carried,
        json!({"method": "pesapal", "amount": carried_total, "customer_phone": "+256700000002"}),
    )
    .await;
    let polled_payment = id(&started["payment"]);
    assert_eq!(started["payment"]["shift_id"], second_shift["id"]);
    let polled_tracking = started["order_tracking_id"].as_str().unwrap().to_owned();
    fake.complete(&polled_tracking);
    let carried_path = format!("/api/orders/{}", id(&carried));
    wait_for("the poller to confirm", Duration::from_secs(30), async || {
        afternoon.get(&carried_path).await.body["status"] == "closed"
    })
    .await;
    assert_eq!(
        payment_column(&venue, &polled_payment, "status").as_deref(),
        Some("completed")
    );
    assert!(fake.status_queries(&polled_tracking) >= 1);
    assert_eq!(table_state(&afternoon, &tables[2]).await, "free");

    // A takeaway paid in cash with a cash tip: the tip stays in the drawer, apart from sales.
    let tipped = ready(
        &afternoon,
        &cook,
        json!({"type": "takeaway", "items": items(&product, 1)}),
    )
    .await;
    let tipped_total = money(&tipped["total"]);
    let with_tip = pay(
        &afternoon,
        &tipped,
        json!({"method": "cash", "amount": tipped_total, "tip": 1_500,
               "tendered": tipped_total + 5_000}),
    )
    .await;
    assert_eq!(with_tip["payment"]["change"], 3_500);
    assert_eq!(with_tip["order"]["paid"], tipped_total);
    assert_eq!(with_tip["order"]["status"], "closed");

    // Not yet: a drawer is open.
    let early = manager.post_keyed("/api/z-reports", json!({})).await;
    assert_eq!(
        (early.status, early.code()),
        (StatusCode::CONFLICT, "shifts_still_open"),
        "{}",
        early.body
    );
    assert_eq!(early.body["open_shifts"][0]["shift_id"], second_shift["id"]);

    // 3,000 over: within the threshold, closed without anyone's approval.
    let afternoon_expected = 30_000 + tipped_total + 1_500;
    let closed_later = afternoon
        .post_keyed(
            &format!("/api/shifts/{}/close", id(&second_shift)),
            json!({"counted_cash": afternoon_expected + 3_000}),
        )
        .await;
    let closed_later = closed_later.expect(StatusCode::OK).clone();
    assert_eq!(closed_later["expected_cash"], afternoon_expected);
    assert_eq!(closed_later["variance"], 3_000);
    assert_eq!(closed_later["variance_approved_by"], Value::Null);

    // ===== The Z report =====
    let z = manager.post_keyed("/api/z-reports", json!({})).await;
    let z = z.expect(StatusCode::CREATED).clone();
    assert_eq!(z["number"], 1);
    let totals = &z["totals"];

    // Row by row from the database: every received payment, refund and tip, by method.
    let payments = payment_rows(db);
    let refunds = refund_rows(db);
    assert_eq!(payments.len(), 7, "{payments:?}");
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    let mut by_method: BTreeMap<String, (i64, i64, i64, i64)> = BTreeMap::new();
    for (method, amount, tip) in &payments {
        let row = by_method.entry(method.clone()).or_default();
        row.0 += 1;
        row.1 += amount;
        row.2 += tip;
    }
    for (method, amount) in &refunds {
        by_method.entry(method.clone()).or_default().3 += amount;
    }
    // … which are the day just played.
    let played: BTreeMap<String, (i64, i64, i64, i64)> = [
        (
            "cash",
            (3, cash_part + refunded_total + tipped_total, 1_500, 1_000),
        ),
        ("mtn_momo", (1, momo_part, 0, 0)),
        ("card", (1, card_total, 2_000, 0)),
        ("pesapal", (2, online_total + carried_total, 0, 0)),
    ]
    .into_iter()
    .map(|(m, row)| (m.to_owned(), row))
    .collect();
    assert_eq!(by_method, played);

    let payments_total: i64 = payments.iter().map(|p| p.1).sum();
    assert_eq!(money(&totals["payments_total"]), payments_total);
    assert_eq!(money(&totals["payments_count"]), payments.len() as i64);
    assert_eq!(
        money(&totals["tips_total"]),
        payments.iter().map(|p| p.2).sum::<i64>()
    );
    assert_eq!(
        money(&totals["refunds_total"]),
        refunds.iter().map(|r| r.1).sum::<i64>()
    );
    assert_eq!(money(&totals["refunds_count"]), refunds.len() as i64);
    let reported: BTreeMap<String, (i64, i64, i64, i64)> = totals["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| money(&row["payments"]) > 0 || money(&row["refunds"]) > 0)
        .map(|row| {
            assert_eq!(
                money(&row["net"]),
                money(&row["amount"]) - money(&row["refunds"]),
                "{row}"
            );
            (
                row["method"].as_str().unwrap().to_owned(),
                (
                    money(&row["payments"]),
                    money(&row["amount"]),
                    money(&row["tips"]),
                    money(&row["refunds"]),
                ),
            )
        })
        .collect();
    assert_eq!(reported, by_method);

    // Sales are the closed orders; payments settle them exactly.
    let sales = scalar(
        db,
        "SELECT COALESCE(sum(total), 0)::bigint AS n FROM orders WHERE status = 'closed'",
    );
    assert_eq!(count_where(db, "orders", "status = 'closed'"), 6);
    assert_eq!(money(&totals["sales"]["sales"]), sales);
    assert_eq!(sales, payments_total);
    assert_eq!(totals["discounts"]["amount"], subtotal / 5);
    assert_eq!(totals["discounts"]["approved"], 1);

    // Both drawers, with their variances; the day's is their sum.
    let shifts = totals["shifts"].as_array().unwrap();
    let drawers: BTreeMap<String, (i64, i64, i64, Value)> = shifts
        .iter()
        .map(|s| {
            (
                s["shift_id"].as_str().unwrap().to_owned(),
                (
                    money(&s["opening_float"]),
                    money(&s["expected_cash"]),
                    money(&s["variance"]),
                    s["variance_approved_by"].clone(),
                ),
            )
        })
        .collect();
    assert_eq!(
        drawers,
        BTreeMap::from([
            (id(&first_shift), (50_000, morning_expected, -6_000, json!(linus))),
            (
                id(&second_shift),
                (30_000, afternoon_expected, 3_000, Value::Null)
            ),
        ])
    );
    assert_eq!(totals["cash_variance"], -3_000);
    assert!(z["text"].as_str().unwrap().contains("Z REPORT #1"));
    // The chain verifies.
    let verified = manager.get("/api/z-reports/verify").await;
    assert_eq!(verified.expect(StatusCode::OK)["ok"], true);
    assert_eq!(verified.body["reports"], 1);
    // Six orders closed, six receipts numbered without a gap.
    assert_eq!(count_where(db, "receipts", "number BETWEEN 1 AND 6"), 6);
}
