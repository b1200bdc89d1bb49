//! [`OnlinePaymentStore`]: online (Pesapal) payments read by tracking id and by age, the
//! provider's details noted beside them, the pending ones loaded with their order in its
//! unit of work (they reserve the balance), and the advisory lock that lets one replica at
//! a time run the poller.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use pos_domain::StoreError;
use pos_domain::ids::{OrderId, PaymentId, ShiftId, StaffId};
use pos_domain::money::Money;
use pos_domain::online_payments::{OnlinePaymentStore, ProviderDetails};
use pos_domain::payment::{Payment, PaymentMethod, PaymentStatus};
use uuid::Uuid;

use super::PgStore;
use crate::error::{DbError, classify_interact, classify_pool};
use crate::pool::PgManager;
use crate::rows::parse_currency;
use crate::schema::payments;

/// `pg_try_advisory_lock` key of the Pesapal poller ("pos_pesa" in ASCII).
pub const PESAPAL_POLLER_LOCK_KEY: i64 = 0x706f_735f_7065_7361;

fn corrupt(column: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("stored {column} is invalid: {e}"))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = payments)]
pub(crate) struct PaymentRead {
    id: Uuid,
    order_id: Uuid,
    method: String,
    amount: i64,
    currency: String,
    tendered: Option<i64>,
    change_given: Option<i64>,
    status: String,
    reference: Option<String>,
    provider_tracking_id: Option<String>,
    refunded_amount: i64,
    staff_id: Uuid,
    shift_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    tip: i64,
}

impl PaymentRead {
    pub(crate) fn into_payment(self) -> Result<Payment, StoreError> {
        let currency = parse_currency("payments.currency", &self.currency)?;
        Ok(Payment {
            id: PaymentId::from_uuid(self.id),
            order_id: OrderId::from_uuid(self.order_id),
            method: PaymentMethod::parse(&self.method).map_err(|e| corrupt("payments.method", e.message))?,
            status: PaymentStatus::parse(&self.status).map_err(|e| corrupt("payments.status", e.message))?,
            amount: Money::new(self.amount, currency),
            tendered: self.tendered.map(|t| Money::new(t, currency)),
            change: self.change_given.map(|c| Money::new(c, currency)),
            reference: self.reference,
            provider_tracking_id: self.provider_tracking_id,
            refunded: Money::new(self.refunded_amount, currency),
            tip: Money::new(self.tip, currency),
            staff_id: StaffId::from_uuid(self.staff_id),
            shift_id: self.shift_id.map(ShiftId::from_uuid),
            created_at: self.created_at,
            completed_at: self.completed_at,
        })
    }
}

/// The online payments of `order` still pending, oldest first: loaded with the order (after
/// its row lock, in a unit) so that what they reserve is current.
pub(crate) fn load_pending_online(conn: &mut PgConnection, order: Uuid) -> Result<Vec<Payment>, DbError> {
    let rows: Vec<PaymentRead> = payments::table
        .filter(payments::order_id.eq(order))
        .filter(payments::status.eq(PaymentStatus::Pending.as_str()))
        .order((payments::created_at, payments::id))
        .select(PaymentRead::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(PaymentRead::into_payment)
        .collect::<Result<Vec<_>, _>>()?)
}

#[async_trait]
impl OnlinePaymentStore for PgStore {
    async fn payment_by_tracking_id(&self, tracking_id: &str) -> Result<Option<Payment>, StoreError> {
        let tracking_id = tracking_id.to_owned();
        let row = self
            .interact(move |conn| {
                Ok(payments::table
                    .filter(payments::provider_tracking_id.eq(tracking_id))
                    .select(PaymentRead::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?;
        row.map(PaymentRead::into_payment).transpose()
    }

    async fn pending_online(
        &self,
        created_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Payment>, StoreError> {
        let rows = self
            .interact(move |conn| {
                Ok(payments::table
                    .filter(payments::status.eq(PaymentStatus::Pending.as_str()))
                    .filter(payments::method.eq(PaymentMethod::Pesapal.as_str()))
                    .filter(payments::created_at.lt(created_before))
                    .order((payments::created_at, payments::id))
                    .limit(i64::from(limit))
                    .select(PaymentRead::as_select())
                    .load::<PaymentRead>(conn)?)
            })
            .await?;
        rows.into_iter().map(PaymentRead::into_payment).collect()
    }

    async fn record_provider_details(
        &self,
        payment: PaymentId,
        details: ProviderDetails,
    ) -> Result<(), StoreError> {
        let failed_at = details.failure_reason.as_ref().map(|_| Utc::now());
        let change = DetailsChange {
            provider_confirmation_code: details.confirmation_code,
            provider_payment_method: details.payment_method,
            redirect_url: details.redirect_url,
            failure_reason: details.failure_reason,
            failed_at,
        };
        if change.is_empty() {
            return Ok(());
        }
        let id = payment.as_uuid();
        self.interact(move |conn| {
            diesel::update(payments::table.filter(payments::id.eq(id)))
                .set(&change)
                .execute(conn)?;
            Ok(())
        })
        .await
    }
}

/// The provider's details; `None` fields are left as they are.
#[derive(AsChangeset)]
#[diesel(table_name = payments)]
struct DetailsChange {
    provider_confirmation_code: Option<String>,
    provider_payment_method: Option<String>,
    redirect_url: Option<String>,
    failure_reason: Option<String>,
    failed_at: Option<DateTime<Utc>>,
}

impl DetailsChange {
    fn is_empty(&self) -> bool {
        self.provider_confirmation_code.is_none()
            && self.provider_payment_method.is_none()
            && self.redirect_url.is_none()
            && self.failure_reason.is_none()
    }
}

/// The poller's advisory lock, held on one pooled connection until [`PollerLease::release`].
/// Dropped without release (a cancelled task), its connection is closed rather than returned
/// to the pool, so the lock never outlives it.
pub struct PollerLease {
    conn: Option<deadpool::managed::Object<PgManager>>,
}

fn poller_lock(conn: &mut PgConnection, lock: bool) -> Result<bool, DbError> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Bool)]
        done: bool,
    }
    let sql = if lock {
        "SELECT pg_try_advisory_lock($1) AS done"
    } else {
        "SELECT pg_advisory_unlock($1) AS done"
    };
    Ok(diesel::sql_query(sql)
        .bind::<BigInt, _>(PESAPAL_POLLER_LOCK_KEY)
        .get_result::<Locked>(conn)?
        .done)
}

impl PgStore {
    /// The poller's lock when no other replica holds it; `None` otherwise.
    pub async fn try_pesapal_poller_lock(&self) -> Result<Option<PollerLease>, StoreError> {
        let conn = self.pool().get().await.map_err(classify_pool)?;
        let locked = conn
            .interact(|conn| poller_lock(conn, true))
            .await
            .map_err(classify_interact)?
            .map_err(StoreError::from)?;
        Ok(locked.then_some(PollerLease { conn: Some(conn) }))
    }
}

impl PollerLease {
    pub async fn release(mut self) {
        if let Some(conn) = self.conn.take() {
            let unlocked = conn.interact(|conn| poller_lock(conn, false)).await;
            if !matches!(unlocked, Ok(Ok(true))) {
                // Keep the connection (and its lock) out of the pool: closing it unlocks.
                drop(deadpool::managed::Object::take(conn));
            }
        }
    }
}

impl Drop for PollerLease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(deadpool::managed::Object::take(conn));
        }
    }
}
