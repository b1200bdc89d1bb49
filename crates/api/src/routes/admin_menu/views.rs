//! What the back-office routes answer with.

use chrono::{DateTime, NaiveTime, Utc};
use pos_domain::Currency;
use pos_domain::catalog::StockMovement;
use pos_domain::ids::{CategoryId, ModifierId, ProductId, StaffId, TableId};
use pos_domain::settings::Settings;
use pos_domain::staff::Station;
use pos_domain::venue::{Category, Modifier, Product, Table};
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::StationSchema;

/// A category as the back office edits it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminCategoryView {
    #[schema(value_type = uuid::Uuid)]
    pub id: CategoryId,
    pub name: String,
    /// Where its products are prepared unless a product says otherwise.
    #[schema(value_type = Option<StationSchema>)]
    pub default_station: Option<Station>,
    pub sort_order: i32,
    /// False: hidden from the menu.
    pub active: bool,
}

impl From<&Category> for AdminCategoryView {
    fn from(c: &Category) -> Self {
        Self {
            id: c.id,
            name: c.name.as_str().to_owned(),
            default_station: c.default_station,
            sort_order: c.sort_order,
            active: c.active,
        }
    }
}

/// A modifier with its price (minor units of the product's currency).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminModifierView {
    #[schema(value_type = uuid::Uuid)]
    pub id: ModifierId,
    #[schema(value_type = uuid::Uuid)]
    pub product_id: ProductId,
    pub name: String,
    pub price: i64,
    pub active: bool,
}

impl From<&Modifier> for AdminModifierView {
    fn from(m: &Modifier) -> Self {
        Self {
            id: m.id,
            product_id: m.product_id,
            name: m.name.as_str().to_owned(),
            price: m.price.minor(),
            active: m.active,
        }
    }
}

/// A product as the back office edits it: every modifier, retired ones too.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminProductView {
    #[schema(value_type = uuid::Uuid)]
    pub id: ProductId,
    pub sku: String,
    pub name: String,
    #[schema(value_type = uuid::Uuid)]
    pub category_id: CategoryId,
    pub section: Option<String>,
    /// Minor units of `currency`.
    pub price: i64,
    #[schema(value_type = String, example = "UGX")]
    pub currency: Currency,
    /// Price inside the daily happy-hour window (settings), if it takes part.
    pub happy_hour_price: Option<i64>,
    /// `null`: the category's station.
    #[schema(value_type = Option<StationSchema>)]
    pub station: Option<Station>,
    /// False when 86'd.
    pub available: bool,
    /// False when retired from the menu.
    pub active: bool,
    /// A path under `/pos-images/` (set by the image upload) or an https URL.
    pub image_url: Option<String>,
    pub sort_order: i32,
    /// Units left; `null`: not tracked.
    pub stock_qty: Option<i32>,
    pub modifiers: Vec<AdminModifierView>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Product> for AdminProductView {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id,
            sku: p.sku.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            category_id: p.category_id,
            section: p.section.clone(),
            price: p.price.minor(),
            currency: p.price.currency(),
            happy_hour_price: p.happy_hour_price.map(|m| m.minor()),
            station: p.station,
            available: p.available,
            active: p.active,
            image_url: p.image_url.clone(),
            sort_order: p.sort_order,
            stock_qty: p.stock_qty,
            modifiers: p.modifiers.iter().map(AdminModifierView::from).collect(),
            updated_at: p.updated_at,
        }
    }
}

/// One stock count or adjustment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockMovementView {
    pub id: uuid::Uuid,
    #[schema(value_type = uuid::Uuid)]
    pub product_id: ProductId,
    /// `count`, `adjust` or `untrack`.
    pub kind: String,
    pub delta: i32,
    pub stock_after: Option<i32>,
    pub reason: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub staff_id: Option<StaffId>,
    pub created_at: DateTime<Utc>,
}

impl From<&StockMovement> for StockMovementView {
    fn from(m: &StockMovement) -> Self {
        Self {
            id: m.id,
            product_id: m.product_id,
            kind: m.kind.clone(),
            delta: m.delta,
            stock_after: m.stock_after,
            reason: m.reason.clone(),
            staff_id: m.staff_id,
            created_at: m.created_at,
        }
    }
}

/// A table as the back office edits it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminTableView {
    #[schema(value_type = uuid::Uuid)]
    pub id: TableId,
    pub code: String,
    pub area: Option<String>,
    pub seats: i32,
    pub image_url: Option<String>,
    pub sort_order: i32,
    /// False: retired from the floor.
    pub active: bool,
}

impl From<&Table> for AdminTableView {
    fn from(t: &Table) -> Self {
        Self {
            id: t.id,
            code: t.code.as_str().to_owned(),
            area: t.area.clone(),
            seats: t.seats,
            image_url: t.image_url.clone(),
            sort_order: t.sort_order,
            active: t.active,
        }
    }
}

/// The venue settings. Rates are basis points (1600 = 16 %); amounts minor units.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SettingsView {
    pub cafe_name: String,
    #[schema(value_type = String, example = "UGX")]
    pub currency: Currency,
    pub vat_rate_bp: i32,
    pub prices_include_tax: bool,
    pub service_charge_bp: i32,
    pub receipt_footer: String,
    /// Largest discount a cashier gives without approval, basis points of the order.
    pub cashier_discount_limit_bp: i32,
    pub backup_retention_days: i32,
    /// Hour (venue local time) at which the business day changes.
    pub business_day_cutoff_hour: i32,
    pub utc_offset_minutes: i32,
    #[schema(value_type = String, example = "16:00:00")]
    pub happy_hour_start: NaiveTime,
    #[schema(value_type = String, example = "19:00:00")]
    pub happy_hour_end: NaiveTime,
    pub shift_variance_threshold: i64,
    /// KDS tickets older than this (minutes) show as waiting long.
    pub kds_warning_minutes: i32,
    /// … and older than this as late.
    pub kds_late_minutes: i32,
}

impl From<&Settings> for SettingsView {
    fn from(s: &Settings) -> Self {
        Self {
            cafe_name: s.cafe_name.clone(),
            currency: s.currency,
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
}
