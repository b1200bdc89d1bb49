//! [`Publisher`]: the bus as services see it. Publishing hands the event to a queue and
//! returns at once; one task per publisher drains the queue onto the real bus. An answer
//! therefore never waits on the bus: the event log is the truth, and every instance's
//! fan-out finds on its tick whatever a slow or frozen bus did not deliver.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use pos_domain::BusError;
use pos_domain::event::Event;
use pos_domain::ports::{BusMessage, EventBus};
use tokio::sync::mpsc;

/// Events waiting for the bus; beyond this the newest are dropped (the log keeps them).
const QUEUE: usize = 4096;

/// See the module documentation.
pub struct Publisher {
    inner: Arc<dyn EventBus>,
    queue: mpsc::Sender<Event>,
    /// The queue's other end until the first publish starts the draining task (it needs a
    /// runtime, which building the publisher does not).
    waiting: Mutex<Option<mpsc::Receiver<Event>>>,
}

impl Publisher {
    pub fn new(inner: Arc<dyn EventBus>) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        Self {
            inner,
            queue,
            waiting: Mutex::new(Some(receiver)),
        }
    }

    fn start_draining(&self) {
        let receiver = self.waiting.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(receiver) = receiver {
            tokio::spawn(drain(Arc::clone(&self.inner), receiver));
        }
    }
}

/// Publishes in order. After a failure the events queued meanwhile are dropped rather than
/// each waiting out the bus's timeout: the fan-outs read them from the log.
async fn drain(bus: Arc<dyn EventBus>, mut queue: mpsc::Receiver<Event>) {
    while let Some(event) = queue.recv().await {
        if let Err(error) = bus.publish(&event).await {
            let mut dropped = 0_usize;
            while queue.try_recv().is_ok() {
                dropped += 1;
            }
            tracing::warn!(%error, event_id = event.id, dropped, "events not published; streams pick them up from the log");
        }
    }
}

#[async_trait]
impl EventBus for Publisher {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        self.start_draining();
        self.queue
            .try_send(event.clone())
            .map_err(|_| BusError::Unavailable("the bus is behind; the event is in the log".into()))
    }

    fn subscribe(&self) -> BoxStream<'static, BusMessage> {
        self.inner.subscribe()
    }

    async fn status(&self) -> &'static str {
        self.inner.status().await
    }
}
