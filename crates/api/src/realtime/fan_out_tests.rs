//! The fan-out and the streams over an in-memory log and the in-process bus.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::web::Bytes;
use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use pos_domain::BusError;
use pos_domain::event::{Event, NewEvent};
use pos_domain::ports::{BusMessage, EventBus};
use pos_domain::staff::Station;

use super::*;

const WAIT: Duration = Duration::from_secs(5);

/// One frame as a client reads it.
#[derive(Debug, Clone, PartialEq)]
enum Frame {
    Event {
        id: i64,
        event_type: String,
        data: serde_json::Value,
    },
    Ready(i64),
    Ping,
    Retry(u64),
}

fn parse(frame: &Bytes) -> Frame {
    let text = std::str::from_utf8(frame).unwrap();
    assert!(text.ends_with("\n\n"), "a frame ends with a blank line: {text:?}");
    let mut id = None;
    let mut event_type = None;
    let mut data = None;
    let mut retry = None;
    let mut comment = None;
    for line in text.trim_end_matches('\n').split('\n') {
        if let Some(value) = line.strip_prefix("id: ") {
            id = Some(value.parse().unwrap());
        } else if let Some(value) = line.strip_prefix("event: ") {
            event_type = Some(value.to_owned());
        } else if let Some(value) = line.strip_prefix("data: ") {
            data = Some(serde_json::from_str::<serde_json::Value>(value).unwrap());
        } else if let Some(value) = line.strip_prefix("retry: ") {
            retry = Some(value.parse().unwrap());
        } else if let Some(value) = line.strip_prefix(": ") {
            comment = Some(value.to_owned());
        } else {
            panic!("unexpected line {line:?} in {text:?}");
        }
    }
    match (id, event_type, data, retry, comment) {
        (Some(id), Some(event_type), Some(data), None, None) => Frame::Event { id, event_type, data },
        (None, Some(t), Some(data), None, None) if t == "ready" => {
            Frame::Ready(data["last_event_id"].as_i64().unwrap())
        }
        (None, None, None, None, Some(c)) if c == "ping" => Frame::Ping,
        (None, None, None, Some(retry), Some(_)) => Frame::Retry(retry),
        _ => panic!("unexpected frame {text:?}"),
    }
}

async fn next(stream: &mut EventStream) -> Option<Frame> {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("a frame in time")
        .map(|bytes| parse(&bytes))
}

/// The ids of the next `count` events, skipping heartbeats.
async fn event_ids(stream: &mut EventStream, count: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(count);
    while ids.len() < count {
        match next(stream).await {
            Some(Frame::Event { id, .. }) => ids.push(id),
            Some(Frame::Ping) => {}
            other => panic!("expected an event, got {other:?} after {ids:?}"),
        }
    }
    ids
}

async fn ready(stream: &mut EventStream) -> i64 {
    match next(stream).await {
        Some(Frame::Ready(position)) => position,
        other => panic!("expected ready, got {other:?}"),
    }
}

fn new_event(topic: &str, station: Option<Station>, n: i64) -> NewEvent {
    let event = NewEvent::new("test.tick", topic, serde_json::json!({ "n": n }));
    match station {
        Some(station) => event.for_station(station),
        None => event,
    }
}

fn orders(count: i64) -> Vec<NewEvent> {
    (0..count).map(|n| new_event("orders", None, n)).collect()
}

struct Setup {
    log: MemoryEventLog,
    bus: Arc<InProcessBus>,
    realtime: Realtime,
}

impl Setup {
    async fn start(config: RealtimeConfig) -> Setup {
        let log = MemoryEventLog::new();
        Self::start_over(log, config).await
    }

    async fn start_over(log: MemoryEventLog, config: RealtimeConfig) -> Setup {
        let bus = Arc::new(InProcessBus::default());
        let realtime = Realtime::new(Arc::new(log.clone()), config);
        realtime.start_fan_out(bus.clone()).await.unwrap();
        Setup { log, bus, realtime }
    }

    /// What a service does: append in its transaction, publish after commit.
    async fn commit(&self, new: Vec<NewEvent>) -> Vec<Event> {
        let events = self.log.append(new);
        publish_committed(self.bus.as_ref(), &events).await;
        events
    }
}

/// Waits until the fan-out has handed out event `id`.
async fn caught_up(realtime: &Realtime, id: i64) {
    for _ in 0..500 {
        if realtime.position() >= id {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the fan-out is at {}, not {id}", realtime.position());
}

/// A tick long enough that only a publish can explain a prompt delivery.
fn slow_tick() -> RealtimeConfig {
    RealtimeConfig {
        tick: Duration::from_secs(30),
        ..RealtimeConfig::default()
    }
}

#[tokio::test]
async fn the_fan_out_starts_at_the_end_of_the_log_and_streams_new_events_in_order() {
    let log = MemoryEventLog::new();
    log.append(orders(3));
    let setup = Setup::start_over(log, slow_tick()).await;
    assert_eq!(setup.realtime.position(), 3);

    let mut stream = setup.realtime.stream(None, StreamFilter::all());
    assert_eq!(ready(&mut stream).await, 3, "a fresh stream starts from now");
    let committed = setup.commit(orders(5)).await;
    assert_eq!(event_ids(&mut stream, 5).await, [4, 5, 6, 7, 8]);
    assert_eq!(setup.realtime.position(), 8);

    let more = setup.commit(vec![new_event("kds", Some(Station::Bar), 9)]).await;
    match next(&mut stream).await {
        Some(Frame::Event { id, event_type, data }) => {
            assert_eq!((id, event_type.as_str()), (more[0].id, "test.tick"));
            assert_eq!(data["topic"], "kds");
            assert_eq!(data["station"], "bar");
            assert_eq!(data["payload"], serde_json::json!({"n": 9}));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(committed.len(), 5);
}

#[tokio::test]
async fn without_a_publish_events_arrive_on_the_tick() {
    let setup = Setup::start(RealtimeConfig {
        tick: Duration::from_millis(50),
        ..RealtimeConfig::default()
    })
    .await;
    let mut stream = setup.realtime.stream(None, StreamFilter::all());
    ready(&mut stream).await;
    setup.log.append(orders(2)); // appended by someone who never publishes
    assert_eq!(event_ids(&mut stream, 2).await, [1, 2]);
}

#[tokio::test]
async fn a_resumed_stream_replays_what_it_missed_then_continues_live() {
    let setup = Setup::start(slow_tick()).await;
    setup.commit(orders(10)).await;
    // Replayed from the log only once the fan-out has passed them; until then they come live.
    caught_up(&setup.realtime, 10).await;

    let mut stream = setup.realtime.stream(Some(4), StreamFilter::all());
    assert_eq!(event_ids(&mut stream, 6).await, [5, 6, 7, 8, 9, 10]);
    assert_eq!(ready(&mut stream).await, 10);
    setup.commit(orders(2)).await;
    assert_eq!(event_ids(&mut stream, 2).await, [11, 12]);

    let mut from_start = setup.realtime.stream(Some(0), StreamFilter::all());
    assert_eq!(event_ids(&mut from_start, 12).await, (1..=12).collect::<Vec<_>>());
    assert_eq!(ready(&mut from_start).await, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn reconnecting_while_events_keep_coming_gives_every_event_exactly_once() {
    let setup = Arc::new(
        Setup::start(RealtimeConfig {
            batch: 7, // several pages per replay
            ..slow_tick()
        })
        .await,
    );
    const TOTAL: i64 = 600;
    let writer = tokio::spawn({
        let setup = setup.clone();
        async move {
            for n in 0..TOTAL {
                setup.commit(vec![new_event("orders", None, n)]).await;
                if n % 10 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    });

    let mut received: Vec<i64> = Vec::new();
    let mut reconnects = 0;
    while received.last().copied().unwrap_or(0) < TOTAL {
        // EventSource reconnects with the last id it saw.
        let since = received.last().copied().unwrap_or(0);
        let mut stream = setup.realtime.stream(Some(since), StreamFilter::all());
        let mut taken = 0;
        while taken < 37 {
            match next(&mut stream).await {
                Some(Frame::Event { id, .. }) => {
                    received.push(id);
                    taken += 1;
                    if id == TOTAL {
                        break;
                    }
                }
                Some(Frame::Ready(_) | Frame::Ping) => {}
                other => panic!("{other:?}"),
            }
        }
        reconnects += 1;
        drop(stream);
    }
    writer.await.unwrap();
    assert!(reconnects > 5);
    assert_eq!(received, (1..=TOTAL).collect::<Vec<_>>(), "no gap, no duplicate");
}

#[tokio::test]
async fn filters_apply_to_the_replay_and_to_live_events() {
    let setup = Setup::start(slow_tick()).await;
    let mixed = || {
        vec![
            new_event("orders", None, 1),
            new_event("kds", Some(Station::Kitchen), 2),
            new_event("kds", Some(Station::Bar), 3),
            new_event("kds", None, 4),
            new_event("payments", None, 5),
        ]
    };
    setup.commit(mixed()).await; // ids 1..=5
    caught_up(&setup.realtime, 5).await;
    let kitchen = StreamFilter::new(Some(vec!["kds".into()]), Some(Station::Kitchen));
    let mut stream = setup.realtime.stream(Some(0), kitchen);
    assert_eq!(event_ids(&mut stream, 2).await, [2, 4]);
    assert_eq!(
        ready(&mut stream).await,
        5,
        "the position covers the events left out"
    );
    setup.commit(mixed()).await; // ids 6..=10
    assert_eq!(event_ids(&mut stream, 2).await, [7, 9]);
    caught_up(&setup.realtime, 10).await;

    let mut money = setup
        .realtime
        .stream(Some(0), StreamFilter::new(Some(vec!["payments".into()]), None));
    assert_eq!(event_ids(&mut money, 2).await, [5, 10]);
}

#[tokio::test]
async fn idle_streams_get_a_heartbeat() {
    let setup = Setup::start(RealtimeConfig {
        heartbeat: Duration::from_millis(50),
        ..slow_tick()
    })
    .await;
    let mut stream = setup.realtime.stream(None, StreamFilter::all());
    ready(&mut stream).await;
    assert_eq!(next(&mut stream).await, Some(Frame::Ping));
    assert_eq!(next(&mut stream).await, Some(Frame::Ping));
}

#[tokio::test]
async fn a_stream_that_lags_re_reads_the_log_and_misses_nothing() {
    let setup = Setup::start(RealtimeConfig {
        capacity: 4,
        ..slow_tick()
    })
    .await;
    let mut stream = setup.realtime.stream(None, StreamFilter::all());
    ready(&mut stream).await;
    // Not reading: the stream's outbox fills, then the live channel overflows.
    for chunk in 0..20 {
        setup.commit(orders(10)).await;
        if chunk % 5 == 0 {
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(event_ids(&mut stream, 200).await, (1..=200).collect::<Vec<_>>());
    setup.commit(orders(1)).await;
    assert_eq!(event_ids(&mut stream, 1).await, [201], "and it is live again");
}

#[tokio::test]
async fn a_stream_hopelessly_behind_is_closed_with_a_retry_hint() {
    let setup = Setup::start(RealtimeConfig {
        capacity: 4,
        max_catch_up: 50,
        retry_hint: Duration::from_millis(250),
        ..slow_tick()
    })
    .await;
    let mut stream = setup.realtime.stream(None, StreamFilter::all());
    ready(&mut stream).await;
    setup.commit(orders(200)).await;
    let mut ids = Vec::new();
    loop {
        match next(&mut stream).await {
            Some(Frame::Event { id, .. }) => ids.push(id),
            Some(Frame::Retry(delay)) => {
                assert_eq!(delay, 250);
                break;
            }
            other => panic!("{other:?} after {ids:?}"),
        }
    }
    assert_eq!(next(&mut stream).await, None, "then the stream ends");
    assert!(ids.len() < 200);
    assert_eq!(
        ids,
        (1..=ids.len() as i64).collect::<Vec<_>>(),
        "what it got has no gap"
    );

    // The client resumes from its last id and gets the rest.
    let last = ids.last().copied().unwrap_or(0);
    let mut resumed = setup.realtime.stream(Some(last), StreamFilter::all());
    assert_eq!(
        event_ids(&mut resumed, (200 - last) as usize).await,
        (last + 1..=200).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_resume_id_beyond_the_log_streams_from_now() {
    let setup = Setup::start(slow_tick()).await;
    setup.commit(orders(3)).await;
    caught_up(&setup.realtime, 3).await;
    let mut stream = setup.realtime.stream(Some(1_000), StreamFilter::all());
    assert_eq!(ready(&mut stream).await, 3);
    setup.commit(orders(1)).await;
    assert_eq!(event_ids(&mut stream, 1).await, [4]);
}

#[tokio::test]
async fn a_resume_id_ahead_of_this_fan_out_but_in_the_log_is_kept() {
    // Another instance was faster: the client has seen 5 already, this fan-out is at 3.
    let setup = Setup::start(slow_tick()).await;
    setup.commit(orders(3)).await;
    caught_up(&setup.realtime, 3).await;
    event_ids(&mut setup.realtime.stream(Some(0), StreamFilter::all()), 3).await;
    setup.log.append(orders(2)); // 4, 5: not published, so the fan-out has not seen them
    assert_eq!(setup.realtime.position(), 3);
    let mut stream = setup.realtime.stream(Some(5), StreamFilter::all());
    assert_eq!(ready(&mut stream).await, 5);
    setup.commit(orders(1)).await;
    assert_eq!(event_ids(&mut stream, 1).await, [6], "4 and 5 are not sent again");
}

#[tokio::test]
async fn an_unreadable_log_ends_the_stream_with_a_retry_hint() {
    let setup = Setup::start(slow_tick()).await;
    setup.commit(orders(3)).await;
    caught_up(&setup.realtime, 3).await;
    setup.log.set_unavailable(true);
    let mut stream = setup.realtime.stream(Some(0), StreamFilter::all());
    assert_eq!(next(&mut stream).await, Some(Frame::Retry(1000)));
    assert_eq!(next(&mut stream).await, None);
}

#[tokio::test]
async fn the_fan_out_rides_out_an_unreadable_log() {
    let setup = Setup::start(RealtimeConfig {
        tick: Duration::from_millis(20),
        ..RealtimeConfig::default()
    })
    .await;
    let mut stream = setup.realtime.stream(None, StreamFilter::all());
    ready(&mut stream).await;
    setup.log.set_unavailable(true);
    setup.commit(orders(2)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(setup.realtime.position(), 0);
    setup.log.set_unavailable(false);
    assert_eq!(event_ids(&mut stream, 2).await, [1, 2]);
}

#[tokio::test]
async fn shutdown_ends_every_stream_and_the_fan_out() {
    let setup = Setup::start(slow_tick()).await;
    let mut streams: Vec<_> = (0..3)
        .map(|_| setup.realtime.stream(None, StreamFilter::all()))
        .collect();
    for stream in &mut streams {
        ready(stream).await;
    }
    tokio::time::timeout(WAIT, setup.realtime.shutdown())
        .await
        .expect("the fan-out stops promptly");
    assert!(setup.realtime.is_shut_down());
    for stream in &mut streams {
        assert_eq!(next(stream).await, None);
    }
    // A stream opened afterwards ends at once too.
    let mut late = setup.realtime.stream(None, StreamFilter::all());
    assert!(matches!(next(&mut late).await, None | Some(Frame::Ready(_))));
    setup.commit(orders(1)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(setup.realtime.position(), 0, "nothing is followed after shutdown");
}

#[tokio::test]
async fn a_stream_whose_client_left_lets_go_of_its_subscription() {
    let setup = Setup::start(slow_tick()).await;
    let mut stream = setup.realtime.stream(None, StreamFilter::all());
    ready(&mut stream).await;
    assert_eq!(setup.realtime.stream_count(), 1);
    drop(stream);
    for _ in 0..100 {
        if setup.realtime.stream_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the dropped stream still holds its subscription");
}

#[tokio::test]
async fn starting_the_fan_out_twice_keeps_one() {
    let setup = Setup::start(slow_tick()).await;
    setup.realtime.start_fan_out(setup.bus.clone()).await.unwrap();
    let mut stream = setup.realtime.stream(None, StreamFilter::all());
    ready(&mut stream).await;
    setup.commit(orders(3)).await;
    assert_eq!(event_ids(&mut stream, 3).await, [1, 2, 3]);
    setup.commit(orders(1)).await;
    assert_eq!(event_ids(&mut stream, 1).await, [4], "each event once");
}

/// A bus that is down: every publish fails, and counts.
struct DownBus(AtomicUsize);

#[async_trait]
impl EventBus for DownBus {
    async fn publish(&self, _: &Event) -> Result<(), BusError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(BusError::Unavailable("connection refused".into()))
    }
    fn subscribe(&self) -> BoxStream<'static, BusMessage> {
        futures_util::stream::pending().boxed()
    }
    async fn status(&self) -> &'static str {
        "down"
    }
}

#[tokio::test]
async fn publishing_stops_at_the_first_failure_and_the_tick_still_delivers() {
    let log = MemoryEventLog::new();
    let bus = Arc::new(DownBus(AtomicUsize::new(0)));
    let realtime = Realtime::new(
        Arc::new(log.clone()),
        RealtimeConfig {
            tick: Duration::from_millis(30),
            ..RealtimeConfig::default()
        },
    );
    realtime.start_fan_out(bus.clone()).await.unwrap();
    let mut stream = realtime.stream(None, StreamFilter::all());
    ready(&mut stream).await;
    let events = log.append(orders(3));
    publish_committed(bus.as_ref(), &events).await;
    assert_eq!(bus.0.load(Ordering::SeqCst), 1);
    assert_eq!(event_ids(&mut stream, 3).await, [1, 2, 3]);
}
