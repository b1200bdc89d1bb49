//! The order use cases: one method per thing a terminal or a KDS does.
//!
//! Each method checks the permission matrix first (before any read or write), validates what
//! it can before the store is asked for anything (unknown products or tables answer with
//! nothing written), then hands the store one unit of work (see [`crate::order::ports`]) that
//! applies the domain transition and lists its effects: events, stock, print jobs, audit.
//! After COMMIT the appended events are handed to the bus (the API's bus only queues them, so
//! an answer never waits on it); the log stays the truth when that fails
//! ([`Applied::publish_error`]).

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU8;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};
use thiserror::Error;

use crate::approval::{Actor, ApprovalError, require};
use crate::audit::NewAuditEntry;
use crate::business_day::business_date;
use crate::error::{BusError, StoreError};
use crate::event::Event;
use crate::idempotency::{IdempotencyKey, RequestFingerprint, StoredResponse};
use crate::ids::{
    ModifierId, OrderId, OrderItemId, PrintJobId, ProductId, ShiftId, StaffId, TableId, TerminalId,
};
use crate::order::events::{self, TableChange, UpdateKind};
use crate::order::ports::{
    CreateWork, Effects, IdempotencyClaim, MergeWork, Mutation, OrderCatalog, OrderChange, OrderFilter,
    OrderStore, OrderTarget, OrderWork, StockChange, WorkOutput,
};
use crate::order::read_cache::Expiring;
use crate::order::views::{self, KdsQueue, MenuCatalogue, MenuLists, MenuView, StationCounts, TableView};
use crate::order::{
    ItemChanges, ItemChoice, ItemStatus, NewOrder, NewOrderItem, Order, OrderError, OrderItem, OrderStatus,
    OrderType, SendOutcome,
};
use crate::permissions::{Action, Role};
use crate::ports::{Clock, EventBus, MenuStore, SettingsStore, StaffStore, TableStore};
use crate::print_job::{NewPrintJob, PrintJobKind};
use crate::printing::{Paper, TicketData, TicketLine, render_ticket_escpos, render_ticket_text};
use crate::settings::Settings;
use crate::staff::Station;
use crate::totals::Pricing;
use crate::validate::{Note, Quantity, ValidationError};
use crate::venue::{Product, Table};

/// Every port the order use cases read or write. `PgStore` implements all of them.
pub trait OrderPorts:
    OrderStore + OrderCatalog + MenuStore + TableStore + SettingsStore + StaffStore
{
}

impl<T> OrderPorts for T where
    T: OrderStore + OrderCatalog + MenuStore + TableStore + SettingsStore + StaffStore + ?Sized
{
}

/// Who is calling: the staff member of the verified token (never a request body) and the
/// terminal the token was issued to, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub actor: Actor,
    pub terminal_id: Option<TerminalId>,
}

impl Caller {
    pub const fn new(actor: Actor, terminal_id: Option<TerminalId>) -> Self {
        Self { actor, terminal_id }
    }
}

/// Deployment choices of the order use cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderServiceConfig {
    /// The printer name kitchen tickets are queued for (what its agent polls).
    pub kitchen_printer: String,
    pub bar_printer: String,
    pub ticket_paper: Paper,
    /// "Most popular" counts items ordered over this window.
    pub popular_window: TimeDelta,
    pub popular_limit: u32,
    pub recent_limit: u32,
    /// How long settings, tables and staff names read for order taking are reused (see
    /// `read_cache`); zero reads them on every request.
    pub read_cache_ttl: Duration,
}

impl Default for OrderServiceConfig {
    fn default() -> Self {
        Self {
            kitchen_printer: Station::Kitchen.as_str().to_owned(),
            bar_printer: Station::Bar.as_str().to_owned(),
            ticket_paper: Paper::Mm80,
            popular_window: TimeDelta::days(30),
            popular_limit: 12,
            recent_limit: 12,
            read_cache_ttl: Duration::ZERO,
        }
    }
}

impl OrderServiceConfig {
    fn printer_for(&self, station: Station) -> &str {
        match station {
            Station::Kitchen => &self.kitchen_printer,
            Station::Bar => &self.bar_printer,
        }
    }
}

/// One line a terminal asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRequest {
    pub product_id: ProductId,
    pub quantity: Quantity,
    pub modifier_ids: Vec<ModifierId>,
    pub notes: Option<Note>,
    pub seat: Option<NonZeroU8>,
    pub course: Option<NonZeroU8>,
}

impl ItemRequest {
    pub fn new(product_id: ProductId, quantity: Quantity) -> Self {
        Self {
            product_id,
            quantity,
            modifier_ids: Vec::new(),
            notes: None,
            seat: None,
            course: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrderCmd {
    pub order_type: OrderType,
    pub table_id: Option<TableId>,
    /// The caller's open shift, if any (the API looks it up).
    pub shift_id: Option<ShiftId>,
    pub preparation_notes: Option<Note>,
    pub items: Vec<ItemRequest>,
}

/// Changes to a pending item; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemUpdate {
    pub quantity: Option<Quantity>,
    /// The full new set of modifiers.
    pub modifier_ids: Option<Vec<ModifierId>>,
    pub notes: Option<Option<Note>>,
    pub seat: Option<Option<NonZeroU8>>,
    pub course: Option<Option<NonZeroU8>>,
}

/// A void: why, and the manager who re-authenticated inside the request (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoidCmd {
    pub reason: Note,
    pub approval: Option<Actor>,
}

/// A discount to set (`discount: Some`) or clear, why, and the manager who re-authenticated
/// inside the request (needed above the cashier limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountCmd {
    pub discount: Option<crate::totals::Discount>,
    pub reason: Option<Note>,
    pub approval: Option<Actor>,
}

/// The order an edit is about and the version the client last read (`None`: no check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit {
    pub order_id: OrderId,
    pub expected_version: Option<i32>,
}

impl Edit {
    pub const fn new(order_id: OrderId, expected_version: Option<i32>) -> Self {
        Self {
            order_id,
            expected_version,
        }
    }
}

/// A unit of work that ran and committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The order as saved (the target of a merge).
    pub order: Order,
    /// A merge's source as saved.
    pub other: Option<Order>,
    pub change: OrderChange,
    /// Appended to the log (and published), with their ids.
    pub events: Vec<Event>,
    pub print_jobs: Vec<PrintJobId>,
    /// What was stored with the idempotency key: answer with exactly this.
    pub response: Option<StoredResponse>,
    /// The bus refused an event: log it; clients catch up from the log.
    pub publish_error: Option<BusError>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Applied(Box<Applied>),
    /// The key was used before with this very request: answer with the stored response and
    /// `Idempotent-Replayed: true`.
    Replayed(StoredResponse),
}

impl Outcome {
    pub fn applied(self) -> Option<Applied> {
        match self {
            Outcome::Applied(applied) => Some(*applied),
            Outcome::Replayed(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum OrderServiceError {
    /// The caller's role may not do this (403); checked before anything is read or written.
    #[error(transparent)]
    Forbidden(ApprovalError),
    /// Bad input naming its field (422); nothing was written.
    #[error(transparent)]
    Invalid(ValidationError),
    /// The domain refused the transition (`error.code()` picks the status: mostly 409,
    /// approval codes 403). Nothing of the effect was written. `current` is the order as it
    /// is (a stale edit shows it); `response` is what was stored with the idempotency key,
    /// to answer with instead of rendering again.
    #[error("{error}")]
    Refused {
        error: OrderError,
        current: Option<Box<Order>>,
        response: Option<StoredResponse>,
    },
    /// The Idempotency-Key was used with another request (422).
    #[error("the Idempotency-Key was already used with another request")]
    KeyMismatch,
    /// A request with this Idempotency-Key is still running (409).
    #[error("request in progress")]
    KeyInProgress,
    #[error(transparent)]
    Store(StoreError),
}

impl OrderServiceError {
    /// Stable machine-readable code for problem bodies.
    pub fn code(&self) -> &'static str {
        match self {
            OrderServiceError::Forbidden(e) => e.code(),
            OrderServiceError::Invalid(_) => "validation_failed",
            OrderServiceError::Refused { error, .. } => error.code(),
            OrderServiceError::KeyMismatch => "idempotency_key_mismatch",
            OrderServiceError::KeyInProgress => "request_in_progress",
            OrderServiceError::Store(StoreError::NotFound { .. }) => "not_found",
            OrderServiceError::Store(_) => "store_error",
        }
    }

    fn refused(error: impl Into<OrderError>) -> Self {
        OrderServiceError::Refused {
            error: error.into(),
            current: None,
            response: None,
        }
    }
}

impl From<StoreError> for OrderServiceError {
    fn from(e: StoreError) -> Self {
        OrderServiceError::Store(e)
    }
}

impl From<ValidationError> for OrderServiceError {
    fn from(e: ValidationError) -> Self {
        OrderServiceError::Invalid(e)
    }
}

type ServiceResult<T> = Result<T, OrderServiceError>;

fn permit(actor: Actor, action: Action) -> ServiceResult<()> {
    require(actor, action).map_err(OrderServiceError::Forbidden)
}

/// Kitchen and bar accounts act on their own station only.
fn station_permitted(actor: Actor, station: Option<Station>, action: Action) -> Result<(), ApprovalError> {
    let own = match actor.role {
        Role::Kitchen => Some(Station::Kitchen),
        Role::Bar => Some(Station::Bar),
        _ => return Ok(()),
    };
    if station.is_some() && station == own {
        Ok(())
    } else {
        Err(ApprovalError::NotPermitted {
            role: actor.role,
            action,
        })
    }
}

/// Venue local wall-clock time, as tickets print it.
fn local_time(now: DateTime<Utc>, settings: &Settings) -> NaiveDateTime {
    let utc = now.naive_utc();
    utc.checked_add_signed(TimeDelta::minutes(i64::from(settings.utc_offset_minutes)))
        .unwrap_or(utc)
}

/// Stock movements of `items` (product, quantity), summed per product, `sign` −1 or +1.
fn stock_of<'a>(items: impl IntoIterator<Item = &'a OrderItem>, sign: i32) -> Vec<StockChange> {
    let mut per_product: BTreeMap<ProductId, i32> = BTreeMap::new();
    for item in items {
        *per_product.entry(item.product_id).or_default() += sign * i32::from(item.quantity.get());
    }
    per_product
        .into_iter()
        .map(|(product_id, delta)| StockChange { product_id, delta })
        .collect()
}

fn updated(order: &Order, change: OrderChange, kind: UpdateKind) -> Result<WorkOutput, OrderError> {
    Ok(WorkOutput {
        change,
        effects: Effects {
            events: vec![events::order_updated(order, kind)?],
            ..Effects::default()
        },
    })
}

/// `order.ready` when this unit made the order ready (its last item got ready, or the last
/// item that was not ready went away).
fn announce_ready(was: OrderStatus, order: &Order, effects: &mut Effects) -> Result<(), OrderError> {
    if order.status == OrderStatus::Ready && was != OrderStatus::Ready {
        effects.events.push(events::order_ready(order)?);
    }
    Ok(())
}

/// What identifies a request's idempotency record, kept before its claim is handed on.
struct KeyOnRecord {
    staff: StaffId,
    key: IdempotencyKey,
    fingerprint: RequestFingerprint,
}

impl KeyOnRecord {
    fn of(claim: Option<&IdempotencyClaim>) -> Option<Self> {
        claim.map(|c| Self {
            staff: c.staff_id,
            key: c.key.clone(),
            fingerprint: c.fingerprint.clone(),
        })
    }
}

/// The order use cases over the ports `S`, the event bus and a clock.
pub struct OrderService<S: ?Sized, C> {
    store: Arc<S>,
    bus: Arc<dyn EventBus>,
    clock: C,
    config: OrderServiceConfig,
    reads: Arc<CachedReads>,
}

/// What `read_cache` keeps for the service.
#[derive(Debug)]
struct CachedReads {
    settings: Expiring<(), Settings>,
    tables: Expiring<(), Vec<Table>>,
    staff_names: Expiring<StaffId, String>,
}

impl CachedReads {
    fn new(ttl: Duration) -> Self {
        Self {
            settings: Expiring::new(ttl),
            tables: Expiring::new(ttl),
            staff_names: Expiring::new(ttl),
        }
    }
}

impl<S: ?Sized, C: Clone> Clone for OrderService<S, C> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            bus: Arc::clone(&self.bus),
            clock: self.clock.clone(),
            config: self.config.clone(),
            reads: Arc::clone(&self.reads),
        }
    }
}

impl<S, C> OrderService<S, C>
where
    S: OrderPorts + ?Sized,
    C: Clock,
{
    pub fn new(store: Arc<S>, bus: Arc<dyn EventBus>, clock: C, config: OrderServiceConfig) -> Self {
        let reads = Arc::new(CachedReads::new(config.read_cache_ttl));
        Self {
            store,
            bus,
            clock,
            config,
            reads,
        }
    }

    async fn cached_settings(&self) -> Result<Arc<Settings>, StoreError> {
        self.reads
            .settings
            .get_or_load((), || self.store.get_settings())
            .await
    }

    async fn cached_tables(&self) -> Result<Arc<Vec<Table>>, StoreError> {
        self.reads
            .tables
            .get_or_load((), || self.store.list_tables())
            .await
    }

    async fn cached_staff_name(&self, id: StaffId) -> Result<Arc<String>, StoreError> {
        self.reads
            .staff_names
            .get_or_load(id, || async move {
                Ok(self.store.get_staff(id).await?.full_name.as_str().to_owned())
            })
            .await
    }

    pub fn config(&self) -> &OrderServiceConfig {
        &self.config
    }

    /// Now, at the microsecond precision PostgreSQL keeps, so what a use case returns equals
    /// what a later read gives back.
    fn now(&self) -> DateTime<Utc> {
        self.clock.now().trunc_subsecs(6)
    }

    // ----- reads ---------------------------------------------------------------------------

    /// The whole menu for `caller` in one call: categories and products with effective
    /// prices, availability and stock, plus the happy-hour, most-popular and
    /// recently-ordered-by-the-caller lists. (`GET /api/menu` composes the same two parts
    /// itself, keeping the shared one between requests.)
    pub async fn menu(&self, caller: Caller) -> ServiceResult<MenuView> {
        let catalogue = self.menu_catalogue(caller).await?;
        let lists = self.menu_lists(caller, &catalogue).await?;
        Ok(catalogue.with_lists(lists))
    }

    /// The store's menu version: one cheap read that tells whether a kept
    /// [`MenuCatalogue`] is still current (with [`MenuCatalogue::happy_hour_at`]).
    pub async fn menu_version(&self, caller: Caller) -> ServiceResult<i64> {
        permit(caller.actor, Action::ViewMenu)?;
        Ok(self.store.menu_version().await?)
    }

    /// The menu every caller sees alike, priced now. The version is read first, so the rows
    /// are at least as new as it says; the settings are read fresh, not from the short-lived
    /// copy, so a menu is never priced by settings older than its version.
    pub async fn menu_catalogue(&self, caller: Caller) -> ServiceResult<MenuCatalogue> {
        let version = self.menu_version(caller).await?;
        let settings = self.store.get_settings().await?;
        let categories = self.store.list_categories().await?;
        let products = self.store.list_products().await?;
        Ok(views::menu_catalogue(
            version,
            categories,
            products,
            settings,
            self.now(),
        ))
    }

    /// The caller's quick lists on `catalogue`: most ordered over the popularity window and
    /// recently put on orders by the caller.
    pub async fn menu_lists(&self, caller: Caller, catalogue: &MenuCatalogue) -> ServiceResult<MenuLists> {
        permit(caller.actor, Action::ViewMenu)?;
        let now = self.now();
        let since = now.checked_sub_signed(self.config.popular_window).unwrap_or(now);
        let popular = self
            .store
            .popular_products(since, self.config.popular_limit)
            .await?;
        let recent = self
            .store
            .recent_products(caller.actor.id, self.config.recent_limit)
            .await?;
        Ok(catalogue.lists(&popular, &recent))
    }

    /// Now by the service's clock, to ask a kept menu whether its happy-hour state still holds.
    pub fn menu_now(&self) -> DateTime<Utc> {
        self.now()
    }

    /// `GET /api/tables`: every table with its live state and unfinished orders.
    pub async fn tables(&self, caller: Caller) -> ServiceResult<Vec<TableView>> {
        permit(caller.actor, Action::ViewTables)?;
        let tables = Vec::clone(&*self.cached_tables().await?);
        let open = self
            .store
            .list_orders(&OrderFilter::unfinished(Self::FLOOR_LIMIT))
            .await?;
        let ids: Vec<OrderId> = open.iter().map(|o| o.id).collect();
        let bills = if ids.is_empty() {
            Vec::new()
        } else {
            self.store.bills_requested(&ids).await?
        };
        views::floor_view(tables, &open, &bills).map_err(OrderServiceError::refused)
    }

    /// Unfinished orders a floor can hold at once; more would be a runaway, not a café.
    const FLOOR_LIMIT: u32 = 2_000;
    /// Longest list an order query returns.
    pub const LIST_LIMIT: u32 = 500;

    /// `GET /api/orders/{id}`.
    pub async fn get_order(&self, caller: Caller, id: OrderId) -> ServiceResult<Order> {
        permit(caller.actor, Action::ViewOrders)?;
        Ok(self.store.get_order(id).await?)
    }

    /// `GET /api/orders?status=…`; `limit` is clamped to 1..=[`Self::LIST_LIMIT`].
    pub async fn list_orders(&self, caller: Caller, mut filter: OrderFilter) -> ServiceResult<Vec<Order>> {
        permit(caller.actor, Action::ViewOrders)?;
        filter.limit = filter.limit.clamp(1, Self::LIST_LIMIT);
        Ok(self.store.list_orders(&filter).await?)
    }

    /// `GET /api/kds/tickets?station=…`: the station's tickets with per-item state and age,
    /// and its counts. Kitchen and bar accounts see their own station only.
    pub async fn kds_queue(&self, caller: Caller, station: Station) -> ServiceResult<KdsQueue> {
        permit(caller.actor, Action::ViewKdsTickets)?;
        station_permitted(caller.actor, Some(station), Action::ViewKdsTickets)
            .map_err(OrderServiceError::Forbidden)?;
        let orders = self.store.orders_at_station(station).await?;
        let tables = self.cached_tables().await?;
        let thresholds = views::KdsThresholds::of(&*self.cached_settings().await?);
        Ok(views::kds_queue(
            station,
            &orders,
            &tables,
            thresholds,
            self.now(),
        ))
    }

    /// What every station still has to make, for POS and manager screens (kitchen and bar
    /// accounts get their own station only).
    pub async fn station_counts(&self, caller: Caller) -> ServiceResult<Vec<StationCounts>> {
        let actor = caller.actor;
        if !actor.role.may(Action::ViewOrders) {
            permit(actor, Action::ViewKdsTickets)?;
        }
        let now = self.now();
        let thresholds = views::KdsThresholds::of(&*self.cached_settings().await?);
        let mut counts = Vec::new();
        for station in [Station::Kitchen, Station::Bar] {
            if station_permitted(actor, Some(station), Action::ViewKdsTickets).is_err() {
                continue;
            }
            let orders = self.store.orders_at_station(station).await?;
            counts.push(views::kds_queue(station, &orders, &[], thresholds, now).counts);
        }
        Ok(counts)
    }

    // ----- order taking --------------------------------------------------------------------

    /// `POST /api/orders`: a dine-in order (at an active table) or a takeaway, with optional
    /// first items, numbered per business day by the store.
    pub async fn create_order(
        &self,
        caller: Caller,
        cmd: CreateOrderCmd,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        let key = KeyOnRecord::of(claim.as_ref());
        let result = self.create_order_claiming(caller, cmd, claim).await;
        self.answer_on_record(key, result).await
    }

    async fn create_order_claiming(
        &self,
        caller: Caller,
        cmd: CreateOrderCmd,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::CreateOrder)?;
        match (cmd.order_type, cmd.table_id) {
            (OrderType::DineIn, None) => return Err(OrderServiceError::refused(OrderError::TableRequired)),
            (OrderType::Takeaway, Some(_)) => {
                return Err(OrderServiceError::refused(OrderError::TakeawayHasNoTable));
            }
            (OrderType::DineIn, Some(table)) => {
                self.active_table(table).await?;
            }
            (OrderType::Takeaway, None) => {}
        }
        let now = self.now();
        let settings = self.cached_settings().await?;
        let items = self.prepare_items(&cmd.items, &settings, now).await?;
        let date = business_date(now, &settings);
        let new = NewOrder {
            number: 0,
            business_date: date,
            order_type: cmd.order_type,
            table_id: cmd.table_id,
            staff_id: caller.actor.id,
            terminal_id: caller.terminal_id,
            shift_id: cmd.shift_id,
            preparation_notes: cmd.preparation_notes,
            currency: settings.currency,
            pricing: Pricing::from_settings(&settings),
        };
        let work: CreateWork = Box::new(move |number| {
            let mut order = Order::new(NewOrder { number, ..new }, now)?;
            let mut ids = Vec::with_capacity(items.len());
            for item in items {
                ids.push(order.add_item(item, now)?);
            }
            let mut effects = Effects::default();
            effects.events.push(events::order_created(&order)?);
            if let Some(table) = order.table_id {
                effects
                    .events
                    .push(events::table_updated(table, order.id, TableChange::OrderOpened));
            }
            let output = WorkOutput {
                change: OrderChange::Created { items: ids },
                effects,
            };
            Ok((order, output))
        });
        let mutation = self.store.create_order(date, claim, work).await?;
        self.finish(mutation).await
    }

    /// A request refused before its key could be claimed (a product 86'd or a table closed
    /// since the first attempt) still gets what its key has on record: the retry of a request
    /// that went through replays its answer rather than being refused anew (spec §4). Only
    /// the checks made before the claim are concerned; everything after it answers from the
    /// record already.
    async fn answer_on_record(
        &self,
        key: Option<KeyOnRecord>,
        result: ServiceResult<Outcome>,
    ) -> ServiceResult<Outcome> {
        let (Err(error), Some(key)) = (&result, key) else {
            return result;
        };
        if !matches!(
            error,
            OrderServiceError::Invalid(_) | OrderServiceError::Refused { response: None, .. }
        ) {
            return result;
        }
        match self
            .store
            .recorded_answer(key.staff, &key.key, &key.fingerprint)
            .await?
        {
            Some(mutation) => self.finish(mutation).await,
            None => result,
        }
    }

    /// `Ok` when `id` is an active table, else a 422 naming `table_id`.
    async fn active_table(&self, id: TableId) -> ServiceResult<()> {
        if self.cached_tables().await?.iter().any(|t| t.id == id && t.active) {
            Ok(())
        } else {
            Err(ValidationError::new("table_id", "no such table").into())
        }
    }

    /// Snapshots the requested lines: unknown products name their field; unavailable,
    /// out-of-stock products and foreign modifiers are refused. Nothing is written.
    async fn prepare_items(
        &self,
        requests: &[ItemRequest],
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<NewOrderItem>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<ProductId> = requests.iter().map(|r| r.product_id).collect();
        let products: HashMap<ProductId, Product> = self
            .store
            .products_by_ids(&ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        requests
            .iter()
            .enumerate()
            .map(|(i, request)| {
                let product = products.get(&request.product_id).ok_or_else(|| {
                    ValidationError::new(format!("items[{i}].product_id"), "no such product")
                })?;
                let choice = ItemChoice {
                    modifier_ids: request.modifier_ids.clone(),
                    notes: request.notes.clone(),
                    seat: request.seat,
                    course: request.course,
                };
                NewOrderItem::from_product(product, request.quantity, choice, settings, now)
                    .map_err(OrderServiceError::refused)
            })
            .collect()
    }

    async fn mutate(
        &self,
        target: OrderTarget,
        expected_version: Option<i32>,
        claim: Option<IdempotencyClaim>,
        work: OrderWork,
    ) -> ServiceResult<Outcome> {
        let mutation = self
            .store
            .mutate_order(target, expected_version, claim, work)
            .await?;
        self.finish(mutation).await
    }

    /// Turns the store's answer into the use case's, publishing what was appended.
    async fn finish(&self, mutation: Mutation) -> ServiceResult<Outcome> {
        finish_mutation(self.bus.as_ref(), mutation).await
    }
}

mod changes;
mod sending;

/// Turns the order store's answer into a use case's, publishing what was appended. Every
/// use case that changes an order (the order service's, payments) ends through it.
pub(crate) async fn finish_mutation(bus: &dyn EventBus, mutation: Mutation) -> ServiceResult<Outcome> {
    match mutation {
        Mutation::Committed(committed) => {
            let mut publish_error = None;
            for event in &committed.events {
                if let Err(e) = bus.publish(event).await {
                    publish_error.get_or_insert(e);
                }
            }
            let committed = *committed;
            Ok(Outcome::Applied(Box::new(Applied {
                order: committed.order,
                other: committed.other,
                change: committed.change,
                events: committed.events,
                print_jobs: committed.print_jobs,
                response: committed.response,
                publish_error,
            })))
        }
        Mutation::Refused(refusal) => Err(OrderServiceError::Refused {
            error: refusal.error,
            current: refusal.current.map(Box::new),
            response: refusal.response,
        }),
        Mutation::Replayed(response) => Ok(Outcome::Replayed(response)),
        Mutation::KeyMismatch => Err(OrderServiceError::KeyMismatch),
        Mutation::KeyInProgress => Err(OrderServiceError::KeyInProgress),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
