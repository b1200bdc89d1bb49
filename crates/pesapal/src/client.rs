//! The HTTP client. Every call but the token request carries a bearer token that is
//! cached until shortly before its announced expiry; a token Pesapal rejects (HTTP 401) is
//! dropped and the call retried once with a fresh one.
//!
//! Error classification, per the port: no answer, a timeout or a 5xx without a body →
//! `Unreachable` (the payment stays pending and is retried); an `error` object, a non-2xx
//! `status` field or a 4xx → `Rejected`; a body we cannot read → `Protocol`.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use pos_domain::error::GatewayError;
use pos_domain::money::{Currency, Money};
use pos_domain::ports::{
    GatewayOrder, GatewayPaymentState, GatewayRedirect, GatewayRefund, GatewayStatus, PaymentGateway,
};
use reqwest::header::ACCEPT;
use reqwest::{RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use thiserror::Error;
use tokio::sync::Mutex;

use crate::amount::{from_major_units, to_major_units};
use crate::config::{IpnMethod, PesapalConfig};
use crate::wire::{
    BillingAddress, IpnRegistration, RefundRequest, RegisterIpnRequest, SubmitOrderRequest,
    SubmitOrderResponse, TokenRequest, TokenResponse, TransactionStatusResponse,
};

/// Pesapal documents a five-minute token; an announced expiry further out is not believed.
const TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// Pesapal's limit on an order description.
const MAX_DESCRIPTION_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PesapalSetupError {
    #[error("Pesapal base URL {0:?} is not an absolute http(s) URL")]
    InvalidBaseUrl(String),
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
}

struct CachedToken {
    value: SecretString,
    /// When to stop using it: the announced expiry minus the refresh margin.
    refresh_at: Instant,
}

/// Pesapal API 3.0, implementing `PaymentGateway`. Share one instance (e.g. in an `Arc`):
/// it holds the token cache.
pub struct PesapalClient {
    http: reqwest::Client,
    /// `<base_url>/api`
    api_root: String,
    consumer_key: SecretString,
    consumer_secret: SecretString,
    ipn_url: Option<String>,
    ipn_method: IpnMethod,
    /// The configured or discovered `notification_id`; the lock makes discovery happen once.
    ipn_id: Mutex<Option<String>>,
    /// Held across a refresh, so concurrent callers wait for one token request instead of
    /// each making their own.
    token: Mutex<Option<CachedToken>>,
    refresh_margin: Duration,
}

impl std::fmt::Debug for PesapalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PesapalClient")
            .field("api_root", &self.api_root)
            .field("configured", &self.is_configured())
            .finish_non_exhaustive()
    }
}

impl PesapalClient {
    pub fn new(config: PesapalConfig) -> Result<PesapalClient, PesapalSetupError> {
        let base = config.base_url.trim().trim_end_matches('/');
        let parsed = url::Url::parse(base).map_err(|_| PesapalSetupError::InvalidBaseUrl(base.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.cannot_be_a_base() {
            return Err(PesapalSetupError::InvalidBaseUrl(base.to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("pos/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PesapalSetupError::HttpClient(e.to_string()))?;
        Ok(PesapalClient {
            http,
            api_root: format!("{base}/api"),
            consumer_key: config.consumer_key,
            consumer_secret: config.consumer_secret,
            ipn_url: config.ipn_url.filter(|u| !u.trim().is_empty()),
            ipn_method: config.ipn_method,
            ipn_id: Mutex::new(config.ipn_id.filter(|id| !id.trim().is_empty())),
            token: Mutex::new(None),
            refresh_margin: config.token_refresh_margin,
        })
    }

    /// False without credentials: every call then answers `GatewayError::NotConfigured`.
    pub fn is_configured(&self) -> bool {
        !self.consumer_key.expose_secret().trim().is_empty()
            && !self.consumer_secret.expose_secret().trim().is_empty()
    }

    /// `URLSetup/RegisterIPN`: registers `url` for notifications with the configured
    /// method. Registering the same URL again yields another id; prefer `ensure_ipn_id`.
    pub async fn register_ipn(&self, url: &str) -> Result<IpnRegistration, GatewayError> {
        self.require_configured()?;
        if url.trim().is_empty() {
            return Err(invalid_request("the IPN URL is empty"));
        }
        let body = RegisterIpnRequest {
            url: url.trim(),
            ipn_notification_type: self.ipn_method.as_str(),
        };
        let endpoint = self.endpoint("URLSetup/RegisterIPN");
        let (status, bytes) = self
            .authorized(|token| self.http.post(&endpoint).bearer_auth(token).json(&body))
            .await?;
        let registration: IpnRegistration = interpret(status, &bytes, "RegisterIPN")?;
        if registration.ipn_id.trim().is_empty() {
            return Err(GatewayError::Protocol(
                "RegisterIPN returned no ipn_id".to_owned(),
            ));
        }
        tracing::info!(ipn_id = %registration.ipn_id, url = %registration.url, "registered Pesapal IPN URL");
        Ok(registration)
    }

    /// `URLSetup/GetIpnList`: every IPN URL registered for these credentials.
    pub async fn ipn_list(&self) -> Result<Vec<IpnRegistration>, GatewayError> {
        self.require_configured()?;
        let endpoint = self.endpoint("URLSetup/GetIpnList");
        let (status, bytes) = self
            .authorized(|token| self.http.get(&endpoint).bearer_auth(token))
            .await?;
        interpret(status, &bytes, "GetIpnList")
    }

    /// The `notification_id` for orders: the configured one, else the id under which the
    /// configured IPN URL is already registered, else a fresh registration. Found once per
    /// client, then remembered. `NotConfigured` with neither an id nor a URL.
    pub async fn ensure_ipn_id(&self) -> Result<String, GatewayError> {
        self.require_configured()?;
        let mut known = self.ipn_id.lock().await;
        if let Some(id) = known.as_ref() {
            return Ok(id.clone());
        }
        let Some(url) = self.ipn_url.clone() else {
            tracing::warn!("Pesapal has neither an IPN id nor an IPN URL configured");
            return Err(GatewayError::NotConfigured);
        };
        let existing = self
            .ipn_list()
            .await?
            .into_iter()
            .find(|r| r.url.trim() == url.trim());
        let registration = match existing {
            Some(registration) => registration,
            None => self.register_ipn(&url).await?,
        };
        *known = Some(registration.ipn_id.clone());
        Ok(registration.ipn_id)
    }

    fn require_configured(&self) -> Result<(), GatewayError> {
        if self.is_configured() {
            Ok(())
        } else {
            Err(GatewayError::NotConfigured)
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}/{path}", self.api_root)
    }

    /// A token valid for at least the refresh margin, from the cache or freshly issued.
    async fn bearer(&self) -> Result<SecretString, GatewayError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(token.value.clone());
        }
        let fresh = self.request_token().await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// Drops `rejected` from the cache unless another caller already replaced it.
    async fn forget_token(&self, rejected: &SecretString) {
        let mut cached = self.token.lock().await;
        if cached
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == rejected.expose_secret())
        {
            *cached = None;
        }
    }

    async fn request_token(&self) -> Result<CachedToken, GatewayError> {
        let body = TokenRequest {
            consumer_key: self.consumer_key.expose_secret(),
            consumer_secret: self.consumer_secret.expose_secret(),
        };
        let request = self
            .http
            .post(self.endpoint("Auth/RequestToken"))
            .header(ACCEPT, "application/json")
            .json(&body);
        let (status, bytes) = send(request).await?;
        let value = decode_json(status, &bytes, "RequestToken")?;
        if let Some(error) = provider_error(&value) {
            tracing::warn!(%error, "Pesapal refused to issue a token");
            return Err(error);
        }
        check_http_status(status, "RequestToken")?;
        // The body holds the token: errors below must not quote it.
        let parsed: TokenResponse = serde_json::from_slice(&bytes).map_err(|_| {
            GatewayError::Protocol("RequestToken response has an unexpected shape".to_owned())
        })?;
        let token = parsed
            .token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| GatewayError::Protocol("RequestToken response carries no token".to_owned()))?;
        let lifetime = token_lifetime(parsed.expiry_date.as_deref(), Utc::now());
        tracing::debug!(lifetime_secs = lifetime.as_secs(), "obtained a Pesapal token");
        Ok(CachedToken {
            value: SecretString::from(token),
            refresh_at: Instant::now() + lifetime.saturating_sub(self.refresh_margin),
        })
    }

    /// Sends the request `build` makes with a bearer token; on HTTP 401 forgets the token
    /// and tries once more with a new one.
    async fn authorized<F>(&self, build: F) -> Result<(StatusCode, Vec<u8>), GatewayError>
    where
        F: Fn(&str) -> RequestBuilder,
    {
        let mut retried = false;
        loop {
            let token = self.bearer().await?;
            let request = build(token.expose_secret()).header(ACCEPT, "application/json");
            let (status, bytes) = send(request).await?;
            if status == StatusCode::UNAUTHORIZED && !retried {
                tracing::info!("Pesapal rejected a cached token; requesting a new one");
                self.forget_token(&token).await;
                retried = true;
                continue;
            }
            return Ok((status, bytes));
        }
    }
}

#[async_trait]
impl PaymentGateway for PesapalClient {
    async fn submit_order(&self, order: GatewayOrder) -> Result<GatewayRedirect, GatewayError> {
        self.require_configured()?;
        if order.amount.minor() <= 0 {
            return Err(invalid_request("the amount must be positive"));
        }
        let email = order
            .customer_email
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let phone = order
            .customer_phone
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if email.is_none() && phone.is_none() {
            return Err(invalid_request(
                "Pesapal needs the customer's email address or phone number",
            ));
        }
        let notification_id = self.ensure_ipn_id().await?;

        let merchant_reference = order.payment_id.to_string();
        let amount = RawValue::from_string(to_major_units(order.amount))
            .map_err(|e| GatewayError::Protocol(format!("amount literal: {e}")))?;
        let description = match order.description.trim() {
            "" => format!("Payment {merchant_reference}"),
            text => text.chars().take(MAX_DESCRIPTION_CHARS).collect(),
        };
        let body = SubmitOrderRequest {
            id: merchant_reference.clone(),
            currency: order.amount.currency().code(),
            amount,
            description,
            callback_url: order.callback_url.trim(),
            notification_id,
            billing_address: BillingAddress {
                email_address: email,
                phone_number: phone,
            },
        };
        let endpoint = self.endpoint("Transactions/SubmitOrderRequest");
        let (status, bytes) = self
            .authorized(|token| self.http.post(&endpoint).bearer_auth(token).json(&body))
            .await?;
        let parsed: SubmitOrderResponse = interpret(status, &bytes, "SubmitOrderRequest").inspect_err(|e| {
            tracing::warn!(payment_id = %merchant_reference, error = %e, "Pesapal did not accept the order");
        })?;
        let non_empty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        let (Some(order_tracking_id), Some(redirect_url)) = (
            non_empty(parsed.order_tracking_id),
            non_empty(parsed.redirect_url),
        ) else {
            return Err(GatewayError::Protocol(
                "SubmitOrderRequest answered without order_tracking_id or redirect_url".to_owned(),
            ));
        };
        tracing::info!(payment_id = %merchant_reference, %order_tracking_id, "order submitted to Pesapal");
        Ok(GatewayRedirect {
            order_tracking_id,
            redirect_url,
        })
    }

    async fn transaction_status(&self, order_tracking_id: &str) -> Result<GatewayStatus, GatewayError> {
        self.require_configured()?;
        let tracking_id = order_tracking_id.trim();
        if tracking_id.is_empty() {
            return Err(invalid_request("the order tracking id is empty"));
        }
        let endpoint = self.endpoint("Transactions/GetTransactionStatus");
        let (status, bytes) = self
            .authorized(|token| {
                self.http
                    .get(&endpoint)
                    .query(&[("orderTrackingId", tracking_id)])
                    .bearer_auth(token)
            })
            .await?;
        let value = decode_json(status, &bytes, "GetTransactionStatus")?;
        // A pending payment comes back with an error object ("payment_details_not_found",
        // "Pending Payment") next to status_code 0: when a status is reported, it wins.
        if !reports_payment_status(&value) {
            if let Some(error) = provider_error(&value) {
                tracing::warn!(order_tracking_id = tracking_id, %error, "Pesapal refused the status query");
                return Err(error);
            }
            check_http_status(status, "GetTransactionStatus")?;
            return Err(GatewayError::Protocol(
                "GetTransactionStatus answered without a payment status".to_owned(),
            ));
        }
        let parsed: TransactionStatusResponse = serde_json::from_slice(&bytes)
            .map_err(|e| GatewayError::Protocol(format!("GetTransactionStatus response: {e}")))?;
        let status = map_status(parsed)?;
        tracing::debug!(order_tracking_id = tracking_id, state = ?status.state, "Pesapal transaction status");
        Ok(status)
    }

    async fn request_refund(&self, refund: GatewayRefund) -> Result<(), GatewayError> {
        self.require_configured()?;
        let confirmation_code = refund.confirmation_code.trim();
        if confirmation_code.is_empty() {
            return Err(invalid_request("the payment has no confirmation code to refund"));
        }
        if refund.amount.minor() <= 0 {
            return Err(invalid_request("the refund amount must be positive"));
        }
        let amount = RawValue::from_string(to_major_units(refund.amount))
            .map_err(|e| GatewayError::Protocol(format!("amount literal: {e}")))?;
        let body = RefundRequest {
            confirmation_code,
            amount,
            username: refund.username.trim(),
            remarks: refund.remarks.trim(),
        };
        let endpoint = self.endpoint("Transactions/RefundRequest");
        let (status, bytes) = self
            .authorized(|token| self.http.post(&endpoint).bearer_auth(token).json(&body))
            .await?;
        let value = decode_json(status, &bytes, "RefundRequest")?;
        if let Some(error) = provider_error(&value) {
            tracing::warn!(confirmation_code, %error, "Pesapal refused the refund");
            return Err(error);
        }
        check_http_status(status, "RefundRequest")?;
        // Pesapal answers {"status":"200","message":…}; any other status is a refusal.
        let answered = value.get("status").map(|s| match s {
            Value::String(text) => text.trim().to_owned(),
            other => other.to_string(),
        });
        if answered.as_deref() != Some("200") {
            return Err(GatewayError::Rejected {
                code: "refund_refused".to_owned(),
                message: value
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("Pesapal did not accept the refund request")
                    .to_owned(),
            });
        }
        tracing::info!(confirmation_code, "refund requested from Pesapal");
        Ok(())
    }
}

fn invalid_request(message: &str) -> GatewayError {
    GatewayError::Rejected {
        code: "invalid_request".to_owned(),
        message: message.to_owned(),
    }
}

async fn send(request: RequestBuilder) -> Result<(StatusCode, Vec<u8>), GatewayError> {
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(transport_error)?;
    Ok((status, bytes.to_vec()))
}

fn transport_error(e: reqwest::Error) -> GatewayError {
    if e.is_decode() {
        GatewayError::Protocol(e.to_string())
    } else {
        GatewayError::Unreachable(e.to_string())
    }
}

/// The body as JSON; a non-JSON body is judged by the HTTP status.
fn decode_json(status: StatusCode, bytes: &[u8], call: &str) -> Result<Value, GatewayError> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(_) => {
            check_http_status(status, call)?;
            Err(GatewayError::Protocol(format!(
                "{call} answered HTTP {status} with a non-JSON body"
            )))
        }
    }
}

fn check_http_status(status: StatusCode, call: &str) -> Result<(), GatewayError> {
    if status.is_success() {
        Ok(())
    } else if status.is_server_error() {
        Err(GatewayError::Unreachable(format!(
            "{call} answered HTTP {status}"
        )))
    } else {
        Err(GatewayError::Rejected {
            code: format!("http_{}", status.as_u16()),
            message: format!("{call} answered HTTP {status}"),
        })
    }
}

/// Generic reading of a response: provider error first (Pesapal reports errors with HTTP
/// 200), then the HTTP status, then the expected shape.
fn interpret<T: DeserializeOwned>(status: StatusCode, bytes: &[u8], call: &str) -> Result<T, GatewayError> {
    let value = decode_json(status, bytes, call)?;
    if let Some(error) = provider_error(&value) {
        return Err(error);
    }
    check_http_status(status, call)?;
    serde_json::from_slice(bytes).map_err(|e| GatewayError::Protocol(format!("{call} response: {e}")))
}

/// Pesapal's error convention: a non-empty `error` object, or a `status` field other than
/// a 2xx code. Successful responses carry `"error": null` or an object of nulls.
fn provider_error(body: &Value) -> Option<GatewayError> {
    let object = body.as_object()?;
    let text = |value: Option<&Value>| match value {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let status = text(object.get("status"));
    let top_message = text(object.get("message"));
    match object.get("error") {
        Some(Value::Object(error)) => {
            let code = text(error.get("code")).or_else(|| text(error.get("error_type")));
            let message = text(error.get("message"));
            if code.is_some() || message.is_some() {
                return Some(GatewayError::Rejected {
                    code: code.or(status).unwrap_or_else(|| "error".to_owned()),
                    message: message.or(top_message).unwrap_or_default(),
                });
            }
        }
        Some(Value::String(message)) if !message.trim().is_empty() => {
            return Some(GatewayError::Rejected {
                code: status.unwrap_or_else(|| "error".to_owned()),
                message: message.trim().to_owned(),
            });
        }
        _ => {}
    }
    match status {
        Some(code) if !(code.len() == 3 && code.starts_with('2')) => Some(GatewayError::Rejected {
            code,
            message: top_message.unwrap_or_default(),
        }),
        _ => None,
    }
}

fn reports_payment_status(body: &Value) -> bool {
    let code = body.get("status_code").is_some_and(|v| !v.is_null());
    let description = body
        .get("payment_status_description")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty());
    code || description
}

fn state_from_code(code: i64) -> Option<GatewayPaymentState> {
    match code {
        // INVALID: not paid (yet); the order may still be paid, so keep waiting.
        0 => Some(GatewayPaymentState::Pending),
        1 => Some(GatewayPaymentState::Completed),
        2 => Some(GatewayPaymentState::Failed),
        3 => Some(GatewayPaymentState::Reversed),
        _ => None,
    }
}

fn state_from_description(description: &str) -> Option<GatewayPaymentState> {
    match description.trim().to_ascii_uppercase().as_str() {
        "INVALID" | "PENDING" | "PENDING PAYMENT" => Some(GatewayPaymentState::Pending),
        "COMPLETED" => Some(GatewayPaymentState::Completed),
        "FAILED" => Some(GatewayPaymentState::Failed),
        "REVERSED" => Some(GatewayPaymentState::Reversed),
        _ => None,
    }
}

fn map_status(parsed: TransactionStatusResponse) -> Result<GatewayStatus, GatewayError> {
    let from_code = match parsed.status_code {
        None | Some(Value::Null) => None,
        Some(Value::String(ref s)) if s.trim().is_empty() => None,
        Some(raw) => {
            let code = match &raw {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            let state = code
                .and_then(state_from_code)
                .ok_or_else(|| GatewayError::Protocol(format!("unknown Pesapal status_code {raw}")))?;
            Some(state)
        }
    };
    let description = parsed.payment_status_description.as_deref().unwrap_or("");
    let from_description = state_from_description(description);
    let state = match (from_code, from_description) {
        (Some(by_code), Some(by_description)) => {
            if by_code != by_description {
                tracing::warn!(
                    ?by_code,
                    description,
                    "Pesapal status_code and description disagree; trusting the code"
                );
            }
            by_code
        }
        (Some(by_code), None) => by_code,
        (None, Some(by_description)) => by_description,
        (None, None) => {
            return Err(GatewayError::Protocol(format!(
                "unrecognised Pesapal payment status {description:?}"
            )));
        }
    };

    let settled = matches!(
        state,
        GatewayPaymentState::Completed | GatewayPaymentState::Reversed
    );
    let amount = read_amount(parsed.amount.as_deref(), parsed.currency.as_deref(), settled)?;
    let non_empty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let merchant_reference = match non_empty(parsed.merchant_reference) {
        Some(reference) => reference,
        None if settled => {
            return Err(GatewayError::Protocol(
                "a settled Pesapal transaction without merchant_reference".to_owned(),
            ));
        }
        None => String::new(),
    };
    Ok(GatewayStatus {
        state,
        amount,
        payment_method: non_empty(parsed.payment_method),
        confirmation_code: non_empty(parsed.confirmation_code),
        merchant_reference,
        description: non_empty(parsed.description),
    })
}

/// The paid amount in minor units. For a settled (completed or reversed) payment both
/// amount and currency must be present and exact, since the caller compares them with the
/// payment before acting; for a pending or failed one Pesapal may leave them out, and zero
/// of the reported (or default) currency stands in.
fn read_amount(
    amount: Option<&RawValue>,
    currency: Option<&str>,
    settled: bool,
) -> Result<Money, GatewayError> {
    let currency = match currency.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => match Currency::parse(code) {
            Ok(currency) => Some(currency),
            Err(_) if settled => {
                return Err(GatewayError::Protocol(format!(
                    "unsupported currency {code:?} from Pesapal"
                )));
            }
            Err(_) => None,
        },
        None => None,
    };
    let literal = match amount.map(RawValue::get) {
        None | Some("null") => None,
        Some(quoted) if quoted.starts_with('"') => serde_json::from_str::<String>(quoted)
            .ok()
            .filter(|s| !s.trim().is_empty()),
        Some(number) => Some(number.to_owned()),
    };
    match (currency, literal) {
        (Some(currency), Some(literal)) => from_major_units(&literal, currency)
            .map_err(|e| GatewayError::Protocol(format!("Pesapal amount: {e}"))),
        _ if settled => Err(GatewayError::Protocol(
            "a settled Pesapal transaction without amount or currency".to_owned(),
        )),
        (currency, _) => Ok(Money::zero(currency.unwrap_or_default())),
    }
}

/// How long a token may be used: until the announced expiry, but never longer than the
/// documented five minutes (a skewed clock or odd timestamp must not keep a dead token).
fn token_lifetime(expiry: Option<&str>, now: DateTime<Utc>) -> Duration {
    let Some(expiry) = expiry.and_then(parse_expiry) else {
        return TOKEN_LIFETIME;
    };
    (expiry - now)
        .to_std()
        .unwrap_or(Duration::ZERO)
        .min(TOKEN_LIFETIME)
}

/// `2021-08-26T12:29:30.5177702Z`; a timestamp without offset is taken as UTC.
fn parse_expiry(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn token_lifetime_follows_the_announced_expiry_within_five_minutes() {
        let now = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
        assert_eq!(
            token_lifetime(Some("2025-03-01T12:04:00.5177702Z"), now),
            Duration::from_nanos(240_517_770_200)
        );
        assert_eq!(
            token_lifetime(Some("2025-03-01T12:03:00"), now),
            Duration::from_secs(180)
        );
        assert_eq!(token_lifetime(Some("2025-03-01T15:00:00Z"), now), TOKEN_LIFETIME);
        assert_eq!(token_lifetime(Some("2025-03-01T11:00:00Z"), now), Duration::ZERO);
        assert_eq!(token_lifetime(Some("tomorrow"), now), TOKEN_LIFETIME);
        assert_eq!(token_lifetime(None, now), TOKEN_LIFETIME);
    }

    #[test]
    fn provider_errors_are_recognised_and_empty_error_objects_are_not() {
        let ok = serde_json::json!({
            "token": "t", "error": null, "status": "200", "message": "Request processed successfully"
        });
        assert_eq!(provider_error(&ok), None);
        let nulls = serde_json::json!({
            "error": { "error_type": null, "code": null, "message": null, "call_back_url": null },
            "status": "200"
        });
        assert_eq!(provider_error(&nulls), None);
        let refused = serde_json::json!({
            "error": { "error_type": "api_error", "code": "invalid_consumer_key_or_secret_provided", "message": "" },
            "status": "500"
        });
        assert_eq!(
            provider_error(&refused),
            Some(GatewayError::Rejected {
                code: "invalid_consumer_key_or_secret_provided".to_owned(),
                message: String::new()
            })
        );
        let bare_status = serde_json::json!({ "status": "400", "message": "Bad request" });
        assert_eq!(
            provider_error(&bare_status),
            Some(GatewayError::Rejected {
                code: "400".to_owned(),
                message: "Bad request".to_owned()
            })
        );
        assert_eq!(provider_error(&serde_json::json!([{ "url": "u" }])), None);
    }

    #[test]
    fn descriptions_map_case_insensitively() {
        assert_eq!(
            state_from_description("Completed"),
            Some(GatewayPaymentState::Completed)
        );
        assert_eq!(
            state_from_description("FAILED"),
            Some(GatewayPaymentState::Failed)
        );
        assert_eq!(
            state_from_description("reversed"),
            Some(GatewayPaymentState::Reversed)
        );
        assert_eq!(
            state_from_description("INVALID"),
            Some(GatewayPaymentState::Pending)
        );
        assert_eq!(
            state_from_description("Pending Payment"),
            Some(GatewayPaymentState::Pending)
        );
        assert_eq!(state_from_description("weird"), None);
    }
}
