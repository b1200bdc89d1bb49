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
//! 2. Add `.service(handler)` to the module's `routes` function (and, for a new module, one
//!    `cfg.configure(module::routes)` line below; a new tag goes in `openapi::BaseDoc`).
//!
//! ```ignore
//! /// One order with its items, totals and payments.
//! #[utoipa::path(
//!     tag = "orders",
//!     params(("order_id" = Uuid, Path, description = "The order")),
//!     responses((status = 200, body = OrderView)),
//!     security(("bearer_auth" = []), ("cookie_auth" = []))
//! )]
//! #[get("/orders/{order_id}")]
//! async fn get_order(state: web::Data<AppState>, id: Path<(Uuid,)>) -> Result<web::Json<OrderView>, ApiError> {
//!     …
//! }
//! ```
//!
//! Registration through utoipa-actix-web's `service` is what puts a route in the OpenAPI
//! document, and the document is what makes the fallback answer 405 (with `Allow`) for the
//! route's path with another method. A plain `.route(...)` is neither documented nor known
//! to the fallback: don't use it for API routes.

use utoipa_actix_web::service_config::ServiceConfig;

pub mod system;

/// The routes under `/api`.
pub(crate) fn api(cfg: &mut ServiceConfig) {
    cfg.configure(system::routes);
}
