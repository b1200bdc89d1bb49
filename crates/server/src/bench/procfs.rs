//! What Linux's /proc tells the bench: the machine it runs on, which process listens on the
//! server's port, and that process's memory (VmRSS now, VmHWM the peak since it started).

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The machine, as the report describes it.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_mib: u64,
    pub kernel: String,
}

impl Machine {
    pub fn describe() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model: cpu_model(&read("/proc/cpuinfo")).unwrap_or_else(|| "unknown".to_owned()),
            memory_mib: kib_field(&read("/proc/meminfo"), "MemTotal").map_or(0, |kib| kib / 1024),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        }
    }
}

/// The 1-, 5- and 15-minute load averages, when /proc has them.
pub fn load_average() -> Option<[f64; 3]> {
    parse_load_average(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

fn parse_load_average(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    Some([fields.next()?.ok()?, fields.next()?.ok()?, fields.next()?.ok()?])
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_owned())
    })
}

/// A `Key:   1234 kB` line of /proc/meminfo or /proc/<pid>/status, in KiB.
fn kib_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name != key {
            return None;
        }
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// A process's resident memory, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub rss_kib: u64,
    /// The high-water mark of `rss_kib` since the process started.
    pub hwm_kib: u64,
}

pub fn memory_of(pid: u32) -> Option<Memory> {
    parse_memory(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

fn parse_memory(status: &str) -> Option<Memory> {
    Some(Memory {
        rss_kib: kib_field(status, "VmRSS")?,
        hwm_kib: kib_field(status, "VmHWM")?,
    })
}

/// Linux reports process and machine times in USER_HZ ticks, 100 a second on every
/// architecture it exposes to user space.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time (user + system) a process has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    parse_cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    // The command name is in parentheses and may contain spaces: count fields after it.
    let (_, after_name) = stat.rsplit_once(')')?;
    cpu_seconds_after_name(after_name)
}

fn cpu_seconds_after_name(after_name: &str) -> Option<f64> {
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the line (utime, stime) are the 12th and 13th after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// CPU time (user + system) of this machine's PostgreSQL processes so far, in seconds: the
/// processes named `postgres` alive now (the server's pooled connections among them).
/// `None` when there are none, or none of them is ours to look into.
pub fn database_cpu_seconds() -> Option<f64> {
    let mut total = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        if entry
            .file_name()
            .to_str()
            .is_none_or(|name| name.parse::<u32>().is_err())
        {
            continue;
        }
        if let Some(seconds) = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .as_deref()
            .and_then(postgres_cpu_seconds)
        {
            *total.get_or_insert(0.0) += seconds;
        }
    }
    total
}

/// A /proc/<pid>/stat line's CPU seconds if its process is a `postgres`.
fn postgres_cpu_seconds(stat: &str) -> Option<f64> {
    let (head, after_name) = stat.rsplit_once(')')?;
    let (_, name) = head.split_once('(')?;
    (name == "postgres").then(|| cpu_seconds_after_name(after_name))?
}

/// The machine's CPU time so far, in seconds over all CPUs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineCpu {
    /// Running anything: user, system, interrupts (not idle, iowait or steal).
    pub busy: f64,
    /// Taken by the hypervisor for other guests while this one wanted to run.
    pub steal: f64,
    pub total: f64,
}

pub fn machine_cpu_seconds() -> Option<MachineCpu> {
    parse_machine_cpu(&std::fs::read_to_string("/proc/stat").ok()?)
}

fn parse_machine_cpu(stat: &str) -> Option<MachineCpu> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is
    // already inside user and nice.
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0);
    let steal = ticks.get(7).copied().unwrap_or(0);
    Some(MachineCpu {
        busy: (total - idle - steal) as f64 / TICKS_PER_SECOND,
        steal: steal as f64 / TICKS_PER_SECOND,
        total: total as f64 / TICKS_PER_SECOND,
    })
}

/// CPU counters at one moment: the server's, the local PostgreSQL's, this process's and
/// the machine's.
#[derive(Debug, Clone, Copy)]
pub struct CpuSnapshot {
    server: Option<f64>,
    database: Option<f64>,
    bench: Option<f64>,
    machine: Option<MachineCpu>,
}

/// CPU used between two snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CpuUse {
    pub server_seconds: Option<f64>,
    /// This machine's PostgreSQL processes (see [`database_cpu_seconds`]); `None` when the
    /// database runs elsewhere.
    pub database_seconds: Option<f64>,
    pub bench_seconds: Option<f64>,
    /// Busy share of all CPUs of the machine, whoever used them.
    pub machine_busy_percent: Option<f64>,
    /// Share of all CPUs the hypervisor gave to other guests: on a shared host, the reason
    /// the same build measures faster one minute than the next.
    pub machine_steal_percent: Option<f64>,
}

impl CpuSnapshot {
    pub fn take(server: Option<u32>) -> CpuSnapshot {
        CpuSnapshot {
            server: server.and_then(cpu_seconds),
            database: database_cpu_seconds(),
            bench: cpu_seconds(std::process::id()),
            machine: machine_cpu_seconds(),
        }
    }

    pub fn since(&self, earlier: &CpuSnapshot) -> CpuUse {
        let diff = |now: Option<f64>, then: Option<f64>| Some(round2(now? - then?));
        let share = |part: fn(&MachineCpu) -> f64| match (self.machine, earlier.machine) {
            (Some(now), Some(then)) if now.total > then.total => Some(round2(
                (part(&now) - part(&then)) / (now.total - then.total) * 100.0,
            )),
            _ => None,
        };
        CpuUse {
            server_seconds: diff(self.server, earlier.server),
            database_seconds: diff(self.database, earlier.database).filter(|s| *s >= 0.0),
            bench_seconds: diff(self.bench, earlier.bench),
            machine_busy_percent: share(|m| m.busy),
            machine_steal_percent: share(|m| m.steal),
        }
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The process listening on TCP `port` (IPv4 or IPv6): its socket's inode from
/// /proc/net/tcp{,6}, then the process holding a descriptor to that inode. `None` when no
/// listener is found or its process is not ours to look into.
pub fn pid_listening_on(port: u16) -> Option<u32> {
    let inodes: Vec<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|table| listening_inodes(&table, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let targets: Vec<String> = inodes.iter().map(|inode| format!("socket:[{inode}]")).collect();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        holds_any(&entry.path().join("fd"), &targets).then_some(pid)
    })
}

fn holds_any(fd_dir: &Path, targets: &[String]) -> bool {
    let Ok(fds) = std::fs::read_dir(fd_dir) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|link| {
            link.to_str()
                .is_some_and(|link| targets.iter().any(|t| t == link))
        })
    })
}

/// Inodes of the sockets in state LISTEN (`0A`) on `port` in a /proc/net/tcp table.
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let (_, port_hex) = local.rsplit_once(':')?;
            let listening = *fields.get(3)? == "0A";
            (listening && u16::from_str_radix(port_hex, 16).ok()? == port)
                .then(|| fields.get(9)?.parse().ok())
                .flatten()
        })
        .collect()
}

/// Samples a process's VmRSS in the background until finished; the highest sample is the
/// phase's peak (VmHWM cannot be reset, so it covers the process's whole life).
pub struct RssSampler {
    stop: watch::Sender<bool>,
    task: JoinHandle<Option<u64>>,
}

const SAMPLE_EVERY: Duration = Duration::from_millis(100);

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut peak: Option<u64> = None;
            let mut ticks = tokio::time::interval(SAMPLE_EVERY);
            loop {
                if let Some(memory) = memory_of(pid) {
                    peak = Some(peak.map_or(memory.rss_kib, |p| p.max(memory.rss_kib)));
                }
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stopped.changed() => break,
                }
            }
            peak
        });
        RssSampler { stop, task }
    }

    /// Stops sampling; the highest VmRSS seen, in KiB.
    pub async fn finish(self) -> Option<u64> {
        let _ = self.stop.send(true);
        self.task.await.ok().flatten()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn memory_lines_of_a_status_file() {
        let status =
            "Name:\tpos\nVmPeak:\t 1200000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   40960 kB\nThreads:\t9\n";
        assert_eq!(
            parse_memory(status),
            Some(Memory {
                rss_kib: 40_960,
                hwm_kib: 81_234
            })
        );
        assert_eq!(
            parse_memory("Name:\tkthreadd\n"),
            None,
            "kernel threads have no VmRSS"
        );
    }

    #[test]
    fn machine_figures_from_proc_texts() {
        let cpuinfo =
            "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(
            kib_field("MemTotal:        8141136 kB\nMemFree: 1 kB\n", "MemTotal"),
            Some(8_141_136)
        );
        assert_eq!(
            parse_load_average("1.52 0.98 0.61 3/412 12345\n"),
            Some([1.52, 0.98, 0.61])
        );
        assert_eq!(parse_load_average("garbage"), None);
    }

    #[test]
    fn cpu_times_from_stat_lines() {
        let stat = "4242 (pos serve) S 1 4242 4242 0 -1 4194560 1200 0 0 0 1234 566 0 0 20 0 7 0 100 0 0\n";
        assert_eq!(parse_cpu_seconds(stat), Some(18.0));
        assert_eq!(parse_cpu_seconds("4242 (pos) S 1"), None);
        let machine = "cpu  100 0 100 700 100 0 0 50 30 0\ncpu0 50 0 50 350 50 0 0 0 0 0\n";
        assert_eq!(
            parse_machine_cpu(machine),
            Some(MachineCpu {
                busy: 2.0,
                steal: 0.5,
                total: 10.5
            }),
            "idle, iowait and steal are not busy; guest time is inside user"
        );
        assert!(cpu_seconds(std::process::id()).is_some());
        let now = machine_cpu_seconds().unwrap();
        assert!(now.busy > 0.0 && now.total >= now.busy + now.steal);
        let backend = "977 (postgres) S 1 977 977 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 1 0 9 0 0\n";
        assert_eq!(postgres_cpu_seconds(backend), Some(3.0));
        assert_eq!(postgres_cpu_seconds(stat), None, "not a postgres process");
    }

    #[test]
    fn listening_sockets_of_a_port_in_a_tcp_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:0BB8 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4243 1 0000000000000000 20 4 30 10 -1\n\
   2: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   104        0 5151 1 0000000000000000 100 0 0 10 0\n";
        assert_eq!(
            listening_inodes(table, 3000),
            [4242],
            "the established connection is not a listener"
        );
        assert_eq!(listening_inodes(table, 5432), [5151]);
        assert!(listening_inodes(table, 80).is_empty());
    }

    #[test]
    fn finds_this_process_by_its_listening_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(pid_listening_on(port), Some(std::process::id()));
        drop(listener);
        assert_eq!(pid_listening_on(port), None);
    }

    #[tokio::test]
    async fn the_sampler_sees_this_process_resident() {
        let sampler = RssSampler::start(std::process::id());
        tokio::time::sleep(SAMPLE_EVERY * 2).await;
        let peak = sampler.finish().await.unwrap();
        let now = memory_of(std::process::id()).unwrap();
        assert!(peak > 0 && peak <= now.hwm_kib, "peak {peak} KiB, {now:?}");
    }
}
