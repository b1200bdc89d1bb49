//! A private PostgreSQL cluster for a test run on a machine with no server to use.
//!
//! It listens on a Unix socket only (so it never clashes with anything on a port), lives in
//! a temp directory named after the process that runs the tests (cargo or nextest), is
//! shared by every test binary of that run, and is stopped and deleted by a watchdog once
//! that process exits.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::TestkitError;
use crate::process::{
    command_as_postgres, find_on_path, is_executable, is_root, run, sh_quote, spawn_watchdog,
};

/// How long a test binary waits for another one of the same run to finish starting the
/// cluster before giving up.
const JOIN_TIMEOUT: Duration = Duration::from_secs(120);

/// The admin URL of the run's private cluster, starting it if no sibling process has.
pub(crate) fn private_cluster_url() -> Result<String, TestkitError> {
    let run_owner = std::os::unix::process::parent_id();
    let base = std::env::temp_dir().join(format!("pos-testkit-pg-{run_owner}"));
    start_or_join(&base, run_owner)
}

/// The admin URL of a private cluster of this process whose server messages are in
/// `locale` (e.g. `de_DE.UTF-8`), creating the locale first when it is missing and this
/// process may (root, `localedef` installed). Stopped and deleted when the process exits.
pub(crate) fn localized_cluster_url(locale: &str) -> Result<String, TestkitError> {
    ensure_locale(locale)?;
    let owner = std::process::id();
    let tag: String = locale.chars().filter(char::is_ascii_alphanumeric).collect();
    let base = std::env::temp_dir().join(format!("pos-testkit-pg-{tag}-{owner}"));
    start_cluster_or_join(&base, owner, &format!("-c lc_messages={locale}"))
}

/// Whether the C library knows `locale`; if not, compiles it with `localedef`.
fn ensure_locale(locale: &str) -> Result<(), TestkitError> {
    let known = |wanted: &str| {
        let normalise = |s: &str| s.to_ascii_lowercase().replace(['-', '_', '.'], "");
        Command::new("locale")
            .arg("-a")
            .output()
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .any(|l| normalise(l) == normalise(wanted))
            })
            .unwrap_or(false)
    };
    if known(locale) {
        return Ok(());
    }
    let (name, charset) = locale.split_once('.').unwrap_or((locale, "UTF-8"));
    let Some(localedef) = find_on_path("localedef") else {
        return Err(TestkitError::new(format!(
            "locale {locale} is missing and localedef is not installed (Debian: apt-get install locales)"
        )));
    };
    let mut define = Command::new(localedef);
    define.args(["-i", name, "-f", charset, locale]);
    run(define, &format!("localedef of {locale} (needs root)"))
}

/// Starts a cluster in `base` (or waits for the process that is starting it) and returns
/// its admin URL. The cluster is stopped and `base` removed when `owner_pid` exits.
pub(crate) fn start_or_join(base: &Path, owner_pid: u32) -> Result<String, TestkitError> {
    start_cluster_or_join(base, owner_pid, "")
}

/// [`start_or_join`] with `extra_options` added to the server's command line.
fn start_cluster_or_join(base: &Path, owner_pid: u32, extra_options: &str) -> Result<String, TestkitError> {
    let ready = base.join("ready");
    let lock = base.with_extension("lock");
    let deadline = Instant::now() + JOIN_TIMEOUT;
    loop {
        if ready.exists() {
            return Ok(socket_url(base));
        }
        // Creating a directory is atomic: exactly one process of the run starts the cluster.
        match fs::create_dir(&lock) {
            Ok(()) => {
                let started = start(base, &lock, owner_pid, extra_options);
                if started.is_err() {
                    // Let a sibling try again rather than wait for a cluster that never comes.
                    let _ = fs::remove_dir(&lock);
                }
                return started.map(|()| socket_url(base));
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if Instant::now() > deadline {
                    return Err(TestkitError::new(format!(
                        "timed out waiting for the private PostgreSQL cluster in {} (remove {} if a crashed run left it)",
                        base.display(),
                        lock.display()
                    )));
                }
                thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn socket_url(base: &Path) -> String {
    format!("postgres:///postgres?host={}&user=postgres", base.display())
}

fn start(base: &Path, lock: &Path, owner_pid: u32, extra_options: &str) -> Result<(), TestkitError> {
    let bindir = find_bindir()?;
    let as_postgres = is_root();
    if base.exists() {
        fs::remove_dir_all(base)?;
    }
    fs::create_dir_all(base)?;
    if as_postgres {
        let mut chown = Command::new("chown");
        chown.arg("postgres:postgres").arg(base);
        run(chown, "chown of the private cluster directory")?;
    }
    let data = base.join("data");
    let pg_ctl = bindir.join("pg_ctl");

    // The watchdog goes first so that even a half-started cluster is cleaned up.
    let stop = {
        let runner = if as_postgres {
            "runuser -u postgres -- "
        } else {
            ""
        };
        format!(
            "{runner}{} -D {} -m immediate stop >/dev/null 2>&1",
            sh_quote(&pg_ctl.to_string_lossy()),
            sh_quote(&data.to_string_lossy())
        )
    };
    let cleanup = format!(
        "{stop}; rm -rf {} {}",
        sh_quote(&base.to_string_lossy()),
        sh_quote(&lock.to_string_lossy())
    );
    spawn_watchdog(owner_pid, "", &cleanup)?;

    let mut initdb = command_as_postgres(&bindir.join("initdb"), as_postgres);
    initdb.arg("-D").arg(&data).args([
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]);
    run(initdb, "initdb")?;

    // Durability is pointless for throwaway test data; these make the cluster much faster.
    let server_options = format!(
        "-k {} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 {extra_options}",
        sh_quote(&base.to_string_lossy())
    );
    let mut start = command_as_postgres(&pg_ctl, as_postgres);
    start
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(base.join("postgres.log"))
        .args(["-w", "-t", "60", "-o", &server_options, "start"]);
    run(start, "pg_ctl start")?;
    fs::write(base.join("ready"), b"")?;
    Ok(())
}

/// The directory holding `initdb` and `pg_ctl`: from PATH, `pg_config --bindir`, or the
/// newest `/usr/lib/postgresql/*/bin`.
pub(crate) fn find_bindir() -> Result<PathBuf, TestkitError> {
    let has_tools = |dir: &Path| is_executable(&dir.join("initdb")) && is_executable(&dir.join("pg_ctl"));
    if let Some(dir) = find_on_path("initdb").and_then(|p| p.parent().map(Path::to_path_buf))
        && has_tools(&dir)
    {
        return Ok(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        TestkitError::new(
            "no PostgreSQL server answers and its binaries (initdb, pg_ctl) are not installed: \
             install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or set TEST_DATABASE_URL",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};

    #[test]
    fn a_private_cluster_starts_on_a_unix_socket_and_a_second_caller_joins_it() {
        let base = std::env::temp_dir().join(format!("pos-testkit-pg-selftest-{}", std::process::id()));
        let url = start_or_join(&base, std::process::id()).unwrap_or_else(|e| panic!("{e}"));
        assert!(url.contains(&format!("host={}", base.display())), "{url}");
        let mut conn = PgConnection::establish(&url).unwrap_or_else(|e| panic!("{e}"));
        sql_query("SELECT 1")
            .execute(&mut conn)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            base.join(".s.PGSQL.5432").exists(),
            "socket inside the private directory"
        );

        let started = Instant::now();
        assert_eq!(start_or_join(&base, std::process::id()).ok(), Some(url));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "joining must not start another cluster"
        );
    }
}
