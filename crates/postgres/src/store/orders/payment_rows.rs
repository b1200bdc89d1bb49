//! The payments a unit of work took or changed (`Effects::payments`), written with the
//! order in the unit's transaction: upserted by id, so a later status change (an online
//! payment confirmed, a refund) goes through the same line.

use diesel::prelude::*;
use pos_domain::payment::Payment;

use crate::schema::payments;

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
