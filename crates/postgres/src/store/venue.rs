use std::collections::HashMap;

use async_trait::async_trait;
use diesel::prelude::*;
use pos_domain::StoreError;
use pos_domain::ports::{MenuStore, TableStore};
use pos_domain::venue::{Category, Product, Table};
use uuid::Uuid;

use super::PgStore;
use crate::rows::{CategoryRow, ModifierRow, ProductRow, TableRow, group_by_key};
use crate::schema::{categories, dining_tables, menu_version, modifiers, products};

#[async_trait]
impl TableStore for PgStore {
    async fn list_tables(&self) -> Result<Vec<Table>, StoreError> {
        let rows = self
            .interact(|conn| {
                Ok(dining_tables::table
                    .filter(dining_tables::active)
                    .order((dining_tables::sort_order.asc(), dining_tables::code.asc()))
                    .select(TableRow::as_select())
                    .load(conn)?)
            })
            .await?;
        rows.into_iter().map(TableRow::into_table).collect()
    }
}

#[async_trait]
impl MenuStore for PgStore {
    async fn list_categories(&self) -> Result<Vec<Category>, StoreError> {
        let rows = self
            .interact(|conn| {
                Ok(categories::table
                    .filter(categories::active)
                    .order((categories::sort_order.asc(), categories::name.asc()))
                    .select(CategoryRow::as_select())
                    .load(conn)?)
            })
            .await?;
        rows.into_iter().map(CategoryRow::into_category).collect()
    }

    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        // Two queries whatever the menu size: the products, then all of their modifiers.
        let (product_rows, modifier_rows) = self
            .interact(|conn| {
                // The order of `products_menu_idx`, so no sort: the menu puts the categories
                // in their order itself.
                let product_rows: Vec<ProductRow> = products::table
                    .filter(products::active)
                    .order((
                        products::category_id.asc(),
                        products::sort_order.asc(),
                        products::name.asc(),
                    ))
                    .select(ProductRow::as_select())
                    .load(conn)?;
                let ids: Vec<Uuid> = product_rows.iter().map(|p| p.id).collect();
                let modifier_rows = load_active_modifiers(conn, &ids)?;
                Ok((product_rows, modifier_rows))
            })
            .await?;
        attach_modifiers(product_rows, modifier_rows)
    }

    async fn menu_version(&self) -> Result<i64, StoreError> {
        // Bumped by triggers on categories, products, modifiers and settings (migration
        // `menu_version`).
        self.interact(|conn| Ok(menu_version::table.select(menu_version::version).first(conn)?))
            .await
    }
}

/// The active modifiers of `product_ids`, grouped by product in menu order.
pub(crate) fn load_active_modifiers(
    conn: &mut PgConnection,
    product_ids: &[Uuid],
) -> QueryResult<Vec<ModifierRow>> {
    modifiers::table
        .filter(modifiers::product_id.eq_any(product_ids))
        .filter(modifiers::active)
        .order((
            modifiers::product_id,
            modifiers::sort_order.asc(),
            modifiers::name.asc(),
        ))
        .select(ModifierRow::as_select())
        .load(conn)
}

/// Modifier rows by their product, each product's in the order given.
pub(crate) fn modifiers_by_product(modifier_rows: Vec<ModifierRow>) -> HashMap<Uuid, Vec<ModifierRow>> {
    group_by_key(
        modifier_rows
            .into_iter()
            .map(|modifier| (modifier.product_id, modifier)),
    )
}

/// Products with their modifiers, keeping the products' order.
pub(crate) fn attach_modifiers(
    product_rows: Vec<ProductRow>,
    modifier_rows: Vec<ModifierRow>,
) -> Result<Vec<Product>, StoreError> {
    let mut by_product = modifiers_by_product(modifier_rows);
    product_rows
        .into_iter()
        .map(|p| {
            let mods = by_product.remove(&p.id).unwrap_or_default();
            p.into_product(mods)
        })
        .collect()
}
