//! Shift use cases (spec §3 Shift, §4, §10): open a drawer with its counted float, move cash
//! in and out with a reason, close it with the counted cash (a variance beyond the venue's
//! threshold needs a manager inside the same request), and read it with its X report.
//!
//! The rules live in [`crate::shift`]; this module is the port the store implements (one
//! transaction per use case, idempotency record included, like the order unit of work in
//! [`crate::order::ports`]) and the service the API calls.
//!
//! # The shift unit of work (what an adapter does, READ COMMITTED)
//!
//! 1. Claim the idempotency key when a claim came along, exactly as
//!    [`crate::order::ports::IdempotencyClaim`] documents (replay, mismatch, in progress).
//! 2. Open: lock the staff member's and the terminal's open shifts (`FOR UPDATE`); one found
//!    → refusal [`ShiftError::StaffShiftOpen`] / [`ShiftError::TerminalShiftOpen`]; else
//!    insert. A concurrent open that slips past (unique index) is the same refusal.
//!    Change: lock the shift row (`FOR UPDATE`; none → `StoreError::NotFound { entity:
//!    "shift" }`), load its movements and its drawer's [`CashFlows`], run the work; a
//!    refusal writes nothing.
//! 3. Save: the shift row, its new movements, then the audit rows, then the response on the
//!    claim (a non-storable response rolls everything back), then the events, last.
//! 4. A refusal with a claim stores the refusal's response on the claim and commits only that.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use crate::approval::{Actor, ApprovalError, require};
use crate::audit::NewAuditEntry;
use crate::business_day::business_day_bounds;
use crate::error::StoreError;
use crate::event::{Event, NewEvent};
use crate::idempotency::{IdempotencyKey, RequestFingerprint, StoredResponse};
use crate::ids::{ShiftId, StaffId, TerminalId};
use crate::money::Money;
use crate::permissions::Action;
use crate::ports::{Clock, EventBus, SettingsStore};
use crate::shift::{
    CashFlows, CashMovementKind, CashSummary, CloseShift, NewShift, Shift, ShiftError, ShiftStatus,
};
use crate::validate::{Note, ValidationError};

/// A shift as stored, with its drawer as of now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftState {
    pub shift: Shift,
    pub cash: CashSummary,
}

/// What the render closure sees, inside the transaction.
#[derive(Debug, Clone, Copy)]
pub enum ShiftRender<'a> {
    Committed(&'a ShiftState),
    Refused(&'a ShiftError),
}

/// Turns the unit's result into the HTTP answer kept with the key. Cheap, never panics.
pub type RenderShift = Box<dyn FnOnce(ShiftRender<'_>) -> StoredResponse + Send>;

/// An idempotency key to claim in the unit's transaction (spec §4), scoped to the staff member.
pub struct ShiftClaim {
    pub staff_id: StaffId,
    pub key: IdempotencyKey,
    pub fingerprint: RequestFingerprint,
    pub render: RenderShift,
}

impl ShiftClaim {
    pub fn new(
        staff_id: StaffId,
        key: IdempotencyKey,
        fingerprint: RequestFingerprint,
        render: impl FnOnce(ShiftRender<'_>) -> StoredResponse + Send + 'static,
    ) -> Self {
        Self {
            staff_id,
            key,
            fingerprint,
            render: Box::new(render),
        }
    }
}

impl fmt::Debug for ShiftClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShiftClaim")
            .field("staff_id", &self.staff_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// What a shift unit writes besides the shift itself.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShiftEffects {
    pub audit: Vec<NewAuditEntry>,
    /// Appended last, in order.
    pub events: Vec<NewEvent>,
}

/// Changes one loaded, locked, open-or-closed shift given its drawer's payment flows.
pub type ShiftWork = Box<dyn FnOnce(&mut Shift, &CashFlows) -> Result<ShiftEffects, ShiftError> + Send>;

/// The answer of a shift unit.
#[derive(Debug, Clone, PartialEq)]
pub enum ShiftMutation {
    Committed {
        state: Box<ShiftState>,
        events: Vec<Event>,
        /// The response stored with the claim; `None` without one.
        response: Option<StoredResponse>,
    },
    Refused {
        error: ShiftError,
        response: Option<StoredResponse>,
    },
    Replayed(StoredResponse),
    KeyMismatch,
    KeyInProgress,
}

/// Shifts, their cash movements and their drawers.
#[async_trait]
pub trait ShiftStore: Send + Sync {
    /// Inserts `shift` (freshly opened) with `effects`, following the module recipe. Another
    /// open shift of the same staff member or terminal → `Refused` (never a store error).
    async fn open_shift(
        &self,
        shift: Shift,
        effects: ShiftEffects,
        claim: Option<ShiftClaim>,
    ) -> Result<ShiftMutation, StoreError>;

    /// Changes one shift in one transaction. No such shift → `NotFound { entity: "shift" }`.
    async fn mutate_shift(
        &self,
        id: ShiftId,
        claim: Option<ShiftClaim>,
        work: ShiftWork,
    ) -> Result<ShiftMutation, StoreError>;

    /// One shift with its movements and its drawer's flows. `NotFound { entity: "shift" }`.
    async fn get_shift(&self, id: ShiftId) -> Result<(Shift, CashFlows), StoreError>;

    /// The staff member's open shift, if any.
    async fn open_shift_of(&self, staff: StaffId) -> Result<Option<(Shift, CashFlows)>, StoreError>;

    /// Shifts passing `filter`, newest opened first (`opened_at DESC, id DESC`), skipping
    /// `filter.offset` and at most `filter.limit`, each with its movements and drawer's flows.
    async fn list_shifts(&self, filter: &ShiftFilter) -> Result<Vec<(Shift, CashFlows)>, StoreError>;
}

/// Which shifts a store lists: every condition set must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftFilter {
    pub status: Option<ShiftStatus>,
    /// Only this staff member's shifts (a cashier's own).
    pub staff: Option<StaffId>,
    /// Opened at or after.
    pub opened_from: Option<DateTime<Utc>>,
    /// Opened strictly before.
    pub opened_before: Option<DateTime<Utc>>,
    pub limit: u32,
    pub offset: u32,
}

/// `GET /api/shifts` as asked: business dates, both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftListQuery {
    pub status: Option<ShiftStatus>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub limit: u32,
    pub offset: u32,
}

impl ShiftListQuery {
    /// Most shifts one page answers: each comes with its movements and drawer.
    pub const MAX_LIMIT: u32 = 500;
}

/// Why a shift use case did not apply.
#[derive(Debug, Clone, PartialEq)]
pub enum ShiftServiceError {
    Forbidden(ApprovalError),
    Invalid(ValidationError),
    /// The domain refused; `response` is what the claim stored.
    Refused {
        error: ShiftError,
        response: Option<StoredResponse>,
    },
    KeyMismatch,
    KeyInProgress,
    Store(StoreError),
}

impl From<StoreError> for ShiftServiceError {
    fn from(e: StoreError) -> Self {
        ShiftServiceError::Store(e)
    }
}

impl From<ValidationError> for ShiftServiceError {
    fn from(e: ValidationError) -> Self {
        ShiftServiceError::Invalid(e)
    }
}

impl From<ApprovalError> for ShiftServiceError {
    fn from(e: ApprovalError) -> Self {
        ShiftServiceError::Forbidden(e)
    }
}

/// What an applied use case gives the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum ShiftOutcome {
    Applied {
        state: Box<ShiftState>,
        response: Option<StoredResponse>,
    },
    Replayed(StoredResponse),
}

/// Who acts, from the verified token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShiftCaller {
    pub actor: Actor,
    pub terminal: Option<TerminalId>,
}

/// Closing a shift as the terminal asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseCmd {
    /// Minor units counted in the drawer.
    pub counted_cash: i64,
    pub note: Option<Note>,
    /// A manager re-authenticated inside the request.
    pub approval: Option<Actor>,
}

/// A cash movement as the terminal asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementCmd {
    pub kind: CashMovementKind,
    pub amount: i64,
    pub reason: Note,
}

fn shift_payload(shift: &Shift) -> serde_json::Value {
    json!({
        "shift_id": shift.id,
        "staff_id": shift.staff_id,
        "terminal_id": shift.terminal_id,
        "status": shift.status.as_str(),
    })
}

/// The shift use cases over a store, the settings, the bus and a clock.
pub struct ShiftService {
    store: Arc<dyn ShiftStore>,
    settings: Arc<dyn SettingsStore>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
}

type ServiceResult<T> = Result<T, ShiftServiceError>;

impl ShiftService {
    pub fn new(
        store: Arc<dyn ShiftStore>,
        settings: Arc<dyn SettingsStore>,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            settings,
            bus,
            clock,
        }
    }

    /// Opens the caller's shift on their terminal with the counted float.
    pub async fn open(
        &self,
        caller: ShiftCaller,
        opening_float: i64,
        claim: Option<ShiftClaim>,
    ) -> ServiceResult<ShiftOutcome> {
        require(caller.actor, Action::OpenOwnShift)?;
        let settings = self.settings.get_settings().await?;
        let now = self.clock.now();
        let shift = Shift::open(
            NewShift {
                staff_id: caller.actor.id,
                terminal_id: caller.terminal,
                opening_float: Money::new(opening_float, settings.currency),
            },
            now,
        )
        .map_err(|error| ShiftServiceError::Refused {
            error,
            response: None,
        })?;
        let effects = ShiftEffects {
            audit: vec![
                NewAuditEntry::new("shift.opened", "shift")
                    .actor(Some(caller.actor.id))
                    .terminal(caller.terminal)
                    .entity_id(shift.id)
                    .after(json!({"opening_float": opening_float, "currency": settings.currency})),
            ],
            events: vec![NewEvent::new("shift.opened", "shifts", shift_payload(&shift))],
        };
        let mutation = self.store.open_shift(shift, effects, claim).await?;
        self.finish(mutation).await
    }

    /// Cash put in or taken out of the drawer.
    pub async fn record_movement(
        &self,
        caller: ShiftCaller,
        id: ShiftId,
        cmd: MovementCmd,
        claim: Option<ShiftClaim>,
    ) -> ServiceResult<ShiftOutcome> {
        require(caller.actor, Action::RecordCashMovement)?;
        let now = self.clock.now();
        let work: ShiftWork = Box::new(move |shift: &mut Shift, _flows: &CashFlows| {
            let amount = Money::new(cmd.amount, shift.currency());
            let movement = shift
                .record_movement(cmd.kind, amount, cmd.reason, caller.actor, now)?
                .clone();
            let payload = json!({
                "shift_id": shift.id,
                "movement_id": movement.id,
                "kind": movement.kind.as_str(),
                "amount": movement.amount.minor(),
                "reason": movement.reason.as_str(),
            });
            Ok(ShiftEffects {
                audit: vec![
                    NewAuditEntry::new("shift.cash_movement", "shift")
                        .actor(Some(caller.actor.id))
                        .terminal(caller.terminal)
                        .entity_id(shift.id)
                        .after(payload.clone()),
                ],
                events: vec![NewEvent::new("shift.cash_movement", "shifts", payload)],
            })
        });
        let mutation = self.store.mutate_shift(id, claim, work).await?;
        self.finish(mutation).await
    }

    /// Closes a shift with the counted cash. The variance threshold comes from the settings;
    /// beyond it the domain asks for a manager (the closer, or `approval`).
    pub async fn close(
        &self,
        caller: ShiftCaller,
        id: ShiftId,
        cmd: CloseCmd,
        claim: Option<ShiftClaim>,
    ) -> ServiceResult<ShiftOutcome> {
        require(caller.actor, Action::CloseOwnShift)?;
        let settings = self.settings.get_settings().await?;
        let now = self.clock.now();
        let threshold = settings.shift_variance_threshold;
        let work: ShiftWork = Box::new(move |shift: &mut Shift, flows: &CashFlows| {
            let request = CloseShift {
                counted: Money::new(cmd.counted_cash, shift.currency()),
                note: cmd.note,
                closer: caller.actor,
                approval: cmd.approval,
                variance_threshold: threshold,
            };
            let closing = shift.close(request, flows, now)?;
            let after = json!({
                "counted_cash": closing.counted.minor(),
                "expected_cash": closing.cash.expected.minor(),
                "variance": closing.variance.minor(),
                "variance_approved_by": closing.variance_approved_by,
                "approval_requested_by": closing.variance_approved_by.map(|_| caller.actor.id),
            });
            let mut payload = shift_payload(shift);
            if let Some(map) = payload.as_object_mut() {
                map.insert("variance".into(), json!(closing.variance.minor()));
            }
            Ok(ShiftEffects {
                audit: vec![
                    NewAuditEntry::new("shift.closed", "shift")
                        .actor(Some(caller.actor.id))
                        .approver(closing.variance_approved_by)
                        .terminal(caller.terminal)
                        .entity_id(shift.id)
                        .after(after),
                ],
                events: vec![NewEvent::new("shift.closed", "shifts", payload)],
            })
        });
        let mutation = self.store.mutate_shift(id, claim, work).await?;
        self.finish(mutation).await
    }

    /// The caller's open shift with its drawer, if any.
    pub async fn current(&self, caller: ShiftCaller) -> ServiceResult<Option<ShiftState>> {
        require(caller.actor, Action::OpenOwnShift)?;
        match self.store.open_shift_of(caller.actor.id).await? {
            Some((shift, flows)) => Ok(Some(state(shift, &flows)?)),
            None => Ok(None),
        }
    }

    /// A shift with its drawer as of now (the X report's cash part): its owner, or whoever
    /// may close any shift.
    pub async fn get(&self, caller: ShiftCaller, id: ShiftId) -> ServiceResult<ShiftState> {
        require(caller.actor, Action::ViewXReport)?;
        let (shift, flows) = self.store.get_shift(id).await?;
        if shift.staff_id != caller.actor.id {
            require(caller.actor, Action::CloseAnyShift)?;
        }
        state(shift, &flows)
    }

    /// Shifts, open and closed, newest first. Whoever may close any shift sees everyone's;
    /// anyone else only their own (like [`Self::get`]). `from`/`to` are business dates of
    /// the opening, both included.
    pub async fn list(&self, caller: ShiftCaller, query: ShiftListQuery) -> ServiceResult<Vec<ShiftState>> {
        require(caller.actor, Action::ViewXReport)?;
        if !(1..=ShiftListQuery::MAX_LIMIT).contains(&query.limit) {
            return Err(ValidationError::new("limit", "must be between 1 and 500").into());
        }
        if let (Some(from), Some(to)) = (query.from, query.to)
            && from > to
        {
            return Err(ValidationError::new("from", "must not be after to").into());
        }
        let staff = if caller.actor.role.may(Action::CloseAnyShift) {
            None
        } else {
            Some(caller.actor.id)
        };
        let (opened_from, opened_before) = if query.from.is_some() || query.to.is_some() {
            let settings = self.settings.get_settings().await?;
            (
                query.from.map(|d| business_day_bounds(d, &settings).0),
                query.to.map(|d| business_day_bounds(d, &settings).1),
            )
        } else {
            (None, None)
        };
        let filter = ShiftFilter {
            status: query.status,
            staff,
            opened_from,
            opened_before,
            limit: query.limit,
            offset: query.offset,
        };
        self.store
            .list_shifts(&filter)
            .await?
            .into_iter()
            .map(|(shift, flows)| state(shift, &flows))
            .collect()
    }

    async fn finish(&self, mutation: ShiftMutation) -> ServiceResult<ShiftOutcome> {
        match mutation {
            ShiftMutation::Committed {
                state,
                events,
                response,
            } => {
                for event in &events {
                    // A lost wake-up only delays screens: the events are in the log and
                    // subscribers catch up from it (the 500 ms tick).
                    let _ = self.bus.publish(event).await;
                }
                Ok(ShiftOutcome::Applied { state, response })
            }
            ShiftMutation::Refused { error, response } => Err(ShiftServiceError::Refused { error, response }),
            ShiftMutation::Replayed(response) => Ok(ShiftOutcome::Replayed(response)),
            ShiftMutation::KeyMismatch => Err(ShiftServiceError::KeyMismatch),
            ShiftMutation::KeyInProgress => Err(ShiftServiceError::KeyInProgress),
        }
    }
}

/// A shift with its drawer summed from `flows`.
pub fn state(shift: Shift, flows: &CashFlows) -> ServiceResult<ShiftState> {
    let cash = shift
        .cash_summary(flows)
        .map_err(|error| ShiftServiceError::Refused {
            error,
            response: None,
        })?;
    Ok(ShiftState { shift, cash })
}
