//! What every response goes through, outermost first:
//!
//! 1. [`request_context`]: a request id (the client's `X-Request-Id` when well-formed, else
//!    a fresh UUIDv7), echoed in the response, carried by a tracing span around the whole
//!    request (so every log line of it names it) and by a task-local that error bodies read.
//! 2. [`security_headers`]: nosniff, frame denial, referrer policy, a CSP per surface, and
//!    `Cache-Control: no-store` on API answers.
//! 3. [`problem_responses`]: any error response that is not already problem+json (actix's
//!    own 405, an actix error type, a static file error) is rewritten as one, headers kept.
//!
//! Compression is deliberately absent: nginx compresses in deployment, and actix's
//! `Compress` buffers server-sent events (actix-web#3032).

use std::fmt;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::{Ready, ready};
use tracing::Instrument;

use crate::error::ProblemDetails;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the request being served. Also an extractor, for handlers that record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// Longest client-supplied id we keep; longer ones are replaced, not truncated.
    pub const MAX_LEN: usize = 128;

    /// The client's id when it is 1–128 of `A-Z a-z 0-9 - _ .` (what proxies and uuids
    /// produce), so it cannot smuggle anything into logs or headers; otherwise a new UUIDv7.
    pub fn from_client_or_new(supplied: Option<&HeaderValue>) -> Self {
        supplied
            .and_then(|value| value.to_str().ok())
            .filter(|value| Self::is_well_formed(value))
            .map(|value| RequestId(value.to_owned()))
            .unwrap_or_else(|| RequestId(uuid::Uuid::now_v7().to_string()))
    }

    pub fn is_well_formed(value: &str) -> bool {
        (1..=Self::MAX_LEN).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromRequest for RequestId {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            // Only without the middleware (a bare test app): still give the handler an id.
            .unwrap_or_else(|| RequestId::from_client_or_new(None));
        ready(Ok(id))
    }
}

tokio::task_local! {
    static CURRENT_REQUEST_ID: RequestId;
}

/// The id of the request this task is serving, if any. Error bodies read it, since
/// `ResponseError::error_response` has no access to the request.
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(|id| id.0.clone()).ok()
}

/// Request id, tracing span and one access-log line per request.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = RequestId::from_client_or_new(req.headers().get(REQUEST_ID_HEADER));
    req.extensions_mut().insert(id.clone());
    // The path only: query strings may carry tokens or personal data.
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
    );
    let started = Instant::now();
    // `call` itself runs inside the scope and the span too (routing, extractors), not only
    // the future it returns.
    let result = CURRENT_REQUEST_ID
        .scope(id.clone(), async move { next.call(req).await })
        .instrument(span.clone())
        .await;
    let mut response = result?;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(state) = response
        .request()
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
    {
        let request = response.request();
        state.metrics.observe_request(
            request.method().as_str(),
            request.match_pattern().as_deref(),
            status,
            elapsed,
        );
    }
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(status, elapsed_ms, "request served"));
    Ok(response)
}

/// Content-Security-Policy of the SPA and of everything else served from our origin: only
/// our own scripts and stylesheets. Styles set from script through the CSSOM (what
/// Preact/React `style` props do) are not inline styles and stay allowed; a library that
/// injects `<style>` tags would need `'unsafe-inline'` added to `style-src` here.
pub const CSP_APP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
/// Swagger UI (under `/api/docs`) injects inline styles and data: images.
pub const CSP_DOCS: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";
/// Uploaded files are data, never documents: nothing runs even if one is opened directly.
pub const CSP_UPLOADS: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

fn csp_for(path: &str) -> &'static str {
    if path == "/api/docs" || path.starts_with("/api/docs/") {
        CSP_DOCS
    } else if path.starts_with(crate::statics::IMAGES_PREFIX) {
        CSP_UPLOADS
    } else {
        CSP_APP
    }
}

/// Security headers on every response. A handler that sets one of them keeps its own.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let path = req.path().to_owned();
    let mut response = next.call(req).await?;
    let is_api = path == "/api" || path.starts_with("/api/");
    let is_docs_asset = path.starts_with("/api/docs/");
    let headers = response.headers_mut();
    let mut set_default = |name: HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set_default(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(header::X_FRAME_OPTIONS, "DENY");
    set_default(header::REFERRER_POLICY, "no-referrer");
    set_default(header::CONTENT_SECURITY_POLICY, csp_for(&path));
    set_default(header::CROSS_ORIGIN_OPENER_POLICY, "same-origin");
    if is_api && !is_docs_asset {
        // API answers are per-user and live: no shared or browser cache may keep them.
        set_default(header::CACHE_CONTROL, "no-store");
    }
    Ok(response)
}

/// Makes every error response problem+json: a 4xx/5xx with a non-JSON body (actix's built-in
/// 405, a static-file error, an actix error type) is rewritten, its headers kept.
///
/// Middleware that refuses a request must answer `Ok(req.error_response(ApiError::…))`, not
/// `Err(…)`: an `Err` skips the outer middleware (no security headers, no request id) and is
/// rendered by the HTTP dispatcher. It cannot be caught here, because turning it into a
/// response needs the request, and holding a clone of it while routing runs makes actix
/// panic.
pub async fn problem_responses(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let response = next.call(req).await?;
    if is_error_without_problem(&response) {
        Ok(rewrite_as_problem(response.map_into_boxed_body()).map_into_right_body())
    } else {
        Ok(response.map_into_left_body())
    }
}

/// An error whose body is not JSON. A JSON error body is left alone: it is either problem
/// details or a documented report (the 503 of `/api/health`).
fn is_error_without_problem<B>(response: &ServiceResponse<B>) -> bool {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            let media = media.trim();
            media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
        });
    (status.is_client_error() || status.is_server_error()) && !is_json
}

fn rewrite_as_problem(response: ServiceResponse) -> ServiceResponse {
    let status = response.status();
    let (request, original) = response.into_parts();
    let code = match status.as_u16() {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        s if s >= 500 => "internal_error",
        _ => "client_error",
    };
    let detail = if status.is_server_error() {
        "internal error"
    } else {
        status.canonical_reason().unwrap_or("request refused")
    };
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), "error response without problem details");
    }
    let mut rewritten = ProblemDetails::new(status, code, detail, None).into_response(status);
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().append(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(request, rewritten)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_request_ids_are_kept_only_when_well_formed() {
        let ok = HeaderValue::from_static("0193b5e4-6f7a-7c3e.abc_DEF");
        assert_eq!(
            RequestId::from_client_or_new(Some(&ok)).as_str(),
            ok.to_str().unwrap_or("")
        );
        for bad in ["", "has space", "semi;colon", "new\u{7f}line"] {
            if let Ok(value) = HeaderValue::from_str(bad) {
                let id = RequestId::from_client_or_new(Some(&value));
                assert_ne!(id.as_str(), bad);
                assert!(uuid::Uuid::parse_str(id.as_str()).is_ok());
            }
        }
        let long = HeaderValue::from_str(&"a".repeat(129)).ok();
        assert_eq!(RequestId::from_client_or_new(long.as_ref()).as_str().len(), 36);
    }

    #[test]
    fn docs_and_uploads_get_their_own_policies() {
        assert_eq!(csp_for("/api/docs/"), CSP_DOCS);
        assert_eq!(csp_for("/api/docs"), CSP_DOCS);
        assert_eq!(csp_for("/api/docsx"), CSP_APP);
        assert_eq!(csp_for("/pos-images/a.png"), CSP_UPLOADS);
        assert_eq!(csp_for("/api/health"), CSP_APP);
        assert!(!CSP_APP.contains("unsafe"));
        assert!(CSP_DOCS.contains("style-src 'self' 'unsafe-inline'"));
    }
}
