//! Shared by the black-box tests: run the built `pos` binary with a clean environment.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const POS: &str = env!("CARGO_BIN_EXE_pos");
pub const JWT_SECRET: &str = "test-secret-0123456789abcdef";

/// `pos` with only PATH from the caller's environment, so a developer's DATABASE_URL or
/// RUST_LOG never leaks into a test. Logs are JSON (stderr is not a terminal anyway).
pub fn pos(args: &[&str]) -> Command {
    let mut command = Command::new(POS);
    command.args(args).env_clear().env("LOG_FORMAT", "json");
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
}

pub fn output(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().expect("run pos")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn succeed(command: &mut Command) -> String {
    let out = output(command);
    assert!(
        out.status.success(),
        "pos failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `pos` process; killed (SIGKILL) on drop if the test did not stop it.
pub struct Running {
    pub child: Child,
    pub base_url: String,
    log: std::path::PathBuf,
}

impl Running {
    /// Spawns `command` (stdout and stderr to files in `log_dir`) and waits until
    /// `/api/health` answers on `port`.
    pub async fn start(mut command: Command, port: u16, log_dir: &Path) -> Running {
        std::fs::create_dir_all(log_dir).unwrap();
        let log = log_dir.join(format!("pos-{port}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("spawn pos");
        let mut running = Running {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            log,
        };
        running.wait_until_answering(Duration::from_secs(90)).await;
        running
    }

    async fn wait_until_answering(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("pos exited early with {status}:\n{}", self.log());
            }
            let url = format!("{}/api/health", self.base_url);
            if client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pos did not answer in time:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `GET /api/health` as JSON, with its status code.
    pub async fn health(&self) -> (u16, serde_json::Value) {
        let response = reqwest::get(format!("{}/api/health", self.base_url))
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Signs in with a password; returns the session token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = reqwest::Client::new()
            .post(format!("{}/api/auth/login", self.base_url))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 200, "login as {username}: {body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// `GET /api/auth/me` with a bearer token: status and body.
    pub async fn me(&self, token: &str) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .get(format!("{}/api/auth/me", self.base_url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    pub async fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "pos did not exit in time:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A directory under the system temp dir, removed (with whatever a run left in it) on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("pos-{label}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `SELECT count(*)` of `table` through `conn`.
pub fn count(conn: &mut diesel::PgConnection, table: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

/// The venue `pos seed` loads from the project's file: (table, rows).
pub const SEEDED_COUNTS: [(&str, i64); 6] = [
    ("staff", 15),
    ("terminals", 3),
    ("dining_tables", 15),
    ("categories", 2),
    ("products", 96),
    ("settings", 1),
];

pub fn assert_seeded(conn: &mut diesel::PgConnection) {
    for (table, expected) in SEEDED_COUNTS {
        assert_eq!(count(conn, table), expected, "rows in {table}");
    }
}
