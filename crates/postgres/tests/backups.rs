//! Scheduled backups against a real database and the real `pg_dump`: every replica wakes for
//! a slot, one takes it (advisory lock), the others see it taken.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use diesel::prelude::*;
use pos_domain::backup::{BackupService, BackupStatus, BackupTrigger};
use pos_postgres::PgStore;
use pos_postgres::backup::{BACKUP_LOCK_KEY, PgBackups, ToolSearch};
use pos_testkit::TestDb;

fn replica(db: &TestDb, dir: &std::path::Path) -> PgBackups {
    let store = PgStore::with_config(db.url(), pos_postgres::PoolConfig::new(2)).unwrap();
    PgBackups::new(store, db.url(), dir, ToolSearch::default())
}

#[tokio::test]
async fn a_scheduled_slot_is_taken_by_one_replica_only() {
    let db = TestDb::new();
    let dir = std::env::temp_dir().join(format!("pos-sched-{}", uuid::Uuid::new_v4().simple()));
    let (a, b) = (replica(&db, &dir), replica(&db, &dir));
    let slot = Utc::now();

    let (first, second) = tokio::join!(a.run_scheduled(slot), b.run_scheduled(slot));
    let taken: Vec<_> = [first.unwrap(), second.unwrap()].into_iter().flatten().collect();
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert_eq!(taken[0].trigger, BackupTrigger::Schedule);
    assert_eq!(taken[0].status, BackupStatus::Ok);
    // A replica waking late for the same slot finds it taken.
    assert!(a.run_scheduled(slot).await.unwrap().is_none());

    // While another session holds the lock, nobody takes the next slot.
    let mut holder = db.connect();
    diesel::sql_query(format!("SELECT pg_advisory_lock({BACKUP_LOCK_KEY})"))
        .execute(&mut holder)
        .unwrap();
    assert!(b.run_scheduled(Utc::now()).await.unwrap().is_none());
    diesel::sql_query(format!("SELECT pg_advisory_unlock({BACKUP_LOCK_KEY})"))
        .execute(&mut holder)
        .unwrap();
    assert!(b.run_scheduled(Utc::now()).await.unwrap().is_some());

    assert_eq!(a.list().await.unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}
