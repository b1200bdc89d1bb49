#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The migrations: every one goes up, down and up again leaving exactly the schema it found,
//! the schema diesel is compiled against matches the database, and several replicas
//! migrating at once is safe.

use std::collections::BTreeMap;

use diesel::sql_types::{BigInt, Text};
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query};
use diesel_migrations::MigrationHarness;
use pos_postgres::{MIGRATIONS, run_migrations, schema};
use pos_testkit::TestDb;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Everything the migrations can create in `public`, one line per object (storage options
/// included), diesel's own bookkeeping table left out.
fn snapshot(conn: &mut PgConnection) -> Vec<String> {
    sql_query(
        r#"
        SELECT line FROM (
            SELECT format('relation %s %s %s', relname, relkind, coalesce(array_to_string(reloptions, ','), ''))
                     AS line
              FROM pg_class WHERE relnamespace = 'public'::regnamespace
            UNION ALL
            SELECT format('column %s.%s %s nullable=%s default=%s', table_name, column_name, data_type,
                          is_nullable, coalesce(column_default, ''))
              FROM information_schema.columns WHERE table_schema = 'public'
            UNION ALL
            SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
              FROM pg_constraint WHERE connamespace = 'public'::regnamespace
            UNION ALL
            SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL
            SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal
            UNION ALL
            SELECT format('function %s(%s)', proname, pg_get_function_identity_arguments(oid))
              FROM pg_proc WHERE pronamespace = 'public'::regnamespace
            UNION ALL
            SELECT format('type %s', typname) FROM pg_type
              WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd', 'r', 'm')
        ) objects
        WHERE line NOT LIKE '%\_\_diesel\_schema\_migrations%'
        ORDER BY line
        "#,
    )
    .load::<Line>(conn)
    .unwrap()
    .into_iter()
    .map(|l| l.line)
    .collect()
}

fn diff(expected: &[String], actual: &[String]) -> String {
    let missing: Vec<_> = expected.iter().filter(|l| !actual.contains(l)).collect();
    let extra: Vec<_> = actual.iter().filter(|l| !expected.contains(l)).collect();
    format!("missing: {missing:#?}\nextra: {extra:#?}")
}

#[test]
fn every_migration_goes_up_down_and_up_again_leaving_exactly_what_it_found() {
    let db = TestDb::empty();
    let mut conn = db.connect();
    let total = conn.pending_migrations(MIGRATIONS).unwrap().len();
    assert!(total >= 7, "the schema is split into several migrations");

    let empty = snapshot(&mut conn);
    assert!(empty.is_empty(), "a fresh database has no schema: {empty:?}");
    let mut before = empty;
    for step in 0..total {
        let version = conn.run_next_migration(MIGRATIONS).unwrap().to_string();
        let after_up = snapshot(&mut conn);
        assert_ne!(after_up, before, "migration {version} changed nothing");

        conn.revert_last_migration(MIGRATIONS).unwrap();
        let after_down = snapshot(&mut conn);
        assert!(
            after_down == before,
            "down.sql of {version} (step {step}) does not drop exactly what up.sql made:\n{}",
            diff(&before, &after_down)
        );

        conn.run_next_migration(MIGRATIONS).unwrap();
        let again = snapshot(&mut conn);
        assert!(
            again == after_up,
            "{version} up again differs:\n{}",
            diff(&after_up, &again)
        );
        before = again;
    }
    assert!(conn.pending_migrations(MIGRATIONS).unwrap().is_empty());

    let full = before;
    conn.revert_all_migrations(MIGRATIONS).unwrap();
    assert!(
        snapshot(&mut conn).is_empty(),
        "reverting everything leaves nothing behind"
    );
    conn.run_pending_migrations(MIGRATIONS).unwrap();
    let rebuilt = snapshot(&mut conn);
    assert!(rebuilt == full, "{}", diff(&full, &rebuilt));
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// The columns diesel selects for a table, in order, read off the SQL it generates.
fn diesel_columns<T>(table: T) -> Vec<String>
where
    T: diesel::Table + diesel::query_dsl::methods::SelectDsl<<T as diesel::Table>::AllColumns>,
    T::AllColumns: Clone,
    <T as diesel::query_dsl::methods::SelectDsl<T::AllColumns>>::Output:
        diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    let all = T::all_columns();
    let query = diesel::query_dsl::methods::SelectDsl::select(table, all);
    let sql = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
    let list = sql.split(" FROM ").next().unwrap().trim_start_matches("SELECT ");
    list.split(", ")
        .map(|qualified| qualified.rsplit('.').next().unwrap().trim_matches('"').to_owned())
        .collect()
}

#[test]
fn the_diesel_schema_matches_the_migrated_database() {
    let db = TestDb::new();
    let mut conn = db.connect();
    let rows: Vec<ColumnRow> = sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' \
         ORDER BY table_name, ordinal_position",
    )
    .load(&mut conn)
    .unwrap();
    let mut database: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        database.entry(row.table_name).or_default().push(row.column_name);
    }

    let mut compiled: BTreeMap<String, Vec<String>> = BTreeMap::new();
    macro_rules! compiled {
        ($($table:ident),* $(,)?) => {$(
            compiled.insert(stringify!($table).to_owned(), diesel_columns(schema::$table::table));
        )*};
    }
    compiled!(
        staff,
        terminals,
        login_attempts,
        account_locks,
        audit_log,
        settings,
        dining_tables,
        categories,
        products,
        modifiers,
        menu_version,
        shifts,
        cash_movements,
        z_reports,
        order_number_counters,
        orders,
        order_items,
        payments,
        refunds,
        receipt_counter,
        receipts,
        idempotency_records,
        events,
        print_jobs,
        backups,
        app_secrets,
        stock_movements,
        item_sales_hourly,
    );
    assert_eq!(compiled, database);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_replicas_migrating_at_once_apply_each_migration_exactly_once() {
    let db = TestDb::empty();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url().to_owned();
            tokio::spawn(async move { pos_postgres::migrate(&url).await })
        })
        .collect();
    let mut applied = Vec::new();
    for task in tasks {
        applied.extend(task.await.unwrap().unwrap());
    }
    let total = MIGRATIONS_COUNT.with(|n| *n);
    assert_eq!(
        applied.len(),
        total,
        "each migration applied by exactly one replica: {applied:?}"
    );

    let mut conn = db.connect();
    let recorded = sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n;
    assert_eq!(recorded, total as i64);

    // Up to date: the fast path applies nothing.
    assert_eq!(run_migrations(db.url()).unwrap(), Vec::<String>::new());
}

thread_local! {
    static MIGRATIONS_COUNT: usize = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("up.sql").exists())
        .count();
}

#[test]
fn migrating_an_unreachable_database_is_unavailable() {
    let err = run_migrations("postgres://postgres@127.0.0.1:1/nothing?connect_timeout=2").unwrap_err();
    assert!(matches!(err, pos_domain::StoreError::Unavailable(_)), "{err:?}");
}
