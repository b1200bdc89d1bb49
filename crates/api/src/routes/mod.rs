//! Every documented route, registered in one place.
//!
//! To add a route:
//!
//! 1. Write the handler in a module here, `#[utoipa::path(...)]` directly above the actix
//!    route macro, its path relative to `/api`. Take input through `crate::extract::{Json,
//!    Path, Query}` (they name the offending field on bad input, and utoipa documents them by
//!    their names) and return `Result<_, ApiError>` (`?` works on `StoreError` and
//!    `ValidationError`). Declare only the success responses and the errors particular to
//!    the route: 400/401/403/404/413/415/422/500/503 problem responses are added to the
//!    document from the operation's shape (`crate::openapi::complete`).
//!    Protected routes take `crate::auth::Authenticated` (which also refuses accounts that
//!    must change their password), call `auth.require(Action::X)?` first, declare
//!    `security(("bearer_auth" = []), ("cookie_auth" = []))` and the same action as
//!    `extensions(("x-pos-action" = json!("x")))` — the route-walk tests check that the
//!    handler refuses exactly the roles the matrix refuses for that action. Public routes
//!    declare `"public"`; see `crate::openapi::POS_ACTION` for the other values. (The
//!    `json!` inside `extensions(...)` is utoipa's own syntax: it needs no `serde_json`
//!    import.)
//! 2. Add `.service(handler)` to the module's `routes` function (and, for a new module, one
//!    `cfg.configure(module::routes)` line below; a new tag goes in `openapi::BaseDoc`).
//!
//! ```ignore
//! /// One order with its items, totals and payments.
//! #[utoipa::path(
//!     tag = "orders",
//!     params(("order_id" = Uuid, Path, description = "The order")),
//!     responses((status = 200, body = OrderView)),
//!     security(("bearer_auth" = []), ("cookie_auth" = [])),
//!     extensions(("x-pos-action" = json!("view_orders")))
//! )]
//! #[get("/orders/{order_id}")]
//! async fn get_order(
//!     state: web::Data<AppState>,
//!     auth: Authenticated,
//!     id: Path<(Uuid,)>,
//! ) -> Result<web::Json<OrderView>, ApiError> {
//!     auth.require(Action::ViewOrders)?;
//!     …
//! }
//! ```
//!
//! Registration through utoipa-actix-web's `service` is what puts a route in the OpenAPI
//! document, and the document is what makes the fallback answer 405 (with `Allow`) for the
//! route's path with another method. A plain `.route(...)` is neither documented nor known
//! to the fallback: don't use it for API routes.

use utoipa_actix_web::service_config::ServiceConfig;

pub mod admin_menu;
pub mod approval;
pub mod audit;
pub mod auth;
pub mod backups;
pub mod images;
pub mod kds;
pub mod menu;
pub mod orders;
pub mod payments;
pub mod print_jobs;
pub mod realtime;
pub mod receipts;
pub mod reports;
pub mod shifts;
pub mod staff;
pub mod system;
pub mod tables;
pub mod terminals;
pub mod z_reports;

/// The routes under `/api`.
pub(crate) fn api(cfg: &mut ServiceConfig) {
    cfg.configure(system::routes)
        .configure(auth::routes)
        .configure(staff::routes)
        .configure(terminals::routes)
        .configure(audit::routes)
        .configure(realtime::routes)
        .configure(menu::routes)
        .configure(tables::routes)
        .configure(orders::routes)
        .configure(kds::routes)
        .configure(print_jobs::routes)
        .configure(backups::routes)
        .configure(images::routes)
        .configure(shifts::routes)
        .configure(payments::routes)
        .configure(receipts::routes)
        .configure(admin_menu::routes)
        .configure(reports::routes)
        .configure(z_reports::routes);
}
