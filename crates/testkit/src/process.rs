//! Small helpers for starting servers: finding binaries, running as the `postgres` user when
//! root, and a watchdog that cleans up after the test run.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::TestkitError;

/// A directory on PATH holding an executable `name`.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Whether this process runs as root (initdb refuses to, so we go through `runuser`).
pub(crate) fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the effective user of the process reading it.
    match Path::new("/proc/self").metadata() {
        Ok(meta) => meta.uid() == 0,
        Err(_) => Command::new("id")
            .arg("-u")
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
            .unwrap_or(false),
    }
}

/// `program args…`, as the `postgres` OS user when we are root.
pub(crate) fn command_as_postgres(program: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// Runs `cmd` to completion; an error carries its output.
pub(crate) fn run(mut cmd: Command, what: &str) -> Result<(), TestkitError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| TestkitError::new(format!("{what}: cannot run {cmd:?}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(TestkitError::new(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

/// Single-quotes `s` for `sh -c`.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Starts a detached shell that waits until process `watched_pid` is gone, then runs
/// `cleanup`. It ignores the terminal's signals so a Ctrl-C of the test run still cleans up.
/// `prelude` runs first (e.g. starting a server in the background as `$!`).
pub(crate) fn spawn_watchdog(watched_pid: u32, prelude: &str, cleanup: &str) -> Result<(), TestkitError> {
    let script = format!(
        "{prelude}\ntrap '' INT TERM HUP\nwhile kill -0 {watched_pid} 2>/dev/null; do sleep 1; done\n{cleanup}\n"
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| TestkitError::new(format!("cannot start the cleanup watchdog: {e}")))
}
