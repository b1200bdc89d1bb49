//! `pos dev`: the whole product on one machine with nothing set up.
//!
//! Without `DATABASE_URL` it runs a private PostgreSQL cluster under `./var/postgres` (see
//! [`crate::pg_cluster`]; as root in a folder the `postgres` user cannot enter, under
//! [`pg_cluster::SHARED_ROOT`] instead), installing the server binaries first when they are
//! missing and it may (root or password-less sudo), creates the `pos` database, migrates and seeds it, signs tokens
//! with a development secret kept in `var/dev-secret`, and serves on
//! http://127.0.0.1:3000. A second start reuses the cluster; stopping `pos` (Ctrl-C,
//! SIGTERM) shuts the HTTP server down first and then the cluster. With `DATABASE_URL` set
//! it uses that database instead; `REDIS_URL`, `PORT` and `BIND` are honoured.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use secrecy::{ExposeSecret, SecretString};

use crate::config::{self, MIN_JWT_SECRET_LEN, Required, SecretUrl};
use crate::pg_cluster::{self, Cluster, Started};
use crate::seed_file::SeedSource;
use crate::shutdown::ShutdownSignals;
use crate::{SetupError, http, wiring};
use pos_api::AppState;

/// Everything `pos dev` keeps lives under this directory of the working directory.
pub const VAR_DIR: &str = "var";
pub const DATABASE: &str = "pos";

pub async fn run(seed_file: Option<PathBuf>) -> anyhow::Result<()> {
    crate::web_bundle::ensure_fresh(&std::env::current_dir()?);
    let mut config = crate::startup(Required::NOTHING)?;
    // Caught from here on, so that a signal while the cluster starts still stops it.
    let mut signals = ShutdownSignals::install()?;
    let var = std::env::current_dir()?.join(VAR_DIR);

    // POS_JWT_SECRET wins; else a development secret that survives restarts.
    if config.jwt_secret.is_none() {
        config.jwt_secret = Some(dev_secret(&var.join("dev-secret"))?);
    }

    let (database_url, cluster) = match &config.database_url {
        Some(url) => {
            tracing::info!(database = %url.redacted(), "using DATABASE_URL instead of a private cluster");
            (url.clone(), None)
        }
        None => {
            let (cluster, lock) = start_cluster(&var)?;
            (
                SecretUrl::from(cluster.database_url(DATABASE)),
                Some((cluster, lock)),
            )
        }
    };

    // Whatever happens from here on, a cluster we run is stopped before we exit.
    let prepared = tokio::select! {
        prepared = prepare(&config, database_url, seed_file) => Some(prepared),
        signal = signals.received() => {
            tracing::info!(signal, "interrupted while starting");
            None
        }
    };
    let served = match prepared {
        Some(Ok((state, logins))) => serve(&config, state, logins, signals).await,
        Some(Err(e)) => Err(e),
        None => Ok(()),
    };
    if let Some((cluster, lock)) = cluster {
        tracing::info!("stopping PostgreSQL");
        let stopped = cluster.stop();
        lock.release();
        match stopped {
            Ok(()) => tracing::info!("PostgreSQL stopped"),
            Err(e) if served.is_ok() => return Err(e.context("stopping PostgreSQL")),
            Err(e) => tracing::error!(error = %e, "could not stop PostgreSQL"),
        }
    }
    served
}

/// The demo logins printed at start.
struct Logins {
    /// Every seeded account starts with the file's default password.
    password: String,
    /// Username and role.
    staff: Vec<(String, &'static str)>,
}

/// Migrates and seeds the database and wires the adapters.
async fn prepare(
    config: &config::Config,
    database_url: SecretUrl,
    seed_file: Option<PathBuf>,
) -> anyhow::Result<(AppState, Logins)> {
    let store = wiring::connect_store(&database_url, config.db_pool_size).await?;
    wiring::migrate(&database_url).await?;

    let source = SeedSource::resolve(seed_file);
    let seed = source.load().map_err(|e| SetupError(format!("{e:#}")))?;
    let logins = Logins {
        password: seed.default_password.expose_secret().to_owned(),
        staff: seed
            .staff
            .iter()
            .map(|s| (s.username.as_str().to_owned(), s.role.as_str()))
            .collect(),
    };
    let report = wiring::seed(&store, seed, config.cafe_name.as_deref()).await?;
    tracing::info!(source = %source.describe(), ?report, "demo venue seeded");

    let bus = wiring::event_bus(config.redis_url.as_ref()).await?;
    Ok((wiring::app_state(store, bus, config)?, logins))
}

async fn serve(
    config: &config::Config,
    state: AppState,
    logins: Logins,
    signals: ShutdownSignals,
) -> anyhow::Result<()> {
    let address = SocketAddr::new(
        config.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        config.port,
    );
    http::serve(state, address, config, signals, |bound| {
        println!("pos dev is running on {}", browser_url(bound));
        println!(
            "demo logins (password {}, to be changed at first login):",
            logins.password
        );
        for (username, role) in &logins.staff {
            println!("  {username:<12} {role}");
        }
        println!("press Ctrl-C to stop");
    })
    .await
}

/// What a person types into a browser for `bound` (a wildcard address means this machine).
fn browser_url(bound: SocketAddr) -> String {
    let host = match bound.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        IpAddr::V4(ip) => ip.to_string(),
    };
    format!("http://{host}:{}", bound.port())
}

fn start_cluster(var: &Path) -> anyhow::Result<(Cluster, DevLock)> {
    let bindir = find_or_install_server()?;
    std::fs::create_dir_all(var)?;
    let lock = DevLock::acquire(&var.join("pos-dev.pid"))?;
    let root = cluster_root(var)?;
    let cluster = Cluster::prepare(&root, bindir.clone()).map_err(|e| SetupError(format!("{e:#}")))?;
    if cluster.init_if_needed()? {
        tracing::info!(data = %cluster.data_dir().display(), bindir = %bindir.display(), "created a PostgreSQL cluster");
    }
    match cluster.start()? {
        Started::Now => tracing::info!(socket = %cluster.socket_dir().display(), "PostgreSQL started"),
        Started::AlreadyRunning => {
            tracing::info!("PostgreSQL was still running from an earlier pos dev; using it")
        }
    }
    let created = cluster.ensure_database(DATABASE).inspect_err(|_| {
        let _ = cluster.stop();
    })?;
    if created {
        tracing::info!(database = DATABASE, "created the database");
    }
    Ok((cluster, lock))
}

fn find_bindir() -> Option<PathBuf> {
    pg_cluster::find_bindir(
        std::env::var_os("PATH").as_deref(),
        pg_cluster::pg_config_bindir(),
        Path::new("/usr/lib/postgresql"),
    )
}

/// The PostgreSQL server binaries: found, or installed with apt-get when we are root (or
/// have password-less sudo), saying so; otherwise a one-line error naming the command.
fn find_or_install_server() -> anyhow::Result<PathBuf> {
    if let Some(bindir) = find_bindir() {
        return Ok(bindir);
    }
    let apt_get = on_path("apt-get");
    let sudo: &[&str] = if pg_cluster::effective_uid()? == 0 {
        &[]
    } else if on_path("sudo") && quiet_success(Command::new("sudo").args(["-n", "true"])) {
        &["sudo", "-n"]
    } else {
        return Err(SetupError(pg_cluster::not_found_message(apt_get)).into());
    };
    if !apt_get {
        return Err(SetupError(pg_cluster::not_found_message(false)).into());
    }
    let package = pg_cluster::SERVER_PACKAGE;
    println!(
        "PostgreSQL server binaries not found; installing them: {}apt-get install -y {package}",
        sudo.iter().map(|s| format!("{s} ")).collect::<String>()
    );
    for args in [
        vec!["apt-get", "update", "-qq"],
        vec![
            "apt-get",
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            package,
        ],
    ] {
        let words: Vec<&str> = sudo.iter().copied().chain(args).collect();
        let status = Command::new(words[0])
            .args(&words[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(std::process::Stdio::null())
            .status()
            .map_err(|e| SetupError(format!("cannot run {}: {e}", words.join(" "))))?;
        if !status.success() {
            return Err(SetupError(format!(
                "{} failed ({status}); install PostgreSQL yourself: sudo apt-get install -y {package}",
                words.join(" ")
            ))
            .into());
        }
    }
    find_bindir().ok_or_else(|| SetupError(pg_cluster::not_found_message(true)).into())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn quiet_success(command: &mut Command) -> bool {
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `./var/postgres`, unless we are root and the `postgres` user (which must own the
/// cluster) cannot enter the working directory, as with a clone in root's 0700 home: then
/// a directory of this checkout's own under [`pg_cluster::SHARED_ROOT`], said out loud.
fn cluster_root(var: &Path) -> anyhow::Result<PathBuf> {
    let local = var.join("postgres");
    if pg_cluster::effective_uid()? != 0 || pg_cluster::postgres_can_enter(var) {
        return Ok(local);
    }
    let shared = pg_cluster::shared_root_for(var);
    // Root-owned and world-searchable, so the postgres user reaches its own cluster below.
    std::fs::create_dir_all(pg_cluster::SHARED_ROOT)?;
    std::fs::set_permissions(
        pg_cluster::SHARED_ROOT,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;
    println!(
        "the postgres user cannot enter {}; PostgreSQL keeps this checkout's data in {} instead",
        var.display(),
        shared.display()
    );
    tracing::info!(data = %shared.display(), "cluster outside the working directory");
    Ok(shared)
}

/// The development JWT secret: read from `path`, or generated and stored there (mode
/// 0600) so tokens survive a restart.
fn dev_secret(path: &Path) -> anyhow::Result<SecretString> {
    match std::fs::read_to_string(path) {
        Ok(stored) if stored.trim().chars().count() >= MIN_JWT_SECRET_LEN => {
            return Ok(SecretString::from(stored.trim().to_owned()));
        }
        Ok(_) => tracing::warn!(file = %path.display(), "development secret too short; making a new one"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    }
    let bytes: [u8; 32] = rand::random();
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Written next to its final name, then renamed: a crash never leaves half a secret.
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&partial, path)?;
    tracing::info!(file = %path.display(), "generated a development JWT secret");
    Ok(SecretString::from(secret))
}

/// Keeps a second `pos dev` off a cluster this one runs (it would stop it on exit).
struct DevLock {
    path: PathBuf,
}

impl DevLock {
    fn acquire(path: &Path) -> anyhow::Result<DevLock> {
        if let Ok(content) = std::fs::read_to_string(path)
            && let Ok(pid) = content.trim().parse::<u32>()
            && pid != std::process::id()
            && is_pos_process(pid)
        {
            return Err(SetupError(format!(
                "another pos dev (pid {pid}) is running in this directory; stop it first"
            ))
            .into());
        }
        std::fs::write(path, format!("{}\n", std::process::id()))?;
        Ok(DevLock {
            path: path.to_path_buf(),
        })
    }

    fn release(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn is_pos_process(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|comm| comm.trim() == "pos")
        .unwrap_or(false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn secret_text(secret: &SecretString) -> &str {
        secret.expose_secret()
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pos-dev-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn dev_secret_is_generated_once_private_and_reused() {
        let dir = scratch("secret");
        let path = dir.join("var/dev-secret");
        let first = dev_secret(&path).unwrap();
        assert_eq!(secret_text(&first).len(), 64);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = dev_secret(&path).unwrap();
        assert_eq!(secret_text(&first), secret_text(&second));

        std::fs::write(&path, "short").unwrap();
        let replaced = dev_secret(&path).unwrap();
        assert_ne!(secret_text(&replaced), "short");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), secret_text(&replaced));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dev_lock_refuses_a_live_pos_and_ignores_stale_pids() {
        let dir = scratch("lock");
        let path = dir.join("pos-dev.pid");
        // A pid that is not a `pos` process (this test binary has another name) is stale.
        let parent = std::os::unix::process::parent_id();
        std::fs::write(&path, format!("{parent}\n")).unwrap();
        let lock = DevLock::acquire(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            std::process::id().to_string()
        );
        lock.release();
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn browser_url_names_loopback_for_wildcards() {
        assert_eq!(
            browser_url("0.0.0.0:3000".parse().unwrap()),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            browser_url("127.0.0.1:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(browser_url("[::1]:3000".parse().unwrap()), "http://[::1]:3000");
    }
}
