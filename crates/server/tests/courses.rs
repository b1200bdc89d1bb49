//! Courses through `pos serve` over real PostgreSQL: a send holds the later courses (the
//! KDS shows them as coming, not to make), firing a course sends exactly its items with an
//! `order.sent` of their own, stock moves only when a course is fired, and a retry of the
//! fire replays the first answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod till;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use till::{Client, count_where, foods, fresh_key, id, venue};

/// Two different orderable kitchen products of the seeded menu.
async fn two_kitchen_products(cashier: &Client) -> (Value, Value) {
    let food = foods(cashier).await;
    (food[0].clone(), food[1].clone())
}

fn ticket_of<'a>(queue: &'a Value, order_id: &str) -> Option<&'a Value> {
    queue["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["order_id"] == order_id)
}

#[tokio::test]
async fn later_courses_wait_at_the_kds_until_the_waiter_fires_them() {
    let venue = venue("courses").await;
    let server = &venue.server;
    let cashier = Client::adopt(server, "phiona").await;
    let cook = Client::adopt(server, "emma").await;
    let (starter, main) = two_kitchen_products(&cashier).await;

    let created = cashier
        .call(Method::POST, "/api/orders")
        .key(&fresh_key())
        .json(json!({"type": "takeaway", "items": [
            {"product_id": id(&starter), "quantity": 1, "course": 1},
            {"product_id": id(&main), "quantity": 2, "course": 2},
        ]}))
        .await;
    let order = created.expect(StatusCode::CREATED).clone();
    let order_id = id(&order);
    let main_item = order["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["course"] == 2)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let sent = cashier
        .call(Method::POST, &format!("/api/orders/{order_id}/send"))
        .key(&fresh_key())
        .empty()
        .await;
    let sent = sent.expect(StatusCode::OK);
    let held = sent["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == main_item.as_str());
    assert_eq!(held.unwrap()["status"], "held");
    assert!(
        held.unwrap()["sent_at"].is_null(),
        "a held item's timer has not started"
    );
    let sent_events = format!("event_type = 'order.sent' AND payload->>'order_id' = '{order_id}'");
    assert_eq!(count_where(&venue.db, "events", &sent_events), 1);

    // The kitchen sees course 1 to make and course 2 as coming.
    let queue = cook.get("/api/kds/tickets?station=kitchen").await;
    let ticket = ticket_of(queue.expect(StatusCode::OK), &order_id).unwrap();
    assert_eq!(ticket["items"].as_array().unwrap().len(), 1);
    assert_eq!(ticket["items"][0]["course"], 1);
    assert_eq!(ticket["held"].as_array().unwrap().len(), 1);
    assert_eq!(ticket["held"][0]["item_id"], main_item.as_str());
    assert_eq!(ticket["held"][0]["course"], 2);
    assert_eq!(ticket["held"][0]["quantity"], 2);

    // A cook cannot start a held item.
    let bump = cook
        .post(&format!("/api/kds/items/{main_item}/bump"), json!({}))
        .await;
    bump.refused(StatusCode::CONFLICT, "invalid_item_transition", None);

    // Firing course 2: its items go, with their own order.sent; a retry replays.
    let fire_key = fresh_key();
    let fire_path = format!("/api/orders/{order_id}/courses/2/fire");
    let fired = cashier
        .call(Method::POST, &fire_path)
        .key(&fire_key)
        .empty()
        .await;
    let fired_body = fired.expect(StatusCode::OK).clone();
    let main_now = fired_body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == main_item.as_str())
        .unwrap();
    assert_eq!(main_now["status"], "sent");
    assert!(main_now["sent_at"].is_string());
    assert_eq!(count_where(&venue.db, "events", &sent_events), 2);
    let last_sent = count_where(
        &venue.db,
        "events",
        &format!(
            "{sent_events} AND jsonb_array_length(payload->'items') = 1 \
             AND payload->'items'->0->>'item_id' = '{main_item}'"
        ),
    );
    assert_eq!(last_sent, 1, "the fired course's order.sent names only its items");
    let replay = cashier
        .call(Method::POST, &fire_path)
        .key(&fire_key)
        .empty()
        .await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.bytes, fired.bytes);
    assert_eq!(count_where(&venue.db, "events", &sent_events), 2);

    let queue = cook.get("/api/kds/tickets?station=kitchen").await;
    let ticket = ticket_of(queue.expect(StatusCode::OK), &order_id).unwrap();
    assert_eq!(ticket["items"].as_array().unwrap().len(), 2);
    assert!(ticket["held"].as_array().unwrap().is_empty());

    // Nothing of course 2 is held any more; course 0 is not a course.
    let again = cashier
        .call(Method::POST, &fire_path)
        .key(&fresh_key())
        .empty()
        .await;
    again.refused(StatusCode::CONFLICT, "nothing_to_fire", None);
    let zero = cashier
        .call(Method::POST, &format!("/api/orders/{order_id}/courses/0/fire"))
        .key(&fresh_key())
        .empty()
        .await;
    assert_eq!(zero.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", zero.body);
    assert_eq!(zero.field(), "course");
    let word = cashier
        .call(
            Method::POST,
            &format!("/api/orders/{order_id}/courses/dessert/fire"),
        )
        .key(&fresh_key())
        .empty()
        .await;
    assert_eq!(word.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", word.body);
    assert_eq!(word.field(), "course");
}
