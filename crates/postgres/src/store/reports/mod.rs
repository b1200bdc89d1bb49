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

mod lines;
mod rollup;
mod z;

use lines::{discount_sql, discounts, refunds, shifts, tax, tips, voids};
pub use rollup::rebuild_item_sales;
pub(crate) use rollup::roll_up_order;
use z::{Stop, Z_COLUMNS, ZRow, close_day};

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
    let rows: Vec<ItemSums> = rollup::product_sums(w, |sums| {
        format!(
            "SELECT x.product_id AS key, p.name, c.name AS category, x.quantity, x.gross, x.sales FROM ({sums}) x \
             LEFT JOIN products p ON p.id = x.product_id LEFT JOIN categories c ON c.id = p.category_id \
             ORDER BY x.sales DESC, p.name{limit}"
        )
    })
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
    let rows: Vec<ItemSums> = rollup::product_sums(w, |sums| {
        format!(
            "SELECT p.category_id AS key, c.name, NULL::text AS category, \
             sum(x.quantity)::bigint AS quantity, sum(x.gross)::bigint AS gross, sum(x.sales)::bigint AS sales FROM ({sums}) x \
             LEFT JOIN products p ON p.id = x.product_id LEFT JOIN categories c ON c.id = p.category_id \
             GROUP BY p.category_id, c.name ORDER BY sales DESC, c.name"
        )
    })
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
