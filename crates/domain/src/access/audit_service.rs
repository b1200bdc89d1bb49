//! Reading the tamper-evident audit log and verifying its hash chain.

use super::{AccessError, AccessPorts, Requester};
use crate::StoreError;
use crate::approval::require;
use crate::audit::{AuditEntry, AuditQuery, AuditStore, ChainBreak, GENESIS_HASH, verify_chain};
use crate::permissions::Action;
use crate::validate::ValidationError;

pub const DEFAULT_AUDIT_LIMIT: i64 = 100;
pub const MAX_AUDIT_LIMIT: i64 = 500;
/// Rows read per round trip while verifying the chain.
const VERIFY_PAGE: i64 = 1000;

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerification {
    pub valid: bool,
    /// Rows checked before the answer (all of them when valid).
    pub rows_checked: i64,
    /// Hash of the last intact row (the genesis hash for an empty log).
    pub last_hash: String,
    /// The first row that breaks the chain, and how.
    pub broken: Option<ChainBreak>,
}

/// The audit-log use cases (managers and admins: [`Action::ViewAuditLog`]).
#[derive(Clone)]
pub struct AuditService {
    ports: AccessPorts,
}

impl AuditService {
    pub fn new(ports: AccessPorts) -> Self {
        Self { ports }
    }

    /// A page, newest first. `query.limit` must be 1 to [`MAX_AUDIT_LIMIT`] and
    /// `query.before_id` positive. Also answers the id to pass as `before_id` for the next
    /// (older) page, when this one was full.
    pub async fn list(
        &self,
        requester: Requester,
        query: AuditQuery,
    ) -> Result<(Vec<AuditEntry>, Option<i64>), AccessError> {
        require(requester.actor, Action::ViewAuditLog)?;
        if !(1..=MAX_AUDIT_LIMIT).contains(&query.limit) {
            return Err(
                ValidationError::new("limit", format!("must be between 1 and {MAX_AUDIT_LIMIT}")).into(),
            );
        }
        if query.before_id.is_some_and(|id| id < 1) {
            return Err(ValidationError::new("before_id", "must be positive").into());
        }
        let rows = self.ports.audit.list_audit(&query).await?;
        let full_page = i64::try_from(rows.len()).unwrap_or(i64::MAX) == query.limit;
        let next_before_id = rows.last().filter(|_| full_page).map(|row| row.id);
        Ok((rows, next_before_id))
    }

    /// Checks the chain from the first row to the last, a page at a time
    /// ([`walk_audit_chain`], which `pos audit verify` runs too).
    pub async fn verify(&self, requester: Requester) -> Result<AuditVerification, AccessError> {
        require(requester.actor, Action::ViewAuditLog)?;
        Ok(walk_audit_chain(self.ports.audit.as_ref()).await?)
    }
}

/// The one walk of the chain, from the first row to the last, a page at a time: the API's
/// verify route (after its permission check) and `pos audit verify` (an operator with the
/// database URL) both answer with it, so they always name the same row.
pub async fn walk_audit_chain(store: &dyn AuditStore) -> Result<AuditVerification, StoreError> {
    let mut last_hash = GENESIS_HASH.to_owned();
    let mut after_id = 0;
    let mut rows_checked = 0;
    loop {
        let rows = store.audit_page(after_id, VERIFY_PAGE).await?;
        let Some(last) = rows.last() else { break };
        after_id = last.id;
        match verify_chain(&last_hash, &rows) {
            Ok(hash) => {
                last_hash = hash;
                rows_checked += i64::try_from(rows.len()).unwrap_or(i64::MAX);
            }
            Err(broken) => {
                let id = broken.row_id();
                let intact: Vec<&AuditEntry> = rows.iter().take_while(|r| r.id != id).collect();
                if let Some(row) = intact.last() {
                    last_hash = row.hash.clone();
                }
                rows_checked += i64::try_from(intact.len()).unwrap_or(0);
                return Ok(AuditVerification {
                    valid: false,
                    rows_checked,
                    last_hash,
                    broken: Some(broken),
                });
            }
        }
        if i64::try_from(rows.len()).unwrap_or(i64::MAX) < VERIFY_PAGE {
            break;
        }
    }
    Ok(AuditVerification {
        valid: true,
        rows_checked,
        last_hash,
        broken: None,
    })
}
