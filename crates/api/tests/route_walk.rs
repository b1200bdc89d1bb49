//! Every operation of the OpenAPI document, called as anonymous, as each of the six roles
//! and as an account that must change its password, holds to the access its `x-pos-action`
//! declares: callers the matrix refuses get 401/403 (never 2xx), callers it admits are
//! never refused by the guard. New routes are covered without editing this test.
//! (Over the in-memory store; the same walk runs against Postgres in the server's tests.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use common::auth_config;
use common::memory::{MemoryStore, state_over};
use pos_api::openapi::{route_access, sample_request_body};
use pos_domain::Role;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// Codes that mean "the guard refused this caller".
const REFUSALS: [&str; 9] = [
    "unauthenticated",
    "invalid_token",
    "token_expired",
    "token_revoked",
    "account_inactive",
    "not_permitted",
    "password_change_required",
    "csrf_rejected",
    "approval_required",
];

struct Caller {
    label: String,
    role: Option<Role>,
    pending_password: bool,
    username: Option<String>,
}

async fn call<S, B>(app: &S, request: TestRequest) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let response = test::call_service(app, request.to_request()).await;
    let status = response.status();
    // An event stream never ends: its status and headers are the answer.
    let streaming = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if streaming {
        return (status, Value::Null);
    }
    let bytes = test::read_body(response).await;
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[actix_web::test]
async fn every_route_admits_exactly_the_callers_its_declared_action_admits() {
    let store = MemoryStore::new();
    let mut callers = vec![Caller {
        label: "anonymous".into(),
        role: None,
        pending_password: false,
        username: None,
    }];
    for role in Role::ALL {
        let username = format!("walk-{}", role.as_str());
        store.add_staff(&username, role, PASSWORD, false);
        callers.push(Caller {
            label: role.as_str().into(),
            role: Some(role),
            pending_password: false,
            username: Some(username),
        });
    }
    store.add_staff("walk-pending", Role::Admin, PASSWORD, true);
    callers.push(Caller {
        label: "admin who must change password".into(),
        role: Some(Role::Admin),
        pending_password: true,
        username: Some("walk-pending".into()),
    });
    let victim = store.add_staff("walk-victim", Role::Cashier, PASSWORD, false);
    let victim_terminal = store.add_terminal("walk-1", true);
    store.add_terminal("pos-1", true);
    let app = test::init_service(pos_api::build_app(state_over(store.clone(), auth_config()))).await;

    let doc: Value = serde_json::from_str(&pos_api::openapi_json_pretty()).unwrap();
    let ids: HashMap<&str, String> = HashMap::from([
        ("staff_id", victim.id.to_string()),
        ("terminal_id", victim_terminal.id.to_string()),
    ]);
    let mut tokens: HashMap<String, String> = HashMap::new();
    let mut failures = Vec::new();
    let routes = route_access(&pos_api::openapi());
    assert!(routes.len() >= 24, "{} operations", routes.len());

    for (path, method, access) in routes {
        let Some(access) = access else {
            failures.push(format!("{method} {path}: no readable x-pos-action"));
            continue;
        };
        let operation = &doc["paths"][&path][method.as_str().to_lowercase()];
        let body = sample_request_body(&doc, operation);
        let uri = path
            .split('/')
            .map(
                |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => ids
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                    None => segment.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("/");
        for caller in &callers {
            let mut request = TestRequest::default().method(method.clone()).uri(&uri);
            if let Some(username) = &caller.username {
                let token = valid_token(&app, &mut tokens, username).await;
                request = request.insert_header(("authorization", format!("Bearer {token}")));
            }
            if let Some(body) = &body {
                request = request.set_json(body.clone());
            }
            let (status, problem) = call(&app, request).await;
            let code = problem["code"].as_str().unwrap_or_default();
            let admitted = access.admits(caller.role, caller.pending_password);
            let verdict = if admitted {
                (status.is_client_error() && REFUSALS.contains(&code)).then_some("refused an admitted caller")
            } else if status.is_success() {
                Some("answered 2xx to a caller it must refuse")
            } else if !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                || !REFUSALS.contains(&code)
            {
                Some("did not refuse with 401/403 before anything else")
            } else {
                None
            };
            if let Some(verdict) = verdict {
                failures.push(format!(
                    "{method} {path} as {} ({access:?}): {verdict}: {status} {problem}",
                    caller.label
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Sanity: the admitted calls did reach the handlers and change things.
    let actions = store.audit_actions();
    for action in [
        "staff.created",
        "staff.role_changed",
        "staff.pin_set",
        "staff.password_reset",
        "terminal.created",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing from {actions:?}"
        );
    }
}

/// The caller's cached token, or a fresh one when a walked route ended its sessions
/// (logout-all, a role change…).
async fn valid_token<S, B>(app: &S, tokens: &mut HashMap<String, String>, username: &str) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    if let Some(token) = tokens.get(username) {
        let me = TestRequest::get()
            .uri("/api/auth/me")
            .insert_header(("authorization", format!("Bearer {token}")));
        if call(app, me).await.0 == StatusCode::OK {
            return token.clone();
        }
    }
    let (status, body) = call(
        app,
        TestRequest::post()
            .uri("/api/auth/login")
            .set_json(json!({"username": username, "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{username}: {body}");
    let token = body["token"].as_str().unwrap().to_owned();
    tokens.insert(username.to_owned(), token.clone());
    token
}
