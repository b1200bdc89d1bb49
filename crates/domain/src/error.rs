//! Errors the ports return. Adapters classify their own failures into these at the
//! boundary, so the domain and the API decide what a unique violation or an exhausted
//! pool means without knowing diesel or fred.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The row asked for does not exist (or is not visible to this query).
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// A unique constraint refused the write; `constraint` names it (e.g. `staff_username_key`).
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// A CHECK constraint refused the write: a rule the database enforces as a last line.
    #[error("check constraint {constraint} violated")]
    CheckViolation { constraint: String },
    /// A foreign key refused the write: the referenced row does not exist.
    #[error("reference {constraint} does not exist")]
    ForeignKeyViolation { constraint: String },
    /// Serializable/repeatable-read conflict or deadlock: safe to retry the whole unit.
    #[error("concurrent update, retry")]
    SerializationFailure,
    /// The store cannot be reached or the pool is exhausted: answer 503 with Retry-After.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the message goes to the log, never to a client.
    #[error("store error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn not_found(entity: &'static str) -> Self {
        StoreError::NotFound { entity }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BusError {
    /// The shared bus (Redis) is not reachable; events still live in the log and clients
    /// catch up from it, so callers log this and carry on.
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GatewayError {
    /// The provider could not be reached or timed out: the payment stays pending.
    #[error("payment provider unreachable: {0}")]
    Unreachable(String),
    /// The provider answered with an error body (bad credentials, invalid request).
    #[error("payment provider rejected the request: {code}: {message}")]
    Rejected { code: String, message: String },
    /// The provider answered something we cannot parse.
    #[error("unexpected payment provider response: {0}")]
    Protocol(String),
    /// Online payments are not configured on this instance.
    #[error("online payments are not configured")]
    NotConfigured,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HashError {
    /// A stored hash that is not a valid PHC string: treat as a failed check, log it.
    #[error("stored hash is malformed")]
    MalformedHash,
    #[error("hashing failed: {0}")]
    Failed(String),
}
