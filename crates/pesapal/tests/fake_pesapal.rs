//! `PesapalClient` against the fake Pesapal of `pos-testkit`: real HTTP, the API 3.0 JSON
//! (HTTP 200 with an `error` object for failures, five-minute tokens with an `expiryDate`,
//! bearer authentication on everything but the token call), recording what the client sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use pos_domain::error::GatewayError;
use pos_domain::ids::PaymentId;
use pos_domain::money::{Currency, Money};
use pos_domain::ports::{GatewayOrder, GatewayPaymentState, GatewayRefund, PaymentGateway};
use pos_pesapal::{IpnMethod, PesapalClient, PesapalConfig, PesapalEnv};
use pos_testkit::pesapal::{FakePesapal, KEY, PRESET_IPN_ID, PRESET_IPN_URL, SECRET};
use secrecy::SecretString;
use serde_json::{Value, json};

struct Running {
    fake: FakePesapal,
}

impl Running {
    async fn start() -> Running {
        Running {
            fake: FakePesapal::start(),
        }
    }

    fn config(&self) -> PesapalConfig {
        let mut config = PesapalConfig::new(
            PesapalEnv::Sandbox,
            SecretString::from(KEY),
            SecretString::from(SECRET),
        );
        config.base_url = self.fake.base_url().to_owned();
        config.ipn_id = Some(PRESET_IPN_ID.to_owned());
        config
    }

    fn client(&self) -> PesapalClient {
        PesapalClient::new(self.config()).unwrap()
    }

    async fn stop(self) {
        drop(self.fake);
    }
}

fn order(minor: i64, currency: Currency) -> GatewayOrder {
    GatewayOrder {
        payment_id: PaymentId::new(),
        amount: Money::new(minor, currency),
        description: "Table 4 - order 17".to_owned(),
        callback_url: "https://pos.example/pay/done".to_owned(),
        customer_phone: Some("+256700000001".to_owned()),
        customer_email: None,
    }
}

const COMPLETED_KES: &str = r#"{
    "payment_method": "MpesaKE", "amount": 1234.50, "created_date": "2025-03-01T12:01:09.763",
    "confirmation_code": "SGH7YT12", "payment_status_description": "Completed",
    "description": "Transaction completed", "message": "Request processed successfully",
    "payment_account": "2547xxx73984", "call_back_url": "https://pos.example/pay/done?OrderTrackingId=trk-1",
    "status_code": 1, "merchant_reference": "REF-1", "payment_status_code": "", "currency": "KES",
    "error": { "error_type": null, "code": null, "message": null, "call_back_url": null }, "status": "200"
}"#;

#[actix_web::test]
async fn submits_an_order_with_a_bearer_token_and_the_exact_ugx_amount() {
    let server = Running::start().await;
    let client = server.client();
    let order = order(30_000, Currency::Ugx);
    let payment_id = order.payment_id.to_string();

    let redirect = client.submit_order(order).await.unwrap();

    assert_eq!(redirect.order_tracking_id, "trk-1");
    assert!(
        redirect.redirect_url.ends_with("OrderTrackingId=trk-1"),
        "{}",
        redirect.redirect_url
    );
    assert_eq!(server.fake.auth_headers("SubmitOrderRequest"), ["Bearer tok-1"]);
    let raw = server.fake.state().orders[0].clone();
    assert!(raw.contains(r#""amount":30000,"#), "{raw}");
    let sent: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(sent["id"], payment_id.as_str());
    assert_eq!(sent["currency"], "UGX");
    assert_eq!(sent["notification_id"], PRESET_IPN_ID);
    assert_eq!(sent["callback_url"], "https://pos.example/pay/done");
    assert_eq!(sent["description"], "Table 4 - order 17");
    assert_eq!(sent["billing_address"]["phone_number"], "+256700000001");
    server.stop().await;
}

#[actix_web::test]
async fn two_decimal_currencies_are_sent_as_exact_decimal_literals() {
    let server = Running::start().await;
    let client = server.client();

    client.submit_order(order(123_450, Currency::Kes)).await.unwrap();
    let mut cents = order(5, Currency::Usd);
    cents.customer_phone = None;
    cents.customer_email = Some("guest@example.com".to_owned());
    cents.description = "x".repeat(150);
    client.submit_order(cents).await.unwrap();

    let orders = server.fake.state().orders.clone();
    assert!(
        orders[0].contains(r#""currency":"KES","amount":1234.50,"#),
        "{}",
        orders[0]
    );
    assert!(
        orders[1].contains(r#""currency":"USD","amount":0.05,"#),
        "{}",
        orders[1]
    );
    let second: Value = serde_json::from_str(&orders[1]).unwrap();
    assert_eq!(
        second["billing_address"],
        json!({ "email_address": "guest@example.com" })
    );
    assert_eq!(second["description"].as_str().unwrap().chars().count(), 100);
    server.stop().await;
}

#[actix_web::test]
async fn a_valid_token_is_reused() {
    let server = Running::start().await;
    server.fake.set_status("trk-known", COMPLETED_KES);
    let client = server.client();

    client.transaction_status("trk-known").await.unwrap();
    client.transaction_status("trk-known").await.unwrap();
    client.submit_order(order(30_000, Currency::Ugx)).await.unwrap();

    assert_eq!(server.fake.token_requests(), 1);
    assert_eq!(
        server.fake.auth_headers("GetTransactionStatus"),
        ["Bearer tok-1", "Bearer tok-1"]
    );
    assert_eq!(server.fake.auth_headers("SubmitOrderRequest"), ["Bearer tok-1"]);
    server.stop().await;
}

#[actix_web::test]
async fn a_token_expiring_within_the_margin_is_renewed_before_use() {
    let server = Running::start().await;
    server.fake.set_status("trk-known", COMPLETED_KES);
    // Thirty seconds left is inside the default sixty-second margin.
    server.fake.state().token_ttl = chrono::Duration::seconds(30);
    let client = server.client();

    client.transaction_status("trk-known").await.unwrap();
    client.transaction_status("trk-known").await.unwrap();

    assert_eq!(server.fake.token_requests(), 2);
    assert_eq!(
        server.fake.auth_headers("GetTransactionStatus"),
        ["Bearer tok-1", "Bearer tok-2"]
    );

    // Without a margin the same token is good for its thirty seconds.
    let mut config = server.config();
    config.token_refresh_margin = Duration::ZERO;
    let relaxed = PesapalClient::new(config).unwrap();
    relaxed.transaction_status("trk-known").await.unwrap();
    relaxed.transaction_status("trk-known").await.unwrap();
    assert_eq!(server.fake.token_requests(), 3);
    server.stop().await;
}

#[actix_web::test]
async fn an_expired_token_is_replaced() {
    let server = Running::start().await;
    server.fake.set_status("trk-known", COMPLETED_KES);
    server.fake.state().token_ttl = chrono::Duration::milliseconds(1500);
    let mut config = server.config();
    config.token_refresh_margin = Duration::from_millis(500);
    let client = PesapalClient::new(config).unwrap();

    client.transaction_status("trk-known").await.unwrap();
    client.transaction_status("trk-known").await.unwrap();
    assert_eq!(server.fake.token_requests(), 1);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.transaction_status("trk-known").await.unwrap();
    assert_eq!(server.fake.token_requests(), 2);
    assert_eq!(
        server.fake.auth_headers("GetTransactionStatus"),
        ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    );
    server.stop().await;
}

#[actix_web::test]
async fn concurrent_callers_wait_for_a_single_token_request() {
    let server = Running::start().await;
    server.fake.set_status("trk-known", COMPLETED_KES);
    server.fake.state().token_delay = Duration::from_millis(200);
    let client = Arc::new(server.client());

    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.transaction_status("trk-known").await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }

    assert_eq!(server.fake.token_requests(), 1);
    assert_eq!(
        server.fake.auth_headers("GetTransactionStatus"),
        vec!["Bearer tok-1"; 8]
    );
    server.stop().await;
}

#[actix_web::test]
async fn a_token_pesapal_rejects_is_replaced_once() {
    let server = Running::start().await;
    server.fake.set_status("trk-known", COMPLETED_KES);
    let client = server.client();
    client.transaction_status("trk-known").await.unwrap();

    server.fake.state().revoked.push("tok-1".to_owned());
    client.transaction_status("trk-known").await.unwrap();
    assert_eq!(server.fake.token_requests(), 2);
    assert_eq!(
        server.fake.auth_headers("GetTransactionStatus"),
        ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    );

    // When every token is refused the client gives up after one retry.
    server.fake.state().reject_every_token = true;
    let result = client.transaction_status("trk-known").await;
    assert!(
        matches!(&result, Err(GatewayError::Rejected { code, .. }) if code == "http_401"),
        "{result:?}"
    );
    assert_eq!(server.fake.token_requests(), 3);
    server.stop().await;
}

#[actix_web::test]
async fn every_status_code_maps_to_its_state_with_the_amount_in_minor_units() {
    let server = Running::start().await;
    server.fake.set_status("trk-completed", COMPLETED_KES);
    // A pending payment: Pesapal reports status_code 0 next to an error object.
    server.fake.set_status(
        "trk-pending",
        r#"{"payment_method": "", "amount": 30000, "created_date": "2025-03-01T12:01:09.763",
            "confirmation_code": "", "payment_status_description": "INVALID", "description": null,
            "message": "Request processed successfully", "payment_account": "", "call_back_url": "",
            "status_code": 0, "merchant_reference": "REF-0", "payment_status_code": "", "currency": "UGX",
            "error": {"error_type": "api_error", "code": "payment_details_not_found", "message": "Pending Payment", "call_back_url": ""},
            "status": "500"}"#,
    );
    server.fake.set_status(
        "trk-failed",
        r#"{"payment_method": "Visa", "amount": 30000.0, "confirmation_code": "",
            "payment_status_description": "Failed", "description": "Unable to Authorize Transaction",
            "status_code": 2, "merchant_reference": "REF-2", "currency": "UGX", "error": null, "status": "200"}"#,
    );
    server.fake.set_status(
        "trk-reversed",
        r#"{"payment_method": "MTN", "amount": "30000", "confirmation_code": "MTN-77",
            "payment_status_description": "Reversed", "description": "",
            "status_code": 3, "merchant_reference": "REF-3", "currency": "ugx", "error": null, "status": "200"}"#,
    );
    server.fake.set_status(
        "trk-description-only",
        r#"{"amount": 10.5, "payment_status_description": "COMPLETED", "merchant_reference": "REF-4",
            "currency": "USD", "status": "200"}"#,
    );
    let client = server.client();

    let completed = client.transaction_status("trk-completed").await.unwrap();
    assert_eq!(completed.state, GatewayPaymentState::Completed);
    assert_eq!(completed.amount, Money::new(123_450, Currency::Kes));
    assert_eq!(completed.payment_method.as_deref(), Some("MpesaKE"));
    assert_eq!(completed.confirmation_code.as_deref(), Some("SGH7YT12"));
    assert_eq!(completed.merchant_reference, "REF-1");
    assert_eq!(completed.description.as_deref(), Some("Transaction completed"));

    let pending = client.transaction_status("trk-pending").await.unwrap();
    assert_eq!(pending.state, GatewayPaymentState::Pending);
    assert_eq!(pending.amount, Money::new(30_000, Currency::Ugx));
    assert_eq!(pending.payment_method, None);
    assert_eq!(pending.confirmation_code, None);

    let failed = client.transaction_status("trk-failed").await.unwrap();
    assert_eq!(failed.state, GatewayPaymentState::Failed);
    assert_eq!(failed.amount, Money::new(30_000, Currency::Ugx));

    let reversed = client.transaction_status("trk-reversed").await.unwrap();
    assert_eq!(reversed.state, GatewayPaymentState::Reversed);
    assert_eq!(reversed.amount, Money::new(30_000, Currency::Ugx));
    assert_eq!(reversed.description, None);

    let by_description = client.transaction_status("trk-description-only").await.unwrap();
    assert_eq!(by_description.state, GatewayPaymentState::Completed);
    assert_eq!(by_description.amount, Money::new(1_050, Currency::Usd));

    let query_auth = server.fake.auth_headers("GetTransactionStatus");
    assert!(query_auth.iter().all(|a| a == "Bearer tok-1"), "{query_auth:?}");
    server.stop().await;
}

#[actix_web::test]
async fn unusable_status_answers_are_protocol_errors() {
    let server = Running::start().await;
    server.fake.set_status(
        "trk-too-precise",
        r#"{"amount": 1234.505, "payment_status_description": "Completed", "status_code": 1,
            "merchant_reference": "R", "currency": "KES", "error": null, "status": "200"}"#,
    );
    server.fake.set_status(
        "trk-unknown-code",
        r#"{"amount": 1, "payment_status_description": "Mystery", "status_code": 7,
            "merchant_reference": "R", "currency": "KES", "error": null, "status": "200"}"#,
    );
    server.fake.set_status(
        "trk-no-currency",
        r#"{"amount": 1, "payment_status_description": "Completed", "status_code": 1,
            "merchant_reference": "R", "currency": "", "error": null, "status": "200"}"#,
    );
    server.fake.set_status(
        "trk-foreign-currency",
        r#"{"amount": 1, "payment_status_description": "Completed", "status_code": 1,
            "merchant_reference": "R", "currency": "XYZ", "error": null, "status": "200"}"#,
    );
    let client = server.client();

    server
        .fake
        .set_status_answer("html-page", 200, "text/html", "<html>maintenance</html>");
    for tracking in [
        "trk-too-precise",
        "trk-unknown-code",
        "trk-no-currency",
        "trk-foreign-currency",
        "html-page",
    ] {
        let result = client.transaction_status(tracking).await;
        assert!(
            matches!(result, Err(GatewayError::Protocol(_))),
            "{tracking}: {result:?}"
        );
    }
    server.stop().await;
}

#[actix_web::test]
async fn provider_error_objects_are_rejections() {
    let server = Running::start().await;
    let client = server.client();

    // Unknown tracking id: an error object and no payment status.
    let result = client.transaction_status("trk-nobody-knows").await;
    assert_eq!(
        result,
        Err(GatewayError::Rejected {
            code: "invalid_order_tracking_id".to_owned(),
            message: "Order not found".to_owned()
        })
    );

    server.fake.state().order_answer = Some(json!({
        "order_tracking_id": null, "merchant_reference": null, "redirect_url": null,
        "error": { "error_type": "api_error", "code": "invalid_amount", "message": "Amount exceeds the limit" },
        "status": "500"
    }));
    let result = client.submit_order(order(30_000, Currency::Ugx)).await;
    assert_eq!(
        result,
        Err(GatewayError::Rejected {
            code: "invalid_amount".to_owned(),
            message: "Amount exceeds the limit".to_owned()
        })
    );

    // An answer without the error object but with a failing status is refused as well.
    server.fake.state().order_answer = Some(json!({ "status": "400", "message": "Bad request" }));
    let result = client.submit_order(order(30_000, Currency::Ugx)).await;
    assert!(
        matches!(&result, Err(GatewayError::Rejected { code, .. }) if code == "400"),
        "{result:?}"
    );
    server.stop().await;
}

#[actix_web::test]
async fn wrong_credentials_are_a_rejection() {
    let server = Running::start().await;
    let mut config = server.config();
    config.consumer_secret = SecretString::from("not-the-secret");
    let client = PesapalClient::new(config).unwrap();

    let result = client.transaction_status("trk-1").await;
    assert!(
        matches!(&result, Err(GatewayError::Rejected { code, .. }) if code == "invalid_consumer_key_or_secret_provided"),
        "{result:?}"
    );
    // The secret never appears in what the caller might log.
    assert!(!format!("{result:?} {client:?}").contains("not-the-secret"));
    server.stop().await;
}

#[actix_web::test]
async fn a_slow_provider_times_out_as_unreachable() {
    let server = Running::start().await;
    server.fake.set_status("trk-known", COMPLETED_KES);
    server.fake.state().delay = Duration::from_secs(3);
    let mut config = server.config();
    config.request_timeout = Duration::from_millis(300);
    let client = PesapalClient::new(config).unwrap();

    let started = Instant::now();
    let result = client.transaction_status("trk-known").await;
    assert!(matches!(result, Err(GatewayError::Unreachable(_))), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "took {:?}",
        started.elapsed()
    );
    server.stop().await;
}

#[actix_web::test]
async fn no_server_or_a_bad_gateway_is_unreachable() {
    let mut config = PesapalConfig::new(
        PesapalEnv::Sandbox,
        SecretString::from(KEY),
        SecretString::from(SECRET),
    );
    config.base_url = "http://127.0.0.1:1/pesapalv3".to_owned();
    config.ipn_id = Some(PRESET_IPN_ID.to_owned());
    let nowhere = PesapalClient::new(config).unwrap();
    let result = nowhere.submit_order(order(30_000, Currency::Ugx)).await;
    assert!(matches!(result, Err(GatewayError::Unreachable(_))), "{result:?}");

    let server = Running::start().await;
    server
        .fake
        .set_status_answer("bad-gateway", 502, "text/plain", "upstream down");
    let result = server.client().transaction_status("bad-gateway").await;
    assert!(matches!(result, Err(GatewayError::Unreachable(_))), "{result:?}");
    server.stop().await;
}

#[actix_web::test]
async fn without_credentials_nothing_is_sent() {
    let server = Running::start().await;
    let mut config = server.config();
    config.consumer_key = SecretString::from("");
    let client = PesapalClient::new(config).unwrap();
    assert!(!client.is_configured());

    assert_eq!(
        client.submit_order(order(30_000, Currency::Ugx)).await,
        Err(GatewayError::NotConfigured)
    );
    assert_eq!(
        client.transaction_status("trk-1").await,
        Err(GatewayError::NotConfigured)
    );
    assert_eq!(server.fake.token_requests(), 0);
    server.stop().await;
}

#[actix_web::test]
async fn invalid_orders_are_refused_before_calling_pesapal() {
    let server = Running::start().await;
    let client = server.client();

    let mut anonymous = order(30_000, Currency::Ugx);
    anonymous.customer_phone = Some("  ".to_owned());
    let zero = order(0, Currency::Ugx);
    for invalid in [anonymous, zero] {
        let result = client.submit_order(invalid).await;
        assert!(
            matches!(&result, Err(GatewayError::Rejected { code, .. }) if code == "invalid_request"),
            "{result:?}"
        );
    }
    assert_eq!(server.fake.token_requests(), 0);
    assert!(server.fake.state().orders.is_empty());
    server.stop().await;
}

#[actix_web::test]
async fn the_ipn_url_is_registered_once_and_then_reused() {
    let server = Running::start().await;
    let new_url = "https://pos.example/api/payments/pesapal/ipn-v2";
    let mut config = server.config();
    config.ipn_id = None;
    config.ipn_url = Some(new_url.to_owned());
    config.ipn_method = IpnMethod::Get;

    let first = PesapalClient::new(config.clone()).unwrap();
    first.submit_order(order(30_000, Currency::Ugx)).await.unwrap();
    first.submit_order(order(30_000, Currency::Ugx)).await.unwrap();
    // A restarted instance finds the registration in GetIpnList instead of adding another.
    let second = PesapalClient::new(config).unwrap();
    assert_eq!(second.ensure_ipn_id().await.unwrap(), "ipn-1");
    second.submit_order(order(30_000, Currency::Ugx)).await.unwrap();

    {
        let state = server.fake.state();
        assert_eq!(state.registrations, 1);
        assert!(
            state
                .ipns
                .contains(&(new_url.to_owned(), "ipn-1".to_owned(), "GET".to_owned()))
        );
        assert_eq!(state.orders.len(), 3);
        for raw in &state.orders {
            let sent: Value = serde_json::from_str(raw).unwrap();
            assert_eq!(sent["notification_id"], "ipn-1");
        }
    }
    server.stop().await;
}

#[actix_web::test]
async fn an_already_registered_url_is_found_without_registering() {
    let server = Running::start().await;
    let mut config = server.config();
    config.ipn_id = None;
    config.ipn_url = Some(PRESET_IPN_URL.to_owned());
    let client = PesapalClient::new(config).unwrap();

    assert_eq!(client.ensure_ipn_id().await.unwrap(), PRESET_IPN_ID);
    assert_eq!(server.fake.state().registrations, 0);

    let registered = client.register_ipn("https://other.example/ipn").await.unwrap();
    assert_eq!(registered.ipn_id, "ipn-1");
    assert_eq!(registered.url, "https://other.example/ipn");
    let listed = client.ipn_list().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .any(|r| r.ipn_id == "ipn-1" && r.url == "https://other.example/ipn")
    );
    server.stop().await;
}

#[actix_web::test]
async fn without_an_ipn_id_or_url_orders_cannot_be_submitted() {
    let server = Running::start().await;
    let mut config = server.config();
    config.ipn_id = None;
    let client = PesapalClient::new(config).unwrap();
    assert_eq!(
        client.submit_order(order(30_000, Currency::Ugx)).await,
        Err(GatewayError::NotConfigured)
    );
    assert!(server.fake.state().orders.is_empty());
    server.stop().await;
}

#[test]
fn a_base_url_that_is_not_http_is_refused() {
    for bad in ["", "pay.pesapal.com/v3", "ftp://pay.pesapal.com/v3", "mailto:x@y"] {
        let mut config = PesapalConfig::new(
            PesapalEnv::Live,
            SecretString::from(KEY),
            SecretString::from(SECRET),
        );
        config.base_url = bad.to_owned();
        assert!(PesapalClient::new(config).is_err(), "{bad:?}");
    }
}

fn refund(confirmation_code: &str, minor: i64, currency: Currency) -> GatewayRefund {
    GatewayRefund {
        confirmation_code: confirmation_code.to_owned(),
        amount: Money::new(minor, currency),
        username: "linus".to_owned(),
        remarks: "Customer returned the dish".to_owned(),
    }
}

#[actix_web::test]
async fn a_completed_mobile_money_payment_is_refunded_in_full_once() {
    let server = Running::start().await;
    let client = server.client();
    let redirect = client.submit_order(order(30_000, Currency::Ugx)).await.unwrap();
    server.fake.complete(&redirect.order_tracking_id);
    let status = client
        .transaction_status(&redirect.order_tracking_id)
        .await
        .unwrap();
    assert_eq!(status.state, GatewayPaymentState::Completed);
    let code = status.confirmation_code.unwrap();

    // Mobile money: a part is refused by Pesapal (HTTP 200, status 500).
    let partial = client.request_refund(refund(&code, 10_000, Currency::Ugx)).await;
    assert!(
        matches!(&partial, Err(GatewayError::Rejected { code, .. }) if code == "500"),
        "{partial:?}"
    );
    client
        .request_refund(refund(&code, 30_000, Currency::Ugx))
        .await
        .unwrap();
    // One refund per payment.
    let again = client.request_refund(refund(&code, 30_000, Currency::Ugx)).await;
    assert!(matches!(again, Err(GatewayError::Rejected { .. })), "{again:?}");

    let refunds = server.fake.state().refunds.clone();
    assert_eq!(refunds.len(), 3);
    assert_eq!(refunds[1].amount, "30000");
    assert_eq!(refunds[1].confirmation_code, code);
    assert_eq!(refunds[1].username, "linus");
    assert!(refunds[1].accepted);
    assert!(!refunds[0].accepted && !refunds[2].accepted);
    let bearer = server.fake.auth_headers("RefundRequest");
    assert!(bearer.iter().all(|b| b == "Bearer tok-1"), "{bearer:?}");
    server.stop().await;
}

#[actix_web::test]
async fn a_card_payment_is_refunded_in_part_with_an_exact_decimal_amount() {
    let server = Running::start().await;
    let client = server.client();
    let redirect = client.submit_order(order(123_450, Currency::Kes)).await.unwrap();
    server.fake.complete_by_card(&redirect.order_tracking_id);
    let code = server
        .fake
        .confirmation_code(&redirect.order_tracking_id)
        .unwrap();

    client
        .request_refund(refund(&code, 50_005, Currency::Kes))
        .await
        .unwrap();
    assert_eq!(server.fake.state().refunds[0].amount, "500.05");

    // Bad input never reaches Pesapal.
    for bad in [refund("", 100, Currency::Kes), refund(&code, 0, Currency::Kes)] {
        let result = client.request_refund(bad).await;
        assert!(
            matches!(&result, Err(GatewayError::Rejected { code, .. }) if code == "invalid_request"),
            "{result:?}"
        );
    }
    let unknown = client
        .request_refund(refund("NO-SUCH-CODE", 100, Currency::Kes))
        .await;
    assert!(
        matches!(unknown, Err(GatewayError::Rejected { .. })),
        "{unknown:?}"
    );
    assert_eq!(server.fake.state().refunds.len(), 2);
    server.stop().await;
}
