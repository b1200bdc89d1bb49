//! A fake Pesapal API 3.0 for tests: real HTTP on a free loopback port, Pesapal's JSON
//! (HTTP 200 with an `error` object for failures, five-minute tokens with an `expiryDate`,
//! bearer authentication on everything but the token call), scriptable per test.
//!
//! It runs on its own thread with its own actix system, so it serves whatever runtime the
//! test uses (and keeps serving while the test blocks). Paths are under `/pesapalv3/api/`,
//! like the sandbox; point a client at [`FakePesapal::base_url`].
//!
//! What a test can script:
//! - the outcome of a submitted order: [`FakePesapal::complete`], [`FakePesapal::fail`],
//!   [`FakePesapal::reverse`], [`FakePesapal::complete_with`] (another amount or currency),
//!   or any raw answer ([`FakePesapal::set_status`], [`FakePesapal::set_status_answer`]);
//!   until then GetTransactionStatus answers "pending" the way Pesapal does;
//! - IPNs: [`FakePesapal::notify`] calls the IPN URL the order was submitted with (GET or
//!   POST as registered), as often as asked (duplicates), or not at all (no IPN);
//! - slow answers ([`FakeState::delay`], [`FakeState::token_delay`]), 200-with-error
//!   answers to SubmitOrderRequest ([`FakeState::order_answer`]), short-lived tokens
//!   ([`FakeState::token_ttl`]; expired tokens get HTTP 401 like revoked ones).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

/// The credentials the fake accepts.
pub const KEY: &str = "fake-consumer-key";
pub const SECRET: &str = "fake-consumer-secret";
/// An IPN registration every fake starts with.
pub const PRESET_IPN_ID: &str = "ipn-preset";
pub const PRESET_IPN_URL: &str = "https://pos.example/api/payments/pesapal/ipn";

/// A canned HTTP answer.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// One SubmitOrderRequest as received.
#[derive(Debug, Clone)]
pub struct SubmittedOrder {
    /// The body exactly as sent (amount literal included).
    pub raw: String,
    /// `None` when the fake refused it.
    pub tracking_id: Option<String>,
    pub merchant_reference: String,
    /// The `amount` JSON literal, e.g. `30000` or `1234.50`.
    pub amount: String,
    pub currency: String,
    pub notification_id: String,
}

/// One RefundRequest as received, and whether it was accepted.
#[derive(Debug, Clone)]
pub struct RefundSeen {
    pub confirmation_code: String,
    pub amount: String,
    pub username: String,
    pub remarks: String,
    pub accepted: bool,
}

/// A transaction the fake knows the outcome of (for refunds).
#[derive(Debug, Clone)]
struct Settled {
    amount: String,
    payment_method: String,
    refunded: bool,
}

#[derive(Debug)]
pub struct FakeState {
    /// Lifetime announced in `expiryDate` for new tokens, and enforced.
    pub token_ttl: chrono::Duration,
    /// Time the token endpoint takes.
    pub token_delay: Duration,
    /// Time every other endpoint takes.
    pub delay: Duration,
    pub issued: Vec<String>,
    /// When each issued token stops being accepted.
    pub expires: HashMap<String, Instant>,
    pub revoked: Vec<String>,
    pub reject_every_token: bool,
    /// Endpoints of the calls refused with HTTP 401 (no, unknown, revoked or expired token).
    pub rejected: Vec<String>,
    /// (endpoint, Authorization header) of every authenticated call, in order.
    pub auth_seen: Vec<(String, Option<String>)>,
    /// (url, ipn_id, notification type)
    pub ipns: Vec<(String, String, String)>,
    pub registrations: usize,
    /// Raw bodies of SubmitOrderRequest, exactly as received.
    pub orders: Vec<String>,
    pub submitted: Vec<SubmittedOrder>,
    /// Replaces the SubmitOrderRequest answer when set (a 200-with-error, say).
    pub order_answer: Option<Value>,
    /// GetTransactionStatus answers by tracking id.
    pub statuses: HashMap<String, RawAnswer>,
    /// GetTransactionStatus calls by tracking id.
    pub status_queries: HashMap<String, usize>,
    pub refunds: Vec<RefundSeen>,
    settled: HashMap<String, Settled>,
    confirmations: usize,
}

impl Default for FakeState {
    fn default() -> Self {
        FakeState {
            token_ttl: chrono::Duration::minutes(5),
            token_delay: Duration::ZERO,
            delay: Duration::ZERO,
            issued: Vec::new(),
            expires: HashMap::new(),
            revoked: Vec::new(),
            reject_every_token: false,
            rejected: Vec::new(),
            auth_seen: Vec::new(),
            ipns: vec![(
                PRESET_IPN_URL.to_owned(),
                PRESET_IPN_ID.to_owned(),
                "POST".to_owned(),
            )],
            registrations: 0,
            orders: Vec::new(),
            submitted: Vec::new(),
            order_answer: None,
            statuses: HashMap::new(),
            status_queries: HashMap::new(),
            refunds: Vec::new(),
            settled: HashMap::new(),
            confirmations: 0,
        }
    }
}

#[derive(Default)]
struct Shared {
    token_requests: AtomicUsize,
    state: Mutex<FakeState>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Checks the bearer token like Pesapal: unknown, revoked or expired → HTTP 401.
    fn authorized(&self, endpoint: &str, req: &HttpRequest) -> bool {
        let header = req
            .headers()
            .get("Authorization")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        let mut state = self.state();
        state.auth_seen.push((endpoint.to_owned(), header.clone()));
        let token = header.as_deref().and_then(|h| h.strip_prefix("Bearer "));
        let accepted = token.is_some_and(|t| {
            state.issued.iter().any(|i| i == t)
                && !state.revoked.iter().any(|r| r == t)
                && state.expires.get(t).is_none_or(|end| Instant::now() < *end)
                && !state.reject_every_token
        });
        if !accepted {
            state.rejected.push(endpoint.to_owned());
        }
        accepted
    }

    fn delay(&self) -> Duration {
        self.state().delay
    }
}

/// Pesapal's error shape (sent with HTTP 200).
pub fn pesapal_error(code: &str, message: &str) -> Value {
    json!({
        "error": { "error_type": "api_error", "code": code, "message": message, "call_back_url": null },
        "status": "500"
    })
}

async fn request_token(fake: web::Data<Shared>, body: web::Json<Value>) -> HttpResponse {
    let number = fake.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let (delay, ttl) = {
        let state = fake.state();
        (state.token_delay, state.token_ttl)
    };
    tokio::time::sleep(delay).await;
    if body["consumer_key"] != KEY || body["consumer_secret"] != SECRET {
        return HttpResponse::Ok().json(json!({
            "token": null,
            "expiryDate": null,
            "error": { "error_type": "api_error", "code": "invalid_consumer_key_or_secret_provided", "message": "" },
            "status": "500",
            "message": ""
        }));
    }
    let token = format!("tok-{number}");
    {
        let mut state = fake.state();
        state.issued.push(token.clone());
        let lifetime = ttl.to_std().unwrap_or(Duration::ZERO);
        state.expires.insert(token.clone(), Instant::now() + lifetime);
    }
    // Pesapal's format: seven fractional digits and a Z.
    let expiry = chrono::Utc::now() + ttl;
    let expiry = format!(
        "{}.{:07}Z",
        expiry.format("%Y-%m-%dT%H:%M:%S"),
        expiry.timestamp_subsec_nanos() / 100
    );
    HttpResponse::Ok().json(json!({
        "token": token,
        "expiryDate": expiry,
        "error": null,
        "status": "200",
        "message": "Request processed successfully"
    }))
}

async fn register_ipn(fake: web::Data<Shared>, req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    if !fake.authorized("RegisterIPN", &req) {
        return HttpResponse::Unauthorized().finish();
    }
    let url = body["url"].as_str().unwrap_or_default().to_owned();
    let method = body["ipn_notification_type"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if url.is_empty() || !(method == "GET" || method == "POST") {
        return HttpResponse::Ok().json(pesapal_error("invalid_ipn_request", "url and type required"));
    }
    let mut state = fake.state();
    state.registrations += 1;
    let ipn_id = format!("ipn-{}", state.registrations);
    state.ipns.push((url.clone(), ipn_id.clone(), method));
    HttpResponse::Ok().json(json!({
        "url": url,
        "created_date": "2025-03-01T12:00:00.000Z",
        "ipn_id": ipn_id,
        "error": null,
        "status": "200"
    }))
}

async fn ipn_list(fake: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    if !fake.authorized("GetIpnList", &req) {
        return HttpResponse::Unauthorized().finish();
    }
    let list: Vec<Value> = fake
        .state()
        .ipns
        .iter()
        .map(|(url, id, method)| {
            json!({
                "url": url, "created_date": "2025-03-01T12:00:00.000Z", "ipn_id": id,
                "notification_type": 1, "ipn_notification_type_description": method,
                "ipn_status": 1, "ipn_status_description": "Active"
            })
        })
        .collect();
    HttpResponse::Ok().json(list)
}

/// The literal text of `amount` in a raw JSON body (`"amount":1234.50,` → `1234.50`).
fn amount_literal(raw: &str) -> String {
    let Some(start) = raw.find("\"amount\":") else {
        return String::new();
    };
    raw[start + 9..]
        .chars()
        .take_while(|c| !matches!(c, ',' | '}'))
        .collect::<String>()
        .trim()
        .to_owned()
}

fn pending_status(order: &SubmittedOrder) -> String {
    json!({
        "payment_method": "", "amount": 0, "created_date": "2025-03-01T12:01:09.763",
        "confirmation_code": "", "payment_status_description": "INVALID", "description": null,
        "message": "Request processed successfully", "payment_account": "", "call_back_url": "",
        "status_code": 0, "merchant_reference": order.merchant_reference, "payment_status_code": "",
        "currency": order.currency,
        "error": {"error_type": "api_error", "code": "payment_details_not_found", "message": "Pending Payment", "call_back_url": ""},
        "status": "500"
    })
    .to_string()
}

async fn submit_order(fake: web::Data<Shared>, req: HttpRequest, body: String) -> HttpResponse {
    if !fake.authorized("SubmitOrderRequest", &req) {
        return HttpResponse::Unauthorized().finish();
    }
    tokio::time::sleep(fake.delay()).await;
    let mut state = fake.state();
    state.orders.push(body.clone());
    let order: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut submitted = SubmittedOrder {
        raw: body.clone(),
        tracking_id: None,
        merchant_reference: order["id"].as_str().unwrap_or_default().to_owned(),
        amount: amount_literal(&body),
        currency: order["currency"].as_str().unwrap_or_default().to_owned(),
        notification_id: order["notification_id"].as_str().unwrap_or_default().to_owned(),
    };
    if let Some(answer) = state.order_answer.clone() {
        state.submitted.push(submitted);
        return HttpResponse::Ok().json(answer);
    }
    if !state
        .ipns
        .iter()
        .any(|(_, id, _)| *id == submitted.notification_id)
    {
        state.submitted.push(submitted);
        return HttpResponse::Ok().json(pesapal_error("invalid_notification_id", "Unknown IPN id"));
    }
    let tracking = format!("trk-{}", state.orders.len());
    submitted.tracking_id = Some(tracking.clone());
    let pending = pending_status(&submitted);
    state.statuses.entry(tracking.clone()).or_insert(RawAnswer {
        status: 200,
        content_type: "application/json".to_owned(),
        body: pending,
    });
    state.submitted.push(submitted);
    HttpResponse::Ok().json(json!({
        "order_tracking_id": tracking,
        "merchant_reference": order["id"],
        "redirect_url": format!("https://cybqa.pesapal.com/pesapaliframe/PesapalIframe3/Index?OrderTrackingId={tracking}"),
        "error": null,
        "status": "200"
    }))
}

async fn transaction_status(
    fake: web::Data<Shared>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    if !fake.authorized("GetTransactionStatus", &req) {
        return HttpResponse::Unauthorized().finish();
    }
    tokio::time::sleep(fake.delay()).await;
    let tracking = query.get("orderTrackingId").cloned().unwrap_or_default();
    let mut state = fake.state();
    *state.status_queries.entry(tracking.clone()).or_default() += 1;
    match state.statuses.get(&tracking) {
        Some(answer) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(answer.status).unwrap_or(actix_web::http::StatusCode::OK),
        )
        .content_type(answer.content_type.clone())
        .body(answer.body.clone()),
        None => HttpResponse::Ok().json(pesapal_error("invalid_order_tracking_id", "Order not found")),
    }
}

/// Pesapal's refund rules: a completed payment's confirmation code, once, never more than
/// was paid, and mobile money only in full.
async fn refund_request(fake: web::Data<Shared>, req: HttpRequest, body: String) -> HttpResponse {
    if !fake.authorized("RefundRequest", &req) {
        return HttpResponse::Unauthorized().finish();
    }
    tokio::time::sleep(fake.delay()).await;
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut seen = RefundSeen {
        confirmation_code: parsed["confirmation_code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        amount: amount_literal(&body),
        username: parsed["username"].as_str().unwrap_or_default().to_owned(),
        remarks: parsed["remarks"].as_str().unwrap_or_default().to_owned(),
        accepted: false,
    };
    let mut state = fake.state();
    let refusal = match state.settled.get(&seen.confirmation_code) {
        None => Some("Invalid confirmation code"),
        Some(s) if s.refunded => Some("A refund request has already been made for this payment"),
        Some(s) => {
            let asked: f64 = seen.amount.parse().unwrap_or(f64::MAX);
            let paid: f64 = s.amount.parse().unwrap_or(0.0);
            let mobile = ["mpesa", "mtn", "airtel", "mobile"]
                .iter()
                .any(|m| s.payment_method.to_ascii_lowercase().contains(m));
            if asked <= 0.0 || asked > paid {
                Some("Refund amount is invalid")
            } else if mobile && asked != paid {
                Some("Mobile money payments can only be refunded in full")
            } else {
                None
            }
        }
    };
    let answer = match refusal {
        Some(message) => json!({"status": "500", "message": message}),
        None => {
            if let Some(s) = state.settled.get_mut(&seen.confirmation_code) {
                s.refunded = true;
            }
            seen.accepted = true;
            json!({"status": "200", "message": "Refund request successfully"})
        }
    };
    state.refunds.push(seen);
    HttpResponse::Ok().json(answer)
}

/// A running fake. Stops when dropped.
pub struct FakePesapal {
    shared: Arc<Shared>,
    base_url: String,
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    http: reqwest::Client,
}

/// How the fake delivers an IPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpnDelivery {
    Get,
    Post,
}

impl FakePesapal {
    /// Starts a fake on a free loopback port; returns once it accepts connections.
    pub fn start() -> FakePesapal {
        let shared = Arc::new(Shared::default());
        let data = web::Data::from(shared.clone());
        let (sender, receiver) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route("/pesapalv3/api/Auth/RequestToken", web::post().to(request_token))
                        .route(
                            "/pesapalv3/api/URLSetup/RegisterIPN",
                            web::post().to(register_ipn),
                        )
                        .route("/pesapalv3/api/URLSetup/GetIpnList", web::get().to(ipn_list))
                        .route(
                            "/pesapalv3/api/Transactions/SubmitOrderRequest",
                            web::post().to(submit_order),
                        )
                        .route(
                            "/pesapalv3/api/Transactions/GetTransactionStatus",
                            web::get().to(transaction_status),
                        )
                        .route(
                            "/pesapalv3/api/Transactions/RefundRequest",
                            web::post().to(refund_request),
                        )
                })
                .workers(2)
                .disable_signals()
                .shutdown_timeout(1)
                .bind(("127.0.0.1", 0))
                .expect("bind the fake Pesapal");
                let address = server.addrs()[0];
                let server = server.run();
                sender
                    .send((address, server.handle()))
                    .expect("report the fake's address");
                let _ = server.await;
            });
        });
        let (address, handle) = receiver.recv().expect("the fake Pesapal started");
        FakePesapal {
            shared,
            base_url: format!("http://{address}/pesapalv3"),
            handle,
            thread: Some(thread),
            http: reqwest::Client::new(),
        }
    }

    /// `http://127.0.0.1:<port>/pesapalv3`: what `PESAPAL_BASE_URL` takes.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.shared.state()
    }

    pub fn token_requests(&self) -> usize {
        self.shared.token_requests.load(Ordering::SeqCst)
    }

    /// The Authorization headers `endpoint` (e.g. `SubmitOrderRequest`) saw, in order.
    pub fn auth_headers(&self, endpoint: &str) -> Vec<String> {
        self.state()
            .auth_seen
            .iter()
            .filter(|(e, _)| e == endpoint)
            .map(|(_, a)| a.clone().unwrap_or_default())
            .collect()
    }

    /// Every SubmitOrderRequest received.
    pub fn submitted(&self) -> Vec<SubmittedOrder> {
        self.state().submitted.clone()
    }

    /// The order submitted with this merchant reference (our payment id).
    pub fn order_for(&self, merchant_reference: &str) -> Option<SubmittedOrder> {
        self.submitted()
            .into_iter()
            .find(|o| o.merchant_reference == merchant_reference && o.tracking_id.is_some())
    }

    /// How often GetTransactionStatus was asked about `tracking_id`.
    pub fn status_queries(&self, tracking_id: &str) -> usize {
        self.state().status_queries.get(tracking_id).copied().unwrap_or(0)
    }

    /// GetTransactionStatus for `tracking_id` answers `raw_json` with HTTP 200.
    pub fn set_status(&self, tracking_id: &str, raw_json: &str) {
        self.set_status_answer(tracking_id, 200, "application/json", raw_json);
    }

    /// GetTransactionStatus for `tracking_id` answers exactly this.
    pub fn set_status_answer(&self, tracking_id: &str, status: u16, content_type: &str, body: &str) {
        self.state().statuses.insert(
            tracking_id.to_owned(),
            RawAnswer {
                status,
                content_type: content_type.to_owned(),
                body: body.to_owned(),
            },
        );
    }

    fn submitted_order(&self, tracking_id: &str) -> SubmittedOrder {
        self.submitted()
            .into_iter()
            .find(|o| o.tracking_id.as_deref() == Some(tracking_id))
            .unwrap_or_else(|| panic!("no order was submitted under {tracking_id}"))
    }

    fn settle(
        &self,
        tracking_id: &str,
        code: u8,
        description: &str,
        amount: &str,
        currency: &str,
        method: &str,
    ) {
        let order = self.submitted_order(tracking_id);
        let confirmation = {
            let mut state = self.state();
            state.confirmations += 1;
            format!("CONF-{}", state.confirmations)
        };
        let body = json!({
            "payment_method": method, "amount": 0, "created_date": "2025-03-01T12:01:09.763",
            "confirmation_code": confirmation, "payment_status_description": description,
            "description": format!("Transaction {}", description.to_ascii_lowercase()),
            "message": "Request processed successfully", "payment_account": "2567xxx73984",
            "call_back_url": "", "status_code": code, "merchant_reference": order.merchant_reference,
            "payment_status_code": "", "currency": currency,
            "error": { "error_type": null, "code": null, "message": null, "call_back_url": null },
            "status": "200"
        })
        .to_string()
        // The amount goes out as the literal given, like Pesapal's decimal numbers.
        .replacen("\"amount\":0", &format!("\"amount\":{amount}"), 1);
        if code == 1 {
            self.state().settled.insert(
                confirmation,
                Settled {
                    amount: amount.to_owned(),
                    payment_method: method.to_owned(),
                    refunded: false,
                },
            );
        }
        self.set_status(tracking_id, &body);
    }

    /// The customer paid exactly what was asked (mobile money).
    pub fn complete(&self, tracking_id: &str) {
        let order = self.submitted_order(tracking_id);
        self.settle(tracking_id, 1, "Completed", &order.amount, &order.currency, "MTN");
    }

    /// Completed, by card (refundable in part).
    pub fn complete_by_card(&self, tracking_id: &str) {
        let order = self.submitted_order(tracking_id);
        self.settle(
            tracking_id,
            1,
            "Completed",
            &order.amount,
            &order.currency,
            "Visa",
        );
    }

    /// Completed with another amount literal or currency than was submitted.
    pub fn complete_with(&self, tracking_id: &str, amount: &str, currency: &str) {
        self.settle(tracking_id, 1, "Completed", amount, currency, "MTN");
    }

    pub fn fail(&self, tracking_id: &str) {
        let order = self.submitted_order(tracking_id);
        self.settle(tracking_id, 2, "Failed", &order.amount, &order.currency, "MTN");
    }

    pub fn reverse(&self, tracking_id: &str) {
        let order = self.submitted_order(tracking_id);
        self.settle(tracking_id, 3, "Reversed", &order.amount, &order.currency, "MTN");
    }

    /// The confirmation code of a settled transaction (what a refund names).
    pub fn confirmation_code(&self, tracking_id: &str) -> Option<String> {
        let state = self.state();
        let answer = state.statuses.get(tracking_id)?;
        let parsed: Value = serde_json::from_str(&answer.body).ok()?;
        parsed["confirmation_code"]
            .as_str()
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
    }

    /// Sends the IPN for `tracking_id` the way Pesapal would: to the URL registered under the
    /// order's notification id, with its registered method. Returns the HTTP status and the
    /// body of the answer.
    pub async fn notify(&self, tracking_id: &str) -> (u16, Value) {
        let order = self.submitted_order(tracking_id);
        let (url, method) = {
            let state = self.state();
            let (url, _, method) = state
                .ipns
                .iter()
                .find(|(_, id, _)| *id == order.notification_id)
                .cloned()
                .unwrap_or_else(|| panic!("no IPN URL registered as {}", order.notification_id));
            (url, method)
        };
        let delivery = if method == "GET" {
            IpnDelivery::Get
        } else {
            IpnDelivery::Post
        };
        self.send_ipn(&url, delivery, tracking_id, &order.merchant_reference)
            .await
    }

    /// An IPN with any ids to any URL (unknown tracking ids, forged references).
    pub async fn send_ipn(
        &self,
        url: &str,
        delivery: IpnDelivery,
        tracking_id: &str,
        merchant_reference: &str,
    ) -> (u16, Value) {
        let fields = [
            ("OrderTrackingId", tracking_id),
            ("OrderMerchantReference", merchant_reference),
            ("OrderNotificationType", "IPNCHANGE"),
        ];
        let request = match delivery {
            IpnDelivery::Get => self.http.get(url).query(&fields),
            IpnDelivery::Post => {
                let body: serde_json::Map<String, Value> = fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                    .collect();
                self.http.post(url).json(&body)
            }
        };
        let response = request
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("the IPN reached the server");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap_or_default();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

impl Drop for FakePesapal {
    fn drop(&mut self) {
        // Stopping is asynchronous; the thread ends once the server has.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
