//! The Z report (issue 10 item 2): the numbered, immutable close of a business day.
//!
//! - **What it covers**: everything since the previous Z report (`period_start` is the
//!   previous report's `period_end`; the first report starts at the Unix epoch) up to the
//!   moment it is taken. Every payment, refund, tip, sale and void therefore lands in exactly
//!   one Z report, whenever it happens; the report is labelled with the business date it
//!   was taken on ([`crate::business_day::business_date`]), one per business date.
//! - **Refused** while any shift is open (409 listing them): a day closes with every drawer
//!   counted.
//! - **Numbered without gaps**: the store takes `max(number) + 1` under a table lock inside
//!   the transaction that writes it, so a rolled-back close leaves no hole.
//! - **Immutable and hash-chained** like the audit log ([`crate::audit`]): each row stores
//!   the SHA-256 of the previous row's hash and its own canonical content
//!   ([`chain_hash`]); [`verify_chain`] names the first row that was altered or removed.
//!
//! The figures follow the report definitions of [`crate::reports`].

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::approval::{Actor, ApprovalError, require};
use crate::audit::GENESIS_HASH;
use crate::idempotency::{IdempotencyKey, RequestFingerprint, StoredResponse};
use crate::ids::{StaffId, TerminalId};
use crate::money::{Currency, Money};
use crate::permissions::Action;
use crate::reports::{BusinessClock, MethodSales, OrderSums, SalesSummary, TaxLine};

macro_rules! schema_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name { $($body)* }
    };
}

schema_struct! {
    /// One shift closed within the report's period: its drawer and variance.
    pub struct ZShiftCash {
        pub shift_id: Uuid,
        pub staff_id: Uuid,
        pub staff: String,
        pub opened_at: DateTime<Utc>,
        pub closed_at: DateTime<Utc>,
        pub opening_float: i64,
        pub expected_cash: i64,
        pub counted_cash: i64,
        /// counted − expected: negative when cash was missing.
        pub variance: i64,
        pub variance_approved_by: Option<Uuid>,
    }
}

schema_struct! {
    /// Voids within the period.
    pub struct ZVoids {
        pub orders: i64,
        pub items: i64,
        /// List value of what was voided (items of voided orders included).
        pub amount: i64,
    }
}

schema_struct! {
    /// Discounts on the orders closed within the period.
    pub struct ZDiscounts {
        pub orders: i64,
        pub amount: i64,
        /// Orders whose discount needed and got a manager's approval.
        pub approved: i64,
    }
}

schema_struct! {
    /// The figures of a Z report. Money in minor units of `currency`.
    pub struct ZTotals {
        pub currency: String,
        pub period_start: DateTime<Utc>,
        pub period_end: DateTime<Utc>,
        pub sales: SalesSummary,
        /// Received payments by method (every method listed), with their tips and refunds.
        pub payments: Vec<MethodSales>,
        pub payments_count: i64,
        pub payments_total: i64,
        pub tips_total: i64,
        pub refunds_count: i64,
        pub refunds_total: i64,
        pub tax: Vec<TaxLine>,
        pub voids: ZVoids,
        pub discounts: ZDiscounts,
        pub shifts: Vec<ZShiftCash>,
        /// Σ variance of the shifts.
        pub cash_variance: i64,
    }
}

/// What the store read for a period, before the definitions are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZFigures {
    pub sums: OrderSums,
    pub payments: Vec<MethodSales>,
    /// How many refunds the period saw (their amounts are in `payments`).
    pub refunds_count: i64,
    pub tax: Vec<TaxLine>,
    pub voids: ZVoids,
    pub discounts: ZDiscounts,
    pub shifts: Vec<ZShiftCash>,
}

impl ZTotals {
    /// The report's figures from what the store read.
    pub fn build(currency: Currency, start: DateTime<Utc>, end: DateTime<Utc>, figures: ZFigures) -> Self {
        let sum =
            |f: fn(&MethodSales) -> i64| figures.payments.iter().map(f).fold(0_i64, i64::saturating_add);
        let refunds_total = sum(|m| m.refunds);
        let tips_total = sum(|m| m.tips);
        Self {
            currency: currency.code().to_owned(),
            period_start: start,
            period_end: end,
            sales: SalesSummary::new(currency, figures.sums, refunds_total, tips_total),
            payments_count: sum(|m| m.payments),
            payments_total: sum(|m| m.amount),
            tips_total,
            refunds_count: figures.refunds_count,
            refunds_total,
            cash_variance: figures
                .shifts
                .iter()
                .map(|s| s.variance)
                .fold(0_i64, i64::saturating_add),
            payments: figures.payments,
            tax: figures.tax,
            voids: figures.voids,
            discounts: figures.discounts,
            shifts: figures.shifts,
        }
    }
}

/// A stored Z report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZReportRecord {
    pub number: i64,
    pub business_date: NaiveDate,
    pub currency: String,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub totals: ZTotals,
    pub created_by: StaffId,
    pub created_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of a Z report row: SHA-256 over the previous hash and the row's canonical JSON
/// (keys sorted, instants at microseconds), the audit log's recipe.
#[allow(clippy::too_many_arguments)]
pub fn chain_hash(
    prev_hash: &str,
    number: i64,
    business_date: NaiveDate,
    currency: &str,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    totals: &serde_json::Value,
    created_by: StaffId,
    created_at: DateTime<Utc>,
) -> String {
    let micros = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    // serde_json without `preserve_order` sorts object keys, so the JSON is canonical.
    let content = serde_json::json!({
        "number": number,
        "business_date": business_date.to_string(),
        "currency": currency,
        "period_start": micros(period_start),
        "period_end": micros(period_end),
        "totals": totals,
        "created_by": created_by,
        "created_at": micros(created_at),
    });
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(content.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

impl ZReportRecord {
    /// The hash this record's content gives after `prev_hash`.
    pub fn expected_hash(&self, prev_hash: &str) -> Result<String, serde_json::Error> {
        let totals = serde_json::to_value(&self.totals)?;
        Ok(chain_hash(
            prev_hash,
            self.number,
            self.business_date,
            &self.currency,
            self.period_start,
            self.period_end,
            &totals,
            self.created_by,
            self.created_at,
        ))
    }
}

/// A Z report as stored, for verification: its totals as the JSON the database keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredZ {
    pub number: i64,
    pub business_date: NaiveDate,
    pub currency: String,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub totals: serde_json::Value,
    pub created_by: StaffId,
    pub created_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

/// Where the Z chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ZChainBreak {
    #[error("Z report {number}: the number {expected} is missing before it")]
    Gap { number: i64, expected: i64 },
    #[error("Z report {number}: prev_hash does not match the previous report")]
    Unlinked { number: i64 },
    #[error("Z report {number}: content does not match its hash")]
    Altered { number: i64 },
}

/// Checks reports given in number order from the first: numbers 1, 2, 3 … without a gap,
/// each linked to the previous and matching its own hash. Returns how many were checked.
pub fn verify_chain(rows: &[StoredZ]) -> Result<usize, ZChainBreak> {
    let mut prev = GENESIS_HASH.to_owned();
    for (index, row) in rows.iter().enumerate() {
        let expected = i64::try_from(index).unwrap_or(i64::MAX).saturating_add(1);
        if row.number != expected {
            return Err(ZChainBreak::Gap {
                number: row.number,
                expected,
            });
        }
        if row.prev_hash != prev {
            return Err(ZChainBreak::Unlinked { number: row.number });
        }
        let hash = chain_hash(
            &row.prev_hash,
            row.number,
            row.business_date,
            &row.currency,
            row.period_start,
            row.period_end,
            &row.totals,
            row.created_by,
            row.created_at,
        );
        if hash != row.hash {
            return Err(ZChainBreak::Altered { number: row.number });
        }
        prev = row.hash.clone();
    }
    Ok(rows.len())
}

schema_struct! {
    /// An open shift that keeps the day from closing.
    pub struct OpenShiftRef {
        pub shift_id: Uuid,
        pub staff_id: Uuid,
        pub staff: String,
        pub opened_at: DateTime<Utc>,
    }
}

/// Why a Z report was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZRefusal {
    #[error("{} shift(s) still open: close them before the Z report", .0.len())]
    ShiftsOpen(Vec<OpenShiftRef>),
    #[error("business day {business_date} is already closed by Z report {number}")]
    DayClosed { business_date: NaiveDate, number: i64 },
    #[error(transparent)]
    Approval(#[from] ApprovalError),
}

impl ZRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            ZRefusal::ShiftsOpen(_) => "shifts_still_open",
            ZRefusal::DayClosed { .. } => "business_day_closed",
            ZRefusal::Approval(e) => e.code(),
        }
    }
}

/// Closing the day as the manager asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseDay {
    pub business_date: NaiveDate,
    pub now: DateTime<Utc>,
    pub by: Actor,
    pub terminal: Option<TerminalId>,
    pub clock: BusinessClock,
    pub currency: Currency,
}

impl CloseDay {
    /// Only those allowed to run the Z report may close the day.
    pub fn authorise(&self) -> Result<(), ZRefusal> {
        require(self.by, Action::RunZReport)?;
        Ok(())
    }

    /// The open shifts refuse the close.
    pub fn check_shifts(open: Vec<OpenShiftRef>) -> Result<(), ZRefusal> {
        if open.is_empty() {
            Ok(())
        } else {
            Err(ZRefusal::ShiftsOpen(open))
        }
    }
}

/// What the render closure sees, inside the transaction.
#[derive(Debug, Clone, Copy)]
pub enum ZRender<'a> {
    Committed(&'a ZReportRecord),
    Refused(&'a ZRefusal),
}

pub type RenderZ = Box<dyn FnOnce(ZRender<'_>) -> StoredResponse + Send>;

/// An idempotency key claimed in the close's transaction.
pub struct ZClaim {
    pub staff_id: StaffId,
    pub key: IdempotencyKey,
    pub fingerprint: RequestFingerprint,
    pub render: RenderZ,
}

impl ZClaim {
    pub fn new(
        staff_id: StaffId,
        key: IdempotencyKey,
        fingerprint: RequestFingerprint,
        render: impl FnOnce(ZRender<'_>) -> StoredResponse + Send + 'static,
    ) -> Self {
        Self {
            staff_id,
            key,
            fingerprint,
            render: Box::new(render),
        }
    }
}

impl fmt::Debug for ZClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZClaim")
            .field("staff_id", &self.staff_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The answer of a close.
#[derive(Debug, Clone, PartialEq)]
pub enum ZMutation {
    Committed {
        record: Box<ZReportRecord>,
        response: Option<StoredResponse>,
    },
    Refused {
        refusal: ZRefusal,
        response: Option<StoredResponse>,
    },
    Replayed(StoredResponse),
    KeyMismatch,
    KeyInProgress,
}

fn money(amount: i64, currency: Currency) -> String {
    Money::new(amount, currency).format_amount()
}

const WIDTH: usize = 48;

fn line(out: &mut String, label: &str, value: &str) {
    let pad = WIDTH
        .saturating_sub(label.chars().count() + value.chars().count())
        .max(1);
    out.push_str(label);
    out.push_str(&" ".repeat(pad));
    out.push_str(value);
    out.push('\n');
}

fn centred(out: &mut String, text: &str) {
    let pad = WIDTH.saturating_sub(text.chars().count()) / 2;
    out.push_str(&" ".repeat(pad));
    out.push_str(text);
    out.push('\n');
}

fn rule(out: &mut String) {
    out.push_str(&"-".repeat(WIDTH));
    out.push('\n');
}

/// The report as printed (48 columns, 80 mm paper); `copy` marks a reprint.
pub fn render_text(record: &ZReportRecord, cafe_name: &str, copy: bool) -> String {
    let t = &record.totals;
    let currency = Currency::parse(&t.currency).unwrap_or_default();
    let m = |amount: i64| money(amount, currency);
    let time = |at: DateTime<Utc>| at.format("%d/%m/%Y %H:%M UTC").to_string();
    let mut out = String::new();
    centred(&mut out, cafe_name);
    centred(&mut out, &format!("Z REPORT #{}", record.number));
    if copy {
        centred(&mut out, "*** COPY ***");
    }
    line(&mut out, "Business date:", &record.business_date.to_string());
    line(&mut out, "From:", &time(record.period_start));
    line(&mut out, "To:", &time(record.period_end));
    line(&mut out, "Currency:", &t.currency);
    rule(&mut out);
    line(&mut out, "Orders closed", &t.sales.orders.to_string());
    line(&mut out, "Gross sales", &m(t.sales.gross_sales));
    line(&mut out, "Discounts", &m(t.sales.discounts));
    line(&mut out, "Service charge", &m(t.sales.service_charge));
    line(&mut out, "Sales", &m(t.sales.sales));
    line(&mut out, "Refunds", &m(t.refunds_total));
    line(&mut out, "Net sales", &m(t.sales.net_sales));
    line(&mut out, "Tax", &m(t.sales.tax));
    line(&mut out, "Tips (not sales)", &m(t.tips_total));
    rule(&mut out);
    out.push_str("PAYMENTS BY METHOD\n");
    for method in &t.payments {
        line(
            &mut out,
            &format!("{} ({})", method.method, method.payments),
            &m(method.amount),
        );
        if method.refunds != 0 || method.tips != 0 {
            line(
                &mut out,
                "  refunds / tips",
                &format!("{} / {}", m(method.refunds), m(method.tips)),
            );
        }
    }
    line(&mut out, "Total received", &m(t.payments_total));
    rule(&mut out);
    out.push_str("TAX\n");
    for tax in &t.tax {
        let label = format!(
            "VAT {}.{:02}%{}",
            tax.vat_rate_bp / 100,
            tax.vat_rate_bp % 100,
            if tax.prices_include_tax { " incl." } else { "" }
        );
        line(&mut out, &label, &m(tax.tax));
    }
    rule(&mut out);
    line(&mut out, "Voided orders", &t.voids.orders.to_string());
    line(&mut out, "Voided items", &t.voids.items.to_string());
    line(&mut out, "Voided value", &m(t.voids.amount));
    line(&mut out, "Discounted orders", &t.discounts.orders.to_string());
    line(&mut out, "Discounts given", &m(t.discounts.amount));
    rule(&mut out);
    out.push_str("CASH BY SHIFT\n");
    for shift in &t.shifts {
        line(&mut out, &shift.staff, &time(shift.closed_at));
        line(
            &mut out,
            "  expected / counted",
            &format!("{} / {}", m(shift.expected_cash), m(shift.counted_cash)),
        );
        line(&mut out, "  variance", &m(shift.variance));
    }
    line(&mut out, "Cash variance", &m(t.cash_variance));
    rule(&mut out);
    line(
        &mut out,
        "Hash",
        &record.hash.chars().take(16).collect::<String>(),
    );
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn stored(number: i64, prev: &str) -> StoredZ {
        let at = Utc.timestamp_micros(1_765_000_000_000_000 + number).unwrap();
        let totals = serde_json::json!({"payments_total": number * 1000, "currency": "UGX"});
        let by = StaffId::from_uuid(Uuid::nil());
        let date = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let hash = chain_hash(prev, number, date, "UGX", at, at, &totals, by, at);
        StoredZ {
            number,
            business_date: date,
            currency: "UGX".into(),
            period_start: at,
            period_end: at,
            totals,
            created_by: by,
            created_at: at,
            prev_hash: prev.to_owned(),
            hash,
        }
    }

    fn chain(n: i64) -> Vec<StoredZ> {
        let mut rows = Vec::new();
        let mut prev = GENESIS_HASH.to_owned();
        for number in 1..=n {
            let row = stored(number, &prev);
            prev = row.hash.clone();
            rows.push(row);
        }
        rows
    }

    #[test]
    fn an_untouched_chain_verifies_and_each_break_is_named() {
        assert_eq!(verify_chain(&chain(4)), Ok(4));
        let mut altered = chain(4);
        altered[2].totals = serde_json::json!({"payments_total": 1, "currency": "UGX"});
        assert_eq!(verify_chain(&altered), Err(ZChainBreak::Altered { number: 3 }));
        let mut gap = chain(4);
        gap.remove(1);
        assert_eq!(
            verify_chain(&gap),
            Err(ZChainBreak::Gap {
                number: 3,
                expected: 2
            })
        );
        let mut relinked = chain(3);
        relinked[1].prev_hash = GENESIS_HASH.to_owned();
        assert_eq!(verify_chain(&relinked), Err(ZChainBreak::Unlinked { number: 2 }));
    }

    #[test]
    fn the_hash_ignores_key_order_but_not_content() {
        let a = serde_json::json!({"a": 1, "b": 2});
        let b: serde_json::Value = serde_json::from_str(r#"{"b":2,"a":1}"#).unwrap();
        let at = Utc::now();
        let date = at.date_naive();
        let by = StaffId::new();
        let h = |t: &serde_json::Value| chain_hash(GENESIS_HASH, 1, date, "UGX", at, at, t, by, at);
        assert_eq!(h(&a), h(&b));
        assert_ne!(h(&a), h(&serde_json::json!({"a": 1, "b": 3})));
    }

    #[test]
    fn shifts_still_open_refuse_and_only_managers_close() {
        let open = OpenShiftRef {
            shift_id: Uuid::nil(),
            staff_id: Uuid::nil(),
            staff: "Phiona".into(),
            opened_at: Utc::now(),
        };
        assert_eq!(CloseDay::check_shifts(vec![]), Ok(()));
        assert_eq!(
            CloseDay::check_shifts(vec![open.clone()]).map_err(|e| e.code()),
            Err("shifts_still_open")
        );
        let settings = crate::settings::Settings::defaults("Cafe");
        let cmd = |role| CloseDay {
            business_date: Utc::now().date_naive(),
            now: Utc::now(),
            by: Actor::new(StaffId::new(), role),
            terminal: None,
            clock: BusinessClock::of(&settings),
            currency: Currency::Ugx,
        };
        assert!(cmd(crate::permissions::Role::Manager).authorise().is_ok());
        assert_eq!(
            cmd(crate::permissions::Role::Cashier)
                .authorise()
                .map_err(|e| e.code()),
            Err("not_permitted")
        );
    }
}
