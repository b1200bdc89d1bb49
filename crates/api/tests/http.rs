//! The application as `build_app` assembles it, driven through actix's test service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::{Method, StatusCode, header};
use actix_web::test::{self, TestRequest};
use common::{Database, StatusBus, state, state_with};
use pos_api::{ApiConfig, ProblemDetails, build_app};
use serde_json::Value;

type Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>;

async fn call(state: pos_api::AppState, request: TestRequest) -> Response {
    let app = test::init_service(build_app(state)).await;
    test::call_service(&app, request.to_request())
        .await
        .map_into_boxed_body()
}

fn header_of<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn problem(response: Response) -> ProblemDetails {
    assert_eq!(
        header_of(&response, "content-type"),
        Some("application/problem+json"),
        "status {}",
        response.status()
    );
    let body = test::read_body(response).await;
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)))
}

async fn json(response: Response) -> Value {
    serde_json::from_slice(&test::read_body(response).await).unwrap()
}

#[actix_web::test]
async fn health_reports_ok_with_version_database_and_bus() {
    let response = call(state(Database::Up), TestRequest::get().uri("/api/health")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_of(&response, "cache-control"), Some("no-store"));
    let body = json(response).await;
    assert_eq!(
        body,
        serde_json::json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "database": "ok",
            "redis": "disabled",
        })
    );
}

#[actix_web::test]
async fn health_is_degraded_503_when_the_database_fails() {
    let response = call(state(Database::Down), TestRequest::get().uri("/api/health")).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json(response).await;
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"], "down");
}

#[actix_web::test]
async fn health_answers_quickly_when_the_database_hangs() {
    let config = ApiConfig {
        health_timeout: Duration::from_millis(200),
        ..ApiConfig::default()
    };
    let state = state_with(Database::Hung, Arc::new(StatusBus(None)), config);
    let started = Instant::now();
    let response = call(state, TestRequest::get().uri("/api/health")).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json(response).await;
    assert_eq!(body["database"], "down");
    assert_eq!(body["redis"], "down", "a hung bus is down too");
}

#[actix_web::test]
async fn the_default_health_timeout_keeps_a_hung_database_under_two_seconds() {
    let started = Instant::now();
    let response = call(state(Database::Hung), TestRequest::get().uri("/api/health")).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[actix_web::test]
async fn health_reports_the_shared_bus_state_without_failing_on_it() {
    for (status, expected) in [("ok", "ok"), ("down", "down"), ("disabled", "disabled")] {
        let state = state_with(
            Database::Up,
            Arc::new(StatusBus(Some(status))),
            ApiConfig::default(),
        );
        let response = call(state, TestRequest::get().uri("/api/health")).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "redis {status} must not fail health"
        );
        assert_eq!(json(response).await["redis"], expected);
    }
}

#[actix_web::test]
async fn unknown_api_paths_are_404_problems() {
    for uri in ["/api/nope", "/api", "/api/health/extra", "/api/health/"] {
        let response = call(state(Database::Up), TestRequest::get().uri(uri)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
        let problem = problem(response).await;
        assert_eq!(problem.status, 404);
        assert_eq!(problem.code, "not_found");
        assert!(problem.request_id.is_some());
    }
}

#[actix_web::test]
async fn wrong_methods_are_405_with_allow() {
    for (method, uri, allow) in [
        (Method::POST, "/api/health", "GET"),
        (Method::DELETE, "/api/health", "GET"),
        (Method::PUT, "/api/openapi.json", "GET"),
        (Method::POST, "/api/docs", "GET"),
        (Method::POST, "/api/docs/index.html", "GET"),
        (Method::POST, "/", "GET, HEAD"),
    ] {
        let response = call(
            state(Database::Up),
            TestRequest::default().method(method.clone()).uri(uri),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        assert_eq!(header_of(&response, "allow"), Some(allow), "{method} {uri}");
        assert_eq!(problem(response).await.code, "method_not_allowed");
    }
}

#[actix_web::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let requests = [
        TestRequest::get().uri("/api/health"),
        TestRequest::get().uri("/api/nope"),
        TestRequest::post().uri("/api/health"),
        TestRequest::get().uri("/"),
        TestRequest::get().uri("/api/openapi.json"),
        TestRequest::get().uri("/api/docs/"),
        TestRequest::get().uri("/pos-images/missing.png"),
    ];
    for request in requests {
        let response = call(state(Database::Up), request).await;
        let what = format!("{} {}", response.request().method(), response.request().path());
        assert_eq!(
            header_of(&response, "x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(header_of(&response, "x-frame-options"), Some("DENY"), "{what}");
        assert_eq!(
            header_of(&response, "referrer-policy"),
            Some("no-referrer"),
            "{what}"
        );
        let csp = header_of(&response, "content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'") || csp.contains("sandbox"),
            "{what}: {csp}"
        );
        let id = header_of(&response, "x-request-id").unwrap_or_default();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{what}: request id {id:?}");
    }
}

#[actix_web::test]
async fn only_the_docs_get_a_relaxed_content_security_policy() {
    let api = call(state(Database::Up), TestRequest::get().uri("/api/health")).await;
    let api_csp = header_of(&api, "content-security-policy").unwrap().to_owned();
    let docs = call(state(Database::Up), TestRequest::get().uri("/api/docs/")).await;
    let docs_csp = header_of(&docs, "content-security-policy").unwrap().to_owned();
    assert!(
        docs_csp.contains("style-src 'self' 'unsafe-inline'"),
        "{docs_csp}"
    );
    assert!(docs_csp.contains("img-src 'self' data:"), "{docs_csp}");
    assert!(!api_csp.contains("unsafe-inline"), "{api_csp}");
    assert!(api_csp.contains("script-src 'self';"), "{api_csp}");
}

#[actix_web::test]
async fn a_well_formed_client_request_id_is_echoed_and_a_bad_one_replaced() {
    let response = call(
        state(Database::Up),
        TestRequest::get()
            .uri("/api/nope")
            .insert_header(("x-request-id", "edge-4f2a.9")),
    )
    .await;
    assert_eq!(header_of(&response, "x-request-id"), Some("edge-4f2a.9"));
    assert_eq!(problem(response).await.request_id.as_deref(), Some("edge-4f2a.9"));

    let response = call(
        state(Database::Up),
        TestRequest::get()
            .uri("/api/health")
            .insert_header(("x-request-id", "bad id\"<script>")),
    )
    .await;
    let id = header_of(&response, "x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

#[actix_web::test]
async fn the_problem_body_names_the_request_id_of_its_header() {
    let response = call(state(Database::Up), TestRequest::delete().uri("/api/health")).await;
    let id = header_of(&response, "x-request-id").unwrap().to_owned();
    assert_eq!(problem(response).await.request_id, Some(id));
}

#[actix_web::test]
async fn the_served_openapi_document_is_exactly_openapi_json_pretty() {
    let response = call(state(Database::Up), TestRequest::get().uri("/api/openapi.json")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_of(&response, "content-type"), Some("application/json"));
    let body = test::read_body(response).await;
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        pos_api::openapi_json_pretty()
    );
}

#[actix_web::test]
async fn the_openapi_document_describes_health_security_and_problems() {
    let doc: Value = serde_json::from_str(&pos_api::openapi_json_pretty()).unwrap();
    assert_eq!(doc["info"]["title"], "pos");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let health = &doc["paths"]["/api/health"]["get"];
    assert_eq!(
        health["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/HealthReport"
    );
    assert_eq!(
        health["responses"]["503"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/HealthReport"
    );
    assert!(doc["paths"]["/api/openapi.json"]["get"].is_object());
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer_auth"]["type"], "http");
    assert_eq!(schemes["bearer_auth"]["scheme"], "bearer");
    assert_eq!(schemes["cookie_auth"]["type"], "apiKey");
    assert_eq!(schemes["cookie_auth"]["in"], "cookie");
    assert_eq!(schemes["cookie_auth"]["name"], "pos_session");
    assert!(doc["components"]["schemas"]["ProblemDetails"].is_object());
    // Every operation documents its problem+json error answers.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let internal = &operation["responses"]["500"]["content"]["application/problem+json"]["schema"];
            assert_eq!(
                internal["$ref"], "#/components/schemas/ProblemDetails",
                "{method} {path}"
            );
        }
    }
    assert!(
        pos_api::openapi() == pos_api::openapi(),
        "the document is deterministic"
    );
}

#[test]
fn operation_ids_are_unique_and_tags_are_declared() {
    let doc: Value = serde_json::from_str(&pos_api::openapi_json_pretty()).unwrap();
    let declared: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(
                ids.insert(id),
                "operationId {id} used twice (again at {method} {path})"
            );
            let tags = operation["tags"].as_array().expect("every operation has a tag");
            for tag in tags {
                let tag = tag.as_str().unwrap();
                assert!(
                    declared.contains(&tag),
                    "{method} {path}: tag {tag} is not declared in BaseDoc"
                );
            }
        }
    }
}

#[actix_web::test]
async fn swagger_ui_is_served_offline_under_api_docs() {
    let response = call(state(Database::Up), TestRequest::get().uri("/api/docs")).await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header_of(&response, "location"), Some("/api/docs/"));

    let response = call(state(Database::Up), TestRequest::get().uri("/api/docs/")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        header_of(&response, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let page = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(page.contains("swagger-ui"), "{page}");

    let response = call(
        state(Database::Up),
        TestRequest::get().uri("/api/docs/swagger-initializer.js"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let script = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(script.contains("/api/openapi.json"), "{script}");

    let response = call(
        state(Database::Up),
        TestRequest::get().uri("/api/docs/swagger-ui-bundle.js"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = call(
        state(Database::Up),
        TestRequest::get().uri("/api/docs/no-such-asset.js"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(problem(response).await.code, "not_found");
}

#[actix_web::test]
async fn without_web_dir_the_root_is_a_small_page_linking_docs_and_health() {
    let response = call(state(Database::Up), TestRequest::get().uri("/")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(
        page.contains("href=\"/api/docs/\"") && page.contains("href=\"/api/health\""),
        "{page}"
    );

    let response = call(state(Database::Up), TestRequest::get().uri("/orders/42")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    problem(response).await;
}

fn spa_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>pos app</title>",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/app-1a2b.js"), "console.log('pos')").unwrap();
    std::fs::write(dir.path().join(".env"), "SECRET=1").unwrap();
    dir
}

fn spa_state(dir: &std::path::Path) -> pos_api::AppState {
    let config = ApiConfig {
        web_dir: Some(dir.to_path_buf()),
        ..ApiConfig::default()
    };
    state_with(Database::Up, Arc::new(pos_api::InProcessBus::default()), config)
}

#[actix_web::test]
async fn the_spa_is_served_with_index_fallback_for_client_routes_only() {
    let dir = spa_dir();
    let body_of = |response: Response| async move {
        String::from_utf8(test::read_body(response).await.to_vec()).unwrap()
    };

    let root = call(spa_state(dir.path()), TestRequest::get().uri("/")).await;
    assert_eq!(root.status(), StatusCode::OK);
    assert_eq!(header_of(&root, "cache-control"), Some("no-cache"));
    assert!(body_of(root).await.contains("pos app"));

    let asset = call(
        spa_state(dir.path()),
        TestRequest::get().uri("/assets/app-1a2b.js"),
    )
    .await;
    assert_eq!(asset.status(), StatusCode::OK);
    assert!(header_of(&asset, "content-type").unwrap().contains("javascript"));
    assert!(header_of(&asset, "cache-control").unwrap().contains("immutable"));

    let client_route = call(spa_state(dir.path()), TestRequest::get().uri("/orders/42/pay")).await;
    assert_eq!(client_route.status(), StatusCode::OK);
    assert!(body_of(client_route).await.contains("pos app"));

    for missing in ["/assets/gone-9z.js", "/.env", "/%2e%2e/%2e%2e/etc/passwd"] {
        let response = call(spa_state(dir.path()), TestRequest::get().uri(missing)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
        problem(response).await;
    }

    let api = call(spa_state(dir.path()), TestRequest::get().uri("/api/nope")).await;
    assert_eq!(
        api.status(),
        StatusCode::NOT_FOUND,
        "API paths never fall back to the SPA"
    );
    problem(api).await;

    let post = call(spa_state(dir.path()), TestRequest::post().uri("/orders")).await;
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[actix_web::test]
async fn a_web_dir_without_index_html_falls_back_to_the_built_in_page() {
    let dir = tempfile::tempdir().unwrap();
    let response = call(spa_state(dir.path()), TestRequest::get().uri("/")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(page.contains("/api/docs/"));
}

#[actix_web::test]
async fn uploaded_images_are_served_from_upload_dir_as_inert_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("espresso.png"), b"\x89PNG\r\n\x1a\n").unwrap();
    let config = ApiConfig {
        upload_dir: Some(dir.path().to_path_buf()),
        ..ApiConfig::default()
    };
    let state = || {
        state_with(
            Database::Up,
            Arc::new(pos_api::InProcessBus::default()),
            config.clone(),
        )
    };

    let response = call(state(), TestRequest::get().uri("/pos-images/espresso.png")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_of(&response, "content-type"), Some("image/png"));
    assert!(
        header_of(&response, "content-security-policy")
            .unwrap()
            .contains("sandbox")
    );

    for missing in [
        "/pos-images/latte.png",
        "/pos-images/../Cargo.toml",
        "/pos-images/%2e%2e/x",
    ] {
        let response = call(state(), TestRequest::get().uri(missing)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
        problem(response).await;
    }

    let response = call(state(), TestRequest::delete().uri("/pos-images/espresso.png")).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(header_of(&response, "allow").unwrap().contains("GET"));
    problem(response).await;

    let response = call(
        state_with(
            Database::Up,
            Arc::new(pos_api::InProcessBus::default()),
            ApiConfig::default(),
        ),
        TestRequest::get().uri("/pos-images/espresso.png"),
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "no UPLOAD_DIR, no images"
    );
}

#[actix_web::test]
async fn head_requests_of_static_files_work() {
    let dir = spa_dir();
    let response = call(
        spa_state(dir.path()),
        TestRequest::default().method(Method::HEAD).uri("/"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header::HeaderValue::from_str(header_of(&response, "content-type").unwrap()).is_ok());
}

#[actix_web::test]
async fn a_real_server_built_like_the_binary_answers_over_tcp() {
    use std::io::{Read, Write};
    let state = state(Database::Up);
    let server = actix_web::HttpServer::new(move || build_app(state.clone()))
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
    let address = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .write_all(b"POST /api/health HTTP/1.1\r\nHost: pos\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    handle.stop(true).await;

    let lower = raw.to_ascii_lowercase();
    assert!(raw.starts_with("HTTP/1.1 405"), "{raw}");
    assert!(lower.contains("\r\nallow: get\r\n"), "{raw}");
    assert!(lower.contains("\r\nx-request-id: "), "{raw}");
    assert!(
        lower.contains("\r\ncontent-type: application/problem+json"),
        "{raw}"
    );
}
