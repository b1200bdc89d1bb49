//! A hung bus never holds an answer (issue 9, item 9): with the Redis of the bus frozen
//! (SIGSTOP: connected, silent), order changes are answered as usual, their events are in
//! the log, and once Redis runs again the bus carries events again.
//!
//! The bus here gives up on a command only after an hour, so a use case that waited on it
//! would never answer while Redis is frozen: the test needs no clock to tell the two apart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{pos, succeed};
use futures_util::StreamExt;
use pos_domain::approval::Actor;
use pos_domain::order::{Caller, CreateOrderCmd, Edit, ItemRequest, OrderServiceConfig, OrderType};
use pos_domain::ports::{BusMessage, EventBus, MenuStore, StaffStore};
use pos_domain::validate::{Quantity, Username};
use pos_postgres::PgStore;
use pos_redis::{RedisBus, RedisBusConfig};
use pos_testkit::TestDb;

/// A redis-server of this test's own on a free port, stopped when dropped.
struct FrozenRedis {
    port: u16,
    child: Child,
}

impl FrozenRedis {
    fn start() -> FrozenRedis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
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
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        while !pos_testkit::redis::answers_ping(addr) {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        FrozenRedis { port, child }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal}");
    }
}

impl Drop for FrozenRedis {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn patient_bus(url: &str) -> RedisBus {
    let mut config = RedisBusConfig::new("pos-frozen-bus-test");
    config.command_timeout = Duration::from_secs(3600);
    RedisBus::connect_with(url, config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_never_holds_an_answer() {
    let db = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let store = Arc::new(PgStore::connect(db.url(), 4).await.unwrap());
    let redis = FrozenRedis::start();
    let bus: Arc<dyn EventBus> = Arc::new(patient_bus(&redis.url()).await);
    let listener = patient_bus(&redis.url()).await;
    let mut heard = listener.subscribe();
    let orders = pos_api::orders::order_use_cases(
        store.clone(),
        bus,
        Arc::new(pos_domain::ports::SystemClock),
        OrderServiceConfig::default(),
    );

    let cashier = store
        .find_credentials(&Username::parse("phiona").unwrap())
        .await
        .unwrap()
        .expect("the seeded cashier");
    let caller = Caller::new(Actor::new(cashier.staff.id, cashier.staff.role), None);
    let product = store
        .list_products()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.available && p.active && p.station.is_some() && p.stock_qty.is_none())
        .expect("a seeded kitchen or bar product");
    let cmd = || CreateOrderCmd {
        order_type: OrderType::Takeaway,
        table_id: None,
        shift_id: None,
        preparation_notes: None,
        items: vec![ItemRequest::new(
            product.id,
            Quantity::parse("quantity", 1).unwrap(),
        )],
    };

    redis.signal("-STOP");
    // Both answers arrive while Redis is frozen (it is only woken below).
    let created = orders
        .create_order(caller, cmd(), None)
        .await
        .unwrap()
        .applied()
        .unwrap();
    let sent = orders
        .send(caller, Edit::new(created.order.id, None), None)
        .await
        .unwrap()
        .applied()
        .unwrap();
    assert!(
        sent.events.iter().any(|e| e.event_type == "order.sent"),
        "{:?}",
        sent.events
    );
    let logged = store.events_after(0, 100).await.unwrap();
    for event in created.events.iter().chain(&sent.events) {
        assert!(logged.contains(event), "{event:?} is in the log");
    }

    redis.signal("-CONT");
    // The bus carries events again: a later change is heard by another subscriber.
    let again = orders
        .create_order(caller, cmd(), None)
        .await
        .unwrap()
        .applied()
        .unwrap();
    let created_again = again
        .events
        .iter()
        .find(|e| e.event_type == "order.created")
        .unwrap()
        .id;
    let heard_it = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(message) = heard.next().await {
            if matches!(&message, BusMessage::Event(e) if e.id == created_again) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(heard_it, Ok(true), "the bus delivers again once Redis runs");
}
