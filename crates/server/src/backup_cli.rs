//! `pos backup`, `pos restore FILE`, and the `BACKUP_SCHEDULE` loop of `pos serve`.
//!
//! Progress goes to stderr (a line every couple of seconds on long runs), the outcome to
//! stdout, so scripts can read the backup's name.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use pos_domain::backup::BackupTrigger;
use pos_postgres::backup::{PgBackups, RestoreProgress, Target, ToolSearch, expected_checksum};

use crate::SetupError;
use crate::config::Required;
use crate::wiring;

/// How often a long run reports how far it got.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file (`pg_dump` custom format), with its `FILE.sha256` beside it.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The expected SHA-256 when there is no `FILE.sha256` (as listed by the API).
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// Replace the contents of a database that is not empty (asks for confirmation).
    #[arg(long)]
    pub force: bool,
    /// Confirm `--force` without asking (for scripts).
    #[arg(long, requires = "force")]
    pub yes: bool,
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// `pos backup`: dumps the database at `DATABASE_URL` into `BACKUP_DIR`, records it and
/// applies retention. Prints `NAME SIZE SHA256 PATH` on success.
pub async fn backup() -> anyhow::Result<()> {
    let config = crate::startup(Required::DATABASE)?;
    let url = config
        .database_url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL is required"))?;
    let store = wiring::connect_store(&url, 2).await?;
    let backups =
        wiring::backups(&store, &config).ok_or_else(|| anyhow::anyhow!("DATABASE_URL is required"))?;
    let written = Arc::new(AtomicU64::new(0));
    let ticker = {
        let written = written.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            loop {
                tokio::time::sleep(PROGRESS_EVERY).await;
                eprintln!(
                    "backup: {} written ({}s)",
                    megabytes(written.load(Ordering::Relaxed)),
                    started.elapsed().as_secs()
                );
            }
        })
    };
    let outcome = backups
        .create_with_progress(BackupTrigger::Cli, None, written)
        .await;
    ticker.abort();
    let record = outcome.map_err(|e| anyhow::anyhow!("backup failed (recorded as failed): {e}"))?;
    println!(
        "{} {} {} {}",
        record.name,
        record.size_bytes,
        record.sha256.as_deref().unwrap_or_default(),
        backups.dir().join(record.name.as_str()).display()
    );
    Ok(())
}

/// `pos restore FILE`: checks the file's checksum, then restores it into the database at
/// `DATABASE_URL`, which must be empty unless `--force` (confirmed) is given.
pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let config = crate::startup(Required::DATABASE)?;
    let url = config
        .database_url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL is required"))?;
    let expected = match args.sha256 {
        Some(hex) => hex,
        None => expected_checksum(&args.file).await?.ok_or_else(|| {
            SetupError(format!(
                "no checksum for {0}: put its {0}.sha256 beside it or pass --sha256 HEX",
                args.file.display()
            ))
        })?,
    };
    let target = if args.force {
        confirm(&url.redacted().to_string(), args.yes)?;
        Target::Replace
    } else {
        Target::MustBeEmpty
    };
    let last = Mutex::new(Instant::now());
    let report = |progress: RestoreProgress| {
        let Ok(mut last) = last.lock() else { return };
        if last.elapsed() < PROGRESS_EVERY {
            return;
        }
        *last = Instant::now();
        match progress {
            RestoreProgress::Checking { done, total } => {
                eprintln!(
                    "restore: checking the checksum, {} of {}",
                    megabytes(done),
                    megabytes(total)
                );
            }
            RestoreProgress::Restoring { done, total } => eprintln!("restore: {done} of {total} entries"),
        }
    };
    let tools = ToolSearch {
        bin_dir: config.pg_bin_dir.clone(),
    };
    pos_postgres::backup::restore(url.expose(), &args.file, &expected, target, &tools, &report).await?;
    println!("restored {} into {}", args.file.display(), url.redacted());
    Ok(())
}

/// `--force` replaces a database's contents: asks at a terminal, else needs `--yes`.
fn confirm(database: &str, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(SetupError(
            "--force replaces the database's contents: add --yes to confirm when not at a terminal"
                .to_owned(),
        )
        .into());
    }
    eprint!("This replaces every table of {database}. Type yes to continue: ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(anyhow::anyhow!("not confirmed; nothing was changed"))
    }
}

/// Runs the backups of `schedule` (UTC) for as long as the server runs. Every replica runs
/// this loop; the advisory lock in [`PgBackups::run_scheduled`] lets one take each slot.
pub fn spawn_schedule(backups: PgBackups, schedule: croner::Cron) {
    tokio::spawn(async move {
        tracing::info!(schedule = %schedule.pattern, "scheduled backups on (UTC)");
        loop {
            let now = Utc::now();
            let next = match schedule.find_next_occurrence(&now, false) {
                Ok(next) => next,
                Err(error) => {
                    tracing::error!(%error, "BACKUP_SCHEDULE has no next time; scheduled backups stop");
                    return;
                }
            };
            let wait = (next - now).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
            match backups.run_scheduled(next).await {
                Ok(Some(record)) => tracing::info!(name = %record.name, "scheduled backup taken"),
                Ok(None) => tracing::debug!("scheduled backup taken by another replica"),
                Err(error) => tracing::error!(%error, "scheduled backup failed"),
            }
        }
    });
}
