//! A signed-in HTTP client for the till's black-box tests (shifts, payments): the `pos`
//! binary over a fresh database seeded with the demo venue.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use pos_testkit::TestDb;
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
    use diesel::RunQueryDsl;
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
