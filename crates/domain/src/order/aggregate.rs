//! Orders and their items: the lifecycle of spec §3 as domain functions.
//!
//! Items move `pending → sent → preparing → ready → served` (or `voided`). The order's
//! status follows from its items until it ends as `closed`, `voided` or `cancelled`:
//!
//! - `sent` while any item is at a station (sent or preparing),
//! - else `open` while any item is pending (or there is none),
//! - else `served` when every live item is served, `ready` otherwise.
//!
//! Every method checks its preconditions, works on a copy and commits only when the result
//! is consistent (totals computable, never less than what was paid), so an error leaves the
//! order untouched. `version` is for optimistic concurrency: stores save with
//! `WHERE version = <loaded>` and write `version + 1`; methods here never change it.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU8;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::approval::{Actor, approver_for, require};
use crate::ids::{OrderId, OrderItemId, ShiftId, StaffId, TableId, TerminalId};
use crate::money::{Currency, Money};
use crate::payment::{PaymentError, check_payment_fits};
use crate::permissions::Action;
use crate::staff::Station;
use crate::totals::{self, OrderTotals, Pricing, TotalsError};
use crate::validate::Note;

use super::parts::*;

mod kitchen;
mod money;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    /// Human number, unique per business day (#1, #2 …).
    pub number: i32,
    pub business_date: NaiveDate,
    pub order_type: OrderType,
    pub table_id: Option<TableId>,
    /// Who opened it.
    pub staff_id: StaffId,
    pub terminal_id: Option<TerminalId>,
    pub shift_id: Option<ShiftId>,
    pub status: OrderStatus,
    pub preparation_notes: Option<Note>,
    pub items: Vec<OrderItem>,
    pub currency: Currency,
    pub pricing: Pricing,
    pub discount: Option<AppliedDiscount>,
    /// Completed payments minus refunds, kept in step with the payments in the same
    /// transaction (see [`Order::record_payment`], [`Order::record_refund`]).
    pub paid: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_to_kitchen_at: Option<DateTime<Utc>>,
    pub sent_to_bar_at: Option<DateTime<Utc>>,
    pub ready_at: Option<DateTime<Utc>>,
    pub served_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub void: Option<VoidRecord>,
    /// Set on an order that was merged into another one (and thereby cancelled).
    pub merged_into: Option<OrderId>,
    pub version: i32,
    /// Online payments started and not yet confirmed or failed, loaded with the order in
    /// its unit of work (saved through `Effects::payments`, never with the order row). They
    /// never count as paid, but reserve their amount: see [`Order::payable`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_online: Vec<crate::payment::Payment>,
}

fn require_reason(reason: &Note) -> Result<(), OrderError> {
    if reason.as_str().is_empty() {
        Err(OrderError::ReasonRequired)
    } else {
        Ok(())
    }
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Order {
    pub fn new(new: NewOrder, now: DateTime<Utc>) -> Result<Order, OrderError> {
        if new.number < 1 {
            return Err(OrderError::InvalidNumber);
        }
        match (new.order_type, new.table_id) {
            (OrderType::DineIn, None) => return Err(OrderError::TableRequired),
            (OrderType::Takeaway, Some(_)) => return Err(OrderError::TakeawayHasNoTable),
            _ => {}
        }
        Ok(Order {
            id: OrderId::new(),
            number: new.number,
            business_date: new.business_date,
            order_type: new.order_type,
            table_id: new.table_id,
            staff_id: new.staff_id,
            terminal_id: new.terminal_id,
            shift_id: new.shift_id,
            status: OrderStatus::Open,
            preparation_notes: new.preparation_notes,
            items: Vec::new(),
            currency: new.currency,
            pricing: new.pricing,
            discount: None,
            paid: Money::zero(new.currency),
            created_at: now,
            updated_at: now,
            sent_to_kitchen_at: None,
            sent_to_bar_at: None,
            ready_at: None,
            served_at: None,
            closed_at: None,
            void: None,
            merged_into: None,
            version: 1,
            pending_online: Vec::new(),
        })
    }

    /// `StaleVersion` unless the client edited the version it read.
    pub fn expect_version(&self, expected: i32) -> Result<(), OrderError> {
        if self.version == expected {
            Ok(())
        } else {
            Err(OrderError::StaleVersion {
                expected,
                current: self.version,
            })
        }
    }

    pub fn totals(&self) -> Result<OrderTotals, TotalsError> {
        let lines = self
            .live_items()
            .map(OrderItem::line_input)
            .collect::<Result<Vec<_>, _>>()?;
        totals::compute(
            self.currency,
            self.pricing,
            &lines,
            self.discount.as_ref().map(|d| d.discount),
            self.paid,
        )
    }

    pub fn balance(&self) -> Result<Money, TotalsError> {
        Ok(self.totals()?.balance)
    }

    /// What a new payment may still take: the balance less the online payments waiting for
    /// their provider. A pending payment reserves its share until it completes (then it is
    /// paid) or fails (then the share is free again), so a confirmation can never overpay.
    pub fn payable(&self) -> Result<Money, TotalsError> {
        let balance = self.balance()?;
        let reserved = self.reserved_online()?;
        Ok(Money::new(
            (balance.minor() - reserved.minor()).max(0),
            self.currency,
        ))
    }

    /// The sum of the online payments still waiting for their provider.
    pub fn reserved_online(&self) -> Result<Money, TotalsError> {
        Ok(Money::sum(
            self.currency,
            self.pending_online.iter().map(|p| p.amount),
        )?)
    }

    /// Refuses a change that would take away what a pending online payment is paying for:
    /// the customer may be approving it on their phone right now.
    fn ensure_no_pending_online(&self) -> Result<(), OrderError> {
        let reserved = self.reserved_online()?;
        if reserved.is_zero() {
            Ok(())
        } else {
            Err(OrderError::OnlinePaymentPending { amount: reserved })
        }
    }

    pub fn item(&self, id: OrderItemId) -> Result<&OrderItem, OrderError> {
        self.items
            .iter()
            .find(|i| i.id == id)
            .ok_or(OrderError::ItemNotFound(id))
    }

    fn item_mut(&mut self, id: OrderItemId) -> Result<&mut OrderItem, OrderError> {
        self.items
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or(OrderError::ItemNotFound(id))
    }

    /// Items not voided.
    pub fn live_items(&self) -> impl Iterator<Item = &OrderItem> {
        self.items.iter().filter(|i| i.is_live())
    }

    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }

    fn ensure_not_finished(&self) -> Result<(), OrderError> {
        if self.is_finished() {
            Err(OrderError::OrderFinished { status: self.status })
        } else {
            Ok(())
        }
    }

    /// The status the items imply, for an order that is not finished.
    fn derived_status(&self) -> OrderStatus {
        let mut any_pending = false;
        let mut all_served = true;
        let mut any_live = false;
        for item in self.live_items() {
            any_live = true;
            if item.status.is_at_station() {
                return OrderStatus::Sent;
            }
            any_pending |= item.status.is_unsent();
            all_served &= item.status == ItemStatus::Served;
        }
        if any_pending || !any_live {
            OrderStatus::Open
        } else if all_served {
            OrderStatus::Served
        } else {
            OrderStatus::Ready
        }
    }

    fn refresh_status(&mut self, now: DateTime<Utc>) {
        if self.is_finished() {
            return;
        }
        let rank = |s: OrderStatus| match s {
            OrderStatus::Open => 0,
            OrderStatus::Sent => 1,
            OrderStatus::Ready => 2,
            _ => 3,
        };
        let next = self.derived_status();
        if next != self.status {
            match next {
                OrderStatus::Ready => self.ready_at = Some(now),
                OrderStatus::Served => self.served_at = Some(now),
                _ => {}
            }
        }
        // Falling back (a recall, a new round) means the order is not ready/served any more.
        if rank(next) < 2 {
            self.ready_at = None;
        }
        if rank(next) < 3 {
            self.served_at = None;
        }
        self.status = next;
    }

    /// Applies `change` to a copy and commits it only if the result is consistent.
    fn edit<T>(
        &mut self,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Order) -> Result<T, OrderError>,
    ) -> Result<T, OrderError> {
        let mut next = self.clone();
        let out = change(&mut next)?;
        next.refresh_status(now);
        let totals = next.totals()?;
        if totals.total.minor() < next.paid.minor() {
            return Err(OrderError::BelowPaid {
                total: totals.total,
                paid: next.paid,
            });
        }
        let reserved = next.reserved_online()?;
        if totals.total.minor() < next.paid.minor() + reserved.minor() {
            return Err(OrderError::OnlinePaymentPending { amount: reserved });
        }
        next.updated_at = now;
        *self = next;
        Ok(out)
    }

    pub fn add_item(&mut self, item: NewOrderItem, now: DateTime<Utc>) -> Result<OrderItemId, OrderError> {
        self.ensure_not_finished()?;
        let id = OrderItemId::new();
        self.edit(now, |order| {
            order.items.push(OrderItem {
                id,
                product_id: item.product_id,
                name: item.name,
                unit_price: item.unit_price,
                quantity: item.quantity,
                modifiers: item.modifiers,
                notes: item.notes,
                station: item.station,
                status: ItemStatus::Pending,
                seat: item.seat,
                course: item.course,
                discount: None,
                created_at: now,
                sent_at: None,
                preparing_at: None,
                ready_at: None,
                served_at: None,
                void: None,
            });
            Ok(id)
        })
    }

    fn pending_item_mut(&mut self, id: OrderItemId) -> Result<&mut OrderItem, OrderError> {
        let item = self.item_mut(id)?;
        if !item.status.is_unsent() {
            return Err(OrderError::ItemNotPending {
                item: id,
                status: item.status,
            });
        }
        Ok(item)
    }

    pub fn update_item(
        &mut self,
        id: OrderItemId,
        changes: ItemChanges,
        now: DateTime<Utc>,
    ) -> Result<(), OrderError> {
        self.ensure_not_finished()?;
        self.edit(now, |order| {
            let item = order.pending_item_mut(id)?;
            if let Some(quantity) = changes.quantity {
                item.quantity = quantity;
            }
            if let Some(modifiers) = changes.modifiers {
                item.modifiers = modifiers;
            }
            if let Some(notes) = changes.notes {
                item.notes = notes;
            }
            if let Some(seat) = changes.seat {
                item.seat = seat;
            }
            if let Some(course) = changes.course {
                item.course = course;
            }
            Ok(())
        })
    }

    /// Removes a pending item outright (it never reached a station, so nothing to audit).
    pub fn remove_item(&mut self, id: OrderItemId, now: DateTime<Utc>) -> Result<OrderItem, OrderError> {
        self.ensure_not_finished()?;
        self.edit(now, |order| {
            order.pending_item_mut(id)?;
            let index = order
                .items
                .iter()
                .position(|i| i.id == id)
                .ok_or(OrderError::ItemNotFound(id))?;
            Ok(order.items.remove(index))
        })
    }

    pub fn set_preparation_notes(
        &mut self,
        notes: Option<Note>,
        now: DateTime<Utc>,
    ) -> Result<(), OrderError> {
        self.ensure_not_finished()?;
        self.edit(now, |order| {
            order.preparation_notes = notes;
            Ok(())
        })
    }

    /// Voids one item. A pending item needs only the right to edit unsent items; once it
    /// was sent, a manager's approval (or a manager acting). The reason is required.
    pub fn void_item(
        &mut self,
        id: OrderItemId,
        actor: Actor,
        approval: Option<Actor>,
        reason: Note,
        now: DateTime<Utc>,
    ) -> Result<VoidRecord, OrderError> {
        self.ensure_not_finished()?;
        let item = self.item(id)?;
        let approved_by = match item.status {
            ItemStatus::Voided => {
                return Err(OrderError::InvalidItemTransition {
                    item: id,
                    status: ItemStatus::Voided,
                    action: "void",
                });
            }
            ItemStatus::Pending | ItemStatus::Held => {
                require(actor, Action::EditUnsentItems)?;
                None
            }
            _ => Some(approver_for(actor, approval, Action::VoidSentItems)?),
        };
        require_reason(&reason)?;
        let record = VoidRecord {
            by: actor.id,
            reason,
            approved_by,
            at: now,
        };
        self.edit(now, |order| {
            let item = order.item_mut(id)?;
            item.status = ItemStatus::Voided;
            item.void = Some(record.clone());
            Ok(record)
        })
    }

    /// Voids the whole order before close. Needs approval once any live item was sent, and
    /// no money on it (refund first).
    pub fn void_order(
        &mut self,
        actor: Actor,
        approval: Option<Actor>,
        reason: Note,
        now: DateTime<Utc>,
    ) -> Result<VoidRecord, OrderError> {
        self.ensure_not_finished()?;
        if self.live_items().next().is_none() {
            return Err(OrderError::EmptyOrder);
        }
        if !self.paid.is_zero() {
            return Err(OrderError::HasPayments { paid: self.paid });
        }
        self.ensure_no_pending_online()?;
        let anything_sent = self.live_items().any(|i| !i.status.is_unsent());
        let approved_by = if anything_sent {
            Some(approver_for(actor, approval, Action::VoidSentItems)?)
        } else {
            require(actor, Action::EditUnsentItems)?;
            None
        };
        require_reason(&reason)?;
        let record = VoidRecord {
            by: actor.id,
            reason,
            approved_by,
            at: now,
        };
        self.edit(now, |order| {
            for item in order.items.iter_mut().filter(|i| i.is_live()) {
                item.status = ItemStatus::Voided;
                item.void = Some(record.clone());
            }
            order.status = OrderStatus::Voided;
            order.void = Some(record.clone());
            Ok(record)
        })
    }

    /// Ends an order with nothing (live) on it.
    pub fn cancel_empty(&mut self, now: DateTime<Utc>) -> Result<(), OrderError> {
        self.ensure_not_finished()?;
        if self.live_items().next().is_some() {
            return Err(OrderError::NotEmpty);
        }
        self.edit(now, |order| {
            order.status = OrderStatus::Cancelled;
            Ok(())
        })
    }

    /// Closes a settled order: nothing pending or at a station, balance zero. Ready items
    /// are handed over (served) at close.
    pub fn close(&mut self, now: DateTime<Utc>) -> Result<(), OrderError> {
        self.ensure_not_finished()?;
        if self.live_items().next().is_none() {
            return Err(OrderError::EmptyOrder);
        }
        if self.live_items().any(|i| i.status.is_unsent()) {
            return Err(OrderError::ItemsPending);
        }
        if self.live_items().any(|i| i.status.is_at_station()) {
            return Err(OrderError::ItemsAtStation);
        }
        let balance = self.balance()?;
        if !balance.is_zero() {
            return Err(OrderError::BalanceDue { balance });
        }
        self.edit(now, |order| {
            order.serve_ready_items(now);
            order.refresh_status(now);
            order.status = OrderStatus::Closed;
            order.closed_at = Some(now);
            Ok(())
        })
    }

    /// Moves a dine-in order to another table; returns the table it left.
    pub fn move_to_table(
        &mut self,
        table: TableId,
        now: DateTime<Utc>,
    ) -> Result<Option<TableId>, OrderError> {
        self.ensure_not_finished()?;
        if self.order_type == OrderType::Takeaway {
            return Err(OrderError::TakeawayHasNoTable);
        }
        if self.table_id == Some(table) {
            return Err(OrderError::SameTable);
        }
        self.edit(now, |order| Ok(order.table_id.replace(table)))
    }

    /// Moves every item of `other` onto this order and cancels `other` (marked as merged
    /// into this one). Both must be open or sent, unpaid, and in the same currency.
    /// Returns the ids of the items moved.
    pub fn merge_from(
        &mut self,
        other: &mut Order,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderItemId>, OrderError> {
        if self.id == other.id {
            return Err(OrderError::MergeWithItself);
        }
        for order in [&*self, &*other] {
            order.ensure_not_finished()?;
            if !matches!(order.status, OrderStatus::Open | OrderStatus::Sent) {
                return Err(OrderError::MergeNotAllowed { status: order.status });
            }
            if !order.paid.is_zero() {
                return Err(OrderError::HasPayments { paid: order.paid });
            }
            order.ensure_no_pending_online()?;
        }
        if other.discount.is_some() {
            return Err(OrderError::MergeDiscounted);
        }
        if other.currency != self.currency {
            return Err(OrderError::Totals(TotalsError::CurrencyMismatch {
                expected: self.currency,
                found: other.currency,
            }));
        }
        let moved_items = other.items.clone();
        let moved: Vec<OrderItemId> = moved_items.iter().map(|i| i.id).collect();
        let (kitchen, bar) = (other.sent_to_kitchen_at, other.sent_to_bar_at);
        self.edit(now, |order| {
            order.items.extend(moved_items);
            order.sent_to_kitchen_at = earliest(order.sent_to_kitchen_at, kitchen);
            order.sent_to_bar_at = earliest(order.sent_to_bar_at, bar);
            Ok(())
        })?;
        let target = self.id;
        // Cannot fail: `other` is unfinished and unpaid, and loses only items.
        other.edit(now, |order| {
            order.items.clear();
            order.status = OrderStatus::Cancelled;
            order.merged_into = Some(target);
            Ok(())
        })?;
        Ok(moved)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
