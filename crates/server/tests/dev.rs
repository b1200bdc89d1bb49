//! `pos dev`, the embedded default: a private PostgreSQL cluster in `./var/postgres` of the
//! working directory, migrated, seeded and served, stopped with `pos`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::{Running, TempDir, assert_seeded, free_port, pos};
use diesel::{Connection, PgConnection};
use pos_testkit::TestDb;

async fn start_dev(cwd: &Path, port: u16, extra: &[(&str, &str)]) -> Running {
    let mut command = pos(&["dev"]);
    command
        .current_dir(cwd)
        .env("PORT", port.to_string())
        .envs(extra.iter().copied());
    Running::start(command, port, &cwd.join("logs")).await
}

/// Pids of live processes whose command line mentions `data_dir`.
fn postgres_processes_for(data_dir: &Path) -> Vec<u32> {
    let needle = data_dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " ").contains(&needle))
                .unwrap_or(false)
        })
        .collect()
}

/// Stops a cluster a failed test left running (`pos` killed by `Running`'s drop leaves its
/// PostgreSQL up), before the temporary directory under it is removed.
struct StopClusterOnDrop(std::path::PathBuf);

impl Drop for StopClusterOnDrop {
    fn drop(&mut self) {
        for pid in postgres_processes_for(&self.0) {
            // SIGQUIT: PostgreSQL's immediate shutdown.
            let _ = std::process::Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status();
        }
    }
}

fn socket_url(cwd: &Path) -> String {
    let run = cwd.join("var/postgres/run");
    let host: String = run
        .to_string_lossy()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("postgresql:///pos?host={host}&port=5432&user=postgres")
}

#[tokio::test]
async fn dev_runs_its_own_cluster_reuses_it_and_stops_it() {
    let cwd = TempDir::new("dev");
    let data_dir = cwd.path().join("var/postgres/data");
    let _cleanup = StopClusterOnDrop(data_dir.clone());
    let port = free_port();

    // First start: creates, migrates and seeds the cluster.
    let mut first = start_dev(cwd.path(), port, &[]).await;
    let (status, body) = first.health().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["redis"], "disabled");
    let log = first.log();
    assert!(
        log.contains(&format!("pos dev is running on http://127.0.0.1:{port}")),
        "{log}"
    );
    assert!(log.contains("able         admin"), "{log}");
    assert!(log.contains("password123"), "{log}");
    assert!(log.contains("created a PostgreSQL cluster"), "{log}");
    assert!(data_dir.join("PG_VERSION").is_file());
    assert_seeded(&mut PgConnection::establish(&socket_url(cwd.path())).unwrap());

    // The seeded accounts sign in with the demo password and must change it.
    let token = first.login("able", "password123").await;
    let (status, me) = first.me(&token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["staff"]["username"], "able");
    assert_eq!(me["must_change_password"], true);

    let secret_file = cwd.path().join("var/dev-secret");
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    assert!(secret.len() >= 32);
    assert_eq!(
        std::fs::metadata(&secret_file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    first.signal("INT");
    let status = first.wait(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}:\n{}", first.log());
    assert!(first.log().contains("PostgreSQL stopped"), "{}", first.log());
    assert_eq!(
        postgres_processes_for(&data_dir),
        Vec::<u32>::new(),
        "the cluster must be down"
    );
    drop(first);

    // Second start: the same cluster, secret and data; nothing seeded twice.
    let port = free_port();
    let mut second = start_dev(cwd.path(), port, &[]).await;
    assert_eq!(second.health().await.0, 200);
    let log = second.log();
    assert!(!log.contains("created a PostgreSQL cluster"), "{log}");
    assert!(log.contains("staff: 0"), "second seed must add nothing: {log}");
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), secret);
    // Same secret, so the session from before the restart is still good.
    let (status, me) = second.me(&token).await;
    assert_eq!(status, 200, "{me}");
    assert_seeded(&mut PgConnection::establish(&socket_url(cwd.path())).unwrap());

    second.signal("TERM");
    let status = second.wait(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}:\n{}", second.log());
    assert_eq!(postgres_processes_for(&data_dir), Vec::<u32>::new());
}

#[tokio::test]
async fn dev_adopts_the_cluster_a_killed_run_left_behind() {
    let cwd = TempDir::new("dev-killed");
    let data_dir = cwd.path().join("var/postgres/data");
    let _cleanup = StopClusterOnDrop(data_dir.clone());

    let mut killed = start_dev(cwd.path(), free_port(), &[]).await;
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();
    // PostgreSQL runs on in its own process group: the next start must cope.
    assert!(!postgres_processes_for(&data_dir).is_empty());
    drop(killed);

    let mut next = start_dev(cwd.path(), free_port(), &[]).await;
    assert_eq!(next.health().await.0, 200);
    assert!(
        next.log().contains("still running from an earlier pos dev"),
        "{}",
        next.log()
    );
    next.signal("TERM");
    assert!(
        next.wait(Duration::from_secs(30)).await.success(),
        "{}",
        next.log()
    );
    assert_eq!(postgres_processes_for(&data_dir), Vec::<u32>::new());
}

#[tokio::test]
async fn dev_uses_database_url_when_set() {
    let db = TestDb::empty();
    let cwd = TempDir::new("dev-url");
    let mut dev = start_dev(cwd.path(), free_port(), &[("DATABASE_URL", db.url())]).await;
    assert_eq!(dev.health().await.0, 200);
    assert!(
        !cwd.path().join("var/postgres").exists(),
        "no private cluster with DATABASE_URL"
    );
    assert_seeded(&mut db.connect());
    dev.signal("TERM");
    assert!(dev.wait(Duration::from_secs(30)).await.success(), "{}", dev.log());
}

/// As root in a folder the `postgres` user cannot enter (a clone in root's 0700 home),
/// `pos dev` keeps its cluster in a place that user can reach, says where, and works.
/// Only root meets this case (PostgreSQL runs as `postgres` only then); CI runs as root.
#[tokio::test]
async fn dev_as_root_in_a_private_folder_keeps_the_cluster_where_postgres_can_reach_it() {
    let uid = String::from_utf8(
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    if uid.trim() != "0" {
        eprintln!("not root: `pos dev` runs PostgreSQL as this user, no other place is needed");
        return;
    }
    let outer = TempDir::new("dev-private");
    let cwd = outer.path().join("home");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::set_permissions(&cwd, std::fs::Permissions::from_mode(0o700)).unwrap();

    let mut dev = start_dev(&cwd, free_port(), &[]).await;
    let (status, body) = dev.health().await;
    assert_eq!(status, 200, "{body}");
    let log = dev.log();
    let shared = log
        .lines()
        .find_map(|l| l.split("keeps this checkout's data in ").nth(1))
        .and_then(|rest| rest.strip_suffix(" instead"))
        .unwrap_or_else(|| panic!("pos dev does not say where the cluster went:\n{log}"))
        .to_owned();
    let shared = std::path::PathBuf::from(shared);
    assert!(shared.starts_with("/var/lib/pos-dev"), "{}", shared.display());
    let data_dir = shared.join("data");
    let _cleanup = StopClusterOnDrop(data_dir.clone());
    assert!(data_dir.join("PG_VERSION").is_file());
    assert!(
        !cwd.join("var/postgres").exists(),
        "nothing the postgres user cannot reach"
    );

    dev.signal("TERM");
    assert!(dev.wait(Duration::from_secs(30)).await.success(), "{}", dev.log());
    assert_eq!(postgres_processes_for(&data_dir), Vec::<u32>::new());
    std::fs::remove_dir_all(&shared).unwrap();
}
