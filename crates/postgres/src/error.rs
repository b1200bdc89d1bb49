//! Diesel and pool failures classified into the domain's [`StoreError`] at the boundary, so
//! nothing above this crate ever matches on a diesel type.

use deadpool_diesel::InteractError;
use deadpool_diesel::postgres::PoolError;
use diesel::ConnectionError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use pos_domain::StoreError;

/// What a closure run on a pooled connection may fail with: a database error still to be
/// classified, or a domain error decided inside the unit of work (e.g. `NotFound` naming
/// its entity). `?` works for both inside `PgStore::transaction` closures.
#[derive(Debug)]
pub enum DbError {
    Diesel(DieselError),
    Store(StoreError),
}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        DbError::Diesel(e)
    }
}

impl From<StoreError> for DbError {
    fn from(e: StoreError) -> Self {
        DbError::Store(e)
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Diesel(e) => classify(e),
            DbError::Store(e) => e,
        }
    }
}

/// Maps a diesel error to the port contract by the error's SQLSTATE (the server's message
/// text is translated by its `lc_messages`, so it is never looked at). `NotFound` gets a
/// generic entity: callers that know what they looked for return
/// `StoreError::not_found("staff")` themselves.
pub fn classify(error: DieselError) -> StoreError {
    match error {
        DieselError::NotFound => StoreError::not_found("record"),
        DieselError::DatabaseError(kind, info) => {
            let constraint = info.constraint_name().unwrap_or("unknown").to_owned();
            match info.sqlstate() {
                Some(state) => classify_sqlstate(state.as_str(), constraint, info.message()),
                // No SQLSTATE: libpq's own failures (the connection broke before an answer).
                None => match kind {
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                        StoreError::Unavailable(info.message().to_owned())
                    }
                    _ => StoreError::Internal(info.message().to_owned()),
                },
            }
        }
        DieselError::BrokenTransactionManager => {
            StoreError::Unavailable("connection left in a broken transaction state".to_owned())
        }
        other => StoreError::Internal(other.to_string()),
    }
}

/// SQLSTATE 55P03 (`lock_not_available`): a lock awaited past the transaction's
/// `lock_timeout` (or refused by `NOWAIT`).
pub const LOCK_NOT_AVAILABLE: &str = "55P03";

/// Whether `error` is a lock awaited past the transaction's `lock_timeout` (SQLSTATE 55P03).
pub fn is_lock_timeout(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(_, info)
            if info.sqlstate().is_some_and(|s| s.as_str() == LOCK_NOT_AVAILABLE)
    )
}

/// The port's error for a SQLSTATE (PostgreSQL appendix A). `message` only travels into
/// `Unavailable`/`Internal` for the log; it never decides anything.
fn classify_sqlstate(state: &str, constraint: String, message: &str) -> StoreError {
    match state {
        // unique_violation, exclusion_violation
        "23505" | "23P01" => StoreError::Conflict { constraint },
        // check_violation, not_null_violation
        "23514" | "23502" => StoreError::CheckViolation { constraint },
        // foreign_key_violation, restrict_violation
        "23503" | "23001" => StoreError::ForeignKeyViolation { constraint },
        // serialization_failure, deadlock_detected: the whole unit is safe to retry.
        "40001" | "40P01" => StoreError::SerializationFailure,
        // lock_not_available (lock_timeout), admin/crash shutdown, cannot_connect_now,
        // too_many_connections, and the connection exceptions (class 08): busy or going
        // away, so 503 + Retry-After.
        LOCK_NOT_AVAILABLE | "57P01" | "57P02" | "57P03" | "53300" => {
            StoreError::Unavailable(format!("{state}: {message}"))
        }
        s if s.starts_with("08") => StoreError::Unavailable(format!("{state}: {message}")),
        // Any other integrity violation (class 23) is a rule the database enforces.
        s if s.starts_with("23") => StoreError::CheckViolation { constraint },
        _ => StoreError::Internal(format!("{state}: {message}")),
    }
}

/// A connection could not be established.
pub fn classify_connection(error: ConnectionError) -> StoreError {
    match error {
        ConnectionError::InvalidConnectionUrl(message) => {
            StoreError::Internal(format!("invalid database URL: {message}"))
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// No connection could be had from the pool: exhausted (wait timeout), or the database does
/// not answer. Both are 503 + Retry-After material.
pub fn classify_pool(error: PoolError) -> StoreError {
    match error {
        PoolError::Timeout(kind) => StoreError::Unavailable(format!("database pool timed out ({kind:?})")),
        PoolError::Backend(deadpool_diesel::Error::Connection(e)) => classify_connection(e),
        PoolError::Backend(e) => StoreError::Unavailable(e.to_string()),
        PoolError::Closed => StoreError::Unavailable("database pool is closed".to_owned()),
        other => StoreError::Internal(other.to_string()),
    }
}

/// The closure run on the connection panicked (a bug: the connection is discarded).
pub fn classify_interact(error: InteractError) -> StoreError {
    StoreError::Internal(format!("database task failed: {error}"))
}
