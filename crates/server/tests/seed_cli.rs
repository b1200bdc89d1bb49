//! `pos migrate` and `pos seed` against a real database, end to end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TempDir, assert_seeded, output, pos, stderr, succeed};
use diesel::RunQueryDsl;
use pos_domain::ports::PasswordHasher;
use pos_testkit::TestDb;

#[derive(diesel::QueryableByName)]
struct StaffRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    username: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    role: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    password_hash: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    must_change_password: bool,
}

#[test]
fn migrate_then_seed_twice_adds_the_venue_once() {
    let db = TestDb::empty();
    let migrated = succeed(pos(&["migrate"]).env("DATABASE_URL", db.url()));
    assert!(migrated.starts_with("migrate: applied "), "{migrated}");
    assert!(!migrated.starts_with("migrate: applied 0 "), "{migrated}");
    let again = succeed(pos(&["migrate"]).env("DATABASE_URL", db.url()));
    assert_eq!(again.trim(), "migrate: applied 0 migration(s)");

    let first = succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    assert_eq!(
        first.trim(),
        "seed: added 15 staff, 3 terminals, 15 tables, 2 categories, 96 products, settings: added"
    );
    let second = succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    assert_eq!(
        second.trim(),
        "seed: added 0 staff, 0 terminals, 0 tables, 0 categories, 0 products, settings: unchanged"
    );

    let mut conn = db.connect();
    assert_seeded(&mut conn);

    let staff: Vec<StaffRow> = diesel::sql_query(
        "SELECT username, role::text AS role, password_hash, must_change_password FROM staff ORDER BY username",
    )
    .load(&mut conn)
    .unwrap();
    let hasher = pos_api::Argon2Hasher::new();
    let mut hashes: Vec<&str> = staff.iter().map(|s| s.password_hash.as_str()).collect();
    hashes.sort_unstable();
    hashes.dedup();
    assert_eq!(hashes.len(), 15, "every staff member has their own salt");
    for member in &staff {
        assert!(member.must_change_password, "{}", member.username);
        assert!(
            hasher.verify("password123", &member.password_hash).unwrap(),
            "{}",
            member.username
        );
    }
    let able = staff.iter().find(|s| s.username == "able").unwrap();
    assert_eq!(able.role, "admin");
}

#[test]
fn seed_uses_the_given_file_and_cafe_name() {
    let db = TestDb::new();
    let dir = TempDir::new("seed-file");
    let mut venue: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../seed/havilah.json")).unwrap(),
    )
    .unwrap();
    venue["staff"] = serde_json::json!([{"username": "solo", "full_name": "Solo", "role": "manager"}]);
    let file = dir.path().join("venue.json");
    std::fs::write(&file, venue.to_string()).unwrap();

    let out = succeed(
        pos(&["seed", "--file", file.to_str().unwrap()])
            .env("DATABASE_URL", db.url())
            .env("CAFE_NAME", "Kampala Corner"),
    );
    assert!(out.starts_with("seed: added 1 staff, 3 terminals"), "{out}");

    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        cafe_name: String,
    }
    let name: Name = diesel::sql_query("SELECT cafe_name FROM settings")
        .get_result(&mut db.connect())
        .unwrap();
    assert_eq!(name.cafe_name, "Kampala Corner");
}

#[test]
fn a_bad_seed_file_names_the_entry_and_writes_nothing() {
    let db = TestDb::new();
    let dir = TempDir::new("bad-seed");
    let mut venue: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../seed/havilah.json")).unwrap(),
    )
    .unwrap();
    venue["products"][12]["sku"] = serde_json::json!("");
    let file = dir.path().join("venue.json");
    std::fs::write(&file, venue.to_string()).unwrap();

    let out = output(pos(&["seed", "--file", file.to_str().unwrap()]).env("DATABASE_URL", db.url()));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("products[12].sku: must be 1 to 40 characters"),
        "{err}"
    );
    assert_eq!(common::count(&mut db.connect(), "staff"), 0);

    let missing = output(pos(&["seed", "--file", "/nonexistent/venue.json"]).env("DATABASE_URL", db.url()));
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).starts_with("error: cannot read seed file /nonexistent/venue.json"));
}

#[test]
fn an_unreachable_database_fails_with_one_line() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let out = output(pos(&["seed"]).env("DATABASE_URL", "postgres://postgres:pw@127.0.0.1:1/pos"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: cannot connect to the database at postgres://postgres:***@127.0.0.1:1/pos"),
        "{err}"
    );
    assert!(!err.contains(":pw@"), "the password must not be printed: {err}");
}
