//! `GET /api/menu`: what a terminal shows to take orders. Categories with their products
//! (price and the price now, happy hour included; available or 86'd; stock left), modifiers
//! with prices, and the happy-hour, most-popular and recently-ordered-by-you lists.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use std::sync::Arc;

use chrono::{DateTime, NaiveTime, Utc};
use pos_domain::Currency;
use pos_domain::ids::{CategoryId, ModifierId, ProductId};
use pos_domain::order::Caller;
use pos_domain::order::views::{MenuCatalogue, MenuCategory, MenuLists, MenuProduct};
use pos_domain::permissions::Action;
use pos_domain::staff::Station;
use serde::Serialize;
use sha2::{Digest, Sha256};
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

/// What [`MenuResponse`] holds before its quick lists, in the same order: the part every
/// caller sees alike, serialised once per menu version and happy-hour state.
#[derive(Serialize)]
struct MenuHead {
    currency: Currency,
    categories: Vec<MenuCategoryView>,
    happy_hour: HappyHourView,
}

/// The rest of [`MenuResponse`]: one caller's quick lists, serialised per request.
#[derive(Serialize)]
struct MenuTail<'a> {
    popular: &'a [ProductId],
    recent: &'a [ProductId],
}

/// A menu's shared part, kept for the requests that follow at the same version.
struct KeptMenu {
    /// Its version, settings and products listed (the view itself is dropped once
    /// serialised: `head` is what is served).
    catalogue: MenuCatalogue,
    /// The serialised [`MenuHead`] without its closing brace.
    head: Vec<u8>,
}

impl KeptMenu {
    fn new(mut catalogue: MenuCatalogue) -> Result<Self, ApiError> {
        let menu = &catalogue.menu;
        let mut head = serde_json::to_vec(&MenuHead {
            currency: menu.currency,
            categories: menu.categories.iter().map(MenuCategoryView::from).collect(),
            happy_hour: HappyHourView {
                active: menu.happy_hour.active,
                start: menu.happy_hour.start,
                end: menu.happy_hour.end,
                products: menu.happy_hour.products.clone(),
            },
        })
        .map_err(ApiError::internal)?;
        head.pop(); // the closing `}`; `tail` ends the object
        catalogue.menu.categories = Vec::new();
        Ok(Self { catalogue, head })
    }

    fn happy_hour(&self) -> bool {
        self.catalogue.menu.happy_hour.active
    }

    /// `,"popular":[…],"recent":[…]}`: what follows `head` for `lists`.
    fn tail(lists: &MenuLists) -> Result<Vec<u8>, ApiError> {
        let mut tail = serde_json::to_vec(&MenuTail {
            popular: &lists.popular,
            recent: &lists.recent,
        })
        .map_err(ApiError::internal)?;
        if let Some(first) = tail.first_mut() {
            *first = b',';
        }
        Ok(tail)
    }

    /// A strong entity tag naming all the body depends on: the menu version, the happy-hour
    /// state it was priced at and a digest of the caller's lists.
    fn etag(&self, tail: &[u8]) -> String {
        let digest = Sha256::digest(tail);
        format!(
            "\"{:x}-{}-{}\"",
            self.catalogue.version,
            if self.happy_hour() { "h" } else { "n" },
            hex::encode(&digest[..8])
        )
    }

    fn body(&self, tail: &[u8]) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.head.len() + tail.len());
        body.extend_from_slice(&self.head);
        body.extend_from_slice(tail);
        body
    }
}

/// The serialised shared part of the menu of this server instance, per menu version and
/// happy-hour state (at most the two of the newest version are kept). The version comes
/// from the database on every request, so a change made through another instance is seen
/// at once.
#[derive(Default)]
pub struct MenuCache {
    kept: std::sync::Mutex<Vec<Arc<KeptMenu>>>,
    /// Held while building, so that requests missing together build once.
    building: tokio::sync::Mutex<()>,
}

impl MenuCache {
    fn find(&self, version: i64, now: DateTime<Utc>) -> Option<Arc<KeptMenu>> {
        self.lock()
            .iter()
            .find(|k| k.catalogue.version == version && k.happy_hour() == k.catalogue.happy_hour_at(now))
            .cloned()
    }

    /// Keeps `kept` unless a newer version is already kept; drops older ones.
    fn keep(&self, kept: KeptMenu) -> Arc<KeptMenu> {
        let kept = Arc::new(kept);
        let mut all = self.lock();
        let version = kept.catalogue.version;
        if all.iter().all(|k| k.catalogue.version <= version) {
            all.retain(|k| k.catalogue.version == version && k.happy_hour() != kept.happy_hour());
            all.push(Arc::clone(&kept));
        }
        kept
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<KeptMenu>>> {
        // Every write replaces whole entries, so a panic elsewhere leaves a usable list.
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The kept menu current at `version` and now, else a new one built and kept.
    async fn current(
        &self,
        state: &AppState,
        caller: Caller,
        version: i64,
    ) -> Result<Arc<KeptMenu>, ApiError> {
        let orders = &state.orders;
        if let Some(kept) = self.find(version, orders.menu_now()) {
            return Ok(kept);
        }
        let _building = self.building.lock().await;
        if let Some(kept) = self.find(version, orders.menu_now()) {
            return Ok(kept);
        }
        let catalogue = orders.menu_catalogue(caller).await.map_err(read_error)?;
        Ok(self.keep(KeptMenu::new(catalogue)?))
    }
}

/// The menu for order taking. Answers with a strong `ETag` made of the database's menu
/// version, the happy-hour state and a digest of the caller's quick lists; a request whose
/// `If-None-Match` names it gets `304 Not Modified` without the menu being read or built.
/// The part every caller sees alike is serialised once per version and kept.
#[utoipa::path(
    tag = "menu",
    params(("If-None-Match" = Option<String>, Header, description = "An `ETag` from an earlier answer")),
    responses(
        (status = 200, description = "Categories with their products and the quick lists", body = MenuResponse,
            headers(("ETag" = String, description = "Changes whenever the body would"))),
        (status = 304, description = "Unchanged since the `ETag` given in `If-None-Match`",
            headers(("ETag" = String, description = "The same `ETag`"))),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_menu")))
)]
#[get("/menu")]
pub async fn get_menu(
    request: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ViewMenu)?;
    let caller = caller(&auth);
    let version = state.orders.menu_version(caller).await.map_err(read_error)?;
    let kept = state.menu_cache.current(&state, caller, version).await?;
    let lists = state
        .orders
        .menu_lists(caller, &kept.catalogue)
        .await
        .map_err(read_error)?;
    let tail = KeptMenu::tail(&lists)?;
    let etag = kept.etag(&tail);
    // `private, no-cache`: caches may keep it but must ask again (the menu follows stock,
    // 86s and the clock); the answer depends on who asks (`recent`).
    let cache = (header::CACHE_CONTROL, "private, no-cache");
    if if_none_match(&request, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache)
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ETAG, etag))
        .insert_header(cache)
        .body(kept.body(&tail)))
}

/// Whether `If-None-Match` names `etag` (or is `*`). RFC 9110 compares weakly here, so a
/// `W/` prefix a proxy added still matches.
fn if_none_match(request: &HttpRequest, etag: &str) -> bool {
    request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn if_none_match_names_the_tag_in_a_list_weakly_or_by_star() {
        let etag = "\"2a-n-0011223344556677\"";
        let with = |value: &str| {
            let request = TestRequest::get()
                .insert_header((header::IF_NONE_MATCH, value))
                .to_http_request();
            if_none_match(&request, etag)
        };
        assert!(with(etag));
        assert!(with(&format!("\"x\", W/{etag}")));
        assert!(with("*"));
        assert!(!with("\"something else\""));
        assert!(!if_none_match(&TestRequest::get().to_http_request(), etag));
    }

    /// The kept head and a caller's tail make the body `MenuResponse` documents, and the tag
    /// follows the version, the happy-hour state and the lists.
    #[test]
    fn the_spliced_body_is_the_documented_response_and_the_tag_follows_its_parts() {
        use pos_domain::settings::Settings;
        let settings = Settings::defaults("Test Cafe");
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2024, 3, 15, 9, 0, 0).unwrap();
        let catalogue = pos_domain::order::views::menu_catalogue(7, Vec::new(), Vec::new(), settings, now);
        let menu = catalogue.menu.clone();
        let kept = KeptMenu::new(catalogue).unwrap();
        let lists = MenuLists {
            popular: vec![ProductId::new()],
            recent: vec![ProductId::new(), ProductId::new()],
        };
        let tail = KeptMenu::tail(&lists).unwrap();
        let documented = MenuResponse {
            currency: menu.currency,
            categories: Vec::new(),
            happy_hour: HappyHourView {
                active: menu.happy_hour.active,
                start: menu.happy_hour.start,
                end: menu.happy_hour.end,
                products: Vec::new(),
            },
            popular: lists.popular.clone(),
            recent: lists.recent.clone(),
        };
        assert_eq!(
            String::from_utf8(kept.body(&tail)).unwrap(),
            serde_json::to_string(&documented).unwrap()
        );
        let etag = kept.etag(&tail);
        assert!(etag.starts_with("\"7-n-"), "{etag}");
        assert_ne!(etag, kept.etag(&KeptMenu::tail(&MenuLists::default()).unwrap()));
    }
}
