//! Idempotency records are kept 24 hours (spec §4) and then purged: a background task of
//! `pos serve` deletes the expired ones at start-up and every quarter of an hour. Several
//! replicas purging at once is harmless (each DELETE takes what is left).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pos_domain::StoreError;
use pos_domain::idempotency::purge_cutoff;
use pos_domain::order::ports::IdempotencyPurge;
use pos_domain::ports::Clock;

/// How often expired records are deleted.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// Deletes the records that outlived their retention at `now`; returns how many went.
pub async fn purge_expired_keys(store: &dyn IdempotencyPurge, now: DateTime<Utc>) -> Result<u64, StoreError> {
    store.purge_idempotency_records(purge_cutoff(now)).await
}

/// Runs [`purge_expired_keys`] now and then every [`PURGE_INTERVAL`] until the runtime stops.
/// A failure is logged and retried at the next tick: replays only read live records, so a
/// late purge costs space, never correctness.
pub fn spawn_key_purge(
    store: Arc<dyn IdempotencyPurge>,
    clock: Arc<dyn Clock>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PURGE_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match purge_expired_keys(store.as_ref(), clock.now()).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired idempotency records purged"),
                Err(error) => tracing::warn!(%error, "could not purge expired idempotency records"),
            }
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::TimeDelta;
    use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
    use diesel::{RunQueryDsl, sql_query};
    use pos_domain::Role;
    use pos_domain::ports::{StaffStore, SystemClock};
    use pos_domain::staff::NewStaff;
    use pos_domain::validate::{PersonName, Username};
    use pos_postgres::PgStore;
    use pos_testkit::TestDb;

    use super::*;

    fn record(db: &TestDb, staff: uuid::Uuid, key: &str, created_at: DateTime<Utc>) {
        sql_query(
            "INSERT INTO idempotency_records (staff_id, key, fingerprint, status_code, response_body, \
             content_type, created_at, completed_at) VALUES ($1, $2, 'f', 201, '\\x7b7d', 'application/json', $3, $3)",
        )
        .bind::<SqlUuid, _>(staff)
        .bind::<Text, _>(key)
        .bind::<Timestamptz, _>(created_at)
        .execute(&mut db.connect())
        .unwrap();
    }

    fn keys(db: &TestDb) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Key {
            #[diesel(sql_type = Text)]
            key: String,
        }
        sql_query("SELECT key FROM idempotency_records ORDER BY key")
            .load::<Key>(&mut db.connect())
            .unwrap()
            .into_iter()
            .map(|k| k.key)
            .collect()
    }

    #[tokio::test]
    async fn records_older_than_a_day_are_purged_and_younger_ones_kept() {
        let db = TestDb::new();
        let store = PgStore::connect(db.url(), 2).await.unwrap();
        let staff = store
            .create_staff(NewStaff {
                username: Username::parse("keeper").unwrap(),
                full_name: PersonName::parse("Key Keeper").unwrap(),
                role: Role::Cashier,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
                pin_hash: None,
                must_change_password: false,
            })
            .await
            .unwrap();
        let now = Utc::now();
        record(
            &db,
            staff.id.as_uuid(),
            "a-day-and-a-minute",
            now - TimeDelta::minutes(24 * 60 + 1),
        );
        record(&db, staff.id.as_uuid(), "a-week", now - TimeDelta::days(7));
        record(&db, staff.id.as_uuid(), "an-hour", now - TimeDelta::hours(1));
        record(
            &db,
            staff.id.as_uuid(),
            "almost-a-day",
            now - TimeDelta::minutes(24 * 60 - 1),
        );

        assert_eq!(purge_expired_keys(&store, now).await.unwrap(), 2);
        assert_eq!(keys(&db), ["almost-a-day", "an-hour"]);
        assert_eq!(purge_expired_keys(&store, now).await.unwrap(), 0);

        // The task purges at once when started.
        record(&db, staff.id.as_uuid(), "old-again", now - TimeDelta::days(2));
        let task = spawn_key_purge(Arc::new(store), Arc::new(SystemClock));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while keys(&db).len() != 2 {
            assert!(std::time::Instant::now() < deadline, "{:?}", keys(&db));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        task.abort();
    }
}
