//! The one place where failures become HTTP.
//!
//! Handlers return `Result<_, ApiError>` and use `?` on the domain's `StoreError` and
//! `ValidationError`; extractors (`crate::extract`) and the fallback service produce
//! `ApiError` too. Every error answers `application/problem+json` (RFC 9457) with a stable
//! `code` clients can branch on. A 5xx body never carries its cause: the cause goes to the
//! log, inside the request's span, and the body says "internal error" plus the request id
//! so the two can be matched.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use pos_domain::{StoreError, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::middleware::current_request_id;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// RFC 9457 problem details, as every error response carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:pos:problem:invalid_body",
    "title": "Bad Request",
    "status": 400,
    "detail": "items[0].quantity: invalid type: string \"two\", expected i64",
    "code": "invalid_body",
    "field": "items[0].quantity",
    "request_id": "0193b5e4-6f7a-7c3e-9a51-0c2f3d4e5f60"
}))]
pub struct ProblemDetails {
    /// `urn:pos:problem:{code}`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The HTTP status phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// Stable machine-readable code, e.g. `invalid_body`, `not_found`, `conflict`.
    pub code: String,
    /// The offending input, as a path into the request (`items[0].quantity`, `order_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// The request's `X-Request-Id`, to find its log lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub request_id: Option<String>,
}

impl ProblemDetails {
    /// A problem for `status` with the given code and detail, stamped with the current
    /// request id.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>, field: Option<String>) -> Self {
        Self {
            problem_type: format!("urn:pos:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            field,
            request_id: current_request_id(),
        }
    }

    /// The response carrying this problem.
    pub fn into_response(self, status: StatusCode) -> HttpResponse {
        let body = serde_json::to_string(&self).unwrap_or_else(|_| {
            // Unreachable for a struct of strings; keep a valid body regardless.
            format!(r#"{{"status":{},"code":"internal_error"}}"#, status.as_u16())
        });
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
            .body(body)
    }
}

/// Every way a request can fail. Add a variant (with its status and code below) rather
/// than building ad-hoc responses in handlers.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be read as the documented shape: malformed JSON, a wrong type,
    /// a value the field's type refuses, a bad path or query parameter.
    #[error("{detail}")]
    BadRequest {
        code: &'static str,
        detail: String,
        field: Option<String>,
    },
    /// Readable, but breaks a rule of the domain.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// No credentials, or credentials that do not prove who is asking (`unauthenticated`,
    /// `invalid_token`, `token_expired`, `token_revoked`, `account_inactive`,
    /// `invalid_credentials`).
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    /// Known caller, refused: `not_permitted` (the permission matrix),
    /// `password_change_required`, `csrf_rejected`, `terminal_not_registered`.
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<actix_web::http::Method> },
    /// A unique constraint or a state that forbids the change; `field` names the input
    /// concerned when there is one.
    #[error("{detail}")]
    Conflict {
        code: &'static str,
        detail: String,
        field: Option<String>,
    },
    /// The database refused a value (CHECK) or a reference (foreign key).
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: String },
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many attempts: the client may retry after `retry_after_secs` (`account_locked`).
    #[error("{detail}")]
    TooManyRequests {
        code: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    /// A dependency (database pool, …) is out of reach; the client should retry shortly.
    /// The string is the cause, logged and never sent.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure. The string is the cause, logged and never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>, field: Option<String>) -> Self {
        ApiError::BadRequest {
            code,
            detail: detail.into(),
            field,
        }
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Unauthorized {
            code,
            detail: detail.into(),
        }
    }

    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            detail: detail.into(),
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            detail: detail.into(),
            field: None,
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    /// The stable code of this error, as in the body's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::TooManyRequests { code, .. } => code,
            ApiError::Validation(_) => "validation_failed",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Validation(e) => e.message.clone(),
            ApiError::MethodNotAllowed { allow } => format!("allowed: {}", allow_header(allow)),
            ApiError::Unavailable(_) => "service temporarily unavailable, retry shortly".to_owned(),
            ApiError::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            ApiError::BadRequest { field, .. } | ApiError::Conflict { field, .. } => field.clone(),
            ApiError::Validation(e) => Some(e.field.clone()),
            _ => None,
        }
    }

    /// The problem body this error answers with.
    pub fn problem(&self) -> ProblemDetails {
        ProblemDetails::new(self.status_code(), self.code(), self.detail(), self.field())
    }
}

fn allow_header(methods: &[actix_web::http::Method]) -> String {
    methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) | ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // Called inside the request's span, so these lines carry its request id.
        match self {
            ApiError::Internal(cause) => tracing::error!(cause = %cause, "internal error"),
            ApiError::Unavailable(cause) => tracing::warn!(cause = %cause, "dependency unavailable"),
            other => tracing::debug!(code = other.code(), error = %other, "request refused"),
        }
        let status = self.status_code();
        let mut response = self.problem().into_response(status);
        let headers = response.headers_mut();
        match self {
            ApiError::MethodNotAllowed { allow } => {
                if let Ok(value) = header::HeaderValue::from_str(&allow_header(allow)) {
                    headers.insert(header::ALLOW, value);
                }
            }
            ApiError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            }
            ApiError::TooManyRequests { retry_after_secs, .. } => {
                headers.insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after_secs));
            }
            ApiError::Unauthorized { .. } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"pos\""),
                );
            }
            _ => {}
        }
        response
    }
}

/// Constraints a client can break in the normal course of things: the stable code, the
/// request field it concerns (if one) and the rule, in words, they answer with (409). Any
/// other constraint gets a generic code; its name goes to the log only, because a problem
/// body names the field or the rule, never the database's tables or constraints.
pub const KNOWN_CONSTRAINTS: &[(&str, &str, Option<&str>, &str)] = &[
    (
        "staff_username_key",
        "username_taken",
        Some("username"),
        "another staff member has this username",
    ),
    (
        "staff_pin_lookup_key",
        "pin_taken",
        Some("pin"),
        "another active staff member has this PIN",
    ),
    (
        "terminals_code_key",
        "terminal_code_taken",
        Some("code"),
        "another terminal has this code",
    ),
    (
        "last_active_admin",
        "last_active_admin",
        None,
        "the last active admin cannot be deactivated or demoted",
    ),
];

fn known_constraint(constraint: &str) -> Option<ApiError> {
    KNOWN_CONSTRAINTS
        .iter()
        .find(|(name, _, _, _)| *name == constraint)
        .map(|(_, code, field, detail)| ApiError::Conflict {
            code,
            detail: (*detail).to_owned(),
            field: field.map(str::to_owned),
        })
}

/// A constraint no sentence was written for: logged by name, answered by rule only.
fn unnamed_constraint(kind: &str, constraint: &str) {
    tracing::info!(constraint, kind, "request refused by a database constraint");
}

impl From<pos_domain::approval::ApprovalError> for ApiError {
    fn from(error: pos_domain::approval::ApprovalError) -> Self {
        ApiError::forbidden(error.code(), error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { entity } => ApiError::NotFound(format!("{entity} not found")),
            StoreError::Conflict { constraint } => known_constraint(&constraint).unwrap_or_else(|| {
                unnamed_constraint("unique", &constraint);
                ApiError::conflict(
                    "conflict",
                    "a value that must be unique is already taken by another record",
                )
            }),
            StoreError::CheckViolation { constraint } => known_constraint(&constraint).unwrap_or_else(|| {
                unnamed_constraint("check", &constraint);
                ApiError::Unprocessable {
                    code: "constraint_violation",
                    detail: "a value is outside what the venue's rules allow".to_owned(),
                }
            }),
            StoreError::ForeignKeyViolation { constraint } => {
                unnamed_constraint("reference", &constraint);
                ApiError::Unprocessable {
                    code: "invalid_reference",
                    detail: "a referenced record does not exist".to_owned(),
                }
            }
            StoreError::SerializationFailure => ApiError::conflict(
                "concurrent_update",
                "a concurrent update interfered; retry the request",
            ),
            StoreError::Unavailable(cause) => ApiError::Unavailable(cause),
            StoreError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(error: ApiError) -> (StatusCode, actix_web::http::header::HeaderMap, ProblemDetails) {
        let response = error.error_response();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[actix_web::test]
    async fn store_errors_map_to_statuses_and_stable_codes() {
        let cases = [
            (StoreError::not_found("order"), 404, "not_found"),
            (
                StoreError::Conflict {
                    constraint: "orders_business_day_number_key".into(),
                },
                409,
                "conflict",
            ),
            (
                StoreError::CheckViolation {
                    constraint: "orders_total_check".into(),
                },
                422,
                "constraint_violation",
            ),
            (
                StoreError::ForeignKeyViolation {
                    constraint: "orders_table_id_fkey".into(),
                },
                422,
                "invalid_reference",
            ),
            (StoreError::SerializationFailure, 409, "concurrent_update"),
            (
                StoreError::Unavailable("pool timed out".into()),
                503,
                "service_unavailable",
            ),
            (StoreError::Internal("boom".into()), 500, "internal_error"),
        ];
        for (store_error, status, code) in cases {
            let (got_status, headers, problem) = body_of(store_error.clone().into()).await;
            assert_eq!(got_status.as_u16(), status, "{store_error:?}");
            assert_eq!(problem.status, status);
            assert_eq!(problem.code, code);
            assert_eq!(problem.problem_type, format!("urn:pos:problem:{code}"));
            assert_eq!(
                headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap(),
                PROBLEM_JSON
            );
            assert_eq!(
                headers.contains_key(header::RETRY_AFTER),
                status == 503,
                "Retry-After only on 503: {store_error:?}"
            );
        }
    }

    #[actix_web::test]
    async fn known_constraints_get_their_own_codes_as_409() {
        for (constraint, code, field) in [
            ("staff_username_key", "username_taken", "username"),
            ("staff_pin_lookup_key", "pin_taken", "pin"),
            ("terminals_code_key", "terminal_code_taken", "code"),
        ] {
            let (status, _, problem) = body_of(
                StoreError::Conflict {
                    constraint: constraint.into(),
                }
                .into(),
            )
            .await;
            assert_eq!((status.as_u16(), problem.code.as_str()), (409, code));
            assert_eq!(problem.field.as_deref(), Some(field), "{constraint}");
            assert!(!problem.detail.contains(constraint), "{problem:?}");
        }
        let (status, _, problem) = body_of(
            StoreError::CheckViolation {
                constraint: "last_active_admin".into(),
            }
            .into(),
        )
        .await;
        assert_eq!(
            (status.as_u16(), problem.code.as_str()),
            (409, "last_active_admin")
        );
    }

    #[actix_web::test]
    async fn problem_bodies_never_name_a_table_or_constraint() {
        for error in [
            StoreError::Conflict {
                constraint: "orders_business_date_number_key".into(),
            },
            StoreError::CheckViolation {
                constraint: "orders_paid_check".into(),
            },
            StoreError::ForeignKeyViolation {
                constraint: "orders_table_id_fkey".into(),
            },
            StoreError::Conflict {
                constraint: "last_active_admin".into(),
            },
        ] {
            let (status, _, problem) = body_of(error.clone().into()).await;
            assert!(status.is_client_error(), "{error:?}");
            let raw = serde_json::to_string(&problem).unwrap();
            for name in ["orders", "_key", "_check", "_fkey", "staff", "constraint "] {
                assert!(!raw.contains(name), "{name} in {raw}");
            }
            assert!(!problem.detail.is_empty());
        }
    }

    #[actix_web::test]
    async fn auth_refusals_carry_their_headers() {
        let (status, headers, problem) = body_of(ApiError::TooManyRequests {
            code: "account_locked",
            detail: "locked".into(),
            retry_after_secs: 897,
        })
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers.get(header::RETRY_AFTER).unwrap(), "897");
        assert_eq!(problem.code, "account_locked");

        let (status, headers, problem) = body_of(ApiError::unauthorized("token_expired", "expired")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(headers.contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(problem.code, "token_expired");

        let denied = pos_domain::approval::require(
            pos_domain::approval::Actor::new(pos_domain::ids::StaffId::new(), pos_domain::Role::Waiter),
            pos_domain::Action::ManageStaff,
        )
        .unwrap_err();
        let (status, _, problem) = body_of(denied.into()).await;
        assert_eq!(
            (status, problem.code.as_str()),
            (StatusCode::FORBIDDEN, "not_permitted")
        );
    }

    #[actix_web::test]
    async fn unavailable_asks_to_retry_after_one_second_without_the_cause() {
        let (_, headers, problem) =
            body_of(StoreError::Unavailable("pool exhausted at db-1".into()).into()).await;
        assert_eq!(headers.get(header::RETRY_AFTER).unwrap(), "1");
        assert!(!problem.detail.contains("db-1"));
    }

    #[actix_web::test]
    async fn internal_errors_never_leak_their_cause() {
        let cause = "relation \"secret_table\" does not exist";
        let (status, _, problem) = body_of(StoreError::Internal(cause.into()).into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(problem.detail, "internal error");
        let raw = serde_json::to_string(&problem).unwrap();
        assert!(!raw.contains("secret_table"), "{raw}");
    }

    #[actix_web::test]
    async fn validation_errors_name_the_field() {
        let (status, _, problem) =
            body_of(ValidationError::new("items[2].notes", "must be at most 500 characters").into()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.code, "validation_failed");
        assert_eq!(problem.field.as_deref(), Some("items[2].notes"));
        assert_eq!(problem.detail, "must be at most 500 characters");
    }

    #[actix_web::test]
    async fn method_not_allowed_lists_the_allowed_methods() {
        use actix_web::http::Method;
        let (status, headers, _) = body_of(ApiError::MethodNotAllowed {
            allow: vec![Method::GET, Method::POST],
        })
        .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers.get(header::ALLOW).unwrap(), "GET, POST");
    }
}
