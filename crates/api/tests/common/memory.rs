//! An in-memory store that keeps the port contracts (token versions, PIN uniqueness among
//! active staff, the last-admin rule, lockout counting, the audit hash chain), for fast
//! HTTP tests of the auth surface. The same flows run against real Postgres in
//! `crates/server/tests/auth.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pos_api::{ApiConfig, AppState, Argon2Hasher, AuthConfig, InProcessBus};
use pos_domain::audit::{AuditEntry, AuditQuery, AuditStore, GENESIS_HASH, NewAuditEntry, chain_hash};
use pos_domain::auth::{
    ActiveLock, AuthStore, FailureOutcome, LockoutPolicy, LoginScope, PinSecret, StaffChanges,
    pin_lookup_digest,
};
use pos_domain::ids::{StaffId, TerminalId};
use pos_domain::ports::{
    HealthProbe, MenuStore, PasswordHasher, SettingsStore, StaffStore, SystemClock, TableStore, TerminalStore,
};
use pos_domain::settings::Settings;
use pos_domain::staff::{
    NewStaff, NewTerminal, Staff, StaffCredentials, Terminal, TerminalChanges, TerminalKind,
};
use pos_domain::validate::{Label, PersonName, Pin, Username};
use pos_domain::venue::{Category, Product, Table};
use pos_domain::{Role, StoreError};

pub const PEPPER: &[u8] = b"memory-store-pepper";

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
    /// (scope key, when) of failures not yet forgotten.
    failures: Vec<(String, DateTime<Utc>)>,
    locks: HashMap<String, DateTime<Utc>>,
    audit: Vec<AuditEntry>,
    touches: Vec<(TerminalId, DateTime<Utc>)>,
    get_staff_calls: usize,
}

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

fn not_found<T>(entity: &'static str) -> Result<T, StoreError> {
    Err(StoreError::not_found(entity))
}

impl Inner {
    fn staff_mut(&mut self, id: StaffId) -> Result<&mut StoredStaff, StoreError> {
        self.staff
            .iter_mut()
            .find(|s| s.staff.id == id)
            .ok_or(StoreError::not_found("staff"))
    }

    fn append(&mut self, entry: NewAuditEntry) -> AuditEntry {
        let prev_hash = self
            .audit
            .last()
            .map_or_else(|| GENESIS_HASH.to_owned(), |r| r.hash.clone());
        let created_at = Utc::now();
        let hash = chain_hash(&prev_hash, &entry, created_at);
        let row = AuditEntry {
            id: i64::try_from(self.audit.len()).unwrap() + 1,
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
}

impl MemoryStore {
    pub fn new() -> Arc<MemoryStore> {
        Arc::new(MemoryStore::default())
    }

    /// Adds a staff member directly (no audit row), hashing `password` for real.
    pub fn add_staff(&self, username: &str, role: Role, password: &str, must_change_password: bool) -> Staff {
        let hash = Argon2Hasher::new().hash(password).unwrap();
        let now = Utc::now();
        let staff = Staff {
            id: StaffId::new(),
            username: Username::parse(username).unwrap(),
            full_name: PersonName::parse(username).unwrap(),
            role,
            active: true,
            must_change_password,
            token_version: 0,
            has_pin: false,
            created_at: now,
            updated_at: now,
        };
        self.inner.lock().unwrap().staff.push(StoredStaff {
            staff: staff.clone(),
            password_hash: hash,
            pin_hash: None,
            pin_lookup: None,
        });
        staff
    }

    /// Gives a staff member a PIN directly.
    pub fn give_pin(&self, id: StaffId, pin: &str) {
        let pin = Pin::parse(pin).unwrap();
        let hash = Argon2Hasher::new().hash(pin.expose()).unwrap();
        let mut inner = self.inner.lock().unwrap();
        let stored = inner.staff_mut(id).unwrap();
        stored.pin_hash = Some(hash);
        stored.pin_lookup = Some(pin_lookup_digest(PEPPER, &pin));
        stored.staff.has_pin = true;
    }

    pub fn add_terminal(&self, code: &str, active: bool) -> Terminal {
        let terminal = Terminal {
            id: TerminalId::new(),
            code: code.to_owned(),
            name: Label::parse(code).unwrap(),
            kind: TerminalKind::Pos,
            station: None,
            location: None,
            has_printer: false,
            has_cash_drawer: true,
            active,
            last_seen_at: None,
            created_at: Utc::now(),
        };
        self.inner.lock().unwrap().terminals.push(terminal.clone());
        terminal
    }

    pub fn id_of(&self, username: &str) -> StaffId {
        let inner = self.inner.lock().unwrap();
        inner
            .staff
            .iter()
            .find(|s| s.staff.username.as_str() == username)
            .map(|s| s.staff.id)
            .unwrap()
    }

    pub fn staff(&self, id: StaffId) -> Option<Staff> {
        let inner = self.inner.lock().unwrap();
        inner
            .staff
            .iter()
            .find(|s| s.staff.id == id)
            .map(|s| s.staff.clone())
    }

    /// Deletes a staff member outright, as if the row were gone.
    pub fn delete_staff(&self, id: StaffId) {
        self.inner.lock().unwrap().staff.retain(|s| s.staff.id != id);
    }

    /// Changes a staff member behind the API's back (another instance, a migration).
    pub fn edit_staff(&self, id: StaffId, edit: impl FnOnce(&mut Staff)) {
        let mut inner = self.inner.lock().unwrap();
        edit(&mut inner.staff_mut(id).unwrap().staff);
    }

    pub fn audit_actions(&self) -> Vec<String> {
        let inner = self.inner.lock().unwrap();
        inner.audit.iter().map(|r| r.entry.action.clone()).collect()
    }

    pub fn audit_rows(&self) -> Vec<AuditEntry> {
        self.inner.lock().unwrap().audit.clone()
    }

    /// Edits an audit row in place (what a tamperer with database access could do).
    pub fn tamper_audit(&self, index: usize, edit: impl FnOnce(&mut AuditEntry)) {
        edit(&mut self.inner.lock().unwrap().audit[index]);
    }

    pub fn touches(&self) -> Vec<(TerminalId, DateTime<Utc>)> {
        self.inner.lock().unwrap().touches.clone()
    }

    pub fn failures(&self) -> usize {
        self.inner.lock().unwrap().failures.len()
    }

    pub fn get_staff_calls(&self) -> usize {
        self.inner.lock().unwrap().get_staff_calls
    }
}

/// An app state over `store`, with the given auth settings.
pub fn state_over(store: Arc<MemoryStore>, config: AuthConfig) -> AppState {
    AppState {
        health: store.clone(),
        staff: store.clone(),
        terminals: store.clone(),
        tables: store.clone(),
        menu: store.clone(),
        settings: store.clone(),
        auth: store.clone(),
        payments: Arc::new(pos_domain::payments::PaymentService::new(
            Arc::new(pos_domain::testing::InMemoryStore::new(Arc::new(SystemClock))),
            Arc::new(pos_domain::testing::UnusedShiftStore),
            Arc::new(InProcessBus::default()),
            Arc::new(SystemClock),
        )),
        shifts: Arc::new(pos_domain::shifts::ShiftService::new(
            Arc::new(pos_domain::testing::UnusedShiftStore),
            store.clone(),
            Arc::new(InProcessBus::default()),
            Arc::new(SystemClock),
        )),
        audit: store,
        sessions: super::sessions(config),
        bus: Arc::new(InProcessBus::default()),
        realtime: pos_api::realtime::Realtime::new(
            Arc::new(pos_api::realtime::MemoryEventLog::new()),
            pos_api::realtime::RealtimeConfig::default(),
        ),
        orders: pos_api::orders::order_use_cases(
            Arc::new(pos_domain::testing::InMemoryStore::new(Arc::new(SystemClock))),
            Arc::new(InProcessBus::default()),
            Arc::new(SystemClock),
            Default::default(),
        ),
        print_jobs: Arc::new(pos_domain::print_queue::InMemoryPrintQueue::default()),
        hasher: Arc::new(Argon2Hasher::new()),
        clock: Arc::new(SystemClock),
        config: Arc::new(ApiConfig::default()),
    }
}

#[async_trait]
impl HealthProbe for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl StaffStore for MemoryStore {
    async fn create_staff(&self, new: NewStaff) -> Result<Staff, StoreError> {
        self.create_staff_audited(new, None, NewAuditEntry::new("staff.created", "staff"))
            .await
    }
    async fn get_staff(&self, id: StaffId) -> Result<Staff, StoreError> {
        let mut inner = self.inner.lock().unwrap();
        inner.get_staff_calls += 1;
        inner.staff_mut(id).map(|s| s.staff.clone())
    }
    async fn find_credentials(&self, username: &Username) -> Result<Option<StaffCredentials>, StoreError> {
        let inner = self.inner.lock().unwrap();
        Ok(inner
            .staff
            .iter()
            .find(|s| s.staff.username == *username)
            .map(StoredStaff::credentials))
    }
    async fn list_staff(&self) -> Result<Vec<Staff>, StoreError> {
        let inner = self.inner.lock().unwrap();
        let mut staff: Vec<Staff> = inner.staff.iter().map(|s| s.staff.clone()).collect();
        staff.sort_by(|a, b| {
            b.active
                .cmp(&a.active)
                .then_with(|| a.username.as_str().cmp(b.username.as_str()))
        });
        Ok(staff)
    }
}

#[async_trait]
impl TerminalStore for MemoryStore {
    async fn create_terminal(&self, new: NewTerminal) -> Result<Terminal, StoreError> {
        let mut inner = self.inner.lock().unwrap();
        if inner.terminals.iter().any(|t| t.code == new.code) {
            return Err(StoreError::Conflict {
                constraint: "terminals_code_key".into(),
            });
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
            created_at: Utc::now(),
        };
        inner.terminals.push(terminal.clone());
        Ok(terminal)
    }
    async fn find_terminal(&self, code: &str) -> Result<Option<Terminal>, StoreError> {
        let inner = self.inner.lock().unwrap();
        Ok(inner.terminals.iter().find(|t| t.code == code).cloned())
    }
    async fn list_terminals(&self) -> Result<Vec<Terminal>, StoreError> {
        let mut terminals = self.inner.lock().unwrap().terminals.clone();
        terminals.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(terminals)
    }
    async fn touch_terminal(&self, id: TerminalId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().unwrap();
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
        let inner = self.inner.lock().unwrap();
        match inner.terminals.iter().find(|t| t.id == id) {
            Some(t) => Ok(t.clone()),
            None => not_found("terminal"),
        }
    }
    async fn update_terminal(
        &self,
        id: TerminalId,
        changes: TerminalChanges,
    ) -> Result<Terminal, StoreError> {
        let mut inner = self.inner.lock().unwrap();
        if let Some(code) = &changes.code
            && inner.terminals.iter().any(|t| &t.code == code && t.id != id)
        {
            return Err(StoreError::Conflict {
                constraint: "terminals_code_key".into(),
            });
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
impl AuthStore for MemoryStore {
    async fn active_lock(
        &self,
        scope: &LoginScope,
        now: DateTime<Utc>,
    ) -> Result<Option<ActiveLock>, StoreError> {
        let inner = self.inner.lock().unwrap();
        Ok(inner
            .locks
            .get(&scope.key())
            .filter(|until| **until > now)
            .map(|until| ActiveLock {
                scope: scope.key(),
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
        let mut inner = self.inner.lock().unwrap();
        let key = scope.key();
        inner.failures.push((key.clone(), now));
        let since = now - policy.window;
        let count = inner
            .failures
            .iter()
            .filter(|(k, at)| *k == key && *at > since)
            .count();
        let terminal = audit.terminal_id;
        inner.append(audit);
        match policy.lock_after(u32::try_from(count).unwrap(), now) {
            Some(until) => {
                inner.locks.insert(key.clone(), until);
                inner.failures.retain(|(k, _)| *k != key);
                inner.append(
                    NewAuditEntry::new("auth.locked", "login")
                        .terminal(terminal)
                        .entity_id(&key)
                        .after(serde_json::json!({"locked_until": until, "failures": count})),
                );
                Ok(FailureOutcome::LockedNow { until })
            }
            None => Ok(FailureOutcome::Counted {
                remaining: policy.max_failures - u32::try_from(count).unwrap(),
            }),
        }
    }

    async fn record_success(
        &self,
        scope: &LoginScope,
        _: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().unwrap();
        let key = scope.key();
        inner.failures.retain(|(k, _)| *k != key);
        inner.append(audit);
        Ok(())
    }

    async fn unlock(&self, scope: &LoginScope, audit: NewAuditEntry) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().unwrap();
        let key = scope.key();
        let now = Utc::now();
        let was_locked = inner.locks.remove(&key).is_some_and(|until| until > now);
        inner.failures.retain(|(k, _)| *k != key);
        if !was_locked {
            return not_found("lock");
        }
        inner.append(audit);
        Ok(())
    }

    async fn active_locks(&self, now: DateTime<Utc>) -> Result<Vec<ActiveLock>, StoreError> {
        let inner = self.inner.lock().unwrap();
        let mut locks: Vec<ActiveLock> = inner
            .locks
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(scope, until)| ActiveLock {
                scope: scope.clone(),
                locked_until: *until,
            })
            .collect();
        locks.sort_by_key(|l| l.locked_until);
        Ok(locks)
    }

    async fn pin_pepper(&self) -> Result<Vec<u8>, StoreError> {
        Ok(PEPPER.to_vec())
    }

    async fn find_by_pin_lookup(&self, pin_lookup: &str) -> Result<Option<StaffCredentials>, StoreError> {
        let inner = self.inner.lock().unwrap();
        Ok(inner
            .staff
            .iter()
            .find(|s| s.staff.active && s.pin_lookup.as_deref() == Some(pin_lookup))
            .map(StoredStaff::credentials))
    }

    async fn credentials(&self, id: StaffId) -> Result<StaffCredentials, StoreError> {
        let mut inner = self.inner.lock().unwrap();
        inner.staff_mut(id).map(|s| s.credentials())
    }

    async fn bump_token_version(&self, id: StaffId, audit: NewAuditEntry) -> Result<Staff, StoreError> {
        let mut inner = self.inner.lock().unwrap();
        let stored = inner.staff_mut(id)?;
        stored.staff.token_version += 1;
        let staff = stored.staff.clone();
        inner.append(audit);
        Ok(staff)
    }

    async fn set_password(
        &self,
        id: StaffId,
        password_hash: String,
        must_change_password: bool,
        audit: NewAuditEntry,
    ) -> Result<Staff, StoreError> {
        let mut inner = self.inner.lock().unwrap();
        let stored = inner.staff_mut(id)?;
        stored.password_hash = password_hash;
        stored.staff.must_change_password = must_change_password;
        stored.staff.token_version += 1;
        let staff = stored.staff.clone();
        inner.append(audit);
        Ok(staff)
    }

    async fn set_pin(
        &self,
        id: StaffId,
        pin: Option<PinSecret>,
        audit: NewAuditEntry,
    ) -> Result<Staff, StoreError> {
        let mut inner = self.inner.lock().unwrap();
        let active = inner.staff_mut(id)?.staff.active;
        if let Some(secret) = &pin
            && active
            && inner.pin_taken(&secret.lookup, Some(id))
        {
            return Err(StoreError::Conflict {
                constraint: "staff_pin_lookup_key".into(),
            });
        }
        let stored = inner.staff_mut(id)?;
        stored.staff.has_pin = pin.is_some();
        stored.pin_hash = pin.as_ref().map(|p| p.hash.clone());
        stored.pin_lookup = pin.map(|p| p.lookup);
        let staff = stored.staff.clone();
        inner.append(audit);
        Ok(staff)
    }

    async fn update_staff(
        &self,
        id: StaffId,
        changes: StaffChanges,
        audit: NewAuditEntry,
    ) -> Result<Staff, StoreError> {
        let mut inner = self.inner.lock().unwrap();
        let current = inner.staff_mut(id)?.staff.clone();
        let role = changes.role.unwrap_or(current.role);
        let active = changes.active.unwrap_or(current.active);
        let is_admin_now = current.active && current.role == Role::Admin;
        let other_admins = inner
            .staff
            .iter()
            .filter(|s| s.staff.id != id && s.staff.active && s.staff.role == Role::Admin)
            .count();
        if is_admin_now && !(active && role == Role::Admin) && other_admins == 0 {
            return Err(StoreError::CheckViolation {
                constraint: "last_active_admin".into(),
            });
        }
        if active && !current.active {
            let lookup = inner.staff_mut(id)?.pin_lookup.clone();
            if lookup.is_some_and(|l| inner.pin_taken(&l, Some(id))) {
                return Err(StoreError::Conflict {
                    constraint: "staff_pin_lookup_key".into(),
                });
            }
        }
        let stored = inner.staff_mut(id)?;
        if role != current.role || active != current.active {
            stored.staff.token_version += 1;
        }
        if let Some(name) = changes.full_name {
            stored.staff.full_name = name;
        }
        stored.staff.role = role;
        stored.staff.active = active;
        stored.staff.updated_at = Utc::now();
        let staff = stored.staff.clone();
        inner.append(audit);
        Ok(staff)
    }

    async fn create_staff_audited(
        &self,
        new: NewStaff,
        pin_lookup: Option<String>,
        audit: NewAuditEntry,
    ) -> Result<Staff, StoreError> {
        let mut inner = self.inner.lock().unwrap();
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
        let now = Utc::now();
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
        let mut audit = audit;
        if audit.entity_id.is_none() {
            audit.entity_id = Some(staff.id.to_string());
        }
        inner.append(audit);
        Ok(staff)
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        Ok(self.inner.lock().unwrap().append(entry))
    }
    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let inner = self.inner.lock().unwrap();
        Ok(inner
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
            .take(usize::try_from(query.limit).unwrap())
            .cloned()
            .collect())
    }
    async fn audit_page(&self, after_id: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let inner = self.inner.lock().unwrap();
        Ok(inner
            .audit
            .iter()
            .filter(|r| r.id > after_id)
            .take(usize::try_from(limit).unwrap())
            .cloned()
            .collect())
    }
}

fn unused<T>() -> Result<T, StoreError> {
    Err(StoreError::Unavailable("memory store: not modelled".into()))
}

#[async_trait]
impl TableStore for MemoryStore {
    async fn list_tables(&self) -> Result<Vec<Table>, StoreError> {
        unused()
    }
}

#[async_trait]
impl MenuStore for MemoryStore {
    async fn list_categories(&self) -> Result<Vec<Category>, StoreError> {
        unused()
    }
    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        unused()
    }
}

#[async_trait]
impl SettingsStore for MemoryStore {
    async fn get_settings(&self) -> Result<Settings, StoreError> {
        unused()
    }
    async fn put_settings(&self, _: &Settings) -> Result<Settings, StoreError> {
        unused()
    }
}
