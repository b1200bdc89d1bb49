//! `pos serve`: migrate (under the advisory lock), then serve HTTP until SIGINT/SIGTERM.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::config::Required;
use crate::shutdown::ShutdownSignals;
use crate::{http, wiring};

pub async fn run() -> anyhow::Result<()> {
    let config = crate::startup(Required::SERVE)?;
    let mut signals = ShutdownSignals::install()?;
    let database_url = config
        .database_url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL is required"))?;
    tracing::info!(version = env!("CARGO_PKG_VERSION"), database = %database_url.redacted(), "starting pos");

    let prepare = async {
        let store = wiring::connect_store(&database_url, config.db_pool_size).await?;
        wiring::migrate(&database_url).await?;
        crate::retention::spawn_key_purge(
            std::sync::Arc::new(store.clone()),
            std::sync::Arc::new(pos_domain::ports::SystemClock),
        );
        if let (Some(schedule), Some(backups)) =
            (config.backup_schedule.clone(), wiring::backups(&store, &config))
        {
            crate::backup_cli::spawn_schedule(backups, schedule);
        }
        let bus = wiring::event_bus(config.redis_url.as_ref()).await?;
        // The IPN id is settled before serving: registered now when not configured.
        let mut app_config = config.clone();
        if let Some(pesapal) = app_config.pesapal.take() {
            app_config.pesapal = Some(crate::pesapal::with_ipn_id(pesapal).await);
        }
        let state = wiring::app_state(store.clone(), bus, &app_config)?;
        if let Some(service) = state.online_payments.clone() {
            crate::pesapal::spawn_poller(store, service, config.pesapal_poller);
        }
        Ok::<_, anyhow::Error>(state)
    };
    let state = tokio::select! {
        state = prepare => state?,
        signal = signals.received() => {
            tracing::info!(signal, "interrupted while starting");
            return Ok(());
        }
    };
    let address = SocketAddr::new(
        config.bind.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        config.port,
    );
    http::serve(state, address, &config, signals, |bound| {
        println!("pos is listening on http://{bound}");
    })
    .await
}
