//! What the back-office routes are sent: request bodies and queries.

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::dto::{StationSchema, double_option};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Desserts", "default_station": "kitchen", "sort_order": 3}))]
pub struct CreateCategoryRequest {
    pub name: String,
    #[serde(default)]
    #[schema(value_type = Option<StationSchema>)]
    pub default_station: Option<String>,
    #[serde(default)]
    pub sort_order: Option<i64>,
}

/// Absent fields are left alone; `null` clears `default_station`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategoryRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<StationSchema>)]
    pub default_station: Option<Option<String>>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// Prices are whole numbers of minor units of the venue currency (UGX: shillings).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"sku": "DES-001", "name": "Chocolate cake", "category_id": "0193b5e4-6f7a-7c3e-9a51-0c2f3d4e5f60", "price": 12000}))]
pub struct CreateProductRequest {
    pub sku: String,
    pub name: String,
    pub category_id: uuid::Uuid,
    #[serde(default)]
    pub section: Option<String>,
    #[schema(value_type = i64, minimum = 0)]
    pub price: serde_json::Number,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub happy_hour_price: Option<serde_json::Number>,
    /// `null`: the category's station.
    #[serde(default)]
    #[schema(value_type = Option<StationSchema>)]
    pub station: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    /// Units on hand; absent or `null`: not tracked.
    #[serde(default)]
    pub stock_qty: Option<i64>,
}

/// Absent fields are left alone; `null` clears the optional ones. `available: false` 86es
/// the product (see also `POST …/availability`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"price": 13000}))]
pub struct UpdateProductRequest {
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub category_id: Option<uuid::Uuid>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub section: Option<Option<String>>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub price: Option<serde_json::Number>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub happy_hour_price: Option<Option<serde_json::Number>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<StationSchema>)]
    pub station: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub image_url: Option<Option<String>>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub available: Option<bool>,
}

/// 86 (`false`) or back on the menu (`true`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"available": false}))]
pub struct AvailabilityRequest {
    pub available: bool,
}

/// Exactly one of `set` (a count; `null` stops tracking) and `adjust` (units received, or
/// negative for waste), with the reason kept on the movement.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"adjust": -2, "reason": "dropped two bottles"}))]
pub struct StockRequest {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub set: Option<Option<i64>>,
    #[serde(default)]
    pub adjust: Option<i64>,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Extra shot", "price": 2000}))]
pub struct CreateModifierRequest {
    pub name: String,
    /// Minor units; default 0.
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub price: Option<serde_json::Number>,
    #[serde(default)]
    pub sort_order: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateModifierRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub price: Option<serde_json::Number>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "T16", "area": "Terrace", "seats": 4}))]
pub struct CreateTableRequest {
    pub code: String,
    #[serde(default)]
    pub area: Option<String>,
    #[schema(minimum = 1, maximum = 1000)]
    pub seats: i64,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub sort_order: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTableRequest {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub area: Option<Option<String>>,
    #[serde(default)]
    pub seats: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub image_url: Option<Option<String>>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    /// `false` retires the table (refused while it has unfinished orders).
    #[serde(default)]
    pub active: Option<bool>,
}

/// Any subset of the settings; the result is validated whole and the first bad field named.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"vat_rate_bp": 1800, "receipt_footer": "Asante!"}))]
pub struct UpdateSettingsRequest {
    pub cafe_name: Option<String>,
    /// ISO 4217: UGX, KES, TZS, RWF, USD, EUR or GBP (refused while products are priced in
    /// another).
    pub currency: Option<String>,
    /// 0–10000 (0–100 %).
    pub vat_rate_bp: Option<i64>,
    pub prices_include_tax: Option<bool>,
    pub service_charge_bp: Option<i64>,
    /// At most 500 characters.
    pub receipt_footer: Option<String>,
    pub cashier_discount_limit_bp: Option<i64>,
    /// 1–3650.
    pub backup_retention_days: Option<i64>,
    /// 0–23.
    pub business_day_cutoff_hour: Option<i64>,
    pub utc_offset_minutes: Option<i64>,
    /// `HH:MM`.
    pub happy_hour_start: Option<String>,
    pub happy_hour_end: Option<String>,
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub shift_variance_threshold: Option<serde_json::Number>,
    /// 1–240.
    pub kds_warning_minutes: Option<i64>,
    /// Above `kds_warning_minutes`, at most 480.
    pub kds_late_minutes: Option<i64>,
}

/// Filters of the product list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductListQuery {
    /// Only this category's products.
    pub category_id: Option<uuid::Uuid>,
    /// Retired products too (default false).
    pub include_inactive: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MovementsQuery {
    /// 1–500, default 50.
    pub limit: Option<i64>,
}
