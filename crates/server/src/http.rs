//! Running the HTTP server until SIGINT or SIGTERM, shared by `serve` and `dev`.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use pos_api::AppState;
use pos_api::limits::{ConnectionLimits, Limits};

use crate::config::MetricsAddr;
use crate::shutdown::ShutdownSignals;

/// Seconds in-flight requests get to finish after SIGINT/SIGTERM before workers are stopped.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// How long a client may take to send a request head (actix's `client_request_timeout`);
/// deploy/nginx.conf's `client_header_timeout` matches it.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds `address` and serves until a signal arrives, then drains gracefully (at most
/// [`SHUTDOWN_TIMEOUT_SECS`]). `on_listening` runs once the socket is bound, with the
/// actual address (`PORT=0` picks a free port).
pub async fn serve(
    state: AppState,
    address: SocketAddr,
    config: &crate::config::Config,
    mut signals: ShutdownSignals,
    on_listening: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    // Positioned before the socket opens, so no event committed after a client connects
    // can be missed by its stream.
    state
        .realtime
        .start_fan_out(state.bus.clone())
        .await
        .map_err(|e| anyhow::anyhow!("starting the realtime feed: {e}"))?;
    let realtime = state.realtime.clone();
    // Stalled bodies and connection floods are bounded here, not only behind nginx
    // (pos_api::limits).
    let limits = Limits {
        body_timeout: config.body_timeout,
        connections: ConnectionLimits::new(config.max_connections_per_ip),
    };
    let connections = limits.connections.clone();
    let metrics_server = metrics_listener(&state, config.metrics)?;
    let server = HttpServer::new(move || {
        let limits = limits.clone();
        pos_api::build_app(state.clone()).wrap(from_fn(move |req, next| {
            pos_api::limits::guard(limits.clone(), req, next)
        }))
    })
    .on_connect(move |connection, data| connections.on_connect(connection, data))
    .client_request_timeout(HEADER_TIMEOUT)
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
    .disable_signals()
    .bind(address)
    .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
    let bound = server.addrs().first().copied().unwrap_or(address);
    let server = server.run();
    let handle = server.handle();
    let metrics_handle = metrics_server.map(|metrics| {
        let handle = metrics.handle();
        actix_web::rt::spawn(metrics);
        handle
    });
    actix_web::rt::spawn(async move {
        let signal = signals.received().await;
        tracing::info!(signal, "shutting down: finishing requests in flight");
        // Event streams never finish by themselves: end them first, or the graceful stop
        // would wait its full timeout for them.
        realtime.shutdown().await;
        // This task may outlive the runtime's reactor (it is dropped, not finished, when
        // the server stops first); the last handle on the database pool must not go with it.
        drop(realtime);
        if let Some(metrics) = metrics_handle {
            metrics.stop(false).await;
        }
        handle.stop(true).await;
    });
    tracing::info!(address = %bound, "listening");
    on_listening(bound);
    server.await?;
    tracing::info!("HTTP server stopped");
    Ok(())
}

/// The private listener of `GET /metrics` (one worker; Prometheus scrapes every few
/// seconds), not yet running. `None` when switched off, or when the default address is
/// taken (a second instance on this machine): logged, not fatal. An address the operator
/// chose that cannot be bound stops start-up.
fn metrics_listener(state: &AppState, address: MetricsAddr) -> anyhow::Result<Option<Server>> {
    let (address, chosen) = match address {
        MetricsAddr::Off => return Ok(None),
        MetricsAddr::Default(address) => (address, false),
        MetricsAddr::Explicit(address) => (address, true),
    };
    let state = web::Data::new(state.clone());
    let bound = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(pos_api::metrics::scrape))
    })
    .workers(1)
    .client_request_timeout(HEADER_TIMEOUT)
    .shutdown_timeout(1)
    .disable_signals()
    .bind(address);
    match bound {
        Ok(server) => {
            let bound = server.addrs().first().copied().unwrap_or(address);
            tracing::info!(address = %bound, "metrics listening at /metrics");
            Ok(Some(server.run()))
        }
        Err(e) if !chosen => {
            tracing::error!(address = %address, error = %e, "metrics not served: the default METRICS_ADDR is taken (set METRICS_ADDR, or off)");
            Ok(None)
        }
        Err(e) => Err(anyhow::anyhow!("METRICS_ADDR: cannot listen on {address}: {e}")),
    }
}
