//! Idempotency claims carried by a change, and how a claimed unit ends.

use std::fmt;

use crate::event::Event;
use crate::idempotency::{IdempotencyKey, RequestFingerprint, StoredResponse};
use crate::ids::StaffId;

use super::CatalogError;

/// What a unit's answer is rendered from.
#[derive(Debug)]
pub enum Rendered<'a, T> {
    Committed(&'a T),
    Refused(&'a CatalogError),
}

impl<T> Clone for Rendered<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Rendered<'_, T> {}

pub type Render<T> = Box<dyn FnOnce(Rendered<'_, T>) -> StoredResponse + Send>;

/// An `Idempotency-Key` claimed in the unit's transaction; the rendered answer is stored
/// with it before COMMIT (the order units' records and statements), so a retry replays it.
pub struct CatalogClaim<T> {
    pub staff_id: StaffId,
    pub key: IdempotencyKey,
    pub fingerprint: RequestFingerprint,
    pub render: Render<T>,
}

impl<T> CatalogClaim<T> {
    pub fn new(
        staff_id: StaffId,
        key: IdempotencyKey,
        fingerprint: RequestFingerprint,
        render: impl FnOnce(Rendered<'_, T>) -> StoredResponse + Send + 'static,
    ) -> Self {
        Self {
            staff_id,
            key,
            fingerprint,
            render: Box::new(render),
        }
    }
}

impl<T> fmt::Debug for CatalogClaim<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatalogClaim")
            .field("staff_id", &self.staff_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The end of a unit that may carry a claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Claimed<T> {
    Committed {
        value: T,
        events: Vec<Event>,
        /// The answer stored with the claim (none without one).
        response: Option<StoredResponse>,
    },
    /// Refused; with a claim the refusal's answer was stored (and only that committed).
    Refused {
        error: CatalogError,
        response: Option<StoredResponse>,
    },
    /// The key was used before for this request: its first answer.
    Replayed(StoredResponse),
    /// The key was used before for another request.
    KeyMismatch,
    /// The key's first request is still running.
    KeyInProgress,
}

/// A change that committed, with the events it appended (to publish).
#[derive(Debug, Clone, PartialEq)]
pub struct Written<T> {
    pub value: T,
    pub events: Vec<Event>,
}
