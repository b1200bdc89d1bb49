//! Taking payments on an order (spec §3 Payment, §10): cash (tendered and change), card,
//! MTN MoMo and Airtel Money with the provider's reference; partial and split payments by
//! amount or by items (chosen items, or one seat's). A payment is an order change: it goes
//! through the order store's unit of work ([`OrderStore::mutate_order`]) with the payment
//! row as one of its [`crate::order::ports::Effects`], so the order's `paid`, the payment and
//! its events commit together, under the order's row lock: however many payments race for
//! one order, they never sum above its total. The order closes when its balance reaches
//! zero and everything was served or is ready (its table is then free).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::approval::require;
use crate::audit::NewAuditEntry;
use crate::event::NewEvent;
use crate::ids::{OrderId, OrderItemId, ShiftId};
use crate::money::Money;
use crate::order::events::{self, TableChange};
use crate::order::ports::{
    Effects, IdempotencyClaim, Mutation, OrderChange, OrderStore, OrderTarget, WorkOutput,
};
use crate::order::{Caller, OrderServiceError, Outcome};
use crate::order::{Order, OrderError};
use crate::payment::{Payment, PaymentError, PaymentMethod, PaymentRequest};
use crate::permissions::Action;
use crate::ports::{Clock, EventBus};
use crate::shifts::ShiftStore;

/// Which part of the bill a payment covers when it names no amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Share {
    /// Exactly this amount (minor units).
    Amount(i64),
    /// These items' line totals.
    Items(Vec<OrderItemId>),
    /// The line totals of the items on this seat.
    Seat(u8),
    /// Whatever is still due.
    Balance,
}

/// A payment as the terminal asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayCmd {
    pub order: OrderId,
    pub method: PaymentMethod,
    pub share: Share,
    /// Cash handed over (cash only); defaults to the amount.
    pub tendered: Option<i64>,
    pub reference: Option<String>,
}

/// The amount a share of `order` comes to: an amount as given, or the sum of the chosen
/// lines' totals (live items only), never more than what is still due.
pub fn share_amount(order: &Order, share: &Share) -> Result<Money, OrderError> {
    let totals = order.totals()?;
    let lines = |pick: &dyn Fn(OrderItemId) -> bool| -> Result<Money, OrderError> {
        let sum = Money::sum(
            order.currency,
            totals.lines.iter().filter(|l| pick(l.item_id)).map(|l| l.total),
        )
        .map_err(PaymentError::from)?;
        Ok(Money::new(
            sum.minor().min(totals.balance.minor()),
            order.currency,
        ))
    };
    match share {
        Share::Amount(minor) => Ok(Money::new(*minor, order.currency)),
        Share::Balance => Ok(order.payable()?),
        Share::Items(ids) => {
            for id in ids {
                let item = order.item(*id)?;
                if !totals.lines.iter().any(|l| l.item_id == item.id) {
                    // A voided line has nothing to pay.
                    return Err(OrderError::ItemNotFound(*id));
                }
            }
            lines(&|id| ids.contains(&id))
        }
        Share::Seat(seat) => {
            let on_seat: Vec<OrderItemId> = order
                .items
                .iter()
                .filter(|i| i.seat.map(|s| s.get()) == Some(*seat))
                .map(|i| i.id)
                .collect();
            if on_seat.is_empty() {
                return Err(PaymentError::NothingDue.into());
            }
            lines(&|id| on_seat.contains(&id))
        }
    }
}

/// Applies a payment taken at the till to `order` (pure): checks it against the balance,
/// records it, closes the order when it is settled and closable, and returns the payment
/// with the unit's effects. Online (Pesapal) payments are not taken here.
pub fn take_payment(
    order: &mut Order,
    cmd: &PayCmd,
    caller: Caller,
    shift: ShiftId,
    now: DateTime<Utc>,
) -> Result<WorkOutput, OrderError> {
    if cmd.method.is_online() {
        return Err(PaymentError::InvalidTransition {
            from: crate::payment::PaymentStatus::Pending,
            to: "completed at the till",
        }
        .into());
    }
    // A closed or voided order is corrected by a refund, never paid again.
    if order.status.is_finished() {
        return Err(OrderError::OrderFinished { status: order.status });
    }
    let amount = share_amount(order, &cmd.share)?;
    let request = PaymentRequest {
        method: cmd.method,
        amount,
        tendered: cmd.tendered.map(|t| Money::new(t, order.currency)),
        reference: cmd.reference.clone(),
    };
    // Online payments still pending reserve their share (see `Order::payable`).
    let tender = request.validate(order.payable()?)?;
    let payment = Payment::new(tender, order.id, caller.actor.id, Some(shift), now);
    let balance = order.record_payment(payment.amount, now)?;
    // The order carries the shift it was settled on when it was opened outside any.
    if order.shift_id.is_none() {
        order.shift_id = Some(shift);
    }
    let mut effects = Effects::default();
    let payload = json!({
        "payment_id": payment.id,
        "order_id": order.id,
        "method": payment.method.as_str(),
        "amount": payment.amount.minor(),
        "status": payment.status.as_str(),
        "balance": balance.minor(),
        "shift_id": shift,
    });
    effects.audit.push(
        NewAuditEntry::new("payment.completed", "payment")
            .actor(Some(caller.actor.id))
            .terminal(caller.terminal_id)
            .entity_id(payment.id)
            .after(payload.clone()),
    );
    effects
        .events
        .push(NewEvent::new("payment.completed", "payments", payload));
    close_if_settled(order, balance, now, &mut effects)?;
    effects.payments.push(payment.clone());
    Ok(WorkOutput {
        change: OrderChange::PaymentTaken(Box::new(payment)),
        effects,
    })
}

/// What follows a completed payment (at the till or confirmed online): at a zero balance
/// `order.paid`, and the order closes with its table freed when nothing is still being
/// prepared.
pub(crate) fn close_if_settled(
    order: &mut Order,
    balance: Money,
    now: DateTime<Utc>,
    effects: &mut Effects,
) -> Result<(), OrderError> {
    if balance.is_zero() {
        effects.events.push(NewEvent::new(
            "order.paid",
            "orders",
            json!({"order_id": order.id, "number": order.number, "total": order.totals()?.total.minor()}),
        ));
        // Paid before the kitchen is done (a takeaway paid at the counter): it closes when
        // served; otherwise it closes now and its table is free.
        let mut closing = order.clone();
        if closing.close(now).is_ok() {
            *order = closing;
            effects.events.push(events::order_closed(order)?);
            if let Some(table) = order.table_id {
                effects
                    .events
                    .push(events::table_updated(table, order.id, TableChange::OrderEnded));
            }
        }
    }
    Ok(())
}

/// The payment use cases over the order store (their unit of work), the shifts (a payment
/// needs the caller's open shift), the bus and a clock.
pub struct PaymentService {
    orders: Arc<dyn OrderStore>,
    shifts: Arc<dyn ShiftStore>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
}

/// Why a payment could not be taken before the order's unit ran.
pub const NO_OPEN_SHIFT: &str = "no_open_shift";

impl PaymentService {
    pub fn new(
        orders: Arc<dyn OrderStore>,
        shifts: Arc<dyn ShiftStore>,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            orders,
            shifts,
            bus,
            clock,
        }
    }

    /// Takes a payment on an order. `Ok(None)` when the caller has no open shift (and the
    /// key has no stored answer): the API answers 409 `no_open_shift`, nothing written.
    pub async fn pay(
        &self,
        caller: Caller,
        cmd: PayCmd,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Option<Outcome>, OrderServiceError> {
        require(caller.actor, Action::TakePayment).map_err(OrderServiceError::Forbidden)?;
        let shift = match self.shifts.open_shift_of(caller.actor.id).await? {
            Some((shift, _)) => shift.id,
            None => {
                // A retry of a payment taken before its shift closed replays its answer.
                if let Some(claim) = &claim
                    && let Some(answer) = self
                        .orders
                        .recorded_answer(claim.staff_id, &claim.key, &claim.fingerprint)
                        .await?
                {
                    return self.finish(answer).await.map(Some);
                }
                return Ok(None);
            }
        };
        let now = self.clock.now();
        let target = OrderTarget::Order(cmd.order);
        let work = Box::new(move |order: &mut Order| take_payment(order, &cmd, caller, shift, now));
        let mutation = self.orders.mutate_order(target, None, claim, work).await?;
        self.finish(mutation).await.map(Some)
    }

    async fn finish(&self, mutation: Mutation) -> Result<Outcome, OrderServiceError> {
        crate::order::service::finish_mutation(self.bus.as_ref(), mutation).await
    }
}
