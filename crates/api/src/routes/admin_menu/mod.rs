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

mod categories;
mod modifiers;
mod products;
mod requests;
mod settings;
mod tables;
mod views;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use pos_domain::catalog::{CatalogClaim, CatalogError, CatalogService, Claimed, Rendered};
use pos_domain::idempotency::StoredResponse;
use pos_domain::staff::Station;
use pos_domain::validate::{Label, Sku, ValidationError};
use serde::Serialize;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::idempotency::{
    KeyRule, RawBody, fingerprint, idempotency_key, in_progress, json_response, key_reused, problem_response,
    respond_with,
};
use crate::state::AppState;

pub use categories::*;
pub use modifiers::*;
pub use products::*;
pub use requests::*;
pub use settings::*;
pub use tables::*;
pub use views::*;

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

// ----- idempotent units ----------------------------------------------------------------------

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
