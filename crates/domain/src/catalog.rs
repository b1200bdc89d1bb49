//! The back office's menu, floor and settings (spec §7, issue 11 item 1): categories,
//! products (prices, 86, stock), modifiers, tables and the venue settings.
//!
//! Handlers parse requests into the drafts and patches here (every parse error names its
//! field), [`CatalogService`] checks the permission matrix and calls the [`CatalogStore`],
//! and the store applies the patch under its row lock with the functions of this module,
//! writing the audit row (before/after JSON) and the `menu.updated` / `table.updated` event in
//! the same transaction. A refusal writes nothing.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::access::Requester;
use crate::approval::{self, ApprovalError};
use crate::audit::NewAuditEntry;
use crate::error::StoreError;
use crate::event::{Event, NewEvent};
use crate::idempotency::{IdempotencyKey, RequestFingerprint, StoredResponse};
use crate::ids::{CategoryId, ModifierId, ProductId, StaffId, TableId, TerminalId};
use crate::money::{Currency, Money};
use crate::permissions::Action;
use crate::ports::{Clock, EventBus};
use crate::settings::Settings;
use crate::staff::Station;
use crate::validate::{Label, Sku, ValidationError};
use crate::venue::{Category, Modifier, NewCategory, NewProduct, NewTable, Product, Table};

// ----- field parsing ------------------------------------------------------------------------

/// Largest price accepted, in minor units (a typo guard: 10^12 UGX is far beyond any dish).
pub const MAX_PRICE_MINOR: i64 = 1_000_000_000_000;

/// A price as sent in JSON: a whole, non-negative number of the currency's minor units.
/// `1500.5` is refused for every currency (amounts are minor units), with a message saying
/// so for a currency that has no minor unit (UGX, RWF …).
pub fn price(field: &str, raw: &serde_json::Number, currency: Currency) -> Result<Money, ValidationError> {
    let minor = match raw.as_i64() {
        Some(minor) => minor,
        None if raw.as_u64().is_some() => {
            return Err(ValidationError::new(field, "is too large"));
        }
        None => {
            let message = if currency.exponent() == 0 {
                format!(
                    "must be a whole number: {} has no fractional unit",
                    currency.code()
                )
            } else {
                format!(
                    "must be a whole number of minor units ({} has {} decimals: 12.50 is 1250)",
                    currency.code(),
                    currency.exponent()
                )
            };
            return Err(ValidationError::new(field, message));
        }
    };
    if minor < 0 {
        return Err(ValidationError::new(field, "must not be negative"));
    }
    if minor > MAX_PRICE_MINOR {
        return Err(ValidationError::new(field, "is too large"));
    }
    Ok(Money::new(minor, currency))
}

/// Seats at a table: 1 to 1000.
pub fn seats(field: &str, raw: i64) -> Result<i32, ValidationError> {
    if (1..=1000).contains(&raw) {
        i32::try_from(raw).map_err(|_| ValidationError::new(field, "must be between 1 and 1000"))
    } else {
        Err(ValidationError::new(field, "must be between 1 and 1000"))
    }
}

/// A sort position: -100000 to 100000.
pub fn sort_order(field: &str, raw: i64) -> Result<i32, ValidationError> {
    if (-100_000..=100_000).contains(&raw) {
        i32::try_from(raw).map_err(|_| ValidationError::new(field, "must be between -100000 and 100000"))
    } else {
        Err(ValidationError::new(field, "must be between -100000 and 100000"))
    }
}

/// Optional free text (a section, an area): trimmed, empty means none, at most 80 characters.
pub fn optional_label(field: &str, raw: Option<&str>) -> Result<Option<String>, ValidationError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Label::parse_field(field, text).map(|l| Some(l.as_str().to_owned())),
    }
}

/// An image reference kept on a product or table. Uploads (`/api/admin/images`, helper of
/// issue 11 item 3) store files and hand back a path under `/pos-images/`; only such a path,
/// or an `https://` URL, is kept here — never anything that could climb out of the folder.
pub fn image_url(field: &str, raw: Option<&str>) -> Result<Option<String>, ValidationError> {
    let Some(value) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let allowed_prefix = value.starts_with("/pos-images/") || value.starts_with("https://");
    let clean = value.len() <= 500
        && !value.contains("..")
        && !value.contains('\\')
        && value.chars().all(|c| c.is_ascii_graphic());
    if allowed_prefix && clean {
        Ok(Some(value.to_owned()))
    } else {
        Err(ValidationError::new(
            field,
            "must be a path under /pos-images/ (as the upload returns) or an https:// URL",
        ))
    }
}

/// Why stock changed, kept with each movement: 1 to 200 characters.
pub fn stock_reason(raw: &str) -> Result<String, ValidationError> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > 200 {
        return Err(ValidationError::new("reason", "must be 1 to 200 characters"));
    }
    Ok(trimmed.to_owned())
}

// ----- patches ------------------------------------------------------------------------------

/// A category change; `None` leaves a field alone, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryPatch {
    pub name: Option<Label>,
    pub default_station: Option<Option<Station>>,
    pub sort_order: Option<i32>,
    pub active: Option<bool>,
}

impl CategoryPatch {
    pub fn apply(&self, before: &Category) -> Category {
        let mut after = before.clone();
        if let Some(name) = &self.name {
            after.name = name.clone();
        }
        if let Some(station) = self.default_station {
            after.default_station = station;
        }
        if let Some(order) = self.sort_order {
            after.sort_order = order;
        }
        if let Some(active) = self.active {
            after.active = active;
        }
        after
    }
}

/// A product change. Prices are already [`Money`] in the venue currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductPatch {
    pub sku: Option<Sku>,
    pub name: Option<Label>,
    pub category_id: Option<CategoryId>,
    pub section: Option<Option<String>>,
    pub price: Option<Money>,
    pub happy_hour_price: Option<Option<Money>>,
    pub station: Option<Option<Station>>,
    pub image_url: Option<Option<String>>,
    pub sort_order: Option<i32>,
    pub active: Option<bool>,
    /// `false` 86es the product, `true` brings it back.
    pub available: Option<bool>,
}

impl ProductPatch {
    /// The product after the patch. Prices must be in the product's currency (a venue that
    /// changed currency re-prices each product explicitly).
    pub fn apply(&self, before: &Product) -> Result<Product, CatalogError> {
        let mut after = before.clone();
        let currency = before.price.currency();
        if let Some(sku) = &self.sku {
            after.sku = sku.clone();
        }
        if let Some(name) = &self.name {
            after.name = name.clone();
        }
        if let Some(category) = self.category_id {
            after.category_id = category;
        }
        if let Some(section) = &self.section {
            after.section = section.clone();
        }
        if let Some(price) = self.price {
            same_currency("price", price, currency)?;
            after.price = price;
        }
        if let Some(happy) = self.happy_hour_price {
            if let Some(p) = happy {
                same_currency("happy_hour_price", p, currency)?;
            }
            after.happy_hour_price = happy;
        }
        if let Some(station) = self.station {
            after.station = station;
        }
        if let Some(image) = &self.image_url {
            after.image_url = image.clone();
        }
        if let Some(order) = self.sort_order {
            after.sort_order = order;
        }
        if let Some(active) = self.active {
            after.active = active;
        }
        if let Some(available) = self.available {
            after.available = available;
        }
        Ok(after)
    }

    /// Only `available` is set: the 86 route.
    pub fn availability(available: bool) -> Self {
        Self {
            available: Some(available),
            ..Self::default()
        }
    }
}

fn same_currency(field: &str, money: Money, currency: Currency) -> Result<(), CatalogError> {
    if money.currency() == currency {
        Ok(())
    } else {
        Err(ValidationError::new(field, format!("must be in {}", currency.code())).into())
    }
}

/// A new modifier of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewModifier {
    pub name: Label,
    pub price: Money,
    pub sort_order: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifierPatch {
    pub name: Option<Label>,
    pub price: Option<Money>,
    pub sort_order: Option<i32>,
    pub active: Option<bool>,
}

/// A table change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TablePatch {
    pub code: Option<Label>,
    pub area: Option<Option<String>>,
    pub seats: Option<i32>,
    pub image_url: Option<Option<String>>,
    pub sort_order: Option<i32>,
    pub active: Option<bool>,
}

impl TablePatch {
    pub fn apply(&self, before: &Table) -> Table {
        let mut after = before.clone();
        if let Some(code) = &self.code {
            after.code = code.clone();
        }
        if let Some(area) = &self.area {
            after.area = area.clone();
        }
        if let Some(seats) = self.seats {
            after.seats = seats;
        }
        if let Some(image) = &self.image_url {
            after.image_url = image.clone();
        }
        if let Some(order) = self.sort_order {
            after.sort_order = order;
        }
        if let Some(active) = self.active {
            after.active = active;
        }
        after
    }
}

/// A settings change: every field optional; amounts in minor units of the resulting
/// currency. Applied to the stored settings, then the whole is validated (the first bad field
/// is named).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SettingsPatch {
    pub cafe_name: Option<String>,
    /// ISO 4217 code of a currency the product supports.
    pub currency: Option<String>,
    pub vat_rate_bp: Option<i64>,
    pub prices_include_tax: Option<bool>,
    pub service_charge_bp: Option<i64>,
    pub receipt_footer: Option<String>,
    pub cashier_discount_limit_bp: Option<i64>,
    pub backup_retention_days: Option<i64>,
    pub business_day_cutoff_hour: Option<i64>,
    pub utc_offset_minutes: Option<i64>,
    pub happy_hour_start: Option<String>,
    pub happy_hour_end: Option<String>,
    pub shift_variance_threshold: Option<serde_json::Number>,
    pub kds_warning_minutes: Option<i64>,
    pub kds_late_minutes: Option<i64>,
}

fn int(field: &str, raw: i64) -> Result<i32, ValidationError> {
    i32::try_from(raw).map_err(|_| ValidationError::new(field, "is out of range"))
}

fn time_of_day(field: &str, raw: &str) -> Result<NaiveTime, ValidationError> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(raw.trim(), "%H:%M"))
        .map_err(|_| ValidationError::new(field, "must be a time of day, HH:MM"))
}

impl SettingsPatch {
    pub fn apply(&self, before: &Settings) -> Result<Settings, ValidationError> {
        let mut s = before.clone();
        if let Some(name) = &self.cafe_name {
            s.cafe_name = name.trim().to_owned();
        }
        if let Some(code) = &self.currency {
            s.currency = Currency::parse(code).map_err(|_| {
                ValidationError::new(
                    "currency",
                    "must be an ISO 4217 code this product supports: UGX, KES, TZS, RWF, USD, EUR, GBP",
                )
            })?;
        }
        if let Some(v) = self.vat_rate_bp {
            s.vat_rate_bp = int("vat_rate_bp", v)?;
        }
        if let Some(v) = self.prices_include_tax {
            s.prices_include_tax = v;
        }
        if let Some(v) = self.service_charge_bp {
            s.service_charge_bp = int("service_charge_bp", v)?;
        }
        if let Some(v) = &self.receipt_footer {
            s.receipt_footer = v.clone();
        }
        if let Some(v) = self.cashier_discount_limit_bp {
            s.cashier_discount_limit_bp = int("cashier_discount_limit_bp", v)?;
        }
        if let Some(v) = self.backup_retention_days {
            s.backup_retention_days = int("backup_retention_days", v)?;
        }
        if let Some(v) = self.business_day_cutoff_hour {
            s.business_day_cutoff_hour = int("business_day_cutoff_hour", v)?;
        }
        if let Some(v) = self.utc_offset_minutes {
            s.utc_offset_minutes = int("utc_offset_minutes", v)?;
        }
        if let Some(v) = &self.happy_hour_start {
            s.happy_hour_start = time_of_day("happy_hour_start", v)?;
        }
        if let Some(v) = &self.happy_hour_end {
            s.happy_hour_end = time_of_day("happy_hour_end", v)?;
        }
        match &self.shift_variance_threshold {
            Some(v) => s.shift_variance_threshold = price("shift_variance_threshold", v, s.currency)?,
            // A new currency carries the threshold's figure over into it.
            None => s.shift_variance_threshold = Money::new(s.shift_variance_threshold.minor(), s.currency),
        }
        if let Some(v) = self.kds_warning_minutes {
            s.kds_warning_minutes = int("kds_warning_minutes", v)?;
        }
        if let Some(v) = self.kds_late_minutes {
            s.kds_late_minutes = int("kds_late_minutes", v)?;
        }
        s.validate()?;
        Ok(s)
    }
}

/// A stock command on one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockCommand {
    /// Count: the units on hand now. `None` stops tracking (the product never runs out).
    Set(Option<i32>),
    /// Received (+) or wasted/lost (-) units.
    Adjust(i32),
}

/// The largest count kept.
pub const MAX_STOCK: i32 = 1_000_000;

/// A tracked stock after a command: the new level and the change (for the movement row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockOutcome {
    pub stock_qty: Option<i32>,
    pub delta: i32,
}

/// The rule of stock commands: a count is 0..=[`MAX_STOCK`]; an adjustment needs tracked
/// stock, is not zero, and never takes it below zero.
pub fn apply_stock(current: Option<i32>, command: StockCommand) -> Result<StockOutcome, CatalogError> {
    match command {
        StockCommand::Set(None) => Ok(StockOutcome {
            stock_qty: None,
            delta: 0,
        }),
        StockCommand::Set(Some(qty)) => {
            if !(0..=MAX_STOCK).contains(&qty) {
                return Err(ValidationError::new("set", format!("must be between 0 and {MAX_STOCK}")).into());
            }
            Ok(StockOutcome {
                stock_qty: Some(qty),
                delta: qty - current.unwrap_or(0),
            })
        }
        StockCommand::Adjust(delta) => {
            if delta == 0 || delta.unsigned_abs() > MAX_STOCK.unsigned_abs() {
                return Err(ValidationError::new(
                    "adjust",
                    format!("must be a non-zero number of units, at most {MAX_STOCK} either way"),
                )
                .into());
            }
            let Some(left) = current else {
                return Err(CatalogError::StockNotTracked);
            };
            let next = i64::from(left) + i64::from(delta);
            if next < 0 {
                return Err(CatalogError::StockBelowZero { left });
            }
            if next > i64::from(MAX_STOCK) {
                return Err(
                    ValidationError::new("adjust", format!("would take stock above {MAX_STOCK}")).into(),
                );
            }
            Ok(StockOutcome {
                stock_qty: Some(left + delta),
                delta,
            })
        }
    }
}

/// A movement of stock, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMovement {
    pub id: uuid::Uuid,
    pub product_id: ProductId,
    /// `count` (set), `adjust`, `untrack`.
    pub kind: String,
    pub delta: i32,
    pub stock_after: Option<i32>,
    pub reason: String,
    pub staff_id: Option<StaffId>,
    pub created_at: DateTime<Utc>,
}

// ----- errors -------------------------------------------------------------------------------

/// A product as a refusal names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRef {
    pub id: ProductId,
    pub sku: String,
    pub name: String,
}

/// Why a catalog change was refused. Each has a stable problem `code`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CatalogError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    NotPermitted(#[from] ApprovalError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the category is still used by {count} product(s): {}; move or delete them first", names(.products))]
    CategoryInUse { count: usize, products: Vec<ProductRef> },
    #[error("another {what} has this {field}")]
    Taken { what: &'static str, field: &'static str },
    #[error("table {code} has unfinished orders; close or move them first")]
    TableInUse { code: String },
    #[error("products are priced in {current}; re-price or retire them before changing the currency")]
    CurrencyInUse { current: String },
    #[error("stock cannot go below zero: {left} left")]
    StockBelowZero { left: i32 },
    #[error("stock is not tracked for this product: set a count first")]
    StockNotTracked,
    #[error(transparent)]
    Store(StoreError),
}

fn names(products: &[ProductRef]) -> String {
    products
        .iter()
        .map(|p| format!("{} ({})", p.name, p.sku))
        .collect::<Vec<_>>()
        .join(", ")
}

impl CatalogError {
    pub fn code(&self) -> &'static str {
        match self {
            CatalogError::Invalid(_) => "validation_failed",
            CatalogError::NotPermitted(e) => e.code(),
            CatalogError::NotFound(_) => "not_found",
            CatalogError::CategoryInUse { .. } => "category_in_use",
            CatalogError::Taken { what, .. } => match *what {
                "category" => "category_name_taken",
                "product" => "sku_taken",
                "modifier" => "modifier_name_taken",
                _ => "table_code_taken",
            },
            CatalogError::TableInUse { .. } => "table_in_use",
            CatalogError::CurrencyInUse { .. } => "currency_in_use",
            CatalogError::StockBelowZero { .. } => "stock_below_zero",
            CatalogError::StockNotTracked => "stock_not_tracked",
            CatalogError::Store(_) => "store",
        }
    }

    /// The request field a refusal concerns.
    pub fn field(&self) -> Option<String> {
        match self {
            CatalogError::Invalid(e) => Some(e.field.clone()),
            CatalogError::Taken { field, .. } => Some((*field).to_owned()),
            CatalogError::CurrencyInUse { .. } => Some("currency".to_owned()),
            CatalogError::StockBelowZero { .. } | CatalogError::StockNotTracked => Some("adjust".to_owned()),
            _ => None,
        }
    }
}

/// The unique constraints of the catalog tables, as the rules they keep.
impl From<StoreError> for CatalogError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { entity } => CatalogError::NotFound(entity),
            StoreError::Conflict { constraint } => match constraint.as_str() {
                "categories_name_key" => CatalogError::Taken {
                    what: "category",
                    field: "name",
                },
                "products_sku_key" => CatalogError::Taken {
                    what: "product",
                    field: "sku",
                },
                "modifiers_product_name_key" => CatalogError::Taken {
                    what: "modifier",
                    field: "name",
                },
                "dining_tables_code_key" => CatalogError::Taken {
                    what: "table",
                    field: "code",
                },
                _ => CatalogError::Store(StoreError::Conflict { constraint }),
            },
            StoreError::ForeignKeyViolation { constraint } if constraint.contains("category") => {
                ValidationError::new("category_id", "no such category").into()
            }
            other => CatalogError::Store(other),
        }
    }
}

// ----- audit and events ---------------------------------------------------------------------

/// Who changes the catalog, for the audit row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeContext {
    pub actor: StaffId,
    pub terminal: Option<TerminalId>,
}

impl From<Requester> for ChangeContext {
    fn from(r: Requester) -> Self {
        Self {
            actor: r.actor.id,
            terminal: r.terminal_id,
        }
    }
}

/// What was changed, as the events and audit rows name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogEntity {
    Category,
    Product,
    Modifier,
    Table,
    Settings,
}

impl CatalogEntity {
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogEntity::Category => "category",
            CatalogEntity::Product => "product",
            CatalogEntity::Modifier => "modifier",
            CatalogEntity::Table => "table",
            CatalogEntity::Settings => "settings",
        }
    }
}

impl fmt::Display for CatalogEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogChange {
    Created,
    Updated,
    Deleted,
    /// 86'd or back.
    Availability,
    Stock,
}

impl CatalogChange {
    fn verb(self) -> &'static str {
        match self {
            CatalogChange::Created => "created",
            CatalogChange::Updated => "updated",
            CatalogChange::Deleted => "deleted",
            CatalogChange::Availability => "availability_changed",
            CatalogChange::Stock => "stock_changed",
        }
    }
}

/// The payload of the `menu.updated` / `table.updated` events the back office appends.
/// Terminals reload the menu (or the floor) on either; the fields say what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEventPayload {
    /// Always `catalog` (the order units' stock events say `stock`).
    pub reason: String,
    pub entity: CatalogEntity,
    /// The changed row (absent for settings).
    pub id: Option<String>,
    pub change: CatalogChange,
    /// For a product: its availability and stock after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_qty: Option<i32>,
}

/// Event types and topics used here (the order module's own names).
pub const MENU_UPDATED: &str = crate::order::events::types::MENU_UPDATED;
pub const TABLE_UPDATED: &str = crate::order::events::types::TABLE_UPDATED;

/// The event and audit entry of one catalog change, built from the rows before and after.
/// `before`/`after` are the entity as JSON (`None` for a creation / deletion).
pub fn change_effects(
    ctx: ChangeContext,
    entity: CatalogEntity,
    id: Option<String>,
    change: CatalogChange,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> (NewAuditEntry, NewEvent) {
    let mut audit = NewAuditEntry::new(&format!("{}.{}", entity.as_str(), change.verb()), entity.as_str())
        .actor(Some(ctx.actor))
        .terminal(ctx.terminal);
    if let Some(id) = &id {
        audit = audit.entity_id(id);
    }
    audit.before = before;
    audit.after = after.clone();
    let product_state = match (entity, &after) {
        (CatalogEntity::Product, Some(after)) => (
            after.get("available").and_then(serde_json::Value::as_bool),
            after
                .get("stock_qty")
                .and_then(serde_json::Value::as_i64)
                .and_then(|q| i32::try_from(q).ok()),
        ),
        _ => (None, None),
    };
    let payload = CatalogEventPayload {
        reason: "catalog".to_owned(),
        entity,
        id,
        change,
        available: product_state.0,
        stock_qty: product_state.1,
    };
    let (event_type, topic) = match entity {
        CatalogEntity::Table => (TABLE_UPDATED, crate::order::events::topics::TABLES),
        _ => (MENU_UPDATED, crate::order::events::topics::MENU),
    };
    let payload = serde_json::to_value(&payload).unwrap_or(serde_json::Value::Null);
    (audit, NewEvent::new(event_type, topic, payload))
}

/// An entity as the audit row keeps it.
pub fn snapshot<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

// ----- idempotent units ---------------------------------------------------------------------

/// What a unit's answer is rendered from.
#[derive(Debug)]
pub enum Rendered<'a, T> {
    Committed(&'a T),
    Refused(&'a CatalogError),
}

impl<T> Clone for Rendered<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Rendered<'_, T> {}

pub type Render<T> = Box<dyn FnOnce(Rendered<'_, T>) -> StoredResponse + Send>;

/// An `Idempotency-Key` claimed in the unit's transaction; the rendered answer is stored
/// with it before COMMIT (the order units' records and statements), so a retry replays it.
pub struct CatalogClaim<T> {
    pub staff_id: StaffId,
    pub key: IdempotencyKey,
    pub fingerprint: RequestFingerprint,
    pub render: Render<T>,
}

impl<T> CatalogClaim<T> {
    pub fn new(
        staff_id: StaffId,
        key: IdempotencyKey,
        fingerprint: RequestFingerprint,
        render: impl FnOnce(Rendered<'_, T>) -> StoredResponse + Send + 'static,
    ) -> Self {
        Self {
            staff_id,
            key,
            fingerprint,
            render: Box::new(render),
        }
    }
}

impl<T> fmt::Debug for CatalogClaim<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatalogClaim")
            .field("staff_id", &self.staff_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The end of a unit that may carry a claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Claimed<T> {
    Committed {
        value: T,
        events: Vec<Event>,
        /// The answer stored with the claim (none without one).
        response: Option<StoredResponse>,
    },
    /// Refused; with a claim the refusal's answer was stored (and only that committed).
    Refused {
        error: CatalogError,
        response: Option<StoredResponse>,
    },
    /// The key was used before for this request: its first answer.
    Replayed(StoredResponse),
    /// The key was used before for another request.
    KeyMismatch,
    /// The key's first request is still running.
    KeyInProgress,
}

/// A change that committed, with the events it appended (to publish).
#[derive(Debug, Clone, PartialEq)]
pub struct Written<T> {
    pub value: T,
    pub events: Vec<Event>,
}

// ----- the port -----------------------------------------------------------------------------

/// Filters of the back-office product list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFilter {
    pub category_id: Option<CategoryId>,
    /// Retired products too.
    pub include_inactive: bool,
}

/// The back office's store. Every write is one transaction: lock the row, apply the patch
/// with this module's functions, write, append the audit row and the event from
/// [`change_effects`]; a refusal (any `Err`) writes nothing.
///
/// Errors: an unknown id → `CatalogError::NotFound(<entity>)`; a unique constraint →
/// `CatalogError::Taken` (through `From<StoreError>`).
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Every category, retired ones too, in menu order.
    async fn all_categories(&self) -> Result<Vec<Category>, StoreError>;
    async fn category(&self, id: CategoryId) -> Result<Category, StoreError>;
    async fn create_category(
        &self,
        new: NewCategory,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Category>>,
    ) -> Result<Claimed<Category>, StoreError>;
    async fn update_category(
        &self,
        id: CategoryId,
        patch: CategoryPatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Category>>,
    ) -> Result<Claimed<Category>, StoreError>;
    /// `CatalogError::CategoryInUse` naming every product (retired ones too) that uses it.
    async fn delete_category(
        &self,
        id: CategoryId,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, StoreError>;

    /// Products with all their modifiers (inactive ones too), in menu order.
    async fn all_products(&self, filter: ProductFilter) -> Result<Vec<Product>, StoreError>;
    async fn product(&self, id: ProductId) -> Result<Product, StoreError>;
    /// The product's currency must be the venue's (the service passes it).
    async fn create_product(
        &self,
        new: NewProduct,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError>;
    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError>;
    /// 86 (`false`) or back (`true`).
    async fn set_availability(
        &self,
        id: ProductId,
        available: bool,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError>;
    /// Applies [`apply_stock`] under the product's row lock, records a [`StockMovement`].
    async fn change_stock(
        &self,
        id: ProductId,
        command: StockCommand,
        reason: String,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError>;
    /// Newest first.
    async fn stock_movements(&self, id: ProductId, limit: i64) -> Result<Vec<StockMovement>, StoreError>;

    async fn create_modifier(
        &self,
        product: ProductId,
        new: NewModifier,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Modifier>>,
    ) -> Result<Claimed<Modifier>, StoreError>;
    async fn update_modifier(
        &self,
        id: ModifierId,
        patch: ModifierPatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Modifier>>,
    ) -> Result<Claimed<Modifier>, StoreError>;
    async fn delete_modifier(
        &self,
        id: ModifierId,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, StoreError>;

    /// Every table, retired ones too, in floor order.
    async fn all_tables(&self) -> Result<Vec<Table>, StoreError>;
    async fn table(&self, id: TableId) -> Result<Table, StoreError>;
    async fn create_table(
        &self,
        new: NewTable,
        image_url: Option<String>,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Table>>,
    ) -> Result<Claimed<Table>, StoreError>;
    async fn update_table(
        &self,
        id: TableId,
        patch: TablePatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Table>>,
    ) -> Result<Claimed<Table>, StoreError>;
    /// Retires the table (orders keep pointing at it); `TableInUse` while it has unfinished
    /// orders.
    async fn delete_table(
        &self,
        id: TableId,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, StoreError>;

    /// Applies `patch` to the stored settings under a row lock, refusing a currency change
    /// while any product is priced in another currency (`CurrencyInUse`).
    async fn update_settings(
        &self,
        patch: SettingsPatch,
        ctx: ChangeContext,
    ) -> Result<Written<Settings>, CatalogError>;
}

// ----- the service --------------------------------------------------------------------------

/// The back-office use cases: the permission check, then the store, then the wake-up of
/// every terminal (best effort: the events are in the log).
#[derive(Clone)]
pub struct CatalogService {
    store: Arc<dyn CatalogStore>,
    settings: Arc<dyn crate::ports::SettingsStore>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
}

impl CatalogService {
    pub fn new(
        store: Arc<dyn CatalogStore>,
        settings: Arc<dyn crate::ports::SettingsStore>,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            settings,
            bus,
            clock,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn publish(&self, events: &[Event]) {
        for event in events {
            // A lost wake-up only delays screens: subscribers catch up from the log.
            let _ = self.bus.publish(event).await;
        }
    }

    async fn written<T>(&self, result: Result<Written<T>, CatalogError>) -> Result<T, CatalogError> {
        let written = result?;
        self.publish(&written.events).await;
        Ok(written.value)
    }

    /// The venue's currency, in which every price is given.
    pub async fn currency(&self, who: Requester) -> Result<Currency, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        Ok(self.settings.get_settings().await?.currency)
    }

    pub async fn categories(&self, who: Requester) -> Result<Vec<Category>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        Ok(self.store.all_categories().await?)
    }

    pub async fn category(&self, who: Requester, id: CategoryId) -> Result<Category, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        Ok(self.store.category(id).await?)
    }

    /// Publishes what a unit committed (best effort: the events are in the log).
    async fn claimed<T>(&self, unit: Result<Claimed<T>, StoreError>) -> Result<Claimed<T>, CatalogError> {
        let unit = unit?;
        if let Claimed::Committed { events, .. } = &unit {
            self.publish(events).await;
        }
        Ok(unit)
    }

    pub async fn create_category(
        &self,
        who: Requester,
        new: NewCategory,
        claim: Option<CatalogClaim<Category>>,
    ) -> Result<Claimed<Category>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.create_category(new, who.into(), claim).await)
            .await
    }

    pub async fn update_category(
        &self,
        who: Requester,
        id: CategoryId,
        patch: CategoryPatch,
        claim: Option<CatalogClaim<Category>>,
    ) -> Result<Claimed<Category>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.update_category(id, patch, who.into(), claim).await)
            .await
    }

    pub async fn delete_category(
        &self,
        who: Requester,
        id: CategoryId,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.delete_category(id, who.into(), claim).await)
            .await
    }

    pub async fn products(
        &self,
        who: Requester,
        filter: ProductFilter,
    ) -> Result<Vec<Product>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        Ok(self.store.all_products(filter).await?)
    }

    pub async fn product(&self, who: Requester, id: ProductId) -> Result<Product, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        Ok(self.store.product(id).await?)
    }

    pub async fn create_product(
        &self,
        who: Requester,
        new: NewProduct,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.create_product(new, who.into(), claim).await)
            .await
    }

    pub async fn update_product(
        &self,
        who: Requester,
        id: ProductId,
        patch: ProductPatch,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.update_product(id, patch, who.into(), claim).await)
            .await
    }

    /// Retires a product: it leaves the menu; past orders keep pointing at it.
    pub async fn retire_product(
        &self,
        who: Requester,
        id: ProductId,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, CatalogError> {
        let patch = ProductPatch {
            active: Some(false),
            ..ProductPatch::default()
        };
        self.update_product(who, id, patch, claim).await
    }

    pub async fn set_availability(
        &self,
        who: Requester,
        id: ProductId,
        available: bool,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(
            self.store
                .set_availability(id, available, who.into(), claim)
                .await,
        )
        .await
    }

    pub async fn change_stock(
        &self,
        who: Requester,
        id: ProductId,
        command: StockCommand,
        reason: String,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(
            self.store
                .change_stock(id, command, reason, who.into(), claim)
                .await,
        )
        .await
    }

    pub async fn stock_movements(
        &self,
        who: Requester,
        id: ProductId,
        limit: i64,
    ) -> Result<Vec<StockMovement>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.store.product(id).await?;
        Ok(self.store.stock_movements(id, limit.clamp(1, 500)).await?)
    }

    pub async fn create_modifier(
        &self,
        who: Requester,
        product: ProductId,
        new: NewModifier,
        claim: Option<CatalogClaim<Modifier>>,
    ) -> Result<Claimed<Modifier>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.create_modifier(product, new, who.into(), claim).await)
            .await
    }

    pub async fn update_modifier(
        &self,
        who: Requester,
        id: ModifierId,
        patch: ModifierPatch,
        claim: Option<CatalogClaim<Modifier>>,
    ) -> Result<Claimed<Modifier>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.update_modifier(id, patch, who.into(), claim).await)
            .await
    }

    pub async fn delete_modifier(
        &self,
        who: Requester,
        id: ModifierId,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.delete_modifier(id, who.into(), claim).await)
            .await
    }

    pub async fn tables(&self, who: Requester) -> Result<Vec<Table>, CatalogError> {
        approval::require(who.actor, Action::EditTables)?;
        Ok(self.store.all_tables().await?)
    }

    pub async fn table(&self, who: Requester, id: TableId) -> Result<Table, CatalogError> {
        approval::require(who.actor, Action::EditTables)?;
        Ok(self.store.table(id).await?)
    }

    pub async fn create_table(
        &self,
        who: Requester,
        new: NewTable,
        image_url: Option<String>,
        claim: Option<CatalogClaim<Table>>,
    ) -> Result<Claimed<Table>, CatalogError> {
        approval::require(who.actor, Action::EditTables)?;
        self.claimed(self.store.create_table(new, image_url, who.into(), claim).await)
            .await
    }

    pub async fn update_table(
        &self,
        who: Requester,
        id: TableId,
        patch: TablePatch,
        claim: Option<CatalogClaim<Table>>,
    ) -> Result<Claimed<Table>, CatalogError> {
        approval::require(who.actor, Action::EditTables)?;
        self.claimed(self.store.update_table(id, patch, who.into(), claim).await)
            .await
    }

    pub async fn delete_table(
        &self,
        who: Requester,
        id: TableId,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, CatalogError> {
        approval::require(who.actor, Action::EditTables)?;
        self.claimed(self.store.delete_table(id, who.into(), claim).await)
            .await
    }

    pub async fn settings(&self, who: Requester) -> Result<Settings, CatalogError> {
        approval::require(who.actor, Action::ManageSettings)?;
        Ok(self.settings.get_settings().await?)
    }

    pub async fn update_settings(
        &self,
        who: Requester,
        patch: SettingsPatch,
    ) -> Result<Settings, CatalogError> {
        approval::require(who.actor, Action::ManageSettings)?;
        self.written(self.store.update_settings(patch, who.into()).await)
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn number(raw: &str) -> serde_json::Number {
        serde_json::from_str(raw).unwrap()
    }

    #[test]
    fn prices_are_whole_non_negative_minor_units_and_name_their_field() {
        assert_eq!(
            price("price", &number("1500"), Currency::Ugx),
            Ok(Money::new(1500, Currency::Ugx))
        );
        let fraction = price("price", &number("1500.5"), Currency::Ugx).unwrap_err();
        assert_eq!(fraction.field, "price");
        assert!(
            fraction.message.contains("UGX has no fractional unit"),
            "{}",
            fraction.message
        );
        let negative = price("happy_hour_price", &number("-1"), Currency::Ugx).unwrap_err();
        assert_eq!(negative.field, "happy_hour_price");
        assert!(price("price", &number("12.5"), Currency::Usd).is_err());
        assert!(price("price", &number("1e13"), Currency::Usd).is_err());
        assert!(price("price", &number("18446744073709551615"), Currency::Usd).is_err());
    }

    #[test]
    fn stock_counts_adjustments_and_their_limits() {
        assert_eq!(
            apply_stock(Some(5), StockCommand::Adjust(-2)),
            Ok(StockOutcome {
                stock_qty: Some(3),
                delta: -2
            })
        );
        assert_eq!(
            apply_stock(Some(1), StockCommand::Adjust(-2)),
            Err(CatalogError::StockBelowZero { left: 1 })
        );
        assert_eq!(
            apply_stock(None, StockCommand::Adjust(3)),
            Err(CatalogError::StockNotTracked)
        );
        assert!(matches!(
            apply_stock(Some(1), StockCommand::Adjust(0)),
            Err(CatalogError::Invalid(e)) if e.field == "adjust"
        ));
        assert_eq!(
            apply_stock(None, StockCommand::Set(Some(12))),
            Ok(StockOutcome {
                stock_qty: Some(12),
                delta: 12
            })
        );
        assert!(matches!(
            apply_stock(None, StockCommand::Set(Some(-1))),
            Err(CatalogError::Invalid(e)) if e.field == "set"
        ));
        assert_eq!(
            apply_stock(Some(4), StockCommand::Set(None)),
            Ok(StockOutcome {
                stock_qty: None,
                delta: 0
            })
        );
    }

    #[test]
    fn settings_patches_are_validated_whole_and_name_the_field() {
        let base = Settings::defaults("Cafe");
        let bad = |patch: SettingsPatch| patch.apply(&base).unwrap_err().field;
        assert_eq!(
            bad(SettingsPatch {
                vat_rate_bp: Some(10_001),
                ..SettingsPatch::default()
            }),
            "vat_rate_bp"
        );
        assert_eq!(
            bad(SettingsPatch {
                backup_retention_days: Some(0),
                ..SettingsPatch::default()
            }),
            "backup_retention_days"
        );
        assert_eq!(
            bad(SettingsPatch {
                business_day_cutoff_hour: Some(24),
                ..SettingsPatch::default()
            }),
            "business_day_cutoff_hour"
        );
        assert_eq!(
            bad(SettingsPatch {
                currency: Some("XYZ".into()),
                ..SettingsPatch::default()
            }),
            "currency"
        );
        assert_eq!(
            bad(SettingsPatch {
                kds_warning_minutes: Some(30),
                kds_late_minutes: Some(20),
                ..SettingsPatch::default()
            }),
            "kds_late_minutes"
        );
        assert_eq!(
            bad(SettingsPatch {
                vat_rate_bp: Some(i64::MAX),
                ..SettingsPatch::default()
            }),
            "vat_rate_bp"
        );
        let ok = SettingsPatch {
            currency: Some("KES".into()),
            vat_rate_bp: Some(1600),
            happy_hour_start: Some("17:30".into()),
            ..SettingsPatch::default()
        }
        .apply(&base)
        .unwrap();
        assert_eq!(ok.currency, Currency::Kes);
        assert_eq!(ok.shift_variance_threshold.currency(), Currency::Kes);
    }

    #[test]
    fn image_paths_stay_under_the_upload_route() {
        assert_eq!(
            image_url("image_url", Some("/pos-images/products/a.webp")),
            Ok(Some("/pos-images/products/a.webp".into()))
        );
        assert_eq!(image_url("image_url", Some(" ")), Ok(None));
        assert!(image_url("image_url", Some("/pos-images/../etc/passwd")).is_err());
        assert!(image_url("image_url", Some("file:///etc/passwd")).is_err());
    }

    #[test]
    fn effects_carry_before_and_after_and_pick_the_topic() {
        let ctx = ChangeContext {
            actor: StaffId::new(),
            terminal: None,
        };
        let (audit, event) = change_effects(
            ctx,
            CatalogEntity::Product,
            Some("p1".into()),
            CatalogChange::Updated,
            Some(serde_json::json!({"price": 1})),
            Some(serde_json::json!({"price": 2, "available": false})),
        );
        assert_eq!(audit.action, "product.updated");
        assert_eq!(audit.before, Some(serde_json::json!({"price": 1})));
        assert_eq!(event.event_type, "menu.updated");
        assert_eq!(event.payload["available"], serde_json::json!(false));
        let (_, table) = change_effects(
            ctx,
            CatalogEntity::Table,
            None,
            CatalogChange::Created,
            None,
            None,
        );
        assert_eq!(
            (table.event_type.as_str(), table.topic.as_str()),
            ("table.updated", "tables")
        );
    }
}
