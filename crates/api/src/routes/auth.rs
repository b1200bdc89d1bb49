//! `/api/auth/*`: signing in (password or terminal PIN), the current session, logout,
//! logout everywhere and changing one's password.
//!
//! Both logins answer the same way: `{token, expires_at, csrf_token, staff}` in the body
//! (for bearer use) plus the `pos_session` (HttpOnly) and `pos_csrf` cookies. The rules
//! (which failures count, when a scope locks, what ends sessions) are the domain's
//! [`pos_domain::access::AuthService`]; each handler extracts, calls it, and answers.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use pos_domain::access::PinLogin;
use pos_domain::staff::{Staff, Terminal};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::cookies::{clear_session_cookies, set_session_cookies};
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
    let staff = state.auth_service().login(&username, password).await?;
    signed_in(&state, &staff, None, state.clock.now())
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
    let PinLogin { staff, terminal } = state.auth_service().pin_login(&terminal, &pin).await?;
    let now = state.clock.now();
    // Throttled per process, and never a reason to refuse a login.
    if state
        .sessions
        .should_touch(terminal.id, std::time::Instant::now())
        && let Err(error) = state.terminals.touch_terminal(terminal.id, now).await
    {
        tracing::warn!(%error, terminal = %terminal.id, "could not record terminal traffic");
    }
    signed_in(&state, &staff, Some(&terminal), now)
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
    if let Err(error) = state.auth_service().logout(auth.requester()).await {
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
    state
        .auth_service()
        .logout_all(auth.requester(), &auth.staff)
        .await?;
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
    let staff = state
        .auth_service()
        .change_password(auth.requester(), &auth.staff, current_password, &new_password)
        .await?;
    let terminal = match auth.terminal_id() {
        Some(id) => state.terminals.get_terminal(id).await.ok(),
        None => None,
    };
    signed_in(&state, &staff, terminal.as_ref(), state.clock.now())
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
