//! An event log in memory: the [`EventFeed`] of tests and of anything that runs without a
//! database. Appends commit at once and in id order, so its cursors never wait.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::Utc;
use pos_domain::StoreError;
use pos_domain::event::{Event, NewEvent};
use pos_domain::event_feed::{EventCursor, EventFeed};

#[derive(Debug, Default)]
struct Log {
    events: Vec<Event>,
    /// While set, every read fails as a database outage would.
    unavailable: bool,
}

/// Cheap to clone; clones share the log.
#[derive(Debug, Clone, Default)]
pub struct MemoryEventLog {
    log: Arc<Mutex<Log>>,
}

impl MemoryEventLog {
    pub fn new() -> MemoryEventLog {
        MemoryEventLog::default()
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        // Every mutation is a single push or flag: a poisoned lock still holds a valid log.
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `new` with the next ids (from 1) and returns the stored events.
    pub fn append(&self, new: Vec<NewEvent>) -> Vec<Event> {
        let mut log = self.lock();
        let mut appended = Vec::with_capacity(new.len());
        for event in new {
            let stored = Event {
                id: log.events.last().map_or(1, |last| last.id + 1),
                event_type: event.event_type,
                topic: event.topic,
                station: event.station,
                payload: event.payload,
                occurred_at: Utc::now(),
            };
            log.events.push(stored.clone());
            appended.push(stored);
        }
        appended
    }

    /// Makes reads fail with `StoreError::Unavailable` (true) or work again (false).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.lock().unavailable = unavailable;
    }

    fn after(&self, after: i64, limit: usize) -> Result<Vec<Event>, StoreError> {
        let log = self.lock();
        if log.unavailable {
            return Err(StoreError::Unavailable(
                "memory event log set unavailable".to_owned(),
            ));
        }
        let start = log.events.partition_point(|e| e.id <= after);
        Ok(log.events[start..].iter().take(limit).cloned().collect())
    }

    fn last(&self) -> Result<i64, StoreError> {
        let log = self.lock();
        if log.unavailable {
            return Err(StoreError::Unavailable(
                "memory event log set unavailable".to_owned(),
            ));
        }
        Ok(log.events.last().map_or(0, |e| e.id))
    }
}

#[async_trait]
impl EventFeed for MemoryEventLog {
    async fn last_event_id(&self) -> Result<i64, StoreError> {
        self.last()
    }

    async fn settled_last_event_id(&self) -> Result<i64, StoreError> {
        self.last()
    }

    async fn events_after(&self, after: i64, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.after(after, limit)
    }

    fn follower(&self, after: i64) -> Box<dyn EventCursor> {
        Box::new(MemoryCursor {
            log: self.clone(),
            position: after,
        })
    }
}

struct MemoryCursor {
    log: MemoryEventLog,
    position: i64,
}

#[async_trait]
impl EventCursor for MemoryCursor {
    async fn poll(&mut self, limit: usize) -> Result<Vec<Event>, StoreError> {
        let events = self.log.after(self.position, limit)?;
        if let Some(last) = events.last() {
            self.position = last.id;
        }
        Ok(events)
    }

    fn position(&self) -> i64 {
        self.position
    }

    fn is_waiting(&self) -> bool {
        false
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn new(n: i64) -> NewEvent {
        NewEvent::new("test.tick", "orders", serde_json::json!({ "n": n }))
    }

    #[tokio::test]
    async fn appends_in_id_order_and_cursors_follow() {
        let log = MemoryEventLog::new();
        assert_eq!(log.last_event_id().await.unwrap(), 0);
        let appended = log.append(vec![new(1), new(2), new(3)]);
        assert_eq!(appended.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(log.settled_last_event_id().await.unwrap(), 3);
        assert_eq!(log.events_after(1, 1).await.unwrap(), appended[1..2]);

        let mut cursor = log.follower(1);
        assert_eq!(cursor.poll(10).await.unwrap(), appended[1..]);
        assert_eq!(cursor.position(), 3);
        log.set_unavailable(true);
        assert!(matches!(cursor.poll(10).await, Err(StoreError::Unavailable(_))));
        assert_eq!(cursor.position(), 3);
        log.set_unavailable(false);
        let more = log.append(vec![new(4)]);
        assert_eq!(cursor.poll(10).await.unwrap(), more);
        assert!(!cursor.is_waiting());
    }
}
