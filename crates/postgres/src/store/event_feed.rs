//! The domain's [`EventFeed`] over the event log: cursors are [`EventFollower`]s polled on
//! pooled connections.

use std::time::Duration;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Integer, Text};
use pos_domain::StoreError;
use pos_domain::event::Event;
use pos_domain::event_feed::{EventCursor, EventFeed};

use super::PgStore;
use super::events::EventFollower;
use crate::error::DbError;

/// Bounds a caller's `usize` limit to what a SQL LIMIT takes.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// How often `settled_last_event_id` looks whether the writers it waits for have ended.
const SETTLE_POLL: Duration = Duration::from_millis(5);

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
struct Writer {
    #[diesel(sql_type = Integer)]
    pid: i32,
    #[diesel(sql_type = Text)]
    xid: String,
}

/// Transactions of this database that hold an xid now, other than the caller's: the same
/// rule `EventFollower` uses (every append takes its xid before drawing its id).
fn running_writers(conn: &mut PgConnection) -> QueryResult<Vec<Writer>> {
    sql_query(
        "SELECT pid, backend_xid::text AS xid FROM pg_stat_activity \
         WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
    )
    .load(conn)
}

#[derive(QueryableByName)]
struct LastId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[async_trait]
impl EventFeed for PgStore {
    async fn last_event_id(&self) -> Result<i64, StoreError> {
        PgStore::last_event_id(self).await
    }

    async fn settled_last_event_id(&self) -> Result<i64, StoreError> {
        // The writers are read AFTER the id: whoever holds a smaller id drew it before that
        // id was drawn and committed, so it had its xid by then and is either among them
        // or already finished.
        let (last, writers) = self
            .interact(|conn| {
                let last =
                    sql_query("SELECT coalesce(max(id), 0) AS id FROM events").get_result::<LastId>(conn)?;
                let writers = running_writers(conn)?;
                Ok::<_, DbError>((last.id, writers))
            })
            .await?;
        let mut waited = Duration::ZERO;
        while !writers.is_empty() {
            let running = self.interact(|conn| Ok(running_writers(conn)?)).await?;
            if writers.iter().all(|w| !running.contains(w)) {
                break;
            }
            if waited == Duration::from_secs(5) {
                tracing::warn!(
                    last,
                    "still waiting for running transactions before following the event log"
                );
            }
            tokio::time::sleep(SETTLE_POLL).await;
            waited += SETTLE_POLL;
        }
        Ok(last)
    }

    async fn events_after(&self, after: i64, limit: usize) -> Result<Vec<Event>, StoreError> {
        PgStore::events_after(self, after, sql_limit(limit)).await
    }

    fn follower(&self, after: i64) -> Box<dyn EventCursor> {
        Box::new(PgEventCursor {
            store: self.clone(),
            follower: EventFollower::new(after),
        })
    }
}

/// An [`EventFollower`] with the store it polls.
#[derive(Debug)]
pub struct PgEventCursor {
    store: PgStore,
    follower: EventFollower,
}

#[async_trait]
impl EventCursor for PgEventCursor {
    async fn poll(&mut self, limit: usize) -> Result<Vec<Event>, StoreError> {
        // `follow_events` consumes the follower and loses it on error: hand it a copy so a
        // failed poll leaves this cursor where it was.
        let (advanced, events) = self
            .store
            .follow_events(self.follower.clone(), sql_limit(limit))
            .await?;
        self.follower = advanced;
        Ok(events)
    }

    fn position(&self) -> i64 {
        self.follower.position()
    }

    fn is_waiting(&self) -> bool {
        // A follower differs from a fresh one at its own position only by the gap it is
        // waiting on.
        self.follower != EventFollower::new(self.follower.position())
    }
}
