//! `/api/admin/audit`: reading the tamper-evident audit log and verifying its hash chain,
//! through the domain's [`pos_domain::access::AuditService`] (permission, paging, the walk).

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use pos_domain::access::DEFAULT_AUDIT_LIMIT;
use pos_domain::audit::{AuditEntry, AuditQuery, ChainBreak};
use pos_domain::ids::{StaffId, TerminalId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_audit).service(verify_audit);
}

pub use pos_domain::access::MAX_AUDIT_LIMIT;

/// Filters for the audit log; newest entries first.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    /// Only entries by this staff member.
    pub actor_id: Option<Uuid>,
    /// Only actions starting with this, e.g. `auth.` or `staff.role_changed`.
    pub action: Option<String>,
    /// Only entries about this kind of entity, e.g. `staff`, `login`, `terminal`.
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// Entries older than this id (the previous page's `next_before_id`).
    pub before_id: Option<i64>,
    /// 1 to 500; default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// One audit entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryView {
    pub id: i64,
    #[schema(value_type = Option<Uuid>)]
    pub actor_id: Option<StaffId>,
    /// The manager who approved the action, when someone did.
    #[schema(value_type = Option<Uuid>)]
    pub approver_id: Option<StaffId>,
    #[schema(value_type = Option<Uuid>)]
    pub terminal_id: Option<TerminalId>,
    /// Dotted verb: `auth.login`, `auth.login_failed`, `auth.locked`, `staff.role_changed`, …
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(row: AuditEntry) -> Self {
        Self {
            id: row.id,
            actor_id: row.entry.actor_id,
            approver_id: row.entry.approver_id,
            terminal_id: row.entry.terminal_id,
            action: row.entry.action,
            entity: row.entry.entity,
            entity_id: row.entry.entity_id,
            before: row.entry.before,
            after: row.entry.after,
            created_at: row.created_at,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}

/// A page of the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    /// Pass as `before_id` for the next (older) page; absent on the last page.
    pub next_before_id: Option<i64>,
}

/// The outcome of checking the whole hash chain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    /// True when every row links to the previous one and matches its hash.
    pub valid: bool,
    /// Rows checked before the answer (all of them when valid).
    pub rows_checked: i64,
    /// Hash of the last row checked (the genesis hash for an empty log).
    pub last_hash: String,
    /// The first row that breaks the chain.
    pub broken_at: Option<i64>,
    /// What is wrong with it.
    pub problem: Option<String>,
}

/// Read the audit log, newest first.
#[utoipa::path(
    tag = "audit",
    params(AuditFilter),
    responses((status = 200, description = "A page of entries", body = AuditPage)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_audit_log")))
)]
#[get("/admin/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    auth: Authenticated,
    filter: Query<AuditFilter>,
) -> Result<web::Json<AuditPage>, ApiError> {
    let filter = filter.into_inner();
    let query = AuditQuery {
        actor_id: filter.actor_id.map(StaffId::from_uuid),
        action_prefix: filter.action.filter(|a| !a.is_empty()),
        entity: filter.entity.filter(|e| !e.is_empty()),
        entity_id: filter.entity_id.filter(|e| !e.is_empty()),
        before_id: filter.before_id,
        limit: filter.limit.unwrap_or(DEFAULT_AUDIT_LIMIT),
    };
    let (rows, next_before_id) = state.audit_service().list(auth.requester(), query).await?;
    Ok(web::Json(AuditPage {
        entries: rows.into_iter().map(AuditEntryView::from).collect(),
        next_before_id,
    }))
}

/// Verify the audit log's hash chain from the first row to the last.
///
/// 200 either way: `valid` says whether the chain holds, `broken_at` where it does not
/// (an edited row no longer matches its hash; a deleted one breaks the next row's link).
#[utoipa::path(
    tag = "audit",
    responses((status = 200, description = "The verification outcome", body = AuditVerification)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_audit_log")))
)]
#[get("/admin/audit/verify")]
pub async fn verify_audit(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<AuditVerification>, ApiError> {
    let verdict = state.audit_service().verify(auth.requester()).await?;
    let broken_at = verdict.broken.as_ref().map(ChainBreak::row_id);
    if let (Some(row), Some(problem)) = (broken_at, &verdict.broken) {
        tracing::error!(row, %problem, "the audit chain is broken");
    }
    Ok(web::Json(AuditVerification {
        valid: verdict.valid,
        rows_checked: verdict.rows_checked,
        last_hash: verdict.last_hash,
        broken_at,
        problem: verdict.broken.map(|broken| broken.to_string()),
    }))
}
