use async_trait::async_trait;
use diesel::{RunQueryDsl, sql_query};
use pos_domain::StoreError;
use pos_domain::ports::HealthProbe;

use super::PgStore;

#[async_trait]
impl HealthProbe for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.interact(|conn| Ok(sql_query("SELECT 1").execute(conn)?))
            .await
            .map(drop)
            // Whatever went wrong, for /api/health the database does not answer.
            .map_err(|e| match e {
                StoreError::Unavailable(_) => e,
                other => StoreError::Unavailable(other.to_string()),
            })
    }
}
