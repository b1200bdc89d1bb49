//! Send → KDS delay: K kitchen screens on the event stream while orders are sent at a steady
//! rate; for every `order.sent` event, the time from issuing the send to its arrival at each
//! screen.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::client::{Api, Failure, Product, Session};
use super::load::pick;
use super::sse::SseParser;
use super::stats::{Samples, Summary};

/// The station whose screens are simulated.
pub const STATION: &str = "kitchen";
/// How long the screens keep listening after the last send answered: an event later than
/// this counts as missed.
const GRACE: Duration = Duration::from_secs(3);
/// How long all screens together may take to connect and report the stream live.
const CONNECT_LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
pub struct KdsSettings {
    pub clients: usize,
    /// Orders sent per second.
    pub rate: u32,
    pub duration: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct KdsResult {
    pub clients: usize,
    /// Screens whose stream did not open or never said `ready`.
    pub failed_to_connect: usize,
    /// Streams the server ended while the bench was listening.
    pub ended_early: usize,
    pub rate_per_second: u32,
    pub seconds: f64,
    /// Orders whose send answered 200; each should reach every screen once.
    pub orders_sent: usize,
    pub send_errors: BTreeMap<String, u64>,
    /// The send request alone, at this rate.
    pub send: Option<Summary>,
    /// From issuing the send to the event's arrival, over every (screen, event) pair.
    pub delay_from_send_issued: Option<Summary>,
    /// From the send's answer to the event's arrival (0 when the event came first).
    pub delay_from_send_answered: Option<Summary>,
    /// Deliveries that arrived before the send's answer did.
    pub arrived_before_answer: u64,
    pub deliveries: usize,
    pub expected_deliveries: usize,
    pub missed: usize,
    pub screens_missing_events: usize,
    pub most_missed_by_one_screen: usize,
    pub duplicates: usize,
}

/// One send as the sender saw it.
#[derive(Debug, Clone, Copy)]
pub struct SentOrder {
    pub issued: Instant,
    pub answered: Instant,
}

/// What one screen received: `(order id, arrival)` of each `order.sent` event.
#[derive(Debug, Default)]
pub struct Screen {
    /// The stream opened and said `ready`.
    pub live: bool,
    pub arrivals: Vec<(String, Instant)>,
    /// The stream ended before the bench stopped listening.
    pub ended_early: bool,
}

pub async fn run(
    api: &Api,
    orders: &Session,
    kitchen: &Session,
    kitchen_products: &[Product],
    settings: KdsSettings,
) -> anyhow::Result<KdsResult> {
    let (stop, stopped) = watch::channel(false);
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<bool>();
    let screens: Vec<_> = (0..settings.clients)
        .map(|_| {
            let api = api.clone();
            let kitchen = kitchen.clone();
            let ready = ready_tx.clone();
            let stopped = stopped.clone();
            tokio::spawn(async move { screen(&api, &kitchen, ready, stopped).await })
        })
        .collect();
    drop(ready_tx);

    let mut connected = 0;
    let mut failed_to_connect = 0;
    let deadline = tokio::time::Instant::now() + CONNECT_LIMIT;
    while connected + failed_to_connect < settings.clients {
        match tokio::time::timeout_at(deadline, ready_rx.recv()).await {
            Ok(Some(true)) => connected += 1,
            Ok(Some(false)) => failed_to_connect += 1,
            Ok(None) | Err(_) => {
                failed_to_connect = settings.clients - connected;
                break;
            }
        }
    }
    eprintln!(
        "bench: {connected} KDS streams live ({failed_to_connect} failed); sending {} orders/s for {:?}",
        settings.rate, settings.duration
    );

    let (sent, send, send_errors) = send_steadily(api, orders, kitchen_products, settings).await;
    tokio::time::sleep(GRACE).await;
    let _ = stop.send(true);
    let mut received = Vec::with_capacity(screens.len());
    for screen in screens {
        received.push(screen.await.unwrap_or_default());
    }
    // Screens that never went live expect nothing; they are counted apart.
    let live: Vec<Screen> = received.into_iter().filter(|s| s.live).collect();
    let ended_early = live.iter().filter(|s| s.ended_early).count();
    let deliveries = tally(&sent, &live);
    Ok(KdsResult {
        clients: settings.clients,
        failed_to_connect,
        ended_early,
        rate_per_second: settings.rate,
        seconds: settings.duration.as_secs_f64(),
        orders_sent: sent.len(),
        send_errors,
        send: send.summary(),
        delay_from_send_issued: deliveries.from_issued.summary(),
        delay_from_send_answered: deliveries.from_answered.summary(),
        arrived_before_answer: deliveries.before_answer,
        deliveries: deliveries.from_issued.len(),
        expected_deliveries: sent.len() * connected,
        missed: deliveries.missed.iter().sum(),
        screens_missing_events: deliveries.missed.iter().filter(|&&m| m > 0).count(),
        most_missed_by_one_screen: deliveries.missed.iter().copied().max().unwrap_or(0),
        duplicates: deliveries.duplicates,
    })
}

/// One kitchen screen: opens the stream, says whether it went live, then records every
/// `order.sent` until told to stop.
async fn screen(
    api: &Api,
    kitchen: &Session,
    ready: mpsc::UnboundedSender<bool>,
    mut stopped: watch::Receiver<bool>,
) -> Screen {
    let mut record = Screen::default();
    let mut response = match api.open_kds_stream(kitchen, STATION).await {
        Ok(response) => response,
        Err(error) => {
            eprintln!("bench: a KDS stream did not open: {error:#}");
            let _ = ready.send(false);
            return record;
        }
    };
    let mut parser = SseParser::default();
    loop {
        tokio::select! {
            chunk = response.chunk() => {
                let Ok(Some(bytes)) = chunk else {
                    if !record.live {
                        let _ = ready.send(false);
                    }
                    record.ended_early = true;
                    break;
                };
                let arrived = Instant::now();
                for event in parser.feed(&bytes) {
                    match event.event.as_str() {
                        "ready" if !record.live => {
                            record.live = true;
                            let _ = ready.send(true);
                        }
                        "order.sent" => {
                            if let Some(order_id) = order_id_of(&event.data) {
                                record.arrivals.push((order_id, arrived));
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ = stopped.changed() => break,
        }
    }
    record
}

/// The `payload.order_id` of an event's data.
fn order_id_of(data: &str) -> Option<String> {
    let data: serde_json::Value = serde_json::from_str(data).ok()?;
    data["payload"]["order_id"].as_str().map(str::to_owned)
}

/// Creates and sends orders of kitchen products at `settings.rate` per second; each send is
/// its own task, so a slow answer does not hold the next send back.
async fn send_steadily(
    api: &Api,
    orders: &Session,
    kitchen_products: &[Product],
    settings: KdsSettings,
) -> (HashMap<String, SentOrder>, Samples, BTreeMap<String, u64>) {
    let total = (f64::from(settings.rate) * settings.duration.as_secs_f64()).round() as usize;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(settings.rate.max(1))));
    let session = Arc::new(orders.clone());
    let products: Arc<Vec<Product>> = Arc::new(kitchen_products.to_vec());
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        ticks.tick().await;
        let api = api.clone();
        let session = session.clone();
        let products = products.clone();
        tasks.push(tokio::spawn(async move {
            let choice = pick(&products, n);
            let order_id = api
                .create_order(&session, &choice)
                .await
                .map_err(|f| ("create", f))?;
            let issued = Instant::now();
            api.send_order(&session, &order_id)
                .await
                .map_err(|f| ("send", f))?;
            Ok::<_, (&str, Failure)>((
                order_id,
                SentOrder {
                    issued,
                    answered: Instant::now(),
                },
            ))
        }));
    }
    let mut sent = HashMap::with_capacity(total);
    let mut send = Samples::default();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for task in tasks {
        match task.await {
            Ok(Ok((order_id, order))) => {
                send.record(order.answered - order.issued);
                sent.insert(order_id, order);
            }
            Ok(Err((call, failure))) => *errors.entry(format!("{call}: {failure}")).or_default() += 1,
            Err(error) => *errors.entry(format!("sender failed: {error}")).or_default() += 1,
        }
    }
    (sent, send, errors)
}

#[derive(Debug, Default)]
struct Deliveries {
    from_issued: Samples,
    from_answered: Samples,
    before_answer: u64,
    /// Per screen, the sent orders whose event it never got.
    missed: Vec<usize>,
    duplicates: usize,
}

/// Matches each screen's arrivals with the sends. Events of orders the bench did not send
/// (other traffic on the server) are ignored.
fn tally(sent: &HashMap<String, SentOrder>, screens: &[Screen]) -> Deliveries {
    let mut deliveries = Deliveries::default();
    for screen in screens {
        let mut seen: HashSet<&str> = HashSet::with_capacity(sent.len());
        for (order_id, arrived) in &screen.arrivals {
            let Some(order) = sent.get(order_id) else {
                continue;
            };
            if !seen.insert(order_id) {
                deliveries.duplicates += 1;
                continue;
            }
            deliveries
                .from_issued
                .record(arrived.saturating_duration_since(order.issued));
            deliveries
                .from_answered
                .record(arrived.saturating_duration_since(order.answered));
            if *arrived < order.answered {
                deliveries.before_answer += 1;
            }
        }
        deliveries.missed.push(sent.len() - seen.len());
    }
    deliveries
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_order_id_comes_from_the_payload() {
        let data = r#"{"id":8,"type":"order.sent","topic":"kds","station":"kitchen","occurred_at":"2026-01-01T00:00:00Z","payload":{"order_id":"0193b5e4-6f7a-7c3e-9a51-0c2f3d4e5f60","number":1}}"#;
        assert_eq!(
            order_id_of(data).as_deref(),
            Some("0193b5e4-6f7a-7c3e-9a51-0c2f3d4e5f60")
        );
        assert_eq!(order_id_of(r#"{"id":9,"payload":{}}"#), None);
        assert_eq!(order_id_of("not json"), None);
    }

    #[test]
    fn deliveries_are_matched_per_screen_with_misses_and_duplicates() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let sent: HashMap<String, SentOrder> = [
            (
                "a".to_owned(),
                SentOrder {
                    issued: ms(0),
                    answered: ms(10),
                },
            ),
            (
                "b".to_owned(),
                SentOrder {
                    issued: ms(100),
                    answered: ms(104),
                },
            ),
        ]
        .into();
        let screens = [
            Screen {
                live: true,
                // `b` arrived before its send answered; `x` is someone else's order.
                arrivals: vec![("a".into(), ms(12)), ("x".into(), ms(50)), ("b".into(), ms(103))],
                ended_early: false,
            },
            Screen {
                live: true,
                arrivals: vec![("a".into(), ms(30)), ("a".into(), ms(31))],
                ended_early: true,
            },
        ];
        let d = tally(&sent, &screens);
        assert_eq!(d.missed, [0, 1]);
        assert_eq!(d.duplicates, 1);
        assert_eq!(d.before_answer, 1);
        let issued = d.from_issued.summary().unwrap();
        assert_eq!(issued.count, 3);
        assert_eq!((issued.p50_ms, issued.max_ms), (12.0, 30.0));
        let answered = d.from_answered.summary().unwrap();
        assert_eq!(
            (answered.p50_ms, answered.max_ms),
            (2.0, 20.0),
            "the early one counts as 0"
        );
    }
}
