//! [`ImageStore`]: a product's or table's `image_url`, with its audit row and its
//! `menu.updated` / `table.updated` event, in one transaction.

use async_trait::async_trait;
use chrono::Utc;
use diesel::prelude::*;
use pos_domain::StoreError;
use pos_domain::images::{ImageActor, ImageOwner, ImageStore, ImageSwap, image_changed};

use super::PgStore;
use super::audit::append_audit;
use super::events::append_event;
use crate::error::DbError;
use crate::schema::{dining_tables, products};

#[async_trait]
impl ImageStore for PgStore {
    async fn set_image(
        &self,
        owner: ImageOwner,
        id: uuid::Uuid,
        url: Option<String>,
        actor: ImageActor,
    ) -> Result<ImageSwap, StoreError> {
        self.transaction(move |conn| {
            // Locked, so two uploads to one row agree on which file was replaced.
            let previous: Option<Option<String>> = match owner {
                ImageOwner::Product => products::table
                    .find(id)
                    .select(products::image_url)
                    .for_update()
                    .first(conn)
                    .optional()?,
                ImageOwner::Table => dining_tables::table
                    .find(id)
                    .select(dining_tables::image_url)
                    .for_update()
                    .first(conn)
                    .optional()?,
            };
            let Some(previous) = previous else {
                return Err(DbError::Store(StoreError::not_found(owner.entity())));
            };
            match owner {
                ImageOwner::Product => {
                    diesel::update(products::table.find(id))
                        .set(products::image_url.eq(url.as_deref()))
                        .execute(conn)?;
                }
                ImageOwner::Table => {
                    diesel::update(dining_tables::table.find(id))
                        .set(dining_tables::image_url.eq(url.as_deref()))
                        .execute(conn)?;
                }
            }
            let (audit, event) = image_changed(owner, id, actor, previous.as_deref(), url.as_deref());
            append_audit(conn, audit, Utc::now())?;
            let event = append_event(conn, &event)?;
            Ok(ImageSwap { previous, event })
        })
        .await
    }
}
