//! Backups end to end: `POST /api/admin/backups` and `pos backup` with the real `pg_dump`,
//! `pos restore` into a fresh database compared table by table, row by row; refusals (a
//! tampered file, a database with tables, names that are paths, a missing, old or failing
//! `pg_dump`) leave nothing behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{JWT_SECRET, Running, TempDir, free_port, output, pos, stderr, stdout, succeed};
use diesel::RunQueryDsl;
use pos_testkit::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

const DEMO_PASSWORD: &str = "password123";
const NEW_PASSWORD: &str = "a proper new password";

fn sql(db: &TestDb, statement: &str) {
    diesel::sql_query(statement).execute(&mut db.connect()).unwrap();
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

fn texts(db: &TestDb, query: &str) -> Vec<String> {
    diesel::sql_query(query)
        .load::<Text>(&mut db.connect())
        .unwrap()
        .into_iter()
        .map(|r| r.t)
        .collect()
}

/// Every table of schema `public` with its rows as text, sorted: two databases with the
/// same snapshot hold the same data.
fn snapshot(db: &TestDb) -> BTreeMap<String, Vec<String>> {
    texts(
        db,
        "SELECT tablename::text AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .into_iter()
    .map(|table| {
        let rows = texts(
            db,
            &format!("SELECT x::text AS t FROM public.\"{table}\" x ORDER BY 1"),
        );
        (table, rows)
    })
    .collect()
}

fn server_major(db: &TestDb) -> String {
    let version = texts(db, "SELECT current_setting('server_version_num') AS t");
    (version[0].parse::<u32>().unwrap() / 10_000).to_string()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

struct Venue {
    db: TestDb,
    backups: TempDir,
    _logs: TempDir,
    server: Running,
}

async fn venue(label: &str) -> Venue {
    venue_with(label, &[]).await
}

async fn venue_with(label: &str, env: &[(&str, &Path)]) -> Venue {
    let db = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let backups = TempDir::new(&format!("{label}-backups"));
    let logs = TempDir::new(label);
    let port = free_port();
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("BACKUP_DIR", backups.path())
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string());
    for (name, value) in env {
        command.env(name, value);
    }
    let server = Running::start(command, port, logs.path()).await;
    Venue {
        db,
        backups,
        _logs: logs,
        server,
    }
}

/// A seeded account, signed in after changing its password; returns its token.
async fn adopt(server: &Running, username: &str) -> String {
    let token = server.login(username, DEMO_PASSWORD).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/auth/change-password", server.base_url))
        .bearer_auth(&token)
        .json(&json!({"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn call(server: &Running, token: &str, method: reqwest::Method, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(method, format!("{}{path}", server.base_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Places a takeaway order of the first orderable product and records a cash payment for
/// it with SQL (the payment routes are not part of this test).
async fn an_order_with_a_payment(venue: &Venue, token: &str) {
    let http = reqwest::Client::new();
    let menu: Value = http
        .get(format!("{}/api/menu", venue.server.base_url))
        .bearer_auth(token)
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
        .unwrap()
        .clone();
    let created = http
        .post(format!("{}/api/orders", venue.server.base_url))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"type": "takeaway", "items": [{"product_id": product["id"], "quantity": 2}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    sql(
        &venue.db,
        "INSERT INTO payments (order_id, method, amount, currency, tendered, change_given, status, staff_id) \
         SELECT o.id, 'cash', 1000, s.currency, 2000, 1000, 'pending', st.id \
         FROM orders o, settings s, staff st WHERE st.username = 'able' LIMIT 1",
    );
}

#[tokio::test]
async fn a_backup_taken_over_http_restores_into_a_fresh_database_row_for_row() {
    let venue = venue("backup-http").await;
    let admin = adopt(&venue.server, "able").await;
    an_order_with_a_payment(&venue, &admin).await;

    let before = snapshot(&venue.db);
    assert!(before["orders"].len() == 1 && before["payments"].len() == 1 && before["order_items"].len() == 1);
    let created = call(&venue.server, &admin, reqwest::Method::POST, "/api/admin/backups").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let backup: Value = created.json().await.unwrap();
    let name = backup["name"].as_str().unwrap().to_owned();
    assert_eq!(backup["status"], "ok");
    assert_eq!(backup["trigger"], "api");
    let able = texts(
        &venue.db,
        "SELECT id::text AS t FROM staff WHERE username = 'able'",
    );
    assert_eq!(backup["created_by"], able[0].as_str());

    // On disk: the file and its checksum file, nothing half-written.
    let file = venue.backups.path().join(&name);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(
        files_in(venue.backups.path()),
        vec![name.clone(), format!("{name}.sha256")]
    );
    assert_eq!(backup["size_bytes"].as_u64().unwrap(), bytes.len() as u64);
    assert_eq!(backup["sha256"].as_str().unwrap(), sha256_hex(&bytes));
    assert_eq!(
        std::fs::read_to_string(venue.backups.path().join(format!("{name}.sha256"))).unwrap(),
        format!("{}  {name}\n", sha256_hex(&bytes))
    );

    // Listed, and downloadable byte for byte.
    let list: Value = call(&venue.server, &admin, reqwest::Method::GET, "/api/admin/backups")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], name.as_str());
    let download = call(
        &venue.server,
        &admin,
        reqwest::Method::GET,
        &format!("/api/admin/backups/{name}"),
    )
    .await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(
        download.headers()["x-checksum-sha256"].to_str().unwrap(),
        sha256_hex(&bytes)
    );
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&name)
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), bytes.as_slice());

    // Restored into a fresh database: every table, every row, as it was when backed up.
    let fresh = TestDb::empty();
    let restored = succeed(pos(&["restore", file.to_str().unwrap()]).env("DATABASE_URL", fresh.url()));
    assert!(restored.contains("restored"), "{restored}");
    assert_eq!(snapshot(&fresh), before);
    // The source gained the backup's own record, written after the dump.
    assert_eq!(snapshot(&venue.db)["backups"].len(), 1);
}

#[tokio::test]
async fn backup_routes_refuse_paths_and_other_roles_and_delete_removes_the_files() {
    let venue = venue("backup-bad").await;
    let admin = adopt(&venue.server, "able").await;
    let created = call(&venue.server, &admin, reqwest::Method::POST, "/api/admin/backups").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let name = created.json::<Value>().await.unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    // A file beside the backup directory that a traversal would reach.
    let outside = venue
        .backups
        .path()
        .parent()
        .unwrap()
        .join(format!("{name}-outside"));
    std::fs::write(&outside, "not a backup").unwrap();
    let before = files_in(venue.backups.path());

    for bad in [
        format!("..%2F{name}-outside"),
        "..%2F..%2Fetc%2Fpasswd".to_owned(),
        "..".to_owned(),
        ".hidden".to_owned(),
        format!(".{name}.partial"),
        "a%5Cb".to_owned(),
    ] {
        for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
            let response = call(
                &venue.server,
                &admin,
                method.clone(),
                &format!("/api/admin/backups/{bad}"),
            )
            .await;
            let status = response.status();
            assert!(status.is_client_error(), "{method} {bad}: {status}");
        }
    }
    assert!(outside.exists());
    assert_eq!(files_in(venue.backups.path()), before);
    let unknown = call(
        &venue.server,
        &admin,
        reqwest::Method::DELETE,
        "/api/admin/backups/pos-nothing.dump",
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // Managers and cashiers may not touch backups.
    let manager = adopt(&venue.server, "linus").await;
    for (method, path) in [
        (reqwest::Method::POST, "/api/admin/backups".to_owned()),
        (reqwest::Method::GET, "/api/admin/backups".to_owned()),
        (reqwest::Method::GET, format!("/api/admin/backups/{name}")),
        (reqwest::Method::DELETE, format!("/api/admin/backups/{name}")),
    ] {
        let response = call(&venue.server, &manager, method.clone(), &path).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    let anonymous = reqwest::get(format!("{}/api/admin/backups", venue.server.base_url))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(files_in(venue.backups.path()), before);

    let deleted = call(
        &venue.server,
        &admin,
        reqwest::Method::DELETE,
        &format!("/api/admin/backups/{name}"),
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(files_in(venue.backups.path()).is_empty());
    let list: Value = call(&venue.server, &admin, reqwest::Method::GET, "/api/admin/backups")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
    std::fs::remove_file(outside).unwrap();
}

/// `pos backup` of `db` into `dir`; returns the backup file.
fn cli_backup(db: &TestDb, dir: &Path) -> std::path::PathBuf {
    let out = succeed(
        pos(&["backup"])
            .env("DATABASE_URL", db.url())
            .env("BACKUP_DIR", dir),
    );
    let path = out.split_whitespace().nth(3).unwrap();
    std::path::PathBuf::from(path)
}

#[tokio::test]
async fn restore_refuses_a_tampered_file_and_a_database_with_tables_unless_forced() {
    let db = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let dir = TempDir::new("backup-cli");
    // An old backup past retention (14 days by default) is removed by the next one.
    let old = "pos-20200101T000000Z-000001.dump";
    std::fs::write(dir.path().join(old), "old").unwrap();
    sql(
        &db,
        &format!(
            "INSERT INTO backups (name, size_bytes, sha256, created_at, status, trigger) \
             VALUES ('{old}', 3, '{}', now() - interval '30 days', 'ok', 'cli')",
            "0".repeat(64)
        ),
    );
    let source = snapshot(&db);
    let file = cli_backup(&db, dir.path());
    let name = file.file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(files_in(dir.path()), vec![name.clone(), format!("{name}.sha256")]);
    assert_eq!(
        texts(
            &db,
            "SELECT name || ' ' || status || ' ' || trigger AS t FROM backups"
        ),
        vec![format!("{name} ok cli")]
    );

    // One byte changed: refused before the database is touched.
    let tampered_dir = TempDir::new("backup-tampered");
    let tampered = tampered_dir.path().join(&name);
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&tampered, &bytes).unwrap();
    std::fs::copy(
        dir.path().join(format!("{name}.sha256")),
        tampered_dir.path().join(format!("{name}.sha256")),
    )
    .unwrap();
    let fresh = TestDb::empty();
    let refused = output(pos(&["restore", tampered.to_str().unwrap()]).env("DATABASE_URL", fresh.url()));
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("checksum mismatch"),
        "{}",
        stderr(&refused)
    );
    assert!(snapshot(&fresh).is_empty());

    // No checksum file and no --sha256: refused with a way out.
    std::fs::remove_file(tampered_dir.path().join(format!("{name}.sha256"))).unwrap();
    let unchecked = output(pos(&["restore", tampered.to_str().unwrap()]).env("DATABASE_URL", fresh.url()));
    assert_eq!(unchecked.status.code(), Some(2), "{}", stderr(&unchecked));
    assert!(stderr(&unchecked).contains("--sha256"), "{}", stderr(&unchecked));

    // A database with tables: refused without --force; --force without --yes off a terminal
    // is refused too; with both it is replaced.
    let busy = TestDb::new();
    let busy_before = snapshot(&busy);
    let refused = output(pos(&["restore", file.to_str().unwrap()]).env("DATABASE_URL", busy.url()));
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("not empty"), "{}", stderr(&refused));
    let unconfirmed = output(
        pos(&["restore", file.to_str().unwrap(), "--force"])
            .env("DATABASE_URL", busy.url())
            .stdin(std::process::Stdio::null()),
    );
    assert_eq!(unconfirmed.status.code(), Some(2), "{}", stderr(&unconfirmed));
    assert!(stderr(&unconfirmed).contains("--yes"), "{}", stderr(&unconfirmed));
    assert_eq!(snapshot(&busy), busy_before);
    let forced =
        output(pos(&["restore", file.to_str().unwrap(), "--force", "--yes"]).env("DATABASE_URL", busy.url()));
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(stdout(&forced).contains("restored"));
    // As the source was when dumped: the old record still there, the new one not yet.
    let expected = source;
    assert_eq!(snapshot(&busy), expected);

    // With --sha256 given instead of the checksum file.
    let again = TestDb::empty();
    let sha = sha256_hex(&std::fs::read(&file).unwrap());
    std::fs::copy(&file, &tampered).unwrap();
    succeed(pos(&["restore", tampered.to_str().unwrap(), "--sha256", &sha]).env("DATABASE_URL", again.url()));
    assert_eq!(snapshot(&again), expected);
}

fn script(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test]
async fn a_missing_old_or_failing_pg_dump_is_a_clear_error_and_a_failed_record() {
    let db = TestDb::new();
    let major = server_major(&db);
    let backups = TempDir::new("backup-tools");
    let bin = TempDir::new("backup-bin");
    let run = || {
        output(
            pos(&["backup"])
                .env("DATABASE_URL", db.url())
                .env("BACKUP_DIR", backups.path())
                .env("PG_BIN_DIR", bin.path()),
        )
    };

    let missing = run();
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("pg_dump not found"),
        "{}",
        stderr(&missing)
    );

    script(bin.path(), "pg_dump", "echo 'pg_dump (PostgreSQL) 11.22'");
    let old = run();
    assert!(!old.status.success());
    let message = stderr(&old);
    assert!(
        message.contains(&format!(
            "pg_dump is version 11 but the server is PostgreSQL {major}"
        )),
        "{message}"
    );

    // Of the right version, but it dies half-way: the partial output is not kept.
    script(
        bin.path(),
        "pg_dump",
        &format!(
            "if [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) {major}.3'; exit 0; fi\n\
             printf 'PGDMP half a dump'\necho 'pg_dump: error: connection to server lost' >&2\nexit 1"
        ),
    );
    let failing = run();
    assert!(!failing.status.success());
    assert!(
        stderr(&failing).contains("connection to server lost"),
        "{}",
        stderr(&failing)
    );

    assert!(
        files_in(backups.path()).is_empty(),
        "{:?}",
        files_in(backups.path())
    );
    let recorded = texts(
        &db,
        "SELECT status || ' ' || size_bytes || ' ' || coalesce(sha256, '-') || ' ' || error AS t FROM backups ORDER BY created_at",
    );
    assert_eq!(recorded.len(), 3, "{recorded:?}");
    assert!(
        recorded.iter().all(|r| r.starts_with("failed 0 - ")),
        "{recorded:?}"
    );
    assert!(
        recorded[0].contains("not found")
            && recorded[1].contains("version 11")
            && recorded[2].contains("connection to server lost")
    );
}

#[test]
fn a_schedule_that_is_not_a_cron_pattern_stops_start_up() {
    let db = TestDb::new();
    let refused = output(
        pos(&["backup"])
            .env("DATABASE_URL", db.url())
            .env("BACKUP_SCHEDULE", "every night"),
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("BACKUP_SCHEDULE is not a cron pattern"),
        "{}",
        stderr(&refused)
    );
}

/// A retried `POST /api/admin/backups` with the same `Idempotency-Key` runs `pg_dump` once:
/// a retry arriving mid-dump waits for the first (the claim's wait is 5 s, this dump takes
/// 2 s) and replays its answer, as does a later one; another key takes another backup, and
/// the key with another request is refused.
#[tokio::test]
async fn a_retried_backup_with_the_same_idempotency_key_dumps_once() {
    let probe = TestDb::new();
    let major = server_major(&probe);
    drop(probe);
    let bin = TempDir::new("backup-idem-bin");
    let calls = bin.path().join("calls");
    // The real pg_dump, slowed down and counted, so a retry can arrive mid-dump.
    script(
        bin.path(),
        "pg_dump",
        &format!(
            "if [ \"$1\" = --version ]; then exec /usr/lib/postgresql/{major}/bin/pg_dump --version; fi\n\
             echo run >> '{}'\nsleep 2\nexec /usr/lib/postgresql/{major}/bin/pg_dump \"$@\"",
            calls.display()
        ),
    );
    let venue = venue_with("backup-idem", &[("PG_BIN_DIR", bin.path())]).await;
    let admin = adopt(&venue.server, "able").await;
    let post = |key: &str| {
        reqwest::Client::new()
            .post(format!("{}/api/admin/backups", venue.server.base_url))
            .bearer_auth(&admin)
            .header("Idempotency-Key", key.to_owned())
            .send()
    };

    let first = post("backup-key-1");
    let retry = async {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        post("backup-key-1").await.unwrap()
    };
    let (first, during) = tokio::join!(first, retry);
    let first = first.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = first.text().await.unwrap();
    assert_eq!(during.status(), StatusCode::CREATED);
    assert_eq!(during.headers()["idempotent-replayed"], "true");
    assert_eq!(during.text().await.unwrap(), first_body);

    let replay = post("backup-key-1").await.unwrap();
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.text().await.unwrap(), first_body);
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 1);
    assert_eq!(texts(&venue.db, "SELECT name AS t FROM backups").len(), 1);

    // The same key on another request is refused, and runs nothing.
    let other = reqwest::Client::new()
        .post(format!("{}/api/admin/backups?x=1", venue.server.base_url))
        .bearer_auth(&admin)
        .header("Idempotency-Key", "backup-key-1")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        other.json::<Value>().await.unwrap()["code"],
        "idempotency_key_reused"
    );

    // A new key is a new backup.
    let second = post("backup-key-2").await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_ne!(second.text().await.unwrap(), first_body);
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 2);
    assert_eq!(texts(&venue.db, "SELECT name AS t FROM backups").len(), 2);
}

/// A failed backup is not remembered with its key: the retry runs again.
#[tokio::test]
async fn a_failed_backup_leaves_its_idempotency_key_free_for_a_retry() {
    let probe = TestDb::new();
    let major = server_major(&probe);
    drop(probe);
    let bin = TempDir::new("backup-idem-fail-bin");
    script(
        bin.path(),
        "pg_dump",
        &format!(
            "if [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) {major}.3'; exit 0; fi\n\
             echo 'pg_dump: error: disk on fire' >&2\nexit 1"
        ),
    );
    let venue = venue_with("backup-idem-fail", &[("PG_BIN_DIR", bin.path())]).await;
    let admin = adopt(&venue.server, "able").await;
    for _ in 0..2 {
        let failed = reqwest::Client::new()
            .post(format!("{}/api/admin/backups", venue.server.base_url))
            .bearer_auth(&admin)
            .header("Idempotency-Key", "failing-key")
            .send()
            .await
            .unwrap();
        assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(failed.headers().get("idempotent-replayed").is_none());
        let body: Value = failed.json().await.unwrap();
        assert_eq!(body["code"], "backup_failed");
        assert!(
            body["detail"].as_str().unwrap().contains("disk on fire"),
            "{body}"
        );
    }
    assert_eq!(
        texts(&venue.db, "SELECT status AS t FROM backups"),
        vec!["failed".to_owned(), "failed".to_owned()]
    );
}
