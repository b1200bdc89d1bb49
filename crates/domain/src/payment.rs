//! Payments and refunds: methods, statuses, cash tendered and change, and the rules that
//! an order is never paid more than its total and a refund never returns more than was paid.
//!
//! Only the amount *applied* to the order counts anywhere (balance, shift cash): tendered
//! and change are what the cashier handled at the drawer, recorded for the receipt.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::approval::{Actor, ApprovalError, approver_for};
use crate::ids::{OrderId, PaymentId, RefundId, ShiftId, StaffId};
use crate::money::{Currency, Money, MoneyError};
use crate::permissions::Action;
use crate::validate::Note;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
    /// MTN Mobile Money, recorded by hand with the transaction reference.
    MtnMomo,
    /// Airtel Money, recorded by hand with the transaction reference.
    AirtelMoney,
    /// Mobile money or card online through Pesapal: pending until Pesapal confirms.
    Pesapal,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 5] = [
        PaymentMethod::Cash,
        PaymentMethod::Card,
        PaymentMethod::MtnMomo,
        PaymentMethod::AirtelMoney,
        PaymentMethod::Pesapal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Card => "card",
            PaymentMethod::MtnMomo => "mtn_momo",
            PaymentMethod::AirtelMoney => "airtel_money",
            PaymentMethod::Pesapal => "pesapal",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::ValidationError> {
        PaymentMethod::ALL
            .into_iter()
            .find(|m| m.as_str() == raw.trim())
            .ok_or_else(|| {
                crate::ValidationError::new(
                    "method",
                    "must be one of cash, card, mtn_momo, airtel_money, pesapal",
                )
            })
    }

    pub fn is_cash(self) -> bool {
        self == PaymentMethod::Cash
    }

    /// Mobile money recorded by hand is only traceable through the provider's reference.
    pub fn requires_reference(self) -> bool {
        matches!(self, PaymentMethod::MtnMomo | PaymentMethod::AirtelMoney)
    }

    /// Online payments start pending and complete when the provider confirms them.
    pub fn is_online(self) -> bool {
        self == PaymentMethod::Pesapal
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Completed,
    Failed,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 5] = [
        PaymentStatus::Pending,
        PaymentStatus::Completed,
        PaymentStatus::Failed,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Completed => "completed",
            PaymentStatus::Failed => "failed",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::ValidationError> {
        PaymentStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| crate::ValidationError::new("status", "unknown payment status"))
    }

    /// Money was received (some of it may have been refunded since).
    pub fn received(self) -> bool {
        matches!(
            self,
            PaymentStatus::Completed | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaymentError {
    #[error("amount must be greater than zero")]
    NonPositiveAmount,
    #[error("amount in {found} where the order is in {expected}")]
    CurrencyMismatch { expected: Currency, found: Currency },
    #[error("nothing is due on this order")]
    NothingDue,
    #[error("payment of {amount} exceeds the balance of {balance}")]
    Overpayment { balance: Money, amount: Money },
    #[error("tendered {tendered} is less than the amount {amount}")]
    TenderedTooLittle { amount: Money, tendered: Money },
    #[error("tendered amounts apply to cash payments only")]
    TenderedNotCash,
    #[error("{} payments need the provider's transaction reference", .method.as_str())]
    ReferenceRequired { method: PaymentMethod },
    #[error("reference must be 1 to 100 printable characters")]
    InvalidReference,
    #[error("a {} payment cannot become {to}", .from.as_str())]
    InvalidTransition { from: PaymentStatus, to: &'static str },
    #[error("a {} payment cannot be refunded", .status.as_str())]
    NotRefundable { status: PaymentStatus },
    #[error("refund of {amount} exceeds the {refundable} still refundable")]
    RefundExceedsRemaining { refundable: Money, amount: Money },
    #[error("a reason is required")]
    ReasonRequired,
    #[error("no such payment on this order")]
    UnknownPayment,
    #[error("online payments are refunded through the payment provider, which is not configured")]
    GatewayRefundUnavailable,
    #[error("the payment provider refused the refund: {0}")]
    GatewayRejected(String),
    #[error("the payment provider could not be asked: {0}")]
    GatewayFailed(String),
    #[error("a tip must not be negative")]
    NegativeTip,
    #[error("open a shift before taking or refunding cash")]
    NoOpenShift,
    #[error("mobile money paid online is refunded in full only ({refundable}), as the provider allows")]
    PartialMobileMoneyRefund { refundable: Money },
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error("amount overflows the representable range")]
    Overflow,
}

impl PaymentError {
    /// Stable machine-readable code for problem bodies.
    pub fn code(&self) -> &'static str {
        match self {
            PaymentError::NonPositiveAmount => "non_positive_amount",
            PaymentError::CurrencyMismatch { .. } => "currency_mismatch",
            PaymentError::NothingDue => "nothing_due",
            PaymentError::Overpayment { .. } => "overpayment",
            PaymentError::TenderedTooLittle { .. } => "tendered_too_little",
            PaymentError::TenderedNotCash => "tendered_not_cash",
            PaymentError::ReferenceRequired { .. } => "reference_required",
            PaymentError::InvalidReference => "invalid_reference",
            PaymentError::InvalidTransition { .. } => "invalid_payment_transition",
            PaymentError::NotRefundable { .. } => "not_refundable",
            PaymentError::RefundExceedsRemaining { .. } => "refund_exceeds_remaining",
            PaymentError::ReasonRequired => "reason_required",
            PaymentError::NegativeTip => "negative_tip",
            PaymentError::GatewayRejected(_) => "gateway_rejected",
            PaymentError::GatewayFailed(_) => "gateway_error",
            PaymentError::UnknownPayment => "payment_not_found",
            PaymentError::GatewayRefundUnavailable => "gateway_unavailable",
            PaymentError::NoOpenShift => "no_open_shift",
            PaymentError::PartialMobileMoneyRefund { .. } => "partial_mobile_money_refund",
            PaymentError::Approval(e) => e.code(),
            PaymentError::Overflow => "amount_overflow",
        }
    }
}

impl From<crate::error::GatewayError> for PaymentError {
    fn from(err: crate::error::GatewayError) -> Self {
        use crate::error::GatewayError;
        match err {
            GatewayError::NotConfigured => PaymentError::GatewayRefundUnavailable,
            GatewayError::Rejected { code, message } => {
                PaymentError::GatewayRejected(format!("{code}: {message}"))
            }
            GatewayError::Unreachable(e) | GatewayError::Protocol(e) => PaymentError::GatewayFailed(e),
        }
    }
}

impl From<MoneyError> for PaymentError {
    fn from(err: MoneyError) -> Self {
        match err {
            MoneyError::CurrencyMismatch(expected, found) => {
                PaymentError::CurrencyMismatch { expected, found }
            }
            MoneyError::Negative => PaymentError::NonPositiveAmount,
            MoneyError::Overflow | MoneyError::UnknownCurrency(_) => PaymentError::Overflow,
        }
    }
}

fn same_currency(expected: Money, found: Money) -> Result<(), PaymentError> {
    if expected.currency() == found.currency() {
        Ok(())
    } else {
        Err(PaymentError::CurrencyMismatch {
            expected: expected.currency(),
            found: found.currency(),
        })
    }
}

/// The one overpayment rule: a positive amount no larger than what is still due.
///
/// With online payments still pending, pass the balance minus those pending amounts, so
/// that two payments racing for the same balance cannot both be accepted.
pub fn check_payment_fits(balance: Money, amount: Money) -> Result<(), PaymentError> {
    same_currency(balance, amount)?;
    if amount.minor() <= 0 {
        return Err(PaymentError::NonPositiveAmount);
    }
    if balance.minor() <= 0 {
        return Err(PaymentError::NothingDue);
    }
    if amount.minor() > balance.minor() {
        return Err(PaymentError::Overpayment { balance, amount });
    }
    Ok(())
}

/// Change to hand back when `tendered` is given for `amount`.
pub fn cash_change(amount: Money, tendered: Money) -> Result<Money, PaymentError> {
    same_currency(amount, tendered)?;
    if tendered.minor() < amount.minor() {
        return Err(PaymentError::TenderedTooLittle { amount, tendered });
    }
    Ok(tendered.checked_sub(amount)?)
}

/// A payment as the terminal asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    pub method: PaymentMethod,
    /// What is applied to the order.
    pub amount: Money,
    /// Cash handed over, if more than `amount`; defaults to `amount` (plus the tip).
    pub tendered: Option<Money>,
    pub reference: Option<String>,
    /// Left for the staff on top of `amount`: never applied to the order's balance.
    pub tip: Option<Money>,
}

/// A payment request checked against the balance, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tender {
    pub method: PaymentMethod,
    pub amount: Money,
    pub tendered: Option<Money>,
    pub change: Option<Money>,
    pub reference: Option<String>,
    /// Zero when none was left.
    pub tip: Money,
    /// `Pending` for online payments, `Completed` for everything recorded at the till.
    pub status: PaymentStatus,
}

fn parse_reference(raw: Option<&str>) -> Result<Option<String>, PaymentError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(r) if r.chars().count() <= 100 && !r.chars().any(char::is_control) => Ok(Some(r.to_owned())),
        Some(_) => Err(PaymentError::InvalidReference),
    }
}

impl PaymentRequest {
    /// Checks the request against what is still due (`balance`, see [`check_payment_fits`]).
    pub fn validate(&self, balance: Money) -> Result<Tender, PaymentError> {
        check_payment_fits(balance, self.amount)?;
        let tip = self.tip.unwrap_or(Money::zero(self.amount.currency()));
        same_currency(self.amount, tip)?;
        if tip.is_negative() {
            return Err(PaymentError::NegativeTip);
        }
        let reference = parse_reference(self.reference.as_deref())?;
        if self.method.requires_reference() && reference.is_none() {
            return Err(PaymentError::ReferenceRequired { method: self.method });
        }
        let (tendered, change) = match (self.method, self.tendered) {
            (PaymentMethod::Cash, tendered) => {
                // A cash tip is handed over with the bill: the change is what is left of
                // the tendered cash after both.
                let due = self.amount.checked_add(tip)?;
                let tendered = tendered.unwrap_or(due);
                (Some(tendered), Some(cash_change(due, tendered)?))
            }
            (_, None) => (None, None),
            (_, Some(_)) => return Err(PaymentError::TenderedNotCash),
        };
        Ok(Tender {
            method: self.method,
            amount: self.amount,
            tendered,
            change,
            reference,
            tip,
            status: if self.method.is_online() {
                PaymentStatus::Pending
            } else {
                PaymentStatus::Completed
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub amount: Money,
    pub tendered: Option<Money>,
    pub change: Option<Money>,
    /// Left for the staff on top of `amount`: recorded apart from sales, never applied to
    /// the balance. A cash tip stays in the drawer (see [`crate::shift::CashFlows`]).
    pub tip: Money,
    /// Hand-entered provider reference (mobile money receipt number, card slip).
    pub reference: Option<String>,
    /// Pesapal's `order_tracking_id`.
    pub provider_tracking_id: Option<String>,
    /// Sum of refunds against this payment.
    pub refunded: Money,
    pub staff_id: StaffId,
    pub shift_id: Option<ShiftId>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl Payment {
    pub fn new(
        tender: Tender,
        order_id: OrderId,
        staff_id: StaffId,
        shift_id: Option<ShiftId>,
        now: DateTime<Utc>,
    ) -> Payment {
        Payment {
            id: PaymentId::new(),
            order_id,
            method: tender.method,
            status: tender.status,
            amount: tender.amount,
            tendered: tender.tendered,
            change: tender.change,
            tip: tender.tip,
            reference: tender.reference,
            provider_tracking_id: None,
            refunded: Money::zero(tender.amount.currency()),
            staff_id,
            shift_id,
            created_at: now,
            completed_at: (tender.status == PaymentStatus::Completed).then_some(now),
        }
    }

    /// What this payment contributes to the order's paid amount now.
    pub fn net_received(&self) -> Result<Money, PaymentError> {
        if self.status.received() {
            Ok(self.amount.checked_sub(self.refunded)?)
        } else {
            Ok(Money::zero(self.amount.currency()))
        }
    }

    /// What can still be refunded.
    pub fn refundable(&self) -> Result<Money, PaymentError> {
        self.net_received()
    }

    /// The provider confirmed a pending payment. Completing twice is a no-op, because IPNs repeat.
    pub fn complete(&mut self, now: DateTime<Utc>) -> Result<(), PaymentError> {
        match self.status {
            PaymentStatus::Pending => {
                self.status = PaymentStatus::Completed;
                self.completed_at = Some(now);
                Ok(())
            }
            PaymentStatus::Completed => Ok(()),
            from => Err(PaymentError::InvalidTransition {
                from,
                to: "completed",
            }),
        }
    }

    /// The provider reported a failure of a pending payment. Failing twice is a no-op.
    pub fn fail(&mut self) -> Result<(), PaymentError> {
        match self.status {
            PaymentStatus::Pending => {
                self.status = PaymentStatus::Failed;
                Ok(())
            }
            PaymentStatus::Failed => Ok(()),
            from => Err(PaymentError::InvalidTransition { from, to: "failed" }),
        }
    }

    /// Refunds `amount` of this payment: manager-approved, with a reason, never more than
    /// is still refundable. Updates the payment and returns the refund to store.
    pub fn refund(
        &mut self,
        request: RefundRequest,
        actor: Actor,
        approval: Option<Actor>,
        now: DateTime<Utc>,
    ) -> Result<Refund, PaymentError> {
        if !self.status.received() || self.status == PaymentStatus::Refunded {
            return Err(PaymentError::NotRefundable { status: self.status });
        }
        same_currency(self.amount, request.amount)?;
        if request.amount.minor() <= 0 {
            return Err(PaymentError::NonPositiveAmount);
        }
        let refundable = self.refundable()?;
        if request.amount.minor() > refundable.minor() {
            return Err(PaymentError::RefundExceedsRemaining {
                refundable,
                amount: request.amount,
            });
        }
        if request.reason.as_str().is_empty() {
            return Err(PaymentError::ReasonRequired);
        }
        let approved_by = approver_for(actor, approval, Action::RefundPayment)?;
        self.refunded = self.refunded.checked_add(request.amount)?;
        self.status = if self.refunded == self.amount {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::PartiallyRefunded
        };
        Ok(Refund {
            id: RefundId::new(),
            payment_id: self.id,
            order_id: self.order_id,
            method: self.method,
            amount: request.amount,
            reason: request.reason,
            staff_id: actor.id,
            approved_by,
            shift_id: request.shift_id,
            created_at: now,
        })
    }
}

/// Whether the provider's payment method name (Pesapal's `payment_method`) is mobile money.
pub fn is_mobile_money(provider_method: &str) -> bool {
    let name = provider_method.to_ascii_lowercase();
    ["mobile", "momo", "mpesa", "m-pesa", "airtel", "mtn", "tigo"]
        .iter()
        .any(|word| name.contains(word))
}

/// What the provider allows of a refund of an online payment, checked before asking it:
/// one refund per payment, and mobile money only in full.
pub fn check_gateway_refund(
    payment: &Payment,
    amount: Money,
    provider_method: Option<&str>,
) -> Result<(), PaymentError> {
    if !payment.refunded.is_zero() {
        return Err(PaymentError::NotRefundable {
            status: payment.status,
        });
    }
    let refundable = payment.refundable()?;
    if provider_method.is_some_and(is_mobile_money) && amount != refundable {
        return Err(PaymentError::PartialMobileMoneyRefund { refundable });
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub amount: Money,
    pub reason: Note,
    /// The refunding cashier's open shift: cash refunds leave that drawer.
    pub shift_id: Option<ShiftId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub payment_id: PaymentId,
    pub order_id: OrderId,
    /// The original payment's method: a cash refund leaves the drawer.
    pub method: PaymentMethod,
    pub amount: Money,
    pub reason: Note,
    pub staff_id: StaffId,
    pub approved_by: StaffId,
    pub shift_id: Option<ShiftId>,
    pub created_at: DateTime<Utc>,
}

/// Completed payments minus refunds: the order's `paid`.
pub fn net_paid(currency: Currency, payments: &[Payment]) -> Result<Money, PaymentError> {
    payments.iter().try_fold(Money::zero(currency), |acc, p| {
        Ok(acc.checked_add(p.net_received()?)?)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::permissions::Role;

    fn ugx(minor: i64) -> Money {
        Money::new(minor, Currency::Ugx)
    }

    fn request(method: PaymentMethod, amount: i64) -> PaymentRequest {
        PaymentRequest {
            method,
            amount: ugx(amount),
            tendered: None,
            reference: None,
            tip: None,
        }
    }

    fn completed_cash(amount: i64) -> Payment {
        let tender = request(PaymentMethod::Cash, amount)
            .validate(ugx(amount))
            .unwrap();
        Payment::new(tender, OrderId::new(), StaffId::new(), None, Utc::now())
    }

    fn manager() -> Actor {
        Actor::new(StaffId::new(), Role::Manager)
    }

    fn refund_of(amount: i64) -> RefundRequest {
        RefundRequest {
            amount: ugx(amount),
            reason: Note::parse("cold coffee").unwrap(),
            shift_id: None,
        }
    }

    #[test]
    fn payments_never_exceed_the_balance() {
        assert_eq!(check_payment_fits(ugx(30_000), ugx(30_000)), Ok(()));
        assert_eq!(check_payment_fits(ugx(30_000), ugx(10_000)), Ok(()));
        assert_eq!(
            check_payment_fits(ugx(30_000), ugx(30_001)),
            Err(PaymentError::Overpayment {
                balance: ugx(30_000),
                amount: ugx(30_001)
            })
        );
        assert_eq!(check_payment_fits(ugx(0), ugx(1)), Err(PaymentError::NothingDue));
        assert_eq!(
            check_payment_fits(ugx(10), ugx(0)),
            Err(PaymentError::NonPositiveAmount)
        );
        assert_eq!(
            check_payment_fits(ugx(10), ugx(-5)),
            Err(PaymentError::NonPositiveAmount)
        );
        assert_eq!(
            check_payment_fits(ugx(10), Money::new(5, Currency::Kes)).map_err(|e| e.code()),
            Err("currency_mismatch")
        );
    }

    #[test]
    fn cash_change_is_tendered_minus_amount() {
        assert_eq!(cash_change(ugx(30_000), ugx(50_000)), Ok(ugx(20_000)));
        assert_eq!(cash_change(ugx(30_000), ugx(30_000)), Ok(ugx(0)));
        assert_eq!(
            cash_change(ugx(30_000), ugx(20_000)),
            Err(PaymentError::TenderedTooLittle {
                amount: ugx(30_000),
                tendered: ugx(20_000)
            })
        );
    }

    #[test]
    fn cash_requests_record_tendered_and_change_but_apply_the_amount() {
        let mut r = request(PaymentMethod::Cash, 30_000);
        r.tendered = Some(ugx(50_000));
        let t = r.validate(ugx(45_000)).unwrap();
        assert_eq!(t.amount, ugx(30_000));
        assert_eq!(t.tendered, Some(ugx(50_000)));
        assert_eq!(t.change, Some(ugx(20_000)));
        assert_eq!(t.status, PaymentStatus::Completed);
        let exact = request(PaymentMethod::Cash, 5_000).validate(ugx(5_000)).unwrap();
        assert_eq!((exact.tendered, exact.change), (Some(ugx(5_000)), Some(ugx(0))));
    }

    #[test]
    fn non_cash_rules() {
        let mut card = request(PaymentMethod::Card, 1_000);
        card.tendered = Some(ugx(2_000));
        assert_eq!(card.validate(ugx(1_000)), Err(PaymentError::TenderedNotCash));
        let momo = request(PaymentMethod::MtnMomo, 1_000);
        assert_eq!(
            momo.validate(ugx(1_000)),
            Err(PaymentError::ReferenceRequired {
                method: PaymentMethod::MtnMomo
            })
        );
        let momo = PaymentRequest {
            reference: Some(" MP240101.1234 ".into()),
            ..momo
        };
        assert_eq!(
            momo.validate(ugx(1_000)).unwrap().reference.as_deref(),
            Some("MP240101.1234")
        );
        let bad = PaymentRequest {
            reference: Some("x".repeat(101)),
            ..request(PaymentMethod::Card, 1_000)
        };
        assert_eq!(bad.validate(ugx(1_000)), Err(PaymentError::InvalidReference));
        let online = request(PaymentMethod::Pesapal, 1_000)
            .validate(ugx(1_000))
            .unwrap();
        assert_eq!(online.status, PaymentStatus::Pending);
        assert_eq!(online.change, None);
    }

    #[test]
    fn pending_payments_complete_or_fail_once() {
        let tender = request(PaymentMethod::Pesapal, 1_000)
            .validate(ugx(1_000))
            .unwrap();
        let mut p = Payment::new(tender, OrderId::new(), StaffId::new(), None, Utc::now());
        assert_eq!(p.net_received(), Ok(ugx(0)));
        assert_eq!(p.completed_at, None);
        let mut failed = p.clone();
        p.complete(Utc::now()).unwrap();
        assert_eq!(p.complete(Utc::now()), Ok(()), "repeated IPNs are harmless");
        assert_eq!(p.net_received(), Ok(ugx(1_000)));
        assert_eq!(
            p.fail(),
            Err(PaymentError::InvalidTransition {
                from: PaymentStatus::Completed,
                to: "failed"
            })
        );
        failed.fail().unwrap();
        assert_eq!(failed.fail(), Ok(()));
        assert_eq!(failed.net_received(), Ok(ugx(0)));
        assert_eq!(
            failed.complete(Utc::now()).map_err(|e| e.code()),
            Err("invalid_payment_transition")
        );
    }

    #[test]
    fn refunds_stay_within_what_was_paid() {
        let mut p = completed_cash(30_000);
        let r = p.refund(refund_of(10_000), manager(), None, Utc::now()).unwrap();
        assert_eq!(r.amount, ugx(10_000));
        assert_eq!(p.status, PaymentStatus::PartiallyRefunded);
        assert_eq!(p.refundable(), Ok(ugx(20_000)));
        assert_eq!(
            p.refund(refund_of(20_001), manager(), None, Utc::now()),
            Err(PaymentError::RefundExceedsRemaining {
                refundable: ugx(20_000),
                amount: ugx(20_001)
            })
        );
        p.refund(refund_of(20_000), manager(), None, Utc::now()).unwrap();
        assert_eq!(p.status, PaymentStatus::Refunded);
        assert_eq!(p.net_received(), Ok(ugx(0)));
        assert_eq!(
            p.refund(refund_of(1), manager(), None, Utc::now()),
            Err(PaymentError::NotRefundable {
                status: PaymentStatus::Refunded
            })
        );
    }

    #[test]
    fn refunds_need_approval_a_reason_and_a_received_payment() {
        let cashier = Actor::new(StaffId::new(), Role::Cashier);
        let mut p = completed_cash(30_000);
        assert_eq!(
            p.refund(refund_of(1_000), cashier, None, Utc::now())
                .map_err(|e| e.code()),
            Err("approval_required")
        );
        let boss = manager();
        let r = p
            .refund(refund_of(1_000), cashier, Some(boss), Utc::now())
            .unwrap();
        assert_eq!((r.staff_id, r.approved_by), (cashier.id, boss.id));
        let no_reason = RefundRequest {
            reason: Note::parse("").unwrap(),
            ..refund_of(1_000)
        };
        assert_eq!(
            p.refund(no_reason, boss, None, Utc::now()),
            Err(PaymentError::ReasonRequired)
        );
        assert_eq!(
            p.refund(refund_of(0), boss, None, Utc::now()),
            Err(PaymentError::NonPositiveAmount)
        );
        let tender = request(PaymentMethod::Pesapal, 1_000)
            .validate(ugx(1_000))
            .unwrap();
        let mut pending = Payment::new(tender, OrderId::new(), StaffId::new(), None, Utc::now());
        assert_eq!(
            pending.refund(refund_of(1), boss, None, Utc::now()),
            Err(PaymentError::NotRefundable {
                status: PaymentStatus::Pending
            })
        );
    }

    #[test]
    fn net_paid_counts_received_money_minus_refunds() {
        let mut a = completed_cash(30_000);
        a.refund(refund_of(5_000), manager(), None, Utc::now()).unwrap();
        let b = completed_cash(10_000);
        let tender = request(PaymentMethod::Pesapal, 7_000)
            .validate(ugx(7_000))
            .unwrap();
        let pending = Payment::new(tender, OrderId::new(), StaffId::new(), None, Utc::now());
        assert_eq!(net_paid(Currency::Ugx, &[a, b, pending]), Ok(ugx(35_000)));
        assert_eq!(net_paid(Currency::Ugx, &[]), Ok(ugx(0)));
    }

    #[test]
    fn tips_are_apart_from_the_amount_and_cash_tips_are_handed_over_with_it() {
        let mut r = request(PaymentMethod::Cash, 30_000);
        r.tip = Some(ugx(5_000));
        r.tendered = Some(ugx(50_000));
        let t = r.validate(ugx(30_000)).unwrap();
        assert_eq!(
            (t.amount, t.tip, t.change),
            (ugx(30_000), ugx(5_000), Some(ugx(15_000)))
        );
        r.tendered = Some(ugx(32_000));
        assert_eq!(
            r.validate(ugx(30_000)).map_err(|e| e.code()),
            Err("tendered_too_little")
        );
        r.tendered = None;
        assert_eq!(r.validate(ugx(30_000)).unwrap().tendered, Some(ugx(35_000)));
        let mut card = request(PaymentMethod::Card, 1_000);
        card.tip = Some(ugx(-1));
        assert_eq!(card.validate(ugx(1_000)), Err(PaymentError::NegativeTip));
        card.tip = Some(ugx(900));
        let p = Payment::new(
            card.validate(ugx(1_000)).unwrap(),
            OrderId::new(),
            StaffId::new(),
            None,
            Utc::now(),
        );
        assert_eq!(
            (p.amount, p.tip, p.net_received()),
            (ugx(1_000), ugx(900), Ok(ugx(1_000)))
        );
    }

    #[test]
    fn online_mobile_money_is_refunded_in_full_once() {
        let mut p = completed_cash(30_000);
        p.method = PaymentMethod::Pesapal;
        assert_eq!(
            check_gateway_refund(&p, ugx(10_000), Some("MTN Mobile Money")),
            Err(PaymentError::PartialMobileMoneyRefund {
                refundable: ugx(30_000)
            })
        );
        assert_eq!(check_gateway_refund(&p, ugx(30_000), Some("MpesaKE")), Ok(()));
        assert_eq!(check_gateway_refund(&p, ugx(10_000), Some("Visa")), Ok(()));
        p.refund(refund_of(10_000), manager(), None, Utc::now()).unwrap();
        assert_eq!(
            check_gateway_refund(&p, ugx(1_000), Some("Visa")).map_err(|e| e.code()),
            Err("not_refundable")
        );
    }

    #[test]
    fn names_round_trip() {
        for m in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(m.as_str()), Ok(m));
        }
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(s.as_str()), Ok(s));
        }
        assert!(PaymentMethod::parse("bitcoin").is_err());
    }
}
