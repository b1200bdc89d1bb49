//! `/api/admin/terminals`: registering and editing the devices staff sign in on.
//!
//! `last_seen_at` is not set here: it follows the traffic of sessions opened on the
//! terminal (see `crate::auth::extractor`). The permission check and the audit entries are
//! the domain's [`pos_domain::access::TerminalService`]; the terminal store has no audited
//! methods, so the entry is appended after the change (a failure to append is logged, the
//! change stands).

use actix_web::{HttpResponse, get, patch, post, web};
use pos_domain::access::TerminalWritten;
use pos_domain::ids::TerminalId;
use pos_domain::staff::{NewTerminal, Station, Terminal, TerminalChanges, TerminalKind, parse_terminal_code};
use pos_domain::validate::{Label, ValidationError};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::dto::{StationSchema, TerminalKindSchema, TerminalView, double_option};
use crate::error::{ApiError, ProblemDetails};
use crate::extract::{Json, Path};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_terminals)
        .service(create_terminal)
        .service(get_terminal)
        .service(update_terminal);
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "pos-2", "name": "Terrace till", "kind": "pos", "has_cash_drawer": true}))]
pub struct CreateTerminalRequest {
    /// 2–32 of `a-z 0-9 -`, typed at PIN login.
    pub code: String,
    pub name: String,
    #[schema(value_type = TerminalKindSchema)]
    pub kind: String,
    /// The station a KDS shows.
    #[serde(default)]
    #[schema(value_type = Option<StationSchema>)]
    pub station: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub has_printer: bool,
    #[serde(default)]
    pub has_cash_drawer: bool,
}

/// Absent fields are left alone; `null` clears `station` or `location`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Bar till", "active": false}))]
pub struct UpdateTerminalRequest {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<TerminalKindSchema>)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<StationSchema>)]
    pub station: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    #[serde(default)]
    pub has_printer: Option<bool>,
    #[serde(default)]
    pub has_cash_drawer: Option<bool>,
    /// A deactivated terminal refuses PIN logins.
    #[serde(default)]
    pub active: Option<bool>,
}

fn code(raw: &str) -> Result<String, ValidationError> {
    parse_terminal_code(raw).map_err(|e| ValidationError::new("code", e.message))
}

fn location(raw: &str) -> Result<Option<String>, ValidationError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    Label::parse_field("location", trimmed).map(|l| Some(l.as_str().to_owned()))
}

fn station(raw: &str) -> Result<Station, ValidationError> {
    Station::parse(raw)
}

/// Every registered terminal, by code.
#[utoipa::path(
    tag = "terminals",
    responses((status = 200, description = "Terminals", body = Vec<TerminalView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_terminals")))
)]
#[get("/admin/terminals")]
pub async fn list_terminals(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<TerminalView>>, ApiError> {
    let terminals = state.terminal_service().list(auth.requester()).await?;
    Ok(web::Json(terminals.iter().map(TerminalView::from).collect()))
}

/// Register a terminal.
#[utoipa::path(
    tag = "terminals",
    responses(
        (status = 201, description = "Registered", body = TerminalView),
        (status = 409, description = "`terminal_code_taken`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_terminals")))
)]
#[post("/admin/terminals")]
pub async fn create_terminal(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<CreateTerminalRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = NewTerminal {
        code: code(&body.code)?,
        name: Label::parse(&body.name)?,
        kind: TerminalKind::parse(&body.kind)?,
        station: body.station.as_deref().map(station).transpose()?,
        location: body.location.as_deref().map(location).transpose()?.flatten(),
        has_printer: body.has_printer,
        has_cash_drawer: body.has_cash_drawer,
    };
    let written = state.terminal_service().create(auth.requester(), new).await?;
    let terminal = logged(written);
    Ok(HttpResponse::Created().json(TerminalView::from(&terminal)))
}

/// One terminal.
#[utoipa::path(
    tag = "terminals",
    params(("terminal_id" = uuid::Uuid, Path, description = "The terminal")),
    responses((status = 200, description = "The terminal", body = TerminalView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_terminals")))
)]
#[get("/admin/terminals/{terminal_id}")]
pub async fn get_terminal(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(TerminalId,)>,
) -> Result<web::Json<TerminalView>, ApiError> {
    let terminal = state
        .terminal_service()
        .get(auth.requester(), id.into_inner().0)
        .await?;
    Ok(web::Json(TerminalView::from(&terminal)))
}

/// Change a terminal: rename, re-code, move to another station, (de)activate.
#[utoipa::path(
    tag = "terminals",
    params(("terminal_id" = uuid::Uuid, Path, description = "The terminal")),
    responses(
        (status = 200, description = "Updated", body = TerminalView),
        (status = 409, description = "`terminal_code_taken`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_terminals")))
)]
#[patch("/admin/terminals/{terminal_id}")]
pub async fn update_terminal(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(TerminalId,)>,
    body: Json<UpdateTerminalRequest>,
) -> Result<web::Json<TerminalView>, ApiError> {
    let body = body.into_inner();
    let changes = TerminalChanges {
        code: body.code.as_deref().map(code).transpose()?,
        name: body.name.as_deref().map(Label::parse).transpose()?,
        kind: body.kind.as_deref().map(TerminalKind::parse).transpose()?,
        station: body
            .station
            .map(|s| s.as_deref().map(station).transpose())
            .transpose()?,
        location: body
            .location
            .map(|l| l.as_deref().map(location).transpose().map(Option::flatten))
            .transpose()?,
        has_printer: body.has_printer,
        has_cash_drawer: body.has_cash_drawer,
        active: body.active,
    };
    let written = state
        .terminal_service()
        .update(auth.requester(), id.into_inner().0, changes)
        .await?;
    Ok(web::Json(TerminalView::from(&logged(written))))
}

/// The terminal store has no audited methods: an entry that could not be written after the
/// change is logged, and the change stands.
fn logged(written: TerminalWritten) -> Terminal {
    if let Err(error) = written.audit {
        tracing::error!(%error, "could not write the terminal audit entry");
    }
    written.terminal
}
