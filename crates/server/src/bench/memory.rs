//! The server's memory under the two loads that once made it grow: a burst of password
//! logins (each argon2 hash takes a 19 MiB block) and many idle event streams, and whether
//! the memory goes back afterwards. Same machine only: figures come from /proc/PID/status.

use std::time::Duration;

use serde::Serialize;

use super::client::{Api, Login, Session};
use super::procfs::{self, RssSampler};
use super::report::mib;

/// How long the server gets to hand memory back once a load is over before RSS is read. A
/// stream whose client left is noticed only when a write fails, and the first heartbeat
/// after the peer closed is still accepted by the kernel: two 15 s heartbeats, plus
/// jemalloc's ~10 s purge of freed pages (measured: 10,000 streams' memory came back 35–40 s
/// after their client closed them).
const SETTLE: Duration = Duration::from_secs(45);
/// Streams being opened at once: a burst of 10,000 connects would overflow the listen
/// backlog and spend the time in SYN retries.
const OPENING_AT_ONCE: usize = 200;
/// How long all streams together may take to open.
const OPEN_TIMEOUT: Duration = Duration::from_secs(120);

/// A burst of logins at once.
#[derive(Debug, Clone, Serialize)]
pub struct LoginBurst {
    pub logins: usize,
    pub succeeded: usize,
    pub rss_before_mib: f64,
    pub peak_rss_mib: f64,
    pub rss_after_mib: f64,
}

/// Many event streams held open with nothing to say, then closed.
#[derive(Debug, Clone, Serialize)]
pub struct IdleStreams {
    pub wanted: usize,
    pub opened: usize,
    pub rss_before_mib: f64,
    pub peak_rss_mib: f64,
    pub rss_after_close_mib: f64,
}

fn rss_mib(pid: u32) -> f64 {
    procfs::memory_of(pid).map_or(0.0, |m| mib(m.rss_kib))
}

/// `logins` password logins of `username` at the same moment, the server's RSS sampled.
pub async fn login_burst(
    base: &str,
    username: &str,
    password: &str,
    logins: usize,
    pid: u32,
) -> anyhow::Result<LoginBurst> {
    eprintln!("bench: {logins} logins at once");
    let api = Api::new(base, logins)?;
    let rss_before_mib = rss_mib(pid);
    let sampler = RssSampler::start(pid);
    let attempts = (0..logins).map(|_| {
        let api = api.clone();
        let (username, password) = (username.to_owned(), password.to_owned());
        tokio::spawn(async move { matches!(api.login(&username, &password).await, Ok(Login::Ok(_))) })
    });
    let mut succeeded = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        succeeded += usize::from(attempt.await.unwrap_or(false));
    }
    let peak = sampler.finish().await;
    tokio::time::sleep(SETTLE).await;
    Ok(LoginBurst {
        logins,
        succeeded,
        rss_before_mib,
        peak_rss_mib: peak.map_or(0.0, mib),
        rss_after_mib: rss_mib(pid),
    })
}

/// Opens `streams` event streams as `session` (the kitchen topic, which is quiet while no
/// order is sent), holds them until all are open, then closes them all.
pub async fn idle_streams(
    base: &str,
    session: &Session,
    streams: usize,
    pid: u32,
) -> anyhow::Result<IdleStreams> {
    eprintln!("bench: opening {streams} idle event streams");
    let api = Api::new(base, streams)?;
    let rss_before_mib = rss_mib(pid);
    let sampler = RssSampler::start(pid);
    let mut opening = tokio::task::JoinSet::new();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(OPENING_AT_ONCE));
    for _ in 0..streams {
        let api = api.clone();
        let session = session.clone();
        let permits = permits.clone();
        opening.spawn(async move {
            let _permit = permits.acquire_owned().await;
            api.open_kds_stream(&session, super::kds::STATION).await
        });
    }
    let mut open = Vec::with_capacity(streams);
    let deadline = tokio::time::Instant::now() + OPEN_TIMEOUT;
    while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, opening.join_next()).await {
        if let Ok(Ok(response)) = joined {
            open.push(response);
        }
    }
    opening.abort_all();
    let opened = open.len();
    // Held a moment with every stream open, so the sampler sees the plateau.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let peak = sampler.finish().await;
    drop(open);
    drop(api);
    tokio::time::sleep(SETTLE).await;
    Ok(IdleStreams {
        wanted: streams,
        opened,
        rss_before_mib,
        peak_rss_mib: peak.map_or(0.0, mib),
        rss_after_close_mib: rss_mib(pid),
    })
}

/// Both phases, as the report carries them.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryPhases {
    pub logins: Option<LoginBurst>,
    pub streams: Option<IdleStreams>,
}

impl MemoryPhases {
    pub fn write_text(&self, out: &mut String) -> std::fmt::Result {
        use std::fmt::Write as _;
        if let Some(l) = &self.logins {
            writeln!(
                out,
                "\nlogin burst ({} logins at once, {} succeeded)",
                l.logins, l.succeeded
            )?;
            writeln!(
                out,
                "  RSS            {} MiB before, peak {} MiB, {} MiB {}s after",
                l.rss_before_mib,
                l.peak_rss_mib,
                l.rss_after_mib,
                SETTLE.as_secs()
            )?;
        }
        if let Some(s) = &self.streams {
            writeln!(out, "\nidle event streams ({} of {} opened)", s.opened, s.wanted)?;
            writeln!(
                out,
                "  RSS            {} MiB before, peak {} MiB while open, {} MiB {}s after closing",
                s.rss_before_mib,
                s.peak_rss_mib,
                s.rss_after_close_mib,
                SETTLE.as_secs()
            )?;
        }
        Ok(())
    }
}
