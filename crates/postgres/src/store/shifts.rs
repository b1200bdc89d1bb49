//! [`ShiftStore`]: shifts, their cash movements and their drawers, one transaction per use
//! case (the recipe is in `pos_domain::shifts`). The idempotency claim and the stored answer
//! are the order unit's own statements.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use pos_domain::StoreError;
use pos_domain::event::Event;
use pos_domain::idempotency::{IdempotencyKey, StoredResponse};
use pos_domain::ids::{CashMovementId, ShiftId, StaffId, TerminalId};
use pos_domain::money::{Currency, Money};
use pos_domain::order::ports::{IdempotencyClaim, Mutation};
use pos_domain::payment::{PaymentMethod, PaymentStatus};
use pos_domain::shift::{CashFlows, CashMovement, CashMovementKind, Shift, ShiftError, ShiftStatus};
use pos_domain::shifts::{
    ShiftClaim, ShiftEffects, ShiftFilter, ShiftMutation, ShiftRender, ShiftState, ShiftStore, ShiftWork,
};
use pos_domain::validate::Note;
use uuid::Uuid;

use super::PgStore;
use super::audit::append_audit;
use super::events::append_event;
use super::orders::{Abort, claim_key, store_response};
use crate::error::DbError;
use crate::rows::group_by_key;
use crate::schema::{cash_movements, payments, refunds, shifts};

/// The unique index that keeps one open shift per staff member.
const ONE_OPEN_PER_STAFF: &str = "shifts_one_open_per_staff";
/// The unique index that keeps one open shift per terminal.
const ONE_OPEN_PER_TERMINAL: &str = "shifts_one_open_per_terminal";

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = shifts)]
#[diesel(treat_none_as_null = true)]
struct ShiftRow {
    id: Uuid,
    staff_id: Uuid,
    terminal_id: Option<Uuid>,
    currency: String,
    opening_float: i64,
    counted_cash: Option<i64>,
    expected_cash: Option<i64>,
    status: String,
    opened_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    closed_by: Option<Uuid>,
    variance_approved_by: Option<Uuid>,
    close_note: Option<String>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = cash_movements)]
struct MovementRow {
    id: Uuid,
    shift_id: Uuid,
    kind: String,
    amount: i64,
    currency: String,
    reason: String,
    staff_id: Uuid,
    created_at: DateTime<Utc>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("stored {what} is invalid: {e}"))
}

impl ShiftRow {
    fn of(shift: &Shift) -> Self {
        Self {
            id: shift.id.as_uuid(),
            staff_id: shift.staff_id.as_uuid(),
            terminal_id: shift.terminal_id.map(|t| t.as_uuid()),
            currency: shift.currency().code().to_owned(),
            opening_float: shift.opening_float.minor(),
            counted_cash: shift.counted_cash.map(Money::minor),
            expected_cash: shift.expected_cash.map(Money::minor),
            status: shift.status.as_str().to_owned(),
            opened_at: shift.opened_at,
            closed_at: shift.closed_at,
            closed_by: shift.closed_by.map(|s| s.as_uuid()),
            variance_approved_by: shift.variance_approved_by.map(|s| s.as_uuid()),
            close_note: shift.close_note.as_ref().map(|n| n.as_str().to_owned()),
        }
    }

    fn into_shift(self, movements: Vec<MovementRow>) -> Result<Shift, StoreError> {
        let currency = Currency::parse(&self.currency).map_err(|e| corrupt("shifts.currency", e))?;
        let money = |minor: i64| Money::new(minor, currency);
        let movements = movements
            .into_iter()
            .map(|m| {
                Ok(CashMovement {
                    id: CashMovementId::from_uuid(m.id),
                    kind: CashMovementKind::parse(&m.kind)
                        .map_err(|e| corrupt("cash_movements.kind", e.message))?,
                    amount: money(m.amount),
                    reason: Note::parse(&m.reason)
                        .map_err(|e| corrupt("cash_movements.reason", e.message))?,
                    staff_id: StaffId::from_uuid(m.staff_id),
                    at: m.created_at,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let counted_cash = self.counted_cash.map(money);
        let expected_cash = self.expected_cash.map(money);
        let variance = match (counted_cash, expected_cash) {
            (Some(counted), Some(expected)) => Some(
                counted
                    .checked_sub(expected)
                    .map_err(|e| corrupt("shifts.counted_cash", e))?,
            ),
            _ => None,
        };
        Ok(Shift {
            id: ShiftId::from_uuid(self.id),
            staff_id: StaffId::from_uuid(self.staff_id),
            terminal_id: self.terminal_id.map(TerminalId::from_uuid),
            status: ShiftStatus::parse(&self.status).map_err(|e| corrupt("shifts.status", e.message))?,
            opening_float: money(self.opening_float),
            movements,
            opened_at: self.opened_at,
            closed_at: self.closed_at,
            closed_by: self.closed_by.map(StaffId::from_uuid),
            counted_cash,
            expected_cash,
            variance,
            variance_approved_by: self.variance_approved_by.map(StaffId::from_uuid),
            close_note: self
                .close_note
                .map(|n| Note::parse(&n).map_err(|e| corrupt("shifts.close_note", e.message)))
                .transpose()?,
        })
    }
}

fn movement_row(shift: &Shift, movement: &CashMovement) -> MovementRow {
    MovementRow {
        id: movement.id.as_uuid(),
        shift_id: shift.id.as_uuid(),
        kind: movement.kind.as_str().to_owned(),
        amount: movement.amount.minor(),
        currency: movement.amount.currency().code().to_owned(),
        reason: movement.reason.as_str().to_owned(),
        staff_id: movement.staff_id.as_uuid(),
        created_at: movement.at,
    }
}

/// A shift row with its movements, as the domain sees it.
fn assemble(conn: &mut PgConnection, row: ShiftRow) -> Result<Shift, DbError> {
    let movements = cash_movements::table
        .filter(cash_movements::shift_id.eq(row.id))
        .order((cash_movements::created_at, cash_movements::id))
        .select(MovementRow::as_select())
        .load(conn)?;
    Ok(row.into_shift(movements)?)
}

/// The drawer's payment flows: the shift's payments and the refunds paid from it, summed by
/// the domain's rule.
fn flows(conn: &mut PgConnection, shift: &Shift) -> Result<CashFlows, DbError> {
    flows_of_many(conn, std::slice::from_ref(shift))?
        .pop()
        .ok_or_else(|| DbError::Store(StoreError::Internal("no drawer computed for a shift".into())))
}

/// The drawers' payment flows of `shifts` (in their order), in two queries whatever their
/// number.
fn flows_of_many(conn: &mut PgConnection, shifts: &[Shift]) -> Result<Vec<CashFlows>, DbError> {
    let ids: Vec<Uuid> = shifts.iter().map(|s| s.id.as_uuid()).collect();
    let paid: Vec<(Option<Uuid>, String, String, i64, i64)> = payments::table
        .filter(payments::shift_id.eq_any(&ids))
        .select((
            payments::shift_id,
            payments::method,
            payments::status,
            payments::amount,
            payments::tip,
        ))
        .load(conn)?;
    let refunded: Vec<(Option<Uuid>, String, i64)> = refunds::table
        .inner_join(payments::table)
        .filter(refunds::shift_id.eq_any(&ids))
        .select((refunds::shift_id, payments::method, refunds::amount))
        .load(conn)?;
    let method = |m: &str| PaymentMethod::parse(m).map_err(|e| corrupt("payments.method", e.message));
    let mut paid_by_shift = group_by_key(
        paid.into_iter()
            .filter_map(|(shift, m, status, amount, tip)| Some((shift?, (m, status, amount, tip)))),
    );
    let mut refunded_by_shift = group_by_key(
        refunded
            .into_iter()
            .filter_map(|(shift, m, amount)| Some((shift?, (m, amount)))),
    );
    shifts
        .iter()
        .map(|shift| {
            let currency = shift.currency();
            let id = shift.id.as_uuid();
            let paid = paid_by_shift
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .map(|(m, status, amount, tip)| {
                    Ok((
                        method(&m)?,
                        PaymentStatus::parse(&status).map_err(|e| corrupt("payments.status", e.message))?,
                        Money::new(amount, currency),
                        Money::new(tip, currency),
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let refunded = refunded_by_shift
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .map(|(m, amount)| Ok((method(&m)?, Money::new(amount, currency))))
                .collect::<Result<Vec<_>, StoreError>>()?;
            CashFlows::from_parts(currency, paid, refunded)
                .map_err(|e| DbError::Store(corrupt("drawer of shift", e)))
        })
        .collect()
}

/// Shifts passing `filter`, newest opened first, with their movements and flows.
fn list(conn: &mut PgConnection, filter: &ShiftFilter) -> Result<Vec<(Shift, CashFlows)>, DbError> {
    let mut query = shifts::table.select(ShiftRow::as_select()).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(shifts::status.eq(status.as_str()));
    }
    if let Some(staff) = filter.staff {
        query = query.filter(shifts::staff_id.eq(staff.as_uuid()));
    }
    if let Some(from) = filter.opened_from {
        query = query.filter(shifts::opened_at.ge(from));
    }
    if let Some(before) = filter.opened_before {
        query = query.filter(shifts::opened_at.lt(before));
    }
    let rows: Vec<ShiftRow> = query
        .order((shifts::opened_at.desc(), shifts::id.desc()))
        .limit(i64::from(filter.limit))
        .offset(i64::from(filter.offset))
        .load(conn)?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let movements: Vec<MovementRow> = cash_movements::table
        .filter(cash_movements::shift_id.eq_any(&ids))
        .order((cash_movements::created_at, cash_movements::id))
        .select(MovementRow::as_select())
        .load(conn)?;
    let mut movements_by_shift = group_by_key(movements.into_iter().map(|m| (m.shift_id, m)));
    let shifts = rows
        .into_iter()
        .map(|row| {
            let mine = movements_by_shift.remove(&row.id).unwrap_or_default();
            row.into_shift(mine)
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let flows = flows_of_many(conn, &shifts)?;
    Ok(shifts.into_iter().zip(flows).collect())
}

/// How a shift unit's transaction ends early.
enum Stop {
    Db(DbError),
    /// Roll back (nothing of the unit is kept) and answer this.
    Answer(ShiftMutation),
}

impl From<DieselError> for Stop {
    fn from(e: DieselError) -> Self {
        Stop::Db(DbError::Diesel(e))
    }
}

impl From<DbError> for Stop {
    fn from(e: DbError) -> Self {
        Stop::Db(e)
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Db(DbError::Store(e))
    }
}

impl From<Abort> for Stop {
    fn from(abort: Abort) -> Self {
        match abort {
            Abort::Db(e) => Stop::Db(e),
            Abort::Answer(Mutation::Replayed(response)) => Stop::Answer(ShiftMutation::Replayed(response)),
            Abort::Answer(Mutation::KeyMismatch) => Stop::Answer(ShiftMutation::KeyMismatch),
            Abort::Answer(Mutation::KeyInProgress) => Stop::Answer(ShiftMutation::KeyInProgress),
            Abort::Answer(_) => Stop::Db(DbError::Store(StoreError::Internal(
                "an order answer came out of a shift's idempotency claim".into(),
            ))),
        }
    }
}

/// Claims the key with the order unit's statements (only its key and fingerprint are read).
fn claim(conn: &mut PgConnection, claim: &ShiftClaim) -> Result<(), Stop> {
    let as_order_claim = IdempotencyClaim::new(
        claim.staff_id,
        claim.key.clone(),
        claim.fingerprint.clone(),
        |_| StoredResponse {
            status: 500,
            content_type: String::new(),
            body: Vec::new(),
        },
    );
    Ok(claim_key(conn, &as_order_claim)?)
}

fn keep(
    conn: &mut PgConnection,
    staff: StaffId,
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> Result<(), Stop> {
    Ok(store_response(conn, staff, key, response)?)
}

/// A refusal: stored on the claim (committing only that), or, without one, nothing written.
fn refuse(
    conn: &mut PgConnection,
    claim: Option<ShiftClaim>,
    error: ShiftError,
) -> Result<ShiftMutation, Stop> {
    match claim {
        Some(claim) => {
            let ShiftClaim {
                staff_id,
                key,
                render,
                ..
            } = claim;
            let response = render(ShiftRender::Refused(&error));
            keep(conn, staff_id, &key, &response)?;
            Ok(ShiftMutation::Refused {
                error,
                response: Some(response),
            })
        }
        None => Err(Stop::Answer(ShiftMutation::Refused {
            error,
            response: None,
        })),
    }
}

/// Audit rows, the stored answer, then the events (last), and the port's answer.
fn conclude(
    conn: &mut PgConnection,
    claim: Option<ShiftClaim>,
    state: ShiftState,
    effects: ShiftEffects,
) -> Result<ShiftMutation, Stop> {
    for entry in effects.audit {
        append_audit(conn, entry, Utc::now())?;
    }
    let response = match claim {
        Some(claim) => {
            let ShiftClaim {
                staff_id,
                key,
                render,
                ..
            } = claim;
            let response = render(ShiftRender::Committed(&state));
            keep(conn, staff_id, &key, &response)?;
            Some(response)
        }
        None => None,
    };
    let events = effects
        .events
        .iter()
        .map(|event| append_event(conn, event))
        .collect::<QueryResult<Vec<Event>>>()?;
    Ok(ShiftMutation::Committed {
        state: Box::new(state),
        events,
        response,
    })
}

fn finish(result: Result<ShiftMutation, Stop>) -> Result<ShiftMutation, DbError> {
    match result {
        Ok(mutation) | Err(Stop::Answer(mutation)) => Ok(mutation),
        Err(Stop::Db(e)) => Err(e),
    }
}

/// The open shift of `staff` or of `terminal`, locked.
fn open_conflict(
    conn: &mut PgConnection,
    staff: StaffId,
    terminal: Option<TerminalId>,
) -> Result<Option<ShiftError>, DbError> {
    let mine: Option<Uuid> = shifts::table
        .filter(shifts::status.eq(ShiftStatus::Open.as_str()))
        .filter(shifts::staff_id.eq(staff.as_uuid()))
        .select(shifts::id)
        .for_update()
        .first(conn)
        .optional()?;
    if let Some(id) = mine {
        return Ok(Some(ShiftError::StaffShiftOpen {
            shift_id: ShiftId::from_uuid(id),
        }));
    }
    let Some(terminal) = terminal else {
        return Ok(None);
    };
    let theirs: Option<Uuid> = shifts::table
        .filter(shifts::status.eq(ShiftStatus::Open.as_str()))
        .filter(shifts::terminal_id.eq(terminal.as_uuid()))
        .select(shifts::id)
        .for_update()
        .first(conn)
        .optional()?;
    Ok(theirs.map(|id| ShiftError::TerminalShiftOpen {
        shift_id: ShiftId::from_uuid(id),
    }))
}

fn is_open_index_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if matches!(info.constraint_name(), Some(ONE_OPEN_PER_STAFF | ONE_OPEN_PER_TERMINAL))
    )
}

fn load_locked(conn: &mut PgConnection, id: ShiftId) -> Result<Shift, DbError> {
    let row: ShiftRow = shifts::table
        .find(id.as_uuid())
        .select(ShiftRow::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .ok_or(StoreError::not_found("shift"))?;
    assemble(conn, row)
}

fn load(conn: &mut PgConnection, id: ShiftId) -> Result<(Shift, CashFlows), DbError> {
    let row: ShiftRow = shifts::table
        .find(id.as_uuid())
        .select(ShiftRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(StoreError::not_found("shift"))?;
    let shift = assemble(conn, row)?;
    let flows = flows(conn, &shift)?;
    Ok((shift, flows))
}

fn state_of(shift: Shift, flows: &CashFlows) -> Result<ShiftState, StoreError> {
    let cash = shift
        .cash_summary(flows)
        .map_err(|e| corrupt("drawer of shift", e))?;
    Ok(ShiftState { shift, cash })
}

#[async_trait]
impl ShiftStore for PgStore {
    async fn open_shift(
        &self,
        shift: Shift,
        effects: ShiftEffects,
        claim: Option<ShiftClaim>,
    ) -> Result<ShiftMutation, StoreError> {
        self.interact(move |conn| {
            finish(conn.transaction::<ShiftMutation, Stop, _>(|conn| {
                if let Some(c) = &claim {
                    self::claim(conn, c)?;
                }
                if let Some(error) = open_conflict(conn, shift.staff_id, shift.terminal_id)? {
                    return refuse(conn, claim, error);
                }
                // Two opens racing past the check above meet at the unique indexes: the
                // loser's insert runs in a savepoint, so its refusal can still be stored.
                let row = ShiftRow::of(&shift);
                let inserted = conn.transaction::<_, DieselError, _>(|conn| {
                    diesel::insert_into(shifts::table).values(&row).execute(conn)
                });
                match inserted {
                    Ok(_) => {}
                    Err(e) if is_open_index_violation(&e) => {
                        let error = open_conflict(conn, shift.staff_id, shift.terminal_id)?
                            .unwrap_or(ShiftError::StaffShiftOpen { shift_id: shift.id });
                        return refuse(conn, claim, error);
                    }
                    Err(e) => return Err(e.into()),
                }
                let state = state_of(
                    shift,
                    &CashFlows::from_parts(row_currency(&row)?, [], [])
                        .map_err(|e| corrupt("drawer of shift", e))?,
                )?;
                conclude(conn, claim, state, effects)
            }))
        })
        .await
    }

    async fn mutate_shift(
        &self,
        id: ShiftId,
        claim: Option<ShiftClaim>,
        work: ShiftWork,
    ) -> Result<ShiftMutation, StoreError> {
        self.interact(move |conn| {
            finish(conn.transaction::<ShiftMutation, Stop, _>(|conn| {
                if let Some(c) = &claim {
                    self::claim(conn, c)?;
                }
                let mut shift = load_locked(conn, id)?;
                let flows = flows(conn, &shift)?;
                let known: HashSet<CashMovementId> = shift.movements.iter().map(|m| m.id).collect();
                let effects = match work(&mut shift, &flows) {
                    Ok(effects) => effects,
                    Err(error) => return refuse(conn, claim, error),
                };
                diesel::update(shifts::table.find(id.as_uuid()))
                    .set(ShiftRow::of(&shift))
                    .execute(conn)?;
                let added: Vec<MovementRow> = shift
                    .movements
                    .iter()
                    .filter(|m| !known.contains(&m.id))
                    .map(|m| movement_row(&shift, m))
                    .collect();
                if !added.is_empty() {
                    diesel::insert_into(cash_movements::table)
                        .values(&added)
                        .execute(conn)?;
                }
                let state = state_of(shift, &flows)?;
                conclude(conn, claim, state, effects)
            }))
        })
        .await
    }

    async fn get_shift(&self, id: ShiftId) -> Result<(Shift, CashFlows), StoreError> {
        self.interact(move |conn| load(conn, id)).await
    }

    async fn list_shifts(&self, filter: &ShiftFilter) -> Result<Vec<(Shift, CashFlows)>, StoreError> {
        let filter = filter.clone();
        self.interact(move |conn| list(conn, &filter)).await
    }

    async fn open_shift_of(&self, staff: StaffId) -> Result<Option<(Shift, CashFlows)>, StoreError> {
        self.interact(move |conn| {
            let id: Option<Uuid> = shifts::table
                .filter(shifts::status.eq(ShiftStatus::Open.as_str()))
                .filter(shifts::staff_id.eq(staff.as_uuid()))
                .select(shifts::id)
                .first(conn)
                .optional()?;
            id.map(|id| load(conn, ShiftId::from_uuid(id))).transpose()
        })
        .await
    }
}

fn row_currency(row: &ShiftRow) -> Result<Currency, StoreError> {
    Currency::parse(&row.currency).map_err(|e| corrupt("shifts.currency", e))
}
