//! `/api/auth/*`: signing in (password or terminal PIN), the current session, logout,
//! logout everywhere and changing one's password.
//!
//! Both logins answer the same way: `{token, expires_at, csrf_token, staff}` in the body
//! (for bearer use) plus the `pos_session` (HttpOnly) and `pos_csrf` cookies. Failures are
//! counted per scope (a username, or PINs on one terminal) in the shared store: the fifth
//! within the window locks the scope on every instance, answered 429 with `Retry-After`.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use pos_domain::audit::NewAuditEntry;
use pos_domain::auth::{FailureOutcome, LoginScope, pin_lookup_digest};
use pos_domain::ids::TerminalId;
use pos_domain::staff::{Staff, StaffCredentials, Terminal, parse_terminal_code};
use pos_domain::validate::{MAX_PASSWORD_LEN, NewPassword, Pin, Username, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::cookies::{clear_session_cookies, set_session_cookies};
use crate::auth::credentials::{hash_secret, verify_secret};
use crate::auth::{Authenticated, AuthenticatedAllowingPasswordChange, StartedSession};
use crate::dto::{StaffView, TerminalView};
use crate::error::{ApiError, ProblemDetails};
use crate::extract::Json;
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(pin_login)
        .service(logout)
        .service(logout_all)
        .service(me)
        .service(change_password);
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "phiona", "password": "correct horse battery"}))]
pub struct LoginRequest {
    #[schema(schema_with = crate::dto::username_schema)]
    pub username: String,
    /// 1 to 128 characters.
    #[schema(schema_with = crate::dto::password_schema)]
    pub password: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"terminal": "pos-1", "pin": "4821"}))]
pub struct PinLoginRequest {
    /// The code of a registered, active terminal.
    pub terminal: String,
    /// 4 to 6 digits.
    #[schema(schema_with = crate::dto::pin_schema)]
    pub pin: String,
}

/// A started session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    /// The session token (JWT, HS256), for `Authorization: Bearer`. The same token is set as
    /// the HttpOnly `pos_session` cookie.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// Echo in `X-CSRF-Token` on cookie-authenticated requests that change data when the
    /// `Origin` header cannot be relied on (also in the `pos_csrf` cookie).
    pub csrf_token: String,
    pub staff: StaffView,
    /// The terminal of a PIN login.
    pub terminal: Option<TerminalView>,
}

/// The current session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    pub staff: StaffView,
    /// While true, every route other than me, change-password and logout answers 403
    /// `password_change_required`.
    pub must_change_password: bool,
    /// The terminal the session was opened on (PIN login), if any.
    pub terminal: Option<TerminalView>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "the current password", "new_password": "a new, longer password"}))]
pub struct ChangePasswordRequest {
    #[schema(schema_with = crate::dto::password_schema)]
    pub current_password: String,
    /// At least 8 characters, at most 128, not `password123`, not the current one.
    #[schema(schema_with = crate::dto::new_password_schema)]
    pub new_password: String,
}

/// Sign in with username and password.
///
/// Unknown usernames and wrong passwords get the same 401 `invalid_credentials` after the
/// same work. Five failures within 15 minutes lock the username for 15 minutes (429
/// `account_locked` with `Retry-After`), on every instance.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, description = "Signed in; the `pos_session` and `pos_csrf` cookies are set", body = SessionResponse),
        (status = 401, description = "`invalid_credentials`: unknown username, wrong password or deactivated account", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "`account_locked`: too many failures; retry after `Retry-After` seconds", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    extensions(("x-pos-action" = json!("public")))
)]
#[post("/auth/login")]
pub async fn login(state: web::Data<AppState>, body: Json<LoginRequest>) -> Result<HttpResponse, ApiError> {
    let LoginRequest { username, password } = body.into_inner();
    let username = Username::parse(&username)?;
    check_presented_password("password", &password)?;
    let scope = LoginScope::Username(username.as_str().to_owned());
    let now = state.clock.now();
    refuse_if_locked(&state, &scope, now).await?;

    let credentials = state.staff.find_credentials(&username).await?;
    let hash = credentials.as_ref().map(|c| c.password_hash.clone());
    let matches = verify_secret(state.hasher.clone(), password, hash).await?;
    match accepted(credentials, matches) {
        Ok(staff) => {
            let audit = NewAuditEntry::new("auth.login", "staff")
                .actor(Some(staff.id))
                .entity_id(staff.id)
                .after(json!({"method": "password"}));
            state.auth.record_success(&scope, now, audit).await?;
            signed_in(&state, &staff, None, now)
        }
        Err((staff, reason)) => Err(login_failed(&state, &scope, staff.as_ref(), None, reason, now).await),
    }
}

/// Sign in on a registered terminal with a staff PIN.
///
/// The terminal must be registered and active (403 `terminal_not_registered`). Five wrong
/// PINs on one terminal within 15 minutes lock PIN login there for 15 minutes (429).
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, description = "Signed in on the terminal; cookies set", body = SessionResponse),
        (status = 401, description = "`invalid_credentials`: no active staff member has this PIN", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "`terminal_not_registered`: unknown or deactivated terminal", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "`account_locked`: too many wrong PINs on this terminal", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    extensions(("x-pos-action" = json!("public")))
)]
#[post("/auth/pin-login")]
pub async fn pin_login(
    state: web::Data<AppState>,
    body: Json<PinLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let PinLoginRequest { terminal, pin } = body.into_inner();
    let code = parse_terminal_code(&terminal)?;
    let pin = Pin::parse(&pin)?;
    let terminal = state
        .terminals
        .find_terminal(&code)
        .await?
        .filter(|t| t.active)
        .ok_or_else(|| {
            ApiError::forbidden(
                "terminal_not_registered",
                "PIN login works only on a registered, active terminal",
            )
        })?;
    let scope = LoginScope::TerminalPin(code);
    let now = state.clock.now();
    refuse_if_locked(&state, &scope, now).await?;

    let pepper = state.sessions.pin_pepper(state.auth.as_ref()).await?;
    let lookup = pin_lookup_digest(pepper, &pin);
    let credentials = state.auth.find_by_pin_lookup(&lookup).await?;
    let hash = credentials.as_ref().and_then(|c| c.pin_hash.clone());
    let matches = verify_secret(state.hasher.clone(), pin.expose().to_owned(), hash).await?;
    match accepted(credentials, matches) {
        Ok(staff) => {
            let audit = NewAuditEntry::new("auth.login", "staff")
                .actor(Some(staff.id))
                .terminal(Some(terminal.id))
                .entity_id(staff.id)
                .after(json!({"method": "pin", "terminal": terminal.code}));
            state.auth.record_success(&scope, now, audit).await?;
            if state
                .sessions
                .should_touch(terminal.id, std::time::Instant::now())
                && let Err(error) = state.terminals.touch_terminal(terminal.id, now).await
            {
                tracing::warn!(%error, terminal = %terminal.id, "could not record terminal traffic");
            }
            signed_in(&state, &staff, Some(&terminal), now)
        }
        Err((staff, reason)) => {
            Err(login_failed(&state, &scope, staff.as_ref(), Some(terminal.id), reason, now).await)
        }
    }
}

/// End this session: the cookies are cleared. The token itself stays valid until it
/// expires; use logout-all to end every session at once.
#[utoipa::path(
    tag = "auth",
    responses((status = 204, description = "Signed out; the cookies are cleared")),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("session")))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    auth: AuthenticatedAllowingPasswordChange,
) -> Result<HttpResponse, ApiError> {
    let audit = NewAuditEntry::new("auth.logout", "staff")
        .actor(Some(auth.actor.id))
        .terminal(auth.terminal_id())
        .entity_id(auth.actor.id);
    if let Err(error) = state.audit.append_audit(audit).await {
        // The browser must still be able to sign out when the log cannot be written.
        tracing::error!(%error, "could not write the logout audit entry");
    }
    let mut response = HttpResponse::NoContent();
    clear_session_cookies(&mut response, state.sessions.config());
    Ok(response.finish())
}

/// End every session of this account, on every device: its token version moves on, so
/// every token issued before dies at once.
#[utoipa::path(
    tag = "auth",
    responses((status = 204, description = "Every session of this account has ended; the cookies are cleared")),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("authenticated")))
)]
#[post("/auth/logout-all")]
pub async fn logout_all(state: web::Data<AppState>, auth: Authenticated) -> Result<HttpResponse, ApiError> {
    let audit = NewAuditEntry::new("auth.logout_all", "staff")
        .actor(Some(auth.actor.id))
        .terminal(auth.terminal_id())
        .entity_id(auth.actor.id)
        .before(json!({"token_version": auth.staff.token_version}));
    state.auth.bump_token_version(auth.actor.id, audit).await?;
    let mut response = HttpResponse::NoContent();
    clear_session_cookies(&mut response, state.sessions.config());
    Ok(response.finish())
}

/// The signed-in staff member, whether they must change their password, and the terminal.
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "The current session", body = MeResponse)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("session")))
)]
#[get("/auth/me")]
pub async fn me(
    state: web::Data<AppState>,
    auth: AuthenticatedAllowingPasswordChange,
) -> Result<web::Json<MeResponse>, ApiError> {
    let terminal = match auth.terminal_id() {
        Some(id) => match state.terminals.get_terminal(id).await {
            Ok(terminal) => Some(TerminalView::from(&terminal)),
            Err(pos_domain::StoreError::NotFound { .. }) => None,
            Err(other) => return Err(other.into()),
        },
        None => None,
    };
    Ok(web::Json(MeResponse {
        staff: StaffView::from(&auth.staff),
        must_change_password: auth.staff.must_change_password,
        terminal,
        expires_at: auth.session.expires_at,
    }))
}

/// Change one's own password (also how a seeded account leaves `must_change_password`).
///
/// Every other session of the account ends; this one continues with the fresh token and
/// cookies in the answer. A wrong current password counts as a failed login (401
/// `invalid_credentials`, and towards the lockout).
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, description = "Password changed; a fresh session replaces this one", body = SessionResponse),
        (status = 429, description = "`account_locked`: too many failures", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("session")))
)]
#[post("/auth/change-password")]
pub async fn change_password(
    state: web::Data<AppState>,
    auth: AuthenticatedAllowingPasswordChange,
    body: Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.into_inner();
    check_presented_password("current_password", &current_password)?;
    let new_password = NewPassword::parse("new_password", &new_password)?;
    if new_password.expose() == current_password {
        return Err(ValidationError::new("new_password", "must differ from the current password").into());
    }
    let scope = LoginScope::Username(auth.staff.username.as_str().to_owned());
    let now = state.clock.now();
    refuse_if_locked(&state, &scope, now).await?;

    let credentials = state.auth.credentials(auth.actor.id).await?;
    let matches = verify_secret(
        state.hasher.clone(),
        current_password,
        Some(credentials.password_hash),
    )
    .await?;
    if !matches {
        let error = login_failed(
            &state,
            &scope,
            Some(&auth.staff),
            auth.terminal_id(),
            "wrong_current_password",
            now,
        )
        .await;
        return Err(error);
    }
    let hash = hash_secret(state.hasher.clone(), new_password.expose().to_owned()).await?;
    let audit = NewAuditEntry::new("staff.password_changed", "staff")
        .actor(Some(auth.actor.id))
        .terminal(auth.terminal_id())
        .entity_id(auth.actor.id)
        .before(json!({"must_change_password": auth.staff.must_change_password}))
        .after(json!({"must_change_password": false}));
    let staff = state.auth.set_password(auth.actor.id, hash, false, audit).await?;
    let terminal = match auth.terminal_id() {
        Some(id) => state.terminals.get_terminal(id).await.ok(),
        None => None,
    };
    signed_in(&state, &staff, terminal.as_ref(), state.clock.now())
}

/// A presented (not new) password: non-empty and at most [`MAX_PASSWORD_LEN`] characters,
/// checked before any hashing so the work per request stays bounded.
fn check_presented_password(field: &str, password: &str) -> Result<(), ValidationError> {
    if password.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if password.chars().count() > MAX_PASSWORD_LEN {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// The staff member whose secret matched and who may sign in, or why not.
fn accepted(
    credentials: Option<StaffCredentials>,
    matches: bool,
) -> Result<Staff, (Option<Staff>, &'static str)> {
    match credentials {
        None => Err((None, "unknown_account")),
        Some(c) if !matches => Err((Some(c.staff), "wrong_secret")),
        // Answered like a wrong secret: a deactivated account's existence is not confirmed.
        Some(c) if !c.staff.active => Err((Some(c.staff), "inactive_account")),
        Some(c) => Ok(c.staff),
    }
}

pub(crate) async fn refuse_if_locked(
    state: &AppState,
    scope: &LoginScope,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    match state.auth.active_lock(scope, now).await? {
        Some(lock) => Err(locked(lock.locked_until, now)),
        None => Ok(()),
    }
}

fn locked(until: DateTime<Utc>, now: DateTime<Utc>) -> ApiError {
    let millis = u64::try_from((until - now).num_milliseconds()).unwrap_or(0);
    let retry_after_secs = millis.div_ceil(1000).max(1);
    ApiError::TooManyRequests {
        code: "account_locked",
        detail: format!(
            "too many failed attempts; try again in {retry_after_secs} seconds or ask a manager to unlock"
        ),
        retry_after_secs,
    }
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "the credentials are not valid")
}

/// Records a failed attempt (and the lock it may cause) and gives the answer: 401, or 429
/// when this failure locked the scope.
async fn login_failed(
    state: &AppState,
    scope: &LoginScope,
    staff: Option<&Staff>,
    terminal: Option<TerminalId>,
    reason: &str,
    now: DateTime<Utc>,
) -> ApiError {
    let after = match staff {
        Some(staff) => json!({"reason": reason, "staff_id": staff.id}),
        None => json!({"reason": reason}),
    };
    let audit = NewAuditEntry::new("auth.login_failed", "login")
        .terminal(terminal)
        .entity_id(scope.key())
        .after(after);
    let policy = state.sessions.config().lockout;
    match state.auth.record_failure(scope, policy, now, audit).await {
        Ok(FailureOutcome::Counted { .. }) => invalid_credentials(),
        // The store wrote the `auth.locked` entry with the lock, in the same transaction.
        Ok(FailureOutcome::LockedNow { until }) => locked(until, now),
        Err(error) => error.into(),
    }
}

/// The 200 answer of a sign-in: token and cookies.
fn signed_in(
    state: &AppState,
    staff: &Staff,
    terminal: Option<&Terminal>,
    now: DateTime<Utc>,
) -> Result<HttpResponse, ApiError> {
    let started: StartedSession = state.sessions.start(staff, terminal.map(|t| t.id), now)?;
    let mut response = HttpResponse::Ok();
    set_session_cookies(&mut response, &started, state.sessions.config(), now);
    Ok(response.json(SessionResponse {
        token: started.token.token.clone(),
        expires_at: started.token.expires_at,
        csrf_token: started.csrf_token.clone(),
        staff: StaffView::from(staff),
        terminal: terminal.map(TerminalView::from),
    }))
}
