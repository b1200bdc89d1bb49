//! The staff, authentication, approval and audit use cases (spec §2), as services over the
//! ports, like [`crate::orders`] for orders. Every handler of `/api/auth`, `/api/admin/staff`,
//! `/api/admin/locks`, `/api/admin/terminals` and `/api/admin/audit` follows one recipe:
//! extract (parse the body into domain values) → call a service method → answer.
//!
//! Each method that needs a permission checks it here, against the permission matrix
//! ([`crate::permissions`]), through [`crate::approval::require`]; the rules themselves are
//! pure functions elsewhere in the domain:
//!
//! | rule | where |
//! |---|---|
//! | the last active admin | [`crate::staff::keeps_an_active_admin`], [`crate::staff::plan_staff_change`] |
//! | lockout counting and windows | [`crate::auth::LockoutPolicy::counting`], [`crate::auth::LockoutPolicy::outcome`] |
//! | token-version bumps | [`crate::auth::sessions_end_on_change`], [`crate::auth::SessionsEnd`] |
//! | who may approve | [`crate::approval::approver_for`], [`crate::approval::ThresholdRule`] |
//! | the audit hash chain | [`crate::audit::chain_hash`], [`crate::audit::verify_chain`] |

mod approval_service;
mod audit_service;
mod auth_service;
mod staff_service;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

pub use approval_service::{ApprovalService, ApproverCredentials};
pub use audit_service::{
    AuditService, AuditVerification, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT, walk_audit_chain,
};
pub use auth_service::{AuthService, PinLogin, check_presented_password};
pub use staff_service::{CreateStaff, StaffService, TerminalService, TerminalWritten};

use crate::approval::{Actor, ApprovalError};
use crate::audit::{AuditStore, NewAuditEntry};
use crate::auth::{AuthStore, FailureOutcome, LockoutPolicy, LoginScope, retry_after_secs};
use crate::error::{HashError, StoreError};
use crate::ids::TerminalId;
use crate::ports::{Clock, StaffStore, TerminalStore};
use crate::staff::{StaffChangeError, StaffRuleError};
use crate::validate::ValidationError;

/// Who is asking: the staff member from the verified token and the terminal of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requester {
    pub actor: Actor,
    pub terminal_id: Option<TerminalId>,
}

impl Requester {
    pub const fn new(actor: Actor, terminal_id: Option<TerminalId>) -> Self {
        Self { actor, terminal_id }
    }
}

/// Hashing and checking secrets (argon2id in production). Async because the API runs the
/// CPU-heavy work off its executor, bounded process-wide.
#[async_trait]
pub trait Secrets: Send + Sync {
    /// A fresh hash of `secret`.
    async fn hash(&self, secret: String) -> Result<String, HashError>;
    /// Whether `secret` matches `hash`. With `None` (unknown account) the same work is done
    /// against a hash nobody can match, and the answer is `false`, so the two cannot be told
    /// apart by time. A malformed stored hash is a mismatch, never a match.
    async fn verify(&self, secret: String, hash: Option<String>) -> Result<bool, HashError>;
}

/// The ports the access services use. Cheap to clone.
#[derive(Clone)]
pub struct AccessPorts {
    pub staff: Arc<dyn StaffStore>,
    pub terminals: Arc<dyn TerminalStore>,
    pub auth: Arc<dyn AuthStore>,
    pub audit: Arc<dyn AuditStore>,
    pub secrets: Arc<dyn Secrets>,
    pub clock: Arc<dyn Clock>,
    pub lockout: LockoutPolicy,
}

/// Why an access use case refused. Each has a stable code for problem bodies (never a
/// table or constraint name).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccessError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    NotPermitted(#[from] ApprovalError),
    #[error("the credentials are not valid")]
    InvalidCredentials,
    #[error("the approver's credentials are not valid")]
    InvalidApproval,
    #[error("too many failed attempts; try again in {retry_after_secs} seconds or ask a manager to unlock")]
    Locked {
        until: DateTime<Utc>,
        retry_after_secs: u64,
    },
    #[error("PIN login works only on a registered, active terminal")]
    TerminalNotRegistered,
    #[error(transparent)]
    Rule(#[from] StaffRuleError),
    #[error("another staff member has this username")]
    UsernameTaken,
    #[error("another active staff member has this PIN")]
    PinTaken,
    #[error("another terminal has this code")]
    TerminalCodeTaken,
    #[error("{scope} is not locked")]
    NotLocked { scope: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl AccessError {
    /// The problem body's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            AccessError::Invalid(_) => "validation_failed",
            AccessError::NotPermitted(e) => e.code(),
            AccessError::InvalidCredentials => "invalid_credentials",
            AccessError::InvalidApproval => "invalid_approval",
            AccessError::Locked { .. } => "account_locked",
            AccessError::TerminalNotRegistered => "terminal_not_registered",
            AccessError::Rule(rule) => rule.code(),
            AccessError::UsernameTaken => "username_taken",
            AccessError::PinTaken => "pin_taken",
            AccessError::TerminalCodeTaken => "terminal_code_taken",
            AccessError::NotLocked { .. } => "not_locked",
            AccessError::NotFound(_) => "not_found",
            AccessError::Store(_) => "store",
            AccessError::Hash(_) => "internal",
        }
    }

    pub(crate) fn locked(until: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        AccessError::Locked {
            until,
            retry_after_secs: retry_after_secs(until, now),
        }
    }
}

/// The ports name their unique constraints in their docs; the codes a client sees are the
/// rules those constraints keep.
impl From<StoreError> for AccessError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { entity } => AccessError::NotFound(entity),
            StoreError::Conflict { constraint } => match constraint.as_str() {
                "staff_username_key" => AccessError::UsernameTaken,
                "staff_pin_lookup_key" => AccessError::PinTaken,
                "terminals_code_key" => AccessError::TerminalCodeTaken,
                _ => AccessError::Store(StoreError::Conflict { constraint }),
            },
            other => AccessError::Store(other),
        }
    }
}

impl From<StaffChangeError> for AccessError {
    fn from(error: StaffChangeError) -> Self {
        match error {
            StaffChangeError::Rule(rule) => AccessError::Rule(rule),
            StaffChangeError::Store(store) => store.into(),
        }
    }
}

/// Lockout bookkeeping shared by logins, password changes and approvals.
pub(crate) async fn refuse_if_locked(
    ports: &AccessPorts,
    scope: &LoginScope,
    now: DateTime<Utc>,
) -> Result<(), AccessError> {
    match ports.auth.active_lock(scope, now).await? {
        Some(lock) => Err(AccessError::locked(lock.locked_until, now)),
        None => Ok(()),
    }
}

/// Records a failed attempt (the store counts it as the domain's lockout policy says) and
/// gives the refusal: `refused` while counting, `Locked` when this failure locked the scope.
pub(crate) async fn record_failure(
    ports: &AccessPorts,
    scope: &LoginScope,
    audit: NewAuditEntry,
    now: DateTime<Utc>,
    refused: AccessError,
) -> AccessError {
    match ports.auth.record_failure(scope, ports.lockout, now, audit).await {
        Ok(FailureOutcome::Counted { .. }) => refused,
        // The store wrote the `auth.locked` entry with the lock, in the same transaction.
        Ok(FailureOutcome::LockedNow { until }) => AccessError::locked(until, now),
        Err(error) => error.into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
