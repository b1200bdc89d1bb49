//! Database backups: what a backup is called, which ones retention removes, and the port the
//! server's backup engine implements (running `pg_dump` is an adapter's business).
//!
//! A backup's name is the only thing a client sends back (to download or delete it), so a
//! [`BackupName`] can never hold a path: no separator, no `..`, no leading dot.

use std::path::PathBuf;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::StoreError;
use crate::idempotency::{IdempotencyKey, RequestFingerprint, StoredResponse};
use crate::ids::StaffId;
use crate::validate::ValidationError;

/// What every backup file name ends with (PostgreSQL's custom archive format).
pub const BACKUP_EXTENSION: &str = ".dump";
/// What a backup's checksum file adds to its name: `sha256sum -c` reads it.
pub const CHECKSUM_EXTENSION: &str = ".sha256";

/// A backup file name: 1–200 of `A-Z a-z 0-9 . _ -`, not starting with a dot, no `..`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct BackupName(String);

impl BackupName {
    pub fn parse(raw: &str) -> Result<BackupName, ValidationError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if raw.is_empty() || raw.len() > 200 || !raw.chars().all(allowed) {
            return Err(ValidationError::new(
                "name",
                "must be 1–200 of letters, digits, '.', '_' and '-'",
            ));
        }
        if raw.starts_with('.') || raw.contains("..") {
            return Err(ValidationError::new(
                "name",
                "must not start with '.' or contain '..'",
            ));
        }
        Ok(BackupName(raw.to_owned()))
    }

    /// `pos-20261207T005012Z-1a2b3c.dump`: sorts by time; `suffix` (lowercase hex) keeps two
    /// backups taken in the same second apart.
    pub fn generate(at: DateTime<Utc>, suffix: u32) -> BackupName {
        BackupName(format!(
            "pos-{}-{:06x}{BACKUP_EXTENSION}",
            at.format("%Y%m%dT%H%M%SZ"),
            suffix & 0x00ff_ffff
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BackupName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupStatus {
    /// The file is complete, its checksum and size recorded.
    Ok,
    /// `pg_dump` was missing, of the wrong version, or failed: no file was kept.
    Failed,
}

impl BackupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupStatus::Ok => "ok",
            BackupStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<BackupStatus> {
        match raw {
            "ok" => Some(BackupStatus::Ok),
            "failed" => Some(BackupStatus::Failed),
            _ => None,
        }
    }
}

/// Who asked for a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupTrigger {
    /// An admin through the API.
    Api,
    /// `pos backup` on the command line.
    Cli,
    /// `BACKUP_SCHEDULE`.
    Schedule,
}

impl BackupTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupTrigger::Api => "api",
            BackupTrigger::Cli => "cli",
            BackupTrigger::Schedule => "schedule",
        }
    }

    pub fn parse(raw: &str) -> Option<BackupTrigger> {
        match raw {
            "api" => Some(BackupTrigger::Api),
            "cli" => Some(BackupTrigger::Cli),
            "schedule" => Some(BackupTrigger::Schedule),
            _ => None,
        }
    }
}

/// One backup as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRecord {
    pub id: uuid::Uuid,
    pub name: BackupName,
    pub status: BackupStatus,
    /// Bytes of the file (0 when failed).
    pub size_bytes: i64,
    /// Lowercase hex SHA-256 of the file; `None` when failed.
    pub sha256: Option<String>,
    /// Why it failed, in words an operator can act on.
    pub error: Option<String>,
    pub trigger: BackupTrigger,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<StaffId>,
}

/// The records retention removes at `now`: everything older than `retention_days`, except
/// the newest good backup, which is always kept (a venue that stopped backing up still has
/// its last one).
pub fn expired(records: &[BackupRecord], now: DateTime<Utc>, retention_days: i32) -> Vec<&BackupRecord> {
    let cutoff = now - Duration::days(i64::from(retention_days.max(1)));
    let newest_good = records
        .iter()
        .filter(|r| r.status == BackupStatus::Ok)
        .max_by_key(|r| r.created_at)
        .map(|r| r.id);
    records
        .iter()
        .filter(|r| r.created_at < cutoff && Some(r.id) != newest_good)
        .collect()
}

/// Why a backup could not be taken, served or removed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BackupError {
    /// No `pg_dump` / `pg_restore` where it was looked for.
    #[error("{tool} not found (looked in {looked_in}); install the PostgreSQL {server_major} client tools")]
    ToolMissing {
        tool: &'static str,
        looked_in: String,
        server_major: u32,
    },
    /// The tool's major version differs from the server's.
    #[error(
        "{tool} is version {tool_major} but the server is PostgreSQL {server_major}; install the PostgreSQL {server_major} client tools"
    )]
    VersionMismatch {
        tool: &'static str,
        tool_major: u32,
        server_major: u32,
    },
    /// The tool ran and failed; `message` is its last words.
    #[error("{tool} failed: {message}")]
    ToolFailed { tool: &'static str, message: String },
    /// Reading or writing the backup directory failed.
    #[error("backup directory: {0}")]
    Io(String),
    /// No good backup of that name.
    #[error("backup not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A backup asked for with an `Idempotency-Key` (spec §4): the key, its request's
/// fingerprint, and how the outcome becomes the answer stored with the key.
///
/// The adapter claims the key with the same statements as every other unit of work, in a
/// transaction it keeps open while `pg_dump` runs, and stores the rendered answer before
/// COMMIT. So a retry while the dump runs waits for it (up to the claim's wait, then 409
/// `request in progress`) and replays the first answer, never dumping twice; a failed backup (a
/// 5xx answer, never stored) or a crash mid-dump releases the key for a retry.
pub struct BackupClaim {
    pub staff_id: StaffId,
    pub key: IdempotencyKey,
    pub fingerprint: RequestFingerprint,
    pub render: RenderBackup,
}

/// Turns a backup's outcome into the answer stored with its key.
pub type RenderBackup = Box<dyn FnOnce(&Result<BackupRecord, BackupError>) -> StoredResponse + Send>;

impl std::fmt::Debug for BackupClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupClaim")
            .field("staff_id", &self.staff_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// What a claimed backup request answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimedBackup {
    /// The backup ran (or failed): its rendered answer, stored with the key unless a 5xx.
    Ran(StoredResponse),
    /// The key was used before with the same request: the first answer; nothing ran.
    Replayed(StoredResponse),
    /// The key was used before with another request: 422.
    KeyMismatch,
    /// The first request with this key is still running: 409.
    KeyInProgress,
}

/// The backup engine: takes, lists, finds and removes backups in the backup directory and
/// their records in the database.
#[async_trait]
pub trait BackupService: Send + Sync {
    /// Dumps the database to a new file, records it (status `ok`, size, SHA-256) and then
    /// applies retention. On failure no file is left and a `failed` record is kept; the
    /// error says why.
    async fn create(
        &self,
        trigger: BackupTrigger,
        created_by: Option<StaffId>,
    ) -> Result<BackupRecord, BackupError>;
    /// Every record, newest first.
    async fn list(&self) -> Result<Vec<BackupRecord>, BackupError>;
    /// The file of a good backup: `NotFound` when there is no such record or file.
    async fn file(&self, name: &BackupName) -> Result<(BackupRecord, PathBuf), BackupError>;
    /// Removes the file, its checksum file and the record; `NotFound` when unknown.
    async fn delete(&self, name: &BackupName) -> Result<(), BackupError>;
    /// [`BackupService::create`] once per [`BackupClaim`] (see there). Errors are the
    /// claim's own (the database refusing it); the backup's outcome is in the answer.
    async fn create_claimed(
        &self,
        trigger: BackupTrigger,
        claim: BackupClaim,
    ) -> Result<ClaimedBackup, BackupError>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_never_hold_a_path() {
        for bad in [
            "",
            "../etc/passwd",
            "a/b",
            "..",
            ".hidden",
            "a..b",
            "a\\b",
            "x y",
            "ü.dump",
        ] {
            assert!(BackupName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(BackupName::parse(&"a".repeat(201)).is_err());
        assert_eq!(BackupName::parse("pos-1.dump").unwrap().as_str(), "pos-1.dump");
    }

    #[test]
    fn generated_names_are_valid_and_sort_by_time() {
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 0, 50, 12).unwrap();
        let name = BackupName::generate(at, 0xabc);
        assert_eq!(name.as_str(), "pos-20261207T005012Z-000abc.dump");
        assert_eq!(BackupName::parse(name.as_str()).unwrap(), name);
        assert!(BackupName::generate(at + Duration::seconds(1), 0) > name);
    }

    fn record(days_ago: i64, status: BackupStatus, now: DateTime<Utc>) -> BackupRecord {
        BackupRecord {
            id: uuid::Uuid::new_v4(),
            name: BackupName::generate(now - Duration::days(days_ago), 1),
            status,
            size_bytes: 1,
            sha256: None,
            error: None,
            trigger: BackupTrigger::Cli,
            created_at: now - Duration::days(days_ago),
            created_by: None,
        }
    }

    #[test]
    fn retention_removes_old_backups_but_keeps_the_newest_good_one() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap();
        let records = vec![
            record(1, BackupStatus::Ok, now),
            record(20, BackupStatus::Ok, now),
            record(30, BackupStatus::Failed, now),
        ];
        let gone: Vec<_> = expired(&records, now, 14).iter().map(|r| r.id).collect();
        assert_eq!(gone, vec![records[1].id, records[2].id]);

        // Only old ones: the newest good survives, the failed one goes.
        let old = vec![
            record(40, BackupStatus::Ok, now),
            record(50, BackupStatus::Ok, now),
            record(45, BackupStatus::Failed, now),
        ];
        let gone: Vec<_> = expired(&old, now, 14).iter().map(|r| r.id).collect();
        assert_eq!(gone, vec![old[1].id, old[2].id]);
    }
}
