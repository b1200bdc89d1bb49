//! Products: create, change (86 included) and stock counts and adjustments.

use super::*;

pub(super) fn write_product(conn: &mut PgConnection, p: &Product) -> Result<Product, Fail> {
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
pub(super) fn patch_product(
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
    changed(
        conn,
        ctx,
        (CatalogEntity::Product, Some(id.to_string())),
        change,
        &before,
        after,
    )
}

pub(super) fn stock_unit(
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

pub(super) fn create_product(
    conn: &mut PgConnection,
    new: NewProduct,
    ctx: ChangeContext,
) -> Result<Written<Product>, Fail> {
    let currency = settings_currency(conn)?;
    if currency != new.price.currency().code() {
        return Err(pos_domain::ValidationError::new("price", format!("must be in {currency}")).into());
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
    created(conn, ctx, CatalogEntity::Product, id, after)
}

pub(super) fn update_product(
    conn: &mut PgConnection,
    id: ProductId,
    patch: ProductPatch,
    ctx: ChangeContext,
) -> Result<Written<Product>, Fail> {
    patch_product(conn, id, &patch, ctx, CatalogChange::Updated)
}
