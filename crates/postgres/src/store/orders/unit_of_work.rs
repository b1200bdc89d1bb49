//! Every order change, one request per READ COMMITTED transaction: the recipe and the rules
//! are `pos_domain::order::unit_of_work::run`'s; [`PgUnit`] gives it the plain reads and
//! writes (claim, row locks, the one writer of effects, the stored answer, the events).
//!
//! Row locks are `FOR NO KEY UPDATE` rather than `FOR UPDATE`: they serialise the writers of
//! an order (or a product's stock) just the same, but do not conflict with the `KEY SHARE`
//! locks foreign keys take. With `FOR UPDATE`, a create inserting an item of product P (key
//! share on P) and a send locking P's stock could wait on each other across two products and
//! deadlock; a payment inserting a row that references an order likewise.
//!
//! Nothing in here may panic: it runs on the pooled connection's blocking thread, and a panic
//! there would discard the connection mid-transaction. Every failure is an [`Abort`].

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Array, Integer, Uuid as SqlUuid};
use pos_domain::StoreError;
use pos_domain::event::{Event, NewEvent};
use pos_domain::idempotency::{IdempotencyKey, RequestFingerprint, StoredResponse};
use pos_domain::ids::{OrderId, OrderItemId, ProductId, StaffId};
use pos_domain::order::Order;
use pos_domain::order::ports::{Found, IdempotencyClaim, Lookups, Mutation, OrderTarget, StockLevel};
use pos_domain::order::unit_of_work::{self, EffectsToWrite, Ending, Plan, Save, UnitStore};
use pos_domain::receipts::ReceiptFacts;
use pos_domain::reports::SALE_STATUS;
use uuid::Uuid;

use super::idempotency::{claim_key, store_response};
use super::item_rows::{insert_items, upsert_items};
use super::rows::{NewPrintJobRow, OrderItemRow, OrderRow, assemble, order_to_rows};
use crate::error::DbError;
use crate::prepared::{Prepared, statement};
use crate::rows::SettingsRow;
use crate::schema::{
    dining_tables, order_items, order_number_counters, orders, print_jobs, products, receipt_counter,
    receipts, settings, shifts, staff,
};
use crate::store::append_audit;
use crate::store::events::append_events_after_write;
use crate::store::reports::roll_up_order;

/// How a unit stops short of committing: a store error, or an answer given after rolling
/// back (a replay, a mismatch, a refusal without a key).
pub(crate) enum Abort {
    Db(DbError),
    Answer(Mutation),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Db(DbError::Diesel(e))
    }
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Self {
        Abort::Db(DbError::Store(e))
    }
}

impl From<DbError> for Abort {
    fn from(e: DbError) -> Self {
        Abort::Db(e)
    }
}

/// Runs one unit in one transaction ([`unit_of_work::run`] decides; [`PgUnit`] reads and
/// writes) and turns its end into the port's answer.
pub(crate) fn run(
    conn: &mut PgConnection,
    claim: Option<IdempotencyClaim>,
    plan: Plan,
) -> Result<Mutation, DbError> {
    let result = conn.transaction::<Mutation, Abort, _>(|conn| {
        match unit_of_work::run(&mut PgUnit { conn }, claim, plan)? {
            Ending::Commit(mutation) => Ok(mutation),
            Ending::RollBack(mutation) => Err(Abort::Answer(mutation)),
        }
    });
    match result {
        Ok(mutation) | Err(Abort::Answer(mutation)) => Ok(mutation),
        Err(Abort::Db(e)) => Err(e),
    }
}

/// [`UnitStore`] on one connection inside the unit's transaction.
struct PgUnit<'a> {
    conn: &'a mut PgConnection,
}

impl UnitStore for PgUnit<'_> {
    type Error = Abort;

    fn claim(&mut self, claim: &IdempotencyClaim) -> Result<Option<Mutation>, Abort> {
        match claim_key(self.conn, claim) {
            Ok(()) => Ok(None),
            Err(Abort::Answer(answer)) => Ok(Some(answer)),
            Err(e) => Err(e),
        }
    }

    fn lock_order(&mut self, target: OrderTarget) -> Result<Order, Abort> {
        match target {
            OrderTarget::Order(id) => {
                lock_order(self.conn, id.as_uuid())?.ok_or_else(|| StoreError::not_found("order").into())
            }
            OrderTarget::Item(item) => lock_item_order(self.conn, item),
            OrderTarget::Payment(payment) => {
                let order_id: Uuid = crate::schema::payments::table
                    .find(payment.as_uuid())
                    .select(crate::schema::payments::order_id)
                    .first(self.conn)
                    .optional()?
                    .ok_or_else(|| StoreError::not_found("payment"))?;
                lock_order(self.conn, order_id)?.ok_or_else(|| StoreError::not_found("order").into())
            }
        }
    }

    fn lock_pair(&mut self, target: OrderId, source: OrderId) -> Result<(Order, Order), Abort> {
        lock_pair(self.conn, target, source)
    }

    fn look_up(&mut self, order: &Order, lookups: Lookups) -> Result<Found, Abort> {
        let open_shift = match lookups.open_shift_of {
            None => None,
            Some(staff_id) => shifts::table
                .filter(shifts::staff_id.eq(staff_id.as_uuid()))
                .filter(shifts::status.eq(pos_domain::shift::ShiftStatus::Open.as_str()))
                .select(shifts::id)
                .for_share()
                .first::<Uuid>(self.conn)
                .optional()?
                .map(pos_domain::ids::ShiftId::from_uuid),
        };
        let payment = match lookups.payment {
            None => None,
            Some(id) => super::payment_rows::lock_payment(self.conn, order.id.as_uuid(), id.as_uuid())?,
        };
        Ok(Found { open_shift, payment })
    }

    fn next_receipt_number(&mut self) -> Result<i64, Abort> {
        Ok(diesel::update(receipt_counter::table.find(1_i16))
            .set(receipt_counter::last_number.eq(receipt_counter::last_number + 1))
            .returning(receipt_counter::last_number)
            .get_result(self.conn)?)
    }

    fn receipt_facts(&mut self, order: &Order) -> Result<ReceiptFacts, Abort> {
        let conn = &mut *self.conn;
        let settings = settings::table
            .select(SettingsRow::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| StoreError::not_found("settings"))?
            .into_settings()?;
        let staff_name: String = staff::table
            .find(order.staff_id.as_uuid())
            .select(staff::full_name)
            .first(conn)?;
        let table = match order.table_id {
            None => None,
            Some(table) => dining_tables::table
                .find(table.as_uuid())
                .select(dining_tables::code)
                .first::<String>(conn)
                .optional()?,
        };
        let payments = crate::store::receipts::receipt_payments(conn, order.id.as_uuid())?;
        Ok(ReceiptFacts {
            settings,
            staff_name,
            table,
            payments,
        })
    }

    fn lock_tracked_stock(&mut self, products: &[ProductId]) -> Result<BTreeMap<ProductId, i32>, Abort> {
        let ids: Vec<Uuid> = products.iter().map(ProductId::as_uuid).collect();
        Ok(lock_stock(self.conn, &ids)?
            .into_iter()
            .filter_map(|(id, qty)| Some((ProductId::from_uuid(id), qty?)))
            .collect())
    }

    fn write_effects(&mut self, effects: &mut EffectsToWrite) -> Result<(), Abort> {
        let conn = &mut *self.conn;
        write_stock(conn, &effects.stock)?;
        for Save { next, loaded } in &mut effects.saves {
            save_order(conn, next, loaded.as_ref())?;
        }
        if !effects.print_jobs.is_empty() {
            let rows: Vec<NewPrintJobRow<'_>> = effects
                .print_jobs
                .iter()
                .map(NewPrintJobRow::from_domain)
                .collect();
            diesel::insert_into(print_jobs::table)
                .values(&rows)
                .execute(conn)?;
        }
        super::payment_rows::write(conn, &effects.payments)?;
        super::payment_rows::write_refunds(conn, &effects.refunds)?;
        for receipt in &effects.receipts {
            record_receipt(conn, receipt)?;
        }
        for entry in std::mem::take(&mut effects.audit) {
            append_audit(conn, entry, Utc::now())?;
        }
        Ok(())
    }

    fn store_answer(
        &mut self,
        staff: StaffId,
        key: &IdempotencyKey,
        _fingerprint: &RequestFingerprint,
        answer: &StoredResponse,
    ) -> Result<(), Abort> {
        store_response(self.conn, staff, key, answer)
    }

    fn append_events(&mut self, events: Vec<NewEvent>) -> Result<Vec<Event>, Abort> {
        // The unit has written (the claim or the order), so its transaction id exists already.
        Ok(append_events_after_write(self.conn, &events)?)
    }
}

/// Records a receipt under the number the unit took ([`UnitStore::next_receipt_number`]: the
/// counter row stays locked until the unit ends, so numbers are gap-free).
fn record_receipt(conn: &mut PgConnection, receipt: &unit_of_work::NewReceipt) -> Result<(), Abort> {
    let number = receipt
        .number
        .ok_or_else(|| StoreError::Internal("a receipt without its number".into()))?;
    diesel::insert_into(receipts::table)
        .values((
            receipts::order_id.eq(receipt.order_id.as_uuid()),
            receipts::number.eq(number),
            receipts::issued_at.eq(receipt.issued_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The next number of `business_date`, in a statement of its own (autocommit): the counter
/// row is locked only for that statement. Numbers are distinct and increasing within a
/// business day; a create that rolls back leaves its number unused.
pub(crate) fn take_number(conn: &mut PgConnection, business_date: NaiveDate) -> Result<i32, DbError> {
    Ok(diesel::insert_into(order_number_counters::table)
        .values((
            order_number_counters::business_date.eq(business_date),
            order_number_counters::last_number.eq(1),
        ))
        .on_conflict(order_number_counters::business_date)
        .do_update()
        .set(order_number_counters::last_number.eq(order_number_counters::last_number + 1))
        .returning(order_number_counters::last_number)
        .get_result(conn)?)
}

/// Locks those of the products `ids` (sorted) whose stock is tracked and reads it: in id
/// order, like every unit does, so no two units wait on each other in a circle.
///
/// A product whose stock is not tracked has nothing to move, so it is neither returned nor
/// locked: locking it would write its row (the lock is kept in the tuple, and WAL-logged) and
/// wait on every other send of the same product for nothing.
fn lock_stock(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<(Uuid, Option<i32>)>> {
    products::table
        .filter(products::id.eq_any(ids))
        .filter(products::stock_qty.is_not_null())
        .order(products::id.asc())
        .select((products::id, products::stock_qty))
        .for_no_key_update()
        .load(conn)
}

/// The new levels of the tracked stocks the unit moved, with one statement.
fn write_stock(conn: &mut PgConnection, levels: &[StockLevel]) -> Result<(), Abort> {
    if levels.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = levels.iter().map(|l| l.product_id.as_uuid()).collect();
    let quantities: Vec<i32> = levels.iter().map(|l| l.stock_qty).collect();
    sql_query(
        "UPDATE products AS p SET stock_qty = v.stock_qty \
         FROM unnest($1::uuid[], $2::int4[]) AS v(id, stock_qty) WHERE p.id = v.id",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Integer>, _>(quantities)
    .execute(conn)?;
    Ok(())
}

/// Step 5.2 for one aggregate: insert it (new) or update it under its loaded version, then
/// upsert the items that differ from what was loaded and delete the ones that went.
///
/// `next` ends as a read will give it back: items in `created_at, id` order (a merge appends
/// the source's items, which may be older) and `updated_at` as the row holds it (the trigger
/// sets it when a unit left it unchanged).
fn save_order(conn: &mut PgConnection, next: &mut Order, loaded: Option<&Order>) -> Result<(), Abort> {
    let is_sale = |order: &Order| order.status.as_str() == SALE_STATUS;
    let Some(loaded) = loaded else {
        next.items.sort_by_key(|item| (item.created_at, item.id));
        let (row, items) = order_to_rows(next)?;
        diesel::insert_into(orders::table).values(&row).execute(conn)?;
        if !items.is_empty() {
            insert_items(conn, &items)?;
        }
        if is_sale(next) {
            roll_up_order(conn, next.id.as_uuid(), 1)?;
        }
        return Ok(());
    };
    // The hourly sales rollup follows the sale: taken back as it stood, added as it stands.
    let sale_unchanged =
        is_sale(loaded) && is_sale(next) && loaded.items == next.items && loaded.closed_at == next.closed_at;
    if is_sale(loaded) && !sale_unchanged {
        roll_up_order(conn, loaded.id.as_uuid(), -1)?;
    }
    let changes = update_order_rows(conn, &mut [(&mut *next, loaded)])?;
    write_item_changes(conn, changes)?;
    if is_sale(next) && !sale_unchanged {
        roll_up_order(conn, next.id.as_uuid(), 1)?;
    }
    Ok(())
}

/// What saving an aggregate does to its items, once its row is updated.
struct ItemChanges {
    order: Uuid,
    /// New or changed items.
    upsert: Vec<OrderItemRow>,
    /// The ids kept, when some loaded item went.
    kept: Option<Vec<Uuid>>,
}

statement!(
    /// Every column but the id, from the serialised rows; `version - 1` is the loaded one.
    /// The ids again as an array (`$2`) so that the orders are found by their key: the
    /// planner cannot see how many rows the JSON holds, and otherwise joined it against a
    /// scan of the whole table.
    UpdateOrderRows = "UPDATE orders AS o SET business_date = v.business_date, number = v.number, \
          order_type = v.order_type, table_id = v.table_id, staff_id = v.staff_id, \
          terminal_id = v.terminal_id, shift_id = v.shift_id, status = v.status, \
          preparation_notes = v.preparation_notes, currency = v.currency, pricing = v.pricing, \
          applied_discount = v.applied_discount, subtotal = v.subtotal, discount = v.discount, \
          service_charge = v.service_charge, tax = v.tax, total = v.total, paid = v.paid, \
          version = v.version, merged_into_id = v.merged_into_id, created_at = v.created_at, \
          updated_at = v.updated_at, sent_to_kitchen_at = v.sent_to_kitchen_at, \
          sent_to_bar_at = v.sent_to_bar_at, ready_at = v.ready_at, served_at = v.served_at, \
          closed_at = v.closed_at, voided_at = v.voided_at, void_reason = v.void_reason, \
          voided_by = v.voided_by, void_approved_by = v.void_approved_by \
          FROM jsonb_populate_recordset(NULL::orders, $1) AS v \
          WHERE o.id = ANY($2) AND o.id = v.id AND o.version = v.version - 1 \
          RETURNING o.id, o.updated_at"
);

/// Updates the rows of several aggregates at once, each under its loaded version (one
/// statement), and says what their items need. `saves` pairs `next` with `loaded`.
fn update_order_rows(
    conn: &mut PgConnection,
    saves: &mut [(&mut Order, &Order)],
) -> Result<Vec<ItemChanges>, Abort> {
    if saves.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Vec::with_capacity(saves.len());
    let mut items = Vec::with_capacity(saves.len());
    for (next, loaded) in saves.iter_mut() {
        next.items.sort_by_key(|item| (item.created_at, item.id));
        if next.version != loaded.version + 1 {
            return Err(StoreError::Internal("a saved order skips a version".into()).into());
        }
        let (row, next_items) = order_to_rows(next)?;
        rows.push(row);
        items.push(next_items);
    }
    let rows = serde_json::to_value(&rows)
        .map_err(|e| StoreError::Internal(format!("order rows do not serialise: {e}")))?;
    #[derive(QueryableByName)]
    struct Updated {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        updated_at: chrono::DateTime<Utc>,
    }
    let ids: Vec<Uuid> = saves.iter().map(|(next, _)| next.id.as_uuid()).collect();
    let updated: Vec<Updated> = Prepared::<UpdateOrderRows>::new()
        .bind::<diesel::sql_types::Jsonb, _>(&rows)
        .bind::<Array<SqlUuid>, _>(&ids)
        .load(conn)?;
    if updated.len() != saves.len() {
        return Err(StoreError::Internal("an order changed under its row lock".into()).into());
    }
    let updated_at: HashMap<Uuid, chrono::DateTime<Utc>> =
        updated.into_iter().map(|u| (u.id, u.updated_at)).collect();
    let mut changes = Vec::with_capacity(saves.len());
    for ((next, loaded), next_items) in saves.iter_mut().zip(items) {
        if let Some(at) = updated_at.get(&next.id.as_uuid()) {
            next.updated_at = *at;
        }
        changes.push(item_changes(next.id.as_uuid(), next_items, loaded)?);
    }
    Ok(changes)
}

/// What an order's items (`items`, as saved) need, against what was loaded.
fn item_changes(order: Uuid, items: Vec<OrderItemRow>, loaded: &Order) -> Result<ItemChanges, Abort> {
    let (_, loaded_items) = order_to_rows(loaded)?;
    let before: HashMap<Uuid, &OrderItemRow> = loaded_items.iter().map(|i| (i.id, i)).collect();
    let kept: HashSet<Uuid> = items.iter().map(|i| i.id).collect();
    let kept = loaded_items
        .iter()
        .any(|i| !kept.contains(&i.id))
        .then(|| kept.into_iter().collect());
    let upsert = items
        .into_iter()
        .filter(|item| before.get(&item.id).is_none_or(|was| *was != item))
        .collect();
    Ok(ItemChanges { order, upsert, kept })
}

/// The items of several saved aggregates: one upsert for all, then each one's deletions.
fn write_item_changes(conn: &mut PgConnection, changes: Vec<ItemChanges>) -> Result<(), Abort> {
    let upsert: Vec<&OrderItemRow> = changes.iter().flat_map(|c| c.upsert.iter()).collect();
    if !upsert.is_empty() {
        // (Sent as one JSON parameter, as `update_order_rows` does, the rows measured slower
        // here: the conflict path over `jsonb_populate_recordset` cost more than the
        // parsing it saved. One array per column costs neither.)
        upsert_items(conn, upsert)?;
    }
    for change in &changes {
        if let Some(kept) = &change.kept {
            // Filtered by order: a merge's source loses nothing its target already took over.
            diesel::delete(
                order_items::table
                    .filter(order_items::order_id.eq(change.order))
                    .filter(diesel::dsl::not(order_items::id.eq_any(kept))),
            )
            .execute(conn)?;
        }
    }
    Ok(())
}

// ----- step 2: locking and loading ------------------------------------------------------------

/// The items of `orders`, in the order an aggregate keeps them.
pub(crate) fn load_items(conn: &mut PgConnection, orders: &[Uuid]) -> QueryResult<Vec<OrderItemRow>> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    order_items::table
        .filter(order_items::order_id.eq_any(orders))
        .order((order_items::created_at.asc(), order_items::id.asc()))
        .select(OrderItemRow::as_select())
        .load(conn)
}

/// Locks one order's row and loads it with its items; `None` when there is no such order.
fn lock_order(conn: &mut PgConnection, id: Uuid) -> Result<Option<Order>, Abort> {
    let row: Option<OrderRow> = orders::table
        .filter(orders::id.eq(id))
        .select(OrderRow::as_select())
        .for_no_key_update()
        .first(conn)
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let items = load_items(conn, &[id])?;
    let mut order = row.into_order(items)?;
    order.pending_online = crate::store::online_payments::load_pending_online(conn, id)?;
    Ok(Some(order))
}

/// The order holding `item`, locked. A merge may move the item between the lookup and the
/// lock, so the lookup is repeated (3 tries in all).
fn lock_item_order(conn: &mut PgConnection, item: OrderItemId) -> Result<Order, Abort> {
    for _ in 0..3 {
        let order_id: Option<Uuid> = order_items::table
            .filter(order_items::id.eq(item.as_uuid()))
            .select(order_items::order_id)
            .first(conn)
            .optional()?;
        let Some(order_id) = order_id else {
            return Err(StoreError::not_found("order_item").into());
        };
        if let Some(order) = lock_order(conn, order_id)?
            && order.items.iter().any(|i| i.id == item)
        {
            return Ok(order);
        }
    }
    Err(StoreError::SerializationFailure.into())
}

/// Step 2 of a merge: both rows in one statement ordered by id, so two merges in opposite
/// directions take the locks in the same order.
fn lock_pair(conn: &mut PgConnection, target: OrderId, source: OrderId) -> Result<(Order, Order), Abort> {
    let ids = [target.as_uuid(), source.as_uuid()];
    let rows: Vec<OrderRow> = orders::table
        .filter(orders::id.eq_any(ids))
        .order(orders::id.asc())
        .select(OrderRow::as_select())
        .for_no_key_update()
        .load(conn)?;
    if rows.len() != 2 {
        return Err(StoreError::not_found("order").into());
    }
    let items = load_items(conn, &ids)?;
    let mut loaded = assemble(rows, items)?;
    let (Some(mut first), Some(mut second)) = (loaded.pop(), loaded.pop()) else {
        return Err(StoreError::not_found("order").into());
    };
    for order in [&mut first, &mut second] {
        order.pending_online = crate::store::online_payments::load_pending_online(conn, order.id.as_uuid())?;
    }
    Ok(if first.id == target {
        (first, second)
    } else {
        (second, first)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use diesel::sql_types::Text;

    use super::*;
    use crate::prepared::StatementText;

    #[derive(QueryableByName)]
    struct PlanLine {
        #[diesel(sql_type = Text)]
        #[diesel(column_name = "QUERY PLAN")]
        line: String,
    }

    /// The plans PostgreSQL may pick for `sql` (prepared with `types`), custom and generic.
    fn plans(conn: &mut PgConnection, sql: &str, types: &str, args: &str) -> Vec<String> {
        sql_query(format!("PREPARE probe ({types}) AS {sql}"))
            .execute(conn)
            .unwrap();
        let mut lines = Vec::new();
        for mode in ["force_custom_plan", "force_generic_plan"] {
            sql_query(format!("SET plan_cache_mode = {mode}"))
                .execute(conn)
                .unwrap();
            let plan: Vec<PlanLine> = sql_query(format!("EXPLAIN EXECUTE probe ({args})"))
                .load(conn)
                .unwrap();
            lines.extend(plan.into_iter().map(|p| p.line));
        }
        sql_query("DEALLOCATE probe").execute(conn).unwrap();
        lines
    }

    /// 8,000 orders (a few busy weeks) is where the planner, blind to the JSON's row count,
    /// preferred a hash join over a scan of the whole table to 100 key lookups.
    #[test]
    fn saving_order_rows_finds_them_by_key_however_many_orders_there_are() {
        let db = pos_testkit::TestDb::new();
        let mut conn = PgConnection::establish(db.url()).unwrap();
        sql_query(
            "WITH s AS (INSERT INTO staff (username, full_name, role, password_hash) \
             VALUES ('plan', 'Plan Probe', 'cashier', 'x') RETURNING id) \
             INSERT INTO orders (business_date, number, order_type, staff_id, currency, pricing) \
             SELECT DATE '2026-01-01' + g / 500, 1 + g % 500, 'takeaway', s.id, 'UGX', \
             '{\"vat_rate_bp\": 1600, \"prices_include_tax\": true, \"service_charge_bp\": 0}' \
             FROM s, generate_series(0, 7999) g",
        )
        .execute(&mut conn)
        .unwrap();
        sql_query("ANALYZE orders").execute(&mut conn).unwrap();
        let plan = plans(&mut conn, UpdateOrderRows::SQL, "jsonb, uuid[]", "'[]', '{}'");
        assert!(
            plan.iter().any(|l| l.contains("orders_pkey")),
            "orders are found by their key:\n{}",
            plan.join("\n")
        );
        assert!(
            !plan.iter().any(|l| l.contains("Seq Scan on orders")),
            "a group's update never scans the whole table:\n{}",
            plan.join("\n")
        );
    }
}
