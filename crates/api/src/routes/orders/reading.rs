//! Reading orders: the list, one order (with its `ETag`), ticket reprints.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::TimeDelta;
use pos_domain::ids::OrderId;
use pos_domain::order::ports::OrderFilter;
use pos_domain::order::{ItemStatus, OrderStatus, OrderType};
use pos_domain::permissions::Action;
use pos_domain::printing::{TicketData, TicketLine, render_ticket_escpos, render_ticket_text};
use pos_domain::staff::Station;
use pos_domain::validate::ValidationError;

use super::requests::*;
use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::{Path, parse_query};
use crate::orders::{OrderView, caller, etag, read_error};
use crate::state::AppState;

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
