//! `/api/admin/staff`, `/api/admin/locks`: staff accounts and login locks.
//!
//! Each handler extracts its input into domain values and calls the domain's
//! [`pos_domain::access::StaffService`], which checks the permission (the matrix), applies
//! the staff rules through the store (the last active admin: 409 `last_active_admin`;
//! role or active changes, password resets and logout-all end the member's sessions) and
//! writes the audit entry with the change.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use pos_domain::access::CreateStaff;
use pos_domain::auth::{ActiveLock, LoginScope, StaffChanges};
use pos_domain::ids::StaffId;
use pos_domain::permissions::Role;
use pos_domain::validate::{NewPassword, PersonName, Pin, Username, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::dto::{RoleSchema, StaffView};
use crate::error::{ApiError, ProblemDetails};
use crate::extract::{Json, Path};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_staff)
        .service(create_staff)
        .service(get_staff)
        .service(update_staff)
        .service(reset_password)
        .service(set_pin)
        .service(clear_pin)
        .service(unlock_staff)
        .service(list_locks)
        .service(unlock_scope);
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "username": "grace", "full_name": "Grace N.", "role": "cashier",
    "password": "a long initial password", "pin": "1357"
}))]
pub struct CreateStaffRequest {
    /// 3–32 of `a-z 0-9 . _ -` (stored lower-case).
    #[schema(schema_with = crate::dto::username_schema)]
    pub username: String,
    pub full_name: String,
    #[schema(value_type = RoleSchema)]
    pub role: String,
    /// The initial password: at least 8 characters, not `password123`.
    #[schema(schema_with = crate::dto::new_password_schema)]
    pub password: String,
    /// 4–6 digits for terminal login, unique among active staff.
    #[serde(default)]
    #[schema(schema_with = crate::dto::optional_pin_schema)]
    pub pin: Option<String>,
    /// Whether the member must choose their own password at first login (default true).
    #[serde(default)]
    pub must_change_password: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "manager"}))]
pub struct UpdateStaffRequest {
    #[serde(default)]
    pub full_name: Option<String>,
    /// A role change ends the member's sessions.
    #[serde(default)]
    #[schema(value_type = Option<RoleSchema>)]
    pub role: Option<String>,
    /// Deactivating ends the member's sessions.
    #[serde(default)]
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"new_password": "a temporary password"}))]
pub struct ResetPasswordRequest {
    /// At least 8 characters, not `password123`. The member must change it at next login.
    #[schema(schema_with = crate::dto::new_password_schema)]
    pub new_password: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"pin": "4821"}))]
pub struct SetPinRequest {
    /// 4 to 6 digits, unique among active staff.
    #[schema(schema_with = crate::dto::pin_schema)]
    pub pin: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"scope": "pin:pos-1"}))]
pub struct UnlockRequest {
    /// The locked scope as listed by `GET /api/admin/locks`: `user:<username>` or
    /// `pin:<terminal code>`.
    pub scope: String,
}

/// A lock in force.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LockView {
    /// `user:<username>` or `pin:<terminal code>`.
    pub scope: String,
    /// `username` (password logins) or `terminal_pin` (PIN logins on one terminal).
    pub kind: String,
    /// The username or the terminal code.
    pub subject: String,
    pub locked_until: DateTime<Utc>,
}

impl From<&ActiveLock> for LockView {
    fn from(lock: &ActiveLock) -> Self {
        let (kind, subject) = match LoginScope::from_key(&lock.scope) {
            Some(LoginScope::Username(name)) => ("username", name),
            Some(LoginScope::TerminalPin(code)) => ("terminal_pin", code),
            None => ("other", lock.scope.clone()),
        };
        Self {
            scope: lock.scope.clone(),
            kind: kind.to_owned(),
            subject,
            locked_until: lock.locked_until,
        }
    }
}

/// Every staff member, active first, then by username.
#[utoipa::path(
    tag = "staff",
    responses((status = 200, description = "Staff members", body = Vec<StaffView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_staff")))
)]
#[get("/admin/staff")]
pub async fn list_staff(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<StaffView>>, ApiError> {
    let staff = state.staff_service().list(auth.requester()).await?;
    Ok(web::Json(staff.iter().map(StaffView::from).collect()))
}

/// Create a staff member.
#[utoipa::path(
    tag = "staff",
    responses(
        (status = 201, description = "Created", body = StaffView),
        (status = 409, description = "`username_taken` or `pin_taken`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_staff")))
)]
#[post("/admin/staff")]
pub async fn create_staff(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<CreateStaffRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = CreateStaff {
        username: Username::parse(&body.username)?,
        full_name: PersonName::parse(&body.full_name)?,
        role: Role::parse(&body.role)?,
        password: NewPassword::parse("password", &body.password)?,
        pin: body.pin.as_deref().map(Pin::parse).transpose()?,
        must_change_password: body.must_change_password.unwrap_or(true),
    };
    let staff = state.staff_service().create(auth.requester(), new).await?;
    Ok(HttpResponse::Created().json(StaffView::from(&staff)))
}

/// One staff member.
#[utoipa::path(
    tag = "staff",
    params(("staff_id" = uuid::Uuid, Path, description = "The staff member")),
    responses((status = 200, description = "The staff member", body = StaffView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_staff")))
)]
#[get("/admin/staff/{staff_id}")]
pub async fn get_staff(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(StaffId,)>,
) -> Result<web::Json<StaffView>, ApiError> {
    let staff = state.staff_service().get(auth.requester(), id.0.0).await?;
    Ok(web::Json(StaffView::from(&staff)))
}

/// Change a staff member's name, role or active flag.
///
/// A role change or deactivation ends the member's sessions. The last active admin cannot
/// be deactivated or demoted (409 `last_active_admin`).
#[utoipa::path(
    tag = "staff",
    params(("staff_id" = uuid::Uuid, Path, description = "The staff member")),
    responses(
        (status = 200, description = "Updated", body = StaffView),
        (status = 409, description = "`last_active_admin`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_staff")))
)]
#[patch("/admin/staff/{staff_id}")]
pub async fn update_staff(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(StaffId,)>,
    body: Json<UpdateStaffRequest>,
) -> Result<web::Json<StaffView>, ApiError> {
    let body = body.into_inner();
    let changes = StaffChanges {
        full_name: body.full_name.as_deref().map(PersonName::parse).transpose()?,
        role: body.role.as_deref().map(Role::parse).transpose()?,
        active: body.active,
    };
    let staff = state
        .staff_service()
        .update(auth.requester(), id.into_inner().0, changes)
        .await?;
    Ok(web::Json(StaffView::from(&staff)))
}

/// Set a new password for a staff member; they must change it at their next login, and
/// their sessions end.
#[utoipa::path(
    tag = "staff",
    params(("staff_id" = uuid::Uuid, Path, description = "The staff member")),
    responses((status = 200, description = "Password reset", body = StaffView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_staff")))
)]
#[post("/admin/staff/{staff_id}/reset-password")]
pub async fn reset_password(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(StaffId,)>,
    body: Json<ResetPasswordRequest>,
) -> Result<web::Json<StaffView>, ApiError> {
    let password = NewPassword::parse("new_password", &body.new_password)?;
    let staff = state
        .staff_service()
        .reset_password(auth.requester(), id.into_inner().0, password)
        .await?;
    Ok(web::Json(StaffView::from(&staff)))
}

/// Set a staff member's terminal PIN (unique among active staff: 409 `pin_taken`).
#[utoipa::path(
    tag = "staff",
    params(("staff_id" = uuid::Uuid, Path, description = "The staff member")),
    responses(
        (status = 200, description = "PIN set", body = StaffView),
        (status = 409, description = "`pin_taken`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_staff")))
)]
#[put("/admin/staff/{staff_id}/pin")]
pub async fn set_pin(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(StaffId,)>,
    body: Json<SetPinRequest>,
) -> Result<web::Json<StaffView>, ApiError> {
    let pin = Pin::parse(&body.pin)?;
    let staff = state
        .staff_service()
        .set_pin(auth.requester(), id.into_inner().0, Some(pin))
        .await?;
    Ok(web::Json(StaffView::from(&staff)))
}

/// Remove a staff member's PIN (they can then sign in only with their password).
#[utoipa::path(
    tag = "staff",
    params(("staff_id" = uuid::Uuid, Path, description = "The staff member")),
    responses((status = 200, description = "PIN removed", body = StaffView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_staff")))
)]
#[delete("/admin/staff/{staff_id}/pin")]
pub async fn clear_pin(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(StaffId,)>,
) -> Result<web::Json<StaffView>, ApiError> {
    let staff = state
        .staff_service()
        .set_pin(auth.requester(), id.into_inner().0, None)
        .await?;
    Ok(web::Json(StaffView::from(&staff)))
}

/// Lift the lock on a staff member's username (after too many failed logins).
#[utoipa::path(
    tag = "staff",
    params(("staff_id" = uuid::Uuid, Path, description = "The staff member")),
    responses(
        (status = 204, description = "Unlocked"),
        (status = 409, description = "`not_locked`: nothing to unlock", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("unlock_accounts")))
)]
#[post("/admin/staff/{staff_id}/unlock")]
pub async fn unlock_staff(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(StaffId,)>,
) -> Result<HttpResponse, ApiError> {
    state
        .staff_service()
        .unlock_staff(auth.requester(), id.into_inner().0)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Locks in force, soonest to expire first.
#[utoipa::path(
    tag = "staff",
    responses((status = 200, description = "Active locks", body = Vec<LockView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("unlock_accounts")))
)]
#[get("/admin/locks")]
pub async fn list_locks(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<LockView>>, ApiError> {
    let locks = state.staff_service().locks(auth.requester()).await?;
    Ok(web::Json(locks.iter().map(LockView::from).collect()))
}

/// Lift a lock by its scope: a username (`user:phiona`) or PIN login on a terminal
/// (`pin:pos-1`).
#[utoipa::path(
    tag = "staff",
    responses(
        (status = 204, description = "Unlocked"),
        (status = 409, description = "`not_locked`: nothing to unlock", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("unlock_accounts")))
)]
#[post("/admin/locks/unlock")]
pub async fn unlock_scope(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<UnlockRequest>,
) -> Result<HttpResponse, ApiError> {
    let scope = LoginScope::from_key(body.scope.trim())
        .filter(|scope| !scope.key().ends_with(':'))
        .ok_or_else(|| ValidationError::new("scope", "must be user:<username> or pin:<terminal code>"))?;
    state.staff_service().unlock(auth.requester(), &scope).await?;
    Ok(HttpResponse::NoContent().finish())
}
