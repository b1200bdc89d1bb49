//! The tamper-evident audit log: who did what, when, from where, with before/after.
//!
//! Each row carries the SHA-256 of the previous row's hash and its own canonical content,
//! so editing or deleting any row breaks every hash after it; `verify_chain` finds the
//! first broken row.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::ids::{StaffId, TerminalId};

/// The `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry about to be appended (inside the transaction of the change it records).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    pub actor_id: Option<StaffId>,
    /// The manager who re-authenticated to approve, when there was one.
    pub approver_id: Option<StaffId>,
    pub terminal_id: Option<TerminalId>,
    /// Dotted verb, e.g. `auth.login_failed`, `staff.role_changed`, `order.voided`.
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl NewAuditEntry {
    pub fn new(action: &str, entity: &str) -> Self {
        Self {
            actor_id: None,
            approver_id: None,
            terminal_id: None,
            action: action.to_owned(),
            entity: entity.to_owned(),
            entity_id: None,
            before: None,
            after: None,
        }
    }
    pub fn actor(mut self, actor: Option<StaffId>) -> Self {
        self.actor_id = actor;
        self
    }
    pub fn approver(mut self, approver: Option<StaffId>) -> Self {
        self.approver_id = approver;
        self
    }
    pub fn terminal(mut self, terminal: Option<TerminalId>) -> Self {
        self.terminal_id = terminal;
        self
    }
    pub fn entity_id(mut self, id: impl ToString) -> Self {
        self.entity_id = Some(id.to_string());
        self
    }
    pub fn before(mut self, value: serde_json::Value) -> Self {
        self.before = Some(value);
        self
    }
    pub fn after(mut self, value: serde_json::Value) -> Self {
        self.after = Some(value);
        self
    }
}

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(flatten)]
    pub entry: NewAuditEntry,
    pub created_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of a row: SHA-256 over the previous hash and the row's canonical JSON.
/// `created_at` is hashed at microsecond precision, the precision PostgreSQL stores.
pub fn chain_hash(prev_hash: &str, entry: &NewAuditEntry, created_at: DateTime<Utc>) -> String {
    // serde_json without `preserve_order` sorts object keys, so the JSON is canonical.
    let content = serde_json::json!({
        "actor_id": entry.actor_id,
        "approver_id": entry.approver_id,
        "terminal_id": entry.terminal_id,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "before": entry.before,
        "after": entry.after,
        "created_at": created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
    });
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(content.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("audit row {id}: prev_hash does not match the previous row")]
    Unlinked { id: i64 },
    #[error("audit row {id}: content does not match its hash")]
    Altered { id: i64 },
}

impl ChainBreak {
    /// The row where the chain breaks.
    pub fn row_id(&self) -> i64 {
        match self {
            ChainBreak::Unlinked { id } | ChainBreak::Altered { id } => *id,
        }
    }
}

/// Checks rows given in id order, starting from `prev_hash` (GENESIS_HASH for the first row).
/// Returns the hash of the last row, to continue with the next page.
pub fn verify_chain<'a, I>(prev_hash: &str, rows: I) -> Result<String, ChainBreak>
where
    I: IntoIterator<Item = &'a AuditEntry>,
{
    let mut expected_prev = prev_hash.to_owned();
    for row in rows {
        if row.prev_hash != expected_prev {
            return Err(ChainBreak::Unlinked { id: row.id });
        }
        if chain_hash(&row.prev_hash, &row.entry, row.created_at) != row.hash {
            return Err(ChainBreak::Altered { id: row.id });
        }
        expected_prev = row.hash.clone();
    }
    Ok(expected_prev)
}

/// Filters for reading the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor_id: Option<StaffId>,
    pub action_prefix: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends one row, linking it to the last (appends serialise on a lock).
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError>;
    /// Newest first, filtered.
    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
    /// Oldest first, rows with id > `after_id`, for verification in pages.
    async fn audit_page(&self, after_id: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(id: i64, prev: &str, action: &str) -> AuditEntry {
        let entry = NewAuditEntry::new(action, "staff")
            .entity_id(id)
            .after(serde_json::json!({"role": "manager"}));
        let created_at = Utc.timestamp_micros(1_764_000_000_000_000 + id).unwrap();
        let hash = chain_hash(prev, &entry, created_at);
        AuditEntry {
            id,
            entry,
            created_at,
            prev_hash: prev.to_owned(),
            hash,
        }
    }

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut rows = Vec::new();
        let mut prev = GENESIS_HASH.to_owned();
        for id in 1..=n {
            let r = row(id, &prev, "staff.updated");
            prev = r.hash.clone();
            rows.push(r);
        }
        rows
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let rows = chain(5);
        assert_eq!(verify_chain(GENESIS_HASH, &rows), Ok(rows[4].hash.clone()));
    }

    #[test]
    fn an_edited_row_is_found() {
        let mut rows = chain(5);
        rows[2].entry.after = Some(serde_json::json!({"role": "admin"}));
        assert_eq!(
            verify_chain(GENESIS_HASH, &rows),
            Err(ChainBreak::Altered { id: 3 })
        );
    }

    #[test]
    fn a_deleted_row_is_found() {
        let mut rows = chain(5);
        rows.remove(1);
        assert_eq!(
            verify_chain(GENESIS_HASH, &rows),
            Err(ChainBreak::Unlinked { id: 3 })
        );
    }

    #[test]
    fn hashes_are_stable_across_key_order_and_precision() {
        let entry = NewAuditEntry::new("auth.login", "staff");
        let t = Utc.timestamp_micros(1_764_000_000_123_456).unwrap();
        assert_eq!(
            chain_hash(GENESIS_HASH, &entry, t),
            chain_hash(GENESIS_HASH, &entry.clone(), t)
        );
        assert_eq!(chain_hash(GENESIS_HASH, &entry, t).len(), 64);
        assert_ne!(
            chain_hash(GENESIS_HASH, &entry, t),
            chain_hash(&"1".repeat(64), &entry, t)
        );
    }
}
