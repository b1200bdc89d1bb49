//! `/api/admin/backups`: take a database backup, list them, download one, delete one (admin).
//!
//! The engine (`pg_dump`, files, retention) is behind [`BackupService`]; a name from the URL
//! is parsed as a [`BackupName`] (never a path) before anything looks at the disk.

use actix_web::http::StatusCode;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use pos_domain::backup::{
    BackupClaim, BackupError, BackupName, BackupRecord, BackupService, BackupStatus, BackupTrigger,
    ClaimedBackup,
};
use pos_domain::idempotency::StoredResponse;
use pos_domain::permissions::Action;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::Path;
use crate::idempotency::{
    KeyRule, fingerprint, idempotency_key, in_progress, internal_error, json_response, key_reused,
    problem_response, respond_with,
};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_backup)
        .service(list_backups)
        .service(download_backup)
        .service(delete_backup);
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupStatusSchema {
    Ok,
    Failed,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupTriggerSchema {
    Api,
    Cli,
    Schedule,
}

/// One backup. Only `ok` backups have a file (downloadable at `/api/admin/backups/{name}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"name": "pos-20261207T030000Z-00a1b2.dump", "status": "ok", "size_bytes": 183_467, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "error": null, "trigger": "schedule", "created_at": "2026-12-07T03:00:00Z", "created_by": null}))]
pub struct BackupView {
    pub name: String,
    #[schema(value_type = BackupStatusSchema)]
    pub status: BackupStatus,
    pub size_bytes: i64,
    /// Lowercase hex SHA-256 of the file; null when failed.
    pub sha256: Option<String>,
    /// Why a failed backup failed.
    pub error: Option<String>,
    #[schema(value_type = BackupTriggerSchema)]
    pub trigger: BackupTrigger,
    pub created_at: DateTime<Utc>,
    /// The admin who asked; null for `pos backup` and the schedule.
    pub created_by: Option<uuid::Uuid>,
}

impl From<&BackupRecord> for BackupView {
    fn from(r: &BackupRecord) -> Self {
        BackupView {
            name: r.name.as_str().to_owned(),
            status: r.status,
            size_bytes: r.size_bytes,
            sha256: r.sha256.clone(),
            error: r.error.clone(),
            trigger: r.trigger,
            created_at: r.created_at,
            created_by: r.created_by.map(|s| s.as_uuid()),
        }
    }
}

fn service(state: &AppState) -> Result<&dyn BackupService, ApiError> {
    state
        .backups
        .as_deref()
        .ok_or_else(|| ApiError::Unavailable("backups are not configured on this instance".to_owned()))
}

/// Tool and disk failures are the operator's to fix and say exactly what is wrong (which
/// `pg_dump` to install): a 503 naming it, with no secret in it (the URL is never quoted).
fn backup_error(error: BackupError) -> Result<HttpResponse, ApiError> {
    match error {
        BackupError::NotFound => Err(ApiError::NotFound("backup not found".to_owned())),
        BackupError::Store(e) => Err(e.into()),
        BackupError::Io(cause) => Err(ApiError::Internal(cause)),
        tool @ (BackupError::ToolMissing { .. }
        | BackupError::VersionMismatch { .. }
        | BackupError::ToolFailed { .. }) => {
            tracing::error!(error = %tool, "backup failed");
            Ok(ProblemDetails::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "backup_failed",
                format!("the backup failed and was recorded as failed: {tool}"),
                None,
            )
            .into_response(StatusCode::SERVICE_UNAVAILABLE))
        }
    }
}

fn name(raw: &str) -> Result<BackupName, ApiError> {
    Ok(BackupName::parse(raw)?)
}

/// A backup's outcome as the answer stored with its `Idempotency-Key`. Failures are 5xx,
/// never stored: a retry with the same key runs again.
fn render_outcome(outcome: &Result<BackupRecord, BackupError>) -> StoredResponse {
    match outcome {
        Ok(record) => json_response(StatusCode::CREATED, &BackupView::from(record)),
        Err(
            tool @ (BackupError::ToolMissing { .. }
            | BackupError::VersionMismatch { .. }
            | BackupError::ToolFailed { .. }),
        ) => {
            tracing::error!(error = %tool, "backup failed");
            let problem = ProblemDetails::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "backup_failed",
                format!("the backup failed and was recorded as failed: {tool}"),
                None,
            );
            problem_response(&problem, StatusCode::SERVICE_UNAVAILABLE)
        }
        Err(other) => internal_error(other),
    }
}

/// Take a backup now (`pg_dump`, custom format). Answers when the file is complete; old
/// backups past `backup_retention_days` are removed after it.
///
/// With an `Idempotency-Key`, a retry (say after a timeout) never runs a second `pg_dump`:
/// it gets the first answer (`Idempotent-Replayed: true`), waiting up to 5 s for a dump in
/// progress, then 409 `request_in_progress`. A failed backup is not remembered, so a retry
/// runs again.
#[utoipa::path(
    tag = "backups",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried backup request safe: the same key answers the first backup instead of taking another")),
    responses(
        (status = 201, description = "Backed up", body = BackupView),
        (status = 409, description = "`request_in_progress`: the first request with this key is still dumping", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`idempotency_key_reused`: the key came with another request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "`backup_failed`: pg_dump missing, of another major version than the server, or failed; recorded as failed, no file kept", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_backups")))
)]
#[post("/admin/backups")]
pub async fn create_backup(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageBackups)?;
    let backups = service(&state)?;
    let Some(key) = idempotency_key(&req, KeyRule::Optional)? else {
        return match backups.create(BackupTrigger::Api, Some(auth.staff.id)).await {
            Ok(record) => Ok(HttpResponse::Created().json(BackupView::from(&record))),
            Err(error) => backup_error(error),
        };
    };
    // The route takes no body: the fingerprint is the method and the path.
    let claim = BackupClaim {
        staff_id: auth.staff.id,
        key,
        fingerprint: fingerprint(&req, b""),
        render: Box::new(render_outcome),
    };
    match backups.create_claimed(BackupTrigger::Api, claim).await {
        Ok(ClaimedBackup::Ran(stored)) => Ok(respond_with(stored, false)),
        Ok(ClaimedBackup::Replayed(stored)) => Ok(respond_with(stored, true)),
        Ok(ClaimedBackup::KeyMismatch) => Err(key_reused()),
        Ok(ClaimedBackup::KeyInProgress) => Err(in_progress()),
        Err(error) => backup_error(error),
    }
}

/// Every backup, good and failed, newest first.
#[utoipa::path(
    tag = "backups",
    responses((status = 200, description = "Backups", body = Vec<BackupView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_backups")))
)]
#[get("/admin/backups")]
pub async fn list_backups(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<BackupView>>, ApiError> {
    auth.require(Action::ManageBackups)?;
    match service(&state)?.list().await {
        Ok(records) => Ok(web::Json(records.iter().map(BackupView::from).collect())),
        Err(BackupError::Store(e)) => Err(e.into()),
        Err(other) => Err(ApiError::Internal(other.to_string())),
    }
}

/// Download a good backup, streamed. `X-Checksum-Sha256` carries its recorded SHA-256.
#[utoipa::path(
    tag = "backups",
    params(("name" = String, Path, description = "The backup's name")),
    responses(
        (status = 200, description = "The archive (pg_restore custom format)", content((Vec<u8> = "application/octet-stream"))),
        (status = 404, description = "No good backup of that name", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_backups")))
)]
#[get("/admin/backups/{name}")]
pub async fn download_backup(
    request: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    path: Path<(String,)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageBackups)?;
    let name = name(&path.into_inner().0)?;
    let (record, file) = match service(&state)?.file(&name).await {
        Ok(found) => found,
        Err(error) => return backup_error(error),
    };
    let file = actix_files::NamedFile::open(&file)
        .map_err(|e| ApiError::Internal(format!("opening backup {name}: {e}")))?
        .set_content_type(actix_web::mime::APPLICATION_OCTET_STREAM)
        .set_content_disposition(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name.as_str().to_owned())],
        })
        .use_etag(true)
        .use_last_modified(true);
    let mut response = file.into_response(&request);
    if let Some(sha256) = record.sha256.as_deref()
        && let Ok(value) = actix_web::http::header::HeaderValue::from_str(sha256)
    {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-checksum-sha256"),
            value,
        );
    }
    Ok(response)
}

/// Delete a backup: its file, its checksum file and its record.
#[utoipa::path(
    tag = "backups",
    params(("name" = String, Path, description = "The backup's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No backup of that name", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_backups")))
)]
#[delete("/admin/backups/{name}")]
pub async fn delete_backup(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: Path<(String,)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageBackups)?;
    let name = name(&path.into_inner().0)?;
    match service(&state)?.delete(&name).await {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(error) => backup_error(error),
    }
}
