//! The payments a unit of work took or changed (`Effects::payments`), written with the
//! order in the unit's transaction: upserted by id, so a later status change (an online
//! payment confirmed, a refund) goes through the same line.

use diesel::prelude::*;
use pos_domain::StoreError;
use pos_domain::ids::{OrderId, PaymentId, ShiftId, StaffId};
use pos_domain::money::{Currency, Money};
use pos_domain::order::ports::StoredPayment;
use pos_domain::payment::{Payment, PaymentMethod, PaymentStatus, Refund};

use crate::schema::{payments, refunds};

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = payments)]
#[diesel(treat_none_as_null = true)]
struct PaymentRow<'a> {
    id: uuid::Uuid,
    order_id: uuid::Uuid,
    method: &'a str,
    amount: i64,
    currency: &'a str,
    tendered: Option<i64>,
    change_given: Option<i64>,
    status: &'a str,
    reference: Option<&'a str>,
    provider_tracking_id: Option<&'a str>,
    refunded_amount: i64,
    tip: i64,
    staff_id: uuid::Uuid,
    shift_id: Option<uuid::Uuid>,
    created_at: chrono::DateTime<chrono::Utc>,
    completed_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl<'a> PaymentRow<'a> {
    fn of(p: &'a Payment) -> Self {
        Self {
            id: p.id.as_uuid(),
            order_id: p.order_id.as_uuid(),
            method: p.method.as_str(),
            amount: p.amount.minor(),
            currency: p.amount.currency().code(),
            tendered: p.tendered.map(|m| m.minor()),
            change_given: p.change.map(|m| m.minor()),
            status: p.status.as_str(),
            reference: p.reference.as_deref(),
            provider_tracking_id: p.provider_tracking_id.as_deref(),
            refunded_amount: p.refunded.minor(),
            tip: p.tip.minor(),
            staff_id: p.staff_id.as_uuid(),
            shift_id: p.shift_id.map(|s| s.as_uuid()),
            created_at: p.created_at,
            completed_at: p.completed_at,
        }
    }
}

/// Upserts `taken` (nothing to do for most units).
pub(crate) fn write(conn: &mut PgConnection, taken: &[Payment]) -> QueryResult<()> {
    for payment in taken {
        let row = PaymentRow::of(payment);
        diesel::insert_into(payments::table)
            .values(&row)
            .on_conflict(payments::id)
            .do_update()
            .set(&row)
            .execute(conn)?;
    }
    Ok(())
}

/// A stored payment row as read back.
#[derive(Queryable, Selectable)]
#[diesel(table_name = payments, check_for_backend(diesel::pg::Pg))]
struct PaymentRead {
    id: uuid::Uuid,
    order_id: uuid::Uuid,
    method: String,
    amount: i64,
    currency: String,
    tendered: Option<i64>,
    change_given: Option<i64>,
    status: String,
    reference: Option<String>,
    provider_tracking_id: Option<String>,
    provider_confirmation_code: Option<String>,
    provider_payment_method: Option<String>,
    refunded_amount: i64,
    tip: i64,
    staff_id: uuid::Uuid,
    shift_id: Option<uuid::Uuid>,
    created_at: chrono::DateTime<chrono::Utc>,
    completed_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("stored {what} is invalid: {e}"))
}

impl PaymentRead {
    fn into_stored(self) -> Result<StoredPayment, StoreError> {
        let currency = Currency::parse(&self.currency).map_err(|e| corrupt("payments.currency", e))?;
        let money = |minor: i64| Money::new(minor, currency);
        Ok(StoredPayment {
            payment: Payment {
                id: PaymentId::from_uuid(self.id),
                order_id: OrderId::from_uuid(self.order_id),
                method: PaymentMethod::parse(&self.method)
                    .map_err(|e| corrupt("payments.method", e.message))?,
                status: PaymentStatus::parse(&self.status)
                    .map_err(|e| corrupt("payments.status", e.message))?,
                amount: money(self.amount),
                tendered: self.tendered.map(money),
                change: self.change_given.map(money),
                tip: money(self.tip),
                reference: self.reference,
                provider_tracking_id: self.provider_tracking_id,
                refunded: money(self.refunded_amount),
                staff_id: StaffId::from_uuid(self.staff_id),
                shift_id: self.shift_id.map(ShiftId::from_uuid),
                created_at: self.created_at,
                completed_at: self.completed_at,
            },
            provider_method: self.provider_payment_method,
            confirmation_code: self.provider_confirmation_code,
        })
    }
}

/// Payment `id` of `order`, locked for the unit (`None` when the order has no such payment).
pub(crate) fn lock_payment(
    conn: &mut PgConnection,
    order: uuid::Uuid,
    id: uuid::Uuid,
) -> Result<Option<Payment>, crate::error::DbError> {
    let row: Option<PaymentRead> = payments::table
        .filter(payments::id.eq(id))
        .filter(payments::order_id.eq(order))
        .select(PaymentRead::as_select())
        .for_no_key_update()
        .first(conn)
        .optional()?;
    Ok(row.map(PaymentRead::into_stored).transpose()?.map(|s| s.payment))
}

/// Payment `id` as stored (`NotFound { entity: "payment" }`).
pub(crate) fn get_payment(
    conn: &mut PgConnection,
    id: uuid::Uuid,
) -> Result<StoredPayment, crate::error::DbError> {
    let row: PaymentRead = payments::table
        .find(id)
        .select(PaymentRead::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::not_found("payment"))?;
    Ok(row.into_stored()?)
}

/// Every payment of `order`, as taken (`created_at, id`); `NotFound { entity: "order" }`
/// when there is no such order.
pub(crate) fn payments_of_order(
    conn: &mut PgConnection,
    order: uuid::Uuid,
) -> Result<Vec<Payment>, crate::error::DbError> {
    let exists: bool = diesel::select(diesel::dsl::exists(
        crate::schema::orders::table.filter(crate::schema::orders::id.eq(order)),
    ))
    .get_result(conn)?;
    if !exists {
        return Err(StoreError::not_found("order").into());
    }
    let rows: Vec<PaymentRead> = payments::table
        .filter(payments::order_id.eq(order))
        .order((payments::created_at, payments::id))
        .select(PaymentRead::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| row.into_stored().map(|s| s.payment))
        .collect::<Result<_, _>>()?)
}

/// Inserts the unit's refunds (after their payments are written).
pub(crate) fn write_refunds(conn: &mut PgConnection, refunds: &[Refund]) -> QueryResult<()> {
    for refund in refunds {
        diesel::insert_into(refunds::table)
            .values((
                refunds::id.eq(refund.id.as_uuid()),
                refunds::payment_id.eq(refund.payment_id.as_uuid()),
                refunds::amount.eq(refund.amount.minor()),
                refunds::currency.eq(refund.amount.currency().code()),
                refunds::reason.eq(refund.reason.as_str()),
                refunds::staff_id.eq(refund.staff_id.as_uuid()),
                refunds::approved_by.eq(Some(refund.approved_by.as_uuid())),
                refunds::shift_id.eq(refund.shift_id.map(|s| s.as_uuid())),
                refunds::created_at.eq(refund.created_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}
