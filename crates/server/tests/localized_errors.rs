//! Database errors are told apart by their SQLSTATE, not by PostgreSQL's message text: the
//! `pos` binary against a private cluster whose server writes its messages in German.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::mpsc;

use common::{JWT_SECRET, Running, TempDir, free_port, pos, succeed};
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use pos_testkit::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};

const LOCALE: &str = "de_DE.UTF-8";
const DEMO_PASSWORD: &str = "password123";
const NEW_PASSWORD: &str = "a proper new password";

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    lc_messages: String,
}

async fn sign_in(http: &reqwest::Client, base: &str, username: &str) -> String {
    let login: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": username, "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = login["token"].as_str().unwrap();
    let changed: Value = http
        .post(format!("{base}/api/auth/change-password"))
        .bearer_auth(first)
        .json(&json!({"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    changed["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_row_locked_past_the_lock_timeout_is_503_with_retry_after_in_a_german_server() {
    let db = TestDb::with_server_messages_in(LOCALE);
    let shown: Setting = sql_query("SHOW lc_messages")
        .get_result(&mut db.connect())
        .unwrap();
    assert_eq!(shown.lc_messages, LOCALE, "the server speaks German");

    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let logs = TempDir::new("localized-errors");
    let port = free_port();
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string());
    let server = Running::start(command, port, logs.path()).await;
    let base = server.base_url.clone();
    let http = reqwest::Client::new();
    let token = sign_in(&http, &base, "phiona").await;

    let menu: Value = http
        .get(format!("{base}/api/menu"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let product = menu["categories"][0]["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["orderable"] == true)
        .unwrap()["id"]
        .clone();
    let created = http
        .post(format!("{base}/api/orders"))
        .bearer_auth(&token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"type": "takeaway", "items": [{"product_id": product, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let order: Value = created.json().await.unwrap();
    let order_id = order["id"].as_str().unwrap().to_owned();

    // Another session holds the order's row until told to let go.
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let url = db.url().to_owned();
    let holder = {
        let order_id = order_id.clone();
        std::thread::spawn(move || {
            let mut conn = PgConnection::establish(&url).unwrap();
            conn.transaction(|c| {
                sql_query(format!("SELECT 1 FROM orders WHERE id = '{order_id}' FOR UPDATE")).execute(c)?;
                locked_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok::<_, diesel::result::Error>(())
            })
            .unwrap();
        })
    };
    locked_rx.recv().unwrap();

    let blocked = http
        .post(format!("{base}/api/orders/{order_id}/items"))
        .bearer_auth(&token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"items": [{"product_id": product, "quantity": 1}], "expected_version": 1}))
        .send()
        .await
        .unwrap();
    let status = blocked.status();
    let retry_after = blocked.headers().get("retry-after").cloned();
    let body: Value = blocked.json().await.unwrap();
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{body}\n{}",
        server.log()
    );
    assert!(retry_after.is_some(), "503 carries Retry-After");
    assert_eq!(body["code"], "service_unavailable", "{body}");

    // Once the lock is gone the same change goes through: nothing was half-written.
    let retried = http
        .post(format!("{base}/api/orders/{order_id}/items"))
        .bearer_auth(&token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"items": [{"product_id": product, "quantity": 1}], "expected_version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), StatusCode::OK);
    let log = server.log();
    assert!(!log.contains("\"level\":\"ERROR\""), "no error logged:\n{log}");
}
