//! Ports of the order use cases: the order store (aggregate-sized units of work, each one
//! database transaction), the catalogue reads order taking needs, and idempotency purging.
//!
//! # The unit of work
//!
//! Every change to an order goes through one call — [`OrderStore::create_order`],
//! [`OrderStore::mutate_order`] or [`OrderStore::merge_orders`] — and one call is one
//! transaction (with deadpool-diesel: one `interact` closure running `conn.transaction`).
//! The caller hands in a *work* closure; the store runs it inside the transaction, after
//! the order row is locked and loaded, on the blocking thread of the connection. The work
//! changes the aggregate in memory and returns a [`WorkOutput`]: what happened
//! ([`OrderChange`]) and the [`Effects`] the store must write with it. The store then saves
//! the aggregate, applies the effects and, when an [`IdempotencyClaim`] came along, stores
//! the rendered response, all before COMMIT. Either all of it is durable or none of it.
//!
//! Work closures are pure (no IO, no locks, no panics): they may be run at most once and are
//! never retried by the store.
//!
//! # Transaction recipe (READ COMMITTED, the PostgreSQL default)
//!
//! Statements run in this order; the order is what keeps the locks deadlock-free (every
//! transaction takes them in the same sequence) and the global locks short:
//!
//! 1. **Claim** the idempotency key, if a claim was given (see [`IdempotencyClaim`]).
//! 2. **Lock** the order row(s): `SELECT … FROM orders WHERE id = … FOR UPDATE` (two orders:
//!    one statement, `ORDER BY id`), then load the items (`ORDER BY created_at, id`).
//! 3. **Version check**: `expected_version` given and different from the loaded `version` →
//!    refusal [`OrderError::StaleVersion`] `{ expected, current }`.
//! 4. **Work**: `let mut next = loaded.clone(); next.version = loaded.version + 1;` then
//!    `work(&mut next)`. The work sees the version the aggregate will be saved with, so the
//!    payloads it builds carry it. `Err(e)` → refusal with `e`.
//! 5. **Effect**. Every refusal is found before the unit writes anything besides the claim
//!    (a create that took a number gives it back), so no savepoint is needed for the claim
//!    to record a refusal:
//!    1. stock ([`StockChange`]): sum the deltas per product, lock the products
//!       `SELECT id, stock_qty … WHERE id = ANY(…) ORDER BY id FOR UPDATE`, and for each one
//!       whose `stock_qty` is not NULL compute `stock_qty + delta`; below 0 → refusal
//!       [`OrderError::OutOfStock`] `{ product, left: <stock_qty before> }` (nothing of the
//!       unit's stock is changed then); otherwise `UPDATE products SET stock_qty = …`.
//!       Products whose stock is not tracked (NULL) are left alone.
//!    2. save the aggregate(s): `UPDATE orders SET <every column from next>, version =
//!       next.version WHERE id = … AND version = loaded.version` (one row, or
//!       `StoreError::Internal`), timestamps included (`updated_at` too: the
//!       `orders_set_updated_at` trigger only fills it in when a unit left it unchanged);
//!       totals columns from `next.totals()` (the domain computes them, never SQL); every item of `next.items` upserted by id (`INSERT … ON CONFLICT
//!       (id) DO UPDATE SET <every column>, order_id = EXCLUDED.order_id`, which is how merged
//!       items change order); and `DELETE FROM order_items WHERE order_id = … AND NOT (id =
//!       ANY(<ids in next.items>))` (removed pending items). A merge saves the target first.
//!    3. print jobs: `INSERT INTO print_jobs` each [`crate::print_job::NewPrintJob`] as given
//!       (status `queued`, attempts 0).
//!    4. audit: append each [`NewAuditEntry`] in order, on the audit chain (its lock).
//! 6. **Response**: with a claim, call `render` once with [`RenderInput::Committed`] and
//!    `UPDATE idempotency_records SET status_code, response_body, content_type, completed_at`.
//!    A rendered response that is not [`StoredResponse::is_storable`] (5xx) → ROLLBACK of the
//!    whole transaction and `StoreError::Internal`: an effect never commits without its record.
//! 7. **Events**, the LAST statement: append the work's events in the order listed, then,
//!    when the unit changed at least one *tracked* stock, one more event built by
//!    [`crate::order::events::stock_changed`] from the new levels (ascending product id).
//! 8. COMMIT, return [`Mutation::Committed`].
//!
//! **Refusal path** (steps 3–5 refused): without a claim, ROLLBACK and return
//! [`Mutation::Refused`] with `response: None`. With a claim, call `render` with
//! [`RenderInput::Refused`], store the response on the
//! claimed record (non-storable → ROLLBACK + `StoreError::Internal`), COMMIT (only the record
//! is written) and return [`Mutation::Refused`] with the response. A retry with the same key
//! replays that refusal.
//!
//! **Store errors** (`Err(StoreError)`): anything that is not a domain refusal — connection
//! lost, pool exhausted (`Unavailable`), constraint violations (`Conflict`,
//! `CheckViolation`, `ForeignKeyViolation`), deadlock or serialisation failure
//! (`SerializationFailure`), a missing order (`NotFound`) — rolls the whole transaction back,
//! the claim included: a retry with the same key executes afresh.
//!
//! # One unit, one transaction
//!
//! Every unit commits on its own. Committing concurrent units together (one transaction,
//! a savepoint each, through this same recipe) was built and measured for issue 9: it saved
//! PostgreSQL some CPU per order but no throughput, because the statements, not the WAL
//! flush, are what an order costs (docs/benchmarks.md). So there is one path.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::NewAuditEntry;
use crate::error::StoreError;
use crate::event::{Event, NewEvent};
use crate::idempotency::{IdempotencyKey, RequestFingerprint, StoredResponse};
use crate::ids::{OrderId, OrderItemId, PaymentId, PrintJobId, ProductId, ShiftId, StaffId, TableId};
use crate::order::{ItemStatus, Order, OrderError, OrderStatus, SendOutcome, VoidRecord};
use crate::payment::{Payment, Refund};
use crate::print_job::NewPrintJob;
use crate::staff::Station;
use crate::venue::Product;

/// How long a request waits for a concurrent request holding the same idempotency key before
/// it is answered [`Mutation::KeyInProgress`] (409). Adapters apply it to the claim
/// statement only (`SET LOCAL lock_timeout = '5s'` before it, `SET LOCAL lock_timeout TO
/// DEFAULT` after it).
pub const IDEMPOTENCY_CLAIM_WAIT: Duration = Duration::from_secs(5);

/// A stock movement: negative when items are sent, positive when sent items are voided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StockChange {
    pub product_id: ProductId,
    pub delta: i32,
}

/// A tracked stock after a unit of work changed it; what the `menu.updated` event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StockLevel {
    pub product_id: ProductId,
    pub stock_qty: i32,
    pub delta: i32,
}

/// What a unit of work writes besides the aggregate, all in its transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Effects {
    /// Applied before the aggregate is saved; a tracked stock going below 0 refuses the unit.
    pub stock: Vec<StockChange>,
    pub print_jobs: Vec<NewPrintJob>,
    /// Appended in order, before the events.
    pub audit: Vec<NewAuditEntry>,
    /// Payments taken or changed by the unit: upserted by id with the order saved.
    pub payments: Vec<Payment>,
    /// Refunds of the unit's payments: inserted after the payments.
    pub refunds: Vec<Refund>,
    /// Appended in order, last.
    pub events: Vec<NewEvent>,
}

/// What a unit of work did, for the caller (and the response it renders).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderChange {
    Created {
        items: Vec<OrderItemId>,
    },
    ItemsAdded(Vec<OrderItemId>),
    ItemUpdated(OrderItemId),
    ItemRemoved(OrderItemId),
    PreparationNotesSet,
    Sent(SendOutcome),
    Served(Vec<OrderItemId>),
    ItemBumped {
        item: OrderItemId,
        status: ItemStatus,
    },
    TicketBumped {
        station: Station,
        items: Vec<OrderItemId>,
    },
    ItemRecalled {
        item: OrderItemId,
        status: ItemStatus,
    },
    ItemVoided {
        item: OrderItemId,
        record: VoidRecord,
    },
    OrderVoided(VoidRecord),
    Cancelled,
    Moved {
        from: Option<TableId>,
        to: TableId,
    },
    /// A payment was applied to the order (see `Effects::payments`).
    PaymentTaken(Box<Payment>),
    /// A payment of the order was refunded (in part): the payment as saved and the refund.
    Refunded {
        payment: Box<Payment>,
        refund: Box<Refund>,
    },
    /// A copy of the order's receipt was queued for printing.
    ReceiptReprinted(PrintJobId),
    /// The order's discount (`item: None`) or one item's was set or cleared.
    DiscountSet {
        item: Option<OrderItemId>,
    },
    /// Items of `source` moved onto the target, which `Committed::order` is.
    Merged {
        source: OrderId,
        items: Vec<OrderItemId>,
    },
}

/// What a work closure returns.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkOutput {
    pub change: OrderChange,
    pub effects: Effects,
}

/// Changes one loaded, locked order (its `version` already set to loaded + 1).
pub type OrderWork = Box<dyn FnOnce(&mut Order) -> Result<WorkOutput, OrderError> + Send>;

/// What a unit reads inside its transaction, once the order is locked, for its work to
/// decide on: what must not change between the read and the commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lookups {
    /// The open shift of this staff member, locked (`FOR SHARE`) so that its close waits
    /// for the unit and then counts what the unit wrote.
    pub open_shift_of: Option<StaffId>,
    /// This payment of the locked order, locked for update.
    pub payment: Option<PaymentId>,
}

/// What [`Lookups`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub open_shift: Option<ShiftId>,
    /// `None` when the order has no such payment.
    pub payment: Option<Payment>,
}

/// A payment as stored, with what the provider reported of an online one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPayment {
    pub payment: Payment,
    /// The provider's name of the method used (Pesapal's `payment_method`, e.g. "MpesaKE").
    pub provider_method: Option<String>,
    /// The provider's confirmation code: what a refund request names.
    pub confirmation_code: Option<String>,
}

/// Changes one loaded, locked order knowing what its [`Lookups`] found.
pub type LookupWork = Box<dyn FnOnce(&mut Order, Found) -> Result<WorkOutput, OrderError> + Send>;

/// Builds a new order from the number the store allocated for the business date. The order
/// returned must carry that number and business date and `version` 1.
pub type CreateWork = Box<dyn FnOnce(i32) -> Result<(Order, WorkOutput), OrderError> + Send>;

/// Moves the items of the second order (source) onto the first (target); both loaded, locked
/// and with their versions already bumped.
pub type MergeWork = Box<dyn FnOnce(&mut Order, &mut Order) -> Result<WorkOutput, OrderError> + Send>;

/// What the API's render closure sees: the unit's result, before COMMIT.
#[derive(Debug, Clone, Copy)]
pub enum RenderInput<'a> {
    Committed {
        /// As saved (new version).
        order: &'a Order,
        /// A merge's source as saved (cancelled, `merged_into` set).
        other: Option<&'a Order>,
        change: &'a OrderChange,
    },
    Refused {
        error: &'a OrderError,
        /// The aggregate as loaded (what a 409 shows); `None` for a create.
        current: Option<&'a Order>,
    },
}

/// Turns the unit's result into the HTTP answer stored with the key. Runs inside the
/// transaction: it must be cheap and must not panic.
pub type RenderResponse = Box<dyn FnOnce(RenderInput<'_>) -> StoredResponse + Send>;

/// An idempotency key to claim in the unit's transaction (spec §4). Keys are scoped to the
/// staff member.
///
/// # What the adapter does (READ COMMITTED)
///
/// 1. `INSERT INTO idempotency_records (staff_id, key, fingerprint, created_at)
///    VALUES (…, now()) ON CONFLICT (staff_id, key) DO NOTHING RETURNING key`, with
///    `lock_timeout` = [`IDEMPOTENCY_CLAIM_WAIT`].
///    - A row comes back: the key is ours; go on with the unit.
///    - A concurrent transaction inserted the same key and has not finished: the INSERT
///      *blocks* on that uncommitted row until the other transaction ends. If it commits,
///      the INSERT then does nothing (no row back) and the next step sees the committed
///      record, response included (the response is written before that COMMIT), so the
///      duplicate replays. If it rolls back, the INSERT goes ahead and this request executes.
///      This is why the claim must be the FIRST statement and why the isolation must be READ
///      COMMITTED: under REPEATABLE READ the next SELECT would not see the other's row.
///    - The wait exceeds the lock timeout (SQLSTATE 55P03, `lock_not_available`): ROLLBACK
///      and return `Ok(Mutation::KeyInProgress)` (409 `request in progress`).
/// 2. No row came back: `SELECT … FROM idempotency_records WHERE staff_id = … AND key = …
///    FOR UPDATE` and decide with [`crate::idempotency::decide`] (`now` = the database's
///    `now()` or the adapter's clock):
///    - `Replay(response)` → COMMIT (nothing else written) and return
///      `Ok(Mutation::Replayed(response))`. The work and `render` are not called.
///    - `Mismatch` (other fingerprint) → return `Ok(Mutation::KeyMismatch)` (422).
///    - `InProgress` (a committed record without a response; the recipe above never leaves
///      one, but older rows or other writers might) → `Ok(Mutation::KeyInProgress)`.
///    - `Execute` (the record outlived its retention and was not purged yet) → `UPDATE` it
///      to this fingerprint, response columns NULL, `created_at = now()`, and go on.
///    - The row is gone (purged between the two statements) → repeat step 1 once.
/// 3. After the unit (success or refusal) `render` is called exactly once and its result
///    stored on the record before COMMIT (see the module docs, steps 6 and refusal path).
pub struct IdempotencyClaim {
    pub staff_id: StaffId,
    pub key: IdempotencyKey,
    pub fingerprint: RequestFingerprint,
    pub render: RenderResponse,
}

impl IdempotencyClaim {
    pub fn new(
        staff_id: StaffId,
        key: IdempotencyKey,
        fingerprint: RequestFingerprint,
        render: impl FnOnce(RenderInput<'_>) -> StoredResponse + Send + 'static,
    ) -> Self {
        Self {
            staff_id,
            key,
            fingerprint,
            render: Box::new(render),
        }
    }
}

impl fmt::Debug for IdempotencyClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdempotencyClaim")
            .field("staff_id", &self.staff_id)
            .field("key", &self.key)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Which order a unit of work locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderTarget {
    Order(OrderId),
    /// The order holding this item (KDS routes name items only). Adapter: `SELECT order_id
    /// FROM order_items WHERE id = …`, lock that order, load its items, and check the item is
    /// still among them (a merge may have moved it in between); if not, resolve again, at
    /// most 3 times in all. No such item → `StoreError::NotFound { entity: "order_item" }`.
    Item(OrderItemId),
    /// The order holding this payment (refunds name payments only). Adapter: `SELECT
    /// order_id FROM payments WHERE id = …` (a payment never changes order), then lock that
    /// order. No such payment → `StoreError::NotFound { entity: "payment" }`.
    Payment(PaymentId),
}

/// A unit of work that committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The (target) order as saved.
    pub order: Order,
    /// A merge's source as saved.
    pub other: Option<Order>,
    pub change: OrderChange,
    /// The events appended, with their ids, in order (the store's `menu.updated` last).
    pub events: Vec<Event>,
    /// The ids of the print jobs queued.
    pub print_jobs: Vec<PrintJobId>,
    /// The response stored with the claim; `None` without a claim.
    pub response: Option<StoredResponse>,
}

/// A unit of work the domain refused: nothing of its effect was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub error: OrderError,
    /// The aggregate as loaded: the target, or for a stale merge the order whose version was
    /// stale. `None` for a create.
    pub current: Option<Order>,
    /// The refusal's response stored with the claim; `None` without a claim.
    pub response: Option<StoredResponse>,
}

/// The answer of a unit of work.
#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    Committed(Box<Committed>),
    Refused(Box<Refusal>),
    /// The key was used before with the same request: its stored answer.
    Replayed(StoredResponse),
    /// The key was used before with another request: 422.
    KeyMismatch,
    /// The key is held by a request still running: 409 `request in progress`.
    KeyInProgress,
}

impl Mutation {
    /// What a key's record answers in place of running the request: `None` when it may run
    /// (no live record), else the replay, the mismatch or the request still in progress.
    pub fn from_record(decision: crate::idempotency::IdempotencyDecision) -> Option<Mutation> {
        use crate::idempotency::IdempotencyDecision;
        match decision {
            IdempotencyDecision::Execute => None,
            IdempotencyDecision::Replay(response) => Some(Mutation::Replayed(response)),
            IdempotencyDecision::Mismatch => Some(Mutation::KeyMismatch),
            IdempotencyDecision::InProgress => Some(Mutation::KeyInProgress),
        }
    }
}

/// Which orders a list shows. Empty `statuses` means every status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderFilter {
    pub statuses: Vec<OrderStatus>,
    pub table_id: Option<TableId>,
    pub staff_id: Option<StaffId>,
    pub business_date: Option<NaiveDate>,
    /// At most this many (the caller bounds it, 1–500).
    pub limit: u32,
}

impl OrderFilter {
    /// The orders still on the floor (open, sent, ready, served).
    pub fn unfinished(limit: u32) -> Self {
        Self {
            statuses: OrderStatus::ALL
                .into_iter()
                .filter(|s| !s.is_finished())
                .collect(),
            limit,
            ..Self::default()
        }
    }

    /// Whether `order` passes the filter (what the SQL `WHERE` must mean).
    pub fn matches(&self, order: &Order) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&order.status))
            && self.table_id.is_none_or(|t| order.table_id == Some(t))
            && self.staff_id.is_none_or(|s| order.staff_id == s)
            && self.business_date.is_none_or(|d| order.business_date == d)
    }
}

/// How often a product was ordered in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductCount {
    pub product_id: ProductId,
    pub quantity: i64,
}

/// Orders: their units of work and the reads of the floor and the KDS.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Creates an order in one unit of work: the next number of `business_date` is taken
    /// first, then claim (if any) → `work(number)` → insert the order and its items →
    /// effects → response → events → COMMIT.
    ///
    /// The number comes from `INSERT INTO order_number_counters (business_date, last_number)
    /// VALUES ($1, 1) ON CONFLICT (business_date) DO UPDATE SET last_number =
    /// order_number_counters.last_number + 1 RETURNING last_number`, a statement of its own
    /// before the unit's transaction, so no counter row stays locked until a create
    /// commits. Numbers are distinct and increasing within a business day; a create that is
    /// refused, replayed or rolled back leaves its number unused (200 concurrent creates
    /// that all commit → exactly 1..=200).
    ///
    /// The order returned by the work must have the allocated number, `business_date` and
    /// version 1, and its effects must move no stock (stock moves when items are sent), else
    /// `StoreError::Internal`. Refusals carry `current: None`.
    /// Errors: as the module docs; an unknown table, staff, terminal or shift id →
    /// `StoreError::ForeignKeyViolation` (the service checks tables before).
    async fn create_order(
        &self,
        business_date: NaiveDate,
        claim: Option<IdempotencyClaim>,
        work: CreateWork,
    ) -> Result<Mutation, StoreError>;

    /// Changes one order in one transaction, following the module recipe.
    ///
    /// `expected_version: None` skips the version check (KDS bumps, which race nobody's
    /// edit). No such order → `StoreError::NotFound { entity: "order" }`; for
    /// [`OrderTarget::Item`] no such item → `NotFound { entity: "order_item" }`.
    async fn mutate_order(
        &self,
        target: OrderTarget,
        expected_version: Option<i32>,
        claim: Option<IdempotencyClaim>,
        work: OrderWork,
    ) -> Result<Mutation, StoreError>;

    /// Merges `source` into `target` in one transaction: both rows locked in one statement
    /// ordered by id (so two opposite merges cannot deadlock), versions checked (target
    /// first), both bumped, `work(&mut target, &mut source)`, target saved first (its item
    /// upserts move the source's items), then the source, then effects as usual.
    /// `Committed::order` is the target, `Committed::other` the source.
    ///
    /// The service never passes `target == source`; an adapter that gets it returns
    /// `StoreError::Internal`. Either order missing → `NotFound { entity: "order" }`.
    async fn merge_orders(
        &self,
        target: (OrderId, Option<i32>),
        source: (OrderId, Option<i32>),
        claim: Option<IdempotencyClaim>,
        work: MergeWork,
    ) -> Result<Mutation, StoreError>;

    /// [`OrderStore::mutate_order`] whose work also needs what `lookups` names, read in the
    /// same transaction right after the order is locked (payments: the taker's open shift;
    /// refunds: the payment and the refunder's shift).
    async fn mutate_order_with(
        &self,
        target: OrderTarget,
        lookups: Lookups,
        claim: Option<IdempotencyClaim>,
        work: LookupWork,
    ) -> Result<Mutation, StoreError>;

    /// What the record of `key` (of `staff`) says to a request that was refused before it
    /// could claim the key: `Replayed` with the stored answer when the record is live,
    /// complete and has this `fingerprint`; `KeyMismatch` for another fingerprint;
    /// `KeyInProgress` when its request is still running; `None` when there is no live
    /// record. The decision is [`crate::idempotency::decide`]'s. Reads only, waits for nothing.
    async fn recorded_answer(
        &self,
        staff: StaffId,
        key: &IdempotencyKey,
        fingerprint: &RequestFingerprint,
    ) -> Result<Option<Mutation>, StoreError>;

    /// One payment as stored, without locking it. `NotFound { entity: "payment" }`.
    async fn get_payment(&self, id: PaymentId) -> Result<StoredPayment, StoreError>;

    /// One order with its items (ordered by `created_at, id`). `NotFound { entity: "order" }`.
    async fn get_order(&self, id: OrderId) -> Result<Order, StoreError>;

    /// Every payment of order `id` (any status), in the order they were taken (`created_at,
    /// id`). `NotFound { entity: "order" }` when there is no such order.
    async fn payments_of_order(&self, id: OrderId) -> Result<Vec<crate::payment::Payment>, StoreError>;

    /// Orders passing `filter` ([`OrderFilter::matches`]), newest first (`created_at DESC,
    /// id DESC`), at most `filter.limit`, each with its items.
    async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, StoreError>;

    /// What a station's KDS shows: every unfinished order that has at least one item of
    /// `station` with status sent, preparing or ready, with ALL its items, oldest first by
    /// the earliest `sent_at` among those items (ties by order id).
    async fn orders_at_station(&self, station: Station) -> Result<Vec<Order>, StoreError>;

    /// The ids among `orders` for which a bill was asked: a print job of kind `receipt`
    /// exists for the order. Unknown ids are left out; an empty input gives an empty output.
    async fn bills_requested(&self, orders: &[OrderId]) -> Result<Vec<OrderId>, StoreError>;
}

/// Reads of the menu that order taking and the terminal menu need beyond [`crate::ports::MenuStore`].
#[async_trait]
pub trait OrderCatalog: Send + Sync {
    /// The products with these ids, *whatever* their `active`/`available` state (so the
    /// domain can say "unavailable" rather than "unknown"), each with its ACTIVE modifiers,
    /// with current `stock_qty`. Unknown ids are left out; duplicates in the input appear
    /// once; any order.
    async fn products_by_ids(&self, ids: &[ProductId]) -> Result<Vec<Product>, StoreError>;

    /// The `limit` products ordered most since `since`: sum of `quantity` of items not
    /// voided whose `created_at >= since`, highest first, ties by product id; only products
    /// that are still active.
    async fn popular_products(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ProductCount>, StoreError>;

    /// The `limit` distinct products most recently put on orders opened by `staff`
    /// (`orders.staff_id`), newest item first (`order_items.created_at DESC`); only products
    /// that are still active.
    async fn recent_products(&self, staff: StaffId, limit: u32) -> Result<Vec<ProductId>, StoreError>;
}

/// Retention of idempotency records (spec §4: kept at least 24 h, then purged).
#[async_trait]
pub trait IdempotencyPurge: Send + Sync {
    /// Deletes every record created before `created_before` (the caller passes
    /// [`crate::idempotency::purge_cutoff`]); returns how many went.
    async fn purge_idempotency_records(&self, created_before: DateTime<Utc>) -> Result<u64, StoreError>;
}
