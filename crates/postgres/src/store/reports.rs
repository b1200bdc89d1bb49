//! [`ReportStore`]: reports, the manager's dashboard and Z reports, summed in SQL by the
//! definitions of `pos_domain::reports` (the statuses that make a sale or a received payment
//! are the domain's, written into the statements from there).
//!
//! Every report reads one window of instants `[$1, $2)`; grouping by business date or local
//! hour shifts the UTC instant by the minutes `BusinessClock` gives (`$3`).

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SubsecRound, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Bool, Date, Integer, Jsonb, Nullable, Text, Timestamptz};
use pos_domain::StoreError;
use pos_domain::audit::{GENESIS_HASH, NewAuditEntry};
use pos_domain::ids::StaffId;
use pos_domain::order::ports::{IdempotencyClaim, Mutation};
use pos_domain::payment::PaymentMethod;
use pos_domain::reports::{
    CategorySales, DASHBOARD_TOP_PRODUCTS, DashboardData, DaySales, DiscountLine, HourSales, MethodSales,
    OPEN_STATUSES, OpenOrderLine, OrderSums, ProductSales, RefundLine, ReportKind, ReportRows, ReportStore,
    ReportWindow, SALE_STATUS, SalesSummary, ShiftLine, StaffSales, StationLoad, TaxLine, TipLine, VoidLine,
    net_sales, received_statuses,
};
use pos_domain::z_report::{
    CloseDay, OpenShiftRef, StoredZ, ZClaim, ZDiscounts, ZFigures, ZMutation, ZRefusal, ZRender,
    ZReportRecord, ZShiftCash, ZTotals, ZVoids, chain_hash,
};
use uuid::Uuid;

use super::PgStore;
use super::audit::append_audit;
use super::orders::{Abort, claim_key, store_response};
use crate::error::DbError;

// ----- the definitions, as SQL -------------------------------------------------------------

fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `status IN (…)` of a received payment (literal, so the partial index applies).
fn received() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| format!("p.status IN ({})", quoted(&received_statuses())))
}

/// A closed order of the window, `o` being orders.
fn sold() -> String {
    format!("o.status = '{SALE_STATUS}' AND o.closed_at >= $1 AND o.closed_at < $2")
}

/// A received payment of the window, `p` being payments.
fn paid() -> String {
    format!("{} AND p.completed_at >= $1 AND p.completed_at < $2", received())
}

/// The business date of column `at` (with `$3` the day shift in minutes).
fn business_date_of(at: &str) -> String {
    format!("(({at} AT TIME ZONE 'UTC') + make_interval(mins => $3))::date")
}

/// The local hour of column `at` (with `$3` the local offset in minutes).
fn hour_of(at: &str) -> String {
    format!("extract(hour FROM ({at} AT TIME ZONE 'UTC') + make_interval(mins => $3))::int")
}

// ----- rows --------------------------------------------------------------------------------

#[derive(QueryableByName)]
struct Sums {
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(sql_type = BigInt)]
    gross: i64,
    #[diesel(sql_type = BigInt)]
    discount: i64,
    #[diesel(sql_type = BigInt)]
    service_charge: i64,
    #[diesel(sql_type = BigInt)]
    tax: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

impl Sums {
    fn order_sums(&self) -> OrderSums {
        OrderSums {
            orders: self.orders,
            gross_sales: self.gross,
            discounts: self.discount,
            service_charge: self.service_charge,
            tax: self.tax,
            sales: self.total,
        }
    }
}

/// The window's business days, `b.start` each day's first instant.
const DAYS: &str = "generate_series($1, $2 - interval '1 day', interval '1 day') AS b(start)";

const SUMS: &str = "count(*)::bigint AS orders, COALESCE(sum(o.subtotal), 0)::bigint AS gross, \
     COALESCE(sum(o.discount), 0)::bigint AS discount, COALESCE(sum(o.service_charge), 0)::bigint AS service_charge, \
     COALESCE(sum(o.tax), 0)::bigint AS tax, COALESCE(sum(o.total), 0)::bigint AS total";

#[derive(QueryableByName)]
struct DateSums {
    #[diesel(sql_type = Date)]
    key: NaiveDate,
    #[diesel(embed)]
    sums: Sums,
}

#[derive(QueryableByName)]
struct HourSums {
    #[diesel(sql_type = Integer)]
    key: i32,
    #[diesel(embed)]
    sums: Sums,
}

#[derive(QueryableByName)]
struct StaffSums {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    key: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(embed)]
    sums: Sums,
}

#[derive(QueryableByName)]
struct KeyedAmount {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    key: Uuid,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

#[derive(QueryableByName)]
struct DateAmount {
    #[diesel(sql_type = Date)]
    key: NaiveDate,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

#[derive(QueryableByName)]
struct HourAmount {
    #[diesel(sql_type = Integer)]
    key: i32,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

#[derive(QueryableByName)]
struct Amount {
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

fn window<'a>(
    sql: String,
    window: &ReportWindow,
) -> diesel::query_builder::BoxedSqlQuery<'a, diesel::pg::Pg, diesel::query_builder::SqlQuery> {
    sql_query(sql)
        .into_boxed()
        .bind::<Timestamptz, _>(window.start)
        .bind::<Timestamptz, _>(window.end)
}

fn day_shifted<'a>(
    sql: String,
    w: &ReportWindow,
) -> diesel::query_builder::BoxedSqlQuery<'a, diesel::pg::Pg, diesel::query_builder::SqlQuery> {
    window(sql, w).bind::<Integer, _>(w.clock.day_shift_minutes)
}

fn hour_shifted<'a>(
    sql: String,
    w: &ReportWindow,
) -> diesel::query_builder::BoxedSqlQuery<'a, diesel::pg::Pg, diesel::query_builder::SqlQuery> {
    window(sql, w).bind::<Integer, _>(w.clock.local_offset_minutes)
}

// ----- the reports -------------------------------------------------------------------------

fn summary_sums(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<OrderSums> {
    let row: Sums = window(format!("SELECT {SUMS} FROM orders o WHERE {}", sold()), w).get_result(conn)?;
    Ok(row.order_sums())
}

fn refunds_total(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<i64> {
    let row: Amount = window(
        "SELECT COALESCE(sum(r.amount), 0)::bigint AS amount FROM refunds r \
         WHERE r.created_at >= $1 AND r.created_at < $2"
            .to_owned(),
        w,
    )
    .get_result(conn)?;
    Ok(row.amount)
}

fn tips_total(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<i64> {
    let row: Amount = window(
        format!(
            "SELECT COALESCE(sum(p.tip), 0)::bigint AS amount FROM payments p WHERE {}",
            paid()
        ),
        w,
    )
    .get_result(conn)?;
    Ok(row.amount)
}

fn summary(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<SalesSummary> {
    let sums = summary_sums(conn, w)?;
    let refunds = refunds_total(conn, w)?;
    let tips = tips_total(conn, w)?;
    Ok(SalesSummary::new(w.currency, sums, refunds, tips))
}

fn by_day(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<DaySales>> {
    // One business day at a time (each an index range scan): the date of an instant is a
    // shifted expression the planner cannot estimate, so grouping the whole range by it
    // plans badly; the days themselves are known.
    let sums: Vec<DateSums> = day_shifted(
        format!(
            "SELECT {} AS key, s.* FROM {DAYS} CROSS JOIN LATERAL \
             (SELECT {SUMS} FROM orders o WHERE o.status = '{SALE_STATUS}' \
              AND o.closed_at >= b.start AND o.closed_at < b.start + interval '1 day') s WHERE s.orders > 0",
            business_date_of("b.start"),
        ),
        w,
    )
    .load(conn)?;
    let refunds: Vec<DateAmount> = day_shifted(
        format!(
            "SELECT {} AS key, sum(r.amount)::bigint AS amount FROM refunds r \
             WHERE r.created_at >= $1 AND r.created_at < $2 GROUP BY 1",
            business_date_of("r.created_at")
        ),
        w,
    )
    .load(conn)?;
    let tips: Vec<DateAmount> = day_shifted(
        format!(
            "SELECT {} AS key, s.amount FROM {DAYS} CROSS JOIN LATERAL \
             (SELECT COALESCE(sum(p.tip), 0)::bigint AS amount FROM payments p WHERE {} \
              AND p.completed_at >= b.start AND p.completed_at < b.start + interval '1 day') s WHERE s.amount > 0",
            business_date_of("b.start"),
            received()
        ),
        w,
    )
    .load(conn)?;
    let mut days: BTreeMap<NaiveDate, (OrderSums, i64, i64)> = BTreeMap::new();
    for row in sums {
        days.entry(row.key).or_default().0 = row.sums.order_sums();
    }
    for row in refunds {
        days.entry(row.key).or_default().1 = row.amount;
    }
    for row in tips {
        days.entry(row.key).or_default().2 = row.amount;
    }
    let currency = w.currency.code();
    Ok(days
        .into_iter()
        .map(|(date, (s, refunds, tips))| DaySales {
            business_date: date,
            currency: currency.to_owned(),
            orders: s.orders,
            gross_sales: s.gross_sales,
            discounts: s.discounts,
            service_charge: s.service_charge,
            tax: s.tax,
            sales: s.sales,
            refunds,
            net_sales: net_sales(s.sales, refunds),
            tips,
        })
        .collect())
}

fn by_hour(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<HourSales>> {
    // Buckets of whole local hours (15 minutes when the offset is not whole hours), each an
    // index range scan, then summed by hour of the day.
    let step = if w.clock.local_offset_minutes % 60 == 0 {
        60
    } else {
        15
    };
    let sums: Vec<HourSums> = hour_shifted(
        format!(
            "SELECT x.key, sum(x.orders)::bigint AS orders, sum(x.gross)::bigint AS gross, \
             sum(x.discount)::bigint AS discount, sum(x.service_charge)::bigint AS service_charge, \
             sum(x.tax)::bigint AS tax, sum(x.total)::bigint AS total FROM \
             (SELECT {} AS key, s.* FROM generate_series($1, $2 - make_interval(mins => {step}), \
               make_interval(mins => {step})) AS b(start) CROSS JOIN LATERAL \
              (SELECT {SUMS} FROM orders o WHERE o.status = '{SALE_STATUS}' \
               AND o.closed_at >= b.start AND o.closed_at < b.start + make_interval(mins => {step})) s \
              WHERE s.orders > 0) x GROUP BY x.key",
            hour_of("b.start"),
        ),
        w,
    )
    .load(conn)?;
    let refunds: Vec<HourAmount> = hour_shifted(
        format!(
            "SELECT {} AS key, sum(r.amount)::bigint AS amount FROM refunds r \
             WHERE r.created_at >= $1 AND r.created_at < $2 GROUP BY 1",
            hour_of("r.created_at")
        ),
        w,
    )
    .load(conn)?;
    let mut hours: BTreeMap<i32, (OrderSums, i64)> = BTreeMap::new();
    for row in sums {
        hours.entry(row.key).or_default().0 = row.sums.order_sums();
    }
    for row in refunds {
        hours.entry(row.key).or_default().1 = row.amount;
    }
    let currency = w.currency.code();
    Ok(hours
        .into_iter()
        .map(|(hour, (s, refunds))| HourSales {
            hour,
            currency: currency.to_owned(),
            orders: s.orders,
            gross_sales: s.gross_sales,
            discounts: s.discounts,
            tax: s.tax,
            sales: s.sales,
            refunds,
            net_sales: net_sales(s.sales, refunds),
        })
        .collect())
}

fn by_staff(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<StaffSales>> {
    let sums: Vec<StaffSums> = window(
        format!(
            "SELECT s.id AS key, s.full_name AS name, x.* FROM \
             (SELECT o.staff_id, {SUMS} FROM orders o WHERE {} GROUP BY o.staff_id) x \
             JOIN staff s ON s.id = x.staff_id",
            sold()
        ),
        w,
    )
    .load(conn)?;
    // A refund belongs to the staff member whose order it returns money for.
    let refunds: Vec<KeyedAmount> = window(
        "SELECT o.staff_id AS key, sum(r.amount)::bigint AS amount FROM refunds r \
         JOIN payments p ON p.id = r.payment_id JOIN orders o ON o.id = p.order_id \
         WHERE r.created_at >= $1 AND r.created_at < $2 GROUP BY o.staff_id"
            .to_owned(),
        w,
    )
    .load(conn)?;
    let refunds: HashMap<Uuid, i64> = refunds.into_iter().map(|r| (r.key, r.amount)).collect();
    let mut rows: Vec<StaffSales> = sums
        .into_iter()
        .map(|row| {
            let s = row.sums.order_sums();
            let refunded = refunds.get(&row.key).copied().unwrap_or(0);
            StaffSales {
                staff_id: row.key,
                staff: row.name,
                currency: w.currency.code().to_owned(),
                orders: s.orders,
                gross_sales: s.gross_sales,
                discounts: s.discounts,
                sales: s.sales,
                refunds: refunded,
                net_sales: net_sales(s.sales, refunded),
                average_sale: s.sales.checked_div(s.orders).unwrap_or(0),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.sales.cmp(&a.sales).then_with(|| a.staff.cmp(&b.staff)));
    Ok(rows)
}

#[derive(QueryableByName)]
struct ItemSums {
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    key: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    category: Option<String>,
    #[diesel(sql_type = BigInt)]
    quantity: i64,
    #[diesel(sql_type = BigInt)]
    gross: i64,
    #[diesel(sql_type = BigInt)]
    sales: i64,
}

const ITEM_SUMS: &str = "sum(i.quantity)::bigint AS quantity, \
     sum((i.unit_price + i.modifiers_total) * i.quantity)::bigint AS gross, sum(i.line_total)::bigint AS sales";

fn by_product(
    conn: &mut PgConnection,
    w: &ReportWindow,
    limit: Option<usize>,
) -> QueryResult<Vec<ProductSales>> {
    let limit = limit.map_or(String::new(), |n| format!(" LIMIT {n}"));
    let rows: Vec<ItemSums> = window(
        format!(
            "SELECT x.product_id AS key, p.name, c.name AS category, x.quantity, x.gross, x.sales FROM \
             (SELECT i.product_id, {ITEM_SUMS} FROM orders o JOIN order_items i ON i.order_id = o.id \
              WHERE {} AND i.status <> 'voided' GROUP BY i.product_id) x \
             LEFT JOIN products p ON p.id = x.product_id LEFT JOIN categories c ON c.id = p.category_id \
             ORDER BY x.sales DESC, p.name{limit}",
            sold()
        ),
        w,
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ProductSales {
            product_id: r.key.unwrap_or_default(),
            product: r.name.unwrap_or_default(),
            category: r.category,
            currency: w.currency.code().to_owned(),
            quantity: r.quantity,
            gross_sales: r.gross,
            sales: r.sales,
        })
        .collect())
}

fn by_category(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<CategorySales>> {
    let rows: Vec<ItemSums> = window(
        format!(
            "SELECT p.category_id AS key, c.name, NULL::text AS category, \
             sum(x.quantity)::bigint AS quantity, sum(x.gross)::bigint AS gross, sum(x.sales)::bigint AS sales FROM \
             (SELECT i.product_id, {ITEM_SUMS} FROM orders o JOIN order_items i ON i.order_id = o.id \
              WHERE {} AND i.status <> 'voided' GROUP BY i.product_id) x \
             LEFT JOIN products p ON p.id = x.product_id LEFT JOIN categories c ON c.id = p.category_id \
             GROUP BY p.category_id, c.name ORDER BY sales DESC, c.name",
            sold()
        ),
        w,
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| CategorySales {
            category_id: r.key,
            category: r.name.unwrap_or_default(),
            currency: w.currency.code().to_owned(),
            quantity: r.quantity,
            gross_sales: r.gross,
            sales: r.sales,
        })
        .collect())
}

#[derive(QueryableByName)]
struct MethodRow {
    #[diesel(sql_type = Text)]
    method: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    amount: i64,
    #[diesel(sql_type = BigInt)]
    tips: i64,
}

fn by_method(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<MethodSales>> {
    let paid_rows: Vec<MethodRow> = window(
        format!(
            "SELECT p.method, count(*)::bigint AS n, sum(p.amount)::bigint AS amount, sum(p.tip)::bigint AS tips \
             FROM payments p WHERE {} GROUP BY p.method",
            paid()
        ),
        w,
    )
    .load(conn)?;
    let refunded: Vec<MethodRow> = window(
        "SELECT p.method, count(*)::bigint AS n, sum(r.amount)::bigint AS amount, 0::bigint AS tips \
         FROM refunds r JOIN payments p ON p.id = r.payment_id \
         WHERE r.created_at >= $1 AND r.created_at < $2 GROUP BY p.method"
            .to_owned(),
        w,
    )
    .load(conn)?;
    Ok(PaymentMethod::ALL
        .into_iter()
        .map(|method| {
            let name = method.as_str();
            let got = paid_rows.iter().find(|r| r.method == name);
            let back = refunded.iter().find(|r| r.method == name).map_or(0, |r| r.amount);
            let amount = got.map_or(0, |r| r.amount);
            MethodSales {
                method: name.to_owned(),
                currency: w.currency.code().to_owned(),
                payments: got.map_or(0, |r| r.n),
                amount,
                tips: got.map_or(0, |r| r.tips),
                refunds: back,
                net: amount.saturating_sub(back),
            }
        })
        .collect())
}

fn refunds_count(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<i64> {
    let row: Amount = window(
        "SELECT count(*)::bigint AS amount FROM refunds r WHERE r.created_at >= $1 AND r.created_at < $2"
            .to_owned(),
        w,
    )
    .get_result(conn)?;
    Ok(row.amount)
}

#[derive(QueryableByName)]
struct TaxRow {
    #[diesel(sql_type = Integer)]
    rate: i32,
    #[diesel(sql_type = Bool)]
    inclusive: bool,
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(sql_type = BigInt)]
    sales: i64,
    #[diesel(sql_type = BigInt)]
    tax: i64,
}

fn tax(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<TaxLine>> {
    let rows: Vec<TaxRow> = window(
        format!(
            "SELECT (o.pricing ->> 'vat_rate_bp')::int AS rate, (o.pricing -> 'prices_include_tax')::boolean AS inclusive, \
             count(*)::bigint AS orders, sum(o.total)::bigint AS sales, sum(o.tax)::bigint AS tax \
             FROM orders o WHERE {} GROUP BY 1, 2 ORDER BY 1, 2",
            sold()
        ),
        w,
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| TaxLine {
            vat_rate_bp: r.rate,
            prices_include_tax: r.inclusive,
            currency: w.currency.code().to_owned(),
            orders: r.orders,
            sales: r.sales,
            tax: r.tax,
            net_of_tax: r.sales.saturating_sub(r.tax),
        })
        .collect())
}

#[derive(QueryableByName)]
struct VoidRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    order_id: Uuid,
    #[diesel(sql_type = Integer)]
    order_number: i32,
    #[diesel(sql_type = Text)]
    item: String,
    #[diesel(sql_type = BigInt)]
    quantity: i64,
    #[diesel(sql_type = BigInt)]
    amount: i64,
    #[diesel(sql_type = Nullable<Text>)]
    reason: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    voided_by: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    voided_by_name: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    approved_by: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    approved_by_name: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    voided_at: DateTime<Utc>,
}

/// Voided items of the window; an item voided with its whole order is of kind `order`.
const VOIDS: &str = "SELECT CASE WHEN o.status = 'voided' AND o.voided_at = i.voided_at THEN 'order' ELSE 'item' END AS kind, \
     o.id AS order_id, o.number AS order_number, i.name AS item, i.quantity::bigint AS quantity, \
     ((i.unit_price + i.modifiers_total) * i.quantity)::bigint AS amount, i.void_reason AS reason, \
     i.voided_by, vb.full_name AS voided_by_name, i.void_approved_by AS approved_by, ab.full_name AS approved_by_name, \
     i.voided_at \
     FROM order_items i JOIN orders o ON o.id = i.order_id \
     LEFT JOIN staff vb ON vb.id = i.voided_by LEFT JOIN staff ab ON ab.id = i.void_approved_by \
     WHERE i.voided_at >= $1 AND i.voided_at < $2 AND i.status = 'voided' \
     ORDER BY i.voided_at, o.number, i.name";

fn voids(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<VoidLine>> {
    let rows: Vec<VoidRow> = window(VOIDS.to_owned(), w).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| VoidLine {
            kind: r.kind,
            order_id: r.order_id,
            order_number: r.order_number,
            item: Some(r.item),
            quantity: r.quantity,
            currency: w.currency.code().to_owned(),
            amount: r.amount,
            reason: r.reason.unwrap_or_default(),
            voided_by: r.voided_by,
            voided_by_name: r.voided_by_name,
            approved_by: r.approved_by,
            approved_by_name: r.approved_by_name,
            voided_at: r.voided_at,
        })
        .collect())
}

#[derive(QueryableByName)]
struct RefundRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    refund_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    payment_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    order_id: Uuid,
    #[diesel(sql_type = Integer)]
    order_number: i32,
    #[diesel(sql_type = Text)]
    method: String,
    #[diesel(sql_type = BigInt)]
    amount: i64,
    #[diesel(sql_type = Text)]
    reason: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    staff_id: Uuid,
    #[diesel(sql_type = Text)]
    staff: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    approved_by: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    approved_by_name: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    refunded_at: DateTime<Utc>,
}

fn refunds(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<RefundLine>> {
    let rows: Vec<RefundRow> = window(
        "SELECT r.id AS refund_id, r.payment_id, o.id AS order_id, o.number AS order_number, p.method, \
         r.amount, r.reason, r.staff_id, s.full_name AS staff, r.approved_by, ab.full_name AS approved_by_name, \
         r.created_at AS refunded_at \
         FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN orders o ON o.id = p.order_id \
         JOIN staff s ON s.id = r.staff_id LEFT JOIN staff ab ON ab.id = r.approved_by \
         WHERE r.created_at >= $1 AND r.created_at < $2 ORDER BY r.created_at, r.id"
            .to_owned(),
        w,
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| RefundLine {
            refund_id: r.refund_id,
            payment_id: r.payment_id,
            order_id: r.order_id,
            order_number: r.order_number,
            method: r.method,
            currency: w.currency.code().to_owned(),
            amount: r.amount,
            reason: r.reason,
            staff_id: r.staff_id,
            staff: r.staff,
            approved_by: r.approved_by,
            approved_by_name: r.approved_by_name,
            refunded_at: r.refunded_at,
        })
        .collect())
}

#[derive(QueryableByName)]
struct DiscountRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    order_id: Uuid,
    #[diesel(sql_type = Integer)]
    order_number: i32,
    #[diesel(sql_type = Bool)]
    order_level: bool,
    #[diesel(sql_type = Bool)]
    item_level: bool,
    #[diesel(sql_type = BigInt)]
    gross: i64,
    #[diesel(sql_type = BigInt)]
    amount: i64,
    #[diesel(sql_type = Nullable<Text>)]
    reason: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    given_by: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    given_by_name: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    approved_by: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    approved_by_name: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    closed_at: DateTime<Utc>,
}

/// Discounted closed orders: the order's discount, or else its first discounted live item's,
/// says who gave it and who approved it.
fn discount_sql() -> String {
    format!(
        "SELECT x.id AS order_id, x.number AS order_number, x.order_level, x.item_level, x.gross, x.amount, \
         x.applied ->> 'reason' AS reason, gb.id AS given_by, gb.full_name AS given_by_name, \
         ab.id AS approved_by, ab.full_name AS approved_by_name, x.closed_at FROM \
         (SELECT o.id, o.number, o.subtotal AS gross, o.discount AS amount, o.closed_at, \
          o.applied_discount IS NOT NULL AS order_level, d.first IS NOT NULL AS item_level, \
          COALESCE(o.applied_discount, d.first) AS applied \
          FROM orders o LEFT JOIN LATERAL (SELECT (array_agg(i.applied_discount ORDER BY i.created_at, i.id))[1] AS first \
            FROM order_items i WHERE i.order_id = o.id AND i.applied_discount IS NOT NULL AND i.status <> 'voided') d ON true \
          WHERE {} AND o.discount > 0) x \
         LEFT JOIN staff gb ON gb.id::text = x.applied ->> 'by' \
         LEFT JOIN staff ab ON ab.id::text = x.applied ->> 'approved_by' \
         ORDER BY x.closed_at, x.number",
        sold()
    )
}

fn discounts(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<DiscountLine>> {
    let rows: Vec<DiscountRow> = window(discount_sql(), w).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| DiscountLine {
            order_id: r.order_id,
            order_number: r.order_number,
            scope: match (r.order_level, r.item_level) {
                (true, true) => "order_and_items",
                (true, false) => "order",
                _ => "items",
            }
            .to_owned(),
            currency: w.currency.code().to_owned(),
            gross_sales: r.gross,
            amount: r.amount,
            reason: r.reason,
            given_by: r.given_by,
            given_by_name: r.given_by_name,
            approved_by: r.approved_by,
            approved_by_name: r.approved_by_name,
            closed_at: r.closed_at,
        })
        .collect())
}

#[derive(QueryableByName)]
struct TipRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    staff_id: Uuid,
    #[diesel(sql_type = Text)]
    staff: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    tips: i64,
}

fn tips(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<TipLine>> {
    let rows: Vec<TipRow> = window(
        format!(
            "SELECT s.id AS staff_id, s.full_name AS staff, x.n, x.tips FROM \
             (SELECT p.staff_id, count(*)::bigint AS n, sum(p.tip)::bigint AS tips FROM payments p \
              WHERE {} AND p.tip > 0 GROUP BY p.staff_id) x JOIN staff s ON s.id = x.staff_id \
             ORDER BY x.tips DESC, s.full_name",
            paid()
        ),
        w,
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| TipLine {
            staff_id: r.staff_id,
            staff: r.staff,
            currency: w.currency.code().to_owned(),
            payments: r.n,
            tips: r.tips,
        })
        .collect())
}

#[derive(QueryableByName)]
struct ShiftRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    shift_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    staff_id: Uuid,
    #[diesel(sql_type = Text)]
    staff: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    terminal_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    opening_float: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    expected_cash: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    counted_cash: Option<i64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    variance_approved_by: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(sql_type = BigInt)]
    payments: i64,
    #[diesel(sql_type = BigInt)]
    tips: i64,
    #[diesel(sql_type = Timestamptz)]
    opened_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    closed_at: Option<DateTime<Utc>>,
}

/// Shifts that overlap the window (opened before its end, not closed before its start).
fn shifts(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<ShiftLine>> {
    let rows: Vec<ShiftRow> = window(
        format!(
            "SELECT sh.id AS shift_id, sh.staff_id, s.full_name AS staff, sh.terminal_id, sh.status, sh.opening_float, \
             sh.expected_cash, sh.counted_cash, sh.variance_approved_by, \
             COALESCE(oc.n, 0)::bigint AS orders, COALESCE(pc.amount, 0)::bigint AS payments, \
             COALESCE(pc.tips, 0)::bigint AS tips, sh.opened_at, sh.closed_at \
             FROM shifts sh JOIN staff s ON s.id = sh.staff_id \
             LEFT JOIN (SELECT o.shift_id, count(*) AS n FROM orders o WHERE {sold} GROUP BY o.shift_id) oc \
               ON oc.shift_id = sh.id \
             LEFT JOIN (SELECT p.shift_id, sum(p.amount) AS amount, sum(p.tip) AS tips FROM payments p \
               WHERE {paid} GROUP BY p.shift_id) pc ON pc.shift_id = sh.id \
             WHERE sh.opened_at < $2 AND (sh.closed_at IS NULL OR sh.closed_at >= $1) \
             ORDER BY sh.opened_at, sh.id",
            sold = sold(),
            paid = paid()
        ),
        w,
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ShiftLine {
            shift_id: r.shift_id,
            staff_id: r.staff_id,
            staff: r.staff,
            terminal_id: r.terminal_id,
            status: r.status,
            currency: w.currency.code().to_owned(),
            opening_float: r.opening_float,
            expected_cash: r.expected_cash,
            counted_cash: r.counted_cash,
            variance: r
                .counted_cash
                .zip(r.expected_cash)
                .map(|(c, e)| c.saturating_sub(e)),
            variance_approved_by: r.variance_approved_by,
            orders: r.orders,
            payments: r.payments,
            tips: r.tips,
            opened_at: r.opened_at,
            closed_at: r.closed_at,
        })
        .collect())
}

fn report(conn: &mut PgConnection, kind: ReportKind, w: &ReportWindow) -> QueryResult<ReportRows> {
    Ok(match kind {
        ReportKind::SalesByDay => ReportRows::SalesByDay(by_day(conn, w)?),
        ReportKind::SalesByHour => ReportRows::SalesByHour(by_hour(conn, w)?),
        ReportKind::SalesByProduct => ReportRows::SalesByProduct(by_product(conn, w, None)?),
        ReportKind::SalesByCategory => ReportRows::SalesByCategory(by_category(conn, w)?),
        ReportKind::SalesByStaff => ReportRows::SalesByStaff(by_staff(conn, w)?),
        ReportKind::SalesByMethod => ReportRows::SalesByMethod(by_method(conn, w)?),
        ReportKind::Tax => ReportRows::Tax(tax(conn, w)?),
        ReportKind::Voids => ReportRows::Voids(voids(conn, w)?),
        ReportKind::Refunds => ReportRows::Refunds(refunds(conn, w)?),
        ReportKind::Discounts => ReportRows::Discounts(discounts(conn, w)?),
        ReportKind::Tips => ReportRows::Tips(tips(conn, w)?),
        ReportKind::Shifts => ReportRows::Shifts(shifts(conn, w)?),
    })
}

/// Reports read a consistent picture: one REPEATABLE READ, READ ONLY transaction.
fn read_only<R>(
    conn: &mut PgConnection,
    f: impl FnOnce(&mut PgConnection) -> QueryResult<R>,
) -> Result<R, DbError> {
    Ok(conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(|conn| {
            // These are short scans: compiling them (JIT) costs more than it saves.
            sql_query("SET LOCAL jit = off").execute(conn)?;
            f(conn)
        })?)
}

// ----- the dashboard -----------------------------------------------------------------------

#[derive(QueryableByName)]
struct OpenOrderRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = Integer)]
    number: i32,
    #[diesel(sql_type = Text)]
    order_type: String,
    #[diesel(sql_type = Nullable<Text>)]
    table_code: Option<String>,
    #[diesel(sql_type = Text)]
    staff: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    paid: i64,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct StationRow {
    #[diesel(sql_type = Text)]
    station: String,
    #[diesel(sql_type = BigInt)]
    tickets: i64,
    #[diesel(sql_type = BigInt)]
    items: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    oldest: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct TicketTimeRow {
    #[diesel(sql_type = Text)]
    station: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    average: Option<i64>,
    #[diesel(sql_type = BigInt)]
    done: i64,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

fn dashboard(conn: &mut PgConnection, w: &ReportWindow, now: DateTime<Utc>) -> QueryResult<DashboardData> {
    let summary = summary(conn, w)?;
    let by_method = by_method(conn, w)?;
    let by_hour = by_hour(conn, w)?;
    let by_staff = by_staff(conn, w)?;
    let top_products = by_product(conn, w, Some(DASHBOARD_TOP_PRODUCTS))?;
    let open: Vec<OpenOrderRow> = sql_query(format!(
        "SELECT o.id, o.number, o.order_type, t.code AS table_code, s.full_name AS staff, o.status, o.total, o.paid, \
         o.created_at FROM orders o JOIN staff s ON s.id = o.staff_id LEFT JOIN dining_tables t ON t.id = o.table_id \
         WHERE o.status IN ({}) ORDER BY o.created_at, o.number",
        quoted(&OPEN_STATUSES)
    ))
    .load(conn)?;
    let open_orders = open
        .into_iter()
        .map(|r| OpenOrderLine {
            order_id: r.id,
            number: r.number,
            order_type: r.order_type,
            table: r.table_code,
            staff: r.staff,
            status: r.status,
            currency: w.currency.code().to_owned(),
            total: r.total,
            paid: r.paid,
            balance: r.total.saturating_sub(r.paid),
            created_at: r.created_at,
            age_seconds: (now - r.created_at).num_seconds().max(0),
        })
        .collect();
    let waiting: Vec<StationRow> = sql_query(
        "SELECT i.station, count(DISTINCT i.order_id)::bigint AS tickets, count(*)::bigint AS items, \
         min(i.sent_at) AS oldest FROM order_items i \
         WHERE i.status IN ('sent', 'preparing') AND i.station IS NOT NULL GROUP BY i.station",
    )
    .load(conn)?;
    // Items made ready today belong to orders created today or the evening before: reached
    // through the orders' created_at index rather than every item ever sold.
    let times: Vec<TicketTimeRow> = window(
        "SELECT i.station, avg(extract(epoch FROM i.ready_at - i.sent_at))::bigint AS average, \
         count(*)::bigint AS done FROM orders o JOIN order_items i ON i.order_id = o.id \
         WHERE o.created_at >= $1 - interval '1 day' AND o.created_at < $2 \
         AND i.ready_at >= $1 AND i.ready_at < $2 AND i.sent_at IS NOT NULL AND i.station IS NOT NULL \
         GROUP BY i.station"
            .to_owned(),
        w,
    )
    .load(conn)?;
    let stations = ["kitchen", "bar"]
        .into_iter()
        .map(|station| {
            let queue = waiting.iter().find(|r| r.station == station);
            let time = times.iter().find(|r| r.station == station);
            StationLoad {
                station: station.to_owned(),
                tickets_waiting: queue.map_or(0, |q| q.tickets),
                items_waiting: queue.map_or(0, |q| q.items),
                oldest_waiting_seconds: queue
                    .and_then(|q| q.oldest)
                    .map_or(0, |at| (now - at).num_seconds().max(0)),
                average_ticket_seconds: time.and_then(|t| t.average),
                items_done_today: time.map_or(0, |t| t.done),
            }
        })
        .collect();
    let open_shifts: Vec<IdRow> =
        sql_query("SELECT id FROM shifts WHERE status = 'open' ORDER BY opened_at, id").load(conn)?;
    Ok(DashboardData {
        summary,
        by_method,
        by_hour,
        by_staff,
        top_products,
        open_orders,
        stations,
        open_shifts: open_shifts.into_iter().map(|r| r.id).collect(),
    })
}

// ----- Z reports ---------------------------------------------------------------------------

#[derive(QueryableByName)]
struct ZRow {
    #[diesel(sql_type = BigInt)]
    number: i64,
    #[diesel(sql_type = Date)]
    business_date: NaiveDate,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Timestamptz)]
    period_start: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    period_end: DateTime<Utc>,
    #[diesel(sql_type = Jsonb)]
    totals: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    created_by: Uuid,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    prev_hash: String,
    #[diesel(sql_type = Text)]
    hash: String,
}

const Z_COLUMNS: &str = "number, business_date, currency, period_start, period_end, totals, created_by, created_at, prev_hash, hash";

impl ZRow {
    fn stored(self) -> StoredZ {
        StoredZ {
            number: self.number,
            business_date: self.business_date,
            currency: self.currency,
            period_start: self.period_start,
            period_end: self.period_end,
            totals: self.totals,
            created_by: StaffId::from_uuid(self.created_by),
            created_at: self.created_at,
            prev_hash: self.prev_hash,
            hash: self.hash,
        }
    }

    fn record(self) -> Result<ZReportRecord, StoreError> {
        let totals: ZTotals = serde_json::from_value(self.totals.clone())
            .map_err(|e| StoreError::Internal(format!("stored z_reports.totals is invalid: {e}")))?;
        Ok(ZReportRecord {
            number: self.number,
            business_date: self.business_date,
            currency: self.currency,
            period_start: self.period_start,
            period_end: self.period_end,
            totals,
            created_by: StaffId::from_uuid(self.created_by),
            created_at: self.created_at,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

#[derive(QueryableByName)]
struct OpenShiftRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    shift_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    staff_id: Uuid,
    #[diesel(sql_type = Text)]
    staff: String,
    #[diesel(sql_type = Timestamptz)]
    opened_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct ZShiftRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    shift_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    staff_id: Uuid,
    #[diesel(sql_type = Text)]
    staff: String,
    #[diesel(sql_type = Timestamptz)]
    opened_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    closed_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    opening_float: i64,
    #[diesel(sql_type = BigInt)]
    expected_cash: i64,
    #[diesel(sql_type = BigInt)]
    counted_cash: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    variance_approved_by: Option<Uuid>,
}

#[derive(QueryableByName)]
struct VoidSums {
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(sql_type = BigInt)]
    items: i64,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

#[derive(QueryableByName)]
struct DiscountSums {
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(sql_type = BigInt)]
    amount: i64,
    #[diesel(sql_type = BigInt)]
    approved: i64,
}

/// The figures of a Z report's period.
fn z_figures(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<ZFigures> {
    let sums = summary_sums(conn, w)?;
    let payments = by_method(conn, w)?;
    let refunds_count = refunds_count(conn, w)?;
    let tax = tax(conn, w)?;
    let voids: VoidSums = window(
        "SELECT (SELECT count(*) FROM orders o WHERE o.voided_at >= $1 AND o.voided_at < $2 \
           AND o.status = 'voided')::bigint AS orders, \
         count(*)::bigint AS items, \
         COALESCE(sum((i.unit_price + i.modifiers_total) * i.quantity), 0)::bigint AS amount \
         FROM order_items i WHERE i.voided_at >= $1 AND i.voided_at < $2 AND i.status = 'voided'"
            .to_owned(),
        w,
    )
    .get_result(conn)?;
    let discounts: DiscountSums = window(
        format!(
            "SELECT count(*)::bigint AS orders, COALESCE(sum(x.amount), 0)::bigint AS amount, \
             count(*) FILTER (WHERE x.approved_by IS NOT NULL)::bigint AS approved FROM ({}) x",
            discount_sql()
        ),
        w,
    )
    .get_result(conn)?;
    let shifts: Vec<ZShiftRow> = window(
        "SELECT sh.id AS shift_id, sh.staff_id, s.full_name AS staff, sh.opened_at, sh.closed_at, sh.opening_float, \
         sh.expected_cash, sh.counted_cash, sh.variance_approved_by \
         FROM shifts sh JOIN staff s ON s.id = sh.staff_id \
         WHERE sh.status = 'closed' AND sh.closed_at >= $1 AND sh.closed_at < $2 ORDER BY sh.closed_at, sh.id"
            .to_owned(),
        w,
    )
    .load(conn)?;
    Ok(ZFigures {
        sums,
        payments,
        refunds_count,
        tax,
        voids: ZVoids {
            orders: voids.orders,
            items: voids.items,
            amount: voids.amount,
        },
        discounts: ZDiscounts {
            orders: discounts.orders,
            amount: discounts.amount,
            approved: discounts.approved,
        },
        shifts: shifts
            .into_iter()
            .map(|s| ZShiftCash {
                shift_id: s.shift_id,
                staff_id: s.staff_id,
                staff: s.staff,
                opened_at: s.opened_at,
                closed_at: s.closed_at,
                opening_float: s.opening_float,
                expected_cash: s.expected_cash,
                counted_cash: s.counted_cash,
                variance: s.counted_cash.saturating_sub(s.expected_cash),
                variance_approved_by: s.variance_approved_by,
            })
            .collect(),
    })
}

/// How a close ends early.
enum Stop {
    Db(DbError),
    Answer(ZMutation),
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Self {
        Stop::Db(DbError::Diesel(e))
    }
}

impl From<DbError> for Stop {
    fn from(e: DbError) -> Self {
        Stop::Db(e)
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Db(DbError::Store(e))
    }
}

impl From<Abort> for Stop {
    fn from(abort: Abort) -> Self {
        match abort {
            Abort::Db(e) => Stop::Db(e),
            Abort::Answer(Mutation::Replayed(response)) => Stop::Answer(ZMutation::Replayed(response)),
            Abort::Answer(Mutation::KeyMismatch) => Stop::Answer(ZMutation::KeyMismatch),
            Abort::Answer(Mutation::KeyInProgress) => Stop::Answer(ZMutation::KeyInProgress),
            Abort::Answer(_) => Stop::Db(DbError::Store(StoreError::Internal(
                "an order answer came out of a Z report's idempotency claim".into(),
            ))),
        }
    }
}

/// The Z table's lock: taken before reading the last report, held to commit, so numbers are
/// handed out one close at a time (and a rolled-back close leaves no gap).
const Z_LOCK: &str = "LOCK TABLE z_reports IN SHARE ROW EXCLUSIVE MODE";

/// The first report's period starts here: everything before it.
fn epoch() -> DateTime<Utc> {
    Utc.timestamp_opt(0, 0).single().unwrap_or_default()
}

fn refuse(conn: &mut PgConnection, claim: Option<ZClaim>, refusal: ZRefusal) -> Result<ZMutation, Stop> {
    match claim {
        Some(claim) => {
            let response = (claim.render)(ZRender::Refused(&refusal));
            store_response(conn, claim.staff_id, &claim.key, &response)?;
            Ok(ZMutation::Refused {
                refusal,
                response: Some(response),
            })
        }
        None => Err(Stop::Answer(ZMutation::Refused {
            refusal,
            response: None,
        })),
    }
}

fn close_day(conn: &mut PgConnection, cmd: CloseDay, claim: Option<ZClaim>) -> Result<ZMutation, Stop> {
    if let Some(c) = &claim {
        let as_order_claim = IdempotencyClaim::new(c.staff_id, c.key.clone(), c.fingerprint.clone(), |_| {
            pos_domain::idempotency::StoredResponse {
                status: 500,
                content_type: String::new(),
                body: Vec::new(),
            }
        });
        claim_key(conn, &as_order_claim)?;
    }
    if let Err(refusal) = cmd.authorise() {
        return refuse(conn, claim, refusal);
    }
    sql_query(Z_LOCK).execute(conn)?;
    let open: Vec<OpenShiftRow> = sql_query(
        "SELECT sh.id AS shift_id, sh.staff_id, s.full_name AS staff, sh.opened_at FROM shifts sh \
         JOIN staff s ON s.id = sh.staff_id WHERE sh.status = 'open' ORDER BY sh.opened_at, sh.id",
    )
    .load(conn)?;
    let open = open
        .into_iter()
        .map(|r| OpenShiftRef {
            shift_id: r.shift_id,
            staff_id: r.staff_id,
            staff: r.staff,
            opened_at: r.opened_at,
        })
        .collect();
    if let Err(refusal) = CloseDay::check_shifts(open) {
        return refuse(conn, claim, refusal);
    }
    let last: Option<ZRow> = sql_query(format!(
        "SELECT {Z_COLUMNS} FROM z_reports ORDER BY number DESC LIMIT 1"
    ))
    .get_result(conn)
    .optional()?;
    if let Some(same_day) = sql_query("SELECT number AS amount FROM z_reports WHERE business_date = $1")
        .bind::<Date, _>(cmd.business_date)
        .get_result::<Amount>(conn)
        .optional()?
    {
        let refusal = ZRefusal::DayClosed {
            business_date: cmd.business_date,
            number: same_day.amount,
        };
        return refuse(conn, claim, refusal);
    }
    // PostgreSQL keeps microseconds: the hash covers the instants as they will be read back.
    let now = cmd.now.trunc_subsecs(6);
    let start = last.as_ref().map_or_else(epoch, |l| l.period_end);
    let period = ReportWindow {
        start,
        end: now.max(start),
        clock: cmd.clock,
        currency: cmd.currency,
    };
    let figures = z_figures(conn, &period)?;
    let totals = ZTotals::build(cmd.currency, period.start, period.end, figures);
    let number = last.as_ref().map_or(1, |l| l.number.saturating_add(1));
    let prev_hash = last.map_or_else(|| GENESIS_HASH.to_owned(), |l| l.hash);
    let json = serde_json::to_value(&totals)
        .map_err(|e| StoreError::Internal(format!("a Z report's totals cannot be stored: {e}")))?;
    // Hash what reading the row back will give (jsonb's own normal form).
    #[derive(QueryableByName)]
    struct Normal {
        #[diesel(sql_type = Jsonb)]
        value: serde_json::Value,
    }
    let json = sql_query("SELECT $1::jsonb AS value")
        .bind::<Jsonb, _>(json)
        .get_result::<Normal>(conn)?
        .value;
    let currency = cmd.currency.code();
    let hash = chain_hash(
        &prev_hash,
        number,
        cmd.business_date,
        currency,
        period.start,
        period.end,
        &json,
        cmd.by.id,
        now,
    );
    sql_query(
        "INSERT INTO z_reports (number, business_date, currency, totals, created_by, created_at, \
         period_start, period_end, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind::<BigInt, _>(number)
    .bind::<Date, _>(cmd.business_date)
    .bind::<Text, _>(currency)
    .bind::<Jsonb, _>(json.clone())
    .bind::<diesel::sql_types::Uuid, _>(cmd.by.id.as_uuid())
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(period.start)
    .bind::<Timestamptz, _>(period.end)
    .bind::<Text, _>(prev_hash.clone())
    .bind::<Text, _>(hash.clone())
    .execute(conn)?;
    let record = ZReportRecord {
        number,
        business_date: cmd.business_date,
        currency: currency.to_owned(),
        period_start: period.start,
        period_end: period.end,
        totals,
        created_by: cmd.by.id,
        created_at: now,
        prev_hash,
        hash,
    };
    append_audit(
        conn,
        NewAuditEntry::new("z_report.created", "z_report")
            .actor(Some(cmd.by.id))
            .terminal(cmd.terminal)
            .entity_id(number)
            .after(serde_json::json!({
                "number": number,
                "business_date": cmd.business_date,
                "hash": record.hash,
                "payments_total": record.totals.payments_total,
                "refunds_total": record.totals.refunds_total,
                "tips_total": record.totals.tips_total,
            })),
        Utc::now(),
    )?;
    let response = match claim {
        Some(claim) => {
            let response = (claim.render)(ZRender::Committed(&record));
            store_response(conn, claim.staff_id, &claim.key, &response)?;
            Some(response)
        }
        None => None,
    };
    Ok(ZMutation::Committed {
        record: Box::new(record),
        response,
    })
}

#[async_trait]
impl ReportStore for PgStore {
    async fn summary(&self, window: &ReportWindow) -> Result<SalesSummary, StoreError> {
        let w = *window;
        self.interact(move |conn| read_only(conn, |conn| summary(conn, &w)))
            .await
    }

    async fn report(&self, kind: ReportKind, window: &ReportWindow) -> Result<ReportRows, StoreError> {
        let w = *window;
        self.interact(move |conn| read_only(conn, |conn| report(conn, kind, &w)))
            .await
    }

    async fn dashboard(
        &self,
        window: &ReportWindow,
        now: DateTime<Utc>,
    ) -> Result<DashboardData, StoreError> {
        let w = *window;
        self.interact(move |conn| read_only(conn, |conn| dashboard(conn, &w, now)))
            .await
    }

    async fn close_day(&self, cmd: CloseDay, claim: Option<ZClaim>) -> Result<ZMutation, StoreError> {
        self.interact(move |conn| {
            match conn.transaction::<ZMutation, Stop, _>(|conn| close_day(conn, cmd, claim)) {
                Ok(mutation) | Err(Stop::Answer(mutation)) => Ok(mutation),
                Err(Stop::Db(e)) => Err(e),
            }
        })
        .await
    }

    async fn z_reports(&self) -> Result<Vec<ZReportRecord>, StoreError> {
        self.interact(|conn| {
            let rows: Vec<ZRow> =
                sql_query(format!("SELECT {Z_COLUMNS} FROM z_reports ORDER BY number DESC")).load(conn)?;
            Ok(rows
                .into_iter()
                .map(ZRow::record)
                .collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn z_report(&self, number: i64) -> Result<ZReportRecord, StoreError> {
        self.interact(move |conn| {
            let row: ZRow = sql_query(format!("SELECT {Z_COLUMNS} FROM z_reports WHERE number = $1"))
                .bind::<BigInt, _>(number)
                .get_result(conn)
                .optional()?
                .ok_or(StoreError::not_found("z report"))?;
            Ok(row.record()?)
        })
        .await
    }

    async fn z_chain(&self) -> Result<Vec<StoredZ>, StoreError> {
        self.interact(|conn| {
            let rows: Vec<ZRow> =
                sql_query(format!("SELECT {Z_COLUMNS} FROM z_reports ORDER BY number")).load(conn)?;
            Ok(rows.into_iter().map(ZRow::stored).collect())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definitions_reach_the_sql() {
        assert_eq!(
            received(),
            "p.status IN ('completed', 'partially_refunded', 'refunded')"
        );
        assert!(sold().starts_with("o.status = 'closed'"));
        assert_eq!(quoted(&["a'b"]), "'a''b'");
    }
}
