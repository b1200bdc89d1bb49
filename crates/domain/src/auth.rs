//! Authentication rules: sessions, lockout, and the store port the auth use cases need.
//!
//! Tokens themselves (JWT) are the API's business; what a token must carry, when a session
//! is dead, and when an account is locked are decided here.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::NewAuditEntry;
use crate::error::StoreError;
use crate::ids::{StaffId, TerminalId};
use crate::permissions::Role;
use crate::staff::{Staff, StaffChangeError, StaffCredentials};

/// What a verified session token asserts. Identity and role come only from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub staff_id: StaffId,
    pub role: Role,
    pub token_version: i32,
    pub terminal_id: Option<TerminalId>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why a signature-valid session is no longer accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRejection {
    Expired,
    StaffInactive,
    /// Logout-everywhere, password change, role change or deactivation happened since.
    Revoked,
}

impl Session {
    /// Checks the session against the staff member's current record. The role used from
    /// here on is the staff member's current role: a changed role also bumps the version,
    /// so the two always agree for an accepted session.
    pub fn check(&self, staff: &Staff, now: DateTime<Utc>) -> Result<(), SessionRejection> {
        if now >= self.expires_at {
            return Err(SessionRejection::Expired);
        }
        if !staff.active {
            return Err(SessionRejection::StaffInactive);
        }
        if staff.token_version != self.token_version || staff.role != self.role {
            return Err(SessionRejection::Revoked);
        }
        Ok(())
    }
}

/// Brute-force protection: `max_failures` failed attempts on one scope within `window`
/// lock that scope for `lock_for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: Duration,
    pub lock_for: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::minutes(15),
            lock_for: Duration::minutes(15),
        }
    }
}

impl LockoutPolicy {
    /// Given the failures counted in the window (including the one just recorded), the
    /// instant until which the scope is locked, if it now is.
    pub fn lock_after(&self, failures_in_window: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (failures_in_window >= self.max_failures).then(|| now + self.lock_for)
    }

    /// Which failures a new failure at `now` is counted with, given the scope's stored lock
    /// (`stored_lock`: its `locked_until`, in force or expired).
    ///
    /// - a lock still in force: [`FailureCount::AlreadyLocked`] (the failure is recorded but
    ///   locks nothing more: only the failure that made the lock reports it);
    /// - otherwise the failures strictly after [`FailureCount::Since`]: the window's start,
    ///   or the end of an expired lock if later (failures before it were paid for by it).
    ///
    /// Every store counts with this, then asks [`LockoutPolicy::outcome`]; neither restates it.
    pub fn counting(&self, stored_lock: Option<DateTime<Utc>>, now: DateTime<Utc>) -> FailureCount {
        match stored_lock {
            Some(until) if lock_in_force(until, now) => FailureCount::AlreadyLocked,
            expired => {
                let window_start = now - self.window;
                FailureCount::Since(expired.map_or(window_start, |until| until.max(window_start)))
            }
        }
    }

    /// What a failure means once counted: `failures` is the count from
    /// [`LockoutPolicy::counting`] including the one just recorded.
    pub fn outcome(&self, failures: u32, now: DateTime<Utc>) -> FailureOutcome {
        match self.lock_after(failures, now) {
            Some(until) => FailureOutcome::LockedNow { until },
            None => FailureOutcome::Counted {
                remaining: self.max_failures.saturating_sub(failures),
            },
        }
    }
}

/// Whether a lock ending at `until` still holds at `now` (a lock ends at its instant).
pub fn lock_in_force(until: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    until > now
}

/// How a store counts a new failure (see [`LockoutPolicy::counting`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCount {
    /// The scope is locked already: record the failure, answer `Counted { remaining: 0 }`.
    AlreadyLocked,
    /// Count the failures recorded strictly after this instant (the new one included).
    Since(DateTime<Utc>),
}

/// Whole seconds a client should wait before retrying a locked scope (at least 1).
pub fn retry_after_secs(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let millis = u64::try_from((until - now).num_milliseconds()).unwrap_or(0);
    millis.div_ceil(1000).max(1)
}

/// Why a staff member's sessions end: each of these moves `token_version` on, so every
/// token issued before is refused by [`Session::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionsEnd {
    LogoutEverywhere,
    PasswordChanged,
    Deactivated,
    Reactivated,
    RoleChanged,
}

/// The sessions-ending part of a change from `before` to the given role and active flag,
/// if any: a role change or (de)activation ends every session issued before it.
pub fn sessions_end_on_change(before: &Staff, role: Role, active: bool) -> Option<SessionsEnd> {
    if active != before.active {
        Some(if active {
            SessionsEnd::Reactivated
        } else {
            SessionsEnd::Deactivated
        })
    } else if role != before.role {
        Some(SessionsEnd::RoleChanged)
    } else {
        None
    }
}

/// The token version after a change: one more when sessions end, else the same.
pub fn next_token_version(current: i32, end: Option<SessionsEnd>) -> i32 {
    current + i32::from(end.is_some())
}

/// What a lockout counts failures against: a username, or PINs tried on one terminal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoginScope {
    Username(String),
    TerminalPin(String),
}

impl LoginScope {
    /// The stable key stored in the database.
    pub fn key(&self) -> String {
        match self {
            LoginScope::Username(u) => format!("user:{}", u.to_ascii_lowercase()),
            LoginScope::TerminalPin(t) => format!("pin:{}", t.to_ascii_lowercase()),
        }
    }

    /// Parses a stored key back (for unlock requests naming a scope).
    pub fn from_key(key: &str) -> Option<LoginScope> {
        if let Some(u) = key.strip_prefix("user:") {
            Some(LoginScope::Username(u.to_owned()))
        } else {
            key.strip_prefix("pin:")
                .map(|t| LoginScope::TerminalPin(t.to_owned()))
        }
    }
}

/// The outcome of recording a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Still open; `remaining` more failures before the lock.
    Counted { remaining: u32 },
    /// This failure locked the scope.
    LockedNow { until: DateTime<Utc> },
}

/// A lock currently in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveLock {
    pub scope: String,
    pub locked_until: DateTime<Utc>,
}

/// Changes an admin makes to a staff member. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffChanges {
    pub full_name: Option<crate::validate::PersonName>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// The digest a PIN is looked up and kept unique by: HMAC-SHA256 under the venue's PIN
/// pepper. PINs are short, so the salted argon2 hash alone could neither be searched nor
/// made unique; the digest does both, and the argon2 hash still has to verify.
pub fn pin_lookup_digest(pepper: &[u8], pin: &crate::validate::Pin) -> String {
    use hmac::{Hmac, Mac};
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(pepper) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(pin.expose().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A PIN as stored: the argon2 hash that must verify, and the lookup digest that finds it.
#[derive(Clone, PartialEq, Eq)]
pub struct PinSecret {
    pub hash: String,
    pub lookup: String,
}

impl std::fmt::Debug for PinSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinSecret(****)")
    }
}

/// The store the auth and staff-admin use cases need. Every method that changes a staff
/// member writes the given audit entry in the same transaction.
#[async_trait]
pub trait AuthStore: Send + Sync {
    /// The active lock on `scope` at `now`, if any (expired locks are not returned).
    async fn active_lock(
        &self,
        scope: &LoginScope,
        now: DateTime<Utc>,
    ) -> Result<Option<ActiveLock>, StoreError>;

    /// Records a failed attempt and, atomically with it, counts the failures within the
    /// policy window and locks the scope when the count reaches the limit. Safe under
    /// concurrent failures from several instances (they serialise on the scope). Writes
    /// `audit` (the failure) and, when this failure locks the scope, an `auth.locked` entry
    /// (entity `login`, entity id the scope key), both in the same transaction.
    async fn record_failure(
        &self,
        scope: &LoginScope,
        policy: LockoutPolicy,
        now: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> Result<FailureOutcome, StoreError>;

    /// A successful login: forgets the scope's failures.
    async fn record_success(
        &self,
        scope: &LoginScope,
        now: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> Result<(), StoreError>;

    /// Lifts a lock and forgets failures. `StoreError::NotFound` when nothing was locked.
    async fn unlock(&self, scope: &LoginScope, audit: NewAuditEntry) -> Result<(), StoreError>;

    /// Every lock in force at `now` (expired ones left out), soonest to expire first, so
    /// managers can see what to unlock. `scope` is the stored key (`LoginScope::key`).
    async fn active_locks(&self, now: DateTime<Utc>) -> Result<Vec<ActiveLock>, StoreError>;

    /// The venue's PIN pepper (random, created once and kept in the database so every
    /// instance derives the same digests).
    async fn pin_pepper(&self) -> Result<Vec<u8>, StoreError>;

    /// Finds the active staff member whose PIN lookup digest is `pin_lookup`.
    async fn find_by_pin_lookup(&self, pin_lookup: &str) -> Result<Option<StaffCredentials>, StoreError>;

    /// The credentials of one staff member. `StoreError::NotFound` for an unknown id.
    async fn credentials(&self, id: StaffId) -> Result<StaffCredentials, StoreError>;

    /// Bumps `token_version` ([`SessionsEnd::LogoutEverywhere`]). `NotFound` for an unknown id.
    async fn bump_token_version(&self, id: StaffId, audit: NewAuditEntry) -> Result<Staff, StoreError>;

    /// Sets a new password hash and `must_change_password`, bumping `token_version`
    /// ([`SessionsEnd::PasswordChanged`]). `NotFound` for an unknown id.
    async fn set_password(
        &self,
        id: StaffId,
        password_hash: String,
        must_change_password: bool,
        audit: NewAuditEntry,
    ) -> Result<Staff, StoreError>;

    /// Sets (or clears) the PIN. `StoreError::Conflict { constraint: "staff_pin_lookup_key" }`
    /// when another active staff member has the same PIN.
    async fn set_pin(
        &self,
        id: StaffId,
        pin: Option<PinSecret>,
        audit: NewAuditEntry,
    ) -> Result<Staff, StoreError>;

    /// Applies changes as [`crate::staff::plan_staff_change`] decides (a role or active
    /// change bumps `token_version`), counting the other active admins under a lock so two
    /// concurrent demotions cannot both win. Refuses with
    /// `StaffChangeError::Rule(StaffRuleError::LastActiveAdmin)` when the change would leave
    /// no active admin; `Store(NotFound)` for an unknown id; `Store(Conflict { constraint:
    /// "staff_pin_lookup_key" })` when reactivating a member whose PIN another active member has.
    async fn update_staff(
        &self,
        id: StaffId,
        changes: StaffChanges,
        audit: NewAuditEntry,
    ) -> Result<Staff, StaffChangeError>;

    /// Creates a staff member with the audit row. `Conflict { constraint: "staff_username_key" }`
    /// for a taken username, `Conflict { constraint: "staff_pin_lookup_key" }` for a taken PIN.
    async fn create_staff_audited(
        &self,
        new: crate::staff::NewStaff,
        pin_lookup: Option<String>,
        audit: NewAuditEntry,
    ) -> Result<Staff, StoreError>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::validate::{PersonName, Username};

    fn staff(active: bool, version: i32, role: Role) -> Staff {
        let now = Utc::now();
        Staff {
            id: StaffId::new(),
            username: Username::parse("phiona").unwrap(),
            full_name: PersonName::parse("Phiona").unwrap(),
            role,
            active,
            must_change_password: false,
            token_version: version,
            has_pin: false,
            created_at: now,
            updated_at: now,
        }
    }

    fn session(staff: &Staff, now: DateTime<Utc>) -> Session {
        Session {
            staff_id: staff.id,
            role: staff.role,
            token_version: staff.token_version,
            terminal_id: None,
            issued_at: now,
            expires_at: now + Duration::hours(8),
        }
    }

    #[test]
    fn a_current_session_is_accepted() {
        let now = Utc::now();
        let s = staff(true, 3, Role::Cashier);
        assert_eq!(session(&s, now).check(&s, now), Ok(()));
    }

    #[test]
    fn expired_inactive_and_revoked_sessions_are_rejected() {
        let now = Utc::now();
        let s = staff(true, 3, Role::Cashier);
        let sess = session(&s, now);
        assert_eq!(
            sess.check(&s, now + Duration::hours(8)),
            Err(SessionRejection::Expired)
        );
        assert_eq!(
            sess.check(&staff(false, 3, Role::Cashier), now),
            Err(SessionRejection::StaffInactive)
        );
        let mut bumped = s.clone();
        bumped.token_version = 4;
        assert_eq!(sess.check(&bumped, now), Err(SessionRejection::Revoked));
        let mut promoted = s.clone();
        promoted.role = Role::Manager;
        assert_eq!(sess.check(&promoted, now), Err(SessionRejection::Revoked));
    }

    #[test]
    fn the_fifth_failure_locks_for_fifteen_minutes() {
        let policy = LockoutPolicy::default();
        let now = Utc::now();
        assert_eq!(policy.lock_after(4, now), None);
        assert_eq!(policy.lock_after(5, now), Some(now + Duration::minutes(15)));
    }

    #[test]
    fn pin_digests_depend_on_pin_and_pepper() {
        let pin = crate::validate::Pin::parse("1234").unwrap();
        let other = crate::validate::Pin::parse("1235").unwrap();
        let a = pin_lookup_digest(b"pepper-one", &pin);
        assert_eq!(a.len(), 64);
        assert_eq!(a, pin_lookup_digest(b"pepper-one", &pin));
        assert_ne!(a, pin_lookup_digest(b"pepper-one", &other));
        assert_ne!(a, pin_lookup_digest(b"pepper-two", &pin));
    }

    #[test]
    fn scopes_round_trip_through_their_keys() {
        for scope in [
            LoginScope::Username("phiona".into()),
            LoginScope::TerminalPin("pos-1".into()),
        ] {
            assert_eq!(LoginScope::from_key(&scope.key()), Some(scope));
        }
        assert_eq!(LoginScope::Username("Phiona".into()).key(), "user:phiona");
        assert_eq!(LoginScope::from_key("other:x"), None);
    }
}
