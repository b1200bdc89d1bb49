//! Shifts end to end through `pos serve` over real PostgreSQL: a drawer opened with its
//! float, cash in and out, the X report, a close whose variance needs a manager in the same
//! request, idempotent retries, one open shift per person, and bad input that changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod till;

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use till::{Client, NEW_PASSWORD, count_where, fresh_key, id, venue};

#[tokio::test]
async fn a_drawer_opens_moves_cash_and_closes_with_a_manager_approving_its_variance() {
    let venue = venue("shifts-flow").await;
    let server = &venue.server;
    let cashier = Client::adopt(server, "phiona").await;
    let manager = Client::adopt(server, "linus").await;
    let manager_id = manager.me().await["staff"]["id"].as_str().unwrap().to_owned();

    assert_eq!(
        cashier.get("/api/shifts/current").await.status,
        StatusCode::NOT_FOUND
    );

    // Open, then the same request again: the first answer, replayed byte for byte.
    let key = fresh_key();
    let opened = cashier
        .call(Method::POST, "/api/shifts")
        .key(&key)
        .json(json!({"opening_float": 50_000}))
        .await;
    let shift = opened.expect(StatusCode::CREATED).clone();
    assert_eq!(shift["status"], "open");
    assert_eq!(shift["currency"], "UGX");
    assert_eq!(shift["cash"]["expected"], 50_000);
    let replay = cashier
        .call(Method::POST, "/api/shifts")
        .key(&key)
        .json(json!({"opening_float": 50_000}))
        .await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.bytes, opened.bytes);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(count_where(&venue.db, "shifts", "true"), 1);

    // One open shift per person.
    cashier
        .post_keyed("/api/shifts", json!({"opening_float": 1}))
        .await
        .refused(StatusCode::CONFLICT, "shift_already_open", None);
    let current = cashier.get("/api/shifts/current").await;
    assert_eq!(id(current.expect(StatusCode::OK)), id(&shift));

    let base = format!("/api/shifts/{}", id(&shift));
    let moved = cashier
        .post_keyed(
            &format!("{base}/cash-movements"),
            json!({"kind": "cash_in", "amount": 10_000, "reason": "change top-up"}),
        )
        .await;
    assert_eq!(moved.expect(StatusCode::CREATED)["cash"]["cash_in"], 10_000);
    let moved = cashier
        .post_keyed(
            &format!("{base}/cash-movements"),
            json!({"kind": "cash_out", "amount": 8_000, "reason": "charcoal"}),
        )
        .await;
    let moved = moved.expect(StatusCode::CREATED);
    assert_eq!(moved["movements"].as_array().unwrap().len(), 2);
    assert_eq!(moved["cash"]["expected"], 52_000);

    let x = cashier.get(&format!("{base}/x-report")).await;
    let x = x.expect(StatusCode::OK);
    assert_eq!(x["shift"]["cash"]["expected"], 52_000);
    assert_eq!(x["shift"]["status"], "open");

    // 6,000 short is beyond the 5,000 threshold: a manager must approve, in the request.
    let close = format!("{base}/close");
    cashier
        .post_keyed(&close, json!({"counted_cash": 46_000}))
        .await
        .refused(StatusCode::FORBIDDEN, "approval_required", Some("approval"));
    let wrong = cashier
        .post_keyed(
            &close,
            json!({"counted_cash": 46_000, "approval": {"username": "linus", "password": "not it"}}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.body);
    assert_eq!(count_where(&venue.db, "shifts", "status = 'open'"), 1);

    let closed = cashier
        .post_keyed(
            &close,
            json!({"counted_cash": 46_000, "note": "short, counted twice",
                   "approval": {"username": "linus", "password": NEW_PASSWORD}}),
        )
        .await;
    let closed = closed.expect(StatusCode::OK);
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["expected_cash"], 52_000);
    assert_eq!(closed["counted_cash"], 46_000);
    assert_eq!(closed["variance"], -6_000);
    assert_eq!(closed["variance_approved_by"], manager_id.as_str());
    // Both people in the audit log: the closer as actor, the manager as approver.
    assert_eq!(
        count_where(
            &venue.db,
            "audit_log",
            &format!(
                "action = 'shift.closed' AND approver_id = '{manager_id}' AND actor_id IS NOT NULL AND actor_id <> '{manager_id}'"
            )
        ),
        1
    );
    assert_eq!(
        count_where(
            &venue.db,
            "events",
            "event_type IN ('shift.opened', 'shift.closed')"
        ),
        2
    );

    cashier
        .post_keyed(&close, json!({"counted_cash": 46_000}))
        .await
        .refused(StatusCode::CONFLICT, "shift_closed", None);
    cashier
        .post_keyed(
            &format!("{base}/cash-movements"),
            json!({"kind": "cash_in", "amount": 1, "reason": "late"}),
        )
        .await
        .refused(StatusCode::CONFLICT, "shift_closed", None);
    assert_eq!(
        cashier.get("/api/shifts/current").await.status,
        StatusCode::NOT_FOUND
    );
    // The next shift opens.
    cashier
        .post_keyed("/api/shifts", json!({"opening_float": 0}))
        .await
        .expect(StatusCode::CREATED);
}

#[tokio::test]
async fn a_small_variance_closes_without_approval_and_a_manager_closes_any_drawer() {
    let venue = venue("shifts-small-variance").await;
    let server = &venue.server;
    let cashier = Client::adopt(server, "phiona").await;
    let manager = Client::adopt(server, "linus").await;
    let shift = cashier
        .post_keyed("/api/shifts", json!({"opening_float": 20_000}))
        .await;
    let base = format!("/api/shifts/{}", id(shift.expect(StatusCode::CREATED)));
    // Another cashier may neither see nor close it.
    let admin = Client::adopt(server, "able").await;
    let other = hire(server, &admin, "otto", "cashier").await;
    other
        .post_keyed(&format!("{base}/close"), json!({"counted_cash": 20_000}))
        .await
        .refused(StatusCode::FORBIDDEN, "not_permitted", None);
    assert_eq!(
        other.get(&format!("{base}/x-report")).await.status,
        StatusCode::FORBIDDEN
    );
    // 5,000 over is within the threshold; a manager closing someone's drawer needs nobody.
    let closed = manager
        .post_keyed(&format!("{base}/close"), json!({"counted_cash": 25_000}))
        .await;
    let closed = closed.expect(StatusCode::OK);
    assert_eq!(closed["variance"], 5_000);
    assert_eq!(closed["variance_approved_by"], Value::Null);
}

async fn hire(server: &common::Running, admin: &Client, username: &str, role: &str) -> Client {
    admin
        .post(
            "/api/admin/staff",
            json!({"username": username, "full_name": username, "role": role, "password": "an initial password"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let mut client = Client::sign_in(server, username, "an initial password").await;
    let changed = client
        .call(Method::POST, "/api/auth/change-password")
        .json(json!({"current_password": "an initial password", "new_password": NEW_PASSWORD}))
        .await;
    client.token = changed.expect(StatusCode::OK)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    client
}

#[tokio::test]
async fn bad_shift_input_is_named_and_changes_nothing() {
    let venue = venue("shifts-bad-input").await;
    let cashier = Client::adopt(&venue.server, "phiona").await;
    let open = |body: &'static str| {
        let cashier = cashier.clone();
        async move {
            cashier
                .call(Method::POST, "/api/shifts")
                .key(&fresh_key())
                .raw(body)
                .await
        }
    };
    open(r#"{"opening_float": -1}"#).await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "negative_amount",
        Some("opening_float"),
    );
    for body in [
        r#"{"opening_float": 1.5}"#,
        r#"{"opening_float": "100"}"#,
        r#"{"opening_float": 99999999999999999999}"#,
        r#"{}"#,
    ] {
        let answer = open(body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}: {}", answer.body);
        assert_eq!(answer.field(), "opening_float", "{body}: {}", answer.body);
    }
    let answer = open(r#"{"opening_float": 1, "staff_id": "00000000-0000-0000-0000-000000000000"}"#).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    let answer = cashier
        .call(Method::POST, "/api/shifts")
        .key(&"k".repeat(256))
        .raw(r#"{"opening_float": 1}"#)
        .await;
    assert_eq!(
        (answer.status, answer.field()),
        (StatusCode::BAD_REQUEST, "Idempotency-Key"),
        "{}",
        answer.body
    );
    assert_eq!(count_where(&venue.db, "shifts", "true"), 0);

    let shift = cashier
        .post_keyed("/api/shifts", json!({"opening_float": 10_000}))
        .await;
    let base = format!("/api/shifts/{}", id(shift.expect(StatusCode::CREATED)));
    let moves = format!("{base}/cash-movements");
    cashier
        .post_keyed(&moves, json!({"kind": "cash_in", "amount": 0, "reason": "x"}))
        .await
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "non_positive_amount",
            Some("amount"),
        );
    cashier
        .post_keyed(&moves, json!({"kind": "cash_out", "amount": -5, "reason": "x"}))
        .await
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "non_positive_amount",
            Some("amount"),
        );
    let answer = cashier
        .post_keyed(&moves, json!({"kind": "cash_in", "amount": 5, "reason": "  "}))
        .await;
    assert_eq!(
        (answer.status, answer.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "reason"),
        "{}",
        answer.body
    );
    let answer = cashier
        .post_keyed(&moves, json!({"kind": "tip_jar", "amount": 5, "reason": "x"}))
        .await;
    assert_eq!(
        (answer.status, answer.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "kind"),
        "{}",
        answer.body
    );
    let answer = cashier
        .post_keyed(
            &moves,
            json!({"kind": "cash_in", "amount": 5, "reason": "x".repeat(501)}),
        )
        .await;
    assert_eq!(
        (answer.status, answer.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "reason"),
        "{}",
        answer.body
    );
    let unknown = format!("/api/shifts/{}/cash-movements", uuid::Uuid::new_v4());
    let answer = cashier
        .post_keyed(&unknown, json!({"kind": "cash_in", "amount": 5, "reason": "x"}))
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    let answer = cashier.get("/api/shifts/not-a-uuid").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    cashier
        .post_keyed(&format!("{base}/close"), json!({"counted_cash": -1}))
        .await
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "negative_amount",
            Some("counted_cash"),
        );
    let answer = cashier
        .post_keyed(
            &format!("{base}/close"),
            json!({"counted_cash": 10_000, "approval": {"pin": "12"}}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", answer.body);
    assert_eq!(answer.field(), "approval.pin");
    // A refusal kept on its key is replayed, not re-run.
    let key = fresh_key();
    let first = cashier
        .call(Method::POST, &format!("{base}/close"))
        .key(&key)
        .json(json!({"counted_cash": 0}))
        .await;
    first.refused(StatusCode::FORBIDDEN, "approval_required", Some("approval"));
    let again = cashier
        .call(Method::POST, &format!("{base}/close"))
        .key(&key)
        .json(json!({"counted_cash": 0}))
        .await;
    assert_eq!((again.status, &again.bytes), (first.status, &first.bytes));
    let other = cashier
        .call(Method::POST, &format!("{base}/close"))
        .key(&key)
        .json(json!({"counted_cash": 10_000}))
        .await;
    other.refused(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", None);

    assert_eq!(count_where(&venue.db, "cash_movements", "true"), 0);
    assert_eq!(count_where(&venue.db, "shifts", "status = 'open'"), 1);
}

#[tokio::test]
async fn concurrent_opens_by_one_person_leave_one_open_shift() {
    let venue = venue("shifts-concurrent-open").await;
    let cashier = Arc::new(Client::adopt(&venue.server, "phiona").await);
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let cashier = cashier.clone();
            tokio::spawn(async move {
                cashier
                    .post_keyed("/api/shifts", json!({"opening_float": 1_000}))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.status {
            StatusCode::CREATED => created += 1,
            _ => answer.refused(StatusCode::CONFLICT, "shift_already_open", None),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(count_where(&venue.db, "shifts", "true"), 1);
}
