//! `/api/print-jobs*`: the queue print agents poll. An agent asks for its printer's pending
//! jobs (already rendered, as text and as ESC/POS bytes), prints them, and acknowledges each
//! one, or reports a failure: the job is retried until it has failed
//! [`MAX_PRINT_ATTEMPTS`] times, then it stays `failed`.

use actix_web::{HttpRequest, get, post, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use pos_domain::ids::{OrderId, PrintJobId, ShiftId};
use pos_domain::permissions::Action;
use pos_domain::print_job::PrintJobKind;
use pos_domain::print_queue::{
    MAX_PRINT_ATTEMPTS, PrintJob, PrintJobStatus, PrintJobUpdate, PrinterError, PrinterName,
};
use pos_domain::printing::Paper;
use pos_domain::validate::ValidationError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::{Json, Path, parse_query};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(pending_print_jobs)
        .service(ack_print_job)
        .service(fail_print_job);
}

/// What a job prints.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = PrintJobKind)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum PrintJobKindSchema {
    Receipt,
    KitchenTicket,
    BarTicket,
    ShiftReport,
    ZReport,
}

/// Where a job is: `queued` (also after a failed attempt that will be retried), `printing`,
/// `printed`, or `failed` (given up).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = PrintJobStatus)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum PrintJobStatusSchema {
    Queued,
    Printing,
    Printed,
    Failed,
}

/// A print job with its rendered payloads.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PrintJobView {
    #[schema(value_type = uuid::Uuid)]
    pub id: PrintJobId,
    #[schema(value_type = PrintJobKindSchema)]
    pub kind: PrintJobKind,
    pub printer: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub order_id: Option<OrderId>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub shift_id: Option<ShiftId>,
    /// `80mm` (48 columns) or `58mm` (32 columns).
    #[schema(value_type = String, example = "80mm")]
    pub paper: Paper,
    #[schema(value_type = PrintJobStatusSchema)]
    pub status: PrintJobStatus,
    /// Failed attempts so far.
    pub attempts: i32,
    /// After this many failed attempts the job is given up.
    pub max_attempts: i32,
    pub last_error: Option<String>,
    /// The ticket or receipt as plain text, for a text printer or a screen.
    pub payload_text: String,
    /// The same as ESC/POS bytes, base64-encoded: send them to the printer as they are.
    pub payload_escpos: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub printed_at: Option<DateTime<Utc>>,
}

impl From<&PrintJob> for PrintJobView {
    fn from(job: &PrintJob) -> Self {
        Self {
            id: job.id,
            kind: job.kind,
            printer: job.printer.clone(),
            order_id: job.order_id,
            shift_id: job.shift_id,
            paper: job.paper,
            status: job.status,
            attempts: job.attempts,
            max_attempts: MAX_PRINT_ATTEMPTS,
            last_error: job.last_error.clone(),
            payload_text: job.payload_text.clone(),
            payload_escpos: BASE64.encode(&job.payload_escpos),
            created_at: job.created_at,
            updated_at: job.updated_at,
            printed_at: job.printed_at,
        }
    }
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PendingQuery {
    /// The printer's name, e.g. `kitchen` or `bar`.
    pub printer: String,
    /// 1–100, default 20; oldest first.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"error": "paper out"}))]
pub struct FailRequest {
    /// What the printer said, 1–500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub error: String,
}

fn refused(error: pos_domain::print_queue::PrintQueueError) -> ApiError {
    ApiError::conflict(error.code(), error.to_string())
}

/// A printer's pending jobs, oldest first.
#[utoipa::path(
    tag = "print_jobs",
    params(PendingQuery),
    responses((status = 200, description = "Jobs to print", body = Vec<PrintJobView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("process_print_jobs")))
)]
#[get("/print-jobs")]
pub async fn pending_print_jobs(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> Result<web::Json<Vec<PrintJobView>>, ApiError> {
    auth.require(Action::ProcessPrintJobs)?;
    let query: PendingQuery = parse_query(req.query_string())?;
    let printer = PrinterName::parse(&query.printer)?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ValidationError::new("limit", "must be between 1 and 100").into());
    }
    let jobs = state.print_jobs.pending_print_jobs(&printer, limit).await?;
    Ok(web::Json(jobs.iter().map(PrintJobView::from).collect()))
}

/// The job printed. Acknowledging it again answers the same; a given-up job is 409.
#[utoipa::path(
    tag = "print_jobs",
    params(("print_job_id" = uuid::Uuid, Path, description = "The job")),
    responses(
        (status = 200, description = "The job, printed", body = PrintJobView),
        (status = 409, description = "`print_job_failed`: it was given up", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("process_print_jobs")))
)]
#[post("/print-jobs/{print_job_id}/ack")]
pub async fn ack_print_job(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(PrintJobId,)>,
) -> Result<web::Json<PrintJobView>, ApiError> {
    auth.require(Action::ProcessPrintJobs)?;
    let job = state
        .print_jobs
        .update_print_job(id.0.0, PrintJobUpdate::Printed, state.clock.now())
        .await?
        .map_err(refused)?;
    Ok(web::Json(PrintJobView::from(&job)))
}

/// The job did not print: it goes back in the queue, or is given up (`failed`) once it has
/// failed `max_attempts` times.
#[utoipa::path(
    tag = "print_jobs",
    params(("print_job_id" = uuid::Uuid, Path, description = "The job")),
    request_body = FailRequest,
    responses(
        (status = 200, description = "The job with its attempt counted", body = PrintJobView),
        (status = 409, description = "`print_job_printed` or `print_job_failed`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("process_print_jobs")))
)]
#[post("/print-jobs/{print_job_id}/fail")]
pub async fn fail_print_job(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(PrintJobId,)>,
    body: Json<FailRequest>,
) -> Result<web::Json<PrintJobView>, ApiError> {
    auth.require(Action::ProcessPrintJobs)?;
    let error = PrinterError::parse(&body.error)?;
    let update = PrintJobUpdate::Failed {
        error,
        max_attempts: MAX_PRINT_ATTEMPTS,
    };
    let job = state
        .print_jobs
        .update_print_job(id.0.0, update, state.clock.now())
        .await?
        .map_err(refused)?;
    Ok(web::Json(PrintJobView::from(&job)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::dto::tests::enum_values;

    #[test]
    fn schema_mirrors_list_exactly_the_domain_values() {
        let kinds: Vec<String> = PrintJobKind::ALL.iter().map(|k| k.as_str().to_owned()).collect();
        assert_eq!(enum_values::<PrintJobKindSchema>(), kinds);
        let statuses: Vec<String> = PrintJobStatus::ALL
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        assert_eq!(enum_values::<PrintJobStatusSchema>(), statuses);
    }
}
