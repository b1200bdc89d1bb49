//! The order ports: [`OrderStore`] (units of work in `unit_of_work`, reads here), [`OrderCatalog`]
//! (`catalog`) and [`pos_domain::order::ports::IdempotencyPurge`] (`idempotency`).
//!
//! Every unit of work is one `interact` closure running one transaction; reads load orders
//! and then all of their items in one more query, never one query per order.

mod catalog;
mod idempotency;
mod item_rows;
mod payment_rows;
mod rows;
mod unit_of_work;

pub(crate) use catalog::ProductWithModifiers;
// Shifts claim keys and store answers with the unit's own statements.
pub(crate) use idempotency::{claim_key, store_response};
pub(crate) use unit_of_work::Abort;

use async_trait::async_trait;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Array, Text};
use pos_domain::StoreError;
use pos_domain::idempotency::{IdempotencyKey, RequestFingerprint};
use pos_domain::ids::{OrderId, PaymentId, StaffId};
use pos_domain::order::ports::{
    CreateWork, IdempotencyClaim, LookupWork, Lookups, MergeWork, Mutation, OrderFilter, OrderStore,
    OrderTarget, OrderWork, StoredPayment,
};
use pos_domain::order::{ItemStatus, Order, OrderStatus};
use pos_domain::print_job::PrintJobKind;
use pos_domain::staff::Station;
use uuid::Uuid;

use super::PgStore;
use crate::schema::{orders, print_jobs};
use pos_domain::order::unit_of_work::Plan;
use rows::{OrderRow, assemble};
use unit_of_work::load_items;

/// Orders with their items: the rows given, then all their items in one query.
fn with_items(conn: &mut PgConnection, rows: Vec<OrderRow>) -> Result<Vec<Order>, crate::DbError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let items = load_items(conn, &ids)?;
    Ok(assemble(rows, items)?)
}

#[async_trait]
impl OrderStore for PgStore {
    async fn recorded_answer(
        &self,
        staff: StaffId,
        key: &IdempotencyKey,
        fingerprint: &RequestFingerprint,
    ) -> Result<Option<Mutation>, StoreError> {
        let (key, fingerprint) = (key.clone(), fingerprint.clone());
        self.interact(move |conn| idempotency::recorded_answer(conn, staff, &key, &fingerprint))
            .await
    }

    async fn create_order(
        &self,
        business_date: NaiveDate,
        claim: Option<IdempotencyClaim>,
        work: CreateWork,
    ) -> Result<Mutation, StoreError> {
        self.interact(move |conn| {
            // Taken in its own statement, before the unit's transaction: no counter row stays
            // locked until a create commits (a create that rolls back skips its number).
            let number = unit_of_work::take_number(conn, business_date)?;
            let plan = Plan::Create {
                business_date,
                number,
                work,
            };
            unit_of_work::run(conn, claim, plan)
        })
        .await
    }

    async fn mutate_order(
        &self,
        target: OrderTarget,
        expected_version: Option<i32>,
        claim: Option<IdempotencyClaim>,
        work: OrderWork,
    ) -> Result<Mutation, StoreError> {
        let plan = Plan::mutate(target, expected_version, work);
        self.interact(move |conn| unit_of_work::run(conn, claim, plan))
            .await
    }

    async fn mutate_order_with(
        &self,
        target: OrderTarget,
        lookups: Lookups,
        claim: Option<IdempotencyClaim>,
        work: LookupWork,
    ) -> Result<Mutation, StoreError> {
        let plan = Plan::Mutate {
            target,
            expected_version: None,
            lookups,
            work,
        };
        self.interact(move |conn| unit_of_work::run(conn, claim, plan))
            .await
    }

    async fn merge_orders(
        &self,
        target: (OrderId, Option<i32>),
        source: (OrderId, Option<i32>),
        claim: Option<IdempotencyClaim>,
        work: MergeWork,
    ) -> Result<Mutation, StoreError> {
        let plan = Plan::Merge { target, source, work };
        self.interact(move |conn| unit_of_work::run(conn, claim, plan))
            .await
    }

    async fn get_payment(&self, id: PaymentId) -> Result<StoredPayment, StoreError> {
        self.interact(move |conn| payment_rows::get_payment(conn, id.as_uuid()))
            .await
    }

    async fn payments_of_order(&self, id: OrderId) -> Result<Vec<pos_domain::payment::Payment>, StoreError> {
        self.interact(move |conn| payment_rows::payments_of_order(conn, id.as_uuid()))
            .await
    }

    async fn get_order(&self, id: OrderId) -> Result<Order, StoreError> {
        self.interact(move |conn| {
            let row: Option<OrderRow> = orders::table
                .filter(orders::id.eq(id.as_uuid()))
                .select(OrderRow::as_select())
                .first(conn)
                .optional()?;
            let row = row.ok_or(StoreError::not_found("order"))?;
            let items = load_items(conn, &[row.id])?;
            let mut order = row.into_order(items)?;
            order.pending_online = crate::store::online_payments::load_pending_online(conn, id.as_uuid())?;
            Ok(order)
        })
        .await
    }

    async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, StoreError> {
        let filter = filter.clone();
        self.interact(move |conn| {
            let mut query = orders::table.select(OrderRow::as_select()).into_boxed();
            if !filter.statuses.is_empty() {
                let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
                query = query.filter(orders::status.eq_any(statuses));
            }
            if let Some(table) = filter.table_id {
                query = query.filter(orders::table_id.eq(table.as_uuid()));
            }
            if let Some(staff) = filter.staff_id {
                query = query.filter(orders::staff_id.eq(staff.as_uuid()));
            }
            if let Some(date) = filter.business_date {
                query = query.filter(orders::business_date.eq(date));
            }
            let rows = query
                .order((orders::created_at.desc(), orders::id.desc()))
                .limit(i64::from(filter.limit))
                .load(conn)?;
            with_items(conn, rows)
        })
        .await
    }

    async fn orders_at_station(&self, station: Station) -> Result<Vec<Order>, StoreError> {
        let queued: Vec<&'static str> = [ItemStatus::Sent, ItemStatus::Preparing, ItemStatus::Ready]
            .into_iter()
            .map(ItemStatus::as_str)
            .collect();
        let unfinished: Vec<&'static str> = OrderStatus::ALL
            .into_iter()
            .filter(|s| !s.is_finished())
            .map(OrderStatus::as_str)
            .collect();
        self.interact(move |conn| {
            let rows: Vec<OrderRow> = sql_query(
                "SELECT o.* FROM orders o \
                 JOIN (SELECT order_id, min(sent_at) AS first_sent FROM order_items \
                       WHERE station = $1 AND status = ANY($2) GROUP BY order_id) q \
                   ON q.order_id = o.id \
                 WHERE o.status = ANY($3) \
                 ORDER BY q.first_sent, o.id",
            )
            .bind::<Text, _>(station.as_str())
            .bind::<Array<Text>, _>(queued)
            .bind::<Array<Text>, _>(unfinished)
            .load(conn)?;
            with_items(conn, rows)
        })
        .await
    }

    async fn bills_requested(&self, orders: &[OrderId]) -> Result<Vec<OrderId>, StoreError> {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = orders.iter().map(OrderId::as_uuid).collect();
        let billed: Vec<Uuid> = self
            .interact(move |conn| {
                Ok(print_jobs::table
                    .filter(print_jobs::kind.eq(PrintJobKind::Receipt.as_str()))
                    .filter(print_jobs::order_id.eq_any(ids))
                    .select(print_jobs::order_id.assume_not_null())
                    .distinct()
                    .load(conn)?)
            })
            .await?;
        Ok(orders
            .iter()
            .copied()
            .filter(|id| billed.contains(&id.as_uuid()))
            .collect())
    }
}
