//! `POST /api/orders/{id}/payments` (spec §3 Payment, §10): cash (tendered, change), card,
//! MTN MoMo and Airtel Money with their reference; partial and split by amount, by chosen
//! items or by seat. `Idempotency-Key` is required: a retry never takes money twice.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Utc};
use pos_domain::idempotency::StoredResponse;
use pos_domain::ids::{OrderId, OrderItemId, PaymentId, ShiftId, StaffId};
use pos_domain::order::ports::{OrderChange, RenderInput};
use pos_domain::order::{Order, OrderError};
use pos_domain::payment::{Payment, PaymentError, PaymentMethod};
use pos_domain::payments::{NO_OPEN_SHIFT, PayCmd, Share};
use pos_domain::permissions::Action;
use pos_domain::validate::ValidationError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::Path;
use crate::idempotency::{
    KeyRule, RawBody, idempotency_key, internal_error, json_response, problem_response,
};
use crate::orders::{FieldHints, OrderProblem, OrderView, caller, claim, render_refusal, respond};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(take_payment);
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
    pub reference: Option<String>,
    #[schema(value_type = uuid::Uuid)]
    pub staff_id: StaffId,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub shift_id: Option<ShiftId>,
    pub created_at: DateTime<Utc>,
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
            reference: p.reference.clone(),
            staff_id: p.staff_id,
            shift_id: p.shift_id,
            created_at: p.created_at,
        }
    }
}

/// The payment taken and the order as saved (closed when settled).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentTakenView {
    pub payment: PaymentView,
    pub order: OrderView,
}

fn payment_field(error: &PaymentError) -> Option<&'static str> {
    match error {
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
        return render_refusal(error, current, &FieldHints::default());
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
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
    Ok(PayCmd {
        order,
        method,
        share,
        tendered: input.tendered,
        reference: input.reference,
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
    match state.payments.pay(caller(&auth), cmd, claim).await {
        Ok(Some(outcome)) => respond(Ok(outcome), render_payment),
        Ok(None) => Err(ApiError::conflict(
            NO_OPEN_SHIFT,
            "open a shift (POST /api/shifts) before taking payments",
        )),
        Err(error) => respond(Err(error), render_payment),
    }
}
