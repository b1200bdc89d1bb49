//! The floor and the menu: tables, categories, products, modifiers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CategoryId, ModifierId, ProductId, TableId};
use crate::money::Money;
use crate::staff::Station;
use crate::validate::{Label, Sku};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub id: TableId,
    /// What staff call it: `T1`, `Booth II`.
    pub code: Label,
    pub area: Option<String>,
    pub seats: i32,
    pub image_url: Option<String>,
    pub sort_order: i32,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTable {
    pub code: Label,
    pub area: Option<String>,
    pub seats: i32,
    pub sort_order: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: CategoryId,
    pub name: Label,
    /// Where this category's products are prepared unless a product says otherwise.
    pub default_station: Option<Station>,
    pub sort_order: i32,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCategory {
    pub name: Label,
    pub default_station: Option<Station>,
    pub sort_order: i32,
}

/// An option on a product ("no sugar", "+ extra shot"), with its price (often zero).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Modifier {
    pub id: ModifierId,
    pub product_id: ProductId,
    pub name: Label,
    pub price: Money,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    pub sku: Sku,
    pub name: Label,
    pub category_id: CategoryId,
    /// Sub-heading inside the category on the menu, e.g. "Breakfast" in Food.
    pub section: Option<String>,
    pub price: Money,
    pub station: Option<Station>,
    /// False when 86'd: cannot be ordered until it is back.
    pub available: bool,
    /// False when retired from the menu.
    pub active: bool,
    pub image_url: Option<String>,
    pub sort_order: i32,
    /// Price inside the daily happy-hour window (settings), if the product takes part.
    pub happy_hour_price: Option<Money>,
    /// Units left when stock is tracked; `None` means not tracked.
    pub stock_qty: Option<i32>,
    pub modifiers: Vec<Modifier>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    pub sku: Sku,
    pub name: Label,
    pub category_id: CategoryId,
    pub section: Option<String>,
    pub price: Money,
    pub station: Option<Station>,
    pub image_url: Option<String>,
    pub sort_order: i32,
    pub happy_hour_price: Option<Money>,
    pub stock_qty: Option<i32>,
}
