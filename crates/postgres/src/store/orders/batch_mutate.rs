//! Changes to orders (by order id), committed in groups: what `batch` does for creates,
//! for sends, serves, edits and the rest of `OrderStore::mutate_order`.
//!
//! A group holds at most one request per order (a second one waits for the next group), so
//! every request sees its order exactly as a lone unit would: locked, at its committed
//! version. One transaction claims the group's keys, locks its orders in id order with one
//! statement and loads their items with another, runs each work in memory, takes stock for
//! all of them (each request in arrival order against what the earlier ones left: one that
//! would take a tracked stock below 0 is refused alone), updates each order row, upserts
//! every item with one statement, and writes print jobs, stored answers and events with one
//! statement each. Locks are taken in the order every unit takes them (orders by id, then
//! products by id), so groups and lone units cannot deadlock.
//!
//! A group falls back to one transaction per request (`unit::run`) when anything fails
//! before the first work runs — a key held elsewhere, an order that does not exist (its
//! request then gets `NotFound` alone, its claim rolled back) — and fails as a whole after.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Array, Integer, Uuid as SqlUuid};
use pos_domain::StoreError;
use pos_domain::ids::{OrderId, ProductId};
use pos_domain::order::{Order, OrderError};
use pos_domain::order_ports::{
    IDEMPOTENCY_CLAIM_WAIT, IdempotencyClaim, Mutation, OrderTarget, OrderWork, Refusal, StockLevel,
    WorkOutput,
};
use pos_domain::orders::events::stock_changed;
use uuid::Uuid;

use super::batch::{
    AloneFuture, Claimed, GroupAbort, GroupOutcome, GroupQueue, GroupRequest, answered_early, claim_keys,
    conclude, early, run_in_transaction,
};
use super::idempotency::set_lock_timeout;
use super::rows::{OrderRow, assemble};
use super::unit::{
    self, Abort, Plan, load_items, lock_stock, lock_target, net_stock_movements, update_order_rows,
    write_item_changes,
};
use crate::error::DbError;
use crate::schema::orders;
use crate::store::PgStore;

/// What `PgStore::mutate_order` hands over for an order target.
pub(crate) struct MutateRequest {
    pub order: OrderId,
    pub expected_version: Option<i32>,
    pub claim: Option<IdempotencyClaim>,
    pub work: OrderWork,
}

impl GroupRequest for MutateRequest {
    fn claim(&self) -> Option<&IdempotencyClaim> {
        self.claim.as_ref()
    }

    fn lock_key(&self) -> Option<Uuid> {
        Some(self.order.as_uuid())
    }

    fn queue(store: &PgStore) -> &Arc<GroupQueue<Self>> {
        &store.mutations
    }

    fn run_group(conn: &mut PgConnection, requests: Vec<Self>) -> GroupOutcome<Self> {
        run_in_transaction(conn, requests, in_transaction)
    }

    fn run_alone(store: PgStore, request: Self) -> AloneFuture {
        Box::pin(async move {
            let MutateRequest {
                order,
                expected_version,
                claim,
                work,
            } = request;
            let plan = Plan::Mutate {
                expected_version,
                work,
            };
            store
                .interact(move |conn| {
                    unit::run(
                        conn,
                        claim,
                        |conn| lock_target(conn, OrderTarget::Order(order)),
                        plan,
                    )
                })
                .await
        })
    }
}

/// A request whose work ran and that is still to be saved.
struct Changed {
    index: usize,
    loaded: Order,
    next: Order,
    output: WorkOutput,
    levels: Vec<StockLevel>,
}

fn from_abort(abort: Abort) -> GroupAbort {
    match abort {
        Abort::Db(e) => GroupAbort::Db(e),
        Abort::Answer(_) | Abort::Refused(_) => GroupAbort::Db(DbError::Store(StoreError::Internal(
            "a grouped save stopped short".into(),
        ))),
    }
}

fn in_transaction(
    conn: &mut PgConnection,
    requests: &mut [Option<MutateRequest>],
) -> Result<Vec<Result<Mutation, StoreError>>, GroupAbort> {
    let claimed = claim_keys(conn, requests)?;
    set_lock_timeout(conn, IDEMPOTENCY_CLAIM_WAIT).map_err(early)?;

    // Lock every order that runs, in id order, in one statement; then all their items.
    let mut ids: Vec<Uuid> = requests
        .iter()
        .zip(&claimed)
        .filter_map(|(request, claimed)| match (request, claimed) {
            (Some(request), Claimed::Run) => Some(request.order.as_uuid()),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    let mut loaded: HashMap<Uuid, Order> = if ids.is_empty() {
        HashMap::new()
    } else {
        let rows: Vec<OrderRow> = orders::table
            .filter(orders::id.eq_any(&ids))
            .order(orders::id.asc())
            .select(OrderRow::as_select())
            .for_no_key_update()
            .load(conn)
            .map_err(early)?;
        if rows.len() != ids.len() {
            return Err(early(StoreError::not_found("order")));
        }
        let items = load_items(conn, &ids).map_err(early)?;
        assemble(rows, items)
            .map_err(early)?
            .into_iter()
            .map(|order| (order.id.as_uuid(), order))
            .collect()
    };

    // From here on the works run: the group cannot hand its requests back any more.
    let answers = answered_early(&claimed);
    let mut changed: Vec<Changed> = Vec::new();
    let mut refused: Vec<(usize, Refusal)> = Vec::new();
    let mut claims: HashMap<usize, IdempotencyClaim> = HashMap::new();
    for (index, claimed) in claimed.iter().enumerate() {
        let Some(request) = requests[index].take() else {
            continue;
        };
        if !matches!(claimed, Claimed::Run) {
            continue;
        }
        let MutateRequest {
            order,
            expected_version,
            claim,
            work,
        } = request;
        if let Some(claim) = claim {
            claims.insert(index, claim);
        }
        let Some(current) = loaded.remove(&order.as_uuid()) else {
            return Err(StoreError::Internal("a grouped order was not loaded".into()).into());
        };
        if let Some(expected) = expected_version
            && expected != current.version
        {
            let error = OrderError::StaleVersion {
                expected,
                current: current.version,
            };
            refused.push((index, refusal(error, current)));
            continue;
        }
        let mut next = current.clone();
        next.version = current.version + 1;
        match work(&mut next) {
            Ok(output) => changed.push(Changed {
                index,
                loaded: current,
                next,
                output,
                levels: Vec::new(),
            }),
            Err(error) => refused.push((index, refusal(error, current))),
        }
    }

    let changed = take_stock(conn, changed, &mut refused)?;

    let mut changed = changed;
    let mut saves: Vec<(&mut Order, &Order)> = changed.iter_mut().map(|c| (&mut c.next, &c.loaded)).collect();
    let item_changes = update_order_rows(conn, &mut saves).map_err(from_abort)?;
    write_item_changes(conn, item_changes).map_err(from_abort)?;
    let committed = changed
        .into_iter()
        .map(|c| {
            let Changed {
                index,
                next,
                mut output,
                levels,
                ..
            } = c;
            if !levels.is_empty() {
                output.effects.events.push(stock_changed(&levels));
            }
            (index, next, output)
        })
        .collect();
    conclude(conn, &claimed, answers, claims, committed, refused)
}

fn refusal(error: OrderError, current: Order) -> Refusal {
    Refusal {
        error,
        current: Some(current),
        response: None,
    }
}

/// Stock for the whole group: the products every request moves, locked in id order with one
/// statement; each request in order against what the earlier ones left, refused alone when
/// a tracked stock would go below 0; the new levels written with one statement.
fn take_stock(
    conn: &mut PgConnection,
    changed: Vec<Changed>,
    refused: &mut Vec<(usize, Refusal)>,
) -> Result<Vec<Changed>, GroupAbort> {
    let deltas: Vec<BTreeMap<ProductId, i32>> = changed
        .iter()
        .map(|c| net_stock_movements(&c.output.effects.stock))
        .collect::<Result<_, StoreError>>()?;
    let mut ids: Vec<Uuid> = deltas
        .iter()
        .flat_map(|d| d.keys().map(ProductId::as_uuid))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(changed);
    }
    let current = lock_stock(conn, &ids)?;
    // Tracked stocks only; untracked ones (NULL) and unknown products are left alone.
    let mut levels: BTreeMap<ProductId, i32> = current
        .into_iter()
        .filter_map(|(id, qty)| qty.map(|qty| (ProductId::from_uuid(id), qty)))
        .collect();
    let mut moved = false;
    let mut kept = Vec::with_capacity(changed.len());
    'requests: for (mut c, deltas) in changed.into_iter().zip(deltas) {
        let mut after = Vec::new();
        for (product, delta) in &deltas {
            let Some(&left) = levels.get(product) else {
                continue;
            };
            match left.checked_add(*delta) {
                Some(next) if next >= 0 => after.push(StockLevel {
                    product_id: *product,
                    stock_qty: next,
                    delta: *delta,
                }),
                _ => {
                    let error = OrderError::OutOfStock {
                        product: *product,
                        left,
                    };
                    refused.push((c.index, refusal(error, c.loaded)));
                    continue 'requests;
                }
            }
        }
        for level in &after {
            levels.insert(level.product_id, level.stock_qty);
            moved = true;
        }
        c.levels = after;
        kept.push(c);
    }
    if moved {
        let (ids, quantities): (Vec<Uuid>, Vec<i32>) = levels
            .iter()
            .map(|(product, qty)| (product.as_uuid(), *qty))
            .unzip();
        sql_query(
            "UPDATE products AS p SET stock_qty = v.stock_qty \
             FROM unnest($1::uuid[], $2::int4[]) AS v(id, stock_qty) \
             WHERE p.id = v.id AND p.stock_qty IS DISTINCT FROM v.stock_qty",
        )
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<Array<Integer>, _>(quantities)
        .execute(conn)?;
    }
    Ok(kept)
}
