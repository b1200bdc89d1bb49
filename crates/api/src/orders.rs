//! What the menu, table, order and KDS routes share: the order use cases' type in
//! [`crate::AppState`], the order's JSON shape ([`OrderView`]), the problem a refused
//! transition answers with ([`OrderProblem`]), optimistic-concurrency input (`If-Match` or
//! `expected_version`), and [`respond`], which turns a use case's outcome into HTTP.
//!
//! Mutations render their answer with a `render` function of the unit of work's result
//! ([`RenderInput`]): with an `Idempotency-Key` the store calls it inside the transaction and
//! keeps the bytes with the key; without one, [`respond`] calls it after the fact. Either
//! way the client gets the same bytes for the same result.

use std::num::NonZeroU8;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use pos_domain::idempotency::{IdempotencyKey, StoredResponse};
use pos_domain::ids::{ModifierId, OrderId, OrderItemId, ProductId, ShiftId, StaffId, TableId, TerminalId};
use pos_domain::order::ports::{IdempotencyClaim, RenderInput};
use pos_domain::order::{Caller, OrderPorts, OrderService, OrderServiceConfig, OrderServiceError, Outcome};
use pos_domain::order::{ItemStatus, Order, OrderError, OrderItem, OrderStatus, OrderType, VoidRecord};
use pos_domain::ports::{Clock, EventBus};
use pos_domain::staff::Station;
use pos_domain::totals::TotalsError;
use pos_domain::{Currency, Money};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::dto::StationSchema;
use crate::error::{ApiError, ProblemDetails};
use crate::idempotency::{
    fingerprint, in_progress, internal_error, json_response, key_reused, problem_response,
};

/// The order use cases as the API holds them: over whichever adapter the server picked.
pub type OrderUseCases = OrderService<dyn OrderPorts, SharedClock>;

/// The application clock, shareable with the order use cases.
#[derive(Clone)]
pub struct SharedClock(pub Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

/// Builds the order use cases for [`crate::AppState::orders`].
pub fn order_use_cases(
    store: Arc<dyn OrderPorts>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
    config: OrderServiceConfig,
) -> Arc<OrderUseCases> {
    // Through a publisher: an answer never waits on the bus (a frozen Redis included).
    let bus: Arc<dyn EventBus> = Arc::new(crate::realtime::Publisher::new(bus));
    Arc::new(OrderService::new(store, bus, SharedClock(clock), config))
}

/// Who is calling, for the use cases.
pub fn caller(auth: &Authenticated) -> Caller {
    Caller::new(auth.actor, auth.terminal_id())
}

// ----- enum schemas (the domain's enums serialise as themselves) ---------------------------

/// How an order is served.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = OrderType)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum OrderTypeSchema {
    DineIn,
    Takeaway,
}

/// Where an order is in its lifecycle: `open` → `sent` → `ready` → `served` → `closed`, or
/// `voided` / `cancelled`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = OrderStatus)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum OrderStatusSchema {
    Open,
    Sent,
    Ready,
    Served,
    Closed,
    Voided,
    Cancelled,
}

/// Where an item is: `pending` → `sent` → `preparing` → `ready` → `served`, or `voided`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = ItemStatus)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ItemStatusSchema {
    Pending,
    Held,
    Sent,
    Preparing,
    Ready,
    Served,
    Voided,
}

// ----- the order as JSON ---------------------------------------------------------------------

/// A modifier as chosen on an item (name and price as when ordered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ItemModifierView {
    #[schema(value_type = uuid::Uuid)]
    pub modifier_id: ModifierId,
    pub name: String,
    /// Minor units, per unit of the item.
    pub price: i64,
}

/// Who voided something, why, and who approved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VoidView {
    #[schema(value_type = uuid::Uuid)]
    pub by: StaffId,
    pub reason: String,
    /// The manager who approved it (the actor themselves when their role may void).
    #[schema(value_type = Option<uuid::Uuid>)]
    pub approved_by: Option<StaffId>,
    pub at: DateTime<Utc>,
}

impl From<&VoidRecord> for VoidView {
    fn from(record: &VoidRecord) -> Self {
        Self {
            by: record.by,
            reason: record.reason.as_str().to_owned(),
            approved_by: record.approved_by,
            at: record.at,
        }
    }
}

/// One line of an order. Amounts are minor units of the order's `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrderItemView {
    #[schema(value_type = uuid::Uuid)]
    pub id: OrderItemId,
    #[schema(value_type = uuid::Uuid)]
    pub product_id: ProductId,
    /// The product's name when ordered.
    pub name: String,
    /// The product's price when ordered (the happy-hour price inside the window).
    pub unit_price: i64,
    pub quantity: u16,
    pub modifiers: Vec<ItemModifierView>,
    pub notes: Option<String>,
    #[schema(value_type = Option<StationSchema>)]
    pub station: Option<Station>,
    #[schema(value_type = ItemStatusSchema)]
    pub status: ItemStatus,
    pub seat: Option<u8>,
    pub course: Option<u8>,
    /// (unit price + modifiers) × quantity; 0 for a voided item.
    pub gross: i64,
    /// Item discount plus its share of the order discount.
    pub discount: i64,
    /// What the line costs the customer.
    pub total: i64,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub preparing_at: Option<DateTime<Utc>>,
    pub ready_at: Option<DateTime<Utc>>,
    pub served_at: Option<DateTime<Utc>>,
    pub void: Option<VoidView>,
}

/// An order with its items and totals (computed by the domain; amounts are minor units of
/// `currency`). `version` goes back as `expected_version` (or `If-Match`) on edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrderView {
    #[schema(value_type = uuid::Uuid)]
    pub id: OrderId,
    /// Per business day: #1, #2 …
    pub number: i32,
    pub business_date: NaiveDate,
    #[serde(rename = "type")]
    #[schema(value_type = OrderTypeSchema)]
    pub order_type: OrderType,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub table_id: Option<TableId>,
    /// Who opened it.
    #[schema(value_type = uuid::Uuid)]
    pub staff_id: StaffId,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub terminal_id: Option<TerminalId>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub shift_id: Option<ShiftId>,
    #[schema(value_type = OrderStatusSchema)]
    pub status: OrderStatus,
    pub preparation_notes: Option<String>,
    #[schema(value_type = String, example = "UGX")]
    pub currency: Currency,
    pub subtotal: i64,
    pub discount: i64,
    pub service_charge: i64,
    /// The tax part of the total.
    pub tax: i64,
    pub total: i64,
    pub paid: i64,
    pub balance: i64,
    pub items: Vec<OrderItemView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_to_kitchen_at: Option<DateTime<Utc>>,
    pub sent_to_bar_at: Option<DateTime<Utc>>,
    pub ready_at: Option<DateTime<Utc>>,
    pub served_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub void: Option<VoidView>,
    /// Set on an order merged into another one.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub merged_into: Option<OrderId>,
    pub version: i32,
}

fn small(value: Option<NonZeroU8>) -> Option<u8> {
    value.map(NonZeroU8::get)
}

impl OrderView {
    pub fn of(order: &Order) -> Result<OrderView, TotalsError> {
        let totals = order.totals()?;
        let zero = Money::zero(order.currency);
        let items = order
            .items
            .iter()
            .map(|item: &OrderItem| {
                let line = totals.lines.iter().find(|l| l.item_id == item.id);
                OrderItemView {
                    id: item.id,
                    product_id: item.product_id,
                    name: item.name.as_str().to_owned(),
                    unit_price: item.unit_price.minor(),
                    quantity: item.quantity.get(),
                    modifiers: item
                        .modifiers
                        .iter()
                        .map(|m| ItemModifierView {
                            modifier_id: m.modifier_id,
                            name: m.name.as_str().to_owned(),
                            price: m.price.minor(),
                        })
                        .collect(),
                    notes: item.notes.as_ref().map(|n| n.as_str().to_owned()),
                    station: item.station,
                    status: item.status,
                    seat: small(item.seat),
                    course: small(item.course),
                    gross: line.map_or(zero, |l| l.gross).minor(),
                    discount: line.map_or(zero, |l| l.discount).minor(),
                    total: line.map_or(zero, |l| l.total).minor(),
                    created_at: item.created_at,
                    sent_at: item.sent_at,
                    preparing_at: item.preparing_at,
                    ready_at: item.ready_at,
                    served_at: item.served_at,
                    void: item.void.as_ref().map(VoidView::from),
                }
            })
            .collect();
        Ok(OrderView {
            id: order.id,
            number: order.number,
            business_date: order.business_date,
            order_type: order.order_type,
            table_id: order.table_id,
            staff_id: order.staff_id,
            terminal_id: order.terminal_id,
            shift_id: order.shift_id,
            status: order.status,
            preparation_notes: order.preparation_notes.as_ref().map(|n| n.as_str().to_owned()),
            currency: order.currency,
            subtotal: totals.subtotal.minor(),
            discount: totals.discount.minor(),
            service_charge: totals.service_charge.minor(),
            tax: totals.tax.minor(),
            total: totals.total.minor(),
            paid: totals.paid.minor(),
            balance: totals.balance.minor(),
            items,
            created_at: order.created_at,
            updated_at: order.updated_at,
            sent_to_kitchen_at: order.sent_to_kitchen_at,
            sent_to_bar_at: order.sent_to_bar_at,
            ready_at: order.ready_at,
            served_at: order.served_at,
            closed_at: order.closed_at,
            void: order.void.as_ref().map(VoidView::from),
            merged_into: order.merged_into,
            version: order.version,
        })
    }
}

/// A refused order transition: the problem, plus the order as it is now when the refusal
/// is about its state (a stale `expected_version` shows what changed meanwhile).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderProblem {
    #[serde(flatten)]
    pub problem: ProblemDetails,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<OrderView>,
}

// ----- refusals ------------------------------------------------------------------------------

/// Which request fields a refusal can point at: the products of the items a request added,
/// in request order, and the name of the items field.
#[derive(Debug, Clone, Default)]
pub struct FieldHints {
    pub item_products: Vec<ProductId>,
    /// The modifiers each of those items asked for.
    pub item_modifiers: Vec<Vec<ModifierId>>,
    /// `items` for a create or add; `None` for an item update, whose modifiers are `modifiers`.
    pub items_field: Option<&'static str>,
}

impl FieldHints {
    pub fn items(products: Vec<ProductId>, modifiers: Vec<Vec<ModifierId>>) -> Self {
        Self {
            item_products: products,
            item_modifiers: modifiers,
            items_field: Some("items"),
        }
    }

    fn product(&self, product: ProductId) -> Option<String> {
        let field = self.items_field?;
        let index = self.item_products.iter().position(|p| *p == product)?;
        Some(format!("{field}[{index}].product_id"))
    }

    fn modifiers(&self, modifier: ModifierId) -> String {
        let index = self.item_modifiers.iter().position(|m| m.contains(&modifier));
        match (self.items_field, index) {
            (Some(field), Some(index)) => format!("{field}[{index}].modifiers"),
            (Some(field), None) => field.to_owned(),
            (None, _) => "modifiers".to_owned(),
        }
    }
}

/// The status a refused transition answers with: a rule the request broke is 422, a state
/// that forbids it 409, a missing approval 403, an unknown item 404.
pub fn refusal_status(error: &OrderError) -> StatusCode {
    match error {
        OrderError::Approval(_) => StatusCode::FORBIDDEN,
        OrderError::ItemNotFound(_) => StatusCode::NOT_FOUND,
        OrderError::ReasonRequired
        | OrderError::TableRequired
        | OrderError::TakeawayHasNoTable
        | OrderError::UnknownModifier(_)
        | OrderError::DuplicateModifier(_)
        | OrderError::ProductUnavailable(_)
        | OrderError::InvalidNumber
        | OrderError::Totals(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::CONFLICT,
    }
}

fn refusal_field(error: &OrderError, hints: &FieldHints) -> Option<String> {
    match error {
        OrderError::ReasonRequired => Some("reason".to_owned()),
        OrderError::TableRequired | OrderError::TakeawayHasNoTable | OrderError::SameTable => {
            Some("table_id".to_owned())
        }
        OrderError::ProductUnavailable(product) => hints.product(*product),
        OrderError::OutOfStock { product, .. } => hints.product(*product),
        OrderError::UnknownModifier(modifier) | OrderError::DuplicateModifier(modifier) => {
            Some(hints.modifiers(*modifier))
        }
        OrderError::ItemNotFound(_) => Some("item_id".to_owned()),
        OrderError::StaleVersion { .. } => Some("expected_version".to_owned()),
        OrderError::MergeWithItself => Some("source_order_id".to_owned()),
        _ => None,
    }
}

/// The problem body of a refusal, with the current order when there is one.
pub fn render_refusal(error: &OrderError, current: Option<&Order>, hints: &FieldHints) -> StoredResponse {
    let status = refusal_status(error);
    let current = match current.map(OrderView::of).transpose() {
        Ok(current) => current,
        Err(e) => return internal_error(&e),
    };
    let mut problem = ProblemDetails::new(
        status,
        error.code(),
        error.to_string(),
        refusal_field(error, hints),
    );
    problem.request_id = None;
    problem_response(&OrderProblem { problem, current }, status)
}

/// Renders a committed unit as the order (as saved) with `status`, a refusal as its problem.
pub fn render_order(
    status: StatusCode,
    hints: FieldHints,
) -> impl Fn(RenderInput<'_>) -> StoredResponse + Clone + Send + 'static {
    move |input: RenderInput<'_>| match input {
        RenderInput::Committed { order, .. } => match OrderView::of(order) {
            Ok(view) => json_response(status, &view),
            Err(e) => internal_error(&e),
        },
        RenderInput::Refused { error, current } => render_refusal(error, current, &hints),
    }
}

/// The claim to hand a use case when the request carries a key.
pub fn claim<R>(
    auth: &Authenticated,
    key: Option<IdempotencyKey>,
    req: &HttpRequest,
    body: &[u8],
    render: &R,
) -> Option<IdempotencyClaim>
where
    R: Fn(RenderInput<'_>) -> StoredResponse + Clone + Send + 'static,
{
    key.map(|key| IdempotencyClaim::new(auth.actor.id, key, fingerprint(req, body), render.clone()))
}

/// The HTTP answer to a use case's outcome: the stored response when there is one (a replay
/// is marked `Idempotent-Replayed: true`), else the rendered one.
pub fn respond<R>(result: Result<Outcome, OrderServiceError>, render: R) -> Result<HttpResponse, ApiError>
where
    R: Fn(RenderInput<'_>) -> StoredResponse,
{
    use crate::idempotency::respond_with;
    match result {
        Ok(Outcome::Applied(applied)) => {
            if let Some(error) = &applied.publish_error {
                // The events are in the log; subscribers catch up from it.
                tracing::warn!(%error, "events committed but not published");
            }
            let stored = match applied.response {
                Some(stored) => stored,
                None => render(RenderInput::Committed {
                    order: &applied.order,
                    other: applied.other.as_ref(),
                    change: &applied.change,
                }),
            };
            Ok(respond_with(stored, false))
        }
        Ok(Outcome::Replayed(stored)) => Ok(respond_with(stored, true)),
        Err(OrderServiceError::Refused {
            error,
            current,
            response,
        }) => {
            let stored = match response {
                Some(stored) => stored,
                None => render(RenderInput::Refused {
                    error: &error,
                    current: current.as_deref(),
                }),
            };
            Ok(respond_with(stored, false))
        }
        Err(OrderServiceError::Forbidden(e)) => Err(e.into()),
        Err(OrderServiceError::Invalid(e)) => Err(e.into()),
        Err(OrderServiceError::KeyMismatch) => Err(key_reused()),
        Err(OrderServiceError::KeyInProgress) => Err(in_progress()),
        Err(OrderServiceError::Store(e)) => Err(e.into()),
    }
}

/// A read use case's error as HTTP (reads never carry keys).
pub fn read_error(error: OrderServiceError) -> ApiError {
    match error {
        OrderServiceError::Forbidden(e) => e.into(),
        OrderServiceError::Invalid(e) => e.into(),
        // A read refuses only when stored data breaks the domain's rules (totals that
        // overflow): a fault, not the client's.
        OrderServiceError::Refused { error, .. } => ApiError::internal(error),
        OrderServiceError::KeyMismatch => key_reused(),
        OrderServiceError::KeyInProgress => in_progress(),
        OrderServiceError::Store(e) => e.into(),
    }
}

// ----- optimistic concurrency ------------------------------------------------------------------

/// The version the client last read: `expected_version` from the body or `If-Match: "3"`
/// (an ETag as `GET /api/orders/{id}` gives it); `If-Match: *` and neither mean "no check".
/// Both given and different → 400.
pub fn expected_version(req: &HttpRequest, in_body: Option<i32>) -> Result<Option<i32>, ApiError> {
    let header = if_match(req)?;
    match (in_body, header) {
        (Some(body), Some(header)) if body != header => Err(ApiError::bad_request(
            "conflicting_versions",
            format!("expected_version {body} and If-Match {header} disagree"),
            Some("expected_version".to_owned()),
        )),
        (body, header) => Ok(body.or(header)),
    }
}

fn if_match(req: &HttpRequest) -> Result<Option<i32>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::bad_request(
            "invalid_if_match",
            "If-Match: must be the order's version as its ETag gives it, e.g. \"3\"",
            Some("If-Match".to_owned()),
        )
    };
    let raw = value.to_str().map_err(|_| invalid())?;
    if raw == "*" {
        return Ok(None);
    }
    // Exactly `crate::openapi::IF_MATCH_PATTERN`: the ETag (or its bare number), no sign,
    // no leading zero, nothing around it.
    let raw = raw.strip_prefix("W/").unwrap_or(raw);
    let digits = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    let well_formed = (1..=9).contains(&digits.len())
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit());
    if !well_formed {
        return Err(invalid());
    }
    digits.parse::<i32>().ok().map(Some).ok_or_else(invalid)
}

/// `ETag: "<version>"`, what `If-Match` sends back.
pub fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// `{"expected_version": 3}`: the body of routes that need nothing else (all optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionInput {
    /// The order's `version` as last read; a stale one is refused with 409 and the current
    /// order. Omit (or use `If-Match`) as you like.
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::dto::tests::enum_values;
    use actix_web::test::TestRequest;
    use pos_domain::approval::ApprovalError;
    use pos_domain::permissions::Action;

    #[test]
    fn schema_mirrors_list_exactly_the_domain_values() {
        let statuses: Vec<String> = OrderStatus::ALL.iter().map(|s| s.as_str().to_owned()).collect();
        assert_eq!(enum_values::<OrderStatusSchema>(), statuses);
        let items: Vec<String> = ItemStatus::ALL.iter().map(|s| s.as_str().to_owned()).collect();
        assert_eq!(enum_values::<ItemStatusSchema>(), items);
        assert_eq!(
            enum_values::<OrderTypeSchema>(),
            [OrderType::DineIn.as_str(), OrderType::Takeaway.as_str()]
        );
        for status in OrderStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }

    fn version_of(request: TestRequest, body: Option<i32>) -> Result<Option<i32>, String> {
        expected_version(&request.to_http_request(), body).map_err(|e| e.code().to_owned())
    }

    #[test]
    fn versions_come_from_the_body_or_if_match() {
        assert_eq!(version_of(TestRequest::post(), None), Ok(None));
        assert_eq!(version_of(TestRequest::post(), Some(4)), Ok(Some(4)));
        for header in ["\"3\"", "3", "W/\"3\""] {
            let request = TestRequest::post().insert_header(("If-Match", header));
            assert_eq!(version_of(request, None), Ok(Some(3)), "{header}");
        }
        let any = TestRequest::post().insert_header(("If-Match", "*"));
        assert_eq!(version_of(any, None), Ok(None));
        let agreeing = TestRequest::post().insert_header(("If-Match", "\"3\""));
        assert_eq!(version_of(agreeing, Some(3)), Ok(Some(3)));
        let disagreeing = TestRequest::post().insert_header(("If-Match", "\"3\""));
        assert_eq!(
            version_of(disagreeing, Some(2)),
            Err("conflicting_versions".to_owned())
        );
        for bad in ["\"x\"", "0", "-1", "\"\"", "+3", " 3", "\"03\"", "\"3"] {
            let request = TestRequest::post().insert_header(("If-Match", bad));
            assert_eq!(
                version_of(request, None),
                Err("invalid_if_match".to_owned()),
                "{bad}"
            );
        }
        assert_eq!(etag(7), "\"7\"");
    }

    #[test]
    fn refusals_pick_their_status_and_field() {
        let product = ProductId::new();
        let modifier = ModifierId::new();
        let hints = FieldHints::items(vec![ProductId::new(), product], vec![vec![], vec![modifier]]);
        let cases = [
            (
                OrderError::ProductUnavailable(product),
                422,
                Some("items[1].product_id"),
            ),
            (
                OrderError::OutOfStock { product, left: 0 },
                409,
                Some("items[1].product_id"),
            ),
            (OrderError::NothingToSend, 409, None),
            (
                OrderError::UnknownModifier(modifier),
                422,
                Some("items[1].modifiers"),
            ),
            (
                OrderError::StaleVersion {
                    expected: 1,
                    current: 2,
                },
                409,
                Some("expected_version"),
            ),
            (OrderError::ReasonRequired, 422, Some("reason")),
            (OrderError::ItemNotFound(OrderItemId::new()), 404, Some("item_id")),
            (
                OrderError::Approval(ApprovalError::ApprovalRequired {
                    action: Action::VoidSentItems,
                }),
                403,
                None,
            ),
        ];
        for (error, status, field) in cases {
            let stored = render_refusal(&error, None, &hints);
            assert_eq!(stored.status, status, "{error:?}");
            assert_eq!(stored.content_type, "application/problem+json");
            let body: serde_json::Value = serde_json::from_slice(&stored.body).unwrap();
            assert_eq!(body["code"], error.code());
            assert_eq!(body["field"].as_str(), field, "{error:?}");
            assert!(body.get("current").is_none());
            assert!(
                body.get("request_id").is_none(),
                "stored problems carry no request id"
            );
        }
    }
}
