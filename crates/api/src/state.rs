//! What handlers share: the ports (as trait objects, since the server picks adapters at run
//! time: Postgres or a fake, Redis or the in-process bus) and the API's own settings.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pos_domain::ports::{
    Clock, EventBus, HealthProbe, MenuStore, PasswordHasher, SettingsStore, StaffStore, TableStore,
    TerminalStore,
};

use crate::extract::DEFAULT_JSON_LIMIT;

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
    pub bus: Arc<dyn EventBus>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ApiConfig>,
}
