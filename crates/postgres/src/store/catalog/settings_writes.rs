//! The venue settings, changed whole under a row lock.

use super::*;

pub(super) fn update_settings(
    conn: &mut PgConnection,
    patch: SettingsPatch,
    ctx: ChangeContext,
) -> Result<Written<Settings>, Fail> {
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
    changed(
        conn,
        ctx,
        (CatalogEntity::Settings, None),
        CatalogChange::Updated,
        &before,
        after,
    )
}
