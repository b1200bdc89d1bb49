//! Row structs (what diesel reads and writes) and their mapping to and from the domain.
//!
//! Reading back a value the domain would refuse means the row was written behind the
//! application's back: that is `StoreError::Internal`, naming the table and column.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;

use chrono::{DateTime, NaiveTime, Utc};
use diesel::prelude::*;
use pos_domain::audit::{AuditEntry, NewAuditEntry};
use pos_domain::event::{Event, NewEvent};
use pos_domain::ids::{CategoryId, ModifierId, ProductId, StaffId, TableId, TerminalId};
use pos_domain::settings::Settings;
use pos_domain::staff::{NewStaff, NewTerminal, Staff, StaffCredentials, Station, Terminal, TerminalKind};
use pos_domain::validate::{Label, PersonName, Sku, Username};
use pos_domain::venue::{Category, Modifier, Product, Table};
use pos_domain::{Currency, Money, Role, StoreError};
use uuid::Uuid;

use crate::schema::{
    audit_log, categories, dining_tables, events, modifiers, products, settings, staff, terminals,
};

/// Child rows loaded in one query for many parents, by their parent's key; each parent's
/// rows keep the order they came in.
pub(crate) fn group_by_key<K: Eq + Hash, V>(rows: impl IntoIterator<Item = (K, V)>) -> HashMap<K, Vec<V>> {
    let mut groups: HashMap<K, Vec<V>> = HashMap::new();
    for (key, row) in rows {
        groups.entry(key).or_default().push(row);
    }
    groups
}

/// A stored value the domain refuses.
fn corrupt(column: &str, error: impl Display) -> StoreError {
    StoreError::Internal(format!("stored {column} is invalid: {error}"))
}

pub(crate) fn parse_station(column: &str, raw: Option<&str>) -> Result<Option<Station>, StoreError> {
    raw.map(|s| Station::parse(s).map_err(|e| corrupt(column, e)))
        .transpose()
}

pub(crate) fn parse_currency(column: &str, raw: &str) -> Result<Currency, StoreError> {
    Currency::parse(raw).map_err(|e| corrupt(column, e))
}

fn parse_label(column: &str, raw: &str) -> Result<Label, StoreError> {
    Label::parse(raw).map_err(|e| corrupt(column, e))
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = staff, check_for_backend(diesel::pg::Pg))]
pub(crate) struct StaffRow {
    pub id: Uuid,
    pub username: String,
    pub full_name: String,
    pub role: String,
    pub password_hash: String,
    pub pin_hash: Option<String>,
    pub active: bool,
    pub must_change_password: bool,
    pub token_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StaffRow {
    pub fn into_staff(self) -> Result<Staff, StoreError> {
        Ok(Staff {
            id: StaffId::from_uuid(self.id),
            username: Username::parse(&self.username).map_err(|e| corrupt("staff.username", e))?,
            full_name: PersonName::parse(&self.full_name).map_err(|e| corrupt("staff.full_name", e))?,
            role: Role::parse(&self.role).map_err(|e| corrupt("staff.role", e))?,
            active: self.active,
            must_change_password: self.must_change_password,
            token_version: self.token_version,
            has_pin: self.pin_hash.is_some(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }

    pub fn into_credentials(self) -> Result<StaffCredentials, StoreError> {
        let password_hash = self.password_hash.clone();
        let pin_hash = self.pin_hash.clone();
        Ok(StaffCredentials {
            staff: self.into_staff()?,
            password_hash,
            pin_hash,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = staff)]
pub(crate) struct NewStaffRow<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub full_name: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
    pub pin_hash: Option<&'a str>,
    pub pin_lookup: Option<&'a str>,
    pub must_change_password: bool,
}

impl<'a> NewStaffRow<'a> {
    pub fn from_domain(new: &'a NewStaff) -> Self {
        NewStaffRow {
            id: StaffId::new().as_uuid(),
            username: new.username.as_str(),
            full_name: new.full_name.as_str(),
            role: new.role.as_str(),
            password_hash: &new.password_hash,
            pin_hash: new.pin_hash.as_deref(),
            pin_lookup: None,
            must_change_password: new.must_change_password,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = terminals, check_for_backend(diesel::pg::Pg))]
pub(crate) struct TerminalRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub station: Option<String>,
    pub location: Option<String>,
    pub has_printer: bool,
    pub has_cash_drawer: bool,
    pub active: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl TerminalRow {
    pub fn into_terminal(self) -> Result<Terminal, StoreError> {
        Ok(Terminal {
            id: TerminalId::from_uuid(self.id),
            code: self.code,
            name: parse_label("terminals.name", &self.name)?,
            kind: TerminalKind::parse(&self.kind).map_err(|e| corrupt("terminals.kind", e))?,
            station: parse_station("terminals.station", self.station.as_deref())?,
            location: self.location,
            has_printer: self.has_printer,
            has_cash_drawer: self.has_cash_drawer,
            active: self.active,
            last_seen_at: self.last_seen_at,
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = terminals)]
pub(crate) struct NewTerminalRow<'a> {
    pub id: Uuid,
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub station: Option<&'a str>,
    pub location: Option<&'a str>,
    pub has_printer: bool,
    pub has_cash_drawer: bool,
}

impl<'a> NewTerminalRow<'a> {
    pub fn from_domain(new: &'a NewTerminal) -> Self {
        NewTerminalRow {
            id: TerminalId::new().as_uuid(),
            code: &new.code,
            name: new.name.as_str(),
            kind: new.kind.as_str(),
            station: new.station.map(Station::as_str),
            location: new.location.as_deref(),
            has_printer: new.has_printer,
            has_cash_drawer: new.has_cash_drawer,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dining_tables, check_for_backend(diesel::pg::Pg))]
pub(crate) struct TableRow {
    pub id: Uuid,
    pub code: String,
    pub area: Option<String>,
    pub seats: i32,
    pub image_url: Option<String>,
    pub sort_order: i32,
    pub active: bool,
}

impl TableRow {
    pub fn into_table(self) -> Result<Table, StoreError> {
        Ok(Table {
            id: TableId::from_uuid(self.id),
            code: parse_label("dining_tables.code", &self.code)?,
            area: self.area,
            seats: self.seats,
            image_url: self.image_url,
            sort_order: self.sort_order,
            active: self.active,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = categories, check_for_backend(diesel::pg::Pg))]
pub(crate) struct CategoryRow {
    pub id: Uuid,
    pub name: String,
    pub default_station: Option<String>,
    pub sort_order: i32,
    pub active: bool,
}

impl CategoryRow {
    pub fn into_category(self) -> Result<Category, StoreError> {
        Ok(Category {
            id: CategoryId::from_uuid(self.id),
            name: parse_label("categories.name", &self.name)?,
            default_station: parse_station("categories.default_station", self.default_station.as_deref())?,
            sort_order: self.sort_order,
            active: self.active,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = products, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ProductRow {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub category_id: Uuid,
    pub section: Option<String>,
    pub price: i64,
    pub currency: String,
    pub station: Option<String>,
    pub available: bool,
    pub active: bool,
    pub image_url: Option<String>,
    pub sort_order: i32,
    pub happy_hour_price: Option<i64>,
    pub stock_qty: Option<i32>,
    pub updated_at: DateTime<Utc>,
}

impl ProductRow {
    pub fn into_product(self, modifiers: Vec<ModifierRow>) -> Result<Product, StoreError> {
        let currency = parse_currency("products.currency", &self.currency)?;
        let modifiers = modifiers
            .into_iter()
            .map(|m| m.into_modifier(currency))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Product {
            id: ProductId::from_uuid(self.id),
            sku: Sku::parse(&self.sku).map_err(|e| corrupt("products.sku", e))?,
            name: parse_label("products.name", &self.name)?,
            category_id: CategoryId::from_uuid(self.category_id),
            section: self.section,
            price: Money::new(self.price, currency),
            station: parse_station("products.station", self.station.as_deref())?,
            available: self.available,
            active: self.active,
            image_url: self.image_url,
            sort_order: self.sort_order,
            happy_hour_price: self.happy_hour_price.map(|p| Money::new(p, currency)),
            stock_qty: self.stock_qty,
            modifiers,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = modifiers, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ModifierRow {
    pub id: Uuid,
    pub product_id: Uuid,
    pub name: String,
    pub price: i64,
    pub active: bool,
}

impl ModifierRow {
    /// A modifier is priced in its product's currency.
    pub(crate) fn into_modifier(self, currency: Currency) -> Result<Modifier, StoreError> {
        Ok(Modifier {
            id: ModifierId::from_uuid(self.id),
            product_id: ProductId::from_uuid(self.product_id),
            name: parse_label("modifiers.name", &self.name)?,
            price: Money::new(self.price, currency),
            active: self.active,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = settings, check_for_backend(diesel::pg::Pg))]
pub(crate) struct SettingsRow {
    pub id: bool,
    pub cafe_name: String,
    pub currency: String,
    pub vat_rate_bp: i32,
    pub prices_include_tax: bool,
    pub service_charge_bp: i32,
    pub receipt_footer: String,
    pub cashier_discount_limit_bp: i32,
    pub backup_retention_days: i32,
    pub business_day_cutoff_hour: i32,
    pub utc_offset_minutes: i32,
    pub happy_hour_start: NaiveTime,
    pub happy_hour_end: NaiveTime,
    pub shift_variance_threshold: i64,
    pub kds_warning_minutes: i32,
    pub kds_late_minutes: i32,
}

impl SettingsRow {
    pub fn from_domain(s: &Settings) -> Self {
        SettingsRow {
            id: true,
            cafe_name: s.cafe_name.clone(),
            currency: s.currency.code().to_owned(),
            vat_rate_bp: s.vat_rate_bp,
            prices_include_tax: s.prices_include_tax,
            service_charge_bp: s.service_charge_bp,
            receipt_footer: s.receipt_footer.clone(),
            cashier_discount_limit_bp: s.cashier_discount_limit_bp,
            backup_retention_days: s.backup_retention_days,
            business_day_cutoff_hour: s.business_day_cutoff_hour,
            utc_offset_minutes: s.utc_offset_minutes,
            happy_hour_start: s.happy_hour_start,
            happy_hour_end: s.happy_hour_end,
            shift_variance_threshold: s.shift_variance_threshold.minor(),
            kds_warning_minutes: s.kds_warning_minutes,
            kds_late_minutes: s.kds_late_minutes,
        }
    }

    pub fn into_settings(self) -> Result<Settings, StoreError> {
        let currency = parse_currency("settings.currency", &self.currency)?;
        Ok(Settings {
            cafe_name: self.cafe_name,
            currency,
            vat_rate_bp: self.vat_rate_bp,
            prices_include_tax: self.prices_include_tax,
            service_charge_bp: self.service_charge_bp,
            receipt_footer: self.receipt_footer,
            cashier_discount_limit_bp: self.cashier_discount_limit_bp,
            backup_retention_days: self.backup_retention_days,
            business_day_cutoff_hour: self.business_day_cutoff_hour,
            utc_offset_minutes: self.utc_offset_minutes,
            happy_hour_start: self.happy_hour_start,
            happy_hour_end: self.happy_hour_end,
            shift_variance_threshold: Money::new(self.shift_variance_threshold, currency),
            kds_warning_minutes: self.kds_warning_minutes,
            kds_late_minutes: self.kds_late_minutes,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub(crate) struct EventRow {
    pub id: i64,
    pub event_type: String,
    pub topic: String,
    pub station: Option<String>,
    pub payload: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

impl EventRow {
    pub fn into_event(self) -> Result<Event, StoreError> {
        Ok(Event {
            id: self.id,
            station: parse_station("events.station", self.station.as_deref())?,
            event_type: self.event_type,
            topic: self.topic,
            payload: self.payload,
            occurred_at: self.occurred_at,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = events)]
pub(crate) struct NewEventRow<'a> {
    pub event_type: &'a str,
    pub topic: &'a str,
    pub station: Option<&'a str>,
    pub payload: &'a serde_json::Value,
}

impl<'a> NewEventRow<'a> {
    pub fn from_domain(new: &'a NewEvent) -> Self {
        NewEventRow {
            event_type: &new.event_type,
            topic: &new.topic,
            station: new.station.map(Station::as_str),
            payload: &new.payload,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg))]
pub(crate) struct AuditRow {
    pub id: i64,
    pub actor_id: Option<Uuid>,
    pub approver_id: Option<Uuid>,
    pub terminal_id: Option<Uuid>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub prev_hash: String,
    pub hash: String,
    pub created_at: DateTime<Utc>,
}

impl AuditRow {
    pub fn into_entry(self) -> AuditEntry {
        AuditEntry {
            id: self.id,
            entry: NewAuditEntry {
                actor_id: self.actor_id.map(StaffId::from_uuid),
                approver_id: self.approver_id.map(StaffId::from_uuid),
                terminal_id: self.terminal_id.map(TerminalId::from_uuid),
                action: self.action,
                entity: self.entity,
                entity_id: self.entity_id,
                before: self.before,
                after: self.after,
            },
            created_at: self.created_at,
            prev_hash: self.prev_hash,
            hash: self.hash,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub(crate) struct NewAuditRow<'a> {
    pub actor_id: Option<Uuid>,
    pub approver_id: Option<Uuid>,
    pub terminal_id: Option<Uuid>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<&'a str>,
    pub before: Option<&'a serde_json::Value>,
    pub after: Option<&'a serde_json::Value>,
    pub prev_hash: &'a str,
    pub hash: &'a str,
    pub created_at: DateTime<Utc>,
}

impl<'a> NewAuditRow<'a> {
    pub fn new(
        entry: &'a NewAuditEntry,
        prev_hash: &'a str,
        hash: &'a str,
        created_at: DateTime<Utc>,
    ) -> Self {
        NewAuditRow {
            actor_id: entry.actor_id.map(|id| id.as_uuid()),
            approver_id: entry.approver_id.map(|id| id.as_uuid()),
            terminal_id: entry.terminal_id.map(|id| id.as_uuid()),
            action: &entry.action,
            entity: &entry.entity,
            entity_id: entry.entity_id.as_deref(),
            before: entry.before.as_ref(),
            after: entry.after.as_ref(),
            prev_hash,
            hash,
            created_at,
        }
    }
}
