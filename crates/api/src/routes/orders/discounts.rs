//! Discounts (spec §3, §10): on the whole order or on one item, a percentage in basis points
//! or an amount, up to the cashier limit of settings; above it a manager acts or approves in
//! the same request (`approval`), both people in the audit log. The rule is the domain's
//! (`Order::set_discount`); totals and tax are recomputed by the domain's totals.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, put, web};
use pos_domain::Money;
use pos_domain::idempotency::StoredResponse;
use pos_domain::ids::{OrderId, OrderItemId};
use pos_domain::order::ports::RenderInput;
use pos_domain::order::{DiscountCmd, Edit, OrderError};
use pos_domain::permissions::Action;
use pos_domain::totals::{Discount, TotalsError};
use pos_domain::validate::ValidationError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::requests::{IDEMPOTENCY_KEY_DOC, optional_note};
use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::Path;
use crate::idempotency::{KeyRule, RawBody, idempotency_key, internal_error, problem_response};
use crate::orders::{
    FieldHints, OrderProblem, OrderView, VersionInput, caller, claim, expected_version, refusal_status,
    render_order, render_refusal, respond,
};
use crate::routes::approval::{ApprovalInput, verify_approval};
use crate::state::AppState;

/// A discount: exactly one of `percent_bp` or `amount`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountInput {
    /// A percentage in basis points: 1000 = 10 %, 0 to 10000.
    #[schema(minimum = 0, maximum = 10000)]
    pub percent_bp: Option<i32>,
    /// An amount off, in minor units (capped at what it applies to).
    #[schema(minimum = 0)]
    pub amount: Option<i64>,
    /// Why, at most 500 characters.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// A manager's credentials, needed above the cashier limit unless the caller is one.
    pub approval: Option<ApprovalInput>,
    pub expected_version: Option<i32>,
}

/// Which request field a discount refusal names.
fn discount_field(error: &OrderError, input_field: &'static str) -> Option<&'static str> {
    match error {
        OrderError::Approval(_) => Some("approval"),
        OrderError::Totals(TotalsError::InvalidDiscount(_) | TotalsError::CurrencyMismatch { .. }) => {
            Some(input_field)
        }
        OrderError::ItemNotFound(_) | OrderError::InvalidItemTransition { .. } => Some("item_id"),
        _ => None,
    }
}

/// Renders the saved order (200), or a refusal naming `approval` or the discount's field.
fn render_discount(
    input_field: &'static str,
) -> impl Fn(RenderInput<'_>) -> StoredResponse + Clone + Send + 'static {
    let saved = render_order(StatusCode::OK, FieldHints::default());
    move |input: RenderInput<'_>| match input {
        RenderInput::Refused { error, current } => match discount_field(error, input_field) {
            None => render_refusal(error, current, &FieldHints::default()),
            Some(field) => {
                let status = refusal_status(error);
                let current = match current.map(OrderView::of).transpose() {
                    Ok(current) => current,
                    Err(e) => return internal_error(&e),
                };
                let mut problem =
                    ProblemDetails::new(status, error.code(), error.to_string(), Some(field.to_owned()));
                problem.request_id = None;
                problem_response(&OrderProblem { problem, current }, status)
            }
        },
        committed => saved(committed),
    }
}

async fn change_discount(
    state: &AppState,
    auth: &Authenticated,
    req: &HttpRequest,
    body: &RawBody,
    order: OrderId,
    item: Option<OrderItemId>,
    set: bool,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ApplyDiscount)?;
    let key = idempotency_key(req, KeyRule::Required)?;
    let input: DiscountInput = if set {
        body.json()?
    } else {
        body.json_or_default()?
    };
    let (discount, field) = match (set, input.percent_bp, input.amount) {
        (false, None, None) => (None, "discount"),
        (false, _, _) => {
            return Err(ValidationError::new(
                "percent_bp",
                "a discount is cleared without percent_bp or amount",
            )
            .into());
        }
        (true, Some(bp), None) => (Some(Discount::Percent { bp }), "percent_bp"),
        (true, None, Some(amount)) => {
            if amount < 0 {
                return Err(ValidationError::new("amount", "must be 0 or more").into());
            }
            // The order's currency is applied by the domain when it checks the discount.
            let currency = state.settings.get_settings().await?.currency;
            (
                Some(Discount::Amount {
                    amount: Money::new(amount, currency),
                }),
                "amount",
            )
        }
        (true, _, _) => {
            return Err(
                ValidationError::new("percent_bp", "give exactly one of percent_bp or amount").into(),
            );
        }
    };
    if let Some(Discount::Percent { bp }) = discount
        && !(0..=10_000).contains(&bp)
    {
        return Err(ValidationError::new("percent_bp", "must be between 0 and 10000").into());
    }
    let reason = optional_note("reason", input.reason.as_deref())?;
    let approval = match input.approval {
        Some(approval) => Some(verify_approval(state, auth, approval).await?),
        None => None,
    };
    let edit = Edit::new(order, expected_version(req, input.expected_version)?);
    let cmd = DiscountCmd {
        discount,
        reason,
        approval,
    };
    let render = render_discount(field);
    let claim = claim(auth, key, req, body.bytes(), &render);
    respond(
        state
            .orders
            .set_discount(caller(auth), edit, item, cmd, claim)
            .await,
        render,
    )
}

/// Set the order's discount (replacing any): a percentage (`percent_bp`) or an amount off
/// the subtotal. Above the cashier limit of settings (`cashier_discount_limit_bp` of the
/// subtotal) a manager acts or approves in `approval`; both are in the audit log.
/// `Idempotency-Key` is required.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("Idempotency-Key" = String, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body = DiscountInput,
    responses(
        (status = 200, description = "The order as saved, totals and tax recomputed", body = OrderView),
        (status = 403, description = "`approval_required` (field `approval`), `approver_not_allowed`, `invalid_approval`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 409, description = "`order_finished`, `stale_version`, `request_in_progress`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_discount`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 429, description = "`account_locked`: too many wrong approver credentials", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("apply_discount")))
)]
#[put("/orders/{order_id}/discount")]
pub async fn set_order_discount(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    change_discount(&state, &auth, &req, &body, id.0.0, None, true).await
}

/// Clear the order's discount. `Idempotency-Key` is required.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("Idempotency-Key" = String, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body(content = Option<VersionInput>, description = "Optional"),
    responses(
        (status = 200, description = "The order as saved", body = OrderView),
        (status = 409, description = "`order_finished`, `stale_version`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("apply_discount")))
)]
#[delete("/orders/{order_id}/discount")]
pub async fn clear_order_discount(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    change_discount(&state, &auth, &req, &body, id.0.0, None, false).await
}

/// Set one item's discount (replacing any), measured against the item's line: the same
/// cashier limit and approval as the order's discount. `Idempotency-Key` is required.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("item_id" = uuid::Uuid, Path, description = "The item"),
        ("Idempotency-Key" = String, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body = DiscountInput,
    responses(
        (status = 200, description = "The order as saved, totals and tax recomputed", body = OrderView),
        (status = 403, description = "`approval_required` (field `approval`), `approver_not_allowed`, `invalid_approval`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 404, description = "`item_not_found`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 409, description = "`order_finished`, `invalid_item_transition` (a voided item), `stale_version`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_discount`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 429, description = "`account_locked`: too many wrong approver credentials", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("apply_discount")))
)]
#[put("/orders/{order_id}/items/{item_id}/discount")]
pub async fn set_item_discount(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId, OrderItemId)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    change_discount(&state, &auth, &req, &body, id.0.0, Some(id.0.1), true).await
}

/// Clear one item's discount. `Idempotency-Key` is required.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("item_id" = uuid::Uuid, Path, description = "The item"),
        ("Idempotency-Key" = String, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body(content = Option<VersionInput>, description = "Optional"),
    responses(
        (status = 200, description = "The order as saved", body = OrderView),
        (status = 404, description = "`item_not_found`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 409, description = "`order_finished`, `stale_version`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("apply_discount")))
)]
#[delete("/orders/{order_id}/items/{item_id}/discount")]
pub async fn clear_item_discount(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId, OrderItemId)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    change_discount(&state, &auth, &req, &body, id.0.0, Some(id.0.1), false).await
}
