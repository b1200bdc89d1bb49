//! Pesapal (spec §6): `POST /api/orders/{id}/payments` with `"method": "pesapal"` starts an
//! online payment (the POS shows the `redirect_url` as a QR code), and
//! `GET`/`POST /api/payments/pesapal/ipn` take Pesapal's notifications.
//!
//! The IPN carries ids only and no signature, so it is never believed: the payment is
//! confirmed with GetTransactionStatus (amount and currency compared with ours) by
//! `OnlinePaymentService::confirm`. The answer is Pesapal's acknowledgement with HTTP 200:
//! `"status": 200` once handled (completed, failed, still pending, or settled before: a
//! duplicate or late notification changes nothing), `"status": 500` to be notified again —
//! when Pesapal or our database did not answer, and for a tracking id we do not know
//! (nothing is changed; a notification that overtook our own commit then gets a second
//! chance).

use std::sync::{Arc, OnceLock};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use pos_domain::error::GatewayError;
use pos_domain::ids::{OrderId, OrderItemId};
use pos_domain::ipn::{IpnAcknowledgement, IpnNotification, IpnParseError};
use pos_domain::online_payments::{Confirmation, FailReason, OnlineError, StartOnlineCmd};
use pos_domain::order::ports::{OrderChange, RenderInput};
use pos_domain::payment::PaymentError;
use pos_domain::payments::Share;
use pos_domain::permissions::Action;
use pos_domain::ports::GatewayRedirect;
use pos_domain::validate::ValidationError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::idempotency::{KeyRule, RawBody, idempotency_key, internal_error, json_response};
use crate::orders::{OrderView, caller, claim, respond};
use crate::routes::payments::{PaymentView, render_payment_refusal};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(ipn_get).service(ipn_post);
}

/// An online payment through Pesapal: `method` `pesapal`, exactly one of `amount`, `items`
/// or `seat`, and the customer's phone number or email address (Pesapal needs one).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PesapalPaymentInput {
    /// `pesapal`.
    pub method: String,
    #[schema(minimum = 1)]
    pub amount: Option<i64>,
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub items: Option<Vec<OrderItemId>>,
    #[schema(minimum = 1, maximum = 255)]
    pub seat: Option<u8>,
    #[schema(max_length = 30)]
    pub customer_phone: Option<String>,
    #[schema(max_length = 100)]
    pub customer_email: Option<String>,
}

/// A pending online payment: show `redirect_url` to the customer (a QR code). It completes
/// when Pesapal confirms it (`payment.completed` on the event stream) or fails
/// (`payment.failed`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OnlinePaymentView {
    pub payment: PaymentView,
    pub order: OrderView,
    pub redirect_url: String,
    /// Pesapal's `order_tracking_id`.
    pub order_tracking_id: String,
}

fn share_of(input: &PesapalPaymentInput) -> Result<Share, ApiError> {
    match (input.amount, &input.items, input.seat) {
        (Some(amount), None, None) => Ok(Share::Amount(amount)),
        (None, Some(items), None) if !items.is_empty() && items.len() <= 200 => {
            Ok(Share::Items(items.clone()))
        }
        (None, Some(_), None) => Err(ValidationError::new("items", "must list 1 to 200 items").into()),
        (None, None, Some(seat)) if seat > 0 => Ok(Share::Seat(seat)),
        (None, None, Some(_)) => Err(ValidationError::new("seat", "must be 1 or more").into()),
        _ => Err(ValidationError::new("amount", "give exactly one of amount, items or seat").into()),
    }
}

fn contact(raw: Option<&str>, field: &str, max: usize) -> Result<Option<String>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) if value.chars().count() <= max && !value.chars().any(char::is_control) => {
            Ok(Some(value.to_owned()))
        }
        Some(_) => {
            Err(ValidationError::new(field, format!("must be 1 to {max} printable characters")).into())
        }
    }
}

fn provider_problem(error: &GatewayError) -> HttpResponse {
    let (status, code, detail) = match error {
        GatewayError::NotConfigured => (
            StatusCode::SERVICE_UNAVAILABLE,
            "pesapal_not_configured",
            "online payments are not configured on this server".to_owned(),
        ),
        GatewayError::Rejected { code, message } => (
            StatusCode::BAD_GATEWAY,
            "payment_provider_rejected",
            format!("Pesapal refused the payment ({code}): {message}"),
        ),
        GatewayError::Unreachable(_) => (
            StatusCode::GATEWAY_TIMEOUT,
            "payment_provider_unreachable",
            "Pesapal did not answer; nothing was charged, try again".to_owned(),
        ),
        GatewayError::Protocol(_) => (
            StatusCode::BAD_GATEWAY,
            "payment_provider_error",
            "Pesapal answered something unreadable; nothing was charged".to_owned(),
        ),
    };
    tracing::warn!(%error, code, "Pesapal did not take an order");
    ProblemDetails::new(status, code, detail, None).into_response(status)
}

/// The `pesapal` branch of `POST /api/orders/{order_id}/payments` (documented there).
pub(crate) async fn take_online_payment(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    order: OrderId,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::TakePayment)?;
    let key = idempotency_key(&req, KeyRule::Required)?;
    let input: PesapalPaymentInput = body.json()?;
    let cmd = StartOnlineCmd {
        order,
        share: share_of(&input)?,
        customer_phone: contact(input.customer_phone.as_deref(), "customer_phone", 30)?,
        customer_email: contact(input.customer_email.as_deref(), "customer_email", 100)?,
    };
    if cmd.customer_phone.is_none() && cmd.customer_email.is_none() {
        return Err(ValidationError::new(
            "customer_phone",
            "Pesapal needs the customer's phone number or email address",
        )
        .into());
    }
    let Some(service) = state.online_payments.clone() else {
        return Ok(provider_problem(&GatewayError::NotConfigured));
    };
    // The provider's answer reaches the response rendered inside the unit of work.
    let submitted: Arc<OnceLock<GatewayRedirect>> = Arc::default();
    let seen = submitted.clone();
    let render = move |input: RenderInput<'_>| match input {
        RenderInput::Committed {
            order,
            change: OrderChange::PaymentTaken(payment),
            ..
        } => match (OrderView::of(order), seen.get()) {
            (Ok(order), Some(redirect)) => json_response(
                StatusCode::CREATED,
                &OnlinePaymentView {
                    payment: PaymentView::of(payment),
                    order,
                    redirect_url: redirect.redirect_url.clone(),
                    order_tracking_id: redirect.order_tracking_id.clone(),
                },
            ),
            (Err(e), _) => internal_error(&e),
            (_, None) => internal_error(&"an online payment without the provider's answer"),
        },
        RenderInput::Committed { .. } => internal_error(&"a payment unit reported another change"),
        RenderInput::Refused { error, current } => render_payment_refusal(error, current),
    };
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    let result = service
        .start(caller(&auth), cmd, claim, |redirect| {
            let _ = submitted.set(redirect.clone());
        })
        .await;
    match result {
        Ok(Some(outcome)) => respond(Ok(outcome), render),
        Ok(None) => Err(ApiError::conflict(
            PaymentError::NoOpenShift.code(),
            "open a shift (POST /api/shifts) before taking payments",
        )),
        Err(OnlineError::Service(error)) => respond(Err(error), render),
        Err(OnlineError::Gateway(error)) => Ok(provider_problem(&error)),
    }
}

/// Confirms what one notification names and answers Pesapal's acknowledgement.
async fn handle(state: &AppState, notification: IpnNotification) -> HttpResponse {
    let acknowledge = |handled: bool| -> HttpResponse {
        let body: IpnAcknowledgement = notification.acknowledgement(handled);
        HttpResponse::Ok().json(body)
    };
    let Some(service) = state.online_payments.as_ref() else {
        tracing::warn!("a Pesapal notification arrived but Pesapal is not configured");
        return acknowledge(false);
    };
    let tracking_id = notification.order_tracking_id.as_str();
    let reference = notification.order_merchant_reference.as_str();
    match service.confirm(tracking_id, Some(reference)).await {
        Ok(Confirmation::Unknown) => {
            tracing::warn!(
                tracking_id,
                reference,
                "Pesapal notification for an unknown payment"
            );
            acknowledge(false)
        }
        Ok(Confirmation::Completed) => {
            tracing::info!(tracking_id, reference, "Pesapal payment completed");
            acknowledge(true)
        }
        Ok(Confirmation::Failed(reason)) => {
            if reason == FailReason::AmountMismatch {
                tracing::error!(
                    tracking_id,
                    reference,
                    "Pesapal confirmed another amount, currency or reference than ours: payment failed, check it by hand"
                );
            } else {
                tracing::warn!(
                    tracking_id,
                    reference,
                    reason = reason.as_str(),
                    "Pesapal payment failed"
                );
            }
            acknowledge(true)
        }
        Ok(Confirmation::AlreadySettled(pos_domain::payment::PaymentStatus::Failed)) => {
            // A customer may have paid after we gave up: worth a look in Pesapal's dashboard.
            tracing::warn!(
                tracking_id,
                reference,
                "Pesapal notification for a payment that already failed"
            );
            acknowledge(true)
        }
        Ok(outcome) => {
            tracing::debug!(tracking_id, ?outcome, "Pesapal notification changed nothing");
            acknowledge(true)
        }
        Err(error) => {
            tracing::warn!(tracking_id, %error, "Pesapal notification not handled; asking for a retry");
            acknowledge(false)
        }
    }
}

fn bad_notification(error: IpnParseError) -> ApiError {
    let field = match &error {
        IpnParseError::Missing(f) | IpnParseError::Empty(f) | IpnParseError::TooLong(f) => {
            Some((*f).to_owned())
        }
        IpnParseError::Malformed(_) => None,
    };
    ApiError::bad_request("invalid_notification", error.to_string(), field)
}

/// The query parameters of a GET notification (documentation only: the handler reads the
/// raw query and builds `IpnNotification::from_fields`).
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IpnQuery {
    /// Pesapal's order tracking id.
    #[serde(rename = "OrderTrackingId")]
    pub order_tracking_id: String,
    /// Our payment id.
    #[serde(rename = "OrderMerchantReference")]
    pub order_merchant_reference: String,
    /// `IPNCHANGE` (or `RECURRING`).
    #[serde(rename = "OrderNotificationType")]
    pub order_notification_type: String,
}

/// Pesapal's acknowledgement: `status` 200 when handled, 500 to be notified again.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IpnAcknowledgementSchema {
    pub order_notification_type: String,
    pub order_tracking_id: String,
    pub order_merchant_reference: String,
    pub status: u16,
}

/// A Pesapal notification sent as GET. Public (Pesapal does not authenticate): the payment
/// is confirmed with Pesapal before anything changes.
#[utoipa::path(
    tag = "payments",
    params(IpnQuery),
    responses(
        (status = 200, description = "Pesapal's acknowledgement", body = IpnAcknowledgementSchema),
    ),
    extensions(("x-pos-action" = json!("public")))
)]
#[get("/payments/pesapal/ipn")]
pub async fn ipn_get(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    // Decoded here (serde_urlencoded), the fields named by the domain when one is missing.
    let mut fields: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string())
            .map_err(|e| ApiError::bad_request("invalid_notification", e.to_string(), None))?;
    let raw = IpnNotification {
        order_tracking_id: fields
            .remove("OrderTrackingId")
            .ok_or(IpnParseError::Missing("OrderTrackingId"))
            .map_err(bad_notification)?,
        order_merchant_reference: fields
            .remove("OrderMerchantReference")
            .ok_or(IpnParseError::Missing("OrderMerchantReference"))
            .map_err(bad_notification)?,
        order_notification_type: fields
            .remove("OrderNotificationType")
            .ok_or(IpnParseError::Missing("OrderNotificationType"))
            .map_err(bad_notification)?,
    };
    Ok(handle_raw(&state, raw).await)
}

/// A Pesapal notification sent as POST with a JSON body.
#[utoipa::path(
    tag = "payments",
    request_body = IpnNotificationSchema,
    responses(
        (status = 200, description = "Pesapal's acknowledgement", body = IpnAcknowledgementSchema),
    ),
    extensions(("x-pos-action" = json!("public")))
)]
#[post("/payments/pesapal/ipn")]
pub async fn ipn_post(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let raw: IpnNotification = serde_json::from_slice(&body)
        .map_err(|e| bad_notification(IpnParseError::Malformed(e.to_string())))?;
    Ok(handle_raw(&state, raw).await)
}

/// A notification whose fields are all present: one with an empty or oversized field names
/// no payment of ours, so it is answered like an unknown one (acknowledged with `status`
/// 500, nothing read or changed) rather than refused.
async fn handle_raw(state: &AppState, raw: IpnNotification) -> HttpResponse {
    match raw.clone().validate() {
        Ok(notification) => handle(state, notification).await,
        Err(error) => {
            tracing::warn!(%error, "Pesapal notification names no payment; not handled");
            let clip = |value: &str| value.chars().take(100).collect::<String>();
            let unknown = IpnNotification {
                order_tracking_id: clip(&raw.order_tracking_id),
                order_merchant_reference: clip(&raw.order_merchant_reference),
                order_notification_type: clip(&raw.order_notification_type),
            };
            HttpResponse::Ok().json(unknown.acknowledgement(false))
        }
    }
}

/// The body of a POST notification, in Pesapal's casing (documentation only).
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct IpnNotificationSchema {
    #[serde(rename = "OrderTrackingId")]
    pub order_tracking_id: String,
    #[serde(rename = "OrderMerchantReference")]
    pub order_merchant_reference: String,
    #[serde(rename = "OrderNotificationType")]
    pub order_notification_type: String,
}
