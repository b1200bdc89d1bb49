//! `/api/admin/staff`, `/api/admin/locks`: staff accounts and login locks.
//!
//! Every change goes through an `AuthStore` method that writes its audit entry (with the
//! before and after pictures, never a secret) in the same transaction. A role or active
//! change, a password reset and a logout-all bump the token version, so the member's older
//! tokens die at once. The store refuses to deactivate or demote the last active admin
//! (409 `last_active_admin`) under a lock, so two admins racing cannot both win.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use pos_domain::StoreError;
use pos_domain::audit::NewAuditEntry;
use pos_domain::auth::{ActiveLock, LoginScope, PinSecret, StaffChanges, pin_lookup_digest};
use pos_domain::ids::StaffId;
use pos_domain::permissions::{Action, Role};
use pos_domain::staff::{NewStaff, Staff};
use pos_domain::validate::{NewPassword, PersonName, Pin, Username, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::auth::credentials::hash_secret;
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
    auth.require(Action::ManageStaff)?;
    let staff = state.staff.list_staff().await?;
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
    let actor = auth.require(Action::ManageStaff)?;
    let body = body.into_inner();
    let username = Username::parse(&body.username)?;
    let full_name = PersonName::parse(&body.full_name)?;
    let role = Role::parse(&body.role)?;
    let password = NewPassword::parse("password", &body.password)?;
    let pin = body.pin.as_deref().map(Pin::parse).transpose()?;
    let must_change_password = body.must_change_password.unwrap_or(true);

    let password_hash = hash_secret(state.hasher.clone(), password.expose().to_owned()).await?;
    let pin = match pin {
        Some(pin) => Some(pin_secret(&state, &pin).await?),
        None => None,
    };
    let audit = NewAuditEntry::new("staff.created", "staff")
        .actor(Some(actor.id))
        .terminal(auth.terminal_id())
        .after(json!({
            "username": username.as_str(),
            "full_name": full_name.as_str(),
            "role": role,
            "active": true,
            "must_change_password": must_change_password,
            "has_pin": pin.is_some(),
        }));
    let (pin_hash, pin_lookup) = match pin {
        Some(PinSecret { hash, lookup }) => (Some(hash), Some(lookup)),
        None => (None, None),
    };
    let new = NewStaff {
        username,
        full_name,
        role,
        password_hash,
        pin_hash,
        must_change_password,
    };
    let staff = state.auth.create_staff_audited(new, pin_lookup, audit).await?;
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
    auth.require(Action::ManageStaff)?;
    let staff = state.staff.get_staff(id.0.0).await?;
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
    let actor = auth.require(Action::ManageStaff)?;
    let body = body.into_inner();
    let changes = StaffChanges {
        full_name: body.full_name.as_deref().map(PersonName::parse).transpose()?,
        role: body.role.as_deref().map(Role::parse).transpose()?,
        active: body.active,
    };
    let id = id.into_inner().0;
    let before = state.staff.get_staff(id).await?;
    if changes == StaffChanges::default() {
        return Ok(web::Json(StaffView::from(&before)));
    }
    let mut projected = before.clone();
    if let Some(name) = &changes.full_name {
        projected.full_name = name.clone();
    }
    if let Some(role) = changes.role {
        projected.role = role;
    }
    if let Some(active) = changes.active {
        projected.active = active;
    }
    let audit = NewAuditEntry::new(update_action(&before, &changes), "staff")
        .actor(Some(actor.id))
        .terminal(auth.terminal_id())
        .entity_id(id)
        .before(StaffView::audit_json(&before))
        .after(StaffView::audit_json(&projected));
    let staff = state.auth.update_staff(id, changes, audit).await?;
    Ok(web::Json(StaffView::from(&staff)))
}

/// The audit verb of an update: the most consequential part of it.
fn update_action(before: &Staff, changes: &StaffChanges) -> &'static str {
    match (changes.active, changes.role) {
        (Some(false), _) if before.active => "staff.deactivated",
        (Some(true), _) if !before.active => "staff.activated",
        (_, Some(role)) if role != before.role => "staff.role_changed",
        _ => "staff.updated",
    }
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
    let actor = auth.require(Action::ManageStaff)?;
    let password = NewPassword::parse("new_password", &body.new_password)?;
    let id = id.into_inner().0;
    // Refuse an unknown id before spending a hash on it.
    state.staff.get_staff(id).await?;
    let hash = hash_secret(state.hasher.clone(), password.expose().to_owned()).await?;
    let audit = NewAuditEntry::new("staff.password_reset", "staff")
        .actor(Some(actor.id))
        .terminal(auth.terminal_id())
        .entity_id(id)
        .after(json!({"must_change_password": true}));
    let staff = state.auth.set_password(id, hash, true, audit).await?;
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
    let actor = auth.require(Action::ManageStaff)?;
    let pin = Pin::parse(&body.pin)?;
    let id = id.into_inner().0;
    let before = state.staff.get_staff(id).await?;
    let secret = pin_secret(&state, &pin).await?;
    let audit = NewAuditEntry::new("staff.pin_set", "staff")
        .actor(Some(actor.id))
        .terminal(auth.terminal_id())
        .entity_id(id)
        .before(json!({"has_pin": before.has_pin}))
        .after(json!({"has_pin": true}));
    let staff = state.auth.set_pin(id, Some(secret), audit).await?;
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
    let actor = auth.require(Action::ManageStaff)?;
    let id = id.into_inner().0;
    let before = state.staff.get_staff(id).await?;
    let audit = NewAuditEntry::new("staff.pin_cleared", "staff")
        .actor(Some(actor.id))
        .terminal(auth.terminal_id())
        .entity_id(id)
        .before(json!({"has_pin": before.has_pin}))
        .after(json!({"has_pin": false}));
    let staff = state.auth.set_pin(id, None, audit).await?;
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
    auth.require(Action::UnlockAccounts)?;
    let staff = state.staff.get_staff(id.into_inner().0).await?;
    let scope = LoginScope::Username(staff.username.as_str().to_owned());
    unlock(&state, &auth, &scope).await
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
    auth.require(Action::UnlockAccounts)?;
    let locks = state.auth.active_locks(state.clock.now()).await?;
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
    auth.require(Action::UnlockAccounts)?;
    let scope = LoginScope::from_key(body.scope.trim())
        .filter(|scope| !scope.key().ends_with(':'))
        .ok_or_else(|| ValidationError::new("scope", "must be user:<username> or pin:<terminal code>"))?;
    unlock(&state, &auth, &scope).await
}

async fn unlock(
    state: &AppState,
    auth: &Authenticated,
    scope: &LoginScope,
) -> Result<HttpResponse, ApiError> {
    let audit = NewAuditEntry::new("auth.unlocked", "login")
        .actor(Some(auth.actor.id))
        .terminal(auth.terminal_id())
        .entity_id(scope.key());
    match state.auth.unlock(scope, audit).await {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(StoreError::NotFound { .. }) => Err(ApiError::conflict(
            "not_locked",
            format!("{} is not locked", scope.key()),
        )),
        Err(other) => Err(other.into()),
    }
}

/// The stored form of a PIN: its argon2 hash and its lookup digest.
async fn pin_secret(state: &AppState, pin: &Pin) -> Result<PinSecret, ApiError> {
    let pepper = state.sessions.pin_pepper(state.auth.as_ref()).await?;
    let lookup = pin_lookup_digest(pepper, pin);
    let hash = hash_secret(state.hasher.clone(), pin.expose().to_owned()).await?;
    Ok(PinSecret { hash, lookup })
}
