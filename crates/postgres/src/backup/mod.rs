//! Backups with `pg_dump` and restores with `pg_restore` ([`PgBackups`], [`restore`]).
//!
//! - The tools are looked for where Debian keeps the server's major version
//!   (`/usr/lib/postgresql/<major>/bin`) before `PATH`, and one of another major version is
//!   refused with a message saying which to install: an older `pg_dump` cannot dump a newer
//!   server, and a dump must come back with the `pg_restore` of its own version.
//! - A dump is written to a hidden `.NAME.partial` file while it is hashed, and renamed to
//!   its name only once `pg_dump` exited 0 and the file is on disk: a listed backup is always
//!   complete. A failure leaves no file and a `failed` record saying why.
//! - Beside each file, `NAME.sha256` in `sha256sum` format: a restore checks the file against
//!   it even when the database that recorded the backup is gone.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::connection::TransactionManager;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer};
use pos_domain::StoreError;
use pos_domain::backup::{
    BackupClaim, BackupError, BackupName, BackupRecord, BackupService, BackupStatus, BackupTrigger,
    CHECKSUM_EXTENSION, ClaimedBackup, expired,
};
use pos_domain::idempotency::StoredResponse;
use pos_domain::ids::StaffId;
use pos_domain::order::ports::{IdempotencyClaim, Mutation};
use pos_domain::ports::SettingsStore;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::error::{DbError, classify_interact, classify_pool};
use crate::schema::backups;
use crate::store::{Abort, PgStore, claim_key, store_response};

mod restore;

pub use restore::{RestoreError, RestoreProgress, Target, expected_checksum, restore, table_count};

/// `pg_try_advisory_lock` key of scheduled backups ("pos_back"): one replica runs a slot.
pub const BACKUP_LOCK_KEY: i64 = 0x706f_735f_6261_636b;

/// Where the PostgreSQL client tools are looked for.
#[derive(Debug, Clone, Default)]
pub struct ToolSearch {
    /// Only this directory when set (`PG_BIN_DIR`); else `/usr/lib/postgresql/<major>/bin`,
    /// then every directory of `PATH`.
    pub bin_dir: Option<PathBuf>,
}

impl ToolSearch {
    fn candidates(&self, tool: &str, server_major: u32) -> Vec<PathBuf> {
        if let Some(dir) = &self.bin_dir {
            return vec![dir.join(tool)];
        }
        let mut dirs = vec![PathBuf::from(format!("/usr/lib/postgresql/{server_major}/bin"))];
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        dirs.into_iter().map(|d| d.join(tool)).collect()
    }

    /// The first `tool` of the server's major version; `VersionMismatch` naming the first one
    /// found when none matches, `ToolMissing` when there is none.
    pub async fn find(&self, tool: &'static str, server_major: u32) -> Result<PathBuf, BackupError> {
        let candidates = self.candidates(tool, server_major);
        let mut other_major = None;
        for candidate in candidates.iter().filter(|c| c.is_file()) {
            match tool_major(candidate).await {
                Some(major) if major == server_major => return Ok(candidate.clone()),
                Some(major) => {
                    other_major.get_or_insert(major);
                }
                None => tracing::warn!(path = %candidate.display(), "cannot read the version of {tool}"),
            }
        }
        match other_major {
            Some(tool_major) => Err(BackupError::VersionMismatch {
                tool,
                tool_major,
                server_major,
            }),
            None => Err(BackupError::ToolMissing {
                tool,
                looked_in: candidates
                    .iter()
                    .filter_map(|c| c.parent())
                    .map(|d| d.display().to_string())
                    .take(6)
                    .collect::<Vec<_>>()
                    .join(", "),
                server_major,
            }),
        }
    }
}

/// The major version `tool --version` prints (`pg_dump (PostgreSQL) 15.14 (Debian …)` → 15).
async fn tool_major(tool: &Path) -> Option<u32> {
    let output = Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .ok()?;
    parse_major(&String::from_utf8_lossy(&output.stdout))
}

fn parse_major(version: &str) -> Option<u32> {
    version
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
        .and_then(|word| {
            let digits: String = word.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
}

/// The major version of the server behind `store` (`server_version_num` 150014 → 15).
pub async fn server_major(store: &PgStore) -> Result<u32, StoreError> {
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = Integer)]
        v: i32,
    }
    let version = store
        .interact(|conn| {
            Ok(
                diesel::sql_query("SELECT current_setting('server_version_num')::int AS v")
                    .get_result::<Version>(conn)?,
            )
        })
        .await?;
    Ok(u32::try_from(version.v / 10_000).unwrap_or(0))
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = backups)]
struct BackupRow {
    id: uuid::Uuid,
    name: String,
    size_bytes: i64,
    sha256: Option<String>,
    created_at: DateTime<Utc>,
    created_by: Option<uuid::Uuid>,
    status: String,
    error: Option<String>,
    trigger: String,
}

impl BackupRow {
    fn from_record(r: &BackupRecord) -> BackupRow {
        BackupRow {
            id: r.id,
            name: r.name.as_str().to_owned(),
            size_bytes: r.size_bytes,
            sha256: r.sha256.clone(),
            created_at: r.created_at,
            created_by: r.created_by.map(|s| s.as_uuid()),
            status: r.status.as_str().to_owned(),
            error: r.error.clone(),
            trigger: r.trigger.as_str().to_owned(),
        }
    }

    fn into_record(self) -> Result<BackupRecord, StoreError> {
        let bad = |what: &str| StoreError::Internal(format!("backups row {}: bad {what}", self.id));
        Ok(BackupRecord {
            id: self.id,
            name: BackupName::parse(&self.name).map_err(|_| bad("name"))?,
            status: BackupStatus::parse(&self.status).ok_or_else(|| bad("status"))?,
            size_bytes: self.size_bytes,
            sha256: self.sha256.clone(),
            error: self.error.clone(),
            trigger: BackupTrigger::parse(&self.trigger).ok_or_else(|| bad("trigger"))?,
            created_at: self.created_at,
            created_by: self.created_by.map(StaffId::from_uuid),
        })
    }
}

/// The checksum file's line: what `sha256sum -c` expects.
fn checksum_line(sha256: &str, name: &str) -> String {
    format!("{sha256}  {name}\n")
}

fn io(context: &str, error: std::io::Error) -> BackupError {
    BackupError::Io(format!("{context}: {error}"))
}

/// Removes a file that may already be gone.
async fn remove_if_present(path: &Path) -> Result<(), BackupError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(&format!("removing {}", path.display()), e)),
    }
}

/// The last meaningful lines a tool wrote on stderr, short enough for a log line or an
/// error body.
fn last_words(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let start = lines.len().saturating_sub(3);
    let text = lines[start..].join(" / ");
    if text.is_empty() {
        return "exited without a message".to_owned();
    }
    text.chars().take(600).collect()
}

/// Streams `reader` into `file` while hashing it; adds each chunk's size to `progress`.
async fn copy_hashing(
    mut reader: impl tokio::io::AsyncRead + Unpin,
    file: &mut tokio::fs::File,
    progress: &AtomicU64,
) -> std::io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; 256 * 1024];
    let mut total = 0_u64;
    loop {
        let n = reader.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        file.write_all(&buffer[..n]).await?;
        total += n as u64;
        progress.fetch_add(n as u64, Ordering::Relaxed);
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// SHA-256 of a file, read in chunks; adds what it read to `progress`.
pub async fn sha256_file(path: &Path, progress: &AtomicU64) -> std::io::Result<String> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; 256 * 1024];
    loop {
        let n = file.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        progress.fetch_add(n as u64, Ordering::Relaxed);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Backups of one database into one directory.
#[derive(Clone)]
pub struct PgBackups {
    store: PgStore,
    /// Handed to `pg_dump --dbname`; never logged.
    database_url: String,
    dir: PathBuf,
    tools: ToolSearch,
}

impl std::fmt::Debug for PgBackups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackups")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl PgBackups {
    pub fn new(
        store: PgStore,
        database_url: impl Into<String>,
        dir: impl Into<PathBuf>,
        tools: ToolSearch,
    ) -> Self {
        PgBackups {
            store,
            database_url: database_url.into(),
            dir: dir.into(),
            tools,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// [`BackupService::create`], adding the bytes written to `progress` as it goes.
    pub async fn create_with_progress(
        &self,
        trigger: BackupTrigger,
        created_by: Option<StaffId>,
        progress: Arc<AtomicU64>,
    ) -> Result<BackupRecord, BackupError> {
        let now = Utc::now();
        let name = BackupName::generate(now, rand::random());
        let mut record = BackupRecord {
            id: uuid::Uuid::now_v7(),
            name: name.clone(),
            status: BackupStatus::Ok,
            size_bytes: 0,
            sha256: None,
            error: None,
            trigger,
            created_at: now,
            created_by,
        };
        match self.dump(&name, &progress).await {
            Ok((size, sha256)) => {
                record.size_bytes = i64::try_from(size).unwrap_or(i64::MAX);
                record.sha256 = Some(sha256);
                if let Err(error) = self.insert(&record).await {
                    // Unrecorded, the file would be an orphan nobody lists: take it away.
                    let _ = remove_if_present(&self.dir.join(name.as_str())).await;
                    let _ = remove_if_present(&self.checksum_path(&name)).await;
                    return Err(error.into());
                }
                tracing::info!(name = %name, size, "backup written");
                if let Err(error) = self.apply_retention().await {
                    tracing::warn!(%error, "backup retention failed");
                }
                Ok(record)
            }
            Err(error) => {
                record.status = BackupStatus::Failed;
                record.error = Some(error.to_string());
                tracing::error!(name = %name, %error, "backup failed");
                if let Err(store_error) = self.insert(&record).await {
                    tracing::error!(error = %store_error, "recording the failed backup failed");
                }
                Err(error)
            }
        }
    }

    fn checksum_path(&self, name: &BackupName) -> PathBuf {
        self.dir.join(format!("{name}{CHECKSUM_EXTENSION}"))
    }

    /// Runs `pg_dump` into `.NAME.partial`, then renames it to `NAME` and writes
    /// `NAME.sha256`. Returns the size and the checksum.
    async fn dump(&self, name: &BackupName, progress: &AtomicU64) -> Result<(u64, String), BackupError> {
        let major = server_major(&self.store).await?;
        let pg_dump = self.tools.find("pg_dump", major).await?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| io(&format!("creating {}", self.dir.display()), e))?;
        let partial = self.dir.join(format!(".{name}.partial"));
        let result = self.dump_into(&pg_dump, &partial, progress).await;
        let (size, sha256) = match result {
            Ok(done) => done,
            Err(error) => {
                let _ = remove_if_present(&partial).await;
                return Err(error);
            }
        };
        let finish = async {
            tokio::fs::write(self.checksum_path(name), checksum_line(&sha256, name.as_str()))
                .await
                .map_err(|e| io("writing the checksum file", e))?;
            tokio::fs::rename(&partial, self.dir.join(name.as_str()))
                .await
                .map_err(|e| io("renaming the finished backup", e))
        };
        if let Err(error) = finish.await {
            let _ = remove_if_present(&partial).await;
            let _ = remove_if_present(&self.checksum_path(name)).await;
            return Err(error);
        }
        Ok((size, sha256))
    }

    async fn dump_into(
        &self,
        pg_dump: &Path,
        partial: &Path,
        progress: &AtomicU64,
    ) -> Result<(u64, String), BackupError> {
        let mut file = tokio::fs::File::create(partial)
            .await
            .map_err(|e| io(&format!("creating {}", partial.display()), e))?;
        let mut child = Command::new(pg_dump)
            .arg("--format=custom")
            .arg("--no-password")
            .arg("--dbname")
            .arg(&self.database_url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BackupError::ToolFailed {
                tool: "pg_dump",
                message: format!("cannot start {}: {e}", pg_dump.display()),
            })?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(BackupError::ToolFailed {
                tool: "pg_dump",
                message: "no output pipes".to_owned(),
            });
        };
        let stderr_task = tokio::spawn(async move {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text).await;
            text
        });
        let copied = copy_hashing(stdout, &mut file, progress).await;
        let status = child.wait().await.map_err(|e| io("waiting for pg_dump", e))?;
        let stderr = stderr_task.await.unwrap_or_default();
        if !status.success() {
            return Err(BackupError::ToolFailed {
                tool: "pg_dump",
                message: last_words(&stderr),
            });
        }
        let (size, sha256) = copied.map_err(|e| io("writing the backup", e))?;
        file.sync_all().await.map_err(|e| io("syncing the backup", e))?;
        Ok((size, sha256))
    }

    async fn insert(&self, record: &BackupRecord) -> Result<(), StoreError> {
        let row = BackupRow::from_record(record);
        self.store
            .interact(move |conn| {
                diesel::insert_into(backups::table).values(&row).execute(conn)?;
                Ok(())
            })
            .await
    }

    async fn find(&self, name: &BackupName) -> Result<Option<BackupRecord>, StoreError> {
        let name = name.as_str().to_owned();
        let row = self
            .store
            .interact(move |conn| {
                Ok(backups::table
                    .filter(backups::name.eq(name))
                    .select(BackupRow::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?;
        row.map(BackupRow::into_record).transpose()
    }

    /// Removes what `backup_retention_days` has expired (files first, then records).
    pub async fn apply_retention(&self) -> Result<usize, BackupError> {
        let days = self.store.get_settings().await?.backup_retention_days;
        let records = self.list().await?;
        let gone = expired(&records, Utc::now(), days);
        for record in &gone {
            self.remove(record).await?;
            tracing::info!(name = %record.name, "backup removed by retention");
        }
        Ok(gone.len())
    }

    async fn remove(&self, record: &BackupRecord) -> Result<(), BackupError> {
        remove_if_present(&self.dir.join(record.name.as_str())).await?;
        remove_if_present(&self.checksum_path(&record.name)).await?;
        let id = record.id;
        self.store
            .interact(move |conn| {
                diesel::delete(backups::table.filter(backups::id.eq(id))).execute(conn)?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// The scheduled backup of `slot`: taken by whichever replica gets the advisory lock
    /// first; skipped (`None`) when another holds it or already took this slot.
    pub async fn run_scheduled(&self, slot: DateTime<Utc>) -> Result<Option<BackupRecord>, BackupError> {
        // One pooled connection holds the session lock for the whole dump.
        let conn = self.store.pool().get().await.map_err(classify_pool)?;
        let locked = conn
            .interact(|conn| try_lock(conn, true))
            .await
            .map_err(classify_interact)?
            .map_err(StoreError::from)?;
        if !locked {
            return Ok(None);
        }
        let outcome = async {
            let taken = self
                .list()
                .await?
                .iter()
                .any(|r| r.trigger == BackupTrigger::Schedule && r.created_at >= slot);
            if taken {
                return Ok(None);
            }
            self.create(BackupTrigger::Schedule, None).await.map(Some)
        }
        .await;
        let unlocked = conn.interact(|conn| try_lock(conn, false)).await;
        if !matches!(unlocked, Ok(Ok(true))) {
            tracing::warn!("releasing the backup lock failed");
        }
        outcome
    }
}

impl PgBackups {
    /// [`BackupService::create_claimed`], on this task: the caller runs it detached.
    ///
    /// One pooled connection holds the transaction with the claimed key for the whole dump
    /// (`pg_dump` reads its own snapshot and never sees the uncommitted claim). Returned to
    /// the pool with the transaction still open (this future dropped), the connection is
    /// discarded by the pool's recycle check, which rolls the claim back.
    async fn run_claimed(
        &self,
        trigger: BackupTrigger,
        claim: BackupClaim,
    ) -> Result<ClaimedBackup, BackupError> {
        type Tm = <PgConnection as Connection>::TransactionManager;
        let BackupClaim {
            staff_id,
            key,
            fingerprint,
            render,
        } = claim;
        let as_order_claim = IdempotencyClaim::new(staff_id, key.clone(), fingerprint, |_| StoredResponse {
            status: 500,
            content_type: String::new(),
            body: Vec::new(),
        });
        let conn = self.store.pool().get().await.map_err(classify_pool)?;
        let claimed = conn
            .interact(move |conn| {
                Tm::begin_transaction(conn).map_err(|e| Abort::Db(e.into()))?;
                match claim_key(conn, &as_order_claim) {
                    Ok(()) => Ok(()),
                    Err(abort) => {
                        let _ = Tm::rollback_transaction(conn);
                        Err(abort)
                    }
                }
            })
            .await
            .map_err(classify_interact)?;
        match claimed {
            Ok(()) => {}
            Err(Abort::Answer(Mutation::Replayed(stored))) => return Ok(ClaimedBackup::Replayed(stored)),
            Err(Abort::Answer(Mutation::KeyMismatch)) => return Ok(ClaimedBackup::KeyMismatch),
            Err(Abort::Answer(Mutation::KeyInProgress)) => return Ok(ClaimedBackup::KeyInProgress),
            Err(Abort::Answer(_)) => {
                return Err(
                    StoreError::Internal("an order answer came out of a backup's claim".into()).into(),
                );
            }
            Err(Abort::Db(e)) => return Err(StoreError::from(e).into()),
        }
        let outcome = self.create(trigger, Some(staff_id)).await;
        let response = render(&outcome);
        let stored = response.clone();
        let finished = conn
            .interact(move |conn| {
                if !stored.is_storable() {
                    // A failed backup is not remembered: the key is free for a retry.
                    return Tm::rollback_transaction(conn).map_err(|e| StoreError::from(DbError::from(e)));
                }
                match store_response(conn, staff_id, &key, &stored) {
                    Ok(()) => Tm::commit_transaction(conn).map_err(|e| StoreError::from(DbError::from(e))),
                    Err(abort) => {
                        let _ = Tm::rollback_transaction(conn);
                        Err(match abort {
                            Abort::Db(e) => StoreError::from(e),
                            Abort::Answer(_) => StoreError::Internal("storing a backup's answer".into()),
                        })
                    }
                }
            })
            .await
            .map_err(classify_interact)?;
        if let Err(error) = finished {
            // The backup itself is recorded and listed; only its answer was not kept, so a
            // retry with this key would take another.
            tracing::error!(%error, "storing the answer of a claimed backup failed");
            return Err(error.into());
        }
        Ok(ClaimedBackup::Ran(response))
    }
}

/// `pg_try_advisory_lock` (`lock`) or `pg_advisory_unlock` of [`BACKUP_LOCK_KEY`].
fn try_lock(conn: &mut PgConnection, lock: bool) -> Result<bool, DbError> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Bool)]
        done: bool,
    }
    let sql = if lock {
        "SELECT pg_try_advisory_lock($1) AS done"
    } else {
        "SELECT pg_advisory_unlock($1) AS done"
    };
    Ok(diesel::sql_query(sql)
        .bind::<BigInt, _>(BACKUP_LOCK_KEY)
        .get_result::<Locked>(conn)?
        .done)
}

#[async_trait]
impl BackupService for PgBackups {
    async fn create(
        &self,
        trigger: BackupTrigger,
        created_by: Option<StaffId>,
    ) -> Result<BackupRecord, BackupError> {
        self.create_with_progress(trigger, created_by, Arc::default())
            .await
    }

    async fn list(&self) -> Result<Vec<BackupRecord>, BackupError> {
        let rows = self
            .store
            .interact(|conn| {
                Ok(backups::table
                    .order((backups::created_at.desc(), backups::name.desc()))
                    .select(BackupRow::as_select())
                    .load(conn)?)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(BackupRow::into_record)
            .collect::<Result<_, _>>()?)
    }

    async fn file(&self, name: &BackupName) -> Result<(BackupRecord, PathBuf), BackupError> {
        let record = self
            .find(name)
            .await?
            .filter(|r| r.status == BackupStatus::Ok)
            .ok_or(BackupError::NotFound)?;
        let path = self.dir.join(record.name.as_str());
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Err(BackupError::NotFound);
        }
        Ok((record, path))
    }

    async fn create_claimed(
        &self,
        trigger: BackupTrigger,
        claim: BackupClaim,
    ) -> Result<ClaimedBackup, BackupError> {
        // Detached: a client that hangs up mid-dump does not cut the dump (or its stored
        // answer) short; its retry replays the answer.
        let this = self.clone();
        tokio::spawn(async move { this.run_claimed(trigger, claim).await })
            .await
            .map_err(|e| BackupError::Io(format!("the backup task failed: {e}")))?
    }

    async fn delete(&self, name: &BackupName) -> Result<(), BackupError> {
        let record = self.find(name).await?.ok_or(BackupError::NotFound)?;
        self.remove(&record).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_tools_banner() {
        assert_eq!(
            parse_major("pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n"),
            Some(15)
        );
        assert_eq!(parse_major("pg_restore (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(parse_major("pg_dump (PostgreSQL) 17beta1"), Some(17));
        assert_eq!(parse_major("nonsense"), None);
    }

    #[test]
    fn a_tools_last_words_are_short_and_never_empty() {
        assert_eq!(last_words(""), "exited without a message");
        assert_eq!(last_words("a\n\nb\nc\nd\n"), "b / c / d");
        assert!(last_words(&"x".repeat(5000)).len() <= 600);
    }
}
