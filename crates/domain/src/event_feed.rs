//! Reading the event log: what the realtime feed is built on.
//!
//! The log is the truth; a bus only wakes readers up. A reader follows the log with an
//! [`EventCursor`], which hands out every committed event exactly once and in id order,
//! even though ids may become visible out of order (a transaction that drew a smaller id
//! can commit after one that drew a larger id).

use async_trait::async_trait;

use crate::error::StoreError;
use crate::event::Event;

/// Reads the event log.
#[async_trait]
pub trait EventFeed: Send + Sync {
    /// The id of the newest committed event, 0 when the log is empty.
    async fn last_event_id(&self) -> Result<i64, StoreError>;

    /// The newest committed event id, returned once every transaction that was writing
    /// when it was read has ended (at once, usually; a long-running writer delays it). No
    /// event at or below it can still commit, so a cursor started there misses nothing.
    async fn settled_last_event_id(&self) -> Result<i64, StoreError>;

    /// Up to `limit` committed events with an id above `after`, oldest first, as visible
    /// now. A raw read: an event still committing may appear later with a smaller id than
    /// one returned here. Exact only below the position of a cursor that has already
    /// passed that range (every id there is then committed or never will be).
    async fn events_after(&self, after: i64, limit: usize) -> Result<Vec<Event>, StoreError>;

    /// A cursor positioned after event id `after` (0: from the beginning of the log).
    fn follower(&self, after: i64) -> Box<dyn EventCursor>;
}

/// Follows the log in id order, with no gap and no duplicate.
#[async_trait]
pub trait EventCursor: Send {
    /// The next events, oldest first, at most `limit`. Returns fewer (possibly none) while
    /// an earlier id may still commit: poll again later. On error the position is unchanged.
    async fn poll(&mut self, limit: usize) -> Result<Vec<Event>, StoreError>;

    /// The id of the last event handed out (or passed as never committed).
    fn position(&self) -> i64;

    /// Whether the cursor is holding back at an id that a running transaction may still
    /// commit; such a wait usually ends within milliseconds, so poll again soon.
    fn is_waiting(&self) -> bool;
}
