//! Turning configuration into adapters: the one place that knows which implementation of
//! each port `pos` runs with.

use std::sync::Arc;

use pos_api::{ApiConfig, AppState, Argon2Hasher, AuthConfig, InProcessBus, Sessions};
use pos_domain::ports::{EventBus, PasswordHasher, SeedStore, SystemClock};
use pos_domain::seed::SeedReport;
use pos_postgres::PgStore;

use crate::config::{Config, SecretUrl};
use crate::seed_file::ParsedSeed;

/// How long the order use cases reuse settings, tables and staff names (not tokens, stock
/// or availability): what another instance changes shows here after at most this long.
const READ_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// A pool of `pool_size` connections, checked with one round trip so that a wrong URL or a
/// database that is down fails start-up with a clear line rather than the first request.
pub async fn connect_store(database_url: &SecretUrl, pool_size: usize) -> anyhow::Result<PgStore> {
    PgStore::connect(database_url.expose(), pool_size)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot connect to the database at {}: {e}",
                database_url.redacted()
            )
        })
}

/// Applies pending migrations under pos-postgres's advisory lock (safe with several
/// replicas starting at once); logs what was applied.
pub async fn migrate(database_url: &SecretUrl) -> anyhow::Result<Vec<String>> {
    let applied = pos_postgres::migrate(database_url.expose())
        .await
        .map_err(|e| anyhow::anyhow!("migrating the database: {e}"))?;
    if applied.is_empty() {
        tracing::info!("database schema is up to date");
    } else {
        tracing::info!(count = applied.len(), "database migrated");
    }
    Ok(applied)
}

/// Hashes the staff passwords and loads the venue; idempotent (the store adds only what is
/// missing).
pub async fn seed(
    store: &PgStore,
    parsed: ParsedSeed,
    cafe_name: Option<&str>,
) -> anyhow::Result<SeedReport> {
    let hasher: Arc<dyn PasswordHasher> = Arc::new(Argon2Hasher::new());
    let venue = parsed.into_venue_seed(hasher, cafe_name).await?;
    store
        .seed_venue(&venue)
        .await
        .map_err(|e| anyhow::anyhow!("seeding the database: {e}"))
}

/// Redis pub/sub when `REDIS_URL` is set (several replicas share events), else the
/// in-process bus (one instance).
pub async fn event_bus(redis_url: Option<&SecretUrl>) -> anyhow::Result<Arc<dyn EventBus>> {
    match redis_url {
        Some(url) => {
            let bus = pos_redis::RedisBus::connect(url.expose(), pos_redis::DEFAULT_CHANNEL)
                .await
                .map_err(|e| anyhow::anyhow!("cannot connect to Redis at {}: {e}", url.redacted()))?;
            Ok(Arc::new(bus))
        }
        None => {
            tracing::info!("REDIS_URL not set: events stay in this process");
            Ok(Arc::new(InProcessBus::default()))
        }
    }
}

/// Session settings from `POS_JWT_SECRET`, `JWT_TTL_HOURS`, `APP_BASE_URL` and `APP_ORIGIN`.
pub fn auth_config(config: &Config) -> anyhow::Result<AuthConfig> {
    let secret = config
        .jwt_secret
        .clone()
        .ok_or_else(|| anyhow::anyhow!("POS_JWT_SECRET is required"))?;
    let mut auth = AuthConfig::new(secret);
    auth.ttl = chrono::Duration::hours(i64::from(config.jwt_ttl_hours));
    // Browsers drop `Secure` cookies over plain http, so only an https deployment sets it.
    auth.cookie_secure = config.app_base_url.scheme() == "https";
    auth.app_origin = Some(config.app_origin.clone());
    Ok(auth)
}

/// The backup engine over `DATABASE_URL` into `BACKUP_DIR`; `None` without a database URL.
pub fn backups(store: &PgStore, config: &Config) -> Option<pos_postgres::backup::PgBackups> {
    let url = config.database_url.as_ref()?;
    Some(pos_postgres::backup::PgBackups::new(
        store.clone(),
        url.expose(),
        config.backup_dir.clone(),
        pos_postgres::backup::ToolSearch {
            bin_dir: config.pg_bin_dir.clone(),
        },
    ))
}

/// Pesapal online payments when `PESAPAL_CONSUMER_KEY`/`SECRET` are set.
pub fn online_payments(
    store: &Arc<PgStore>,
    bus: &Arc<dyn EventBus>,
    config: &Config,
) -> anyhow::Result<Option<Arc<pos_domain::online_payments::OnlinePaymentService>>> {
    let Some(pesapal) = config.pesapal.clone() else {
        return Ok(None);
    };
    let client =
        pos_pesapal::PesapalClient::new(pesapal).map_err(|e| anyhow::anyhow!("PESAPAL_BASE_URL: {e}"))?;
    Ok(Some(Arc::new(
        pos_domain::online_payments::OnlinePaymentService::new(
            store.clone(),
            store.clone(),
            store.clone(),
            Arc::new(client),
            bus.clone(),
            Arc::new(SystemClock),
            config.pesapal_callback_url.clone(),
        ),
    )))
}

/// Everything the handlers share.
pub fn app_state(store: PgStore, bus: Arc<dyn EventBus>, config: &Config) -> anyhow::Result<AppState> {
    let sessions = Sessions::new(auth_config(config)?).map_err(|e| anyhow::anyhow!("POS_JWT_SECRET: {e}"))?;
    let backups = backups(&store, config).map(|b| Arc::new(b) as Arc<dyn pos_domain::backup::BackupService>);
    let metrics = Arc::new(pos_api::metrics::Metrics::new(Some(Arc::new(
        crate::metrics_probe::PgMetricsProbe::new(store.clone()),
    ))));
    let bus: Arc<dyn EventBus> = Arc::new(pos_api::metrics::CountingBus::new(bus, metrics.clone()));
    let store = Arc::new(store);
    let online_payments = online_payments(&store, &bus, config)?;
    Ok(AppState {
        health: store.clone(),
        staff: store.clone(),
        terminals: store.clone(),
        tables: store.clone(),
        menu: store.clone(),
        settings: store.clone(),
        auth: store.clone(),
        menu_cache: Default::default(),
        orders: pos_api::orders::order_use_cases(
            store.clone(),
            bus.clone(),
            Arc::new(SystemClock),
            pos_domain::order::OrderServiceConfig {
                read_cache_ttl: READ_CACHE_TTL,
                ..pos_domain::order::OrderServiceConfig::default()
            },
        ),
        print_jobs: store.clone(),
        backups,
        images: Some(store.clone()),
        catalog: Some(Arc::new(pos_domain::catalog::CatalogService::new(
            store.clone(),
            store.clone(),
            bus.clone(),
            Arc::new(SystemClock),
        ))),
        receipts: store.clone(),
        gateway: online_payments.as_ref().map(|service| service.gateway().clone()),
        online_payments,
        reports: store.clone(),
        payments: Arc::new(pos_domain::payments::PaymentService::new(
            store.clone(),
            bus.clone(),
            Arc::new(SystemClock),
        )),
        shifts: Arc::new(pos_domain::shifts::ShiftService::new(
            store.clone(),
            store.clone(),
            bus.clone(),
            Arc::new(SystemClock),
        )),
        realtime: pos_api::realtime::Realtime::new(
            store.clone(),
            pos_api::realtime::RealtimeConfig::default(),
        ),
        audit: store,
        sessions: Arc::new(sessions),
        bus,
        hasher: Arc::new(Argon2Hasher::new()),
        metrics,
        clock: Arc::new(SystemClock),
        config: Arc::new(ApiConfig {
            web_dir: config.web_dir.clone(),
            upload_dir: Some(config.upload_dir.clone()),
            ..ApiConfig::default()
        }),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::{Host, Required, parse};

    fn config(pairs: &[(&'static str, &str)]) -> Config {
        let vars: HashMap<&'static str, String> = pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let host = Host {
            stderr_is_tty: false,
            default_web_dir_exists: false,
        };
        parse(&vars, Required::NOTHING, host).unwrap()
    }

    #[test]
    fn auth_follows_the_environment() {
        let auth = auth_config(&config(&[
            ("POS_JWT_SECRET", "0123456789abcdef-secret"),
            ("JWT_TTL_HOURS", "12"),
            ("APP_BASE_URL", "https://pos.example.com"),
        ]))
        .unwrap();
        assert_eq!(auth.jwt_secret.expose_secret(), "0123456789abcdef-secret");
        assert_eq!(auth.ttl, chrono::Duration::hours(12));
        assert!(auth.cookie_secure);
        assert_eq!(auth.app_origin.as_deref(), Some("https://pos.example.com"));
    }

    #[test]
    fn plain_http_keeps_cookies_usable_and_the_origin_defaults_to_loopback() {
        let auth = auth_config(&config(&[
            ("POS_JWT_SECRET", "0123456789abcdef"),
            ("PORT", "3100"),
        ]))
        .unwrap();
        assert!(!auth.cookie_secure);
        assert_eq!(auth.ttl, chrono::Duration::hours(8));
        assert_eq!(auth.app_origin.as_deref(), Some("http://127.0.0.1:3100"));
    }

    #[test]
    fn no_secret_no_sessions() {
        assert!(auth_config(&config(&[])).is_err());
    }
}
