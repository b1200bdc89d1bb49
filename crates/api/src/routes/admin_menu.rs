//! The back office (spec §7, issue 11 item 1): `/api/admin/categories`, `/api/admin/products`
//! (with 86 and stock), `/api/admin/modifiers`, `/api/admin/tables` and
//! `/api/admin/settings`.
//!
//! Handlers parse the body into the domain's drafts and patches (each bad value names its
//! field), then call [`pos_domain::catalog::CatalogService`], which checks the permission
//! matrix (`edit_menu`, `edit_tables`, `manage_settings`) and has the store write the change
//! with its audit row (before/after) and its `menu.updated` / `table.updated` event in one
//! transaction. Every create, change and delete takes an optional `Idempotency-Key`, claimed
//! and answered in that transaction (`CatalogClaim`): a retry replays the first answer, the
//! same key with another body is refused.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, delete, get, patch, post, web};
use chrono::{DateTime, NaiveTime, Utc};
use pos_domain::Currency;
use pos_domain::catalog::{
    self, CatalogClaim, CatalogError, CatalogService, CategoryPatch, Claimed, ModifierPatch, NewModifier,
    ProductFilter, ProductPatch, Rendered, SettingsPatch, StockCommand, StockMovement, TablePatch,
};
use pos_domain::idempotency::StoredResponse;
use pos_domain::ids::{CategoryId, ModifierId, ProductId, StaffId, TableId};
use pos_domain::permissions::Action;
use pos_domain::settings::Settings;
use pos_domain::staff::Station;
use pos_domain::validate::{Label, Sku, ValidationError};
use pos_domain::venue::{Category, Modifier, NewCategory, NewProduct, NewTable, Product, Table};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::dto::{StationSchema, double_option};
use crate::error::{ApiError, ProblemDetails};
use crate::extract::{Json, Path, Query};
use crate::idempotency::{
    KeyRule, RawBody, fingerprint, idempotency_key, in_progress, json_response, key_reused, problem_response,
    respond_with,
};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_categories)
        .service(create_category)
        .service(get_category)
        .service(update_category)
        .service(delete_category)
        .service(list_products)
        .service(create_product)
        .service(get_product)
        .service(update_product)
        .service(delete_product)
        .service(set_availability)
        .service(change_stock)
        .service(list_stock_movements)
        .service(create_modifier)
        .service(update_modifier)
        .service(delete_modifier)
        .service(list_tables)
        .service(create_table)
        .service(get_table)
        .service(update_table)
        .service(delete_table)
        .service(get_settings)
        .service(update_settings);
}

const IDEMPOTENCY_KEY_DOC: &str =
    "A fresh UUID per user action: a retry with the same key replays the first answer";

fn service(state: &AppState) -> Result<&CatalogService, ApiError> {
    state
        .catalog
        .as_deref()
        .ok_or_else(|| ApiError::Unavailable("the catalog store is not configured".to_owned()))
}

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        let field = error.field();
        let code = error.code();
        match error {
            CatalogError::Invalid(e) => ApiError::Validation(e),
            CatalogError::NotPermitted(e) => e.into(),
            CatalogError::NotFound(entity) => ApiError::NotFound(format!("{entity} not found")),
            CatalogError::Store(e) => e.into(),
            other => ApiError::Conflict {
                code,
                detail: other.to_string(),
                field,
            },
        }
    }
}

// ----- views --------------------------------------------------------------------------------

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

// ----- request bodies -----------------------------------------------------------------------

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

// ----- parsing ------------------------------------------------------------------------------

fn station(field: &str, raw: &str) -> Result<Station, ValidationError> {
    Station::parse(raw).map_err(|e| ValidationError::new(field, e.message))
}

fn label(field: &str, raw: &str) -> Result<Label, ValidationError> {
    Label::parse_field(field, raw)
}

fn sku(raw: &str) -> Result<Sku, ValidationError> {
    Sku::parse(raw)
}

// ----- categories ---------------------------------------------------------------------------

/// Every category, retired ones too.
#[utoipa::path(
    tag = "admin_menu",
    responses((status = 200, description = "Categories in menu order", body = Vec<AdminCategoryView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[get("/admin/categories")]
pub async fn list_categories(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<AdminCategoryView>>, ApiError> {
    auth.require(Action::EditMenu)?;
    let categories = service(&state)?.categories(auth.requester()).await?;
    Ok(web::Json(
        categories.iter().map(AdminCategoryView::from).collect(),
    ))
}

/// Add a category.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = CreateCategoryRequest,
    responses(
        (status = 201, description = "Created", body = AdminCategoryView),
        (status = 409, description = "`category_name_taken`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[post("/admin/categories")]
pub async fn create_category(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditMenu)?;
    let render = answer::<Category, AdminCategoryView>(StatusCode::CREATED);
    let claim = claim(&auth, &req, &body, render)?;
    let body: CreateCategoryRequest = body.json()?;
    let new = NewCategory {
        name: label("name", &body.name)?,
        default_station: body
            .default_station
            .as_deref()
            .map(|s| station("default_station", s))
            .transpose()?,
        sort_order: body
            .sort_order
            .map(|o| catalog::sort_order("sort_order", o))
            .transpose()?
            .unwrap_or(0),
    };
    let unit = service(&state)?
        .create_category(auth.requester(), new, claim)
        .await?;
    respond(unit, render)
}

/// One category.
#[utoipa::path(
    tag = "admin_menu",
    params(("category_id" = uuid::Uuid, Path, description = "The category")),
    responses((status = 200, description = "The category", body = AdminCategoryView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[get("/admin/categories/{category_id}")]
pub async fn get_category(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(CategoryId,)>,
) -> Result<web::Json<AdminCategoryView>, ApiError> {
    auth.require(Action::EditMenu)?;
    let category = service(&state)?
        .category(auth.requester(), id.into_inner().0)
        .await?;
    Ok(web::Json(AdminCategoryView::from(&category)))
}

/// Rename, re-station, reorder, hide or show a category.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("category_id" = uuid::Uuid, Path, description = "The category"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = UpdateCategoryRequest,
    responses(
        (status = 200, description = "Updated", body = AdminCategoryView),
        (status = 409, description = "`category_name_taken`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[patch("/admin/categories/{category_id}")]
pub async fn update_category(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(CategoryId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditMenu)?;
    let render = answer::<Category, AdminCategoryView>(StatusCode::OK);
    let claim = claim(&auth, &req, &body, render)?;
    let body: UpdateCategoryRequest = body.json()?;
    let patch = CategoryPatch {
        name: body.name.as_deref().map(|n| label("name", n)).transpose()?,
        default_station: body
            .default_station
            .map(|s| s.as_deref().map(|s| station("default_station", s)).transpose())
            .transpose()?,
        sort_order: body
            .sort_order
            .map(|o| catalog::sort_order("sort_order", o))
            .transpose()?,
        active: body.active,
    };
    let unit = service(&state)?
        .update_category(auth.requester(), id.into_inner().0, patch, claim)
        .await?;
    respond(unit, render)
}

/// Delete a category no product uses (retired products count: they still point at it).
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("category_id" = uuid::Uuid, Path, description = "The category"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`category_in_use`: the detail names the products that use it", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[delete("/admin/categories/{category_id}")]
pub async fn delete_category(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(CategoryId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditMenu)?;
    let claim = claim(&auth, &req, &body, no_content)?;
    let unit = service(&state)?
        .delete_category(auth.requester(), id.into_inner().0, claim)
        .await?;
    respond(unit, no_content)
}

// ----- products -----------------------------------------------------------------------------

/// Products with all their modifiers, in menu order; active ones unless asked otherwise.
#[utoipa::path(
    tag = "admin_menu",
    params(ProductListQuery),
    responses((status = 200, description = "Products", body = Vec<AdminProductView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[get("/admin/products")]
pub async fn list_products(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: Query<ProductListQuery>,
) -> Result<web::Json<Vec<AdminProductView>>, ApiError> {
    auth.require(Action::EditMenu)?;
    let query = query.into_inner();
    let filter = ProductFilter {
        category_id: query.category_id.map(CategoryId::from_uuid),
        include_inactive: query.include_inactive.unwrap_or(false),
    };
    let products = service(&state)?.products(auth.requester(), filter).await?;
    Ok(web::Json(products.iter().map(AdminProductView::from).collect()))
}

/// Add a product, priced in the venue currency.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = CreateProductRequest,
    responses(
        (status = 201, description = "Created", body = AdminProductView),
        (status = 409, description = "`sku_taken`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[post("/admin/products")]
pub async fn create_product(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditMenu)?;
    let svc = service(&state)?;
    let render = answer::<Product, AdminProductView>(StatusCode::CREATED);
    let claim = claim(&auth, &req, &body, render)?;
    let body: CreateProductRequest = body.json()?;
    let currency = svc.currency(auth.requester()).await?;
    let stock_qty = match body.stock_qty {
        None => None,
        Some(q) if (0..=i64::from(catalog::MAX_STOCK)).contains(&q) => i32::try_from(q).ok(),
        Some(_) => {
            return Err(ValidationError::new(
                "stock_qty",
                format!("must be between 0 and {}", catalog::MAX_STOCK),
            )
            .into());
        }
    };
    let new = NewProduct {
        sku: sku(&body.sku)?,
        name: label("name", &body.name)?,
        category_id: CategoryId::from_uuid(body.category_id),
        section: catalog::optional_label("section", body.section.as_deref())?,
        price: catalog::price("price", &body.price, currency)?,
        station: body
            .station
            .as_deref()
            .map(|s| station("station", s))
            .transpose()?,
        image_url: catalog::image_url("image_url", body.image_url.as_deref())?,
        sort_order: body
            .sort_order
            .map(|o| catalog::sort_order("sort_order", o))
            .transpose()?
            .unwrap_or(0),
        happy_hour_price: body
            .happy_hour_price
            .as_ref()
            .map(|p| catalog::price("happy_hour_price", p, currency))
            .transpose()?,
        stock_qty,
    };
    respond(svc.create_product(auth.requester(), new, claim).await?, render)
}

/// One product with all its modifiers.
#[utoipa::path(
    tag = "admin_menu",
    params(("product_id" = uuid::Uuid, Path, description = "The product")),
    responses((status = 200, description = "The product", body = AdminProductView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[get("/admin/products/{product_id}")]
pub async fn get_product(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(ProductId,)>,
) -> Result<web::Json<AdminProductView>, ApiError> {
    auth.require(Action::EditMenu)?;
    let product = service(&state)?
        .product(auth.requester(), id.into_inner().0)
        .await?;
    Ok(web::Json(AdminProductView::from(&product)))
}

/// Change a product: price (audited with before and after), category, station, section,
/// happy-hour price, image, order, retire/restore, 86/back.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("product_id" = uuid::Uuid, Path, description = "The product"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = UpdateProductRequest,
    responses(
        (status = 200, description = "Updated", body = AdminProductView),
        (status = 409, description = "`sku_taken`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[patch("/admin/products/{product_id}")]
pub async fn update_product(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(ProductId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditMenu)?;
    let svc = service(&state)?;
    let render = answer::<Product, AdminProductView>(StatusCode::OK);
    let claim = claim(&auth, &req, &body, render)?;
    let body: UpdateProductRequest = body.json()?;
    let currency = svc.currency(auth.requester()).await?;
    let patch = ProductPatch {
        sku: body.sku.as_deref().map(sku).transpose()?,
        name: body.name.as_deref().map(|n| label("name", n)).transpose()?,
        category_id: body.category_id.map(CategoryId::from_uuid),
        section: body
            .section
            .map(|s| catalog::optional_label("section", s.as_deref()))
            .transpose()?,
        price: body
            .price
            .as_ref()
            .map(|p| catalog::price("price", p, currency))
            .transpose()?,
        happy_hour_price: body
            .happy_hour_price
            .map(|p| {
                p.as_ref()
                    .map(|p| catalog::price("happy_hour_price", p, currency))
                    .transpose()
            })
            .transpose()?,
        station: body
            .station
            .map(|s| s.as_deref().map(|s| station("station", s)).transpose())
            .transpose()?,
        image_url: body
            .image_url
            .map(|i| catalog::image_url("image_url", i.as_deref()))
            .transpose()?,
        sort_order: body
            .sort_order
            .map(|o| catalog::sort_order("sort_order", o))
            .transpose()?,
        active: body.active,
        available: body.available,
    };
    let unit = svc
        .update_product(auth.requester(), id.into_inner().0, patch, claim)
        .await?;
    respond(unit, render)
}

/// Retire a product: it leaves the menu; orders that had it keep it. Restore with
/// `PATCH {"active": true}`.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("product_id" = uuid::Uuid, Path, description = "The product"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    responses((status = 200, description = "Retired", body = AdminProductView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[delete("/admin/products/{product_id}")]
pub async fn delete_product(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(ProductId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditMenu)?;
    let render = answer::<Product, AdminProductView>(StatusCode::OK);
    let claim = claim(&auth, &req, &body, render)?;
    let unit = service(&state)?
        .retire_product(auth.requester(), id.into_inner().0, claim)
        .await?;
    respond(unit, render)
}

fn render_refusal(error: &CatalogError) -> StoredResponse {
    let api = ApiError::from(error.clone());
    let status = api.status_code();
    let mut problem = api.problem();
    problem.request_id = None;
    problem_response(&problem, status)
}

/// How a committed change answers (`status`, the entity as `V`) and a refusal, alike for the
/// client and for the answer stored with an `Idempotency-Key`.
fn answer<T, V>(status: StatusCode) -> impl Fn(Rendered<'_, T>) -> StoredResponse + Copy + Send + 'static
where
    V: Serialize + for<'a> From<&'a T>,
{
    move |rendered: Rendered<'_, T>| match rendered {
        Rendered::Committed(value) => json_response(status, &V::from(value)),
        Rendered::Refused(error) => render_refusal(error),
    }
}

/// A deletion's answer: `204 No Content`, or the refusal.
fn no_content(rendered: Rendered<'_, ()>) -> StoredResponse {
    match rendered {
        Rendered::Committed(()) => StoredResponse {
            status: StatusCode::NO_CONTENT.as_u16(),
            content_type: String::new(),
            body: Vec::new(),
        },
        Rendered::Refused(error) => render_refusal(error),
    }
}

/// The request's `Idempotency-Key` (optional), claimed with how its answer is rendered.
fn claim<T>(
    auth: &Authenticated,
    req: &HttpRequest,
    body: &RawBody,
    render: impl FnOnce(Rendered<'_, T>) -> StoredResponse + Send + 'static,
) -> Result<Option<CatalogClaim<T>>, ApiError> {
    let key = idempotency_key(req, KeyRule::Optional)?;
    Ok(key.map(|key| CatalogClaim::new(auth.actor.id, key, fingerprint(req, body.bytes()), render)))
}

/// The HTTP answer of a unit: the stored answer when there is one (first or replayed),
/// else `render`'s.
fn respond<T>(
    unit: Claimed<T>,
    render: impl Fn(Rendered<'_, T>) -> StoredResponse,
) -> Result<HttpResponse, ApiError> {
    match unit {
        Claimed::Committed { value, response, .. } => Ok(respond_with(
            response.unwrap_or_else(|| render(Rendered::Committed(&value))),
            false,
        )),
        Claimed::Refused {
            error,
            response: None,
        } => Err(error.into()),
        Claimed::Refused {
            response: Some(response),
            ..
        } => Ok(respond_with(response, false)),
        Claimed::Replayed(response) => Ok(respond_with(response, true)),
        Claimed::KeyMismatch => Err(key_reused()),
        Claimed::KeyInProgress => Err(in_progress()),
    }
}

/// 86 a product (`available: false`: it cannot be ordered) or bring it back, in one call.
/// Every terminal is told (`menu.updated`).
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("product_id" = uuid::Uuid, Path, description = "The product"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = AvailabilityRequest,
    responses(
        (status = 200, description = "The product, 86'd or back", body = AdminProductView),
        (status = 409, description = "`request_in_progress`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[post("/admin/products/{product_id}/availability")]
pub async fn set_availability(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(ProductId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditMenu)?;
    let svc = service(&state)?;
    let render = answer::<Product, AdminProductView>(StatusCode::OK);
    let claim = claim(&auth, &req, &body, render)?;
    let input: AvailabilityRequest = body.json()?;
    let unit = svc
        .set_availability(auth.requester(), id.into_inner().0, input.available, claim)
        .await?;
    respond(unit, render)
}

/// Set a stock count (`set`; `null` stops tracking) or adjust it (`adjust`), with a reason.
/// Each is recorded as a stock movement; a tracked stock never goes below zero.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("product_id" = uuid::Uuid, Path, description = "The product"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = StockRequest,
    responses(
        (status = 200, description = "The product with its new stock", body = AdminProductView),
        (status = 409, description = "`stock_below_zero`, `stock_not_tracked`, `request_in_progress`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[post("/admin/products/{product_id}/stock")]
pub async fn change_stock(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(ProductId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditMenu)?;
    let svc = service(&state)?;
    let render = answer::<Product, AdminProductView>(StatusCode::OK);
    let claim = claim(&auth, &req, &body, render)?;
    let input: StockRequest = body.json()?;
    let command = match (input.set, input.adjust) {
        (Some(set), None) => StockCommand::Set(
            set.map(|q| i32::try_from(q).map_err(|_| ValidationError::new("set", "is out of range")))
                .transpose()?,
        ),
        (None, Some(adjust)) => StockCommand::Adjust(
            i32::try_from(adjust).map_err(|_| ValidationError::new("adjust", "is out of range"))?,
        ),
        _ => {
            return Err(ValidationError::new("set", "give exactly one of set and adjust").into());
        }
    };
    let reason = catalog::stock_reason(&input.reason)?;
    let unit = svc
        .change_stock(auth.requester(), id.into_inner().0, command, reason, claim)
        .await?;
    respond(unit, render)
}

/// The product's stock counts and adjustments, newest first.
#[utoipa::path(
    tag = "admin_menu",
    params(("product_id" = uuid::Uuid, Path, description = "The product"), MovementsQuery),
    responses((status = 200, description = "Movements", body = Vec<StockMovementView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[get("/admin/products/{product_id}/stock-movements")]
pub async fn list_stock_movements(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(ProductId,)>,
    query: Query<MovementsQuery>,
) -> Result<web::Json<Vec<StockMovementView>>, ApiError> {
    auth.require(Action::EditMenu)?;
    let limit = query.into_inner().limit.unwrap_or(50);
    let movements = service(&state)?
        .stock_movements(auth.requester(), id.into_inner().0, limit)
        .await?;
    Ok(web::Json(movements.iter().map(StockMovementView::from).collect()))
}

// ----- modifiers ----------------------------------------------------------------------------

/// Add a modifier to a product.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("product_id" = uuid::Uuid, Path, description = "The product"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = CreateModifierRequest,
    responses(
        (status = 201, description = "Created", body = AdminModifierView),
        (status = 409, description = "`modifier_name_taken`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[post("/admin/products/{product_id}/modifiers")]
pub async fn create_modifier(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(ProductId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditMenu)?;
    let svc = service(&state)?;
    let render = answer::<Modifier, AdminModifierView>(StatusCode::CREATED);
    let claim = claim(&auth, &req, &body, render)?;
    let body: CreateModifierRequest = body.json()?;
    let currency = svc.currency(auth.requester()).await?;
    let new = NewModifier {
        name: label("name", &body.name)?,
        price: match &body.price {
            Some(p) => catalog::price("price", p, currency)?,
            None => pos_domain::Money::zero(currency),
        },
        sort_order: body
            .sort_order
            .map(|o| catalog::sort_order("sort_order", o))
            .transpose()?
            .unwrap_or(0),
    };
    let unit = svc
        .create_modifier(auth.requester(), id.into_inner().0, new, claim)
        .await?;
    respond(unit, render)
}

/// Rename, re-price, reorder or (de)activate a modifier.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("modifier_id" = uuid::Uuid, Path, description = "The modifier"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = UpdateModifierRequest,
    responses(
        (status = 200, description = "Updated", body = AdminModifierView),
        (status = 409, description = "`modifier_name_taken`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[patch("/admin/modifiers/{modifier_id}")]
pub async fn update_modifier(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(ModifierId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditMenu)?;
    let svc = service(&state)?;
    let render = answer::<Modifier, AdminModifierView>(StatusCode::OK);
    let claim = claim(&auth, &req, &body, render)?;
    let body: UpdateModifierRequest = body.json()?;
    let currency = svc.currency(auth.requester()).await?;
    let patch = ModifierPatch {
        name: body.name.as_deref().map(|n| label("name", n)).transpose()?,
        price: body
            .price
            .as_ref()
            .map(|p| catalog::price("price", p, currency))
            .transpose()?,
        sort_order: body
            .sort_order
            .map(|o| catalog::sort_order("sort_order", o))
            .transpose()?,
        active: body.active,
    };
    let unit = svc
        .update_modifier(auth.requester(), id.into_inner().0, patch, claim)
        .await?;
    respond(unit, render)
}

/// Delete a modifier (orders keep their copy of it).
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("modifier_id" = uuid::Uuid, Path, description = "The modifier"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    responses((status = 204, description = "Deleted")),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[delete("/admin/modifiers/{modifier_id}")]
pub async fn delete_modifier(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(ModifierId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditMenu)?;
    let claim = claim(&auth, &req, &body, no_content)?;
    let unit = service(&state)?
        .delete_modifier(auth.requester(), id.into_inner().0, claim)
        .await?;
    respond(unit, no_content)
}

// ----- tables -------------------------------------------------------------------------------

/// Every table, retired ones too, in floor order.
#[utoipa::path(
    tag = "admin_menu",
    responses((status = 200, description = "Tables", body = Vec<AdminTableView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_tables")))
)]
#[get("/admin/tables")]
pub async fn list_tables(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<AdminTableView>>, ApiError> {
    auth.require(Action::EditTables)?;
    let tables = service(&state)?.tables(auth.requester()).await?;
    Ok(web::Json(tables.iter().map(AdminTableView::from).collect()))
}

/// Add a table.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = CreateTableRequest,
    responses(
        (status = 201, description = "Created", body = AdminTableView),
        (status = 409, description = "`table_code_taken`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_tables")))
)]
#[post("/admin/tables")]
pub async fn create_table(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditTables)?;
    let render = answer::<Table, AdminTableView>(StatusCode::CREATED);
    let claim = claim(&auth, &req, &body, render)?;
    let body: CreateTableRequest = body.json()?;
    let new = NewTable {
        code: label("code", &body.code)?,
        area: catalog::optional_label("area", body.area.as_deref())?,
        seats: catalog::seats("seats", body.seats)?,
        sort_order: body
            .sort_order
            .map(|o| catalog::sort_order("sort_order", o))
            .transpose()?
            .unwrap_or(0),
    };
    let image = catalog::image_url("image_url", body.image_url.as_deref())?;
    let unit = service(&state)?
        .create_table(auth.requester(), new, image, claim)
        .await?;
    respond(unit, render)
}

/// One table.
#[utoipa::path(
    tag = "admin_menu",
    params(("table_id" = uuid::Uuid, Path, description = "The table")),
    responses((status = 200, description = "The table", body = AdminTableView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_tables")))
)]
#[get("/admin/tables/{table_id}")]
pub async fn get_table(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(TableId,)>,
) -> Result<web::Json<AdminTableView>, ApiError> {
    auth.require(Action::EditTables)?;
    let table = service(&state)?
        .table(auth.requester(), id.into_inner().0)
        .await?;
    Ok(web::Json(AdminTableView::from(&table)))
}

/// Change a table: code, area, seats, image, order, retire/restore.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("table_id" = uuid::Uuid, Path, description = "The table"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = UpdateTableRequest,
    responses(
        (status = 200, description = "Updated", body = AdminTableView),
        (status = 409, description = "`table_code_taken`, `table_in_use`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_tables")))
)]
#[patch("/admin/tables/{table_id}")]
pub async fn update_table(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(TableId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditTables)?;
    let render = answer::<Table, AdminTableView>(StatusCode::OK);
    let claim = claim(&auth, &req, &body, render)?;
    let body: UpdateTableRequest = body.json()?;
    let patch = TablePatch {
        code: body.code.as_deref().map(|c| label("code", c)).transpose()?,
        area: body
            .area
            .map(|a| catalog::optional_label("area", a.as_deref()))
            .transpose()?,
        seats: body.seats.map(|s| catalog::seats("seats", s)).transpose()?,
        image_url: body
            .image_url
            .map(|i| catalog::image_url("image_url", i.as_deref()))
            .transpose()?,
        sort_order: body
            .sort_order
            .map(|o| catalog::sort_order("sort_order", o))
            .transpose()?,
        active: body.active,
    };
    let unit = service(&state)?
        .update_table(auth.requester(), id.into_inner().0, patch, claim)
        .await?;
    respond(unit, render)
}

/// Retire a table (past orders keep pointing at it); refused while it has unfinished orders.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("table_id" = uuid::Uuid, Path, description = "The table"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    responses(
        (status = 204, description = "Retired"),
        (status = 409, description = "`table_in_use`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_tables")))
)]
#[delete("/admin/tables/{table_id}")]
pub async fn delete_table(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(TableId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditTables)?;
    let claim = claim(&auth, &req, &body, no_content)?;
    let unit = service(&state)?
        .delete_table(auth.requester(), id.into_inner().0, claim)
        .await?;
    respond(unit, no_content)
}

// ----- settings -----------------------------------------------------------------------------

/// The venue settings.
#[utoipa::path(
    tag = "admin_menu",
    responses((status = 200, description = "Settings", body = SettingsView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_settings")))
)]
#[get("/admin/settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<SettingsView>, ApiError> {
    auth.require(Action::ManageSettings)?;
    let settings = service(&state)?.settings(auth.requester()).await?;
    Ok(web::Json(SettingsView::from(&settings)))
}

/// Change any of the settings. The result is validated whole (VAT 0–100 %, retention ≥ 1
/// day, cut-off hour 0–23, a supported ISO 4217 currency, …): a bad value is a 422 naming its
/// field, and nothing is changed.
#[utoipa::path(
    tag = "admin_menu",
    request_body = UpdateSettingsRequest,
    responses(
        (status = 200, description = "Updated", body = SettingsView),
        (status = 409, description = "`currency_in_use`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_settings")))
)]
#[patch("/admin/settings")]
pub async fn update_settings(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<UpdateSettingsRequest>,
) -> Result<web::Json<SettingsView>, ApiError> {
    auth.require(Action::ManageSettings)?;
    let b = body.into_inner();
    let patch = SettingsPatch {
        cafe_name: b.cafe_name,
        currency: b.currency,
        vat_rate_bp: b.vat_rate_bp,
        prices_include_tax: b.prices_include_tax,
        service_charge_bp: b.service_charge_bp,
        receipt_footer: b.receipt_footer,
        cashier_discount_limit_bp: b.cashier_discount_limit_bp,
        backup_retention_days: b.backup_retention_days,
        business_day_cutoff_hour: b.business_day_cutoff_hour,
        utc_offset_minutes: b.utc_offset_minutes,
        happy_hour_start: b.happy_hour_start,
        happy_hour_end: b.happy_hour_end,
        shift_variance_threshold: b.shift_variance_threshold,
        kds_warning_minutes: b.kds_warning_minutes,
        kds_late_minutes: b.kds_late_minutes,
    };
    let settings = service(&state)?.update_settings(auth.requester(), patch).await?;
    Ok(web::Json(SettingsView::from(&settings)))
}
