//! Figures for the operator's metrics (`GET /metrics` on the metrics listener): one round
//! trip per scrape, on indexed columns.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Timestamptz};
use pos_domain::StoreError;

use super::PgStore;

/// What the database holds right now, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct OpsCounts {
    /// Orders created since the business day's start (any status).
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    /// Payments taken since then that completed (refunded later or not).
    #[diesel(sql_type = BigInt)]
    pub payments: i64,
    /// Their amounts in minor units.
    #[diesel(sql_type = BigInt)]
    pub payments_minor: i64,
    /// When the newest backup with status `ok` was taken.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_good_backup: Option<DateTime<Utc>>,
    /// The database's clock, to age the backup with.
    #[diesel(sql_type = Timestamptz)]
    pub now: DateTime<Utc>,
}

impl PgStore {
    /// Orders and completed payments since `day_start`, and the last good backup.
    pub async fn ops_counts(&self, day_start: DateTime<Utc>) -> Result<OpsCounts, StoreError> {
        self.interact(move |conn| {
            Ok(diesel::sql_query(
                "SELECT \
                   (SELECT count(*) FROM orders WHERE created_at >= $1) AS orders, \
                   p.payments, p.payments_minor, \
                   (SELECT max(created_at) FROM backups WHERE status = 'ok') AS last_good_backup, \
                   now() AS now \
                 FROM (SELECT count(*) AS payments, coalesce(sum(amount), 0)::bigint AS payments_minor \
                       FROM payments WHERE created_at >= $1 \
                       AND status IN ('completed', 'partially_refunded', 'refunded')) p",
            )
            .bind::<Timestamptz, _>(day_start)
            .get_result::<OpsCounts>(conn)?)
        })
        .await
    }
}
