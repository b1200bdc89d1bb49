//! `GET /metrics` is served on the private METRICS_ADDR listener only: the public port
//! answers 404 to anyone (signed in or not), the metrics port answers the Prometheus text
//! format, and its figures move with what happens (requests, an order, an event stream,
//! a payment, a backup).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{JWT_SECRET, Running, TempDir, free_port, output, pos, stderr, succeed};
use diesel::RunQueryDsl;
use pos_testkit::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn sql(db: &TestDb, statement: &str) {
    diesel::sql_query(statement).execute(&mut db.connect()).unwrap();
}

/// The value of the series `series` (name with its labels, exactly as printed).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(metrics_base: &str) -> String {
    let response = reqwest::get(format!("{metrics_base}/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_are_private_to_their_listener_and_follow_the_venue() {
    let db = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let logs = TempDir::new("metrics");
    let port = free_port();
    let metrics_port = free_port();
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"));
    let server = Running::start(command, port, logs.path()).await;
    let metrics = format!("http://127.0.0.1:{metrics_port}");

    // The public port never serves them, to anyone.
    let token = server.login("able", "password123").await;
    let http = reqwest::Client::new();
    // Seeded accounts must change their password before anything else.
    let changed = http
        .post(format!("{}/api/auth/change-password", server.base_url))
        .bearer_auth(&token)
        .json(&json!({"current_password": "password123", "new_password": "a proper new password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let token = changed.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in ["/metrics", "/api/metrics"] {
        let anonymous = http
            .get(format!("{}{path}", server.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(
            !anonymous
                .text()
                .await
                .unwrap()
                .contains("pos_http_requests_total")
        );
        let signed_in = http
            .get(format!("{}{path}", server.base_url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // … and the metrics listener serves nothing else.
    let other = reqwest::get(format!("{metrics}/api/health")).await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);

    let before = scrape(&metrics).await;
    assert_eq!(value(&before, "pos_orders_today"), Some(0.0), "{before}");
    assert_eq!(value(&before, "pos_payments_today"), Some(0.0));
    assert_eq!(value(&before, "pos_sse_clients"), Some(0.0));
    assert_eq!(value(&before, "pos_backup_last_success_age_seconds"), Some(-1.0));
    assert_eq!(value(&before, "pos_db_pool_max_connections"), Some(10.0));
    assert!(value(&before, "pos_db_pool_waiting").is_some());
    assert!(value(&before, "pos_db_pool_in_use").is_some());
    let login = "pos_http_requests_total{method=\"POST\",route=\"/api/auth/login\",status=\"200\"}";
    assert_eq!(value(&before, login), Some(1.0), "{before}");
    let published_before = value(&before, "pos_events_published_total").unwrap();

    // A client on the event stream.
    let mut stream = http
        .get(format!("{}/api/realtime/stream", server.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let first = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
        .await
        .unwrap()
        .unwrap();
    assert!(first.is_some());

    // An order placed.
    let menu: Value = http
        .get(format!("{}/api/menu", server.base_url))
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
        .post(format!("{}/api/orders", server.base_url))
        .bearer_auth(&token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"type": "takeaway", "items": [{"product_id": product, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let order_id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown = http
        .get(format!("{}/api/orders/{}", server.base_url, uuid::Uuid::new_v4()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // A completed payment and a good backup an hour old, written behind the API's back.
    sql(
        &db,
        &format!(
            "INSERT INTO payments (order_id, method, amount, currency, tendered, change_given, status, staff_id, completed_at) \
             SELECT '{order_id}', 'cash', 1500, s.currency, 2000, 500, 'completed', st.id, now() \
             FROM settings s, staff st WHERE st.username = 'able' LIMIT 1"
        ),
    );
    sql(
        &db,
        "INSERT INTO backups (id, name, size_bytes, sha256, created_at, status, trigger) VALUES \
         (gen_random_uuid(), 'pos-old.dump', 1, repeat('a', 64), now() - interval '1 hour', 'ok', 'cli'), \
         (gen_random_uuid(), 'pos-failed.dump', 0, NULL, now(), 'failed', 'cli')",
    );

    let after = scrape(&metrics).await;
    assert_eq!(value(&after, "pos_orders_today"), Some(1.0), "{after}");
    assert_eq!(value(&after, "pos_payments_today"), Some(1.0));
    assert_eq!(value(&after, "pos_payments_today_amount_minor"), Some(1500.0));
    assert_eq!(value(&after, "pos_sse_clients"), Some(1.0));
    let age = value(&after, "pos_backup_last_success_age_seconds").unwrap();
    assert!((3590.0..3700.0).contains(&age), "{age}");
    assert!(value(&after, "pos_events_published_total").unwrap() > published_before);
    let placed = "pos_http_requests_total{method=\"POST\",route=\"/api/orders\",status=\"201\"}";
    assert_eq!(value(&after, placed), Some(1.0), "{after}");
    // By route pattern: the id is not a label.
    let missing = "pos_http_requests_total{method=\"GET\",route=\"/api/orders/{order_id}\",status=\"404\"}";
    assert_eq!(value(&after, missing), Some(1.0), "{after}");
    assert!(!after.contains(&order_id));
    assert!(
        value(
            &after,
            "pos_http_request_duration_seconds_count{method=\"POST\",route=\"/api/orders\"}"
        ) == Some(1.0)
    );

    drop(stream);
}

#[test]
fn a_metrics_address_that_cannot_be_used_stops_start_up() {
    let refused = output(
        pos(&["serve"])
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .env("POS_JWT_SECRET", JWT_SECRET)
            .env("METRICS_ADDR", "metrics.example:9464"),
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("METRICS_ADDR must be off"),
        "{}",
        stderr(&refused)
    );
}
