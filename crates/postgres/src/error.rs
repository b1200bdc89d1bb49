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

/// Maps a diesel error to the port contract. `NotFound` gets a generic entity: callers that
/// know what they looked for return `StoreError::not_found("staff")` themselves.
pub fn classify(error: DieselError) -> StoreError {
    match error {
        DieselError::NotFound => StoreError::not_found("record"),
        DieselError::DatabaseError(kind, info) => {
            let constraint = || info.constraint_name().unwrap_or("unknown").to_owned();
            match kind {
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ExclusionViolation => {
                    StoreError::Conflict {
                        constraint: constraint(),
                    }
                }
                DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                    StoreError::CheckViolation {
                        constraint: constraint(),
                    }
                }
                DatabaseErrorKind::ForeignKeyViolation | DatabaseErrorKind::RestrictViolation => {
                    StoreError::ForeignKeyViolation {
                        constraint: constraint(),
                    }
                }
                DatabaseErrorKind::SerializationFailure => StoreError::SerializationFailure,
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                    StoreError::Unavailable(info.message().to_owned())
                }
                _ => classify_by_message(info.message()),
            }
        }
        DieselError::BrokenTransactionManager => {
            StoreError::Unavailable("connection left in a broken transaction state".to_owned())
        }
        other => StoreError::Internal(other.to_string()),
    }
}

/// libpq does not hand diesel the SQLSTATE of every error, so the ones that matter and have
/// no `DatabaseErrorKind` are recognised by PostgreSQL's (English, `lc_messages=C`) text.
fn classify_by_message(message: &str) -> StoreError {
    const RETRYABLE: [&str; 2] = ["deadlock detected", "could not serialize access"];
    // A lock awaited past the transaction's `lock_timeout`: busy, try again.
    const UNAVAILABLE: [&str; 7] = [
        "canceling statement due to lock timeout",
        "terminating connection",
        "the database system is starting up",
        "the database system is shutting down",
        "the database system is in recovery mode",
        "server closed the connection",
        "too many clients",
    ];
    if RETRYABLE.iter().any(|m| message.contains(m)) {
        StoreError::SerializationFailure
    } else if UNAVAILABLE.iter().any(|m| message.contains(m)) {
        StoreError::Unavailable(message.to_owned())
    } else {
        StoreError::Internal(message.to_owned())
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
