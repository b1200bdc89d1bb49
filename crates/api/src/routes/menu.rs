//! `GET /api/menu`: what a terminal shows to take orders. Categories with their products
//! (price and the price now, happy hour included; available or 86'd; stock left), modifiers
//! with prices, and the happy-hour, most-popular and recently-ordered-by-you lists.

use actix_web::{get, web};
use chrono::{DateTime, NaiveTime, Utc};
use pos_domain::Currency;
use pos_domain::ids::{CategoryId, ModifierId, ProductId};
use pos_domain::order::views::{MenuCategory, MenuProduct, MenuView};
use pos_domain::permissions::Action;
use pos_domain::staff::Station;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::dto::StationSchema;
use crate::error::ApiError;
use crate::orders::{caller, read_error};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_menu);
}

/// A modifier of a product ("no sugar", "+ extra shot"), price in minor units.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MenuModifierView {
    #[schema(value_type = uuid::Uuid)]
    pub id: ModifierId,
    pub name: String,
    pub price: i64,
}

/// A product as a terminal lists it. Amounts are minor units of the menu's `currency`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MenuProductView {
    #[schema(value_type = uuid::Uuid)]
    pub id: ProductId,
    pub sku: String,
    pub name: String,
    #[schema(value_type = uuid::Uuid)]
    pub category_id: CategoryId,
    /// Sub-heading inside the category.
    pub section: Option<String>,
    pub price: i64,
    /// What it sells at now: the happy-hour price inside the window, else `price`.
    pub effective_price: i64,
    pub happy_hour_price: Option<i64>,
    pub happy_hour_active: bool,
    #[schema(value_type = Option<StationSchema>)]
    pub station: Option<Station>,
    /// False when 86'd.
    pub available: bool,
    /// Units left when stock is tracked.
    pub stock_qty: Option<i32>,
    /// Can be ordered now: available and, when stock is tracked, some left.
    pub orderable: bool,
    pub image_url: Option<String>,
    pub sort_order: i32,
    pub modifiers: Vec<MenuModifierView>,
    pub updated_at: DateTime<Utc>,
}

impl From<&MenuProduct> for MenuProductView {
    fn from(p: &MenuProduct) -> Self {
        let product = &p.product;
        Self {
            id: product.id,
            sku: product.sku.as_str().to_owned(),
            name: product.name.as_str().to_owned(),
            category_id: product.category_id,
            section: product.section.clone(),
            price: product.price.minor(),
            effective_price: p.effective_price.minor(),
            happy_hour_price: product.happy_hour_price.map(|m| m.minor()),
            happy_hour_active: p.happy_hour_active,
            station: product.station,
            available: product.available,
            stock_qty: product.stock_qty,
            orderable: p.orderable,
            image_url: product.image_url.clone(),
            sort_order: product.sort_order,
            modifiers: product
                .modifiers
                .iter()
                .filter(|m| m.active)
                .map(|m| MenuModifierView {
                    id: m.id,
                    name: m.name.as_str().to_owned(),
                    price: m.price.minor(),
                })
                .collect(),
            updated_at: product.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MenuCategoryView {
    #[schema(value_type = uuid::Uuid)]
    pub id: CategoryId,
    pub name: String,
    /// Where its products are prepared unless a product says otherwise.
    #[schema(value_type = Option<StationSchema>)]
    pub default_station: Option<Station>,
    pub sort_order: i32,
    pub products: Vec<MenuProductView>,
}

impl From<&MenuCategory> for MenuCategoryView {
    fn from(c: &MenuCategory) -> Self {
        Self {
            id: c.category.id,
            name: c.category.name.as_str().to_owned(),
            default_station: c.category.default_station,
            sort_order: c.category.sort_order,
            products: c.products.iter().map(MenuProductView::from).collect(),
        }
    }
}

/// The daily happy-hour window (venue local time) and the products it applies to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HappyHourView {
    pub active: bool,
    #[schema(value_type = String, example = "16:00:00")]
    pub start: NaiveTime,
    #[schema(value_type = String, example = "19:00:00")]
    pub end: NaiveTime,
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub products: Vec<ProductId>,
}

/// The terminal menu.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MenuResponse {
    #[schema(value_type = String, example = "UGX")]
    pub currency: Currency,
    pub categories: Vec<MenuCategoryView>,
    pub happy_hour: HappyHourView,
    /// Most ordered over the last 30 days, most first.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub popular: Vec<ProductId>,
    /// Recently put on orders by the signed-in staff member, newest first.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub recent: Vec<ProductId>,
}

impl From<&MenuView> for MenuResponse {
    fn from(menu: &MenuView) -> Self {
        Self {
            currency: menu.currency,
            categories: menu.categories.iter().map(MenuCategoryView::from).collect(),
            happy_hour: HappyHourView {
                active: menu.happy_hour.active,
                start: menu.happy_hour.start,
                end: menu.happy_hour.end,
                products: menu.happy_hour.products.clone(),
            },
            popular: menu.popular.clone(),
            recent: menu.recent.clone(),
        }
    }
}

/// The menu for order taking.
#[utoipa::path(
    tag = "menu",
    responses((status = 200, description = "Categories with their products and the quick lists", body = MenuResponse)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_menu")))
)]
#[get("/menu")]
pub async fn get_menu(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<MenuResponse>, ApiError> {
    auth.require(Action::ViewMenu)?;
    let menu = state.orders.menu(caller(&auth)).await.map_err(read_error)?;
    Ok(web::Json(MenuResponse::from(&menu)))
}
