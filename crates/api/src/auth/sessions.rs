//! [`AuthConfig`] (what the server configures) and [`Sessions`] (the keys and the little
//! per-process state authentication keeps: the cached PIN pepper and when each terminal was
//! last marked seen). One `Sessions` per process, shared by every worker through `AppState`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use pos_domain::StoreError;
use pos_domain::auth::{AuthStore, LockoutPolicy, Session};
use pos_domain::ids::TerminalId;
use pos_domain::staff::Staff;
use secrecy::SecretString;
use tokio::sync::OnceCell;

use super::token::{IssuedToken, KeyError, TokenKeys};
use crate::error::ApiError;

/// How long a session lasts unless configured otherwise.
pub const DEFAULT_SESSION_TTL_HOURS: i64 = 8;
/// A terminal's `last_seen_at` is written at most this often per process.
pub const TERMINAL_TOUCH_INTERVAL: StdDuration = StdDuration::from_secs(60);

/// Authentication settings. The server fills it from `POS_JWT_SECRET`, `JWT_TTL_HOURS`,
/// `APP_BASE_URL` and `APP_ORIGIN`.
#[derive(Clone)]
pub struct AuthConfig {
    /// HS256 key (at least 16 bytes); also keys the CSRF tokens.
    pub jwt_secret: SecretString,
    /// Session lifetime: the token's `exp` and the cookies' `Max-Age`.
    pub ttl: Duration,
    /// Mark cookies `Secure` (when `APP_BASE_URL` is https).
    pub cookie_secure: bool,
    /// The browser origin (`https://pos.example`) a cookie-authenticated request that
    /// changes data must come from; `None` accepts only the `X-CSRF-Token` header.
    pub app_origin: Option<String>,
    /// Failed logins before a lock, within what window, and for how long.
    pub lockout: LockoutPolicy,
}

impl AuthConfig {
    /// Defaults: 8 h sessions, cookies without `Secure`, no origin, 5 failures in 15 min
    /// lock for 15 min.
    pub fn new(jwt_secret: SecretString) -> Self {
        Self {
            jwt_secret,
            ttl: Duration::hours(DEFAULT_SESSION_TTL_HOURS),
            cookie_secure: false,
            app_origin: None,
            lockout: LockoutPolicy::default(),
        }
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &"***")
            .field("ttl", &self.ttl)
            .field("cookie_secure", &self.cookie_secure)
            .field("app_origin", &self.app_origin)
            .field("lockout", &self.lockout)
            .finish()
    }
}

/// A session just started: its token and the CSRF token that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedSession {
    pub token: IssuedToken,
    pub csrf_token: String,
    pub session: Session,
}

/// Keys and per-process authentication state. Build once with [`Sessions::new`] and share
/// (`Arc`) between workers.
pub struct Sessions {
    config: AuthConfig,
    keys: TokenKeys,
    pepper: OnceCell<Vec<u8>>,
    touched: Mutex<HashMap<TerminalId, Instant>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// `KeyError::SecretTooShort` for a secret under 16 bytes.
    pub fn new(config: AuthConfig) -> Result<Self, KeyError> {
        let keys = TokenKeys::new(&config.jwt_secret)?;
        Ok(Self {
            config,
            keys,
            pepper: OnceCell::new(),
            touched: Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    /// Starts a session for `staff` (optionally on a terminal) at `now`.
    pub fn start(
        &self,
        staff: &Staff,
        terminal_id: Option<TerminalId>,
        now: DateTime<Utc>,
    ) -> Result<StartedSession, ApiError> {
        let session = Session {
            staff_id: staff.id,
            role: staff.role,
            token_version: staff.token_version,
            terminal_id,
            issued_at: now,
            expires_at: now + self.config.ttl,
        };
        let token = self.keys.issue(&session).map_err(ApiError::internal)?;
        let csrf_token = self.keys.csrf_token(&token.jti);
        Ok(StartedSession {
            token,
            csrf_token,
            session,
        })
    }

    /// The venue's PIN pepper, read from the store once per process (it never changes).
    pub async fn pin_pepper(&self, store: &dyn AuthStore) -> Result<&[u8], StoreError> {
        self.pepper
            .get_or_try_init(|| store.pin_pepper())
            .await
            .map(Vec::as_slice)
    }

    /// Whether traffic from `terminal` at `now` should be written to its `last_seen_at`:
    /// true at most once per [`TERMINAL_TOUCH_INTERVAL`] per terminal in this process.
    pub fn should_touch(&self, terminal: TerminalId, now: Instant) -> bool {
        let mut touched = self.touched.lock().unwrap_or_else(PoisonError::into_inner);
        match touched.get(&terminal) {
            Some(last) if now.saturating_duration_since(*last) < TERMINAL_TOUCH_INTERVAL => false,
            _ => {
                touched.insert(terminal, now);
                true
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn sessions() -> Sessions {
        Sessions::new(AuthConfig::new(SecretString::from(
            "test-secret-0123456789abcdef",
        )))
        .unwrap()
    }

    #[test]
    fn terminals_are_touched_at_most_once_a_minute_each() {
        let sessions = sessions();
        let (a, b) = (TerminalId::new(), TerminalId::new());
        let t0 = Instant::now();
        assert!(sessions.should_touch(a, t0));
        assert!(!sessions.should_touch(a, t0 + StdDuration::from_secs(59)));
        assert!(sessions.should_touch(b, t0 + StdDuration::from_secs(1)));
        assert!(sessions.should_touch(a, t0 + StdDuration::from_secs(60)));
        assert!(!sessions.should_touch(a, t0 + StdDuration::from_secs(61)));
    }

    #[test]
    fn the_config_debug_output_hides_the_secret() {
        let config = AuthConfig::new(SecretString::from("test-secret-0123456789abcdef"));
        let shown = format!("{config:?} {:?}", Sessions::new(config.clone()).unwrap());
        assert!(!shown.contains("0123456789"), "{shown}");
        assert_eq!(config.ttl, Duration::hours(8));
    }

    #[test]
    fn sessions_last_the_configured_ttl_and_carry_a_matching_csrf_token() {
        let mut config = AuthConfig::new(SecretString::from("test-secret-0123456789abcdef"));
        config.ttl = Duration::minutes(30);
        let sessions = Sessions::new(config).unwrap();
        let now = Utc::now();
        let staff = Staff {
            id: pos_domain::ids::StaffId::new(),
            username: pos_domain::validate::Username::parse("phiona").unwrap(),
            full_name: pos_domain::validate::PersonName::parse("Phiona").unwrap(),
            role: pos_domain::Role::Cashier,
            active: true,
            must_change_password: false,
            token_version: 7,
            has_pin: false,
            created_at: now,
            updated_at: now,
        };
        let started = sessions.start(&staff, None, now).unwrap();
        assert_eq!(started.session.expires_at, now + Duration::minutes(30));
        assert_eq!(started.session.token_version, 7);
        let verified = sessions.keys().verify(&started.token.token).unwrap();
        assert!(sessions.keys().csrf_matches(&verified.jti, &started.csrf_token));
    }
}
