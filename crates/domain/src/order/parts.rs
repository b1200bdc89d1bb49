//! The values an order is made of: its type and status, its items and their status,
//! modifiers, void records, discounts, station tickets, and [`OrderError`].

use std::num::NonZeroU8;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::approval::{Actor, ApprovalError};
use crate::happy_hour::effective_price;
use crate::ids::{ModifierId, OrderItemId, ProductId, ShiftId, StaffId, TableId, TerminalId};
use crate::money::{Currency, Money};
use crate::payment::PaymentError;
use crate::settings::Settings;
use crate::staff::Station;
use crate::totals::{Discount, LineInput, Pricing, TotalsError};
use crate::validate::{Label, Note, Quantity, ValidationError};
use crate::venue::Product;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    DineIn,
    Takeaway,
}

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::DineIn => "dine_in",
            OrderType::Takeaway => "takeaway",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "dine_in" => Ok(OrderType::DineIn),
            "takeaway" => Ok(OrderType::Takeaway),
            _ => Err(ValidationError::new("type", "must be dine_in or takeaway")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Open,
    /// Something is at a station.
    Sent,
    Ready,
    Served,
    Closed,
    Voided,
    /// Ended with nothing on it (or merged into another order).
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Open,
        OrderStatus::Sent,
        OrderStatus::Ready,
        OrderStatus::Served,
        OrderStatus::Closed,
        OrderStatus::Voided,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::Sent => "sent",
            OrderStatus::Ready => "ready",
            OrderStatus::Served => "served",
            OrderStatus::Closed => "closed",
            OrderStatus::Voided => "voided",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        OrderStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| {
                ValidationError::new(
                    "status",
                    "must be one of open, sent, ready, served, closed, voided, cancelled",
                )
            })
    }

    /// Closed, voided or cancelled: nothing changes any more (a refund aside).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            OrderStatus::Closed | OrderStatus::Voided | OrderStatus::Cancelled
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Pending,
    /// Sent with its order but waiting for its course to be fired; not at a station yet
    /// (no stock moved, no timer running).
    Held,
    Sent,
    Preparing,
    Ready,
    Served,
    Voided,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 7] = [
        ItemStatus::Pending,
        ItemStatus::Held,
        ItemStatus::Sent,
        ItemStatus::Preparing,
        ItemStatus::Ready,
        ItemStatus::Served,
        ItemStatus::Voided,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Pending => "pending",
            ItemStatus::Held => "held",
            ItemStatus::Sent => "sent",
            ItemStatus::Preparing => "preparing",
            ItemStatus::Ready => "ready",
            ItemStatus::Served => "served",
            ItemStatus::Voided => "voided",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        ItemStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| {
                ValidationError::new(
                    "status",
                    "must be one of pending, held, sent, preparing, ready, served, voided",
                )
            })
    }

    /// At a station's queue: sent or being prepared.
    pub fn is_at_station(self) -> bool {
        matches!(self, ItemStatus::Sent | ItemStatus::Preparing)
    }

    /// Not yet at a station: still editable without approval, no stock moved.
    pub fn is_unsent(self) -> bool {
        matches!(self, ItemStatus::Pending | ItemStatus::Held)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrderError {
    #[error("order is {}: it can no longer change", .status.as_str())]
    OrderFinished { status: OrderStatus },
    #[error("order has no item {0}")]
    ItemNotFound(OrderItemId),
    #[error("item {item} is {}: only pending items can be changed or removed; void it instead", .status.as_str())]
    ItemNotPending { item: OrderItemId, status: ItemStatus },
    #[error("cannot {action} item {item}: it is {}", .status.as_str())]
    InvalidItemTransition {
        item: OrderItemId,
        status: ItemStatus,
        action: &'static str,
    },
    #[error("no pending items to send")]
    NothingToSend,
    #[error("no items of course {0} are held")]
    NothingToFire(u8),
    #[error("no items are waiting at the {} station", .0.as_str())]
    NothingToBump(Station),
    #[error("no items are ready to serve")]
    NothingToServe,
    #[error("the order has no items: cancel it instead")]
    EmptyOrder,
    #[error("the order still has items: void them or the order instead")]
    NotEmpty,
    #[error("items are still pending or held: send (or fire) or remove them first")]
    ItemsPending,
    #[error("items are still being prepared")]
    ItemsAtStation,
    #[error("balance of {balance} is still due")]
    BalanceDue { balance: Money },
    #[error("{paid} has been paid on this order: refund it first")]
    HasPayments { paid: Money },
    #[error("an online payment of {amount} is still pending on this order: wait until it completes or fails")]
    OnlinePaymentPending { amount: Money },
    #[error("the order would total {total} but {paid} is already paid: refund first")]
    BelowPaid { total: Money, paid: Money },
    #[error("a reason is required")]
    ReasonRequired,
    #[error("a dine-in order needs a table")]
    TableRequired,
    #[error("a takeaway order has no table")]
    TakeawayHasNoTable,
    #[error("the order is already at this table")]
    SameTable,
    #[error("an order cannot be merged with itself")]
    MergeWithItself,
    #[error("only open or sent orders can be merged; this one is {}", .status.as_str())]
    MergeNotAllowed { status: OrderStatus },
    #[error("remove the discount of the order being merged first")]
    MergeDiscounted,
    #[error("order number must be positive")]
    InvalidNumber,
    #[error("product {0} is not available")]
    ProductUnavailable(ProductId),
    #[error("only {left} of product {product} left in stock")]
    OutOfStock { product: ProductId, left: i32 },
    #[error("modifier {0} does not belong to this product or is inactive")]
    UnknownModifier(ModifierId),
    #[error("modifier {0} is chosen twice")]
    DuplicateModifier(ModifierId),
    #[error("order changed since it was read (version {current}, expected {expected})")]
    StaleVersion { expected: i32, current: i32 },
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error(transparent)]
    Payment(#[from] PaymentError),
    #[error(transparent)]
    Totals(#[from] TotalsError),
}

impl OrderError {
    /// Stable machine-readable code for problem bodies.
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::OrderFinished { .. } => "order_finished",
            OrderError::ItemNotFound(_) => "item_not_found",
            OrderError::ItemNotPending { .. } => "item_not_pending",
            OrderError::InvalidItemTransition { .. } => "invalid_item_transition",
            OrderError::NothingToSend => "nothing_to_send",
            OrderError::NothingToFire(_) => "nothing_to_fire",
            OrderError::NothingToBump(_) => "nothing_to_bump",
            OrderError::NothingToServe => "nothing_to_serve",
            OrderError::EmptyOrder => "empty_order",
            OrderError::NotEmpty => "order_not_empty",
            OrderError::ItemsPending => "items_pending",
            OrderError::ItemsAtStation => "items_at_station",
            OrderError::BalanceDue { .. } => "balance_due",
            OrderError::HasPayments { .. } => "has_payments",
            OrderError::BelowPaid { .. } => "below_paid",
            OrderError::OnlinePaymentPending { .. } => "online_payment_pending",
            OrderError::ReasonRequired => "reason_required",
            OrderError::TableRequired => "table_required",
            OrderError::TakeawayHasNoTable => "takeaway_has_no_table",
            OrderError::SameTable => "same_table",
            OrderError::MergeWithItself => "merge_with_itself",
            OrderError::MergeNotAllowed { .. } => "merge_not_allowed",
            OrderError::MergeDiscounted => "merge_discounted",
            OrderError::InvalidNumber => "invalid_number",
            OrderError::ProductUnavailable(_) => "product_unavailable",
            OrderError::OutOfStock { .. } => "out_of_stock",
            OrderError::UnknownModifier(_) => "unknown_modifier",
            OrderError::DuplicateModifier(_) => "duplicate_modifier",
            OrderError::StaleVersion { .. } => "stale_version",
            OrderError::Approval(e) => e.code(),
            OrderError::Payment(e) => e.code(),
            OrderError::Totals(e) => e.code(),
        }
    }
}

/// A modifier as chosen on an item, name and price snapshotted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemModifier {
    pub modifier_id: ModifierId,
    pub name: Label,
    pub price: Money,
}

/// Who voided something, why, and who approved it (set once anything was sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidRecord {
    pub by: StaffId,
    pub reason: Note,
    pub approved_by: Option<StaffId>,
    pub at: DateTime<Utc>,
}

/// A discount as applied: who gave it and who approved it when above the cashier limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedDiscount {
    pub discount: Discount,
    pub reason: Option<Note>,
    pub by: StaffId,
    pub approved_by: Option<StaffId>,
}

/// A request to set (`Some`) or clear (`None`) a discount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountChange {
    pub discount: Option<Discount>,
    pub reason: Option<Note>,
    pub actor: Actor,
    pub approval: Option<Actor>,
    /// `Settings::cashier_discount_limit_bp`: beyond it, approval is needed.
    pub cashier_limit_bp: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    pub id: OrderItemId,
    pub product_id: ProductId,
    /// Product name when ordered.
    pub name: Label,
    /// Product price when ordered (happy-hour price inside the window).
    pub unit_price: Money,
    pub quantity: Quantity,
    pub modifiers: Vec<ItemModifier>,
    pub notes: Option<Note>,
    /// Where it is prepared; `None` goes straight to ready when sent.
    pub station: Option<Station>,
    pub status: ItemStatus,
    pub seat: Option<NonZeroU8>,
    pub course: Option<NonZeroU8>,
    pub discount: Option<AppliedDiscount>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub preparing_at: Option<DateTime<Utc>>,
    pub ready_at: Option<DateTime<Utc>>,
    pub served_at: Option<DateTime<Utc>>,
    pub void: Option<VoidRecord>,
}

impl OrderItem {
    /// The course it is served in; items without one belong to the first.
    pub fn course_number(&self) -> u8 {
        self.course.map_or(1, NonZeroU8::get)
    }

    pub fn is_live(&self) -> bool {
        self.status != ItemStatus::Voided
    }

    /// Sum of the modifiers' prices, per unit.
    pub fn modifiers_price(&self) -> Result<Money, TotalsError> {
        Ok(Money::sum(
            self.unit_price.currency(),
            self.modifiers.iter().map(|m| m.price),
        )?)
    }

    pub(super) fn line_input(&self) -> Result<LineInput, TotalsError> {
        Ok(LineInput {
            item_id: self.id,
            unit_price: self.unit_price,
            modifiers_price: self.modifiers_price()?,
            quantity: self.quantity,
            discount: self.discount.as_ref().map(|d| d.discount),
        })
    }
}

/// What a terminal chose for one line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemChoice {
    pub modifier_ids: Vec<ModifierId>,
    pub notes: Option<Note>,
    pub seat: Option<NonZeroU8>,
    pub course: Option<NonZeroU8>,
}

/// An item about to be added, with its product data snapshotted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrderItem {
    pub product_id: ProductId,
    pub name: Label,
    pub unit_price: Money,
    pub quantity: Quantity,
    pub modifiers: Vec<ItemModifier>,
    pub notes: Option<Note>,
    pub station: Option<Station>,
    pub seat: Option<NonZeroU8>,
    pub course: Option<NonZeroU8>,
}

impl NewOrderItem {
    /// Snapshots `product` at `now` (happy-hour price included), checking it can be ordered:
    /// available and active, enough stock, and modifiers that are its own and active.
    pub fn from_product(
        product: &Product,
        quantity: Quantity,
        choice: ItemChoice,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<Self, OrderError> {
        if !product.available || !product.active {
            return Err(OrderError::ProductUnavailable(product.id));
        }
        match product.stock_qty {
            Some(left) if left < i32::from(quantity.get()) => {
                return Err(OrderError::OutOfStock {
                    product: product.id,
                    left,
                });
            }
            _ => {}
        }
        let modifiers = chosen_modifiers(product, &choice.modifier_ids)?;
        Ok(Self {
            product_id: product.id,
            name: product.name.clone(),
            unit_price: effective_price(product, settings, now),
            quantity,
            modifiers,
            notes: choice.notes,
            station: product.station,
            seat: choice.seat,
            course: choice.course,
        })
    }
}

/// Changes to a pending item; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemChanges {
    pub quantity: Option<Quantity>,
    pub modifiers: Option<Vec<ItemModifier>>,
    pub notes: Option<Option<Note>>,
    pub seat: Option<Option<NonZeroU8>>,
    pub course: Option<Option<NonZeroU8>>,
}

/// The items that went to one station in one send: one kitchen or bar ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationTicket {
    pub station: Station,
    pub items: Vec<OrderItemId>,
    /// The first ticket of this order for the station (`sent_to_<station>_at` was set now).
    pub first_for_station: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SendOutcome {
    /// One per station that got items, kitchen before bar.
    pub tickets: Vec<StationTicket>,
    /// Items with no station: ready at once.
    pub ready_without_station: Vec<OrderItemId>,
    /// Items of a later course, held until it is fired.
    pub held: Vec<OrderItemId>,
}

impl SendOutcome {
    pub fn stations(&self) -> Vec<Station> {
        self.tickets.iter().map(|t| t.station).collect()
    }

    /// Every item that left pending in this send.
    pub fn sent_items(&self) -> Vec<OrderItemId> {
        self.tickets
            .iter()
            .flat_map(|t| t.items.iter().copied())
            .chain(self.ready_without_station.iter().copied())
            .collect()
    }
}

/// What creating an order needs; the number comes from the store's per-day counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub number: i32,
    pub business_date: NaiveDate,
    pub order_type: OrderType,
    pub table_id: Option<TableId>,
    pub staff_id: StaffId,
    pub terminal_id: Option<TerminalId>,
    pub shift_id: Option<ShiftId>,
    pub preparation_notes: Option<Note>,
    pub currency: Currency,
    pub pricing: Pricing,
}

/// The modifiers chosen for `product`: its own active ones, each once.
pub(crate) fn chosen_modifiers(
    product: &Product,
    ids: &[ModifierId],
) -> Result<Vec<ItemModifier>, OrderError> {
    let mut chosen: Vec<ItemModifier> = Vec::with_capacity(ids.len());
    for &id in ids {
        if chosen.iter().any(|m| m.modifier_id == id) {
            return Err(OrderError::DuplicateModifier(id));
        }
        let modifier = product
            .modifiers
            .iter()
            .find(|m| m.id == id && m.active && m.product_id == product.id)
            .ok_or(OrderError::UnknownModifier(id))?;
        chosen.push(ItemModifier {
            modifier_id: modifier.id,
            name: modifier.name.clone(),
            price: modifier.price,
        });
    }
    Ok(chosen)
}
