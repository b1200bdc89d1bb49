//! [`OrderCatalog`]: the menu reads order taking needs beyond `MenuStore`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Timestamptz, Uuid as SqlUuid};
use pos_domain::StoreError;
use pos_domain::ids::{ProductId, StaffId};
use pos_domain::order::ItemStatus;
use pos_domain::order::ports::{OrderCatalog, ProductCount};
use pos_domain::venue::Product;
use uuid::Uuid;

use super::super::PgStore;
use crate::error::DbError;
use crate::rows::{ModifierRow, ProductRow};
use crate::schema::products;
use crate::store::venue::{load_active_modifiers, modifiers_by_product};

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = SqlUuid)]
    product_id: Uuid,
    #[diesel(sql_type = BigInt)]
    quantity: i64,
}

#[derive(QueryableByName)]
struct Recent {
    #[diesel(sql_type = SqlUuid)]
    product_id: Uuid,
}

/// A product row with its active modifiers (sorted as a menu shows them).
pub(crate) type ProductWithModifiers = (ProductRow, Vec<ModifierRow>);

/// Two queries whatever the count: the products, then their active modifiers.
fn products_with_modifiers(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, ProductWithModifiers)>, DbError> {
    let product_rows: Vec<ProductRow> = products::table
        .filter(products::id.eq_any(ids))
        .select(ProductRow::as_select())
        .load(conn)?;
    let mut modifiers = modifiers_by_product(load_active_modifiers(conn, ids)?);
    Ok(product_rows
        .into_iter()
        .map(|row| {
            let own = modifiers.remove(&row.id).unwrap_or_default();
            (row.id, (row, own))
        })
        .collect())
}

/// A caller's limit as SQL wants it.
fn sql_limit(limit: u32) -> i64 {
    i64::from(limit)
}

#[async_trait]
impl OrderCatalog for PgStore {
    async fn products_by_ids(&self, ids: &[ProductId]) -> Result<Vec<Product>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut wanted: Vec<Uuid> = ids.iter().map(ProductId::as_uuid).collect();
        wanted.sort_unstable();
        wanted.dedup();
        // Read before every create and every line added: coalesced with the reads arriving
        // meanwhile (availability and stock as of a query started after this call).
        let found = self
            .read_coalesced(&self.product_reads, wanted.clone(), products_with_modifiers)
            .await?;
        wanted
            .iter()
            .filter_map(|id| found.get(id))
            .map(|(product, modifiers)| product.clone().into_product(modifiers.clone()))
            .collect()
    }

    async fn popular_products(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ProductCount>, StoreError> {
        let rows: Vec<Counted> = self
            .interact(move |conn| {
                Ok(sql_query(
                    "SELECT i.product_id, sum(i.quantity)::bigint AS quantity \
                     FROM order_items i JOIN products p ON p.id = i.product_id \
                     WHERE i.created_at >= $1 AND i.status <> $2 AND p.active \
                     GROUP BY i.product_id \
                     ORDER BY quantity DESC, i.product_id \
                     LIMIT $3",
                )
                .bind::<Timestamptz, _>(since)
                .bind::<diesel::sql_types::Text, _>(ItemStatus::Voided.as_str())
                .bind::<BigInt, _>(sql_limit(limit))
                .load(conn)?)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ProductCount {
                product_id: ProductId::from_uuid(r.product_id),
                quantity: r.quantity,
            })
            .collect())
    }

    async fn recent_products(&self, staff: StaffId, limit: u32) -> Result<Vec<ProductId>, StoreError> {
        let rows: Vec<Recent> = self
            .interact(move |conn| {
                Ok(sql_query(
                    "SELECT i.product_id \
                     FROM order_items i \
                     JOIN orders o ON o.id = i.order_id \
                     JOIN products p ON p.id = i.product_id \
                     WHERE o.staff_id = $1 AND p.active \
                     GROUP BY i.product_id \
                     ORDER BY max(i.created_at) DESC, i.product_id \
                     LIMIT $2",
                )
                .bind::<SqlUuid, _>(staff.as_uuid())
                .bind::<BigInt, _>(sql_limit(limit))
                .load(conn)?)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ProductId::from_uuid(r.product_id))
            .collect())
    }
}
