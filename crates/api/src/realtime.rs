//! Realtime: the event log streamed to clients as server-sent events (spec §5).
//!
//! - [`InProcessBus`]: the event bus of a single instance (no REDIS_URL); `pos-redis`
//!   provides the shared one. Services publish what they committed through a [`Publisher`],
//!   which never makes an answer wait on the bus; the bus only wakes fan-outs up, the log
//!   stays the truth.
//! - [`Realtime`]: one per instance. Its fan-out task follows the log with a gap-free
//!   cursor and hands each new event to the instance's streams; [`Realtime::stream`] is one
//!   client's SSE body: missed events from the log, then live ones, no gap, no duplicate.
//! - [`MemoryEventLog`]: an in-memory log for tests and database-less runs.

#[cfg(test)]
mod fan_out_tests;
mod frame;
mod hub;
mod memory;
mod publisher;
mod stream;

use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use pos_domain::BusError;
use pos_domain::event::Event;
use pos_domain::ports::{BusMessage, EventBus};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

pub use hub::{LiveEvent, Realtime, RealtimeConfig};
pub use memory::MemoryEventLog;
pub use publisher::Publisher;
pub use stream::{EventStream, StreamFilter, TOPICS};

/// Publishes events just committed, so every instance's fan-out looks at the log now rather
/// than at its next tick. Best effort: after a failure the rest are not tried (the bus is
/// down; fan-outs find the events on their tick). Services go through [`Publisher`] instead,
/// so that no answer waits on this.
pub async fn publish_committed(bus: &dyn EventBus, events: &[Event]) {
    for event in events {
        if let Err(error) = bus.publish(event).await {
            tracing::warn!(%error, event_id = event.id, "event not published; streams pick it up from the log");
            return;
        }
    }
}

/// A tokio broadcast channel behind the `EventBus` port. A subscriber that falls more than
/// `capacity` events behind receives `BusMessage::Lagged` and re-reads the log.
#[derive(Debug, Clone)]
pub struct InProcessBus {
    sender: broadcast::Sender<Event>,
}

impl InProcessBus {
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// `capacity` is clamped to at least 1 (tokio refuses 0).
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self { sender }
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        // No subscriber is not a failure: nobody is watching, the event is in the log.
        let _ = self.sender.send(event.clone());
        Ok(())
    }

    fn subscribe(&self) -> BoxStream<'static, BusMessage> {
        BroadcastStream::new(self.sender.subscribe())
            .map(|received| match received {
                Ok(event) => BusMessage::Event(event),
                Err(BroadcastStreamRecvError::Lagged(skipped)) => BusMessage::Lagged { skipped },
            })
            .boxed()
    }

    async fn status(&self) -> &'static str {
        "disabled"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn event(id: i64) -> Event {
        Event {
            id,
            event_type: "order.sent".into(),
            topic: "orders".into(),
            station: None,
            payload: serde_json::json!({ "n": id }),
            occurred_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn every_subscriber_receives_what_is_published_after_it_subscribed() {
        let bus = InProcessBus::default();
        bus.publish(&event(1)).await.unwrap(); // nobody listening: fine, and not replayed
        let mut first = bus.subscribe();
        let mut second = bus.subscribe();
        let (two, three) = (event(2), event(3));
        bus.publish(&two).await.unwrap();
        bus.publish(&three).await.unwrap();
        for stream in [&mut first, &mut second] {
            assert_eq!(stream.next().await, Some(BusMessage::Event(two.clone())));
            assert_eq!(stream.next().await, Some(BusMessage::Event(three.clone())));
        }
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_how_much_it_missed() {
        let bus = InProcessBus::new(4);
        let mut slow = bus.subscribe();
        for id in 1..=10 {
            bus.publish(&event(id)).await.unwrap();
        }
        assert_eq!(slow.next().await, Some(BusMessage::Lagged { skipped: 6 }));
        assert!(matches!(slow.next().await, Some(BusMessage::Event(e)) if e.id == 7));
    }

    #[tokio::test]
    async fn reports_itself_disabled_for_health() {
        assert_eq!(InProcessBus::default().status().await, "disabled");
    }
}
