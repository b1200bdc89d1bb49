//! Instant Payment Notifications. An IPN names a transaction and nothing more — no status,
//! no signature — so the handler confirms with `transaction_status` before acting, and
//! answers with the acknowledgement below (HTTP 200; `status: 500` asks Pesapal to retry).

use pos_domain::ids::PaymentId;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

/// Longest id we accept from an unauthenticated caller; Pesapal's are UUIDs and our
/// merchant references are at most 50 characters.
const MAX_FIELD_LEN: usize = 100;

/// What Pesapal sends to the IPN URL, as GET query parameters or a POST JSON body, in
/// Pesapal's own casing (`OrderTrackingId`, …). Deserialize it directly (e.g. with a web
/// framework's query or JSON extractor) and then call `validate`, or use `from_query` /
/// `from_json`, which do both.
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
    /// From a GET query string (`OrderTrackingId=…&OrderMerchantReference=…&OrderNotificationType=…`),
    /// with or without the leading `?`.
    pub fn from_query(query: &str) -> Result<IpnNotification, IpnParseError> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let lookup = |key: &'static str| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
                .ok_or(IpnParseError::Missing(key))
        };
        let notification = IpnNotification {
            order_tracking_id: lookup("OrderTrackingId")?,
            order_merchant_reference: lookup("OrderMerchantReference")?,
            order_notification_type: lookup("OrderNotificationType")?,
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
    fn parses_a_get_notification() {
        let query = format!(
            "?OrderTrackingId={TRACKING}&OrderMerchantReference={REFERENCE}&OrderNotificationType=IPNCHANGE"
        );
        let n = IpnNotification::from_query(&query).unwrap();
        assert_eq!(n.order_tracking_id, TRACKING);
        assert_eq!(n.order_merchant_reference, REFERENCE);
        assert_eq!(n.order_notification_type, "IPNCHANGE");
        assert_eq!(n.payment_id().map(|p| p.to_string()), Some(REFERENCE.to_owned()));
    }

    #[test]
    fn decodes_percent_encoding_in_query_values() {
        let n = IpnNotification::from_query(
            "OrderNotificationType=RECURRING&OrderTrackingId=a%2Db&OrderMerchantReference=ref+1",
        )
        .unwrap();
        assert_eq!(n.order_tracking_id, "a-b");
        assert_eq!(n.order_merchant_reference, "ref 1");
        assert_eq!(n.payment_id(), None);
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
    fn refuses_incomplete_or_oversized_notifications() {
        assert_eq!(
            IpnNotification::from_query("OrderTrackingId=x&OrderNotificationType=IPNCHANGE"),
            Err(IpnParseError::Missing("OrderMerchantReference"))
        );
        // Pesapal's casing only: a snake_case key is not the same field.
        assert_eq!(
            IpnNotification::from_query(
                "order_tracking_id=x&OrderMerchantReference=y&OrderNotificationType=IPNCHANGE"
            ),
            Err(IpnParseError::Missing("OrderTrackingId"))
        );
        assert_eq!(
            IpnNotification::from_query(
                "OrderTrackingId=%20&OrderMerchantReference=y&OrderNotificationType=IPNCHANGE"
            ),
            Err(IpnParseError::Empty("OrderTrackingId"))
        );
        let long = "x".repeat(101);
        assert_eq!(
            IpnNotification::from_query(&format!(
                "OrderTrackingId={long}&OrderMerchantReference=y&OrderNotificationType=IPNCHANGE"
            )),
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
