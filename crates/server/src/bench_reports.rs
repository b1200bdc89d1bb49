//! `pos bench-reports`: how fast reports and the Z report are over a big café's data.
//!
//! On a fresh, empty database (DATABASE_URL; it is migrated first) it writes, with SQL
//! `generate_series`:
//!
//! 1. a year of trade: `--orders` (default 500,000) closed orders over 365 business days,
//!    1–3 items each, a payment each (every third split in two), tips, discounts, voided
//!    items, refunds and one closed shift a day;
//! 2. then one more business day of `--day-orders` (10,000) orders and 15,000 payments.
//!
//! It then times, through the same store the server uses: the Z report closing the year
//! (its first), the Z report closing the busy day, every report over the 365 days
//! (`--runs` times each; the first run is cold), and the dashboard. Figures are printed;
//! docs/benchmarks.md records them with the command.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{NaiveDate, TimeDelta, Utc};
use clap::Args;
use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;
use pos_domain::approval::Actor;
use pos_domain::business_day::business_day_bounds;
use pos_domain::ids::StaffId;
use pos_domain::permissions::Role;
use pos_domain::reports::{BusinessClock, ReportKind, ReportRange, ReportStore, ReportWindow};
use pos_domain::settings::Settings;
use pos_domain::z_report::{CloseDay, ZMutation};

use crate::config::Required;
use crate::wiring;

#[derive(Debug, Clone, Args)]
pub struct BenchReportsArgs {
    /// Orders over the year.
    #[arg(long, value_name = "N", default_value_t = 500_000)]
    pub orders: i64,
    /// Orders of the busy day the second Z report closes (half of them paid in two parts).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub day_orders: i64,
    /// Timed runs of each report.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub runs: usize,
    /// Time the reports again over a database an earlier run wrote (no writing, no Z).
    #[arg(long)]
    pub existing: bool,
}

const DAYS: i64 = 365;

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The SQL that writes `count` closed orders numbered from `first` over `days` business days
/// starting at business date `d0` (whose day starts at `base`), with items, payments (every
/// `split`-th order paid in two), tips, discounts, voids, refunds and a shift per day.
#[allow(clippy::too_many_arguments)]
fn generate(
    first: i64,
    count: i64,
    day0: i64,
    days: i64,
    split: i64,
    d0: NaiveDate,
    base: &str,
    staff: &str,
) -> Vec<String> {
    let last = first + count - 1;
    let day = format!("((n - {first}) % {days} + {day0})");
    let number = format!("((n - {first}) / {days} + 1)");
    let closed = format!(
        "('{base}'::timestamptz + {day} * interval '1 day' + interval '3 hours' + ((n * 7919) % 50000) * interval '1 second')"
    );
    let order_id = "md5('bench-order-' || n)::uuid";
    vec![
        format!(
            "INSERT INTO shifts (id, staff_id, currency, opening_float, counted_cash, expected_cash, status, opened_at, closed_at, closed_by) \
             SELECT md5('bench-shift-' || d)::uuid, '{staff}', 'UGX', 50000, 50000 + (d % 7) * 100, 50000, 'closed', \
             '{base}'::timestamptz + d * interval '1 day' + interval '1 hour', '{base}'::timestamptz + d * interval '1 day' + interval '23 hours', '{staff}' \
             FROM generate_series({day0}, {day0} + {days} - 1) d ON CONFLICT (id) DO NOTHING"
        ),
        format!(
            "INSERT INTO orders (id, business_date, number, order_type, staff_id, shift_id, status, currency, pricing, \
             applied_discount, subtotal, discount, service_charge, tax, total, paid, created_at, updated_at, \
             sent_to_kitchen_at, ready_at, served_at, closed_at) \
             SELECT {order_id}, '{d0}'::date + {day}::int, {number}, 'takeaway', '{staff}', md5('bench-shift-' || {day})::uuid, 'closed', 'UGX', \
             '{{\"vat_rate_bp\": 1600, \"prices_include_tax\": true, \"service_charge_bp\": 0}}', \
             CASE WHEN n % 20 = 0 THEN jsonb_build_object('discount', jsonb_build_object('kind', 'percent', 'bp', 1000), \
               'reason', 'regular', 'by', '{staff}', 'approved_by', '{staff}') END, \
             s.gross, s.discount, 0, ((s.gross - s.discount) * 1600 / 11600), s.gross - s.discount, s.gross - s.discount, \
             {closed} - interval '40 minutes', {closed}, {closed} - interval '38 minutes', {closed} - interval '25 minutes', \
             {closed} - interval '20 minutes', {closed} \
             FROM generate_series({first}::bigint, {last}::bigint) n CROSS JOIN LATERAL ( \
               SELECT sum(bp.price * (1 + (n + k) % 2))::bigint AS gross, \
                      CASE WHEN n % 20 = 0 THEN sum(bp.price * (1 + (n + k) % 2))::bigint / 10 ELSE 0 END AS discount \
               FROM generate_series(1, 1 + n % 3) k JOIN bench_products bp ON bp.idx = (n * 7 + k * 13) % 40) s"
        ),
        format!(
            "INSERT INTO order_items (order_id, product_id, name, unit_price, quantity, line_total, station, status, \
             created_at, sent_at, preparing_at, ready_at, served_at) \
             SELECT {order_id}, bp.id, bp.name, bp.price, 1 + (n + k) % 2, bp.price * (1 + (n + k) % 2), 'kitchen', 'served', \
             {closed} - interval '40 minutes', {closed} - interval '38 minutes', {closed} - interval '35 minutes', \
             {closed} - interval '25 minutes', {closed} - interval '20 minutes' \
             FROM generate_series({first}::bigint, {last}::bigint) n CROSS JOIN generate_series(1, 1 + n % 3) k \
             JOIN bench_products bp ON bp.idx = (n * 7 + k * 13) % 40"
        ),
        // Every 50th order had one more item, voided by the manager.
        format!(
            "INSERT INTO order_items (order_id, product_id, name, unit_price, quantity, line_total, station, status, \
             created_at, sent_at, voided_at, void_reason, voided_by, void_approved_by) \
             SELECT {order_id}, bp.id, bp.name, bp.price, 1, 0, 'kitchen', 'voided', {closed} - interval '40 minutes', \
             {closed} - interval '38 minutes', {closed} - interval '30 minutes', 'sent by mistake', '{staff}', '{staff}' \
             FROM generate_series({first}::bigint, {last}::bigint) n JOIN bench_products bp ON bp.idx = n % 40 WHERE n % 50 = 0"
        ),
        format!(
            "INSERT INTO payments (id, order_id, method, amount, currency, status, reference, staff_id, shift_id, \
             created_at, updated_at, completed_at, tip) \
             SELECT md5('bench-pay-' || n || '-' || j)::uuid, {order_id}, \
             (ARRAY['cash', 'card', 'mtn_momo', 'airtel_money'])[1 + (n + j) % 4], \
             CASE WHEN n % {split} = 0 THEN (CASE WHEN j = 1 THEN o.total / 2 ELSE o.total - o.total / 2 END) ELSE o.total END, \
             'UGX', 'completed', CASE WHEN (n + j) % 4 = 0 THEN NULL ELSE 'REF-' || n END, '{staff}', o.shift_id, \
             o.closed_at - interval '2 minutes', o.closed_at, o.closed_at, CASE WHEN n % 10 = 0 THEN 1000 ELSE 0 END \
             FROM generate_series({first}::bigint, {last}::bigint) n CROSS JOIN generate_series(1, 2) j \
             JOIN orders o ON o.id = {order_id} \
             WHERE j = 1 OR n % {split} = 0"
        ),
        format!(
            "INSERT INTO refunds (payment_id, amount, currency, reason, staff_id, approved_by, shift_id, created_at) \
             SELECT p.id, LEAST(500, p.amount), 'UGX', 'cold', '{staff}', '{staff}', p.shift_id, p.completed_at + interval '10 minutes' \
             FROM generate_series({first}::bigint, {last}::bigint) n JOIN payments p ON p.id = md5('bench-pay-' || n || '-1')::uuid \
             WHERE n % 200 = 0"
        ),
    ]
}

pub fn run(args: BenchReportsArgs) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(bench(args))
}

async fn bench(args: BenchReportsArgs) -> anyhow::Result<()> {
    let config = crate::startup(Required::DATABASE)?;
    let url = config
        .database_url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL is required"))?;
    wiring::migrate(&url).await?;
    let store = wiring::connect_store(&url, 4).await?;
    let existing = store
        .interact(|conn| {
            Ok(diesel::sql_query("SELECT count(*) AS n FROM orders")
                .get_result::<N>(conn)?
                .n)
        })
        .await?;
    if existing > 0 && !args.existing {
        bail!("the database already has {existing} orders: run the bench on a fresh, empty database");
    }

    // The venue's clock: East Africa Time, the day turning at 04:00 (the defaults).
    let settings = Settings::defaults("Bench Café");
    let today = pos_domain::business_day::business_date(Utc::now(), &settings);
    let d0 = if args.existing {
        #[derive(diesel::QueryableByName)]
        struct First {
            #[diesel(sql_type = diesel::sql_types::Date)]
            d: NaiveDate,
        }
        store
            .interact(|conn| {
                Ok(diesel::sql_query("SELECT min(business_date) AS d FROM orders")
                    .get_result::<First>(conn)?
                    .d)
            })
            .await?
    } else {
        today - TimeDelta::days(DAYS + 30)
    };
    let year_end = d0 + TimeDelta::days(DAYS - 1);
    let busy_day = d0 + TimeDelta::days(DAYS);
    if args.existing {
        return time_reports(&store, &settings, d0, year_end, busy_day, args.runs).await;
    }
    let base = business_day_bounds(d0, &settings).0;
    let base_sql = base.to_rfc3339();

    println!(
        "pos bench-reports: {} orders over {DAYS} days, then a day of {} orders",
        args.orders, args.day_orders
    );
    let started = Instant::now();
    let year = generate(
        1,
        args.orders,
        0,
        DAYS,
        3,
        d0,
        &base_sql,
        "00000000-0000-0000-0000-0000000000b1",
    );
    let day = generate(
        args.orders + 1,
        args.day_orders,
        DAYS,
        1,
        2,
        d0,
        &base_sql,
        "00000000-0000-0000-0000-0000000000b1",
    );
    store
        .interact(move |conn| {
            for sql in [
                "INSERT INTO staff (id, username, full_name, role, password_hash) VALUES \
                 ('00000000-0000-0000-0000-0000000000b1', 'bench-manager', 'Bench Manager', 'manager', 'not-a-hash')",
                "INSERT INTO categories (id, name) VALUES ('00000000-0000-0000-0000-0000000000c1', 'Bench food'), \
                 ('00000000-0000-0000-0000-0000000000c2', 'Bench drinks')",
                "INSERT INTO products (sku, name, category_id, price, currency, station) \
                 SELECT 'BENCH-' || i, 'Bench dish ' || i, \
                 CASE WHEN i % 3 = 0 THEN '00000000-0000-0000-0000-0000000000c2'::uuid ELSE '00000000-0000-0000-0000-0000000000c1'::uuid END, \
                 2000 + (i * 500) % 30000, 'UGX', 'kitchen' FROM generate_series(0, 39) i",
                "CREATE TEMP TABLE bench_products AS SELECT row_number() OVER (ORDER BY sku) - 1 AS idx, id, name, price \
                 FROM products WHERE sku LIKE 'BENCH-%'",
            ] {
                diesel::sql_query(sql).execute(conn)?;
            }
            for sql in &year {
                diesel::sql_query(sql.as_str()).execute(conn)?;
            }
            // Written around the order store, so its hourly rollup is rebuilt as a close keeps it.
            pos_postgres::rebuild_item_sales(conn)?;
            Ok(())
        })
        .await
        .context("writing the year")?;
    let generated_year = started.elapsed();
    store
        .interact(|conn| {
            diesel::sql_query("VACUUM ANALYZE").execute(conn)?;
            Ok(())
        })
        .await?;
    let counts = store
        .interact(|conn| {
            let count =
                |conn: &mut diesel::PgConnection, table: &str| -> Result<i64, pos_postgres::DbError> {
                    Ok(diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
                        .get_result::<N>(conn)?
                        .n)
                };
            Ok((
                count(conn, "orders")?,
                count(conn, "order_items")?,
                count(conn, "payments")?,
                count(conn, "refunds")?,
            ))
        })
        .await?;
    println!(
        "  year written in {:.1} s: {} orders, {} items, {} payments, {} refunds",
        generated_year.as_secs_f64(),
        counts.0,
        counts.1,
        counts.2,
        counts.3
    );

    let manager = Actor::new(StaffId::from_uuid(uuid::Uuid::from_u128(0xb1)), Role::Manager);
    let clock = BusinessClock::of(&settings);
    let close = |date: NaiveDate| CloseDay {
        business_date: date,
        now: business_day_bounds(date, &settings).1 - TimeDelta::seconds(1),
        by: manager,
        terminal: None,
        clock,
        currency: settings.currency,
    };
    let timer = Instant::now();
    let z1 = store.close_day(close(year_end), None).await?;
    let z1_time = timer.elapsed();
    let ZMutation::Committed { record, .. } = z1 else {
        bail!("the year's Z report was not taken: {z1:?}");
    };
    println!(
        "  Z report #{} closing the whole year at once ({} payments): {}",
        record.number,
        record.totals.payments_count,
        ms(z1_time)
    );

    let started = Instant::now();
    store
        .interact(move |conn| {
            for sql in &day {
                diesel::sql_query(sql.as_str()).execute(conn)?;
            }
            pos_postgres::rebuild_item_sales(conn)?;
            diesel::sql_query("ANALYZE").execute(conn)?;
            Ok(())
        })
        .await
        .context("writing the busy day")?;
    println!("  busy day written in {:.1} s", started.elapsed().as_secs_f64());
    let timer = Instant::now();
    let z2 = store.close_day(close(busy_day), None).await?;
    let z2_time = timer.elapsed();
    let ZMutation::Committed { record, .. } = z2 else {
        bail!("the busy day's Z report was not taken: {z2:?}");
    };
    println!(
        "  Z report #{} closing a day of {} orders and {} payments: {}  (aim: under 1 s)",
        record.number,
        record.totals.sales.orders,
        record.totals.payments_count,
        ms(z2_time)
    );
    time_reports(&store, &settings, d0, year_end, busy_day, args.runs).await
}

/// Every report over the year, `runs` times each, and the dashboard of the busy day.
async fn time_reports(
    store: &pos_postgres::PgStore,
    settings: &Settings,
    d0: NaiveDate,
    year_end: NaiveDate,
    busy_day: NaiveDate,
    runs: usize,
) -> anyhow::Result<()> {
    let range = ReportRange {
        from: d0,
        to: year_end,
    };
    let window = ReportWindow::of(range, settings);
    println!(
        "  reports over {} business days ({} .. {}), {} runs each (aim: under 1 s):",
        range.days(),
        range.from,
        range.to,
        runs
    );
    let mut worst = Duration::ZERO;
    let mut line = |name: &str, times: Vec<Duration>| {
        let best = times.iter().min().copied().unwrap_or_default();
        let max = times.iter().max().copied().unwrap_or_default();
        worst = worst.max(max);
        let all: Vec<String> = times.iter().map(|t| ms(*t)).collect();
        println!(
            "    {name:<18} best {:>10}  worst {:>10}  ({})",
            ms(best),
            ms(max),
            all.join(", ")
        );
    };
    let runs = runs.max(1);
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        store.summary(&window).await?;
        times.push(t.elapsed());
    }
    line("summary", times);
    for kind in [
        ReportKind::SalesByDay,
        ReportKind::SalesByHour,
        ReportKind::SalesByProduct,
        ReportKind::SalesByCategory,
        ReportKind::SalesByStaff,
        ReportKind::SalesByMethod,
        ReportKind::Tax,
        ReportKind::Voids,
        ReportKind::Refunds,
        ReportKind::Discounts,
        ReportKind::Tips,
        ReportKind::Shifts,
    ] {
        let mut times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            store.report(kind, &window).await?;
            times.push(t.elapsed());
        }
        line(kind.as_str(), times);
    }
    let day_window = ReportWindow::of(ReportRange::day(busy_day), settings);
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        store.dashboard(&day_window, day_window.end).await?;
        times.push(t.elapsed());
    }
    line("dashboard (busy day)", times);
    println!("  slowest report run: {}", ms(worst));
    Ok(())
}
