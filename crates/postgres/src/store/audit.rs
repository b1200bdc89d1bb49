//! The hash-chained audit log. Appending happens inside the transaction of the change it
//! records, so an audit row exists exactly when its change does.
//!
//! Each row links to the previous row's hash, so appends must not interleave: every append
//! takes one transaction-scoped advisory lock, reads the tail and inserts; the lock is held
//! until commit, so the next appender reads a tail that is committed (or rolled back, and
//! then gone). Ids are drawn under the lock too, so id order is chain order.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Jsonb, Nullable};
use pos_domain::StoreError;
use pos_domain::audit::{AuditEntry, AuditQuery, AuditStore, GENESIS_HASH, NewAuditEntry, chain_hash};

use super::PgStore;
use crate::rows::{AuditRow, NewAuditRow};
use crate::schema::audit_log;

/// The advisory lock key every audit append holds until its transaction ends ("pos_audt").
pub const AUDIT_LOCK_KEY: i64 = 0x706f_735f_6175_6474;

/// The most rows one read returns.
pub const AUDIT_PAGE_MAX: i64 = 500;

#[derive(QueryableByName)]
struct StoredJson {
    #[diesel(sql_type = Nullable<Jsonb>)]
    before: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    after: Option<serde_json::Value>,
}

/// Appends `entry` in the caller's transaction and returns the stored row.
///
/// Call it inside a READ COMMITTED transaction (what `PgStore::transaction` opens), and as
/// the last write of that transaction: the lock it takes serialises every audited change
/// from here to commit, so it should be held briefly and after every row lock the
/// transaction needs (that order also rules out deadlocks with other audited changes).
pub fn append_audit(
    conn: &mut PgConnection,
    mut entry: NewAuditEntry,
    now: DateTime<Utc>,
) -> QueryResult<AuditEntry> {
    // Hash what reading the row back will give: jsonb normalises some values (e.g. -0.0),
    // and a hash over the value as sent would then never verify.
    if entry.before.is_some() || entry.after.is_some() {
        let stored = sql_query("SELECT $1::jsonb AS before, $2::jsonb AS after")
            .bind::<Nullable<Jsonb>, _>(entry.before.take())
            .bind::<Nullable<Jsonb>, _>(entry.after.take())
            .get_result::<StoredJson>(conn)?;
        entry.before = stored.before;
        entry.after = stored.after;
    }
    sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<BigInt, _>(AUDIT_LOCK_KEY)
        .execute(conn)?;
    let prev_hash = audit_log::table
        .order(audit_log::id.desc())
        .select(audit_log::hash)
        .first::<String>(conn)
        .optional()?
        .unwrap_or_else(|| GENESIS_HASH.to_owned());
    // PostgreSQL keeps microseconds: the hash covers the instant as it will be read back.
    let created_at = now.trunc_subsecs(6);
    let hash = chain_hash(&prev_hash, &entry, created_at);
    let id = diesel::insert_into(audit_log::table)
        .values(NewAuditRow::new(&entry, &prev_hash, &hash, created_at))
        .returning(audit_log::id)
        .get_result(conn)?;
    Ok(AuditEntry {
        id,
        entry,
        created_at,
        prev_hash,
        hash,
    })
}

/// A requested page size within 1..=AUDIT_PAGE_MAX; zero or less asks for a full page.
fn page_limit(requested: i64) -> i64 {
    if requested <= 0 {
        AUDIT_PAGE_MAX
    } else {
        requested.min(AUDIT_PAGE_MAX)
    }
}

/// `prefix` as a LIKE pattern matching every string that starts with it.
fn starts_with_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        self.transaction(move |conn| Ok(append_audit(conn, entry, Utc::now())?))
            .await
    }

    /// Newest first. `limit` is capped at [`AUDIT_PAGE_MAX`] (zero or less: a full page);
    /// `before_id` pages further back; `action_prefix` matches literally (`auth.` finds
    /// `auth.login` and `auth.locked`).
    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let query = query.clone();
        let rows = self
            .interact(move |conn| {
                let mut q = audit_log::table.into_boxed();
                if let Some(actor) = query.actor_id {
                    q = q.filter(audit_log::actor_id.eq(actor.as_uuid()));
                }
                if let Some(prefix) = &query.action_prefix {
                    q = q.filter(audit_log::action.like(starts_with_pattern(prefix)));
                }
                if let Some(entity) = query.entity {
                    q = q.filter(audit_log::entity.eq(entity));
                }
                if let Some(entity_id) = query.entity_id {
                    q = q.filter(audit_log::entity_id.eq(entity_id));
                }
                if let Some(before_id) = query.before_id {
                    q = q.filter(audit_log::id.lt(before_id));
                }
                Ok(q.order(audit_log::id.desc())
                    .limit(page_limit(query.limit))
                    .select(AuditRow::as_select())
                    .load(conn)?)
            })
            .await?;
        Ok(rows.into_iter().map(AuditRow::into_entry).collect())
    }

    /// Oldest first, ids above `after_id`; `limit` as for `list_audit`.
    async fn audit_page(&self, after_id: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self
            .interact(move |conn| {
                Ok(audit_log::table
                    .filter(audit_log::id.gt(after_id))
                    .order(audit_log::id.asc())
                    .limit(page_limit(limit))
                    .select(AuditRow::as_select())
                    .load(conn)?)
            })
            .await?;
        Ok(rows.into_iter().map(AuditRow::into_entry).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_a_prefix_match_literally() {
        assert_eq!(starts_with_pattern("auth."), "auth.%");
        assert_eq!(starts_with_pattern("a_b%c\\"), "a\\_b\\%c\\\\%");
    }

    #[test]
    fn page_sizes_are_capped() {
        assert_eq!(page_limit(0), AUDIT_PAGE_MAX);
        assert_eq!(page_limit(-3), AUDIT_PAGE_MAX);
        assert_eq!(page_limit(20), 20);
        assert_eq!(page_limit(10_000), AUDIT_PAGE_MAX);
    }
}
