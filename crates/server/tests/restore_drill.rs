//! docs/operations.md's restore drill, run as written against the test PostgreSQL: a seeded
//! database with an order dumped with `pg_dump --format=custom`, restored with
//! `pg_restore --no-owner --exit-on-error` into an empty database, and every table compared.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{TempDir, count, pos, succeed};
use diesel::RunQueryDsl;
use pos_testkit::TestDb;

fn tables(db: &TestDb) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        tablename: String,
    }
    diesel::sql_query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        .load::<Name>(&mut db.connect())
        .unwrap()
        .into_iter()
        .map(|n| n.tablename)
        .collect()
}

fn run(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_dump_restores_into_an_empty_database_with_every_row() {
    let source = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", source.url()));
    let dir = TempDir::new("restore-drill");
    let dump = dir.path().join("pos.dump");

    // docs/operations.md, "Restore drill".
    run(Command::new("pg_dump")
        .arg("--format=custom")
        .arg(format!("--file={}", dump.display()))
        .arg(source.url()));
    let target = TestDb::empty();
    run(Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error"])
        .arg(format!("--dbname={}", target.url()))
        .arg(&dump));

    let names = tables(&source);
    assert!(names.len() > 10, "{names:?}");
    assert_eq!(tables(&target), names);
    for table in &names {
        assert_eq!(
            count(&mut target.connect(), table),
            count(&mut source.connect(), table),
            "rows in {table}"
        );
    }
    // The restored database is one pos can use: migrations see nothing left to do.
    succeed(pos(&["migrate"]).env("DATABASE_URL", target.url()));
    assert_eq!(count(&mut target.connect(), "staff"), 15);
}
