//! The order use cases: one method per thing a terminal or a KDS does.
//!
//! Each method checks the permission matrix first (before any read or write), validates what
//! it can before the store is asked for anything (unknown products or tables answer with
//! nothing written), then hands the store one unit of work (see [`crate::order_ports`]) that
//! applies the domain transition and lists its effects: events, stock, print jobs, audit.
//! After COMMIT the appended events are published on the bus; the log stays the truth when
//! that fails ([`Applied::publish_error`]).

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
use crate::order::{
    ItemChanges, ItemChoice, ItemModifier, ItemStatus, NewOrder, NewOrderItem, Order, OrderError, OrderItem,
    OrderStatus, OrderType,
};
use crate::order_ports::{
    CreateWork, Effects, IdempotencyClaim, MergeWork, Mutation, OrderCatalog, OrderChange, OrderFilter,
    OrderStore, OrderTarget, OrderWork, StockChange, WorkOutput,
};
use crate::orders::events::{self, TableChange, UpdateKind};
use crate::orders::read_cache::Expiring;
use crate::orders::views::{self, KdsQueue, MenuView, StationCounts, TableView};
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

/// The modifiers chosen for `product`: its own active ones, each once.
fn resolve_modifiers(product: &Product, ids: &[ModifierId]) -> Result<Vec<ItemModifier>, OrderError> {
    let mut chosen: Vec<ItemModifier> = Vec::with_capacity(ids.len());
    for &id in ids {
        if chosen.iter().any(|m| m.modifier_id == id) {
            return Err(OrderError::DuplicateModifier(id));
        }
        let modifier = product
            .modifiers
            .iter()
            .find(|m| m.id == id && m.active && m.product_id == product.id)
            .ok_or(OrderError::UnknownModifier(id))?;
        chosen.push(ItemModifier {
            modifier_id: modifier.id,
            name: modifier.name.clone(),
            price: modifier.price,
        });
    }
    Ok(chosen)
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

/// Everything a send needs to print tickets, read before the unit of work.
struct TicketContext {
    settings: Settings,
    table_codes: HashMap<TableId, String>,
    staff_name: String,
    config: OrderServiceConfig,
}

impl TicketContext {
    fn print_job(
        &self,
        order: &Order,
        station: Station,
        items: &[&OrderItem],
        now: DateTime<Utc>,
    ) -> NewPrintJob {
        let ticket = TicketData {
            cafe_name: self.settings.cafe_name.clone(),
            station,
            order_number: order.number,
            order_type: match order.order_type {
                OrderType::DineIn => "Dine-in".to_owned(),
                OrderType::Takeaway => "Takeaway".to_owned(),
            },
            table: order.table_id.and_then(|t| self.table_codes.get(&t).cloned()),
            staff_name: self.staff_name.clone(),
            sent_at: local_time(now, &self.settings),
            items: items
                .iter()
                .map(|i| TicketLine {
                    quantity: i.quantity.get(),
                    name: i.name.as_str().to_owned(),
                    modifiers: i.modifiers.iter().map(|m| m.name.as_str().to_owned()).collect(),
                    notes: i.notes.as_ref().map(|n| n.as_str().to_owned()),
                    seat: i.seat.map(|s| i32::from(s.get())),
                    course: i.course.map(|c| i32::from(c.get())),
                })
                .collect(),
            preparation_notes: order.preparation_notes.as_ref().map(|n| n.as_str().to_owned()),
            reprint: false,
        };
        let paper = self.config.ticket_paper;
        NewPrintJob {
            id: PrintJobId::new(),
            kind: PrintJobKind::ticket_for(station),
            printer: self.config.printer_for(station).to_owned(),
            order_id: Some(order.id),
            shift_id: None,
            paper,
            payload_text: render_ticket_text(&ticket, paper),
            payload_escpos: render_ticket_escpos(&ticket, paper),
        }
    }
}

/// The send transition with everything it emits: per station an `order.sent` event, a
/// ticket print job and its `print_job.queued` event; the stock of every sent item; then
/// `order.updated` (and `order.ready` when only station-less items went out).
fn send_work(order: &mut Order, ctx: &TicketContext, now: DateTime<Utc>) -> Result<WorkOutput, OrderError> {
    let was = order.status;
    let outcome = order.send(now)?;
    let mut effects = Effects::default();
    let table_code = order
        .table_id
        .and_then(|t| ctx.table_codes.get(&t).map(String::as_str));
    for ticket in &outcome.tickets {
        let items = ticket
            .items
            .iter()
            .map(|id| order.item(*id))
            .collect::<Result<Vec<_>, _>>()?;
        effects.events.push(events::order_sent(
            order,
            ticket.station,
            &items,
            ticket.first_for_station,
            table_code,
            now,
        ));
        let job = ctx.print_job(order, ticket.station, &items, now);
        effects.events.push(events::print_job_queued(&job));
        effects.print_jobs.push(job);
    }
    let sent = outcome
        .sent_items()
        .into_iter()
        .map(|id| order.item(id))
        .collect::<Result<Vec<_>, _>>()?;
    effects.stock = stock_of(sent, -1);
    effects
        .events
        .push(events::order_updated(order, UpdateKind::Sent)?);
    announce_ready(was, order, &mut effects)?;
    Ok(WorkOutput {
        change: OrderChange::Sent(outcome),
        effects,
    })
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

    /// `GET /api/menu`: categories and products with effective prices, availability and
    /// stock, plus the happy-hour, most-popular and recently-ordered-by-the-caller lists.
    pub async fn menu(&self, caller: Caller) -> ServiceResult<MenuView> {
        permit(caller.actor, Action::ViewMenu)?;
        let now = self.now();
        let settings = self.cached_settings().await?;
        let categories = self.store.list_categories().await?;
        let products = self.store.list_products().await?;
        let since = now.checked_sub_signed(self.config.popular_window).unwrap_or(now);
        let popular = self
            .store
            .popular_products(since, self.config.popular_limit)
            .await?;
        let recent = self
            .store
            .recent_products(caller.actor.id, self.config.recent_limit)
            .await?;
        Ok(views::menu_view(
            categories, products, &settings, now, &popular, &recent,
        ))
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
        Ok(views::kds_queue(station, &orders, &tables, self.now()))
    }

    /// What every station still has to make, for POS and manager screens (kitchen and bar
    /// accounts get their own station only).
    pub async fn station_counts(&self, caller: Caller) -> ServiceResult<Vec<StationCounts>> {
        let actor = caller.actor;
        if !actor.role.may(Action::ViewOrders) {
            permit(actor, Action::ViewKdsTickets)?;
        }
        let now = self.now();
        let mut counts = Vec::new();
        for station in [Station::Kitchen, Station::Bar] {
            if station_permitted(actor, Some(station), Action::ViewKdsTickets).is_err() {
                continue;
            }
            let orders = self.store.orders_at_station(station).await?;
            counts.push(views::kds_queue(station, &orders, &[], now).counts);
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

    /// `POST /api/orders/{id}/items`: adds pending items, priced now (happy hour included).
    pub async fn add_items(
        &self,
        caller: Caller,
        edit: Edit,
        items: Vec<ItemRequest>,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        let key = KeyOnRecord::of(claim.as_ref());
        let result = self.add_items_claiming(caller, edit, items, claim).await;
        self.answer_on_record(key, result).await
    }

    async fn add_items_claiming(
        &self,
        caller: Caller,
        edit: Edit,
        items: Vec<ItemRequest>,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::EditUnsentItems)?;
        if items.is_empty() {
            return Err(ValidationError::new("items", "must not be empty").into());
        }
        let now = self.now();
        let settings = self.cached_settings().await?;
        let items = self.prepare_items(&items, &settings, now).await?;
        let work: OrderWork = Box::new(move |order| {
            let mut ids = Vec::with_capacity(items.len());
            for item in items {
                ids.push(order.add_item(item, now)?);
            }
            updated(order, OrderChange::ItemsAdded(ids), UpdateKind::ItemsAdded)
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// `PATCH /api/orders/{id}/items/{item_id}`: changes a pending item.
    pub async fn update_item(
        &self,
        caller: Caller,
        edit: Edit,
        item_id: OrderItemId,
        update: ItemUpdate,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        let key = KeyOnRecord::of(claim.as_ref());
        let result = self
            .update_item_claiming(caller, edit, item_id, update, claim)
            .await;
        self.answer_on_record(key, result).await
    }

    async fn update_item_claiming(
        &self,
        caller: Caller,
        edit: Edit,
        item_id: OrderItemId,
        update: ItemUpdate,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::EditUnsentItems)?;
        // Modifiers are snapshotted from the item's product; an item never changes product,
        // so reading it ahead of the unit is safe (the unit re-checks the item is there).
        let modifiers = match &update.modifier_ids {
            None => None,
            Some(ids) => {
                let current = self.store.get_order(edit.order_id).await?;
                let product_id = match current.item(item_id) {
                    Ok(item) => item.product_id,
                    Err(error) => {
                        return Err(OrderServiceError::Refused {
                            error,
                            current: Some(Box::new(current)),
                            response: None,
                        });
                    }
                };
                let products = self.store.products_by_ids(&[product_id]).await?;
                let product = products
                    .iter()
                    .find(|p| p.id == product_id)
                    .ok_or_else(|| OrderServiceError::refused(OrderError::ProductUnavailable(product_id)))?;
                Some(resolve_modifiers(product, ids).map_err(OrderServiceError::refused)?)
            }
        };
        let now = self.now();
        let changes = ItemChanges {
            quantity: update.quantity,
            modifiers,
            notes: update.notes,
            seat: update.seat,
            course: update.course,
        };
        let work: OrderWork = Box::new(move |order| {
            order.update_item(item_id, changes, now)?;
            updated(order, OrderChange::ItemUpdated(item_id), UpdateKind::ItemUpdated)
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// `DELETE /api/orders/{id}/items/{item_id}`: removes a pending item.
    pub async fn remove_item(
        &self,
        caller: Caller,
        edit: Edit,
        item_id: OrderItemId,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::EditUnsentItems)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let was = order.status;
            order.remove_item(item_id, now)?;
            let mut output = updated(order, OrderChange::ItemRemoved(item_id), UpdateKind::ItemRemoved)?;
            announce_ready(was, order, &mut output.effects)?;
            Ok(output)
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// Sets or clears the order's preparation notes (printed on its tickets).
    pub async fn set_preparation_notes(
        &self,
        caller: Caller,
        edit: Edit,
        notes: Option<Note>,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::EditUnsentItems)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            order.set_preparation_notes(notes, now)?;
            updated(
                order,
                OrderChange::PreparationNotesSet,
                UpdateKind::PreparationNotesSet,
            )
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// `POST /api/orders/{id}/send`: routes every pending item to its station, queues one
    /// ticket per station, decrements stock.
    pub async fn send(
        &self,
        caller: Caller,
        edit: Edit,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::SendOrder)?;
        let now = self.now();
        let settings = Settings::clone(&*self.cached_settings().await?);
        let table_codes = self
            .cached_tables()
            .await?
            .iter()
            .map(|t| (t.id, t.code.as_str().to_owned()))
            .collect();
        let staff_name = String::clone(&*self.cached_staff_name(caller.actor.id).await?);
        let ctx = TicketContext {
            settings,
            table_codes,
            staff_name,
            config: self.config.clone(),
        };
        let work: OrderWork = Box::new(move |order| send_work(order, &ctx, now));
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// `POST /api/orders/{id}/serve`: every ready item goes out.
    pub async fn serve(
        &self,
        caller: Caller,
        edit: Edit,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::ServeOrder)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let served = order.serve(now)?;
            let mut effects = Effects::default();
            for id in &served {
                let item = order.item(*id)?;
                if item.station.is_some() {
                    effects
                        .events
                        .push(events::item_status_changed(order, item, ItemStatus::Ready));
                }
            }
            effects
                .events
                .push(events::order_updated(order, UpdateKind::Served)?);
            Ok(WorkOutput {
                change: OrderChange::Served(served),
                effects,
            })
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    // ----- kitchen display -----------------------------------------------------------------

    /// `POST /api/kds/items/{item_id}/bump`: sent → preparing → ready. The order becomes
    /// ready (event `order.ready`) when its last item is.
    pub async fn bump_item(
        &self,
        caller: Caller,
        item_id: OrderItemId,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        self.step_item(caller, item_id, claim, true).await
    }

    /// `POST /api/kds/items/{item_id}/recall`: undoes the last bump (ready → preparing →
    /// sent).
    pub async fn recall_item(
        &self,
        caller: Caller,
        item_id: OrderItemId,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        self.step_item(caller, item_id, claim, false).await
    }

    async fn step_item(
        &self,
        caller: Caller,
        item_id: OrderItemId,
        claim: Option<IdempotencyClaim>,
        forward: bool,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::BumpKdsItems)?;
        let actor = caller.actor;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let item = order.item(item_id)?;
            station_permitted(actor, item.station, Action::BumpKdsItems)?;
            let previous = item.status;
            let was = order.status;
            let change = if forward {
                let status = order.bump_item(item_id, now)?;
                OrderChange::ItemBumped {
                    item: item_id,
                    status,
                }
            } else {
                let status = order.recall_item(item_id, now)?;
                OrderChange::ItemRecalled {
                    item: item_id,
                    status,
                }
            };
            let mut effects = Effects::default();
            effects
                .events
                .push(events::item_status_changed(order, order.item(item_id)?, previous));
            announce_ready(was, order, &mut effects)?;
            Ok(WorkOutput { change, effects })
        });
        self.mutate(OrderTarget::Item(item_id), None, claim, work).await
    }

    /// Bumps a whole ticket: every item of `station` still at it becomes ready.
    pub async fn bump_ticket(
        &self,
        caller: Caller,
        order_id: OrderId,
        station: Station,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::BumpKdsItems)?;
        station_permitted(caller.actor, Some(station), Action::BumpKdsItems)
            .map_err(OrderServiceError::Forbidden)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let before: HashMap<OrderItemId, ItemStatus> =
                order.items.iter().map(|i| (i.id, i.status)).collect();
            let was = order.status;
            let bumped = order.bump_station(station, now)?;
            let mut effects = Effects::default();
            for id in &bumped {
                let previous = before.get(id).copied().unwrap_or(ItemStatus::Sent);
                effects
                    .events
                    .push(events::item_status_changed(order, order.item(*id)?, previous));
            }
            announce_ready(was, order, &mut effects)?;
            Ok(WorkOutput {
                change: OrderChange::TicketBumped {
                    station,
                    items: bumped,
                },
                effects,
            })
        });
        self.mutate(OrderTarget::Order(order_id), None, claim, work).await
    }

    // ----- voids, cancel, move, merge -------------------------------------------------------

    /// `POST /api/orders/{id}/items/{item_id}/void`: a pending item by anyone who edits
    /// orders; once sent, only with a manager (acting or approving). Sent stock comes back.
    /// The audit log records who voided and who approved.
    pub async fn void_item(
        &self,
        caller: Caller,
        edit: Edit,
        item_id: OrderItemId,
        void: VoidCmd,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::EditUnsentItems)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let before = order.item(item_id)?.clone();
            let was = order.status;
            let record = order.void_item(item_id, caller.actor, void.approval, void.reason, now)?;
            let was_sent = before.status != ItemStatus::Pending;
            let mut effects = Effects::default();
            if was_sent {
                effects.stock = stock_of([&before], 1);
            }
            if was_sent && before.station.is_some() && before.status != ItemStatus::Served {
                effects.events.push(events::item_status_changed(
                    order,
                    order.item(item_id)?,
                    before.status,
                ));
            }
            effects
                .events
                .push(events::order_updated(order, UpdateKind::ItemVoided)?);
            announce_ready(was, order, &mut effects)?;
            effects.audit.push(
                NewAuditEntry::new("order_item.voided", "order_item")
                    .actor(Some(record.by))
                    .approver(record.approved_by)
                    .terminal(caller.terminal_id)
                    .entity_id(item_id)
                    .before(serde_json::json!({
                        "order_id": order.id,
                        "order_number": order.number,
                        "name": before.name.as_str(),
                        "quantity": before.quantity.get(),
                        "unit_price": before.unit_price.minor(),
                        "currency": order.currency,
                        "status": before.status,
                    }))
                    .after(serde_json::json!({
                        "status": ItemStatus::Voided,
                        "reason": record.reason.as_str(),
                    })),
            );
            Ok(WorkOutput {
                change: OrderChange::ItemVoided {
                    item: item_id,
                    record,
                },
                effects,
            })
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// `POST /api/orders/{id}/void`: the whole order, before close and with nothing paid;
    /// needs a manager once anything was sent. Sent stock comes back, the stations drop the
    /// items, the table frees up, the audit log records both people.
    pub async fn void_order(
        &self,
        caller: Caller,
        edit: Edit,
        void: VoidCmd,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::EditUnsentItems)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let before: Vec<OrderItem> = order.live_items().cloned().collect();
            let total_before = order.totals()?.total;
            let status_before = order.status;
            let record = order.void_order(caller.actor, void.approval, void.reason, now)?;
            let mut effects = Effects {
                stock: stock_of(before.iter().filter(|i| i.status != ItemStatus::Pending), 1),
                ..Effects::default()
            };
            for item in before.iter().filter(|i| {
                i.station.is_some()
                    && matches!(
                        i.status,
                        ItemStatus::Sent | ItemStatus::Preparing | ItemStatus::Ready
                    )
            }) {
                effects.events.push(events::item_status_changed(
                    order,
                    order.item(item.id)?,
                    item.status,
                ));
            }
            effects.events.push(events::order_voided(order, &record)?);
            if let Some(table) = order.table_id {
                effects
                    .events
                    .push(events::table_updated(table, order.id, TableChange::OrderEnded));
            }
            effects.audit.push(
                NewAuditEntry::new("order.voided", "order")
                    .actor(Some(record.by))
                    .approver(record.approved_by)
                    .terminal(caller.terminal_id)
                    .entity_id(order.id)
                    .before(serde_json::json!({
                        "number": order.number,
                        "status": status_before,
                        "total": total_before.minor(),
                        "currency": order.currency,
                        "items": before.len(),
                    }))
                    .after(serde_json::json!({
                        "status": OrderStatus::Voided,
                        "reason": record.reason.as_str(),
                    })),
            );
            Ok(WorkOutput {
                change: OrderChange::OrderVoided(record),
                effects,
            })
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// Ends an order that has nothing (live) on it.
    pub async fn cancel_empty(
        &self,
        caller: Caller,
        edit: Edit,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::CancelEmptyOrder)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            order.cancel_empty(now)?;
            let mut effects = Effects::default();
            effects.events.push(events::order_closed(order)?);
            if let Some(table) = order.table_id {
                effects
                    .events
                    .push(events::table_updated(table, order.id, TableChange::OrderEnded));
            }
            Ok(WorkOutput {
                change: OrderChange::Cancelled,
                effects,
            })
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// Moves a dine-in order to another (active) table; both tables get a `table.updated`.
    pub async fn move_to_table(
        &self,
        caller: Caller,
        edit: Edit,
        table_id: TableId,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        let key = KeyOnRecord::of(claim.as_ref());
        let result = self.move_to_table_claiming(caller, edit, table_id, claim).await;
        self.answer_on_record(key, result).await
    }

    async fn move_to_table_claiming(
        &self,
        caller: Caller,
        edit: Edit,
        table_id: TableId,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::MoveOrder)?;
        self.active_table(table_id).await?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let from = order.move_to_table(table_id, now)?;
            let mut output = updated(
                order,
                OrderChange::Moved { from, to: table_id },
                UpdateKind::Moved,
            )?;
            if let Some(from) = from {
                output
                    .effects
                    .events
                    .push(events::table_updated(from, order.id, TableChange::OrderMovedOut));
            }
            output.effects.events.push(events::table_updated(
                table_id,
                order.id,
                TableChange::OrderMovedIn,
            ));
            Ok(output)
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// Moves every item of `source` onto `target` and cancels `source` (merged into it).
    /// Items still at a station are announced to it (`order.merged`) under the new number.
    pub async fn merge(
        &self,
        caller: Caller,
        target: Edit,
        source: Edit,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::MergeOrders)?;
        if target.order_id == source.order_id {
            return Err(OrderServiceError::refused(OrderError::MergeWithItself));
        }
        let now = self.now();
        let work: MergeWork = Box::new(move |target, source| {
            let moved = target.merge_from(source, now)?;
            let mut effects = Effects::default();
            effects
                .events
                .push(events::order_updated(target, UpdateKind::Merged)?);
            effects.events.push(events::order_closed(source)?);
            let mut at_station: BTreeMap<Station, Vec<OrderItemId>> = BTreeMap::new();
            for id in &moved {
                let item = target.item(*id)?;
                if let (Some(station), ItemStatus::Sent | ItemStatus::Preparing | ItemStatus::Ready) =
                    (item.station, item.status)
                {
                    at_station.entry(station).or_default().push(item.id);
                }
            }
            for (station, ids) in at_station {
                effects
                    .events
                    .push(events::order_merged(target, source, station, ids));
            }
            if let Some(table) = source.table_id {
                effects
                    .events
                    .push(events::table_updated(table, source.id, TableChange::OrderMerged));
            }
            effects.audit.push(
                NewAuditEntry::new("order.merged", "order")
                    .actor(Some(caller.actor.id))
                    .terminal(caller.terminal_id)
                    .entity_id(target.id)
                    .before(serde_json::json!({
                        "source_order_id": source.id,
                        "source_number": source.number,
                    }))
                    .after(serde_json::json!({
                        "number": target.number,
                        "items_moved": moved,
                    })),
            );
            Ok(WorkOutput {
                change: OrderChange::Merged {
                    source: source.id,
                    items: moved,
                },
                effects,
            })
        });
        let mutation = self
            .store
            .merge_orders(
                (target.order_id, target.expected_version),
                (source.order_id, source.expected_version),
                claim,
                work,
            )
            .await?;
        self.finish(mutation).await
    }

    // ----- plumbing ------------------------------------------------------------------------

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
        match mutation {
            Mutation::Committed(committed) => {
                let mut publish_error = None;
                for event in &committed.events {
                    if let Err(e) = self.bus.publish(event).await {
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
}
