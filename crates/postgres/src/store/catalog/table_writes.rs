//! Tables on the floor: create, change, retire (refused while one has unfinished orders).

use super::*;

pub(super) fn create_table(
    conn: &mut PgConnection,
    new: NewTable,
    image_url: Option<String>,
    ctx: ChangeContext,
) -> Result<Written<Table>, Fail> {
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
    created(conn, ctx, CatalogEntity::Table, id, after)
}

pub(super) fn update_table(
    conn: &mut PgConnection,
    id: TableId,
    patch: TablePatch,
    ctx: ChangeContext,
) -> Result<Written<Table>, Fail> {
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
    changed(
        conn,
        ctx,
        (CatalogEntity::Table, Some(id.to_string())),
        CatalogChange::Updated,
        &before,
        after,
    )
}

pub(super) fn delete_table(
    conn: &mut PgConnection,
    id: TableId,
    ctx: ChangeContext,
) -> Result<Written<()>, Fail> {
    let before = load_table(conn, id.as_uuid(), true)?;
    refuse_if_in_use(conn, &before)?;
    diesel::update(dining_tables::table.find(id.as_uuid()))
        .set(dining_tables::active.eq(false))
        .execute(conn)?;
    let after = load_table(conn, id.as_uuid(), false)?;
    // Retired, not removed: the audit shows the row before and after.
    let entity = (CatalogEntity::Table, Some(id.to_string()));
    let written = changed(conn, ctx, entity, CatalogChange::Deleted, &before, after)?;
    Ok(Written {
        value: (),
        events: written.events,
    })
}

/// A table with unfinished orders cannot be retired.
pub(super) fn refuse_if_in_use(conn: &mut PgConnection, table: &Table) -> Result<(), Fail> {
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
