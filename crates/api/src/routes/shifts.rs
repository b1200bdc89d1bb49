//! `/api/shifts*` (spec §3 Shift, §10): open a drawer with its counted float, cash in and out
//! with a reason, close it with the counted cash (a variance beyond the venue's threshold
//! needs a manager's `approval` in the same request), the caller's current shift, and the
//! X report at any time.
//!
//! Every mutation takes an optional `Idempotency-Key`: a retry replays the first answer, and
//! the key is stored in the same transaction as the shift.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use pos_domain::idempotency::{IdempotencyKey, StoredResponse};
use pos_domain::ids::{CashMovementId, ShiftId, StaffId, TerminalId};
use pos_domain::permissions::Action;
use pos_domain::shift::{CashMovementKind, CashSummary, Shift, ShiftError, ShiftStatus};
use pos_domain::shifts::{
    CloseCmd, MovementCmd, ShiftCaller, ShiftClaim, ShiftListQuery, ShiftOutcome, ShiftRender,
    ShiftServiceError, ShiftState,
};
use pos_domain::validate::{Note, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::{Path, parse_query};
use crate::idempotency::{
    KeyRule, RawBody, fingerprint, idempotency_key, in_progress, json_response, key_reused, problem_response,
    respond_with,
};
use crate::routes::approval::{ApprovalInput, verify_approval};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(open_shift)
        .service(list_shifts)
        .service(current_shift)
        .service(get_shift)
        .service(record_cash_movement)
        .service(close_shift)
        .service(x_report);
}

const IDEMPOTENCY_KEY_DOC: &str =
    "A fresh UUID per user action: a retry with the same key replays the first answer";

// ----- request bodies ----------------------------------------------------------------------------

/// Opening a shift: the cash counted into the drawer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenShiftInput {
    /// Minor units of the venue currency, 0 or more.
    #[schema(minimum = 0)]
    pub opening_float: i64,
}

/// Cash put into or taken out of the drawer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashMovementInput {
    /// `cash_in` or `cash_out`.
    pub kind: String,
    /// Minor units, greater than 0.
    #[schema(minimum = 1)]
    pub amount: i64,
    /// Why (1 to 500 characters): "change top-up", "charcoal from the till".
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Closing a shift with the cash counted in the drawer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseShiftInput {
    /// Minor units counted, 0 or more.
    #[schema(minimum = 0)]
    pub counted_cash: i64,
    #[schema(max_length = 500)]
    pub note: Option<String>,
    /// A manager's credentials when the variance is beyond the threshold and the closer is
    /// not a manager.
    pub approval: Option<ApprovalInput>,
}

/// `GET /api/shifts` filters and paging.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListShiftsQuery {
    /// `open` or `closed`; both when absent.
    pub status: Option<String>,
    /// First business date of the opening (included).
    pub from: Option<NaiveDate>,
    /// Last business date of the opening (included); not before `from`.
    pub to: Option<NaiveDate>,
    /// 1–500, default 100; newest opened first.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Shifts to skip, for the next page (default 0).
    #[param(minimum = 0)]
    pub offset: Option<u32>,
}

// ----- views ---------------------------------------------------------------------------------

/// One cash movement of a shift.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CashMovementView {
    #[schema(value_type = uuid::Uuid)]
    pub id: CashMovementId,
    /// `cash_in` or `cash_out`.
    pub kind: String,
    pub amount: i64,
    pub reason: String,
    #[schema(value_type = uuid::Uuid)]
    pub staff_id: StaffId,
    pub at: DateTime<Utc>,
}

/// The drawer: float + cash sales + cash tips − cash refunds + cash in − cash out = expected.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CashView {
    pub opening_float: i64,
    /// Cash applied to orders (tendered minus change).
    pub cash_sales: i64,
    pub cash_refunds: i64,
    /// Tips left with cash payments: in the drawer until paid out (a cash out), never sales.
    pub cash_tips: i64,
    /// Tips of every method taken on the shift.
    pub tips: i64,
    pub cash_in: i64,
    pub cash_out: i64,
    pub expected: i64,
}

impl From<&CashSummary> for CashView {
    fn from(cash: &CashSummary) -> Self {
        Self {
            opening_float: cash.opening_float.minor(),
            cash_sales: cash.cash_sales.minor(),
            cash_refunds: cash.cash_refunds.minor(),
            cash_tips: cash.cash_tips.minor(),
            tips: cash.tips.minor(),
            cash_in: cash.cash_in.minor(),
            cash_out: cash.cash_out.minor(),
            expected: cash.expected.minor(),
        }
    }
}

/// A shift with its drawer as of now. Amounts are minor units of `currency`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShiftView {
    #[schema(value_type = uuid::Uuid)]
    pub id: ShiftId,
    #[schema(value_type = uuid::Uuid)]
    pub staff_id: StaffId,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub terminal_id: Option<TerminalId>,
    /// `open` or `closed`.
    pub status: String,
    #[schema(example = "UGX")]
    pub currency: String,
    pub opening_float: i64,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub closed_by: Option<StaffId>,
    pub counted_cash: Option<i64>,
    /// Fixed at close.
    pub expected_cash: Option<i64>,
    /// counted − expected: negative when cash is missing.
    pub variance: Option<i64>,
    /// The manager who accepted a variance beyond the threshold.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub variance_approved_by: Option<StaffId>,
    pub close_note: Option<String>,
    pub movements: Vec<CashMovementView>,
    pub cash: CashView,
}

impl ShiftView {
    pub fn of(state: &ShiftState) -> Self {
        let shift: &Shift = &state.shift;
        Self {
            id: shift.id,
            staff_id: shift.staff_id,
            terminal_id: shift.terminal_id,
            status: shift.status.as_str().to_owned(),
            currency: shift.currency().code().to_owned(),
            opening_float: shift.opening_float.minor(),
            opened_at: shift.opened_at,
            closed_at: shift.closed_at,
            closed_by: shift.closed_by,
            counted_cash: shift.counted_cash.map(|m| m.minor()),
            expected_cash: shift.expected_cash.map(|m| m.minor()),
            variance: shift.variance.map(|m| m.minor()),
            variance_approved_by: shift.variance_approved_by,
            close_note: shift.close_note.as_ref().map(|n| n.as_str().to_owned()),
            movements: shift
                .movements
                .iter()
                .map(|m| CashMovementView {
                    id: m.id,
                    kind: m.kind.as_str().to_owned(),
                    amount: m.amount.minor(),
                    reason: m.reason.as_str().to_owned(),
                    staff_id: m.staff_id,
                    at: m.at,
                })
                .collect(),
            cash: CashView::from(&state.cash),
        }
    }
}

/// The X report: a shift's figures at any moment, the shift going on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct XReportView {
    pub generated_at: DateTime<Utc>,
    pub shift: ShiftView,
}

// ----- refusals --------------------------------------------------------------------------------

/// Which field an amount refusal names on each route.
#[derive(Debug, Clone, Copy)]
struct AmountField(&'static str);

fn refusal_status(error: &ShiftError) -> StatusCode {
    match error {
        ShiftError::Approval(_) => StatusCode::FORBIDDEN,
        ShiftError::ShiftClosed
        | ShiftError::ShiftsStillOpen { .. }
        | ShiftError::StaffShiftOpen { .. }
        | ShiftError::TerminalShiftOpen { .. } => StatusCode::CONFLICT,
        ShiftError::NonPositiveAmount
        | ShiftError::NegativeAmount
        | ShiftError::CurrencyMismatch { .. }
        | ShiftError::ReasonRequired
        | ShiftError::Overflow => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn refusal_field(error: &ShiftError, amount: AmountField) -> Option<String> {
    match error {
        ShiftError::NonPositiveAmount
        | ShiftError::NegativeAmount
        | ShiftError::CurrencyMismatch { .. }
        | ShiftError::Overflow => Some(amount.0.to_owned()),
        ShiftError::ReasonRequired => Some("reason".to_owned()),
        ShiftError::Approval(_) => Some("approval".to_owned()),
        _ => None,
    }
}

fn render_refusal(error: &ShiftError, amount: AmountField) -> StoredResponse {
    let status = refusal_status(error);
    let mut problem = ProblemDetails::new(
        status,
        error.code(),
        error.to_string(),
        refusal_field(error, amount),
    );
    problem.request_id = None;
    problem_response(&problem, status)
}

fn render(
    status: StatusCode,
    amount: AmountField,
) -> impl Fn(ShiftRender<'_>) -> StoredResponse + Clone + Send + 'static {
    move |input: ShiftRender<'_>| match input {
        ShiftRender::Committed(state) => json_response(status, &ShiftView::of(state)),
        ShiftRender::Refused(error) => render_refusal(error, amount),
    }
}

fn claim<R>(
    auth: &Authenticated,
    key: Option<IdempotencyKey>,
    req: &HttpRequest,
    body: &[u8],
    render: &R,
) -> Option<ShiftClaim>
where
    R: Fn(ShiftRender<'_>) -> StoredResponse + Clone + Send + 'static,
{
    key.map(|key| ShiftClaim::new(auth.actor.id, key, fingerprint(req, body), render.clone()))
}

fn caller(auth: &Authenticated) -> ShiftCaller {
    ShiftCaller {
        actor: auth.actor,
        terminal: auth.terminal_id(),
    }
}

fn service_error(error: ShiftServiceError, amount: AmountField) -> Result<HttpResponse, ApiError> {
    match error {
        ShiftServiceError::Refused { error, response } => {
            let stored = response.unwrap_or_else(|| render_refusal(&error, amount));
            Ok(respond_with(stored, false))
        }
        ShiftServiceError::Forbidden(e) => Err(e.into()),
        ShiftServiceError::Invalid(e) => Err(e.into()),
        ShiftServiceError::KeyMismatch => Err(key_reused()),
        ShiftServiceError::KeyInProgress => Err(in_progress()),
        ShiftServiceError::Store(e) => Err(e.into()),
    }
}

fn respond<R>(
    result: Result<ShiftOutcome, ShiftServiceError>,
    render: R,
    amount: AmountField,
) -> Result<HttpResponse, ApiError>
where
    R: Fn(ShiftRender<'_>) -> StoredResponse,
{
    match result {
        Ok(ShiftOutcome::Applied { state, response }) => {
            let stored = response.unwrap_or_else(|| render(ShiftRender::Committed(&state)));
            Ok(respond_with(stored, false))
        }
        Ok(ShiftOutcome::Replayed(stored)) => Ok(respond_with(stored, true)),
        Err(error) => service_error(error, amount),
    }
}

fn read_error(error: ShiftServiceError) -> ApiError {
    match error {
        ShiftServiceError::Forbidden(e) => e.into(),
        ShiftServiceError::Invalid(e) => e.into(),
        // A read refuses only when stored figures overflow: a fault, not the client's.
        ShiftServiceError::Refused { error, .. } => ApiError::internal(error),
        ShiftServiceError::KeyMismatch => key_reused(),
        ShiftServiceError::KeyInProgress => in_progress(),
        ShiftServiceError::Store(e) => e.into(),
    }
}

// ----- handlers ------------------------------------------------------------------------------

/// Open the caller's shift, on the caller's terminal, with the counted float. A staff member
/// and a terminal each have at most one open shift.
#[utoipa::path(
    tag = "shifts",
    params(("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC)),
    request_body = OpenShiftInput,
    responses(
        (status = 201, description = "The shift, open", body = ShiftView),
        (status = 409, description = "`shift_already_open` (yours or this terminal's), `request_in_progress`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("open_own_shift")))
)]
#[post("/shifts")]
pub async fn open_shift(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::OpenOwnShift)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let input: OpenShiftInput = body.json()?;
    let amount = AmountField("opening_float");
    let render = render(StatusCode::CREATED, amount);
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(
        state.shifts.open(caller(&auth), input.opening_float, claim).await,
        render,
        amount,
    )
}

/// Shifts, open and closed, newest opened first, with their drawers. A manager or admin
/// sees everyone's; a cashier only their own.
#[utoipa::path(
    tag = "shifts",
    params(ListShiftsQuery),
    responses(
        (status = 200, description = "A page of shifts", body = Vec<ShiftView>),
        (status = 400, description = "`invalid_parameter`: `from`, `to`, `limit` or `offset` unreadable (`field` names it)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `status` not open or closed, `from` after `to`, `limit` out of 1–500", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_x_report")))
)]
#[get("/shifts")]
pub async fn list_shifts(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> Result<web::Json<Vec<ShiftView>>, ApiError> {
    auth.require(Action::ViewXReport)?;
    let query: ListShiftsQuery = parse_query(req.query_string())?;
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(ShiftStatus::parse)
        .transpose()?;
    let query = ShiftListQuery {
        status,
        from: query.from,
        to: query.to,
        limit: query.limit.unwrap_or(100),
        offset: query.offset.unwrap_or(0),
    };
    let shifts = state
        .shifts
        .list(caller(&auth), query)
        .await
        .map_err(read_error)?;
    Ok(web::Json(shifts.iter().map(ShiftView::of).collect()))
}

/// The caller's open shift with its drawer; 404 `no_open_shift` when there is none.
#[utoipa::path(
    tag = "shifts",
    responses((status = 200, description = "The caller's open shift", body = ShiftView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("open_own_shift")))
)]
#[get("/shifts/current")]
pub async fn current_shift(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::OpenOwnShift)?;
    match state.shifts.current(caller(&auth)).await.map_err(read_error)? {
        Some(current) => Ok(HttpResponse::Ok().json(ShiftView::of(&current))),
        None => Err(ApiError::NotFound(
            "no open shift: open one with POST /api/shifts".to_owned(),
        )),
    }
}

/// One shift with its drawer as of now (its owner, or a manager).
#[utoipa::path(
    tag = "shifts",
    params(("shift_id" = uuid::Uuid, Path, description = "The shift")),
    responses((status = 200, description = "The shift", body = ShiftView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_x_report")))
)]
#[get("/shifts/{shift_id}")]
pub async fn get_shift(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(ShiftId,)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ViewXReport)?;
    let shift = state
        .shifts
        .get(caller(&auth), id.0.0)
        .await
        .map_err(read_error)?;
    Ok(HttpResponse::Ok().json(ShiftView::of(&shift)))
}

/// The X report: the shift's drawer at this moment, without closing anything.
#[utoipa::path(
    tag = "shifts",
    params(("shift_id" = uuid::Uuid, Path, description = "The shift")),
    responses((status = 200, description = "The shift's figures now", body = XReportView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_x_report")))
)]
#[get("/shifts/{shift_id}/x-report")]
pub async fn x_report(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(ShiftId,)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ViewXReport)?;
    let shift = state
        .shifts
        .get(caller(&auth), id.0.0)
        .await
        .map_err(read_error)?;
    Ok(HttpResponse::Ok().json(XReportView {
        generated_at: state.clock.now(),
        shift: ShiftView::of(&shift),
    }))
}

/// Cash in (a change top-up) or out (a supplier paid from the till), with its reason. The
/// shift's owner, or a manager.
#[utoipa::path(
    tag = "shifts",
    params(
        ("shift_id" = uuid::Uuid, Path, description = "The shift"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = CashMovementInput,
    responses(
        (status = 201, description = "The shift with the movement", body = ShiftView),
        (status = 409, description = "`shift_closed`, `request_in_progress`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("record_cash_movement")))
)]
#[post("/shifts/{shift_id}/cash-movements")]
pub async fn record_cash_movement(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(ShiftId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::RecordCashMovement)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let input: CashMovementInput = body.json()?;
    let kind = CashMovementKind::parse(&input.kind)?;
    let reason = Note::parse_field("reason", input.reason.trim())?;
    if reason.as_str().is_empty() {
        return Err(ValidationError::new("reason", "must not be empty").into());
    }
    let amount = AmountField("amount");
    let render = render(StatusCode::CREATED, amount);
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    let cmd = MovementCmd {
        kind,
        amount: input.amount,
        reason,
    };
    respond(
        state
            .shifts
            .record_movement(caller(&auth), id.0.0, cmd, claim)
            .await,
        render,
        amount,
    )
}

/// Close a shift with the cash counted: the answer carries expected cash and the variance
/// (counted − expected). A variance beyond the venue's `shift_variance_threshold` needs a
/// manager: the closer, or one approving in `approval` (both recorded in the audit log).
/// The owner closes their own shift; another's needs `close_any_shift`.
#[utoipa::path(
    tag = "shifts",
    params(
        ("shift_id" = uuid::Uuid, Path, description = "The shift"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = CloseShiftInput,
    responses(
        (status = 200, description = "The shift, closed", body = ShiftView),
        (status = 403, description = "`approval_required`, `approver_not_allowed`, `invalid_approval`, `not_permitted` (someone else's shift)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`shift_closed`, `request_in_progress`", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "`account_locked`: too many wrong approver credentials", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("close_own_shift")))
)]
#[post("/shifts/{shift_id}/close")]
pub async fn close_shift(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(ShiftId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::CloseOwnShift)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let input: CloseShiftInput = body.json()?;
    let note = input
        .note
        .as_deref()
        .map(|n| Note::parse_field("note", n.trim()))
        .transpose()?
        .filter(|n| !n.as_str().is_empty());
    let approval = match input.approval {
        Some(approval) => Some(verify_approval(&state, &auth, approval).await?),
        None => None,
    };
    let amount = AmountField("counted_cash");
    let render = render(StatusCode::OK, amount);
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    let cmd = CloseCmd {
        counted_cash: input.counted_cash,
        note,
        approval,
    };
    respond(
        state.shifts.close(caller(&auth), id.0.0, cmd, claim).await,
        render,
        amount,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pos_domain::approval::ApprovalError;

    #[test]
    fn refusals_pick_their_status_and_field() {
        let cases = [
            (ShiftError::NegativeAmount, 422, Some("counted_cash")),
            (ShiftError::ReasonRequired, 422, Some("reason")),
            (ShiftError::ShiftClosed, 409, None),
            (
                ShiftError::StaffShiftOpen {
                    shift_id: ShiftId::new(),
                },
                409,
                None,
            ),
            (
                ShiftError::Approval(ApprovalError::ApprovalRequired {
                    action: Action::ApproveSensitive,
                }),
                403,
                Some("approval"),
            ),
        ];
        for (error, status, field) in cases {
            let stored = render_refusal(&error, AmountField("counted_cash"));
            assert_eq!(stored.status, status, "{error:?}");
            let body: serde_json::Value = serde_json::from_slice(&stored.body).unwrap();
            assert_eq!(body["code"], error.code());
            assert_eq!(body["field"].as_str(), field, "{error:?}");
        }
    }
}
