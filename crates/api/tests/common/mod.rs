//! Fakes of the ports for HTTP tests of this crate (which has no database: black-box tests
//! against real Postgres live in the server crate).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod memory;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use pos_api::{ApiConfig, AppState, Argon2Hasher, AuthConfig, InProcessBus, Sessions};
use pos_domain::event::Event;
use pos_domain::ports::{
    BusMessage, EventBus, HealthProbe, MenuStore, SettingsStore, SystemClock, TableStore,
};
use pos_domain::settings::Settings;
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

/// A store for tests that exercise only the HTTP surface: pings as told, and refuses the
/// venue ports as unavailable so an unexpected call is visible. Staff, terminals, auth and
/// audit are the domain's in-memory fake (empty), the one fake of those ports.
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
    async fn menu_version(&self) -> Result<i64, StoreError> {
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
    let access = Arc::new(pos_domain::testing::InMemoryAuthStore::new(Arc::new(SystemClock)));
    AppState {
        health: store.clone(),
        staff: access.clone(),
        terminals: access.clone(),
        tables: store.clone(),
        menu: store.clone(),
        settings: store.clone(),
        auth: access.clone(),
        receipts: Arc::new(pos_domain::testing::InMemoryStore::new(Arc::new(SystemClock))),
        gateway: None,
        online_payments: None,
        payments: Arc::new(pos_domain::payments::PaymentService::new(
            Arc::new(pos_domain::testing::InMemoryStore::new(Arc::new(SystemClock))),
            Arc::new(InProcessBus::default()),
            Arc::new(SystemClock),
        )),
        shifts: Arc::new(pos_domain::shifts::ShiftService::new(
            Arc::new(pos_domain::testing::UnusedShiftStore),
            store,
            Arc::new(InProcessBus::default()),
            Arc::new(SystemClock),
        )),
        audit: access,
        sessions: sessions(auth_config()),
        bus,
        realtime: pos_api::realtime::Realtime::new(
            Arc::new(pos_api::realtime::MemoryEventLog::new()),
            pos_api::realtime::RealtimeConfig::default(),
        ),
        menu_cache: Default::default(),
        orders: pos_api::orders::order_use_cases(
            Arc::new(pos_domain::testing::InMemoryStore::new(Arc::new(SystemClock))),
            Arc::new(InProcessBus::default()),
            Arc::new(SystemClock),
            Default::default(),
        ),
        print_jobs: Arc::new(pos_domain::print_queue::InMemoryPrintQueue::default()),
        reports: Arc::new(pos_domain::testing::UnusedReportStore),
        backups: None,
        catalog: None,
        hasher: Arc::new(Argon2Hasher::new()),
        metrics: Default::default(),
        images: None,
        clock: Arc::new(SystemClock),
        config: Arc::new(config),
    }
}

pub fn state(database: Database) -> AppState {
    state_with(database, Arc::new(InProcessBus::default()), ApiConfig::default())
}
