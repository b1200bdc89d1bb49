//! A signed-in HTTP client for the till's black-box tests (shifts, payments): the `pos`
//! binary over a fresh database seeded with the demo venue.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use diesel::RunQueryDsl;
use pos_testkit::TestDb;
use pos_testkit::pesapal::{FakePesapal, KEY, SECRET};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{JWT_SECRET, Running, TempDir, free_port, pos, succeed};

pub const DEMO_PASSWORD: &str = "password123";
pub const NEW_PASSWORD: &str = "a proper new password";

pub struct Venue {
    pub db: TestDb,
    _logs: TempDir,
    pub server: Running,
}

/// A seeded venue served by `pos serve` on a free port, with `env` added.
pub async fn venue_with(label: &str, env: &[(&str, String)]) -> Venue {
    venue_on(label, free_port(), env).await
}

/// [`venue_with`] on a port chosen beforehand (for settings that name the server's URL).
pub async fn venue_on(label: &str, port: u16, env: &[(&str, String)]) -> Venue {
    let db = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let logs = TempDir::new(label);
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string());
    for (name, value) in env {
        command.env(name, value);
    }
    let server = Running::start(command, port, logs.path()).await;
    Venue {
        db,
        _logs: logs,
        server,
    }
}

pub async fn venue(label: &str) -> Venue {
    venue_with(label, &[]).await
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
    pub fn field(&self) -> &str {
        self.body["field"].as_str().unwrap_or_default()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        &self.body
    }
    /// A problem with this status, code and field.
    #[track_caller]
    pub fn refused(&self, status: StatusCode, code: &str, field: Option<&str>) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.code(), code, "{}", self.body);
        if let Some(field) = field {
            assert_eq!(self.field(), field, "{}", self.body);
        }
        let text = self.body.to_string();
        for internal in ["shifts_", "cash_movements", "payments_", "constraint"] {
            assert!(!text.contains(internal), "leaks {internal}: {text}");
        }
    }
}

/// One signed-in client.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

pub struct Call<'a> {
    client: &'a Client,
    request: reqwest::RequestBuilder,
}

impl Call<'_> {
    pub fn key(mut self, key: &str) -> Self {
        self.request = self.request.header("Idempotency-Key", key);
        self
    }
    pub async fn json(self, body: Value) -> Answer {
        self.client.finish(self.request.json(&body)).await
    }
    pub async fn raw(self, body: &'static str) -> Answer {
        self.client
            .finish(self.request.header("content-type", "application/json").body(body))
            .await
    }
    pub async fn empty(self) -> Answer {
        self.client.finish(self.request).await
    }
}

pub fn fresh_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Client {
    pub async fn sign_in(server: &Running, username: &str, password: &str) -> Client {
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

    /// A seeded account (`able` admin, `linus` manager, `phiona` cashier …), signed in after
    /// changing its password to [`NEW_PASSWORD`].
    pub async fn adopt(server: &Running, username: &str) -> Client {
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

    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            client: self,
            request: self
                .http
                .request(method, format!("{}{path}", self.base))
                .bearer_auth(&self.token),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path).empty().await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path).json(body).await
    }

    /// POST with a fresh Idempotency-Key.
    pub async fn post_keyed(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path).key(&fresh_key()).json(body).await
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

    pub async fn me(&self) -> Value {
        self.get("/api/auth/me").await.expect(StatusCode::OK).clone()
    }
}

/// `SELECT count(*) FROM table WHERE …`.
pub fn count_where(db: &TestDb, table: &str, condition: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT count(*) AS n FROM {table} WHERE {condition}"))
        .get_result::<N>(&mut db.connect())
        .unwrap()
        .n
}

pub fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

/// One number from SQL (`SELECT … AS n`).
pub fn scalar(db: &TestDb, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql)
        .get_result::<N>(&mut db.connect())
        .unwrap()
        .n
}

/// (method, amount, tip) of every received payment, row by row.
pub fn payment_rows(db: &TestDb) -> Vec<(String, i64, i64)> {
    #[derive(diesel::QueryableByName)]
    struct P {
        #[diesel(sql_type = diesel::sql_types::Text)]
        method: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        amount: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        tip: i64,
    }
    diesel::sql_query(
        "SELECT method, amount, tip FROM payments \
         WHERE status IN ('completed', 'partially_refunded', 'refunded')",
    )
    .load::<P>(&mut db.connect())
    .unwrap()
    .into_iter()
    .map(|p| (p.method, p.amount, p.tip))
    .collect()
}

/// (original method, amount) of every refund.
pub fn refund_rows(db: &TestDb) -> Vec<(String, i64)> {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::Text)]
        method: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        amount: i64,
    }
    diesel::sql_query("SELECT p.method, r.amount FROM refunds r JOIN payments p ON p.id = r.payment_id")
        .load::<R>(&mut db.connect())
        .unwrap()
        .into_iter()
        .map(|r| (r.method, r.amount))
        .collect()
}

/// A venue whose Pesapal is `fake` (env `extra` added), its IPN URL registered at start-up (no PESAPAL_IPN_ID).
pub async fn pesapal_venue(label: &str, fake: &FakePesapal, extra: &[(&str, &str)]) -> Venue {
    let port = free_port();
    let mut env: Vec<(&str, String)> = vec![
        ("PESAPAL_CONSUMER_KEY", KEY.to_owned()),
        ("PESAPAL_CONSUMER_SECRET", SECRET.to_owned()),
        ("PESAPAL_BASE_URL", fake.base_url().to_owned()),
        ("APP_BASE_URL", format!("http://127.0.0.1:{port}")),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    venue_on(label, port, &env).await
}

/// Where the fake Pesapal sends this venue's IPNs.
pub fn ipn_url(venue: &Venue) -> String {
    format!("{}/api/payments/pesapal/ipn", venue.server.base_url)
}

/// One column of one payment, as text.
pub fn payment_column(venue: &Venue, payment: &str, column: &str) -> Option<String> {
    #[derive(diesel::QueryableByName)]
    struct Cell {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        value: Option<String>,
    }
    diesel::sql_query(format!(
        "SELECT {column}::text AS value FROM payments WHERE id = '{payment}'"
    ))
    .get_result::<Cell>(&mut venue.db.connect())
    .unwrap()
    .value
}

/// Polls `check` every 200 ms until it holds; fails after `limit`.
pub async fn wait_for(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The seeded manager `linus` approving inside the request (after [`Client::adopt`]).
pub fn manager_approval() -> Value {
    json!({"username": "linus", "password": NEW_PASSWORD})
}

/// The first orderable kitchen product of the seeded menu.
/// The orderable products of the seeded menu's Food category (kitchen dishes), in menu order.
pub async fn foods(cashier: &Client) -> Vec<Value> {
    let menu = cashier.get("/api/menu").await;
    menu.expect(StatusCode::OK)["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Food")
        .unwrap()["products"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["orderable"] == true)
        .cloned()
        .collect()
}

pub async fn food(cashier: &Client) -> Value {
    foods(cashier).await.swap_remove(0)
}

/// Bumps the order's kitchen ticket until it is ready (or closed).
/// Creates the order `body` describes, sends it and has the kitchen make it ready.
pub async fn place_ready(cashier: &Client, cook: &Client, body: Value) -> Value {
    let created = cashier
        .call(Method::POST, "/api/orders")
        .key(&fresh_key())
        .json(body)
        .await;
    let order = created.expect(StatusCode::CREATED).clone();
    cashier
        .call(Method::POST, &format!("/api/orders/{}/send", id(&order)))
        .key(&fresh_key())
        .empty()
        .await
        .expect(StatusCode::OK);
    let now = make_ready(cashier, cook, &order).await;
    assert_eq!(now["status"], "ready", "{now}");
    now
}

pub async fn make_ready(cashier: &Client, cook: &Client, order: &Value) -> Value {
    for _ in 0..3 {
        let now = cashier.get(&format!("/api/orders/{}", id(order))).await;
        if now.body["status"] == "ready" || now.body["status"] == "closed" {
            return now.body.clone();
        }
        cook.post(
            &format!("/api/kds/orders/{}/bump?station=kitchen", id(order)),
            json!({}),
        )
        .await;
    }
    cashier
        .get(&format!("/api/orders/{}", id(order)))
        .await
        .body
        .clone()
}
