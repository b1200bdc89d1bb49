//! Rows of `orders`, `order_items` and `print_jobs`, and their mapping to and from the order
//! aggregate. Totals columns are written from the domain's computation, never derived in SQL.

use std::collections::HashMap;
use std::fmt::Display;
use std::num::NonZeroU8;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use pos_domain::ids::{ModifierId, OrderId, OrderItemId, ProductId, ShiftId, StaffId, TableId, TerminalId};
use pos_domain::order::{
    AppliedDiscount, ItemModifier, ItemStatus, Order, OrderItem, OrderStatus, OrderType, VoidRecord,
};
use pos_domain::print_job::NewPrintJob;
use pos_domain::totals::Pricing;
use pos_domain::validate::{Label, Note, Quantity};
use pos_domain::{Currency, Money, StoreError};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::rows::{group_by_key, parse_currency, parse_station};
use crate::schema::{order_items, orders, print_jobs};

/// A stored value the domain refuses: the row was written behind the application's back.
fn corrupt(column: &str, error: impl Display) -> StoreError {
    StoreError::Internal(format!("stored {column} is invalid: {error}"))
}

/// A value the domain handed over that the schema cannot hold.
fn unstorable(what: &str, error: impl Display) -> StoreError {
    StoreError::Internal(format!("cannot store {what}: {error}"))
}

fn parse_note(column: &str, raw: Option<String>) -> Result<Option<Note>, StoreError> {
    raw.map(|n| Note::parse(&n).map_err(|e| corrupt(column, e)))
        .transpose()
}

fn parse_small(column: &str, raw: Option<i32>) -> Result<Option<NonZeroU8>, StoreError> {
    raw.map(|n| {
        u8::try_from(n)
            .ok()
            .and_then(NonZeroU8::new)
            .ok_or_else(|| corrupt(column, format!("{n} is not within 1..=255")))
    })
    .transpose()
}

fn discount_json(discount: Option<&AppliedDiscount>) -> Result<Option<Value>, StoreError> {
    discount
        .map(|d| serde_json::to_value(d).map_err(|e| unstorable("a discount", e)))
        .transpose()
}

fn parse_discount(column: &str, raw: Option<Value>) -> Result<Option<AppliedDiscount>, StoreError> {
    raw.map(|v| serde_json::from_value(v).map_err(|e| corrupt(column, e)))
        .transpose()
}

/// The void columns (`voided_at`, `void_reason`, `voided_by`, `void_approved_by`) as a record.
fn parse_void(
    column: &str,
    at: Option<DateTime<Utc>>,
    reason: Option<String>,
    by: Option<Uuid>,
    approved_by: Option<Uuid>,
) -> Result<Option<VoidRecord>, StoreError> {
    let Some(at) = at else {
        return Ok(None);
    };
    let (Some(reason), Some(by)) = (reason, by) else {
        return Err(corrupt(column, "voided without a reason or a person"));
    };
    Ok(Some(VoidRecord {
        by: StaffId::from_uuid(by),
        reason: Note::parse(&reason).map_err(|e| corrupt(column, e))?,
        approved_by: approved_by.map(StaffId::from_uuid),
        at,
    }))
}

/// `order_items.modifiers`: `[{"modifier_id", "name", "price"}]`, prices per unit in minor
/// units of the order's currency (the schema's documented shape, readable by plain SQL).
fn modifiers_json(modifiers: &[ItemModifier]) -> Value {
    Value::Array(
        modifiers
            .iter()
            .map(|m| {
                json!({
                    "modifier_id": m.modifier_id,
                    "name": m.name.as_str(),
                    "price": m.price.minor(),
                })
            })
            .collect(),
    )
}

fn parse_modifiers(raw: &Value, currency: Currency) -> Result<Vec<ItemModifier>, StoreError> {
    const COLUMN: &str = "order_items.modifiers";
    let Value::Array(entries) = raw else {
        return Err(corrupt(COLUMN, "not an array"));
    };
    entries
        .iter()
        .map(|entry| {
            let id = entry
                .get("modifier_id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| corrupt(COLUMN, "modifier_id is not a uuid"))?;
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| corrupt(COLUMN, "name is missing"))?;
            let price = entry
                .get("price")
                .and_then(Value::as_i64)
                .ok_or_else(|| corrupt(COLUMN, "price is not an integer"))?;
            Ok(ItemModifier {
                modifier_id: ModifierId::from_uuid(id),
                name: Label::parse(name).map_err(|e| corrupt(COLUMN, e))?,
                price: Money::new(price, currency),
            })
        })
        .collect()
}

/// Serialises with its column names, for the grouped update (`jsonb_populate_recordset`).
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, Insertable, AsChangeset, serde::Serialize)]
#[diesel(table_name = orders, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub(crate) struct OrderRow {
    pub id: Uuid,
    pub business_date: NaiveDate,
    pub number: i32,
    pub order_type: String,
    pub table_id: Option<Uuid>,
    pub staff_id: Uuid,
    pub terminal_id: Option<Uuid>,
    pub shift_id: Option<Uuid>,
    pub status: String,
    pub preparation_notes: Option<String>,
    pub currency: String,
    pub pricing: Value,
    pub applied_discount: Option<Value>,
    pub subtotal: i64,
    pub discount: i64,
    pub service_charge: i64,
    pub tax: i64,
    pub total: i64,
    pub paid: i64,
    pub version: i32,
    pub merged_into_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_to_kitchen_at: Option<DateTime<Utc>>,
    pub sent_to_bar_at: Option<DateTime<Utc>>,
    pub ready_at: Option<DateTime<Utc>>,
    pub served_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub void_reason: Option<String>,
    pub voided_by: Option<Uuid>,
    pub void_approved_by: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = order_items, check_for_backend(diesel::pg::Pg))]
pub(crate) struct OrderItemRow {
    pub id: Uuid,
    pub order_id: Uuid,
    pub product_id: Uuid,
    pub name: String,
    pub unit_price: i64,
    pub quantity: i32,
    pub modifiers: Value,
    pub modifiers_total: i64,
    pub applied_discount: Option<Value>,
    pub line_total: i64,
    pub notes: Option<String>,
    pub station: Option<String>,
    pub status: String,
    pub seat: Option<i32>,
    pub course: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub preparing_at: Option<DateTime<Utc>>,
    pub ready_at: Option<DateTime<Utc>>,
    pub served_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub void_reason: Option<String>,
    pub voided_by: Option<Uuid>,
    pub void_approved_by: Option<Uuid>,
}

/// The rows saving `order` writes: the order and every one of its items, totals from the
/// domain's computation (voided items, outside the totals, carry a line total of 0;
/// `modifiers_total` is the per-unit sum of the modifiers' prices).
pub(crate) fn order_to_rows(order: &Order) -> Result<(OrderRow, Vec<OrderItemRow>), StoreError> {
    let totals = order.totals().map_err(|e| unstorable("the order's totals", e))?;
    let line_totals: HashMap<OrderItemId, i64> = totals
        .lines
        .iter()
        .map(|line| (line.item_id, line.total.minor()))
        .collect();
    let items = order
        .items
        .iter()
        .map(|item| item_to_row(order.id, item, line_totals.get(&item.id).copied().unwrap_or(0)))
        .collect::<Result<Vec<_>, _>>()?;
    let void = order.void.as_ref();
    let row = OrderRow {
        id: order.id.as_uuid(),
        business_date: order.business_date,
        number: order.number,
        order_type: order.order_type.as_str().to_owned(),
        table_id: order.table_id.map(|t| t.as_uuid()),
        staff_id: order.staff_id.as_uuid(),
        terminal_id: order.terminal_id.map(|t| t.as_uuid()),
        shift_id: order.shift_id.map(|s| s.as_uuid()),
        status: order.status.as_str().to_owned(),
        preparation_notes: order.preparation_notes.as_ref().map(|n| n.as_str().to_owned()),
        currency: order.currency.code().to_owned(),
        pricing: serde_json::to_value(order.pricing).map_err(|e| unstorable("the pricing", e))?,
        applied_discount: discount_json(order.discount.as_ref())?,
        subtotal: totals.subtotal.minor(),
        discount: totals.discount.minor(),
        service_charge: totals.service_charge.minor(),
        tax: totals.tax.minor(),
        total: totals.total.minor(),
        paid: order.paid.minor(),
        version: order.version,
        merged_into_id: order.merged_into.map(|o| o.as_uuid()),
        created_at: order.created_at,
        updated_at: order.updated_at,
        sent_to_kitchen_at: order.sent_to_kitchen_at,
        sent_to_bar_at: order.sent_to_bar_at,
        ready_at: order.ready_at,
        served_at: order.served_at,
        closed_at: order.closed_at,
        voided_at: void.map(|v| v.at),
        void_reason: void.map(|v| v.reason.as_str().to_owned()),
        voided_by: void.map(|v| v.by.as_uuid()),
        void_approved_by: void.and_then(|v| v.approved_by.map(|a| a.as_uuid())),
    };
    Ok((row, items))
}

fn item_to_row(order_id: OrderId, item: &OrderItem, line_total: i64) -> Result<OrderItemRow, StoreError> {
    let modifiers_total = item
        .modifiers_price()
        .map_err(|e| unstorable("an item's modifiers", e))?
        .minor();
    let void = item.void.as_ref();
    Ok(OrderItemRow {
        id: item.id.as_uuid(),
        order_id: order_id.as_uuid(),
        product_id: item.product_id.as_uuid(),
        name: item.name.as_str().to_owned(),
        unit_price: item.unit_price.minor(),
        quantity: i32::from(item.quantity.get()),
        modifiers: modifiers_json(&item.modifiers),
        modifiers_total,
        applied_discount: discount_json(item.discount.as_ref())?,
        line_total,
        notes: item.notes.as_ref().map(|n| n.as_str().to_owned()),
        station: item.station.map(|s| s.as_str().to_owned()),
        status: item.status.as_str().to_owned(),
        seat: item.seat.map(|s| i32::from(s.get())),
        course: item.course.map(|c| i32::from(c.get())),
        created_at: item.created_at,
        sent_at: item.sent_at,
        preparing_at: item.preparing_at,
        ready_at: item.ready_at,
        served_at: item.served_at,
        voided_at: void.map(|v| v.at),
        void_reason: void.map(|v| v.reason.as_str().to_owned()),
        voided_by: void.map(|v| v.by.as_uuid()),
        void_approved_by: void.and_then(|v| v.approved_by.map(|a| a.as_uuid())),
    })
}

impl OrderItemRow {
    fn into_item(self, currency: Currency) -> Result<OrderItem, StoreError> {
        Ok(OrderItem {
            id: OrderItemId::from_uuid(self.id),
            product_id: ProductId::from_uuid(self.product_id),
            name: Label::parse(&self.name).map_err(|e| corrupt("order_items.name", e))?,
            unit_price: Money::new(self.unit_price, currency),
            quantity: Quantity::parse("quantity", i64::from(self.quantity))
                .map_err(|e| corrupt("order_items.quantity", e))?,
            modifiers: parse_modifiers(&self.modifiers, currency)?,
            notes: parse_note("order_items.notes", self.notes)?,
            station: parse_station("order_items.station", self.station.as_deref())?,
            status: ItemStatus::parse(&self.status).map_err(|e| corrupt("order_items.status", e))?,
            seat: parse_small("order_items.seat", self.seat)?,
            course: parse_small("order_items.course", self.course)?,
            discount: parse_discount("order_items.applied_discount", self.applied_discount)?,
            created_at: self.created_at,
            sent_at: self.sent_at,
            preparing_at: self.preparing_at,
            ready_at: self.ready_at,
            served_at: self.served_at,
            void: parse_void(
                "order_items.void",
                self.voided_at,
                self.void_reason,
                self.voided_by,
                self.void_approved_by,
            )?,
        })
    }
}

impl OrderRow {
    /// The aggregate from its row and its item rows (already in `created_at, id` order).
    pub(crate) fn into_order(self, items: Vec<OrderItemRow>) -> Result<Order, StoreError> {
        let currency = parse_currency("orders.currency", &self.currency)?;
        let pricing: Pricing =
            serde_json::from_value(self.pricing).map_err(|e| corrupt("orders.pricing", e))?;
        Ok(Order {
            id: OrderId::from_uuid(self.id),
            number: self.number,
            business_date: self.business_date,
            order_type: OrderType::parse(&self.order_type).map_err(|e| corrupt("orders.order_type", e))?,
            table_id: self.table_id.map(TableId::from_uuid),
            staff_id: StaffId::from_uuid(self.staff_id),
            terminal_id: self.terminal_id.map(TerminalId::from_uuid),
            shift_id: self.shift_id.map(ShiftId::from_uuid),
            status: OrderStatus::parse(&self.status).map_err(|e| corrupt("orders.status", e))?,
            preparation_notes: parse_note("orders.preparation_notes", self.preparation_notes)?,
            items: items
                .into_iter()
                .map(|item| item.into_item(currency))
                .collect::<Result<Vec<_>, _>>()?,
            currency,
            pricing,
            discount: parse_discount("orders.applied_discount", self.applied_discount)?,
            paid: Money::new(self.paid, currency),
            created_at: self.created_at,
            updated_at: self.updated_at,
            sent_to_kitchen_at: self.sent_to_kitchen_at,
            sent_to_bar_at: self.sent_to_bar_at,
            ready_at: self.ready_at,
            served_at: self.served_at,
            closed_at: self.closed_at,
            void: parse_void(
                "orders.void",
                self.voided_at,
                self.void_reason,
                self.voided_by,
                self.void_approved_by,
            )?,
            merged_into: self.merged_into_id.map(OrderId::from_uuid),
            version: self.version,
            // Loaded apart where they matter (a unit of work, `get_order`).
            pending_online: Vec::new(),
        })
    }
}

/// Assembles orders from their rows and all their items (any order of items; each order's
/// items keep the order they come in, so load them sorted by `created_at, id`).
pub(crate) fn assemble(orders: Vec<OrderRow>, items: Vec<OrderItemRow>) -> Result<Vec<Order>, StoreError> {
    let mut by_order = group_by_key(items.into_iter().map(|item| (item.order_id, item)));
    orders
        .into_iter()
        .map(|row| {
            let items = by_order.remove(&row.id).unwrap_or_default();
            row.into_order(items)
        })
        .collect()
}

#[derive(Debug, Insertable)]
#[diesel(table_name = print_jobs)]
pub(crate) struct NewPrintJobRow<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub printer: &'a str,
    pub order_id: Option<Uuid>,
    pub shift_id: Option<Uuid>,
    pub paper: &'a str,
    pub payload_text: &'a str,
    pub payload_escpos: &'a [u8],
}

impl<'a> NewPrintJobRow<'a> {
    pub fn from_domain(job: &'a NewPrintJob) -> Self {
        NewPrintJobRow {
            id: job.id.as_uuid(),
            kind: job.kind.as_str(),
            printer: &job.printer,
            order_id: job.order_id.map(|o| o.as_uuid()),
            shift_id: job.shift_id.map(|s| s.as_uuid()),
            paper: job.paper.as_str(),
            payload_text: &job.payload_text,
            payload_escpos: &job.payload_escpos,
        }
    }
}
