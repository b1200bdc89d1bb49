//! Orders, the kitchen display and the print queue end to end: the `pos` binary over real
//! PostgreSQL seeded with the demo venue (Food goes to the kitchen, Drinks to the bar).
//! Idempotent retries, optimistic concurrency, approvals and bad input are checked through
//! HTTP and then in the database: a refused request leaves nothing written.
//! (200 concurrent creates numbering 1..=200 without gaps: `crates/postgres/tests/orders.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{JWT_SECRET, Running, TempDir, count, free_port, pos, succeed};
use diesel::RunQueryDsl;
use pos_testkit::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const DEMO_PASSWORD: &str = "password123";
const NEW_PASSWORD: &str = "a proper new password";

struct Venue {
    db: TestDb,
    _logs: TempDir,
    server: Running,
}

async fn venue(label: &str) -> Venue {
    let db = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let logs = TempDir::new(label);
    let port = free_port();
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string());
    let server = Running::start(command, port, logs.path()).await;
    Venue {
        db,
        _logs: logs,
        server,
    }
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
    fn field(&self) -> &str {
        self.body["field"].as_str().unwrap_or_default()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    #[track_caller]
    fn expect(&self, status: StatusCode) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        &self.body
    }
}

/// One signed-in client.
#[derive(Clone)]
struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

/// A request being built: headers, then a body or none.
struct Call<'a> {
    client: &'a Client,
    request: reqwest::RequestBuilder,
}

impl Call<'_> {
    fn key(mut self, key: &str) -> Self {
        self.request = self.request.header("Idempotency-Key", key);
        self
    }
    fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }
    async fn json(self, body: Value) -> Answer {
        self.client.finish(self.request.json(&body)).await
    }
    async fn raw(self, body: &'static str) -> Answer {
        self.client
            .finish(self.request.header("content-type", "application/json").body(body))
            .await
    }
    async fn raw_body(self, body: String) -> Answer {
        self.client.finish(self.request.body(body)).await
    }
    async fn empty(self) -> Answer {
        self.client.finish(self.request).await
    }
}

impl Client {
    async fn sign_in(server: &Running, username: &str, password: &str) -> Client {
        let http = reqwest::Client::new();
        let response = http
            .post(format!("{}/api/auth/login", server.base_url))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "login as {username}");
        let body: Value = response.json().await.unwrap();
        Client {
            base: server.base_url.clone(),
            token: body["token"].as_str().unwrap().to_owned(),
            http,
        }
    }

    /// A seeded account, signed in after changing its password.
    async fn adopt(server: &Running, username: &str) -> Client {
        let mut client = Client::sign_in(server, username, DEMO_PASSWORD).await;
        let changed = client
            .call(Method::POST, "/api/auth/change-password")
            .json(json!({"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD}))
            .await;
        client.token = changed.expect(StatusCode::OK)["token"]
            .as_str()
            .unwrap()
            .to_owned();
        client
    }

    /// PIN login on the seeded terminal `pos-1`.
    async fn pin_in(server: &Running, pin: &str) -> Client {
        let http = reqwest::Client::new();
        let response = http
            .post(format!("{}/api/auth/pin-login", server.base_url))
            .json(&json!({"terminal": "pos-1", "pin": pin}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "PIN login");
        let body: Value = response.json().await.unwrap();
        Client {
            base: server.base_url.clone(),
            token: body["token"].as_str().unwrap().to_owned(),
            http,
        }
    }

    fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            client: self,
            request: self
                .http
                .request(method, format!("{}{path}", self.base))
                .bearer_auth(&self.token),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path).empty().await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path).json(body).await
    }

    async fn finish(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request
            .timeout(std::time::Duration::from_secs(60))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap().to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            bytes,
            body,
        }
    }

    /// Creates an order with a fresh key; returns it.
    async fn create(&self, body: Value) -> Value {
        let created = self
            .call(Method::POST, "/api/orders")
            .key(&uuid::Uuid::new_v4().to_string())
            .json(body)
            .await;
        created.expect(StatusCode::CREATED).clone()
    }

    async fn send(&self, order: &Value) -> Answer {
        self.call(
            Method::POST,
            &format!("/api/orders/{}/send", order["id"].as_str().unwrap()),
        )
        .key(&uuid::Uuid::new_v4().to_string())
        .empty()
        .await
    }
}

/// Creates a staff member as `admin`; the new account is signed in, password changed.
async fn hire(server: &Running, admin: &Client, username: &str, role: &str) -> (Client, String) {
    let created = admin
        .post(
            "/api/admin/staff",
            json!({"username": username, "full_name": username, "role": role, "password": "an initial password"}),
        )
        .await;
    let id = created.expect(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut client = Client::sign_in(server, username, "an initial password").await;
    let changed = client
        .call(Method::POST, "/api/auth/change-password")
        .json(json!({"current_password": "an initial password", "new_password": NEW_PASSWORD}))
        .await;
    client.token = changed.expect(StatusCode::OK)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    (client, id)
}

async fn staff_id(admin: &Client, username: &str) -> String {
    let list = admin.get("/api/admin/staff").await;
    list.body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"] == username)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The first orderable product of a category (`Food` goes to the kitchen, `Drinks` to the bar).
fn product(menu: &Value, category: &str) -> Value {
    menu["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == category)
        .unwrap()["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["orderable"] == true)
        .unwrap()
        .clone()
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

fn sql(db: &TestDb, statement: &str) {
    diesel::sql_query(statement).execute(&mut db.connect()).unwrap();
}

fn scalar(db: &TestDb, query: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(query)
        .get_result::<N>(&mut db.connect())
        .unwrap()
        .n
}

#[tokio::test]
async fn an_order_goes_from_the_till_through_the_kitchen_and_bar_to_the_table() {
    let venue = venue("orders-flow").await;
    let server = &venue.server;
    let admin = Client::adopt(server, "able").await;
    let cashier = Client::adopt(server, "phiona").await;
    let cook = Client::adopt(server, "emma").await;
    let (barista, _) = hire(server, &admin, "bartholomew", "bar").await;

    let menu = cashier.get("/api/menu").await;
    let menu = menu.expect(StatusCode::OK);
    assert_eq!(menu["currency"], "UGX");
    let food = product(menu, "Food");
    let drink = product(menu, "Drinks");
    assert_eq!(
        (&food["station"], &drink["station"]),
        (&json!("kitchen"), &json!("bar"))
    );
    assert!(food["price"].is_i64() && food["effective_price"].is_i64());

    let floor = cashier.get("/api/tables").await;
    let table = floor.expect(StatusCode::OK)[0].clone();
    assert_eq!(table["state"], "free");

    // Create with a kitchen item, then add a bar item.
    let order = cashier
        .create(json!({
            "type": "dine_in",
            "table_id": id(&table),
            "preparation_notes": "birthday: candles on the cake",
            "items": [{"product_id": id(&food), "quantity": 2, "notes": "no onions", "seat": 1}]
        }))
        .await;
    let order_id = id(&order).to_owned();
    assert_eq!(
        (order["status"].as_str(), order["version"].as_i64()),
        (Some("open"), Some(1))
    );
    assert!(order["number"].as_i64().unwrap() >= 1);
    assert_eq!(order["currency"], "UGX");
    assert_eq!(order["items"][0]["status"], "pending");
    assert_eq!(
        order["total"],
        json!(food["effective_price"].as_i64().unwrap() * 2)
    );

    let floor = cashier.get("/api/tables").await;
    let at_table = floor
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == table["id"])
        .unwrap();
    assert_eq!(at_table["state"], "occupied");
    assert_eq!(at_table["orders"][0]["order_id"], order["id"]);

    let added = cashier
        .post(
            &format!("/api/orders/{order_id}/items"),
            json!({"items": [{"product_id": id(&drink), "quantity": 1}], "expected_version": 1}),
        )
        .await;
    let added = added.expect(StatusCode::OK);
    assert_eq!(added["version"], 2);
    assert_eq!(added["items"].as_array().unwrap().len(), 2);

    // The menu's quick lists follow what was ordered, and by whom.
    let lists = cashier.get("/api/menu").await;
    let lists = lists.expect(StatusCode::OK);
    for list in ["recent", "popular"] {
        let ids = lists[list].as_array().unwrap();
        assert!(
            ids.contains(&food["id"]) && ids.contains(&drink["id"]),
            "{list}: {ids:?}"
        );
    }
    let theirs = admin.get("/api/menu").await;
    assert!(
        theirs.body["recent"].as_array().unwrap().is_empty(),
        "recent is per staff member"
    );

    // Send: both stations get their ticket, queued for their printers.
    let sent = cashier.send(&order).await;
    let sent = sent.expect(StatusCode::OK);
    assert_eq!(sent["status"], "sent");
    assert!(sent["sent_to_kitchen_at"].is_string() && sent["sent_to_bar_at"].is_string());
    assert!(
        sent["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "sent")
    );

    let jobs = cashier.get("/api/print-jobs?printer=kitchen").await;
    let jobs = jobs.expect(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    assert_eq!(
        (job["kind"].as_str(), job["order_id"].as_str()),
        (Some("kitchen_ticket"), Some(order_id.as_str()))
    );
    assert!(
        job["payload_text"]
            .as_str()
            .unwrap()
            .contains(food["name"].as_str().unwrap())
    );
    assert!(job["payload_text"].as_str().unwrap().contains("candles"));
    assert!(!job["payload_escpos"].as_str().unwrap().is_empty());
    let bar_jobs = cashier.get("/api/print-jobs?printer=bar").await;
    assert_eq!(bar_jobs.body.as_array().unwrap().len(), 1);
    let acked = cashier
        .post(&format!("/api/print-jobs/{}/ack", id(job)), json!({}))
        .await;
    assert_eq!(acked.expect(StatusCode::OK)["status"], "printed");
    let again = cashier
        .post(&format!("/api/print-jobs/{}/ack", id(job)), json!({}))
        .await;
    assert_eq!(
        again.expect(StatusCode::OK)["status"],
        "printed",
        "a repeated ack is harmless"
    );
    let late = cashier
        .post(
            &format!("/api/print-jobs/{}/fail", id(job)),
            json!({"error": "paper out"}),
        )
        .await;
    assert_eq!(
        (late.status, late.code()),
        (StatusCode::CONFLICT, "print_job_printed")
    );
    let bar_job = id(&bar_jobs.body[0]).to_owned();
    let failed = cashier
        .post(
            &format!("/api/print-jobs/{bar_job}/fail"),
            json!({"error": "paper out"}),
        )
        .await;
    let failed = failed.expect(StatusCode::OK);
    assert_eq!(
        (failed["status"].as_str(), failed["attempts"].as_i64()),
        (Some("queued"), Some(1))
    );
    assert!(
        cashier
            .get("/api/print-jobs?printer=kitchen")
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    let cook_jobs = cook.get("/api/print-jobs?printer=kitchen").await;
    assert_eq!(
        cook_jobs.status,
        StatusCode::FORBIDDEN,
        "KDS accounts are not print agents"
    );

    // The kitchen sees its own item only; the bar its own.
    let queue = cook.get("/api/kds/tickets?station=kitchen").await;
    let queue = queue.expect(StatusCode::OK);
    let ticket = queue["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["order_id"] == order["id"])
        .unwrap();
    assert_eq!(ticket["table"], table["code"]);
    assert_eq!(ticket["preparation_notes"], "birthday: candles on the cake");
    let kitchen_items = ticket["items"].as_array().unwrap();
    assert_eq!(kitchen_items.len(), 1);
    assert_eq!(
        (
            kitchen_items[0]["name"].as_str(),
            kitchen_items[0]["status"].as_str()
        ),
        (food["name"].as_str(), Some("sent"))
    );
    assert!(kitchen_items[0]["age_seconds"].as_i64().unwrap() >= 0);
    assert!(
        ticket.get("total").is_none() && kitchen_items[0].get("unit_price").is_none(),
        "no money on a KDS"
    );
    assert_eq!(queue["counts"]["waiting"], 1);
    let bar_queue = barista.get("/api/kds/tickets?station=bar").await;
    let bar_ticket = &bar_queue.expect(StatusCode::OK)["tickets"][0];
    assert_eq!(bar_ticket["items"].as_array().unwrap().len(), 1);
    assert_eq!(bar_ticket["items"][0]["name"], drink["name"]);
    assert_eq!(
        cook.get("/api/kds/tickets?station=bar").await.status,
        StatusCode::FORBIDDEN
    );
    let counts = cashier.get("/api/kds/counts").await;
    assert_eq!(counts.expect(StatusCode::OK).as_array().unwrap().len(), 2);
    let cook_counts = cook.get("/api/kds/counts").await;
    assert_eq!(
        cook_counts.body.as_array().unwrap().len(),
        1,
        "a station sees its own counts"
    );

    // Kitchen: bump twice (preparing, ready); a recall undoes one step.
    let food_item = kitchen_items[0]["item_id"].as_str().unwrap().to_owned();
    let drink_item = bar_ticket["items"][0]["item_id"].as_str().unwrap().to_owned();
    let bumped = cook
        .post(&format!("/api/kds/items/{food_item}/bump"), json!({}))
        .await;
    assert_eq!(bumped.expect(StatusCode::OK)["items"][0]["status"], "preparing");
    let bumped = cook
        .post(&format!("/api/kds/items/{food_item}/bump"), json!({}))
        .await;
    let bumped = bumped.expect(StatusCode::OK);
    assert_eq!(
        (
            bumped["items"][0]["status"].as_str(),
            bumped["order_status"].as_str()
        ),
        (Some("ready"), Some("sent"))
    );
    let recalled = cook
        .post(&format!("/api/kds/items/{food_item}/recall"), json!({}))
        .await;
    assert_eq!(recalled.expect(StatusCode::OK)["items"][0]["status"], "preparing");
    let too_far = cook
        .post(&format!("/api/kds/items/{drink_item}/bump"), json!({}))
        .await;
    assert_eq!(
        (too_far.status, too_far.code()),
        (StatusCode::FORBIDDEN, "not_permitted"),
        "the bar's item"
    );
    cook.post(&format!("/api/kds/items/{food_item}/bump"), json!({}))
        .await
        .expect(StatusCode::OK);

    // Bar: bump the whole ticket; the order is ready once every item is.
    let ticket_bump = barista
        .call(
            Method::POST,
            &format!("/api/kds/orders/{order_id}/bump?station=bar"),
        )
        .empty()
        .await;
    let ticket_bump = ticket_bump.expect(StatusCode::OK);
    assert_eq!(ticket_bump["order_status"], "ready");
    assert_eq!(ticket_bump["items"][0]["status"], "ready");
    let nothing = barista
        .call(
            Method::POST,
            &format!("/api/kds/orders/{order_id}/bump?station=bar"),
        )
        .empty()
        .await;
    assert_eq!(
        (nothing.status, nothing.code()),
        (StatusCode::CONFLICT, "nothing_to_bump")
    );

    let ready = cashier.get(&format!("/api/orders/{order_id}")).await;
    let ready_body = ready.expect(StatusCode::OK);
    assert_eq!(ready_body["status"], "ready");
    assert!(ready_body["ready_at"].is_string());
    assert_eq!(
        ready.header("etag"),
        Some(format!("\"{}\"", ready_body["version"]).as_str())
    );

    let served = cashier
        .post(&format!("/api/orders/{order_id}/serve"), json!({}))
        .await;
    let served = served.expect(StatusCode::OK);
    assert_eq!(served["status"], "served");
    assert!(
        served["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "served")
    );
    let listed = cashier.get("/api/orders?status=served,ready").await;
    assert!(
        listed
            .expect(StatusCode::OK)
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == order["id"])
    );
    let open_only = cashier.get("/api/orders?status=open").await;
    assert!(
        !open_only
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == order["id"])
    );

    // A reprint of the kitchen ticket, as text and as ESC/POS.
    let text = cashier
        .get(&format!("/api/orders/{order_id}/tickets/kitchen?paper=58mm"))
        .await;
    assert_eq!(text.status, StatusCode::OK);
    let text = String::from_utf8(text.bytes).unwrap();
    assert!(
        text.contains("REPRINT") && text.contains(food["name"].as_str().unwrap()),
        "{text}"
    );
    assert!(
        text.lines().all(|l| l.chars().count() <= 32),
        "58 mm is 32 columns:\n{text}"
    );
    let escpos = cashier
        .get(&format!("/api/orders/{order_id}/tickets/bar?format=escpos"))
        .await;
    assert_eq!(escpos.header("content-type"), Some("application/octet-stream"));
    assert_eq!(&escpos.bytes[..2], &[0x1b, 0x40], "ESC @ first");

    // Every step is in the event log.
    for event in [
        "order.created",
        "order.sent",
        "item.status_changed",
        "order.ready",
        "print_job.queued",
    ] {
        assert!(
            scalar(
                &venue.db,
                &format!("SELECT count(*) AS n FROM events WHERE event_type = '{event}'")
            ) > 0,
            "{event}"
        );
    }
}

#[tokio::test]
async fn retries_with_the_same_key_replay_the_first_answer_byte_for_byte() {
    let venue = venue("orders-idempotency").await;
    let server = &venue.server;
    let cashier = Client::adopt(server, "phiona").await;
    let other = Client::adopt(server, "evyone").await;
    let menu = cashier.get("/api/menu").await;
    let food = product(&menu.body, "Food");
    let body = json!({"type": "takeaway", "items": [{"product_id": id(&food), "quantity": 1}]});

    let first = cashier
        .call(Method::POST, "/api/orders")
        .key("till-1-action-1")
        .json(body.clone())
        .await;
    first.expect(StatusCode::CREATED);
    assert_eq!(first.header("idempotent-replayed"), None);
    // The same request re-serialised with other whitespace and key order is the same request.
    let again = cashier
        .call(Method::POST, "/api/orders")
        .key("till-1-action-1")
        .header("content-type", "application/json")
        .raw_body(format!(
            "{{ \"items\": [ {{\"quantity\": 1, \"product_id\": \"{}\"}} ],\n \"type\": \"takeaway\" }}",
            id(&food)
        ))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.bytes, first.bytes, "byte for byte");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(count(&mut venue.db.connect(), "orders"), 1);

    let reused = cashier
        .call(Method::POST, "/api/orders")
        .key("till-1-action-1")
        .json(json!({"type": "takeaway"}))
        .await;
    assert_eq!(
        (reused.status, reused.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );
    assert_eq!(count(&mut venue.db.connect(), "orders"), 1);

    // The product is 86'd after the first attempt went through: a retry with its key still
    // replays the order it made (it is checked before the key, and must not refuse anew);
    // another request with that key is still a reuse; a new key is refused.
    sql(
        &venue.db,
        &format!("UPDATE products SET available = false WHERE id = '{}'", id(&food)),
    );
    let retried = cashier
        .call(Method::POST, "/api/orders")
        .key("till-1-action-1")
        .json(body.clone())
        .await;
    assert_eq!(retried.status, StatusCode::CREATED);
    assert_eq!(retried.bytes, first.bytes, "the stored answer, not a refusal");
    assert_eq!(retried.header("idempotent-replayed"), Some("true"));
    let reused = cashier
        .call(Method::POST, "/api/orders")
        .key("till-1-action-1")
        .json(json!({"type": "takeaway", "items": [{"product_id": id(&food), "quantity": 2}]}))
        .await;
    assert_eq!(
        (reused.status, reused.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );
    let fresh = cashier
        .call(Method::POST, "/api/orders")
        .key("till-1-action-2")
        .json(body.clone())
        .await;
    assert_eq!(
        (fresh.status, fresh.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "product_unavailable")
    );
    assert_eq!(count(&mut venue.db.connect(), "orders"), 1);
    sql(
        &venue.db,
        &format!("UPDATE products SET available = true WHERE id = '{}'", id(&food)),
    );

    // Keys belong to the staff member: another cashier's identical key is another action.
    let theirs = other
        .call(Method::POST, "/api/orders")
        .key("till-1-action-1")
        .json(body.clone())
        .await;
    theirs.expect(StatusCode::CREATED);
    assert_ne!(theirs.body["id"], first.body["id"]);

    // A refusal is remembered too: sending an empty order twice with one key.
    let empty = cashier.create(json!({"type": "takeaway"})).await;
    let path = format!("/api/orders/{}/send", id(&empty));
    let refused = cashier.call(Method::POST, &path).key("send-empty").empty().await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::CONFLICT, "nothing_to_send")
    );
    let replayed = cashier.call(Method::POST, &path).key("send-empty").empty().await;
    assert_eq!(replayed.bytes, refused.bytes);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));

    // A send replayed does not send twice: one ticket, one decrement.
    let order = cashier
        .create(json!({"type": "takeaway", "items": [{"product_id": id(&food), "quantity": 1}]}))
        .await;
    let send = format!("/api/orders/{}/send", id(&order));
    let sent = cashier.call(Method::POST, &send).key("send-once").empty().await;
    sent.expect(StatusCode::OK);
    let resent = cashier.call(Method::POST, &send).key("send-once").empty().await;
    assert_eq!(
        (resent.status, resent.bytes == sent.bytes),
        (StatusCode::OK, true)
    );
    assert_eq!(
        scalar(
            &venue.db,
            &format!(
                "SELECT count(*) AS n FROM print_jobs WHERE order_id = '{}'",
                id(&order)
            )
        ),
        1
    );
    let missing = cashier.call(Method::POST, &send).empty().await;
    assert_eq!(
        (missing.status, missing.field()),
        (StatusCode::BAD_REQUEST, "Idempotency-Key")
    );
}

#[tokio::test]
async fn fifty_identical_creates_at_once_make_exactly_one_order() {
    let venue = venue("orders-parallel").await;
    let cashier = Arc::new(Client::adopt(&venue.server, "phiona").await);
    let menu = cashier.get("/api/menu").await;
    let food = product(&menu.body, "Food");
    let body = json!({"type": "takeaway", "items": [{"product_id": id(&food), "quantity": 3}]});
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let cashier = cashier.clone();
            let body = body.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                cashier
                    .call(Method::POST, "/api/orders")
                    .key("one-tap")
                    .json(body)
                    .await
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.status {
            StatusCode::CREATED => created.push(answer),
            StatusCode::CONFLICT => assert_eq!(answer.code(), "request_in_progress"),
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert!(!created.is_empty());
    assert!(
        created.iter().all(|a| a.bytes == created[0].bytes),
        "every answer is the one order"
    );
    assert_eq!(
        created
            .iter()
            .filter(|a| a.header("idempotent-replayed").is_none())
            .count(),
        1,
        "exactly one request executed"
    );
    assert_eq!(count(&mut venue.db.connect(), "orders"), 1);
    assert_eq!(count(&mut venue.db.connect(), "order_items"), 1);
    assert_eq!(
        scalar(
            &venue.db,
            "SELECT count(*) AS n FROM events WHERE event_type = 'order.created'"
        ),
        1
    );
}

#[tokio::test]
async fn a_stale_edit_is_refused_with_the_current_order() {
    let venue = venue("orders-stale").await;
    let server = &venue.server;
    let first_waiter = Client::adopt(server, "phiona").await;
    let second_waiter = Client::adopt(server, "evyone").await;
    let menu = first_waiter.get("/api/menu").await;
    let food = product(&menu.body, "Food");
    let drink = product(&menu.body, "Drinks");
    let tables = first_waiter.get("/api/tables").await;
    let table = tables.body[1].clone();
    let order = first_waiter
        .create(json!({"type": "dine_in", "table_id": id(&table)}))
        .await;
    let path = format!("/api/orders/{}/items", id(&order));

    // Both read version 1; the first edit wins, the second is told what changed.
    let won = first_waiter
        .post(
            &path,
            json!({"items": [{"product_id": id(&food), "quantity": 1}], "expected_version": 1}),
        )
        .await;
    assert_eq!(won.expect(StatusCode::OK)["version"], 2);
    let lost = second_waiter
        .post(
            &path,
            json!({"items": [{"product_id": id(&drink), "quantity": 1}], "expected_version": 1}),
        )
        .await;
    assert_eq!(
        (lost.status, lost.code(), lost.field()),
        (StatusCode::CONFLICT, "stale_version", "expected_version")
    );
    assert_eq!(lost.body["current"]["version"], 2);
    assert_eq!(lost.body["current"]["items"][0]["product_id"], food["id"]);
    assert_eq!(
        count(&mut venue.db.connect(), "order_items"),
        1,
        "nothing of the stale edit was written"
    );

    // The same through If-Match, and a fresh version goes through.
    let stale = second_waiter
        .call(Method::POST, &path)
        .header("If-Match", "\"1\"")
        .json(json!({"items": [{"product_id": id(&drink), "quantity": 1}]}))
        .await;
    assert_eq!(
        (stale.status, stale.code()),
        (StatusCode::CONFLICT, "stale_version")
    );
    let fresh = second_waiter
        .call(Method::POST, &path)
        .header("If-Match", "\"2\"")
        .json(json!({"items": [{"product_id": id(&drink), "quantity": 1}]}))
        .await;
    assert_eq!(fresh.expect(StatusCode::OK)["version"], 3);
    let disagreeing = second_waiter
        .call(Method::POST, &path)
        .header("If-Match", "\"3\"")
        .json(json!({"items": [{"product_id": id(&drink), "quantity": 1}], "expected_version": 2}))
        .await;
    assert_eq!(
        (disagreeing.status, disagreeing.code()),
        (StatusCode::BAD_REQUEST, "conflicting_versions")
    );

    // Edits before send: change a line, remove one, notes; all versioned.
    let item = fresh.body["items"][1]["id"].as_str().unwrap().to_owned();
    let changed = first_waiter
        .call(Method::PATCH, &format!("/api/orders/{}/items/{item}", id(&order)))
        .json(json!({"quantity": 3, "notes": "lots of ice", "expected_version": 3}))
        .await;
    let changed = changed.expect(StatusCode::OK);
    assert_eq!(
        (
            changed["items"][1]["quantity"].as_i64(),
            changed["items"][1]["notes"].as_str()
        ),
        (Some(3), Some("lots of ice"))
    );
    let removed = first_waiter
        .call(
            Method::DELETE,
            &format!("/api/orders/{}/items/{item}?expected_version=4", id(&order)),
        )
        .empty()
        .await;
    assert_eq!(
        removed.expect(StatusCode::OK)["items"].as_array().unwrap().len(),
        1
    );
    let noted = first_waiter
        .call(Method::PATCH, &format!("/api/orders/{}", id(&order)))
        .header("If-Match", "\"5\"")
        .json(json!({"preparation_notes": "allergic to nuts"}))
        .await;
    assert_eq!(
        noted.expect(StatusCode::OK)["preparation_notes"],
        "allergic to nuts"
    );

    // Move to another table, then merge a second order of the old table into this one.
    let other_table = tables.body[2].clone();
    let moved = first_waiter
        .post(
            &format!("/api/orders/{}/move", id(&order)),
            json!({"table_id": id(&other_table), "expected_version": 6}),
        )
        .await;
    assert_eq!(moved.expect(StatusCode::OK)["table_id"], other_table["id"]);
    let second = first_waiter
        .create(json!({"type": "dine_in", "table_id": id(&table), "items": [{"product_id": id(&drink), "quantity": 2}]}))
        .await;
    let merged = first_waiter
        .post(
            &format!("/api/orders/{}/merge", id(&order)),
            json!({"source_order_id": id(&second)}),
        )
        .await;
    assert_eq!(
        merged.expect(StatusCode::OK)["items"].as_array().unwrap().len(),
        2
    );
    let source = first_waiter.get(&format!("/api/orders/{}", id(&second))).await;
    assert_eq!(
        (
            source.body["status"].as_str(),
            source.body["merged_into"].as_str()
        ),
        (Some("cancelled"), Some(id(&order)))
    );
    let itself = first_waiter
        .post(
            &format!("/api/orders/{}/merge", id(&order)),
            json!({"source_order_id": id(&order)}),
        )
        .await;
    assert_eq!(
        (itself.status, itself.code()),
        (StatusCode::CONFLICT, "merge_with_itself")
    );

    // An empty order is cancelled; one with items is not.
    let empty = first_waiter.create(json!({"type": "takeaway"})).await;
    let cancelled = first_waiter
        .post(&format!("/api/orders/{}/cancel", id(&empty)), json!({}))
        .await;
    assert_eq!(cancelled.expect(StatusCode::OK)["status"], "cancelled");
    let not_empty = first_waiter
        .post(&format!("/api/orders/{}/cancel", id(&order)), json!({}))
        .await;
    assert_eq!(
        (not_empty.status, not_empty.code()),
        (StatusCode::CONFLICT, "order_not_empty")
    );
}

#[tokio::test]
async fn voiding_after_send_takes_a_manager_and_the_audit_log_names_both() {
    let venue = venue("orders-void").await;
    let server = &venue.server;
    let admin = Client::adopt(server, "able").await;
    let cashier = Client::adopt(server, "phiona").await;
    Client::adopt(server, "linus").await;
    let menu = cashier.get("/api/menu").await;
    let food = product(&menu.body, "Food");
    sql(
        &venue.db,
        &format!("UPDATE products SET stock_qty = 10 WHERE id = '{}'", id(&food)),
    );
    let stock = || {
        scalar(
            &venue.db,
            &format!(
                "SELECT stock_qty::bigint AS n FROM products WHERE id = '{}'",
                id(&food)
            ),
        )
    };

    let order = cashier
        .create(json!({"type": "takeaway", "items": [{"product_id": id(&food), "quantity": 2}, {"product_id": id(&food), "quantity": 1}]}))
        .await;
    let sent = cashier.send(&order).await;
    let sent = sent.expect(StatusCode::OK).clone();
    assert_eq!(stock(), 7, "sending takes stock");
    let item = sent["items"][0]["id"].as_str().unwrap().to_owned();
    let void_item = format!("/api/orders/{}/items/{item}/void", id(&order));

    let refused = cashier
        .post(&void_item, json!({"reason": "sent by mistake"}))
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "approval_required")
    );
    let wrong = cashier
        .post(&void_item, json!({"reason": "sent by mistake", "approval": {"username": "linus", "password": "not it at all"}}))
        .await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::FORBIDDEN, "invalid_approval")
    );
    let by_cashier = cashier
        .post(&void_item, json!({"reason": "sent by mistake", "approval": {"username": "evyone", "password": DEMO_PASSWORD}}))
        .await;
    assert_eq!(
        (by_cashier.status, by_cashier.code()),
        (StatusCode::FORBIDDEN, "approver_not_allowed")
    );
    let no_reason = cashier
        .post(
            &void_item,
            json!({"reason": " ", "approval": {"username": "linus", "password": NEW_PASSWORD}}),
        )
        .await;
    assert_eq!(
        (no_reason.status, no_reason.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "reason")
    );
    assert_eq!(stock(), 7, "refusals write nothing");
    assert_eq!(
        scalar(
            &venue.db,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'order_item.voided'"
        ),
        0
    );
    assert!(
        scalar(
            &venue.db,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'auth.approval_failed'"
        ) >= 1
    );

    let voided = cashier
        .post(
            &void_item,
            json!({"reason": "sent by mistake", "approval": {"username": "linus", "password": NEW_PASSWORD}}),
        )
        .await;
    let voided = voided.expect(StatusCode::OK);
    assert_eq!(voided["items"][0]["status"], "voided");
    assert_eq!(voided["items"][0]["void"]["reason"], "sent by mistake");
    let manager = staff_id(&admin, "linus").await;
    let phiona = staff_id(&admin, "phiona").await;
    assert_eq!(voided["items"][0]["void"]["approved_by"], manager.as_str());
    assert_eq!(voided["items"][0]["void"]["by"], phiona.as_str());
    assert_eq!(stock(), 9, "a voided sent item gives its stock back");
    let audit = admin.get("/api/admin/audit?action=order_item.voided").await;
    let rows = audit.expect(StatusCode::OK);
    let row = rows["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "order_item.voided")
        .unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(
        (row["actor_id"].as_str(), row["approver_id"].as_str()),
        (Some(phiona.as_str()), Some(manager.as_str())),
        "{row}"
    );

    // The whole order with a manager's PIN, on a registered terminal.
    admin
        .call(Method::PUT, &format!("/api/admin/staff/{manager}/pin"))
        .json(json!({"pin": "7319"}))
        .await
        .expect(StatusCode::OK);
    admin
        .call(Method::PUT, &format!("/api/admin/staff/{phiona}/pin"))
        .json(json!({"pin": "2468"}))
        .await
        .expect(StatusCode::OK);
    let till = Client::pin_in(server, "2468").await;
    let void_order = format!("/api/orders/{}/void", id(&order));
    let wrong_pin = till
        .post(
            &void_order,
            json!({"reason": "customer left", "approval": {"pin": "0000"}}),
        )
        .await;
    assert_eq!(
        (wrong_pin.status, wrong_pin.code()),
        (StatusCode::FORBIDDEN, "invalid_approval")
    );
    let off_terminal = cashier
        .post(
            &void_order,
            json!({"reason": "customer left", "approval": {"pin": "7319"}}),
        )
        .await;
    assert_eq!(
        (off_terminal.status, off_terminal.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "approval.pin")
    );
    let order_voided = till
        .post(
            &void_order,
            json!({"reason": "customer left", "approval": {"pin": "7319"}}),
        )
        .await;
    let order_voided = order_voided.expect(StatusCode::OK);
    assert_eq!(order_voided["status"], "voided");
    assert_eq!(order_voided["void"]["approved_by"], manager.as_str());
    assert_eq!(stock(), 10, "every sent item's stock is back");
    assert_eq!(
        scalar(
            &venue.db,
            &format!(
                "SELECT count(*) AS n FROM audit_log WHERE action = 'order.voided' AND actor_id = '{phiona}' AND approver_id = '{manager}'"
            )
        ),
        1
    );
    assert!(
        scalar(
            &venue.db,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'auth.approval'"
        ) >= 2
    );

    // Before send, a cashier voids a pending item alone.
    let pending = cashier
        .create(json!({"type": "takeaway", "items": [{"product_id": id(&food), "quantity": 1}]}))
        .await;
    let pending_item = pending["items"][0]["id"].as_str().unwrap();
    let alone = cashier
        .post(
            &format!("/api/orders/{}/items/{pending_item}/void", id(&pending)),
            json!({"reason": "changed mind"}),
        )
        .await;
    assert_eq!(alone.expect(StatusCode::OK)["items"][0]["status"], "voided");
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_problem_with_nothing_written() {
    let venue = venue("orders-bad-input").await;
    let server = &venue.server;
    let cashier = Client::adopt(server, "phiona").await;
    let cook = Client::adopt(server, "emma").await;
    let menu = cashier.get("/api/menu").await;
    let food = product(&menu.body, "Food");
    let drink = product(&menu.body, "Drinks");
    sql(
        &venue.db,
        &format!(
            "UPDATE products SET available = false WHERE id = '{}'",
            id(&drink)
        ),
    );
    let food_id = id(&food).to_owned();
    let unknown = uuid::Uuid::new_v4().to_string();
    let written = || {
        let mut conn = venue.db.connect();
        (
            count(&mut conn, "orders"),
            count(&mut conn, "order_items"),
            count(&mut conn, "events"),
            count(&mut conn, "idempotency_records"),
        )
    };
    let before = written();

    let item = |extra: Value| {
        let mut item = json!({"product_id": food_id, "quantity": 1});
        item.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"type": "takeaway", "items": [item]})
    };
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            "unknown product",
            json!({"type": "takeaway", "items": [{"product_id": food_id, "quantity": 1}, {"product_id": unknown, "quantity": 1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "items[1].product_id",
        ),
        (
            "unknown table",
            json!({"type": "dine_in", "table_id": unknown}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "table_id",
        ),
        (
            "dine-in without a table",
            json!({"type": "dine_in"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "table_id",
        ),
        (
            "unavailable product",
            json!({"type": "takeaway", "items": [{"product_id": id(&drink), "quantity": 1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "items[0].product_id",
        ),
        (
            "quantity 0",
            item(json!({"quantity": 0})),
            StatusCode::BAD_REQUEST,
            "items[0].quantity",
        ),
        (
            "negative quantity",
            item(json!({"quantity": -2})),
            StatusCode::BAD_REQUEST,
            "items[0].quantity",
        ),
        (
            "huge quantity",
            item(json!({"quantity": 1_000_000_000})),
            StatusCode::BAD_REQUEST,
            "items[0].quantity",
        ),
        (
            "fractional quantity",
            item(json!({"quantity": 1.5})),
            StatusCode::BAD_REQUEST,
            "items[0].quantity",
        ),
        (
            "notes too long",
            item(json!({"notes": "n".repeat(501)})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "items[0].notes",
        ),
        (
            "seat 0",
            item(json!({"seat": 0})),
            StatusCode::BAD_REQUEST,
            "items[0].seat",
        ),
        (
            "unknown modifier",
            item(json!({"modifiers": [unknown]})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "items[0].modifiers",
        ),
        (
            "unknown field",
            item(json!({"price": 1})),
            StatusCode::BAD_REQUEST,
            "items[0].price",
        ),
        (
            "unknown type",
            json!({"type": "delivery"}),
            StatusCode::BAD_REQUEST,
            "type",
        ),
        (
            "preparation notes too long",
            json!({"type": "takeaway", "preparation_notes": "p".repeat(501)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "preparation_notes",
        ),
    ];
    for (label, body, status, field) in cases {
        let answer = cashier
            .call(Method::POST, "/api/orders")
            .key(&uuid::Uuid::new_v4().to_string())
            .json(body)
            .await;
        assert_eq!(
            (answer.status, answer.field()),
            (status, field),
            "{label}: {}",
            answer.body
        );
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json"),
            "{label}"
        );
        assert!(
            !answer.body["detail"].as_str().unwrap_or_default().is_empty(),
            "{label}"
        );
        assert_eq!(written(), before, "{label} wrote something");
    }

    let long_key = cashier
        .call(Method::POST, "/api/orders")
        .key(&"k".repeat(256))
        .json(json!({"type": "takeaway"}))
        .await;
    assert_eq!(
        (long_key.status, long_key.field()),
        (StatusCode::BAD_REQUEST, "Idempotency-Key")
    );
    let no_key = cashier.post("/api/orders", json!({"type": "takeaway"})).await;
    assert_eq!(
        (no_key.status, no_key.code()),
        (StatusCode::BAD_REQUEST, "idempotency_key_required")
    );
    let malformed = cashier
        .call(Method::POST, "/api/orders")
        .key("malformed")
        .raw("{\"type\": ")
        .await;
    assert_eq!(
        (malformed.status, malformed.code()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    let not_json = cashier
        .call(Method::POST, "/api/orders")
        .key("form")
        .header("content-type", "text/plain")
        .raw_body("type=takeaway".to_owned())
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let kitchen = cook
        .call(Method::POST, "/api/orders")
        .key("kitchen")
        .json(json!({"type": "takeaway"}))
        .await;
    assert_eq!(
        (kitchen.status, kitchen.code()),
        (StatusCode::FORBIDDEN, "not_permitted")
    );
    assert_eq!(cook.get("/api/orders").await.status, StatusCode::FORBIDDEN);
    assert_eq!(cook.get("/api/tables").await.status, StatusCode::FORBIDDEN);
    assert_eq!(written(), before);

    // Sending an empty order, and adding to a closed one, change nothing.
    let empty = cashier.create(json!({"type": "takeaway"})).await;
    let after_create = written();
    let send_empty = cashier.send(&empty).await;
    assert_eq!(
        (send_empty.status, send_empty.code()),
        (StatusCode::CONFLICT, "nothing_to_send")
    );
    cashier
        .post(&format!("/api/orders/{}/cancel", id(&empty)), json!({}))
        .await
        .expect(StatusCode::OK);
    let version_after_cancel = scalar(
        &venue.db,
        &format!(
            "SELECT version::bigint AS n FROM orders WHERE id = '{}'",
            id(&empty)
        ),
    );
    let items_before = count(&mut venue.db.connect(), "order_items");
    let closed = cashier
        .post(
            &format!("/api/orders/{}/items", id(&empty)),
            json!({"items": [{"product_id": food_id, "quantity": 1}]}),
        )
        .await;
    assert_eq!(
        (closed.status, closed.code()),
        (StatusCode::CONFLICT, "order_finished")
    );
    assert_eq!(count(&mut venue.db.connect(), "order_items"), items_before);
    assert_eq!(
        scalar(
            &venue.db,
            &format!(
                "SELECT version::bigint AS n FROM orders WHERE id = '{}'",
                id(&empty)
            )
        ),
        version_after_cancel
    );
    let none = cashier
        .post(&format!("/api/orders/{}/items", id(&empty)), json!({"items": []}))
        .await;
    assert_eq!(
        (none.status, none.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "items")
    );
    assert!(
        after_create.0 == written().0,
        "no order was added by the refusals"
    );
    let unknown_order = cashier.get(&format!("/api/orders/{unknown}")).await;
    assert_eq!(unknown_order.status, StatusCode::NOT_FOUND);
    let bad_status = cashier.get("/api/orders?status=lost").await;
    assert_eq!(
        (bad_status.status, bad_status.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "status")
    );
    let bad_station = cook.get("/api/kds/tickets?station=grill").await;
    assert_eq!(
        (bad_station.status, bad_station.field()),
        (StatusCode::BAD_REQUEST, "station")
    );
}
