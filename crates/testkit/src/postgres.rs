//! A fresh PostgreSQL database per test.
//!
//! The server is found once per process: `TEST_DATABASE_URL` (an admin URL: its user may
//! create databases), else `postgres@127.0.0.1:5432` when it answers, else a private cluster
//! started for the run. A template database named after a hash of the migration set is
//! migrated once (under a process-wide mutex and a Postgres advisory lock, because test
//! binaries run as parallel processes), and each [`TestDb`] is `CREATE DATABASE test_<uuid>
//! TEMPLATE pos_tpl_<hash>`: a few milliseconds, and nothing shared between tests.

use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use uuid::Uuid;

use crate::cluster;
use crate::error::TestkitError;

/// The project's migrations, embedded by this crate itself so that it needs no adapter crate.
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Hash of every file under `migrations/` (see build.rs): a changed schema, a new template.
const MIGRATIONS_HASH: &str = env!("POS_TESTKIT_MIGRATIONS_HASH");

/// Advisory lock serialising template builds across the processes of a test run.
const TEMPLATE_LOCK_KEY: i64 = 0x706f_735f_7465_7374; // "pos_test"

/// Test databases older than this are leftovers of a crashed or killed run.
const LEFTOVER_AGE: Duration = Duration::from_secs(60 * 60);

/// Templates of another schema version older than this belong to no running test.
const STALE_TEMPLATE_AGE: Duration = Duration::from_secs(24 * 60 * 60);

const LOCAL_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

static SERVER: OnceLock<Result<String, TestkitError>> = OnceLock::new();
static TEMPLATE_READY: Mutex<bool> = Mutex::new(false);

/// A database of its own for one test, dropped (connections and all) when this is dropped.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDb {
    /// A fresh database with every migration applied. Panics with what is missing when no
    /// PostgreSQL can be found or started.
    #[expect(
        clippy::new_without_default,
        reason = "each call creates a database: not a default value"
    )]
    pub fn new() -> TestDb {
        Self::try_new().unwrap_or_else(|e| panic!("pos-testkit: {e}"))
    }

    pub fn try_new() -> Result<TestDb, TestkitError> {
        let admin_url = server_admin_url()?;
        let template = ensure_template(&admin_url)?;
        match create_database(&admin_url, Some(&template)) {
            Ok(db) => Ok(db),
            // A run of another schema version may have swept our template meanwhile.
            Err(e) if e.0.contains("does not exist") => {
                *TEMPLATE_READY.lock().unwrap_or_else(PoisonError::into_inner) = false;
                let template = ensure_template(&admin_url)?;
                create_database(&admin_url, Some(&template))
            }
            Err(e) => Err(e),
        }
    }

    /// A fresh database with NO migration applied: for tests of the migrations themselves.
    pub fn empty() -> TestDb {
        Self::try_empty().unwrap_or_else(|e| panic!("pos-testkit: {e}"))
    }

    pub fn try_empty() -> Result<TestDb, TestkitError> {
        let admin_url = server_admin_url()?;
        sweep_once(&admin_url);
        create_database(&admin_url, None)
    }

    /// A fresh, migrated database in a private cluster of this process whose server writes
    /// its messages in `locale` (e.g. `de_DE.UTF-8`): for tests that error handling never
    /// depends on the message language. Panics with what is missing.
    pub fn with_server_messages_in(locale: &str) -> TestDb {
        Self::try_with_server_messages_in(locale).unwrap_or_else(|e| panic!("pos-testkit: {e}"))
    }

    pub fn try_with_server_messages_in(locale: &str) -> Result<TestDb, TestkitError> {
        let admin_url = cluster::localized_cluster_url(locale)?;
        let db = create_database(&admin_url, None)?;
        db.connect()
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| TestkitError::new(format!("migrating {}: {e}", db.name)))?;
        Ok(db)
    }

    /// Connection URL of this test's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name (`test_<uuid>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A plain diesel connection to this database, for set-up and assertions.
    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url)
            .unwrap_or_else(|e| panic!("pos-testkit: connecting to {}: {e}", self.name))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let dropped = PgConnection::establish(&self.admin_url)
            .map_err(TestkitError::from)
            .and_then(|mut admin| drop_database(&mut admin, &self.name));
        if let Err(e) = dropped {
            // The sweep of a later run removes it; a failing drop must not fail the test.
            eprintln!("pos-testkit: could not drop {}: {e}", self.name);
        }
    }
}

/// The admin URL of the server tests use (found or started once per process).
pub fn server_admin_url() -> Result<String, TestkitError> {
    SERVER.get_or_init(discover_server).clone()
}

/// Name of the template database for the migrations compiled into this binary.
pub fn template_name() -> String {
    format!("pos_tpl_{MIGRATIONS_HASH}")
}

/// `admin_url` with its database replaced by `database`.
pub fn url_for_database(admin_url: &str, database: &str) -> Result<String, TestkitError> {
    let mut url = url::Url::parse(admin_url)
        .map_err(|e| TestkitError::new(format!("database URL {admin_url:?} is malformed: {e}")))?;
    url.set_path(&format!("/{database}"));
    Ok(url.to_string())
}

fn discover_server() -> Result<String, TestkitError> {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL")
        && !url.trim().is_empty()
    {
        PgConnection::establish(&url)
            .map_err(|e| TestkitError::new(format!("TEST_DATABASE_URL does not answer: {e}")))?;
        return Ok(url);
    }
    let local = SocketAddr::from(([127, 0, 0, 1], 5432));
    // The timeout guards the probe only: something else listening on 5432 must not hang us.
    if TcpStream::connect_timeout(&local, Duration::from_millis(300)).is_ok()
        && PgConnection::establish(&format!("{LOCAL_SERVER}?connect_timeout=5")).is_ok()
    {
        return Ok(LOCAL_SERVER.to_owned());
    }
    let url = cluster::private_cluster_url()?;
    PgConnection::establish(&url)
        .map_err(|e| TestkitError::new(format!("the private PostgreSQL cluster does not answer: {e}")))?;
    Ok(url)
}

fn ensure_template(admin_url: &str) -> Result<String, TestkitError> {
    let name = template_name();
    let mut ready = TEMPLATE_READY.lock().unwrap_or_else(PoisonError::into_inner);
    if *ready {
        return Ok(name);
    }
    with_template_lock(admin_url, |admin| {
        sweep_leftovers(admin)?;
        build_template(admin, admin_url, &name)
    })?;
    *ready = true;
    Ok(name)
}

/// Runs `f` on an admin connection holding the advisory lock every process of every test
/// run takes before touching templates.
fn with_template_lock<T>(
    admin_url: &str,
    f: impl FnOnce(&mut PgConnection) -> Result<T, TestkitError>,
) -> Result<T, TestkitError> {
    let mut admin = PgConnection::establish(admin_url)?;
    sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK_KEY)
        .execute(&mut admin)?;
    let result = f(&mut admin);
    // Closing the connection would release it too; unlocking lets siblings go on at once.
    let _ = sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK_KEY)
        .execute(&mut admin);
    result
}

/// Builds the template unless it exists. Runs under the advisory lock, so a `_building`
/// database found here is the leftover of a crashed build.
fn build_template(admin: &mut PgConnection, admin_url: &str, name: &str) -> Result<(), TestkitError> {
    if list_databases(admin)?.iter().any(|db| db.datname == name) {
        return Ok(());
    }
    let building = format!("{name}_building");
    drop_database(admin, &building)?;
    sql_query(format!(r#"CREATE DATABASE "{building}" TEMPLATE template0"#)).execute(admin)?;
    {
        let mut conn = PgConnection::establish(&url_for_database(admin_url, &building)?)?;
        conn.run_pending_migrations(MIGRATIONS)
            .map_err(|e| TestkitError::new(format!("migrating the template database: {e}")))?;
    }
    // Renamed only once complete: a template that exists is a migrated one.
    sql_query(format!(r#"ALTER DATABASE "{building}" RENAME TO "{name}""#)).execute(admin)?;
    // No connections allowed: a session on the template would make every clone fail.
    sql_query(format!(
        r#"ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"#
    ))
    .execute(admin)?;
    sql_query(format!(
        r#"COMMENT ON DATABASE "{name}" IS '{}'"#,
        unix_now().as_secs()
    ))
    .execute(admin)?;
    Ok(())
}

fn create_database(admin_url: &str, template: Option<&str>) -> Result<TestDb, TestkitError> {
    // v7: the name carries its creation time, which is what the leftover sweep reads.
    let name = format!("test_{}", Uuid::now_v7().simple());
    let mut admin = PgConnection::establish(admin_url)?;
    let template = template.unwrap_or("template0");
    sql_query(format!(r#"CREATE DATABASE "{name}" TEMPLATE "{template}""#))
        .execute(&mut admin)
        .map_err(|e| TestkitError::new(format!("CREATE DATABASE {name} TEMPLATE {template}: {e}")))?;
    Ok(TestDb {
        url: url_for_database(admin_url, &name)?,
        name,
        admin_url: admin_url.to_owned(),
    })
}

fn drop_database(admin: &mut PgConnection, name: &str) -> Result<(), TestkitError> {
    sql_query(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#)).execute(admin)?;
    Ok(())
}

#[derive(QueryableByName)]
struct DatabaseRow {
    #[diesel(sql_type = Text)]
    datname: String,
    #[diesel(sql_type = Text)]
    note: String,
}

fn list_databases(admin: &mut PgConnection) -> Result<Vec<DatabaseRow>, TestkitError> {
    Ok(sql_query(
        "SELECT datname::text AS datname, COALESCE(shobj_description(oid, 'pg_database'), '') AS note \
         FROM pg_database WHERE datname LIKE 'test\\_%' OR datname LIKE 'pos\\_tpl\\_%'",
    )
    .load(admin)?)
}

/// Sweeps once per process for `TestDb::empty` users that never build the template.
fn sweep_once(admin_url: &str) {
    static SWEPT: OnceLock<()> = OnceLock::new();
    SWEPT.get_or_init(|| {
        let swept = with_template_lock(admin_url, sweep_leftovers);
        if let Err(e) = swept {
            eprintln!("pos-testkit: sweeping leftover databases failed: {e}");
        }
    });
}

/// Drops test databases left by runs that died more than an hour ago, and templates of
/// other schema versions nobody has built for a day.
fn sweep_leftovers(admin: &mut PgConnection) -> Result<(), TestkitError> {
    let now = unix_now();
    let current = template_name();
    for db in list_databases(admin)? {
        if let Some(id) = db.datname.strip_prefix("test_") {
            let created = Uuid::try_parse(id)
                .ok()
                .and_then(|uuid| uuid.get_timestamp())
                .map(|ts| Duration::from_secs(ts.to_unix().0));
            if created.is_some_and(|created| now.saturating_sub(created) > LEFTOVER_AGE) {
                drop_database(admin, &db.datname)?;
            }
        } else if db.datname != current && db.datname.starts_with("pos_tpl_") {
            let built = db
                .note
                .parse::<u64>()
                .map(Duration::from_secs)
                .unwrap_or_default();
            let stale = db.datname.ends_with("_building") || now.saturating_sub(built) > STALE_TEMPLATE_AGE;
            if stale {
                sql_query(format!(
                    r#"ALTER DATABASE "{}" WITH IS_TEMPLATE false"#,
                    db.datname
                ))
                .execute(admin)?;
                drop_database(admin, &db.datname)?;
            }
        }
    }
    Ok(())
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_for_database_replaces_only_the_database() {
        assert_eq!(
            url_for_database(
                "postgres://postgres@127.0.0.1:5432/postgres?connect_timeout=5",
                "test_x"
            )
            .ok(),
            Some("postgres://postgres@127.0.0.1:5432/test_x?connect_timeout=5".to_owned())
        );
        assert_eq!(
            url_for_database("postgres:///postgres?host=/tmp/pg&user=postgres", "test_x").ok(),
            Some("postgres:///test_x?host=/tmp/pg&user=postgres".to_owned())
        );
        assert_eq!(
            url_for_database("postgres://u:p@db:5433", "test_x").ok(),
            Some("postgres://u:p@db:5433/test_x".to_owned())
        );
    }
}
