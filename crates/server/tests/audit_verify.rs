//! `pos audit verify` and `GET /api/admin/audit/verify` walk the same chain with the same
//! domain rule: a row changed behind the application's back (with the append-only trigger
//! disabled by a superuser) is named by both, and the command exits non-zero.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{JWT_SECRET, Running, TempDir, free_port, output, pos, stderr, stdout, succeed};
use diesel::RunQueryDsl;
use pos_testkit::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn sql(db: &TestDb, statement: &str) {
    diesel::sql_query(statement).execute(&mut db.connect()).unwrap();
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

fn ids(db: &TestDb) -> Vec<i64> {
    diesel::sql_query("SELECT id FROM audit_log ORDER BY id")
        .load::<Id>(&mut db.connect())
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

#[derive(diesel::QueryableByName)]
struct After {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    after: Option<String>,
}

fn after_of(db: &TestDb, id: i64) -> Option<String> {
    diesel::sql_query("SELECT after::text AS after FROM audit_log WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(id)
        .get_result::<After>(&mut db.connect())
        .unwrap()
        .after
}

async fn api_verdict(server: &Running, token: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{}/api/admin/audit/verify", server.base_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_altered_row_is_named_by_the_command_and_the_api_alike() {
    let db = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let logs = TempDir::new("audit-verify");
    let port = free_port();
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string());
    let server = Running::start(command, port, logs.path()).await;

    // Sign-ins and a password change append rows to the chain.
    let token = server.login("able", "password123").await;
    let changed = reqwest::Client::new()
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
    let wrong = reqwest::Client::new()
        .post(format!("{}/api/auth/login", server.base_url))
        .json(&json!({"username": "linus", "password": "a wrong password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let _ = server.login("able", "a proper new password").await;
    let rows = ids(&db);
    assert!(rows.len() >= 3, "{rows:?}");

    let intact = output(pos(&["audit", "verify"]).env("DATABASE_URL", db.url()));
    assert!(intact.status.success(), "{}", stderr(&intact));
    assert!(
        stdout(&intact).contains(&format!("audit chain intact: {} rows", rows.len())),
        "{}",
        stdout(&intact)
    );
    let verdict = api_verdict(&server, &token).await;
    assert_eq!(verdict["valid"], true, "{verdict}");

    // A superuser edits the second row's content (the trigger would refuse the UPDATE).
    let altered = rows[1];
    let original = after_of(&db, altered);
    sql(&db, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
    sql(
        &db,
        &format!("UPDATE audit_log SET after = '{{\"forged\": true}}'::jsonb WHERE id = {altered}"),
    );
    sql(&db, "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");

    let broken = output(pos(&["audit", "verify"]).env("DATABASE_URL", db.url()));
    assert_eq!(broken.status.code(), Some(1), "{}", stderr(&broken));
    assert!(
        stdout(&broken).contains(&format!("BROKEN at row {altered} (1 intact rows before it)")),
        "{}",
        stdout(&broken)
    );
    assert!(
        stderr(&broken).contains(&format!("audit row {altered}: content does not match its hash")),
        "{}",
        stderr(&broken)
    );
    let verdict = api_verdict(&server, &token).await;
    assert_eq!(verdict["valid"], false, "{verdict}");
    assert_eq!(verdict["broken_at"], altered, "{verdict}");
    assert_eq!(verdict["rows_checked"], 1, "{verdict}");

    // Put back, the chain holds again; a deleted row breaks the link of the row after it.
    sql(&db, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
    diesel::sql_query("UPDATE audit_log SET after = $1::jsonb WHERE id = $2")
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(original.clone())
        .bind::<diesel::sql_types::BigInt, _>(altered)
        .execute(&mut db.connect())
        .unwrap();
    assert_eq!(after_of(&db, altered), original);
    sql(&db, &format!("DELETE FROM audit_log WHERE id = {}", rows[0]));
    sql(&db, "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");
    let unlinked = output(pos(&["audit", "verify"]).env("DATABASE_URL", db.url()));
    assert_eq!(unlinked.status.code(), Some(1));
    assert!(
        stdout(&unlinked).contains(&format!("BROKEN at row {altered} (0 intact rows before it)")),
        "{}",
        stdout(&unlinked)
    );
    assert!(stderr(&unlinked).contains("prev_hash does not match the previous row"));
    let verdict = api_verdict(&server, &token).await;
    assert_eq!(verdict["broken_at"], altered, "{verdict}");
}

#[test]
fn audit_verify_needs_a_database_url() {
    let refused = output(&mut pos(&["audit", "verify"]));
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("DATABASE_URL"), "{}", stderr(&refused));
}
