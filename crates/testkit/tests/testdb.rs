#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query};
use pos_testkit::TestDb;
use pos_testkit::postgres::server_admin_url;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    sql_query(sql).get_result::<Count>(conn).unwrap().n
}

fn database_exists(name: &str) -> bool {
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = Text)]
        datname: String,
    }
    let mut admin = PgConnection::establish(&server_admin_url().unwrap()).unwrap();
    let rows: Vec<Exists> = sql_query("SELECT datname::text AS datname FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .load(&mut admin)
        .unwrap();
    rows.iter().any(|r| r.datname == name)
}

#[test]
fn a_test_database_is_migrated_and_dropped_afterwards() {
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("up.sql").exists())
        .count() as i64;
    let db = TestDb::new();
    let name = db.name().to_owned();
    assert!(name.starts_with("test_"));
    let mut conn = db.connect();
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM __diesel_schema_migrations"),
        migrations
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM staff"), 0);
    drop(conn);
    assert!(database_exists(&name));
    drop(db);
    assert!(!database_exists(&name), "dropping the TestDb drops its database");
}

#[test]
fn test_databases_share_nothing() {
    let a = TestDb::new();
    let b = TestDb::new();
    assert_ne!(a.url(), b.url());
    let mut conn_a = a.connect();
    sql_query("CREATE TABLE only_in_a (x int)")
        .execute(&mut conn_a)
        .unwrap();
    let mut conn_b = b.connect();
    assert_eq!(
        count(
            &mut conn_b,
            "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'only_in_a'"
        ),
        0
    );
}

#[test]
fn an_empty_database_has_no_schema() {
    let db = TestDb::empty();
    let mut conn = db.connect();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'"
        ),
        0
    );
}

#[test]
fn many_tests_can_create_databases_at_once() {
    let handles: Vec<_> = (0..8).map(|_| std::thread::spawn(TestDb::new)).collect();
    let dbs: Vec<TestDb> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut names: Vec<&str> = dbs.iter().map(TestDb::name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 8);
}
