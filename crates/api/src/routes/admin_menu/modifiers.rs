//! `/api/admin/products/{id}/modifiers` and `/api/admin/modifiers`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, patch, post, web};
use pos_domain::catalog::{self, ModifierPatch, NewModifier};
use pos_domain::ids::{ModifierId, ProductId};
use pos_domain::permissions::Action;
use pos_domain::venue::Modifier;

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::Path;
use crate::idempotency::RawBody;
use crate::state::AppState;

use super::*; // the routes' shared helpers, views and requests

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
