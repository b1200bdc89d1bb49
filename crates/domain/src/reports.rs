//! Reports (spec §7, issue 11 item 5) and the manager's dashboard (issue 10 item 9): what the
//! figures mean, once. The store sums rows in SQL by these definitions (it binds the
//! statuses below rather than restating them) and the API only shapes the answer.
//!
//! # What counts
//!
//! - **A sale is a closed order**, counted on the business date (and local hour) of its
//!   `closed_at`. Open, voided and cancelled orders are not sales. Voided items are not in a
//!   closed order's figures (its stored totals cover live items only).
//! - **gross_sales** = Σ subtotal: list prices × quantity of live items, before discounts.
//! - **discounts** = Σ discount (item discounts and the order discount together);
//!   **service_charge** and **tax** are the orders' own (tax is the part of the price that
//!   is VAT, whether prices include it or not).
//! - **sales** = Σ total of closed orders: what customers were charged
//!   (gross − discounts + service charge, + tax when prices exclude it).
//! - **refunds** = Σ refunds, counted on the business date of the refund (not of the sale).
//! - **net_sales** = sales − refunds ([`net_sales`]).
//! - **Tips are never sales**: Σ `payments.tip` of received payments, on the business date
//!   of the payment's completion, per staff member who took the payment.
//! - **Payments** count when received ([`crate::payment::PaymentStatus::received`]: completed,
//!   partially refunded, refunded), on the business date of `completed_at`, by method; a
//!   payment's `amount` is what settled the order, its tip apart. Refunds are shown by the
//!   method of the payment they return.
//! - **Voids**: voided orders and voided items, on the date they were voided, valued at list
//!   price (unit price + modifiers) × quantity, with who voided and who approved.
//! - **Products and categories**: live items of closed orders; `sales` there is the line's
//!   total (after item and order discounts, tax included, service charge excluded).
//! - **Date ranges** are business dates, `from` and `to` both included: a business day runs
//!   from the venue's cut-off hour (local time) to the next ([`crate::business_day`]).
//!
//! Money is always integer minor units of the venue currency, which every answer names.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::business_day::business_day_bounds;
use crate::error::StoreError;
use crate::money::Currency;
use crate::payment::PaymentStatus;
use crate::settings::Settings;
use crate::validate::ValidationError;
use crate::z_report::{CloseDay, StoredZ, ZClaim, ZMutation, ZReportRecord};

/// The longest range one report covers (a year and a bit, so "last year" always fits).
pub const MAX_RANGE_DAYS: i64 = 400;

/// The order status that makes an order a sale.
pub const SALE_STATUS: &str = "closed";

/// Order statuses of orders still being served or paid (the dashboard's open orders).
pub const OPEN_STATUSES: [&str; 4] = ["open", "sent", "ready", "served"];

/// Payment statuses under which money was received (see [`PaymentStatus::received`]).
pub fn received_statuses() -> Vec<&'static str> {
    PaymentStatus::ALL
        .into_iter()
        .filter(|s| s.received())
        .map(PaymentStatus::as_str)
        .collect()
}

/// Net sales: what was charged for closed orders less what was refunded.
pub fn net_sales(sales: i64, refunds: i64) -> i64 {
    sales.saturating_sub(refunds)
}

/// A range of business dates, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, ValidationError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| ValidationError::new(field, "must be a date as YYYY-MM-DD"))
}

impl ReportRange {
    /// One business date.
    pub fn day(date: NaiveDate) -> Self {
        Self { from: date, to: date }
    }

    /// `from`/`to` as sent (YYYY-MM-DD); a missing `to` is `today`, a missing `from` is `to`.
    /// Refuses, naming the field, a malformed date, `to` before `from` and a range longer
    /// than [`MAX_RANGE_DAYS`].
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<Self, ValidationError> {
        let to = match to {
            Some(raw) => parse_date("to", raw)?,
            None => today,
        };
        let from = match from {
            Some(raw) => parse_date("from", raw)?,
            None => to,
        };
        if to < from {
            return Err(ValidationError::new("to", "must not be before from"));
        }
        let range = Self { from, to };
        if range.days() > MAX_RANGE_DAYS {
            return Err(ValidationError::new(
                "to",
                format!("a report covers at most {MAX_RANGE_DAYS} days"),
            ));
        }
        Ok(range)
    }

    /// How many business days the range covers.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The instants `[start, end)` the range covers under the venue's cut-off.
    pub fn bounds(&self, settings: &Settings) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            business_day_bounds(self.from, settings).0,
            business_day_bounds(self.to, settings).1,
        )
    }
}

/// How SQL reads an instant's business date and local hour, the same way as
/// [`crate::business_day::business_date`]: date(UTC + offset − cut-off) and hour(UTC + offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessClock {
    /// Minutes added to a UTC instant before taking its date: offset − cut-off.
    pub day_shift_minutes: i32,
    /// Minutes added to a UTC instant to get venue local time.
    pub local_offset_minutes: i32,
}

impl BusinessClock {
    pub fn of(settings: &Settings) -> Self {
        let cutoff = settings.business_day_cutoff_hour.clamp(0, 23);
        Self {
            day_shift_minutes: settings.utc_offset_minutes - cutoff * 60,
            local_offset_minutes: settings.utc_offset_minutes,
        }
    }
}

/// What one report reads: the instants, how to bucket them, and the currency to name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub clock: BusinessClock,
    pub currency: Currency,
}

impl ReportWindow {
    pub fn of(range: ReportRange, settings: &Settings) -> Self {
        let (start, end) = range.bounds(settings);
        Self {
            start,
            end,
            clock: BusinessClock::of(settings),
            currency: settings.currency,
        }
    }
}

/// The reports there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    SalesByDay,
    SalesByHour,
    SalesByProduct,
    SalesByCategory,
    SalesByStaff,
    SalesByMethod,
    Tax,
    Voids,
    Refunds,
    Discounts,
    Tips,
    Shifts,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::SalesByDay => "sales_by_day",
            ReportKind::SalesByHour => "sales_by_hour",
            ReportKind::SalesByProduct => "sales_by_product",
            ReportKind::SalesByCategory => "sales_by_category",
            ReportKind::SalesByStaff => "sales_by_staff",
            ReportKind::SalesByMethod => "sales_by_method",
            ReportKind::Tax => "tax",
            ReportKind::Voids => "voids",
            ReportKind::Refunds => "refunds",
            ReportKind::Discounts => "discounts",
            ReportKind::Tips => "tips",
            ReportKind::Shifts => "shifts",
        }
    }
}

macro_rules! schema_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name { $($body)* }
    };
}

schema_struct! {
    /// The headline figures of a range (or of today, on the dashboard).
    pub struct SalesSummary {
        pub currency: String,
        /// Closed orders.
        pub orders: i64,
        pub gross_sales: i64,
        pub discounts: i64,
        pub service_charge: i64,
        pub tax: i64,
        pub sales: i64,
        pub refunds: i64,
        pub net_sales: i64,
        /// Never part of sales.
        pub tips: i64,
        /// sales ÷ orders, rounded down; 0 without orders.
        pub average_sale: i64,
    }
}

impl SalesSummary {
    /// The summary from the store's sums, applying the definitions above.
    pub fn new(currency: Currency, sums: OrderSums, refunds: i64, tips: i64) -> Self {
        Self {
            currency: currency.code().to_owned(),
            orders: sums.orders,
            gross_sales: sums.gross_sales,
            discounts: sums.discounts,
            service_charge: sums.service_charge,
            tax: sums.tax,
            sales: sums.sales,
            refunds,
            net_sales: net_sales(sums.sales, refunds),
            tips,
            average_sale: sums.sales.checked_div(sums.orders).unwrap_or(0),
        }
    }
}

/// Sums over a group of closed orders, as the store reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSums {
    pub orders: i64,
    pub gross_sales: i64,
    pub discounts: i64,
    pub service_charge: i64,
    pub tax: i64,
    pub sales: i64,
}

schema_struct! {
    /// Sales of one business date.
    pub struct DaySales {
        pub business_date: NaiveDate,
        pub currency: String,
        pub orders: i64,
        pub gross_sales: i64,
        pub discounts: i64,
        pub service_charge: i64,
        pub tax: i64,
        pub sales: i64,
        pub refunds: i64,
        pub net_sales: i64,
        pub tips: i64,
    }
}

schema_struct! {
    /// Sales of one local hour of the day (0–23) over the range.
    pub struct HourSales {
        pub hour: i32,
        pub currency: String,
        pub orders: i64,
        pub gross_sales: i64,
        pub discounts: i64,
        pub tax: i64,
        pub sales: i64,
        pub refunds: i64,
        pub net_sales: i64,
    }
}

schema_struct! {
    /// One product's sold items (live items of closed orders).
    pub struct ProductSales {
        pub product_id: Uuid,
        pub product: String,
        pub category: Option<String>,
        pub currency: String,
        pub quantity: i64,
        /// (unit price + modifiers) × quantity.
        pub gross_sales: i64,
        /// The lines' totals: after discounts, tax included.
        pub sales: i64,
    }
}

schema_struct! {
    /// One category's sold items.
    pub struct CategorySales {
        pub category_id: Option<Uuid>,
        pub category: String,
        pub currency: String,
        pub quantity: i64,
        pub gross_sales: i64,
        pub sales: i64,
    }
}

schema_struct! {
    /// Sales of the orders a staff member took; refunds of those orders.
    pub struct StaffSales {
        pub staff_id: Uuid,
        pub staff: String,
        pub currency: String,
        pub orders: i64,
        pub gross_sales: i64,
        pub discounts: i64,
        pub sales: i64,
        pub refunds: i64,
        pub net_sales: i64,
        pub average_sale: i64,
    }
}

schema_struct! {
    /// Money received by one payment method (every method listed, zeros included).
    pub struct MethodSales {
        pub method: String,
        pub currency: String,
        pub payments: i64,
        /// Applied to orders (tips apart).
        pub amount: i64,
        pub tips: i64,
        pub refunds: i64,
        /// amount − refunds.
        pub net: i64,
    }
}

schema_struct! {
    /// Tax of closed orders by VAT rate and whether prices included it.
    pub struct TaxLine {
        pub vat_rate_bp: i32,
        pub prices_include_tax: bool,
        pub currency: String,
        pub orders: i64,
        /// What customers were charged (tax included).
        pub sales: i64,
        pub tax: i64,
        /// sales − tax.
        pub net_of_tax: i64,
    }
}

schema_struct! {
    /// A voided order or item.
    pub struct VoidLine {
        /// `order` or `item`.
        pub kind: String,
        pub order_id: Uuid,
        pub order_number: i32,
        pub item: Option<String>,
        pub quantity: i64,
        pub currency: String,
        /// List value voided.
        pub amount: i64,
        pub reason: String,
        pub voided_by: Option<Uuid>,
        pub voided_by_name: Option<String>,
        pub approved_by: Option<Uuid>,
        pub approved_by_name: Option<String>,
        pub voided_at: DateTime<Utc>,
    }
}

schema_struct! {
    /// One refund.
    pub struct RefundLine {
        pub refund_id: Uuid,
        pub payment_id: Uuid,
        pub order_id: Uuid,
        pub order_number: i32,
        /// The refunded payment's method.
        pub method: String,
        pub currency: String,
        pub amount: i64,
        pub reason: String,
        pub staff_id: Uuid,
        pub staff: String,
        pub approved_by: Option<Uuid>,
        pub approved_by_name: Option<String>,
        pub refunded_at: DateTime<Utc>,
    }
}

schema_struct! {
    /// A closed order that was discounted: its whole discount, who gave it, who approved.
    pub struct DiscountLine {
        pub order_id: Uuid,
        pub order_number: i32,
        /// `order`, `items` or `order_and_items`: where the discount was applied.
        pub scope: String,
        pub currency: String,
        pub gross_sales: i64,
        pub amount: i64,
        pub reason: Option<String>,
        pub given_by: Option<Uuid>,
        pub given_by_name: Option<String>,
        pub approved_by: Option<Uuid>,
        pub approved_by_name: Option<String>,
        pub closed_at: DateTime<Utc>,
    }
}

schema_struct! {
    /// Tips taken by one staff member (on the payments they took).
    pub struct TipLine {
        pub staff_id: Uuid,
        pub staff: String,
        pub currency: String,
        /// Payments with a tip.
        pub payments: i64,
        pub tips: i64,
    }
}

schema_struct! {
    /// A shift opened in the range: its drawer at close (or its float while open).
    pub struct ShiftLine {
        pub shift_id: Uuid,
        pub staff_id: Uuid,
        pub staff: String,
        pub terminal_id: Option<Uuid>,
        /// `open` or `closed`.
        pub status: String,
        pub currency: String,
        pub opening_float: i64,
        pub expected_cash: Option<i64>,
        pub counted_cash: Option<i64>,
        /// counted − expected.
        pub variance: Option<i64>,
        pub variance_approved_by: Option<Uuid>,
        /// Orders closed on the shift within the range.
        pub orders: i64,
        /// Received on the shift within the range (tips apart).
        pub payments: i64,
        pub tips: i64,
        pub opened_at: DateTime<Utc>,
        pub closed_at: Option<DateTime<Utc>>,
    }
}

/// A report's rows, one variant per [`ReportKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportRows {
    SalesByDay(Vec<DaySales>),
    SalesByHour(Vec<HourSales>),
    SalesByProduct(Vec<ProductSales>),
    SalesByCategory(Vec<CategorySales>),
    SalesByStaff(Vec<StaffSales>),
    SalesByMethod(Vec<MethodSales>),
    Tax(Vec<TaxLine>),
    Voids(Vec<VoidLine>),
    Refunds(Vec<RefundLine>),
    Discounts(Vec<DiscountLine>),
    Tips(Vec<TipLine>),
    Shifts(Vec<ShiftLine>),
}

/// The columns of a row that add up to a report's totals.
pub trait ReportRow {
    fn amounts(&self) -> Vec<(&'static str, i64)>;
}

/// Each amount column summed over `rows` (what a report's `totals` shows).
pub fn totals<R: ReportRow>(rows: &[R]) -> std::collections::BTreeMap<String, i64> {
    let mut sums = std::collections::BTreeMap::new();
    for row in rows {
        for (column, value) in row.amounts() {
            let sum: &mut i64 = sums.entry(column.to_owned()).or_insert(0);
            *sum = sum.saturating_add(value);
        }
    }
    sums
}

macro_rules! amounts {
    ($row:ty => $($field:ident),+) => {
        impl ReportRow for $row {
            fn amounts(&self) -> Vec<(&'static str, i64)> {
                vec![$((stringify!($field), i64::from(self.$field))),+]
            }
        }
    };
}

amounts!(DaySales => orders, gross_sales, discounts, service_charge, tax, sales, refunds, net_sales, tips);
amounts!(HourSales => orders, gross_sales, discounts, tax, sales, refunds, net_sales);
amounts!(ProductSales => quantity, gross_sales, sales);
amounts!(CategorySales => quantity, gross_sales, sales);
amounts!(StaffSales => orders, gross_sales, discounts, sales, refunds, net_sales);
amounts!(MethodSales => payments, amount, tips, refunds, net);
amounts!(TaxLine => orders, sales, tax, net_of_tax);
amounts!(VoidLine => quantity, amount);
amounts!(RefundLine => amount);
amounts!(DiscountLine => gross_sales, amount);
amounts!(TipLine => payments, tips);
amounts!(ShiftLine => opening_float, orders, payments, tips);

schema_struct! {
    /// An order not yet paid and closed, for the dashboard.
    pub struct OpenOrderLine {
        pub order_id: Uuid,
        pub number: i32,
        /// `dine_in` or `takeaway`.
        pub order_type: String,
        pub table: Option<String>,
        pub staff: String,
        pub status: String,
        pub currency: String,
        pub total: i64,
        pub paid: i64,
        /// total − paid.
        pub balance: i64,
        pub created_at: DateTime<Utc>,
        /// Seconds since it was created.
        pub age_seconds: i64,
    }
}

schema_struct! {
    /// A kitchen or bar station's queue.
    pub struct StationLoad {
        /// `kitchen` or `bar`.
        pub station: String,
        /// Orders with items sent to the station and not ready yet.
        pub tickets_waiting: i64,
        pub items_waiting: i64,
        /// The oldest waiting item's age, in seconds (0 when none waits).
        pub oldest_waiting_seconds: i64,
        /// Average seconds from sent to ready of the items made ready today (null when none).
        pub average_ticket_seconds: Option<i64>,
        pub items_done_today: i64,
    }
}

/// What the dashboard reads in one go (open shifts' drawers come from the shift service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardData {
    pub summary: SalesSummary,
    pub by_method: Vec<MethodSales>,
    pub by_hour: Vec<HourSales>,
    pub by_staff: Vec<StaffSales>,
    pub top_products: Vec<ProductSales>,
    pub open_orders: Vec<OpenOrderLine>,
    pub stations: Vec<StationLoad>,
    pub open_shifts: Vec<Uuid>,
}

/// How many products the dashboard lists.
pub const DASHBOARD_TOP_PRODUCTS: usize = 5;

/// Reads for reports and the dashboard. Every method is one read-only query set.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// The headline figures of the window.
    async fn summary(&self, window: &ReportWindow) -> Result<SalesSummary, StoreError>;
    /// One report's rows over the window.
    async fn report(&self, kind: ReportKind, window: &ReportWindow) -> Result<ReportRows, StoreError>;
    /// Today's figures (`window` is today's business day) and the live state at `now`.
    async fn dashboard(&self, window: &ReportWindow, now: DateTime<Utc>)
    -> Result<DashboardData, StoreError>;

    /// Takes the next Z report in one transaction (see [`crate::z_report`]): claims the key,
    /// locks the Z table, refuses while a shift is open or when `cmd.business_date` already
    /// has a report, reads the period's figures, writes the numbered, chained row, its audit
    /// row and the claim's answer. A refusal with a claim stores the refusal's answer only.
    async fn close_day(&self, cmd: CloseDay, claim: Option<ZClaim>) -> Result<ZMutation, StoreError>;
    /// Every Z report, newest first.
    async fn z_reports(&self) -> Result<Vec<ZReportRecord>, StoreError>;
    /// One Z report. `NotFound { entity: "z report" }`.
    async fn z_report(&self, number: i64) -> Result<ZReportRecord, StoreError>;
    /// Every Z report as stored, oldest first, for verifying the chain.
    async fn z_chain(&self) -> Result<Vec<StoredZ>, StoreError>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::business_day::business_date;
    use chrono::{TimeDelta, TimeZone};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ranges_are_validated_naming_the_field() {
        let today = date(2026, 12, 7);
        assert_eq!(ReportRange::parse(None, None, today), Ok(ReportRange::day(today)));
        assert_eq!(
            ReportRange::parse(Some("2026-12-01"), None, today).map(|r| r.days()),
            Ok(7)
        );
        assert_eq!(
            ReportRange::parse(None, Some("2026-12-01"), today).map(|r| r.from),
            Ok(date(2026, 12, 1))
        );
        let field =
            |from: Option<&str>, to: Option<&str>| ReportRange::parse(from, to, today).unwrap_err().field;
        assert_eq!(field(Some("yesterday"), None), "from");
        assert_eq!(field(Some("2026-02-30"), None), "from");
        assert_eq!(field(None, Some("2026-13-01")), "to");
        assert_eq!(field(Some("2026-12-07"), Some("2026-12-06")), "to");
        assert_eq!(field(Some("2024-01-01"), Some("2026-01-01")), "to");
        assert!(ReportRange::parse(Some("2025-12-07"), Some("2026-12-07"), today).is_ok());
    }

    #[test]
    fn the_sql_clock_agrees_with_business_date() {
        for (offset, cutoff) in [(180, 4), (0, 0), (-300, 4), (330, 23)] {
            let mut settings = Settings::defaults("Cafe");
            settings.utc_offset_minutes = offset;
            settings.business_day_cutoff_hour = cutoff;
            let clock = BusinessClock::of(&settings);
            let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
            for step in 0..200 {
                let at = start + TimeDelta::minutes(step * 37);
                let shifted = (at + TimeDelta::minutes(i64::from(clock.day_shift_minutes))).date_naive();
                assert_eq!(shifted, business_date(at, &settings), "{offset} {cutoff} {at}");
            }
            let range = ReportRange::day(date(2026, 3, 2));
            let (from, to) = range.bounds(&settings);
            assert_eq!(business_date(from, &settings), date(2026, 3, 2));
            assert_eq!(
                business_date(to - TimeDelta::seconds(1), &settings),
                date(2026, 3, 2)
            );
            assert_eq!(to - from, TimeDelta::days(1));
        }
    }

    #[test]
    fn net_sales_and_averages_follow_the_definitions() {
        let sums = OrderSums {
            orders: 3,
            gross_sales: 100_000,
            discounts: 10_000,
            service_charge: 0,
            tax: 12_414,
            sales: 90_000,
        };
        let summary = SalesSummary::new(Currency::Ugx, sums, 5_000, 2_000);
        assert_eq!(summary.net_sales, 85_000);
        assert_eq!(summary.average_sale, 30_000);
        assert_eq!(summary.tips, 2_000);
        assert_eq!(
            SalesSummary::new(Currency::Ugx, OrderSums::default(), 0, 0).average_sale,
            0
        );
        assert_eq!(
            received_statuses(),
            vec!["completed", "partially_refunded", "refunded"]
        );
    }

    #[test]
    fn totals_add_up_each_amount_column() {
        let row = |amount: i64| RefundLine {
            refund_id: Uuid::nil(),
            payment_id: Uuid::nil(),
            order_id: Uuid::nil(),
            order_number: 1,
            method: "cash".into(),
            currency: "UGX".into(),
            amount,
            reason: "cold".into(),
            staff_id: Uuid::nil(),
            staff: "A".into(),
            approved_by: None,
            approved_by_name: None,
            refunded_at: Utc::now(),
        };
        let sums = totals(&[row(5), row(7)]);
        assert_eq!(sums.get("amount"), Some(&12));
        assert_eq!(sums.len(), 1);
    }
}
