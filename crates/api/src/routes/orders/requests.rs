//! The bodies and queries of the order routes, and their checks into the use cases' inputs.

use std::num::NonZeroU8;

use chrono::NaiveDate;
use pos_domain::ids::{ModifierId, OrderId, ProductId, TableId};
use pos_domain::order::ItemRequest;
use pos_domain::order::OrderType;
use pos_domain::printing::Paper;
use pos_domain::validate::{Note, Quantity, ValidationError};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::dto::double_option;
use crate::orders::{FieldHints, OrderTypeSchema};
use crate::routes::approval::ApprovalInput;

/// Most lines one request may add.
pub const MAX_ITEMS_PER_REQUEST: usize = 100;
/// Most modifiers on one line.
pub const MAX_MODIFIERS_PER_ITEM: usize = 20;

// ----- request bodies ----------------------------------------------------------------------------

/// One line to put on an order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    #[schema(value_type = uuid::Uuid)]
    pub product_id: ProductId,
    #[schema(value_type = i64, minimum = 1, maximum = 999)]
    pub quantity: Quantity,
    /// Ids of the product's own active modifiers, each at most once.
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>, max_items = 20)]
    pub modifiers: Vec<ModifierId>,
    /// For the station, at most 500 characters.
    #[schema(max_length = 500)]
    pub notes: Option<String>,
    #[schema(value_type = Option<u8>, minimum = 1)]
    pub seat: Option<NonZeroU8>,
    #[schema(value_type = Option<u8>, minimum = 1)]
    pub course: Option<NonZeroU8>,
}

pub(super) fn optional_note(field: &str, raw: Option<&str>) -> Result<Option<Note>, ValidationError> {
    match raw {
        None => Ok(None),
        Some(raw) => {
            let note = Note::parse_field(field, raw)?;
            Ok((!note.as_str().is_empty()).then_some(note))
        }
    }
}

/// The lines of a request as the use cases take them, each checked and named by its index.
pub(super) fn item_requests(
    items: Vec<ItemInput>,
) -> Result<(Vec<ItemRequest>, FieldHints), ValidationError> {
    if items.len() > MAX_ITEMS_PER_REQUEST {
        return Err(ValidationError::new(
            "items",
            format!("at most {MAX_ITEMS_PER_REQUEST} lines per request"),
        ));
    }
    let products = items.iter().map(|i| i.product_id).collect();
    let modifiers = items.iter().map(|i| i.modifiers.clone()).collect();
    let requests = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            if item.modifiers.len() > MAX_MODIFIERS_PER_ITEM {
                return Err(ValidationError::new(
                    format!("items[{i}].modifiers"),
                    format!("at most {MAX_MODIFIERS_PER_ITEM} modifiers"),
                ));
            }
            Ok(ItemRequest {
                product_id: item.product_id,
                quantity: item.quantity,
                modifier_ids: item.modifiers,
                notes: optional_note(&format!("items[{i}].notes"), item.notes.as_deref())?,
                seat: item.seat,
                course: item.course,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((requests, FieldHints::items(products, modifiers)))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "type": "dine_in",
    "table_id": "0193b5e4-6f7a-7c3e-9a51-0c2f3d4e5f60",
    "items": [{"product_id": "0193b5e4-7000-7c3e-9a51-0c2f3d4e5f61", "quantity": 2, "notes": "no onions"}]
}))]
pub struct CreateOrderRequest {
    #[serde(rename = "type")]
    #[schema(value_type = OrderTypeSchema)]
    pub order_type: OrderType,
    /// Required for `dine_in`, absent for `takeaway`.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub table_id: Option<TableId>,
    /// Printed on every ticket of the order; at most 500 characters.
    #[schema(max_length = 500)]
    pub preparation_notes: Option<String>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub items: Vec<ItemInput>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemsRequest {
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<ItemInput>,
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
}

/// Changes to a pending item; absent fields stay as they are, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateItemRequest {
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 999)]
    pub quantity: Option<Quantity>,
    /// The complete new set of modifiers.
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub modifiers: Option<Vec<ModifierId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u8>, minimum = 1)]
    pub seat: Option<Option<NonZeroU8>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u8>, minimum = 1)]
    pub course: Option<Option<NonZeroU8>>,
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreparationNotesRequest {
    /// The new notes; `null` or `""` clears them. At most 500 characters.
    #[serde(deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500, required = true)]
    pub preparation_notes: Option<Option<String>>,
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "customer left", "approval": {"username": "grace", "password": "manager password"}}))]
pub struct VoidRequest {
    /// Why; required, at most 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// A manager's credentials, needed once anything was sent unless the caller is one.
    pub approval: Option<ApprovalInput>,
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    #[schema(value_type = uuid::Uuid)]
    pub table_id: TableId,
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The order whose items move onto this one; it ends `cancelled` with `merged_into` set.
    #[schema(value_type = uuid::Uuid)]
    pub source_order_id: OrderId,
    /// This (target) order's version.
    #[schema(minimum = 1)]
    pub expected_version: Option<i32>,
    /// The source order's version.
    #[schema(minimum = 1)]
    pub source_expected_version: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersQuery {
    /// Comma-separated statuses, e.g. `open,sent,ready`; all when absent.
    pub status: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub table_id: Option<TableId>,
    pub business_date: Option<NaiveDate>,
    /// 1–500, default 100; newest first.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveItemQuery {
    /// The order's version as last read (or send `If-Match`).
    #[param(minimum = 1)]
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketFormat {
    /// Plain text, UTF-8.
    #[default]
    Text,
    /// ESC/POS bytes for a thermal printer.
    Escpos,
}

/// A printer's paper width, as `Paper` is written in a query.
#[derive(Debug, Clone, Copy, serde::Serialize, ToSchema)]
#[schema(as = Paper)]
#[allow(dead_code)]
pub enum PaperSchema {
    #[serde(rename = "80mm")]
    Mm80,
    #[serde(rename = "58mm")]
    Mm58,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// `80mm` (48 columns, default) or `58mm` (32 columns).
    #[param(value_type = Option<PaperSchema>)]
    pub paper: Option<Paper>,
    #[param(value_type = Option<TicketFormat>)]
    pub format: Option<TicketFormat>,
}

pub(super) const IDEMPOTENCY_KEY_DOC: &str = "Makes retries safe: the same key with the same request \
    answers the first response again (`Idempotent-Replayed: true`); with another request 422.";
