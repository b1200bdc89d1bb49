//! Pesapal end to end: `pos serve` over real PostgreSQL talking HTTP to the fake Pesapal of
//! `pos-testkit`, which calls back our IPN URL like Pesapal does. A payment confirmed by IPN
//! (seen over SSE) and by the poller, failed, reversed, timed out, a duplicate IPN, an IPN
//! for an unknown tracking id, an amount or currency that differs from ours, Pesapal's
//! 200-with-error on submit, a slow Pesapal, and tokens renewed before they expire.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod till;

use std::time::Duration;

use pos_testkit::pesapal::{FakePesapal, IpnDelivery};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use till::{
    Client, Venue, count_where, food, fresh_key, id, ipn_url, payment_column, pesapal_venue as venue,
    place_ready, wait_for,
};

/// A signed-in cashier with an open shift, and a cook.
async fn till(venue: &Venue) -> (Client, Client) {
    let cashier = Client::adopt(&venue.server, "phiona").await;
    let cook = Client::adopt(&venue.server, "emma").await;
    cashier
        .post_keyed("/api/shifts", json!({"opening_float": 0}))
        .await
        .expect(StatusCode::CREATED);
    (cashier, cook)
}

/// A dine-in order of two dishes at a free table, sent and made ready by the kitchen.
async fn ready_order(cashier: &Client, cook: &Client, table: usize) -> Value {
    let food = food(cashier).await;
    let tables = cashier.get("/api/tables").await;
    let table = tables.expect(StatusCode::OK).as_array().unwrap()[table].clone();
    let items: Vec<Value> = (0..2)
        .map(|_| json!({"product_id": id(&food), "quantity": 1}))
        .collect();
    place_ready(
        cashier,
        cook,
        json!({"type": "dine_in", "table_id": id(&table), "items": items}),
    )
    .await
}

fn pay_path(order: &Value) -> String {
    format!("/api/orders/{}/payments", id(order))
}

/// Starts a Pesapal payment of `amount` (the balance when `None`); 201 expected.
async fn start(cashier: &Client, order: &Value, amount: Option<i64>) -> Value {
    let amount = amount.unwrap_or_else(|| order["balance"].as_i64().unwrap());
    let started = cashier
        .post_keyed(
            &pay_path(order),
            json!({"method": "pesapal", "amount": amount, "customer_phone": "+256700000001"}),
        )
        .await;
    started.expect(StatusCode::CREATED).clone()
}

fn tracking(started: &Value) -> String {
    started["order_tracking_id"].as_str().unwrap().to_owned()
}

/// The event stream's text until `needle` appears (or `limit` passes).
async fn stream_until(mut response: reqwest::Response, needles: &[&str], limit: Duration) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + limit;
    while !needles.iter().all(|n| text.contains(n)) {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(bytes))) => text.push_str(&String::from_utf8_lossy(&bytes)),
            _ => panic!("{needles:?} not streamed within {limit:?}: {text}"),
        }
    }
    text
}

#[tokio::test]
async fn a_payment_confirmed_by_ipn_closes_the_order_and_reaches_the_pos() {
    let fake = FakePesapal::start();
    let venue = venue("pesapal-ipn", &fake, &[]).await;
    // Registered at start-up, since no PESAPAL_IPN_ID was given; the id is logged.
    {
        let state = fake.state();
        assert_eq!(state.registrations, 1);
        assert!(
            state
                .ipns
                .contains(&(ipn_url(&venue), "ipn-1".to_owned(), "POST".to_owned())),
            "{:?}",
            state.ipns
        );
    }
    assert!(venue.server.log().contains("ipn-1"));
    let (cashier, cook) = till(&venue).await;
    let order = ready_order(&cashier, &cook, 0).await;
    let total = order["total"].as_i64().unwrap();

    let stream = cashier
        .http
        .get(format!(
            "{}/api/realtime/stream?topics=payments,orders",
            cashier.base
        ))
        .bearer_auth(&cashier.token)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);

    let key = fresh_key();
    let body = json!({"method": "pesapal", "amount": total, "customer_phone": "+256700000001"});
    let first = cashier
        .call(Method::POST, &pay_path(&order))
        .key(&key)
        .json(body.clone())
        .await;
    let started = first.expect(StatusCode::CREATED).clone();
    let payment = started["payment"].clone();
    let trk = tracking(&started);
    assert_eq!(payment["status"], "pending");
    assert_eq!(payment["method"], "pesapal");
    assert!(
        started["redirect_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("OrderTrackingId={trk}")),
        "{started}"
    );
    // Pending: not paid, but the balance is reserved.
    assert_eq!(started["order"]["balance"], total);
    let submitted = fake.order_for(&id(&payment)).unwrap();
    assert_eq!(submitted.amount, total.to_string());
    assert_eq!(submitted.currency, "UGX");
    assert_eq!(submitted.notification_id, "ipn-1");
    // A retry replays the answer and submits nothing more.
    let again = cashier
        .call(Method::POST, &pay_path(&order))
        .key(&key)
        .json(body)
        .await;
    assert_eq!((again.status, &again.bytes), (first.status, &first.bytes));
    assert_eq!(fake.submitted().len(), 1);
    cashier
        .post_keyed(&pay_path(&order), json!({"method": "cash", "amount": 1}))
        .await
        .refused(StatusCode::UNPROCESSABLE_ENTITY, "nothing_due", Some("amount"));

    // The IPN before the customer paid changes nothing.
    let (status, ack) = fake.notify(&trk).await;
    assert_eq!((status, ack["status"].as_i64()), (200, Some(200)));
    assert_eq!(
        payment_column(&venue, &id(&payment), "status").as_deref(),
        Some("pending")
    );

    fake.complete(&trk);
    // Pesapal repeats itself: four identical notifications at once settle it exactly once.
    let acks = futures_util::future::join_all((0..4).map(|_| fake.notify(&trk))).await;
    for (status, ack) in &acks {
        assert_eq!((*status, ack["status"].as_i64()), (200, Some(200)), "{ack}");
    }
    let (status, ack) = acks[0].clone();
    assert_eq!(status, 200);
    assert_eq!(
        ack,
        json!({
            "orderNotificationType": "IPNCHANGE",
            "orderTrackingId": trk,
            "orderMerchantReference": id(&payment),
            "status": 200
        })
    );
    let now = cashier.get(&format!("/api/orders/{}", id(&order))).await;
    let now = now.expect(StatusCode::OK);
    assert_eq!(now["status"], "closed");
    assert_eq!(now["balance"], 0);
    assert_eq!(
        payment_column(&venue, &id(&payment), "status").as_deref(),
        Some("completed")
    );
    assert_eq!(
        payment_column(&venue, &id(&payment), "provider_confirmation_code").as_deref(),
        Some("CONF-1")
    );
    let seen = stream_until(
        stream,
        &[
            "payment.pending",
            "payment.completed",
            "order.paid",
            "order.closed",
        ],
        Duration::from_secs(10),
    )
    .await;
    assert!(seen.contains(&id(&payment)), "{seen}");

    // Duplicates and late repeats are acknowledged and change nothing.
    let queries = fake.status_queries(&trk);
    for _ in 0..3 {
        let (status, ack) = fake.notify(&trk).await;
        assert_eq!((status, ack["status"].as_i64()), (200, Some(200)));
    }
    assert_eq!(fake.status_queries(&trk), queries);
    assert_eq!(
        count_where(&venue.db, "events", "event_type = 'payment.completed'"),
        1
    );
    assert_eq!(count_where(&venue.db, "events", "event_type = 'order.closed'"), 1);
    assert!(count_where(&venue.db, "events", "event_type = 'table.updated'") >= 1);
    let paid = cashier.get(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(paid.body["balance"], 0);
    assert_eq!(paid.body["paid"], total);
}

#[tokio::test]
async fn the_poller_confirms_payments_without_ipn_and_times_out_the_rest() {
    let fake = FakePesapal::start();
    let venue = venue(
        "pesapal-poller",
        &fake,
        &[
            ("PESAPAL_IPN_ID", "ipn-preset"),
            ("PESAPAL_POLL_INTERVAL_SECS", "1"),
            ("PESAPAL_CONFIRM_AFTER_SECS", "1"),
            ("PESAPAL_PENDING_TIMEOUT_SECS", "4"),
        ],
    )
    .await;
    // The configured IPN id is used as is.
    assert_eq!(fake.state().registrations, 0);
    let (cashier, cook) = till(&venue).await;
    let paid_later = ready_order(&cashier, &cook, 0).await;
    let abandoned = ready_order(&cashier, &cook, 1).await;
    let confirmed = start(&cashier, &paid_later, None).await;
    let timed_out = start(&cashier, &abandoned, None).await;
    assert_eq!(
        fake.order_for(&id(&confirmed["payment"]))
            .unwrap()
            .notification_id,
        "ipn-preset"
    );

    // Paid, but no IPN ever comes: the poller asks.
    fake.complete(&tracking(&confirmed));
    let order_path = format!("/api/orders/{}", id(&paid_later));
    wait_for("the poller to confirm", Duration::from_secs(15), async || {
        cashier.get(&order_path).await.body["status"] == "closed"
    })
    .await;
    assert_eq!(
        payment_column(&venue, &id(&confirmed["payment"]), "status").as_deref(),
        Some("completed")
    );

    // Never paid: failed after the timeout, its share free again.
    let payment = id(&timed_out["payment"]);
    wait_for("the poller to time out", Duration::from_secs(15), async || {
        payment_column(&venue, &payment, "status").as_deref() == Some("failed")
    })
    .await;
    assert_eq!(
        payment_column(&venue, &payment, "failure_reason").as_deref(),
        Some("timed_out")
    );
    assert!(fake.status_queries(&tracking(&timed_out)) >= 1);
    let balance = abandoned["balance"].as_i64().unwrap();
    let cash = cashier
        .post_keyed(
            &pay_path(&abandoned),
            json!({"method": "cash", "amount": balance}),
        )
        .await;
    assert_eq!(cash.expect(StatusCode::CREATED)["order"]["status"], "closed");
    // A late IPN for the timed-out payment changes nothing.
    fake.complete(&tracking(&timed_out));
    let (status, ack) = fake
        .send_ipn(
            &ipn_url(&venue),
            IpnDelivery::Post,
            &tracking(&timed_out),
            &payment,
        )
        .await;
    assert_eq!((status, ack["status"].as_i64()), (200, Some(200)));
    assert_eq!(
        payment_column(&venue, &payment, "status").as_deref(),
        Some("failed")
    );
    assert_eq!(
        count_where(&venue.db, "events", "event_type = 'payment.failed'"),
        1
    );
}

#[tokio::test]
async fn failed_and_reversed_payments_free_the_balance() {
    let fake = FakePesapal::start();
    // Notifications as GET this time.
    let venue = venue("pesapal-failed", &fake, &[("PESAPAL_IPN_METHOD", "GET")]).await;
    assert_eq!(fake.state().ipns.last().unwrap().2, "GET");
    let (cashier, cook) = till(&venue).await;
    let order = ready_order(&cashier, &cook, 0).await;
    let total = order["total"].as_i64().unwrap();

    let failed = start(&cashier, &order, Some(total)).await;
    // While the customer may still be approving it, the order is neither voided nor merged away.
    let order_path = format!("/api/orders/{}", id(&order));
    cashier
        .post_keyed(&format!("{order_path}/void"), json!({"reason": "customer left"}))
        .await
        .refused(StatusCode::CONFLICT, "online_payment_pending", None);
    // Nor is a sent order with a pending payment merged into another.
    let takeaway =
        |food: &Value| json!({"type": "takeaway", "items": [{"product_id": id(food), "quantity": 1}]});
    let dish = food(&cashier).await;
    let sent = cashier
        .post_keyed("/api/orders", takeaway(&dish))
        .await
        .expect(StatusCode::CREATED)
        .clone();
    cashier
        .call(Method::POST, &format!("/api/orders/{}/send", id(&sent)))
        .key(&fresh_key())
        .empty()
        .await
        .expect(StatusCode::OK);
    start(&cashier, &sent, None).await;
    let open = cashier
        .post_keyed("/api/orders", takeaway(&dish))
        .await
        .expect(StatusCode::CREATED)
        .clone();
    cashier
        .post_keyed(
            &format!("/api/orders/{}/merge", id(&open)),
            json!({"source_order_id": id(&sent)}),
        )
        .await
        .refused(StatusCode::CONFLICT, "online_payment_pending", None);
    assert_eq!(cashier.get(&order_path).await.body["status"], "ready");
    fake.fail(&tracking(&failed));
    let (status, ack) = fake.notify(&tracking(&failed)).await;
    assert_eq!((status, ack["status"].as_i64()), (200, Some(200)));
    let failed_id = id(&failed["payment"]);
    assert_eq!(
        payment_column(&venue, &failed_id, "status").as_deref(),
        Some("failed")
    );
    assert_eq!(
        payment_column(&venue, &failed_id, "failure_reason").as_deref(),
        Some("failed_at_provider")
    );

    let reversed = start(&cashier, &order, Some(total)).await;
    fake.reverse(&tracking(&reversed));
    fake.notify(&tracking(&reversed)).await;
    let reversed_id = id(&reversed["payment"]);
    assert_eq!(
        payment_column(&venue, &reversed_id, "status").as_deref(),
        Some("failed")
    );
    assert_eq!(
        payment_column(&venue, &reversed_id, "failure_reason").as_deref(),
        Some("reversed")
    );
    assert_eq!(
        count_where(&venue.db, "events", "event_type = 'payment.failed'"),
        2
    );

    // Nothing was paid; the whole balance can be taken again.
    let now = cashier.get(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(now.body["balance"], total);
    assert_eq!(now.body["paid"], 0);
    let third = start(&cashier, &order, Some(total)).await;
    fake.complete(&tracking(&third));
    fake.notify(&tracking(&third)).await;
    let now = cashier.get(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(now.body["status"], "closed");
}

#[tokio::test]
async fn an_amount_or_currency_other_than_ours_never_completes() {
    let fake = FakePesapal::start();
    let venue = venue("pesapal-mismatch", &fake, &[]).await;
    let (cashier, cook) = till(&venue).await;
    let order = ready_order(&cashier, &cook, 0).await;
    let total = order["total"].as_i64().unwrap();

    let short = start(&cashier, &order, Some(total)).await;
    fake.complete_with(&tracking(&short), &(total - 1).to_string(), "UGX");
    let (status, ack) = fake.notify(&tracking(&short)).await;
    assert_eq!((status, ack["status"].as_i64()), (200, Some(200)));
    let short_id = id(&short["payment"]);
    assert_eq!(
        payment_column(&venue, &short_id, "status").as_deref(),
        Some("failed")
    );
    assert_eq!(
        payment_column(&venue, &short_id, "failure_reason").as_deref(),
        Some("amount_mismatch")
    );

    let foreign = start(&cashier, &order, Some(total)).await;
    fake.complete_with(&tracking(&foreign), &total.to_string(), "KES");
    fake.notify(&tracking(&foreign)).await;
    let foreign_id = id(&foreign["payment"]);
    assert_eq!(
        payment_column(&venue, &foreign_id, "status").as_deref(),
        Some("failed")
    );
    assert_eq!(
        payment_column(&venue, &foreign_id, "failure_reason").as_deref(),
        Some("amount_mismatch")
    );

    let now = cashier.get(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(now.body["paid"], 0);
    assert_eq!(now.body["status"], "ready");
    assert_eq!(
        count_where(&venue.db, "events", "event_type = 'payment.completed'"),
        0
    );
    assert!(venue.server.log().contains("another amount"));
}

#[tokio::test]
async fn notifications_for_unknown_payments_and_bad_ones_change_nothing() {
    let fake = FakePesapal::start();
    let venue = venue("pesapal-unknown", &fake, &[]).await;
    let (cashier, cook) = till(&venue).await;
    let order = ready_order(&cashier, &cook, 0).await;
    let started = start(&cashier, &order, None).await;
    let trk = tracking(&started);
    fake.complete(&trk);
    let url = ipn_url(&venue);
    let stranger = uuid::Uuid::new_v4().to_string();

    // Unknown tracking id: acknowledged with status 500 (Pesapal may try again), nothing read.
    for delivery in [IpnDelivery::Post, IpnDelivery::Get] {
        let (status, ack) = fake.send_ipn(&url, delivery, "trk-nobody", &stranger).await;
        assert_eq!(status, 200);
        assert_eq!(ack["status"], 500);
        assert_eq!(ack["orderTrackingId"], "trk-nobody");
    }
    assert_eq!(fake.status_queries("trk-nobody"), 0);
    // A known tracking id with another payment's reference is not believed either.
    let (_, ack) = fake.send_ipn(&url, IpnDelivery::Post, &trk, &stranger).await;
    assert_eq!(ack["status"], 500);
    assert_eq!(
        payment_column(&venue, &id(&started["payment"]), "status").as_deref(),
        Some("pending")
    );

    // Malformed notifications (a field missing, a body not JSON): 400 naming the field.
    let http = reqwest::Client::new();
    let missing = http
        .get(format!(
            "{url}?OrderMerchantReference=x&OrderNotificationType=IPNCHANGE"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let problem: Value = missing.json().await.unwrap();
    assert_eq!(problem["field"], "OrderTrackingId", "{problem}");
    let garbage = http
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    // Present but empty (or oversized) fields name no payment: acknowledged as not handled.
    for (method, empty) in [
        (reqwest::Method::GET, None),
        (
            reqwest::Method::POST,
            Some(json!({"OrderTrackingId": " ", "OrderMerchantReference": "", "OrderNotificationType": ""})),
        ),
    ] {
        let request = match empty {
            None => http.get(format!(
                "{url}?OrderTrackingId=&OrderMerchantReference=&OrderNotificationType="
            )),
            Some(body) => http.request(method, &url).json(&body),
        };
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let ack: Value = answer.json().await.unwrap();
        assert_eq!(ack["status"], 500, "{ack}");
    }
    assert_eq!(count_where(&venue.db, "payments", "status <> 'pending'"), 0);
    assert_eq!(
        count_where(&venue.db, "events", "event_type = 'payment.completed'"),
        0
    );
}

#[tokio::test]
async fn pesapal_refusals_on_submit_write_nothing() {
    let fake = FakePesapal::start();
    let venue = venue("pesapal-refused", &fake, &[]).await;
    let (cashier, cook) = till(&venue).await;
    let order = ready_order(&cashier, &cook, 0).await;
    let total = order["total"].as_i64().unwrap();
    let pay = pay_path(&order);

    // Pesapal's error comes with HTTP 200.
    fake.state().order_answer = Some(json!({
        "order_tracking_id": null, "merchant_reference": null, "redirect_url": null,
        "error": { "error_type": "api_error", "code": "invalid_amount", "message": "Amount exceeds the limit" },
        "status": "500"
    }));
    let refused = cashier
        .post_keyed(
            &pay,
            json!({"method": "pesapal", "amount": total, "customer_phone": "+256700000001"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.body);
    assert_eq!(refused.code(), "payment_provider_rejected");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("invalid_amount")
    );
    fake.state().order_answer = None;

    // Bad input never reaches Pesapal.
    cashier
        .post_keyed(&pay, json!({"method": "pesapal", "amount": total}))
        .await
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("customer_phone"),
        );
    cashier
        .post_keyed(
            &pay,
            json!({"method": "pesapal", "amount": total + 1, "customer_phone": "+256700000001"}),
        )
        .await
        .refused(StatusCode::UNPROCESSABLE_ENTITY, "overpayment", Some("amount"));
    cashier
        .post_keyed(
            &pay,
            json!({"method": "pesapal", "amount": 0, "customer_email": "guest@example.com"}),
        )
        .await
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "non_positive_amount",
            Some("amount"),
        );
    assert_eq!(fake.submitted().len(), 1);
    assert_eq!(count_where(&venue.db, "payments", "true"), 0);
    let now = cashier.get(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(now.body["balance"], total);
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    let fake = FakePesapal::start();
    // Three-second tokens renewed two seconds early: each is used for one second at most.
    fake.state().token_ttl = chrono::Duration::seconds(3);
    let venue = venue("pesapal-tokens", &fake, &[("PESAPAL_TOKEN_MARGIN_SECS", "2")]).await;
    let (cashier, cook) = till(&venue).await;
    let first = ready_order(&cashier, &cook, 0).await;
    let second = ready_order(&cashier, &cook, 1).await;

    start(&cashier, &first, None).await;
    // Still valid for about 1.5 s, but inside the margin: renewed before use.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    start(&cashier, &second, None).await;

    let used = fake.auth_headers("SubmitOrderRequest");
    assert_eq!(used.len(), 2, "{used:?}");
    assert_ne!(used[0], used[1]);
    // The old token was never sent after it expired: no call was refused.
    assert!(fake.state().rejected.is_empty(), "{:?}", fake.state().rejected);
    assert!(fake.token_requests() >= 2);
}

#[tokio::test]
async fn a_slow_pesapal_starts_nothing_and_notifications_ask_to_be_sent_again() {
    let fake = FakePesapal::start();
    let venue = venue("pesapal-slow", &fake, &[("PESAPAL_TIMEOUT_SECS", "1")]).await;
    let (cashier, cook) = till(&venue).await;
    let order = ready_order(&cashier, &cook, 0).await;
    let total = order["total"].as_i64().unwrap();
    let started = start(&cashier, &order, Some(total / 2)).await;
    let trk = tracking(&started);
    fake.complete(&trk);

    fake.state().delay = Duration::from_secs(3);
    let slow = cashier
        .post_keyed(
            &pay_path(&order),
            json!({"method": "pesapal", "amount": total - total / 2, "customer_phone": "+256700000001"}),
        )
        .await;
    slow.refused(StatusCode::GATEWAY_TIMEOUT, "payment_provider_unreachable", None);
    assert_eq!(count_where(&venue.db, "payments", "true"), 1);
    // GetTransactionStatus times out: the notification is not handled, Pesapal must retry.
    let (status, ack) = fake.notify(&trk).await;
    assert_eq!((status, ack["status"].as_i64()), (200, Some(500)));
    let payment = id(&started["payment"]);
    assert_eq!(
        payment_column(&venue, &payment, "status").as_deref(),
        Some("pending")
    );

    // Pesapal is back: the retry completes it.
    fake.state().delay = Duration::ZERO;
    let (status, ack) = fake.notify(&trk).await;
    assert_eq!((status, ack["status"].as_i64()), (200, Some(200)));
    assert_eq!(
        payment_column(&venue, &payment, "status").as_deref(),
        Some("completed")
    );
    let now = cashier.get(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(now.body["paid"], total / 2);
}
