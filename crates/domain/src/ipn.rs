//! Pesapal's Instant Payment Notifications, as the IPN route reads them and answers them. An
//! IPN names a transaction and nothing more — no status, no signature — so the handler
//! confirms with `PaymentGateway::transaction_status` before acting, and answers with the
//! acknowledgement below (HTTP 200; `status: 500` asks Pesapal to retry). Here rather than in
//! `pos-pesapal` because the API, which may not depend on an adapter, reads them.

use crate::ids::PaymentId;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

/// Longest id we accept from an unauthenticated caller; Pesapal's are UUIDs and our
/// merchant references are at most 50 characters.
const MAX_FIELD_LEN: usize = 100;

/// What Pesapal sends to the IPN URL, as GET query parameters or a POST JSON body, in
/// Pesapal's own casing (`OrderTrackingId`, …). Deserialize it directly and then call
/// `validate`, or use `from_fields` / `from_json`, which do both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpnNotification {
    #[serde(rename = "OrderTrackingId")]
    pub order_tracking_id: String,
    /// Our payment id, as submitted.
    #[serde(rename = "OrderMerchantReference")]
    pub order_merchant_reference: String,
    /// `IPNCHANGE` for a status change, `RECURRING` for subscription charges.
    #[serde(rename = "OrderNotificationType")]
    pub order_notification_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IpnParseError {
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("{0} is longer than {MAX_FIELD_LEN} characters")]
    TooLong(&'static str),
    #[error("malformed notification body: {0}")]
    Malformed(String),
}

impl IpnNotification {
    /// From the three fields as they arrived (a GET's decoded query parameters, say):
    /// a missing one is named.
    pub fn from_fields(
        order_tracking_id: Option<String>,
        order_merchant_reference: Option<String>,
        order_notification_type: Option<String>,
    ) -> Result<IpnNotification, IpnParseError> {
        let notification = IpnNotification {
            order_tracking_id: order_tracking_id.ok_or(IpnParseError::Missing("OrderTrackingId"))?,
            order_merchant_reference: order_merchant_reference
                .ok_or(IpnParseError::Missing("OrderMerchantReference"))?,
            order_notification_type: order_notification_type
                .ok_or(IpnParseError::Missing("OrderNotificationType"))?,
        };
        notification.validate()
    }

    /// From a POST JSON body.
    pub fn from_json(body: &[u8]) -> Result<IpnNotification, IpnParseError> {
        let notification: IpnNotification =
            serde_json::from_slice(body).map_err(|e| IpnParseError::Malformed(e.to_string()))?;
        notification.validate()
    }

    /// Trims the fields and refuses empty or oversized ones.
    pub fn validate(self) -> Result<IpnNotification, IpnParseError> {
        let check = |value: String, field: &'static str| {
            let value = value.trim().to_owned();
            if value.is_empty() {
                Err(IpnParseError::Empty(field))
            } else if value.chars().count() > MAX_FIELD_LEN {
                Err(IpnParseError::TooLong(field))
            } else {
                Ok(value)
            }
        };
        Ok(IpnNotification {
            order_tracking_id: check(self.order_tracking_id, "OrderTrackingId")?,
            order_merchant_reference: check(self.order_merchant_reference, "OrderMerchantReference")?,
            order_notification_type: check(self.order_notification_type, "OrderNotificationType")?,
        })
    }

    /// The payment this notification is about, when the merchant reference is one of our
    /// payment ids.
    pub fn payment_id(&self) -> Option<PaymentId> {
        Uuid::parse_str(&self.order_merchant_reference)
            .ok()
            .map(PaymentId::from_uuid)
    }

    /// The body to answer with: `handled` gives `status: 200`; otherwise `status: 500`,
    /// which makes Pesapal send the notification again later.
    pub fn acknowledgement(&self, handled: bool) -> IpnAcknowledgement {
        IpnAcknowledgement {
            order_notification_type: self.order_notification_type.clone(),
            order_tracking_id: self.order_tracking_id.clone(),
            order_merchant_reference: self.order_merchant_reference.clone(),
            status: if handled { 200 } else { 500 },
        }
    }
}

/// `{"orderNotificationType":…,"orderTrackingId":…,"orderMerchantReference":…,"status":200}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpnAcknowledgement {
    pub order_notification_type: String,
    pub order_tracking_id: String,
    pub order_merchant_reference: String,
    pub status: u16,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const TRACKING: &str = "b945e4af-80a5-4ec1-8706-e03f8332fb04";
    const REFERENCE: &str = "0190f3a4-6a4e-7c39-9d2b-2f1c7b5e8a11";

    #[test]
    fn builds_a_notification_from_its_fields() {
        let n = IpnNotification::from_fields(
            Some(format!(" {TRACKING} ")),
            Some(REFERENCE.to_owned()),
            Some("IPNCHANGE".to_owned()),
        )
        .unwrap();
        assert_eq!(n.order_tracking_id, TRACKING);
        assert_eq!(n.payment_id().map(|p| p.to_string()), Some(REFERENCE.to_owned()));
        assert_eq!(
            IpnNotification::from_fields(Some("x".to_owned()), None, Some("IPNCHANGE".to_owned())),
            Err(IpnParseError::Missing("OrderMerchantReference"))
        );
        assert_eq!(
            IpnNotification::from_fields(
                Some(" ".to_owned()),
                Some("y".to_owned()),
                Some("IPNCHANGE".to_owned())
            ),
            Err(IpnParseError::Empty("OrderTrackingId"))
        );
    }

    #[test]
    fn parses_a_post_notification() {
        let body = format!(
            r#"{{"OrderTrackingId":"{TRACKING}","OrderMerchantReference":"{REFERENCE}","OrderNotificationType":"IPNCHANGE"}}"#
        );
        let n = IpnNotification::from_json(body.as_bytes()).unwrap();
        assert_eq!(n.order_tracking_id, TRACKING);
        assert_eq!(n.order_notification_type, "IPNCHANGE");
    }

    #[test]
    fn refuses_oversized_or_malformed_notifications() {
        let long = "x".repeat(101);
        assert_eq!(
            IpnNotification::from_fields(Some(long), Some("y".to_owned()), Some("IPNCHANGE".to_owned())),
            Err(IpnParseError::TooLong("OrderTrackingId"))
        );
        assert!(matches!(
            IpnNotification::from_json(br#"{"OrderTrackingId":"x"}"#),
            Err(IpnParseError::Malformed(_))
        ));
        assert!(matches!(
            IpnNotification::from_json(b"not json"),
            Err(IpnParseError::Malformed(_))
        ));
    }

    #[test]
    fn acknowledgement_has_pesapals_exact_shape() {
        let n = IpnNotification {
            order_tracking_id: TRACKING.to_owned(),
            order_merchant_reference: REFERENCE.to_owned(),
            order_notification_type: "IPNCHANGE".to_owned(),
        };
        let handled = serde_json::to_value(n.acknowledgement(true)).unwrap();
        assert_eq!(
            handled,
            serde_json::json!({
                "orderNotificationType": "IPNCHANGE",
                "orderTrackingId": TRACKING,
                "orderMerchantReference": REFERENCE,
                "status": 200
            })
        );
        assert_eq!(n.acknowledgement(false).status, 500);
    }
}
