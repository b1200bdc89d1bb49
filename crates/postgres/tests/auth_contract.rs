#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The domain's contract for the staff, auth and audit ports
//! (`pos_domain::testing::contract_auth`), run against PostgreSQL: the same checks the
//! in-memory fake passes, so the two cannot drift apart on the last active admin, lockout
//! counting and windows, token-version bumps, uniqueness or the audit chain.

use pos_domain::testing::contract_auth;
use pos_postgres::PgStore;
use pos_testkit::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_keeps_the_auth_contract() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), 4).await.unwrap();
    contract_auth::run_all(&store).await;
}
