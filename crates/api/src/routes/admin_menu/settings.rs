//! `/api/admin/settings`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, web};
use pos_domain::catalog::SettingsPatch;
use pos_domain::permissions::Action;
use pos_domain::settings::Settings;

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::idempotency::RawBody;
use crate::state::AppState;

use super::*; // the routes' shared helpers, views and requests

/// The venue settings.
#[utoipa::path(
    tag = "admin_menu",
    responses((status = 200, description = "Settings", body = SettingsView)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_settings")))
)]
#[get("/admin/settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<SettingsView>, ApiError> {
    auth.require(Action::ManageSettings)?;
    let settings = service(&state)?.settings(auth.requester()).await?;
    Ok(web::Json(SettingsView::from(&settings)))
}

/// Change any of the settings. The result is validated whole (VAT 0–100 %, retention ≥ 1
/// day, cut-off hour 0–23, a supported ISO 4217 currency, …): a bad value is a 422 naming its
/// field, and nothing is changed.
#[utoipa::path(
    tag = "admin_menu",
    params(("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY_DOC)),
    request_body = UpdateSettingsRequest,
    responses(
        (status = 200, description = "Updated", body = SettingsView),
        (status = 409, description = "`currency_in_use`", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("manage_settings")))
)]
#[patch("/admin/settings")]
pub async fn update_settings(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageSettings)?;
    let render = answer::<Settings, SettingsView>(StatusCode::OK);
    let claim = claim(&auth, &req, &body, render)?;
    let b: UpdateSettingsRequest = body.json()?;
    let patch = SettingsPatch {
        cafe_name: b.cafe_name,
        currency: b.currency,
        vat_rate_bp: b.vat_rate_bp,
        prices_include_tax: b.prices_include_tax,
        service_charge_bp: b.service_charge_bp,
        receipt_footer: b.receipt_footer,
        cashier_discount_limit_bp: b.cashier_discount_limit_bp,
        backup_retention_days: b.backup_retention_days,
        business_day_cutoff_hour: b.business_day_cutoff_hour,
        utc_offset_minutes: b.utc_offset_minutes,
        happy_hour_start: b.happy_hour_start,
        happy_hour_end: b.happy_hour_end,
        shift_variance_threshold: b.shift_variance_threshold,
        kds_warning_minutes: b.kds_warning_minutes,
        kds_late_minutes: b.kds_late_minutes,
    };
    let unit = service(&state)?
        .update_settings(auth.requester(), patch, claim)
        .await?;
    respond(unit, render)
}
