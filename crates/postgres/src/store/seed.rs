use std::collections::HashMap;

use async_trait::async_trait;
use diesel::prelude::*;
use pos_domain::StoreError;
use pos_domain::ids::{CategoryId, ProductId, StaffId, TableId, TerminalId};
use pos_domain::ports::SeedStore;
use pos_domain::seed::{SeedReport, VenueSeed};
use pos_domain::staff::Station;
use uuid::Uuid;

use super::PgStore;
use crate::error::DbError;
use crate::rows::{NewStaffRow, SettingsRow, parse_station};
use crate::schema::{categories, dining_tables, products, settings, staff, terminals};

#[derive(Insertable)]
#[diesel(table_name = terminals)]
struct SeedTerminalRow<'a> {
    id: Uuid,
    code: &'a str,
    name: &'a str,
    kind: &'a str,
    station: Option<&'a str>,
}

#[derive(Insertable)]
#[diesel(table_name = dining_tables)]
struct SeedTableRow<'a> {
    id: Uuid,
    code: &'a str,
    seats: i32,
    sort_order: i32,
}

#[derive(Insertable)]
#[diesel(table_name = categories)]
struct SeedCategoryRow<'a> {
    id: Uuid,
    name: &'a str,
    default_station: Option<&'a str>,
    sort_order: i32,
}

#[derive(Insertable)]
#[diesel(table_name = products)]
struct SeedProductRow<'a> {
    id: Uuid,
    sku: &'a str,
    name: &'a str,
    category_id: Uuid,
    section: Option<&'a str>,
    price: i64,
    currency: &'a str,
    station: Option<&'a str>,
    image_url: Option<&'a str>,
    sort_order: i32,
    happy_hour_price: Option<i64>,
}

#[async_trait]
impl SeedStore for PgStore {
    async fn seed_venue(&self, seed: &VenueSeed) -> Result<SeedReport, StoreError> {
        let seed = seed.clone();
        self.transaction(move |conn| seed_venue(conn, &seed)).await
    }
}

/// Everything is `INSERT … ON CONFLICT DO NOTHING` on the natural keys, so what exists
/// (even if an admin edited it since) is left alone and the counts say what was added.
fn seed_venue(conn: &mut PgConnection, seed: &VenueSeed) -> Result<SeedReport, DbError> {
    let settings_added = diesel::insert_into(settings::table)
        .values(SettingsRow::from_domain(&seed.settings))
        .on_conflict(settings::id)
        .do_nothing()
        .execute(conn)?
        == 1;

    let staff_rows: Vec<NewStaffRow<'_>> = seed
        .staff
        .iter()
        .map(|s| NewStaffRow {
            id: StaffId::new().as_uuid(),
            username: s.username.as_str(),
            full_name: s.full_name.as_str(),
            role: s.role.as_str(),
            password_hash: &s.password_hash,
            pin_hash: None,
            pin_lookup: None,
            // Demo passwords are public: every seeded account must pick its own first.
            must_change_password: true,
        })
        .collect();
    let staff_added = if staff_rows.is_empty() {
        0
    } else {
        diesel::insert_into(staff::table)
            .values(&staff_rows)
            .on_conflict(staff::username)
            .do_nothing()
            .execute(conn)?
    };

    let terminal_rows: Vec<SeedTerminalRow<'_>> = seed
        .terminals
        .iter()
        .map(|t| SeedTerminalRow {
            id: TerminalId::new().as_uuid(),
            code: &t.code,
            name: t.name.as_str(),
            kind: t.kind.as_str(),
            station: t.station.map(Station::as_str),
        })
        .collect();
    let terminals_added = if terminal_rows.is_empty() {
        0
    } else {
        diesel::insert_into(terminals::table)
            .values(&terminal_rows)
            .on_conflict(terminals::code)
            .do_nothing()
            .execute(conn)?
    };

    let table_rows: Vec<SeedTableRow<'_>> = seed
        .tables
        .iter()
        .map(|t| SeedTableRow {
            id: TableId::new().as_uuid(),
            code: t.code.as_str(),
            seats: t.seats,
            sort_order: t.sort_order,
        })
        .collect();
    let tables_added = if table_rows.is_empty() {
        0
    } else {
        diesel::insert_into(dining_tables::table)
            .values(&table_rows)
            .on_conflict(dining_tables::code)
            .do_nothing()
            .execute(conn)?
    };

    let category_rows: Vec<SeedCategoryRow<'_>> = seed
        .categories
        .iter()
        .map(|c| SeedCategoryRow {
            id: CategoryId::new().as_uuid(),
            name: c.name.as_str(),
            default_station: c.default_station.map(Station::as_str),
            sort_order: c.sort_order,
        })
        .collect();
    let categories_added = if category_rows.is_empty() {
        0
    } else {
        diesel::insert_into(categories::table)
            .values(&category_rows)
            .on_conflict(categories::name)
            .do_nothing()
            .execute(conn)?
    };

    // Products name their category; it may have existed before this run, so read the ids back.
    let mut category_names: Vec<&str> = seed.products.iter().map(|p| p.category.as_str()).collect();
    category_names.sort_unstable();
    category_names.dedup();
    let known: HashMap<String, (Uuid, Option<Station>)> = categories::table
        .filter(categories::name.eq_any(&category_names))
        .select((categories::name, categories::id, categories::default_station))
        .load::<(String, Uuid, Option<String>)>(conn)?
        .into_iter()
        .map(|(name, id, station)| {
            parse_station("categories.default_station", station.as_deref()).map(|s| (name, (id, s)))
        })
        .collect::<Result<_, StoreError>>()?;

    let mut product_rows = Vec::with_capacity(seed.products.len());
    for p in &seed.products {
        let (category_id, default_station) =
            *known
                .get(p.category.as_str())
                .ok_or_else(|| StoreError::ForeignKeyViolation {
                    constraint: "products_category_id_fkey".to_owned(),
                })?;
        product_rows.push(SeedProductRow {
            id: ProductId::new().as_uuid(),
            sku: p.sku.as_str(),
            name: p.name.as_str(),
            category_id,
            section: p.section.as_deref(),
            price: p.price.minor(),
            currency: p.price.currency().code(),
            // Resolved now so that every product says where it is prepared.
            station: p.station.or(default_station).map(Station::as_str),
            image_url: p.image_url.as_deref(),
            sort_order: p.sort_order,
            happy_hour_price: p.happy_hour_price.map(|m| m.minor()),
        });
    }
    let products_added = if product_rows.is_empty() {
        0
    } else {
        diesel::insert_into(products::table)
            .values(&product_rows)
            .on_conflict(products::sku)
            .do_nothing()
            .execute(conn)?
    };

    Ok(SeedReport {
        staff: staff_added,
        terminals: terminals_added,
        tables: tables_added,
        categories: categories_added,
        products: products_added,
        settings: settings_added,
    })
}
