//! A private PostgreSQL cluster for `pos dev`, run with the machine's own PostgreSQL
//! binaries under `./var/postgres`.
//!
//! It listens on a Unix socket only (`var/postgres/run`, mode 0700), so it never clashes
//! with another server's TCP port and only its owner can connect. As root, PostgreSQL
//! refuses to run, so every server command goes through `runuser -u postgres --` on
//! directories owned by `postgres`. Linux only: liveness checks read `/proc`.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A socket-only cluster can use the standard port: it only names the socket file.
pub const PORT: u16 = 5432;
/// The superuser `initdb` creates, whoever runs it.
pub const SUPERUSER: &str = "postgres";
const SERVER_BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// The Debian/Ubuntu package holding the server binaries (and creating the `postgres` user).
pub const SERVER_PACKAGE: &str = "postgresql";

/// Where root keeps a cluster when the `postgres` user cannot enter the working directory
/// (a clone in root's own 0700 home): one directory per checkout, stable across runs.
pub const SHARED_ROOT: &str = "/var/lib/pos-dev";

/// Shown (after `error: `) when no PostgreSQL server is installed and `pos dev` cannot
/// install one itself: the exact command to run.
pub fn not_found_message(apt_get: bool) -> String {
    if apt_get {
        format!(
            "PostgreSQL server binaries not found; install them with: \
             sudo apt-get install -y {SERVER_PACKAGE}"
        )
    } else {
        "PostgreSQL server binaries not found; install PostgreSQL 13 or newer (initdb, pg_ctl, \
         postgres) and put its bin directory on PATH"
            .to_owned()
    }
}

/// Whether the `postgres` user can enter `dir`, i.e. search every directory down to it.
pub fn postgres_can_enter(dir: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-x"])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The cluster root under [`SHARED_ROOT`] for a `pos dev` run in `var`: its folder name
/// (for people) and a hash of its full path (so two checkouts never share a cluster).
pub fn shared_root_for(var: &Path) -> PathBuf {
    let checkout = var.parent().unwrap_or(var);
    let name: String = checkout
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(32)
        .collect();
    // FNV-1a: stable across Rust versions, unlike std's hasher.
    let hash = checkout
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    let name = if name.is_empty() { "pos".to_owned() } else { name };
    PathBuf::from(SHARED_ROOT).join(format!("{name}-{hash:016x}"))
}

/// Finds a directory holding `initdb`, `pg_ctl` and `postgres`: first on `path_var`
/// (symlinks resolved, so `/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb`
/// gives the real bindir), then `pg_config_bindir`, then the newest `<lib_root>/<version>/bin`
/// (Debian's layout, whose bindir is not on PATH).
pub fn find_bindir(
    path_var: Option<&OsStr>,
    pg_config_bindir: Option<PathBuf>,
    lib_root: &Path,
) -> Option<PathBuf> {
    let on_path = path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .find_map(|dir| {
            let initdb = dir.join("initdb");
            if !initdb.is_file() {
                return None;
            }
            let real = fs::canonicalize(&initdb).ok()?;
            let real_dir = real.parent()?.to_path_buf();
            [real_dir, dir].into_iter().find(|d| has_server_binaries(d))
        });
    on_path
        .or_else(|| pg_config_bindir.filter(|d| has_server_binaries(d)))
        .or_else(|| newest_versioned_bindir(lib_root))
}

/// The bindir the system reports through `pg_config --bindir`, if `pg_config` exists.
pub fn pg_config_bindir() -> Option<PathBuf> {
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    if !output.status.success() {
        return None;
    }
    let dir = String::from_utf8(output.stdout).ok()?;
    let dir = dir.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

fn has_server_binaries(dir: &Path) -> bool {
    SERVER_BINARIES.iter().all(|name| dir.join(name).is_file())
}

fn newest_versioned_bindir(lib_root: &Path) -> Option<PathBuf> {
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(lib_root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version: Vec<u32> = name.split('.').map(str::parse).collect::<Result<_, _>>().ok()?;
            let bin = entry.path().join("bin");
            has_server_binaries(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The effective uid, from `/proc/self/status` (no libc needed), else `id -u`.
pub fn effective_uid() -> anyhow::Result<u32> {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        let effective = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .and_then(|uid| uid.parse().ok());
        if let Some(uid) = effective {
            return Ok(uid);
        }
    }
    let output = Command::new("id").arg("-u").output()?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().parse()?)
}

/// A cluster's directories and how to run its commands.
#[derive(Debug, Clone)]
pub struct Cluster {
    root: PathBuf,
    data: PathBuf,
    run: PathBuf,
    log: PathBuf,
    bindir: PathBuf,
    /// Running as root: server commands go through `runuser -u postgres`.
    as_postgres: Option<PostgresUser>,
}

#[derive(Debug, Clone, Copy)]
struct PostgresUser {
    uid: u32,
    gid: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// We started the server.
    Now,
    /// A server for this data directory was already running (left by a killed `pos dev`).
    AlreadyRunning,
}

impl Cluster {
    /// Creates the directories under `root` (absolute) with the owner and modes PostgreSQL
    /// demands.
    pub fn prepare(root: &Path, bindir: PathBuf) -> anyhow::Result<Cluster> {
        let as_postgres = if effective_uid()? == 0 {
            Some(postgres_user()?)
        } else {
            None
        };
        let cluster = Cluster {
            root: root.to_path_buf(),
            data: root.join("data"),
            run: root.join("run"),
            log: root.join("postgres.log"),
            bindir,
            as_postgres,
        };
        // The socket path must fit in sockaddr_un (107 bytes).
        let socket = cluster.run.join(format!(".s.PGSQL.{PORT}"));
        if socket.as_os_str().len() > 107 {
            anyhow::bail!(
                "the socket path {} is too long for a Unix socket; run pos dev from a shorter directory",
                socket.display()
            );
        }
        for dir in [&cluster.root, &cluster.data, &cluster.run] {
            fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
            if let Some(user) = as_postgres {
                std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid))?;
            }
        }
        if as_postgres.is_some() {
            let reachable = cluster
                .server_command("test")
                .args(["-w".as_ref(), cluster.data.as_os_str()])
                .status()?;
            if !reachable.success() {
                anyhow::bail!(
                    "the postgres user cannot reach {}: make its parent directories searchable \
                     (chmod o+x) or run pos dev from a directory it can reach",
                    cluster.data.display()
                );
            }
        }
        Ok(cluster)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    pub fn socket_dir(&self) -> &Path {
        &self.run
    }

    /// Creates the cluster unless `PG_VERSION` shows one is there. `Ok(true)` if created.
    pub fn init_if_needed(&self) -> anyhow::Result<bool> {
        if self.data.join("PG_VERSION").is_file() {
            return Ok(false);
        }
        if fs::read_dir(&self.data)?.next().is_some() {
            anyhow::bail!(
                "{} is not empty but holds no PostgreSQL cluster; move it away and start again",
                self.data.display()
            );
        }
        let mut initdb = self.server_command(self.bindir.join("initdb"));
        initdb
            .arg("-D")
            .arg(&self.data)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale"]);
        run(&mut initdb, "initdb")?;
        Ok(true)
    }

    /// Starts the server on its socket unless it already runs, clearing what a killed
    /// run left behind.
    pub fn start(&self) -> anyhow::Result<Started> {
        if self.running_pid().is_some() {
            return Ok(Started::AlreadyRunning);
        }
        self.remove_stale_locks()?;
        let options = format!(
            "-c listen_addresses='' -c unix_socket_permissions=0700 -p {PORT} -k {}",
            shell_quote(&self.run.to_string_lossy())
        );
        let mut pg_ctl = self.server_command(self.bindir.join("pg_ctl"));
        pg_ctl
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-w", "-t", "60", "-o"])
            .arg(options)
            .arg("start")
            // Own process group: Ctrl-C in the terminal reaches pos, which shuts the HTTP
            // server down first and then stops PostgreSQL, rather than both at once.
            .process_group(0);
        run(&mut pg_ctl, "pg_ctl start").map_err(|e| anyhow::anyhow!("{e}; see {}", self.log.display()))?;
        Ok(Started::Now)
    }

    /// Fast shutdown (open sessions are disconnected), waiting until it is down.
    pub fn stop(&self) -> anyhow::Result<()> {
        if self.running_pid().is_none() {
            return Ok(());
        }
        let mut pg_ctl = self.server_command(self.bindir.join("pg_ctl"));
        pg_ctl
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", "60", "stop"]);
        run(&mut pg_ctl, "pg_ctl stop")?;
        Ok(())
    }

    /// The postmaster's pid if one is alive for this data directory. A pid in a leftover
    /// `postmaster.pid` that now belongs to another program does not count.
    pub fn running_pid(&self) -> Option<u32> {
        let pid_file = fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
        is_postgres_process(pid).then_some(pid)
    }

    fn remove_stale_locks(&self) -> anyhow::Result<()> {
        for stale in [
            self.data.join("postmaster.pid"),
            self.run.join(format!(".s.PGSQL.{PORT}.lock")),
            self.run.join(format!(".s.PGSQL.{PORT}")),
        ] {
            match fs::remove_file(&stale) {
                Ok(()) => tracing::info!(file = %stale.display(), "removed a stale file of a killed run"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => anyhow::bail!("cannot remove {}: {e}", stale.display()),
            }
        }
        Ok(())
    }

    /// Creates `name` unless it exists. `Ok(true)` if created.
    pub fn ensure_database(&self, name: &str) -> anyhow::Result<bool> {
        let exists = self.psql(
            "postgres",
            &format!(
                "SELECT 1 FROM pg_database WHERE datname = '{}'",
                name.replace('\'', "''")
            ),
        )?;
        if exists.trim() == "1" {
            return Ok(false);
        }
        self.psql(
            "postgres",
            &format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\"")),
        )?;
        Ok(true)
    }

    /// Runs one SQL statement with `psql` over the socket; returns its unaligned output.
    pub fn psql(&self, database: &str, sql: &str) -> anyhow::Result<String> {
        let psql = Some(self.bindir.join("psql"))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("psql"));
        let mut command = Command::new(psql);
        command
            .arg("-h")
            .arg(&self.run)
            .args(["-p", &PORT.to_string(), "-U", SUPERUSER, "-d", database])
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]);
        let output = run(&mut command, "psql")?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// A libpq URL for `database` over the socket.
    pub fn database_url(&self, database: &str) -> String {
        let host = percent_encode(&self.run.to_string_lossy());
        format!("postgresql:///{database}?host={host}&port={PORT}&user={SUPERUSER}")
    }

    fn server_command(&self, program: impl AsRef<OsStr>) -> Command {
        match self.as_postgres {
            Some(_) => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }
}

fn postgres_user() -> anyhow::Result<PostgresUser> {
    let id = |flag: &str| -> Option<u32> {
        let output = Command::new("id").args([flag, "postgres"]).output().ok()?;
        if !output.status.success() {
            return None;
        }
        String::from_utf8_lossy(&output.stdout).trim().parse().ok()
    };
    match (id("-u"), id("-g")) {
        (Some(uid), Some(gid)) => Ok(PostgresUser { uid, gid }),
        _ => anyhow::bail!(
            "running as root needs a `postgres` system user to own the cluster \
             (Debian/Ubuntu: apt-get install postgresql creates it), or run pos dev as a normal user"
        ),
    }
}

fn is_postgres_process(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|comm| matches!(comm.trim(), "postgres" | "postmaster"))
        .unwrap_or(false)
}

/// Runs a command to completion; a failure carries the last lines it printed.
fn run(command: &mut Command, what: &str) -> anyhow::Result<Output> {
    let output = command
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {what} ({:?}): {e}", command.get_program()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let said = if stderr.trim().is_empty() { stdout } else { stderr };
        let tail: Vec<&str> = said.lines().rev().take(3).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        anyhow::bail!("{what} failed ({}): {}", output.status, tail.join(" / "));
    }
    Ok(output)
}

/// libpq decodes `%XX` in URL parameters (but not `+`), so everything else is escaped.
fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Quotes a value for the shell line `pg_ctl` hands its `-o` options to.
fn shell_quote(raw: &str) -> String {
    format!("'{}'", raw.replace('\'', r"'\''"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn fake_bindir(dir: &Path, names: &[&str]) {
        fs::create_dir_all(dir).unwrap();
        for name in names {
            let file = dir.join(name);
            fs::write(&file, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&file, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pos-pg-cluster-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn nothing_installed_finds_nothing() {
        let root = scratch("none");
        let path = std::env::join_paths([root.join("bin")]).unwrap();
        assert_eq!(find_bindir(Some(&path), None, &root.join("lib")), None);
        // A client-only install (psql, no server) is not enough.
        fake_bindir(&root.join("bin"), &["psql", "pg_dump"]);
        fake_bindir(&root.join("lib/16/bin"), &["initdb", "pg_ctl"]);
        assert_eq!(
            find_bindir(Some(&path), Some(root.join("bin")), &root.join("lib")),
            None
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn newest_versioned_bindir_wins() {
        let root = scratch("versions");
        for version in ["9.6", "15", "16", "notaversion"] {
            fake_bindir(&root.join(version).join("bin"), &SERVER_BINARIES);
        }
        fake_bindir(&root.join("17/bin"), &["psql"]);
        assert_eq!(find_bindir(None, None, &root), Some(root.join("16/bin")));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn path_beats_pg_config_which_beats_the_library_dirs() {
        let root = scratch("order");
        fake_bindir(&root.join("lib/16/bin"), &SERVER_BINARIES);
        fake_bindir(&root.join("pgconfig"), &SERVER_BINARIES);
        let lib = root.join("lib");
        assert_eq!(
            find_bindir(None, Some(root.join("pgconfig")), &lib),
            Some(root.join("pgconfig"))
        );

        // PATH holds a symlink to the real initdb: the real directory is used.
        fake_bindir(&root.join("real"), &SERVER_BINARIES);
        fs::create_dir_all(root.join("path")).unwrap();
        std::os::unix::fs::symlink(root.join("real/initdb"), root.join("path/initdb")).unwrap();
        let path = std::env::join_paths([root.join("empty"), root.join("path")]).unwrap();
        assert_eq!(
            find_bindir(Some(&path), Some(root.join("pgconfig")), &lib),
            Some(fs::canonicalize(root.join("real")).unwrap())
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn shared_roots_are_stable_short_and_per_checkout() {
        let a = shared_root_for(Path::new("/root/pos/var"));
        assert_eq!(a, shared_root_for(Path::new("/root/pos/var")));
        assert!(a.starts_with(SHARED_ROOT));
        assert!(a.file_name().unwrap().to_string_lossy().starts_with("pos-"));
        assert_ne!(a, shared_root_for(Path::new("/home/x/pos/var")));
        let odd = shared_root_for(Path::new("/root/my clone; rm -rf/var"));
        let name = odd.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "{name}"
        );
        // The socket path stays far below the 107-byte limit.
        assert!(a.join("run/.s.PGSQL.5432").as_os_str().len() < 80);
    }

    #[test]
    fn the_not_found_line_names_the_exact_command() {
        assert!(not_found_message(true).ends_with("sudo apt-get install -y postgresql"));
        assert!(!not_found_message(false).contains('\n'));
    }

    #[test]
    fn effective_uid_matches_id() {
        let id = Command::new("id").arg("-u").output().unwrap();
        let expected: u32 = String::from_utf8_lossy(&id.stdout).trim().parse().unwrap();
        assert_eq!(effective_uid().unwrap(), expected);
    }

    #[test]
    fn shell_quote_survives_quotes_and_spaces() {
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("/tmp/it's"), r"'/tmp/it'\''s'");
    }

    #[test]
    fn database_url_points_at_the_socket() {
        let cluster = Cluster {
            root: "/tmp/x y/var/postgres".into(),
            data: "/tmp/x y/var/postgres/data".into(),
            run: "/tmp/x y/var/postgres/run".into(),
            log: "/tmp/x y/var/postgres/postgres.log".into(),
            bindir: "/usr/lib/postgresql/15/bin".into(),
            as_postgres: None,
        };
        assert_eq!(
            cluster.database_url("pos"),
            "postgresql:///pos?host=%2Ftmp%2Fx%20y%2Fvar%2Fpostgres%2Frun&port=5432&user=postgres"
        );
    }
}
