//! Online payments (Pesapal, spec §6) on an order, through the order's unit of work like
//! every other payment ([`crate::payments`]).
//!
//! - **Start**: the order is submitted to the provider first (merchant reference = a payment
//!   id chosen here), then one unit records the payment `pending` with the provider's
//!   tracking id. A pending payment never counts as paid, but it reserves its share of the
//!   balance ([`Order::payable`]): neither a till payment nor another online payment can
//!   take it, so a confirmation never overpays. If the unit refuses (the balance moved in
//!   between) the provider's order is simply never paid: no redirect is shown.
//! - **Confirm**: an IPN (or the poller) names a tracking id and nothing else; the status is
//!   always asked of the provider, and only a completion whose amount *and* currency equal
//!   the payment's completes it. Anything else fails it, with the reason in the audit log and
//!   the `payment.failed` event. Confirming a payment that is no longer pending changes
//!   nothing, so duplicate and late notifications are harmless.
//! - **Poller**: payments still pending after a while are confirmed the same way, and failed
//!   (`timed_out`) once they are older than the timeout.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::approval::require;
use crate::audit::NewAuditEntry;
use crate::error::{GatewayError, StoreError};
use crate::event::NewEvent;
use crate::ids::{OrderId, PaymentId, ShiftId};
use crate::money::Money;
use crate::order::ports::{
    Effects, IdempotencyClaim, Mutation, OrderChange, OrderStore, OrderTarget, WorkOutput,
};
use crate::order::{Caller, Order, OrderError, OrderServiceError, Outcome};
use crate::payment::{Payment, PaymentError, PaymentMethod, PaymentRequest, PaymentStatus};
use crate::payments::{Share, after_payment, share_amount};
use crate::permissions::Action;
use crate::ports::{
    Clock, EventBus, GatewayOrder, GatewayPaymentState, GatewayRedirect, GatewayStatus, PaymentGateway,
};
use crate::shifts::ShiftStore;

/// Why an online payment failed (the `reason` of `payment.failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// The provider reports it failed.
    Failed,
    /// The provider reports it reversed before we heard it completed.
    Reversed,
    /// The provider confirmed another amount or currency than ours: never completed.
    AmountMismatch,
    /// No confirmation within the timeout.
    TimedOut,
    /// Confirmed, but the order can no longer take it (voided, or its total fell below
    /// what is paid): the money must be returned by hand.
    OrderCannotTakeIt,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::Failed => "failed_at_provider",
            FailReason::Reversed => "reversed",
            FailReason::AmountMismatch => "amount_mismatch",
            FailReason::TimedOut => "timed_out",
            FailReason::OrderCannotTakeIt => "order_cannot_take_it",
        }
    }
}

/// What the provider's status means for our payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Complete,
    Fail(FailReason),
}

/// The verdict on `payment` given the provider's `status`; `None` while it is pending. A
/// completion counts only with our exact amount, currency and merchant reference.
pub fn verdict_of(payment: &Payment, status: &GatewayStatus) -> Option<Verdict> {
    match status.state {
        GatewayPaymentState::Pending => None,
        GatewayPaymentState::Failed => Some(Verdict::Fail(FailReason::Failed)),
        GatewayPaymentState::Reversed => Some(Verdict::Fail(FailReason::Reversed)),
        GatewayPaymentState::Completed => {
            let ours = status.amount == payment.amount && status.merchant_reference == payment.id.to_string();
            Some(if ours {
                Verdict::Complete
            } else {
                Verdict::Fail(FailReason::AmountMismatch)
            })
        }
    }
}

/// Records a submitted online payment on `order` (pure, in the order's unit): `pending`,
/// with the provider's tracking id, its amount reserved. Same checks as a till payment.
pub fn start_online_payment(
    order: &mut Order,
    payment_id: PaymentId,
    share: &Share,
    tracking_id: &str,
    caller: Caller,
    shift: ShiftId,
    now: DateTime<Utc>,
) -> Result<WorkOutput, OrderError> {
    let tender = check_online(order, share)?;
    let mut payment = Payment::new(tender, order.id, caller.actor.id, Some(shift), now);
    payment.id = payment_id;
    payment.provider_tracking_id = Some(tracking_id.to_owned());
    order.pending_online.push(payment.clone());
    let payload = json!({
        "payment_id": payment.id,
        "order_id": order.id,
        "method": payment.method.as_str(),
        "amount": payment.amount.minor(),
        "status": payment.status.as_str(),
        "tracking_id": tracking_id,
        "shift_id": shift,
    });
    let mut effects = Effects::default();
    effects.audit.push(
        NewAuditEntry::new("payment.started", "payment")
            .actor(Some(caller.actor.id))
            .terminal(caller.terminal_id)
            .entity_id(payment.id)
            .after(payload.clone()),
    );
    effects
        .events
        .push(NewEvent::new("payment.pending", "payments", payload));
    effects.payments.push(payment.clone());
    Ok(WorkOutput {
        change: OrderChange::PaymentTaken(Box::new(payment)),
        effects,
    })
}

/// The checks of an online payment against `order` as it is: not finished, a share that
/// fits what is payable.
fn check_online(order: &Order, share: &Share) -> Result<crate::payment::Tender, OrderError> {
    if order.status.is_finished() {
        return Err(OrderError::OrderFinished { status: order.status });
    }
    let amount = share_amount(order, share)?;
    let request = PaymentRequest {
        method: PaymentMethod::Pesapal,
        amount,
        tendered: None,
        reference: None,
        tip: None,
    };
    Ok(request.validate(order.payable()?)?)
}

/// Applies the verdict on a pending online payment of `order` (pure, in the order's unit).
/// Refused with `invalid_payment_transition` when the payment is no longer pending (another
/// notification settled it first): nothing changes.
pub fn settle_online_payment(
    order: &mut Order,
    payment_id: PaymentId,
    verdict: Verdict,
    now: DateTime<Utc>,
) -> Result<WorkOutput, OrderError> {
    let Some(index) = order.pending_online.iter().position(|p| p.id == payment_id) else {
        return Err(PaymentError::InvalidTransition {
            from: PaymentStatus::Completed,
            to: "settled again",
        }
        .into());
    };
    let mut payment = order.pending_online.remove(index);
    let mut effects = Effects::default();
    let mut verdict = verdict;
    let mut balance = None;
    if verdict == Verdict::Complete {
        let mut paying = order.clone();
        match paying.record_payment(payment.amount, now) {
            Ok(left) => {
                *order = paying;
                balance = Some(left);
            }
            Err(_) => verdict = Verdict::Fail(FailReason::OrderCannotTakeIt),
        }
    }
    match verdict {
        Verdict::Complete => {
            payment.complete(now)?;
            let balance = balance.unwrap_or_else(|| Money::zero(order.currency));
            let payload = json!({
                "payment_id": payment.id,
                "order_id": order.id,
                "method": payment.method.as_str(),
                "amount": payment.amount.minor(),
                "status": payment.status.as_str(),
                "balance": balance.minor(),
                "shift_id": payment.shift_id,
            });
            effects.audit.push(
                NewAuditEntry::new("payment.completed", "payment")
                    .actor(None)
                    .entity_id(payment.id)
                    .after(payload.clone()),
            );
            effects
                .events
                .push(NewEvent::new("payment.completed", "payments", payload));
            after_payment(order, balance, now, &mut effects)?;
        }
        Verdict::Fail(reason) => {
            payment.fail()?;
            let payload = json!({
                "payment_id": payment.id,
                "order_id": order.id,
                "method": payment.method.as_str(),
                "amount": payment.amount.minor(),
                "status": payment.status.as_str(),
                "reason": reason.as_str(),
            });
            effects.audit.push(
                NewAuditEntry::new("payment.failed", "payment")
                    .actor(None)
                    .entity_id(payment.id)
                    .after(payload.clone()),
            );
            effects
                .events
                .push(NewEvent::new("payment.failed", "payments", payload));
        }
    }
    effects.payments.push(payment.clone());
    Ok(WorkOutput {
        change: OrderChange::PaymentTaken(Box::new(payment)),
        effects,
    })
}

/// What the provider told us beyond the status, kept on the payment (a refund names the
/// confirmation code).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProviderDetails {
    pub confirmation_code: Option<String>,
    pub payment_method: Option<String>,
    pub failure_reason: Option<String>,
    pub redirect_url: Option<String>,
}

/// Reads and notes of online payments outside the order's unit (the unit writes their
/// status).
#[async_trait]
pub trait OnlinePaymentStore: Send + Sync {
    async fn payment_by_tracking_id(&self, tracking_id: &str) -> Result<Option<Payment>, StoreError>;
    /// Online payments still pending that were created before `created_before`, oldest first.
    async fn pending_online(
        &self,
        created_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Payment>, StoreError>;
    /// Stores the provider's details on the payment (fields left `None` are kept).
    async fn record_provider_details(
        &self,
        payment: PaymentId,
        details: ProviderDetails,
    ) -> Result<(), StoreError>;
}

/// A new online payment as the terminal asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartOnlineCmd {
    pub order: OrderId,
    pub share: Share,
    pub customer_phone: Option<String>,
    pub customer_email: Option<String>,
}

/// Why an online payment could not start (besides the order's own refusals).
#[derive(Debug, thiserror::Error)]
pub enum OnlineError {
    #[error(transparent)]
    Service(#[from] OrderServiceError),
    /// The provider refused or could not be reached: nothing was written.
    #[error(transparent)]
    Gateway(GatewayError),
}

/// What a notification (or the poller) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// No payment has this tracking id (or the reference names another payment).
    Unknown,
    /// Settled before: nothing changed.
    AlreadySettled(PaymentStatus),
    /// The provider still reports it pending.
    StillPending,
    Completed,
    Failed(FailReason),
}

/// What one round of the poller did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    pub checked: usize,
    pub completed: usize,
    pub failed: usize,
    pub timed_out: usize,
    /// Payments that could not be confirmed this round (tried again next round).
    pub errors: Vec<String>,
}

/// Timing of the poller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollerConfig {
    /// How often it looks.
    pub interval: Duration,
    /// A payment with no notification for this long is asked about.
    pub confirm_after: Duration,
    /// A payment still pending after this long fails (`timed_out`).
    pub timeout: Duration,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            confirm_after: Duration::from_secs(60),
            timeout: Duration::from_secs(15 * 60),
        }
    }
}

/// The online payment use cases.
pub struct OnlinePaymentService {
    orders: Arc<dyn OrderStore>,
    shifts: Arc<dyn ShiftStore>,
    online: Arc<dyn OnlinePaymentStore>,
    gateway: Arc<dyn PaymentGateway>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
    /// Where the customer's browser returns after paying.
    callback_url: String,
}

impl OnlinePaymentService {
    pub fn new(
        orders: Arc<dyn OrderStore>,
        shifts: Arc<dyn ShiftStore>,
        online: Arc<dyn OnlinePaymentStore>,
        gateway: Arc<dyn PaymentGateway>,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
        callback_url: String,
    ) -> Self {
        Self {
            orders,
            shifts,
            online,
            gateway,
            bus,
            clock,
            callback_url,
        }
    }

    pub fn gateway(&self) -> &Arc<dyn PaymentGateway> {
        &self.gateway
    }

    /// Starts an online payment: checks, submits to the provider, records it pending.
    /// `on_submitted` sees the provider's answer before the unit renders its response (the
    /// redirect URL belongs in it). `Ok(None)`: the caller has no open shift.
    pub async fn start(
        &self,
        caller: Caller,
        cmd: StartOnlineCmd,
        claim: Option<IdempotencyClaim>,
        on_submitted: impl FnOnce(&GatewayRedirect),
    ) -> Result<Option<Outcome>, OnlineError> {
        require(caller.actor, Action::TakePayment).map_err(OrderServiceError::Forbidden)?;
        // A retry of a payment already recorded replays its answer and submits nothing.
        if let Some(claim) = &claim
            && let Some(answer) = self
                .orders
                .recorded_answer(claim.staff_id, &claim.key, &claim.fingerprint)
                .await
                .map_err(OrderServiceError::Store)?
        {
            return Ok(Some(self.finish(answer).await?));
        }
        let Some((shift, _)) = self
            .shifts
            .open_shift_of(caller.actor.id)
            .await
            .map_err(OrderServiceError::Store)?
        else {
            return Ok(None);
        };
        let order = self
            .orders
            .get_order(cmd.order)
            .await
            .map_err(OrderServiceError::Store)?;
        let tender = check_online(&order, &cmd.share).map_err(|error| OrderServiceError::Refused {
            error,
            current: Some(Box::new(order.clone())),
            response: None,
        })?;
        let payment_id = PaymentId::new();
        let redirect = self
            .gateway
            .submit_order(GatewayOrder {
                payment_id,
                amount: tender.amount,
                description: format!("Order {} ({})", order.number, order.business_date),
                callback_url: self.callback_url.clone(),
                customer_phone: cmd.customer_phone.clone(),
                customer_email: cmd.customer_email.clone(),
            })
            .await
            .map_err(OnlineError::Gateway)?;
        on_submitted(&redirect);
        let now = self.clock.now();
        let share = cmd.share.clone();
        let tracking = redirect.order_tracking_id.clone();
        let shift = shift.id;
        let work = Box::new(move |order: &mut Order| {
            start_online_payment(order, payment_id, &share, &tracking, caller, shift, now)
        });
        let mutation = self
            .orders
            .mutate_order(OrderTarget::Order(cmd.order), None, claim, work)
            .await
            .map_err(OrderServiceError::Store)?;
        let outcome = self.finish(mutation).await?;
        let details = ProviderDetails {
            redirect_url: Some(redirect.redirect_url.clone()),
            ..ProviderDetails::default()
        };
        // A note only (the stored answer carries the URL): a failure here changes nothing.
        let _ = self.online.record_provider_details(payment_id, details).await;
        Ok(Some(outcome))
    }

    /// Confirms the payment behind `tracking_id` with the provider and applies the verdict.
    /// `merchant_reference`, when given (an IPN's), must name that payment. `Err` is
    /// transient (the provider or the database did not answer): ask to be notified again.
    pub async fn confirm(
        &self,
        tracking_id: &str,
        merchant_reference: Option<&str>,
    ) -> Result<Confirmation, OnlineError> {
        let payment = self
            .online
            .payment_by_tracking_id(tracking_id)
            .await
            .map_err(OrderServiceError::Store)?;
        let Some(payment) = payment else {
            return Ok(Confirmation::Unknown);
        };
        if merchant_reference.is_some_and(|r| r.trim() != payment.id.to_string()) {
            return Ok(Confirmation::Unknown);
        }
        if payment.status != PaymentStatus::Pending {
            return Ok(Confirmation::AlreadySettled(payment.status));
        }
        let status = self
            .gateway
            .transaction_status(tracking_id)
            .await
            .map_err(OnlineError::Gateway)?;
        let Some(verdict) = verdict_of(&payment, &status) else {
            return Ok(Confirmation::StillPending);
        };
        let details = ProviderDetails {
            confirmation_code: status.confirmation_code.clone(),
            payment_method: status.payment_method.clone(),
            ..ProviderDetails::default()
        };
        self.online
            .record_provider_details(payment.id, details)
            .await
            .map_err(OrderServiceError::Store)?;
        self.settle(&payment, verdict).await
    }

    async fn settle(&self, payment: &Payment, verdict: Verdict) -> Result<Confirmation, OnlineError> {
        let now = self.clock.now();
        let payment_id = payment.id;
        let work = Box::new(move |order: &mut Order| settle_online_payment(order, payment_id, verdict, now));
        let mutation = self
            .orders
            .mutate_order(OrderTarget::Order(payment.order_id), None, None, work)
            .await
            .map_err(OrderServiceError::Store)?;
        match self.finish(mutation).await {
            Ok(Outcome::Applied(applied)) => {
                let OrderChange::PaymentTaken(settled) = &applied.change else {
                    return Ok(Confirmation::StillPending);
                };
                if settled.status == PaymentStatus::Completed {
                    return Ok(Confirmation::Completed);
                }
                let reason = applied
                    .events
                    .iter()
                    .find(|e| e.event_type == "payment.failed")
                    .and_then(|e| e.payload["reason"].as_str())
                    .map(reason_of)
                    .unwrap_or(FailReason::Failed);
                let details = ProviderDetails {
                    failure_reason: Some(reason.as_str().to_owned()),
                    ..ProviderDetails::default()
                };
                // A note beside the audit entry and the event, which carry the reason too.
                let _ = self.online.record_provider_details(payment_id, details).await;
                Ok(Confirmation::Failed(reason))
            }
            Ok(Outcome::Replayed(_)) => Ok(Confirmation::AlreadySettled(PaymentStatus::Completed)),
            // Settled by a concurrent notification in the meantime.
            Err(OrderServiceError::Refused {
                error: OrderError::Payment(PaymentError::InvalidTransition { .. }),
                ..
            }) => Ok(Confirmation::AlreadySettled(PaymentStatus::Completed)),
            Err(error) => Err(error.into()),
        }
    }

    /// One round of the poller: pending payments older than `confirm_after` are asked about;
    /// those still pending after `timeout` fail. Reports what it did, for the log.
    pub async fn poll_once(&self, config: PollerConfig) -> Result<PollReport, StoreError> {
        let now = self.clock.now();
        let quiet =
            chrono::Duration::from_std(config.confirm_after).unwrap_or_else(|_| chrono::Duration::zero());
        let timeout = chrono::Duration::from_std(config.timeout).unwrap_or(chrono::Duration::MAX);
        let pending = self.online.pending_online(now - quiet, 100).await?;
        let mut report = PollReport::default();
        for payment in pending {
            report.checked += 1;
            let outcome = match payment.provider_tracking_id.as_deref() {
                Some(tracking) => self.confirm(tracking, None).await,
                None => Ok(Confirmation::StillPending),
            };
            match outcome {
                Ok(Confirmation::Completed) => report.completed += 1,
                Ok(Confirmation::Failed(_)) => report.failed += 1,
                Ok(Confirmation::StillPending) | Err(OnlineError::Gateway(_))
                    if now - payment.created_at >= timeout =>
                {
                    match self.settle(&payment, Verdict::Fail(FailReason::TimedOut)).await {
                        Ok(Confirmation::Failed(_)) => report.timed_out += 1,
                        Ok(_) => {}
                        Err(error) => report.errors.push(format!("{}: {error}", payment.id)),
                    }
                }
                Ok(_) => {}
                Err(error) => report.errors.push(format!("{}: {error}", payment.id)),
            }
        }
        Ok(report)
    }

    async fn finish(&self, mutation: Mutation) -> Result<Outcome, OrderServiceError> {
        crate::order::service::finish_mutation(self.bus.as_ref(), mutation).await
    }
}

fn reason_of(raw: &str) -> FailReason {
    [
        FailReason::Failed,
        FailReason::Reversed,
        FailReason::AmountMismatch,
        FailReason::TimedOut,
        FailReason::OrderCannotTakeIt,
    ]
    .into_iter()
    .find(|r| r.as_str() == raw)
    .unwrap_or(FailReason::Failed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::approval::Actor;
    use crate::ids::{ProductId, StaffId, TableId};
    use crate::money::Currency;
    use crate::order::{NewOrder, NewOrderItem, OrderType};
    use crate::payments::{PayCmd, take_payment};
    use crate::permissions::Role;
    use crate::settings::Settings;
    use crate::staff::Station;
    use crate::totals::Pricing;
    use crate::validate::{Label, Quantity};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).single().unwrap()
    }

    fn caller() -> Caller {
        Caller::new(Actor::new(StaffId::new(), Role::Cashier), None)
    }

    /// A dine-in order of one 10,000 UGX dish, sent.
    fn order() -> Order {
        let mut order = Order::new(
            NewOrder {
                number: 3,
                business_date: now().date_naive(),
                order_type: OrderType::DineIn,
                table_id: Some(TableId::new()),
                staff_id: StaffId::new(),
                terminal_id: None,
                shift_id: None,
                preparation_notes: None,
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
                    unit_price: Money::new(10_000, Currency::Ugx),
                    quantity: Quantity::parse("quantity", 1).unwrap(),
                    modifiers: vec![],
                    notes: None,
                    station: Some(Station::Kitchen),
                    seat: None,
                    course: None,
                },
                now(),
            )
            .unwrap();
        order
    }

    fn started(order: &mut Order, share: Share) -> Payment {
        let output = start_online_payment(
            order,
            PaymentId::new(),
            &share,
            "trk-1",
            caller(),
            ShiftId::new(),
            now(),
        )
        .unwrap();
        let OrderChange::PaymentTaken(payment) = output.change else {
            panic!("{:?}", output.change)
        };
        assert_eq!(output.effects.payments, vec![(*payment).clone()]);
        assert_eq!(output.effects.events[0].event_type, "payment.pending");
        *payment
    }

    fn status(state: GatewayPaymentState, amount: Money, reference: &str) -> GatewayStatus {
        GatewayStatus {
            state,
            amount,
            payment_method: Some("MTN".to_owned()),
            confirmation_code: Some("CONF-1".to_owned()),
            merchant_reference: reference.to_owned(),
            description: None,
        }
    }

    #[test]
    fn a_pending_payment_reserves_its_share_without_counting_as_paid() {
        let mut order = order();
        let total = order.balance().unwrap();
        let payment = started(&mut order, Share::Balance);
        assert_eq!(payment.status, PaymentStatus::Pending);
        assert_eq!(payment.amount, total);
        assert_eq!(payment.provider_tracking_id.as_deref(), Some("trk-1"));
        assert!(order.paid.is_zero());
        assert_eq!(order.balance().unwrap(), total);
        assert!(order.payable().unwrap().is_zero());

        // Neither cash nor a second online payment can take the reserved balance.
        let cash = PayCmd {
            order: order.id,
            method: PaymentMethod::Cash,
            share: Share::Amount(1),
            tendered: None,
            reference: None,
            tip: None,
        };
        let found = crate::order::ports::Found {
            open_shift: Some(ShiftId::new()),
            payment: None,
        };
        let refused = take_payment(&mut order.clone(), &cash, caller(), &found, now());
        assert!(
            matches!(refused, Err(OrderError::Payment(PaymentError::NothingDue))),
            "{refused:?}"
        );
        let again = start_online_payment(
            &mut order.clone(),
            PaymentId::new(),
            &Share::Amount(1),
            "trk-2",
            caller(),
            ShiftId::new(),
            now(),
        );
        assert!(again.is_err());
    }

    #[test]
    fn a_pending_payment_blocks_voiding_merging_and_shrinking_the_order_below_it() {
        let mut order = order();
        let item = order.items[0].id;
        started(&mut order, Share::Amount(4_000));
        let reason = || crate::validate::Note::parse("customer left").unwrap();
        fn pending<T>(result: Result<T, OrderError>) -> bool {
            matches!(result, Err(OrderError::OnlinePaymentPending { amount }) if amount.minor() == 4_000)
        }
        let before = order.clone();

        assert!(pending(order.void_order(caller().actor, None, reason(), now())));
        assert!(pending(order.void_item(
            item,
            caller().actor,
            None,
            reason(),
            now()
        )));
        let mut other = self::order();
        assert!(pending(other.merge_from(&mut order, now())));
        assert!(pending(order.merge_from(&mut other, now())));
        assert_eq!(order, before, "a refused change leaves the order as it was");

        // Once the payment fails, the order is free to change again.
        let payment = order.pending_online[0].id;
        settle_online_payment(&mut order, payment, Verdict::Fail(FailReason::Failed), now()).unwrap();
        order.void_order(caller().actor, None, reason(), now()).unwrap();
    }

    #[test]
    fn a_confirmed_payment_settles_and_closes_the_order_once() {
        let mut order = order();
        order.send(now()).unwrap();
        let payment = started(&mut order, Share::Balance);
        let reported = status(
            GatewayPaymentState::Completed,
            payment.amount,
            &payment.id.to_string(),
        );
        let verdict = verdict_of(&payment, &reported).unwrap();
        assert_eq!(verdict, Verdict::Complete);

        let output = settle_online_payment(&mut order, payment.id, verdict, now()).unwrap();
        assert_eq!(output.effects.payments[0].status, PaymentStatus::Completed);
        assert!(order.pending_online.is_empty());
        assert!(order.balance().unwrap().is_zero());
        let kinds: Vec<&str> = output
            .effects
            .events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect();
        assert_eq!(kinds[..2], ["payment.completed", "order.paid"]);

        // The same notification again: refused, nothing changes.
        let paid = order.paid;
        let again = settle_online_payment(&mut order, payment.id, Verdict::Complete, now());
        assert!(
            matches!(
                again,
                Err(OrderError::Payment(PaymentError::InvalidTransition { .. }))
            ),
            "{again:?}"
        );
        assert_eq!(order.paid, paid);
    }

    #[test]
    fn only_our_exact_amount_currency_and_reference_complete_a_payment() {
        let mut order = order();
        let payment = started(&mut order, Share::Amount(4_000));
        let ours = payment.id.to_string();
        let mismatch = Some(Verdict::Fail(FailReason::AmountMismatch));
        let check = |state, amount, reference: &str| verdict_of(&payment, &status(state, amount, reference));
        let completed = GatewayPaymentState::Completed;
        assert_eq!(
            check(completed, Money::new(4_000, Currency::Ugx), &ours),
            Some(Verdict::Complete)
        );
        assert_eq!(
            check(completed, Money::new(3_999, Currency::Ugx), &ours),
            mismatch
        );
        assert_eq!(
            check(completed, Money::new(4_000, Currency::Kes), &ours),
            mismatch
        );
        assert_eq!(
            check(completed, Money::new(4_000, Currency::Ugx), "another"),
            mismatch
        );
        let any = Money::new(4_000, Currency::Ugx);
        assert_eq!(check(GatewayPaymentState::Pending, any, &ours), None);
        assert_eq!(
            check(GatewayPaymentState::Failed, any, &ours),
            Some(Verdict::Fail(FailReason::Failed))
        );
        assert_eq!(
            check(GatewayPaymentState::Reversed, any, &ours),
            Some(Verdict::Fail(FailReason::Reversed))
        );
    }

    #[test]
    fn a_failed_payment_frees_its_share() {
        let mut order = order();
        let balance = order.balance().unwrap();
        let payment = started(&mut order, Share::Amount(4_000));
        let output = settle_online_payment(
            &mut order,
            payment.id,
            Verdict::Fail(FailReason::AmountMismatch),
            now(),
        )
        .unwrap();
        assert_eq!(output.effects.payments[0].status, PaymentStatus::Failed);
        let failed = &output.effects.events[0];
        assert_eq!(failed.event_type, "payment.failed");
        assert_eq!(failed.payload["reason"], "amount_mismatch");
        assert!(order.paid.is_zero());
        assert_eq!(order.payable().unwrap(), balance);
    }

    #[test]
    fn a_confirmation_the_order_cannot_take_fails_and_is_flagged() {
        let mut order = order();
        let payment = started(&mut order, Share::Balance);
        // Voiding around a pending payment is refused now; an order voided by an older
        // version, or changed by hand, can still meet a late confirmation.
        let pending = std::mem::take(&mut order.pending_online);
        order
            .void_order(
                Actor::new(StaffId::new(), Role::Manager),
                None,
                crate::validate::Note::parse("customer left").unwrap(),
                now(),
            )
            .unwrap();
        order.pending_online = pending;
        let output = settle_online_payment(&mut order, payment.id, Verdict::Complete, now()).unwrap();
        assert_eq!(output.effects.payments[0].status, PaymentStatus::Failed);
        assert_eq!(output.effects.events[0].payload["reason"], "order_cannot_take_it");
        assert!(order.paid.is_zero());
    }
}
