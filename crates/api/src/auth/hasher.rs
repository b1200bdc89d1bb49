//! argon2id behind the domain's `PasswordHasher` port.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use pos_domain::HashError;
use pos_domain::ports::PasswordHasher;

/// argon2id v19 with the crate's default cost (19 MiB, 2 passes, 1 lane, OWASP's minimum).
/// Verification takes the parameters from the stored hash, so raising the cost later keeps
/// old hashes valid. CPU-heavy: call it through `spawn_blocking`.
#[derive(Clone, Default)]
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Argon2Hasher(argon2id)")
    }
}

impl Argon2Hasher {
    pub fn new() -> Self {
        Self::default()
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, secret: &str) -> Result<String, HashError> {
        // hash_password draws a fresh random salt for every call.
        self.argon2
            .hash_password(secret.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| HashError::Failed(e.to_string()))
    }

    fn verify(&self, secret: &str, hash: &str) -> Result<bool, HashError> {
        let parsed = PasswordHash::new(hash).map_err(|_| HashError::MalformedHash)?;
        match self.argon2.verify_password(secret.as_bytes(), &parsed) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            // A hash we can parse but not use (another algorithm, bad parameters or salt) is
            // a broken record, not a wrong password.
            Err(
                argon2::password_hash::Error::Algorithm
                | argon2::password_hash::Error::Version
                | argon2::password_hash::Error::ParamInvalid { .. }
                | argon2::password_hash::Error::ParamsInvalid
                | argon2::password_hash::Error::SaltInvalid
                | argon2::password_hash::Error::OutputSize
                | argon2::password_hash::Error::EncodingInvalid,
            ) => Err(HashError::MalformedHash),
            Err(other) => Err(HashError::Failed(other.to_string())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_wrong_secrets_do_not() {
        let hasher = Argon2Hasher::new();
        let hash = hasher.hash("password123").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!hash.contains("password123"));
        assert_eq!(hasher.verify("password123", &hash), Ok(true));
        assert_eq!(hasher.verify("password124", &hash), Ok(false));
        assert_eq!(hasher.verify("", &hash), Ok(false));
    }

    #[test]
    fn every_hash_has_its_own_salt() {
        let hasher = Argon2Hasher::new();
        let first = hasher.hash("1234").unwrap();
        let second = hasher.hash("1234").unwrap();
        assert_ne!(first, second);
        assert_eq!(hasher.verify("1234", &second), Ok(true));
    }

    #[test]
    fn malformed_or_foreign_hashes_are_reported_not_treated_as_wrong_passwords() {
        let hasher = Argon2Hasher::new();
        for broken in [
            "",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            // bcrypt: parseable as PHC? no; either way it is not ours.
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        ] {
            assert_eq!(
                hasher.verify("password123", broken),
                Err(HashError::MalformedHash),
                "{broken}"
            );
        }
    }

    #[test]
    fn hashes_from_other_cost_parameters_still_verify() {
        let cheap = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(8 * 1024, 1, 1, None).unwrap(),
        );
        let hash = cheap.hash_password(b"s3cret-pass").unwrap().to_string();
        assert_eq!(Argon2Hasher::new().verify("s3cret-pass", &hash), Ok(true));
        assert_eq!(Argon2Hasher::new().verify("other", &hash), Ok(false));
    }
}
