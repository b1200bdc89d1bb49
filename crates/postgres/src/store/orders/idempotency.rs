//! Idempotency records (spec §4): the claim that opens a unit of work, the response stored
//! before its COMMIT, and the purge of old records.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Bytea, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use pos_domain::StoreError;
use pos_domain::idempotency::{
    IdempotencyDecision, IdempotencyKey, IdempotencyRecord, RequestFingerprint, StoredResponse, decide,
};
use pos_domain::ids::StaffId;
use pos_domain::order::ports::{IDEMPOTENCY_CLAIM_WAIT, IdempotencyClaim, IdempotencyPurge, Mutation};

use super::super::PgStore;
use super::unit_of_work::Abort;
use crate::error::DbError;
use crate::prepared::{Prepared, statement};
use crate::schema::idempotency_records;

/// PostgreSQL's text for SQLSTATE 55P03 (`lock_not_available`) raised by `lock_timeout`;
/// libpq does not hand diesel the SQLSTATE of this one (servers run with `lc_messages=C`).
const LOCK_TIMEOUT_MESSAGE: &str = "lock timeout";

#[derive(QueryableByName)]
struct StoredRecord {
    #[diesel(sql_type = Text)]
    fingerprint: String,
    #[diesel(sql_type = Nullable<Integer>)]
    status_code: Option<i32>,
    #[diesel(sql_type = Nullable<Bytea>)]
    response_body: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    content_type: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    db_now: DateTime<Utc>,
}

impl StoredRecord {
    /// The record of `key` (of `staff`) this row holds.
    fn into_record(self, staff: StaffId, key: &IdempotencyKey) -> Result<IdempotencyRecord, StoreError> {
        Ok(IdempotencyRecord {
            staff_id: staff,
            key: key.clone(),
            fingerprint: RequestFingerprint::from_hex(&self.fingerprint).map_err(|e| {
                StoreError::Internal(format!("stored idempotency_records.fingerprint is invalid: {e}"))
            })?,
            response: stored_response(self.status_code, self.content_type, self.response_body)?,
            created_at: self.created_at,
        })
    }
}

fn is_lock_timeout(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(_, info) if info.message().contains(LOCK_TIMEOUT_MESSAGE)
    )
}

/// A statement of the claim: waiting longer than the claim's lock timeout for the request
/// holding the key means that request is still in progress (409). The transaction is
/// aborted then; the unit rolls it back.
fn bounded<T>(result: QueryResult<T>) -> Result<T, Abort> {
    result.map_err(|e| {
        if is_lock_timeout(&e) {
            Abort::Answer(Mutation::KeyInProgress)
        } else {
            e.into()
        }
    })
}

/// Step 1 of the unit (see `pos_domain::order::ports::IdempotencyClaim`): `Ok(())` when the
/// unit may run with the key claimed; `Err(Abort::Answer(..))` for a replay, a mismatch or a
/// request in progress (the transaction then ends having written nothing).
///
/// Both the INSERT and the SELECT that follows it wait at most [`IDEMPOTENCY_CLAIM_WAIT`]
/// (the SELECT only waits when a concurrent request is taking over an expired record).
///
/// The timeout stays for the rest of the unit (one statement fewer than resetting it): a
/// later lock awaited that long fails the unit as unavailable (503, retry), which is what a
/// till should see rather than a request that hangs.
pub(crate) fn claim_key(conn: &mut PgConnection, claim: &IdempotencyClaim) -> Result<(), Abort> {
    set_lock_timeout(conn, IDEMPOTENCY_CLAIM_WAIT)?;
    take_key(conn, claim)
}

statement!(SetLockTimeout = "SELECT set_config('lock_timeout', $1, true)");

/// `SET LOCAL lock_timeout`, as a statement the connection keeps prepared.
pub(crate) fn set_lock_timeout(conn: &mut PgConnection, wait: std::time::Duration) -> QueryResult<()> {
    let value = format!("{}ms", wait.as_millis());
    Prepared::<SetLockTimeout>::new()
        .bind::<Text, _>(value.as_str())
        .execute(conn)
        .map(|_| ())
}

pub(crate) fn take_key(conn: &mut PgConnection, claim: &IdempotencyClaim) -> Result<(), Abort> {
    // The record may be purged between the INSERT and the SELECT: then claim once more.
    for _ in 0..2 {
        let inserted = bounded(
            sql_query(
                "INSERT INTO idempotency_records (staff_id, key, fingerprint, created_at) \
                 VALUES ($1, $2, $3, now()) ON CONFLICT (staff_id, key) DO NOTHING",
            )
            .bind::<SqlUuid, _>(claim.staff_id.as_uuid())
            .bind::<Text, _>(claim.key.as_str())
            .bind::<Text, _>(claim.fingerprint.as_str())
            .execute(conn),
        )?;
        if inserted == 1 {
            return Ok(());
        }
        let stored: Option<StoredRecord> = bounded(
            sql_query(
                "SELECT fingerprint, status_code, response_body, content_type, created_at, now() AS db_now \
                 FROM idempotency_records WHERE staff_id = $1 AND key = $2 FOR UPDATE",
            )
            .bind::<SqlUuid, _>(claim.staff_id.as_uuid())
            .bind::<Text, _>(claim.key.as_str())
            .get_result(conn)
            .optional(),
        )?;
        let Some(stored) = stored else {
            continue;
        };
        let now = stored.db_now;
        let record = stored.into_record(claim.staff_id, &claim.key)?;
        return match decide(Some(&record), &claim.fingerprint, now) {
            IdempotencyDecision::Replay(response) => Err(Abort::Answer(Mutation::Replayed(response))),
            IdempotencyDecision::Mismatch => Err(Abort::Answer(Mutation::KeyMismatch)),
            IdempotencyDecision::InProgress => Err(Abort::Answer(Mutation::KeyInProgress)),
            IdempotencyDecision::Execute => {
                // Outlived its retention and not purged yet: it is this request's now.
                diesel::update(
                    idempotency_records::table
                        .filter(idempotency_records::staff_id.eq(claim.staff_id.as_uuid()))
                        .filter(idempotency_records::key.eq(claim.key.as_str())),
                )
                .set((
                    idempotency_records::fingerprint.eq(claim.fingerprint.as_str()),
                    idempotency_records::status_code.eq(None::<i32>),
                    idempotency_records::response_body.eq(None::<Vec<u8>>),
                    idempotency_records::content_type.eq(None::<String>),
                    idempotency_records::created_at.eq(diesel::dsl::now),
                    idempotency_records::completed_at.eq(None::<DateTime<Utc>>),
                ))
                .execute(conn)?;
                Ok(())
            }
        };
    }
    // Purged twice in a row under our feet: a retry will find a quiet key.
    Err(Abort::Db(DbError::Store(StoreError::SerializationFailure)))
}

/// `OrderStore::recorded_answer`: the record as it is, decided as a claim would decide it.
pub(crate) fn recorded_answer(
    conn: &mut PgConnection,
    staff: StaffId,
    key: &IdempotencyKey,
    fingerprint: &RequestFingerprint,
) -> Result<Option<Mutation>, DbError> {
    let stored: Option<StoredRecord> = sql_query(
        "SELECT fingerprint, status_code, response_body, content_type, created_at, now() AS db_now \
         FROM idempotency_records WHERE staff_id = $1 AND key = $2",
    )
    .bind::<SqlUuid, _>(staff.as_uuid())
    .bind::<Text, _>(key.as_str())
    .get_result(conn)
    .optional()?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let now = stored.db_now;
    let record = stored.into_record(staff, key)?;
    Ok(Mutation::from_record(decide(Some(&record), fingerprint, now)))
}

fn stored_response(
    status: Option<i32>,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
) -> Result<Option<StoredResponse>, StoreError> {
    status
        .map(|status| {
            Ok(StoredResponse {
                status: u16::try_from(status).map_err(|e| {
                    StoreError::Internal(format!("stored idempotency_records.status_code is invalid: {e}"))
                })?,
                content_type: content_type.unwrap_or_default(),
                body: body.unwrap_or_default(),
            })
        })
        .transpose()
}

/// Stores the unit's answer on the claimed record, before COMMIT. A server error is never
/// stored: the whole unit rolls back instead.
pub(crate) fn store_response(
    conn: &mut PgConnection,
    staff_id: StaffId,
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> Result<(), Abort> {
    if !response.is_storable() {
        return Err(StoreError::Internal(format!(
            "the unit rendered a {} response: rolled back with its idempotency claim",
            response.status
        ))
        .into());
    }
    let updated = diesel::update(
        idempotency_records::table
            .filter(idempotency_records::staff_id.eq(staff_id.as_uuid()))
            .filter(idempotency_records::key.eq(key.as_str())),
    )
    .set((
        idempotency_records::status_code.eq(Some(i32::from(response.status))),
        idempotency_records::response_body.eq(Some(response.body.as_slice())),
        idempotency_records::content_type.eq(Some(response.content_type.as_str())),
        idempotency_records::completed_at.eq(sql::<Nullable<Timestamptz>>("now()")),
    ))
    .execute(conn)?;
    if updated == 1 {
        Ok(())
    } else {
        Err(StoreError::Internal("the claimed idempotency record is gone".into()).into())
    }
}

#[async_trait]
impl IdempotencyPurge for PgStore {
    async fn purge_idempotency_records(&self, created_before: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = self
            .interact(move |conn| {
                Ok(diesel::delete(
                    idempotency_records::table.filter(idempotency_records::created_at.lt(created_before)),
                )
                .execute(conn)?)
            })
            .await?;
        u64::try_from(deleted).map_err(|e| StoreError::Internal(e.to_string()))
    }
}
