use async_trait::async_trait;
use diesel::prelude::*;
use pos_domain::StoreError;
use pos_domain::ports::SettingsStore;
use pos_domain::settings::Settings;

use super::PgStore;
use crate::rows::SettingsRow;
use crate::schema::settings;

#[async_trait]
impl SettingsStore for PgStore {
    async fn get_settings(&self) -> Result<Settings, StoreError> {
        let row = self
            .interact(|conn| {
                Ok(settings::table
                    .select(SettingsRow::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?;
        row.ok_or_else(|| StoreError::not_found("settings"))?
            .into_settings()
    }

    async fn put_settings(&self, new: &Settings) -> Result<Settings, StoreError> {
        let row = SettingsRow::from_domain(new);
        let stored = self
            .interact(move |conn| {
                Ok(diesel::insert_into(settings::table)
                    .values(&row)
                    .on_conflict(settings::id)
                    .do_update()
                    .set(&row)
                    .returning(SettingsRow::as_returning())
                    .get_result(conn)?)
            })
            .await?;
        stored.into_settings()
    }
}
