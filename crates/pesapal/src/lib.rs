//! Pesapal API 3.0: the `PaymentGateway` for mobile money and cards.
//!
//! Flow (spec §6): `submit_order` (merchant reference = our payment id) returns the
//! `redirect_url` shown to the customer; Pesapal then calls our IPN URL with an
//! `IpnNotification` (in `pos_domain::ipn`) that carries ids only, so the handler confirms with
//! `transaction_status` and answers with `IpnNotification::acknowledgement`.
//! Amounts cross the wire as exact decimal literals built with integer maths (`amount`).

mod amount;
mod client;
mod config;
mod ipn;
mod wire;

pub use amount::{AmountError, from_major_units, to_major_units};
pub use client::{PesapalClient, PesapalSetupError};
pub use config::{IpnMethod, PesapalConfig, PesapalEnv};
pub use ipn::{IpnAcknowledgement, IpnNotification, IpnParseError, notification_from_query};
pub use wire::IpnRegistration;
