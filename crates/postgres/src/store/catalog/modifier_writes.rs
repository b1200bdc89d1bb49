//! Modifiers of a product: create, change, delete.

use super::*;

pub(super) fn load_modifier(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<(Modifier, i32), Fail> {
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

pub(super) fn modifier_snapshot(m: &Modifier, sort_order: i32) -> serde_json::Value {
    let mut value = snapshot(m);
    if let Some(object) = value.as_object_mut() {
        object.insert("sort_order".into(), sort_order.into());
    }
    value
}

pub(super) fn create_modifier(
    conn: &mut PgConnection,
    product: ProductId,
    new: NewModifier,
    ctx: ChangeContext,
) -> Result<Written<Modifier>, Fail> {
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
}

pub(super) fn update_modifier(
    conn: &mut PgConnection,
    id: ModifierId,
    patch: ModifierPatch,
    ctx: ChangeContext,
) -> Result<Written<Modifier>, Fail> {
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
}

pub(super) fn delete_modifier(
    conn: &mut PgConnection,
    id: ModifierId,
    ctx: ChangeContext,
) -> Result<Written<()>, Fail> {
    // Order items keep a copy of their modifiers, so the row can go.
    let (before, sort) = load_modifier(conn, id.as_uuid(), true)?;
    diesel::delete(modifiers::table.find(id.as_uuid())).execute(conn)?;
    deleted(
        conn,
        ctx,
        CatalogEntity::Modifier,
        id,
        modifier_snapshot(&before, sort),
    )
}
