//! `/api/admin/categories`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use pos_domain::catalog::{self, CategoryPatch};
use pos_domain::ids::CategoryId;
use pos_domain::permissions::Action;
use pos_domain::venue::{Category, NewCategory};

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::Path;
use crate::idempotency::RawBody;
use crate::state::AppState;

use super::*; // the routes' shared helpers, views and requests

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
