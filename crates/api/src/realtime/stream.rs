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

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use pos_domain::StoreError;
use pos_domain::staff::Station;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::frame::{event_frame, heartbeat_frame, ready_frame, retry_frame};
use super::hub::{LiveEvent, Realtime};

/// The topics events are published under, as stream filters name them.
pub const TOPICS: [&str; 7] = ["orders", "kds", "payments", "tables", "shifts", "menu", "print"];

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

/// A client's stream, polled by the HTTP layer itself: no task or channel of its own, so an
/// idle stream costs only this state (10,000 idle streams are a memory aim, see
/// docs/benchmarks.md), and dropping it (the client left) ends it at once.
pub type EventStream = BoxStream<'static, Bytes>;

impl Realtime {
    /// The SSE body of one client: from after `since` (replayed from the log) or, without
    /// it, from now; then live until the client leaves or [`Realtime::shutdown`].
    ///
    /// Must be called inside a tokio runtime (the heartbeat's timer).
    pub fn stream(&self, since: Option<i64>, filter: StreamFilter) -> EventStream {
        let follower = Follower {
            // Subscribed here, before the position is read (step 1).
            live: self.shared().live.subscribe(),
            shutdown: self.shutdown_signal(),
            realtime: self.clone(),
            filter,
            position: 0,
            step: Step::Start { since },
            backlog: VecDeque::new(),
            heartbeat: heartbeat(self.config().heartbeat),
        };
        stream::unfold(follower, |mut follower| async move {
            let frame = follower.next_frame().await?;
            Some((frame, follower))
        })
        .boxed()
    }
}

fn heartbeat(every: Duration) -> Interval {
    let mut heartbeat = tokio::time::interval_at(Instant::now() + every, every);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    heartbeat
}

/// Where a stream stands.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Not started: resume after `since`, or from now.
    Start { since: Option<i64> },
    /// Re-reading the log up to `target` (step 2), then saying `ready` if `announce`.
    CatchUp { target: i64, announce: bool },
    /// Forwarding live events (step 3).
    Live,
    /// Its last frame is sent.
    Ended,
}

struct Follower {
    realtime: Realtime,
    live: broadcast::Receiver<Arc<LiveEvent>>,
    shutdown: watch::Receiver<bool>,
    filter: StreamFilter,
    /// The last event id this stream has passed (sent or filtered out).
    position: i64,
    step: Step,
    /// Frames of a log page read but not yet sent.
    backlog: VecDeque<Bytes>,
    /// First due a heartbeat period after the stream opened.
    heartbeat: Interval,
}

impl Follower {
    /// The next frame to send; `None` ends the stream.
    async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if *self.shutdown.borrow() {
                tracing::debug!("realtime stream ended: shutting down");
                return None;
            }
            if let Some(frame) = self.backlog.pop_front() {
                return Some(frame);
            }
            match self.step {
                Step::Ended => return None,
                Step::Start { since } => match self.resume_position(since).await {
                    Ok((position, target)) => {
                        self.position = position;
                        self.step = Step::CatchUp {
                            target,
                            announce: true,
                        };
                    }
                    Err(error) => return Some(self.unavailable(error)),
                },
                Step::CatchUp { target, announce } => {
                    if self.position < target {
                        if let Err(error) = self.read_log_page(target).await {
                            return Some(self.unavailable(error));
                        }
                        continue;
                    }
                    self.step = Step::Live;
                    if announce {
                        return Some(ready_frame(self.position));
                    }
                }
                Step::Live => {
                    if let Some(frame) = self.next_live().await {
                        return Some(frame);
                    }
                }
            }
        }
    }

    /// Where to start reading the log, and the fan-out's position to catch up to.
    async fn resume_position(&self, since: Option<i64>) -> Result<(i64, i64), StoreError> {
        let live_from = self.realtime.shared().position();
        let position = match since {
            None => live_from,
            Some(since) if since <= live_from => since,
            // Ahead of this instance: fine if another instance is ahead (the client saw the
            // event there); an id the log never had means another database, so start afresh.
            Some(since) => {
                let last = self.realtime.feed().last_event_id().await?;
                if since <= last {
                    since
                } else {
                    tracing::info!(since, last, "resume id beyond the event log; streaming from now");
                    live_from
                }
            }
        };
        Ok((position, live_from))
    }

    /// Queues what the filter admits of one page of the log after `position`, up to
    /// `target` (a position the fan-out has passed); at the end of the log or past `target`,
    /// leaves `position` at `target`.
    async fn read_log_page(&mut self, target: i64) -> Result<(), StoreError> {
        let batch = self.realtime.config().batch.max(1);
        let page = self.realtime.feed().events_after(self.position, batch).await?;
        let read_everything = page.len() < batch;
        let mut passed_target = false;
        for event in &page {
            if event.id > target {
                passed_target = true;
                break;
            }
            if self.filter.admits(&event.topic, event.station) {
                self.backlog.push_back(event_frame(event));
            }
            self.position = event.id;
        }
        if read_everything || passed_target {
            // Ids up to `target` missing from this read were rolled back.
            self.position = target;
        }
        Ok(())
    }

    /// Waits for the next live event this stream shows, a heartbeat, a lag (switching to
    /// catching up, `None`) or the end.
    async fn next_live(&mut self) -> Option<Bytes> {
        let received = tokio::select! {
            // `wait_for` errs only when the hub is dropped: that ends the stream too.
            _ = self.shutdown.wait_for(|stop| *stop) => None,
            _ = self.heartbeat.tick() => return Some(heartbeat_frame()),
            received = self.live.recv() => Some(received),
        };
        let Some(received) = received else {
            tracing::debug!("realtime stream ended: shutting down");
            self.step = Step::Ended;
            return None;
        };
        match received {
            Ok(event) => {
                if event.id <= self.position {
                    return None;
                }
                self.position = event.id;
                self.filter
                    .admits(&event.topic, event.station)
                    .then(|| event.frame.clone())
            }
            Err(RecvError::Lagged(skipped)) => {
                let config = self.realtime.config();
                let target = self.realtime.shared().position();
                if target - self.position > config.max_catch_up {
                    tracing::info!(
                        position = self.position,
                        target,
                        "realtime stream too far behind; asking the client to reconnect"
                    );
                    return Some(self.retry("too far behind, resume with Last-Event-ID"));
                }
                tracing::debug!(
                    skipped,
                    position = self.position,
                    target,
                    "realtime stream lagged; re-reading the log"
                );
                self.step = Step::CatchUp {
                    target,
                    announce: false,
                };
                None
            }
            Err(RecvError::Closed) => {
                tracing::debug!("realtime stream ended: the fan-out is gone");
                self.step = Step::Ended;
                None
            }
        }
    }

    /// The `retry:` hint that ends the stream.
    fn retry(&mut self, reason: &'static str) -> Bytes {
        tracing::debug!(reason, "realtime stream closed with a retry hint");
        self.step = Step::Ended;
        retry_frame(reason, self.realtime.config().retry_hint)
    }

    fn unavailable(&mut self, error: StoreError) -> Bytes {
        tracing::warn!(%error, "realtime stream cannot read the event log");
        self.retry("event log unavailable")
    }
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
