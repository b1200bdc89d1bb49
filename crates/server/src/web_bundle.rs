//! `pos dev` keeps the web app's bundle current: when `web/dist` is missing or older than
//! the sources under `web/`, it runs `npm ci` (if `node_modules` is missing or stale) and
//! `npm run build` before serving, and says so. It runs before the configuration is read,
//! so the `WEB_DIR` default (`web/dist` when present) sees the fresh bundle. Without npm,
//! with a Node.js older than Vite needs, or when the build fails, `pos dev` still starts (the API works; `/` says no web app is
//! installed) after one line naming what to install.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// Where the SPA's sources live, relative to the working directory.
pub const WEB_SRC_DIR: &str = "web";

/// Why the bundle has to be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    Missing,
    OlderThan(PathBuf),
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stale::Missing => write!(f, "web/dist is missing"),
            Stale::OlderThan(path) => write!(f, "web/dist is older than {}", path.display()),
        }
    }
}

/// Builds `web/dist` when needed. A no-op when `WEB_DIR` is set (the operator chose a
/// bundle) or when there is no `web/package.json` here.
pub fn ensure_fresh(cwd: &Path) {
    if std::env::var_os("WEB_DIR").is_some() {
        return;
    }
    let web = cwd.join(WEB_SRC_DIR);
    if !web.join("package.json").is_file() {
        return;
    }
    let Some(reason) = staleness(&web) else {
        return;
    };
    if !npm_available() {
        eprintln!(
            "{reason}, and npm is not installed (apt-get install -y nodejs npm): serving without a fresh web app"
        );
        return;
    }
    if let Some(version) = node_version().filter(|v| !node_builds_vite(*v)) {
        eprintln!(
            "{reason}, and Node.js {}.{} is too old to build it (Vite needs 20.19+ or 22.12+; \
             Debian 12's apt has 18: install Node 20 or newer): serving without a fresh web app",
            version.0, version.1
        );
        return;
    }
    eprintln!("building the web app ({reason}); this takes a minute the first time");
    if let Err(e) = build(&web) {
        eprintln!("could not build the web app: {e}; serving without a fresh one");
    } else {
        eprintln!("web app built into web/dist");
    }
}

/// `None` when `web/dist/index.html` is newer than every source file of the app.
pub fn staleness(web: &Path) -> Option<Stale> {
    let Some(built) = mtime(&web.join("dist/index.html")) else {
        return Some(Stale::Missing);
    };
    let mut sources = vec![
        web.join("index.html"),
        web.join("package.json"),
        web.join("package-lock.json"),
        web.join("vite.config.ts"),
    ];
    collect_files(&web.join("src"), &mut sources);
    collect_files(&web.join("public"), &mut sources);
    sources
        .into_iter()
        .filter_map(|path| mtime(&path).map(|t| (t, path)))
        .filter(|(t, _)| *t > built)
        .max_by_key(|(t, _)| *t)
        .map(|(_, path)| {
            Stale::OlderThan(
                path.strip_prefix(web.parent().unwrap_or(web))
                    .map(Path::to_path_buf)
                    .unwrap_or(path),
            )
        })
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, into);
        } else {
            into.push(path);
        }
    }
}

fn npm_available() -> bool {
    Command::new("npm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `node --version` as (major, minor); `None` when node is missing or says something odd
/// (then the build itself reports what is wrong).
fn node_version() -> Option<(u32, u32)> {
    let out = Command::new("node").arg("--version").output().ok()?;
    parse_node_version(std::str::from_utf8(&out.stdout).ok()?)
}

fn parse_node_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().trim_start_matches('v').split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Vite's and rolldown's `engines`: `^20.19.0 || >=22.12.0`.
fn node_builds_vite((major, minor): (u32, u32)) -> bool {
    (major == 20 && minor >= 19) || (major == 22 && minor >= 12) || major > 22
}

fn build(web: &Path) -> Result<(), String> {
    let installed = mtime(&web.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < mtime(&web.join("package-lock.json")) {
        npm(web, &["ci", "--no-audit", "--no-fund"])?;
    }
    npm(web, &["run", "build"])
}

fn npm(web: &Path, args: &[&str]) -> Result<(), String> {
    // The build's own output goes to our stderr: the operator sees what failed.
    let status = Command::new("npm")
        .args(args)
        .current_dir(web)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .map_err(|e| format!("npm {}: {e}", args.join(" ")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("npm {} exited with {status}", args.join(" ")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn touch(path: &Path, at: SystemTime) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let file = std::fs::File::create(path).unwrap();
        file.set_modified(at).unwrap();
    }

    #[test]
    fn node_versions_outside_vites_engines_are_refused_before_building() {
        assert_eq!(parse_node_version("v18.19.0\n"), Some((18, 19)));
        assert_eq!(parse_node_version("garbage"), None);
        for refused in ["v18.19.0", "v20.18.3", "v21.7.0", "v22.11.0"] {
            assert!(
                !node_builds_vite(parse_node_version(refused).unwrap()),
                "{refused}"
            );
        }
        for accepted in ["v20.19.0", "v20.20.2", "v22.12.0", "v24.1.0"] {
            assert!(
                node_builds_vite(parse_node_version(accepted).unwrap()),
                "{accepted}"
            );
        }
    }

    #[test]
    fn a_missing_or_older_bundle_is_stale_a_newer_one_is_not() {
        let root = std::env::temp_dir().join(format!("pos-web-bundle-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let web = root.join("web");
        let then = SystemTime::now() - Duration::from_secs(3600);
        let now = SystemTime::now();
        touch(&web.join("package.json"), then);
        touch(&web.join("src/screens/Pos.tsx"), then);
        assert_eq!(staleness(&web), Some(Stale::Missing));

        touch(&web.join("dist/index.html"), now);
        assert_eq!(staleness(&web), None);

        touch(&web.join("src/screens/Pos.tsx"), now + Duration::from_secs(60));
        assert_eq!(
            staleness(&web),
            Some(Stale::OlderThan(PathBuf::from("web/src/screens/Pos.tsx")))
        );
        assert_eq!(
            staleness(&web).unwrap().to_string(),
            "web/dist is older than web/src/screens/Pos.tsx"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
