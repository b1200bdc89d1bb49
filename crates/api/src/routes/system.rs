//! `/api/health` and `/api/openapi.json`.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health).service(openapi_json);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    /// The database does not answer: the instance cannot serve.
    Degraded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseState {
    Ok,
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RedisState {
    Ok,
    /// No REDIS_URL: events fan out in-process only.
    Disabled,
    /// Redis is configured but unreachable; orders still work and clients catch up from the log.
    Down,
}

/// Liveness of this instance and its dependencies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthReport {
    pub status: HealthStatus,
    /// Server version.
    pub version: String,
    pub database: DatabaseState,
    pub redis: RedisState,
}

/// Liveness and dependency state.
///
/// 200 while the database answers within the health timeout; 503 `degraded` otherwise.
/// Redis being down does not make the instance unhealthy (events still reach the log).
#[utoipa::path(
    tag = "system",
    responses(
        (status = 200, description = "The database answers", body = HealthReport),
        (status = 503, description = "The database does not answer", body = HealthReport),
    ),
    extensions(("x-pos-action" = json!("public")))
)]
#[get("/health")]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let limit = state.config.health_timeout;
    let (database, redis) = tokio::join!(
        within(limit, state.health.ping()),
        within(limit, state.bus.status())
    );
    let database = match database {
        Some(Ok(())) => DatabaseState::Ok,
        Some(Err(error)) => {
            tracing::warn!(%error, "health: database ping failed");
            DatabaseState::Down
        }
        None => {
            tracing::warn!(timeout_ms = limit.as_millis(), "health: database ping timed out");
            DatabaseState::Down
        }
    };
    let redis = match redis {
        Some("ok") => RedisState::Ok,
        Some("disabled") => RedisState::Disabled,
        _ => RedisState::Down,
    };
    let (status, code) = match database {
        DatabaseState::Ok => (HealthStatus::Ok, StatusCode::OK),
        DatabaseState::Down => (HealthStatus::Degraded, StatusCode::SERVICE_UNAVAILABLE),
    };
    HttpResponse::build(code).json(HealthReport {
        status,
        version: state.config.version.clone(),
        database,
        redis,
    })
}

async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(limit, future).await.ok()
}

/// The served OpenAPI document, rendered once per worker.
pub(crate) struct OpenApiJson(pub web::Bytes);

/// This OpenAPI document (3.1), exactly as `pos openapi` writes it.
#[utoipa::path(
    tag = "system",
    responses(
        (status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object),
    ),
    extensions(("x-pos-action" = json!("public")))
)]
#[get("/openapi.json")]
pub async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}
