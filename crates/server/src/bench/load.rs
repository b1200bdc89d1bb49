//! Order placement under load: N clients, each in a loop creating a takeaway order with three
//! items and sending it (both with a fresh idempotency key), as fast as the server answers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::client::{Api, Failure, Product, Session};
use super::stats::{Samples, Summary};

/// Lines per order.
pub const ITEMS_PER_ORDER: usize = 3;
/// A worker whose request could not even reach the server waits this long before the next,
/// so a dead server is not hammered in a tight loop.
const AFTER_CONNECTION_ERROR: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy)]
pub struct LoadSettings {
    pub clients: usize,
    /// Run but not measured, so connections and caches are warm when measuring starts.
    pub warmup: Duration,
    pub duration: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    pub clients: usize,
    pub measured_seconds: f64,
    /// Create+send pairs that completed inside the measured window.
    pub orders: u64,
    pub orders_per_second: f64,
    /// From issuing the create to the send's answer.
    pub create_and_send: Option<Summary>,
    pub create: Option<Summary>,
    pub send: Option<Summary>,
    /// Failed calls over the whole run (warm-up included), by call and answer.
    pub errors: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Tally {
    orders: u64,
    pair: Samples,
    create: Samples,
    send: Samples,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn failed(&mut self, call: &str, failure: &Failure) {
        *self.errors.entry(format!("{call}: {failure}")).or_default() += 1;
    }
}

/// The `n`th choice of a worker: consecutive products, starting further on each time, so
/// the orders spread over the whole menu.
pub fn pick(products: &[Product], n: usize) -> Vec<&Product> {
    (0..ITEMS_PER_ORDER)
        .map(|k| &products[(n * ITEMS_PER_ORDER + k) % products.len()])
        .collect()
}

pub async fn run(api: &Api, session: &Session, products: &[Product], settings: LoadSettings) -> LoadResult {
    let session = Arc::new(session.clone());
    let products: Arc<Vec<Product>> = Arc::new(products.to_vec());
    let measure_from = Instant::now() + settings.warmup;
    let end = measure_from + settings.duration;
    let workers: Vec<_> = (0..settings.clients)
        .map(|index| {
            let api = api.clone();
            let session = session.clone();
            let products = products.clone();
            tokio::spawn(async move { worker(index, &api, &session, &products, measure_from, end).await })
        })
        .collect();
    let mut total = Tally::default();
    for worker in workers {
        match worker.await {
            Ok(tally) => {
                total.orders += tally.orders;
                total.pair.merge(tally.pair);
                total.create.merge(tally.create);
                total.send.merge(tally.send);
                for (key, n) in tally.errors {
                    *total.errors.entry(key).or_default() += n;
                }
            }
            Err(error) => {
                *total.errors.entry(format!("worker failed: {error}")).or_default() += 1;
            }
        }
    }
    let seconds = settings.duration.as_secs_f64();
    LoadResult {
        clients: settings.clients,
        measured_seconds: seconds,
        orders: total.orders,
        orders_per_second: (total.orders as f64 / seconds * 10.0).round() / 10.0,
        create_and_send: total.pair.summary(),
        create: total.create.summary(),
        send: total.send.summary(),
        errors: total.errors,
    }
}

async fn worker(
    index: usize,
    api: &Api,
    session: &Session,
    products: &[Product],
    measure_from: Instant,
    end: Instant,
) -> Tally {
    let mut tally = Tally::default();
    // Workers start at different places on the menu.
    let mut n = index * 7;
    while Instant::now() < end {
        let choice = pick(products, n);
        n += 1;
        let started = Instant::now();
        let order_id = match api.create_order(session, &choice).await {
            Ok(id) => id,
            Err(failure) => {
                tally.failed("create", &failure);
                pause_after(&failure).await;
                continue;
            }
        };
        let created = Instant::now();
        if let Err(failure) = api.send_order(session, &order_id).await {
            tally.failed("send", &failure);
            pause_after(&failure).await;
            continue;
        }
        let sent = Instant::now();
        if sent >= measure_from && sent <= end {
            tally.orders += 1;
            tally.pair.record(sent - started);
            tally.create.record(created - started);
            tally.send.record(sent - created);
        }
    }
    tally
}

async fn pause_after(failure: &Failure) {
    if matches!(failure, Failure::Connection) {
        tokio::time::sleep(AFTER_CONNECTION_ERROR).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn menu(n: usize) -> Vec<Product> {
        (0..n)
            .map(|i| Product {
                id: format!("p{i}"),
                station: None,
            })
            .collect()
    }

    fn ids(choice: &[&Product]) -> Vec<String> {
        choice.iter().map(|p| p.id.clone()).collect()
    }

    #[test]
    fn picks_three_distinct_products_and_walks_the_menu() {
        let products = menu(7);
        assert_eq!(ids(&pick(&products, 0)), ["p0", "p1", "p2"]);
        assert_eq!(ids(&pick(&products, 1)), ["p3", "p4", "p5"]);
        assert_eq!(ids(&pick(&products, 2)), ["p6", "p0", "p1"], "wraps around");
        for n in 0..50 {
            let choice: std::collections::BTreeSet<String> = ids(&pick(&products, n)).into_iter().collect();
            assert_eq!(choice.len(), ITEMS_PER_ORDER, "choice {n}");
        }
        let seen: std::collections::BTreeSet<String> =
            (0..7).flat_map(|n| ids(&pick(&products, n))).collect();
        assert_eq!(seen.len(), 7, "every product gets ordered");
    }
}
