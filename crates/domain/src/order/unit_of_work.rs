//! The unit of work of an order change: the rules a store applies when it commits one, and
//! the one recipe every store runs (see [`super::ports`] for the transaction it maps to).
//!
//! A store implements [`UnitStore`] — the plain reads and writes of one transaction: claim a
//! key, lock orders, lock tracked stock, write the effects, store the answer, append events —
//! and calls [`run`], which decides everything else: the stale version, the work, "a create
//! moves no stock", the stock levels, what the answer is, and whether the transaction commits
//! or rolls back. No adapter restates a rule; a new kind of effect is a field of
//! [`super::ports::Effects`] carried into [`EffectsToWrite`] and written by
//! [`UnitStore::write_effects`], the one writer of effects.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::ports::{
    Committed, CreateWork, Effects, Found, IdempotencyClaim, LookupWork, Lookups, MergeWork, Mutation,
    OrderTarget, OrderWork, Refusal, RenderInput, StockChange, StockLevel, WorkOutput,
};
use super::{Order, OrderError, OrderStatus};
use crate::audit::NewAuditEntry;
use crate::error::StoreError;
use crate::event::{Event, NewEvent};
use crate::idempotency::{IdempotencyKey, RequestFingerprint, StoredResponse};
use crate::ids::{OrderId, ProductId, StaffId};
use crate::money::Money;
use crate::order::events::stock_changed;
use crate::payment::{Payment, Refund, check_payment_fits};
use crate::print_job::NewPrintJob;
use crate::receipts::{ReceiptFacts, ReceiptRecord, receipt_print_job};
use crate::totals::TotalsError;

/// What a unit sets out to do.
pub enum Plan {
    /// A new order numbered `number` (the store took it: distinct and increasing within the
    /// business day, possibly with gaps where a create rolled back).
    Create {
        business_date: NaiveDate,
        number: i32,
        work: CreateWork,
    },
    /// A change to the order of `target`, refused as stale unless `expected_version` (when
    /// given) is its version; `lookups` are read once the order is locked, for the work.
    Mutate {
        target: OrderTarget,
        expected_version: Option<i32>,
        lookups: Lookups,
        work: LookupWork,
    },
    /// The source's items into the target; each `(id, expected version)`.
    Merge {
        target: (OrderId, Option<i32>),
        source: (OrderId, Option<i32>),
        work: MergeWork,
    },
}

impl Plan {
    /// A change that needs no lookups.
    pub fn mutate(target: OrderTarget, expected_version: Option<i32>, work: OrderWork) -> Plan {
        Plan::Mutate {
            target,
            expected_version,
            lookups: Lookups::default(),
            work: Box::new(move |order, _| work(order)),
        }
    }
}

/// One aggregate to save: `loaded` is `None` for a new order.
#[derive(Debug, Clone, PartialEq)]
pub struct Save {
    pub next: Order,
    pub loaded: Option<Order>,
}

/// Everything a committed unit writes besides its answer and events, in one call to
/// [`UnitStore::write_effects`].
#[derive(Debug, Clone, PartialEq)]
pub struct EffectsToWrite {
    /// A merge's target first (its item upserts are what move the source's items).
    pub saves: Vec<Save>,
    /// New levels of the tracked stocks the unit moved (ascending product id).
    pub stock: Vec<StockLevel>,
    pub print_jobs: Vec<NewPrintJob>,
    pub audit: Vec<NewAuditEntry>,
    /// Payments taken or changed (upserted by id), each on one of the saved orders.
    pub payments: Vec<Payment>,
    /// Refunds of those payments, inserted after them.
    pub refunds: Vec<Refund>,
    /// Receipts of the orders this unit closes, numbered (see [`NewReceipt`]).
    pub receipts: Vec<NewReceipt>,
}

/// The receipt of an order a unit closes. `number` is the venue's next receipt number,
/// taken inside the unit's transaction ([`UnitStore::next_receipt_number`]), so numbers have
/// no gaps: a unit that rolls back gives its number back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReceipt {
    pub order_id: OrderId,
    pub issued_at: chrono::DateTime<chrono::Utc>,
    pub number: Option<i64>,
}

/// The receipts a unit issues: one for every saved order that it closes.
pub fn receipts_to_issue(saves: &[Save]) -> Vec<NewReceipt> {
    saves
        .iter()
        .filter(|save| {
            save.next.status == OrderStatus::Closed
                && save
                    .loaded
                    .as_ref()
                    .is_none_or(|l| l.status != OrderStatus::Closed)
        })
        .map(|save| NewReceipt {
            order_id: save.next.id,
            issued_at: save.next.closed_at.unwrap_or(save.next.updated_at),
            number: None,
        })
        .collect()
}

/// The plain operations of one store transaction. Nothing in here decides a rule.
pub trait UnitStore {
    type Error: From<StoreError>;

    /// Step 1: claims the key of `claim`. `Some(answer)` when the unit must not run (a replay,
    /// a mismatch, a request in progress): the transaction then rolls back.
    fn claim(&mut self, claim: &IdempotencyClaim) -> Result<Option<Mutation>, Self::Error>;

    /// Step 2: locks and loads the order of `target` (`StoreError::NotFound` when none).
    fn lock_order(&mut self, target: OrderTarget) -> Result<Order, Self::Error>;

    /// Step 2 of a merge: both orders, locked in id order; `(target, source)`.
    fn lock_pair(&mut self, target: OrderId, source: OrderId) -> Result<(Order, Order), Self::Error>;

    /// Reads what `lookups` names, after the order is locked: the staff member's open shift
    /// (locked `FOR SHARE` until the unit ends, so a close waits for it) and the order's
    /// payment (locked; `None` when `order` has no such payment).
    fn look_up(&mut self, order: &Order, lookups: Lookups) -> Result<Found, Self::Error>;

    /// Takes the venue's next receipt number: the counter stays locked until the unit ends.
    fn next_receipt_number(&mut self) -> Result<i64, Self::Error>;

    /// What the receipt of `order` shows besides the order (settings, who opened it, its
    /// table's code, its received payments stored so far).
    fn receipt_facts(&mut self, order: &Order) -> Result<ReceiptFacts, Self::Error>;

    /// Locks those of `products` (ascending) whose stock is tracked and reads their stock.
    /// Products whose stock is not tracked, or that do not exist, are left out.
    fn lock_tracked_stock(&mut self, products: &[ProductId])
    -> Result<BTreeMap<ProductId, i32>, Self::Error>;

    /// The one writer of a unit's effects: the orders (new or under their loaded version),
    /// the stock levels, print jobs and audit entries. Saved orders end as a read returns
    /// them (the store may set `updated_at`).
    fn write_effects(&mut self, effects: &mut EffectsToWrite) -> Result<(), Self::Error>;

    /// Stores the answer on the claimed key.
    fn store_answer(
        &mut self,
        staff: StaffId,
        key: &IdempotencyKey,
        fingerprint: &RequestFingerprint,
        answer: &StoredResponse,
    ) -> Result<(), Self::Error>;

    /// Appends the events, last, in the order given.
    fn append_events(&mut self, events: Vec<NewEvent>) -> Result<Vec<Event>, Self::Error>;
}

/// How a unit's transaction ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// Commit what was written and answer this.
    Commit(Mutation),
    /// Roll everything back (nothing of the unit is kept) and answer this.
    RollBack(Mutation),
}

/// The stale-version rule: a change made against `expected` refuses when the order moved on.
pub fn check_version(expected: Option<i32>, loaded: &Order) -> Result<(), OrderError> {
    match expected {
        Some(expected) if expected != loaded.version => Err(OrderError::StaleVersion {
            expected,
            current: loaded.version,
        }),
        _ => Ok(()),
    }
}

/// The net movement per product of `changes`, without the ones that cancel out.
pub fn net_stock_movements(changes: &[StockChange]) -> Result<BTreeMap<ProductId, i32>, StoreError> {
    let mut deltas: BTreeMap<ProductId, i32> = BTreeMap::new();
    for change in changes {
        let delta = deltas.entry(change.product_id).or_default();
        *delta = delta
            .checked_add(change.delta)
            .ok_or_else(|| StoreError::Internal("a stock movement overflows".into()))?;
    }
    deltas.retain(|_, delta| *delta != 0);
    Ok(deltas)
}

/// The stock rule: the new level of every tracked stock (`tracked`: product → stock now)
/// that `deltas` move, ascending by product; a tracked stock never goes below 0 (then the
/// unit is refused and no stock changes). Untracked stock is not in `tracked`: left alone.
pub fn stock_levels(
    deltas: &BTreeMap<ProductId, i32>,
    tracked: &BTreeMap<ProductId, i32>,
) -> Result<Vec<StockLevel>, OrderError> {
    let mut levels = Vec::new();
    for (&product_id, &delta) in deltas {
        let Some(&left) = tracked.get(&product_id) else {
            continue;
        };
        match left.checked_add(delta) {
            Some(stock_qty) if stock_qty >= 0 => levels.push(StockLevel {
                product_id,
                stock_qty,
                delta,
            }),
            _ => {
                return Err(OrderError::OutOfStock {
                    product: product_id,
                    left,
                });
            }
        }
    }
    Ok(levels)
}

/// What a create's work must hand back: its order carries the number, date and version 1 it
/// was given, and it moves no stock (stock moves when items are sent, never on a create).
pub fn check_created(
    order: &Order,
    number: i32,
    business_date: NaiveDate,
    output: &WorkOutput,
) -> Result<(), StoreError> {
    if order.number != number || order.business_date != business_date || order.version != 1 {
        return Err(StoreError::Internal(
            "the created order does not carry its allocated number, date and version 1".into(),
        ));
    }
    if !output.effects.stock.is_empty() {
        return Err(StoreError::Internal("a create moved stock".into()));
    }
    Ok(())
}

/// The payment rule, whatever the work did: a unit raises an order's paid amount by no more
/// than the balance it loaded ([`check_payment_fits`], the one overpayment rule); a new
/// order starts unpaid.
pub fn check_payments(saves: &[Save]) -> Result<(), OrderError> {
    for save in saves {
        let loaded_paid = save
            .loaded
            .as_ref()
            .map_or(Money::zero(save.next.currency), |loaded| loaded.paid);
        if save.next.paid.minor() > loaded_paid.minor() {
            let balance = match &save.loaded {
                Some(loaded) => loaded.balance()?,
                None => Money::zero(save.next.currency),
            };
            let applied = save
                .next
                .paid
                .checked_sub(loaded_paid)
                .map_err(TotalsError::from)?;
            check_payment_fits(balance, applied)?;
        }
    }
    Ok(())
}

/// Every payment a unit writes belongs to an order it saves (a work that breaks this is a
/// bug, not a refusal).
fn check_payments_owned(saves: &[Save], payments: &[Payment]) -> Result<(), StoreError> {
    match payments
        .iter()
        .find(|p| !saves.iter().any(|save| save.next.id == p.order_id))
    {
        Some(stray) => Err(StoreError::Internal(format!(
            "payment {} is not on an order the unit saves",
            stray.id
        ))),
        None => Ok(()),
    }
}

/// A 5xx answer is never stored: the whole unit rolls back instead (an effect never commits
/// without its record, and a retry runs afresh).
fn storable(answer: StoredResponse) -> Result<StoredResponse, StoreError> {
    if answer.is_storable() {
        Ok(answer)
    } else {
        Err(StoreError::Internal(format!(
            "the unit rendered a {} response: rolled back with its idempotency claim",
            answer.status
        )))
    }
}

/// The next version of `loaded`, as the work sees it.
fn next_of(loaded: &Order) -> Order {
    let mut next = loaded.clone();
    next.version = loaded.version + 1;
    next
}

/// What steps 2–4 came to: the aggregates to save and the work's output, or a refusal
/// showing `current`.
enum Worked {
    Done {
        saves: Vec<Save>,
        output: Box<WorkOutput>,
        /// What a stock refusal shows.
        current: Option<Order>,
    },
    Refused {
        error: OrderError,
        current: Option<Order>,
    },
}

/// Steps 2–4: lock and load, version check, work.
fn lock_and_work<S: UnitStore>(store: &mut S, plan: Plan) -> Result<Worked, S::Error> {
    let refused = |error, current| Worked::Refused { error, current };
    Ok(match plan {
        Plan::Create {
            business_date,
            number,
            work,
        } => match work(number) {
            Err(error) => refused(error, None),
            Ok((order, output)) => {
                check_created(&order, number, business_date, &output)?;
                Worked::Done {
                    saves: vec![Save {
                        next: order,
                        loaded: None,
                    }],
                    output: Box::new(output),
                    current: None,
                }
            }
        },
        Plan::Mutate {
            target,
            expected_version,
            lookups,
            work,
        } => {
            let loaded = store.lock_order(target)?;
            if let Err(error) = check_version(expected_version, &loaded) {
                return Ok(refused(error, Some(loaded)));
            }
            let found = if lookups == Lookups::default() {
                Found::default()
            } else {
                store.look_up(&loaded, lookups)?
            };
            let mut next = next_of(&loaded);
            match work(&mut next, found) {
                Err(error) => refused(error, Some(loaded)),
                Ok(output) => Worked::Done {
                    current: Some(loaded.clone()),
                    saves: vec![Save {
                        next,
                        loaded: Some(loaded),
                    }],
                    output: Box::new(output),
                },
            }
        }
        Plan::Merge { target, source, work } => {
            if target.0 == source.0 {
                return Err(StoreError::Internal("merge of an order with itself".into()).into());
            }
            let (loaded_target, loaded_source) = store.lock_pair(target.0, source.0)?;
            if let Err(error) = check_version(target.1, &loaded_target) {
                return Ok(refused(error, Some(loaded_target)));
            }
            if let Err(error) = check_version(source.1, &loaded_source) {
                return Ok(refused(error, Some(loaded_source)));
            }
            let (mut next_target, mut next_source) = (next_of(&loaded_target), next_of(&loaded_source));
            match work(&mut next_target, &mut next_source) {
                Err(error) => refused(error, Some(loaded_target)),
                Ok(output) => Worked::Done {
                    current: Some(loaded_target.clone()),
                    saves: vec![
                        Save {
                            next: next_target,
                            loaded: Some(loaded_target),
                        },
                        Save {
                            next: next_source,
                            loaded: Some(loaded_source),
                        },
                    ],
                    output: Box::new(output),
                },
            }
        }
    })
}

/// Runs one unit on `store` (one transaction): claim → lock and load → version check →
/// work → stock → effects → answer → events. Every refusal is found before anything but the
/// claim is written, so a refusal with a key commits only its stored answer.
pub fn run<S: UnitStore>(
    store: &mut S,
    claim: Option<IdempotencyClaim>,
    plan: Plan,
) -> Result<Ending, S::Error> {
    if let Some(claim) = &claim
        && let Some(answer) = store.claim(claim)?
    {
        return Ok(Ending::RollBack(answer));
    }
    let (mut saves, output, current) = match lock_and_work(store, plan)? {
        Worked::Refused { error, current } => return refuse(store, claim, error, current),
        Worked::Done {
            saves,
            output,
            current,
        } => (saves, output, current),
    };
    let WorkOutput {
        change,
        effects:
            Effects {
                stock,
                mut print_jobs,
                audit,
                payments,
                refunds,
                mut events,
            },
    } = *output;
    check_payments_owned(&saves, &payments)?;
    if let Err(error) = check_payments(&saves) {
        return refuse(store, claim, error, current);
    }
    let deltas = net_stock_movements(&stock)?;
    let levels = if deltas.is_empty() {
        Vec::new()
    } else {
        let products: Vec<ProductId> = deltas.keys().copied().collect();
        let tracked = store.lock_tracked_stock(&products)?;
        match stock_levels(&deltas, &tracked) {
            Ok(levels) => levels,
            Err(error) => return refuse(store, claim, error, current),
        }
    };
    // Saved as a read gives it back: items in `created_at, id` order (a merge appends the
    // source's items, which may be older).
    for save in &mut saves {
        save.next.items.sort_by_key(|item| (item.created_at, item.id));
    }
    // Every order the unit closes gets the next receipt number and its receipt queued for
    // the till's printer, rendered from what the transaction sees.
    let mut receipts = receipts_to_issue(&saves);
    for receipt in &mut receipts {
        let number = store.next_receipt_number()?;
        receipt.number = Some(number);
        let Some(save) = saves.iter().find(|s| s.next.id == receipt.order_id) else {
            continue;
        };
        let facts = store.receipt_facts(&save.next)?;
        let record = ReceiptRecord {
            number,
            issued_at: receipt.issued_at,
            fiscal: None,
        };
        // The order's totals were computed to close it, so this cannot refuse; if it did,
        // the whole unit rolls back (its receipt number with it).
        let job = receipt_print_job(&save.next, &facts, &payments, &record, false)
            .map_err(|e| StoreError::Internal(format!("receipt of a closing order: {e}")))?;
        events.push(crate::order::events::print_job_queued(&job));
        print_jobs.push(job);
    }
    let mut written = EffectsToWrite {
        saves,
        stock: levels,
        print_jobs,
        audit,
        receipts,
        payments,
        refunds,
    };
    store.write_effects(&mut written)?;
    let mut saved = written.saves.into_iter().map(|save| save.next);
    let Some(order) = saved.next() else {
        return Err(StoreError::Internal("a unit saved no order".into()).into());
    };
    let other = saved.next();
    let response = match claim {
        None => None,
        Some(IdempotencyClaim {
            staff_id,
            key,
            fingerprint,
            render,
        }) => {
            let answer = storable(render(RenderInput::Committed {
                order: &order,
                other: other.as_ref(),
                change: &change,
            }))?;
            store.store_answer(staff_id, &key, &fingerprint, &answer)?;
            Some(answer)
        }
    };
    if !written.stock.is_empty() {
        events.push(stock_changed(&written.stock));
    }
    let events = store.append_events(events)?;
    Ok(Ending::Commit(Mutation::Committed(Box::new(Committed {
        order,
        other,
        change,
        events,
        print_jobs: written.print_jobs.iter().map(|job| job.id).collect(),
        response,
    }))))
}

/// The refusal path: without a claim, roll back; with one, store the rendered refusal on the
/// key and commit only that.
fn refuse<S: UnitStore>(
    store: &mut S,
    claim: Option<IdempotencyClaim>,
    error: OrderError,
    current: Option<Order>,
) -> Result<Ending, S::Error> {
    let Some(IdempotencyClaim {
        staff_id,
        key,
        fingerprint,
        render,
    }) = claim
    else {
        return Ok(Ending::RollBack(Mutation::Refused(Box::new(Refusal {
            error,
            current,
            response: None,
        }))));
    };
    let answer = storable(render(RenderInput::Refused {
        error: &error,
        current: current.as_ref(),
    }))?;
    store.store_answer(staff_id, &key, &fingerprint, &answer)?;
    Ok(Ending::Commit(Mutation::Refused(Box::new(Refusal {
        error,
        current,
        response: Some(answer),
    }))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn product(n: u128) -> ProductId {
        ProductId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn movements_net_out_per_product() {
        let (a, b) = (product(1), product(2));
        let changes = [
            StockChange {
                product_id: a,
                delta: -2,
            },
            StockChange {
                product_id: b,
                delta: -1,
            },
            StockChange {
                product_id: a,
                delta: -1,
            },
            StockChange {
                product_id: b,
                delta: 1,
            },
        ];
        let deltas = net_stock_movements(&changes).unwrap();
        assert_eq!(deltas.into_iter().collect::<Vec<_>>(), vec![(a, -3)]);
    }

    #[test]
    fn a_tracked_stock_never_goes_below_zero_and_untracked_stock_is_left_alone() {
        let (tracked, untracked) = (product(1), product(2));
        let deltas = BTreeMap::from([(tracked, -3), (untracked, -50)]);
        let levels = stock_levels(&deltas, &BTreeMap::from([(tracked, 3)])).unwrap();
        assert_eq!(
            levels,
            vec![StockLevel {
                product_id: tracked,
                stock_qty: 0,
                delta: -3
            }]
        );
        assert_eq!(
            stock_levels(&deltas, &BTreeMap::from([(tracked, 2)])),
            Err(OrderError::OutOfStock {
                product: tracked,
                left: 2
            })
        );
        let overflow = BTreeMap::from([(tracked, i32::MIN)]);
        assert!(stock_levels(&overflow, &BTreeMap::from([(tracked, -1)])).is_err());
    }

    /// The unit applies the overpayment rule itself: a work that raised `paid` past the
    /// balance it loaded is refused, whatever the work checked.
    #[test]
    fn a_unit_never_raises_paid_past_the_loaded_balance() {
        use crate::money::Currency;
        use crate::order::{NewOrder, NewOrderItem, OrderType};
        use crate::payment::PaymentError;
        use crate::totals::Pricing;
        use crate::validate::{Label, Quantity};

        let now = chrono::Utc::now();
        let mut loaded = Order::new(
            NewOrder {
                number: 1,
                business_date: now.date_naive(),
                order_type: OrderType::Takeaway,
                table_id: None,
                staff_id: StaffId::new(),
                terminal_id: None,
                shift_id: None,
                preparation_notes: None,
                currency: Currency::Ugx,
                pricing: Pricing::from_settings(&crate::settings::Settings::defaults("Cafe")),
            },
            now,
        )
        .unwrap();
        loaded
            .add_item(
                NewOrderItem {
                    product_id: product(1),
                    name: Label::parse("Rolex").unwrap(),
                    unit_price: Money::new(10_000, Currency::Ugx),
                    quantity: Quantity::parse("quantity", 1).unwrap(),
                    modifiers: vec![],
                    notes: None,
                    station: None,
                    seat: None,
                    course: None,
                },
                now,
            )
            .unwrap();
        let due = loaded.balance().unwrap();
        let save = |paid: i64| {
            let mut next = loaded.clone();
            next.paid = Money::new(paid, Currency::Ugx);
            Save {
                next,
                loaded: Some(loaded.clone()),
            }
        };
        assert_eq!(check_payments(&[save(due.minor())]), Ok(()));
        assert_eq!(check_payments(&[save(0)]), Ok(()));
        assert!(matches!(
            check_payments(&[save(due.minor() + 1)]),
            Err(OrderError::Payment(PaymentError::Overpayment { .. }))
        ));
    }
}
