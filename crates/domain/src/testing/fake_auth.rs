//! The in-memory fake of the staff, terminal, auth and audit ports. It keeps what the ports
//! promise about storage (unique usernames, PINs unique among active staff, the audit hash
//! chain, one lock per scope) and asks the domain for every rule: the last active admin
//! ([`crate::staff::plan_staff_change`]), lockout counting
//! ([`LockoutPolicy::counting`] / [`LockoutPolicy::outcome`]) and token-version bumps.
//! [`super::contract_auth`] holds it and the PostgreSQL adapter to the same checks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::Role;
use crate::audit::{AuditEntry, AuditQuery, AuditStore, GENESIS_HASH, NewAuditEntry, chain_hash};
use crate::auth::{
    ActiveLock, AuthStore, FailureCount, FailureOutcome, LockoutPolicy, LoginScope, PinSecret, SessionsEnd,
    StaffChanges, lock_in_force, next_token_version,
};
use crate::error::StoreError;
use crate::ids::{StaffId, TerminalId};
use crate::ports::{Clock, HealthProbe, StaffStore, TerminalStore};
use crate::staff::{
    NewStaff, NewTerminal, Staff, StaffChangeError, StaffCredentials, Terminal, TerminalChanges,
    plan_staff_change,
};
use crate::validate::Username;

/// The PIN pepper the fake answers with.
pub const FAKE_PIN_PEPPER: &[u8] = b"in-memory-pin-pepper";

#[derive(Clone)]
struct StoredStaff {
    staff: Staff,
    password_hash: String,
    pin_hash: Option<String>,
    pin_lookup: Option<String>,
}

impl StoredStaff {
    fn credentials(&self) -> StaffCredentials {
        StaffCredentials {
            staff: self.staff.clone(),
            password_hash: self.password_hash.clone(),
            pin_hash: self.pin_hash.clone(),
        }
    }
}

#[derive(Default)]
struct Inner {
    staff: Vec<StoredStaff>,
    terminals: Vec<Terminal>,
    /// (scope key, when) of failed attempts not yet forgotten.
    failures: Vec<(String, DateTime<Utc>)>,
    locks: HashMap<String, DateTime<Utc>>,
    audit: Vec<AuditEntry>,
    touches: Vec<(TerminalId, DateTime<Utc>)>,
    get_staff_calls: usize,
}

/// Staff, terminals, lockouts and the audit log in memory. Share it with `Arc`.
pub struct InMemoryAuthStore {
    inner: Mutex<Inner>,
    clock: Arc<dyn Clock>,
}

impl Inner {
    fn stored(&mut self, id: StaffId) -> Result<&mut StoredStaff, StoreError> {
        self.staff
            .iter_mut()
            .find(|s| s.staff.id == id)
            .ok_or(StoreError::not_found("staff"))
    }

    fn append(&mut self, entry: NewAuditEntry, now: DateTime<Utc>) -> AuditEntry {
        let prev_hash = self
            .audit
            .last()
            .map_or_else(|| GENESIS_HASH.to_owned(), |r| r.hash.clone());
        // Stored at microsecond precision, as PostgreSQL keeps it.
        let created_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        let hash = chain_hash(&prev_hash, &entry, created_at);
        let row = AuditEntry {
            id: i64::try_from(self.audit.len()).unwrap_or(i64::MAX) + 1,
            entry,
            created_at,
            prev_hash,
            hash,
        };
        self.audit.push(row.clone());
        row
    }

    fn pin_taken(&self, lookup: &str, except: Option<StaffId>) -> bool {
        self.staff
            .iter()
            .any(|s| s.staff.active && Some(s.staff.id) != except && s.pin_lookup.as_deref() == Some(lookup))
    }

    fn other_active_admins(&self, id: StaffId) -> usize {
        self.staff
            .iter()
            .filter(|s| s.staff.id != id && s.staff.active && s.staff.role == Role::Admin)
            .count()
    }

    fn bump(
        &mut self,
        id: StaffId,
        end: SessionsEnd,
        now: DateTime<Utc>,
    ) -> Result<&mut StoredStaff, StoreError> {
        let stored = self.stored(id)?;
        stored.staff.token_version = next_token_version(stored.staff.token_version, Some(end));
        stored.staff.updated_at = now;
        Ok(stored)
    }
}

impl InMemoryAuthStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            clock,
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a staff member directly (no audit row, no uniqueness check), as a seed would.
    pub fn insert_staff(&self, new: NewStaff, pin_lookup: Option<String>) -> Staff {
        let now = self.clock.now();
        let staff = Staff {
            id: StaffId::new(),
            username: new.username,
            full_name: new.full_name,
            role: new.role,
            active: true,
            must_change_password: new.must_change_password,
            token_version: 0,
            has_pin: new.pin_hash.is_some(),
            created_at: now,
            updated_at: now,
        };
        self.inner().staff.push(StoredStaff {
            staff: staff.clone(),
            password_hash: new.password_hash,
            pin_hash: new.pin_hash,
            pin_lookup,
        });
        staff
    }

    /// Gives a staff member a PIN directly (no audit row, no uniqueness check).
    pub fn give_pin(&self, id: StaffId, pin: PinSecret) {
        let mut inner = self.inner();
        if let Ok(stored) = inner.stored(id) {
            stored.pin_hash = Some(pin.hash);
            stored.pin_lookup = Some(pin.lookup);
            stored.staff.has_pin = true;
        }
    }

    /// Registers a terminal directly (no audit row).
    pub fn insert_terminal(&self, terminal: Terminal) {
        self.inner().terminals.push(terminal);
    }

    pub fn id_of(&self, username: &str) -> Option<StaffId> {
        self.inner()
            .staff
            .iter()
            .find(|s| s.staff.username.as_str() == username)
            .map(|s| s.staff.id)
    }

    pub fn staff(&self, id: StaffId) -> Option<Staff> {
        self.inner()
            .staff
            .iter()
            .find(|s| s.staff.id == id)
            .map(|s| s.staff.clone())
    }

    /// Deletes a staff member outright, as if the row were gone.
    pub fn delete_staff(&self, id: StaffId) {
        self.inner().staff.retain(|s| s.staff.id != id);
    }

    /// Changes a staff member behind the ports' back (another instance, a migration).
    pub fn edit_staff(&self, id: StaffId, edit: impl FnOnce(&mut Staff)) {
        if let Ok(stored) = self.inner().stored(id) {
            edit(&mut stored.staff);
        }
    }

    pub fn audit_rows(&self) -> Vec<AuditEntry> {
        self.inner().audit.clone()
    }

    pub fn audit_actions(&self) -> Vec<String> {
        self.inner()
            .audit
            .iter()
            .map(|r| r.entry.action.clone())
            .collect()
    }

    /// Edits an audit row in place (what a tamperer with database access could do).
    pub fn tamper_audit(&self, index: usize, edit: impl FnOnce(&mut AuditEntry)) {
        if let Some(row) = self.inner().audit.get_mut(index) {
            edit(row);
        }
    }

    /// Every `touch_terminal` call, in order.
    pub fn touches(&self) -> Vec<(TerminalId, DateTime<Utc>)> {
        self.inner().touches.clone()
    }

    /// Failed attempts still remembered, over every scope.
    pub fn failures(&self) -> usize {
        self.inner().failures.len()
    }

    /// How often `get_staff` was called.
    pub fn get_staff_calls(&self) -> usize {
        self.inner().get_staff_calls
    }
}

#[async_trait]
impl HealthProbe for InMemoryAuthStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl StaffStore for InMemoryAuthStore {
    async fn create_staff(&self, new: NewStaff) -> Result<Staff, StoreError> {
        self.create_staff_audited(new, None, NewAuditEntry::new("staff.created", "staff"))
            .await
    }

    async fn get_staff(&self, id: StaffId) -> Result<Staff, StoreError> {
        let mut inner = self.inner();
        inner.get_staff_calls += 1;
        inner.stored(id).map(|s| s.staff.clone())
    }

    async fn find_credentials(&self, username: &Username) -> Result<Option<StaffCredentials>, StoreError> {
        Ok(self
            .inner()
            .staff
            .iter()
            .find(|s| s.staff.username == *username)
            .map(StoredStaff::credentials))
    }

    async fn list_staff(&self) -> Result<Vec<Staff>, StoreError> {
        let mut staff: Vec<Staff> = self.inner().staff.iter().map(|s| s.staff.clone()).collect();
        staff.sort_by(|a, b| {
            b.active
                .cmp(&a.active)
                .then_with(|| a.username.as_str().cmp(b.username.as_str()))
        });
        Ok(staff)
    }
}

fn code_taken() -> StoreError {
    StoreError::Conflict {
        constraint: "terminals_code_key".into(),
    }
}

#[async_trait]
impl TerminalStore for InMemoryAuthStore {
    async fn create_terminal(&self, new: NewTerminal) -> Result<Terminal, StoreError> {
        let now = self.clock.now();
        let mut inner = self.inner();
        if inner.terminals.iter().any(|t| t.code == new.code) {
            return Err(code_taken());
        }
        let terminal = Terminal {
            id: TerminalId::new(),
            code: new.code,
            name: new.name,
            kind: new.kind,
            station: new.station,
            location: new.location,
            has_printer: new.has_printer,
            has_cash_drawer: new.has_cash_drawer,
            active: true,
            last_seen_at: None,
            created_at: now,
        };
        inner.terminals.push(terminal.clone());
        Ok(terminal)
    }

    async fn find_terminal(&self, code: &str) -> Result<Option<Terminal>, StoreError> {
        Ok(self.inner().terminals.iter().find(|t| t.code == code).cloned())
    }

    async fn list_terminals(&self) -> Result<Vec<Terminal>, StoreError> {
        let mut terminals = self.inner().terminals.clone();
        terminals.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(terminals)
    }

    async fn touch_terminal(&self, id: TerminalId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut inner = self.inner();
        let terminal = inner
            .terminals
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(StoreError::not_found("terminal"))?;
        terminal.last_seen_at = Some(terminal.last_seen_at.map_or(at, |seen| seen.max(at)));
        inner.touches.push((id, at));
        Ok(())
    }

    async fn get_terminal(&self, id: TerminalId) -> Result<Terminal, StoreError> {
        self.inner()
            .terminals
            .iter()
            .find(|t| t.id == id)
            .cloned()
            .ok_or(StoreError::not_found("terminal"))
    }

    async fn update_terminal(
        &self,
        id: TerminalId,
        changes: TerminalChanges,
    ) -> Result<Terminal, StoreError> {
        let mut inner = self.inner();
        if let Some(code) = &changes.code
            && inner.terminals.iter().any(|t| &t.code == code && t.id != id)
        {
            return Err(code_taken());
        }
        let t = inner
            .terminals
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(StoreError::not_found("terminal"))?;
        if let Some(v) = changes.code {
            t.code = v;
        }
        if let Some(v) = changes.name {
            t.name = v;
        }
        if let Some(v) = changes.kind {
            t.kind = v;
        }
        if let Some(v) = changes.station {
            t.station = v;
        }
        if let Some(v) = changes.location {
            t.location = v;
        }
        if let Some(v) = changes.has_printer {
            t.has_printer = v;
        }
        if let Some(v) = changes.has_cash_drawer {
            t.has_cash_drawer = v;
        }
        if let Some(v) = changes.active {
            t.active = v;
        }
        Ok(t.clone())
    }
}

#[async_trait]
impl AuthStore for InMemoryAuthStore {
    async fn active_lock(
        &self,
        scope: &LoginScope,
        now: DateTime<Utc>,
    ) -> Result<Option<ActiveLock>, StoreError> {
        let key = scope.key();
        Ok(self
            .inner()
            .locks
            .get(&key)
            .filter(|until| lock_in_force(**until, now))
            .map(|until| ActiveLock {
                scope: key.clone(),
                locked_until: *until,
            }))
    }

    async fn record_failure(
        &self,
        scope: &LoginScope,
        policy: LockoutPolicy,
        now: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> Result<FailureOutcome, StoreError> {
        let mut inner = self.inner();
        let key = scope.key();
        let stored_lock = inner.locks.get(&key).copied();
        inner.failures.push((key.clone(), now));
        let terminal = audit.terminal_id;
        let (outcome, failures) = match policy.counting(stored_lock, now) {
            FailureCount::AlreadyLocked => (FailureOutcome::Counted { remaining: 0 }, 0),
            FailureCount::Since(since) => {
                let failures = inner
                    .failures
                    .iter()
                    .filter(|(k, at)| *k == key && *at > since)
                    .count();
                let failures = u32::try_from(failures).unwrap_or(u32::MAX);
                (policy.outcome(failures, now), failures)
            }
        };
        inner.append(audit, now);
        if let FailureOutcome::LockedNow { until } = outcome {
            inner.locks.insert(key.clone(), until);
            inner.append(
                NewAuditEntry::new("auth.locked", "login")
                    .terminal(terminal)
                    .entity_id(&key)
                    .after(json!({"locked_until": until, "failures": failures})),
                now,
            );
        }
        Ok(outcome)
    }

    async fn record_success(
        &self,
        scope: &LoginScope,
        now: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> Result<(), StoreError> {
        let mut inner = self.inner();
        let key = scope.key();
        inner.failures.retain(|(k, _)| *k != key);
        if inner
            .locks
            .get(&key)
            .is_some_and(|until| !lock_in_force(*until, now))
        {
            inner.locks.remove(&key);
        }
        inner.append(audit, now);
        Ok(())
    }

    async fn unlock(&self, scope: &LoginScope, audit: NewAuditEntry) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut inner = self.inner();
        let key = scope.key();
        if !inner
            .locks
            .get(&key)
            .is_some_and(|until| lock_in_force(*until, now))
        {
            return Err(StoreError::not_found("lock"));
        }
        inner.locks.remove(&key);
        inner.failures.retain(|(k, _)| *k != key);
        inner.append(audit, now);
        Ok(())
    }

    async fn active_locks(&self, now: DateTime<Utc>) -> Result<Vec<ActiveLock>, StoreError> {
        let mut locks: Vec<ActiveLock> = self
            .inner()
            .locks
            .iter()
            .filter(|(_, until)| lock_in_force(**until, now))
            .map(|(scope, until)| ActiveLock {
                scope: scope.clone(),
                locked_until: *until,
            })
            .collect();
        locks.sort_by(|a, b| {
            a.locked_until
                .cmp(&b.locked_until)
                .then_with(|| a.scope.cmp(&b.scope))
        });
        Ok(locks)
    }

    async fn pin_pepper(&self) -> Result<Vec<u8>, StoreError> {
        Ok(FAKE_PIN_PEPPER.to_vec())
    }

    async fn find_by_pin_lookup(&self, pin_lookup: &str) -> Result<Option<StaffCredentials>, StoreError> {
        Ok(self
            .inner()
            .staff
            .iter()
            .find(|s| s.staff.active && s.pin_lookup.as_deref() == Some(pin_lookup))
            .map(StoredStaff::credentials))
    }

    async fn credentials(&self, id: StaffId) -> Result<StaffCredentials, StoreError> {
        self.inner().stored(id).map(|s| s.credentials())
    }

    async fn bump_token_version(&self, id: StaffId, audit: NewAuditEntry) -> Result<Staff, StoreError> {
        let now = self.clock.now();
        let mut inner = self.inner();
        let staff = inner.bump(id, SessionsEnd::LogoutEverywhere, now)?.staff.clone();
        inner.append(audit, now);
        Ok(staff)
    }

    async fn set_password(
        &self,
        id: StaffId,
        password_hash: String,
        must_change_password: bool,
        audit: NewAuditEntry,
    ) -> Result<Staff, StoreError> {
        let now = self.clock.now();
        let mut inner = self.inner();
        let stored = inner.bump(id, SessionsEnd::PasswordChanged, now)?;
        stored.password_hash = password_hash;
        stored.staff.must_change_password = must_change_password;
        let staff = stored.staff.clone();
        inner.append(audit, now);
        Ok(staff)
    }

    async fn set_pin(
        &self,
        id: StaffId,
        pin: Option<PinSecret>,
        audit: NewAuditEntry,
    ) -> Result<Staff, StoreError> {
        let now = self.clock.now();
        let mut inner = self.inner();
        let active = inner.stored(id)?.staff.active;
        if let Some(secret) = &pin
            && active
            && inner.pin_taken(&secret.lookup, Some(id))
        {
            return Err(StoreError::Conflict {
                constraint: "staff_pin_lookup_key".into(),
            });
        }
        let stored = inner.stored(id)?;
        stored.staff.has_pin = pin.is_some();
        stored.staff.updated_at = now;
        stored.pin_hash = pin.as_ref().map(|p| p.hash.clone());
        stored.pin_lookup = pin.map(|p| p.lookup);
        let staff = stored.staff.clone();
        inner.append(audit, now);
        Ok(staff)
    }

    async fn update_staff(
        &self,
        id: StaffId,
        changes: StaffChanges,
        audit: NewAuditEntry,
    ) -> Result<Staff, StaffChangeError> {
        let now = self.clock.now();
        let mut inner = self.inner();
        let current = inner.stored(id)?.staff.clone();
        let update = plan_staff_change(&current, &changes, inner.other_active_admins(id))?;
        if update.active && !current.active {
            let lookup = inner.stored(id)?.pin_lookup.clone();
            if lookup.is_some_and(|l| inner.pin_taken(&l, Some(id))) {
                return Err(StoreError::Conflict {
                    constraint: "staff_pin_lookup_key".into(),
                }
                .into());
            }
        }
        let stored = inner.stored(id)?;
        stored.staff.full_name = update.full_name;
        stored.staff.role = update.role;
        stored.staff.active = update.active;
        stored.staff.token_version = update.token_version;
        stored.staff.updated_at = now;
        let staff = stored.staff.clone();
        inner.append(audit, now);
        Ok(staff)
    }

    async fn create_staff_audited(
        &self,
        new: NewStaff,
        pin_lookup: Option<String>,
        mut audit: NewAuditEntry,
    ) -> Result<Staff, StoreError> {
        let now = self.clock.now();
        let mut inner = self.inner();
        if inner.staff.iter().any(|s| s.staff.username == new.username) {
            return Err(StoreError::Conflict {
                constraint: "staff_username_key".into(),
            });
        }
        if pin_lookup.as_deref().is_some_and(|l| inner.pin_taken(l, None)) {
            return Err(StoreError::Conflict {
                constraint: "staff_pin_lookup_key".into(),
            });
        }
        let staff = Staff {
            id: StaffId::new(),
            username: new.username,
            full_name: new.full_name,
            role: new.role,
            active: true,
            must_change_password: new.must_change_password,
            token_version: 0,
            has_pin: new.pin_hash.is_some(),
            created_at: now,
            updated_at: now,
        };
        inner.staff.push(StoredStaff {
            staff: staff.clone(),
            password_hash: new.password_hash,
            pin_hash: new.pin_hash,
            pin_lookup,
        });
        if audit.entity_id.is_none() {
            audit.entity_id = Some(staff.id.to_string());
        }
        inner.append(audit, now);
        Ok(staff)
    }
}

#[async_trait]
impl AuditStore for InMemoryAuthStore {
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let now = self.clock.now();
        Ok(self.inner().append(entry, now))
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = usize::try_from(query.limit).unwrap_or(0);
        Ok(self
            .inner()
            .audit
            .iter()
            .rev()
            .filter(|r| query.before_id.is_none_or(|b| r.id < b))
            .filter(|r| query.actor_id.is_none_or(|a| r.entry.actor_id == Some(a)))
            .filter(|r| {
                query
                    .action_prefix
                    .as_deref()
                    .is_none_or(|p| r.entry.action.starts_with(p))
            })
            .filter(|r| query.entity.as_deref().is_none_or(|e| r.entry.entity == e))
            .filter(|r| {
                query
                    .entity_id
                    .as_deref()
                    .is_none_or(|e| r.entry.entity_id.as_deref() == Some(e))
            })
            .take(limit)
            .cloned()
            .collect())
    }

    async fn audit_page(&self, after_id: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(self
            .inner()
            .audit
            .iter()
            .filter(|r| r.id > after_id)
            .take(usize::try_from(limit).unwrap_or(0))
            .cloned()
            .collect())
    }
}

/// Secrets "hashed" as `plain:<secret>`: instant, for tests that are not about hashing.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainSecrets;

#[async_trait]
impl crate::access::Secrets for PlainSecrets {
    async fn hash(&self, secret: String) -> Result<String, crate::error::HashError> {
        Ok(format!("plain:{secret}"))
    }

    async fn verify(&self, secret: String, hash: Option<String>) -> Result<bool, crate::error::HashError> {
        Ok(hash.is_some_and(|hash| hash == format!("plain:{secret}")))
    }
}
