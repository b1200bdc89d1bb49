//! Categories: create, change, delete (refused while any product uses one).

use super::*;

pub(super) fn create_category(
    conn: &mut PgConnection,
    new: NewCategory,
    ctx: ChangeContext,
) -> Result<Written<Category>, Fail> {
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
    created(conn, ctx, CatalogEntity::Category, id, after)
}

pub(super) fn update_category(
    conn: &mut PgConnection,
    id: CategoryId,
    patch: CategoryPatch,
    ctx: ChangeContext,
) -> Result<Written<Category>, Fail> {
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
    changed(
        conn,
        ctx,
        (CatalogEntity::Category, Some(id.to_string())),
        CatalogChange::Updated,
        &before,
        after,
    )
}

pub(super) fn delete_category(
    conn: &mut PgConnection,
    id: CategoryId,
    ctx: ChangeContext,
) -> Result<Written<()>, Fail> {
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
    deleted(conn, ctx, CatalogEntity::Category, id, snapshot(&before))
}
