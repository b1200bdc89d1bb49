//! `/api/orders*`: taking orders (spec §3, §10): create, items, preparation notes, send,
//! serve, voids (with a manager's approval once sent), cancel, move, merge, and ticket
//! reprints.
//!
//! Every mutation takes an optional `Idempotency-Key` (required to create and to send) and
//! the order's `version` as `expected_version` in the body or `If-Match`; a stale version is
//! answered 409 `stale_version` with the current order in the problem's `current`.

use std::num::NonZeroU8;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{NaiveDate, TimeDelta};
use pos_domain::ids::{ModifierId, OrderId, OrderItemId, ProductId, TableId};
use pos_domain::order::{ItemStatus, OrderStatus, OrderType};
use pos_domain::order_ports::OrderFilter;
use pos_domain::orders::{CreateOrderCmd, Edit, ItemRequest, ItemUpdate, VoidCmd};
use pos_domain::permissions::Action;
use pos_domain::printing::{Paper, TicketData, TicketLine, render_ticket_escpos, render_ticket_text};
use pos_domain::staff::Station;
use pos_domain::validate::{Note, Quantity, ValidationError};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::dto::double_option;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::{Path, parse_query};
use crate::idempotency::{KeyRule, RawBody, idempotency_key};
use crate::orders::{
    FieldHints, OrderProblem, OrderTypeSchema, OrderView, VersionInput, caller, claim, etag,
    expected_version, read_error, render_order, respond,
};
use crate::routes::approval::{ApprovalInput, verify_approval};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_order)
        .service(list_orders)
        .service(get_order)
        .service(set_preparation_notes)
        .service(add_items)
        .service(update_item)
        .service(remove_item)
        .service(send_order)
        .service(serve_order)
        .service(void_order)
        .service(void_item)
        .service(cancel_order)
        .service(move_order)
        .service(merge_orders)
        .service(reprint_ticket);
}

/// Most lines one request may add.
pub const MAX_ITEMS_PER_REQUEST: usize = 100;
/// Most modifiers on one line.
pub const MAX_MODIFIERS_PER_ITEM: usize = 20;

// ----- request bodies ----------------------------------------------------------------------------

/// One line to put on an order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    #[schema(value_type = uuid::Uuid)]
    pub product_id: ProductId,
    #[schema(value_type = i64, minimum = 1, maximum = 999)]
    pub quantity: Quantity,
    /// Ids of the product's own active modifiers, each at most once.
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>, max_items = 20)]
    pub modifiers: Vec<ModifierId>,
    /// For the station, at most 500 characters.
    #[schema(max_length = 500)]
    pub notes: Option<String>,
    #[schema(value_type = Option<u8>, minimum = 1)]
    pub seat: Option<NonZeroU8>,
    #[schema(value_type = Option<u8>, minimum = 1)]
    pub course: Option<NonZeroU8>,
}

fn optional_note(field: &str, raw: Option<&str>) -> Result<Option<Note>, ValidationError> {
    match raw {
        None => Ok(None),
        Some(raw) => {
            let note = Note::parse_field(field, raw)?;
            Ok((!note.as_str().is_empty()).then_some(note))
        }
    }
}

/// The lines of a request as the use cases take them, each checked and named by its index.
fn item_requests(items: Vec<ItemInput>) -> Result<(Vec<ItemRequest>, FieldHints), ValidationError> {
    if items.len() > MAX_ITEMS_PER_REQUEST {
        return Err(ValidationError::new(
            "items",
            format!("at most {MAX_ITEMS_PER_REQUEST} lines per request"),
        ));
    }
    let products = items.iter().map(|i| i.product_id).collect();
    let modifiers = items.iter().map(|i| i.modifiers.clone()).collect();
    let requests = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            if item.modifiers.len() > MAX_MODIFIERS_PER_ITEM {
                return Err(ValidationError::new(
                    format!("items[{i}].modifiers"),
                    format!("at most {MAX_MODIFIERS_PER_ITEM} modifiers"),
                ));
            }
            Ok(ItemRequest {
                product_id: item.product_id,
                quantity: item.quantity,
                modifier_ids: item.modifiers,
                notes: optional_note(&format!("items[{i}].notes"), item.notes.as_deref())?,
                seat: item.seat,
                course: item.course,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((requests, FieldHints::items(products, modifiers)))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "type": "dine_in",
    "table_id": "0193b5e4-6f7a-7c3e-9a51-0c2f3d4e5f60",
    "items": [{"product_id": "0193b5e4-7000-7c3e-9a51-0c2f3d4e5f61", "quantity": 2, "notes": "no onions"}]
}))]
pub struct CreateOrderRequest {
    #[serde(rename = "type")]
    #[schema(value_type = OrderTypeSchema)]
    pub order_type: OrderType,
    /// Required for `dine_in`, absent for `takeaway`.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub table_id: Option<TableId>,
    /// Printed on every ticket of the order; at most 500 characters.
    #[schema(max_length = 500)]
    pub preparation_notes: Option<String>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub items: Vec<ItemInput>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemsRequest {
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<ItemInput>,
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
}

/// Changes to a pending item; absent fields stay as they are, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateItemRequest {
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 999)]
    pub quantity: Option<Quantity>,
    /// The complete new set of modifiers.
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub modifiers: Option<Vec<ModifierId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u8>, minimum = 1)]
    pub seat: Option<Option<NonZeroU8>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u8>, minimum = 1)]
    pub course: Option<Option<NonZeroU8>>,
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreparationNotesRequest {
    /// The new notes; `null` or `""` clears them. At most 500 characters.
    #[serde(deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500, required = true)]
    pub preparation_notes: Option<Option<String>>,
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "customer left", "approval": {"username": "grace", "password": "manager password"}}))]
pub struct VoidRequest {
    /// Why; required, at most 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// A manager's credentials, needed once anything was sent unless the caller is one.
    pub approval: Option<ApprovalInput>,
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    #[schema(value_type = uuid::Uuid)]
    pub table_id: TableId,
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The order whose items move onto this one; it ends `cancelled` with `merged_into` set.
    #[schema(value_type = uuid::Uuid)]
    pub source_order_id: OrderId,
    /// This (target) order's version.
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
    /// The source order's version.
    #[schema(minimum = 1)]
    pub source_expected_version: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersQuery {
    /// Comma-separated statuses, e.g. `open,sent,ready`; all when absent.
    pub status: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub table_id: Option<TableId>,
    pub business_date: Option<NaiveDate>,
    /// 1–500, default 100; newest first.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveItemQuery {
    /// The order's version as last read (or send `If-Match`).
    #[param(minimum = 1)]
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketFormat {
    /// Plain text, UTF-8.
    #[default]
    Text,
    /// ESC/POS bytes for a thermal printer.
    Escpos,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// `80mm` (48 columns, default) or `58mm` (32 columns).
    #[param(value_type = Option<String>, example = "80mm")]
    pub paper: Option<Paper>,
    #[param(value_type = Option<TicketFormat>, inline)]
    pub format: Option<TicketFormat>,
}

const IDEMPOTENCY_KEY_DOC: &str = "Makes retries safe: the same key with the same request \
    answers the first response again (`Idempotent-Replayed: true`); with another request 422.";

// ----- handlers ----------------------------------------------------------------------------------

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
    let render = render_order(StatusCode::CREATED, hints);
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(state.orders.create_order(caller(&auth), cmd, claim).await, render)
}

/// Orders, newest first, filtered by status, table and business date.
#[utoipa::path(
    tag = "orders",
    params(ListOrdersQuery),
    responses((status = 200, description = "Orders with their items and totals", body = Vec<OrderView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_orders")))
)]
#[get("/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> Result<web::Json<Vec<OrderView>>, ApiError> {
    auth.require(Action::ViewOrders)?;
    let query: ListOrdersQuery = parse_query(req.query_string())?;
    let statuses = match query.status.as_deref() {
        None => Vec::new(),
        Some(raw) => raw
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(OrderStatus::parse)
            .collect::<Result<_, _>>()?,
    };
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ValidationError::new("limit", "must be between 1 and 500").into());
    }
    let filter = OrderFilter {
        statuses,
        table_id: query.table_id,
        staff_id: None,
        business_date: query.business_date,
        limit,
    };
    let orders = state
        .orders
        .list_orders(caller(&auth), filter)
        .await
        .map_err(read_error)?;
    let views = orders
        .iter()
        .map(OrderView::of)
        .collect::<Result<_, _>>()
        .map_err(ApiError::internal)?;
    Ok(web::Json(views))
}

/// One order with its items, totals and `version` (also as the `ETag`).
#[utoipa::path(
    tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")),
    responses((status = 200, description = "The order; `ETag` is its version", body = OrderView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_orders")))
)]
#[get("/orders/{order_id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: Path<(OrderId,)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ViewOrders)?;
    let order = state
        .orders
        .get_order(caller(&auth), id.0.0)
        .await
        .map_err(read_error)?;
    let view = OrderView::of(&order).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(order.version)))
        .json(view))
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
    let render = render_order(StatusCode::OK, FieldHints::default());
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(
        state
            .orders
            .set_preparation_notes(caller(&auth), edit, notes, claim)
            .await,
        render,
    )
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
    let render = render_order(StatusCode::OK, hints);
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(
        state.orders.add_items(caller(&auth), edit, items, claim).await,
        render,
    )
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
    let render = render_order(StatusCode::OK, hints);
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(
        state
            .orders
            .update_item(caller(&auth), edit, item_id, update, claim)
            .await,
        render,
    )
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
    let render = render_order(StatusCode::OK, FieldHints::default());
    let claim = claim(&auth, key, &req, b"", &render);
    respond(
        state
            .orders
            .remove_item(caller(&auth), edit, item_id, claim)
            .await,
        render,
    )
}

/// Send every pending item to its station: tickets are queued for the kitchen and bar
/// printers, `sent_to_kitchen_at` / `sent_to_bar_at` set, stock decremented, the KDS told.
/// `Idempotency-Key` is required.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("Idempotency-Key" = String, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body(content = Option<VersionInput>, description = "Optional"),
    responses(
        (status = 200, description = "The order as saved", body = OrderView),
        (status = 409, description = "`nothing_to_send` (an empty order), `stale_version`, `out_of_stock`, `request_in_progress`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("send_order")))
)]
#[post("/orders/{order_id}/send")]
pub async fn send_order(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::SendOrder)?;
    let key = idempotency_key(&req, KeyRule::Required)?;
    let input: VersionInput = body.json_or_default()?;
    let edit = Edit::new(id.0.0, expected_version(&req, input.expected_version)?);
    let render = render_order(StatusCode::OK, FieldHints::default());
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(state.orders.send(caller(&auth), edit, claim).await, render)
}

/// Mark every ready item served.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body(content = Option<VersionInput>, description = "Optional"),
    responses(
        (status = 200, description = "The order as saved", body = OrderView),
        (status = 409, description = "`nothing_to_serve`, `stale_version`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("serve_order")))
)]
#[post("/orders/{order_id}/serve")]
pub async fn serve_order(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ServeOrder)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let input: VersionInput = body.json_or_default()?;
    let edit = Edit::new(id.0.0, expected_version(&req, input.expected_version)?);
    let render = render_order(StatusCode::OK, FieldHints::default());
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(state.orders.serve(caller(&auth), edit, claim).await, render)
}

async fn void_command(
    state: &AppState,
    auth: &Authenticated,
    input: &VoidRequest,
) -> Result<VoidCmd, ApiError> {
    let reason = Note::parse_field("reason", &input.reason)?;
    if reason.as_str().is_empty() {
        return Err(ValidationError::new("reason", "must not be empty").into());
    }
    let approval = match input.approval.clone() {
        Some(approval) => Some(verify_approval(state, auth, approval).await?),
        None => None,
    };
    Ok(VoidCmd { reason, approval })
}

/// Void the whole order before it is paid or closed. Once anything was sent, a manager
/// must do it or approve it (`approval`); the audit log records both people.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body = VoidRequest,
    responses(
        (status = 200, description = "The order, voided", body = OrderView),
        (status = 403, description = "`approval_required`, `approver_not_allowed`, `invalid_approval`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 409, description = "`order_finished`, `has_payments`, `stale_version`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 429, description = "`account_locked`: too many wrong approver credentials", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_unsent_items")))
)]
#[post("/orders/{order_id}/void")]
pub async fn void_order(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditUnsentItems)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let input: VoidRequest = body.json()?;
    let edit = Edit::new(id.0.0, expected_version(&req, input.expected_version)?);
    let void = void_command(&state, &auth, &input).await?;
    let render = render_order(StatusCode::OK, FieldHints::default());
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(
        state.orders.void_order(caller(&auth), edit, void, claim).await,
        render,
    )
}

/// Void one item. A pending item needs nothing more; a sent one needs a manager (acting or
/// approving); its stock comes back and its station drops it.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("item_id" = uuid::Uuid, Path, description = "The item"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body = VoidRequest,
    responses(
        (status = 200, description = "The order as saved", body = OrderView),
        (status = 403, description = "`approval_required`, `approver_not_allowed`, `invalid_approval`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 409, description = "`order_finished`, `below_paid`, `stale_version`", body = OrderProblem, content_type = "application/problem+json"),
        (status = 429, description = "`account_locked`: too many wrong approver credentials", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_unsent_items")))
)]
#[post("/orders/{order_id}/items/{item_id}/void")]
pub async fn void_item(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    ids: Path<(OrderId, OrderItemId)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::EditUnsentItems)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let input: VoidRequest = body.json()?;
    let (order_id, item_id) = ids.0;
    let edit = Edit::new(order_id, expected_version(&req, input.expected_version)?);
    let void = void_command(&state, &auth, &input).await?;
    let render = render_order(StatusCode::OK, FieldHints::default());
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(
        state
            .orders
            .void_item(caller(&auth), edit, item_id, void, claim)
            .await,
        render,
    )
}

/// End an order that has nothing on it (status `cancelled`).
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body(content = Option<VersionInput>, description = "Optional"),
    responses(
        (status = 200, description = "The order, cancelled", body = OrderView),
        (status = 409, description = "`order_not_empty`, `stale_version`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("cancel_empty_order")))
)]
#[post("/orders/{order_id}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::CancelEmptyOrder)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let input: VersionInput = body.json_or_default()?;
    let edit = Edit::new(id.0.0, expected_version(&req, input.expected_version)?);
    let render = render_order(StatusCode::OK, FieldHints::default());
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(
        state.orders.cancel_empty(caller(&auth), edit, claim).await,
        render,
    )
}

/// Move a dine-in order to another table.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body = MoveRequest,
    responses(
        (status = 200, description = "The order as saved", body = OrderView),
        (status = 409, description = "`same_table`, `order_finished`, `stale_version`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("move_order")))
)]
#[post("/orders/{order_id}/move")]
pub async fn move_order(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::MoveOrder)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let input: MoveRequest = body.json()?;
    let edit = Edit::new(id.0.0, expected_version(&req, input.expected_version)?);
    let render = render_order(StatusCode::OK, FieldHints::default());
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(
        state
            .orders
            .move_to_table(caller(&auth), edit, input.table_id, claim)
            .await,
        render,
    )
}

/// Move every item of another order onto this one; the other order ends `cancelled` with
/// `merged_into` set, and its station items follow under this order's number.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order that receives the items"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "This order's version, as `expected_version`"),
    ),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "This order with the merged items", body = OrderView),
        (status = 409, description = "`merge_not_allowed`, `merge_with_itself`, `stale_version`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("merge_orders")))
)]
#[post("/orders/{order_id}/merge")]
pub async fn merge_orders(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::MergeOrders)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let input: MergeRequest = body.json()?;
    let target = Edit::new(id.0.0, expected_version(&req, input.expected_version)?);
    let source = Edit::new(input.source_order_id, input.source_expected_version);
    let render = render_order(StatusCode::OK, FieldHints::default());
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(
        state.orders.merge(caller(&auth), target, source, claim).await,
        render,
    )
}

/// A station's ticket for the order, rendered again (marked as a reprint) as text or
/// ESC/POS, for 80 mm or 58 mm paper. Items sent to the station and not voided.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("station" = crate::dto::StationSchema, Path, description = "`kitchen` or `bar`"),
        TicketQuery,
    ),
    responses(
        (status = 200, description = "The ticket", content(
            (String = "text/plain; charset=utf-8"),
            (Vec<u8> = "application/octet-stream"),
        )),
        (status = 404, description = "No such order, or nothing of it was sent to the station", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_orders")))
)]
#[get("/orders/{order_id}/tickets/{station}")]
pub async fn reprint_ticket(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    ids: Path<(OrderId, String)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ViewOrders)?;
    let (order_id, station) = ids.into_inner();
    let station = Station::parse(&station).map_err(|e| {
        ApiError::bad_request(
            "invalid_parameter",
            format!("station: {}", e.message),
            Some("station".to_owned()),
        )
    })?;
    let query: TicketQuery = parse_query(req.query_string())?;
    let paper = query.paper.unwrap_or_default();
    let order = state
        .orders
        .get_order(caller(&auth), order_id)
        .await
        .map_err(read_error)?;
    let items: Vec<_> = order
        .items
        .iter()
        .filter(|i| {
            i.station == Some(station) && !matches!(i.status, ItemStatus::Pending | ItemStatus::Voided)
        })
        .collect();
    let Some(first_sent) = items.iter().filter_map(|i| i.sent_at).min() else {
        return Err(ApiError::NotFound(format!(
            "nothing of this order was sent to the {} station",
            station.as_str()
        )));
    };
    let settings = state.settings.get_settings().await?;
    let table = match order.table_id {
        Some(table) => state
            .tables
            .list_tables()
            .await?
            .into_iter()
            .find(|t| t.id == table)
            .map(|t| t.code.as_str().to_owned()),
        None => None,
    };
    let staff_name = state
        .staff
        .get_staff(order.staff_id)
        .await?
        .full_name
        .as_str()
        .to_owned();
    let sent_at = match station {
        Station::Kitchen => order.sent_to_kitchen_at,
        Station::Bar => order.sent_to_bar_at,
    }
    .unwrap_or(first_sent);
    let local = sent_at.naive_utc();
    let ticket = TicketData {
        cafe_name: settings.cafe_name.clone(),
        station,
        order_number: order.number,
        order_type: match order.order_type {
            OrderType::DineIn => "Dine-in".to_owned(),
            OrderType::Takeaway => "Takeaway".to_owned(),
        },
        table,
        staff_name,
        sent_at: local
            .checked_add_signed(TimeDelta::minutes(i64::from(settings.utc_offset_minutes)))
            .unwrap_or(local),
        items: items
            .iter()
            .map(|i| TicketLine {
                quantity: i.quantity.get(),
                name: i.name.as_str().to_owned(),
                modifiers: i.modifiers.iter().map(|m| m.name.as_str().to_owned()).collect(),
                notes: i.notes.as_ref().map(|n| n.as_str().to_owned()),
                seat: i.seat.map(|s| i32::from(s.get())),
                course: i.course.map(|c| i32::from(c.get())),
            })
            .collect(),
        preparation_notes: order.preparation_notes.as_ref().map(|n| n.as_str().to_owned()),
        reprint: true,
    };
    Ok(match query.format.unwrap_or_default() {
        TicketFormat::Text => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(render_ticket_text(&ticket, paper)),
        TicketFormat::Escpos => HttpResponse::Ok()
            .content_type("application/octet-stream")
            .body(render_ticket_escpos(&ticket, paper)),
    })
}
