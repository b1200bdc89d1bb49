//! The auth store: lockout state, the PIN pepper, and the staff changes authentication
//! depends on. Lockout lives in `login_attempts` and `account_locks`, so it holds across
//! every instance sharing the database; every change writes its audit row in the same
//! transaction (appended last, see [`append_audit`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Integer, Text};
use pos_domain::audit::NewAuditEntry;
use pos_domain::auth::{
    ActiveLock, AuthStore, FailureCount, FailureOutcome, LockoutPolicy, LoginScope, PinSecret, StaffChanges,
};
use pos_domain::ids::StaffId;
use pos_domain::staff::{
    NewStaff, Staff, StaffChangeError, StaffCredentials, StaffRuleError, plan_staff_change,
};
use pos_domain::{Role, StoreError};
use serde_json::json;
use uuid::Uuid;

use super::PgStore;
use super::audit::append_audit;
use crate::error::DbError;
use crate::rows::{NewStaffRow, StaffRow};
use crate::schema::{account_locks, app_secrets, login_attempts, staff};

/// First key of the two-key advisory locks taken per login scope ("posl"); the second is
/// `hashtext(scope)`. Two-key locks live apart from the single-key ones (migrations, audit),
/// and two scopes sharing a hash merely wait for each other.
const SCOPE_LOCK_NAMESPACE: i32 = 0x706f_736c;

/// The `app_secrets` row holding the PIN pepper.
const PIN_PEPPER: &str = "pin_pepper";

/// Serialises, until the transaction ends, everything that counts or clears one scope's
/// failures, on every instance.
fn lock_scope(conn: &mut PgConnection, key: &str) -> QueryResult<()> {
    sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind::<Integer, _>(SCOPE_LOCK_NAMESPACE)
        .bind::<Text, _>(key)
        .execute(conn)?;
    Ok(())
}

fn record_failure(
    conn: &mut PgConnection,
    key: &str,
    policy: LockoutPolicy,
    now: DateTime<Utc>,
    audit: NewAuditEntry,
) -> Result<FailureOutcome, DbError> {
    lock_scope(conn, key)?;
    let lock: Option<DateTime<Utc>> = account_locks::table
        .find(key)
        .select(account_locks::locked_until)
        .first(conn)
        .optional()?;
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::scope.eq(key),
            login_attempts::attempted_at.eq(now),
            login_attempts::succeeded.eq(false),
        ))
        .execute(conn)?;

    // The domain says which failures count and what the count means; this only counts.
    let mut locked = None;
    let outcome = match policy.counting(lock, now) {
        FailureCount::AlreadyLocked => FailureOutcome::Counted { remaining: 0 },
        FailureCount::Since(since) => {
            let failures: i64 = login_attempts::table
                .filter(login_attempts::scope.eq(key))
                .filter(login_attempts::succeeded.eq(false))
                .filter(login_attempts::attempted_at.gt(since))
                .count()
                .get_result(conn)?;
            let failures = u32::try_from(failures).unwrap_or(u32::MAX);
            match policy.outcome(failures, now) {
                FailureOutcome::LockedNow { until } => {
                    // Answered as stored (microseconds), so a later read agrees with it.
                    let until: DateTime<Utc> = diesel::insert_into(account_locks::table)
                        .values((
                            account_locks::scope.eq(key),
                            account_locks::locked_until.eq(until),
                            account_locks::locked_at.eq(now),
                        ))
                        .on_conflict(account_locks::scope)
                        .do_update()
                        .set((
                            account_locks::locked_until.eq(until),
                            account_locks::locked_at.eq(now),
                        ))
                        .returning(account_locks::locked_until)
                        .get_result(conn)?;
                    locked = Some((until, failures));
                    FailureOutcome::LockedNow { until }
                }
                counted => counted,
            }
        }
    };

    let terminal = audit.terminal_id;
    append_audit(conn, audit, now)?;
    if let Some((until, failures)) = locked {
        let entry = NewAuditEntry::new("auth.locked", "login")
            .terminal(terminal)
            .entity_id(key)
            .after(json!({"locked_until": until, "failures": failures}));
        append_audit(conn, entry, now)?;
    }
    Ok(outcome)
}

/// Reads the staff row for a change and locks it until the transaction ends.
fn lock_staff(conn: &mut PgConnection, id: StaffId) -> Result<StaffRow, DbError> {
    staff::table
        .find(id.as_uuid())
        .select(StaffRow::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .ok_or_else(|| DbError::Store(StoreError::not_found("staff")))
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = staff)]
struct StaffChangeset<'a> {
    full_name: Option<&'a str>,
    role: Option<&'a str>,
    active: Option<bool>,
}

/// `Ok(Err(rule))` when the domain refuses the change: nothing was written by then (only
/// rows read and locked), so the transaction may end either way.
fn update_staff(
    conn: &mut PgConnection,
    id: StaffId,
    changes: &StaffChanges,
    audit: NewAuditEntry,
) -> Result<Result<StaffRow, StaffRuleError>, DbError> {
    let changes_access = changes.role.is_some() || changes.active.is_some();
    // The active admins are locked BEFORE counting (and in id order, so two of these never
    // deadlock): a concurrent demotion waits here, then re-reads, and sees this one's result.
    let admins: Vec<Uuid> = if changes_access {
        staff::table
            .filter(staff::role.eq(Role::Admin.as_str()))
            .filter(staff::active.eq(true))
            .order(staff::id.asc())
            .select(staff::id)
            .for_update()
            .load(conn)?
    } else {
        Vec::new()
    };
    let current = lock_staff(conn, id)?;
    let current_id = current.id;
    let current = current.into_staff()?;
    let other_admins = admins.iter().filter(|admin| **admin != current_id).count();
    let update = match plan_staff_change(&current, changes, other_admins) {
        Ok(update) => update,
        Err(rule) => return Ok(Err(rule)),
    };
    let changeset = StaffChangeset {
        full_name: Some(update.full_name.as_str()),
        role: Some(update.role.as_str()),
        active: Some(update.active),
    };
    let row = diesel::update(staff::table.find(id.as_uuid()))
        .set((changeset, staff::token_version.eq(update.token_version)))
        .returning(StaffRow::as_returning())
        .get_result(conn)?;
    append_audit(conn, audit, Utc::now())?;
    Ok(Ok(row))
}

fn stored_pin_pepper(conn: &mut PgConnection) -> QueryResult<Option<Vec<u8>>> {
    app_secrets::table
        .find(PIN_PEPPER)
        .select(app_secrets::value)
        .first(conn)
        .optional()
}

impl PgStore {
    /// Runs a change to one staff member and its audit row in one transaction; `NotFound`
    /// (naming staff) when no row was changed.
    async fn change_staff<F>(&self, audit: NewAuditEntry, change: F) -> Result<Staff, StoreError>
    where
        F: FnOnce(&mut PgConnection) -> QueryResult<Option<StaffRow>> + Send + 'static,
    {
        self.transaction(move |conn| {
            let row = change(conn)?.ok_or_else(|| StoreError::not_found("staff"))?;
            append_audit(conn, audit, Utc::now())?;
            Ok(row)
        })
        .await?
        .into_staff()
    }

    async fn read_or_create_pin_pepper(&self) -> Result<Vec<u8>, StoreError> {
        let candidate: [u8; 32] = rand::random();
        self.interact(move |conn| {
            if let Some(pepper) = stored_pin_pepper(conn)? {
                return Ok(pepper);
            }
            // Instances starting together: the first insert wins, everyone reads the winner.
            diesel::insert_into(app_secrets::table)
                .values((
                    app_secrets::name.eq(PIN_PEPPER),
                    app_secrets::value.eq(candidate.as_slice()),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            stored_pin_pepper(conn)?.ok_or_else(|| {
                StoreError::Internal("the PIN pepper vanished after being stored".into()).into()
            })
        })
        .await
    }
}

#[async_trait]
impl AuthStore for PgStore {
    async fn active_lock(
        &self,
        scope: &LoginScope,
        now: DateTime<Utc>,
    ) -> Result<Option<ActiveLock>, StoreError> {
        let key = scope.key();
        self.interact(move |conn| {
            Ok(account_locks::table
                .find(&key)
                .filter(account_locks::locked_until.gt(now))
                .select(account_locks::locked_until)
                .first(conn)
                .optional()?
                .map(|locked_until| ActiveLock {
                    scope: key,
                    locked_until,
                }))
        })
        .await
    }

    async fn record_failure(
        &self,
        scope: &LoginScope,
        policy: LockoutPolicy,
        now: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> Result<FailureOutcome, StoreError> {
        let key = scope.key();
        self.transaction(move |conn| record_failure(conn, &key, policy, now, audit))
            .await
    }

    /// Forgets the scope's failures and a lock that has expired (a lock still in force
    /// stays: it is lifted by time or by `unlock`).
    async fn record_success(
        &self,
        scope: &LoginScope,
        now: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> Result<(), StoreError> {
        let key = scope.key();
        self.transaction(move |conn| {
            lock_scope(conn, &key)?;
            diesel::delete(
                login_attempts::table
                    .filter(login_attempts::scope.eq(&key))
                    .filter(login_attempts::succeeded.eq(false)),
            )
            .execute(conn)?;
            diesel::delete(
                account_locks::table
                    .filter(account_locks::scope.eq(&key))
                    .filter(account_locks::locked_until.le(now)),
            )
            .execute(conn)?;
            append_audit(conn, audit, now)?;
            Ok(())
        })
        .await
    }

    async fn unlock(&self, scope: &LoginScope, audit: NewAuditEntry) -> Result<(), StoreError> {
        let key = scope.key();
        self.transaction(move |conn| {
            lock_scope(conn, &key)?;
            let now = Utc::now();
            let lifted: Vec<DateTime<Utc>> = diesel::delete(account_locks::table.find(&key))
                .returning(account_locks::locked_until)
                .get_results(conn)?;
            // An expired lock is not "locked": rolling back keeps it for `record_failure`.
            if !lifted.iter().any(|until| *until > now) {
                return Err(StoreError::not_found("lock").into());
            }
            diesel::delete(
                login_attempts::table
                    .filter(login_attempts::scope.eq(&key))
                    .filter(login_attempts::succeeded.eq(false)),
            )
            .execute(conn)?;
            append_audit(conn, audit, now)?;
            Ok(())
        })
        .await
    }

    async fn active_locks(&self, now: DateTime<Utc>) -> Result<Vec<ActiveLock>, StoreError> {
        let rows: Vec<(String, DateTime<Utc>)> = self
            .interact(move |conn| {
                Ok(account_locks::table
                    .filter(account_locks::locked_until.gt(now))
                    .order((account_locks::locked_until.asc(), account_locks::scope.asc()))
                    .select((account_locks::scope, account_locks::locked_until))
                    .load(conn)?)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(scope, locked_until)| ActiveLock { scope, locked_until })
            .collect())
    }

    /// Read once per `PgStore` (and its clones), then served from memory: it never changes.
    async fn pin_pepper(&self) -> Result<Vec<u8>, StoreError> {
        self.pin_pepper
            .get_or_try_init(|| self.read_or_create_pin_pepper())
            .await
            .cloned()
    }

    async fn find_by_pin_lookup(&self, pin_lookup: &str) -> Result<Option<StaffCredentials>, StoreError> {
        let pin_lookup = pin_lookup.to_owned();
        let row = self
            .interact(move |conn| {
                Ok(staff::table
                    .filter(staff::pin_lookup.eq(pin_lookup))
                    .filter(staff::active.eq(true))
                    .select(StaffRow::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?;
        row.map(StaffRow::into_credentials).transpose()
    }

    async fn credentials(&self, id: StaffId) -> Result<StaffCredentials, StoreError> {
        let row = self
            .interact(move |conn| {
                Ok(staff::table
                    .find(id.as_uuid())
                    .select(StaffRow::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?;
        row.ok_or_else(|| StoreError::not_found("staff"))?
            .into_credentials()
    }

    async fn bump_token_version(&self, id: StaffId, audit: NewAuditEntry) -> Result<Staff, StoreError> {
        self.change_staff(audit, move |conn| {
            diesel::update(staff::table.find(id.as_uuid()))
                .set(staff::token_version.eq(staff::token_version + 1))
                .returning(StaffRow::as_returning())
                .get_result(conn)
                .optional()
        })
        .await
    }

    async fn set_password(
        &self,
        id: StaffId,
        password_hash: String,
        must_change_password: bool,
        audit: NewAuditEntry,
    ) -> Result<Staff, StoreError> {
        self.change_staff(audit, move |conn| {
            diesel::update(staff::table.find(id.as_uuid()))
                .set((
                    staff::password_hash.eq(password_hash),
                    staff::must_change_password.eq(must_change_password),
                    staff::password_changed_at.eq(diesel::dsl::now),
                    staff::token_version.eq(staff::token_version + 1),
                ))
                .returning(StaffRow::as_returning())
                .get_result(conn)
                .optional()
        })
        .await
    }

    async fn set_pin(
        &self,
        id: StaffId,
        pin: Option<PinSecret>,
        audit: NewAuditEntry,
    ) -> Result<Staff, StoreError> {
        let (pin_hash, pin_lookup) = match pin {
            Some(PinSecret { hash, lookup }) => (Some(hash), Some(lookup)),
            None => (None, None),
        };
        self.change_staff(audit, move |conn| {
            diesel::update(staff::table.find(id.as_uuid()))
                .set((staff::pin_hash.eq(pin_hash), staff::pin_lookup.eq(pin_lookup)))
                .returning(StaffRow::as_returning())
                .get_result(conn)
                .optional()
        })
        .await
    }

    async fn update_staff(
        &self,
        id: StaffId,
        changes: StaffChanges,
        audit: NewAuditEntry,
    ) -> Result<Staff, StaffChangeError> {
        let row = self
            .transaction(move |conn| update_staff(conn, id, &changes, audit))
            .await??;
        Ok(row.into_staff()?)
    }

    /// The audit entry's `entity_id` is filled with the new staff id when left empty (the
    /// caller cannot know it).
    async fn create_staff_audited(
        &self,
        new: NewStaff,
        pin_lookup: Option<String>,
        mut audit: NewAuditEntry,
    ) -> Result<Staff, StoreError> {
        self.transaction(move |conn| {
            let mut row = NewStaffRow::from_domain(&new);
            row.pin_lookup = pin_lookup.as_deref();
            let created = diesel::insert_into(staff::table)
                .values(row)
                .returning(StaffRow::as_returning())
                .get_result(conn)?;
            if audit.entity_id.is_none() {
                audit.entity_id = Some(created.id.to_string());
            }
            append_audit(conn, audit, Utc::now())?;
            Ok(created)
        })
        .await?
        .into_staff()
    }
}
