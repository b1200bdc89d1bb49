//! `/api/kds/*`: the kitchen and bar displays. A station's queue with per-item state and
//! age, the counts every station still has to make, and bumps: an item moves sent →
//! preparing → ready, a recall undoes the last bump, a ticket bump readies every item of
//! the station on one order. The order becomes `ready` when its last item is.
//!
//! Kitchen and bar accounts see and bump their own station only. Answers never carry money.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use pos_domain::idempotency::StoredResponse;
use pos_domain::ids::{OrderId, OrderItemId, TableId};
use pos_domain::order::ports::{OrderChange, RenderInput};
use pos_domain::order::views::{KdsHeldItem, KdsItem, KdsQueue, KdsTicket, StationCounts};
use pos_domain::order::{ItemStatus, OrderStatus, OrderType};
use pos_domain::permissions::Action;
use pos_domain::staff::Station;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::dto::StationSchema;
use crate::error::ApiError;
use crate::extract::{Path, parse_query};
use crate::idempotency::{KeyRule, RawBody, idempotency_key, json_response};
use crate::orders::{
    FieldHints, ItemStatusSchema, OrderProblem, OrderStatusSchema, OrderTypeSchema, caller, claim,
    read_error, render_refusal, respond,
};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(kds_tickets)
        .service(kds_counts)
        .service(bump_item)
        .service(recall_item)
        .service(bump_ticket);
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StationQuery {
    #[param(value_type = StationSchema)]
    pub station: Station,
}

/// One line on a KDS screen.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KdsItemView {
    #[schema(value_type = uuid::Uuid)]
    pub item_id: OrderItemId,
    pub name: String,
    pub quantity: u16,
    pub modifiers: Vec<String>,
    pub notes: Option<String>,
    pub seat: Option<u8>,
    pub course: Option<u8>,
    #[schema(value_type = ItemStatusSchema)]
    pub status: ItemStatus,
    pub sent_at: DateTime<Utc>,
    /// Seconds since it was sent.
    pub age_seconds: i64,
}

impl From<&KdsItem> for KdsItemView {
    fn from(item: &KdsItem) -> Self {
        Self {
            item_id: item.item_id,
            name: item.name.clone(),
            quantity: item.quantity,
            modifiers: item.modifiers.clone(),
            notes: item.notes.clone(),
            seat: item.seat,
            course: item.course,
            status: item.status,
            sent_at: item.sent_at,
            age_seconds: item.age_seconds,
        }
    }
}

/// An item of a later course, held until the waiter fires it: not to be made yet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KdsHeldItemView {
    #[schema(value_type = uuid::Uuid)]
    pub item_id: OrderItemId,
    pub name: String,
    pub quantity: u16,
    pub modifiers: Vec<String>,
    pub notes: Option<String>,
    pub seat: Option<u8>,
    pub course: u8,
}

impl From<&KdsHeldItem> for KdsHeldItemView {
    fn from(item: &KdsHeldItem) -> Self {
        Self {
            item_id: item.item_id,
            name: item.name.clone(),
            quantity: item.quantity,
            modifiers: item.modifiers.clone(),
            notes: item.notes.clone(),
            seat: item.seat,
            course: item.course,
        }
    }
}

/// One order's items at one station.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KdsTicketView {
    #[schema(value_type = uuid::Uuid)]
    pub order_id: OrderId,
    pub number: i32,
    pub version: i32,
    #[schema(value_type = OrderTypeSchema)]
    pub order_type: OrderType,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub table_id: Option<TableId>,
    /// The table's code, e.g. `T4`.
    pub table: Option<String>,
    #[schema(value_type = StationSchema)]
    pub station: Station,
    pub preparation_notes: Option<String>,
    /// When its oldest item still shown was sent.
    pub sent_at: DateTime<Utc>,
    pub age_seconds: i64,
    pub items: Vec<KdsItemView>,
    /// Later courses for this station, waiting to be fired.
    pub held: Vec<KdsHeldItemView>,
    /// The whole order is ready for the customer: every item at every station ready (or
    /// served) and no later course held. What a customer board shows as "ready".
    pub order_ready: bool,
}

impl From<&KdsTicket> for KdsTicketView {
    fn from(ticket: &KdsTicket) -> Self {
        Self {
            order_id: ticket.order_id,
            number: ticket.number,
            version: ticket.version,
            order_type: ticket.order_type,
            table_id: ticket.table_id,
            table: ticket.table.clone(),
            station: ticket.station,
            preparation_notes: ticket.preparation_notes.clone(),
            sent_at: ticket.sent_at,
            age_seconds: ticket.age_seconds,
            items: ticket.items.iter().map(KdsItemView::from).collect(),
            held: ticket.held.iter().map(KdsHeldItemView::from).collect(),
            order_ready: ticket.order_ready,
        }
    }
}

/// A station's items by state; `waiting` (sent + preparing) is what it still has to make.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct StationCountsView {
    #[schema(value_type = StationSchema)]
    pub station: Station,
    pub sent: u32,
    pub preparing: u32,
    pub ready: u32,
    pub waiting: u32,
}

impl From<&StationCounts> for StationCountsView {
    fn from(c: &StationCounts) -> Self {
        Self {
            station: c.station,
            sent: c.sent,
            preparing: c.preparing,
            ready: c.ready,
            waiting: c.waiting,
        }
    }
}

/// A station's queue, oldest ticket first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KdsQueueView {
    #[schema(value_type = StationSchema)]
    pub station: Station,
    pub tickets: Vec<KdsTicketView>,
    pub counts: StationCountsView,
    pub thresholds: KdsThresholdsView,
}

/// From the venue's settings: a ticket older than `warning_minutes` shows amber, older than
/// `late_minutes` red.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct KdsThresholdsView {
    pub warning_minutes: i32,
    pub late_minutes: i32,
}

impl From<&KdsQueue> for KdsQueueView {
    fn from(queue: &KdsQueue) -> Self {
        Self {
            station: queue.station,
            tickets: queue.tickets.iter().map(KdsTicketView::from).collect(),
            counts: StationCountsView::from(&queue.counts),
            thresholds: KdsThresholdsView {
                warning_minutes: queue.thresholds.warning_minutes,
                late_minutes: queue.thresholds.late_minutes,
            },
        }
    }
}

/// An item's state after a bump or recall.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct KdsItemState {
    #[schema(value_type = uuid::Uuid)]
    pub item_id: OrderItemId,
    #[schema(value_type = ItemStatusSchema)]
    pub status: ItemStatus,
}

/// What a bump or recall changed: the items and the order's state (ready once every item is).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KdsBumpView {
    #[schema(value_type = uuid::Uuid)]
    pub order_id: OrderId,
    pub number: i32,
    #[schema(value_type = OrderStatusSchema)]
    pub order_status: OrderStatus,
    pub version: i32,
    pub items: Vec<KdsItemState>,
}

fn render_bump() -> impl Fn(RenderInput<'_>) -> StoredResponse + Clone + Send + 'static {
    |input: RenderInput<'_>| match input {
        RenderInput::Committed { order, change, .. } => {
            let changed: Vec<OrderItemId> = match change {
                OrderChange::ItemBumped { item, .. } | OrderChange::ItemRecalled { item, .. } => vec![*item],
                OrderChange::TicketBumped { items, .. } => items.clone(),
                _ => Vec::new(),
            };
            let items = order
                .items
                .iter()
                .filter(|i| changed.contains(&i.id))
                .map(|i| KdsItemState {
                    item_id: i.id,
                    status: i.status,
                })
                .collect();
            json_response(
                StatusCode::OK,
                &KdsBumpView {
                    order_id: order.id,
                    number: order.number,
                    order_status: order.status,
                    version: order.version,
                    items,
                },
            )
        }
        // A KDS never sees money: the refusal comes without the order.
        RenderInput::Refused { error, .. } => render_refusal(error, None, &FieldHints::default()),
    }
}

/// A station's queue: its tickets (orders with items sent, preparing or ready there), each
/// item with its state and age, and the station's counts.
#[utoipa::path(
    tag = "kds",
    params(StationQuery),
    responses((status = 200, description = "The station's queue", body = KdsQueueView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_kds_tickets")))
)]
#[get("/kds/tickets")]
pub async fn kds_tickets(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> Result<web::Json<KdsQueueView>, ApiError> {
    auth.require(Action::ViewKdsTickets)?;
    let query: StationQuery = parse_query(req.query_string())?;
    let queue = state
        .orders
        .kds_queue(caller(&auth), query.station)
        .await
        .map_err(read_error)?;
    Ok(web::Json(KdsQueueView::from(&queue)))
}

/// What each station still has to make (kitchen and bar accounts: their own station).
#[utoipa::path(
    tag = "kds",
    responses((status = 200, description = "Counts per station", body = Vec<StationCountsView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("authenticated")))
)]
#[get("/kds/counts")]
pub async fn kds_counts(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<StationCountsView>>, ApiError> {
    let counts = state
        .orders
        .station_counts(caller(&auth))
        .await
        .map_err(read_error)?;
    Ok(web::Json(counts.iter().map(StationCountsView::from).collect()))
}

/// Bump an item one step: sent → preparing → ready.
#[utoipa::path(
    tag = "kds",
    params(
        ("item_id" = uuid::Uuid, Path, description = "The item"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried bump safe"),
    ),
    responses(
        (status = 200, description = "The item's new state", body = KdsBumpView),
        (status = 409, description = "`invalid_item_transition`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("bump_kds_items")))
)]
#[post("/kds/items/{item_id}/bump")]
pub async fn bump_item(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderItemId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::BumpKdsItems)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let render = render_bump();
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(state.orders.bump_item(caller(&auth), id.0.0, claim).await, render)
}

/// Undo the last bump of an item: ready → preparing → sent.
#[utoipa::path(
    tag = "kds",
    params(
        ("item_id" = uuid::Uuid, Path, description = "The item"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried recall safe"),
    ),
    responses(
        (status = 200, description = "The item's new state", body = KdsBumpView),
        (status = 409, description = "`invalid_item_transition`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("bump_kds_items")))
)]
#[post("/kds/items/{item_id}/recall")]
pub async fn recall_item(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderItemId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::BumpKdsItems)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let render = render_bump();
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(
        state.orders.recall_item(caller(&auth), id.0.0, claim).await,
        render,
    )
}

/// Bump a whole ticket: every item of the station still at it on this order becomes ready.
#[utoipa::path(
    tag = "kds",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        StationQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried bump safe"),
    ),
    responses(
        (status = 200, description = "The items bumped", body = KdsBumpView),
        (status = 409, description = "`nothing_to_bump`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("bump_kds_items")))
)]
#[post("/kds/orders/{order_id}/bump")]
pub async fn bump_ticket(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    id: Path<(OrderId,)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::BumpKdsItems)?;
    let key = idempotency_key(&req, KeyRule::Optional)?;
    let query: StationQuery = parse_query(req.query_string())?;
    let render = render_bump();
    let claim = claim(&auth, key, &req, body.bytes(), &render);
    respond(
        state
            .orders
            .bump_ticket(caller(&auth), id.0.0, query.station, claim)
            .await,
        render,
    )
}
