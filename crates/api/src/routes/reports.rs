//! `/api/reports/*` (issue 11 item 5, issue 10 item 9): sales by day, hour, product,
//! category, staff and payment method, the tax summary, voids, refunds, discounts, tips and
//! shifts over a range of business dates, and the manager's dashboard. What each figure
//! means is defined once in `pos_domain::reports` (and docs/api.md).
//!
//! Every report takes `from` and `to` (business dates, YYYY-MM-DD, both included; default
//! today) and answers JSON, or CSV with `?format=csv` or `Accept: text/csv`. Money is integer
//! minor units of `currency`, which every answer (and every CSV row) names.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, NaiveDate, Utc};
use pos_domain::business_day::business_date;
use pos_domain::permissions::Action;
use pos_domain::reports::{
    CategorySales, DaySales, DiscountLine, HourSales, MethodSales, OpenOrderLine, ProductSales, RefundLine,
    ReportKind, ReportRange, ReportRows, ReportWindow, SalesSummary, ShiftLine, StaffSales, StationLoad,
    TaxLine, TipLine, VoidLine, totals,
};
use pos_domain::shifts::ShiftCaller;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::parse_query;
use crate::routes::shifts::ShiftView;
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(dashboard)
        .service(summary)
        .service(sales_by_day)
        .service(sales_by_hour)
        .service(sales_by_product)
        .service(sales_by_category)
        .service(sales_by_staff)
        .service(sales_by_method)
        .service(tax)
        .service(voids)
        .service(refunds)
        .service(discounts)
        .service(tips)
        .service(shifts);
}

/// The range and the format of a report.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First business date, YYYY-MM-DD (default: `to`).
    #[param(example = "2026-12-01")]
    pub from: Option<String>,
    /// Last business date, YYYY-MM-DD, included (default: today's business date).
    #[param(example = "2026-12-07")]
    pub to: Option<String>,
    /// `json` (default) or `csv` (also chosen by `Accept: text/csv`).
    #[param(example = "csv")]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

fn format_of(req: &HttpRequest, asked: Option<&str>) -> Result<Format, ApiError> {
    match asked.map(str::trim) {
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some(_) => Err(ApiError::bad_request(
            "invalid_parameter",
            "format: must be json or csv",
            Some("format".to_owned()),
        )),
        None => {
            let accept = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            Ok(if accept.contains("text/csv") {
                Format::Csv
            } else {
                Format::Json
            })
        }
    }
}

/// A report request, read and checked: its range, its window and its format.
struct Ask {
    range: ReportRange,
    window: ReportWindow,
    format: Format,
}

impl Ask {
    async fn read(state: &AppState, req: &HttpRequest) -> Result<Ask, ApiError> {
        let query: RangeQuery = parse_query(req.query_string())?;
        let format = format_of(req, query.format.as_deref())?;
        let settings = state.settings.get_settings().await?;
        let today = business_date(state.clock.now(), &settings);
        let range = ReportRange::parse(query.from.as_deref(), query.to.as_deref(), today)?;
        Ok(Ask {
            range,
            window: ReportWindow::of(range, &settings),
            format,
        })
    }

    fn csv<T: Serialize>(&self, kind: &str, rows: &[T]) -> Result<HttpResponse, ApiError> {
        let body = csv_body(rows)?;
        let name = format!("{kind}_{}_{}.csv", self.range.from, self.range.to);
        Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ))
            .body(body))
    }
}

/// Rows as CSV with a header line (the rows' field names), written by the `csv` crate.
pub fn csv_body<T: Serialize>(rows: &[T]) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).map_err(ApiError::internal)?;
    }
    writer.into_inner().map_err(|e| ApiError::internal(e.error()))
}

/// The headline figures of a range.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(flatten)]
    pub summary: SalesSummary,
}

/// Gross, discounts, service charge, tax, sales, refunds, net sales and tips of a range.
#[utoipa::path(
    tag = "reports",
    params(RangeQuery),
    responses(
        (status = 200, description = "The range's figures", content(
            (SummaryReport = "application/json"),
            (String = "text/csv"),
        )),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_reports")))
)]
#[get("/reports/summary")]
pub async fn summary(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ViewReports)?;
    let ask = Ask::read(&state, &req).await?;
    let summary = state.reports.summary(&ask.window).await?;
    match ask.format {
        Format::Csv => ask.csv("summary", &[summary]),
        Format::Json => Ok(HttpResponse::Ok().json(SummaryReport {
            from: ask.range.from,
            to: ask.range.to,
            summary,
        })),
    }
}

// rustfmt re-indents the attribute inside this macro further on every run: left as written.
#[rustfmt::skip]
macro_rules! report_route {
    ($handler:ident, $path:tt, $kind:ident, $row:ty, $table:ident, $doc:tt) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Serialize, ToSchema)]
        pub struct $table {
            /// The report's name.
            pub report: String,
            pub currency: String,
            pub from: NaiveDate,
            pub to: NaiveDate,
            pub rows: Vec<$row>,
            /// Each amount column summed over the rows.
            pub totals: BTreeMap<String, i64>,
        }

        #[doc = $doc]
        #[utoipa::path(
            tag = "reports",
            params(RangeQuery),
            responses(
                (status = 200, description = $doc, content(
                    ($table = "application/json"),
                    (String = "text/csv"),
                )),
            ),
            security(("bearer_auth" = []), ("cookie_auth" = [])),
            extensions(("x-pos-action" = json!("view_reports")))
        )]
        #[get($path)]
        pub async fn $handler(
            state: web::Data<AppState>,
            auth: Authenticated,
            req: HttpRequest,
        ) -> Result<HttpResponse, ApiError> {
            auth.require(Action::ViewReports)?;
            let ask = Ask::read(&state, &req).await?;
            let kind = ReportKind::$kind;
            let ReportRows::$kind(rows) = state.reports.report(kind, &ask.window).await? else {
                return Err(ApiError::internal("the store answered another report"));
            };
            match ask.format {
                Format::Csv => ask.csv(kind.as_str(), &rows),
                Format::Json => Ok(HttpResponse::Ok().json($table {
                    report: kind.as_str().to_owned(),
                    currency: ask.window.currency.code().to_owned(),
                    from: ask.range.from,
                    to: ask.range.to,
                    totals: totals(&rows),
                    rows,
                })),
            }
        }
    };
}

report_route!(
    sales_by_day,
    "/reports/sales-by-day",
    SalesByDay,
    DaySales,
    SalesByDayReport,
    "Sales by business date: orders, gross, discounts, service charge, tax, sales, refunds, net sales, tips."
);
report_route!(
    sales_by_hour,
    "/reports/sales-by-hour",
    SalesByHour,
    HourSales,
    SalesByHourReport,
    "Sales by local hour of the day (0–23) over the range."
);
report_route!(
    sales_by_product,
    "/reports/sales-by-product",
    SalesByProduct,
    ProductSales,
    SalesByProductReport,
    "Items sold by product (live items of closed orders), best sellers first."
);
report_route!(
    sales_by_category,
    "/reports/sales-by-category",
    SalesByCategory,
    CategorySales,
    SalesByCategoryReport,
    "Items sold by menu category."
);
report_route!(
    sales_by_staff,
    "/reports/sales-by-staff",
    SalesByStaff,
    StaffSales,
    SalesByStaffReport,
    "Sales by the staff member who took the order, with the refunds of their orders."
);
report_route!(
    sales_by_method,
    "/reports/sales-by-method",
    SalesByMethod,
    MethodSales,
    SalesByMethodReport,
    "Money received by payment method (every method listed), with tips and refunds."
);
report_route!(
    tax,
    "/reports/tax",
    Tax,
    TaxLine,
    TaxReport,
    "Tax of closed orders by VAT rate and whether prices included it."
);
report_route!(
    voids,
    "/reports/voids",
    Voids,
    VoidLine,
    VoidsReport,
    "Voided items and orders, with who voided and who approved."
);
report_route!(
    refunds,
    "/reports/refunds",
    Refunds,
    RefundLine,
    RefundsReport,
    "Refunds, with their reason, who refunded and who approved."
);
report_route!(
    discounts,
    "/reports/discounts",
    Discounts,
    DiscountLine,
    DiscountsReport,
    "Discounted closed orders, with who gave the discount and who approved it."
);
report_route!(
    tips,
    "/reports/tips",
    Tips,
    TipLine,
    TipsReport,
    "Tips by the staff member who took the payment (never part of sales)."
);
report_route!(
    shifts,
    "/reports/shifts",
    Shifts,
    ShiftLine,
    ShiftsReport,
    "Shifts of the range: float, expected and counted cash, variance, orders, payments, tips."
);

// ----- the dashboard -----------------------------------------------------------------------

/// An open shift on the dashboard: its drawer now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DashboardShift {
    pub staff: String,
    pub shift: ShiftView,
}

/// Today at a glance. The web refreshes it on the order, payment and shift events it
/// already receives; nothing new is emitted for it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DashboardView {
    pub business_date: NaiveDate,
    pub generated_at: DateTime<Utc>,
    pub currency: String,
    /// Today's gross, discounts, tax, sales, refunds, net and tips.
    pub summary: SalesSummary,
    pub by_method: Vec<MethodSales>,
    pub by_hour: Vec<HourSales>,
    pub by_staff: Vec<StaffSales>,
    pub top_products: Vec<ProductSales>,
    /// Orders not yet closed, oldest first, with their age and balance.
    pub open_orders: Vec<OpenOrderLine>,
    /// Tickets waiting and average ticket time per station.
    pub stations: Vec<StationLoad>,
    /// Open shifts with their expected cash.
    pub open_shifts: Vec<DashboardShift>,
}

/// The manager's dashboard: today's figures and the live state of the floor, kitchen and
/// drawers.
#[utoipa::path(
    tag = "reports",
    responses((status = 200, description = "Today at a glance", body = DashboardView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_dashboard")))
)]
#[get("/reports/dashboard")]
pub async fn dashboard(state: web::Data<AppState>, auth: Authenticated) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ViewDashboard)?;
    let settings = state.settings.get_settings().await?;
    let now = state.clock.now();
    let today = business_date(now, &settings);
    let window = ReportWindow::of(ReportRange::day(today), &settings);
    let data = state.reports.dashboard(&window, now).await?;
    let caller = ShiftCaller {
        actor: auth.actor,
        terminal: auth.terminal_id(),
    };
    let mut open_shifts = Vec::with_capacity(data.open_shifts.len());
    for id in data.open_shifts {
        let shift = match state
            .shifts
            .get(caller, pos_domain::ids::ShiftId::from_uuid(id))
            .await
        {
            Ok(shift) => shift,
            // Closed between the two reads: no longer open.
            Err(pos_domain::shifts::ShiftServiceError::Store(pos_domain::StoreError::NotFound {
                ..
            })) => continue,
            Err(pos_domain::shifts::ShiftServiceError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(ApiError::internal(format!("{e:?}"))),
        };
        if shift.shift.status != pos_domain::shift::ShiftStatus::Open {
            continue;
        }
        let staff = state.staff.get_staff(shift.shift.staff_id).await?;
        open_shifts.push(DashboardShift {
            staff: staff.full_name.as_str().to_owned(),
            shift: ShiftView::of(&shift),
        });
    }
    Ok(HttpResponse::Ok().json(DashboardView {
        business_date: today,
        generated_at: now,
        currency: settings.currency.code().to_owned(),
        summary: data.summary,
        by_method: data.by_method,
        by_hour: data.by_hour,
        by_staff: data.by_staff,
        top_products: data.top_products,
        open_orders: data.open_orders,
        stations: data.stations,
        open_shifts,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn csv_has_a_header_and_one_line_per_row() {
        let row = TipLine {
            staff_id: Uuid::nil(),
            staff: "Phiona, \"Fi\"".into(),
            currency: "UGX".into(),
            payments: 2,
            tips: 3_000,
        };
        let body = String::from_utf8(csv_body(&[row.clone(), row]).unwrap()).unwrap();
        let mut lines = body.lines();
        assert_eq!(lines.next(), Some("staff_id,staff,currency,payments,tips"));
        assert_eq!(
            lines.next(),
            Some("00000000-0000-0000-0000-000000000000,\"Phiona, \"\"Fi\"\"\",UGX,2,3000")
        );
        assert_eq!(lines.count(), 1);
    }
}
