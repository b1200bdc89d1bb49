//! Opening an order and changing it before it is sent: items, notes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, patch, post, web};
use pos_domain::ids::{OrderId, OrderItemId};
use pos_domain::order::{CreateOrderCmd, Edit, ItemUpdate};
use pos_domain::permissions::Action;
use pos_domain::validate::ValidationError;

use super::requests::*;
use super::save;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Path, parse_query};
use crate::idempotency::{KeyRule, RawBody, idempotency_key};
use crate::orders::{FieldHints, OrderProblem, OrderView, expected_version};
use crate::state::AppState;

/// Open an order: dine-in at a table or takeaway, optionally with its first items.
///
/// Numbered per business day (#1, #2 …, no gaps, no collisions). `Idempotency-Key` is
/// required: a retried create never opens a second order.
#[utoipa::path(
    tag = "orders",
    params(("Idempotency-Key" = String, Header, description = IDEMPOTENCY_KEY_DOC)),
    request_body = CreateOrderRequest,
    responses(
        (status = 201, description = "Created", body = OrderView),
        (status = 409, description = "`request_in_progress`, `out_of_stock`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown table or product, unavailable product, `idempotency_key_reused`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("create_order")))
)]
#[post("/orders")]
pub async fn create_order(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::CreateOrder)?;
    let key = idempotency_key(&req, KeyRule::Required)?;
    let input: CreateOrderRequest = body.json()?;
    let preparation_notes = optional_note("preparation_notes", input.preparation_notes.as_deref())?;
    let (items, hints) = item_requests(input.items)?;
    let cmd = CreateOrderCmd {
        order_type: input.order_type,
        table_id: input.table_id,
        shift_id: None,
        preparation_notes,
        items,
    };
    save(
        &auth,
        &req,
        key,
        body.bytes(),
        StatusCode::CREATED,
        hints,
        |caller, claim| state.orders.create_order(caller, cmd, claim),
    )
    .await
}

/// Set or clear the order's preparation notes (printed on its tickets).
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body = PreparationNotesRequest,
    responses(
        (status = 200, description = "The order as saved", body = OrderView),
        (status = 409, description = "`stale_version` (with `current`), `order_finished`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_unsent_items")))
)]
#[patch("/orders/{order_id}")]
pub async fn set_preparation_notes(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditUnsentItems)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let input: PreparationNotesRequest = body.json()?;
    let notes = match input.preparation_notes {
        None => return Err(ValidationError::new("preparation_notes", "is required (null clears)").into()),
        Some(notes) => optional_note("preparation_notes", notes.as_deref())?,
    };
    let edit = Edit::new(id.0.0, expected_version(&req, input.expected_version)?);
    save(
        &auth,
        &req,
        key,
        body.bytes(),
        StatusCode::OK,
        FieldHints::default(),
        |caller, claim| state.orders.set_preparation_notes(caller, edit, notes, claim),
    )
    .await
}

/// Add pending items (priced now, happy hour included).
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body = AddItemsRequest,
    responses(
        (status = 200, description = "The order as saved", body = OrderView),
        (status = 409, description = "`stale_version` (with `current`), `order_finished`, `out_of_stock`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown or unavailable product, foreign modifier", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_unsent_items")))
)]
#[post("/orders/{order_id}/items")]
pub async fn add_items(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditUnsentItems)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let input: AddItemsRequest = body.json()?;
    let edit = Edit::new(id.0.0, expected_version(&req, input.expected_version)?);
    let (items, hints) = item_requests(input.items)?;
    save(
        &auth,
        &req,
        key,
        body.bytes(),
        StatusCode::OK,
        hints,
        |caller, claim| state.orders.add_items(caller, edit, items, claim),
    )
    .await
}

/// Change a pending item: quantity, modifiers, notes, seat, course.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("item_id" = uuid::Uuid, Path, description = "The item"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body = UpdateItemRequest,
    responses(
        (status = 200, description = "The order as saved", body = OrderView),
        (status = 409, description = "`stale_version` (with `current`), `item_not_pending`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_unsent_items")))
)]
#[patch("/orders/{order_id}/items/{item_id}")]
pub async fn update_item(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    ids: Path<(OrderId, OrderItemId)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditUnsentItems)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let input: UpdateItemRequest = body.json()?;
    let (order_id, item_id) = ids.0;
    let edit = Edit::new(order_id, expected_version(&req, input.expected_version)?);
    if let Some(modifiers) = &input.modifiers
        && modifiers.len() > MAX_MODIFIERS_PER_ITEM
    {
        return Err(
            ValidationError::new("modifiers", format!("at most {MAX_MODIFIERS_PER_ITEM} modifiers")).into(),
        );
    }
    let notes = match &input.notes {
        None => None,
        Some(notes) => Some(optional_note("notes", notes.as_deref())?),
    };
    let update = ItemUpdate {
        quantity: input.quantity,
        modifier_ids: input.modifiers,
        notes,
        seat: input.seat,
        course: input.course,
    };
    if update == ItemUpdate::default() {
        return Err(ValidationError::new(
            "quantity",
            "nothing to change: give quantity, modifiers, notes, seat or course",
        )
        .into());
    }
    let hints = FieldHints::default();
    save(
        &auth,
        &req,
        key,
        body.bytes(),
        StatusCode::OK,
        hints,
        |caller, claim| state.orders.update_item(caller, edit, item_id, update, claim),
    )
    .await
}

/// Remove a pending item (a sent one is voided instead).
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("item_id" = uuid::Uuid, Path, description = "The item"),
        RemoveItemQuery,
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    responses(
        (status = 200, description = "The order as saved", body = OrderView),
        (status = 409, description = "`stale_version` (with `current`), `item_not_pending`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_unsent_items")))
)]
#[delete("/orders/{order_id}/items/{item_id}")]
pub async fn remove_item(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    ids: Path<(OrderId, OrderItemId)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditUnsentItems)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let query: RemoveItemQuery = parse_query(req.query_string())?;
    let (order_id, item_id) = ids.0;
    let edit = Edit::new(order_id, expected_version(&req, query.expected_version)?);
    save(
        &auth,
        &req,
        key,
        b"",
        StatusCode::OK,
        FieldHints::default(),
        |caller, claim| state.orders.remove_item(caller, edit, item_id, claim),
    )
    .await
}
