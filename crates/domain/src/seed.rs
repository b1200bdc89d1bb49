//! The demo venue `pos seed` loads, already validated.

use serde::Serialize;

use crate::money::Money;
use crate::permissions::Role;
use crate::settings::Settings;
use crate::staff::{Station, TerminalKind};
use crate::validate::{Label, PersonName, Sku, Username};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedStaff {
    pub username: Username,
    pub full_name: PersonName,
    pub role: Role,
    /// Hashed already: hashing is the caller's (CPU-bound) job, not the store's.
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedTerminal {
    pub code: String,
    pub name: Label,
    pub kind: TerminalKind,
    pub station: Option<Station>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedTable {
    pub code: Label,
    pub seats: i32,
    pub sort_order: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedCategory {
    pub name: Label,
    pub default_station: Option<Station>,
    pub sort_order: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedProduct {
    pub sku: Sku,
    pub name: Label,
    pub category: Label,
    pub section: Option<String>,
    pub price: Money,
    pub station: Option<Station>,
    pub happy_hour_price: Option<Money>,
    pub image_url: Option<String>,
    pub sort_order: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueSeed {
    pub settings: Settings,
    pub staff: Vec<SeedStaff>,
    pub terminals: Vec<SeedTerminal>,
    pub tables: Vec<SeedTable>,
    pub categories: Vec<SeedCategory>,
    pub products: Vec<SeedProduct>,
}

/// What a seed run added (zeros on a second run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeedReport {
    pub staff: usize,
    pub terminals: usize,
    pub tables: usize,
    pub categories: usize,
    pub products: usize,
    pub settings: bool,
}
