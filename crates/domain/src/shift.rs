//! Shifts: a cashier's drawer from the counted opening float to the counted close, and the
//! X (any time) and Z (end of business day) reports.
//!
//! Expected cash = float + cash sales − cash refunds + cash in − cash out. Cash sales count
//! the amount *applied* to orders: a customer who hands over 50,000 for a 30,000 bill and
//! gets 20,000 back leaves 30,000 in the drawer, so tendered and change never enter it.
//! A cash tip is handed over with the bill and stays in the drawer until it is paid out
//! (a cash out), so expected cash counts cash tips too: float + cash sales + cash tips −
//! cash refunds + cash in − cash out. Tips are never sales.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::approval::{Actor, ApprovalError, approver_for, require};
use crate::ids::{CashMovementId, ShiftId, StaffId, TerminalId};
use crate::money::{Currency, Money, MoneyError};
use crate::order::{ItemStatus, Order, OrderStatus};
use crate::payment::{Payment, PaymentMethod, PaymentStatus, Refund};
use crate::permissions::Action;
use crate::totals::TotalsError;
use crate::validate::{Note, ValidationError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShiftStatus {
    Open,
    Closed,
}

impl ShiftStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShiftStatus::Open => "open",
            ShiftStatus::Closed => "closed",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "open" => Ok(ShiftStatus::Open),
            "closed" => Ok(ShiftStatus::Closed),
            _ => Err(ValidationError::new("status", "must be open or closed")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CashMovementKind {
    /// Cash put into the drawer (change top-up).
    CashIn,
    /// Cash taken out (a supplier paid from the till, a bank drop).
    CashOut,
}

impl CashMovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CashMovementKind::CashIn => "cash_in",
            CashMovementKind::CashOut => "cash_out",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "cash_in" => Ok(CashMovementKind::CashIn),
            "cash_out" => Ok(CashMovementKind::CashOut),
            _ => Err(ValidationError::new("kind", "must be cash_in or cash_out")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShiftError {
    #[error("the shift is closed")]
    ShiftClosed,
    #[error("amount must be greater than zero")]
    NonPositiveAmount,
    #[error("amount must not be negative")]
    NegativeAmount,
    #[error("amount in {found} where the shift is in {expected}")]
    CurrencyMismatch { expected: Currency, found: Currency },
    #[error("a reason is required")]
    ReasonRequired,
    #[error("{count} shift(s) still open: close them before the Z report")]
    ShiftsStillOpen { count: usize },
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error("amount overflows the representable range")]
    Overflow,
    /// One drawer per person: the staff member already has an open shift.
    #[error("you already have an open shift ({shift_id}): close it first")]
    StaffShiftOpen { shift_id: ShiftId },
    /// One drawer per till: the terminal already has an open shift.
    #[error("this terminal already has an open shift ({shift_id})")]
    TerminalShiftOpen { shift_id: ShiftId },
}

impl ShiftError {
    /// Stable machine-readable code for problem bodies.
    pub fn code(&self) -> &'static str {
        match self {
            ShiftError::ShiftClosed => "shift_closed",
            ShiftError::NonPositiveAmount => "non_positive_amount",
            ShiftError::NegativeAmount => "negative_amount",
            ShiftError::CurrencyMismatch { .. } => "currency_mismatch",
            ShiftError::ReasonRequired => "reason_required",
            ShiftError::ShiftsStillOpen { .. } => "shifts_still_open",
            ShiftError::Approval(e) => e.code(),
            ShiftError::Overflow => "amount_overflow",
            ShiftError::StaffShiftOpen { .. } | ShiftError::TerminalShiftOpen { .. } => "shift_already_open",
        }
    }
}

impl From<MoneyError> for ShiftError {
    fn from(err: MoneyError) -> Self {
        match err {
            MoneyError::CurrencyMismatch(expected, found) => ShiftError::CurrencyMismatch { expected, found },
            MoneyError::Negative => ShiftError::NegativeAmount,
            MoneyError::Overflow | MoneyError::UnknownCurrency(_) => ShiftError::Overflow,
        }
    }
}

impl From<TotalsError> for ShiftError {
    fn from(err: TotalsError) -> Self {
        match err {
            TotalsError::CurrencyMismatch { expected, found } => {
                ShiftError::CurrencyMismatch { expected, found }
            }
            _ => ShiftError::Overflow,
        }
    }
}

fn ensure_currency(currency: Currency, amount: Money) -> Result<(), ShiftError> {
    if amount.currency() == currency {
        Ok(())
    } else {
        Err(ShiftError::CurrencyMismatch {
            expected: currency,
            found: amount.currency(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashMovement {
    pub id: CashMovementId,
    pub kind: CashMovementKind,
    pub amount: Money,
    pub reason: Note,
    pub staff_id: StaffId,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShift {
    pub staff_id: StaffId,
    pub terminal_id: Option<TerminalId>,
    /// Cash counted into the drawer at opening.
    pub opening_float: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    pub id: ShiftId,
    pub staff_id: StaffId,
    pub terminal_id: Option<TerminalId>,
    pub status: ShiftStatus,
    pub opening_float: Money,
    pub movements: Vec<CashMovement>,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<StaffId>,
    pub counted_cash: Option<Money>,
    pub expected_cash: Option<Money>,
    /// counted − expected: negative when cash is missing.
    pub variance: Option<Money>,
    /// Set when the variance was beyond the threshold (the manager who accepted it).
    pub variance_approved_by: Option<StaffId>,
    pub close_note: Option<Note>,
}

/// Cash that went through the drawer by way of payments during the shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashFlows {
    /// Σ amount applied by received cash payments (later refunds are counted separately).
    pub cash_sales: Money,
    /// Σ cash refunds paid out of this drawer.
    pub cash_refunds: Money,
    /// Σ tips left with received cash payments: in the drawer, not sales.
    pub cash_tips: Money,
    /// Σ tips of every received payment of the shift, whatever the method.
    pub tips: Money,
}

impl CashFlows {
    /// Sums the shift's cash payments and cash refunds (the caller passes this shift's rows).
    pub fn from_records(
        currency: Currency,
        payments: &[Payment],
        refunds: &[Refund],
    ) -> Result<Self, ShiftError> {
        Self::from_parts(
            currency,
            payments.iter().map(|p| (p.method, p.status, p.amount, p.tip)),
            refunds.iter().map(|r| (r.method, r.amount)),
        )
    }

    /// The same sums over bare `(method, status, amount, tip)` payment rows and `(method,
    /// amount)` refund rows (the original payment's method), what a store reads for a drawer.
    pub fn from_parts(
        currency: Currency,
        payments: impl IntoIterator<Item = (PaymentMethod, PaymentStatus, Money, Money)>,
        refunds: impl IntoIterator<Item = (PaymentMethod, Money)>,
    ) -> Result<Self, ShiftError> {
        let received: Vec<(PaymentMethod, Money, Money)> = payments
            .into_iter()
            .filter(|(_, status, _, _)| status.received())
            .map(|(method, _, amount, tip)| (method, amount, tip))
            .collect();
        let cash = || received.iter().filter(|(method, _, _)| method.is_cash());
        let cash_sales = Money::sum(currency, cash().map(|(_, amount, _)| *amount))?;
        let cash_tips = Money::sum(currency, cash().map(|(_, _, tip)| *tip))?;
        let tips = Money::sum(currency, received.iter().map(|(_, _, tip)| *tip))?;
        let cash_refunds = Money::sum(
            currency,
            refunds
                .into_iter()
                .filter(|(method, _)| method.is_cash())
                .map(|(_, amount)| amount),
        )?;
        Ok(Self {
            cash_sales,
            cash_refunds,
            cash_tips,
            tips,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashSummary {
    pub opening_float: Money,
    pub cash_sales: Money,
    pub cash_refunds: Money,
    /// Cash tips: in the drawer, not sales.
    pub cash_tips: Money,
    /// Tips of every method taken on the shift (card and mobile money tips are paid out
    /// apart, so only `cash_tips` enter the drawer).
    pub tips: Money,
    pub cash_in: Money,
    pub cash_out: Money,
    /// float + sales + cash tips − refunds + in − out.
    pub expected: Money,
}

/// Closing a shift: the cash counted in the drawer, and who closes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseShift {
    pub counted: Money,
    pub note: Option<Note>,
    pub closer: Actor,
    /// A manager's approval, needed when the variance is beyond the threshold.
    pub approval: Option<Actor>,
    /// `Settings::shift_variance_threshold`.
    pub variance_threshold: Money,
}

/// What closing a shift found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftClosing {
    pub cash: CashSummary,
    pub counted: Money,
    pub variance: Money,
    pub variance_approved_by: Option<StaffId>,
}

/// True when `variance` (either way) is beyond `threshold` and a manager must accept it.
pub fn variance_needs_approval(variance: Money, threshold: Money) -> bool {
    variance.minor().unsigned_abs() > threshold.minor().unsigned_abs()
}

impl Shift {
    pub fn open(new: NewShift, now: DateTime<Utc>) -> Result<Shift, ShiftError> {
        if new.opening_float.is_negative() {
            return Err(ShiftError::NegativeAmount);
        }
        Ok(Shift {
            id: ShiftId::new(),
            staff_id: new.staff_id,
            terminal_id: new.terminal_id,
            status: ShiftStatus::Open,
            opening_float: new.opening_float,
            movements: Vec::new(),
            opened_at: now,
            closed_at: None,
            closed_by: None,
            counted_cash: None,
            expected_cash: None,
            variance: None,
            variance_approved_by: None,
            close_note: None,
        })
    }

    pub fn currency(&self) -> Currency {
        self.opening_float.currency()
    }

    fn ensure_open(&self) -> Result<(), ShiftError> {
        match self.status {
            ShiftStatus::Open => Ok(()),
            ShiftStatus::Closed => Err(ShiftError::ShiftClosed),
        }
    }

    /// The owner acts on their own shift; anyone else needs the right to close any shift.
    fn require_access(&self, actor: Actor, own: Action) -> Result<(), ShiftError> {
        if actor.id == self.staff_id {
            require(actor, own)?;
        } else {
            require(actor, Action::CloseAnyShift)?;
        }
        Ok(())
    }

    /// Records cash put in or taken out of the drawer, with its reason.
    pub fn record_movement(
        &mut self,
        kind: CashMovementKind,
        amount: Money,
        reason: Note,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<&CashMovement, ShiftError> {
        self.ensure_open()?;
        self.require_access(actor, Action::RecordCashMovement)?;
        ensure_currency(self.currency(), amount)?;
        if amount.minor() <= 0 {
            return Err(ShiftError::NonPositiveAmount);
        }
        if reason.as_str().is_empty() {
            return Err(ShiftError::ReasonRequired);
        }
        self.movements.push(CashMovement {
            id: CashMovementId::new(),
            kind,
            amount,
            reason,
            staff_id: actor.id,
            at: now,
        });
        self.movements.last().ok_or(ShiftError::Overflow)
    }

    pub fn cash_summary(&self, flows: &CashFlows) -> Result<CashSummary, ShiftError> {
        let currency = self.currency();
        ensure_currency(currency, flows.cash_sales)?;
        ensure_currency(currency, flows.cash_refunds)?;
        ensure_currency(currency, flows.cash_tips)?;
        ensure_currency(currency, flows.tips)?;
        let movements = |kind| {
            Money::sum(
                currency,
                self.movements.iter().filter(|m| m.kind == kind).map(|m| m.amount),
            )
        };
        let cash_in = movements(CashMovementKind::CashIn)?;
        let cash_out = movements(CashMovementKind::CashOut)?;
        let expected = self
            .opening_float
            .checked_add(flows.cash_sales)?
            .checked_add(flows.cash_tips)?
            .checked_sub(flows.cash_refunds)?
            .checked_add(cash_in)?
            .checked_sub(cash_out)?;
        Ok(CashSummary {
            opening_float: self.opening_float,
            cash_sales: flows.cash_sales,
            cash_refunds: flows.cash_refunds,
            cash_tips: flows.cash_tips,
            tips: flows.tips,
            cash_in,
            cash_out,
            expected,
        })
    }

    /// Closes the shift with the cash counted in the drawer. A variance beyond the threshold
    /// needs a manager: the closer if they are one, else an approver.
    pub fn close(
        &mut self,
        request: CloseShift,
        flows: &CashFlows,
        now: DateTime<Utc>,
    ) -> Result<ShiftClosing, ShiftError> {
        let CloseShift {
            counted,
            note,
            closer,
            approval,
            variance_threshold,
        } = request;
        self.ensure_open()?;
        self.require_access(closer, Action::CloseOwnShift)?;
        ensure_currency(self.currency(), counted)?;
        if counted.is_negative() {
            return Err(ShiftError::NegativeAmount);
        }
        let cash = self.cash_summary(flows)?;
        let variance = counted.checked_sub(cash.expected)?;
        let variance_approved_by = if variance_needs_approval(variance, variance_threshold) {
            Some(approver_for(closer, approval, Action::ApproveSensitive)?)
        } else {
            None
        };
        self.status = ShiftStatus::Closed;
        self.closed_at = Some(now);
        self.closed_by = Some(closer.id);
        self.counted_cash = Some(counted);
        self.expected_cash = Some(cash.expected);
        self.variance = Some(variance);
        self.variance_approved_by = variance_approved_by;
        self.close_note = note;
        Ok(ShiftClosing {
            cash,
            counted,
            variance,
            variance_approved_by,
        })
    }
}

/// The facts of one order a report needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportOrder {
    pub status: OrderStatus,
    pub subtotal: Money,
    pub discount: Money,
    pub service_charge: Money,
    pub tax: Money,
    pub total: Money,
    pub voided_items: u32,
    /// Gross value of the voided items.
    pub voided_amount: Money,
}

impl ReportOrder {
    pub fn from_order(order: &Order) -> Result<Self, ShiftError> {
        let totals = order.totals()?;
        let mut voided_items = 0_u32;
        let mut voided_amount = Money::zero(order.currency);
        for item in order.items.iter().filter(|i| i.status == ItemStatus::Voided) {
            voided_items = voided_items.checked_add(1).ok_or(ShiftError::Overflow)?;
            let gross = item
                .unit_price
                .checked_add(item.modifiers_price()?)?
                .checked_mul(i64::from(item.quantity.get()))?;
            voided_amount = voided_amount.checked_add(gross)?;
        }
        Ok(Self {
            status: order.status,
            subtotal: totals.subtotal,
            discount: totals.discount,
            service_charge: totals.service_charge,
            tax: totals.tax,
            total: totals.total,
            voided_items,
            voided_amount,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethodTotal {
    pub method: PaymentMethod,
    pub count: u32,
    pub amount: Money,
}

/// The figures of an X or Z report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesReport {
    pub currency: Currency,
    pub orders_closed: u32,
    pub orders_open: u32,
    pub orders_voided: u32,
    pub orders_cancelled: u32,
    /// Σ subtotal of closed orders.
    pub gross_sales: Money,
    pub discounts: Money,
    pub service_charge: Money,
    pub tax: Money,
    /// Σ total of closed orders.
    pub net_sales: Money,
    /// Σ total of orders still open (not yet closed, voided or cancelled).
    pub open_total: Money,
    /// Received payments by method (every method listed, zeros included).
    pub payments: Vec<PaymentMethodTotal>,
    pub payments_total: Money,
    /// Refunds by the original payment's method.
    pub refunds: Vec<PaymentMethodTotal>,
    pub refunds_total: Money,
    pub voided_items: u32,
    pub voided_amount: Money,
    /// The drawer, for a shift's report.
    pub cash: Option<CashSummary>,
}

fn add_count(count: &mut u32) -> Result<(), ShiftError> {
    *count = count.checked_add(1).ok_or(ShiftError::Overflow)?;
    Ok(())
}

fn by_method(
    currency: Currency,
    entries: impl Iterator<Item = (PaymentMethod, Money)>,
) -> Result<(Vec<PaymentMethodTotal>, Money), ShiftError> {
    let mut totals: Vec<PaymentMethodTotal> = PaymentMethod::ALL
        .into_iter()
        .map(|method| PaymentMethodTotal {
            method,
            count: 0,
            amount: Money::zero(currency),
        })
        .collect();
    let mut sum = Money::zero(currency);
    for (method, amount) in entries {
        if let Some(t) = totals.iter_mut().find(|t| t.method == method) {
            add_count(&mut t.count)?;
            t.amount = t.amount.checked_add(amount)?;
        }
        sum = sum.checked_add(amount)?;
    }
    Ok((totals, sum))
}

/// Computes a report over the orders, payments and refunds of a shift or business day
/// (the caller selects them) and, for a shift, its drawer.
pub fn sales_report(
    currency: Currency,
    orders: &[ReportOrder],
    payments: &[Payment],
    refunds: &[Refund],
    cash: Option<CashSummary>,
) -> Result<SalesReport, ShiftError> {
    let zero = Money::zero(currency);
    let mut report = SalesReport {
        currency,
        orders_closed: 0,
        orders_open: 0,
        orders_voided: 0,
        orders_cancelled: 0,
        gross_sales: zero,
        discounts: zero,
        service_charge: zero,
        tax: zero,
        net_sales: zero,
        open_total: zero,
        payments: Vec::new(),
        payments_total: zero,
        refunds: Vec::new(),
        refunds_total: zero,
        voided_items: 0,
        voided_amount: zero,
        cash,
    };
    for order in orders {
        report.voided_items = report
            .voided_items
            .checked_add(order.voided_items)
            .ok_or(ShiftError::Overflow)?;
        report.voided_amount = report.voided_amount.checked_add(order.voided_amount)?;
        match order.status {
            OrderStatus::Closed => {
                add_count(&mut report.orders_closed)?;
                report.gross_sales = report.gross_sales.checked_add(order.subtotal)?;
                report.discounts = report.discounts.checked_add(order.discount)?;
                report.service_charge = report.service_charge.checked_add(order.service_charge)?;
                report.tax = report.tax.checked_add(order.tax)?;
                report.net_sales = report.net_sales.checked_add(order.total)?;
            }
            OrderStatus::Voided => add_count(&mut report.orders_voided)?,
            OrderStatus::Cancelled => add_count(&mut report.orders_cancelled)?,
            OrderStatus::Open | OrderStatus::Sent | OrderStatus::Ready | OrderStatus::Served => {
                add_count(&mut report.orders_open)?;
                report.open_total = report.open_total.checked_add(order.total)?;
            }
        }
    }
    let received = payments
        .iter()
        .filter(|p| p.status.received())
        .map(|p| (p.method, p.amount));
    (report.payments, report.payments_total) = by_method(currency, received)?;
    (report.refunds, report.refunds_total) =
        by_method(currency, refunds.iter().map(|r| (r.method, r.amount)))?;
    Ok(report)
}

/// The end-of-day report: numbered by the store, immutable once written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZReport {
    pub number: i64,
    pub business_date: NaiveDate,
    pub generated_at: DateTime<Utc>,
    pub generated_by: StaffId,
    pub report: SalesReport,
}

impl ZReport {
    /// A Z report closes the day's drawers, so every shift must be closed first.
    pub fn new(
        number: i64,
        business_date: NaiveDate,
        report: SalesReport,
        open_shifts: usize,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Result<Self, ShiftError> {
        require(by, Action::RunZReport)?;
        if open_shifts > 0 {
            return Err(ShiftError::ShiftsStillOpen { count: open_shifts });
        }
        Ok(Self {
            number,
            business_date,
            generated_at: now,
            generated_by: by.id,
            report,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ids::OrderId;
    use crate::order::{NewOrder, NewOrderItem, OrderType};
    use crate::payment::{PaymentRequest, RefundRequest};
    use crate::permissions::Role;
    use crate::settings::Settings;
    use crate::staff::Station;
    use crate::totals::Pricing;
    use crate::validate::{Label, Quantity};

    fn ugx(minor: i64) -> Money {
        Money::new(minor, Currency::Ugx)
    }

    fn note(text: &str) -> Note {
        Note::parse(text).unwrap()
    }

    fn open_shift(owner: Actor, float: i64) -> Shift {
        Shift::open(
            NewShift {
                staff_id: owner.id,
                terminal_id: None,
                opening_float: ugx(float),
            },
            Utc::now(),
        )
        .unwrap()
    }

    fn payment(method: PaymentMethod, amount: i64, tendered: Option<i64>) -> Payment {
        let request = PaymentRequest {
            method,
            amount: ugx(amount),
            tendered: tendered.map(ugx),
            reference: Some("REF-1".into()),
            tip: None,
        };
        let tender = request.validate(ugx(amount)).unwrap();
        Payment::new(tender, OrderId::new(), StaffId::new(), None, Utc::now())
    }

    fn flows(sales: i64, refunds: i64) -> CashFlows {
        CashFlows {
            cash_sales: ugx(sales),
            cash_refunds: ugx(refunds),
            cash_tips: ugx(0),
            tips: ugx(0),
        }
    }

    #[test]
    fn cash_tips_stay_in_the_drawer_and_every_tip_is_reported() {
        let cashier = Actor::new(StaffId::new(), Role::Cashier);
        let shift = open_shift(cashier, 10_000);
        let with_tip = |method, amount, tip| {
            let request = PaymentRequest {
                method,
                amount: ugx(amount),
                tendered: None,
                reference: Some("REF-1".into()),
                tip: Some(ugx(tip)),
            };
            Payment::new(
                request.validate(ugx(amount)).unwrap(),
                OrderId::new(),
                StaffId::new(),
                None,
                Utc::now(),
            )
        };
        let cash = with_tip(PaymentMethod::Cash, 20_000, 2_000);
        let momo = with_tip(PaymentMethod::MtnMomo, 5_000, 1_000);
        let flows = CashFlows::from_records(Currency::Ugx, &[cash, momo], &[]).unwrap();
        assert_eq!(
            (flows.cash_sales, flows.cash_tips, flows.tips),
            (ugx(20_000), ugx(2_000), ugx(3_000))
        );
        let summary = shift.cash_summary(&flows).unwrap();
        assert_eq!(summary.expected, ugx(10_000 + 20_000 + 2_000));
        assert_eq!(summary.tips, ugx(3_000));
    }

    #[test]
    fn expected_cash_counts_applied_amounts_not_tendered() {
        let cashier = Actor::new(StaffId::new(), Role::Cashier);
        let manager = Actor::new(StaffId::new(), Role::Manager);
        let mut shift = open_shift(cashier, 50_000);
        // 30,000 paid with 50,000 tendered: 20,000 change goes back out.
        let mut cash = payment(PaymentMethod::Cash, 30_000, Some(50_000));
        let card = payment(PaymentMethod::Card, 12_000, None);
        let refund = cash
            .refund(
                RefundRequest {
                    amount: ugx(5_000),
                    reason: note("wrong order"),
                    shift_id: Some(shift.id),
                },
                manager,
                None,
                Utc::now(),
            )
            .unwrap();
        let flows = CashFlows::from_records(Currency::Ugx, &[cash, card], &[refund]).unwrap();
        assert_eq!(flows, self::flows(30_000, 5_000));
        shift
            .record_movement(
                CashMovementKind::CashIn,
                ugx(10_000),
                note("change top-up"),
                cashier,
                Utc::now(),
            )
            .unwrap();
        shift
            .record_movement(
                CashMovementKind::CashOut,
                ugx(8_000),
                note("charcoal"),
                cashier,
                Utc::now(),
            )
            .unwrap();
        let summary = shift.cash_summary(&flows).unwrap();
        assert_eq!(summary.expected, ugx(50_000 + 30_000 - 5_000 + 10_000 - 8_000));
        assert_eq!((summary.cash_in, summary.cash_out), (ugx(10_000), ugx(8_000)));
    }

    #[test]
    fn closing_computes_variance_and_asks_for_approval_beyond_the_threshold() {
        let cashier = Actor::new(StaffId::new(), Role::Cashier);
        let manager = Actor::new(StaffId::new(), Role::Manager);
        let threshold = ugx(5_000);
        let mut shift = open_shift(cashier, 50_000);

        // 5,000 short is within the threshold: no approval.
        let mut within = shift.clone();
        let closing = within
            .close(
                CloseShift {
                    counted: ugx(95_000),
                    note: None,
                    closer: cashier,
                    approval: None,
                    variance_threshold: threshold,
                },
                &flows(50_000, 0),
                Utc::now(),
            )
            .unwrap();
        assert_eq!(closing.variance, ugx(-5_000));
        assert_eq!(closing.variance_approved_by, None);
        assert_eq!(within.status, ShiftStatus::Closed);
        assert_eq!(within.expected_cash, Some(ugx(100_000)));
        assert_eq!(within.closed_by, Some(cashier.id));

        // 5,001 over is not.
        let before = shift.clone();
        assert_eq!(
            shift
                .close(
                    CloseShift {
                        counted: ugx(105_001),
                        note: None,
                        closer: cashier,
                        approval: None,
                        variance_threshold: threshold
                    },
                    &flows(50_000, 0),
                    Utc::now()
                )
                .map_err(|e| e.code()),
            Err("approval_required")
        );
        assert_eq!(shift, before);
        let closing = shift
            .close(
                CloseShift {
                    counted: ugx(105_001),
                    note: Some(note("tip left in drawer")),
                    closer: cashier,
                    approval: Some(manager),
                    variance_threshold: threshold,
                },
                &flows(50_000, 0),
                Utc::now(),
            )
            .unwrap();
        assert_eq!(closing.variance, ugx(5_001));
        assert_eq!(shift.variance_approved_by, Some(manager.id));
    }

    #[test]
    fn the_state_machine_is_open_then_closed() {
        let cashier = Actor::new(StaffId::new(), Role::Cashier);
        let mut shift = open_shift(cashier, 0);
        assert_eq!(shift.status, ShiftStatus::Open);
        shift
            .close(
                CloseShift {
                    counted: ugx(0),
                    note: None,
                    closer: cashier,
                    approval: None,
                    variance_threshold: ugx(0),
                },
                &flows(0, 0),
                Utc::now(),
            )
            .unwrap();
        assert_eq!(shift.status, ShiftStatus::Closed);
        assert_eq!(
            shift.close(
                CloseShift {
                    counted: ugx(0),
                    note: None,
                    closer: cashier,
                    approval: None,
                    variance_threshold: ugx(0)
                },
                &flows(0, 0),
                Utc::now()
            ),
            Err(ShiftError::ShiftClosed)
        );
        assert_eq!(
            shift
                .record_movement(
                    CashMovementKind::CashIn,
                    ugx(1),
                    note("late"),
                    cashier,
                    Utc::now()
                )
                .map(|m| m.amount),
            Err(ShiftError::ShiftClosed)
        );
    }

    #[test]
    fn who_may_touch_a_shift() {
        let owner = Actor::new(StaffId::new(), Role::Cashier);
        let other_cashier = Actor::new(StaffId::new(), Role::Cashier);
        let manager = Actor::new(StaffId::new(), Role::Manager);
        let mut shift = open_shift(owner, 10_000);
        assert_eq!(
            shift
                .close(
                    CloseShift {
                        counted: ugx(10_000),
                        note: None,
                        closer: other_cashier,
                        approval: None,
                        variance_threshold: ugx(0)
                    },
                    &flows(0, 0),
                    Utc::now()
                )
                .map_err(|e| e.code()),
            Err("not_permitted")
        );
        assert_eq!(
            shift
                .record_movement(
                    CashMovementKind::CashOut,
                    ugx(1),
                    note("x"),
                    other_cashier,
                    Utc::now()
                )
                .map(|m| m.amount)
                .map_err(|e| e.code()),
            Err("not_permitted")
        );
        // A manager closing someone else's exact drawer needs nobody else.
        let closing = shift
            .close(
                CloseShift {
                    counted: ugx(10_000),
                    note: None,
                    closer: manager,
                    approval: None,
                    variance_threshold: ugx(0),
                },
                &flows(0, 0),
                Utc::now(),
            )
            .unwrap();
        assert_eq!(closing.variance, ugx(0));
        assert_eq!(shift.closed_by, Some(manager.id));
    }

    #[test]
    fn bad_amounts_are_refused() {
        let cashier = Actor::new(StaffId::new(), Role::Cashier);
        let negative = NewShift {
            staff_id: cashier.id,
            terminal_id: None,
            opening_float: ugx(-1),
        };
        assert_eq!(Shift::open(negative, Utc::now()), Err(ShiftError::NegativeAmount));
        let mut shift = open_shift(cashier, 0);
        let mut movement = |amount: Money, reason: &str| {
            shift
                .record_movement(
                    CashMovementKind::CashIn,
                    amount,
                    note(reason),
                    cashier,
                    Utc::now(),
                )
                .map(|m| m.amount)
                .map_err(|e| e.code())
        };
        assert_eq!(movement(ugx(0), "x"), Err("non_positive_amount"));
        assert_eq!(movement(ugx(5), ""), Err("reason_required"));
        assert_eq!(
            movement(Money::new(5, Currency::Kes), "x"),
            Err("currency_mismatch")
        );
        assert_eq!(movement(ugx(i64::MAX), "x"), Ok(ugx(i64::MAX)));
        assert_eq!(
            shift.cash_summary(&flows(1, 0)).map_err(|e| e.code()),
            Err("amount_overflow")
        );
        assert_eq!(
            shift
                .close(
                    CloseShift {
                        counted: ugx(-1),
                        note: None,
                        closer: cashier,
                        approval: None,
                        variance_threshold: ugx(0)
                    },
                    &flows(0, 0),
                    Utc::now()
                )
                .map_err(|e| e.code()),
            Err("negative_amount")
        );
    }

    #[test]
    fn variance_threshold_is_symmetric() {
        assert!(!variance_needs_approval(ugx(5_000), ugx(5_000)));
        assert!(!variance_needs_approval(ugx(-5_000), ugx(5_000)));
        assert!(variance_needs_approval(ugx(-5_001), ugx(5_000)));
        assert!(variance_needs_approval(ugx(i64::MIN), ugx(5_000)));
    }

    fn order_with(status_steps: &str) -> Order {
        let mut order = Order::new(
            NewOrder {
                number: 1,
                business_date: Utc::now().date_naive(),
                order_type: OrderType::Takeaway,
                table_id: None,
                staff_id: StaffId::new(),
                terminal_id: None,
                shift_id: None,
                preparation_notes: None,
                currency: Currency::Ugx,
                pricing: Pricing::from_settings(&Settings::defaults("Cafe")),
            },
            Utc::now(),
        )
        .unwrap();
        let item = |price| NewOrderItem {
            product_id: crate::ids::ProductId::new(),
            name: Label::parse("Rolex").unwrap(),
            unit_price: ugx(price),
            quantity: Quantity::parse("quantity", 1).unwrap(),
            modifiers: vec![],
            notes: None,
            station: Some(Station::Kitchen),
            seat: None,
            course: None,
        };
        order.add_item(item(30_000), Utc::now()).unwrap();
        let gone = order.add_item(item(7_000), Utc::now()).unwrap();
        let manager = Actor::new(StaffId::new(), Role::Manager);
        order
            .void_item(gone, manager, None, note("no"), Utc::now())
            .unwrap();
        match status_steps {
            "closed" => {
                order.send(Utc::now()).unwrap();
                order.bump_station(Station::Kitchen, Utc::now()).unwrap();
                order.record_payment(ugx(30_000), Utc::now()).unwrap();
                order.close(Utc::now()).unwrap();
            }
            "voided" => {
                order.void_order(manager, None, note("left"), Utc::now()).unwrap();
            }
            _ => {}
        }
        order
    }

    #[test]
    fn reports_total_sales_payments_refunds_and_voids() {
        let manager = Actor::new(StaffId::new(), Role::Manager);
        let orders: Vec<ReportOrder> = ["closed", "closed", "open", "voided"]
            .iter()
            .map(|s| ReportOrder::from_order(&order_with(s)).unwrap())
            .collect();
        let mut cash = payment(PaymentMethod::Cash, 30_000, Some(40_000));
        let momo = payment(PaymentMethod::MtnMomo, 30_000, None);
        let tender = PaymentRequest {
            method: PaymentMethod::Pesapal,
            amount: ugx(9_000),
            tendered: None,
            reference: None,
            tip: None,
        }
        .validate(ugx(9_000))
        .unwrap();
        let pending = Payment::new(tender, OrderId::new(), StaffId::new(), None, Utc::now());
        let refund = cash
            .refund(
                RefundRequest {
                    amount: ugx(2_000),
                    reason: note("cold"),
                    shift_id: None,
                },
                manager,
                None,
                Utc::now(),
            )
            .unwrap();
        let report = sales_report(Currency::Ugx, &orders, &[cash, momo, pending], &[refund], None).unwrap();
        assert_eq!(
            (report.orders_closed, report.orders_open, report.orders_voided),
            (2, 1, 1)
        );
        assert_eq!(report.gross_sales, ugx(60_000));
        assert_eq!(report.net_sales, ugx(60_000));
        assert_eq!(report.tax, ugx(2 * 4_138));
        assert_eq!(report.open_total, ugx(30_000));
        // One voided item on each of the four orders, plus the voided order's rolex.
        assert_eq!(report.voided_items, 5);
        assert_eq!(report.voided_amount, ugx(4 * 7_000 + 30_000));
        let method = |m: PaymentMethod| report.payments.iter().find(|t| t.method == m).copied().unwrap();
        assert_eq!(method(PaymentMethod::Cash).amount, ugx(30_000));
        assert_eq!(method(PaymentMethod::MtnMomo).count, 1);
        assert_eq!(
            method(PaymentMethod::Pesapal).count,
            0,
            "pending payments are not sales"
        );
        assert_eq!(report.payments.len(), PaymentMethod::ALL.len());
        assert_eq!(report.payments_total, ugx(60_000));
        assert_eq!(report.refunds_total, ugx(2_000));
    }

    #[test]
    fn a_z_report_needs_every_shift_closed_and_a_manager() {
        let report = sales_report(Currency::Ugx, &[], &[], &[], None).unwrap();
        let manager = Actor::new(StaffId::new(), Role::Manager);
        let date = Utc::now().date_naive();
        assert_eq!(
            ZReport::new(1, date, report.clone(), 2, manager, Utc::now()),
            Err(ShiftError::ShiftsStillOpen { count: 2 })
        );
        assert_eq!(
            ZReport::new(
                1,
                date,
                report.clone(),
                0,
                Actor::new(StaffId::new(), Role::Cashier),
                Utc::now()
            )
            .map_err(|e| e.code()),
            Err("not_permitted")
        );
        let z = ZReport::new(7, date, report, 0, manager, Utc::now()).unwrap();
        assert_eq!((z.number, z.generated_by), (7, manager.id));
    }

    #[test]
    fn names_round_trip() {
        for k in [CashMovementKind::CashIn, CashMovementKind::CashOut] {
            assert_eq!(CashMovementKind::parse(k.as_str()), Ok(k));
        }
        for s in [ShiftStatus::Open, ShiftStatus::Closed] {
            assert_eq!(ShiftStatus::parse(s.as_str()), Ok(s));
        }
    }
}
