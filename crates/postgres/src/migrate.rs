//! Embedded migrations, applied under a Postgres advisory lock so that several replicas
//! starting at once never race: one migrates, the others wait and then find nothing to do.

use diesel::dsl::sql;
use diesel::sql_types::{BigInt, Bool};
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use pos_domain::StoreError;

use crate::error::{classify, classify_connection};

/// Every migration under the workspace's `migrations/` directory.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// The advisory lock key held while migrating ("pos_migr" in ASCII).
pub const MIGRATION_LOCK_KEY: i64 = 0x706f_735f_6d69_6772;

/// Applies every pending migration and returns the versions it applied (empty when the
/// schema was up to date). Blocking: call it from `spawn_blocking` or use [`migrate`].
///
/// Runs on a dedicated connection. When diesel's bookkeeping table exists and nothing is
/// pending, it returns without taking the lock (the common start-up of an up-to-date
/// replica); otherwise it takes `pg_advisory_lock(MIGRATION_LOCK_KEY)`, applies what is
/// still pending (each migration in its own transaction) and unlocks.
pub fn run_migrations(database_url: &str) -> Result<Vec<String>, StoreError> {
    let mut conn = PgConnection::establish(database_url).map_err(classify_connection)?;
    if !has_pending(&mut conn)? {
        return Ok(Vec::new());
    }
    sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
        .execute(&mut conn)
        .map_err(classify)?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| StoreError::Internal(format!("migration failed: {e}")));
    // The session ending would release the lock too; unlocking lets waiting replicas go now.
    let unlocked = sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
        .execute(&mut conn);
    let applied: Vec<String> = applied?;
    unlocked.map_err(classify)?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied database migrations");
    }
    Ok(applied)
}

/// [`run_migrations`] off the async executor.
pub async fn migrate(database_url: &str) -> Result<Vec<String>, StoreError> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || run_migrations(&url))
        .await
        .map_err(|e| StoreError::Internal(format!("migration task failed: {e}")))?
}

/// Whether anything is pending, without writing: diesel's own check creates its
/// bookkeeping table, and two replicas doing that at once outside the lock collide.
fn has_pending(conn: &mut PgConnection) -> Result<bool, StoreError> {
    let bookkeeping_exists: bool = diesel::select(sql::<Bool>(
        "to_regclass('__diesel_schema_migrations') IS NOT NULL",
    ))
    .get_result(conn)
    .map_err(classify)?;
    if !bookkeeping_exists {
        return Ok(true);
    }
    conn.has_pending_migration(MIGRATIONS)
        .map_err(|e| StoreError::Internal(format!("reading applied migrations: {e}")))
}
