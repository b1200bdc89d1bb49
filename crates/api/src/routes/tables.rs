//! `GET /api/tables`: the floor. Every table with its live state (free, occupied, bill
//! requested), which follows from its unfinished orders (several per table), and the seats
//! those orders use.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use pos_domain::Currency;
use pos_domain::ids::{OrderId, TableId};
use pos_domain::order::OrderStatus;
use pos_domain::order::views::{TableOrder, TableState, TableView};
use pos_domain::permissions::Action;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::orders::{OrderStatusSchema, caller, read_error};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_tables);
}

/// A table's live state.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = TableState)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum TableStateSchema {
    Free,
    Occupied,
    /// A bill was printed for an order at it, or one is part-paid.
    BillRequested,
}

/// An unfinished order at a table. Amounts are minor units of `currency`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TableOrderView {
    #[schema(value_type = uuid::Uuid)]
    pub order_id: OrderId,
    pub number: i32,
    #[schema(value_type = OrderStatusSchema)]
    pub status: OrderStatus,
    pub version: i32,
    #[schema(value_type = String, example = "UGX")]
    pub currency: Currency,
    pub total: i64,
    pub balance: i64,
    pub item_count: u32,
    pub bill_requested: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&TableOrder> for TableOrderView {
    fn from(o: &TableOrder) -> Self {
        Self {
            order_id: o.order_id,
            number: o.number,
            status: o.status,
            version: o.version,
            currency: o.currency,
            total: o.total,
            balance: o.balance,
            item_count: o.item_count,
            bill_requested: o.bill_requested,
            created_at: o.created_at,
        }
    }
}

/// A table with its live state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FloorTableView {
    #[schema(value_type = uuid::Uuid)]
    pub id: TableId,
    /// What staff call it, e.g. `T4`.
    pub code: String,
    pub area: Option<String>,
    pub seats: i32,
    pub image_url: Option<String>,
    pub sort_order: i32,
    pub active: bool,
    #[schema(value_type = TableStateSchema)]
    pub state: TableState,
    /// Its unfinished orders, oldest first.
    pub orders: Vec<TableOrderView>,
    /// Distinct seat numbers on the live items of those orders.
    pub seats_taken: u32,
}

impl From<&TableView> for FloorTableView {
    fn from(t: &TableView) -> Self {
        Self {
            id: t.table.id,
            code: t.table.code.as_str().to_owned(),
            area: t.table.area.clone(),
            seats: t.table.seats,
            image_url: t.table.image_url.clone(),
            sort_order: t.table.sort_order,
            active: t.table.active,
            state: t.state,
            orders: t.orders.iter().map(TableOrderView::from).collect(),
            seats_taken: t.seats_taken,
        }
    }
}

/// The floor: every table with its state and open orders.
#[utoipa::path(
    tag = "tables",
    responses((status = 200, description = "Tables in floor order", body = Vec<FloorTableView>)),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_tables")))
)]
#[get("/tables")]
pub async fn get_tables(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<FloorTableView>>, ApiError> {
    auth.require(Action::ViewTables)?;
    let floor = state.orders.tables(caller(&auth)).await.map_err(read_error)?;
    Ok(web::Json(floor.iter().map(FloorTableView::from).collect()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    #[test]
    fn the_state_schema_lists_the_domain_values() {
        let schema = serde_json::to_value(TableStateSchema::schema()).unwrap();
        let values: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let domain: Vec<serde_json::Value> =
            [TableState::Free, TableState::Occupied, TableState::BillRequested]
                .iter()
                .map(|s| serde_json::to_value(s).unwrap())
                .collect();
        assert_eq!(
            serde_json::to_value(&values).unwrap(),
            serde_json::Value::Array(domain)
        );
    }
}
