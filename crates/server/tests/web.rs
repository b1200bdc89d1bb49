//! The web app, run by `cargo test --workspace` like everything else: installs web/'s npm
//! packages when they are missing or stale, checks the typed API client against the
//! committed OpenAPI document, runs the Vitest suite, builds the bundle, then serves it
//! with the built `pos serve` over a fresh seeded database and drives it end to end in
//! Debian's Chromium with playwright-core (web/e2e/run.mjs): PIN login, an order to the
//! kitchen and bar, bumps, the board, a shift opened and closed short with a manager's PIN,
//! a bill split cash + MoMo (the MoMo taken offline) that closes the order and frees its
//! table, axe-core on every screen, and an outage during which two orders are taken and
//! the page is reloaded — exactly two reach the server; on the bill, an order discount
//! approved by a manager's PIN, a cash tip, a reprint, a refund, and a Pesapal payment
//! (against the fake Pesapal of `pos_testkit`) whose QR code turns to paid. Then the back office
//! (web/e2e/backoffice.mjs): staff, terminals, a backup downloaded against its checksum, the
//! audit chain, settings refused on their field, a product with its image live on a till,
//! the manager's dashboard, reports with CSV, shifts and the Z report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{JWT_SECRET, Running, TempDir, free_port, pos, succeed};
use pos_testkit::TestDb;
use pos_testkit::pesapal::{FakePesapal, KEY, SECRET};

const INSTALL_HINT: &str =
    "the web tests need Node.js (with npm) and Chromium: apt-get install -y nodejs npm chromium";

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Vite 8 and Vitest 4 need Node 20.19 or newer (Debian 12's own nodejs is 18).
fn node_major() -> Option<u32> {
    let out = Command::new("node").arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `program args` in web/ and fails the test with everything it printed.
fn run(dir: &Path, program: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir).stdin(Stdio::null());
    for (k, v) in envs {
        command.env(k, v);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}; {INSTALL_HINT}"));
    assert!(
        out.status.success(),
        "`{program} {}` failed with {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `npm ci` when node_modules is missing or older than package-lock.json (npm writes
/// node_modules/.package-lock.json on every install).
fn install_packages(web: &Path) {
    let installed = modified(&web.join("node_modules/.package-lock.json"));
    let wanted = modified(&web.join("package-lock.json"));
    if installed.is_none() || installed < wanted {
        run(web, "npm", &["ci", "--no-audit", "--no-fund"], &[]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_app_checks_units_builds_and_works_end_to_end_in_chromium() {
    assert!(
        on_path("node") && on_path("npm") && chromium().is_file(),
        "{INSTALL_HINT}"
    );
    let major = node_major().unwrap_or(0);
    assert!(
        major >= 20,
        "the web tests need Node.js 20.19 or newer, found {major} (Debian 12 ships 18: install nodejs 20 from NodeSource)"
    );
    let web = web_dir();
    install_packages(&web);
    run(&web, "npm", &["run", "--silent", "check:api"], &[]);
    run(&web, "npm", &["test", "--silent"], &[]);
    run(&web, "npm", &["run", "--silent", "build"], &[]);

    let db = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let logs = TempDir::new("web");
    let pesapal = Arc::new(FakePesapal::start());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("APP_BASE_URL", &base)
        .env("WEB_DIR", web.join("dist"))
        .env("BACKUP_DIR", logs.path().join("backups"))
        .env("UPLOAD_DIR", logs.path().join("uploads"))
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("PESAPAL_CONSUMER_KEY", KEY)
        .env("PESAPAL_CONSUMER_SECRET", SECRET)
        .env("PESAPAL_BASE_URL", pesapal.base_url());
    let server = Running::start(command, port, logs.path()).await;

    // The customer "pays" on the fake Pesapal once the browser has shown the QR code and
    // writes this file: every order submitted so far completes and its IPN is sent.
    let signal = logs.path().join("pesapal-pay");
    let stop = Arc::new(AtomicBool::new(false));
    let payer = tokio::spawn(customer_pays(pesapal.clone(), signal.clone(), stop.clone()));

    let chromium = chromium();
    let node = {
        let web = web.clone();
        let base = base.clone();
        tokio::task::spawn_blocking(move || {
            Command::new("node")
                .arg("e2e/run.mjs")
                .current_dir(&web)
                .env("POS_URL", &base)
                .env("CHROMIUM", &chromium)
                .env("E2E_OUT", "e2e-output")
                .env("E2E_PESAPAL_SIGNAL", &signal)
                .stdin(Stdio::null())
                .output()
                .expect("run node")
        })
    };
    let out = node.await.expect("the node run");
    stop.store(true, Ordering::SeqCst);
    payer.await.expect("the Pesapal payer");
    assert!(
        out.status.success(),
        "the end-to-end run failed\nstdout:\n{}\nstderr:\n{}\nserver log (tail):\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        tail(&server.log(), 60)
    );
    println!("{}", String::from_utf8_lossy(&out.stdout));
}

/// Completes, on the fake Pesapal, each order submitted once `signal` exists, and delivers
/// its IPN the way Pesapal would.
async fn customer_pays(fake: Arc<FakePesapal>, signal: PathBuf, stop: Arc<AtomicBool>) {
    let mut paid = HashSet::new();
    while !stop.load(Ordering::SeqCst) {
        if signal.exists() {
            for order in fake.submitted() {
                let Some(tracking) = order.tracking_id else {
                    continue;
                };
                if paid.insert(tracking.clone()) {
                    fake.complete(&tracking);
                    let (status, body) = fake.notify(&tracking).await;
                    println!("fake Pesapal: {tracking} completed, IPN answered {status} {body}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
