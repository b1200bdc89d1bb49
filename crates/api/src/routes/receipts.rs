//! `GET /api/orders/{id}/receipt` (spec §10): the order's customer receipt rendered again,
//! marked as a copy (the original printed when the order closed), with its gap-free number
//! once the order closed. JSON with the text by default; `?format=text` (or
//! `Accept: text/plain`) for the text alone, `?format=escpos` for printer bytes.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use pos_domain::idempotency::StoredResponse;
use pos_domain::ids::{OrderId, PrintJobId};
use pos_domain::order::Order;
use pos_domain::order::ports::{OrderChange, RenderInput};
use pos_domain::permissions::Action;
use pos_domain::print_job::{NewPrintJob, PrintJobKind};
use pos_domain::printing::{Paper, ReceiptData, render_receipt_escpos, render_receipt_text};
use pos_domain::receipts::{RECEIPT_PRINTER, ReceiptContext, receipt_data};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::{Path, parse_query};
use crate::idempotency::{KeyRule, RawBody, idempotency_key, internal_error, json_response};
use crate::orders::{FieldHints, OrderProblem, caller, claim, read_error, render_refusal, respond};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_receipt).service(reprint_receipt);
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReceiptQuery {
    /// `80mm` (48 columns, default) or `58mm` (32 columns).
    #[param(value_type = Option<String>, example = "80mm")]
    pub paper: Option<Paper>,
    /// `json` (default), `text` or `escpos`.
    #[param(value_type = Option<String>, example = "escpos")]
    pub format: Option<String>,
}

/// The receipt as JSON.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiptView {
    #[schema(value_type = uuid::Uuid)]
    pub order_id: OrderId,
    /// The venue's gap-free receipt number; null until the order closed (then it is a bill).
    pub receipt_number: Option<i64>,
    /// Always true here: the original printed when the order closed.
    pub copy: bool,
    /// The rendered receipt for the paper asked for.
    pub text: String,
}

enum Format {
    Json,
    Text,
    Escpos,
}

fn format_of(req: &HttpRequest, asked: Option<&str>) -> Result<Format, ApiError> {
    match asked.map(str::trim) {
        Some("json") => Ok(Format::Json),
        Some("text") => Ok(Format::Text),
        Some("escpos") => Ok(Format::Escpos),
        Some(_) => Err(ApiError::bad_request(
            "invalid_parameter",
            "format: must be json, text or escpos".to_owned(),
            Some("format".to_owned()),
        )),
        None => {
            let accept = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            Ok(if accept.starts_with("text/plain") {
                Format::Text
            } else {
                Format::Json
            })
        }
    }
}

/// The order's receipt data as stored, marked as a copy.
async fn receipt_copy(
    state: &AppState,
    auth: &Authenticated,
    order: OrderId,
) -> Result<(Order, ReceiptData), ApiError> {
    let order = state
        .orders
        .get_order(caller(auth), order)
        .await
        .map_err(read_error)?;
    let (record, payments) = state.receipts.receipt_of(order.id).await?;
    let settings = state.settings.get_settings().await?;
    let table = match order.table_id {
        Some(table) => state
            .tables
            .list_tables()
            .await?
            .into_iter()
            .find(|t| t.id == table)
            .map(|t| t.code.as_str().to_owned()),
        None => None,
    };
    let staff_name = state
        .staff
        .get_staff(order.staff_id)
        .await?
        .full_name
        .as_str()
        .to_owned();
    let context = ReceiptContext {
        staff_name,
        table,
        printed_at: record.as_ref().map_or(state.clock.now(), |r| r.issued_at),
        copy: true,
    };
    let data =
        receipt_data(&order, &settings, record.as_ref(), &payments, context).map_err(ApiError::internal)?;
    Ok((order, data))
}

/// The order's receipt, rendered again and marked as a copy.
#[utoipa::path(
    tag = "payments",
    params(("order_id" = uuid::Uuid, Path, description = "The order"), ReceiptQuery),
    responses(
        (status = 200, description = "The receipt", content(
            (ReceiptView = "application/json"),
            (String = "text/plain; charset=utf-8"),
            (Vec<u8> = "application/octet-stream"),
        )),
        (status = 400, description = "An unknown `format` or `paper`", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such order", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_orders")))
)]
#[get("/orders/{order_id}/receipt")]
pub async fn get_receipt(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ViewOrders)?;
    let query: ReceiptQuery = parse_query(req.query_string())?;
    let format = format_of(&req, query.format.as_deref())?;
    let paper = query.paper.unwrap_or_default();
    let (order, data) = receipt_copy(&state, &auth, id.0.0).await?;
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(ReceiptView {
            order_id: order.id,
            receipt_number: data.receipt_number,
            copy: data.copy,
            text: render_receipt_text(&data, paper),
        }),
        Format::Text => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(render_receipt_text(&data, paper)),
        Format::Escpos => HttpResponse::Ok()
            .content_type("application/octet-stream")
            .body(render_receipt_escpos(&data, paper)),
    })
}

/// A copy queued for printing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReprintView {
    #[schema(value_type = uuid::Uuid)]
    pub print_job_id: PrintJobId,
    #[schema(value_type = uuid::Uuid)]
    pub order_id: OrderId,
    pub receipt_number: Option<i64>,
    /// Always true: marked COPY on the paper.
    pub copy: bool,
    /// The printer the job is queued for.
    pub printer: String,
    pub text: String,
}

/// Queue a copy of a closed order's receipt for the receipt printer, marked as a copy.
/// `Idempotency-Key` is required (a retry queues nothing more).
#[utoipa::path(
    tag = "payments",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("Idempotency-Key" = String, Header, description = "Required: a fresh UUID per reprint"),
        ("paper" = Option<String>, Query, description = "`80mm` (default) or `58mm`"),
    ),
    responses(
        (status = 201, description = "The copy queued", body = ReprintView),
        (status = 404, description = "No such order", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`balance_due`: the order is not closed, so it has no receipt yet", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_orders")))
)]
#[post("/orders/{order_id}/receipt/reprint")]
pub async fn reprint_receipt(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ViewOrders)?;
    let key = idempotency_key(&req, KeyRule::Required)?;
    let query: ReceiptQuery = parse_query(req.query_string())?;
    if query.format.is_some() {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "format: a print job carries both text and ESC/POS".to_owned(),
            Some("format".to_owned()),
        ));
    }
    let paper = query.paper.unwrap_or_default();
    let (order, data) = receipt_copy(&state, &auth, id.0.0).await?;
    let text = render_receipt_text(&data, paper);
    let job = NewPrintJob {
        id: PrintJobId::new(),
        kind: PrintJobKind::Receipt,
        printer: RECEIPT_PRINTER.to_owned(),
        order_id: Some(order.id),
        shift_id: None,
        paper,
        payload_text: text.clone(),
        payload_escpos: render_receipt_escpos(&data, paper),
    };
    let view = ReprintView {
        print_job_id: job.id,
        order_id: order.id,
        receipt_number: data.receipt_number,
        copy: true,
        printer: job.printer.clone(),
        text,
    };
    let render = move |input: RenderInput<'_>| -> StoredResponse {
        match input {
            RenderInput::Committed {
                change: OrderChange::ReceiptReprinted(_),
                ..
            } => json_response(StatusCode::CREATED, &view),
            RenderInput::Committed { .. } => internal_error(&"a reprint unit reported another change"),
            RenderInput::Refused { error, current } => render_refusal(error, current, &FieldHints::default()),
        }
    };
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(
        state
            .payments
            .reprint_receipt(caller(&auth), order.id, job, claim)
            .await,
        render,
    )
}
