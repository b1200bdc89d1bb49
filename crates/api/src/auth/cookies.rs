//! The session cookies.
//!
//! - `pos_session`: the JWT; `HttpOnly` (no script reads it), `SameSite=Strict`, `Path=/`,
//!   `Max-Age` = the session's remaining life, `Secure` when configured.
//! - `pos_csrf`: the session's CSRF token, readable by the SPA's script (not `HttpOnly`) so it
//!   can echo it in `X-CSRF-Token`; same attributes otherwise.
//!
//! Both live on `/` and expire with the session; logout sends them again with `Max-Age=0`.

use actix_web::HttpResponseBuilder;
use actix_web::cookie::{Cookie, SameSite, time};
use chrono::{DateTime, Utc};

use super::sessions::{AuthConfig, StartedSession};
pub use crate::openapi::SESSION_COOKIE;

pub const CSRF_COOKIE: &str = "pos_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

fn cookie(
    name: &'static str,
    value: String,
    http_only: bool,
    max_age_secs: i64,
    secure: bool,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .http_only(http_only)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(secure)
        .max_age(time::Duration::seconds(max_age_secs.max(0)))
        .finish()
}

/// Adds the cookies of a new session to a response.
pub fn set_session_cookies(
    response: &mut HttpResponseBuilder,
    started: &StartedSession,
    config: &AuthConfig,
    now: DateTime<Utc>,
) {
    let max_age = (started.token.expires_at - now).num_seconds();
    response.cookie(cookie(
        SESSION_COOKIE,
        started.token.token.clone(),
        true,
        max_age,
        config.cookie_secure,
    ));
    response.cookie(cookie(
        CSRF_COOKIE,
        started.csrf_token.clone(),
        false,
        max_age,
        config.cookie_secure,
    ));
}

/// Adds cookies that make the browser forget the session.
pub fn clear_session_cookies(response: &mut HttpResponseBuilder, config: &AuthConfig) {
    response.cookie(cookie(
        SESSION_COOKIE,
        String::new(),
        true,
        0,
        config.cookie_secure,
    ));
    response.cookie(cookie(CSRF_COOKIE, String::new(), false, 0, config.cookie_secure));
}
