//! `POST /api/orders/{id}/payments` (spec §3 Payment, §10): cash (tendered, change), card,
//! MTN MoMo and Airtel Money with their reference; partial and split by amount, by chosen
//! items or by seat, with an optional tip kept apart from the bill; refunds of a payment
//! (`POST /api/payments/{id}/refunds`) with a reason and a manager's approval.
//! `Idempotency-Key` is required: a retry never takes or returns money twice.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use pos_domain::idempotency::StoredResponse;
use pos_domain::ids::{OrderId, OrderItemId, PaymentId, RefundId, ShiftId, StaffId};
use pos_domain::order::ports::{OrderChange, RenderInput};
use pos_domain::order::{Order, OrderError};
use pos_domain::payment::{Payment, PaymentError, PaymentMethod, Refund};
use pos_domain::payments::{PayCmd, RefundCmd, Share};
use pos_domain::permissions::Action;
use pos_domain::validate::{Note, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::Path;
use crate::idempotency::{
    KeyRule, RawBody, idempotency_key, internal_error, json_response, problem_response,
};
use crate::orders::{
    FieldHints, OrderProblem, OrderView, caller, claim, read_error, render_refusal, respond,
};
use crate::routes::approval::{ApprovalInput, verify_approval};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(take_payment)
        .service(list_payments)
        .service(refund_payment);
}

/// A payment: `method` and exactly one of `amount`, `items` or `seat`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    /// `cash`, `card`, `mtn_momo` or `airtel_money`; `pesapal` takes `PesapalPaymentInput`
    /// and answers `OnlinePaymentView`.
    pub method: String,
    /// Minor units applied to the order, 1 up to the balance.
    #[schema(minimum = 1)]
    pub amount: Option<i64>,
    /// Pay for these items (their line totals, discounts included).
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub items: Option<Vec<OrderItemId>>,
    /// Pay for the items on this seat.
    #[schema(minimum = 1, maximum = 255)]
    pub seat: Option<u8>,
    /// Cash handed over (cash only), at least the amount; the answer gives the change.
    pub tendered: Option<i64>,
    /// The provider's transaction reference: required for `mtn_momo` and `airtel_money`.
    #[schema(max_length = 100)]
    pub reference: Option<String>,
    /// Left for the staff on top of the amount (minor units, 0 or more): recorded apart
    /// from sales and never applied to the balance. A cash tip is handed over with the
    /// bill (`tendered` covers amount + tip) and stays in the drawer.
    #[schema(minimum = 0)]
    pub tip: Option<i64>,
}

/// One payment. Amounts are minor units of the order's currency.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentView {
    #[schema(value_type = uuid::Uuid)]
    pub id: PaymentId,
    #[schema(value_type = uuid::Uuid)]
    pub order_id: OrderId,
    pub method: String,
    /// `pending`, `completed`, `failed`, `partially_refunded` or `refunded`.
    pub status: String,
    pub amount: i64,
    pub tendered: Option<i64>,
    pub change: Option<i64>,
    /// Tip on top of `amount` (0 when none): not part of the order's paid amount.
    pub tip: i64,
    /// What was refunded of `amount` so far.
    pub refunded: i64,
    pub reference: Option<String>,
    #[schema(value_type = uuid::Uuid)]
    pub staff_id: StaffId,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub shift_id: Option<ShiftId>,
    pub created_at: DateTime<Utc>,
    /// When the money was received (absent while pending, or when it failed).
    pub completed_at: Option<DateTime<Utc>>,
}

impl PaymentView {
    pub fn of(p: &Payment) -> Self {
        Self {
            id: p.id,
            order_id: p.order_id,
            method: p.method.as_str().to_owned(),
            status: p.status.as_str().to_owned(),
            amount: p.amount.minor(),
            tendered: p.tendered.map(|m| m.minor()),
            change: p.change.map(|m| m.minor()),
            tip: p.tip.minor(),
            refunded: p.refunded.minor(),
            reference: p.reference.clone(),
            staff_id: p.staff_id,
            shift_id: p.shift_id,
            created_at: p.created_at,
            completed_at: p.completed_at,
        }
    }
}

/// Every payment of the order (any status, refunded ones included), in the order they were
/// taken: what the bill shows and refunds from, whoever took them.
#[utoipa::path(
    tag = "payments",
    params(("order_id" = uuid::Uuid, Path, description = "The order")),
    responses(
        (status = 200, description = "The order's payments, oldest first", body = Vec<PaymentView>),
        (status = 404, description = "No such order", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_orders")))
)]
#[get("/orders/{order_id}/payments")]
pub async fn list_payments(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(OrderId,)>,
) -> Result<web::Json<Vec<PaymentView>>, ApiError> {
    auth.require(Action::ViewOrders)?;
    let paid = state
        .payments
        .payments_of(caller(&auth), id.0.0)
        .await
        .map_err(read_error)?;
    Ok(web::Json(paid.iter().map(PaymentView::of).collect()))
}

/// The payment taken and the order as saved (closed when settled).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentTakenView {
    pub payment: PaymentView,
    pub order: OrderView,
}

fn payment_field(error: &PaymentError) -> Option<&'static str> {
    match error {
        PaymentError::NegativeTip => Some("tip"),
        PaymentError::ReasonRequired => Some("reason"),
        PaymentError::RefundExceedsRemaining { .. } | PaymentError::PartialMobileMoneyRefund { .. } => {
            Some("amount")
        }
        PaymentError::Approval(_) => Some("approval"),
        PaymentError::UnknownPayment => Some("payment_id"),
        PaymentError::NonPositiveAmount
        | PaymentError::Overpayment { .. }
        | PaymentError::NothingDue
        | PaymentError::CurrencyMismatch { .. }
        | PaymentError::Overflow => Some("amount"),
        PaymentError::TenderedTooLittle { .. } | PaymentError::TenderedNotCash => Some("tendered"),
        PaymentError::ReferenceRequired { .. } | PaymentError::InvalidReference => Some("reference"),
        PaymentError::InvalidTransition { .. } => Some("method"),
        _ => None,
    }
}

/// `"method": "pesapal"`: the online branch (routes/pesapal.rs) reads the body.
fn is_online(body: &RawBody) -> bool {
    body.json::<serde_json::Value>()
        .ok()
        .and_then(|v| v.get("method").and_then(|m| m.as_str()).map(str::to_owned))
        .is_some_and(|m| PaymentMethod::parse(&m).is_ok_and(PaymentMethod::is_online))
}

pub(crate) fn render_payment_refusal(error: &OrderError, current: Option<&Order>) -> StoredResponse {
    let OrderError::Payment(payment) = error else {
        if let OrderError::OrderFinished { .. } = error {
            // A voided or closed order: the path's order is what is wrong.
            let status = StatusCode::CONFLICT;
            let mut problem = ProblemDetails::new(
                status,
                error.code(),
                error.to_string(),
                Some("order_id".to_owned()),
            );
            problem.request_id = None;
            return problem_response(
                &OrderProblem {
                    problem,
                    current: None,
                },
                status,
            );
        }
        return render_refusal(error, current, &FieldHints::default());
    };
    let status = match payment {
        PaymentError::Approval(_) => StatusCode::FORBIDDEN,
        PaymentError::NoOpenShift | PaymentError::NotRefundable { .. } => StatusCode::CONFLICT,
        PaymentError::UnknownPayment => StatusCode::NOT_FOUND,
        PaymentError::GatewayRefundUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        PaymentError::GatewayFailed(_) => StatusCode::BAD_GATEWAY,
        PaymentError::GatewayRejected(_) => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut problem = ProblemDetails::new(
        status,
        error.code(),
        error.to_string(),
        payment_field(payment).map(str::to_owned),
    );
    problem.request_id = None;
    problem_response(
        &OrderProblem {
            problem,
            current: None,
        },
        status,
    )
}

fn render_payment(input: RenderInput<'_>) -> StoredResponse {
    match input {
        RenderInput::Committed {
            order,
            change: OrderChange::PaymentTaken(payment),
            ..
        } => match OrderView::of(order) {
            Ok(order) => json_response(
                StatusCode::CREATED,
                &PaymentTakenView {
                    payment: PaymentView::of(payment),
                    order,
                },
            ),
            Err(e) => internal_error(&e),
        },
        RenderInput::Committed { .. } => internal_error(&"a payment unit reported another change"),
        RenderInput::Refused { error, current } => render_payment_refusal(error, current),
    }
}

fn command(order: OrderId, input: PaymentInput) -> Result<PayCmd, ApiError> {
    let method = PaymentMethod::parse(&input.method)?;
    if method.is_online() {
        return Err(
            ValidationError::new("method", "pesapal payments are not available on this route yet").into(),
        );
    }
    let share = match (input.amount, input.items, input.seat) {
        (Some(amount), None, None) => Share::Amount(amount),
        (None, Some(items), None) if !items.is_empty() && items.len() <= 200 => Share::Items(items),
        (None, Some(_), None) => return Err(ValidationError::new("items", "must list 1 to 200 items").into()),
        (None, None, Some(seat)) if seat > 0 => Share::Seat(seat),
        (None, None, Some(_)) => return Err(ValidationError::new("seat", "must be 1 or more").into()),
        _ => {
            return Err(ValidationError::new("amount", "give exactly one of amount, items or seat").into());
        }
    };
    if input.tip.is_some_and(|tip| tip < 0) {
        return Err(ValidationError::new("tip", "must be 0 or more").into());
    }
    Ok(PayCmd {
        order,
        method,
        share,
        tendered: input.tendered,
        reference: input.reference,
        tip: input.tip,
    })
}

/// Take a payment on an order. Needs the caller's open shift (409 `no_open_shift`); never
/// more than the balance (422 `overpayment`), whatever the concurrency. When the balance
/// reaches zero the order closes (if nothing is still being prepared) and its table is
/// free: `payment.completed`, `order.paid`, `order.closed`, `table.updated`.
#[utoipa::path(
    tag = "payments",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("Idempotency-Key" = String, Header, description = "Required: a fresh UUID per payment; a retry replays the first answer"),
    ),
    request_body = PaymentInput,
    responses(
        (status = 201, description = "The payment and the order as saved (`pesapal`: `OnlinePaymentView`, the payment pending)", body = PaymentTakenView),
        (status = 502, description = "`payment_provider_rejected`, `payment_provider_error` (pesapal; nothing written)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 504, description = "`payment_provider_unreachable` (pesapal; nothing written)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`no_open_shift`, `order_finished` (voided or closed), `request_in_progress`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 422, description = "`overpayment`, `non_positive_amount`, `tendered_too_little`, `reference_required`, `nothing_due`, `idempotency_key_reused`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("take_payment")))
)]
#[post("/orders/{order_id}/payments")]
pub async fn take_payment(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::TakePayment)?;
    if is_online(&body) {
        return crate::routes::pesapal::take_online_payment(state, auth, req, id.0.0, body).await;
    }
    let key = idempotency_key(&req, KeyRule::Required)?;
    let input: PaymentInput = body.json()?;
    let cmd = command(id.0.0, input)?;
    let claim = claim(&auth, key, &req, body.bytes(), &render_payment);
    respond(
        state.payments.pay(caller(&auth), cmd, claim).await,
        render_payment,
    )
}

/// A refund: how much of the payment, why, and a manager's approval unless the caller is a
/// manager.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// Minor units, 1 up to what is still refundable of the payment.
    #[schema(minimum = 1)]
    pub amount: i64,
    /// Why (1 to 500 characters): kept with the refund and in the audit log.
    pub reason: String,
    /// A manager's credentials, when the caller may not refund alone.
    pub approval: Option<ApprovalInput>,
}

/// A refund as recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefundView {
    #[schema(value_type = uuid::Uuid)]
    pub id: RefundId,
    #[schema(value_type = uuid::Uuid)]
    pub payment_id: PaymentId,
    #[schema(value_type = uuid::Uuid)]
    pub order_id: OrderId,
    /// The payment's method: a cash refund leaves the drawer of `shift_id`.
    pub method: String,
    pub amount: i64,
    pub reason: String,
    #[schema(value_type = uuid::Uuid)]
    pub staff_id: StaffId,
    /// The manager who approved it (the refunder themselves when a manager).
    #[schema(value_type = uuid::Uuid)]
    pub approved_by: StaffId,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub shift_id: Option<ShiftId>,
    pub created_at: DateTime<Utc>,
}

impl RefundView {
    pub fn of(r: &Refund) -> Self {
        Self {
            id: r.id,
            payment_id: r.payment_id,
            order_id: r.order_id,
            method: r.method.as_str().to_owned(),
            amount: r.amount.minor(),
            reason: r.reason.as_str().to_owned(),
            staff_id: r.staff_id,
            approved_by: r.approved_by,
            shift_id: r.shift_id,
            created_at: r.created_at,
        }
    }
}

/// The refund, the payment and the order as saved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefundedView {
    pub refund: RefundView,
    pub payment: PaymentView,
    pub order: OrderView,
}

fn render_refund(input: RenderInput<'_>) -> StoredResponse {
    match input {
        RenderInput::Committed {
            order,
            change: OrderChange::Refunded { payment, refund },
            ..
        } => match OrderView::of(order) {
            Ok(order) => json_response(
                StatusCode::CREATED,
                &RefundedView {
                    refund: RefundView::of(refund),
                    payment: PaymentView::of(payment),
                    order,
                },
            ),
            Err(e) => internal_error(&e),
        },
        RenderInput::Committed { .. } => internal_error(&"a refund unit reported another change"),
        RenderInput::Refused { error, current } => render_payment_refusal(error, current),
    }
}

/// Refund all or part of a payment taken at the till, within what was paid minus earlier
/// refunds, with a reason; a manager refunds alone, anyone else with a manager's `approval`
/// (both in the audit log). The order's paid amount goes down by as much (a closed order
/// stays closed). A cash refund leaves the drawer of the refunder's open shift, which it
/// needs (409 `no_open_shift`). Online (Pesapal) payments are refunded through the provider:
/// 503 `gateway_unavailable` while none is configured. Event `payment.refunded`.
#[utoipa::path(
    tag = "payments",
    params(
        ("payment_id" = uuid::Uuid, Path, description = "The payment"),
        ("Idempotency-Key" = String, Header, description = "Required: a fresh UUID per refund; a retry replays the first answer"),
    ),
    request_body = RefundInput,
    responses(
        (status = 201, description = "The refund, the payment and the order as saved", body = RefundedView),
        (status = 403, description = "`approval_required`, `approver_not_allowed`, `invalid_approval`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such payment", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`no_open_shift`, `not_refundable` (pending, failed or refunded in full), `gateway_rejected`, `request_in_progress`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 422, description = "`refund_exceeds_remaining`, `non_positive_amount`, `reason_required`, `partial_mobile_money_refund`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 429, description = "`account_locked`: too many wrong approver credentials", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 502, description = "`gateway_error`: the provider could not be asked", body = OrderProblem, content_type = "application/problem+json"),
        (status = 503, description = "`gateway_unavailable`: an online payment, no provider configured", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("take_payment")))
)]
#[post("/payments/{payment_id}/refunds")]
pub async fn refund_payment(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(PaymentId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::TakePayment)?;
    let key = idempotency_key(&req, KeyRule::Required)?;
    let input: RefundInput = body.json()?;
    if input.amount <= 0 {
        return Err(ValidationError::new("amount", "must be greater than zero").into());
    }
    let reason = Note::parse_field("reason", &input.reason)?;
    if reason.as_str().is_empty() {
        return Err(ValidationError::new("reason", "must not be empty").into());
    }
    let approval = match input.approval {
        Some(approval) => Some(verify_approval(&state, &auth, approval).await?),
        None => None,
    };
    let cmd = RefundCmd {
        payment: id.0.0,
        amount: input.amount,
        reason,
        approval,
    };
    let claim = claim(&auth, key, &req, body.bytes(), &render_refund);
    let outcome = state
        .payments
        .refund(caller(&auth), cmd, claim, state.gateway.as_deref())
        .await;
    respond(outcome, render_refund)
}
