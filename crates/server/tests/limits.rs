//! Clients that stall their request bodies cannot exhaust `pos serve`: each body has a
//! deadline (`BODY_TIMEOUT_SECS`) and one address may hold only so many connections
//! (`MAX_CONNECTIONS_PER_IP`), while everyone else, `/api/health` included, is served.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::{JWT_SECRET, Running, TempDir, free_port, pos};
use pos_testkit::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BODY_TIMEOUT_SECS: u64 = 3;
const MAX_CONNECTIONS_PER_IP: usize = 150;
const STALLED: usize = 200;
/// Far more than the bound: the assertion is that they close, not how fast.
const SLACK: Duration = Duration::from_secs(60);
/// Another loopback address than the stalled clients', so health checks are not counted
/// against their limit.
const OTHER_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// What a stalled connection finally got: the status line's code, or `None` if the server
/// closed without answering.
async fn wait_for_close(mut stream: TcpStream) -> Option<u16> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(BODY_TIMEOUT_SECS) + SLACK, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "a stalled connection was still open {SLACK:?} after the {BODY_TIMEOUT_SECS} s bound; it got {:?}",
        String::from_utf8_lossy(&received)
    );
    let text = String::from_utf8_lossy(&received);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
}

async fn health_from_another_address(base_url: &str) -> u16 {
    let client = reqwest::Client::builder()
        .local_address(OTHER_CLIENT)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    client
        .get(format!("{base_url}/api/health"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| panic!("/api/health did not answer while bodies stalled: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_are_closed_within_the_bound_while_health_keeps_answering() {
    let db = TestDb::new();
    let logs = TempDir::new("limits-logs");
    let port = free_port();
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("BODY_TIMEOUT_SECS", BODY_TIMEOUT_SECS.to_string())
        .env("MAX_CONNECTIONS_PER_IP", MAX_CONNECTIONS_PER_IP.to_string());
    let server = Running::start(command, port, logs.path()).await;

    // Most stall a JSON body a handler reads; some stall a chunked body on a route that
    // never reads it (the server must not wait on it for a next request either).
    let mut stalled = Vec::new();
    for n in 0..STALLED {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let head = if n % 20 == 0 {
            "GET /api/health HTTP/1.1\r\nHost: pos\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab".to_owned()
        } else {
            "POST /api/auth/login HTTP/1.1\r\nHost: pos\r\nContent-Type: application/json\r\n\
             Content-Length: 200\r\n\r\n{\"username\": \"able\""
                .to_owned()
        };
        stream.write_all(head.as_bytes()).await.unwrap();
        stalled.push(stream);
    }

    // While they stall, other clients are served.
    for _ in 0..3 {
        assert_eq!(health_from_another_address(&server.base_url).await, 200);
    }

    let outcomes = futures_util::future::join_all(stalled.into_iter().map(wait_for_close)).await;
    let count = |code: Option<u16>| outcomes.iter().filter(|o| **o == code).count();
    let (timed_out, refused, answered) = (count(Some(408)), count(Some(429)), count(Some(200)));
    assert_eq!(
        timed_out + refused + answered,
        STALLED,
        "every stalled connection gets 408 (body too slow), 429 (over the per-address limit) \
         or, for a body nobody reads, its answer; then it is closed: {outcomes:?}"
    );
    assert!(
        refused >= STALLED - MAX_CONNECTIONS_PER_IP,
        "{refused} refused over the limit"
    );
    assert!(timed_out > 0 && answered > 0, "{outcomes:?}");

    // The server is still whole, and the closed connections no longer count.
    assert_eq!(health_from_another_address(&server.base_url).await, 200);
    let (status, _) = server.health().await;
    assert_eq!(status, 200);
    let log = server.log();
    assert!(
        !log.contains("Too many open files"),
        "the server ran out of file descriptors:\n{log}"
    );
}
