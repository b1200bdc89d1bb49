//! Session tokens: HS256 JWTs carrying what `pos_domain::auth::Session` asserts.
//!
//! Claims: `sub` (staff id), `role`, `ver` (token version), `term` (terminal id, PIN
//! logins), `iat`, `exp` (seconds since the epoch) and `jti` (random; also keys the CSRF
//! token). Decoding accepts HS256 only: `alg: none`, any other algorithm, another key, a
//! touched payload, an expired or malformed token are all [`TokenError::Invalid`] or
//! [`TokenError::Expired`]. Whether the staff member still accepts the token (version,
//! active) is the domain's `Session::check`, done by the extractor.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use pos_domain::auth::Session;
use pos_domain::ids::{StaffId, TerminalId};
use pos_domain::permissions::Role;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

/// Shortest secret accepted (the server refuses to start with less, too).
pub const MIN_SECRET_LEN: usize = 16;
/// Longest token we attempt to decode: bounded work for garbage input. Ours are ~350 bytes.
pub const MAX_TOKEN_LEN: usize = 4096;
/// Clock skew tolerated on `exp` between instances.
pub const LEEWAY_SECS: u64 = 5;

/// The JWT payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: Role,
    pub ver: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<Uuid>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// A token that passed signature, algorithm and expiry checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub session: Session,
    pub jti: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the session has expired")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the JWT secret must be at least {MIN_SECRET_LEN} bytes")]
    SecretTooShort,
}

/// A freshly signed token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub jti: String,
    pub expires_at: DateTime<Utc>,
}

/// Signing and verifying keys derived from the one secret.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    csrf: Hmac<Sha256>,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(HS256, ***)")
    }
}

impl TokenKeys {
    pub fn new(secret: &SecretString) -> Result<Self, KeyError> {
        let bytes = secret.expose_secret().as_bytes();
        if bytes.len() < MIN_SECRET_LEN {
            return Err(KeyError::SecretTooShort);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        // The CSRF key is derived, not the JWT key itself, so one never signs for the other.
        let mut derive =
            <Hmac<Sha256> as Mac>::new_from_slice(bytes).map_err(|_| KeyError::SecretTooShort)?;
        derive.update(b"pos csrf key v1");
        let csrf_key = derive.finalize().into_bytes();
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            csrf: <Hmac<Sha256> as Mac>::new_from_slice(&csrf_key).map_err(|_| KeyError::SecretTooShort)?,
            validation,
        })
    }

    /// Signs a token for `session` with a fresh `jti`.
    pub fn issue(&self, session: &Session) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
        let jti = Uuid::new_v4().simple().to_string();
        let claims = Claims {
            sub: session.staff_id.as_uuid(),
            role: session.role,
            ver: session.token_version,
            term: session.terminal_id.map(|t| t.as_uuid()),
            iat: session.issued_at.timestamp(),
            exp: session.expires_at.timestamp(),
            jti: jti.clone(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(IssuedToken {
            token,
            jti,
            expires_at: session.expires_at,
        })
    }

    /// Verifies signature, algorithm (HS256 only) and expiry.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            }
        })?;
        let claims = data.claims;
        let issued_at = DateTime::from_timestamp(claims.iat, 0).ok_or(TokenError::Invalid)?;
        let expires_at = DateTime::from_timestamp(claims.exp, 0).ok_or(TokenError::Invalid)?;
        if claims.jti.is_empty() || claims.jti.len() > 64 {
            return Err(TokenError::Invalid);
        }
        Ok(VerifiedToken {
            session: Session {
                staff_id: StaffId::from_uuid(claims.sub),
                role: claims.role,
                token_version: claims.ver,
                terminal_id: claims.term.map(TerminalId::from_uuid),
                issued_at,
                expires_at,
            },
            jti: claims.jti,
        })
    }

    /// The CSRF token of the session whose token has this `jti`: a keyed digest, so only
    /// someone who can read the session's `pos_csrf` cookie (same origin) can send it.
    pub fn csrf_token(&self, jti: &str) -> String {
        let mut mac = self.csrf.clone();
        mac.update(jti.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Constant-time check of a presented CSRF token.
    pub fn csrf_matches(&self, jti: &str, presented: &str) -> bool {
        let Ok(bytes) = hex::decode(presented.trim()) else {
            return false;
        };
        let mut mac = self.csrf.clone();
        mac.update(jti.as_bytes());
        mac.verify_slice(&bytes).is_ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::Duration;

    const SECRET: &str = "test-secret-0123456789abcdef";

    fn keys() -> TokenKeys {
        TokenKeys::new(&SecretString::from(SECRET)).unwrap()
    }

    fn session(expires_in: Duration) -> Session {
        let now = Utc::now();
        Session {
            staff_id: StaffId::new(),
            role: Role::Cashier,
            token_version: 3,
            terminal_id: Some(TerminalId::new()),
            issued_at: now,
            expires_at: now + expires_in,
        }
    }

    fn b64(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    fn claims_json(session: &Session) -> serde_json::Value {
        serde_json::json!({
            "sub": session.staff_id,
            "role": "admin",
            "ver": session.token_version,
            "iat": session.issued_at.timestamp(),
            "exp": session.expires_at.timestamp(),
            "jti": "abc",
        })
    }

    fn hmac_sign<D: Mac + hmac::digest::KeyInit>(key: &[u8], message: &str) -> String {
        let mut mac = <D as hmac::digest::KeyInit>::new_from_slice(key).unwrap();
        mac.update(message.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn a_token_round_trips_to_the_same_session() {
        let keys = keys();
        let session = session(Duration::hours(8));
        let issued = keys.issue(&session).unwrap();
        let verified = keys.verify(&issued.token).unwrap();
        let mut expected = session;
        // Seconds precision on the wire.
        expected.issued_at = DateTime::from_timestamp(session.issued_at.timestamp(), 0).unwrap();
        expected.expires_at = DateTime::from_timestamp(session.expires_at.timestamp(), 0).unwrap();
        assert_eq!(verified.session, expected);
        assert_eq!(verified.jti, issued.jti);
        assert_ne!(
            keys.issue(&session).unwrap().jti,
            issued.jti,
            "jti is fresh each time"
        );
    }

    #[test]
    fn the_header_is_hs256_and_claims_are_the_documented_ones() {
        let issued = keys().issue(&session(Duration::hours(1))).unwrap();
        let parts: Vec<&str> = issued.token.split('.').collect();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "HS256");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let mut names: Vec<&str> = claims.as_object().unwrap().keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["exp", "iat", "jti", "role", "sub", "term", "ver"]);
        assert_eq!(claims["role"], "cashier");
    }

    #[test]
    fn alg_none_is_refused() {
        let keys = keys();
        let claims = claims_json(&session(Duration::hours(1)));
        for alg in ["none", "None", "NONE"] {
            let header = b64(&serde_json::json!({"alg": alg, "typ": "JWT"}));
            for token in [
                format!("{header}.{}.", b64(&claims)),
                format!("{header}.{}", b64(&claims)),
            ] {
                assert_eq!(keys.verify(&token), Err(TokenError::Invalid), "{token}");
            }
        }
    }

    #[test]
    fn other_algorithms_are_refused_even_with_the_right_key() {
        let keys = keys();
        let claims = b64(&claims_json(&session(Duration::hours(1))));
        // HS512 and HS384 with our own secret: a valid MAC, but not the algorithm we accept.
        let header = b64(&serde_json::json!({"alg": "HS512", "typ": "JWT"}));
        let message = format!("{header}.{claims}");
        let token = format!(
            "{message}.{}",
            hmac_sign::<Hmac<sha2::Sha512>>(SECRET.as_bytes(), &message)
        );
        assert_eq!(keys.verify(&token), Err(TokenError::Invalid));
        let header = b64(&serde_json::json!({"alg": "HS384", "typ": "JWT"}));
        let message = format!("{header}.{claims}");
        let token = format!(
            "{message}.{}",
            hmac_sign::<Hmac<sha2::Sha384>>(SECRET.as_bytes(), &message)
        );
        assert_eq!(keys.verify(&token), Err(TokenError::Invalid));
        // RS256/ES256 headers over an HMAC (the classic key-confusion attack).
        for alg in ["RS256", "ES256", "PS256", "EdDSA"] {
            let header = b64(&serde_json::json!({"alg": alg, "typ": "JWT"}));
            let message = format!("{header}.{claims}");
            let token = format!(
                "{message}.{}",
                hmac_sign::<Hmac<Sha256>>(SECRET.as_bytes(), &message)
            );
            assert_eq!(keys.verify(&token), Err(TokenError::Invalid), "{alg}");
        }
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let other = TokenKeys::new(&SecretString::from("another-secret-0123456789")).unwrap();
        let token = other.issue(&session(Duration::hours(1))).unwrap().token;
        assert_eq!(keys().verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let keys = keys();
        let token = keys.issue(&session(Duration::hours(1))).unwrap().token;
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        let forged = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
        assert_eq!(keys.verify(&forged), Err(TokenError::Invalid));
        // Flipping one character of the signature.
        let mut sig = parts[2].to_owned();
        let last = sig.pop().unwrap();
        sig.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(
            keys.verify(&format!("{}.{}.{sig}", parts[0], parts[1])),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn expired_tokens_are_refused_beyond_the_leeway() {
        let keys = keys();
        let token = keys.issue(&session(Duration::seconds(-30))).unwrap().token;
        assert_eq!(keys.verify(&token), Err(TokenError::Expired));
        // Within the leeway, a token still verifies (the domain check then decides on time).
        let token = keys.issue(&session(Duration::seconds(-2))).unwrap().token;
        assert!(keys.verify(&token).is_ok());
    }

    #[test]
    fn a_token_without_exp_or_sub_is_refused() {
        let keys = keys();
        let session = session(Duration::hours(1));
        for missing in ["exp", "sub"] {
            let mut claims = claims_json(&session);
            claims.as_object_mut().unwrap().remove(missing);
            let header = b64(&serde_json::json!({"alg": "HS256", "typ": "JWT"}));
            let message = format!("{header}.{}", b64(&claims));
            let token = format!(
                "{message}.{}",
                hmac_sign::<Hmac<Sha256>>(SECRET.as_bytes(), &message)
            );
            assert_eq!(keys.verify(&token), Err(TokenError::Invalid), "{missing}");
        }
    }

    #[test]
    fn garbage_is_refused() {
        let keys = keys();
        for garbage in [
            "",
            "x",
            "a.b.c",
            "....",
            "Bearer abc",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.",
            "\u{0}\u{1}",
            &"a".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert_eq!(keys.verify(garbage), Err(TokenError::Invalid), "{garbage:?}");
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            TokenKeys::new(&SecretString::from("short")).unwrap_err(),
            KeyError::SecretTooShort
        );
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session_and_the_key() {
        let keys = keys();
        let token = keys.csrf_token("jti-1");
        assert!(keys.csrf_matches("jti-1", &token));
        assert!(!keys.csrf_matches("jti-2", &token));
        assert!(!keys.csrf_matches("jti-1", ""));
        assert!(!keys.csrf_matches("jti-1", "zz"));
        let other = TokenKeys::new(&SecretString::from("another-secret-0123456789")).unwrap();
        assert!(!other.csrf_matches("jti-1", &token));
    }
}
