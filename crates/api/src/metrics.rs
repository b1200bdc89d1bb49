//! Prometheus metrics (`GET /metrics` in the text exposition format), served only on the
//! private `METRICS_ADDR` listener, never on the public port (see docs/operations.md).
//!
//! Counted as they happen: requests and their latency by route pattern (the pattern, never
//! the raw path, so ids do not explode the label set) and events published on the bus.
//! Read when scraped: live event streams (SSE clients), the database pool, and the figures
//! a [`MetricsProbe`] answers (age of the last good backup, orders and payments today).

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use async_trait::async_trait;
use futures_util::stream::BoxStream;
use pos_domain::event::Event;
use pos_domain::ports::{BusMessage, EventBus};
use pos_domain::{BusError, StoreError};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::state::AppState;

/// The label of requests no route pattern matched (static files, unknown paths): one
/// series for all of them.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// What the database says at scrape time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OpsFigures {
    /// Orders created in the current business day (any status).
    pub orders_today: i64,
    /// Payments completed in the current business day (including those refunded since).
    pub payments_today: i64,
    /// Their amounts, in minor units of the venue's currency.
    pub payments_today_minor: i64,
    /// Seconds since the last backup with status `ok`; `None` when there is none.
    pub last_good_backup_age_seconds: Option<f64>,
}

/// The database pool's occupancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolFigures {
    pub max_size: usize,
    pub in_use: usize,
    pub idle: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
}

/// The adapter's side of a scrape (the server implements it over PostgreSQL).
#[async_trait]
pub trait MetricsProbe: Send + Sync {
    async fn figures(&self) -> Result<OpsFigures, StoreError>;
    fn pool(&self) -> PoolFigures;
}

/// The registry and its instruments; one per process, shared by every worker.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    events_published: IntCounter,
    sse_clients: IntGauge,
    pool_max: IntGauge,
    pool_in_use: IntGauge,
    pool_idle: IntGauge,
    pool_waiting: IntGauge,
    backup_age: Gauge,
    orders_today: IntGauge,
    payments_today: IntGauge,
    payments_today_minor: IntGauge,
    scrape_errors: IntCounter,
    probe: Option<Arc<dyn MetricsProbe>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(None)
    }
}

fn register<C: prometheus::core::Collector + Clone + 'static>(registry: &Registry, collector: C) -> C {
    // Names are unique constants of this file, so registering cannot clash; a failure
    // would only drop that one series from the output.
    if let Err(error) = registry.register(Box::new(collector.clone())) {
        tracing::error!(%error, "registering a metric");
    }
    collector
}

#[allow(clippy::expect_used)]
fn int_gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    // Constant names, checked by the unit test: `new` only fails on an invalid name.
    register(registry, IntGauge::new(name, help).expect("valid metric"))
}

impl Metrics {
    /// `probe`: the database side of a scrape; without one, those series stay at 0.
    #[allow(clippy::expect_used)]
    pub fn new(probe: Option<Arc<dyn MetricsProbe>>) -> Metrics {
        let registry = Registry::new();
        // The metric names and label names below are constants checked by the unit test:
        // `new` only fails on an invalid name.
        let requests = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "pos_http_requests_total",
                    "HTTP requests served, by route pattern",
                ),
                &["method", "route", "status"],
            )
            .expect("valid metric"),
        );
        let latency = register(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "pos_http_request_duration_seconds",
                    "Time to answer an HTTP request (head of the response), by route pattern",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
                &["method", "route"],
            )
            .expect("valid metric"),
        );
        let events_published = register(
            &registry,
            IntCounter::new(
                "pos_events_published_total",
                "Events published on the bus by this instance",
            )
            .expect("valid metric"),
        );
        let backup_age = register(
            &registry,
            Gauge::new(
                "pos_backup_last_success_age_seconds",
                "Seconds since the last good backup; -1 when there is none",
            )
            .expect("valid metric"),
        );
        let scrape_errors = register(
            &registry,
            IntCounter::new(
                "pos_metrics_scrape_errors_total",
                "Scrapes whose database figures could not be read (those series keep their last values)",
            )
            .expect("valid metric"),
        );
        Metrics {
            sse_clients: int_gauge(
                &registry,
                "pos_sse_clients",
                "Open event streams (SSE clients) on this instance",
            ),
            pool_max: int_gauge(
                &registry,
                "pos_db_pool_max_connections",
                "Database pool size limit",
            ),
            pool_in_use: int_gauge(
                &registry,
                "pos_db_pool_in_use",
                "Database connections checked out",
            ),
            pool_idle: int_gauge(
                &registry,
                "pos_db_pool_idle",
                "Database connections open and idle",
            ),
            pool_waiting: int_gauge(
                &registry,
                "pos_db_pool_waiting",
                "Requests waiting for a database connection",
            ),
            orders_today: int_gauge(
                &registry,
                "pos_orders_today",
                "Orders created in the current business day",
            ),
            payments_today: int_gauge(
                &registry,
                "pos_payments_today",
                "Payments completed in the current business day",
            ),
            payments_today_minor: int_gauge(
                &registry,
                "pos_payments_today_amount_minor",
                "Amount of today's completed payments, in minor units of the venue's currency",
            ),
            registry,
            requests,
            latency,
            events_published,
            backup_age,
            scrape_errors,
            probe,
        }
    }

    /// One request answered: its route pattern (`/api/orders/{order_id}`) or
    /// [`UNMATCHED_ROUTE`].
    pub fn observe_request(&self, method: &str, route: Option<&str>, status: u16, elapsed: Duration) {
        let route = route.unwrap_or(UNMATCHED_ROUTE);
        let status = status.to_string();
        self.requests
            .with_label_values(&[method, route, status.as_str()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    pub fn event_published(&self) {
        self.events_published.inc();
    }

    /// Reads the scrape-time figures and renders everything in the text format.
    pub async fn render(&self, sse_clients: usize) -> String {
        self.sse_clients.set(gauge_value(sse_clients));
        if let Some(probe) = &self.probe {
            let pool = probe.pool();
            self.pool_max.set(gauge_value(pool.max_size));
            self.pool_in_use.set(gauge_value(pool.in_use));
            self.pool_idle.set(gauge_value(pool.idle));
            self.pool_waiting.set(gauge_value(pool.waiting));
            match probe.figures().await {
                Ok(figures) => {
                    self.orders_today.set(figures.orders_today);
                    self.payments_today.set(figures.payments_today);
                    self.payments_today_minor.set(figures.payments_today_minor);
                    self.backup_age
                        .set(figures.last_good_backup_age_seconds.unwrap_or(-1.0));
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics: reading the database figures failed");
                    self.scrape_errors.inc();
                }
            }
        }
        let mut out = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(%error, "metrics: encoding failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `GET /metrics` on the metrics listener.
pub async fn scrape(state: web::Data<AppState>) -> HttpResponse {
    let body = state.metrics.render(state.realtime.stream_count()).await;
    HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// The event bus, counting what this instance publishes.
pub struct CountingBus {
    inner: Arc<dyn EventBus>,
    metrics: Arc<Metrics>,
}

impl CountingBus {
    pub fn new(inner: Arc<dyn EventBus>, metrics: Arc<Metrics>) -> CountingBus {
        CountingBus { inner, metrics }
    }
}

#[async_trait]
impl EventBus for CountingBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        let published = self.inner.publish(event).await;
        if published.is_ok() {
            self.metrics.event_published();
        }
        published
    }

    fn subscribe(&self) -> BoxStream<'static, BusMessage> {
        self.inner.subscribe()
    }

    async fn status(&self) -> &'static str {
        self.inner.status().await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    struct Fixed;

    #[async_trait]
    impl MetricsProbe for Fixed {
        async fn figures(&self) -> Result<OpsFigures, StoreError> {
            Ok(OpsFigures {
                orders_today: 7,
                payments_today: 3,
                payments_today_minor: 4500,
                last_good_backup_age_seconds: None,
            })
        }
        fn pool(&self) -> PoolFigures {
            PoolFigures {
                max_size: 10,
                in_use: 2,
                idle: 3,
                waiting: 1,
            }
        }
    }

    #[actix_web::test]
    async fn every_series_is_rendered_with_its_value() {
        let metrics = Metrics::new(Some(Arc::new(Fixed)));
        metrics.observe_request(
            "GET",
            Some("/api/orders/{order_id}"),
            200,
            Duration::from_millis(3),
        );
        metrics.observe_request("GET", None, 404, Duration::from_millis(1));
        metrics.event_published();
        let text = metrics.render(4).await;
        for line in [
            "pos_http_requests_total{method=\"GET\",route=\"/api/orders/{order_id}\",status=\"200\"} 1",
            "pos_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
            "pos_http_request_duration_seconds_count{method=\"GET\",route=\"/api/orders/{order_id}\"} 1",
            "pos_events_published_total 1",
            "pos_sse_clients 4",
            "pos_db_pool_max_connections 10",
            "pos_db_pool_in_use 2",
            "pos_db_pool_idle 3",
            "pos_db_pool_waiting 1",
            "pos_orders_today 7",
            "pos_payments_today 3",
            "pos_payments_today_amount_minor 4500",
            "pos_backup_last_success_age_seconds -1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
