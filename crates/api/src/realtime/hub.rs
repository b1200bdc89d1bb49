//! The per-instance fan-out: one task follows the event log with a cursor and hands every
//! new event, once and in id order, to this instance's live streams.
//!
//! The log is the truth; the bus only says "look now". Any bus message (an event from any
//! instance, `Lagged`, `Reconnected`) makes the task poll its cursor, and a tick polls
//! anyway, so events appended while Redis is down, or by another process, still arrive.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use pos_domain::StoreError;
use pos_domain::event::Event;
use pos_domain::event_feed::{EventCursor, EventFeed};
use pos_domain::ports::{BusMessage, EventBus};
use pos_domain::staff::Station;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use super::frame::event_frame;

/// Tuning of the realtime feed; `Default` is production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealtimeConfig {
    /// Interval of the `: ping` comment on every stream (proxies close idle connections,
    /// and a failed write is how a gone client is noticed).
    pub heartbeat: Duration,
    /// How often the fan-out polls the log without being woken: the safety net while the
    /// bus is down, and what picks up events appended by processes that did not publish.
    pub tick: Duration,
    /// Live events buffered per stream before it is told it lagged and re-reads the log.
    pub capacity: usize,
    /// Events read from the log per query.
    pub batch: usize,
    /// A stream that lags this many ids behind is closed with a `retry:` hint instead of
    /// catching up in place; its client reconnects with `Last-Event-ID` and resumes.
    pub max_catch_up: i64,
    /// The reconnection delay suggested when a stream is closed on purpose.
    pub retry_hint: Duration,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(15),
            tick: Duration::from_millis(500),
            capacity: 4096,
            batch: 500,
            max_catch_up: 10_000,
            retry_hint: Duration::from_secs(1),
        }
    }
}

/// An event as every live stream receives it: what filters look at, and the SSE frame
/// rendered once for all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    pub id: i64,
    pub topic: String,
    pub station: Option<Station>,
    pub frame: Bytes,
}

impl LiveEvent {
    pub fn of(event: &Event) -> LiveEvent {
        LiveEvent {
            id: event.id,
            topic: event.topic.clone(),
            station: event.station,
            frame: event_frame(event),
        }
    }
}

/// What the fan-out task shares with the streams.
pub(super) struct Shared {
    pub(super) live: broadcast::Sender<Arc<LiveEvent>>,
    /// The id up to which the fan-out has handed events to `live` (or is about to): every
    /// id at or below it is committed or never will be.
    position: AtomicI64,
}

impl Shared {
    pub(super) fn position(&self) -> i64 {
        self.position.load(Ordering::SeqCst)
    }

    fn hand_out(&self, events: &[Event]) {
        let Some(last) = events.last() else { return };
        // Stored BEFORE sending: a stream that subscribes and then reads the position is
        // sure that everything sent before it subscribed is at or below what it read, so
        // re-reading the log up to there and then following `live` leaves no gap.
        self.position.store(last.id, Ordering::SeqCst);
        for event in events {
            // An error only means no stream is listening right now.
            let _ = self.live.send(Arc::new(LiveEvent::of(event)));
        }
    }
}

struct Hub {
    feed: Arc<dyn EventFeed>,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    fan_out: Mutex<Option<JoinHandle<()>>>,
    config: RealtimeConfig,
}

/// The realtime feed of this instance: the fan-out task and what streams need. Cheap to
/// clone; lives in `AppState`.
///
/// `start_fan_out` once at start-up; `shutdown` when the server is asked to stop, so open
/// streams end and graceful shutdown does not wait for them.
#[derive(Clone)]
pub struct Realtime {
    hub: Arc<Hub>,
}

impl std::fmt::Debug for Realtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realtime")
            .field("position", &self.position())
            .field("streams", &self.hub.shared.live.receiver_count())
            .finish_non_exhaustive()
    }
}

impl Realtime {
    /// A feed over `feed` whose fan-out is not running yet: nothing goes live until
    /// [`Realtime::start_fan_out`].
    pub fn new(feed: Arc<dyn EventFeed>, config: RealtimeConfig) -> Realtime {
        let (live, _) = broadcast::channel(config.capacity.max(1));
        let (shutdown, _) = watch::channel(false);
        Realtime {
            hub: Arc::new(Hub {
                feed,
                shared: Arc::new(Shared {
                    live,
                    position: AtomicI64::new(0),
                }),
                shutdown,
                fan_out: Mutex::new(None),
                config,
            }),
        }
    }

    /// Positions the fan-out at the newest settled event and spawns it on the current tokio
    /// runtime, woken by `bus`. Returns once it is positioned: from then on every event
    /// appended to the log reaches this instance's streams. A second call does nothing.
    pub async fn start_fan_out(&self, bus: Arc<dyn EventBus>) -> Result<(), StoreError> {
        if self.fan_out_slot().is_some() {
            return Ok(());
        }
        // Subscribed before positioning, so no wake-up after the position is missed.
        let wake_ups = bus.subscribe();
        let start = self.hub.feed.settled_last_event_id().await?;
        self.hub.shared.position.store(start, Ordering::SeqCst);
        let cursor = self.hub.feed.follower(start);
        let task = tokio::spawn(fan_out(
            cursor,
            wake_ups,
            self.hub.shared.clone(),
            self.hub.shutdown.subscribe(),
            self.hub.config.clone(),
        ));
        let mut slot = self.fan_out_slot();
        match slot.as_ref() {
            // Lost a race with a concurrent start: keep the first fan-out.
            Some(_) => task.abort(),
            None => *slot = Some(task),
        }
        tracing::info!(position = start, "realtime fan-out started");
        Ok(())
    }

    fn fan_out_slot(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        // The slot only ever holds a handle; a poisoned lock still holds a valid one.
        self.hub
            .fan_out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The id up to which events have been handed to this instance's streams.
    pub fn position(&self) -> i64 {
        self.hub.shared.position()
    }

    /// Live streams open on this instance.
    pub fn stream_count(&self) -> usize {
        self.hub.shared.live.receiver_count()
    }

    /// Ends the fan-out and every open stream (promptly: graceful shutdown must not wait
    /// for clients that would never leave by themselves), and waits for the fan-out to stop.
    pub async fn shutdown(&self) {
        self.hub.shutdown.send_replace(true);
        let task = self.fan_out_slot().take();
        if let Some(task) = task
            && let Err(error) = task.await
            && error.is_panic()
        {
            tracing::error!(%error, "realtime fan-out panicked");
        }
    }

    pub fn is_shut_down(&self) -> bool {
        *self.hub.shutdown.borrow()
    }

    pub(super) fn feed(&self) -> &Arc<dyn EventFeed> {
        &self.hub.feed
    }

    pub(super) fn shared(&self) -> &Shared {
        &self.hub.shared
    }

    pub(super) fn config(&self) -> &RealtimeConfig {
        &self.hub.config
    }

    pub(super) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.hub.shutdown.subscribe()
    }
}

/// Resolves once shutdown is asked for (or the feed is gone).
pub(super) async fn shutdown_requested(mut signal: watch::Receiver<bool>) {
    // `wait_for` errs only when the sender (the hub) is dropped: that ends things too.
    let _ = signal.wait_for(|stop| *stop).await;
}

/// Shortest wait before re-polling a cursor that holds back for a running transaction;
/// doubled while the wait lasts, up to the tick.
const GAP_RETRY: Duration = Duration::from_millis(5);

async fn fan_out(
    mut cursor: Box<dyn EventCursor>,
    mut wake_ups: BoxStream<'static, BusMessage>,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
    config: RealtimeConfig,
) {
    let stop = shutdown_requested(shutdown);
    tokio::pin!(stop);
    let mut bus_open = true;
    let mut gap_retry = GAP_RETRY;
    let mut failing = false;
    loop {
        match drain(cursor.as_mut(), &shared, config.batch).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!(
                    position = cursor.position(),
                    "realtime fan-out reads the event log again"
                );
            }
            Ok(()) => {}
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "realtime fan-out cannot read the event log; retrying");
            }
            Err(_) => {}
        }
        let wait = if cursor.is_waiting() && !failing {
            let wait = gap_retry;
            gap_retry = (gap_retry * 2).min(config.tick);
            wait
        } else {
            gap_retry = GAP_RETRY;
            config.tick
        };
        tokio::select! {
            () = &mut stop => break,
            message = wake_ups.next(), if bus_open => {
                if message.is_none() {
                    tracing::warn!("event bus subscription ended; the fan-out polls on its tick only");
                    bus_open = false;
                }
            }
            () = tokio::time::sleep(wait) => {}
        }
        // A burst of publishes is one poll, not one per message.
        while bus_open {
            match wake_ups.next().now_or_never() {
                Some(Some(_)) => {}
                Some(None) => bus_open = false,
                None => break,
            }
        }
    }
    tracing::debug!(position = cursor.position(), "realtime fan-out stopped");
}

/// Polls until the cursor has nothing more to hand out right now.
async fn drain(cursor: &mut dyn EventCursor, shared: &Shared, batch: usize) -> Result<(), StoreError> {
    let batch = batch.max(1);
    loop {
        let events = cursor.poll(batch).await?;
        shared.hand_out(&events);
        if events.len() < batch {
            return Ok(());
        }
    }
}
