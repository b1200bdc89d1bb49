//! Sign-in, sessions, CSRF, must-change gating, lockout and staff administration through
//! the whole app over the in-memory store (fast, no database). The same flows run against
//! real Postgres and the `pos` binary in `crates/server/tests/auth.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use chrono::Utc;
use common::memory::{MemoryStore, state_over};
use common::{APP_ORIGIN, auth_config};
use pos_api::{AuthConfig, build_app};
use pos_domain::Role;
use pos_domain::staff::Staff;
use serde_json::{Value, json};

async fn app(
    store: Arc<MemoryStore>,
    config: AuthConfig,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(build_app(state_over(store, config))).await
}

async fn send<S, B>(app: &S, request: TestRequest) -> (StatusCode, actix_web::http::header::HeaderMap, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let response = test::call_service(app, request.to_request()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, headers, body)
}

fn post_json(uri: &str, body: Value) -> TestRequest {
    TestRequest::post().uri(uri).set_json(body)
}

fn bearer(request: TestRequest, token: &str) -> TestRequest {
    request.insert_header(("authorization", format!("Bearer {token}")))
}

fn set_cookies(headers: &actix_web::http::header::HeaderMap) -> Vec<String> {
    headers
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn cookie<'a>(cookies: &'a [String], name: &str) -> &'a str {
    cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

const PASSWORD: &str = "correct horse battery";

/// A store with one active admin and the given staff, all with `PASSWORD`.
fn store_with(extra: &[(&str, Role, bool)]) -> (Arc<MemoryStore>, Staff) {
    let store = MemoryStore::new();
    let admin = store.add_staff("able", Role::Admin, PASSWORD, false);
    for (name, role, must_change) in extra {
        store.add_staff(name, *role, PASSWORD, *must_change);
    }
    (store, admin)
}

/// Issue 9 item 6: a 4xx problem body names the rule (its `code`) and says it in words,
/// never a database constraint or table name.
fn names_the_rule_not_the_storage(problem: &Value) {
    let text = problem.to_string();
    for leak in [
        "_key",
        "_check",
        "_fkey",
        "constraint",
        "account_locks",
        "login_attempts",
        "audit_log",
        "terminals_",
        "staff_",
    ] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    assert!(
        problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{text}"
    );
}

async fn login<S, B>(
    app: &S,
    username: &str,
    password: &str,
) -> (StatusCode, actix_web::http::header::HeaderMap, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    send(
        app,
        post_json(
            "/api/auth/login",
            json!({"username": username, "password": password}),
        ),
    )
    .await
}

async fn token<S, B>(app: &S, username: &str) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let (status, _, body) = login(app, username, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn login_answers_token_staff_and_strict_http_only_cookies() {
    let (store, admin) = store_with(&[]);
    let app = app(store.clone(), auth_config()).await;
    let (status, headers, body) = login(&app, "ABLE", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["staff"]["id"], json!(admin.id));
    assert_eq!(body["staff"]["role"], "admin");
    assert!(body["staff"].get("password_hash").is_none());
    // The session lasts the configured 8 hours from its issue (read from the token itself,
    // not from this machine's clock, which a loaded run may stall).
    let expires_at: chrono::DateTime<Utc> = serde_json::from_value(body["expires_at"].clone()).unwrap();
    let verified = common::sessions(auth_config())
        .keys()
        .verify(body["token"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        verified.session.expires_at - verified.session.issued_at,
        chrono::Duration::hours(8)
    );
    assert_eq!(expires_at.timestamp(), verified.session.expires_at.timestamp());

    let cookies = set_cookies(&headers);
    let session = cookie(&cookies, "pos_session");
    assert_eq!(cookie_value(session), body["token"].as_str().unwrap());
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(session.contains(attribute), "{attribute} missing: {session}");
    }
    assert!(!session.contains("Secure"), "{session}");
    let csrf = cookie(&cookies, "pos_csrf");
    assert!(!csrf.contains("HttpOnly"), "the SPA must read it: {csrf}");
    assert!(csrf.contains("SameSite=Strict"), "{csrf}");
    assert_eq!(cookie_value(csrf), body["csrf_token"].as_str().unwrap());
    assert_eq!(store.audit_actions(), ["auth.login"]);

    let mut secure = auth_config();
    secure.cookie_secure = true;
    let app = self::app(store, secure).await;
    let (_, headers, _) = login(&app, "able", PASSWORD).await;
    for c in set_cookies(&headers) {
        assert!(c.contains("Secure"), "{c}");
    }
}

/// Records the cost parameters of every hash verified, around the real hasher.
struct CountingHasher {
    inner: pos_api::Argon2Hasher,
    verified: std::sync::Mutex<Vec<String>>,
}

impl pos_domain::ports::PasswordHasher for CountingHasher {
    fn hash(&self, secret: &str) -> Result<String, pos_domain::error::HashError> {
        self.inner.hash(secret)
    }

    fn verify(&self, secret: &str, hash: &str) -> Result<bool, pos_domain::error::HashError> {
        // `$argon2id$v=19$m=…,t=…,p=…$salt$hash`: everything but salt and hash is the cost.
        let cost: Vec<&str> = hash.split('$').take(4).collect();
        self.verified.lock().unwrap().push(cost.join("$"));
        self.inner.verify(secret, hash)
    }
}

impl CountingHasher {
    fn new() -> Arc<Self> {
        Arc::new(CountingHasher {
            inner: pos_api::Argon2Hasher::new(),
            verified: std::sync::Mutex::new(Vec::new()),
        })
    }
}

/// The app over `store` with `hasher` verifying passwords.
async fn counting_app(
    store: Arc<MemoryStore>,
    hasher: &Arc<CountingHasher>,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    let mut state = state_over(store, auth_config());
    state.hasher = hasher.clone();
    test::init_service(build_app(state)).await
}

#[actix_web::test]
async fn unknown_usernames_answer_exactly_like_wrong_passwords_at_the_same_cost() {
    let (store, _) = store_with(&[]);
    let hasher = CountingHasher::new();
    let app = counting_app(store.clone(), &hasher).await;
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    // Four rounds stay under the lockout.
    for _ in 0..4 {
        let (status, headers, body) = login(&app, "able", "not the password").await;
        wrong.push((status, body, headers.get("www-authenticate").cloned()));
        let (status, headers, body) = login(&app, "nobody", "not the password").await;
        unknown.push((status, body, headers.get("www-authenticate").cloned()));
    }
    for ((ws, wb, wh), (us, ub, uh)) in wrong.iter().zip(&unknown) {
        assert_eq!((*ws, *us), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
        assert_eq!(wb["code"], "invalid_credentials");
        let strip = |b: &Value| {
            let mut b = b.clone();
            b.as_object_mut().unwrap().remove("request_id");
            b
        };
        assert_eq!(strip(wb), strip(ub));
        assert_eq!(wh, uh);
    }
    // The unknown user costs what a wrong password costs: one verification of a hash with
    // the same argon2 parameters (time is left to benchmarks; under a loaded test run it
    // says nothing).
    let verified = hasher.verified.lock().unwrap().clone();
    assert_eq!(verified.len(), 8, "one verification per login: {verified:?}");
    assert!(verified.iter().all(|cost| *cost == verified[0]), "{verified:?}");
    assert!(verified[0].starts_with("$argon2id$"), "{verified:?}");
}

#[actix_web::test]
async fn empty_oversized_and_malformed_credentials_are_422_naming_the_field_without_hashing() {
    let (store, _) = store_with(&[]);
    let hasher = CountingHasher::new();
    let app = counting_app(store.clone(), &hasher).await;
    let long = "p".repeat(10 * 1024);
    for (body, field) in [
        (json!({"username": "able", "password": ""}), "password"),
        (json!({"username": "able", "password": long}), "password"),
        (json!({"username": "", "password": PASSWORD}), "username"),
        (json!({"username": "a b", "password": PASSWORD}), "username"),
    ] {
        let (status, _, problem) = send(&app, post_json("/api/auth/login", body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], field);
    }
    assert!(hasher.verified.lock().unwrap().is_empty(), "nothing was hashed");
    let (status, _, problem) = send(&app, post_json("/api/auth/login", json!({"username": "able"}))).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("password"))
    );
    store.add_terminal("pos-1", true);
    for (pin, field) in [("abcd", "pin"), ("12", "pin"), ("1234567", "pin")] {
        let (status, _, problem) = send(
            &app,
            post_json("/api/auth/pin-login", json!({"terminal": "pos-1", "pin": pin})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], field);
    }
    // Nothing was counted or logged for input that was never checked.
    assert_eq!(store.failures(), 0);
    assert!(store.audit_actions().is_empty());
}

#[actix_web::test]
async fn bad_tokens_are_401_with_distinct_codes() {
    let (store, admin) = store_with(&[]);
    let config = auth_config();
    let sessions = pos_api::Sessions::new(config.clone()).unwrap();
    let app = app(store.clone(), config).await;
    let good = token(&app, "able").await;
    let (status, _, _) = send(&app, bearer(TestRequest::get().uri("/api/auth/me"), &good)).await;
    assert_eq!(status, StatusCode::OK);

    let other_key = pos_api::Sessions::new(AuthConfig::new("another-secret-0123456789".into()))
        .unwrap()
        .start(&admin, None, Utc::now())
        .unwrap()
        .token
        .token;
    let expired = sessions
        .start(&admin, None, Utc::now() - chrono::Duration::hours(9))
        .unwrap()
        .token
        .token;
    let cases: Vec<(TestRequest, &str)> = vec![
        (TestRequest::get(), "unauthenticated"),
        (bearer(TestRequest::get(), "garbage"), "invalid_token"),
        (bearer(TestRequest::get(), &other_key), "invalid_token"),
        (bearer(TestRequest::get(), &format!("{good}x")), "invalid_token"),
        (bearer(TestRequest::get(), &expired), "token_expired"),
        (
            TestRequest::get().insert_header(("authorization", format!("Basic {good}"))),
            "invalid_token",
        ),
        (
            TestRequest::get().insert_header(("authorization", "Bearer ")),
            "invalid_token",
        ),
        // A bad bearer header is not rescued by a good cookie.
        (
            bearer(TestRequest::get(), "garbage")
                .cookie(actix_web::cookie::Cookie::new("pos_session", good.clone())),
            "invalid_token",
        ),
        (
            TestRequest::get().cookie(actix_web::cookie::Cookie::new("pos_session", "garbage")),
            "invalid_token",
        ),
    ];
    for (request, code) in cases {
        let (status, headers, problem) = send(&app, request.uri("/api/auth/me")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
        assert_eq!(problem["code"], code);
        assert!(headers.contains_key("www-authenticate"));
    }
    let (status, _, _) = send(
        &app,
        TestRequest::get()
            .uri("/api/auth/me")
            .cookie(actix_web::cookie::Cookie::new("pos_session", good.clone())),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the cookie alone works");
}

#[actix_web::test]
async fn deleted_deactivated_and_revoked_accounts_lose_their_sessions() {
    let (store, _) = store_with(&[("phiona", Role::Cashier, false), ("emma", Role::Kitchen, false)]);
    let app = app(store.clone(), auth_config()).await;
    let phiona = token(&app, "phiona").await;
    let emma = token(&app, "emma").await;
    let phiona_id = store.id_of("phiona");
    let emma_id = store.id_of("emma");

    store.edit_staff(phiona_id, |s| s.active = false);
    let (status, _, problem) = send(&app, bearer(TestRequest::get().uri("/api/auth/me"), &phiona)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("account_inactive"))
    );
    store.edit_staff(phiona_id, |s| s.active = true);
    let (status, _, _) = send(&app, bearer(TestRequest::get().uri("/api/auth/me"), &phiona)).await;
    assert_eq!(status, StatusCode::OK);
    store.edit_staff(phiona_id, |s| s.token_version += 1);
    let (status, _, problem) = send(&app, bearer(TestRequest::get().uri("/api/auth/me"), &phiona)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_revoked"))
    );

    store.delete_staff(emma_id);
    let (status, _, problem) = send(&app, bearer(TestRequest::get().uri("/api/auth/me"), &emma)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
}

#[actix_web::test]
async fn logout_all_kills_every_token_and_logout_clears_the_cookies() {
    let (store, _) = store_with(&[("phiona", Role::Cashier, false)]);
    let app = app(store.clone(), auth_config()).await;
    let first = token(&app, "phiona").await;
    let second = token(&app, "phiona").await;

    let (status, headers, _) = send(&app, bearer(TestRequest::post().uri("/api/auth/logout"), &first)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cookies = set_cookies(&headers);
    assert!(
        cookie(&cookies, "pos_session").contains("Max-Age=0"),
        "{cookies:?}"
    );
    assert!(cookie(&cookies, "pos_csrf").contains("Max-Age=0"), "{cookies:?}");

    let (status, _, _) = send(
        &app,
        bearer(TestRequest::post().uri("/api/auth/logout-all"), &second),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for token in [&first, &second] {
        let (status, _, problem) = send(&app, bearer(TestRequest::get().uri("/api/auth/me"), token)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("token_revoked"))
        );
    }
    let fresh = token(&app, "phiona").await;
    let (status, _, _) = send(&app, bearer(TestRequest::get().uri("/api/auth/me"), &fresh)).await;
    assert_eq!(status, StatusCode::OK);
    let actions = store.audit_actions();
    assert!(actions.contains(&"auth.logout".to_owned()), "{actions:?}");
    assert!(actions.contains(&"auth.logout_all".to_owned()), "{actions:?}");
}

#[actix_web::test]
async fn an_account_that_must_change_its_password_reaches_only_me_change_password_and_logout() {
    let (store, _) = store_with(&[("linus", Role::Manager, true)]);
    let app = app(store.clone(), auth_config()).await;
    let old = token(&app, "linus").await;

    let (status, _, me) = send(&app, bearer(TestRequest::get().uri("/api/auth/me"), &old)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["must_change_password"], true);
    for request in [
        TestRequest::get().uri("/api/admin/audit"),
        TestRequest::get().uri("/api/admin/locks"),
        TestRequest::post().uri("/api/auth/logout-all"),
    ] {
        let (status, _, problem) = send(&app, bearer(request, &old)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("password_change_required"))
        );
    }

    let change = |current: &str, new: &str| {
        bearer(
            post_json(
                "/api/auth/change-password",
                json!({"current_password": current, "new_password": new}),
            ),
            &old,
        )
    };
    for (new, why) in [("short", "length"), ("password123", "demo"), (PASSWORD, "same")] {
        let (status, _, problem) = send(&app, change(PASSWORD, new)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {problem}");
        assert_eq!(problem["field"], "new_password");
    }
    let (status, _, problem) = send(&app, change("wrong current", "a brand new password")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );

    let (status, headers, body) = send(&app, change(PASSWORD, "a brand new password")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["staff"]["must_change_password"], false);
    assert!(cookie(&set_cookies(&headers), "pos_session").contains("HttpOnly"));
    let new = body["token"].as_str().unwrap();
    let (status, _, problem) = send(&app, bearer(TestRequest::get().uri("/api/auth/me"), &old)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_revoked"))
    );
    let (status, _, _) = send(&app, bearer(TestRequest::get().uri("/api/admin/locks"), new)).await;
    assert_eq!(status, StatusCode::OK, "the fresh session is a full one");
    let (status, _, _) = login(&app, "linus", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = login(&app, "linus", "a brand new password").await;
    assert_eq!(status, StatusCode::OK);
    let actions = store.audit_actions();
    assert!(
        actions.contains(&"staff.password_changed".to_owned()),
        "{actions:?}"
    );
}

#[actix_web::test]
async fn five_failures_lock_the_username_until_a_manager_unlocks_it() {
    let (store, _) = store_with(&[
        ("phiona", Role::Cashier, false),
        ("linus", Role::Manager, false),
        ("fred", Role::Cashier, false),
    ]);
    let app = app(store.clone(), auth_config()).await;
    let manager = token(&app, "linus").await;
    let cashier = token(&app, "fred").await;
    for attempt in 1..=4 {
        let (status, _, _) = login(&app, "phiona", "wrong").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let (status, headers, problem) = login(&app, "phiona", "wrong").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("account_locked"))
    );
    let retry: u64 = headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((899..=900).contains(&retry), "{retry}");
    // Locked: even the right password is refused, before any hashing.
    let (status, headers, _) = login(&app, "phiona", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key("retry-after"));
    // Another username is not affected.
    assert_eq!(login(&app, "fred", PASSWORD).await.0, StatusCode::OK);

    let (status, _, locks) = send(&app, bearer(TestRequest::get().uri("/api/admin/locks"), &manager)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(locks[0]["scope"], "user:phiona");
    assert_eq!(locks[0]["kind"], "username");
    assert_eq!(locks[0]["subject"], "phiona");

    let phiona_id = store.id_of("phiona");
    let unlock = format!("/api/admin/staff/{phiona_id}/unlock");
    let (status, _, problem) = send(&app, bearer(TestRequest::post().uri(&unlock), &cashier)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_permitted"))
    );
    let (status, _, _) = send(&app, bearer(TestRequest::post().uri(&unlock), &manager)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, problem) = send(&app, bearer(TestRequest::post().uri(&unlock), &manager)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_locked"))
    );
    names_the_rule_not_the_storage(&problem);
    assert_eq!(login(&app, "phiona", PASSWORD).await.0, StatusCode::OK);

    let actions = store.audit_actions();
    let count = |a: &str| actions.iter().filter(|x| *x == a).count();
    assert_eq!(count("auth.login_failed"), 5, "{actions:?}");
    assert_eq!(count("auth.locked"), 1, "{actions:?}");
    assert_eq!(count("auth.unlocked"), 1, "{actions:?}");
}

#[actix_web::test]
async fn pin_login_works_on_registered_active_terminals_and_locks_per_terminal() {
    let (store, _) = store_with(&[("phiona", Role::Cashier, false)]);
    let phiona = store.id_of("phiona");
    store.give_pin(phiona, "4821");
    let pos1 = store.add_terminal("pos-1", true);
    store.add_terminal("pos-9", false);
    let app = app(store.clone(), auth_config()).await;

    let pin = |terminal: &str, pin: &str| {
        post_json("/api/auth/pin-login", json!({"terminal": terminal, "pin": pin}))
    };
    for terminal in ["pos-2", "pos-9"] {
        let (status, _, problem) = send(&app, pin(terminal, "4821")).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("terminal_not_registered"))
        );
    }
    let (status, _, body) = send(&app, pin("POS-1", "4821")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["staff"]["username"], "phiona");
    assert_eq!(body["terminal"]["code"], "pos-1");
    let token = body["token"].as_str().unwrap().to_owned();
    let (_, _, me) = send(&app, bearer(TestRequest::get().uri("/api/auth/me"), &token)).await;
    assert_eq!(me["terminal"]["id"], json!(pos1.id));
    assert!(me["terminal"]["last_seen_at"].is_string(), "{me}");
    // Terminal traffic marks it seen, at most once a minute per process.
    for _ in 0..3 {
        send(&app, bearer(TestRequest::get().uri("/api/auth/me"), &token)).await;
    }
    assert_eq!(store.touches().len(), 1, "{:?}", store.touches());

    for _ in 1..=4 {
        assert_eq!(send(&app, pin("pos-1", "0000")).await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, headers, _) = send(&app, pin("pos-1", "0000")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key("retry-after"));
    let (status, _, _) = send(&app, pin("pos-1", "4821")).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the terminal is locked for PINs"
    );
    assert_eq!(
        login(&app, "phiona", PASSWORD).await.0,
        StatusCode::OK,
        "passwords still work"
    );

    let admin = self::token(&app, "able").await;
    let (status, _, problem) = send(
        &app,
        bearer(
            post_json("/api/admin/locks/unlock", json!({"scope": "bogus"})),
            &admin,
        ),
    )
    .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("scope"))
    );
    let (status, _, _) = send(
        &app,
        bearer(
            post_json("/api/admin/locks/unlock", json!({"scope": "pin:pos-1"})),
            &admin,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(send(&app, pin("pos-1", "4821")).await.0, StatusCode::OK);
}

#[actix_web::test]
async fn cookie_sessions_need_the_app_origin_or_the_csrf_header_to_change_data() {
    let (store, _) = store_with(&[("phiona", Role::Cashier, false)]);
    let app = app(store.clone(), auth_config()).await;
    let (_, headers, body) = login(&app, "phiona", PASSWORD).await;
    let token = body["token"].as_str().unwrap().to_owned();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(cookie_value(cookie(&set_cookies(&headers), "pos_csrf")), csrf);
    let with_cookie = |request: TestRequest| {
        request
            .uri("/api/auth/logout")
            .cookie(actix_web::cookie::Cookie::new("pos_session", token.clone()))
    };
    let refused = [
        with_cookie(TestRequest::post()),
        with_cookie(TestRequest::post()).insert_header(("origin", "https://evil.test")),
        with_cookie(TestRequest::post()).insert_header(("origin", "null")),
        with_cookie(TestRequest::post()).insert_header(("referer", "https://pos.test.evil.test/pos")),
        with_cookie(TestRequest::post()).insert_header(("x-csrf-token", "00ff")),
        // A CSRF token of another session does not do.
        with_cookie(TestRequest::post()).insert_header((
            "x-csrf-token",
            pos_api::Sessions::new(auth_config())
                .unwrap()
                .keys()
                .csrf_token("other-jti"),
        )),
    ];
    for request in refused {
        let (status, _, problem) = send(&app, request).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("csrf_rejected"))
        );
    }
    let accepted = [
        with_cookie(TestRequest::post()).insert_header(("origin", APP_ORIGIN)),
        with_cookie(TestRequest::post()).insert_header(("referer", format!("{APP_ORIGIN}/pos/orders"))),
        with_cookie(TestRequest::post())
            .insert_header(("origin", "http://localhost:5173"))
            .insert_header(("x-csrf-token", csrf.clone())),
        with_cookie(TestRequest::post()).insert_header(("x-csrf-token", csrf.clone())),
        // Bearer requests are exempt: a cross-site page cannot set Authorization.
        bearer(TestRequest::post().uri("/api/auth/logout"), &token)
            .insert_header(("origin", "https://evil.test")),
    ];
    for request in accepted {
        let (status, _, problem) = send(&app, request).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{problem}");
    }
    // Reading needs no origin.
    let (status, _, _) = send(
        &app,
        TestRequest::get()
            .uri("/api/auth/me")
            .cookie(actix_web::cookie::Cookie::new("pos_session", token.clone())),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn admins_manage_staff_with_audited_changes_and_the_last_admin_is_protected() {
    let (store, admin) = store_with(&[("linus", Role::Manager, false)]);
    let app = app(store.clone(), auth_config()).await;
    let admin_token = token(&app, "able").await;
    let manager = token(&app, "linus").await;
    let as_admin = |r: TestRequest| bearer(r, &admin_token);

    let (status, _, problem) = send(&app, bearer(TestRequest::get().uri("/api/admin/staff"), &manager)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_permitted"))
    );

    let new = json!({"username": "grace", "full_name": "Grace N.", "role": "cashier", "password": "an initial password", "pin": "1357"});
    let (status, _, grace) = send(&app, as_admin(post_json("/api/admin/staff", new.clone()))).await;
    assert_eq!(status, StatusCode::CREATED, "{grace}");
    assert_eq!(grace["must_change_password"], true);
    assert_eq!(grace["has_pin"], true);
    let (status, _, problem) = send(&app, as_admin(post_json("/api/admin/staff", new))).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("username_taken"))
    );
    names_the_rule_not_the_storage(&problem);
    let (status, _, problem) = send(
        &app,
        as_admin(post_json(
            "/api/admin/staff",
            json!({"username": "gift", "full_name": "Gift", "role": "chef", "password": "an initial password"}),
        )),
    )
    .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("role"))
    );
    let (status, _, problem) = send(
        &app,
        as_admin(post_json(
            "/api/admin/staff",
            json!({"username": "gift", "full_name": "Gift", "role": "bar", "password": "password123"}),
        )),
    )
    .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
    );

    let grace_id = grace["id"].as_str().unwrap().to_owned();
    let linus_id = store.id_of("linus");
    // PINs are unique among active staff.
    let (status, _, problem) = send(
        &app,
        as_admin(
            TestRequest::put()
                .uri(&format!("/api/admin/staff/{linus_id}/pin"))
                .set_json(json!({"pin": "1357"})),
        ),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("pin_taken"))
    );
    names_the_rule_not_the_storage(&problem);
    let (status, _, body) = send(
        &app,
        as_admin(TestRequest::delete().uri(&format!("/api/admin/staff/{grace_id}/pin"))),
    )
    .await;
    assert_eq!((status, &body["has_pin"]), (StatusCode::OK, &json!(false)));
    let (status, _, body) = send(
        &app,
        as_admin(
            TestRequest::put()
                .uri(&format!("/api/admin/staff/{linus_id}/pin"))
                .set_json(json!({"pin": "1357"})),
        ),
    )
    .await;
    assert_eq!((status, &body["has_pin"]), (StatusCode::OK, &json!(true)));

    // A role change kills the member's old tokens.
    let (status, _, body) = send(
        &app,
        as_admin(
            TestRequest::patch()
                .uri(&format!("/api/admin/staff/{linus_id}"))
                .set_json(json!({"role": "waiter"})),
        ),
    )
    .await;
    assert_eq!((status, &body["role"]), (StatusCode::OK, &json!("waiter")));
    let (status, _, problem) = send(&app, bearer(TestRequest::get().uri("/api/auth/me"), &manager)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_revoked"))
    );

    // The last active admin can be neither demoted nor deactivated; a second admin frees the first.
    for change in [json!({"role": "manager"}), json!({"active": false})] {
        let (status, _, problem) = send(
            &app,
            as_admin(
                TestRequest::patch()
                    .uri(&format!("/api/admin/staff/{}", admin.id))
                    .set_json(change),
            ),
        )
        .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::CONFLICT, Some("last_active_admin"))
        );
        names_the_rule_not_the_storage(&problem);
    }
    let (status, _, _) = send(
        &app,
        as_admin(
            TestRequest::patch()
                .uri(&format!("/api/admin/staff/{grace_id}"))
                .set_json(json!({"role": "admin"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = send(
        &app,
        as_admin(
            TestRequest::patch()
                .uri(&format!("/api/admin/staff/{}", admin.id))
                .set_json(json!({"role": "manager"})),
        ),
    )
    .await;
    assert_eq!(
        (status, &body["role"]),
        (StatusCode::OK, &json!("manager")),
        "{body}"
    );

    // Reset password: must change at next login.
    let (status, _, body) = send(
        &app,
        bearer(
            post_json(
                &format!("/api/admin/staff/{linus_id}/reset-password"),
                json!({"new_password": "temporary password"}),
            ),
            // The demoted admin's old token died with the role change: sign in again.
            &token(&app, "able").await,
        ),
    )
    .await;
    // able is a manager now: resetting passwords is an admin's job.
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_permitted"))
    );

    let rows = store.audit_rows();
    let role_change = rows
        .iter()
        .find(|r| r.entry.action == "staff.role_changed")
        .unwrap();
    assert_eq!(role_change.entry.actor_id, Some(admin.id));
    assert_eq!(role_change.entry.before.as_ref().unwrap()["role"], "manager");
    assert_eq!(role_change.entry.after.as_ref().unwrap()["role"], "waiter");
    let created = rows.iter().find(|r| r.entry.action == "staff.created").unwrap();
    let raw = serde_json::to_string(&rows).unwrap();
    assert!(
        !raw.contains("1357") && !raw.contains("an initial password"),
        "no secret in the log"
    );
    assert_eq!(created.entry.after.as_ref().unwrap()["username"], "grace");
    for action in ["staff.pin_set", "staff.pin_cleared"] {
        assert!(rows.iter().any(|r| r.entry.action == action), "{action}");
    }
}

#[actix_web::test]
async fn admins_register_and_edit_terminals() {
    let (store, _) = store_with(&[("ritah", Role::Manager, false)]);
    let app = app(store.clone(), auth_config()).await;
    let admin = token(&app, "able").await;
    let manager = token(&app, "ritah").await;
    let (status, _, problem) = send(
        &app,
        bearer(TestRequest::get().uri("/api/admin/terminals"), &manager),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_permitted"))
    );

    let (status, _, kds) = send(
        &app,
        bearer(
            post_json(
                "/api/admin/terminals",
                json!({"code": "KDS-2", "name": "Bar screen", "kind": "kds", "station": "bar", "location": "  "}),
            ),
            &admin,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{kds}");
    assert_eq!(
        (kds["code"].as_str(), kds["station"].as_str()),
        (Some("kds-2"), Some("bar"))
    );
    assert!(kds["location"].is_null());
    for (body, field) in [
        (json!({"code": "k", "name": "x", "kind": "kds"}), "code"),
        (json!({"code": "kds-3", "name": "", "kind": "kds"}), "name"),
        (json!({"code": "kds-3", "name": "x", "kind": "toaster"}), "kind"),
        (
            json!({"code": "kds-3", "name": "x", "kind": "kds", "station": "grill"}),
            "station",
        ),
    ] {
        let (status, _, problem) = send(&app, bearer(post_json("/api/admin/terminals", body), &admin)).await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field))
        );
    }
    let (status, _, problem) = send(
        &app,
        bearer(
            post_json(
                "/api/admin/terminals",
                json!({"code": "kds-2", "name": "Again", "kind": "kds"}),
            ),
            &admin,
        ),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("terminal_code_taken"))
    );
    names_the_rule_not_the_storage(&problem);

    let uri = format!("/api/admin/terminals/{}", kds["id"].as_str().unwrap());
    let (status, _, updated) = send(
        &app,
        bearer(
            TestRequest::patch()
                .uri(&uri)
                .set_json(json!({"station": null, "location": "Terrace", "active": false})),
            &admin,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert!(updated["station"].is_null());
    assert_eq!(updated["location"], "Terrace");
    assert_eq!(updated["active"], false);
    assert_eq!(updated["name"], "Bar screen", "absent fields are left alone");
    let (_, _, listed) = send(
        &app,
        bearer(TestRequest::get().uri("/api/admin/terminals"), &admin),
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let actions = store.audit_actions();
    assert!(actions.contains(&"terminal.created".into()) && actions.contains(&"terminal.updated".into()));
}

#[actix_web::test]
async fn the_audit_log_is_readable_by_managers_and_its_chain_verifies() {
    let (store, admin) = store_with(&[("ritah", Role::Manager, false), ("fred", Role::Cashier, false)]);
    let app = app(store.clone(), auth_config()).await;
    let manager = token(&app, "ritah").await;
    let cashier = token(&app, "fred").await;
    login(&app, "able", "wrong").await;
    token(&app, "able").await;

    let (status, _, problem) = send(&app, bearer(TestRequest::get().uri("/api/admin/audit"), &cashier)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_permitted"))
    );
    let (status, _, page) = send(
        &app,
        bearer(TestRequest::get().uri("/api/admin/audit?limit=2"), &manager),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(
        entries[0]["id"].as_i64() > entries[1]["id"].as_i64(),
        "newest first"
    );
    let next = page["next_before_id"].as_i64().unwrap();
    let (_, _, older) = send(
        &app,
        bearer(
            TestRequest::get().uri(&format!("/api/admin/audit?before_id={next}")),
            &manager,
        ),
    )
    .await;
    assert!(
        older["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["id"].as_i64().unwrap() < next)
    );
    let (_, _, failed) = send(
        &app,
        bearer(
            TestRequest::get().uri("/api/admin/audit?action=auth.login_failed"),
            &manager,
        ),
    )
    .await;
    assert_eq!(failed["entries"].as_array().unwrap().len(), 1);
    assert_eq!(failed["entries"][0]["entity_id"], "user:able");
    assert_eq!(failed["entries"][0]["after"]["staff_id"], json!(admin.id));
    let (status, _, problem) = send(
        &app,
        bearer(TestRequest::get().uri("/api/admin/audit?limit=0"), &manager),
    )
    .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );

    let (status, _, verified) = send(
        &app,
        bearer(TestRequest::get().uri("/api/admin/audit/verify"), &manager),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verified["valid"], true, "{verified}");
    let total = i64::try_from(store.audit_rows().len()).unwrap();
    assert_eq!(verified["rows_checked"], total);

    store.tamper_audit(1, |row| row.entry.action = "auth.nothing_to_see".into());
    let (_, _, verified) = send(
        &app,
        bearer(TestRequest::get().uri("/api/admin/audit/verify"), &manager),
    )
    .await;
    assert_eq!(verified["valid"], false);
    assert_eq!(verified["broken_at"], 2);
    assert_eq!(verified["rows_checked"], 1);
}
