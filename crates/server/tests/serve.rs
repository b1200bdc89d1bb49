//! `pos serve` as a black box: health over HTTP, Redis or not, and a prompt, clean exit on
//! SIGTERM and SIGINT.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{JWT_SECRET, Running, TempDir, free_port, output, pos, stderr};
use pos_testkit::{TestDb, TestRedis};

async fn start_serve(db: &TestDb, extra: &[(&str, &str)], logs: &TempDir) -> Running {
    let port = free_port();
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string())
        .envs(extra.iter().copied());
    Running::start(command, port, logs.path()).await
}

#[tokio::test]
async fn serve_answers_health_and_stops_on_sigterm() {
    let db = TestDb::new();
    let logs = TempDir::new("serve-logs");
    let mut server = start_serve(&db, &[], &logs).await;

    let (status, body) = server.health().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["redis"], "disabled");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));

    let asked = Instant::now();
    server.signal("TERM");
    let status = server.wait(Duration::from_secs(15)).await;
    assert!(status.success(), "exit {status}:\n{}", server.log());
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "took {:?}",
        asked.elapsed()
    );
    let log = server.log();
    assert!(log.contains("pos is listening on http://127.0.0.1:"), "{log}");
    assert!(log.contains("HTTP server stopped"), "{log}");
    // Every line on stderr is JSON (LOG_FORMAT=json), so a log collector can read them all.
    for line in log.lines().filter(|l| !l.starts_with("pos is listening")) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }
}

#[tokio::test]
async fn serve_migrates_an_empty_database_at_start() {
    let db = TestDb::empty();
    let logs = TempDir::new("serve-empty-logs");
    let mut server = start_serve(&db, &[], &logs).await;
    let (status, body) = server.health().await;
    assert_eq!((status, &body["database"]), (200, &serde_json::json!("ok")));
    assert!(common::count(&mut db.connect(), "__diesel_schema_migrations") > 0);
    server.signal("INT");
    assert!(
        server.wait(Duration::from_secs(15)).await.success(),
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn serve_with_redis_reports_it_ok_and_stops_on_sigint() {
    let db = TestDb::new();
    let redis = TestRedis::new();
    let logs = TempDir::new("serve-redis-logs");
    let mut server = start_serve(&db, &[("REDIS_URL", redis.url())], &logs).await;

    let (status, body) = server.health().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["redis"], "ok");

    server.signal("INT");
    let status = server.wait(Duration::from_secs(15)).await;
    assert!(status.success(), "exit {status}:\n{}", server.log());
}

#[test]
fn serve_refuses_a_port_in_use_with_one_line() {
    let db = TestDb::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = output(
        pos(&["serve"])
            .env("DATABASE_URL", db.url())
            .env("POS_JWT_SECRET", JWT_SECRET)
            .env("BIND", "127.0.0.1")
            .env("PORT", &port),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("error: cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
}
