//! Redis for tests: `TEST_REDIS_URL`, else `127.0.0.1:6379` when it answers PING, else a
//! `redis-server` started for this process (nothing saved to disk) and stopped after it.
//!
//! Tests share the server, so each [`TestRedis`] carries a prefix no other test uses: put it
//! in front of every key and pub/sub channel the test touches.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::error::TestkitError;
use crate::process::{find_on_path, sh_quote, spawn_watchdog};

static SERVER: OnceLock<Result<String, TestkitError>> = OnceLock::new();

#[derive(Debug, Clone)]
pub struct TestRedis {
    url: String,
    prefix: String,
}

impl TestRedis {
    /// Panics with what is missing when no Redis can be found or started.
    #[expect(
        clippy::new_without_default,
        reason = "each call hands out a new prefix: not a default value"
    )]
    pub fn new() -> TestRedis {
        Self::try_new().unwrap_or_else(|e| panic!("pos-testkit: {e}"))
    }

    pub fn try_new() -> Result<TestRedis, TestkitError> {
        let url = SERVER.get_or_init(discover_server).clone()?;
        Ok(TestRedis {
            url,
            prefix: format!("test:{}:", Uuid::new_v4().simple()),
        })
    }

    /// `redis://…` URL of the server.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Unique to this `TestRedis`, ends with `:`; e.g. `test:3f2a…:`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

fn discover_server() -> Result<String, TestkitError> {
    if let Ok(url) = std::env::var("TEST_REDIS_URL")
        && !url.trim().is_empty()
    {
        return Ok(url);
    }
    let local = SocketAddr::from(([127, 0, 0, 1], 6379));
    if answers_ping(local) {
        return Ok("redis://127.0.0.1:6379".to_owned());
    }
    start_private_server()
}

/// Whether a Redis at `addr` answers PING without authentication. Plain RESP over TCP, so the
/// testkit needs no Redis client crate.
pub fn answers_ping(addr: SocketAddr) -> bool {
    let timeout = Duration::from_millis(500);
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    if stream.set_read_timeout(Some(timeout)).is_err()
        || stream.set_write_timeout(Some(timeout)).is_err()
        || stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_err()
    {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

fn start_private_server() -> Result<String, TestkitError> {
    let binary = find_on_path("redis-server").ok_or_else(|| {
        TestkitError::new(
            "no Redis answers on 127.0.0.1:6379 and redis-server is not installed: \
             install it (Debian/Ubuntu: apt-get install redis-server) or set TEST_REDIS_URL",
        )
    })?;
    // A port the OS just handed out is free; the tiny window until redis binds it is fine.
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let start = format!(
        "{} --port {port} --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null 2>&1 &\nserver=$!",
        sh_quote(&binary.to_string_lossy())
    );
    spawn_watchdog(std::process::id(), &start, "kill $server; wait $server")?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if answers_ping(addr) {
            return Ok(format!("redis://127.0.0.1:{port}"));
        }
        thread::sleep(Duration::from_millis(50));
    }
    Err(TestkitError::new(format!(
        "started redis-server on port {port} but it does not answer PING"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_server_answers_ping_and_a_closed_port_does_not() {
        let url = start_private_server().unwrap_or_else(|e| panic!("{e}"));
        let port: u16 = url.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
        assert!(answers_ping(SocketAddr::from(([127, 0, 0, 1], port))));

        let closed = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!answers_ping(closed));
    }

    #[test]
    fn every_test_redis_has_its_own_prefix() {
        let a = TestRedis::new();
        let b = TestRedis::new();
        assert_eq!(a.url(), b.url());
        assert_ne!(a.prefix(), b.prefix());
        assert!(a.prefix().starts_with("test:") && a.prefix().ends_with(':'));
    }
}
