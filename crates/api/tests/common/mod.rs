//! Fakes of the ports for HTTP tests of this crate (which has no database: black-box tests
//! against real Postgres live in the server crate).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use pos_api::{ApiConfig, AppState, Argon2Hasher, InProcessBus};
use pos_domain::event::Event;
use pos_domain::ids::{StaffId, TerminalId};
use pos_domain::ports::{
    BusMessage, EventBus, HealthProbe, MenuStore, SettingsStore, StaffStore, SystemClock, TableStore,
    TerminalStore,
};
use pos_domain::settings::Settings;
use pos_domain::staff::{NewStaff, NewTerminal, Staff, StaffCredentials, Terminal};
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
        settings: store,
        bus,
        hasher: Arc::new(Argon2Hasher::new()),
        clock: Arc::new(SystemClock),
        config: Arc::new(config),
    }
}

pub fn state(database: Database) -> AppState {
    state_with(database, Arc::new(InProcessBus::default()), ApiConfig::default())
}
