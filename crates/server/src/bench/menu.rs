//! `pos bench-menu`: `GET /api/menu` with a large catalogue (issue 11: 20,000 products,
//! p99 under 150 ms on two cores), with and without `If-None-Match`.
//!
//! `--prepare` signs in as the seeded admin (setting the bench password, as `pos bench
//! --prepare` does) and tops the menu up to `--products` through the back-office API
//! (`POST /api/admin/products`, one product in ten with two modifiers), so the products are
//! made the way an owner would make them. Then `--requests` full menus are read by
//! `--concurrency` clients, and as many revalidations with the last `ETag`; each latency is
//! from sending the request to the last byte of the body. Time to the response head is
//! kept apart, so a miss shows whether the server or the transfer took the time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use url::Url;

use super::DEFAULT_BENCH_PASSWORD;
use super::client::{Api, Login, Session};
use super::stats::{Samples, Summary};
use crate::SetupError;

/// The aim.
pub const AIM_P99_MS: f64 = 150.0;
const BENCH_CATEGORY: &str = "Bench catalogue";
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Args)]
pub struct MenuBenchArgs {
    /// The running server.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:3000")]
    pub url: Url,
    /// Products the menu should hold; `--prepare` adds what is missing.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub products: usize,
    /// Menu reads measured in each phase.
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub requests: usize,
    /// Clients reading at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Top the menu up to `--products` through the admin API first (throwaway database).
    #[arg(long)]
    pub prepare: bool,
    /// An account that may read the menu and (with `--prepare`) edit it; no longer has to
    /// change its password [default with --prepare: the admin, `able`].
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,
    /// Its password [default with --prepare: pos-bench-password].
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "POS_BENCH_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// The seeded admin's password before `--prepare` changed it.
    #[arg(long, value_name = "PASSWORD", default_value = "password123")]
    pub admin_password: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MenuReport {
    pub url: String,
    pub cpus: usize,
    pub products: usize,
    pub prepared: usize,
    pub prepare_seconds: f64,
    pub body_bytes: usize,
    pub concurrency: usize,
    pub full: Phase,
    pub revalidated: Phase,
    pub aim_p99_ms: f64,
    pub aim_met: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// From sending to the last byte.
    pub total: Option<Summary>,
    /// From sending to the response head.
    pub head: Option<Summary>,
    pub per_second: f64,
    pub unexpected: usize,
}

pub fn run(args: MenuBenchArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the bench runtime")?;
    let report = runtime.block_on(bench(&args))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", to_text(&report));
    }
    Ok(())
}

async fn bench(args: &MenuBenchArgs) -> anyhow::Result<MenuReport> {
    let base = args.url.as_str().trim_end_matches('/').to_owned();
    let api = Api::new(&base, args.concurrency.max(8))?;
    api.server_version().await?;
    let session = account(&api, args).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency.max(8))
        .tcp_nodelay(true)
        .build()?;

    let started = Instant::now();
    let prepared = if args.prepare {
        prepare(&http, &base, &session, args.products).await?
    } else {
        0
    };
    let prepare_seconds = started.elapsed().as_secs_f64();

    // Warm up (and learn the size and the tag).
    let mut probe = None;
    for _ in 0..3 {
        probe = Some(read_menu(&http, &base, &session.token, None).await?);
    }
    let Some((_, _, etag, body)) = probe else {
        bail!("no menu read");
    };
    let menu: Value = serde_json::from_slice(&body).context("reading the menu")?;
    let products = menu["categories"].as_array().map_or(0, |c| {
        c.iter()
            .map(|c| c["products"].as_array().map_or(0, Vec::len))
            .sum()
    });
    eprintln!(
        "bench-menu: {products} products, {} bytes a menu; {} reads per phase by {} clients",
        body.len(),
        args.requests,
        args.concurrency
    );
    let full = phase(&http, &base, &session.token, None, args).await;
    let revalidated = phase(&http, &base, &session.token, Some(etag), args).await;
    let aim_met = [&full, &revalidated]
        .iter()
        .all(|p| p.unexpected == 0 && p.total.is_some_and(|s| s.p99_ms < AIM_P99_MS));
    Ok(MenuReport {
        url: base,
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        products,
        prepared,
        prepare_seconds: (prepare_seconds * 10.0).round() / 10.0,
        body_bytes: body.len(),
        concurrency: args.concurrency,
        full,
        revalidated,
        aim_p99_ms: AIM_P99_MS,
        aim_met,
    })
}

async fn account(api: &Api, args: &MenuBenchArgs) -> anyhow::Result<Session> {
    let password = args
        .password
        .clone()
        .unwrap_or_else(|| DEFAULT_BENCH_PASSWORD.to_owned());
    let username = args.username.clone().unwrap_or_else(|| "able".to_owned());
    if !args.prepare && (args.username.is_none() || args.password.is_none()) {
        bail!(SetupError(
            "pass --username and --password, or --prepare".to_owned()
        ));
    }
    let session = match api.login(&username, &password).await? {
        Login::Ok(session) => session,
        Login::Rejected if args.prepare => match api.login(&username, &args.admin_password).await? {
            Login::Ok(session) => session,
            Login::Rejected => bail!(SetupError(format!(
                "{username} accepts neither the bench password nor --admin-password"
            ))),
        },
        Login::Rejected => bail!(SetupError(format!("{username}: wrong username or password"))),
    };
    if session.must_change_password {
        eprintln!("bench-menu: setting {username}'s password to the bench password");
        return api
            .change_password(&session, &args.admin_password, &password)
            .await;
    }
    Ok(session)
}

/// Adds products until the menu holds `target`; returns how many were added.
async fn prepare(
    http: &reqwest::Client,
    base: &str,
    session: &Session,
    target: usize,
) -> anyhow::Result<usize> {
    let get = |path: String| {
        http.get(format!("{base}/api{path}"))
            .bearer_auth(&session.token)
            .timeout(TIMEOUT)
            .send()
    };
    let existing: Vec<Value> = get("/admin/products".into())
        .await?
        .error_for_status()?
        .json()
        .await?;
    if existing.len() >= target {
        return Ok(0);
    }
    let categories: Vec<Value> = get("/admin/categories".into())
        .await?
        .error_for_status()?
        .json()
        .await?;
    let category = match categories.iter().find(|c| c["name"] == BENCH_CATEGORY) {
        Some(c) => c["id"].as_str().unwrap_or_default().to_owned(),
        None => {
            let created: Value = http
                .post(format!("{base}/api/admin/categories"))
                .bearer_auth(&session.token)
                .json(&json!({"name": BENCH_CATEGORY, "default_station": "kitchen", "sort_order": 100}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            created["id"].as_str().unwrap_or_default().to_owned()
        }
    };
    let missing = target - existing.len();
    eprintln!("bench-menu: adding {missing} products through the admin API");
    let next = Arc::new(AtomicUsize::new(0));
    let start = existing.len();
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (http, base, token, category, next) = (
            http.clone(),
            base.to_owned(),
            session.token.clone(),
            category.clone(),
            Arc::clone(&next),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= missing {
                    return Ok::<(), anyhow::Error>(());
                }
                let n = start + i;
                let response = http
                    .post(format!("{base}/api/admin/products"))
                    .bearer_auth(&token)
                    .timeout(TIMEOUT)
                    .json(&json!({
                        "sku": format!("BENCH-{n:06}"),
                        "name": format!("Bench dish {n}"),
                        "category_id": category,
                        "section": format!("Section {}", n % 40),
                        "price": 1000 + (n % 50) * 500,
                        "happy_hour_price": if n.is_multiple_of(7) { json!(900) } else { Value::Null },
                        "sort_order": n % 1000,
                    }))
                    .send()
                    .await?;
                if response.status() == StatusCode::CONFLICT {
                    continue; // made by an earlier, interrupted run
                }
                let product: Value = response.error_for_status()?.json().await?;
                if n.is_multiple_of(10) {
                    let id = product["id"].as_str().unwrap_or_default();
                    for (name, price) in [("Large", 1500), ("No onions", 0)] {
                        http.post(format!("{base}/api/admin/products/{id}/modifiers"))
                            .bearer_auth(&token)
                            .timeout(TIMEOUT)
                            .json(&json!({"name": name, "price": price}))
                            .send()
                            .await?
                            .error_for_status()?;
                    }
                }
                if (i + 1).is_multiple_of(2000) {
                    eprintln!("bench-menu: {} of {missing}", i + 1);
                }
            }
        }));
    }
    for worker in workers {
        worker.await.context("a prepare worker")??;
    }
    Ok(missing)
}

/// One read: time to the head, total time, the ETag and the body.
async fn read_menu(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    if_none_match: Option<&str>,
) -> anyhow::Result<(Duration, Duration, String, Vec<u8>)> {
    let started = Instant::now();
    let mut request = http
        .get(format!("{base}/api/menu"))
        .bearer_auth(token)
        .timeout(TIMEOUT);
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    let response = request.send().await?;
    let head = started.elapsed();
    let status = response.status();
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.bytes().await?.to_vec();
    let total = started.elapsed();
    let expected = if if_none_match.is_some() {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    if status != expected {
        bail!("GET /api/menu answered {status}, expected {expected}");
    }
    Ok((head, total, etag, body))
}

async fn phase(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    etag: Option<String>,
    args: &MenuBenchArgs,
) -> Phase {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (http, base, token, etag, next, requests) = (
            http.clone(),
            base.to_owned(),
            token.to_owned(),
            etag.clone(),
            Arc::clone(&next),
            args.requests,
        );
        workers.push(tokio::spawn(async move {
            let (mut total, mut head, mut unexpected) = (Samples::default(), Samples::default(), 0);
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                match read_menu(&http, &base, &token, etag.as_deref()).await {
                    Ok((h, t, _, _)) => {
                        head.record(h);
                        total.record(t);
                    }
                    Err(error) => {
                        unexpected += 1;
                        eprintln!("bench-menu: {error}");
                    }
                }
            }
            (total, head, unexpected)
        }));
    }
    let (mut total, mut head, mut unexpected) = (Samples::default(), Samples::default(), 0);
    for worker in workers {
        if let Ok((t, h, u)) = worker.await {
            total.merge(t);
            head.merge(h);
            unexpected += u;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Phase {
        per_second: ((total.len() as f64 / seconds) * 10.0).round() / 10.0,
        total: total.summary(),
        head: head.summary(),
        unexpected,
    }
}

fn to_text(r: &MenuReport) -> String {
    let line = |name: &str, p: &Phase| {
        let fmt = |s: Option<Summary>| {
            s.map_or_else(
                || "no samples".to_owned(),
                |s| {
                    format!(
                        "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                        s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms
                    )
                },
            )
        };
        format!(
            "{name}: {} reads, {}/s, {} unexpected\n  total {}\n  head  {}\n",
            p.total.map_or(0, |s| s.count),
            p.per_second,
            p.unexpected,
            fmt(p.total),
            fmt(p.head)
        )
    };
    format!(
        "GET /api/menu on {} ({} CPUs here)\nmenu: {} products, {} bytes; {} added by --prepare in {} s\nclients: {}\n{}{}aim: p99 < {} ms in both phases: {}\n",
        r.url,
        r.cpus,
        r.products,
        r.body_bytes,
        r.prepared,
        r.prepare_seconds,
        r.concurrency,
        line("full (no If-None-Match)", &r.full),
        line("revalidated (If-None-Match → 304)", &r.revalidated),
        r.aim_p99_ms,
        if r.aim_met { "met" } else { "MISSED" },
    )
}
