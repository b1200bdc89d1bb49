//! Checking and hashing secrets (passwords, PINs) off the async executor.
//!
//! argon2id takes tens of milliseconds of CPU on purpose; running it on an actix worker
//! would stall every request on that worker, so it goes through `web::block`. A login for
//! an unknown username verifies against [`DUMMY_HASH`] so that it costs the same time as a
//! wrong password and answers the same: the response cannot tell the two apart.
//!
//! At most [`HASHING_CONCURRENCY`] hashes or checks run at once in the process: each
//! allocates its own 19 MiB block, and a burst of them (logins at shift change) drove the
//! server's RSS past 100 MiB (docs/benchmarks.md, "Memory"). Callers beyond that wait.

use std::sync::Arc;

use actix_web::web;
use pos_domain::HashError;
use pos_domain::access::Secrets;
use pos_domain::ports::PasswordHasher;
use tokio::sync::{AcquireError, Semaphore, SemaphorePermit};

use crate::error::ApiError;

/// An argon2id hash (default cost, the one `Argon2Hasher` writes) of a random password
/// nobody knows. Verifying anything against it takes as long as a real check and fails.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$9jBLCHZjvWj08EFxZVzS5g$QNh6zyVXp16nuxOpwZGmrYVRebfxSXxZkZ/Wl8ESDw0";

/// argon2 operations running at once, process-wide: one per core of the 2-core target, so
/// hashing can use the machine but never hold more than 2 × 19 MiB.
pub const HASHING_CONCURRENCY: usize = 2;

static HASHING: Semaphore = Semaphore::const_new(HASHING_CONCURRENCY);

/// A turn to run one argon2 operation; hold it until the operation has finished (move it
/// into the blocking closure, so a cancelled request does not free it early). Every caller
/// of a [`PasswordHasher`] in the process should take one.
pub async fn hashing_permit() -> Result<SemaphorePermit<'static>, AcquireError> {
    HASHING.acquire().await
}

/// Whether `secret` matches `hash`; with no hash (unknown account) the same work is done
/// against [`DUMMY_HASH`] and the answer is `false`. A malformed stored hash is logged and
/// counts as a mismatch, so a broken record can never be logged into.
pub async fn verify_secret(
    hasher: Arc<dyn PasswordHasher>,
    secret: String,
    hash: Option<String>,
) -> Result<bool, ApiError> {
    let permit = hashing_permit().await.map_err(ApiError::internal)?;
    let outcome = web::block(move || {
        let _permit = permit;
        match hash {
            Some(hash) => hasher.verify(&secret, &hash),
            None => hasher.verify(&secret, DUMMY_HASH).map(|_| false),
        }
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
    let permit = hashing_permit().await.map_err(ApiError::internal)?;
    web::block(move || {
        let _permit = permit;
        hasher.hash(&secret)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// The domain's [`Secrets`] port over a [`PasswordHasher`]: every hash and check runs off
/// the executor under the process-wide [`HASHING_CONCURRENCY`] bound.
#[derive(Clone)]
pub struct BoundedSecrets {
    hasher: Arc<dyn PasswordHasher>,
}

impl BoundedSecrets {
    pub fn new(hasher: Arc<dyn PasswordHasher>) -> Self {
        Self { hasher }
    }
}

fn hash_failed(error: ApiError) -> HashError {
    HashError::Failed(error.to_string())
}

#[async_trait::async_trait]
impl Secrets for BoundedSecrets {
    async fn hash(&self, secret: String) -> Result<String, HashError> {
        hash_secret(self.hasher.clone(), secret)
            .await
            .map_err(hash_failed)
    }

    async fn verify(&self, secret: String, hash: Option<String>) -> Result<bool, HashError> {
        verify_secret(self.hasher.clone(), secret, hash)
            .await
            .map_err(hash_failed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::auth::Argon2Hasher;

    /// Records how many of its calls overlap; each lasts long enough for overlaps to show.
    #[derive(Default)]
    struct OverlapCounter {
        running: AtomicUsize,
        most: AtomicUsize,
    }

    impl OverlapCounter {
        fn work(&self) {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(40));
            self.running.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl PasswordHasher for OverlapCounter {
        fn hash(&self, _: &str) -> Result<String, HashError> {
            self.work();
            Ok("hashed".to_owned())
        }

        fn verify(&self, _: &str, _: &str) -> Result<bool, HashError> {
            self.work();
            Ok(true)
        }
    }

    #[actix_web::test]
    async fn no_more_than_the_limit_of_hashes_and_checks_run_at_once() {
        let counter = Arc::new(OverlapCounter::default());
        let calls = (0..8).map(|i| {
            let hasher: Arc<dyn PasswordHasher> = counter.clone();
            async move {
                if i % 2 == 0 {
                    hash_secret(hasher, "secret".into()).await.map(|_| ())
                } else {
                    verify_secret(hasher, "secret".into(), Some("hashed".into()))
                        .await
                        .map(|_| ())
                }
            }
        });
        for outcome in futures_util::future::join_all(calls).await {
            outcome.unwrap();
        }
        // Other tests of this binary may hold permits meanwhile, so fewer is possible.
        let most = counter.most.load(Ordering::SeqCst);
        assert!((1..=HASHING_CONCURRENCY).contains(&most), "{most} at once");
    }

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
