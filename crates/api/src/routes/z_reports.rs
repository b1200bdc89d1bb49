//! `/api/z-reports*` (issue 10 item 2): closing the business day with a numbered, immutable,
//! hash-chained Z report; reading them back (JSON, or the printed text marked COPY); and
//! verifying the chain. The rules are in `pos_domain::z_report`.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use pos_domain::business_day::business_date;
use pos_domain::ids::StaffId;
use pos_domain::permissions::Action;
use pos_domain::reports::BusinessClock;
use pos_domain::z_report::{
    CloseDay, OpenShiftRef, ZChainBreak, ZClaim, ZMutation, ZRefusal, ZRender, ZReportRecord, ZTotals,
    render_text, verify_chain,
};
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
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    // `verify` before `{number}`, so it is never read as a number.
    cfg.service(verify_z_chain)
        .service(close_day)
        .service(list_z_reports)
        .service(get_z_report);
}

/// A Z report. Money in minor units of `currency`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZReportView {
    /// 1, 2, 3 … without gaps.
    pub number: i64,
    pub business_date: NaiveDate,
    pub currency: String,
    /// Everything from here (the previous report's end) …
    pub period_start: DateTime<Utc>,
    /// … to here (when this report was taken).
    pub period_end: DateTime<Utc>,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: StaffId,
    pub created_at: DateTime<Utc>,
    /// The previous report's hash (64 zeros for number 1).
    pub prev_hash: String,
    /// SHA-256 over `prev_hash` and this report's canonical content.
    pub hash: String,
    pub totals: ZTotals,
    /// True on every reading after the first answer (a reprint).
    pub copy: bool,
    /// The printed report (48 columns); absent in lists.
    pub text: Option<String>,
}

impl ZReportView {
    fn of(record: &ZReportRecord, text: Option<String>, copy: bool) -> Self {
        Self {
            number: record.number,
            business_date: record.business_date,
            currency: record.currency.clone(),
            period_start: record.period_start,
            period_end: record.period_end,
            created_by: record.created_by,
            created_at: record.created_at,
            prev_hash: record.prev_hash.clone(),
            hash: record.hash.clone(),
            totals: record.totals.clone(),
            copy,
            text,
        }
    }
}

/// Closing the day takes no fields; an empty body or `{}` is fine.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseDayInput {}

/// 409 `shifts_still_open`: the shifts to close first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShiftsOpenProblem {
    #[serde(flatten)]
    pub problem: ProblemDetails,
    pub open_shifts: Vec<OpenShiftRef>,
}

fn render_refusal(refusal: &ZRefusal) -> pos_domain::idempotency::StoredResponse {
    let status = match refusal {
        ZRefusal::Approval(_) => StatusCode::FORBIDDEN,
        ZRefusal::ShiftsOpen(_) | ZRefusal::DayClosed { .. } => StatusCode::CONFLICT,
    };
    let mut problem = ProblemDetails::new(status, refusal.code(), refusal.to_string(), None);
    problem.request_id = None;
    match refusal {
        ZRefusal::ShiftsOpen(open) => problem_response(
            &ShiftsOpenProblem {
                problem,
                open_shifts: open.clone(),
            },
            status,
        ),
        _ => problem_response(&problem, status),
    }
}

/// Close the business day: the next Z report, covering everything since the previous one.
/// Refused while any shift is open (409 `shifts_still_open`, listing them) and when today's
/// business date already has a report (409 `business_day_closed`). An `Idempotency-Key` is
/// required: a retry replays the first answer and never takes a second report.
#[utoipa::path(
    tag = "reports",
    params(("Idempotency-Key" = String, Header, description = "A fresh UUID per close: a retry replays the first answer")),
    request_body(content = CloseDayInput, description = "Nothing, or `{}`"),
    responses(
        (status = 201, description = "The Z report, with its printed text", body = ZReportView),
        (status = 409, description = "`shifts_still_open` (with `open_shifts`), `business_day_closed`, `request_in_progress`", body = ShiftsOpenProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("run_z_report")))
)]
#[post("/z-reports")]
pub async fn close_day(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.require(Action::RunZReport)?;
    let key = idempotency_key(&req, KeyRule::Required)?;
    let _: CloseDayInput = body.json_or_default()?;
    let settings = state.settings.get_settings().await?;
    let now = state.clock.now();
    let cafe_name = settings.cafe_name.clone();
    let render = move |input: ZRender<'_>| match input {
        ZRender::Committed(record) => json_response(
            StatusCode::CREATED,
            &ZReportView::of(record, Some(render_text(record, &cafe_name, false)), false),
        ),
        ZRender::Refused(refusal) => render_refusal(refusal),
    };
    let claim = key.map(|key| ZClaim::new(actor.id, key, fingerprint(&req, body.bytes()), render));
    let cmd = CloseDay {
        business_date: business_date(now, &settings),
        now,
        by: actor,
        terminal: auth.terminal_id(),
        clock: BusinessClock::of(&settings),
        currency: settings.currency,
    };
    match state.reports.close_day(cmd, claim).await? {
        ZMutation::Committed { record, response } => Ok(match response {
            Some(stored) => respond_with(stored, false),
            None => HttpResponse::Created().json(ZReportView::of(
                &record,
                Some(render_text(&record, &settings.cafe_name, false)),
                false,
            )),
        }),
        ZMutation::Refused { refusal, response } => Ok(respond_with(
            response.unwrap_or_else(|| render_refusal(&refusal)),
            false,
        )),
        ZMutation::Replayed(stored) => Ok(respond_with(stored, true)),
        ZMutation::KeyMismatch => Err(key_reused()),
        ZMutation::KeyInProgress => Err(in_progress()),
    }
}

/// Every Z report, newest first (without their printed text).
#[utoipa::path(
    tag = "reports",
    responses((status = 200, description = "The Z reports", body = Vec<ZReportView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_reports")))
)]
#[get("/z-reports")]
pub async fn list_z_reports(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ViewReports)?;
    let reports = state.reports.z_reports().await?;
    let views: Vec<ZReportView> = reports.iter().map(|r| ZReportView::of(r, None, true)).collect();
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ZReportQuery {
    /// `json` (default) or `text` (also chosen by `Accept: text/plain`): the printed report,
    /// marked COPY.
    #[param(example = "text")]
    pub format: Option<String>,
}

/// One Z report, reprinted: JSON with its text, or the text alone; both marked COPY.
#[utoipa::path(
    tag = "reports",
    params(("number" = i64, Path, description = "The report's number"), ZReportQuery),
    responses(
        (status = 200, description = "The Z report", content(
            (ZReportView = "application/json"),
            (String = "text/plain; charset=utf-8"),
        )),
        (status = 404, description = "No such report", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_reports")))
)]
#[get("/z-reports/{number}")]
pub async fn get_z_report(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    number: Path<(String,)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ViewReports)?;
    // Read after the permission check, so a refused caller learns nothing from the path.
    let number: i64 = number.0.0.trim().parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_parameter",
            "number: must be a whole number",
            Some("number".to_owned()),
        )
    })?;
    let query: ZReportQuery = parse_query(req.query_string())?;
    let text_wanted = match query.format.as_deref().map(str::trim) {
        Some("json") => false,
        Some("text") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "format: must be json or text",
                Some("format".to_owned()),
            ));
        }
        None => req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.starts_with("text/plain")),
    };
    let record = state.reports.z_report(number).await?;
    let settings = state.settings.get_settings().await?;
    let text = render_text(&record, &settings.cafe_name, true);
    if text_wanted {
        return Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(text));
    }
    Ok(HttpResponse::Ok().json(ZReportView::of(&record, Some(text), true)))
}

/// The Z chain checked from the first report: numbers without gaps, each linked to the
/// previous, each matching its hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZChainView {
    pub ok: bool,
    /// Reports checked (all of them when `ok`).
    pub reports: usize,
    /// The first break: `{"problem": "gap" | "unlinked" | "altered", "number": …}`.
    #[schema(value_type = Option<Object>)]
    pub first_break: Option<ZChainBreak>,
    pub detail: Option<String>,
}

/// Verify the Z reports' hash chain.
#[utoipa::path(
    tag = "reports",
    responses((status = 200, description = "The chain's state", body = ZChainView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_reports")))
)]
#[get("/z-reports/verify")]
pub async fn verify_z_chain(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ViewReports)?;
    let chain = state.reports.z_chain().await?;
    let view = match verify_chain(&chain) {
        Ok(n) => ZChainView {
            ok: true,
            reports: n,
            first_break: None,
            detail: None,
        },
        Err(broken) => ZChainView {
            ok: false,
            reports: chain.len(),
            detail: Some(broken.to_string()),
            first_break: Some(broken),
        },
    };
    Ok(HttpResponse::Ok().json(view))
}
