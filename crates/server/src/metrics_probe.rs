//! The database side of `GET /metrics`: today's orders and payments (the venue's business
//! day, by its cut-off hour and UTC offset), the last good backup, the pool's occupancy.

use async_trait::async_trait;
use chrono::Utc;
use pos_api::metrics::{MetricsProbe, OpsFigures, PoolFigures};
use pos_domain::StoreError;
use pos_domain::business_day::{business_date, business_day_bounds};
use pos_domain::ports::SettingsStore;
use pos_postgres::PgStore;

pub struct PgMetricsProbe {
    store: PgStore,
}

impl PgMetricsProbe {
    pub fn new(store: PgStore) -> PgMetricsProbe {
        PgMetricsProbe { store }
    }
}

#[async_trait]
impl MetricsProbe for PgMetricsProbe {
    async fn figures(&self) -> Result<OpsFigures, StoreError> {
        let settings = self.store.get_settings().await?;
        let (day_start, _) = business_day_bounds(business_date(Utc::now(), &settings), &settings);
        let counts = self.store.ops_counts(day_start).await?;
        Ok(OpsFigures {
            orders_today: counts.orders,
            payments_today: counts.payments,
            payments_today_minor: counts.payments_minor,
            last_good_backup_age_seconds: counts
                .last_good_backup
                .map(|at| (counts.now - at).num_milliseconds().max(0) as f64 / 1000.0),
        })
    }

    fn pool(&self) -> PoolFigures {
        let status = self.store.pool().status();
        PoolFigures {
            max_size: status.max_size,
            in_use: status.size.saturating_sub(status.available),
            idle: status.available,
            waiting: status.waiting,
        }
    }
}
