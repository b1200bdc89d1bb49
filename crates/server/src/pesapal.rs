//! Pesapal at start-up and in the background: the IPN URL registered when no
//! `PESAPAL_IPN_ID` is configured, and the poller that confirms pending payments which
//! heard no IPN (one replica at a time, under a PostgreSQL advisory lock).

use std::sync::Arc;

use pos_domain::online_payments::{OnlinePaymentService, PollerConfig};
use pos_pesapal::{PesapalClient, PesapalConfig};
use pos_postgres::PgStore;

/// The Pesapal configuration with its IPN id: the configured one, else the id under which
/// the IPN URL is registered (looked up, or registered now). Pesapal out of reach is no
/// reason not to start: the id is then looked up again on the first payment.
pub async fn with_ipn_id(config: PesapalConfig) -> PesapalConfig {
    if config.ipn_id.is_some() {
        return config;
    }
    let client = match PesapalClient::new(config.clone()) {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, "Pesapal client not usable");
            return config;
        }
    };
    match client.ensure_ipn_id().await {
        Ok(ipn_id) => {
            tracing::info!(%ipn_id, url = ?config.ipn_url, "Pesapal IPN id (set PESAPAL_IPN_ID to skip this look-up)");
            PesapalConfig {
                ipn_id: Some(ipn_id),
                ..config
            }
        }
        Err(error) => {
            tracing::warn!(%error, "could not register the Pesapal IPN URL at start-up; retrying on first payment");
            config
        }
    }
}

/// Every `interval`, the replica holding the poller's advisory lock confirms pending
/// payments older than `confirm_after` and fails those older than `timeout`.
pub fn spawn_poller(
    store: PgStore,
    service: Arc<OnlinePaymentService>,
    config: PollerConfig,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(config.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let lease = match store.try_pesapal_poller_lock().await {
                Ok(Some(lease)) => lease,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, "Pesapal poller: no database");
                    continue;
                }
            };
            match service.poll_once(config).await {
                Ok(report) => {
                    if report.completed + report.failed + report.timed_out > 0 {
                        tracing::info!(
                            checked = report.checked,
                            completed = report.completed,
                            failed = report.failed,
                            timed_out = report.timed_out,
                            "Pesapal poller settled pending payments"
                        );
                    }
                    for error in report.errors {
                        tracing::warn!(%error, "Pesapal poller could not confirm a payment");
                    }
                }
                Err(error) => tracing::warn!(%error, "Pesapal poller: pending payments not read"),
            }
            lease.release().await;
        }
    })
}
