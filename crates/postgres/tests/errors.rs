#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Concurrency failures are classified as retryable, whichever way PostgreSQL reports them.

use std::sync::{Arc, Barrier};
use std::thread;

use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use pos_domain::StoreError;
use pos_postgres::error::classify;
use pos_testkit::TestDb;

/// Runs `a` and `b` on two connections at once, each in a transaction of its own, with a
/// barrier in the middle; returns their outcomes classified.
fn race(
    db: &TestDb,
    serializable: bool,
    a: [&'static str; 2],
    b: [&'static str; 2],
) -> Vec<Result<(), StoreError>> {
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = [a, b]
        .into_iter()
        .map(|[first, second]| {
            let url = db.url().to_owned();
            let barrier = barrier.clone();
            thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                let body = |c: &mut PgConnection| {
                    sql_query(first).execute(c)?;
                    barrier.wait();
                    sql_query(second).execute(c)?;
                    Ok::<_, diesel::result::Error>(())
                };
                let result = if serializable {
                    conn.build_transaction().serializable().run(body)
                } else {
                    conn.transaction(body)
                };
                result.map_err(classify)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn setup(db: &TestDb) {
    let mut conn = db.connect();
    sql_query("INSERT INTO dining_tables (code, seats) VALUES ('A', 2), ('B', 2)")
        .execute(&mut conn)
        .unwrap();
}

#[test]
fn a_deadlock_is_a_retryable_serialization_failure() {
    let db = TestDb::new();
    setup(&db);
    let outcomes = race(
        &db,
        false,
        [
            "UPDATE dining_tables SET seats = 3 WHERE code = 'A'",
            "UPDATE dining_tables SET seats = 3 WHERE code = 'B'",
        ],
        [
            "UPDATE dining_tables SET seats = 4 WHERE code = 'B'",
            "UPDATE dining_tables SET seats = 4 WHERE code = 'A'",
        ],
    );
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(
        outcomes.contains(&Err(StoreError::SerializationFailure)),
        "{outcomes:?}"
    );
}

#[test]
fn a_serializable_conflict_is_a_retryable_serialization_failure() {
    let db = TestDb::new();
    setup(&db);
    let outcomes = race(
        &db,
        true,
        [
            "SELECT sum(seats) FROM dining_tables",
            "INSERT INTO dining_tables (code, seats) VALUES ('C', 1)",
        ],
        [
            "SELECT sum(seats) FROM dining_tables",
            "INSERT INTO dining_tables (code, seats) VALUES ('D', 1)",
        ],
    );
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(
        outcomes.contains(&Err(StoreError::SerializationFailure)),
        "{outcomes:?}"
    );
}

/// A server whose messages are German: what decides is the SQLSTATE, never the text.
const GERMAN: &str = "de_DE.UTF-8";

#[test]
fn in_a_german_server_a_deadlock_is_still_a_retryable_serialization_failure() {
    let db = TestDb::with_server_messages_in(GERMAN);
    setup(&db);
    let outcomes = race(
        &db,
        false,
        [
            "UPDATE dining_tables SET seats = 3 WHERE code = 'A'",
            "UPDATE dining_tables SET seats = 3 WHERE code = 'B'",
        ],
        [
            "UPDATE dining_tables SET seats = 4 WHERE code = 'B'",
            "UPDATE dining_tables SET seats = 4 WHERE code = 'A'",
        ],
    );
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(
        outcomes.contains(&Err(StoreError::SerializationFailure)),
        "{outcomes:?}"
    );
}

#[test]
fn in_a_german_server_a_lock_timeout_is_unavailable_and_a_duplicate_a_conflict() {
    let db = TestDb::with_server_messages_in(GERMAN);
    setup(&db);
    let mut holder = db.connect();
    let mut waiter = db.connect();
    let (raw, classified) = holder
        .transaction(|h| {
            sql_query("SELECT 1 FROM dining_tables WHERE code = 'A' FOR UPDATE").execute(h)?;
            let failed = waiter
                .transaction(|w| {
                    sql_query("SET LOCAL lock_timeout = '50ms'").execute(w)?;
                    sql_query("UPDATE dining_tables SET seats = 9 WHERE code = 'A'").execute(w)
                })
                .unwrap_err();
            assert!(pos_postgres::error::is_lock_timeout(&failed), "{failed:?}");
            let raw = match &failed {
                diesel::result::Error::DatabaseError(_, info) => info.message().to_owned(),
                other => panic!("not a database error: {other:?}"),
            };
            Ok::<_, diesel::result::Error>((raw, classify(failed)))
        })
        .unwrap();
    assert!(!raw.contains("lock timeout"), "the message is not English: {raw}");
    assert!(matches!(classified, StoreError::Unavailable(_)), "{classified:?}");
    let duplicate = sql_query("INSERT INTO dining_tables (code, seats) VALUES ('A', 2)")
        .execute(&mut waiter)
        .unwrap_err();
    assert!(
        matches!(classify(duplicate), StoreError::Conflict { .. }),
        "a unique violation is a conflict"
    );
}
