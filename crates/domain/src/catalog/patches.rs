//! Patches of categories, products, modifiers, tables and settings, and the stock rules.

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CategoryId, ProductId, StaffId};
use crate::money::{Currency, Money};
use crate::settings::Settings;
use crate::staff::Station;
use crate::validate::{Label, Sku, ValidationError};
use crate::venue::{Category, Product, Table};

use super::{CatalogError, price};

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
