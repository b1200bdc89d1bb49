//! Idempotent retries over HTTP (spec §4): the `Idempotency-Key` header, the request
//! fingerprint, and answering with stored responses.
//!
//! A mutating order route reads its body as raw bytes ([`RawBody`]) so that the fingerprint
//! covers exactly what was sent, then hands the domain an
//! [`pos_domain::order::ports::IdempotencyClaim`] whose `render` closure turns the unit of
//! work's result into the HTTP answer stored with the key, in the same transaction. The
//! first request and every replay answer with those bytes; a replay adds
//! `Idempotent-Replayed: true`.
//!
//! Everything here runs after the route's permission check: a caller the matrix refuses
//! gets its 401/403 whatever its headers or body look like.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use pos_domain::idempotency::{
    IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, IdempotencyKey, RequestFingerprint, StoredResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, PROBLEM_JSON, ProblemDetails};
use crate::extract::{DEFAULT_JSON_LIMIT, JsonLimit, parse_json};

/// Whether a route insists on an `Idempotency-Key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRule {
    /// Creating an order, sending one (and taking payments): a retry must never act twice.
    Required,
    /// Every other mutation: used when the client sends one.
    Optional,
}

/// The request's `Idempotency-Key`, checked: 400 naming `Idempotency-Key` when it is
/// missing on a route that requires it, given twice, longer than 255 characters, or not
/// visible ASCII.
pub fn idempotency_key(req: &HttpRequest, rule: KeyRule) -> Result<Option<IdempotencyKey>, ApiError> {
    let field = || Some(IDEMPOTENCY_KEY_HEADER.to_owned());
    let mut values = req.headers().get_all(IDEMPOTENCY_KEY_HEADER);
    let Some(value) = values.next() else {
        return match rule {
            KeyRule::Required => Err(ApiError::bad_request(
                "idempotency_key_required",
                "this request needs an Idempotency-Key header (a fresh UUID per user action) so a retry \
                 cannot act twice",
                field(),
            )),
            KeyRule::Optional => Ok(None),
        };
    };
    if values.next().is_some() {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key: send the header once",
            field(),
        ));
    }
    let raw = value.to_str().map_err(|_| {
        ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key: may contain only visible ASCII characters",
            field(),
        )
    })?;
    IdempotencyKey::parse(raw).map(Some).map_err(|e| {
        ApiError::bad_request(
            "invalid_idempotency_key",
            format!("Idempotency-Key: {}", e.message),
            field(),
        )
    })
}

/// What makes two requests the same: method, path with its query, and body.
pub fn fingerprint(req: &HttpRequest, body: &[u8]) -> RequestFingerprint {
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned());
    RequestFingerprint::new(req.method().as_str(), &target, body)
}

/// The body as sent, read up to the JSON limit (413 past it). Parsing and the media type
/// are checked later, by [`RawBody::json`], after the route's permission check.
#[derive(Debug, Clone)]
pub struct RawBody {
    bytes: web::Bytes,
    is_json: bool,
    compressed: bool,
}

impl RawBody {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The body as `T`: 415 unless it is JSON, 400 naming the field serde refuses.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.compressed {
            return Err(ApiError::UnsupportedMediaType(
                "compressed request bodies are not accepted".to_owned(),
            ));
        }
        if !self.is_json {
            return Err(ApiError::UnsupportedMediaType(
                "the body must be JSON with Content-Type: application/json".to_owned(),
            ));
        }
        crate::extract::require_object(&self.bytes)?;
        parse_json(&self.bytes)
    }

    /// Like [`RawBody::json`], but an empty body (the route's fields are all optional) is
    /// `T::default()`.
    pub fn json_or_default<T: DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            Ok(T::default())
        } else {
            self.json()
        }
    }
}

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<JsonLimit>().map_or(DEFAULT_JSON_LIMIT, |l| l.0);
        let is_json = crate::extract::is_json_request(req);
        let compressed = req
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_some_and(|encoding| encoding.as_bytes() != b"identity");
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|length| length > limit) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::bad_request("unreadable_body", format!("could not read the body: {e}"), None)
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(RawBody {
                bytes: body.freeze(),
                is_json,
                compressed,
            })
        })
    }
}

/// A JSON answer as it is stored with a key.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> StoredResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => StoredResponse {
            status: status.as_u16(),
            content_type: "application/json".to_owned(),
            body: bytes,
        },
        Err(error) => internal_error(&error),
    }
}

/// A problem answer as it is stored with a key. Stored problems carry no request id: a
/// replay answers another request (whose id is in its `X-Request-Id` header).
pub fn problem_response<T: Serialize>(body: &T, status: StatusCode) -> StoredResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => StoredResponse {
            status: status.as_u16(),
            content_type: PROBLEM_JSON.to_owned(),
            body: bytes,
        },
        Err(error) => internal_error(&error),
    }
}

/// A 500, which the store never keeps: the unit rolls back and the cause is logged.
pub fn internal_error(cause: &dyn std::fmt::Display) -> StoredResponse {
    tracing::error!(cause = %cause, "could not render a response");
    let mut problem = ProblemDetails::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "internal error",
        None,
    );
    problem.request_id = None;
    StoredResponse {
        status: 500,
        content_type: PROBLEM_JSON.to_owned(),
        body: serde_json::to_vec(&problem).unwrap_or_default(),
    }
}

/// The HTTP answer for a stored (or just rendered) response; `replayed` marks an answer
/// given before, to a request with the same key.
pub fn respond_with(stored: StoredResponse, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    // A stored `204 No Content` has no type to name.
    if !stored.content_type.is_empty()
        && let Ok(content_type) = HeaderValue::from_str(&stored.content_type)
    {
        response.insert_header((header::CONTENT_TYPE, content_type));
    }
    if replayed {
        response.insert_header((IDEMPOTENT_REPLAYED_HEADER, "true"));
    }
    response.body(stored.body)
}

/// 422 `idempotency_key_reused`: the key came with another request before.
pub fn key_reused() -> ApiError {
    ApiError::Unprocessable {
        code: "idempotency_key_reused",
        detail: "this Idempotency-Key was already used with a different request; use a new key for a new \
                 action"
            .to_owned(),
    }
}

/// 409 `request_in_progress`: the first request with this key has not finished.
pub fn in_progress() -> ApiError {
    ApiError::conflict(
        "request_in_progress",
        "a request with this Idempotency-Key is still in progress; retry shortly for its answer",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use actix_web::http::Method;
    use actix_web::test::TestRequest;

    fn key_of(request: TestRequest, rule: KeyRule) -> Result<Option<String>, (String, Option<String>)> {
        idempotency_key(&request.to_http_request(), rule)
            .map(|key| key.map(|k| k.as_str().to_owned()))
            .map_err(|e| (e.code().to_owned(), e.problem().field))
    }

    #[test]
    fn keys_are_required_only_where_the_route_says_so() {
        assert_eq!(key_of(TestRequest::post(), KeyRule::Optional), Ok(None));
        assert_eq!(
            key_of(TestRequest::post(), KeyRule::Required),
            Err((
                "idempotency_key_required".to_owned(),
                Some("Idempotency-Key".to_owned())
            ))
        );
        let keyed = TestRequest::post().insert_header(("Idempotency-Key", "a1-b2"));
        assert_eq!(key_of(keyed, KeyRule::Required), Ok(Some("a1-b2".to_owned())));
    }

    #[test]
    fn bad_keys_are_400_naming_the_header() {
        for bad in ["k".repeat(256), String::new(), "has space".to_owned()] {
            let request = TestRequest::post().insert_header(("Idempotency-Key", bad.as_str()));
            let (code, field) = key_of(request, KeyRule::Optional).unwrap_err();
            assert_eq!(code, "invalid_idempotency_key", "{bad:?}");
            assert_eq!(field.as_deref(), Some("Idempotency-Key"));
        }
        assert!(
            key_of(
                TestRequest::post().insert_header(("Idempotency-Key", "k".repeat(255))),
                KeyRule::Required
            )
            .is_ok()
        );
        let twice = TestRequest::post()
            .append_header(("Idempotency-Key", "a"))
            .append_header(("Idempotency-Key", "b"));
        assert_eq!(
            key_of(twice, KeyRule::Optional).unwrap_err().0,
            "invalid_idempotency_key"
        );
    }

    #[test]
    fn fingerprints_cover_method_path_query_and_body() {
        let at = |method: Method, uri: &str| TestRequest::default().method(method).uri(uri).to_http_request();
        let base = fingerprint(&at(Method::POST, "/api/kds/orders/1/bump?station=bar"), b"");
        assert_eq!(
            base,
            fingerprint(&at(Method::POST, "/api/kds/orders/1/bump?station=bar"), b"")
        );
        assert_ne!(
            base,
            fingerprint(&at(Method::POST, "/api/kds/orders/1/bump?station=kitchen"), b"")
        );
        assert_ne!(
            base,
            fingerprint(&at(Method::POST, "/api/kds/orders/1/bump?station=bar"), b"{}")
        );
        assert_ne!(
            base,
            fingerprint(&at(Method::PATCH, "/api/kds/orders/1/bump?station=bar"), b"")
        );
    }

    #[test]
    fn stored_answers_replay_with_their_bytes_and_the_marker() {
        let stored = json_response(StatusCode::CREATED, &serde_json::json!({"number": 7}));
        let first = respond_with(stored.clone(), false);
        assert_eq!(first.status(), StatusCode::CREATED);
        assert!(!first.headers().contains_key(IDEMPOTENT_REPLAYED_HEADER));
        let replay = respond_with(stored, true);
        assert_eq!(replay.headers().get(IDEMPOTENT_REPLAYED_HEADER).unwrap(), "true");
        assert_eq!(
            replay.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
        assert!(!internal_error(&"boom").is_storable());
    }
}
