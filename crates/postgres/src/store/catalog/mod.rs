//! [`CatalogStore`]: the back office's writes to the menu, the floor and the settings. Each
//! is one transaction: lock the row, apply the domain's patch, write, then the audit row
//! (before/after) and the `menu.updated` / `table.updated` event from
//! `pos_domain::catalog::change_effects`. A refusal rolls everything back. The 86 and stock
//! units may carry an idempotency claim (the order units' statements, as shifts do).

mod category_writes;
mod modifier_writes;
mod product_writes;
mod settings_writes;
mod table_writes;

use async_trait::async_trait;
use chrono::Utc;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use pos_domain::StoreError;
use pos_domain::audit::NewAuditEntry;
use pos_domain::catalog::{
    CatalogChange, CatalogClaim, CatalogEntity, CatalogError, CatalogStore, CategoryPatch, ChangeContext,
    Claimed, ModifierPatch, NewModifier, ProductFilter, ProductPatch, ProductRef, Rendered, SettingsPatch,
    StockCommand, StockMovement, TablePatch, Written, apply_stock, change_effects, snapshot,
};
use pos_domain::event::{Event, NewEvent};
use pos_domain::idempotency::StoredResponse;
use pos_domain::ids::{CategoryId, ModifierId, ProductId, StaffId, TableId};
use pos_domain::order::OrderStatus;
use pos_domain::order::ports::{IdempotencyClaim, Mutation};
use pos_domain::settings::Settings;
use pos_domain::venue::{Category, Modifier, NewCategory, NewProduct, NewTable, Product, Table};
use uuid::Uuid;

use super::PgStore;
use super::audit::append_audit;
use super::events::append_event;
use super::orders::{Abort, claim_key, store_response};
use super::venue::modifiers_by_product;
use crate::error::DbError;
use crate::rows::{CategoryRow, ModifierRow, ProductRow, SettingsRow, TableRow};
use crate::schema::{categories, dining_tables, modifiers, orders, products, settings, stock_movements};

/// How a catalog transaction ends early: a database failure, a refusal, or (claims) an
/// answer decided by the idempotency record.
enum Fail {
    Db(DbError),
    Refused(CatalogError),
    Answer(KeyAnswer),
}

/// What the idempotency record decided instead of running the unit.
enum KeyAnswer {
    Replayed(StoredResponse),
    Mismatch,
    InProgress,
}

impl From<DieselError> for Fail {
    fn from(e: DieselError) -> Self {
        Fail::Db(DbError::Diesel(e))
    }
}

impl From<DbError> for Fail {
    fn from(e: DbError) -> Self {
        Fail::Db(e)
    }
}

impl From<CatalogError> for Fail {
    fn from(e: CatalogError) -> Self {
        Fail::Refused(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Db(DbError::Store(e))
    }
}

impl From<pos_domain::ValidationError> for Fail {
    fn from(e: pos_domain::ValidationError) -> Self {
        Fail::Refused(e.into())
    }
}

impl From<Abort> for Fail {
    fn from(abort: Abort) -> Self {
        match abort {
            Abort::Db(e) => Fail::Db(e),
            Abort::Answer(Mutation::Replayed(response)) => Fail::Answer(KeyAnswer::Replayed(response)),
            Abort::Answer(Mutation::KeyMismatch) => Fail::Answer(KeyAnswer::Mismatch),
            Abort::Answer(Mutation::KeyInProgress) => Fail::Answer(KeyAnswer::InProgress),
            Abort::Answer(_) => Fail::Db(DbError::Store(StoreError::Internal(
                "an order answer came out of a catalog idempotency claim".into(),
            ))),
        }
    }
}

/// Appends the audit row and the event of one change; returns the event as appended.
fn record(
    conn: &mut PgConnection,
    ctx: ChangeContext,
    entity: CatalogEntity,
    id: Option<String>,
    change: CatalogChange,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<Vec<Event>, Fail> {
    let (audit, event): (NewAuditEntry, NewEvent) = change_effects(ctx, entity, id, change, before, after);
    // The event first: the audit append takes the chain's lock, held until COMMIT.
    let event = append_event(conn, &event)?;
    append_audit(conn, audit, Utc::now())?;
    Ok(vec![event])
}

/// A created entity's answer: `after` with its `Created` event and audit entry.
fn created<T: serde::Serialize>(
    conn: &mut PgConnection,
    ctx: ChangeContext,
    entity: CatalogEntity,
    id: impl ToString,
    after: T,
) -> Result<Written<T>, Fail> {
    let events = record(
        conn,
        ctx,
        entity,
        Some(id.to_string()),
        CatalogChange::Created,
        None,
        Some(snapshot(&after)),
    )?;
    Ok(Written { value: after, events })
}

/// A changed entity's answer: `after` with the event of `change` and the audit entry of
/// `before` → `after`.
fn changed<T: serde::Serialize>(
    conn: &mut PgConnection,
    ctx: ChangeContext,
    (entity, id): (CatalogEntity, Option<String>),
    change: CatalogChange,
    before: &T,
    after: T,
) -> Result<Written<T>, Fail> {
    let (before, after_snapshot) = (Some(snapshot(before)), Some(snapshot(&after)));
    let events = record(conn, ctx, entity, id, change, before, after_snapshot)?;
    Ok(Written { value: after, events })
}

/// A deleted entity's answer: its `Deleted` event and the audit entry of what it was.
fn deleted(
    conn: &mut PgConnection,
    ctx: ChangeContext,
    entity: CatalogEntity,
    id: impl ToString,
    before: serde_json::Value,
) -> Result<Written<()>, Fail> {
    let events = record(
        conn,
        ctx,
        entity,
        Some(id.to_string()),
        CatalogChange::Deleted,
        Some(before),
        None,
    )?;
    Ok(Written { value: (), events })
}

fn not_found(entity: &'static str) -> Fail {
    Fail::Refused(CatalogError::NotFound(entity))
}

// ----- reads --------------------------------------------------------------------------------

fn load_category(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Category, Fail> {
    let query = categories::table.find(id).select(CategoryRow::as_select());
    let row = if lock {
        query.for_update().first(conn).optional()?
    } else {
        query.first(conn).optional()?
    };
    row.ok_or_else(|| not_found("category"))?
        .into_category()
        .map_err(Fail::from)
}

/// Every modifier of `ids` (retired ones too), by product in sort order.
fn all_modifiers(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<ModifierRow>> {
    modifiers::table
        .filter(modifiers::product_id.eq_any(ids))
        .order((
            modifiers::product_id,
            modifiers::sort_order.asc(),
            modifiers::name.asc(),
        ))
        .select(ModifierRow::as_select())
        .load(conn)
}

fn load_product(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Product, Fail> {
    let query = products::table.find(id).select(ProductRow::as_select());
    let row = if lock {
        query.for_update().first(conn).optional()?
    } else {
        query.first(conn).optional()?
    };
    let row = row.ok_or_else(|| not_found("product"))?;
    let mods = all_modifiers(conn, &[id])?;
    Ok(row.into_product(mods)?)
}

fn load_table(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Table, Fail> {
    let query = dining_tables::table.find(id).select(TableRow::as_select());
    let row = if lock {
        query.for_update().first(conn).optional()?
    } else {
        query.first(conn).optional()?
    };
    Ok(row.ok_or_else(|| not_found("table"))?.into_table()?)
}

fn settings_currency(conn: &mut PgConnection) -> Result<String, Fail> {
    settings::table
        .select(settings::currency)
        .first::<String>(conn)
        .optional()?
        .ok_or_else(|| not_found("settings"))
}

/// Runs a unit that may carry a claim: claim → unit → stored answer → COMMIT; a refusal
/// with a claim commits only the stored refusal. Every write of the back office goes
/// through here.
fn claimed_unit<T>(
    conn: &mut PgConnection,
    claim: Option<CatalogClaim<T>>,
    unit: impl FnOnce(&mut PgConnection) -> Result<Written<T>, Fail>,
) -> Result<Claimed<T>, DbError> {
    let result = conn.transaction::<Claimed<T>, Fail, _>(|conn| {
        if let Some(c) = &claim {
            let as_order_claim =
                IdempotencyClaim::new(c.staff_id, c.key.clone(), c.fingerprint.clone(), |_| {
                    StoredResponse {
                        status: 500,
                        content_type: String::new(),
                        body: Vec::new(),
                    }
                });
            claim_key(conn, &as_order_claim)?;
        }
        // The unit in a savepoint, so that its refusal can still be stored on the claim.
        let outcome = conn.transaction::<Written<T>, Fail, _>(|conn| unit(conn));
        match (outcome, claim) {
            (Ok(written), claim) => {
                let response = claim
                    .map(|c| -> Result<StoredResponse, Fail> {
                        let response = (c.render)(Rendered::Committed(&written.value));
                        store_response(conn, c.staff_id, &c.key, &response)?;
                        Ok(response)
                    })
                    .transpose()?;
                Ok(Claimed::Committed {
                    value: written.value,
                    events: written.events,
                    response,
                })
            }
            (Err(Fail::Refused(error)), Some(c)) => {
                let response = (c.render)(Rendered::Refused(&error));
                store_response(conn, c.staff_id, &c.key, &response)?;
                Ok(Claimed::Refused {
                    error,
                    response: Some(response),
                })
            }
            (Err(other), _) => Err(other),
        }
    });
    match result {
        Ok(unit) => Ok(unit),
        Err(Fail::Answer(KeyAnswer::Replayed(response))) => Ok(Claimed::Replayed(response)),
        Err(Fail::Answer(KeyAnswer::Mismatch)) => Ok(Claimed::KeyMismatch),
        Err(Fail::Answer(KeyAnswer::InProgress)) => Ok(Claimed::KeyInProgress),
        Err(Fail::Db(e)) => Err(e),
        Err(Fail::Refused(error)) => Ok(Claimed::Refused {
            error,
            response: None,
        }),
    }
}

impl PgStore {
    /// One catalog write: `unit` through [`claimed_unit`] on a pooled connection.
    async fn unit<T: Send + 'static>(
        &self,
        claim: Option<CatalogClaim<T>>,
        unit: impl FnOnce(&mut PgConnection) -> Result<Written<T>, Fail> + Send + 'static,
    ) -> Result<Claimed<T>, StoreError> {
        self.interact(move |conn| claimed_unit(conn, claim, unit)).await
    }
}

#[async_trait]
impl CatalogStore for PgStore {
    async fn all_categories(&self) -> Result<Vec<Category>, StoreError> {
        let rows = self
            .interact(|conn| {
                Ok(categories::table
                    .order((categories::sort_order.asc(), categories::name.asc()))
                    .select(CategoryRow::as_select())
                    .load(conn)?)
            })
            .await?;
        rows.into_iter().map(CategoryRow::into_category).collect()
    }

    async fn category(&self, id: CategoryId) -> Result<Category, StoreError> {
        match self
            .interact(move |conn| Ok(load_category(conn, id.as_uuid(), false)))
            .await?
        {
            Ok(c) => Ok(c),
            Err(Fail::Db(e)) => Err(e.into()),
            Err(_) => Err(StoreError::not_found("category")),
        }
    }

    async fn create_category(
        &self,
        new: NewCategory,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Category>>,
    ) -> Result<Claimed<Category>, StoreError> {
        self.unit(claim, move |conn| {
            category_writes::create_category(conn, new, ctx)
        })
        .await
    }

    async fn update_category(
        &self,
        id: CategoryId,
        patch: CategoryPatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Category>>,
    ) -> Result<Claimed<Category>, StoreError> {
        self.unit(claim, move |conn| {
            category_writes::update_category(conn, id, patch, ctx)
        })
        .await
    }

    async fn delete_category(
        &self,
        id: CategoryId,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, StoreError> {
        self.unit(claim, move |conn| category_writes::delete_category(conn, id, ctx))
            .await
    }

    async fn all_products(&self, filter: ProductFilter) -> Result<Vec<Product>, StoreError> {
        let (rows, mods) = self
            .interact(move |conn| {
                let mut query = products::table
                    .inner_join(categories::table)
                    .order((
                        categories::sort_order.asc(),
                        categories::name.asc(),
                        products::sort_order.asc(),
                        products::name.asc(),
                    ))
                    .select(ProductRow::as_select())
                    .into_boxed();
                if let Some(category) = filter.category_id {
                    query = query.filter(products::category_id.eq(category.as_uuid()));
                }
                if !filter.include_inactive {
                    query = query.filter(products::active);
                }
                let rows: Vec<ProductRow> = query.load(conn)?;
                let ids: Vec<Uuid> = rows.iter().map(|p| p.id).collect();
                let mods = all_modifiers(conn, &ids)?;
                Ok((rows, mods))
            })
            .await?;
        let mut by_product = modifiers_by_product(mods);
        rows.into_iter()
            .map(|p| {
                let mods = by_product.remove(&p.id).unwrap_or_default();
                p.into_product(mods)
            })
            .collect()
    }

    async fn product(&self, id: ProductId) -> Result<Product, StoreError> {
        match self
            .interact(move |conn| Ok(load_product(conn, id.as_uuid(), false)))
            .await?
        {
            Ok(p) => Ok(p),
            Err(Fail::Db(e)) => Err(e.into()),
            Err(_) => Err(StoreError::not_found("product")),
        }
    }

    async fn create_product(
        &self,
        new: NewProduct,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError> {
        self.unit(claim, move |conn| product_writes::create_product(conn, new, ctx))
            .await
    }

    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError> {
        self.unit(claim, move |conn| {
            product_writes::update_product(conn, id, patch, ctx)
        })
        .await
    }

    async fn set_availability(
        &self,
        id: ProductId,
        available: bool,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError> {
        self.unit(claim, move |conn| {
            product_writes::patch_product(
                conn,
                id,
                &ProductPatch::availability(available),
                ctx,
                CatalogChange::Availability,
            )
        })
        .await
    }

    async fn change_stock(
        &self,
        id: ProductId,
        command: StockCommand,
        reason: String,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError> {
        self.unit(claim, move |conn| {
            product_writes::stock_unit(conn, id, command, &reason, ctx)
        })
        .await
    }

    async fn stock_movements(&self, id: ProductId, limit: i64) -> Result<Vec<StockMovement>, StoreError> {
        type Row = (
            Uuid,
            Uuid,
            String,
            i32,
            Option<i32>,
            String,
            Option<Uuid>,
            chrono::DateTime<Utc>,
        );
        let rows: Vec<Row> = self
            .interact(move |conn| {
                Ok(stock_movements::table
                    .filter(stock_movements::product_id.eq(id.as_uuid()))
                    .order((stock_movements::created_at.desc(), stock_movements::id.desc()))
                    .limit(limit)
                    .select((
                        stock_movements::id,
                        stock_movements::product_id,
                        stock_movements::kind,
                        stock_movements::delta,
                        stock_movements::stock_after,
                        stock_movements::reason,
                        stock_movements::staff_id,
                        stock_movements::created_at,
                    ))
                    .load(conn)?)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, product, kind, delta, stock_after, reason, staff, created_at)| StockMovement {
                    id,
                    product_id: ProductId::from_uuid(product),
                    kind,
                    delta,
                    stock_after,
                    reason,
                    staff_id: staff.map(StaffId::from_uuid),
                    created_at,
                },
            )
            .collect())
    }

    async fn create_modifier(
        &self,
        product: ProductId,
        new: NewModifier,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Modifier>>,
    ) -> Result<Claimed<Modifier>, StoreError> {
        self.unit(claim, move |conn| {
            modifier_writes::create_modifier(conn, product, new, ctx)
        })
        .await
    }

    async fn update_modifier(
        &self,
        id: ModifierId,
        patch: ModifierPatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Modifier>>,
    ) -> Result<Claimed<Modifier>, StoreError> {
        self.unit(claim, move |conn| {
            modifier_writes::update_modifier(conn, id, patch, ctx)
        })
        .await
    }

    async fn delete_modifier(
        &self,
        id: ModifierId,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, StoreError> {
        self.unit(claim, move |conn| modifier_writes::delete_modifier(conn, id, ctx))
            .await
    }

    async fn all_tables(&self) -> Result<Vec<Table>, StoreError> {
        let rows = self
            .interact(|conn| {
                Ok(dining_tables::table
                    .order((dining_tables::sort_order.asc(), dining_tables::code.asc()))
                    .select(TableRow::as_select())
                    .load(conn)?)
            })
            .await?;
        rows.into_iter().map(TableRow::into_table).collect()
    }

    async fn table(&self, id: TableId) -> Result<Table, StoreError> {
        match self
            .interact(move |conn| Ok(load_table(conn, id.as_uuid(), false)))
            .await?
        {
            Ok(t) => Ok(t),
            Err(Fail::Db(e)) => Err(e.into()),
            Err(_) => Err(StoreError::not_found("table")),
        }
    }

    async fn create_table(
        &self,
        new: NewTable,
        image_url: Option<String>,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Table>>,
    ) -> Result<Claimed<Table>, StoreError> {
        self.unit(claim, move |conn| {
            table_writes::create_table(conn, new, image_url, ctx)
        })
        .await
    }

    async fn update_table(
        &self,
        id: TableId,
        patch: TablePatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Table>>,
    ) -> Result<Claimed<Table>, StoreError> {
        self.unit(claim, move |conn| {
            table_writes::update_table(conn, id, patch, ctx)
        })
        .await
    }

    async fn delete_table(
        &self,
        id: TableId,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, StoreError> {
        self.unit(claim, move |conn| table_writes::delete_table(conn, id, ctx))
            .await
    }

    async fn update_settings(
        &self,
        patch: SettingsPatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Settings>>,
    ) -> Result<Claimed<Settings>, StoreError> {
        self.unit(claim, move |conn| {
            settings_writes::update_settings(conn, patch, ctx)
        })
        .await
    }
}
