//! `/api/orders*`: taking orders (spec §3, §10): create, items, preparation notes, send,
//! serve, voids (with a manager's approval once sent), cancel, move, merge, and ticket
//! reprints.
//!
//! Every mutation takes an optional `Idempotency-Key` (required to create and to send) and
//! the order's `version` as `expected_version` in the body or `If-Match`; a stale version is
//! answered 409 `stale_version` with the current order in the problem's `current`.
//!
//! The files: [`requests`] (bodies and queries, checked into the use cases' inputs),
//! [`taking`] (create and edit before sending), [`lifecycle`] (send, serve, void, cancel,
//! move, merge) and [`reading`] (lists, one order, ticket reprints). Every mutation goes
//! through [`save`].

mod discounts;
mod lifecycle;
mod reading;
mod requests;
mod taking;

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use pos_domain::idempotency::IdempotencyKey;
use pos_domain::order::ports::IdempotencyClaim;
use pos_domain::order::{Caller, OrderServiceError, Outcome};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::orders::{FieldHints, caller, claim, render_order, respond};

pub use discounts::*;
pub use lifecycle::*;
pub use reading::*;
pub use requests::*;
pub use taking::*;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_order)
        .service(list_orders)
        .service(get_order)
        .service(set_preparation_notes)
        .service(add_items)
        .service(update_item)
        .service(remove_item)
        .service(send_order)
        .service(fire_course)
        .service(serve_order)
        .service(void_order)
        .service(void_item)
        .service(cancel_order)
        .service(move_order)
        .service(merge_orders)
        .service(reprint_ticket)
        .service(set_order_discount)
        .service(clear_order_discount)
        .service(set_item_discount)
        .service(clear_item_discount);
}

/// What every order mutation does once its input is read and checked: renders the saved
/// order with `status` (naming inputs by `hints`), claims the `Idempotency-Key` over the
/// request `body` so that a retry replays the same bytes, runs the use case `change` as the
/// caller with that claim, and answers (or replays).
async fn save<F, Fut>(
    auth: &Authenticated,
    req: &HttpRequest,
    key: Option<IdempotencyKey>,
    body: &[u8],
    status: StatusCode,
    hints: FieldHints,
    change: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(Caller, Option<IdempotencyClaim>) -> Fut,
    Fut: Future<Output = Result<Outcome, OrderServiceError>>,
{
    let render = render_order(status, hints);
    let claim = claim(auth, key, req, body, &render);
    respond(change(caller(auth), claim).await, render)
}
