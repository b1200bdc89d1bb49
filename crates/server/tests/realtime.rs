//! The realtime feed end to end: `pos serve` processes over real PostgreSQL (and Redis),
//! SSE clients over HTTP, events appended to the log the way services do it (in their own
//! transaction, then published on the bus).
//!
//! - every event reaches a client once, in order, across reconnections with
//!   `Last-Event-ID` while events keep coming; filters and the kitchen account's view;
//! - two instances sharing Redis: an event committed "on A" reaches a client of B at once;
//! - Redis stopped: events still arrive (the fan-out's tick), nothing is lost when it is back;
//! - SIGTERM ends open streams and the process promptly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{JWT_SECRET, Running, TempDir, free_port, pos, succeed};
use pos_domain::event::{Event, NewEvent};
use pos_domain::ports::EventBus;
use pos_domain::staff::Station;
use pos_postgres::PgStore;
use pos_redis::RedisBus;
use pos_testkit::{TestDb, TestRedis};
use serde_json::{Value, json};

const DEMO_PASSWORD: &str = "password123";
const NEW_PASSWORD: &str = "a proper new password";
/// What the server's fan-out polls at without being woken (RealtimeConfig::default().tick).
const TICK: Duration = Duration::from_millis(500);

async fn start_serve(db: &TestDb, redis_url: Option<&str>, logs: &TempDir) -> Running {
    let port = free_port();
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string());
    if let Some(url) = redis_url {
        command.env("REDIS_URL", url);
    }
    Running::start(command, port, logs.path()).await
}

fn seeded_db() -> TestDb {
    let db = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    db
}

/// Signs a seeded account in and sets its own password (seeded accounts must); returns a
/// token that may stream.
async fn token(server: &Running, username: &str) -> String {
    let http = reqwest::Client::new();
    let first = server.login(username, DEMO_PASSWORD).await;
    let changed: Value = http
        .post(format!("{}/api/auth/change-password", server.base_url))
        .bearer_auth(&first)
        .json(&json!({"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    changed["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{changed}"))
        .to_owned()
}

#[derive(Debug, Clone, PartialEq)]
enum Frame {
    Event { id: i64, data: Value },
    Ready(i64),
    Ping,
}

/// An EventSource, minus the automatic reconnection (tests reconnect on purpose).
struct Sse {
    response: reqwest::Response,
    buffer: String,
}

impl Sse {
    async fn open(server: &Running, token: &str, query: &str, last_event_id: Option<i64>) -> Sse {
        let mut request = reqwest::Client::new()
            .get(format!("{}/api/realtime/stream{query}", server.base_url))
            .bearer_auth(token)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{query}");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Sse {
            response,
            buffer: String::new(),
        }
    }

    /// The next frame within `limit`; `None` when the server ended the stream.
    async fn next(&mut self, limit: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&frame));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no frame within {limit:?}; buffered {:?}", self.buffer));
            match chunk {
                Ok(Some(bytes)) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    async fn ready(&mut self) -> i64 {
        match self.next(Duration::from_secs(10)).await {
            Some(Frame::Ready(id)) => id,
            other => panic!("expected ready, got {other:?}"),
        }
    }

    /// The next event (heartbeats skipped) within `limit`.
    async fn event(&mut self, limit: Duration) -> (i64, Value) {
        loop {
            match self.next(limit).await {
                Some(Frame::Event { id, data }) => return (id, data),
                Some(Frame::Ping | Frame::Ready(_)) => {}
                None => panic!("the stream ended"),
            }
        }
    }
}

fn parse(frame: &str) -> Frame {
    if frame == ": ping\n\n" {
        return Frame::Ping;
    }
    let mut id = None;
    let mut event_type = None;
    let mut data = None;
    for line in frame.trim_end().lines() {
        match line.split_once(": ") {
            Some(("id", value)) => id = Some(value.parse::<i64>().unwrap()),
            Some(("event", value)) => event_type = Some(value.to_owned()),
            Some(("data", value)) => data = Some(serde_json::from_str::<Value>(value).unwrap()),
            _ => panic!("unexpected line {line:?} in {frame:?}"),
        }
    }
    match (id, event_type, data) {
        (None, Some(t), Some(data)) if t == "ready" => Frame::Ready(data["last_event_id"].as_i64().unwrap()),
        (Some(id), Some(t), Some(data)) => {
            assert_eq!(
                (data["id"].as_i64(), data["type"].as_str()),
                (Some(id), Some(t.as_str()))
            );
            Frame::Event { id, data }
        }
        _ => panic!("unexpected frame {frame:?}"),
    }
}

/// The n-th event of a test's traffic: a mix of topics and stations.
fn nth_event(n: i64) -> NewEvent {
    let payload = json!({ "n": n });
    match n % 5 {
        0 => NewEvent::new("order.created", "orders", payload),
        1 => NewEvent::new("order.sent", "kds", payload).for_station(Station::Kitchen),
        2 => NewEvent::new("order.sent", "kds", payload).for_station(Station::Bar),
        3 => NewEvent::new("payment.completed", "payments", payload),
        _ => NewEvent::new("item.status_changed", "kds", payload),
    }
}

fn for_kitchen(event: &Event) -> bool {
    event.topic == "kds" && event.station != Some(Station::Bar)
}

/// Appends and publishes, as a service does after its transaction commits.
async fn commit(store: &PgStore, bus: Option<&dyn EventBus>, new: Vec<NewEvent>) -> Vec<Event> {
    let events = store.append_events(new).await.unwrap();
    if let Some(bus) = bus {
        pos_api::realtime::publish_committed(bus, &events).await;
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_get_every_event_once_in_order_across_reconnections_and_filters_hold() {
    let db = seeded_db();
    let logs = TempDir::new("realtime-logs");
    let mut server = start_serve(&db, None, &logs).await;
    let admin = token(&server, "able").await;
    let kitchen = token(&server, "emma").await;
    let store = PgStore::connect(db.url(), 2).await.unwrap();

    // Before anyone listens.
    let earlier = commit(&store, None, (0..5).map(nth_event).collect()).await;
    let mut replay = Sse::open(&server, &admin, "?since=0", None).await;
    let (mut ids, mut ready) = (Vec::new(), None);
    while ids.len() < earlier.len() || ready.is_none() {
        match replay.next(Duration::from_secs(5)).await {
            Some(Frame::Event { id, .. }) => ids.push(id),
            // Replayed from the log, or (when the fan-out had not polled them yet) live.
            Some(Frame::Ready(at)) => ready = Some(at),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ids, earlier.iter().map(|e| e.id).collect::<Vec<_>>());
    drop(replay);

    // Live clients from now, one per view.
    let mut kitchen_stream = Sse::open(&server, &kitchen, "", None).await;
    let mut orders_stream = Sse::open(&server, &admin, "?topics=orders", None).await;
    let start = kitchen_stream.ready().await;
    orders_stream.ready().await;
    assert_eq!(start, earlier[4].id);

    // Events keep coming (no publish: this process cannot reach the server's in-process
    // bus, so they arrive on the fan-out's tick) while a client reconnects again and again.
    const TOTAL: i64 = 150;
    let writer = tokio::spawn({
        let store = store.clone();
        async move {
            let mut appended = Vec::new();
            for n in 5..5 + TOTAL {
                appended.extend(commit(&store, None, vec![nth_event(n)]).await);
                tokio::time::sleep(Duration::from_millis(8)).await;
            }
            appended
        }
    });
    let mut received: Vec<i64> = Vec::new();
    let mut reconnections = 0;
    let mut last_seen = start;
    while received.len() < TOTAL as usize {
        let mut stream = Sse::open(&server, &admin, &format!("?since={start}"), Some(last_seen)).await;
        for _ in 0..20 {
            if received.len() == TOTAL as usize {
                break;
            }
            let (id, _) = stream.event(Duration::from_secs(5)).await;
            received.push(id);
            last_seen = id;
        }
        reconnections += 1;
    }
    let appended = writer.await.unwrap();
    let all_ids: Vec<i64> = appended.iter().map(|e| e.id).collect();
    assert!(reconnections >= 7);
    assert_eq!(
        received, all_ids,
        "every event once, in order, across {reconnections} reconnections"
    );

    let kitchen_expected: Vec<i64> = appended.iter().filter(|e| for_kitchen(e)).map(|e| e.id).collect();
    let mut kitchen_received = Vec::new();
    while kitchen_received.len() < kitchen_expected.len() {
        let (id, data) = kitchen_stream.event(Duration::from_secs(5)).await;
        assert_eq!(data["topic"], "kds");
        assert_ne!(data["station"], "bar");
        kitchen_received.push(id);
    }
    assert_eq!(
        kitchen_received, kitchen_expected,
        "a kitchen account sees its tickets only"
    );

    let orders_expected: Vec<i64> = appended
        .iter()
        .filter(|e| e.topic == "orders")
        .map(|e| e.id)
        .collect();
    let mut orders_received = Vec::new();
    while orders_received.len() < orders_expected.len() {
        orders_received.push(orders_stream.event(Duration::from_secs(5)).await.0);
    }
    assert_eq!(orders_received, orders_expected);

    // A kitchen account cannot ask for more.
    let refused = reqwest::Client::new()
        .get(format!("{}/api/realtime/stream?topics=payments", server.base_url))
        .bearer_auth(&kitchen)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    // SIGTERM with streams open: they end, and the process exits without waiting for them.
    let asked = Instant::now();
    server.signal("TERM");
    assert!(
        kitchen_stream.next(Duration::from_secs(5)).await.is_none(),
        "the stream ends"
    );
    let status = server.wait(Duration::from_secs(15)).await;
    assert!(status.success(), "{}", server.log());
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "took {:?}",
        asked.elapsed()
    );
}

/// A cashier's order through the real routes: a takeaway with the first orderable `Food`
/// product (a kitchen item), created and sent, each with its Idempotency-Key. Returns the
/// order id.
async fn place_kitchen_order(server: &Running, cashier: &str) -> String {
    let http = reqwest::Client::new();
    let menu: Value = http
        .get(format!("{}/api/menu", server.base_url))
        .bearer_auth(cashier)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let food = menu["categories"]
        .as_array()
        .unwrap_or_else(|| panic!("{menu}"))
        .iter()
        .find(|c| c["name"] == "Food")
        .and_then(|c| {
            c["products"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["orderable"] == true)
        })
        .unwrap_or_else(|| panic!("no orderable food in {menu}"))
        .clone();
    let created = http
        .post(format!("{}/api/orders", server.base_url))
        .bearer_auth(cashier)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"type": "takeaway", "items": [{"product_id": food["id"], "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let order: Value = created.json().await.unwrap();
    let order_id = order["id"].as_str().unwrap().to_owned();
    let sent = http
        .post(format!("{}/api/orders/{order_id}/send", server.base_url))
        .bearer_auth(cashier)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .unwrap();
    let status = sent.status();
    assert!(
        status.is_success(),
        "send: {status} {}",
        sent.text().await.unwrap()
    );
    order_id
}

/// The ids of every event in the log after `after`: what a client must have received.
async fn logged_after(store: &PgStore, after: i64) -> Vec<i64> {
    store
        .events_after(after, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect()
}

/// The bus a service on "instance A" publishes with.
async fn publisher(redis_url: &str) -> Arc<RedisBus> {
    Arc::new(
        RedisBus::connect(redis_url, pos_redis::DEFAULT_CHANNEL)
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_on_one_instance_reaches_clients_of_another_at_once() {
    let db = seeded_db();
    let redis = TestRedis::new();
    let logs = TempDir::new("realtime-two-logs");
    let a = start_serve(&db, Some(redis.url()), &logs).await;
    let b = start_serve(&db, Some(redis.url()), &logs).await;
    let on_b = token(&b, "emma").await;
    let store = PgStore::connect(db.url(), 2).await.unwrap();
    // What A's services do after a commit: publish on the shared channel. B hears it and
    // reads the log at once, not at its next tick.
    let bus_of_a = publisher(redis.url()).await;
    let mut kds_on_b = Sse::open(&b, &on_b, "", None).await;
    kds_on_b.ready().await;
    let mut waiter_on_a = Sse::open(&a, &token(&a, "able").await, "?topics=kds&station=kitchen", None).await;
    waiter_on_a.ready().await;

    let mut delays = Vec::new();
    for n in 0..10 {
        let sent = Instant::now();
        let event = commit(&store, Some(bus_of_a.as_ref()), vec![nth_event(n * 5 + 1)]).await;
        let (id, data) = kds_on_b.event(Duration::from_secs(1)).await;
        delays.push(sent.elapsed());
        assert_eq!((id, &data["payload"]), (event[0].id, &json!({"n": n * 5 + 1})));
        assert_eq!(waiter_on_a.event(Duration::from_secs(1)).await.0, event[0].id);
    }
    delays.sort();
    assert!(
        delays[5] < TICK / 4,
        "woken by Redis, not by the tick: {delays:?}"
    );

    // And through the real routes: a cashier on A sends an order; B's kitchen display
    // gets the ticket within a second.
    let cashier_on_a = token(&a, "phiona").await;
    let sent = Instant::now();
    let order_id = place_kitchen_order(&a, &cashier_on_a).await;
    let (_, ticket) = kds_on_b.event(Duration::from_secs(1)).await;
    assert!(sent.elapsed() < Duration::from_secs(1));
    assert_eq!(
        (&ticket["type"], &ticket["topic"], &ticket["station"]),
        (&json!("order.sent"), &json!("kds"), &json!("kitchen")),
        "{ticket}"
    );
    assert_eq!(ticket["payload"]["order_id"], order_id.as_str(), "{ticket}");
}

/// A redis-server of this test's own, so that it can be stopped and started again.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn start() -> OwnRedis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = OwnRedis { port, child: None };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
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
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        while !pos_testkit::redis::answers_ping(addr) {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_stopped_events_still_arrive_and_none_is_lost_when_it_is_back() {
    let db = seeded_db();
    let mut redis = OwnRedis::start();
    let logs = TempDir::new("realtime-outage-logs");
    let a = start_serve(&db, Some(&redis.url()), &logs).await;
    let b = start_serve(&db, Some(&redis.url()), &logs).await;
    let store = PgStore::connect(db.url(), 2).await.unwrap();
    let bus_of_a = publisher(&redis.url()).await;
    let admin_b = token(&b, "able").await;
    let mut on_b = Sse::open(&b, &admin_b, "", None).await;
    let start = on_b.ready().await;
    let mut on_a = Sse::open(&a, &token(&a, "linus").await, "", None).await;
    on_a.ready().await;

    let mut appended = commit(&store, Some(bus_of_a.as_ref()), (0..3).map(nth_event).collect()).await;

    redis.stop();
    // Orders keep being taken: the publish fails (logged), the log has them, and the
    // fan-outs find them on their tick.
    for n in 3..13 {
        appended.extend(commit(&store, Some(bus_of_a.as_ref()), vec![nth_event(n)]).await);
    }
    let cashier_on_a = token(&a, "phiona").await;
    place_kitchen_order(&a, &cashier_on_a).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, health) = b.health().await;
        assert_eq!(status, 200, "B keeps serving: {health}");
        if health["redis"] == "down" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B does not notice Redis is gone: {health}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    redis.restart();
    // Back: the buses reconnect; later events are published and woken for again.
    let deadline = Instant::now() + Duration::from_secs(15);
    while b.health().await.1["redis"] != "ok" {
        assert!(
            Instant::now() < deadline,
            "B did not reconnect to Redis:\n{}",
            b.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for n in 13..18 {
        appended.extend(commit(&store, Some(bus_of_a.as_ref()), vec![nth_event(n)]).await);
    }
    place_kitchen_order(&a, &cashier_on_a).await;

    // The log is the truth: a client must have exactly what it holds.
    let expected = logged_after(&store, start).await;
    assert!(expected.len() > appended.len(), "the orders appended events too");
    for stream in [&mut on_b, &mut on_a] {
        let mut received = Vec::new();
        while received.len() < expected.len() {
            // Within a second even while Redis is down: the tick is the safety net.
            received.push(stream.event(Duration::from_secs(1) + TICK).await.0);
        }
        assert_eq!(received, expected, "nothing lost, nothing twice");
    }

    // A client that was away for the whole outage resumes without a gap.
    let mut resumed = Sse::open(&b, &admin_b, "", Some(start)).await;
    let mut ids = BTreeSet::new();
    for _ in 0..expected.len() {
        ids.insert(resumed.event(Duration::from_secs(2)).await.0);
    }
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), expected);
    assert_eq!(resumed.ready().await, *expected.last().unwrap());
}
