//! One client's stream: the events it missed, read from the log, then live ones from the
//! fan-out, with no gap and no duplicate across the switch.
//!
//! 1. Subscribe to the fan-out's live channel, THEN read its position `p`: everything the
//!    fan-out sent before the subscription is at or below `p`, everything after is in the
//!    subscription.
//! 2. Re-read the log from the client's position up to `p`. The fan-out has passed `p`, so
//!    every id up to there is committed or never will be: plain reads are exact.
//! 3. Forward live events, skipping those at or below the position already sent.
//!
//! A stream that lags behind the live channel does step 2 again from where it stands, or,
//! when hopelessly behind, ends with a `retry:` hint so its client reconnects and resumes.

use std::convert::Infallible;

use actix_web::web::Bytes;
use pos_domain::StoreError;
use pos_domain::staff::Station;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_stream::wrappers::ReceiverStream;

use super::frame::{event_frame, heartbeat_frame, ready_frame, retry_frame};
use super::hub::{LiveEvent, Realtime, shutdown_requested};

/// The topics events are published under, as stream filters name them.
pub const TOPICS: [&str; 7] = ["orders", "kds", "payments", "tables", "shifts", "menu", "print"];

/// Frames waiting for a slow client; beyond this the stream stops reading the live channel
/// (and, if that lags, catches up from the log later).
const OUTBOX: usize = 32;

/// Which events a stream carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamFilter {
    /// `None`: every topic.
    topics: Option<Vec<String>>,
    /// Events for another station are left out; events for no station pass.
    station: Option<Station>,
}

impl StreamFilter {
    /// Every event.
    pub fn all() -> StreamFilter {
        StreamFilter::default()
    }

    pub fn new(topics: Option<Vec<String>>, station: Option<Station>) -> StreamFilter {
        StreamFilter { topics, station }
    }

    pub fn admits(&self, topic: &str, station: Option<Station>) -> bool {
        let topic_ok = self
            .topics
            .as_ref()
            .is_none_or(|topics| topics.iter().any(|t| t == topic));
        let station_ok = match (self.station, station) {
            (Some(wanted), Some(of_event)) => wanted == of_event,
            _ => true,
        };
        topic_ok && station_ok
    }
}

/// Why a stream ended.
#[derive(Debug)]
enum Stop {
    ClientGone,
    /// Ended with a `retry:` hint.
    Retry(&'static str),
    FeedGone,
}

impl Realtime {
    /// The SSE body of one client: from after `since` (replayed from the log) or, without
    /// it, from now; then live until the client leaves or [`Realtime::shutdown`].
    ///
    /// Must be called inside a tokio runtime: the stream is fed by a task of its own.
    pub fn stream(&self, since: Option<i64>, filter: StreamFilter) -> ReceiverStream<Bytes> {
        let (out, frames) = mpsc::channel(OUTBOX);
        // Subscribed here, before the task reads the position (step 1).
        let live = self.shared().live.subscribe();
        let realtime = self.clone();
        tokio::spawn(async move {
            let client = out.clone();
            tokio::select! {
                () = shutdown_requested(realtime.shutdown_signal()) => {
                    tracing::debug!("realtime stream ended: shutting down");
                }
                () = client.closed() => {}
                ended = follow(&realtime, live, since, &filter, &out) => {
                    match ended {
                        Err(Stop::Retry(reason)) => tracing::debug!(reason, "realtime stream closed with a retry hint"),
                        Err(stop) => tracing::debug!(?stop, "realtime stream ended"),
                    }
                }
            }
        });
        ReceiverStream::new(frames)
    }
}

async fn send(out: &mpsc::Sender<Bytes>, frame: Bytes) -> Result<(), Stop> {
    out.send(frame).await.map_err(|_| Stop::ClientGone)
}

async fn retry(realtime: &Realtime, out: &mpsc::Sender<Bytes>, reason: &'static str) -> Stop {
    match send(out, retry_frame(reason, realtime.config().retry_hint)).await {
        Ok(()) => Stop::Retry(reason),
        Err(stop) => stop,
    }
}

async fn unavailable(realtime: &Realtime, out: &mpsc::Sender<Bytes>, error: StoreError) -> Stop {
    tracing::warn!(%error, "realtime stream cannot read the event log");
    retry(realtime, out, "event log unavailable").await
}

async fn follow(
    realtime: &Realtime,
    mut live: broadcast::Receiver<std::sync::Arc<LiveEvent>>,
    since: Option<i64>,
    filter: &StreamFilter,
    out: &mpsc::Sender<Bytes>,
) -> Result<Infallible, Stop> {
    let config = realtime.config();
    let live_from = realtime.shared().position();
    let mut position = match since {
        None => live_from,
        Some(since) if since <= live_from => since,
        // Ahead of this instance: fine if another instance is ahead (the client saw the
        // event there); an id the log never had means another database, so start afresh.
        Some(since) => match realtime.feed().last_event_id().await {
            Ok(last) if since <= last => since,
            Ok(last) => {
                tracing::info!(since, last, "resume id beyond the event log; streaming from now");
                live_from
            }
            Err(error) => return Err(unavailable(realtime, out, error).await),
        },
    };
    catch_up(realtime, &mut position, live_from, filter, out).await?;
    send(out, ready_frame(position)).await?;

    let mut heartbeat = tokio::time::interval_at(Instant::now() + config.heartbeat, config.heartbeat);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(event) => {
                    if event.id > position {
                        position = event.id;
                        if filter.admits(&event.topic, event.station) {
                            send(out, event.frame.clone()).await?;
                        }
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    let target = realtime.shared().position();
                    if target - position > config.max_catch_up {
                        tracing::info!(position, target, "realtime stream too far behind; asking the client to reconnect");
                        return Err(retry(realtime, out, "too far behind, resume with Last-Event-ID").await);
                    }
                    tracing::debug!(skipped, position, target, "realtime stream lagged; re-reading the log");
                    catch_up(realtime, &mut position, target, filter, out).await?;
                }
                Err(RecvError::Closed) => return Err(Stop::FeedGone),
            },
            _ = heartbeat.tick() => send(out, heartbeat_frame()).await?,
        }
    }
}

/// Sends what the filter admits of the log from after `position` up to `target` (a
/// position the fan-out has passed), and leaves `position` at `target`.
async fn catch_up(
    realtime: &Realtime,
    position: &mut i64,
    target: i64,
    filter: &StreamFilter,
    out: &mpsc::Sender<Bytes>,
) -> Result<(), Stop> {
    let batch = realtime.config().batch.max(1);
    while *position < target {
        let page = match realtime.feed().events_after(*position, batch).await {
            Ok(page) => page,
            Err(error) => return Err(unavailable(realtime, out, error).await),
        };
        let read_everything = page.len() < batch;
        let mut passed_target = false;
        for event in &page {
            if event.id > target {
                passed_target = true;
                break;
            }
            if filter.admits(&event.topic, event.station) {
                send(out, event_frame(event)).await?;
            }
            *position = event.id;
        }
        if read_everything || passed_target {
            // Ids up to `target` missing from this read were rolled back.
            *position = target;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_topic_and_leave_out_other_stations_only() {
        let all = StreamFilter::all();
        assert!(all.admits("payments", None));
        assert!(all.admits("kds", Some(Station::Bar)));

        let kitchen = StreamFilter::new(Some(vec!["kds".into()]), Some(Station::Kitchen));
        assert!(kitchen.admits("kds", Some(Station::Kitchen)));
        assert!(kitchen.admits("kds", None));
        assert!(!kitchen.admits("kds", Some(Station::Bar)));
        assert!(!kitchen.admits("orders", None));

        let floor = StreamFilter::new(Some(vec!["orders".into(), "tables".into()]), None);
        assert!(floor.admits("tables", None));
        assert!(floor.admits("orders", Some(Station::Bar)));
        assert!(!floor.admits("payments", None));
    }
}
