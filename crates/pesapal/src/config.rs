//! How to reach Pesapal and as whom. Credentials are `SecretString`s: their `Debug` prints
//! `[REDACTED]`, so a logged config never leaks them.

use std::time::Duration;

use secrecy::SecretString;

/// Which Pesapal installation to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PesapalEnv {
    #[default]
    Sandbox,
    Live,
}

impl PesapalEnv {
    pub const fn base_url(self) -> &'static str {
        match self {
            PesapalEnv::Sandbox => "https://cybqa.pesapal.com/pesapalv3",
            PesapalEnv::Live => "https://pay.pesapal.com/v3",
        }
    }

    /// `sandbox` or `live`, case-insensitively.
    pub fn parse(raw: &str) -> Option<PesapalEnv> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "sandbox" => Some(PesapalEnv::Sandbox),
            "live" | "production" => Some(PesapalEnv::Live),
            _ => None,
        }
    }
}

/// How Pesapal delivers IPNs to the registered URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpnMethod {
    Get,
    #[default]
    Post,
}

impl IpnMethod {
    pub const fn as_str(self) -> &'static str {
        match self {
            IpnMethod::Get => "GET",
            IpnMethod::Post => "POST",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PesapalConfig {
    /// API root without the `/api` suffix; `PesapalEnv::base_url()` unless a test points it
    /// at a fake.
    pub base_url: String,
    pub consumer_key: SecretString,
    pub consumer_secret: SecretString,
    /// The `notification_id` of every order. When absent it is looked up (or registered)
    /// for `ipn_url` on first use.
    pub ipn_id: Option<String>,
    /// Our public IPN endpoint, e.g. `https://pos.example.com/api/payments/pesapal/ipn`.
    pub ipn_url: Option<String>,
    pub ipn_method: IpnMethod,
    /// Bound on every HTTP exchange with Pesapal, connection included.
    pub request_timeout: Duration,
    /// A token is renewed this long before the expiry Pesapal announced, so a request
    /// never leaves with a token that dies in flight.
    pub token_refresh_margin: Duration,
}

impl PesapalConfig {
    pub fn new(env: PesapalEnv, consumer_key: SecretString, consumer_secret: SecretString) -> Self {
        Self {
            base_url: env.base_url().to_owned(),
            consumer_key,
            consumer_secret,
            ipn_id: None,
            ipn_url: None,
            ipn_method: IpnMethod::default(),
            request_timeout: Duration::from_secs(15),
            token_refresh_margin: Duration::from_secs(60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_credentials() {
        let config = PesapalConfig::new(
            PesapalEnv::Live,
            SecretString::from("key-visible-nowhere"),
            SecretString::from("secret-visible-nowhere"),
        );
        let printed = format!("{config:?}");
        assert!(!printed.contains("visible-nowhere"), "{printed}");
        assert!(printed.contains("https://pay.pesapal.com/v3"));
    }

    #[test]
    fn environments_parse_and_pick_their_base_url() {
        assert_eq!(PesapalEnv::parse(" Sandbox "), Some(PesapalEnv::Sandbox));
        assert_eq!(PesapalEnv::parse("LIVE"), Some(PesapalEnv::Live));
        assert_eq!(PesapalEnv::parse("staging"), None);
        assert_eq!(
            PesapalEnv::Sandbox.base_url(),
            "https://cybqa.pesapal.com/pesapalv3"
        );
    }
}
