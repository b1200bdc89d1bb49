//! The itemised reports: tax, voids, refunds, discounts, tips and shifts, one row per
//! line a manager reads, summed by the definitions in the parent module.

use super::*;

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

pub(super) fn tax(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<TaxLine>> {
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

pub(super) fn voids(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<VoidLine>> {
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

pub(super) fn refunds(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<RefundLine>> {
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
pub(super) fn discount_sql() -> String {
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

pub(super) fn discounts(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<DiscountLine>> {
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

pub(super) fn tips(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<TipLine>> {
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
pub(super) fn shifts(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<Vec<ShiftLine>> {
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
