//! Items sold per product per hour of close (`item_sales_hourly`), so the product and
//! category reports over a year read a few thousand rollup rows instead of joining a year's
//! orders to their million items (docs/benchmarks.md, "Reports").
//!
//! The order store keeps it in the transaction that saves an order ([`roll_up_order`]); a
//! report reads the whole hours of its window from it and the ragged edges (a window not
//! on whole UTC hours, as with a +05:30 venue) from the items themselves.

use chrono::{DurationRound, TimeDelta};

use super::*;

/// One order's items as sold, per UTC hour of its close and product.
fn sold_items_by_hour(order_filter: &str) -> String {
    format!(
        "SELECT date_trunc('hour', o.closed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, i.product_id, {ITEM_SUMS} \
         FROM orders o JOIN order_items i ON i.order_id = o.id \
         WHERE o.status = '{SALE_STATUS}' AND i.status <> 'voided'{order_filter} GROUP BY 1, 2"
    )
}

const UPSERT: &str = "ON CONFLICT (hour, product_id) DO UPDATE SET \
     quantity = item_sales_hourly.quantity + excluded.quantity, \
     gross = item_sales_hourly.gross + excluded.gross, sales = item_sales_hourly.sales + excluded.sales";

/// Adds (`sign` 1) or takes back (`sign` -1) what order `order` sold, as its rows stand now:
/// called after an order's save makes it a sale, and before a save changes a sale. Rows are
/// written in product order so that two closes lock shared rows in the same order.
pub(crate) fn roll_up_order(conn: &mut PgConnection, order: Uuid, sign: i64) -> QueryResult<usize> {
    sql_query(format!(
        "INSERT INTO item_sales_hourly (hour, product_id, quantity, gross, sales) \
         SELECT hour, product_id, $2 * quantity, $2 * gross, $2 * sales FROM ({}) s \
         ORDER BY product_id {UPSERT}",
        sold_items_by_hour(" AND o.id = $1")
    ))
    .bind::<diesel::sql_types::Uuid, _>(order)
    .bind::<BigInt, _>(sign)
    .execute(conn)
}

/// Rebuilds the rollup from every sale (for data written around the order store, as
/// `pos bench-reports` writes a year with SQL); the same statement the migration ran.
pub fn rebuild_item_sales(conn: &mut PgConnection) -> QueryResult<usize> {
    sql_query("TRUNCATE item_sales_hourly").execute(conn)?;
    sql_query(format!(
        "INSERT INTO item_sales_hourly (hour, product_id, quantity, gross, sales) {}",
        sold_items_by_hour("")
    ))
    .execute(conn)
}

/// The whole UTC hours `[a, b)` inside the window; empty (`a == b`) when there are none.
fn whole_hours(w: &ReportWindow) -> (DateTime<Utc>, DateTime<Utc>) {
    let hour = TimeDelta::hours(1);
    let floor = |t: DateTime<Utc>| t.duration_trunc(hour).unwrap_or(t);
    let first = floor(w.start);
    let a = if first < w.start { first + hour } else { first };
    let b = floor(w.end);
    if a < b { (a, b) } else { (w.start, w.start) }
}

/// Items sold in the window per product (`product_id`, `quantity`, `gross`, `sales`): the
/// rollup's whole hours plus the items of orders closed in the edges around them.
pub(super) fn product_sums<'a>(
    w: &ReportWindow,
    select: impl FnOnce(&str) -> String,
) -> diesel::query_builder::BoxedSqlQuery<'a, diesel::pg::Pg, diesel::query_builder::SqlQuery> {
    let (a, b) = whole_hours(w);
    let sums = format!(
        "SELECT product_id, sum(quantity)::bigint AS quantity, sum(gross)::bigint AS gross, sum(sales)::bigint AS sales FROM ( \
           SELECT product_id, quantity, gross, sales FROM item_sales_hourly WHERE hour >= $3 AND hour < $4 \
           UNION ALL \
           SELECT i.product_id, {ITEM_SUMS} FROM orders o JOIN order_items i ON i.order_id = o.id \
            WHERE o.status = '{SALE_STATUS}' AND i.status <> 'voided' \
              AND (o.closed_at >= $1 AND o.closed_at < $3 OR o.closed_at >= $4 AND o.closed_at < $2) \
            GROUP BY i.product_id \
         ) edges_and_hours GROUP BY product_id"
    );
    window(select(&sums), w)
        .bind::<Timestamptz, _>(a)
        .bind::<Timestamptz, _>(b)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use pos_domain::money::Currency;
    use pos_domain::reports::BusinessClock;

    use super::*;

    fn window(start: DateTime<Utc>, end: DateTime<Utc>) -> ReportWindow {
        ReportWindow {
            start,
            end,
            clock: BusinessClock {
                day_shift_minutes: 0,
                local_offset_minutes: 0,
            },
            currency: Currency::Ugx,
        }
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap()
    }

    #[test]
    fn whole_hours_are_those_inside_the_window() {
        assert_eq!(whole_hours(&window(at(3, 0), at(9, 0))), (at(3, 0), at(9, 0)));
        assert_eq!(whole_hours(&window(at(3, 30), at(9, 30))), (at(4, 0), at(9, 0)));
        // Less than a whole hour: everything is read from the items.
        assert_eq!(whole_hours(&window(at(3, 10), at(3, 50))), (at(3, 10), at(3, 10)));
        assert_eq!(whole_hours(&window(at(3, 10), at(4, 5))), (at(3, 10), at(3, 10)));
    }
}
