//! `pos bench` against a real `pos serve` on a freshly seeded database, in miniature: the
//! figures are meaningless at this size, but every order must succeed, every event reach
//! every stream, and the server's memory be found through its port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{JWT_SECRET, Running, TempDir, free_port, output, pos, stderr, stdout, succeed};
use pos_testkit::TestDb;
use serde_json::Value;

async fn seeded_server(db: &TestDb, logs: &TempDir) -> Running {
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let port = free_port();
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string());
    Running::start(command, port, logs.path()).await
}

fn bench_json(server: &Running, extra: &[&str]) -> Value {
    let mut args = vec!["bench", "--url", &server.base_url, "--json"];
    args.extend_from_slice(extra);
    let out = succeed(&mut pos(&args));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test]
async fn a_small_bench_places_orders_and_reaches_every_stream() {
    let db = TestDb::new();
    let logs = TempDir::new("bench-logs");
    let server = seeded_server(&db, &logs).await;

    let report = bench_json(
        &server,
        &[
            "--prepare",
            "--clients",
            "3",
            "--warmup",
            "200ms",
            "--duration",
            "1s",
            "--kds-clients",
            "4",
            "--kds-rate",
            "10",
            "--kds-duration",
            "1s",
            "--login-burst",
            "3",
            "--idle-streams",
            "20",
        ],
    );
    let logins = &report["memory_phases"]["logins"];
    assert_eq!(logins["succeeded"], 3, "{report:#}");
    assert!(logins["peak_rss_mib"].as_f64().unwrap() > 0.0, "{report:#}");
    let streams = &report["memory_phases"]["streams"];
    assert_eq!(streams["opened"], 20, "{report:#}");
    assert!(
        streams["rss_after_close_mib"].as_f64().unwrap() > 0.0,
        "{report:#}"
    );
    let orders = &report["orders"];
    assert!(orders["orders"].as_u64().unwrap() > 0, "{report:#}");
    assert_eq!(orders["errors"], serde_json::json!({}), "{report:#}");
    assert!(orders["create_and_send"]["p99_ms"].as_f64().unwrap() > 0.0);

    let kds = &report["kds"];
    assert_eq!(kds["failed_to_connect"], 0, "{report:#}");
    assert_eq!(kds["orders_sent"], 10, "{report:#}");
    assert_eq!(kds["expected_deliveries"], 40);
    assert_eq!(kds["deliveries"], 40, "{report:#}");
    assert_eq!(
        (kds["missed"].as_u64(), kds["duplicates"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(kds["delay_from_send_issued"]["max_ms"].as_f64().unwrap() > 0.0);

    assert_eq!(report["server"]["pid"], server.child.id(), "{report:#}");
    let hwm = report["memory"]["vm_hwm_mib"].as_f64().unwrap();
    assert!(hwm > 1.0, "{report:#}");
    assert_eq!(report["settings"]["orders_account"], "bench-cashier (cashier)");
    assert_eq!(report["settings"]["kds_account"], "bench-kitchen (kitchen)");
    let aims = report["aims"].as_array().unwrap();
    assert_eq!(aims.len(), 5, "{report:#}");
    // 3 logins and 20 streams are not the sizes: shown, not judged.
    assert_eq!(
        (aims[3]["met"].is_null(), aims[4]["met"].is_null()),
        (true, true),
        "{report:#}"
    );

    // A second --prepare finds the admin's password changed and the accounts made; an
    // account given by name works the same.
    let again = bench_json(
        &server,
        &[
            "--prepare",
            "--clients",
            "1",
            "--duration",
            "300ms",
            "--kds-clients",
            "0",
            "--login-burst",
            "0",
            "--idle-streams",
            "0",
        ],
    );
    assert!(again["orders"]["orders"].as_u64().unwrap() > 0, "{again:#}");
    assert_eq!(again["kds"], Value::Null);
    let named = bench_json(
        &server,
        &[
            "--username",
            "bench-cashier",
            "--password",
            "pos-bench-password",
            "--clients",
            "1",
            "--duration",
            "300ms",
            "--kds-clients",
            "0",
            "--login-burst",
            "0",
            "--idle-streams",
            "0",
            "--pid",
            "1",
        ],
    );
    assert!(named["orders"]["orders"].as_u64().unwrap() > 0, "{named:#}");
    assert_eq!(named["orders"]["errors"], serde_json::json!({}), "{named:#}");
    assert_eq!(named["server"]["pid_source"], "--pid");
}

#[tokio::test]
async fn an_account_that_must_change_its_password_is_a_setup_error() {
    let db = TestDb::new();
    let logs = TempDir::new("bench-logs");
    let server = seeded_server(&db, &logs).await;
    let out = output(&mut pos(&[
        "bench",
        "--url",
        &server.base_url,
        "--username",
        "phiona",
        "--password",
        "password123",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("phiona must change its password"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );

    let out = output(&mut pos(&["bench", "--url", &server.base_url]));
    assert_eq!(out.status.code(), Some(2), "no account given: {}", stderr(&out));
}
