//! Pesapal API 3.0 request and response bodies, field for field. Responses are lenient
//! (every field optional, unknown fields ignored): what is required is decided where the
//! response is interpreted, with a precise error.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Serialize)]
pub(crate) struct TokenRequest<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
}

#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default, rename = "expiryDate")]
    pub expiry_date: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct RegisterIpnRequest<'a> {
    pub url: &'a str,
    pub ipn_notification_type: &'a str,
}

/// One registered IPN URL (`URLSetup/RegisterIPN`, `URLSetup/GetIpnList`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IpnRegistration {
    pub url: String,
    /// The `notification_id` to submit orders with.
    pub ipn_id: String,
    #[serde(default)]
    pub created_date: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct SubmitOrderRequest<'a> {
    pub id: String,
    pub currency: &'static str,
    /// The exact decimal literal, e.g. `1234.50`.
    pub amount: Box<RawValue>,
    pub description: String,
    pub callback_url: &'a str,
    pub notification_id: String,
    pub billing_address: BillingAddress<'a>,
}

#[derive(Serialize)]
pub(crate) struct RefundRequest<'a> {
    pub confirmation_code: &'a str,
    /// The exact decimal literal, like SubmitOrderRequest's amount.
    pub amount: Box<RawValue>,
    pub username: &'a str,
    pub remarks: &'a str,
}

#[derive(Serialize)]
pub(crate) struct BillingAddress<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<&'a str>,
}

#[derive(Deserialize)]
pub(crate) struct SubmitOrderResponse {
    #[serde(default)]
    pub order_tracking_id: Option<String>,
    #[serde(default)]
    pub redirect_url: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct TransactionStatusResponse {
    #[serde(default)]
    pub payment_method: Option<String>,
    /// Kept as literal JSON text so it can be read with integer maths.
    #[serde(default)]
    pub amount: Option<Box<RawValue>>,
    #[serde(default)]
    pub confirmation_code: Option<String>,
    #[serde(default)]
    pub payment_status_description: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// A number in practice; a numeric string is tolerated.
    #[serde(default)]
    pub status_code: Option<Value>,
    #[serde(default)]
    pub merchant_reference: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
}
