//! Taking payments on an order (spec §3 Payment, §10): cash (tendered and change), card,
//! MTN MoMo and Airtel Money with the provider's reference; partial and split payments by
//! amount or by items (chosen items, or one seat's). A payment is an order change: it goes
//! through the order store's unit of work ([`OrderStore::mutate_order`]) with the payment
//! row as one of its [`crate::order::ports::Effects`], so the order's `paid`, the payment and
//! its events commit together, under the order's row lock: however many payments race for
//! one order, they never sum above its total. The order closes when its balance reaches
//! zero and everything was served or is ready (its table is then free); paid earlier, it
//! closes when its last item is ready or served ([`close_if_settled`]).
//!
//! The shift a payment or a refund carries is the caller's open shift read inside the
//! unit's transaction ([`Lookups::open_shift_of`]), locked so that a shift close waits for
//! the payment and then counts it. Tips are recorded on the payment apart from the amount
//! that settles the order. Refunds go through the same unit (the payment, the refund, the
//! order's paid amount, audit and `payment.refunded` together).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::approval::Actor;
use crate::approval::require;
use crate::audit::NewAuditEntry;
use crate::event::NewEvent;
use crate::ids::{OrderId, OrderItemId, PaymentId};
use crate::money::Money;
use crate::order::events::{self, TableChange};
use crate::order::ports::{
    Effects, Found, IdempotencyClaim, Lookups, Mutation, OrderChange, OrderStore, OrderTarget, WorkOutput,
};
use crate::order::{Caller, OrderServiceError, Outcome};
use crate::order::{Order, OrderError};
use crate::payment::{
    Payment, PaymentError, PaymentMethod, PaymentRequest, RefundRequest, check_gateway_refund,
};
use crate::permissions::Action;
use crate::ports::{Clock, EventBus, GatewayRefund, PaymentGateway};
use crate::validate::Note;

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
    /// Cash handed over (cash only); defaults to the amount (plus the tip).
    pub tendered: Option<i64>,
    pub reference: Option<String>,
    /// Left for the staff on top of the amount (minor units, ≥ 0): never applied to the
    /// balance.
    pub tip: Option<i64>,
}

/// A refund as the terminal asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundCmd {
    pub payment: PaymentId,
    /// Minor units of the order's currency.
    pub amount: i64,
    pub reason: Note,
    /// The manager who re-authenticated inside the request (if any).
    pub approval: Option<Actor>,
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

/// Closes `order` when it is paid in full and nothing is left to make (ready items are
/// handed over): `order.paid`-settled orders end here, whichever change settled them (the
/// last payment, or the last item ready or served after an early payment). Adds
/// `order.closed` and the table's `table.updated`; the unit then numbers the receipt and
/// queues it for printing.
pub fn close_if_settled(
    order: &mut Order,
    now: DateTime<Utc>,
    effects: &mut Effects,
) -> Result<bool, OrderError> {
    if order.status.is_finished() || order.paid.is_zero() || !order.balance()?.is_zero() {
        return Ok(false);
    }
    let mut closing = order.clone();
    if closing.close(now).is_err() {
        // Still being prepared: it closes when its last item is ready or served.
        return Ok(false);
    }
    *order = closing;
    effects.events.push(events::order_closed(order)?);
    if let Some(table) = order.table_id {
        effects
            .events
            .push(events::table_updated(table, order.id, TableChange::OrderEnded));
    }
    Ok(true)
}

/// Applies a payment taken at the till to `order` (pure): checks it against the balance,
/// records it on the caller's open shift (`found.open_shift`, read in the unit), closes the
/// order when it is settled and closable, and returns the payment with the unit's effects.
/// Online (Pesapal) payments are not taken here.
pub fn take_payment(
    order: &mut Order,
    cmd: &PayCmd,
    caller: Caller,
    found: &Found,
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
    let shift = found.open_shift.ok_or(PaymentError::NoOpenShift)?;
    let amount = share_amount(order, &cmd.share)?;
    let request = PaymentRequest {
        method: cmd.method,
        amount,
        tendered: cmd.tendered.map(|t| Money::new(t, order.currency)),
        reference: cmd.reference.clone(),
        tip: cmd.tip.map(|t| Money::new(t, order.currency)),
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
        "tip": payment.tip.minor(),
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
    after_payment(order, balance, now, &mut effects)?;
    effects.payments.push(payment.clone());
    Ok(WorkOutput {
        change: OrderChange::PaymentTaken(Box::new(payment)),
        effects,
    })
}

/// What follows a completed payment (at the till or confirmed online): at a zero balance
/// `order.paid`, and the order closes with its table freed when nothing is still being
/// prepared.
pub(crate) fn after_payment(
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
        // its last item is ready or served; otherwise it closes now and its table is free.
        close_if_settled(order, now, effects)?;
    }
    Ok(())
}

/// Refunds part or all of a payment of `order` (pure): the payment (`found.payment`, locked
/// in the unit) within what is still refundable, a reason, a manager acting or approving;
/// the order's paid amount goes down by as much (a closed order stays closed: that is how
/// it is corrected). A cash refund leaves the drawer of the refunder's open shift
/// (`found.open_shift`), which it needs; other methods record the shift when there is one.
/// An online payment is refunded here only once the provider accepted the refund
/// (`provider_accepted`; see [`PaymentService::refund`]).
pub fn refund_payment(
    order: &mut Order,
    cmd: &RefundCmd,
    caller: Caller,
    found: Found,
    provider_accepted: bool,
    now: DateTime<Utc>,
) -> Result<WorkOutput, OrderError> {
    let mut payment = found.payment.ok_or(PaymentError::UnknownPayment)?;
    if payment.method.is_online() {
        if !provider_accepted {
            return Err(PaymentError::GatewayRefundUnavailable.into());
        }
        check_gateway_refund(&payment, Money::new(cmd.amount, order.currency), None)?;
    }
    if payment.method.is_cash() && found.open_shift.is_none() {
        return Err(PaymentError::NoOpenShift.into());
    }
    let before = payment.refunded;
    let request = RefundRequest {
        amount: Money::new(cmd.amount, order.currency),
        reason: cmd.reason.clone(),
        shift_id: found.open_shift,
    };
    let refund = payment.refund(request, caller.actor, cmd.approval, now)?;
    let paid = order.record_refund(refund.amount, now)?;
    let payload = json!({
        "refund_id": refund.id,
        "payment_id": payment.id,
        "order_id": order.id,
        "method": payment.method.as_str(),
        "amount": refund.amount.minor(),
        "refunded": payment.refunded.minor(),
        "status": payment.status.as_str(),
        "paid": paid.minor(),
        "shift_id": refund.shift_id,
        "reason": refund.reason.as_str(),
    });
    let mut effects = Effects::default();
    effects.audit.push(
        NewAuditEntry::new("payment.refunded", "payment")
            .actor(Some(refund.staff_id))
            .approver((refund.approved_by != refund.staff_id).then_some(refund.approved_by))
            .terminal(caller.terminal_id)
            .entity_id(payment.id)
            .before(json!({"refunded": before.minor()}))
            .after(payload.clone()),
    );
    effects
        .events
        .push(NewEvent::new("payment.refunded", "payments", payload));
    effects
        .events
        .push(events::order_updated(order, events::UpdateKind::Refunded)?);
    effects.payments.push(payment.clone());
    effects.refunds.push(refund.clone());
    Ok(WorkOutput {
        change: OrderChange::Refunded {
            payment: Box::new(payment),
            refund: Box::new(refund),
        },
        effects,
    })
}

/// The payment use cases over the order store (their unit of work), the bus and a clock.
pub struct PaymentService {
    orders: Arc<dyn OrderStore>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
}

impl PaymentService {
    pub fn new(orders: Arc<dyn OrderStore>, bus: Arc<dyn EventBus>, clock: Arc<dyn Clock>) -> Self {
        Self { orders, bus, clock }
    }

    /// Takes a payment on an order, on the caller's open shift (read in the unit: without
    /// one the unit refuses `no_open_shift`, nothing written).
    pub async fn pay(
        &self,
        caller: Caller,
        cmd: PayCmd,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Outcome, OrderServiceError> {
        require(caller.actor, Action::TakePayment).map_err(OrderServiceError::Forbidden)?;
        let now = self.clock.now();
        let lookups = Lookups {
            open_shift_of: Some(caller.actor.id),
            payment: None,
        };
        let target = OrderTarget::Order(cmd.order);
        let work =
            Box::new(move |order: &mut Order, found: Found| take_payment(order, &cmd, caller, &found, now));
        let mutation = self
            .orders
            .mutate_order_with(target, lookups, claim, work)
            .await?;
        self.finish(mutation).await
    }

    /// Refunds (part of) a payment; see [`refund_payment`]. An online payment is refunded
    /// through `gateway` first (Pesapal's RefundRequest: mobile money only in full, once),
    /// after the same rules were checked, and recorded once the provider accepted; without
    /// a gateway it is refused (`gateway_unavailable`). A retry with the key of a refund
    /// that went through replays it without asking the provider again.
    pub async fn refund(
        &self,
        caller: Caller,
        cmd: RefundCmd,
        claim: Option<IdempotencyClaim>,
        gateway: Option<&dyn PaymentGateway>,
    ) -> Result<Outcome, OrderServiceError> {
        require(caller.actor, Action::TakePayment).map_err(OrderServiceError::Forbidden)?;
        let now = self.clock.now();
        let mut provider_accepted = false;
        let stored = self.orders.get_payment(cmd.payment).await?;
        if stored.payment.method.is_online() {
            if let Some(claim) = &claim
                && let Some(answer) = self
                    .orders
                    .recorded_answer(claim.staff_id, &claim.key, &claim.fingerprint)
                    .await?
            {
                return self.finish(answer).await;
            }
            // Answered before the unit: a 5xx is never stored with a key, so a retry
            // once a provider is configured goes through.
            let Some(gateway) = gateway else {
                return Err(OrderServiceError::Refused {
                    error: PaymentError::GatewayRefundUnavailable.into(),
                    current: None,
                    response: None,
                });
            };
            self.ask_provider(gateway, caller, &cmd, stored, now).await?;
            provider_accepted = true;
        }
        let lookups = Lookups {
            open_shift_of: Some(caller.actor.id),
            payment: Some(cmd.payment),
        };
        let target = OrderTarget::Payment(cmd.payment);
        let work = Box::new(move |order: &mut Order, found: Found| {
            refund_payment(order, &cmd, caller, found, provider_accepted, now)
        });
        let mutation = self
            .orders
            .mutate_order_with(target, lookups, claim, work)
            .await?;
        self.finish(mutation).await
    }

    /// Checks an online refund by the rules the unit applies again (approval, reason,
    /// amount, the provider's limits), then asks the provider.
    async fn ask_provider(
        &self,
        gateway: &dyn PaymentGateway,
        caller: Caller,
        cmd: &RefundCmd,
        stored: crate::order::ports::StoredPayment,
        now: DateTime<Utc>,
    ) -> Result<(), OrderServiceError> {
        let refused = |error: PaymentError| OrderServiceError::Refused {
            error: error.into(),
            current: None,
            response: None,
        };
        let mut check = stored.payment;
        let amount = Money::new(cmd.amount, check.amount.currency());
        check_gateway_refund(&check, amount, stored.provider_method.as_deref()).map_err(refused)?;
        let request = RefundRequest {
            amount,
            reason: cmd.reason.clone(),
            shift_id: None,
        };
        let refund = check
            .refund(request, caller.actor, cmd.approval, now)
            .map_err(refused)?;
        let confirmation_code = stored
            .confirmation_code
            .ok_or_else(|| refused(PaymentError::NotRefundable { status: check.status }))?;
        gateway
            .request_refund(GatewayRefund {
                confirmation_code,
                amount,
                // The provider records who asked: the approving manager's staff id.
                username: refund.approved_by.to_string(),
                remarks: cmd.reason.as_str().to_owned(),
            })
            .await
            .map_err(|e| refused(PaymentError::from(e)))
    }

    /// The payments of an order, every status, as taken: whoever may read the order may
    /// read them (the bill refunds any of them, not only those this terminal took).
    pub async fn payments_of(
        &self,
        caller: Caller,
        order: OrderId,
    ) -> Result<Vec<Payment>, OrderServiceError> {
        require(caller.actor, Action::ViewOrders).map_err(OrderServiceError::Forbidden)?;
        Ok(self.orders.payments_of_order(order).await?)
    }

    /// Queues `job`, a copy of the closed order's receipt (rendered by the caller from the
    /// stored receipt, marked as a copy), in a unit of the order: idempotent with the key,
    /// audited (`receipt.reprinted`), announced (`print_job.queued`).
    pub async fn reprint_receipt(
        &self,
        caller: Caller,
        order: OrderId,
        job: crate::print_job::NewPrintJob,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Outcome, OrderServiceError> {
        require(caller.actor, Action::ViewOrders).map_err(OrderServiceError::Forbidden)?;
        let work = Box::new(move |order: &mut Order| {
            if order.status != crate::order::OrderStatus::Closed {
                return Err(OrderError::BalanceDue {
                    balance: order.balance()?,
                });
            }
            let mut effects = Effects::default();
            effects.events.push(events::print_job_queued(&job));
            effects.audit.push(
                NewAuditEntry::new("receipt.reprinted", "order")
                    .actor(Some(caller.actor.id))
                    .terminal(caller.terminal_id)
                    .entity_id(order.id)
                    .after(json!({"print_job_id": job.id, "number": order.number})),
            );
            let id = job.id;
            effects.print_jobs.push(job);
            Ok(WorkOutput {
                change: OrderChange::ReceiptReprinted(id),
                effects,
            })
        });
        let mutation = self
            .orders
            .mutate_order(OrderTarget::Order(order), None, claim, work)
            .await?;
        self.finish(mutation).await
    }

    async fn finish(&self, mutation: Mutation) -> Result<Outcome, OrderServiceError> {
        crate::order::service::finish_mutation(self.bus.as_ref(), mutation).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
