//! `/api/admin/tables`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use pos_domain::catalog::{self, TablePatch};
use pos_domain::ids::TableId;
use pos_domain::permissions::Action;
use pos_domain::venue::{NewTable, Table};

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::Path;
use crate::idempotency::RawBody;
use crate::state::AppState;

use super::*; // the routes' shared helpers, views and requests

/// Every table, retired ones too, in floor order.
#[utoipa::path(
    tag = "admin_menu",
    responses((status = 200, description = "Tables", body = Vec<AdminTableView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_tables")))
)]
#[get("/admin/tables")]
pub async fn list_tables(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<AdminTableView>>, ApiError> {
    auth.require(Action::EditTables)?;
    let tables = service(&state)?.tables(auth.requester()).await?;
    Ok(web::Json(tables.iter().map(AdminTableView::from).collect()))
}

/// Add a table.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = CreateTableRequest,
    responses(
        (status = 201, description = "Created", body = AdminTableView),
        (status = 409, description = "`table_code_taken`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_tables")))
)]
#[post("/admin/tables")]
pub async fn create_table(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditTables)?;
    let render = answer::<Table, AdminTableView>(StatusCode::CREATED);
    let claim = claim(&auth, &req, &body, render)?;
    let body: CreateTableRequest = body.json()?;
    let new = NewTable {
        code: label("code", &body.code)?,
        area: catalog::optional_label("area", body.area.as_deref())?,
        seats: catalog::seats("seats", body.seats)?,
        sort_order: body
            .sort_order
            .map(|o| catalog::sort_order("sort_order", o))
            .transpose()?
            .unwrap_or(0),
    };
    let image = catalog::image_url("image_url", body.image_url.as_deref())?;
    let unit = service(&state)?
        .create_table(auth.requester(), new, image, claim)
        .await?;
    respond(unit, render)
}

/// One table.
#[utoipa::path(
    tag = "admin_menu",
    params(("table_id" = uuid::Uuid, Path, description = "The table")),
    responses((status = 200, description = "The table", body = AdminTableView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_tables")))
)]
#[get("/admin/tables/{table_id}")]
pub async fn get_table(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(TableId,)>,
) -> Result<web::Json<AdminTableView>, ApiError> {
    auth.require(Action::EditTables)?;
    let table = service(&state)?
        .table(auth.requester(), id.into_inner().0)
        .await?;
    Ok(web::Json(AdminTableView::from(&table)))
}

/// Change a table: code, area, seats, image, order, retire/restore.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("table_id" = uuid::Uuid, Path, description = "The table"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    request_body = UpdateTableRequest,
    responses(
        (status = 200, description = "Updated", body = AdminTableView),
        (status = 409, description = "`table_code_taken`, `table_in_use`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_tables")))
)]
#[patch("/admin/tables/{table_id}")]
pub async fn update_table(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(TableId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditTables)?;
    let render = answer::<Table, AdminTableView>(StatusCode::OK);
    let claim = claim(&auth, &req, &body, render)?;
    let body: UpdateTableRequest = body.json()?;
    let patch = TablePatch {
        code: body.code.as_deref().map(|c| label("code", c)).transpose()?,
        area: body
            .area
            .map(|a| catalog::optional_label("area", a.as_deref()))
            .transpose()?,
        seats: body.seats.map(|s| catalog::seats("seats", s)).transpose()?,
        image_url: body
            .image_url
            .map(|i| catalog::image_url("image_url", i.as_deref()))
            .transpose()?,
        sort_order: body
            .sort_order
            .map(|o| catalog::sort_order("sort_order", o))
            .transpose()?,
        active: body.active,
    };
    let unit = service(&state)?
        .update_table(auth.requester(), id.into_inner().0, patch, claim)
        .await?;
    respond(unit, render)
}

/// Retire a table (past orders keep pointing at it); refused while it has unfinished orders.
#[utoipa::path(
    tag = "admin_menu",
    params(
        ("table_id" = uuid::Uuid, Path, description = "The table"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
    ),
    responses(
        (status = 204, description = "Retired"),
        (status = 409, description = "`table_in_use`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_tables")))
)]
#[delete("/admin/tables/{table_id}")]
pub async fn delete_table(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(TableId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditTables)?;
    let claim = claim(&auth, &req, &body, no_content)?;
    let unit = service(&state)?
        .delete_table(auth.requester(), id.into_inner().0, claim)
        .await?;
    respond(unit, no_content)
}
