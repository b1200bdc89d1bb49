//! Writing order items: one statement of fixed text for any number of rows.
//!
//! Items are written on every create and every send, a group's worth at a time. diesel's
//! multi-row `INSERT … VALUES` has a text of its own for each row count, so PostgreSQL
//! parsed and planned it every time (the largest single share of its planning under load,
//! docs/benchmarks.md). Here the rows go as one array per column through `unnest`, so the
//! text never changes and the statement is prepared once per connection.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::QueryResult;
use diesel::sql_types::{Array, BigInt, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use serde_json::Value;
use uuid::Uuid;

use super::rows::OrderItemRow;
use crate::prepared::{Prepared, StatementText, statement};

/// `INSERT … SELECT * FROM unnest(<one array per column>)`, then `$tail`.
macro_rules! write_items {
    ($tail:literal) => {
        concat!(
            "INSERT INTO order_items (id, order_id, product_id, name, unit_price, quantity, \
             modifiers, modifiers_total, applied_discount, line_total, notes, station, status, \
             seat, course, created_at, sent_at, preparing_at, ready_at, served_at, voided_at, \
             void_reason, voided_by, void_approved_by) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::int8[], \
             $6::int4[], $7::jsonb[], $8::int8[], $9::jsonb[], $10::int8[], $11::text[], \
             $12::text[], $13::text[], $14::int4[], $15::int4[], $16::timestamptz[], \
             $17::timestamptz[], $18::timestamptz[], $19::timestamptz[], $20::timestamptz[], \
             $21::timestamptz[], $22::text[], $23::uuid[], $24::uuid[])",
            $tail
        )
    };
}

statement!(
    /// New items only (a create): a clash with an existing id is an error.
    InsertItems = write_items!("")
);

statement!(
    /// New items go in, changed ones are rewritten, and an item of another order (a merge)
    /// moves to this one.
    UpsertItems = write_items!(
        " ON CONFLICT (id) DO UPDATE SET order_id = excluded.order_id, \
         product_id = excluded.product_id, name = excluded.name, unit_price = excluded.unit_price, \
         quantity = excluded.quantity, modifiers = excluded.modifiers, \
         modifiers_total = excluded.modifiers_total, applied_discount = excluded.applied_discount, \
         line_total = excluded.line_total, notes = excluded.notes, station = excluded.station, \
         status = excluded.status, seat = excluded.seat, course = excluded.course, \
         created_at = excluded.created_at, sent_at = excluded.sent_at, \
         preparing_at = excluded.preparing_at, ready_at = excluded.ready_at, \
         served_at = excluded.served_at, voided_at = excluded.voided_at, \
         void_reason = excluded.void_reason, voided_by = excluded.voided_by, \
         void_approved_by = excluded.void_approved_by"
    )
);

/// Item rows as one array per column, in the statements' column order.
#[derive(Default)]
struct Columns {
    id: Vec<Uuid>,
    order_id: Vec<Uuid>,
    product_id: Vec<Uuid>,
    name: Vec<String>,
    unit_price: Vec<i64>,
    quantity: Vec<i32>,
    modifiers: Vec<Value>,
    modifiers_total: Vec<i64>,
    applied_discount: Vec<Option<Value>>,
    line_total: Vec<i64>,
    notes: Vec<Option<String>>,
    station: Vec<Option<String>>,
    status: Vec<String>,
    seat: Vec<Option<i32>>,
    course: Vec<Option<i32>>,
    created_at: Vec<DateTime<Utc>>,
    sent_at: Vec<Option<DateTime<Utc>>>,
    preparing_at: Vec<Option<DateTime<Utc>>>,
    ready_at: Vec<Option<DateTime<Utc>>>,
    served_at: Vec<Option<DateTime<Utc>>>,
    voided_at: Vec<Option<DateTime<Utc>>>,
    void_reason: Vec<Option<String>>,
    voided_by: Vec<Option<Uuid>>,
    void_approved_by: Vec<Option<Uuid>>,
}

impl Columns {
    fn of<'r>(rows: impl IntoIterator<Item = &'r OrderItemRow>) -> Columns {
        let mut c = Columns::default();
        for r in rows {
            c.id.push(r.id);
            c.order_id.push(r.order_id);
            c.product_id.push(r.product_id);
            c.name.push(r.name.clone());
            c.unit_price.push(r.unit_price);
            c.quantity.push(r.quantity);
            c.modifiers.push(r.modifiers.clone());
            c.modifiers_total.push(r.modifiers_total);
            c.applied_discount.push(r.applied_discount.clone());
            c.line_total.push(r.line_total);
            c.notes.push(r.notes.clone());
            c.station.push(r.station.clone());
            c.status.push(r.status.clone());
            c.seat.push(r.seat);
            c.course.push(r.course);
            c.created_at.push(r.created_at);
            c.sent_at.push(r.sent_at);
            c.preparing_at.push(r.preparing_at);
            c.ready_at.push(r.ready_at);
            c.served_at.push(r.served_at);
            c.voided_at.push(r.voided_at);
            c.void_reason.push(r.void_reason.clone());
            c.voided_by.push(r.voided_by);
            c.void_approved_by.push(r.void_approved_by);
        }
        c
    }

    fn execute<S: StatementText>(&self, conn: &mut PgConnection) -> QueryResult<usize> {
        use diesel::RunQueryDsl;
        type Time = Timestamptz;
        Prepared::<S>::new()
            .bind::<Array<SqlUuid>, _>(&self.id)
            .bind::<Array<SqlUuid>, _>(&self.order_id)
            .bind::<Array<SqlUuid>, _>(&self.product_id)
            .bind::<Array<Text>, _>(&self.name)
            .bind::<Array<BigInt>, _>(&self.unit_price)
            .bind::<Array<Integer>, _>(&self.quantity)
            .bind::<Array<Jsonb>, _>(&self.modifiers)
            .bind::<Array<BigInt>, _>(&self.modifiers_total)
            .bind::<Array<Nullable<Jsonb>>, _>(&self.applied_discount)
            .bind::<Array<BigInt>, _>(&self.line_total)
            .bind::<Array<Nullable<Text>>, _>(&self.notes)
            .bind::<Array<Nullable<Text>>, _>(&self.station)
            .bind::<Array<Text>, _>(&self.status)
            .bind::<Array<Nullable<Integer>>, _>(&self.seat)
            .bind::<Array<Nullable<Integer>>, _>(&self.course)
            .bind::<Array<Time>, _>(&self.created_at)
            .bind::<Array<Nullable<Time>>, _>(&self.sent_at)
            .bind::<Array<Nullable<Time>>, _>(&self.preparing_at)
            .bind::<Array<Nullable<Time>>, _>(&self.ready_at)
            .bind::<Array<Nullable<Time>>, _>(&self.served_at)
            .bind::<Array<Nullable<Time>>, _>(&self.voided_at)
            .bind::<Array<Nullable<Text>>, _>(&self.void_reason)
            .bind::<Array<Nullable<SqlUuid>>, _>(&self.voided_by)
            .bind::<Array<Nullable<SqlUuid>>, _>(&self.void_approved_by)
            .execute(conn)
    }
}

/// Inserts new items (none of them may exist yet).
pub(crate) fn insert_items<'r>(
    conn: &mut PgConnection,
    rows: impl IntoIterator<Item = &'r OrderItemRow>,
) -> QueryResult<usize> {
    Columns::of(rows).execute::<InsertItems>(conn)
}

/// Inserts new items and rewrites existing ones with every column but `updated_at` (the
/// trigger's).
pub(crate) fn upsert_items<'r>(
    conn: &mut PgConnection,
    rows: impl IntoIterator<Item = &'r OrderItemRow>,
) -> QueryResult<usize> {
    Columns::of(rows).execute::<UpsertItems>(conn)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::{SubsecRound, TimeDelta};
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use super::*;
    use crate::schema::order_items;

    fn read_back(conn: &mut PgConnection, id: Uuid) -> OrderItemRow {
        order_items::table
            .find(id)
            .select(OrderItemRow::as_select())
            .first(conn)
            .unwrap()
    }

    /// Every column distinct from its neighbours of the same type, so that two binds
    /// swapped show.
    #[test]
    fn every_column_lands_where_it_belongs_on_insert_and_on_upsert() {
        let db = pos_testkit::TestDb::new();
        let mut conn = PgConnection::establish(db.url()).unwrap();
        let (staff, other, order, moved_to, product, category) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        conn.batch_execute(&format!(
            "INSERT INTO staff (id, username, full_name, role, password_hash) VALUES \
                 ('{staff}', 'cook', 'Cook', 'kitchen', 'x'), ('{other}', 'boss', 'Boss', 'manager', 'x');
             INSERT INTO categories (id, name) VALUES ('{category}', 'Food');
             INSERT INTO products (id, sku, name, category_id, price, currency) VALUES
                 ('{product}', 'P1', 'Rolex', '{category}', 5000, 'UGX');
             INSERT INTO orders (id, business_date, number, order_type, staff_id, currency, pricing)
             SELECT o, DATE '2026-12-03', n, 'takeaway', '{staff}', 'UGX',
                    '{{\"vat_rate_bp\": 1600, \"prices_include_tax\": true, \"service_charge_bp\": 0}}'
             FROM (VALUES ('{order}'::uuid, 1), ('{moved_to}'::uuid, 2)) AS v(o, n);"
        ))
        .unwrap();
        let at = Utc::now().trunc_subsecs(6);
        let minutes = |m: i64| Some(at + TimeDelta::minutes(m));
        let new = OrderItemRow {
            id: Uuid::now_v7(),
            order_id: order,
            product_id: product,
            name: "Rolex".into(),
            unit_price: 5000,
            quantity: 2,
            modifiers: serde_json::json!([{"modifier_id": Uuid::now_v7(), "name": "extra egg", "price": 1000}]),
            modifiers_total: 1000,
            applied_discount: Some(serde_json::json!({"discount": 500, "reason": "regular"})),
            line_total: 11500,
            notes: Some("no onions".into()),
            station: Some("kitchen".into()),
            status: "pending".into(),
            seat: Some(2),
            course: Some(3),
            created_at: at,
            sent_at: None,
            preparing_at: None,
            ready_at: None,
            served_at: None,
            voided_at: None,
            void_reason: None,
            voided_by: None,
            void_approved_by: None,
        };
        assert_eq!(insert_items(&mut conn, [&new]).unwrap(), 1);
        assert_eq!(read_back(&mut conn, new.id), new);
        assert!(
            insert_items(&mut conn, [&new]).is_err(),
            "an insert never overwrites"
        );

        let changed = OrderItemRow {
            order_id: moved_to,
            name: "Rolex (large)".into(),
            unit_price: 6000,
            quantity: 3,
            modifiers: serde_json::json!([]),
            modifiers_total: 0,
            applied_discount: None,
            line_total: 0,
            notes: None,
            station: Some("bar".into()),
            status: "voided".into(),
            seat: Some(4),
            course: None,
            sent_at: minutes(1),
            preparing_at: minutes(2),
            ready_at: minutes(3),
            served_at: minutes(4),
            voided_at: minutes(5),
            void_reason: Some("spilled".into()),
            voided_by: Some(staff),
            void_approved_by: Some(other),
            ..new.clone()
        };
        let another = OrderItemRow {
            id: Uuid::now_v7(),
            ..new.clone()
        };
        assert_eq!(upsert_items(&mut conn, [&changed, &another]).unwrap(), 2);
        assert_eq!(read_back(&mut conn, changed.id), changed);
        assert_eq!(read_back(&mut conn, another.id), another);
    }
}
