//! Instant Payment Notifications as Pesapal sends them. The shapes (notification,
//! acknowledgement) live in `pos_domain::ipn`, where the API reads them; here is the GET
//! query string parser.

pub use pos_domain::ipn::{IpnAcknowledgement, IpnNotification, IpnParseError};

/// From a GET query string (`OrderTrackingId=…&OrderMerchantReference=…&OrderNotificationType=…`),
/// with or without the leading `?`, percent-decoded.
pub fn notification_from_query(query: &str) -> Result<IpnNotification, IpnParseError> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let lookup = |key: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    IpnNotification::from_fields(
        lookup("OrderTrackingId"),
        lookup("OrderMerchantReference"),
        lookup("OrderNotificationType"),
    )
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
        let n = notification_from_query(&query).unwrap();
        assert_eq!(n.order_tracking_id, TRACKING);
        assert_eq!(n.order_merchant_reference, REFERENCE);
        assert_eq!(n.order_notification_type, "IPNCHANGE");
        assert_eq!(n.payment_id().map(|p| p.to_string()), Some(REFERENCE.to_owned()));
    }

    #[test]
    fn decodes_percent_encoding_in_query_values() {
        let n = notification_from_query(
            "OrderNotificationType=RECURRING&OrderTrackingId=a%2Db&OrderMerchantReference=ref+1",
        )
        .unwrap();
        assert_eq!(n.order_tracking_id, "a-b");
        assert_eq!(n.order_merchant_reference, "ref 1");
        assert_eq!(n.payment_id(), None);
    }

    #[test]
    fn refuses_incomplete_notifications() {
        assert_eq!(
            notification_from_query("OrderTrackingId=x&OrderNotificationType=IPNCHANGE"),
            Err(IpnParseError::Missing("OrderMerchantReference"))
        );
        // Pesapal's casing only: a snake_case key is not the same field.
        assert_eq!(
            notification_from_query(
                "order_tracking_id=x&OrderMerchantReference=y&OrderNotificationType=IPNCHANGE"
            ),
            Err(IpnParseError::Missing("OrderTrackingId"))
        );
        assert_eq!(
            notification_from_query(
                "OrderTrackingId=%20&OrderMerchantReference=y&OrderNotificationType=IPNCHANGE"
            ),
            Err(IpnParseError::Empty("OrderTrackingId"))
        );
    }
}
