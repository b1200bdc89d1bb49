//! The audit row and the `menu.updated` / `table.updated` event of each change.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::access::Requester;
use crate::audit::NewAuditEntry;
use crate::event::NewEvent;
use crate::ids::{StaffId, TerminalId};

/// Who changes the catalog, for the audit row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeContext {
    pub actor: StaffId,
    pub terminal: Option<TerminalId>,
}

impl From<Requester> for ChangeContext {
    fn from(r: Requester) -> Self {
        Self {
            actor: r.actor.id,
            terminal: r.terminal_id,
        }
    }
}

/// What was changed, as the events and audit rows name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogEntity {
    Category,
    Product,
    Modifier,
    Table,
    Settings,
}

impl CatalogEntity {
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogEntity::Category => "category",
            CatalogEntity::Product => "product",
            CatalogEntity::Modifier => "modifier",
            CatalogEntity::Table => "table",
            CatalogEntity::Settings => "settings",
        }
    }
}

impl fmt::Display for CatalogEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogChange {
    Created,
    Updated,
    Deleted,
    /// 86'd or back.
    Availability,
    Stock,
}

impl CatalogChange {
    fn verb(self) -> &'static str {
        match self {
            CatalogChange::Created => "created",
            CatalogChange::Updated => "updated",
            CatalogChange::Deleted => "deleted",
            CatalogChange::Availability => "availability_changed",
            CatalogChange::Stock => "stock_changed",
        }
    }
}

/// The payload of the `menu.updated` / `table.updated` events the back office appends.
/// Terminals reload the menu (or the floor) on either; the fields say what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEventPayload {
    /// Always `catalog` (the order units' stock events say `stock`).
    pub reason: String,
    pub entity: CatalogEntity,
    /// The changed row (absent for settings).
    pub id: Option<String>,
    pub change: CatalogChange,
    /// For a product: its availability and stock after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_qty: Option<i32>,
}

/// Event types and topics used here (the order module's own names).
pub const MENU_UPDATED: &str = crate::order::events::types::MENU_UPDATED;
pub const TABLE_UPDATED: &str = crate::order::events::types::TABLE_UPDATED;

/// The event and audit entry of one catalog change, built from the rows before and after.
/// `before`/`after` are the entity as JSON (`None` for a creation / deletion).
pub fn change_effects(
    ctx: ChangeContext,
    entity: CatalogEntity,
    id: Option<String>,
    change: CatalogChange,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> (NewAuditEntry, NewEvent) {
    let mut audit = NewAuditEntry::new(&format!("{}.{}", entity.as_str(), change.verb()), entity.as_str())
        .actor(Some(ctx.actor))
        .terminal(ctx.terminal);
    if let Some(id) = &id {
        audit = audit.entity_id(id);
    }
    audit.before = before;
    audit.after = after.clone();
    let product_state = match (entity, &after) {
        (CatalogEntity::Product, Some(after)) => (
            after.get("available").and_then(serde_json::Value::as_bool),
            after
                .get("stock_qty")
                .and_then(serde_json::Value::as_i64)
                .and_then(|q| i32::try_from(q).ok()),
        ),
        _ => (None, None),
    };
    let payload = CatalogEventPayload {
        reason: "catalog".to_owned(),
        entity,
        id,
        change,
        available: product_state.0,
        stock_qty: product_state.1,
    };
    let (event_type, topic) = match entity {
        CatalogEntity::Table => (TABLE_UPDATED, crate::order::events::topics::TABLES),
        _ => (MENU_UPDATED, crate::order::events::topics::MENU),
    };
    let payload = serde_json::to_value(&payload).unwrap_or(serde_json::Value::Null);
    (audit, NewEvent::new(event_type, topic, payload))
}

/// An entity as the audit row keeps it.
pub fn snapshot<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
