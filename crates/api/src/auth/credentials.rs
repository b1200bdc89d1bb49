//! Checking and hashing secrets (passwords, PINs) off the async executor.
//!
//! argon2id takes tens of milliseconds of CPU on purpose; running it on an actix worker
//! would stall every request on that worker, so it goes through `web::block`. A login for
//! an unknown username verifies against [`DUMMY_HASH`] so that it costs the same time as a
//! wrong password and answers the same: the response cannot tell the two apart.

use std::sync::Arc;

use actix_web::web;
use pos_domain::HashError;
use pos_domain::ports::PasswordHasher;

use crate::error::ApiError;

/// An argon2id hash (default cost, the one `Argon2Hasher` writes) of a random password
/// nobody knows. Verifying anything against it takes as long as a real check and fails.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$9jBLCHZjvWj08EFxZVzS5g$QNh6zyVXp16nuxOpwZGmrYVRebfxSXxZkZ/Wl8ESDw0";

/// Whether `secret` matches `hash`; with no hash (unknown account) the same work is done
/// against [`DUMMY_HASH`] and the answer is `false`. A malformed stored hash is logged and
/// counts as a mismatch, so a broken record can never be logged into.
pub async fn verify_secret(
    hasher: Arc<dyn PasswordHasher>,
    secret: String,
    hash: Option<String>,
) -> Result<bool, ApiError> {
    let outcome = web::block(move || match hash {
        Some(hash) => hasher.verify(&secret, &hash),
        None => hasher.verify(&secret, DUMMY_HASH).map(|_| false),
    })
    .await
    .map_err(ApiError::internal)?;
    match outcome {
        Ok(matches) => Ok(matches),
        Err(HashError::MalformedHash) => {
            tracing::error!("a stored password or PIN hash is malformed; treating it as a mismatch");
            Ok(false)
        }
        Err(HashError::Failed(cause)) => Err(ApiError::internal(cause)),
    }
}

/// A fresh argon2id hash of `secret`.
pub async fn hash_secret(hasher: Arc<dyn PasswordHasher>, secret: String) -> Result<String, ApiError> {
    web::block(move || hasher.hash(&secret))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::auth::Argon2Hasher;

    #[test]
    fn the_dummy_hash_costs_what_a_real_hash_costs() {
        let hasher = Argon2Hasher::new();
        let real = hasher.hash("whatever").unwrap();
        let params = |hash: &str| hash.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(
            params(DUMMY_HASH),
            params(&real),
            "same algorithm, version and cost"
        );
        assert_eq!(hasher.verify("password123", DUMMY_HASH), Ok(false));
        assert_eq!(hasher.verify("", DUMMY_HASH), Ok(false));
    }

    #[actix_web::test]
    async fn unknown_accounts_and_broken_hashes_never_verify() {
        let hasher: Arc<dyn PasswordHasher> = Arc::new(Argon2Hasher::new());
        assert!(
            !verify_secret(hasher.clone(), "password123".into(), None)
                .await
                .unwrap()
        );
        assert!(
            !verify_secret(hasher.clone(), "password123".into(), Some("garbage".into()))
                .await
                .unwrap()
        );
        let hash = hash_secret(hasher.clone(), "s3cret-pass".into()).await.unwrap();
        assert!(
            verify_secret(hasher.clone(), "s3cret-pass".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_secret(hasher, "s3cret-pasS".into(), Some(hash))
                .await
                .unwrap()
        );
    }
}
