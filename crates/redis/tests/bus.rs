//! The Redis event bus against a real Redis: TEST_REDIS_URL, or the one on 127.0.0.1:6379.
//! Each test listens on its own channel, so tests run in parallel without hearing each
//! other. The restart test runs a private `redis-server` it can kill.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use fred::interfaces::{ClientLike, PubsubInterface};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use pos_domain::error::BusError;
use pos_domain::event::Event;
use pos_domain::ports::{BusMessage, EventBus};
use pos_domain::staff::Station;
use pos_redis::{RedisBus, RedisBusConfig};
use tokio::process::{Child, Command};

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn unique_channel(test: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "pos:test:{test}:{}:{nanos}:{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn event(id: i64) -> Event {
    Event {
        id,
        event_type: "order.sent".to_owned(),
        topic: "kds".to_owned(),
        station: Some(Station::Kitchen),
        payload: serde_json::json!({ "order_id": format!("order-{id}"), "items": [1, 2, 3] }),
        occurred_at: Utc::now(),
    }
}

async fn next_within(stream: &mut BoxStream<'static, BusMessage>, limit: Duration) -> BusMessage {
    tokio::time::timeout(limit, stream.next())
        .await
        .expect("no bus message in time")
        .expect("bus stream ended")
}

#[tokio::test]
async fn an_event_published_on_one_instance_reaches_subscribers_of_every_instance() {
    let channel = unique_channel("fanout");
    let a = RedisBus::connect(&redis_url(), &channel).await.unwrap();
    let b = RedisBus::connect(&redis_url(), &channel).await.unwrap();
    let mut on_a = a.subscribe();
    let mut on_b = b.subscribe();

    let sent = event(41);
    let started = Instant::now();
    a.publish(&sent).await.unwrap();

    assert_eq!(
        next_within(&mut on_b, Duration::from_secs(1)).await,
        BusMessage::Event(sent.clone())
    );
    // The publishing instance hears its own events through Redis as well.
    assert_eq!(
        next_within(&mut on_a, Duration::from_secs(1)).await,
        BusMessage::Event(sent)
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn events_on_another_channel_are_not_delivered() {
    let mine = RedisBus::connect(&redis_url(), &unique_channel("mine"))
        .await
        .unwrap();
    let other = RedisBus::connect(&redis_url(), &unique_channel("other"))
        .await
        .unwrap();
    let mut stream = mine.subscribe();

    other.publish(&event(1)).await.unwrap();
    mine.publish(&event(2)).await.unwrap();

    // Had the other channel's event leaked in, it would arrive first.
    match next_within(&mut stream, Duration::from_secs(1)).await {
        BusMessage::Event(e) => assert_eq!(e.id, 2),
        other => panic!("expected event 2, got {other:?}"),
    }
}

#[tokio::test]
async fn status_is_ok_while_connected() {
    let bus = RedisBus::connect(&redis_url(), &unique_channel("status"))
        .await
        .unwrap();
    assert_eq!(bus.status().await, "ok");
}

#[tokio::test]
async fn an_unreachable_redis_fails_fast_at_connect() {
    let started = Instant::now();
    let result = RedisBus::connect("redis://127.0.0.1:1", &unique_channel("unreachable")).await;
    assert!(matches!(result, Err(BusError::Unavailable(_))), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_invalid_url_is_rejected_without_echoing_it() {
    for url in [
        "definitely not a url",
        "redis://:hunter2@/0",
        "rediss://:hunter2@127.0.0.1:6379",
    ] {
        let result = RedisBus::connect(url, "pos:events").await;
        match result {
            Err(BusError::Unavailable(message)) => assert!(!message.contains("hunter2"), "{message}"),
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_lagging_subscriber_is_told_how_many_events_it_missed() {
    const CAPACITY: usize = 4;
    const SENT: i64 = 20;
    let mut settings = RedisBusConfig::new(&unique_channel("lag"));
    settings.local_capacity = CAPACITY;
    let bus = RedisBus::connect_with(&redis_url(), settings).await.unwrap();
    let mut slow = bus.subscribe();
    // A subscriber that keeps reading tells us when the relay has handed on every event.
    let mut fast = bus.subscribe();
    let fast_reader = tokio::spawn(async move {
        while let Some(message) = fast.next().await {
            if matches!(&message, BusMessage::Event(e) if e.id == SENT) {
                return;
            }
        }
        panic!("fast stream ended before the last event");
    });

    for id in 1..=SENT {
        bus.publish(&event(id)).await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(2), fast_reader)
        .await
        .unwrap()
        .unwrap();

    let skipped = u64::try_from(SENT).unwrap() - CAPACITY as u64;
    assert_eq!(
        next_within(&mut slow, Duration::from_secs(1)).await,
        BusMessage::Lagged { skipped }
    );
    // After the gap the newest events are still there, in order.
    for expected in (SENT - CAPACITY as i64 + 1)..=SENT {
        match next_within(&mut slow, Duration::from_secs(1)).await {
            BusMessage::Event(e) => assert_eq!(e.id, expected),
            other => panic!("expected event {expected}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn garbage_on_the_channel_is_skipped() {
    let channel = unique_channel("garbage");
    let bus = RedisBus::connect(&redis_url(), &channel).await.unwrap();
    let mut stream = bus.subscribe();

    let raw = fred::prelude::Client::new(
        fred::prelude::Config::from_url(&redis_url()).unwrap(),
        None,
        None,
        None,
    );
    raw.init().await.unwrap();
    let _: i64 = raw
        .publish(channel.as_str(), "this is not an event")
        .await
        .unwrap();
    let _: i64 = raw
        .publish(channel.as_str(), r#"{"id":"wrong shape"}"#)
        .await
        .unwrap();
    raw.quit().await.unwrap();

    bus.publish(&event(7)).await.unwrap();
    match next_within(&mut stream, Duration::from_secs(1)).await {
        BusMessage::Event(e) => assert_eq!(e.id, 7),
        other => panic!("expected the valid event, got {other:?}"),
    }
}

#[tokio::test]
async fn subscriber_streams_end_when_the_bus_is_dropped() {
    let bus = RedisBus::connect(&redis_url(), &unique_channel("drop"))
        .await
        .unwrap();
    let mut stream = bus.subscribe();
    drop(bus);
    let end = tokio::time::timeout(Duration::from_secs(1), stream.next())
        .await
        .unwrap();
    assert_eq!(end, None);
}

/// A private Redis this test may kill and restart on the same port.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    async fn start() -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = PrivateRedis { port, child: None };
        redis.restart().await;
        redis
    }

    async fn restart(&mut self) {
        let binary = std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".to_owned());
        let child = Command::new(binary)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server must be installed (or REDIS_SERVER_BIN set) for this test");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "private redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().await.unwrap();
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

#[tokio::test]
async fn publishing_fails_fast_while_redis_is_down_and_recovers_when_it_returns() {
    let mut redis = PrivateRedis::start().await;
    let channel = unique_channel("restart");
    let a = RedisBus::connect(&redis.url(), &channel).await.unwrap();
    let b = RedisBus::connect(&redis.url(), &channel).await.unwrap();
    let mut on_b = b.subscribe();

    a.publish(&event(1)).await.unwrap();
    assert!(
        matches!(next_within(&mut on_b, Duration::from_secs(1)).await, BusMessage::Event(e) if e.id == 1)
    );

    redis.kill().await;

    let started = Instant::now();
    let result = a.publish(&event(2)).await;
    assert!(matches!(result, Err(BusError::Unavailable(_))), "{result:?}");
    assert!(
        started.elapsed() <= Duration::from_secs(1),
        "publish took {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    assert_eq!(a.status().await, "down");
    assert!(started.elapsed() < Duration::from_secs(1));
    // Still failing fast after fred noticed the outage and started reconnecting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    assert!(a.publish(&event(3)).await.is_err());
    assert!(
        started.elapsed() <= Duration::from_secs(1),
        "publish took {:?}",
        started.elapsed()
    );

    redis.restart().await;

    // Subscribers learn that they may have missed events and must re-read the log.
    assert_eq!(
        next_within(&mut on_b, Duration::from_secs(10)).await,
        BusMessage::Reconnected
    );

    // The publisher reconnects on its own schedule; once it has, events flow again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.publish(&event(4)).await.is_err() {
        assert!(Instant::now() < deadline, "publisher never reconnected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    loop {
        match next_within(&mut on_b, Duration::from_secs(1)).await {
            BusMessage::Event(e) => {
                assert_eq!(e.id, 4);
                break;
            }
            BusMessage::Reconnected => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    // Each bus reports "ok" once both of its connections are back.
    for bus in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(10);
        while bus.status().await != "ok" {
            assert!(Instant::now() < deadline, "status never returned to ok");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
