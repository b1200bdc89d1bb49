//! An order after it is taken: send, serve, void (whole or one item), cancel, move, merge.

use std::num::NonZeroU8;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use pos_domain::ids::{OrderId, OrderItemId};
use pos_domain::order::{Edit, VoidCmd};
use pos_domain::permissions::Action;
use pos_domain::validate::{Note, ValidationError};

use super::requests::*;
use super::save;
use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::Path;
use crate::idempotency::{KeyRule, RawBody, idempotency_key};
use crate::orders::{FieldHints, OrderProblem, OrderView, VersionInput, expected_version};
use crate::routes::approval::verify_approval;
use crate::state::AppState;

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
    save(
        &auth,
        &req,
        key,
        body.bytes(),
        StatusCode::OK,
        FieldHints::default(),
        |caller, claim| state.orders.send(caller, edit, claim),
    )
    .await
}

/// Fire a held course: the items of course `course` that waited (later courses are held
/// when the order is sent) go to their stations now, with `order.sent` and tickets for
/// them only. `Idempotency-Key` is required.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = uuid::Uuid, Path, description = "The order"),
        ("course" = u8, Path, description = "The course to fire (1–255)"),
        ("Idempotency-Key" = String, Header, description = IDEMPOTENCY_KEY_DOC),
        ("If-Match" = Option<String>, Header, description = "The order's version, as `expected_version`"),
    ),
    request_body(content = Option<VersionInput>, description = "Optional"),
    responses(
        (status = 200, description = "The order as saved", body = OrderView),
        (status = 409, description = "`nothing_to_fire` (no item of that course is held), `stale_version`, `out_of_stock`, `request_in_progress`", body = OrderProblem, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("send_order")))
)]
#[post("/orders/{order_id}/courses/{course}/fire")]
pub async fn fire_course(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    path: Path<(OrderId, String)>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::SendOrder)?;
    // Parsed after the permission check: a caller who may not fire is refused as such first.
    let (order_id, course) = path.0;
    let course = course
        .trim()
        .parse::<NonZeroU8>()
        .map_err(|_| ValidationError::new("course", "must be a whole number between 1 and 255"))?;
    let key = idempotency_key(&req, KeyRule::Required)?;
    let input: VersionInput = body.json_or_default()?;
    let edit = Edit::new(order_id, expected_version(&req, input.expected_version)?);
    save(
        &auth,
        &req,
        key,
        body.bytes(),
        StatusCode::OK,
        FieldHints::default(),
        |caller, claim| state.orders.fire_course(caller, edit, course, claim),
    )
    .await
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
    save(
        &auth,
        &req,
        key,
        body.bytes(),
        StatusCode::OK,
        FieldHints::default(),
        |caller, claim| state.orders.serve(caller, edit, claim),
    )
    .await
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
        (status = 409, description = "`order_finished`, `has_payments`, `online_payment_pending` (a Pesapal payment awaits its provider), `stale_version`", body = OrderProblem, content_type = "application/problem+json"),
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
    save(
        &auth,
        &req,
        key,
        body.bytes(),
        StatusCode::OK,
        FieldHints::default(),
        |caller, claim| state.orders.void_order(caller, edit, void, claim),
    )
    .await
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
        (status = 409, description = "`order_finished`, `below_paid`, `online_payment_pending`, `stale_version`", body = OrderProblem, content_type = "application/problem+json"),
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
    save(
        &auth,
        &req,
        key,
        body.bytes(),
        StatusCode::OK,
        FieldHints::default(),
        |caller, claim| state.orders.void_item(caller, edit, item_id, void, claim),
    )
    .await
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
    save(
        &auth,
        &req,
        key,
        body.bytes(),
        StatusCode::OK,
        FieldHints::default(),
        |caller, claim| state.orders.cancel_empty(caller, edit, claim),
    )
    .await
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
    save(
        &auth,
        &req,
        key,
        body.bytes(),
        StatusCode::OK,
        FieldHints::default(),
        |caller, claim| state.orders.move_to_table(caller, edit, input.table_id, claim),
    )
    .await
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
        (status = 409, description = "`merge_not_allowed`, `merge_with_itself`, `has_payments`, `online_payment_pending`, `stale_version`", body = OrderProblem, content_type = "application/problem+json"),
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
    save(
        &auth,
        &req,
        key,
        body.bytes(),
        StatusCode::OK,
        FieldHints::default(),
        |caller, claim| state.orders.merge(caller, target, source, claim),
    )
    .await
}
