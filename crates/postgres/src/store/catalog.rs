//! [`CatalogStore`]: the back office's writes to the menu, the floor and the settings. Each
//! is one transaction: lock the row, apply the domain's patch, write, then the audit row
//! (before/after) and the `menu.updated` / `table.updated` event from
//! `pos_domain::catalog::change_effects`. A refusal rolls everything back. The 86 and stock
//! units may carry an idempotency claim (the order units' statements, as shifts do).

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

/// The port's answer for a write: refusals and database errors as `CatalogError`.
fn ended<T>(result: Result<Result<T, Fail>, StoreError>) -> Result<T, CatalogError> {
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(Fail::Refused(e))) => Err(e),
        Ok(Err(Fail::Db(e))) => Err(StoreError::from(e).into()),
        Ok(Err(Fail::Answer(_))) => Err(CatalogError::Store(StoreError::Internal(
            "an idempotent answer outside a claimed unit".into(),
        ))),
        Err(e) => Err(e.into()),
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

// ----- writes -------------------------------------------------------------------------------

fn write_product(conn: &mut PgConnection, p: &Product) -> Result<Product, Fail> {
    diesel::update(products::table.find(p.id.as_uuid()))
        .set((
            products::sku.eq(p.sku.as_str()),
            products::name.eq(p.name.as_str()),
            products::category_id.eq(p.category_id.as_uuid()),
            products::section.eq(p.section.as_deref()),
            products::price.eq(p.price.minor()),
            products::currency.eq(p.price.currency().code()),
            products::station.eq(p.station.map(|s| s.as_str())),
            products::available.eq(p.available),
            products::active.eq(p.active),
            products::image_url.eq(p.image_url.as_deref()),
            products::sort_order.eq(p.sort_order),
            products::happy_hour_price.eq(p.happy_hour_price.map(|m| m.minor())),
            products::stock_qty.eq(p.stock_qty),
        ))
        .execute(conn)?;
    load_product(conn, p.id.as_uuid(), false)
}

/// The product with `patch` applied, saved, with its audit row and event.
fn patch_product(
    conn: &mut PgConnection,
    id: ProductId,
    patch: &ProductPatch,
    ctx: ChangeContext,
    change: CatalogChange,
) -> Result<Written<Product>, Fail> {
    let before = load_product(conn, id.as_uuid(), true)?;
    let next = patch.apply(&before)?;
    if next.category_id != before.category_id {
        // Refused here with the field named, rather than by the foreign key.
        let exists: i64 = categories::table
            .filter(categories::id.eq(next.category_id.as_uuid()))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(pos_domain::ValidationError::new("category_id", "no such category").into());
        }
    }
    let after = write_product(conn, &next)?;
    let events = record(
        conn,
        ctx,
        CatalogEntity::Product,
        Some(id.to_string()),
        change,
        Some(snapshot(&before)),
        Some(snapshot(&after)),
    )?;
    Ok(Written { value: after, events })
}

fn load_modifier(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<(Modifier, i32), Fail> {
    let query = modifiers::table
        .inner_join(products::table)
        .filter(modifiers::id.eq(id))
        .select((
            ModifierRow::as_select(),
            products::currency,
            modifiers::sort_order,
        ));
    let row: Option<(ModifierRow, String, i32)> = if lock {
        query.for_update().first(conn).optional()?
    } else {
        query.first(conn).optional()?
    };
    let (row, currency, sort) = row.ok_or_else(|| not_found("modifier"))?;
    let currency = pos_domain::Currency::parse(&currency)
        .map_err(|e| StoreError::Internal(format!("stored products.currency: {e}")))?;
    Ok((row.into_modifier(currency)?, sort))
}

fn modifier_snapshot(m: &Modifier, sort_order: i32) -> serde_json::Value {
    let mut value = snapshot(m);
    if let Some(object) = value.as_object_mut() {
        object.insert("sort_order".into(), sort_order.into());
    }
    value
}

fn stock_unit(
    conn: &mut PgConnection,
    id: ProductId,
    command: StockCommand,
    reason: &str,
    ctx: ChangeContext,
) -> Result<Written<Product>, Fail> {
    let before = load_product(conn, id.as_uuid(), true)?;
    let outcome = apply_stock(before.stock_qty, command)?;
    let mut next = before.clone();
    next.stock_qty = outcome.stock_qty;
    let after = write_product(conn, &next)?;
    let kind = match command {
        StockCommand::Set(Some(_)) => "count",
        StockCommand::Set(None) => "untrack",
        StockCommand::Adjust(_) => "adjust",
    };
    diesel::insert_into(stock_movements::table)
        .values((
            stock_movements::id.eq(Uuid::now_v7()),
            stock_movements::product_id.eq(id.as_uuid()),
            stock_movements::kind.eq(kind),
            stock_movements::delta.eq(outcome.delta),
            stock_movements::stock_after.eq(outcome.stock_qty),
            stock_movements::reason.eq(reason),
            stock_movements::staff_id.eq(ctx.actor.as_uuid()),
        ))
        .execute(conn)?;
    let mut after_json = snapshot(&after);
    if let Some(object) = after_json.as_object_mut() {
        object.insert("stock_reason".into(), reason.into());
        object.insert("stock_delta".into(), outcome.delta.into());
    }
    let events = record(
        conn,
        ctx,
        CatalogEntity::Product,
        Some(id.to_string()),
        CatalogChange::Stock,
        Some(snapshot(&before)),
        Some(after_json),
    )?;
    Ok(Written { value: after, events })
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
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| {
                let id = CategoryId::new();
                diesel::insert_into(categories::table)
                    .values((
                        categories::id.eq(id.as_uuid()),
                        categories::name.eq(new.name.as_str()),
                        categories::default_station.eq(new.default_station.map(|s| s.as_str())),
                        categories::sort_order.eq(new.sort_order),
                    ))
                    .execute(conn)?;
                let after = load_category(conn, id.as_uuid(), false)?;
                let events = record(
                    conn,
                    ctx,
                    CatalogEntity::Category,
                    Some(id.to_string()),
                    CatalogChange::Created,
                    None,
                    Some(snapshot(&after)),
                )?;
                Ok(Written { value: after, events })
            })
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
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| {
                let before = load_category(conn, id.as_uuid(), true)?;
                let next = patch.apply(&before);
                diesel::update(categories::table.find(id.as_uuid()))
                    .set((
                        categories::name.eq(next.name.as_str()),
                        categories::default_station.eq(next.default_station.map(|s| s.as_str())),
                        categories::sort_order.eq(next.sort_order),
                        categories::active.eq(next.active),
                    ))
                    .execute(conn)?;
                let after = load_category(conn, id.as_uuid(), false)?;
                let events = record(
                    conn,
                    ctx,
                    CatalogEntity::Category,
                    Some(id.to_string()),
                    CatalogChange::Updated,
                    Some(snapshot(&before)),
                    Some(snapshot(&after)),
                )?;
                Ok(Written { value: after, events })
            })
        })
        .await
    }

    async fn delete_category(
        &self,
        id: CategoryId,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, StoreError> {
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| {
                let before = load_category(conn, id.as_uuid(), true)?;
                // The row lock above makes a concurrent product insert into this
                // category wait (its foreign key check locks the row), so the list is whole.
                let users: Vec<(Uuid, String, String)> = products::table
                    .filter(products::category_id.eq(id.as_uuid()))
                    .order((products::sort_order.asc(), products::name.asc()))
                    .select((products::id, products::sku, products::name))
                    .load(conn)?;
                if !users.is_empty() {
                    return Err(CatalogError::CategoryInUse {
                        count: users.len(),
                        products: users
                            .into_iter()
                            .map(|(id, sku, name)| ProductRef {
                                id: ProductId::from_uuid(id),
                                sku,
                                name,
                            })
                            .collect(),
                    }
                    .into());
                }
                diesel::delete(categories::table.find(id.as_uuid())).execute(conn)?;
                let events = record(
                    conn,
                    ctx,
                    CatalogEntity::Category,
                    Some(id.to_string()),
                    CatalogChange::Deleted,
                    Some(snapshot(&before)),
                    None,
                )?;
                Ok(Written { value: (), events })
            })
        })
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
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| {
                let currency = settings_currency(conn)?;
                if currency != new.price.currency().code() {
                    return Err(
                        pos_domain::ValidationError::new("price", format!("must be in {currency}")).into(),
                    );
                }
                load_category(conn, new.category_id.as_uuid(), false).map_err(|e| match e {
                    Fail::Refused(CatalogError::NotFound(_)) => {
                        pos_domain::ValidationError::new("category_id", "no such category").into()
                    }
                    other => other,
                })?;
                let id = ProductId::new();
                diesel::insert_into(products::table)
                    .values((
                        products::id.eq(id.as_uuid()),
                        products::sku.eq(new.sku.as_str()),
                        products::name.eq(new.name.as_str()),
                        products::category_id.eq(new.category_id.as_uuid()),
                        products::section.eq(new.section.as_deref()),
                        products::price.eq(new.price.minor()),
                        products::currency.eq(new.price.currency().code()),
                        products::station.eq(new.station.map(|s| s.as_str())),
                        products::image_url.eq(new.image_url.as_deref()),
                        products::sort_order.eq(new.sort_order),
                        products::happy_hour_price.eq(new.happy_hour_price.map(|m| m.minor())),
                        products::stock_qty.eq(new.stock_qty),
                    ))
                    .execute(conn)?;
                let after = load_product(conn, id.as_uuid(), false)?;
                let events = record(
                    conn,
                    ctx,
                    CatalogEntity::Product,
                    Some(id.to_string()),
                    CatalogChange::Created,
                    None,
                    Some(snapshot(&after)),
                )?;
                Ok(Written { value: after, events })
            })
        })
        .await
    }

    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError> {
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| {
                patch_product(conn, id, &patch, ctx, CatalogChange::Updated)
            })
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
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| {
                patch_product(
                    conn,
                    id,
                    &ProductPatch::availability(available),
                    ctx,
                    CatalogChange::Availability,
                )
            })
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
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| stock_unit(conn, id, command, &reason, ctx))
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
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| {
                let owner = load_product(conn, product.as_uuid(), true)?;
                if owner.price.currency() != new.price.currency() {
                    return Err(pos_domain::ValidationError::new(
                        "price",
                        format!("must be in {}", owner.price.currency().code()),
                    )
                    .into());
                }
                let id = ModifierId::new();
                diesel::insert_into(modifiers::table)
                    .values((
                        modifiers::id.eq(id.as_uuid()),
                        modifiers::product_id.eq(product.as_uuid()),
                        modifiers::name.eq(new.name.as_str()),
                        modifiers::price.eq(new.price.minor()),
                        modifiers::sort_order.eq(new.sort_order),
                    ))
                    .execute(conn)?;
                let (after, sort) = load_modifier(conn, id.as_uuid(), false)?;
                let events = record(
                    conn,
                    ctx,
                    CatalogEntity::Modifier,
                    Some(id.to_string()),
                    CatalogChange::Created,
                    None,
                    Some(modifier_snapshot(&after, sort)),
                )?;
                Ok(Written { value: after, events })
            })
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
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| {
                let (before, before_sort) = load_modifier(conn, id.as_uuid(), true)?;
                if let Some(price) = patch.price
                    && price.currency() != before.price.currency()
                {
                    return Err(pos_domain::ValidationError::new(
                        "price",
                        format!("must be in {}", before.price.currency().code()),
                    )
                    .into());
                }
                diesel::update(modifiers::table.find(id.as_uuid()))
                    .set((
                        modifiers::name.eq(patch.name.as_ref().unwrap_or(&before.name).as_str()),
                        modifiers::price.eq(patch.price.unwrap_or(before.price).minor()),
                        modifiers::sort_order.eq(patch.sort_order.unwrap_or(before_sort)),
                        modifiers::active.eq(patch.active.unwrap_or(before.active)),
                    ))
                    .execute(conn)?;
                let (after, sort) = load_modifier(conn, id.as_uuid(), false)?;
                let events = record(
                    conn,
                    ctx,
                    CatalogEntity::Modifier,
                    Some(id.to_string()),
                    CatalogChange::Updated,
                    Some(modifier_snapshot(&before, before_sort)),
                    Some(modifier_snapshot(&after, sort)),
                )?;
                Ok(Written { value: after, events })
            })
        })
        .await
    }

    async fn delete_modifier(
        &self,
        id: ModifierId,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, StoreError> {
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| {
                // Order items keep a copy of their modifiers, so the row can go.
                let (before, sort) = load_modifier(conn, id.as_uuid(), true)?;
                diesel::delete(modifiers::table.find(id.as_uuid())).execute(conn)?;
                let events = record(
                    conn,
                    ctx,
                    CatalogEntity::Modifier,
                    Some(id.to_string()),
                    CatalogChange::Deleted,
                    Some(modifier_snapshot(&before, sort)),
                    None,
                )?;
                Ok(Written { value: (), events })
            })
        })
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
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| {
                let id = TableId::new();
                diesel::insert_into(dining_tables::table)
                    .values((
                        dining_tables::id.eq(id.as_uuid()),
                        dining_tables::code.eq(new.code.as_str()),
                        dining_tables::area.eq(new.area.as_deref()),
                        dining_tables::seats.eq(new.seats),
                        dining_tables::image_url.eq(image_url.as_deref()),
                        dining_tables::sort_order.eq(new.sort_order),
                    ))
                    .execute(conn)?;
                let after = load_table(conn, id.as_uuid(), false)?;
                let events = record(
                    conn,
                    ctx,
                    CatalogEntity::Table,
                    Some(id.to_string()),
                    CatalogChange::Created,
                    None,
                    Some(snapshot(&after)),
                )?;
                Ok(Written { value: after, events })
            })
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
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| {
                let before = load_table(conn, id.as_uuid(), true)?;
                let next = patch.apply(&before);
                if before.active && !next.active {
                    refuse_if_in_use(conn, &before)?;
                }
                diesel::update(dining_tables::table.find(id.as_uuid()))
                    .set((
                        dining_tables::code.eq(next.code.as_str()),
                        dining_tables::area.eq(next.area.as_deref()),
                        dining_tables::seats.eq(next.seats),
                        dining_tables::image_url.eq(next.image_url.as_deref()),
                        dining_tables::sort_order.eq(next.sort_order),
                        dining_tables::active.eq(next.active),
                    ))
                    .execute(conn)?;
                let after = load_table(conn, id.as_uuid(), false)?;
                let events = record(
                    conn,
                    ctx,
                    CatalogEntity::Table,
                    Some(id.to_string()),
                    CatalogChange::Updated,
                    Some(snapshot(&before)),
                    Some(snapshot(&after)),
                )?;
                Ok(Written { value: after, events })
            })
        })
        .await
    }

    async fn delete_table(
        &self,
        id: TableId,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, StoreError> {
        self.interact(move |conn| {
            claimed_unit(conn, claim, |conn| {
                let before = load_table(conn, id.as_uuid(), true)?;
                refuse_if_in_use(conn, &before)?;
                diesel::update(dining_tables::table.find(id.as_uuid()))
                    .set(dining_tables::active.eq(false))
                    .execute(conn)?;
                let after = load_table(conn, id.as_uuid(), false)?;
                let events = record(
                    conn,
                    ctx,
                    CatalogEntity::Table,
                    Some(id.to_string()),
                    CatalogChange::Deleted,
                    Some(snapshot(&before)),
                    Some(snapshot(&after)),
                )?;
                Ok(Written { value: (), events })
            })
        })
        .await
    }

    async fn update_settings(
        &self,
        patch: SettingsPatch,
        ctx: ChangeContext,
    ) -> Result<Written<Settings>, CatalogError> {
        ended(
            self.interact(move |conn| {
                Ok(conn.transaction::<_, Fail, _>(|conn| {
                    let row = settings::table
                        .select(SettingsRow::as_select())
                        .for_update()
                        .first(conn)
                        .optional()?
                        .ok_or_else(|| not_found("settings"))?;
                    let before = row.into_settings()?;
                    let next = patch.apply(&before)?;
                    if next.currency != before.currency {
                        let priced_otherwise: i64 = products::table
                            .filter(products::currency.ne(next.currency.code()))
                            .count()
                            .get_result(conn)?;
                        if priced_otherwise > 0 {
                            return Err(CatalogError::CurrencyInUse {
                                current: before.currency.code().to_owned(),
                            }
                            .into());
                        }
                    }
                    let new_row = SettingsRow::from_domain(&next);
                    let stored: SettingsRow = diesel::update(settings::table)
                        .set(&new_row)
                        .returning(SettingsRow::as_returning())
                        .get_result(conn)?;
                    let after = stored.into_settings()?;
                    let events = record(
                        conn,
                        ctx,
                        CatalogEntity::Settings,
                        None,
                        CatalogChange::Updated,
                        Some(snapshot(&before)),
                        Some(snapshot(&after)),
                    )?;
                    Ok(Written { value: after, events })
                }))
            })
            .await,
        )
    }
}

/// A table with unfinished orders cannot be retired.
fn refuse_if_in_use(conn: &mut PgConnection, table: &Table) -> Result<(), Fail> {
    let finished: Vec<&str> = OrderStatus::ALL
        .into_iter()
        .filter(|s| s.is_finished())
        .map(|s| s.as_str())
        .collect();
    let open: i64 = orders::table
        .filter(orders::table_id.eq(table.id.as_uuid()))
        .filter(orders::status.ne_all(finished))
        .count()
        .get_result(conn)?;
    if open > 0 {
        return Err(CatalogError::TableInUse {
            code: table.code.as_str().to_owned(),
        }
        .into());
    }
    Ok(())
}
