//! Restoring a backup: the file checked against its SHA-256, then `pg_restore` into an empty
//! database (or, asked to, one emptied first), with progress.

use super::*;

/// What [`restore`] reports while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreProgress {
    /// Bytes of the file checked so far (of `total`).
    Checking { done: u64, total: u64 },
    /// Archive entries restored so far (of `total`).
    Restoring { done: u64, total: u64 },
}

/// How [`restore`] treats a database that already holds tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Refuse unless it is empty.
    MustBeEmpty,
    /// Drop everything in schema `public` first.
    Replace,
}

/// The SHA-256 the checksum file beside `file` names, if there is one.
pub async fn expected_checksum(file: &Path) -> Result<Option<String>, BackupError> {
    let mut sidecar = file.as_os_str().to_owned();
    sidecar.push(CHECKSUM_EXTENSION);
    match tokio::fs::read_to_string(PathBuf::from(sidecar)).await {
        Ok(text) => Ok(text.split_whitespace().next().map(|s| s.to_ascii_lowercase())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("reading the checksum file", e)),
    }
}

/// The number of tables in schema `public` of the database behind `store`.
pub async fn table_count(store: &PgStore) -> Result<i64, StoreError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let count = store
        .interact(|conn| {
            Ok(
                diesel::sql_query("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")
                    .get_result::<Count>(conn)?,
            )
        })
        .await?;
    Ok(count.n)
}

/// Restores `file` into the database at `database_url`: checks it against `sha256`, refuses
/// a database with tables unless `target` is `Replace`, then runs `pg_restore` in one
/// transaction (all or nothing) with `--exit-on-error`.
pub async fn restore(
    database_url: &str,
    file: &Path,
    sha256: &str,
    target: Target,
    tools: &ToolSearch,
    progress: &(dyn Fn(RestoreProgress) + Send + Sync),
) -> Result<(), RestoreError> {
    let total = tokio::fs::metadata(file)
        .await
        .map_err(|e| io(&format!("reading {}", file.display()), e))?
        .len();
    let checked = Arc::new(AtomicU64::new(0));
    let hashing = sha256_file(file, &checked);
    tokio::pin!(hashing);
    let actual = loop {
        tokio::select! {
            done = &mut hashing => break done.map_err(|e| io(&format!("reading {}", file.display()), e))?,
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {
                progress(RestoreProgress::Checking { done: checked.load(Ordering::Relaxed), total });
            }
        }
    };
    if !actual.eq_ignore_ascii_case(sha256.trim()) {
        return Err(RestoreError::ChecksumMismatch {
            expected: sha256.trim().to_ascii_lowercase(),
            actual,
        });
    }

    let store = PgStore::connect(database_url, 1)
        .await
        .map_err(BackupError::from)?;
    let tables = table_count(&store).await.map_err(BackupError::from)?;
    if tables > 0 {
        if target == Target::MustBeEmpty {
            return Err(RestoreError::NotEmpty { tables });
        }
        store
            .interact(|conn| {
                diesel::sql_query("DROP SCHEMA public CASCADE").execute(conn)?;
                diesel::sql_query("CREATE SCHEMA public").execute(conn)?;
                Ok(())
            })
            .await
            .map_err(BackupError::from)?;
    }
    let major = server_major(&store).await.map_err(BackupError::from)?;
    let pg_restore = tools.find("pg_restore", major).await?;

    let listing = Command::new(&pg_restore)
        .arg("--list")
        .arg(file)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| io("running pg_restore --list", e))?;
    if !listing.status.success() {
        return Err(BackupError::ToolFailed {
            tool: "pg_restore",
            message: last_words(&String::from_utf8_lossy(&listing.stderr)),
        }
        .into());
    }
    let entries = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(';'))
        .count() as u64;

    let mut child = Command::new(&pg_restore)
        .args([
            "--verbose",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
        ])
        .arg("--dbname")
        .arg(database_url)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| io(&format!("starting {}", pg_restore.display()), e))?;
    let mut errors = String::new();
    if let Some(stderr) = child.stderr.take() {
        let mut lines = BufReader::new(stderr).lines();
        let mut done = 0_u64;
        while let Ok(Some(line)) = lines.next_line().await {
            // `--verbose` says "creating …" / "processing data for table …" per entry.
            if line.contains(": creating ") || line.contains(": processing data") {
                done += 1;
                progress(RestoreProgress::Restoring {
                    done: done.min(entries),
                    total: entries,
                });
            } else if !line.contains(": connecting") && !line.contains(": executing") {
                errors.push_str(&line);
                errors.push('\n');
            }
        }
    }
    let status = child.wait().await.map_err(|e| io("waiting for pg_restore", e))?;
    if !status.success() {
        return Err(BackupError::ToolFailed {
            tool: "pg_restore",
            message: last_words(&errors),
        }
        .into());
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("checksum mismatch: the file's SHA-256 is {actual}, expected {expected}; refusing to restore")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("the target database is not empty ({tables} tables); pass --force to replace its contents")]
    NotEmpty { tables: i64 },
    #[error(transparent)]
    Backup(#[from] BackupError),
}

impl From<StoreError> for RestoreError {
    fn from(error: StoreError) -> Self {
        RestoreError::Backup(error.into())
    }
}
