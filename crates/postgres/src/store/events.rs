//! The event log. Appending happens inside the transaction of the change it records, so an
//! event exists exactly when its change does.
//!
//! Ids come from a sequence, so they are drawn in one order and committed in another: a
//! reader that has seen id 11 may see id 10 appear a moment later (its transaction was still
//! running), and ids of rolled-back transactions never appear. [`EventFollower`] reads the
//! log in id order without ever skipping an event that commits late, and without making
//! writers wait for each other:
//!
//! - every append first makes sure its transaction has an xid (`pg_current_xact_id()`)
//!   and only then draws its id (sequence with CACHE 1: ids are drawn in time order);
//! - when the follower sees id `g` missing while a later id is visible, the holder of `g`
//!   (if any) drew it before that later id was drawn and committed, so the holder already
//!   had an xid then. The follower notes every transaction of this database that holds an
//!   xid right after that read; once none of them is still running, a `g` that is still
//!   missing was rolled back and is skipped. Only this database's writers count, so a long
//!   transaction elsewhere on the server never stalls the feed.

use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Array, BigInt, Integer, Jsonb, Nullable, Text, Timestamptz};
use pos_domain::StoreError;
use pos_domain::event::{Event, NewEvent};

use super::PgStore;
use crate::error::DbError;
use crate::prepared::{Prepared, statement};
use crate::rows::{EventRow, NewEventRow};
use crate::schema::events;

/// Appends `event` in the caller's transaction (call it inside one) and returns it with its
/// id. Writers never wait for each other here.
pub fn append_event(conn: &mut PgConnection, event: &NewEvent) -> QueryResult<Event> {
    // The xid must exist before the id is drawn: that is what lets EventFollower tell a
    // late commit from a rollback. A no-op when the transaction has written already.
    sql_query("SELECT pg_current_xact_id()").execute(conn)?;
    let (id, occurred_at) = diesel::insert_into(events::table)
        .values(NewEventRow::from_domain(event))
        .returning((events::id, events::occurred_at))
        .get_result(conn)?;
    Ok(appended(event, id, occurred_at))
}

/// `event` as the log holds it once appended.
fn appended(event: &NewEvent, id: i64, occurred_at: chrono::DateTime<chrono::Utc>) -> Event {
    Event {
        id,
        event_type: event.event_type.clone(),
        topic: event.topic.clone(),
        station: event.station,
        payload: event.payload.clone(),
        occurred_at,
    }
}

/// Appends `new`, in order, in one statement, for a transaction that has written already
/// (so its xid exists before the ids are drawn, as [`append_event`] ensures otherwise).
pub(crate) fn append_events_after_write(
    conn: &mut PgConnection,
    new: &[NewEvent],
) -> QueryResult<Vec<Event>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(QueryableByName)]
    struct Drawn {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Timestamptz)]
        occurred_at: chrono::DateTime<chrono::Utc>,
    }
    let rows: Vec<NewEventRow<'_>> = new.iter().map(NewEventRow::from_domain).collect();
    let types: Vec<&str> = rows.iter().map(|r| r.event_type).collect();
    let topics: Vec<&str> = rows.iter().map(|r| r.topic).collect();
    let stations: Vec<Option<&str>> = rows.iter().map(|r| r.station).collect();
    let payloads: Vec<&serde_json::Value> = rows.iter().map(|r| r.payload).collect();
    let mut drawn: Vec<Drawn> = Prepared::<AppendEvents>::new()
        .bind::<Array<Text>, _>(&types)
        .bind::<Array<Text>, _>(&topics)
        .bind::<Array<Nullable<Text>>, _>(&stations)
        .bind::<Array<Jsonb>, _>(&payloads)
        .load(conn)?;
    // One statement draws its ids in the order of its rows; RETURNING's order is not
    // promised, the ids' is.
    drawn.sort_unstable_by_key(|d| d.id);
    Ok(new
        .iter()
        .zip(drawn)
        .map(|(event, d)| appended(event, d.id, d.occurred_at))
        .collect())
}

statement!(
    /// A group's events, one array per column: the same text (prepared once) for any count.
    AppendEvents = "INSERT INTO events (event_type, topic, station, payload) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) \
         RETURNING id, occurred_at"
);

/// Up to `limit` committed events with an id above `after`, oldest first, as visible now.
/// A raw read: an event still being committed may appear later with a smaller id than one
/// returned here. To follow the log without gaps, use [`EventFollower`].
pub fn events_after(conn: &mut PgConnection, after: i64, limit: i64) -> Result<Vec<Event>, DbError> {
    let rows: Vec<EventRow> = events::table
        .filter(events::id.gt(after))
        .order(events::id.asc())
        .limit(limit.max(0))
        .select(EventRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|row| row.into_event().map_err(DbError::from))
        .collect()
}

/// Reads the log in id order, handing out each committed event exactly once and never
/// skipping one that commits late (see the module docs). One follower per consumer; prefer
/// one per instance (a fan-out task) over one per client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFollower {
    position: i64,
    gap: Option<Gap>,
}

/// The id after `position` was missing while a later one was visible; `writers` are the
/// transactions (backend pid, xid) that may still hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Gap {
    first_missing: i64,
    writers: Vec<Writer>,
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
struct Writer {
    #[diesel(sql_type = Integer)]
    pid: i32,
    #[diesel(sql_type = Text)]
    xid: String,
}

/// Transactions of this database that hold an xid now, other than the caller's.
fn running_writers(conn: &mut PgConnection) -> QueryResult<Vec<Writer>> {
    sql_query(
        "SELECT pid, backend_xid::text AS xid FROM pg_stat_activity \
         WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
    )
    .load(conn)
}

impl EventFollower {
    /// Starts after event id `after` (0: from the beginning).
    pub fn new(after: i64) -> EventFollower {
        EventFollower {
            position: after,
            gap: None,
        }
    }

    /// The id of the last event handed out (what a client resumes from).
    pub fn position(&self) -> i64 {
        self.position
    }

    /// The next events that are safe to hand out, in id order, at most `limit`. Returns
    /// fewer (possibly none) while an earlier id may still commit; poll again later.
    pub fn poll(&mut self, conn: &mut PgConnection, limit: i64) -> Result<Vec<Event>, DbError> {
        // Checked BEFORE reading: if every writer that could hold the missing id has ended,
        // the read below sees that id if it was committed.
        let gap_settled = match &self.gap {
            Some(gap) => {
                let running = running_writers(conn)?;
                gap.writers.iter().all(|w| !running.contains(w))
            }
            None => false,
        };
        let rows: Vec<EventRow> = events::table
            .filter(events::id.gt(self.position))
            .order(events::id.asc())
            .limit(limit.max(0))
            .select(EventRow::as_select())
            .load(conn)?;
        let mut ready = Vec::with_capacity(rows.len());
        for row in rows {
            let expected = self.position + 1;
            if row.id != expected {
                let settled_here =
                    gap_settled && self.gap.as_ref().is_some_and(|gap| gap.first_missing == expected);
                if !settled_here {
                    if self.gap.as_ref().is_none_or(|gap| gap.first_missing != expected) {
                        self.gap = Some(Gap {
                            first_missing: expected,
                            writers: running_writers(conn)?,
                        });
                    }
                    break;
                }
            }
            self.gap = None;
            self.position = row.id;
            ready.push(row.into_event()?);
        }
        Ok(ready)
    }
}

impl PgStore {
    /// Appends events that record no other change, in one transaction of their own.
    pub async fn append_events(&self, new: Vec<NewEvent>) -> Result<Vec<Event>, StoreError> {
        self.transaction(move |conn| {
            new.iter()
                .map(|event| append_event(conn, event).map_err(DbError::from))
                .collect()
        })
        .await
    }

    /// Up to `limit` events with an id above `after`, as visible now (see [`events_after`]).
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<Event>, StoreError> {
        self.interact(move |conn| events_after(conn, after, limit)).await
    }

    /// Polls `follower` on a pooled connection; returns it advanced, with the events it
    /// handed out.
    pub async fn follow_events(
        &self,
        mut follower: EventFollower,
        limit: i64,
    ) -> Result<(EventFollower, Vec<Event>), StoreError> {
        self.interact(move |conn| {
            let events = follower.poll(conn, limit)?;
            Ok((follower, events))
        })
        .await
    }

    /// The id of the newest event, 0 when the log is empty: where a fresh live stream starts.
    pub async fn last_event_id(&self) -> Result<i64, StoreError> {
        self.interact(|conn| {
            Ok(events::table
                .select(diesel::dsl::max(events::id))
                .first::<Option<i64>>(conn)?
                .unwrap_or(0))
        })
        .await
    }
}
