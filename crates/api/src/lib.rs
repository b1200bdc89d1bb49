//! `pos-api`: the HTTP surface of pos.
//!
//! - [`build_app`] is the whole application, for `HttpServer::new(move || build_app(state.clone()))`.
//! - [`openapi`] / [`openapi_json_pretty`] are the document that app serves at
//!   `/api/openapi.json`, built by the same registration ([`routes`]), so they cannot drift.
//! - Errors: [`error`] (problem+json); input: [`extract`]; headers, request ids and logs:
//!   [`middleware`]; the SPA, images and 404/405: [`statics`].
//! - Who is asking: [`auth`] (tokens, cookies, CSRF, the [`Authenticated`] extractor and its
//!   `require(Action)` guard); the routes declare their action as `x-pos-action` in the
//!   document ([`openapi::POS_ACTION`]).
//! - Adapters living here: [`realtime::InProcessBus`] and [`auth::Argon2Hasher`].

pub mod auth;
pub mod dto;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod orders;
pub mod realtime;
pub mod routes;
pub mod state;
pub mod statics;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, web};
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

pub use auth::{Argon2Hasher, AuthConfig, Authenticated, AuthenticatedAllowingPasswordChange, Sessions};
pub use error::{ApiError, ProblemDetails};
pub use realtime::InProcessBus;
pub use state::{ApiConfig, AppState};

const OPENAPI_PATH: &str = "/api/openapi.json";
const DOCS_PATH: &str = "/api/docs";

/// Registers every documented route under `/api` on `app`, and returns the app with the
/// OpenAPI document those registrations produced. The only place routes are registered.
fn with_documented_routes<T>(app: App<T>) -> (App<T>, utoipa::openapi::OpenApi)
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    let (app, mut doc) = app
        .into_utoipa_app()
        .openapi(openapi::base())
        .service(scope::scope("/api").configure(routes::api))
        .split_for_parts();
    openapi::complete(&mut doc);
    (app, doc)
}

/// The OpenAPI document of the application [`build_app`] builds.
pub fn openapi() -> utoipa::openapi::OpenApi {
    with_documented_routes(App::new()).1
}

/// [`openapi`] as pretty JSON with a final newline: what `GET /api/openapi.json` answers
/// byte for byte and what `pos openapi` writes to `openapi/openapi.json`.
pub fn openapi_json_pretty() -> String {
    render(&openapi())
}

fn render(doc: &utoipa::openapi::OpenApi) -> String {
    match doc.to_pretty_json() {
        Ok(mut json) => {
            json.push('\n');
            json
        }
        // Unreachable: the document is plain strings and maps with string keys.
        Err(error) => format!("{{\"error\":\"{error}\"}}\n"),
    }
}

/// The complete application: documented routes, Swagger UI, SPA and images, the 404/405
/// fallback, bad-input handling and the middleware stack. Build one per worker.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let config = state.config.clone();
    // Registered before the /api scope, which would otherwise take every /api/* request.
    let app = App::new()
        .service(web::resource(DOCS_PATH).route(web::get().to(docs_redirect)))
        .service(SwaggerUi::new(format!("{DOCS_PATH}/{{_:.*}}")).config(SwaggerConfig::new([OPENAPI_PATH])))
        .service(
            web::resource(format!("{}{{name:.+}}", statics::IMAGES_PREFIX))
                .route(web::get().to(statics::image))
                .route(web::head().to(statics::image)),
        )
        // Metrics live on the private METRICS_ADDR listener only (crate::metrics).
        .service(web::resource("/metrics").to(metrics_not_here));
    let (app, doc) = with_documented_routes(app);

    let mut routes = openapi::RouteTable::from_openapi(&doc);
    routes.add(DOCS_PATH, vec![Method::GET]);
    routes.add(&format!("{DOCS_PATH}/{{*}}"), vec![Method::GET]);
    let fallback = statics::Fallback::new(routes, config.web_dir.as_deref());
    let openapi_json = routes::system::OpenApiJson(web::Bytes::from(render(&doc)));

    app.app_data(web::Data::new(state))
        .app_data(web::Data::new(openapi_json))
        .app_data(web::Data::new(fallback))
        .app_data(extract::JsonLimit(config.json_limit))
        .app_data(extract::actix_json_config(config.json_limit))
        .app_data(extract::actix_path_config())
        .app_data(extract::actix_query_config())
        .default_service(web::to(statics::fallback))
        // Outermost last: request_context wraps everything, problem_responses sits innermost.
        .wrap(from_fn(middleware::problem_responses))
        .wrap(from_fn(middleware::security_headers))
        .wrap(from_fn(middleware::request_context))
}

/// `/metrics` on the public port: 404, whatever the SPA would have answered.
async fn metrics_not_here() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(
        "metrics are served on the metrics listener (METRICS_ADDR) only".to_owned(),
    ))
}

/// Swagger UI's assets are relative to `/api/docs/`.
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, format!("{DOCS_PATH}/")))
        .finish()
}
