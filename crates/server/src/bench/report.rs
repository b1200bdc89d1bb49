//! The bench's findings: one structure, printed as text for people or as JSON for tools.

use std::fmt::Write as _;

use serde::Serialize;

use super::kds::KdsResult;
use super::load::LoadResult;
use super::procfs::{CpuUse, Machine};
use super::stats::Summary;

/// The project's aims (issue 4, item 11).
pub const AIM_ORDERS_PER_SECOND: f64 = 1_500.0;
pub const AIM_KDS_P99_MS: f64 = 50.0;
pub const AIM_PEAK_RSS_MIB: f64 = 100.0;
/// Issue 9, item 5: a burst of this many logins, and this many idle event streams, each
/// within a peak RSS.
pub const AIM_LOGIN_BURST: usize = 16;
pub const AIM_LOGIN_BURST_PEAK_RSS_MIB: f64 = 100.0;
pub const AIM_IDLE_STREAMS: usize = 10_000;
pub const AIM_IDLE_STREAMS_PEAK_RSS_MIB: f64 = 150.0;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub load_average_before: Option<[f64; 3]>,
    pub load_average_after: Option<[f64; 3]>,
    pub server: Server,
    pub settings: Settings,
    pub orders: Option<LoadResult>,
    /// CPU used during the measured part of order placement.
    pub orders_cpu: Option<OrdersCpu>,
    pub kds: Option<KdsResult>,
    pub memory: Option<Memory>,
    /// Login burst and idle streams (`bench/memory.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_phases: Option<super::memory::MemoryPhases>,
    pub aims: Vec<Aim>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrdersCpu {
    #[serde(flatten)]
    pub used: CpuUse,
    /// Server CPU time per completed order (create + send).
    pub server_ms_per_order: Option<f64>,
    /// The local PostgreSQL's CPU time per completed order.
    pub database_ms_per_order: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Server {
    pub url: String,
    pub version: String,
    pub pid: Option<u32>,
    /// How the pid was found (`--pid`, the listening port) or why there is none.
    pub pid_source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub clients: usize,
    pub warmup_seconds: f64,
    pub duration_seconds: f64,
    pub items_per_order: usize,
    pub kds_clients: usize,
    pub kds_rate_per_second: u32,
    pub kds_seconds: f64,
    pub orders_account: String,
    pub kds_account: String,
}

/// The server's resident memory in MiB.
#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// The highest of VmHWM and every sample: what the aim is judged on.
    pub peak_mib: f64,
    pub rss_before_mib: f64,
    /// The highest VmRSS sampled (every 100 ms) during each phase.
    pub peak_rss_orders_mib: Option<f64>,
    pub peak_rss_kds_mib: Option<f64>,
    /// VmHWM at the end: the peak over the process's whole life.
    pub vm_hwm_mib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Aim {
    pub what: String,
    pub aim: String,
    pub measured: Option<f64>,
    pub met: Option<bool>,
}

pub fn mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

impl Report {
    /// Judges the figures against the aims; a phase not run is judged `None`.
    pub fn judge(&mut self) {
        let throughput = self.orders.as_ref().map(|o| o.orders_per_second);
        let kds_p99 = self
            .kds
            .as_ref()
            .and_then(|k| k.delay_from_send_issued.map(|s| s.p99_ms));
        let rss = self.memory.as_ref().map(|m| m.peak_mib);
        let phases = self.memory_phases.as_ref();
        // Judged only at the issue's sizes; other sizes are shown, not judged.
        let logins = phases
            .and_then(|p| p.logins.as_ref())
            .filter(|l| l.logins == AIM_LOGIN_BURST && l.succeeded == l.logins)
            .map(|l| l.peak_rss_mib);
        let streams = phases
            .and_then(|p| p.streams.as_ref())
            .filter(|s| s.wanted == AIM_IDLE_STREAMS && s.opened == s.wanted)
            .map(|s| s.peak_rss_mib);
        self.aims = vec![
            Aim {
                what: "order placement throughput (orders/s)".into(),
                aim: format!(">= {AIM_ORDERS_PER_SECOND}"),
                measured: throughput,
                met: throughput.map(|t| t >= AIM_ORDERS_PER_SECOND),
            },
            Aim {
                what: "send -> KDS p99 (ms)".into(),
                aim: format!("< {AIM_KDS_P99_MS}"),
                measured: kds_p99,
                met: kds_p99.map(|p| p < AIM_KDS_P99_MS),
            },
            Aim {
                what: "server peak RSS (MiB)".into(),
                aim: format!("< {AIM_PEAK_RSS_MIB}"),
                measured: rss,
                met: rss.map(|r| r < AIM_PEAK_RSS_MIB),
            },
            Aim {
                what: format!("{AIM_LOGIN_BURST} logins at once: peak RSS (MiB)"),
                aim: format!("< {AIM_LOGIN_BURST_PEAK_RSS_MIB}"),
                measured: logins,
                met: logins.map(|r| r < AIM_LOGIN_BURST_PEAK_RSS_MIB),
            },
            Aim {
                what: format!("{AIM_IDLE_STREAMS} idle streams: peak RSS (MiB)"),
                aim: format!("< {AIM_IDLE_STREAMS_PEAK_RSS_MIB}"),
                measured: streams,
                met: streams.map(|r| r < AIM_IDLE_STREAMS_PEAK_RSS_MIB),
            },
        ];
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) -> std::fmt::Result {
        let m = &self.machine;
        writeln!(out, "pos bench")?;
        writeln!(
            out,
            "machine   {} CPUs, {}, {} MiB RAM, Linux {}",
            m.cpus, m.cpu_model, m.memory_mib, m.kernel
        )?;
        writeln!(
            out,
            "load avg  before {}, after {}",
            load(self.load_average_before),
            load(self.load_average_after)
        )?;
        let pid = self
            .server
            .pid
            .map_or_else(|| "unknown".to_owned(), |p| p.to_string());
        writeln!(
            out,
            "server    {} (version {}, pid {pid}: {})",
            self.server.url, self.server.version, self.server.pid_source
        )?;
        let s = &self.settings;
        writeln!(
            out,
            "settings  {} clients x ({}s warm-up + {}s), {} items per order, as {}; {} KDS streams at {} orders/s for {}s, as {}",
            s.clients,
            s.warmup_seconds,
            s.duration_seconds,
            s.items_per_order,
            s.orders_account,
            s.kds_clients,
            s.kds_rate_per_second,
            s.kds_seconds,
            s.kds_account
        )?;

        if let Some(o) = &self.orders {
            writeln!(out, "\norder placement (create with 3 items + send)")?;
            writeln!(
                out,
                "  throughput     {} orders/s ({} orders in {}s)",
                o.orders_per_second, o.orders, o.measured_seconds
            )?;
            latency_line(out, "create+send", o.create_and_send.as_ref())?;
            latency_line(out, "create", o.create.as_ref())?;
            latency_line(out, "send", o.send.as_ref())?;
            errors(out, &o.errors)?;
            if let Some(cpu) = &self.orders_cpu {
                let seconds = |s: Option<f64>| s.map_or_else(|| "?".to_owned(), |s| format!("{s} s"));
                let per_order =
                    |ms: Option<f64>| ms.map_or_else(String::new, |ms| format!(" ({ms} ms per order)"));
                let percent = |p: Option<f64>| p.map_or_else(|| "?".to_owned(), |p| format!("{p}%"));
                let database = cpu.used.database_seconds.map_or_else(String::new, |s| {
                    format!(", PostgreSQL here {s} s{}", per_order(cpu.database_ms_per_order))
                });
                writeln!(
                    out,
                    "  CPU            server {}{}{database}, this bench {}; machine {} busy, {} stolen",
                    seconds(cpu.used.server_seconds),
                    per_order(cpu.server_ms_per_order),
                    seconds(cpu.used.bench_seconds),
                    percent(cpu.used.machine_busy_percent),
                    percent(cpu.used.machine_steal_percent)
                )?;
            }
        }
        if let Some(k) = &self.kds {
            writeln!(out, "\nsend -> KDS ({} streams, station kitchen)", k.clients)?;
            writeln!(
                out,
                "  streams        {} live, {} failed to connect, {} ended early",
                k.clients - k.failed_to_connect,
                k.failed_to_connect,
                k.ended_early
            )?;
            writeln!(
                out,
                "  orders sent    {} ({} deliveries of {} expected; {} missed by {} streams, at most {} by one; {} duplicates)",
                k.orders_sent,
                k.deliveries,
                k.expected_deliveries,
                k.missed,
                k.screens_missing_events,
                k.most_missed_by_one_screen,
                k.duplicates
            )?;
            latency_line(out, "from send issued", k.delay_from_send_issued.as_ref())?;
            latency_line(out, "from send answer", k.delay_from_send_answered.as_ref())?;
            writeln!(
                out,
                "  {} deliveries arrived before the send's answer",
                k.arrived_before_answer
            )?;
            latency_line(out, "send request", k.send.as_ref())?;
            errors(out, &k.send_errors)?;
        }
        if let Some(mem) = &self.memory {
            writeln!(out, "\nserver memory")?;
            writeln!(out, "  RSS before     {} MiB", mem.rss_before_mib)?;
            if let Some(peak) = mem.peak_rss_orders_mib {
                writeln!(out, "  peak RSS       {peak} MiB during order placement")?;
            }
            if let Some(peak) = mem.peak_rss_kds_mib {
                writeln!(out, "  peak RSS       {peak} MiB during send -> KDS")?;
            }
            writeln!(
                out,
                "  VmHWM          {} MiB (peak over the process's life)",
                mem.vm_hwm_mib
            )?;
            writeln!(out, "  peak           {} MiB", mem.peak_mib)?;
        }
        if let Some(phases) = &self.memory_phases {
            phases.write_text(out)?;
        }
        writeln!(out, "\naims")?;
        for aim in &self.aims {
            let verdict = match aim.met {
                Some(true) => "met",
                Some(false) => "NOT met",
                None => "not measured",
            };
            let measured = aim.measured.map_or_else(|| "-".to_owned(), |m| m.to_string());
            writeln!(
                out,
                "  {:<40} {:<8} measured {:<10} {verdict}",
                aim.what, aim.aim, measured
            )?;
        }
        Ok(())
    }
}

fn load(average: Option<[f64; 3]>) -> String {
    average.map_or_else(|| "unknown".to_owned(), |[a, b, c]| format!("{a} {b} {c}"))
}

fn latency_line(out: &mut String, label: &str, summary: Option<&Summary>) -> std::fmt::Result {
    match summary {
        Some(s) => writeln!(
            out,
            "  {label:<16} p50 {} ms  p90 {} ms  p99 {} ms  p99.9 {} ms  max {} ms  (mean {} ms, n={})",
            s.p50_ms, s.p90_ms, s.p99_ms, s.p999_ms, s.max_ms, s.mean_ms, s.count
        ),
        None => writeln!(out, "  {label:<16} no samples"),
    }
}

fn errors(out: &mut String, errors: &std::collections::BTreeMap<String, u64>) -> std::fmt::Result {
    if errors.is_empty() {
        return writeln!(out, "  errors         none");
    }
    for (what, n) in errors {
        writeln!(out, "  error          {what}: {n}")?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn summary(p99: f64) -> Summary {
        Summary {
            count: 100,
            mean_ms: 5.0,
            p50_ms: 4.0,
            p90_ms: 8.0,
            p99_ms: p99,
            p999_ms: p99,
            max_ms: p99 + 1.0,
        }
    }

    fn report() -> Report {
        Report {
            machine: Machine {
                cpus: 2,
                cpu_model: "Test CPU".into(),
                memory_mib: 4096,
                kernel: "6.1".into(),
            },
            load_average_before: Some([1.5, 1.0, 0.5]),
            load_average_after: None,
            server: Server {
                url: "http://127.0.0.1:3000".into(),
                version: "0.1.0".into(),
                pid: Some(42),
                pid_source: "--pid".into(),
            },
            settings: Settings {
                clients: 32,
                warmup_seconds: 2.0,
                duration_seconds: 20.0,
                items_per_order: 3,
                kds_clients: 200,
                kds_rate_per_second: 20,
                kds_seconds: 10.0,
                orders_account: "bench-cashier".into(),
                kds_account: "bench-kitchen".into(),
            },
            orders: Some(LoadResult {
                clients: 32,
                measured_seconds: 20.0,
                orders: 20_000,
                orders_per_second: 1_000.0,
                create_and_send: Some(summary(30.0)),
                create: Some(summary(20.0)),
                send: None,
                errors: [("send: 409 stale_version".to_owned(), 3)].into(),
            }),
            orders_cpu: Some(OrdersCpu {
                used: CpuUse {
                    server_seconds: Some(30.0),
                    database_seconds: Some(45.0),
                    bench_seconds: Some(2.5),
                    machine_busy_percent: Some(90.5),
                    machine_steal_percent: Some(7.0),
                },
                server_ms_per_order: Some(1.5),
                database_ms_per_order: Some(2.25),
            }),
            kds: None,
            memory: Some(Memory {
                peak_mib: 99.9,
                rss_before_mib: 20.0,
                peak_rss_orders_mib: Some(60.5),
                peak_rss_kds_mib: None,
                vm_hwm_mib: 99.9,
            }),
            memory_phases: None,
            aims: Vec::new(),
        }
    }

    #[test]
    fn aims_are_judged_and_unmeasured_ones_say_so() {
        let mut report = report();
        report.judge();
        let verdicts: Vec<Option<bool>> = report.aims.iter().map(|a| a.met).collect();
        assert_eq!(verdicts, [Some(false), None, Some(true), None, None]);
    }

    #[test]
    fn memory_aims_are_judged_at_the_issues_sizes_only() {
        use super::super::memory::{IdleStreams, LoginBurst, MemoryPhases};
        let logins = |logins, peak_rss_mib| LoginBurst {
            logins,
            succeeded: logins,
            rss_before_mib: 40.0,
            peak_rss_mib,
            rss_after_mib: 45.0,
        };
        let streams = |wanted, opened, peak_rss_mib| IdleStreams {
            wanted,
            opened,
            rss_before_mib: 40.0,
            peak_rss_mib,
            rss_after_close_mib: 45.0,
        };
        let verdicts = |phases: MemoryPhases| {
            let mut report = report();
            report.memory_phases = Some(phases);
            report.judge();
            report.aims[3..].iter().map(|a| a.met).collect::<Vec<_>>()
        };
        assert_eq!(
            verdicts(MemoryPhases {
                logins: Some(logins(16, 85.0)),
                streams: Some(streams(10_000, 10_000, 146.5)),
            }),
            [Some(true), Some(true)]
        );
        assert_eq!(
            verdicts(MemoryPhases {
                logins: Some(logins(16, 100.0)),
                streams: Some(streams(10_000, 10_000, 150.1)),
            }),
            [Some(false), Some(false)]
        );
        // Other sizes, or streams that did not all open, are not judged.
        assert_eq!(
            verdicts(MemoryPhases {
                logins: Some(logins(4, 50.0)),
                streams: Some(streams(10_000, 512, 60.0)),
            }),
            [None, None]
        );
    }

    #[test]
    fn the_text_names_the_figures() {
        let mut report = report();
        report.judge();
        let text = report.to_text();
        for expected in [
            "2 CPUs, Test CPU, 4096 MiB RAM",
            "before 1.5 1 0.5, after unknown",
            "throughput     1000 orders/s (20000 orders in 20s)",
            "create+send      p50 4 ms  p90 8 ms  p99 30 ms",
            "send             no samples",
            "error          send: 409 stale_version: 3",
            "VmHWM          99.9 MiB",
            "CPU            server 30 s (1.5 ms per order), PostgreSQL here 45 s (2.25 ms per order), \
             this bench 2.5 s; machine 90.5% busy, 7% stolen",
            "NOT met",
            "not measured",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
        }
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["orders"]["orders_per_second"], 1000.0);
        assert_eq!(json["aims"][2]["met"], true);
        assert_eq!(json["orders_cpu"]["server_seconds"], 30.0);
        assert_eq!(json["orders_cpu"]["database_ms_per_order"], 2.25);
    }

    #[test]
    fn mebibytes_from_kibibytes() {
        assert_eq!(mib(102_400), 100.0);
        assert_eq!(mib(81_234), 79.3);
    }
}
