//! [`InMemoryStore`]: every port the order use cases need, in memory, following the
//! transaction recipe of [`crate::order::ports`] step by step (one mutex = one transaction:
//! nothing is written until the whole unit is known to commit).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::approval::Actor;
use crate::audit::NewAuditEntry;
use crate::error::StoreError;
use crate::event::{Event, NewEvent};
use crate::idempotency::{IdempotencyKey, IdempotencyRecord, RequestFingerprint, StoredResponse, decide};
use crate::ids::{CategoryId, ModifierId, OrderId, ProductId, StaffId, TableId};
use crate::money::Money;
use crate::order::ports::{
    CreateWork, IdempotencyClaim, IdempotencyPurge, MergeWork, Mutation, OrderCatalog, OrderFilter,
    OrderStore, OrderTarget, OrderWork, ProductCount,
};
use crate::order::unit_of_work::{self, EffectsToWrite, Ending, Plan, UnitStore};
use crate::order::{ItemStatus, Order};
use crate::permissions::Role;
use crate::ports::{Clock, MenuStore, SettingsStore, StaffStore, TableStore};
use crate::print_job::{NewPrintJob, PrintJobKind};
use crate::settings::Settings;
use crate::staff::{NewStaff, Staff, StaffCredentials, Station};
use crate::validate::{Label, PersonName, Sku, Username};
use crate::venue::{Category, Modifier, Product, Table};

mod other_ports;

#[derive(Default, Clone)]
struct State {
    settings: Option<Settings>,
    staff: BTreeMap<StaffId, StaffCredentials>,
    tables: Vec<Table>,
    categories: Vec<Category>,
    products: BTreeMap<ProductId, Product>,
    orders: BTreeMap<OrderId, Order>,
    counters: BTreeMap<NaiveDate, i32>,
    idempotency: BTreeMap<(StaffId, String), IdempotencyRecord>,
    events: Vec<Event>,
    print_jobs: Vec<NewPrintJob>,
    audit: Vec<NewAuditEntry>,
    payments: BTreeMap<crate::ids::PaymentId, crate::payment::Payment>,
    last_receipt: i64,
    receipts: BTreeMap<OrderId, i64>,
    open_shifts: BTreeMap<StaffId, crate::ids::ShiftId>,
    /// What the provider reported of online payments: method name, confirmation code.
    providers: BTreeMap<crate::ids::PaymentId, (Option<String>, Option<String>)>,
    refunds: Vec<crate::payment::Refund>,
}

/// The in-memory fake of the order ports (and of the staff, table, menu and settings stores
/// the order use cases read).
pub struct InMemoryStore {
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
}

impl InMemoryStore {
    /// An empty venue with default settings (`Test Cafe`, UGX).
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let state = State {
            settings: Some(Settings::defaults("Test Cafe")),
            ..State::default()
        };
        Self {
            state: Mutex::new(state),
            clock,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked mid-call leaves consistent data: every write happens at the end.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ----- seeding -------------------------------------------------------------------------

    /// An active staff member with this role; returns them as an actor.
    pub fn add_staff(&self, role: Role, username: &str) -> Actor {
        let now = self.clock.now();
        let staff = Staff {
            id: StaffId::new(),
            username: Username::parse(username).unwrap_or_else(|e| panic!("{e}")),
            full_name: PersonName::parse(&format!("{username} (test)")).unwrap_or_else(|e| panic!("{e}")),
            role,
            active: true,
            must_change_password: false,
            token_version: 1,
            has_pin: false,
            created_at: now,
            updated_at: now,
        };
        let actor = Actor::new(staff.id, role);
        self.state().staff.insert(
            staff.id,
            StaffCredentials {
                staff,
                password_hash: String::new(),
                pin_hash: None,
            },
        );
        actor
    }

    pub fn add_table(&self, code: &str) -> Table {
        let mut state = self.state();
        let table = Table {
            id: TableId::new(),
            code: Label::parse(code).unwrap_or_else(|e| panic!("{e}")),
            area: None,
            seats: 4,
            image_url: None,
            sort_order: i32::try_from(state.tables.len()).unwrap_or(i32::MAX),
            active: true,
        };
        state.tables.push(table.clone());
        table
    }

    pub fn add_category(&self, name: &str, station: Option<Station>) -> Category {
        let mut state = self.state();
        let category = Category {
            id: CategoryId::new(),
            name: Label::parse(name).unwrap_or_else(|e| panic!("{e}")),
            default_station: station,
            sort_order: i32::try_from(state.categories.len()).unwrap_or(i32::MAX),
            active: true,
        };
        state.categories.push(category.clone());
        category
    }

    /// An available, active product of `category` priced in the venue currency.
    pub fn add_product(
        &self,
        category: CategoryId,
        name: &str,
        price: i64,
        station: Option<Station>,
    ) -> Product {
        let mut state = self.state();
        let currency = state.settings.as_ref().map(|s| s.currency).unwrap_or_default();
        let sku = format!("SKU-{}", state.products.len() + 1);
        let product = Product {
            id: ProductId::new(),
            sku: Sku::parse(&sku).unwrap_or_else(|e| panic!("{e}")),
            name: Label::parse(name).unwrap_or_else(|e| panic!("{e}")),
            category_id: category,
            section: None,
            price: Money::new(price, currency),
            station,
            available: true,
            active: true,
            image_url: None,
            sort_order: i32::try_from(state.products.len()).unwrap_or(i32::MAX),
            happy_hour_price: None,
            stock_qty: None,
            modifiers: Vec::new(),
            updated_at: self.clock.now(),
        };
        state.products.insert(product.id, product.clone());
        product
    }

    /// An active modifier on `product`.
    pub fn add_modifier(&self, product: ProductId, name: &str, price: i64) -> Modifier {
        self.update_product(product, |p| {
            let modifier = Modifier {
                id: ModifierId::new(),
                product_id: p.id,
                name: Label::parse(name).unwrap_or_else(|e| panic!("{e}")),
                price: Money::new(price, p.price.currency()),
                active: true,
            };
            p.modifiers.push(modifier);
        })
        .modifiers
        .last()
        .cloned()
        .unwrap_or_else(|| panic!("modifier just added"))
    }

    /// Edits a product in place (stock, availability, happy-hour price…); returns it.
    pub fn update_product(&self, id: ProductId, change: impl FnOnce(&mut Product)) -> Product {
        let mut state = self.state();
        let product = state
            .products
            .get_mut(&id)
            .unwrap_or_else(|| panic!("no product {id}"));
        change(product);
        product.clone()
    }

    /// Queues a print job outside any order unit (a bill printed by the payments side).
    pub fn queue_print_job(&self, job: NewPrintJob) {
        self.state().print_jobs.push(job);
    }

    /// A committed record without a response: what a request still running looks like to a
    /// request that could not wait for it.
    pub fn hold_key(&self, staff: StaffId, key: &IdempotencyKey, fingerprint: &RequestFingerprint) {
        let record = IdempotencyRecord {
            staff_id: staff,
            key: key.clone(),
            fingerprint: fingerprint.clone(),
            response: None,
            created_at: self.clock.now(),
        };
        self.state()
            .idempotency
            .insert((staff, key.as_str().to_owned()), record);
    }

    // ----- inspection ----------------------------------------------------------------------

    pub fn events(&self) -> Vec<Event> {
        self.state().events.clone()
    }

    pub fn print_jobs(&self) -> Vec<NewPrintJob> {
        self.state().print_jobs.clone()
    }

    /// The receipt number the order was closed with.
    pub fn receipt_number(&self, order: OrderId) -> Option<i64> {
        self.state().receipts.get(&order).copied()
    }

    /// The payments units wrote, by id.
    pub fn payments(&self) -> Vec<crate::payment::Payment> {
        self.state().payments.values().cloned().collect()
    }

    pub fn audit(&self) -> Vec<NewAuditEntry> {
        self.state().audit.clone()
    }

    pub fn stock(&self, product: ProductId) -> Option<i32> {
        self.state().products.get(&product).and_then(|p| p.stock_qty)
    }

    pub fn order(&self, id: OrderId) -> Option<Order> {
        self.state().orders.get(&id).cloned()
    }

    pub fn order_count(&self) -> usize {
        self.state().orders.len()
    }

    pub fn idempotency_record(&self, staff: StaffId, key: &IdempotencyKey) -> Option<IdempotencyRecord> {
        self.state()
            .idempotency
            .get(&(staff, key.as_str().to_owned()))
            .cloned()
    }

    /// Opens a shift for `staff` as far as payments see it (the fake keeps no drawer).
    pub fn open_shift_for(&self, staff: StaffId) -> crate::ids::ShiftId {
        *self.state().open_shifts.entry(staff).or_default()
    }

    /// Stores a payment as if it had been taken (an online one completed by its provider,
    /// with the provider's method name and confirmation code).
    pub fn put_payment(
        &self,
        payment: crate::payment::Payment,
        provider_method: Option<&str>,
        confirmation_code: Option<&str>,
    ) {
        let mut state = self.state();
        state.providers.insert(
            payment.id,
            (
                provider_method.map(str::to_owned),
                confirmation_code.map(str::to_owned),
            ),
        );
        if let Some(order) = state.orders.get_mut(&payment.order_id)
            && payment.status.received()
        {
            order.paid = order.paid.checked_add(payment.amount).unwrap_or(order.paid);
        }
        state.payments.insert(payment.id, payment);
    }

    /// The refunds written so far.
    pub fn refunds(&self) -> Vec<crate::payment::Refund> {
        self.state().refunds.clone()
    }

    // ----- the unit of work ----------------------------------------------------------------

    /// One unit on a copy of the state, kept only when the unit commits (one mutex = one
    /// transaction). The recipe and every rule are [`unit_of_work::run`]'s.
    fn run_unit(
        &self,
        claim: Option<IdempotencyClaim>,
        plan: impl FnOnce(&mut State) -> Plan,
    ) -> Result<Mutation, StoreError> {
        let now = self.clock.now();
        let mut state = self.state();
        let mut copy = state.clone();
        let plan = plan(&mut copy);
        match unit_of_work::run(
            &mut FakeUnit {
                state: &mut copy,
                now,
            },
            claim,
            plan,
        )? {
            Ending::Commit(mutation) => {
                *state = copy;
                Ok(mutation)
            }
            Ending::RollBack(mutation) => Ok(mutation),
        }
    }

    fn locate(state: &State, target: OrderTarget) -> Result<Order, StoreError> {
        match target {
            OrderTarget::Order(id) => state
                .orders
                .get(&id)
                .cloned()
                .ok_or(StoreError::not_found("order")),
            OrderTarget::Item(item) => state
                .orders
                .values()
                .find(|o| o.items.iter().any(|i| i.id == item))
                .cloned()
                .ok_or(StoreError::not_found("order_item")),
            OrderTarget::Payment(payment) => {
                let order = state
                    .payments
                    .get(&payment)
                    .map(|p| p.order_id)
                    .ok_or(StoreError::not_found("payment"))?;
                Self::locate(state, OrderTarget::Order(order))
            }
        }
    }
}

/// [`UnitStore`] over the fake's state: plain reads and writes, no rule.
struct FakeUnit<'a> {
    state: &'a mut State,
    now: DateTime<Utc>,
}

impl UnitStore for FakeUnit<'_> {
    type Error = StoreError;

    fn claim(&mut self, claim: &IdempotencyClaim) -> Result<Option<Mutation>, StoreError> {
        let existing = self
            .state
            .idempotency
            .get(&(claim.staff_id, claim.key.as_str().to_owned()));
        Ok(Mutation::from_record(decide(
            existing,
            &claim.fingerprint,
            self.now,
        )))
    }

    fn lock_order(&mut self, target: OrderTarget) -> Result<Order, StoreError> {
        InMemoryStore::locate(self.state, target)
    }

    fn lock_pair(&mut self, target: OrderId, source: OrderId) -> Result<(Order, Order), StoreError> {
        Ok((
            InMemoryStore::locate(self.state, OrderTarget::Order(target))?,
            InMemoryStore::locate(self.state, OrderTarget::Order(source))?,
        ))
    }

    fn lock_tracked_stock(&mut self, products: &[ProductId]) -> Result<BTreeMap<ProductId, i32>, StoreError> {
        Ok(products
            .iter()
            .filter_map(|id| {
                let qty = self.state.products.get(id)?.stock_qty?;
                Some((*id, qty))
            })
            .collect())
    }

    fn write_effects(&mut self, effects: &mut EffectsToWrite) -> Result<(), StoreError> {
        for level in &effects.stock {
            if let Some(product) = self.state.products.get_mut(&level.product_id) {
                product.stock_qty = Some(level.stock_qty);
            }
        }
        for save in &effects.saves {
            let current = self.state.orders.get(&save.next.id).map(|o| o.version);
            if current != save.loaded.as_ref().map(|o| o.version) {
                return Err(StoreError::Internal("an order changed under its lock".into()));
            }
            self.state.orders.insert(save.next.id, save.next.clone());
        }
        self.state.print_jobs.extend(effects.print_jobs.iter().cloned());
        self.state.audit.extend(effects.audit.iter().cloned());
        self.state
            .payments
            .extend(effects.payments.iter().map(|p| (p.id, p.clone())));
        self.state.refunds.extend(effects.refunds.iter().cloned());
        for receipt in &effects.receipts {
            let number = receipt
                .number
                .ok_or_else(|| StoreError::Internal("a receipt without its number".into()))?;
            self.state.receipts.insert(receipt.order_id, number);
        }
        Ok(())
    }

    fn look_up(
        &mut self,
        order: &Order,
        lookups: crate::order::ports::Lookups,
    ) -> Result<crate::order::ports::Found, StoreError> {
        Ok(crate::order::ports::Found {
            open_shift: lookups
                .open_shift_of
                .and_then(|staff| self.state.open_shifts.get(&staff).copied()),
            payment: lookups
                .payment
                .and_then(|id| self.state.payments.get(&id))
                .filter(|p| p.order_id == order.id)
                .cloned(),
        })
    }

    fn next_receipt_number(&mut self) -> Result<i64, StoreError> {
        self.state.last_receipt += 1;
        Ok(self.state.last_receipt)
    }

    fn receipt_facts(&mut self, order: &Order) -> Result<crate::receipts::ReceiptFacts, StoreError> {
        let settings = self
            .state
            .settings
            .clone()
            .ok_or(StoreError::not_found("settings"))?;
        let staff_name = self
            .state
            .staff
            .get(&order.staff_id)
            .map(|c| c.staff.full_name.as_str().to_owned())
            .unwrap_or_default();
        let table = order.table_id.and_then(|id| {
            self.state
                .tables
                .iter()
                .find(|t| t.id == id)
                .map(|t| t.code.as_str().to_owned())
        });
        let mut paid: Vec<&crate::payment::Payment> = self
            .state
            .payments
            .values()
            .filter(|p| p.order_id == order.id && p.status.received())
            .collect();
        paid.sort_by_key(|p| (p.created_at, p.id));
        Ok(crate::receipts::ReceiptFacts {
            settings,
            staff_name,
            table,
            payments: paid
                .into_iter()
                .map(crate::receipts::ReceiptPayment::from)
                .collect(),
        })
    }

    fn store_answer(
        &mut self,
        staff: StaffId,
        key: &IdempotencyKey,
        fingerprint: &RequestFingerprint,
        answer: &StoredResponse,
    ) -> Result<(), StoreError> {
        self.state.idempotency.insert(
            (staff, key.as_str().to_owned()),
            IdempotencyRecord {
                staff_id: staff,
                key: key.clone(),
                fingerprint: fingerprint.clone(),
                response: Some(answer.clone()),
                created_at: self.now,
            },
        );
        Ok(())
    }

    fn append_events(&mut self, events: Vec<NewEvent>) -> Result<Vec<Event>, StoreError> {
        Ok(events
            .into_iter()
            .map(|event| {
                let id = i64::try_from(self.state.events.len()).unwrap_or(i64::MAX) + 1;
                let event = Event {
                    id,
                    event_type: event.event_type,
                    topic: event.topic,
                    station: event.station,
                    payload: event.payload,
                    occurred_at: self.now,
                };
                self.state.events.push(event.clone());
                event
            })
            .collect())
    }
}

#[async_trait]
impl OrderStore for InMemoryStore {
    async fn recorded_answer(
        &self,
        staff: StaffId,
        key: &IdempotencyKey,
        fingerprint: &RequestFingerprint,
    ) -> Result<Option<Mutation>, StoreError> {
        let state = self.state();
        let existing = state.idempotency.get(&(staff, key.as_str().to_owned()));
        Ok(Mutation::from_record(decide(
            existing,
            fingerprint,
            self.clock.now(),
        )))
    }

    async fn create_order(
        &self,
        business_date: NaiveDate,
        claim: Option<IdempotencyClaim>,
        work: CreateWork,
    ) -> Result<Mutation, StoreError> {
        self.run_unit(claim, |state| {
            // Taken in the unit: a unit that does not commit leaves the counter as it was.
            let number = state.counters.get(&business_date).copied().unwrap_or(0) + 1;
            state.counters.insert(business_date, number);
            Plan::Create {
                business_date,
                number,
                work,
            }
        })
    }

    async fn mutate_order(
        &self,
        target: OrderTarget,
        expected_version: Option<i32>,
        claim: Option<IdempotencyClaim>,
        work: OrderWork,
    ) -> Result<Mutation, StoreError> {
        self.run_unit(claim, |_| Plan::mutate(target, expected_version, work))
    }

    async fn mutate_order_with(
        &self,
        target: OrderTarget,
        lookups: crate::order::ports::Lookups,
        claim: Option<IdempotencyClaim>,
        work: crate::order::ports::LookupWork,
    ) -> Result<Mutation, StoreError> {
        self.run_unit(claim, |_| Plan::Mutate {
            target,
            expected_version: None,
            lookups,
            work,
        })
    }

    async fn merge_orders(
        &self,
        target: (OrderId, Option<i32>),
        source: (OrderId, Option<i32>),
        claim: Option<IdempotencyClaim>,
        work: MergeWork,
    ) -> Result<Mutation, StoreError> {
        self.run_unit(claim, |_| Plan::Merge { target, source, work })
    }

    async fn payments_of_order(&self, id: OrderId) -> Result<Vec<crate::payment::Payment>, StoreError> {
        let state = self.state();
        if !state.orders.contains_key(&id) {
            return Err(StoreError::not_found("order"));
        }
        let mut paid: Vec<_> = state
            .payments
            .values()
            .filter(|p| p.order_id == id)
            .cloned()
            .collect();
        paid.sort_by_key(|p| (p.created_at, p.id));
        Ok(paid)
    }

    async fn get_payment(
        &self,
        id: crate::ids::PaymentId,
    ) -> Result<crate::order::ports::StoredPayment, StoreError> {
        let state = self.state();
        let payment = state
            .payments
            .get(&id)
            .cloned()
            .ok_or(StoreError::not_found("payment"))?;
        let (provider_method, confirmation_code) = state.providers.get(&id).cloned().unwrap_or_default();
        Ok(crate::order::ports::StoredPayment {
            payment,
            provider_method,
            confirmation_code,
        })
    }

    async fn get_order(&self, id: OrderId) -> Result<Order, StoreError> {
        Self::locate(&self.state(), OrderTarget::Order(id))
    }

    async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, StoreError> {
        let state = self.state();
        let mut orders: Vec<Order> = state
            .orders
            .values()
            .filter(|o| filter.matches(o))
            .cloned()
            .collect();
        orders.sort_by_key(|o| std::cmp::Reverse((o.created_at, o.id)));
        orders.truncate(usize::try_from(filter.limit).unwrap_or(usize::MAX));
        Ok(orders)
    }

    async fn orders_at_station(&self, station: Station) -> Result<Vec<Order>, StoreError> {
        let state = self.state();
        let mut found: Vec<(DateTime<Utc>, Order)> = state
            .orders
            .values()
            .filter(|o| !o.is_finished())
            .filter_map(|o| {
                o.items
                    .iter()
                    .filter(|i| {
                        i.station == Some(station)
                            && matches!(
                                i.status,
                                ItemStatus::Sent | ItemStatus::Preparing | ItemStatus::Ready
                            )
                    })
                    .filter_map(|i| i.sent_at)
                    .min()
                    .map(|first| (first, o.clone()))
            })
            .collect();
        found.sort_by_key(|(first, o)| (*first, o.id));
        Ok(found.into_iter().map(|(_, o)| o).collect())
    }

    async fn bills_requested(&self, orders: &[OrderId]) -> Result<Vec<OrderId>, StoreError> {
        let state = self.state();
        let billed: BTreeSet<OrderId> = state
            .print_jobs
            .iter()
            .filter(|j| j.kind == PrintJobKind::Receipt)
            .filter_map(|j| j.order_id)
            .collect();
        Ok(orders.iter().copied().filter(|id| billed.contains(id)).collect())
    }
}

#[async_trait]
impl OrderCatalog for InMemoryStore {
    async fn products_by_ids(&self, ids: &[ProductId]) -> Result<Vec<Product>, StoreError> {
        let state = self.state();
        let wanted: BTreeSet<ProductId> = ids.iter().copied().collect();
        Ok(wanted
            .into_iter()
            .filter_map(|id| state.products.get(&id))
            .map(|p| {
                let mut p = p.clone();
                p.modifiers.retain(|m| m.active);
                p
            })
            .collect())
    }

    async fn popular_products(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ProductCount>, StoreError> {
        let state = self.state();
        let mut counts: BTreeMap<ProductId, i64> = BTreeMap::new();
        for item in state.orders.values().flat_map(|o| o.items.iter()) {
            let active = state.products.get(&item.product_id).is_some_and(|p| p.active);
            if item.is_live() && item.created_at >= since && active {
                *counts.entry(item.product_id).or_default() += i64::from(item.quantity.get());
            }
        }
        let mut ranked: Vec<ProductCount> = counts
            .into_iter()
            .map(|(product_id, quantity)| ProductCount { product_id, quantity })
            .collect();
        ranked.sort_by(|a, b| b.quantity.cmp(&a.quantity).then(a.product_id.cmp(&b.product_id)));
        ranked.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(ranked)
    }

    async fn recent_products(&self, staff: StaffId, limit: u32) -> Result<Vec<ProductId>, StoreError> {
        let state = self.state();
        let mut items: Vec<(DateTime<Utc>, ProductId)> = state
            .orders
            .values()
            .filter(|o| o.staff_id == staff)
            .flat_map(|o| o.items.iter().map(|i| (i.created_at, i.product_id)))
            .filter(|(_, p)| state.products.get(p).is_some_and(|p| p.active))
            .collect();
        items.sort_by_key(|item| std::cmp::Reverse(item.0));
        let mut seen = BTreeSet::new();
        Ok(items
            .into_iter()
            .filter_map(|(_, p)| seen.insert(p).then_some(p))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect())
    }
}
