//! `GET /api/realtime/stream` through the whole app over in-memory stores: who may stream,
//! what each account sees, resumption, bad input and the response's headers. The same
//! route runs against real Postgres, Redis and two `pos serve` processes in
//! `crates/server/tests/realtime.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use common::auth_config;
use common::memory::{MemoryStore, state_over};
use pos_api::build_app;
use pos_api::realtime::{MemoryEventLog, Realtime, RealtimeConfig, publish_committed};
use pos_api::{AppState, InProcessBus};
use pos_domain::Role;
use pos_domain::event::NewEvent;
use pos_domain::staff::Station;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const WAIT: Duration = Duration::from_secs(5);

struct World {
    log: MemoryEventLog,
    bus: Arc<InProcessBus>,
    state: AppState,
}

impl World {
    async fn new(config: RealtimeConfig) -> World {
        let store = MemoryStore::new();
        for (name, role) in [
            ("wanda", Role::Waiter),
            ("kim", Role::Kitchen),
            ("barry", Role::Bar),
            ("mona", Role::Manager),
        ] {
            store.add_staff(name, role, PASSWORD, false);
        }
        store.add_staff("newbie", Role::Waiter, PASSWORD, true);
        let log = MemoryEventLog::new();
        let bus = Arc::new(InProcessBus::default());
        let mut state = state_over(store, auth_config());
        state.bus = bus.clone();
        state.realtime = Realtime::new(Arc::new(log.clone()), config);
        state.realtime.start_fan_out(bus.clone()).await.unwrap();
        World { log, bus, state }
    }

    /// Appends and publishes, then waits until the fan-out has passed the events, so that a
    /// stream opened next replays them from the log (opened earlier, it gets them live).
    async fn commit(&self, new: Vec<NewEvent>) {
        let events = self.log.append(new);
        publish_committed(self.bus.as_ref(), &events).await;
        let last = events.last().map_or(0, |event| event.id);
        for _ in 0..500 {
            if self.state.realtime.position() >= last {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the fan-out is at {}, not {last}", self.state.realtime.position());
    }
}

fn event(topic: &str, station: Option<Station>, n: i64) -> NewEvent {
    let event = NewEvent::new(&format!("{topic}.happened"), topic, json!({ "n": n }));
    match station {
        Some(station) => event.for_station(station),
        None => event,
    }
}

/// One of each: ids 1..=5 on a fresh log, then 6..=10, and so on.
fn mixed(round: i64) -> Vec<NewEvent> {
    vec![
        event("orders", None, round),
        event("kds", Some(Station::Kitchen), round),
        event("kds", Some(Station::Bar), round),
        event("payments", None, round),
        event("tables", None, round),
    ]
}

async fn login<S, B>(app: &S, username: &str) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let request = TestRequest::post()
        .uri("/api/auth/login")
        .set_json(json!({"username": username, "password": PASSWORD}));
    let response = test::call_service(app, request.to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = test::read_body_json(response).await;
    body["token"].as_str().unwrap().to_owned()
}

fn stream_request(uri: &str, token: &str) -> TestRequest {
    TestRequest::get()
        .uri(uri)
        .insert_header(("authorization", format!("Bearer {token}")))
}

/// A response body read frame by frame, as a client would.
struct Sse<B: MessageBody> {
    body: Pin<Box<B>>,
    buffer: String,
}

#[derive(Debug, PartialEq)]
enum Frame {
    Event {
        id: i64,
        event_type: String,
        data: Value,
    },
    Ready(i64),
    Ping,
}

impl<B: MessageBody> Sse<B> {
    fn new(response: ServiceResponse<B>) -> Sse<B> {
        Sse {
            body: Box::pin(response.into_body()),
            buffer: String::new(),
        }
    }

    /// The next frame, or `None` when the stream ended.
    async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&frame));
            }
            let chunk =
                tokio::time::timeout(WAIT, std::future::poll_fn(|cx| self.body.as_mut().poll_next(cx)))
                    .await
                    .expect("a frame in time");
            match chunk {
                Some(Ok(bytes)) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                Some(Err(_)) => panic!("body error"),
                None => {
                    assert!(self.buffer.is_empty(), "half a frame: {:?}", self.buffer);
                    return None;
                }
            }
        }
    }

    async fn ready(&mut self) -> i64 {
        match self.next().await {
            Some(Frame::Ready(id)) => id,
            other => panic!("expected ready, got {other:?}"),
        }
    }

    /// (id, topic, station) of the next `count` events.
    async fn events(&mut self, count: usize) -> Vec<(i64, String, Option<String>)> {
        let mut events = Vec::new();
        while events.len() < count {
            match self.next().await {
                Some(Frame::Event { id, data, event_type }) => {
                    assert_eq!(data["id"], id);
                    assert_eq!(data["type"], event_type.as_str());
                    events.push((
                        id,
                        data["topic"].as_str().unwrap().to_owned(),
                        data["station"].as_str().map(str::to_owned),
                    ));
                }
                Some(Frame::Ping) => {}
                other => panic!("expected an event, got {other:?}"),
            }
        }
        events
    }

    async fn ids(&mut self, count: usize) -> Vec<i64> {
        self.events(count)
            .await
            .into_iter()
            .map(|(id, _, _)| id)
            .collect()
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
            Some(("id", value)) => id = Some(value.parse().unwrap()),
            Some(("event", value)) => event_type = Some(value.to_owned()),
            Some(("data", value)) => data = Some(serde_json::from_str::<Value>(value).unwrap()),
            _ => panic!("unexpected line {line:?}"),
        }
    }
    match (id, event_type.as_deref(), data) {
        (None, Some("ready"), Some(data)) => Frame::Ready(data["last_event_id"].as_i64().unwrap()),
        (Some(id), Some(_), Some(data)) => Frame::Event {
            id,
            event_type: event_type.unwrap(),
            data,
        },
        _ => panic!("unexpected frame {frame:?}"),
    }
}

#[actix_web::test]
async fn a_stream_answers_unbuffered_server_sent_events() {
    let world = World::new(RealtimeConfig::default()).await;
    let app = test::init_service(build_app(world.state.clone())).await;
    let token = login(&app, "wanda").await;

    let response =
        test::call_service(&app, stream_request("/api/realtime/stream", &token).to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    for (name, value) in [
        ("content-type", "text/event-stream"),
        ("cache-control", "no-cache"),
        ("x-accel-buffering", "no"),
        ("content-encoding", "identity"),
    ] {
        assert_eq!(headers.get(name).unwrap(), value, "{name}");
    }
    assert!(headers.get("x-request-id").is_some());

    let mut sse = Sse::new(response);
    assert_eq!(sse.ready().await, 0);
    world.commit(mixed(1)).await;
    let events = sse.events(5).await;
    assert_eq!(
        events
            .iter()
            .map(|(id, topic, _)| (*id, topic.as_str()))
            .collect::<Vec<_>>(),
        [
            (1, "orders"),
            (2, "kds"),
            (3, "kds"),
            (4, "payments"),
            (5, "tables")
        ]
    );
    assert_eq!(events[1].2.as_deref(), Some("kitchen"));
}

#[actix_web::test]
async fn a_session_cookie_is_enough_for_event_source() {
    let world = World::new(RealtimeConfig::default()).await;
    let app = test::init_service(build_app(world.state.clone())).await;
    let token = login(&app, "wanda").await;
    let request = TestRequest::get()
        .uri("/api/realtime/stream")
        .insert_header(("cookie", format!("pos_session={token}")));
    let response = test::call_service(&app, request.to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(Sse::new(response).ready().await, 0);
}

#[actix_web::test]
async fn streaming_needs_a_current_session() {
    let world = World::new(RealtimeConfig::default()).await;
    let app = test::init_service(build_app(world.state.clone())).await;
    let anonymous =
        test::call_service(&app, TestRequest::get().uri("/api/realtime/stream").to_request()).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let forged = test::call_service(
        &app,
        stream_request("/api/realtime/stream", "not-a-token").to_request(),
    )
    .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let token = login(&app, "newbie").await;
    let must_change =
        test::call_service(&app, stream_request("/api/realtime/stream", &token).to_request()).await;
    assert_eq!(must_change.status(), StatusCode::FORBIDDEN);
    let post = test::call_service(
        &app,
        TestRequest::post()
            .uri("/api/realtime/stream")
            .insert_header(("authorization", format!("Bearer {token}")))
            .to_request(),
    )
    .await;
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[actix_web::test]
async fn kitchen_and_bar_accounts_see_only_their_own_tickets() {
    let world = World::new(RealtimeConfig::default()).await;
    let app = test::init_service(build_app(world.state.clone())).await;
    world.commit(mixed(1)).await; // 1..=5

    let kim = login(&app, "kim").await;
    let response = test::call_service(
        &app,
        stream_request("/api/realtime/stream?since=0", &kim).to_request(),
    )
    .await;
    let mut kitchen = Sse::new(response);
    let barry = login(&app, "barry").await;
    let response = test::call_service(
        &app,
        stream_request("/api/realtime/stream?since=0", &barry).to_request(),
    )
    .await;
    let mut bar = Sse::new(response);

    let station = |s: &str| Some(s.to_owned());
    assert_eq!(
        kitchen.events(1).await,
        [(2, "kds".to_owned(), station("kitchen"))]
    );
    assert_eq!(kitchen.ready().await, 5);
    assert_eq!(bar.events(1).await, [(3, "kds".to_owned(), station("bar"))]);
    assert_eq!(bar.ready().await, 5);

    world.commit(mixed(2)).await; // 6..=10
    world.commit(vec![event("kds", None, 3)]).await; // 11: for every station
    assert_eq!(kitchen.ids(2).await, [7, 11]);
    assert_eq!(bar.ids(2).await, [8, 11]);

    for uri in [
        "/api/realtime/stream?topics=payments",
        "/api/realtime/stream?topics=kds,orders",
        "/api/realtime/stream?station=bar",
    ] {
        let response = test::call_service(&app, stream_request(uri, &kim).to_request()).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{uri}");
        let body: Value = test::read_body_json(response).await;
        assert_eq!(body["code"], "not_permitted");
    }
    let own = test::call_service(
        &app,
        stream_request("/api/realtime/stream?topics=kds&station=kitchen", &kim).to_request(),
    )
    .await;
    assert_eq!(own.status(), StatusCode::OK);
}

#[actix_web::test]
async fn topic_and_station_filters_narrow_what_other_accounts_see() {
    let world = World::new(RealtimeConfig::default()).await;
    let app = test::init_service(build_app(world.state.clone())).await;
    let mona = login(&app, "mona").await;
    let response = test::call_service(
        &app,
        stream_request("/api/realtime/stream?topics=kds,payments&station=bar", &mona).to_request(),
    )
    .await;
    let mut sse = Sse::new(response);
    sse.ready().await;
    world.commit(mixed(1)).await;
    assert_eq!(sse.ids(2).await, [3, 4]);
}

#[actix_web::test]
async fn last_event_id_resumes_after_it_and_wins_over_since() {
    let world = World::new(RealtimeConfig::default()).await;
    let app = test::init_service(build_app(world.state.clone())).await;
    let token = login(&app, "wanda").await;
    world.commit(mixed(1)).await;
    world.commit(mixed(2)).await; // 1..=10

    let request =
        stream_request("/api/realtime/stream?since=2", &token).insert_header(("last-event-id", "7"));
    let mut sse = Sse::new(test::call_service(&app, request.to_request()).await);
    assert_eq!(sse.ids(3).await, [8, 9, 10]);
    assert_eq!(sse.ready().await, 10);
    world.commit(mixed(3)).await;
    assert_eq!(sse.ids(5).await, [11, 12, 13, 14, 15]);

    let request = stream_request("/api/realtime/stream?since=12", &token);
    let mut sse = Sse::new(test::call_service(&app, request.to_request()).await);
    assert_eq!(sse.ids(3).await, [13, 14, 15]);
}

#[actix_web::test]
async fn bad_parameters_are_refused_naming_the_parameter() {
    let world = World::new(RealtimeConfig::default()).await;
    let app = test::init_service(build_app(world.state.clone())).await;
    let token = login(&app, "wanda").await;
    for (uri, last_event_id, field) in [
        ("/api/realtime/stream?topics=orders,gossip", None, "topics"),
        ("/api/realtime/stream?topics=", None, "topics"),
        ("/api/realtime/stream?station=grill", None, "station"),
        ("/api/realtime/stream?since=-1", None, "since"),
        ("/api/realtime/stream?since=soon", None, "since"),
        ("/api/realtime/stream?limit=1", None, "limit"),
        ("/api/realtime/stream", Some("yesterday"), "Last-Event-ID"),
    ] {
        let mut request = stream_request(uri, &token);
        if let Some(value) = last_event_id {
            request = request.insert_header(("last-event-id", value));
        }
        let response = test::call_service(&app, request.to_request()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
        let body: Value = test::read_body_json(response).await;
        assert_eq!(body["field"], field, "{uri}: {body}");
    }
}

#[actix_web::test]
async fn heartbeats_keep_an_idle_stream_alive() {
    let world = World::new(RealtimeConfig {
        heartbeat: Duration::from_millis(40),
        ..RealtimeConfig::default()
    })
    .await;
    let app = test::init_service(build_app(world.state.clone())).await;
    let token = login(&app, "wanda").await;
    let mut sse =
        Sse::new(test::call_service(&app, stream_request("/api/realtime/stream", &token).to_request()).await);
    sse.ready().await;
    assert_eq!(sse.next().await, Some(Frame::Ping));
    assert_eq!(sse.next().await, Some(Frame::Ping));
}

#[actix_web::test]
async fn shutdown_ends_open_streams_and_refuses_new_ones() {
    let world = World::new(RealtimeConfig::default()).await;
    let app = test::init_service(build_app(world.state.clone())).await;
    let token = login(&app, "wanda").await;
    let mut sse =
        Sse::new(test::call_service(&app, stream_request("/api/realtime/stream", &token).to_request()).await);
    sse.ready().await;
    world.state.realtime.shutdown().await;
    assert_eq!(sse.next().await, None);

    let response =
        test::call_service(&app, stream_request("/api/realtime/stream", &token).to_request()).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("retry-after").is_some());
}

#[actix_web::test]
async fn the_route_is_documented_as_an_event_stream() {
    let doc = serde_json::to_value(pos_api::openapi()).unwrap();
    let operation = &doc["paths"]["/api/realtime/stream"]["get"];
    assert_eq!(operation["tags"], json!(["realtime"]));
    assert!(
        operation["responses"]["200"]["content"]["text/event-stream"].is_object(),
        "{operation}"
    );
    let params: Vec<&str> = operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["since", "topics", "station", "Last-Event-ID"]);
    assert!(operation["responses"]["401"].is_object());
}
