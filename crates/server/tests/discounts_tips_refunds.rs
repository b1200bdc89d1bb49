//! Discounts with a manager's approval, tips, refunds, the receipt queued at close and an
//! order paid early that closes when its last item is ready, end to end through `pos serve`
//! over real PostgreSQL. Every refusal names its field and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod till;

use std::sync::Arc;

use diesel::RunQueryDsl;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use till::{Client, count_where, food, fresh_key, id, make_ready, manager_approval, venue};

/// A takeaway of `lines` × `product`, sent to the kitchen.
async fn sent_order(cashier: &Client, product: &Value, lines: usize) -> Value {
    let items: Vec<Value> = (0..lines)
        .map(|_| json!({"product_id": id(product), "quantity": 1}))
        .collect();
    let created = cashier
        .post_keyed("/api/orders", json!({"type": "takeaway", "items": items}))
        .await;
    let order = created.expect(StatusCode::CREATED).clone();
    cashier
        .call(Method::POST, &format!("/api/orders/{}/send", id(&order)))
        .key(&fresh_key())
        .empty()
        .await
        .expect(StatusCode::OK)
        .clone()
}

async fn ready_order(cashier: &Client, cook: &Client, product: &Value, lines: usize) -> Value {
    let order = sent_order(cashier, product, lines).await;
    let ready = make_ready(cashier, cook, &order).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    ready
}

fn text_of(db: &pos_testkit::TestDb, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    diesel::sql_query(sql)
        .load::<Row>(&mut db.connect())
        .unwrap()
        .into_iter()
        .map(|r| r.t)
        .collect()
}

#[tokio::test]
async fn discounts_up_to_the_limit_and_above_it_with_a_managers_approval() {
    let venue = venue("discounts").await;
    let server = &venue.server;
    let cashier = Client::adopt(server, "phiona").await;
    let _manager = Client::adopt(server, "linus").await;
    let product = food(&cashier).await;
    let order = sent_order(&cashier, &product, 2).await;
    let path = format!("/api/orders/{}/discount", id(&order));
    let subtotal = order["subtotal"].as_i64().unwrap();
    let tax = order["tax"].as_i64().unwrap();
    assert_eq!(order["discount"], 0);

    let put = |body: Value| {
        let cashier = &cashier;
        let path = path.clone();
        async move {
            cashier
                .call(Method::PUT, &path)
                .key(&fresh_key())
                .json(body)
                .await
        }
    };
    // Without a key: refused, nothing changed.
    cashier
        .call(Method::PUT, &path)
        .json(json!({"percent_bp": 500}))
        .await
        .refused(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            Some("Idempotency-Key"),
        );
    // Within the cashier limit (10 %): applied, totals and tax recomputed.
    let within = put(json!({"percent_bp": 1000, "reason": "regular"})).await;
    let within = within.expect(StatusCode::OK).clone();
    assert_eq!(within["discount"], subtotal / 10);
    assert_eq!(within["total"], subtotal - subtotal / 10);
    assert!(within["tax"].as_i64().unwrap() < tax, "{within}");

    // Above it without approval: 403 naming `approval`, nothing changed.
    put(json!({"percent_bp": 2000})).await.refused(
        StatusCode::FORBIDDEN,
        "approval_required",
        Some("approval"),
    );
    put(json!({"amount": subtotal / 2})).await.refused(
        StatusCode::FORBIDDEN,
        "approval_required",
        Some("approval"),
    );
    put(json!({"percent_bp": 2000, "approval": {"username": "linus", "password": "wrong password"}}))
        .await
        .refused(StatusCode::FORBIDDEN, "invalid_approval", None);
    let unchanged = cashier.get(&format!("/api/orders/{}", id(&order))).await;
    let unchanged = unchanged.expect(StatusCode::OK);
    assert_eq!(unchanged["discount"], within["discount"]);
    assert_eq!(unchanged["version"], within["version"]);

    // With a manager's approval inside the request: applied, both people audited.
    let approved = put(json!({"percent_bp": 2000, "approval": manager_approval()})).await;
    let approved = approved.expect(StatusCode::OK).clone();
    assert_eq!(approved["discount"], subtotal / 5);
    assert_eq!(approved["total"], subtotal - subtotal / 5);
    assert_eq!(
        count_where(
            &venue.db,
            "audit_log",
            &format!(
                "action = 'discount.applied' AND entity_id = '{}' AND approver_id IS NOT NULL \
                 AND actor_id <> approver_id",
                id(&order)
            )
        ),
        1
    );

    // Bad input names its field and changes nothing.
    for (body, status, field) in [
        (json!({"percent_bp": 10_001}), 422, "percent_bp"),
        (json!({"percent_bp": -1}), 422, "percent_bp"),
        (json!({"amount": -1}), 422, "amount"),
        (json!({"percent_bp": 100, "amount": 5}), 422, "percent_bp"),
        (json!({}), 422, "percent_bp"),
        (json!({"percent_bp": 1.5}), 400, "percent_bp"),
        (json!({"amount": "10"}), 400, "amount"),
    ] {
        let answer = put(body.clone()).await;
        assert_eq!(answer.status.as_u16(), status, "{body}: {}", answer.body);
        assert_eq!(answer.field(), field, "{body}: {}", answer.body);
    }
    let same = cashier.get(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(same.expect(StatusCode::OK)["version"], approved["version"]);

    // One item's discount, then the order's cleared: only the item's remains.
    let item = approved["items"][0]["id"].as_str().unwrap().to_owned();
    let item_path = format!("/api/orders/{}/items/{item}/discount", id(&order));
    let on_item = cashier
        .call(Method::PUT, &item_path)
        .key(&fresh_key())
        .json(json!({"amount": 100}))
        .await;
    // The item's own 100 plus its share of the order's 20 %.
    let on_item = on_item.expect(StatusCode::OK)["items"][0]["discount"]
        .as_i64()
        .unwrap();
    assert!(on_item > 100, "{on_item}");
    let cleared = cashier
        .call(Method::DELETE, &path)
        .key(&fresh_key())
        .empty()
        .await;
    let cleared = cleared.expect(StatusCode::OK);
    assert_eq!(cleared["discount"], 100);
    assert_eq!(cleared["total"], subtotal - 100);
    cashier
        .call(
            Method::PUT,
            &format!(
                "/api/orders/{}/items/{}/discount",
                id(&order),
                uuid::Uuid::new_v4()
            ),
        )
        .key(&fresh_key())
        .json(json!({"amount": 100}))
        .await
        .refused(StatusCode::NOT_FOUND, "item_not_found", Some("item_id"));
    cashier
        .call(
            Method::PUT,
            &format!("/api/orders/{}/discount", uuid::Uuid::new_v4()),
        )
        .key(&fresh_key())
        .json(json!({"percent_bp": 100}))
        .await
        .refused(StatusCode::NOT_FOUND, "not_found", None);
}

#[tokio::test]
async fn tips_are_kept_apart_from_the_bill_counted_in_the_drawer_and_printed() {
    let venue = venue("tips").await;
    let server = &venue.server;
    let cashier = Client::adopt(server, "phiona").await;
    let cook = Client::adopt(server, "emma").await;
    let product = food(&cashier).await;
    let shift = cashier
        .post_keyed("/api/shifts", json!({"opening_float": 10_000}))
        .await;
    let shift = shift.expect(StatusCode::CREATED).clone();
    let order = ready_order(&cashier, &cook, &product, 1).await;
    let total = order["total"].as_i64().unwrap();
    let pay = format!("/api/orders/{}/payments", id(&order));

    for (body, status, field) in [
        (json!({"method": "cash", "amount": total, "tip": -1}), 422, "tip"),
        (json!({"method": "cash", "amount": total, "tip": 1.5}), 400, "tip"),
        (
            json!({"method": "cash", "amount": total, "tip": 2_000, "tendered": total + 1_999}),
            422,
            "tendered",
        ),
    ] {
        let answer = cashier.post_keyed(&pay, body.clone()).await;
        assert_eq!(answer.status.as_u16(), status, "{body}: {}", answer.body);
        assert_eq!(answer.field(), field, "{body}: {}", answer.body);
    }
    assert_eq!(count_where(&venue.db, "payments", "true"), 0);

    // Cash: the tip rides on top of the bill; change is what is left of the note.
    let paid = cashier
        .post_keyed(
            &pay,
            json!({"method": "cash", "amount": total, "tip": 2_000, "tendered": total + 5_000}),
        )
        .await;
    let paid = paid.expect(StatusCode::CREATED).clone();
    assert_eq!(paid["payment"]["tip"], 2_000);
    assert_eq!(paid["payment"]["change"], 3_000);
    assert_eq!(paid["order"]["paid"], total);
    assert_eq!(paid["order"]["status"], "closed");
    assert_eq!(
        count_where(&venue.db, "payments", &format!("tip = 2000 AND amount = {total}")),
        1
    );

    // A card tip on another order: reported, but not in the drawer.
    let other = ready_order(&cashier, &cook, &product, 1).await;
    let other_total = other["total"].as_i64().unwrap();
    cashier
        .post_keyed(
            &format!("/api/orders/{}/payments", id(&other)),
            json!({"method": "card", "amount": other_total, "tip": 1_000}),
        )
        .await
        .expect(StatusCode::CREATED);

    let report = cashier.get(&format!("/api/shifts/{}/x-report", id(&shift))).await;
    let cash = report.expect(StatusCode::OK)["shift"]["cash"].clone();
    assert_eq!(cash["cash_sales"], total);
    assert_eq!(cash["cash_tips"], 2_000);
    assert_eq!(cash["tips"], 3_000);
    assert_eq!(cash["expected"], 10_000 + total + 2_000);

    let receipt = cashier.get(&format!("/api/orders/{}/receipt", id(&order))).await;
    let text = receipt.expect(StatusCode::OK)["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("Tip"), "{text}");
    assert!(text.contains("2,000"), "{text}");
}

#[tokio::test]
async fn refunds_within_what_was_paid_with_approval_leave_the_refunders_drawer() {
    let venue = venue("refunds").await;
    let server = &venue.server;
    let cashier = Client::adopt(server, "phiona").await;
    let cook = Client::adopt(server, "emma").await;
    let manager = Client::adopt(server, "linus").await;
    let product = food(&cashier).await;
    let shift = cashier
        .post_keyed("/api/shifts", json!({"opening_float": 50_000}))
        .await;
    let shift = shift.expect(StatusCode::CREATED).clone();
    let order = ready_order(&cashier, &cook, &product, 2).await;
    let total = order["total"].as_i64().unwrap();
    let paid = cashier
        .post_keyed(
            &format!("/api/orders/{}/payments", id(&order)),
            json!({"method": "cash", "amount": total}),
        )
        .await;
    let payment = paid.expect(StatusCode::CREATED)["payment"].clone();
    let refunds = format!("/api/payments/{}/refunds", id(&payment));

    let nothing_changed = |venue: &till::Venue| {
        assert_eq!(count_where(&venue.db, "refunds", "true"), 0);
        assert_eq!(
            count_where(
                &venue.db,
                "payments",
                "refunded_amount = 0 AND status = 'completed'"
            ),
            1
        );
        assert_eq!(
            count_where(
                &venue.db,
                "orders",
                &format!("id = '{}' AND paid = {total}", id(&order))
            ),
            1
        );
    };
    cashier
        .post(
            &refunds,
            json!({"amount": 1_000, "reason": "cold", "approval": manager_approval()}),
        )
        .await
        .refused(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            Some("Idempotency-Key"),
        );
    cashier
        .post_keyed(&refunds, json!({"amount": 1_000, "reason": "cold"}))
        .await
        .refused(StatusCode::FORBIDDEN, "approval_required", Some("approval"));
    cashier
        .post_keyed(
            &refunds,
            json!({"amount": total + 1, "reason": "cold", "approval": manager_approval()}),
        )
        .await
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "refund_exceeds_remaining",
            Some("amount"),
        );
    for (body, status, field) in [
        (json!({"amount": 0, "reason": "cold"}), 422, "amount"),
        (json!({"amount": -5, "reason": "cold"}), 422, "amount"),
        (json!({"amount": 1.5, "reason": "cold"}), 400, "amount"),
        (json!({"amount": 10, "reason": ""}), 422, "reason"),
        (json!({"amount": 10}), 400, "reason"),
    ] {
        let answer = cashier.post_keyed(&refunds, body.clone()).await;
        assert_eq!(answer.status.as_u16(), status, "{body}: {}", answer.body);
        assert_eq!(answer.field(), field, "{body}: {}", answer.body);
    }
    cashier
        .post_keyed(
            &format!("/api/payments/{}/refunds", uuid::Uuid::new_v4()),
            json!({"amount": 10, "reason": "cold", "approval": manager_approval()}),
        )
        .await
        .refused(StatusCode::NOT_FOUND, "not_found", None);
    nothing_changed(&venue);

    // A partial refund with approval: the payment, the order and the drawer agree.
    let key = fresh_key();
    let body = json!({"amount": 1_000, "reason": "cold coffee", "approval": manager_approval()});
    let first = cashier
        .call(Method::POST, &refunds)
        .key(&key)
        .json(body.clone())
        .await;
    let done = first.expect(StatusCode::CREATED).clone();
    assert_eq!(done["payment"]["status"], "partially_refunded");
    assert_eq!(done["payment"]["refunded"], 1_000);
    assert_eq!(done["order"]["paid"], total - 1_000);
    assert_eq!(done["order"]["status"], "closed");
    assert_eq!(done["refund"]["shift_id"], shift["id"]);
    assert_ne!(done["refund"]["approved_by"], done["refund"]["staff_id"]);
    let again = cashier.call(Method::POST, &refunds).key(&key).json(body).await;
    assert_eq!((again.status, &again.bytes), (first.status, &first.bytes));
    assert_eq!(count_where(&venue.db, "refunds", "true"), 1);
    assert_eq!(
        count_where(&venue.db, "events", "event_type = 'payment.refunded'"),
        1
    );
    assert_eq!(
        count_where(
            &venue.db,
            "audit_log",
            "action = 'payment.refunded' AND approver_id IS NOT NULL"
        ),
        1
    );
    let drawer = cashier.get(&format!("/api/shifts/{}", id(&shift))).await;
    let drawer = drawer.expect(StatusCode::OK);
    assert_eq!(drawer["cash"]["cash_refunds"], 1_000);
    assert_eq!(drawer["cash"]["expected"], 50_000 + total - 1_000);

    // A manager refunds alone, but cash leaves a drawer: the manager's own open shift.
    let rest = json!({"amount": total - 1_000, "reason": "wrong order"});
    manager
        .post_keyed(&refunds, rest.clone())
        .await
        .refused(StatusCode::CONFLICT, "no_open_shift", None);
    let manager_shift = manager
        .post_keyed("/api/shifts", json!({"opening_float": 100_000}))
        .await;
    let manager_shift = manager_shift.expect(StatusCode::CREATED).clone();
    let full = manager.post_keyed(&refunds, rest).await;
    let full = full.expect(StatusCode::CREATED).clone();
    assert_eq!(full["payment"]["status"], "refunded");
    assert_eq!(full["order"]["paid"], 0);
    let theirs = manager.get(&format!("/api/shifts/{}", id(&manager_shift))).await;
    assert_eq!(
        theirs.expect(StatusCode::OK)["cash"]["expected"],
        100_000 - (total - 1_000)
    );
    manager
        .post_keyed(&refunds, json!({"amount": 1, "reason": "again"}))
        .await
        .refused(StatusCode::CONFLICT, "not_refundable", None);
    assert_eq!(count_where(&venue.db, "refunds", "true"), 2);

    // An online payment is refunded through the provider: none is configured here.
    let online = uuid::Uuid::new_v4();
    diesel::sql_query(format!(
        "INSERT INTO payments (id, order_id, method, amount, currency, status, staff_id, \
         provider_confirmation_code, provider_payment_method, completed_at) \
         SELECT '{online}', id, 'pesapal', 500, currency, 'completed', staff_id, 'PSP-1', \
         'MpesaKE', now() FROM orders WHERE id = '{}'",
        id(&order)
    ))
    .execute(&mut venue.db.connect())
    .unwrap();
    manager
        .post_keyed(
            &format!("/api/payments/{online}/refunds"),
            json!({"amount": 500, "reason": "double charge"}),
        )
        .await
        .refused(StatusCode::SERVICE_UNAVAILABLE, "gateway_unavailable", None);
    assert_eq!(count_where(&venue.db, "refunds", "true"), 2);
    assert_eq!(
        count_where(
            &venue.db,
            "payments",
            &format!("id = '{online}' AND refunded_amount = 0")
        ),
        1
    );
}

#[tokio::test]
async fn a_closing_order_queues_its_receipt_and_a_reprint_is_a_copy() {
    let venue = venue("receipt-print").await;
    let server = &venue.server;
    let cashier = Client::adopt(server, "phiona").await;
    let cook = Client::adopt(server, "emma").await;
    let product = food(&cashier).await;
    cashier
        .post_keyed("/api/shifts", json!({"opening_float": 0}))
        .await
        .expect(StatusCode::CREATED);
    let order = ready_order(&cashier, &cook, &product, 1).await;
    let total = order["total"].as_i64().unwrap();
    let reprint = format!("/api/orders/{}/receipt/reprint", id(&order));
    // Not closed yet: no receipt to reprint.
    let early = cashier
        .call(Method::POST, &reprint)
        .key(&fresh_key())
        .empty()
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    let receipts_of = |venue: &till::Venue| {
        text_of(
            &venue.db,
            &format!(
                "SELECT payload_text AS t FROM print_jobs WHERE kind = 'receipt' AND order_id = '{}' \
                 ORDER BY created_at",
                id(&order)
            ),
        )
    };
    assert!(receipts_of(&venue).is_empty());
    cashier
        .post_keyed(
            &format!("/api/orders/{}/payments", id(&order)),
            json!({"method": "cash", "amount": total, "tendered": total + 1_000}),
        )
        .await
        .expect(StatusCode::CREATED);
    let queued = receipts_of(&venue);
    assert_eq!(queued.len(), 1);
    assert!(queued[0].contains("Receipt No. 1"), "{}", queued[0]);
    assert!(!queued[0].contains("COPY"), "{}", queued[0]);
    assert!(queued[0].contains("Change"), "{}", queued[0]);
    assert_eq!(
        count_where(
            &venue.db,
            "print_jobs",
            "kind = 'receipt' AND printer = 'receipt' AND status = 'queued'"
        ),
        1
    );
    assert!(count_where(&venue.db, "events", "event_type = 'print_job.queued'") >= 2);

    cashier.call(Method::POST, &reprint).empty().await.refused(
        StatusCode::BAD_REQUEST,
        "idempotency_key_required",
        Some("Idempotency-Key"),
    );
    let key = fresh_key();
    let copy = cashier
        .call(Method::POST, &format!("{reprint}?paper=58mm"))
        .key(&key)
        .empty()
        .await;
    let view = copy.expect(StatusCode::CREATED).clone();
    assert_eq!(view["copy"], true);
    assert_eq!(view["receipt_number"], 1);
    assert!(view["text"].as_str().unwrap().contains("COPY"), "{view}");
    let again = cashier
        .call(Method::POST, &format!("{reprint}?paper=58mm"))
        .key(&key)
        .empty()
        .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let queued = receipts_of(&venue);
    assert_eq!(queued.len(), 2);
    assert!(queued[1].contains("COPY"), "{}", queued[1]);
    assert!(
        queued[1].lines().all(|l| l.chars().count() <= 32),
        "{}",
        queued[1]
    );
    cashier
        .call(
            Method::POST,
            &format!("/api/orders/{}/receipt/reprint", uuid::Uuid::new_v4()),
        )
        .key(&fresh_key())
        .empty()
        .await
        .refused(StatusCode::NOT_FOUND, "not_found", None);
}

/// Paid at the counter while the kitchen is still cooking: the order stays open (no
/// receipt yet) and closes, numbered and printed, when its last item is ready.
#[tokio::test]
async fn an_order_paid_early_closes_when_its_last_item_is_ready() {
    let venue = venue("paid-early").await;
    let server = &venue.server;
    let cashier = Client::adopt(server, "phiona").await;
    let cook = Client::adopt(server, "emma").await;
    let product = food(&cashier).await;
    cashier
        .post_keyed("/api/shifts", json!({"opening_float": 0}))
        .await
        .expect(StatusCode::CREATED);
    let order = sent_order(&cashier, &product, 2).await;
    let total = order["total"].as_i64().unwrap();
    let paid = cashier
        .post_keyed(
            &format!("/api/orders/{}/payments", id(&order)),
            json!({"method": "card", "amount": total}),
        )
        .await;
    let paid = paid.expect(StatusCode::CREATED).clone();
    assert_eq!(paid["order"]["balance"], 0);
    assert_eq!(paid["order"]["status"], "sent");
    assert_eq!(count_where(&venue.db, "receipts", "true"), 0);
    let closed = make_ready(&cashier, &cook, &order).await;
    assert_eq!(closed["status"], "closed", "{closed}");
    assert_eq!(count_where(&venue.db, "receipts", "number = 1"), 1);
    assert_eq!(
        count_where(
            &venue.db,
            "print_jobs",
            &format!("kind = 'receipt' AND order_id = '{}'", id(&order))
        ),
        1
    );
    assert_eq!(count_where(&venue.db, "events", "event_type = 'order.closed'"), 1);
}

/// The shift a payment carries is read (and locked) inside the payment's transaction: a
/// close racing payments counts exactly the payments on the shift, and every payment after
/// it is refused.
#[tokio::test]
async fn a_close_racing_payments_counts_exactly_the_payments_on_its_shift() {
    let venue = venue("shift-race").await;
    let server = &venue.server;
    let cashier = Arc::new(Client::adopt(server, "phiona").await);
    let cook = Client::adopt(server, "emma").await;
    let product = food(&cashier).await;
    let shift = cashier
        .post_keyed("/api/shifts", json!({"opening_float": 0}))
        .await;
    let shift = shift.expect(StatusCode::CREATED).clone();
    let order = ready_order(&cashier, &cook, &product, 3).await;
    let pay = format!("/api/orders/{}/payments", id(&order));
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let cashier = cashier.clone();
            let pay = pay.clone();
            tokio::spawn(async move {
                cashier
                    .post_keyed(&pay, json!({"method": "cash", "amount": 100}))
                    .await
            })
        })
        .collect();
    // Let some payments through first, so the close meets others in flight.
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let close = cashier
        .post_keyed(
            &format!("/api/shifts/{}/close", id(&shift)),
            json!({"counted_cash": 0}),
        )
        .await;
    let closed = close.expect(StatusCode::OK).clone();
    let mut taken = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.status {
            StatusCode::CREATED => {
                assert_eq!(answer.body["payment"]["shift_id"], shift["id"]);
                taken += 1;
            }
            _ => assert_eq!(answer.code(), "no_open_shift", "{}", answer.body),
        }
    }
    assert_eq!(
        count_where(&venue.db, "payments", &format!("shift_id = '{}'", id(&shift))),
        taken
    );
    eprintln!("{taken} of 12 payments landed on the shift before its close");
    assert_eq!(closed["expected_cash"], taken * 100, "{closed}");
}
