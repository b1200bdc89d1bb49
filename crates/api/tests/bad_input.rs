//! Bad input through the crate's extractors and the production middleware stack, on routes
//! defined here: every refusal is a 4xx problem+json naming the field, never a 500, and a
//! 5xx never shows its cause.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpResponse, web};
use pos_api::ApiError;
use pos_api::ProblemDetails;
use pos_api::extract::{Json, JsonLimit, Path, Query};
use pos_api::middleware::{problem_responses, request_context, security_headers};
use pos_domain::StoreError;
use pos_domain::validate::Quantity;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Item {
    product_id: uuid::Uuid,
    quantity: Quantity,
    #[serde(default)]
    modifiers: Vec<uuid::Uuid>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    table: String,
    items: Vec<Item>,
}

async fn create(order: Json<NewOrder>) -> HttpResponse {
    HttpResponse::Ok().json(order.into_inner())
}

async fn show(id: Path<(uuid::Uuid,)>) -> HttpResponse {
    HttpResponse::Ok().body(id.into_inner().0.to_string())
}

#[derive(Debug, Deserialize)]
struct Filter {
    limit: u16,
}

async fn list(filter: Query<Filter>) -> HttpResponse {
    HttpResponse::Ok().body(filter.limit.to_string())
}

async fn broken() -> Result<HttpResponse, ApiError> {
    Err(StoreError::Internal("password authentication failed for user \"pos\" on db-7".into()).into())
}

async fn plain_actix_error() -> Result<HttpResponse, actix_web::Error> {
    Err(actix_web::error::ErrorBadRequest("plain text"))
}

macro_rules! app {
    () => {
        test::init_service(
            App::new()
                .app_data(JsonLimit(1024))
                .route("/orders", web::post().to(create))
                .route("/orders/{order_id}", web::get().to(show))
                .route("/orders", web::get().to(list))
                .route("/broken", web::get().to(broken))
                .route("/plain", web::get().to(plain_actix_error))
                .service(web::resource("/only-get").route(web::get().to(HttpResponse::Ok)))
                .wrap(from_fn(problem_responses))
                .wrap(from_fn(security_headers))
                .wrap(from_fn(request_context)),
        )
        .await
    };
}

async fn refused(request: TestRequest) -> (StatusCode, ProblemDetails) {
    let app = app!();
    let response = test::call_service(&app, request.to_request()).await;
    let status = response.status();
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let body = test::read_body(response).await;
    (status, serde_json::from_slice(&body).unwrap())
}

const PRODUCT: &str = "0193b5e4-6f7a-7c3e-9a51-0c2f3d4e5f60";

fn post_json(body: impl Into<Vec<u8>>) -> TestRequest {
    TestRequest::post()
        .uri("/orders")
        .insert_header(("content-type", "application/json"))
        .set_payload(body.into())
}

#[actix_web::test]
async fn a_valid_body_passes() {
    let app = app!();
    let body = format!(r#"{{"table":"T1","items":[{{"product_id":"{PRODUCT}","quantity":2}}]}}"#);
    let response = test::call_service(&app, post_json(body).to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[actix_web::test]
async fn a_wrong_type_in_a_nested_field_is_a_400_naming_it() {
    let body = format!(r#"{{"table":"T1","items":[{{"product_id":"{PRODUCT}","quantity":"2"}}]}}"#);
    let (status, problem) = refused(post_json(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem.code, "invalid_body");
    assert_eq!(problem.field.as_deref(), Some("items[0].quantity"));
}

#[actix_web::test]
async fn out_of_range_quantities_are_refused_naming_the_field() {
    for quantity in ["0", "-1", "1000000000", "1e3", "99999999999999999999999"] {
        let body =
            format!(r#"{{"table":"T1","items":[{{"product_id":"{PRODUCT}","quantity":{quantity}}}]}}"#);
        let (status, problem) = refused(post_json(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{quantity}");
        assert_eq!(problem.field.as_deref(), Some("items[0].quantity"), "{quantity}");
    }
}

#[actix_web::test]
async fn deeper_fields_missing_fields_and_unknown_fields_are_named() {
    let body =
        format!(r#"{{"table":"T1","items":[{{"product_id":"{PRODUCT}","quantity":1,"modifiers":["x"]}}]}}"#);
    let (_, problem) = refused(post_json(body)).await;
    assert_eq!(problem.field.as_deref(), Some("items[0].modifiers[0]"));

    let (_, problem) = refused(post_json(r#"{"table":"T1","items":[{"quantity":1}]}"#)).await;
    assert_eq!(problem.field.as_deref(), Some("items[0].product_id"));

    let (_, problem) = refused(post_json(r#"{"table":"T1","items":[],"total":0}"#)).await;
    assert_eq!(problem.field.as_deref(), Some("total"));
}

#[actix_web::test]
async fn malformed_json_and_invalid_utf8_are_400() {
    for body in [
        br#"{"table":"T1","items":["#.to_vec(),
        b"not json".to_vec(),
        b"".to_vec(),
        b"{\"table\":\"T\xc3\x28\",\"items\":[]}".to_vec(),
    ] {
        let (status, problem) = refused(post_json(body.clone())).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(problem.code, "malformed_json");
    }
}

#[actix_web::test]
async fn a_body_that_is_not_declared_json_is_415() {
    let body = r#"{"table":"T1","items":[]}"#;
    let (status, problem) = refused(TestRequest::post().uri("/orders").set_payload(body)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(problem.code, "unsupported_media_type");
    let (status, _) = refused(
        TestRequest::post()
            .uri("/orders")
            .insert_header(("content-type", "text/plain"))
            .set_payload(body),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A merge patch means something else than the object the route documents: refused,
    // not read as plain JSON (issue 9: the server is as strict as its contract).
    let (status, problem) = refused(
        TestRequest::post()
            .uri("/orders")
            .insert_header(("content-type", "application/merge-patch+json; charset=utf-8"))
            .set_payload(body),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(problem.code, "unsupported_media_type");

    let app = app!();
    let response = test::call_service(
        &app,
        TestRequest::post()
            .uri("/orders")
            .insert_header(("content-type", "application/json; charset=utf-8"))
            .set_payload(body)
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK, "JSON with a charset is JSON");
}

#[actix_web::test]
async fn a_body_over_the_limit_is_413() {
    let padding = "x".repeat(2000);
    let body = format!(r#"{{"table":"{padding}","items":[]}}"#);
    let (status, problem) = refused(post_json(body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(problem.code, "payload_too_large");
}

#[actix_web::test]
async fn an_oversized_body_without_content_length_is_413_too() {
    let chunks = futures_util::stream::iter(
        (0..8).map(|_| Ok::<_, actix_web::error::PayloadError>(web::Bytes::from(vec![b' '; 512]))),
    );
    let (request, _) = TestRequest::post()
        .uri("/orders")
        .insert_header(("content-type", "application/json"))
        .app_data(JsonLimit(1024))
        .to_http_parts();
    let mut payload =
        actix_web::dev::Payload::from(Box::pin(chunks) as futures_util::stream::LocalBoxStream<'static, _>);
    let result = <Json<NewOrder> as actix_web::FromRequest>::from_request(&request, &mut payload).await;
    assert!(
        matches!(result, Err(ApiError::PayloadTooLarge { limit: 1024 })),
        "{result:?}"
    );
}

#[actix_web::test]
async fn a_path_parameter_that_does_not_parse_is_named() {
    let (status, problem) = refused(TestRequest::get().uri("/orders/not-a-uuid")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem.code, "invalid_parameter");
    assert_eq!(problem.field.as_deref(), Some("order_id"));
}

#[actix_web::test]
async fn a_query_parameter_that_does_not_parse_or_is_missing_is_named() {
    for query in ["?limit=lots", "?limit=70000", "?limit=-1", ""] {
        let (status, problem) = refused(TestRequest::get().uri(&format!("/orders{query}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(problem.field.as_deref(), Some("limit"), "{query}");
    }
}

#[actix_web::test]
async fn a_500_shows_only_internal_error_and_the_request_id() {
    let app = app!();
    let response = test::call_service(&app, TestRequest::get().uri("/broken").to_request()).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    // The request id is random hex and may spell "db-7" by chance: look past it.
    let said = body.replace(&id, "");
    assert!(!said.contains("password") && !said.contains("db-7"), "{body}");
    let problem: ProblemDetails = serde_json::from_str(&body).unwrap();
    assert_eq!(problem.detail, "internal error");
    assert_eq!(problem.code, "internal_error");
    assert_eq!(problem.request_id, Some(id));
}

#[actix_web::test]
async fn errors_from_outside_the_crate_become_problems_too() {
    let (status, problem) = refused(TestRequest::get().uri("/plain")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem.code, "bad_request");

    let app = app!();
    let response = test::call_service(&app, TestRequest::post().uri("/only-get").to_request()).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers().get("allow").unwrap(), "GET");
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
}

async fn actix_path(id: web::Path<(uuid::Uuid,)>) -> HttpResponse {
    HttpResponse::Ok().body(id.into_inner().0.to_string())
}

async fn actix_query(filter: web::Query<Filter>) -> HttpResponse {
    HttpResponse::Ok().body(filter.limit.to_string())
}

async fn actix_json(order: web::Json<NewOrder>) -> HttpResponse {
    HttpResponse::Ok().json(order.into_inner())
}

#[actix_web::test]
async fn actix_extractors_answer_problems_through_the_configs() {
    let app = test::init_service(
        App::new()
            .app_data(pos_api::extract::actix_json_config(1024))
            .app_data(pos_api::extract::actix_path_config())
            .app_data(pos_api::extract::actix_query_config())
            .route("/a/{order_id}", web::get().to(actix_path))
            .route("/q", web::get().to(actix_query))
            .route("/j", web::post().to(actix_json))
            .wrap(from_fn(problem_responses)),
    )
    .await;
    let cases = [
        (TestRequest::get().uri("/a/nope"), 400, Some("order_id")),
        (TestRequest::get().uri("/q"), 400, Some("limit")),
        (TestRequest::get().uri("/q?limit=x"), 400, None),
        (post_json("{").uri("/j"), 400, None),
        (post_json(vec![b' '; 2048]).uri("/j"), 413, None),
        (TestRequest::post().uri("/j").set_payload("{}"), 415, None),
    ];
    for (request, status, field) in cases {
        let response = test::call_service(&app, request.to_request()).await;
        assert_eq!(
            response.status().as_u16(),
            status,
            "{:?}",
            response.request().uri()
        );
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
        let problem: ProblemDetails = serde_json::from_slice(&test::read_body(response).await).unwrap();
        if let Some(field) = field {
            assert_eq!(problem.field.as_deref(), Some(field));
        }
    }
}
