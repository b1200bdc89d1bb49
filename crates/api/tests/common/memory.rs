//! HTTP tests of the auth surface over the workspace's one in-memory fake
//! ([`pos_domain::testing::InMemoryAuthStore`], which asks the domain for every rule). This
//! file only wires it into an `AppState` and seeds it with real argon2 hashes; the same flows
//! run against real Postgres in `crates/server/tests/auth.rs`.

use std::ops::Deref;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use pos_api::{ApiConfig, AppState, Argon2Hasher, AuthConfig, InProcessBus};
use pos_domain::Role;
use pos_domain::StoreError;
use pos_domain::auth::{PinSecret, pin_lookup_digest};
use pos_domain::ids::{StaffId, TerminalId};
use pos_domain::ports::{MenuStore, PasswordHasher, SettingsStore, SystemClock, TableStore};
use pos_domain::settings::Settings;
use pos_domain::staff::{NewStaff, Staff, Terminal, TerminalKind};
use pos_domain::testing::{FAKE_PIN_PEPPER, InMemoryAuthStore};
use pos_domain::validate::{Label, PersonName, Pin, Username};
use pos_domain::venue::{Category, Product, Table};

/// The domain's fake, plus seeding helpers that hash for real.
pub struct MemoryStore {
    fake: Arc<InMemoryAuthStore>,
}

impl Deref for MemoryStore {
    type Target = InMemoryAuthStore;
    fn deref(&self) -> &InMemoryAuthStore {
        &self.fake
    }
}

impl MemoryStore {
    pub fn new() -> Arc<MemoryStore> {
        Arc::new(MemoryStore {
            fake: Arc::new(InMemoryAuthStore::new(Arc::new(SystemClock))),
        })
    }

    /// Adds a staff member directly (no audit row), hashing `password` for real.
    pub fn add_staff(&self, username: &str, role: Role, password: &str, must_change_password: bool) -> Staff {
        self.fake.insert_staff(
            NewStaff {
                username: Username::parse(username).unwrap(),
                full_name: PersonName::parse(username).unwrap(),
                role,
                password_hash: Argon2Hasher::new().hash(password).unwrap(),
                pin_hash: None,
                must_change_password,
            },
            None,
        )
    }

    /// Gives a staff member a PIN directly.
    pub fn give_pin(&self, id: StaffId, pin: &str) {
        let pin = Pin::parse(pin).unwrap();
        self.fake.give_pin(
            id,
            PinSecret {
                hash: Argon2Hasher::new().hash(pin.expose()).unwrap(),
                lookup: pin_lookup_digest(FAKE_PIN_PEPPER, &pin),
            },
        );
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
        self.fake.insert_terminal(terminal.clone());
        terminal
    }

    pub fn id_of(&self, username: &str) -> StaffId {
        self.fake.id_of(username).unwrap()
    }
}

/// An app state over `store`, with the given auth settings.
pub fn state_over(store: Arc<MemoryStore>, config: AuthConfig) -> AppState {
    let fake = store.fake.clone();
    let unmodelled = Arc::new(Unmodelled);
    AppState {
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
            unmodelled.clone(),
            Arc::new(InProcessBus::default()),
            Arc::new(SystemClock),
        )),
        health: fake.clone(),
        staff: fake.clone(),
        terminals: fake.clone(),
        tables: unmodelled.clone(),
        menu: unmodelled.clone(),
        settings: unmodelled.clone(),
        auth: fake.clone(),
        audit: fake,
        sessions: super::sessions(config),
        bus: Arc::new(InProcessBus::default()),
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
        config: Arc::new(ApiConfig::default()),
    }
}

/// The ports these tests do not exercise: every call answers "unavailable".
struct Unmodelled;

fn unused<T>() -> Result<T, StoreError> {
    Err(StoreError::Unavailable("memory store: not modelled".into()))
}

#[async_trait]
impl TableStore for Unmodelled {
    async fn list_tables(&self) -> Result<Vec<Table>, StoreError> {
        unused()
    }
}

#[async_trait]
impl MenuStore for Unmodelled {
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
impl SettingsStore for Unmodelled {
    async fn get_settings(&self) -> Result<Settings, StoreError> {
        unused()
    }
    async fn put_settings(&self, _: &Settings) -> Result<Settings, StoreError> {
        unused()
    }
}
