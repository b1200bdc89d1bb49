//! The read routes the bill and the manager screen list from, end to end through `pos serve`
//! over real PostgreSQL: an order's payments (whoever took them, refunds included) and the
//! shifts, open and closed, by status, business dates and page, a cashier seeing only theirs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod till;

use reqwest::StatusCode;
use serde_json::{Value, json};
use till::{Client, food, id, manager_approval, place_ready, venue};

fn ids(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(id).collect()
}

#[tokio::test]
async fn an_orders_payments_list_every_payment_whoever_took_it_with_its_refunds() {
    let venue = venue("lists-payments").await;
    let server = &venue.server;
    let phiona = Client::adopt(server, "phiona").await;
    let evyone = Client::adopt(server, "evyone").await;
    let cook = Client::adopt(server, "emma").await;
    // The approver's password is the adopted one.
    let manager = Client::adopt(server, "linus").await;
    for cashier in [&phiona, &evyone] {
        cashier
            .post_keyed("/api/shifts", json!({"opening_float": 10_000}))
            .await
            .expect(StatusCode::CREATED);
    }
    let product = food(&phiona).await;
    let items: Vec<Value> = (1..=2)
        .map(|seat| json!({"product_id": id(&product), "quantity": 1, "seat": seat}))
        .collect();
    let order = place_ready(&phiona, &cook, json!({"type": "takeaway", "items": items})).await;
    let path = format!("/api/orders/{}/payments", id(&order));

    // Nothing paid yet: an empty list, not a 404.
    assert_eq!(phiona.get(&path).await.expect(StatusCode::OK), &json!([]));

    // Seat 1 in cash by phiona, seat 2 by card with a tip by evyone.
    let first = phiona
        .post_keyed(&path, json!({"method": "cash", "seat": 1, "tendered": 1_000_000}))
        .await;
    let first = first.expect(StatusCode::CREATED)["payment"].clone();
    let second = evyone
        .post_keyed(
            &path,
            json!({"method": "card", "seat": 2, "tip": 500, "reference": "slip 42"}),
        )
        .await;
    let second = second.expect(StatusCode::CREATED)["payment"].clone();

    // phiona's bill sees both, in the order taken, including the one she did not take.
    let listed = phiona.get(&path).await;
    let listed = listed.expect(StatusCode::OK).clone();
    assert_eq!(ids(&listed), vec![id(&first), id(&second)]);
    let card = &listed[1];
    assert_eq!(card["method"], "card");
    assert_eq!(card["status"], "completed");
    assert_eq!(card["amount"], second["amount"]);
    assert_eq!(card["tip"], 500);
    assert_eq!(card["reference"], "slip 42");
    assert_eq!(card["refunded"], 0);
    assert_eq!(card["staff_id"], evyone.me().await["staff"]["id"]);
    assert!(card["completed_at"].is_string(), "{card}");
    assert_eq!(listed[0]["staff_id"], phiona.me().await["staff"]["id"]);

    // So phiona can refund evyone's payment, and the list shows it.
    phiona
        .post_keyed(
            &format!("/api/payments/{}/refunds", id(&second)),
            json!({"amount": 100, "reason": "cold", "approval": manager_approval()}),
        )
        .await
        .expect(StatusCode::CREATED);
    let after = phiona.get(&path).await;
    let after = after.expect(StatusCode::OK);
    assert_eq!(after[1]["status"], "partially_refunded");
    assert_eq!(after[1]["refunded"], 100);
    assert_eq!(after[0]["refunded"], 0);

    // The shifts list gives each drawer its own payments, tips, refunds and movements: what
    // each shift read alone shows.
    let evyones = evyone.get("/api/shifts/current").await;
    let evyones = id(evyones.expect(StatusCode::OK));
    evyone
        .post_keyed(
            &format!("/api/shifts/{evyones}/cash-movements"),
            json!({"kind": "cash_in", "amount": 5_000, "reason": "change top-up"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let shifts = manager.get("/api/shifts").await;
    let shifts = shifts.expect(StatusCode::OK).clone();
    assert_eq!(shifts.as_array().unwrap().len(), 2);
    for shift in shifts.as_array().unwrap() {
        let alone = manager.get(&format!("/api/shifts/{}", id(shift))).await;
        let alone = alone.expect(StatusCode::OK);
        assert_eq!(shift["cash"], alone["cash"], "{shift}");
        assert_eq!(shift["movements"], alone["movements"], "{shift}");
        let (cash_sales, tips, cash_in, movements) = if id(shift) == evyones {
            (0.into(), 500, 5_000, 1)
        } else {
            (first["amount"].clone(), 0, 0, 0)
        };
        assert_eq!(shift["cash"]["cash_sales"], cash_sales, "{shift}");
        assert_eq!(shift["cash"]["tips"], tips, "{shift}");
        assert_eq!(shift["cash"]["cash_in"], cash_in, "{shift}");
        assert_eq!(shift["movements"].as_array().unwrap().len(), movements, "{shift}");
    }

    // Who may not read orders may not read their payments; bad or unknown ids are refused.
    let kitchen = cook.get(&path).await;
    assert_eq!(kitchen.status, StatusCode::FORBIDDEN, "{}", kitchen.body);
    let bad = phiona.get("/api/orders/not-a-uuid/payments").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(bad.field(), "order_id", "{}", bad.body);
    phiona
        .get(&format!("/api/orders/{}/payments", uuid::Uuid::new_v4()))
        .await
        .refused(StatusCode::NOT_FOUND, "not_found", None);
}

#[tokio::test]
async fn shifts_list_by_status_dates_and_page_and_a_cashier_sees_only_theirs() {
    let venue = venue("lists-shifts").await;
    let server = &venue.server;
    let phiona = Client::adopt(server, "phiona").await;
    let evyone = Client::adopt(server, "evyone").await;
    let manager = Client::adopt(server, "linus").await;
    let cook = Client::adopt(server, "emma").await;

    let closed = phiona
        .post_keyed("/api/shifts", json!({"opening_float": 20_000}))
        .await;
    let closed = closed.expect(StatusCode::CREATED).clone();
    phiona
        .post_keyed(
            &format!("/api/shifts/{}/close", id(&closed)),
            json!({"counted_cash": 20_000}),
        )
        .await
        .expect(StatusCode::OK);
    let open = evyone
        .post_keyed("/api/shifts", json!({"opening_float": 30_000}))
        .await;
    let open = open.expect(StatusCode::CREATED).clone();

    // A manager sees everyone's, newest opened first, with their drawers.
    let all = manager.get("/api/shifts").await;
    let all = all.expect(StatusCode::OK).clone();
    assert_eq!(ids(&all), vec![id(&open), id(&closed)]);
    assert_eq!(all[1]["status"], "closed");
    assert_eq!(all[1]["variance"], 0);
    assert_eq!(all[0]["cash"]["expected"], 30_000);
    let only = |status: &str| format!("/api/shifts?status={status}");
    assert_eq!(
        ids(manager.get(&only("open")).await.expect(StatusCode::OK)),
        vec![id(&open)]
    );
    assert_eq!(
        ids(manager.get(&only("closed")).await.expect(StatusCode::OK)),
        vec![id(&closed)]
    );

    // Pages of one.
    let page = |offset: u32| format!("/api/shifts?limit=1&offset={offset}");
    assert_eq!(
        ids(manager.get(&page(0)).await.expect(StatusCode::OK)),
        vec![id(&open)]
    );
    assert_eq!(
        ids(manager.get(&page(1)).await.expect(StatusCode::OK)),
        vec![id(&closed)]
    );
    assert_eq!(
        ids(manager.get(&page(2)).await.expect(StatusCode::OK)),
        Vec::<String>::new()
    );

    // Business dates of the opening: a range long past holds nothing, one reaching now all.
    let past = manager.get("/api/shifts?from=2001-01-01&to=2001-12-31").await;
    assert_eq!(past.expect(StatusCode::OK), &json!([]));
    let since = manager.get("/api/shifts?from=2001-01-01&to=2999-12-31").await;
    assert_eq!(ids(since.expect(StatusCode::OK)).len(), 2);
    let until = manager.get("/api/shifts?to=2001-01-01").await;
    assert_eq!(until.expect(StatusCode::OK), &json!([]));

    // A cashier sees only their own shifts, whatever the filter.
    assert_eq!(
        ids(phiona.get("/api/shifts").await.expect(StatusCode::OK)),
        vec![id(&closed)]
    );
    assert_eq!(
        ids(evyone.get("/api/shifts").await.expect(StatusCode::OK)),
        vec![id(&open)]
    );
    assert_eq!(phiona.get(&only("open")).await.expect(StatusCode::OK), &json!([]));
    let kitchen = cook.get("/api/shifts").await;
    assert_eq!(kitchen.status, StatusCode::FORBIDDEN, "{}", kitchen.body);

    // Bad input names its field.
    manager.get(&only("pending")).await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("status"),
    );
    manager
        .get("/api/shifts?from=2026-12-09&to=2026-12-01")
        .await
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("from"),
        );
    manager.get("/api/shifts?from=yesterday").await.refused(
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        Some("from"),
    );
    manager.get("/api/shifts?limit=0").await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("limit"),
    );
    manager.get("/api/shifts?offset=-1").await.refused(
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        Some("offset"),
    );
}
