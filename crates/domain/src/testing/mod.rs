//! Test support (feature `testing`, and this crate's own tests): an in-memory fake of the
//! order ports that follows their transaction recipe, a clock tests move by hand, an event
//! bus that records what it was given, and the contract every order store must meet
//! ([`contract`]), so the PostgreSQL adapter can run the same checks as the fake.

mod fake;
mod fake_auth;
mod reports;
mod shifts;

pub mod contract;
pub mod contract_auth;

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use futures_core::Stream;
use futures_core::stream::BoxStream;

use crate::error::BusError;
use crate::event::Event;
use crate::ports::{BusMessage, Clock, EventBus};

pub use fake::InMemoryStore;
pub use fake_auth::{FAKE_PIN_PEPPER, InMemoryAuthStore, PlainSecrets};
pub use reports::UnusedReportStore;
pub use shifts::UnusedShiftStore;

/// A clock that stands still until told to move. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An event bus that keeps what is published, and can be told to be down.
#[derive(Debug, Default)]
pub struct RecordingBus {
    published: Mutex<Vec<Event>>,
    down: AtomicBool,
}

impl RecordingBus {
    pub fn published(&self) -> Vec<Event> {
        self.published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// While down, `publish` answers `BusError::Unavailable` and keeps nothing.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

/// A subscription that ends at once: the recording bus fans nothing out.
struct Ended;

impl Stream for Ended {
    type Item = BusMessage;
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<BusMessage>> {
        Poll::Ready(None)
    }
}

#[async_trait]
impl EventBus for RecordingBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BusError::Unavailable("recording bus is down".into()));
        }
        self.published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
        Ok(())
    }

    fn subscribe(&self) -> BoxStream<'static, BusMessage> {
        Box::pin(Ended)
    }

    async fn status(&self) -> &'static str {
        if self.down.load(Ordering::SeqCst) {
            "down"
        } else {
            "ok"
        }
    }
}
