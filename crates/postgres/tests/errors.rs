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
