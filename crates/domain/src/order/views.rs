//! Read models for terminals, built from the stores' data by pure functions: the menu a POS
//! shows, the floor (tables with their live state) and a station's KDS queue.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::happy_hour::{effective_price, is_happy_hour};
use crate::ids::{OrderId, OrderItemId, ProductId, TableId};
use crate::money::{Currency, Money};
use crate::order::ports::ProductCount;
use crate::order::{ItemStatus, Order, OrderStatus, OrderType};
use crate::settings::Settings;
use crate::staff::Station;
use crate::totals::TotalsError;
use crate::venue::{Category, Product, Table};

/// A product as a terminal lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuProduct {
    #[serde(flatten)]
    pub product: Product,
    /// What it sells at now: the happy-hour price inside the window, else the price.
    pub effective_price: Money,
    pub happy_hour_active: bool,
    /// Can be ordered now: available (not 86'd) and, when stock is tracked, some left.
    pub orderable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuCategory {
    #[serde(flatten)]
    pub category: Category,
    pub products: Vec<MenuProduct>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HappyHour {
    pub active: bool,
    /// Venue local time.
    pub start: NaiveTime,
    pub end: NaiveTime,
    /// Products that have a happy-hour price, in menu order.
    pub products: Vec<ProductId>,
}

/// `GET /api/menu`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuView {
    pub currency: Currency,
    pub categories: Vec<MenuCategory>,
    pub happy_hour: HappyHour,
    /// Most ordered over the popularity window, most first (only products on the menu).
    pub popular: Vec<ProductId>,
    /// Recently put on orders by the caller, newest first (only products on the menu).
    pub recent: Vec<ProductId>,
}

/// The part of the menu every caller sees alike, read at one menu version and priced at one
/// moment: what a server may keep and serve again while the version and the happy-hour state
/// stay the same. The caller's quick lists come apart ([`MenuCatalogue::lists`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuCatalogue {
    /// The store's menu version, read before the rows: they are at least that new.
    pub version: i64,
    /// The settings it was priced with (currency, happy-hour window).
    pub settings: Settings,
    /// The menu, `popular` and `recent` empty.
    pub menu: MenuView,
    /// The products listed, which are all the quick lists may name.
    pub on_menu: BTreeSet<ProductId>,
}

/// The quick lists of one caller, products on the menu only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MenuLists {
    pub popular: Vec<ProductId>,
    pub recent: Vec<ProductId>,
}

/// Builds the menu: `categories` (active ones, in sort order) and `products` as the menu
/// store lists them (active ones, grouped by category); products of a category not listed
/// are left out.
pub fn menu_catalogue(
    version: i64,
    categories: Vec<Category>,
    products: Vec<Product>,
    settings: Settings,
    now: DateTime<Utc>,
) -> MenuCatalogue {
    let happy = is_happy_hour(&settings, now);
    let mut by_category: HashMap<_, Vec<MenuProduct>> = HashMap::new();
    for product in products.into_iter().filter(|p| p.active) {
        let orderable = product.available && product.stock_qty.is_none_or(|left| left > 0);
        by_category
            .entry(product.category_id)
            .or_default()
            .push(MenuProduct {
                effective_price: effective_price(&product, &settings, now),
                happy_hour_active: happy && product.happy_hour_price.is_some(),
                orderable,
                product,
            });
    }
    let categories: Vec<MenuCategory> = categories
        .into_iter()
        .map(|category| MenuCategory {
            products: by_category.remove(&category.id).unwrap_or_default(),
            category,
        })
        .collect();
    let listed: Vec<&Product> = categories
        .iter()
        .flat_map(|c| c.products.iter().map(|p| &p.product))
        .collect();
    let on_menu: BTreeSet<ProductId> = listed.iter().map(|p| p.id).collect();
    let happy_hour = HappyHour {
        active: happy,
        start: settings.happy_hour_start,
        end: settings.happy_hour_end,
        products: listed
            .iter()
            .filter(|p| p.happy_hour_price.is_some())
            .map(|p| p.id)
            .collect(),
    };
    MenuCatalogue {
        version,
        menu: MenuView {
            currency: settings.currency,
            happy_hour,
            popular: Vec::new(),
            recent: Vec::new(),
            categories,
        },
        settings,
        on_menu,
    }
}

impl MenuCatalogue {
    /// Whether happy hour is on at `now` by the settings this menu was priced with: when it
    /// differs from the menu's, the prices are not those of `now`.
    pub fn happy_hour_at(&self, now: DateTime<Utc>) -> bool {
        is_happy_hour(&self.settings, now)
    }

    /// A caller's quick lists, keeping the products on this menu.
    pub fn lists(&self, popular: &[ProductCount], recent: &[ProductId]) -> MenuLists {
        MenuLists {
            popular: popular
                .iter()
                .map(|c| c.product_id)
                .filter(|id| self.on_menu.contains(id))
                .collect(),
            recent: recent
                .iter()
                .copied()
                .filter(|id| self.on_menu.contains(id))
                .collect(),
        }
    }

    /// The whole menu of one caller.
    pub fn with_lists(self, lists: MenuLists) -> MenuView {
        MenuView {
            popular: lists.popular,
            recent: lists.recent,
            ..self.menu
        }
    }
}

/// A table's live state, which follows from its unfinished orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableState {
    Free,
    Occupied,
    /// An order on it had its bill printed or is part-paid: the guests are settling up.
    BillRequested,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableOrder {
    pub order_id: OrderId,
    pub number: i32,
    pub status: OrderStatus,
    pub version: i32,
    pub currency: Currency,
    pub total: i64,
    pub balance: i64,
    pub item_count: u32,
    pub bill_requested: bool,
    pub created_at: DateTime<Utc>,
}

/// `GET /api/tables`: one entry per table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableView {
    #[serde(flatten)]
    pub table: Table,
    pub state: TableState,
    /// Its unfinished orders, oldest first.
    pub orders: Vec<TableOrder>,
    /// Distinct seat numbers on the live items of those orders.
    pub seats_taken: u32,
}

/// The floor: `tables` in their order, each with the unfinished orders among
/// `open_orders` that sit at it. `bills` are the orders whose bill was asked for.
pub fn floor_view(
    tables: Vec<Table>,
    open_orders: &[Order],
    bills: &[OrderId],
) -> Result<Vec<TableView>, TotalsError> {
    let mut at_table: HashMap<TableId, Vec<&Order>> = HashMap::new();
    for order in open_orders.iter().filter(|o| !o.is_finished()) {
        if let Some(table) = order.table_id {
            at_table.entry(table).or_default().push(order);
        }
    }
    tables
        .into_iter()
        .map(|table| {
            let mut orders = at_table.remove(&table.id).unwrap_or_default();
            orders.sort_by_key(|o| (o.created_at, o.id));
            let mut seats = BTreeSet::new();
            let mut summaries = Vec::with_capacity(orders.len());
            for order in orders {
                seats.extend(order.live_items().filter_map(|i| i.seat));
                let totals = order.totals()?;
                summaries.push(TableOrder {
                    order_id: order.id,
                    number: order.number,
                    status: order.status,
                    version: order.version,
                    currency: order.currency,
                    total: totals.total.minor(),
                    balance: totals.balance.minor(),
                    item_count: u32::try_from(order.live_items().count()).unwrap_or(u32::MAX),
                    bill_requested: bills.contains(&order.id) || !order.paid.is_zero(),
                    created_at: order.created_at,
                });
            }
            let state = if summaries.iter().any(|o| o.bill_requested) {
                TableState::BillRequested
            } else if summaries.is_empty() {
                TableState::Free
            } else {
                TableState::Occupied
            };
            Ok(TableView {
                table,
                state,
                orders: summaries,
                seats_taken: u32::try_from(seats.len()).unwrap_or(u32::MAX),
            })
        })
        .collect()
}

/// One line on a KDS screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdsItem {
    pub item_id: OrderItemId,
    pub name: String,
    pub quantity: u16,
    pub modifiers: Vec<String>,
    pub notes: Option<String>,
    pub seat: Option<u8>,
    pub course: Option<u8>,
    pub status: ItemStatus,
    pub sent_at: DateTime<Utc>,
    /// Seconds since it was sent.
    pub age_seconds: i64,
}

/// An item of a later course that waits to be fired: shown so the station knows what is
/// coming, not to be made yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdsHeldItem {
    pub item_id: OrderItemId,
    pub name: String,
    pub quantity: u16,
    pub modifiers: Vec<String>,
    pub notes: Option<String>,
    pub seat: Option<u8>,
    pub course: u8,
}

/// One order's items at one station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdsTicket {
    pub order_id: OrderId,
    pub number: i32,
    pub version: i32,
    pub order_type: OrderType,
    pub table_id: Option<TableId>,
    pub table: Option<String>,
    pub station: Station,
    pub preparation_notes: Option<String>,
    /// When its first item still shown was sent.
    pub sent_at: DateTime<Utc>,
    pub age_seconds: i64,
    pub items: Vec<KdsItem>,
    /// Later courses of this order for this station, by course.
    pub held: Vec<KdsHeldItem>,
    /// The whole order is ready for the customer ([`OrderStatus::Ready`]): every live item
    /// at every station is ready or served and no later course is still held. A customer
    /// board reads this, since a station's ticket sees neither the other stations nor
    /// their held courses.
    pub order_ready: bool,
}

/// Items of a station by state; `waiting` is what the station still has to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationCounts {
    pub station: Station,
    pub sent: u32,
    pub preparing: u32,
    pub ready: u32,
    /// sent + preparing.
    pub waiting: u32,
}

/// When a ticket's age turns the screen's timer amber, then red (the venue's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdsThresholds {
    pub warning_minutes: i32,
    pub late_minutes: i32,
}

impl KdsThresholds {
    pub fn of(settings: &crate::settings::Settings) -> Self {
        Self {
            warning_minutes: settings.kds_warning_minutes,
            late_minutes: settings.kds_late_minutes,
        }
    }
}

/// `GET /api/kds/tickets?station=…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdsQueue {
    pub station: Station,
    /// Oldest first.
    pub tickets: Vec<KdsTicket>,
    pub counts: StationCounts,
    pub thresholds: KdsThresholds,
}

/// The queue of `station` from the orders the store found at it: items of the station that
/// are sent, preparing or ready, grouped per order.
pub fn kds_queue(
    station: Station,
    orders: &[Order],
    tables: &[Table],
    thresholds: KdsThresholds,
    now: DateTime<Utc>,
) -> KdsQueue {
    let codes: HashMap<TableId, &str> = tables.iter().map(|t| (t.id, t.code.as_str())).collect();
    let age = |at: DateTime<Utc>| now.signed_duration_since(at).num_seconds().max(0);
    let mut counts = StationCounts {
        station,
        sent: 0,
        preparing: 0,
        ready: 0,
        waiting: 0,
    };
    let mut tickets = Vec::new();
    for order in orders.iter().filter(|o| !o.is_finished()) {
        let mut items: Vec<KdsItem> = order
            .items
            .iter()
            .filter(|i| {
                i.station == Some(station)
                    && matches!(
                        i.status,
                        ItemStatus::Sent | ItemStatus::Preparing | ItemStatus::Ready
                    )
            })
            .filter_map(|i| {
                let sent_at = i.sent_at?;
                Some(KdsItem {
                    item_id: i.id,
                    name: i.name.as_str().to_owned(),
                    quantity: i.quantity.get(),
                    modifiers: i.modifiers.iter().map(|m| m.name.as_str().to_owned()).collect(),
                    notes: i.notes.as_ref().map(|n| n.as_str().to_owned()),
                    seat: i.seat.map(|s| s.get()),
                    course: i.course.map(|c| c.get()),
                    status: i.status,
                    sent_at,
                    age_seconds: age(sent_at),
                })
            })
            .collect();
        let Some(first_sent) = items.iter().map(|i| i.sent_at).min() else {
            continue;
        };
        items.sort_by_key(|i| (i.sent_at, i.course, i.seat));
        let mut held: Vec<KdsHeldItem> = order
            .items
            .iter()
            .filter(|i| i.station == Some(station) && i.status == ItemStatus::Held)
            .map(|i| KdsHeldItem {
                item_id: i.id,
                name: i.name.as_str().to_owned(),
                quantity: i.quantity.get(),
                modifiers: i.modifiers.iter().map(|m| m.name.as_str().to_owned()).collect(),
                notes: i.notes.as_ref().map(|n| n.as_str().to_owned()),
                seat: i.seat.map(|s| s.get()),
                course: i.course_number(),
            })
            .collect();
        held.sort_by_key(|i| (i.course, i.seat));
        for item in &items {
            match item.status {
                ItemStatus::Sent => counts.sent += 1,
                ItemStatus::Preparing => counts.preparing += 1,
                _ => counts.ready += 1,
            }
        }
        tickets.push(KdsTicket {
            order_id: order.id,
            number: order.number,
            version: order.version,
            order_type: order.order_type,
            table_id: order.table_id,
            table: order
                .table_id
                .and_then(|t| codes.get(&t).map(|c| (*c).to_owned())),
            station,
            preparation_notes: order.preparation_notes.as_ref().map(|n| n.as_str().to_owned()),
            sent_at: first_sent,
            age_seconds: age(first_sent),
            items,
            held,
            order_ready: order.status == OrderStatus::Ready,
        });
    }
    tickets.sort_by_key(|t| (t.sent_at, t.order_id));
    counts.waiting = counts.sent + counts.preparing;
    KdsQueue {
        station,
        tickets,
        counts,
        thresholds,
    }
}
