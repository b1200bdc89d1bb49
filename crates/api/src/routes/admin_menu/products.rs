//! `/api/admin/products`: products, 86 and stock.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use pos_domain::catalog::{self, ProductFilter, ProductPatch, StockCommand};
use pos_domain::ids::{CategoryId, ProductId};
use pos_domain::permissions::Action;
use pos_domain::validate::ValidationError;
use pos_domain::venue::{NewProduct, Product};

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::{Path, Query};
use crate::idempotency::RawBody;
use crate::state::AppState;

use super::*; // the routes' shared helpers, views and requests

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
