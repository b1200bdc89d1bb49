//! Fakes of the ports for HTTP tests of this crate (which has no database: black-box tests
//! against real Postgres live in the server crate).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod memory;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use pos_api::{ApiConfig, AppState, Argon2Hasher, AuthConfig, InProcessBus, Sessions};
use pos_domain::audit::{AuditEntry, AuditQuery, AuditStore, NewAuditEntry};
use pos_domain::auth::{
    ActiveLock, AuthStore, FailureOutcome, LockoutPolicy, LoginScope, PinSecret, StaffChanges,
};
use pos_domain::event::Event;
use pos_domain::ids::{StaffId, TerminalId};
use pos_domain::ports::{
    BusMessage, EventBus, HealthProbe, MenuStore, SettingsStore, StaffStore, SystemClock, TableStore,
    TerminalStore,
};
use pos_domain::settings::Settings;
use pos_domain::staff::{NewStaff, NewTerminal, Staff, StaffCredentials, Terminal, TerminalChanges};
use pos_domain::validate::Username;
use pos_domain::venue::{Category, Product, Table};
use pos_domain::{BusError, StoreError};

/// How the fake database answers a health ping.
#[derive(Debug, Clone, Copy)]
pub enum Database {
    Up,
    Down,
    /// Never answers (a hung connection).
    Hung,
}

/// A store for tests that exercise only the HTTP surface: pings as told, and refuses
/// everything else as unavailable so an unexpected call is visible.
pub struct FakeStore {
    pub database: Database,
}

fn unused<T>() -> Result<T, StoreError> {
    Err(StoreError::Unavailable(
        "fake store: not used by this test".into(),
    ))
}

#[async_trait]
impl HealthProbe for FakeStore {
    async fn ping(&self) -> Result<(), StoreError> {
        match self.database {
            Database::Up => Ok(()),
            Database::Down => Err(StoreError::Unavailable("connection refused".into())),
            Database::Hung => {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(())
            }
        }
    }
}

#[async_trait]
impl StaffStore for FakeStore {
    async fn create_staff(&self, _: NewStaff) -> Result<Staff, StoreError> {
        unused()
    }
    async fn get_staff(&self, _: StaffId) -> Result<Staff, StoreError> {
        unused()
    }
    async fn find_credentials(&self, _: &Username) -> Result<Option<StaffCredentials>, StoreError> {
        unused()
    }
    async fn list_staff(&self) -> Result<Vec<Staff>, StoreError> {
        unused()
    }
}

#[async_trait]
impl TerminalStore for FakeStore {
    async fn create_terminal(&self, _: NewTerminal) -> Result<Terminal, StoreError> {
        unused()
    }
    async fn find_terminal(&self, _: &str) -> Result<Option<Terminal>, StoreError> {
        unused()
    }
    async fn list_terminals(&self) -> Result<Vec<Terminal>, StoreError> {
        unused()
    }
    async fn touch_terminal(&self, _: TerminalId, _: DateTime<Utc>) -> Result<(), StoreError> {
        unused()
    }
    async fn get_terminal(&self, _: TerminalId) -> Result<Terminal, StoreError> {
        unused()
    }
    async fn update_terminal(&self, _: TerminalId, _: TerminalChanges) -> Result<Terminal, StoreError> {
        unused()
    }
}

#[async_trait]
impl AuthStore for FakeStore {
    async fn active_lock(&self, _: &LoginScope, _: DateTime<Utc>) -> Result<Option<ActiveLock>, StoreError> {
        unused()
    }
    async fn record_failure(
        &self,
        _: &LoginScope,
        _: LockoutPolicy,
        _: DateTime<Utc>,
        _: NewAuditEntry,
    ) -> Result<FailureOutcome, StoreError> {
        unused()
    }
    async fn record_success(
        &self,
        _: &LoginScope,
        _: DateTime<Utc>,
        _: NewAuditEntry,
    ) -> Result<(), StoreError> {
        unused()
    }
    async fn unlock(&self, _: &LoginScope, _: NewAuditEntry) -> Result<(), StoreError> {
        unused()
    }
    async fn active_locks(&self, _: DateTime<Utc>) -> Result<Vec<ActiveLock>, StoreError> {
        unused()
    }
    async fn pin_pepper(&self) -> Result<Vec<u8>, StoreError> {
        unused()
    }
    async fn find_by_pin_lookup(&self, _: &str) -> Result<Option<StaffCredentials>, StoreError> {
        unused()
    }
    async fn credentials(&self, _: StaffId) -> Result<StaffCredentials, StoreError> {
        unused()
    }
    async fn bump_token_version(&self, _: StaffId, _: NewAuditEntry) -> Result<Staff, StoreError> {
        unused()
    }
    async fn set_password(
        &self,
        _: StaffId,
        _: String,
        _: bool,
        _: NewAuditEntry,
    ) -> Result<Staff, StoreError> {
        unused()
    }
    async fn set_pin(&self, _: StaffId, _: Option<PinSecret>, _: NewAuditEntry) -> Result<Staff, StoreError> {
        unused()
    }
    async fn update_staff(&self, _: StaffId, _: StaffChanges, _: NewAuditEntry) -> Result<Staff, StoreError> {
        unused()
    }
    async fn create_staff_audited(
        &self,
        _: NewStaff,
        _: Option<String>,
        _: NewAuditEntry,
    ) -> Result<Staff, StoreError> {
        unused()
    }
}

#[async_trait]
impl AuditStore for FakeStore {
    async fn append_audit(&self, _: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        unused()
    }
    async fn list_audit(&self, _: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        unused()
    }
    async fn audit_page(&self, _: i64, _: i64) -> Result<Vec<AuditEntry>, StoreError> {
        unused()
    }
}

/// The JWT secret of every test app.
pub const JWT_SECRET: &str = "test-secret-0123456789abcdef";
/// The browser origin test apps are configured with.
pub const APP_ORIGIN: &str = "https://pos.test";

pub fn auth_config() -> AuthConfig {
    let mut config = AuthConfig::new(JWT_SECRET.into());
    config.app_origin = Some(APP_ORIGIN.to_owned());
    config
}

pub fn sessions(config: AuthConfig) -> Arc<Sessions> {
    Arc::new(Sessions::new(config).unwrap())
}

#[async_trait]
impl TableStore for FakeStore {
    async fn list_tables(&self) -> Result<Vec<Table>, StoreError> {
        unused()
    }
}

#[async_trait]
impl MenuStore for FakeStore {
    async fn list_categories(&self) -> Result<Vec<Category>, StoreError> {
        unused()
    }
    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        unused()
    }
}

#[async_trait]
impl SettingsStore for FakeStore {
    async fn get_settings(&self) -> Result<Settings, StoreError> {
        unused()
    }
    async fn put_settings(&self, _: &Settings) -> Result<Settings, StoreError> {
        unused()
    }
}

/// A bus that reports a fixed status (or never answers), to test `/api/health`'s redis field.
pub struct StatusBus(pub Option<&'static str>);

#[async_trait]
impl EventBus for StatusBus {
    async fn publish(&self, _: &Event) -> Result<(), BusError> {
        Ok(())
    }
    fn subscribe(&self) -> BoxStream<'static, BusMessage> {
        Box::pin(futures_util::stream::empty())
    }
    async fn status(&self) -> &'static str {
        match self.0 {
            Some(status) => status,
            None => {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "ok"
            }
        }
    }
}

pub fn state_with(database: Database, bus: Arc<dyn EventBus>, config: ApiConfig) -> AppState {
    let store = Arc::new(FakeStore { database });
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
        sessions: sessions(auth_config()),
        bus,
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
        config: Arc::new(config),
    }
}

pub fn state(database: Database) -> AppState {
    state_with(database, Arc::new(InProcessBus::default()), ApiConfig::default())
}
