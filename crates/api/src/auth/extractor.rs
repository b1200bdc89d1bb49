//! Who is asking: the [`Authenticated`] extractor, the one way a handler learns its actor.
//!
//! In order, for every protected route:
//!
//! 1. The token comes from `Authorization: Bearer …`, else from the `pos_session` cookie.
//!    Neither → 401 `unauthenticated`; a malformed, forged, foreign-algorithm or
//!    foreign-key token → 401 `invalid_token`; past `exp` → 401 `token_expired`.
//! 2. CSRF, cookie sessions only: a request that is not GET/HEAD/OPTIONS must show that it
//!    comes from the app — `Origin` equal to the configured app origin, or (no `Origin`) a
//!    `Referer` on that origin, or an `X-CSRF-Token` header matching the session — else
//!    403 `csrf_rejected`. Bearer requests are exempt: a browser never adds that header on
//!    its own, so a cross-site page cannot forge one.
//! 3. The staff member is loaded and the domain's `Session::check` decides: unknown
//!    (deleted) staff → 401 `invalid_token`, inactive → 401 `account_inactive`, older token
//!    version or another role → 401 `token_revoked`, expired → 401 `token_expired`.
//! 4. An account that must change its password gets 403 `password_change_required` from
//!    [`Authenticated`]; only the routes that let it do so (me, change-password, logout)
//!    take [`AuthenticatedAllowingPasswordChange`] instead. The gate is in the type, so a
//!    new route cannot forget it.
//! 5. Traffic on a terminal's session marks the terminal seen (at most once a minute per
//!    terminal and process; a failure there is logged, never fails the request).
//!
//! Then the handler asks the domain's permission matrix: `auth.require(Action::X)?`.

use std::time::Instant;

use actix_web::dev::Payload;
use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use pos_domain::StoreError;
use pos_domain::approval::{self, Actor};
use pos_domain::auth::{Session, SessionRejection};
use pos_domain::ids::TerminalId;
use pos_domain::permissions::Action;
use pos_domain::staff::Staff;

use super::cookies::{CSRF_HEADER, SESSION_COOKIE};
use super::sessions::Sessions;
use super::token::TokenError;
use crate::error::ApiError;
use crate::state::AppState;

/// How the request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Bearer,
    Cookie,
}

/// An authenticated staff member whose password is current.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub actor: Actor,
    /// The staff member as loaded for this request.
    pub staff: Staff,
    pub session: Session,
    pub credential: Credential,
    /// The token's id (keys the session's CSRF token).
    pub jti: String,
}

impl Authenticated {
    /// The one guard: may this actor do `action`? 403 `not_permitted` otherwise.
    pub fn require(&self, action: Action) -> Result<Actor, ApiError> {
        approval::require(self.actor, action)?;
        Ok(self.actor)
    }

    /// The terminal the session was opened on (PIN logins).
    pub fn terminal_id(&self) -> Option<TerminalId> {
        self.session.terminal_id
    }
}

/// Like [`Authenticated`], but also admits an account that must change its password. Only
/// for `GET /api/auth/me`, `POST /api/auth/change-password` and `POST /api/auth/logout`.
#[derive(Debug, Clone)]
pub struct AuthenticatedAllowingPasswordChange(pub Authenticated);

impl std::ops::Deref for AuthenticatedAllowingPasswordChange {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PasswordGate {
    MustBeCurrent,
    MayBePending,
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req, PasswordGate::MustBeCurrent).await })
    }
}

impl FromRequest for AuthenticatedAllowingPasswordChange {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            authenticate(&req, PasswordGate::MayBePending)
                .await
                .map(AuthenticatedAllowingPasswordChange)
        })
    }
}

async fn authenticate(req: &HttpRequest, gate: PasswordGate) -> Result<Authenticated, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AppState is not registered"))?;
    let (token, credential) = presented_token(req)?.ok_or_else(|| {
        ApiError::unauthorized(
            "unauthenticated",
            "sign in first: send `Authorization: Bearer <token>` or the session cookie",
        )
    })?;
    let verified = state
        .sessions
        .keys()
        .verify(&token)
        .map_err(|error| match error {
            TokenError::Expired => {
                ApiError::unauthorized("token_expired", "the session has expired; sign in again")
            }
            TokenError::Invalid => ApiError::unauthorized("invalid_token", "the session token is not valid"),
        })?;
    if credential == Credential::Cookie && !is_safe_method(req.method()) {
        check_csrf(req, &state.sessions, &verified.jti)?;
    }
    let staff = match state.staff.get_staff(verified.session.staff_id).await {
        Ok(staff) => staff,
        Err(StoreError::NotFound { .. }) => {
            return Err(ApiError::unauthorized(
                "invalid_token",
                "the session's account no longer exists",
            ));
        }
        Err(other) => return Err(other.into()),
    };
    let now = state.clock.now();
    verified.session.check(&staff, now).map_err(rejection)?;
    if gate == PasswordGate::MustBeCurrent && staff.must_change_password {
        return Err(ApiError::forbidden(
            "password_change_required",
            "this account must change its password first (POST /api/auth/change-password)",
        ));
    }
    if let Some(terminal) = verified.session.terminal_id
        && state.sessions.should_touch(terminal, Instant::now())
        && let Err(error) = state.terminals.touch_terminal(terminal, now).await
    {
        tracing::warn!(%error, %terminal, "could not record terminal traffic");
    }
    Ok(Authenticated {
        actor: Actor::new(staff.id, staff.role),
        staff,
        session: verified.session,
        credential,
        jti: verified.jti,
    })
}

fn rejection(rejection: SessionRejection) -> ApiError {
    match rejection {
        SessionRejection::Expired => {
            ApiError::unauthorized("token_expired", "the session has expired; sign in again")
        }
        SessionRejection::StaffInactive => {
            ApiError::unauthorized("account_inactive", "this account is deactivated")
        }
        SessionRejection::Revoked => ApiError::unauthorized(
            "token_revoked",
            "this session was ended (logout everywhere, password or role change); sign in again",
        ),
    }
}

/// The bearer token, else the session cookie. A present but unusable `Authorization`
/// header is refused rather than silently falling back to the cookie.
fn presented_token(req: &HttpRequest) -> Result<Option<(String, Credential)>, ApiError> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let invalid = || {
            ApiError::unauthorized(
                "invalid_token",
                "the Authorization header must be `Bearer <token>`",
            )
        };
        let value = value.to_str().map_err(|_| invalid())?;
        let (scheme, token) = value.trim().split_once(' ').ok_or_else(invalid)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(invalid());
        }
        return Ok(Some((token.to_owned(), Credential::Bearer)));
    }
    Ok(req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|value| !value.is_empty())
        .map(|value| (value, Credential::Cookie)))
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The CSRF rule for cookie sessions (see the module docs).
fn check_csrf(req: &HttpRequest, sessions: &Sessions, jti: &str) -> Result<(), ApiError> {
    let headers = req.headers();
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    let app_origin = sessions.config().app_origin.as_deref();
    let from_app = match (header_str(header::ORIGIN.as_str()), app_origin) {
        (Some(origin), Some(app)) => same_origin(origin, app),
        (None, Some(app)) => header_str(header::REFERER.as_str())
            .and_then(origin_of_url)
            .is_some_and(|origin| same_origin(origin, app)),
        (_, None) => false,
    };
    let token_matches = header_str(CSRF_HEADER).is_some_and(|token| sessions.keys().csrf_matches(jti, token));
    if from_app || token_matches {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "csrf_rejected",
            "a cookie-authenticated request that changes data must come from the app's origin \
             or carry the X-CSRF-Token header",
        ))
    }
}

/// Origins compare as `scheme://host[:port]`, case-insensitively, ignoring a trailing `/`.
fn same_origin(presented: &str, configured: &str) -> bool {
    let presented = presented.trim();
    let configured = configured.trim().trim_end_matches('/');
    presented != "null" && presented.eq_ignore_ascii_case(configured)
}

/// The `scheme://authority` prefix of an absolute URL.
fn origin_of_url(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")?;
    let authority_start = scheme_end + 3;
    let authority_len = url[authority_start..]
        .find(['/', '?', '#'])
        .unwrap_or(url.len() - authority_start);
    (authority_len > 0).then(|| &url[..authority_start + authority_len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_match_exactly() {
        assert!(same_origin("https://pos.example", "https://pos.example"));
        assert!(same_origin("https://POS.example", "https://pos.example/"));
        assert!(!same_origin(
            "https://pos.example.evil.com",
            "https://pos.example"
        ));
        assert!(!same_origin("http://pos.example", "https://pos.example"));
        assert!(!same_origin("https://pos.example:8443", "https://pos.example"));
        assert!(!same_origin("null", "null"));
    }

    #[test]
    fn referers_give_their_origin() {
        assert_eq!(
            origin_of_url("https://pos.example/pos?x=1"),
            Some("https://pos.example")
        );
        assert_eq!(origin_of_url("https://pos.example"), Some("https://pos.example"));
        assert_eq!(
            origin_of_url("https://pos.example:3000#a"),
            Some("https://pos.example:3000")
        );
        assert_eq!(
            origin_of_url("https://pos.example.evil.com/"),
            Some("https://pos.example.evil.com")
        );
        assert_eq!(origin_of_url("pos.example/x"), None);
        assert_eq!(origin_of_url("https:///x"), None);
    }
}
