//! `pos bench`: measures a running server the way tills and kitchen screens use it.
//!
//! 1. Order placement: `--clients` workers each loop creating a takeaway order with three
//!    items and sending it, every call with a fresh `Idempotency-Key`; throughput and the
//!    latency of the create+send pair.
//! 2. Send → KDS: `--kds-clients` kitchen event streams while orders are sent at
//!    `--kds-rate` per second; the delay from issuing each send to the `order.sent` event's
//!    arrival at every stream.
//! 3. The server's resident memory, sampled from /proc during both (same machine only).
//!
//! Accounts: `--username`/`--password` name an account that may take orders and no longer
//! has to change its password. `--prepare` makes them on a freshly seeded database instead:
//! it signs in as the seeded admin, sets the admin's password to the bench password (seeded
//! accounts must change theirs) and creates `bench-cashier` and `bench-kitchen` with it.
//! Meant for a throwaway database; running it again reuses what the first run made.

mod client;
mod kds;
mod load;
mod memory;
pub mod menu;
mod procfs;
mod report;
mod sse;
mod stats;

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use url::Url;

use crate::SetupError;
use client::{Api, Login, Product, Session};
use report::{Report, mib};

/// The password `--prepare` gives the admin and the bench accounts unless `--password` says.
pub const DEFAULT_BENCH_PASSWORD: &str = "pos-bench-password";
pub const BENCH_CASHIER: &str = "bench-cashier";
pub const BENCH_KITCHEN: &str = "bench-kitchen";

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The running server.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:3000")]
    pub url: Url,
    /// Concurrent order-placing clients (0 skips order placement).
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub clients: usize,
    /// How long order placement is measured, after the warm-up (e.g. 20s, 1m, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Order placement that runs before measuring starts.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Kitchen event streams for the send → KDS measurement (0 skips it).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub kds_clients: usize,
    /// Orders sent per second while the streams listen.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub kds_rate: u32,
    /// How long orders are sent to the streams.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub kds_duration: Duration,
    /// The order-taking account (cashier, waiter, manager or admin).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "prepare",
        conflicts_with = "prepare"
    )]
    pub username: Option<String>,
    /// Its password; with `--prepare`, the password to give the admin and bench accounts
    /// [default with --prepare: pos-bench-password].
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "POS_BENCH_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// The account whose streams play the kitchen screens [default: the order-taking one].
    #[arg(
        long,
        value_name = "NAME",
        requires = "kitchen_password",
        conflicts_with = "prepare"
    )]
    pub kitchen_username: Option<String>,
    /// Its password.
    #[arg(long, value_name = "PASSWORD", requires = "kitchen_username")]
    pub kitchen_password: Option<String>,
    /// Make the bench accounts through the admin API first (on a throwaway database).
    #[arg(long)]
    pub prepare: bool,
    /// The admin `--prepare` signs in as.
    #[arg(long, value_name = "NAME", default_value = "able")]
    pub admin_username: String,
    /// The admin's password before `--prepare` changed it (the seeded one).
    #[arg(long, value_name = "PASSWORD", default_value = "password123")]
    pub admin_password: String,
    /// The server's process id, for its memory figures [default: the process listening on
    /// the URL's port, when the server runs on this machine].
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// Password logins at the same moment, with the server's memory sampled (0 skips).
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub login_burst: usize,
    /// Idle event streams held open, then closed, with the server's memory sampled (0
    /// skips). Each takes a file descriptor in the bench and in the server.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub idle_streams: usize,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `20s`, `1m`, `500ms`, `1.5s`, or plain seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration such as 20s, 500ms or 2m"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        other => return Err(format!("unknown unit `{other}` (use ms, s or m)")),
    };
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!("`{raw}` must be more than zero and at most a day"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Runs the bench on its own multi-threaded runtime (the load and the streams need more
/// than one thread to keep up) and prints the report.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the bench runtime")?;
    let report = runtime.block_on(bench(&args))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

async fn bench(args: &BenchArgs) -> anyhow::Result<Report> {
    let base = args.url.as_str().trim_end_matches('/');
    let api = Api::new(base, args.clients.max(1))?;
    let version = api.server_version().await?;
    let (orders_session, kitchen_session) = accounts(&api, args).await?;
    let products = api.orderable_products(&orders_session).await?;
    let kitchen_products: Vec<Product> = products
        .iter()
        .filter(|p| p.station.as_deref() == Some(kds::STATION))
        .cloned()
        .collect();
    if products.len() < load::ITEMS_PER_ORDER {
        bail!(SetupError(format!(
            "the menu has {} orderable products without stock tracking; the bench needs {}",
            products.len(),
            load::ITEMS_PER_ORDER
        )));
    }
    if args.kds_clients > 0 && kitchen_products.len() < load::ITEMS_PER_ORDER {
        bail!(SetupError(format!(
            "the menu has {} orderable kitchen products; the KDS measurement needs {}",
            kitchen_products.len(),
            load::ITEMS_PER_ORDER
        )));
    }
    let (pid, pid_source) = server_pid(args);
    let machine = procfs::Machine::describe();
    let load_average_before = procfs::load_average();
    let memory_before = pid.and_then(procfs::memory_of);
    eprintln!(
        "bench: {base} (version {version}), {} products, server pid {}",
        products.len(),
        pid.map_or_else(|| "unknown".to_owned(), |p| p.to_string())
    );

    let (orders, orders_cpu, peak_orders) = if args.clients > 0 {
        let (result, cpu, peak) = measure_orders(&api, &orders_session, &products, args, pid).await;
        (Some(result), cpu, peak)
    } else {
        (None, None, None)
    };
    let (kds, peak_kds) = if args.kds_clients > 0 {
        let (result, peak) = measure_kds(
            base,
            &orders_session,
            &kitchen_session,
            &kitchen_products,
            args,
            pid,
        )
        .await?;
        (Some(result), peak)
    } else {
        (None, None)
    };

    let memory = match (memory_before, pid.and_then(procfs::memory_of)) {
        (Some(before), Some(after)) => Some(report::Memory {
            peak_mib: mib([Some(after.hwm_kib), peak_orders, peak_kds]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(after.hwm_kib)),
            rss_before_mib: mib(before.rss_kib),
            peak_rss_orders_mib: peak_orders.map(mib),
            peak_rss_kds_mib: peak_kds.map(mib),
            vm_hwm_mib: mib(after.hwm_kib),
        }),
        _ => None,
    };
    let mut report = Report {
        machine,
        load_average_before,
        load_average_after: procfs::load_average(),
        server: report::Server {
            url: base.to_owned(),
            version,
            pid,
            pid_source,
        },
        settings: report::Settings {
            clients: args.clients,
            warmup_seconds: args.warmup.as_secs_f64(),
            duration_seconds: args.duration.as_secs_f64(),
            items_per_order: load::ITEMS_PER_ORDER,
            kds_clients: args.kds_clients,
            kds_rate_per_second: args.kds_rate,
            kds_seconds: args.kds_duration.as_secs_f64(),
            orders_account: format!("{} ({})", orders_session.username, orders_session.role),
            kds_account: format!("{} ({})", kitchen_session.username, kitchen_session.role),
        },
        orders,
        orders_cpu,
        kds,
        memory,
        memory_phases: None,
        aims: Vec::new(),
    };
    report.memory_phases = memory_phases(base, args, &orders_session, pid).await?;
    report.judge();
    Ok(report)
}

/// The login burst and the idle streams (after the other phases: they need the server's
/// pid, and the streams would otherwise still be closing during order placement).
async fn memory_phases(
    base: &str,
    args: &BenchArgs,
    session: &Session,
    pid: Option<u32>,
) -> anyhow::Result<Option<memory::MemoryPhases>> {
    let Some(pid) = pid.filter(|_| args.login_burst > 0 || args.idle_streams > 0) else {
        return Ok(None);
    };
    // Without --prepare the password is required; with it, the bench password by default.
    let password = args.password.as_deref().unwrap_or(DEFAULT_BENCH_PASSWORD);
    let logins = if args.login_burst > 0 {
        Some(memory::login_burst(base, &session.username, password, args.login_burst, pid).await?)
    } else {
        None
    };
    let streams = if args.idle_streams > 0 {
        Some(memory::idle_streams(base, session, args.idle_streams, pid).await?)
    } else {
        None
    };
    Ok(Some(memory::MemoryPhases { logins, streams }))
}

/// Order placement with the server's memory sampled and the CPU counted: the result, the
/// CPU used while measuring, and the peak VmRSS in KiB.
async fn measure_orders(
    api: &Api,
    session: &Session,
    products: &[Product],
    args: &BenchArgs,
    pid: Option<u32>,
) -> (load::LoadResult, Option<report::OrdersCpu>, Option<u64>) {
    eprintln!(
        "bench: order placement, {} clients, {:?} warm-up + {:?}",
        args.clients, args.warmup, args.duration
    );
    let sampler = pid.map(procfs::RssSampler::start);
    let settings = load::LoadSettings {
        clients: args.clients,
        warmup: args.warmup,
        duration: args.duration,
    };
    // CPU is counted from the end of the warm-up to the last answer (at most one pair's
    // latency past the measured window).
    let warmup = args.warmup;
    let measuring = tokio::spawn(async move {
        tokio::time::sleep(warmup).await;
        procfs::CpuSnapshot::take(pid)
    });
    let result = load::run(api, session, products, settings).await;
    let finished = procfs::CpuSnapshot::take(pid);
    let cpu = measuring.await.ok().map(|started| {
        let used = finished.since(&started);
        let per_order = |seconds: Option<f64>| {
            seconds
                .filter(|_| result.orders > 0)
                .map(|s| (s * 1000.0 / result.orders as f64 * 100.0).round() / 100.0)
        };
        report::OrdersCpu {
            server_ms_per_order: per_order(used.server_seconds),
            database_ms_per_order: per_order(used.database_seconds),
            used,
        }
    });
    let peak = match sampler {
        Some(sampler) => sampler.finish().await,
        None => None,
    };
    (result, cpu, peak)
}

/// Send → KDS with the server's memory sampled: the result and the peak VmRSS in KiB.
async fn measure_kds(
    base: &str,
    orders: &Session,
    kitchen: &Session,
    kitchen_products: &[Product],
    args: &BenchArgs,
    pid: Option<u32>,
) -> anyhow::Result<(kds::KdsResult, Option<u64>)> {
    eprintln!("bench: opening {} KDS streams", args.kds_clients);
    // The streams get their own client: each holds a connection for the whole phase.
    let stream_api = Api::new(base, args.kds_clients)?;
    let sampler = pid.map(procfs::RssSampler::start);
    let settings = kds::KdsSettings {
        clients: args.kds_clients,
        rate: args.kds_rate,
        duration: args.kds_duration,
    };
    let result = kds::run(&stream_api, orders, kitchen, kitchen_products, settings).await?;
    let peak = match sampler {
        Some(sampler) => sampler.finish().await,
        None => None,
    };
    Ok((result, peak))
}

/// The server's pid and how it was found.
fn server_pid(args: &BenchArgs) -> (Option<u32>, String) {
    if let Some(pid) = args.pid {
        return (Some(pid), "--pid".to_owned());
    }
    let local = match args.url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        None => false,
    };
    if !local {
        return (None, "the server is not on this machine; pass --pid".to_owned());
    }
    let Some(port) = args.url.port_or_known_default() else {
        return (None, "the URL has no port".to_owned());
    };
    match procfs::pid_listening_on(port) {
        Some(pid) => (Some(pid), format!("listening on port {port}")),
        None => (
            None,
            format!("no process of ours found listening on port {port}; pass --pid"),
        ),
    }
}

/// The order-taking and the kitchen sessions.
async fn accounts(api: &Api, args: &BenchArgs) -> anyhow::Result<(Session, Session)> {
    if args.prepare {
        let password = args.password.as_deref().unwrap_or(DEFAULT_BENCH_PASSWORD);
        return prepare(api, args, password).await;
    }
    let (Some(username), Some(password)) = (&args.username, &args.password) else {
        bail!(SetupError(
            "pass --username and --password (or POS_BENCH_PASSWORD), or --prepare".to_owned()
        ));
    };
    let orders = sign_in(api, username, password).await?;
    let kitchen = match (&args.kitchen_username, &args.kitchen_password) {
        (Some(username), Some(password)) => sign_in(api, username, password).await?,
        _ => orders.clone(),
    };
    Ok((orders, kitchen))
}

/// Signs in an account that is ready to work (its password already changed).
async fn sign_in(api: &Api, username: &str, password: &str) -> anyhow::Result<Session> {
    match api.login(username, password).await? {
        Login::Rejected => bail!(SetupError(format!(
            "{username}: the server refused the username or password"
        ))),
        Login::Ok(session) if session.must_change_password => bail!(SetupError(format!(
            "{username} must change its password before it may take orders: change it (POST \
             /api/auth/change-password) or run with --prepare"
        ))),
        Login::Ok(session) => Ok(session),
    }
}

/// `--prepare`: the admin's password set to `password` (once), and the bench cashier and
/// kitchen accounts with it.
async fn prepare(api: &Api, args: &BenchArgs, password: &str) -> anyhow::Result<(Session, Session)> {
    let admin_name = &args.admin_username;
    let admin = match api.login(admin_name, &args.admin_password).await? {
        Login::Ok(session) => session,
        // An earlier --prepare changed it to the bench password already.
        Login::Rejected => match api.login(admin_name, password).await? {
            Login::Ok(session) => session,
            Login::Rejected => bail!(SetupError(format!(
                "--prepare: {admin_name} accepts neither --admin-password nor the bench password"
            ))),
        },
    };
    let admin = if admin.must_change_password {
        eprintln!("bench: setting {admin_name}'s password to the bench password");
        api.change_password(&admin, &args.admin_password, password)
            .await?
    } else {
        admin
    };
    for (username, role) in [(BENCH_CASHIER, "cashier"), (BENCH_KITCHEN, "kitchen")] {
        if api.create_staff(&admin, username, role, password).await? {
            eprintln!("bench: created {username} ({role})");
        }
    }
    let orders = sign_in(api, BENCH_CASHIER, password)
        .await
        .context("--prepare made bench-cashier with another password before? pass it as --password")?;
    let kitchen = sign_in(api, BENCH_KITCHEN, password).await?;
    Ok((orders, kitchen))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn parse(args: &[&str]) -> Result<BenchArgs, String> {
        Cli::try_parse_from(std::iter::once("pos-bench").chain(args.iter().copied()))
            .map(|cli| cli.bench)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        for bad in ["", "s", "0s", "-1s", "3h", "1e9s", "twenty"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn defaults_follow_the_issue() {
        let args = parse(&["--prepare"]).unwrap();
        assert_eq!(args.url.as_str(), "http://127.0.0.1:3000/");
        assert_eq!((args.clients, args.kds_clients, args.kds_rate), (32, 200, 20));
        assert_eq!(args.duration, Duration::from_secs(20));
        assert_eq!(args.kds_duration, Duration::from_secs(10));
        assert_eq!(args.admin_username, "able");
    }

    #[test]
    fn an_account_or_prepare_is_required_but_not_both() {
        let missing = parse(&[]).unwrap_err();
        assert!(missing.contains("--username"), "{missing}");
        let both = parse(&["--prepare", "--username", "phiona"]).unwrap_err();
        assert!(both.contains("cannot be used with"), "{both}");
        let lone_kitchen = parse(&["--username", "a", "--kitchen-username", "k"]).unwrap_err();
        assert!(lone_kitchen.contains("--kitchen-password"), "{lone_kitchen}");
        let args = parse(&[
            "--url",
            "http://10.0.0.5:8080",
            "--username",
            "phiona",
            "--clients",
            "4",
            "--kds-clients",
            "0",
            "--duration",
            "3s",
            "--json",
        ])
        .unwrap();
        assert_eq!(args.username.as_deref(), Some("phiona"));
        assert_eq!((args.clients, args.kds_clients), (4, 0));
        assert!(args.json);
        assert_eq!(
            server_pid(&args).0,
            None,
            "a remote server's memory cannot be read"
        );
        assert!(parse(&["--prepare", "--kds-rate", "0"]).is_err());
    }

    #[test]
    fn a_local_server_is_found_by_its_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let args = parse(&["--prepare", "--url", &format!("http://localhost:{port}")]).unwrap();
        assert_eq!(server_pid(&args).0, Some(std::process::id()));
        let given = parse(&["--prepare", "--pid", "4242"]).unwrap();
        assert_eq!(server_pid(&given), (Some(4242), "--pid".to_owned()));
    }
}
