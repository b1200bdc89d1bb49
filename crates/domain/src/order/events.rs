//! The events the order use cases append, in one place: their types, topics and payloads.
//!
//! | type | topic | station | payload |
//! |---|---|---|---|
//! | `order.created` | `orders` | – | [`OrderPayload`] |
//! | `order.updated` | `orders` | – | [`OrderUpdatedPayload`] |
//! | `order.sent` | `kds` | the ticket's | [`TicketPayload`] (one per station per send) |
//! | `item.status_changed` | `kds` | the item's | [`ItemStatusPayload`] (items with a station) |
//! | `order.merged` | `kds` | the items' | [`TicketMovedPayload`] (station items moved to another order) |
//! | `order.ready` | `orders` | – | [`OrderPayload`] |
//! | `order.voided` | `orders` | – | [`OrderVoidedPayload`] |
//! | `order.closed` | `orders` | – | [`OrderClosedPayload`] (closed, cancelled or merged away) |
//! | `table.updated` | `tables` | – | [`TablePayload`] |
//! | `print_job.queued` | `print` | – | [`PrintJobQueuedPayload`] |
//! | `menu.updated` | `menu` | – | [`MenuUpdatedPayload`] |
//!
//! A KDS follows topic `kds` filtered by its station and never sees money. Payload money is
//! integer minor units with the currency code alongside, like the API.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::event::NewEvent;
use crate::ids::{OrderId, OrderItemId, PrintJobId, ProductId, StaffId, TableId};
use crate::money::Currency;
use crate::order::ports::StockLevel;
use crate::order::{ItemStatus, Order, OrderItem, OrderStatus, OrderType, VoidRecord};
use crate::print_job::{NewPrintJob, PrintJobKind};
use crate::staff::Station;
use crate::totals::TotalsError;

/// Event types.
pub mod types {
    pub const ORDER_CREATED: &str = "order.created";
    pub const ORDER_UPDATED: &str = "order.updated";
    pub const ORDER_SENT: &str = "order.sent";
    pub const ITEM_STATUS_CHANGED: &str = "item.status_changed";
    pub const ORDER_MERGED: &str = "order.merged";
    pub const ORDER_READY: &str = "order.ready";
    pub const ORDER_VOIDED: &str = "order.voided";
    pub const ORDER_CLOSED: &str = "order.closed";
    pub const TABLE_UPDATED: &str = "table.updated";
    pub const PRINT_JOB_QUEUED: &str = "print_job.queued";
    pub const MENU_UPDATED: &str = "menu.updated";
}

/// Stream topics.
pub mod topics {
    pub const ORDERS: &str = "orders";
    pub const KDS: &str = "kds";
    pub const TABLES: &str = "tables";
    pub const PRINT: &str = "print";
    pub const MENU: &str = "menu";
}

/// The head of every order event: enough for a list row to update itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPayload {
    pub order_id: OrderId,
    pub number: i32,
    pub business_date: NaiveDate,
    pub order_type: OrderType,
    pub table_id: Option<TableId>,
    pub status: OrderStatus,
    pub version: i32,
    pub currency: Currency,
    pub total: i64,
    pub balance: i64,
    /// Items not voided.
    pub item_count: u32,
}

impl OrderPayload {
    pub fn of(order: &Order) -> Result<Self, TotalsError> {
        let totals = order.totals()?;
        Ok(Self {
            order_id: order.id,
            number: order.number,
            business_date: order.business_date,
            order_type: order.order_type,
            table_id: order.table_id,
            status: order.status,
            version: order.version,
            currency: order.currency,
            total: totals.total.minor(),
            balance: totals.balance.minor(),
            item_count: u32::try_from(order.live_items().count()).unwrap_or(u32::MAX),
        })
    }
}

/// Why an order changed (`order.updated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateKind {
    ItemsAdded,
    ItemUpdated,
    ItemRemoved,
    PreparationNotesSet,
    Sent,
    Served,
    ItemVoided,
    Moved,
    Merged,
    DiscountSet,
    Refunded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUpdatedPayload {
    #[serde(flatten)]
    pub order: OrderPayload,
    pub change: UpdateKind,
}

/// One line of a KDS ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketItemPayload {
    pub item_id: OrderItemId,
    pub product_id: ProductId,
    pub name: String,
    pub quantity: u16,
    pub modifiers: Vec<String>,
    pub notes: Option<String>,
    pub seat: Option<u8>,
    pub course: Option<u8>,
    pub status: ItemStatus,
    pub sent_at: Option<DateTime<Utc>>,
}

impl TicketItemPayload {
    pub fn of(item: &OrderItem) -> Self {
        Self {
            item_id: item.id,
            product_id: item.product_id,
            name: item.name.as_str().to_owned(),
            quantity: item.quantity.get(),
            modifiers: item
                .modifiers
                .iter()
                .map(|m| m.name.as_str().to_owned())
                .collect(),
            notes: item.notes.as_ref().map(|n| n.as_str().to_owned()),
            seat: item.seat.map(|s| s.get()),
            course: item.course.map(|c| c.get()),
            status: item.status,
            sent_at: item.sent_at,
        }
    }
}

/// `order.sent`: the items one send routed to one station (no money).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketPayload {
    pub order_id: OrderId,
    pub number: i32,
    pub order_type: OrderType,
    pub table_id: Option<TableId>,
    /// The table's code (`T4`) as staff call it.
    pub table: Option<String>,
    pub station: Station,
    pub status: OrderStatus,
    pub version: i32,
    pub sent_at: DateTime<Utc>,
    pub preparation_notes: Option<String>,
    /// The order's first ticket for this station (later ones are new rounds).
    pub first_for_station: bool,
    pub items: Vec<TicketItemPayload>,
}

/// `item.status_changed`: one item moved (bump, recall, serve, void).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemStatusPayload {
    pub order_id: OrderId,
    pub number: i32,
    pub table_id: Option<TableId>,
    pub item_id: OrderItemId,
    pub station: Option<Station>,
    pub status: ItemStatus,
    pub previous: ItemStatus,
    pub order_status: OrderStatus,
    pub version: i32,
}

/// `order.merged` (topic `kds`): items still at a station now belong to another order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketMovedPayload {
    pub order_id: OrderId,
    pub number: i32,
    pub table_id: Option<TableId>,
    pub version: i32,
    pub source_order_id: OrderId,
    pub source_number: i32,
    pub station: Station,
    pub item_ids: Vec<OrderItemId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderVoidedPayload {
    #[serde(flatten)]
    pub order: OrderPayload,
    pub reason: String,
    pub voided_by: StaffId,
    pub approved_by: Option<StaffId>,
}

/// `order.closed`: the order left the floor (`status` says how: closed, cancelled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderClosedPayload {
    #[serde(flatten)]
    pub order: OrderPayload,
    pub merged_into: Option<OrderId>,
}

/// What happened at a table; its live state is re-read from `GET /api/tables`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableChange {
    OrderOpened,
    OrderMovedIn,
    OrderMovedOut,
    OrderMerged,
    OrderEnded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TablePayload {
    pub table_id: TableId,
    pub order_id: OrderId,
    pub change: TableChange,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintJobQueuedPayload {
    pub print_job_id: PrintJobId,
    pub kind: PrintJobKind,
    pub printer: String,
    pub order_id: Option<OrderId>,
}

/// Why the menu changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MenuChange {
    Stock,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuUpdatedPayload {
    pub reason: MenuChange,
    /// New levels of the tracked stocks that changed, by ascending product id.
    pub stock: Vec<StockLevel>,
}

fn to_json<T: Serialize>(payload: &T) -> serde_json::Value {
    // These payloads are plain structs with string keys: serialising cannot fail. Null would
    // show in the round-trip tests below if a field ever made it fail.
    serde_json::to_value(payload).unwrap_or(serde_json::Value::Null)
}

pub fn order_created(order: &Order) -> Result<NewEvent, TotalsError> {
    Ok(NewEvent::new(
        types::ORDER_CREATED,
        topics::ORDERS,
        to_json(&OrderPayload::of(order)?),
    ))
}

pub fn order_updated(order: &Order, change: UpdateKind) -> Result<NewEvent, TotalsError> {
    let payload = OrderUpdatedPayload {
        order: OrderPayload::of(order)?,
        change,
    };
    Ok(NewEvent::new(
        types::ORDER_UPDATED,
        topics::ORDERS,
        to_json(&payload),
    ))
}

pub fn order_ready(order: &Order) -> Result<NewEvent, TotalsError> {
    Ok(NewEvent::new(
        types::ORDER_READY,
        topics::ORDERS,
        to_json(&OrderPayload::of(order)?),
    ))
}

pub fn order_voided(order: &Order, record: &VoidRecord) -> Result<NewEvent, TotalsError> {
    let payload = OrderVoidedPayload {
        order: OrderPayload::of(order)?,
        reason: record.reason.as_str().to_owned(),
        voided_by: record.by,
        approved_by: record.approved_by,
    };
    Ok(NewEvent::new(
        types::ORDER_VOIDED,
        topics::ORDERS,
        to_json(&payload),
    ))
}

pub fn order_closed(order: &Order) -> Result<NewEvent, TotalsError> {
    let payload = OrderClosedPayload {
        order: OrderPayload::of(order)?,
        merged_into: order.merged_into,
    };
    Ok(NewEvent::new(
        types::ORDER_CLOSED,
        topics::ORDERS,
        to_json(&payload),
    ))
}

/// `order.sent` for one station: `items` are the ticket's items, in order.
pub fn order_sent(
    order: &Order,
    station: Station,
    items: &[&OrderItem],
    first_for_station: bool,
    table_code: Option<&str>,
    sent_at: DateTime<Utc>,
) -> NewEvent {
    let payload = TicketPayload {
        order_id: order.id,
        number: order.number,
        order_type: order.order_type,
        table_id: order.table_id,
        table: table_code.map(str::to_owned),
        station,
        status: order.status,
        version: order.version,
        sent_at,
        preparation_notes: order.preparation_notes.as_ref().map(|n| n.as_str().to_owned()),
        first_for_station,
        items: items.iter().map(|i| TicketItemPayload::of(i)).collect(),
    };
    NewEvent::new(types::ORDER_SENT, topics::KDS, to_json(&payload)).for_station(station)
}

/// `item.status_changed` for `item` (as it is now, in `order` as it is now).
pub fn item_status_changed(order: &Order, item: &OrderItem, previous: ItemStatus) -> NewEvent {
    let payload = ItemStatusPayload {
        order_id: order.id,
        number: order.number,
        table_id: order.table_id,
        item_id: item.id,
        station: item.station,
        status: item.status,
        previous,
        order_status: order.status,
        version: order.version,
    };
    let event = NewEvent::new(types::ITEM_STATUS_CHANGED, topics::KDS, to_json(&payload));
    match item.station {
        Some(station) => event.for_station(station),
        None => event,
    }
}

/// `order.merged` for the items of one station that moved from `source` onto `target`.
pub fn order_merged(
    target: &Order,
    source: &Order,
    station: Station,
    item_ids: Vec<OrderItemId>,
) -> NewEvent {
    let payload = TicketMovedPayload {
        order_id: target.id,
        number: target.number,
        table_id: target.table_id,
        version: target.version,
        source_order_id: source.id,
        source_number: source.number,
        station,
        item_ids,
    };
    NewEvent::new(types::ORDER_MERGED, topics::KDS, to_json(&payload)).for_station(station)
}

pub fn table_updated(table_id: TableId, order_id: OrderId, change: TableChange) -> NewEvent {
    let payload = TablePayload {
        table_id,
        order_id,
        change,
    };
    NewEvent::new(types::TABLE_UPDATED, topics::TABLES, to_json(&payload))
}

pub fn print_job_queued(job: &NewPrintJob) -> NewEvent {
    let payload = PrintJobQueuedPayload {
        print_job_id: job.id,
        kind: job.kind,
        printer: job.printer.clone(),
        order_id: job.order_id,
    };
    NewEvent::new(types::PRINT_JOB_QUEUED, topics::PRINT, to_json(&payload))
}

/// The `menu.updated` event a store appends after a unit changed tracked stock; `levels` in
/// ascending product id.
pub fn stock_changed(levels: &[StockLevel]) -> NewEvent {
    let payload = MenuUpdatedPayload {
        reason: MenuChange::Stock,
        stock: levels.to_vec(),
    };
    NewEvent::new(types::MENU_UPDATED, topics::MENU, to_json(&payload))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ids::{ModifierId, ShiftId};
    use crate::money::Money;
    use crate::order::{ItemModifier, NewOrder, NewOrderItem};
    use crate::printing::Paper;
    use crate::settings::Settings;
    use crate::totals::Pricing;
    use crate::validate::{Label, Note, Quantity};
    use chrono::TimeZone;
    use std::num::NonZeroU8;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 15, 9, 0, 0).single().unwrap()
    }

    fn order() -> Order {
        let mut order = Order::new(
            NewOrder {
                number: 12,
                business_date: now().date_naive(),
                order_type: OrderType::DineIn,
                table_id: Some(TableId::new()),
                staff_id: StaffId::new(),
                terminal_id: None,
                shift_id: Some(ShiftId::new()),
                preparation_notes: Some(Note::parse("birthday").unwrap()),
                currency: Currency::Ugx,
                pricing: Pricing::from_settings(&Settings::defaults("Cafe")),
            },
            now(),
        )
        .unwrap();
        order
            .add_item(
                NewOrderItem {
                    product_id: ProductId::new(),
                    name: Label::parse("Rolex").unwrap(),
                    unit_price: Money::new(8_000, Currency::Ugx),
                    quantity: Quantity::parse("quantity", 2).unwrap(),
                    modifiers: vec![ItemModifier {
                        modifier_id: ModifierId::new(),
                        name: Label::parse("extra egg").unwrap(),
                        price: Money::new(1_000, Currency::Ugx),
                    }],
                    notes: Some(Note::parse("no onions").unwrap()),
                    station: Some(Station::Kitchen),
                    seat: NonZeroU8::new(2),
                    course: None,
                },
                now(),
            )
            .unwrap();
        order
    }

    #[test]
    fn order_payloads_carry_the_head_and_money_in_minor_units() {
        let order = order();
        let event = order_created(&order).unwrap();
        assert_eq!(
            (event.event_type.as_str(), event.topic.as_str()),
            ("order.created", "orders")
        );
        assert_eq!(event.station, None);
        assert_eq!(event.payload["total"], 18_000);
        assert_eq!(event.payload["currency"], "UGX");
        assert_eq!(event.payload["status"], "open");
        let back: OrderPayload = serde_json::from_value(event.payload).unwrap();
        assert_eq!(back, OrderPayload::of(&order).unwrap());

        let updated = order_updated(&order, UpdateKind::ItemsAdded).unwrap();
        assert_eq!(updated.payload["change"], "items_added");
        assert_eq!(updated.payload["number"], 12);
        let back: OrderUpdatedPayload = serde_json::from_value(updated.payload).unwrap();
        assert_eq!(back.order.item_count, 1);
    }

    #[test]
    fn tickets_go_to_their_station_without_money() {
        let mut order = order();
        order.send(now()).unwrap();
        let items: Vec<&OrderItem> = order.items.iter().collect();
        let event = order_sent(&order, Station::Kitchen, &items, true, Some("T4"), now());
        assert_eq!(event.event_type, "order.sent");
        assert_eq!(event.topic, "kds");
        assert_eq!(event.station, Some(Station::Kitchen));
        assert!(event.payload.get("total").is_none());
        let ticket: TicketPayload = serde_json::from_value(event.payload).unwrap();
        assert_eq!(ticket.table.as_deref(), Some("T4"));
        assert_eq!(ticket.items[0].modifiers, vec!["extra egg".to_owned()]);
        assert_eq!(ticket.items[0].seat, Some(2));
        assert_eq!(ticket.items[0].status, ItemStatus::Sent);
        assert_eq!(ticket.preparation_notes.as_deref(), Some("birthday"));
    }

    #[test]
    fn item_events_follow_the_items_station() {
        let mut order = order();
        order.send(now()).unwrap();
        let id = order.items[0].id;
        order.bump_item(id, now()).unwrap();
        let event = item_status_changed(&order, &order.items[0], ItemStatus::Sent);
        assert_eq!(event.station, Some(Station::Kitchen));
        let payload: ItemStatusPayload = serde_json::from_value(event.payload).unwrap();
        assert_eq!(
            (payload.previous, payload.status, payload.order_status),
            (ItemStatus::Sent, ItemStatus::Preparing, OrderStatus::Sent)
        );
    }

    #[test]
    fn every_other_builder_round_trips() {
        let order = order();
        let table = TableId::new();
        let t = table_updated(table, order.id, TableChange::OrderMovedIn);
        assert_eq!(
            (t.topic.as_str(), t.payload["change"].as_str()),
            ("tables", Some("order_moved_in"))
        );
        let job = NewPrintJob {
            id: PrintJobId::new(),
            kind: PrintJobKind::BarTicket,
            printer: "bar".into(),
            order_id: Some(order.id),
            shift_id: None,
            paper: Paper::Mm58,
            payload_text: "x".into(),
            payload_escpos: vec![1],
        };
        let p = print_job_queued(&job);
        let back: PrintJobQueuedPayload = serde_json::from_value(p.payload).unwrap();
        assert_eq!((back.print_job_id, back.kind), (job.id, PrintJobKind::BarTicket));
        let level = StockLevel {
            product_id: ProductId::new(),
            stock_qty: 3,
            delta: -2,
        };
        let m = stock_changed(&[level]);
        assert_eq!(
            (m.event_type.as_str(), m.topic.as_str()),
            ("menu.updated", "menu")
        );
        let back: MenuUpdatedPayload = serde_json::from_value(m.payload).unwrap();
        assert_eq!(back.stock, vec![level]);
        let closed = order_closed(&order).unwrap();
        let back: OrderClosedPayload = serde_json::from_value(closed.payload).unwrap();
        assert_eq!(back.merged_into, None);
    }
}
