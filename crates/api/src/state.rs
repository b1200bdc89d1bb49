//! What handlers share: the ports (as trait objects, since the server picks adapters at run
//! time: Postgres or a fake, Redis or the in-process bus) and the API's own settings.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pos_domain::audit::AuditStore;
use pos_domain::auth::AuthStore;
use pos_domain::backup::BackupService;
use pos_domain::ports::{
    Clock, EventBus, HealthProbe, MenuStore, PasswordHasher, SettingsStore, StaffStore, TableStore,
    TerminalStore,
};
use pos_domain::print_queue::PrintJobStore;

use crate::auth::Sessions;
use crate::extract::DEFAULT_JSON_LIMIT;
use crate::orders::OrderUseCases;
use crate::realtime::Realtime;

/// Settings of the HTTP surface. The server fills it from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// Reported by `/api/health`.
    pub version: String,
    /// Largest JSON request body, in bytes.
    pub json_limit: usize,
    /// The built SPA (`WEB_DIR`); served at `/` when it holds an `index.html`.
    pub web_dir: Option<PathBuf>,
    /// Uploaded images (`UPLOAD_DIR`), served at `/pos-images/…`.
    pub upload_dir: Option<PathBuf>,
    /// How long `/api/health` waits for the database (and the bus) before calling it down;
    /// keeps the answer under ~2 s when the database hangs.
    pub health_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            json_limit: DEFAULT_JSON_LIMIT,
            web_dir: None,
            upload_dir: None,
            health_timeout: Duration::from_millis(1500),
        }
    }
}

/// Shared by every handler through `web::Data<AppState>`. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub health: Arc<dyn HealthProbe>,
    pub staff: Arc<dyn StaffStore>,
    pub terminals: Arc<dyn TerminalStore>,
    pub tables: Arc<dyn TableStore>,
    pub menu: Arc<dyn MenuStore>,
    pub settings: Arc<dyn SettingsStore>,
    /// Lockouts, credentials, staff changes with their audit rows.
    pub auth: Arc<dyn AuthStore>,
    /// The audit log: reading, verifying, and entries for changes outside `auth`.
    pub audit: Arc<dyn AuditStore>,
    /// Token keys and per-process session state: `Arc::new(Sessions::new(AuthConfig { … })?)`.
    pub sessions: Arc<Sessions>,
    pub bus: Arc<dyn EventBus>,
    /// The event log's fan-out and live streams: `Realtime::new(feed, …)`, then
    /// `start_fan_out(bus)` at start-up and `shutdown()` when the server stops.
    pub realtime: Realtime,
    /// The order use cases (menu, floor, orders, KDS): `orders::order_use_cases(store, …)`.
    pub orders: Arc<OrderUseCases>,
    /// The menu's shared part, serialised per menu version: `Default::default()`.
    pub menu_cache: Arc<crate::routes::menu::MenuCache>,
    /// The shift use cases (drawers, cash movements, closes): `ShiftService::new(store, …)`.
    pub shifts: Arc<pos_domain::shifts::ShiftService>,
    /// Payments on orders, through the order unit of work: `PaymentService::new(store, …)`.
    pub payments: Arc<pos_domain::payments::PaymentService>,
    /// The online payment provider (Pesapal); `None`: not configured.
    pub gateway: Option<Arc<dyn pos_domain::ports::PaymentGateway>>,
    /// Online payments (start, IPN, poller) over `gateway`; `None` without one.
    pub online_payments: Option<Arc<pos_domain::online_payments::OnlinePaymentService>>,
    /// Orders' numbered receipts and the payments they list.
    pub receipts: Arc<dyn pos_domain::receipts::ReceiptStore>,
    /// Reports, the manager's dashboard and Z reports (read-only sums; the Z close).
    pub reports: Arc<dyn pos_domain::reports::ReportStore>,
    /// The queue print agents poll.
    pub print_jobs: Arc<dyn PrintJobStore>,
    /// Database backups (`pg_dump` into `BACKUP_DIR`); `None`: the backup routes answer 503.
    pub backups: Option<Arc<dyn BackupService>>,
    /// Product and table images' rows (the files live in `config.upload_dir`); `None`: the
    /// image routes answer 503.
    pub images: Option<Arc<dyn pos_domain::images::ImageStore>>,
    /// The back office's menu, floor and settings editing; `None`: those routes answer 503.
    pub catalog: Option<Arc<pos_domain::catalog::CatalogService>>,
    pub hasher: Arc<dyn PasswordHasher>,
    /// Prometheus instruments (`crate::metrics`); `Default::default()` counts without a probe.
    pub metrics: Arc<crate::metrics::Metrics>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ApiConfig>,
}
