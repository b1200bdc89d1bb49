//! What a back-office change is refused with.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::approval::ApprovalError;
use crate::error::StoreError;
use crate::ids::ProductId;
use crate::validate::ValidationError;

/// A product as a refusal names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRef {
    pub id: ProductId,
    pub sku: String,
    pub name: String,
}

/// Why a catalog change was refused. Each has a stable problem `code`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CatalogError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    NotPermitted(#[from] ApprovalError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the category is still used by {count} product(s): {}; move or delete them first", names(.products))]
    CategoryInUse { count: usize, products: Vec<ProductRef> },
    #[error("another {what} has this {field}")]
    Taken { what: &'static str, field: &'static str },
    #[error("table {code} has unfinished orders; close or move them first")]
    TableInUse { code: String },
    #[error("products are priced in {current}; re-price or retire them before changing the currency")]
    CurrencyInUse { current: String },
    #[error("stock cannot go below zero: {left} left")]
    StockBelowZero { left: i32 },
    #[error("stock is not tracked for this product: set a count first")]
    StockNotTracked,
    #[error(transparent)]
    Store(StoreError),
}

fn names(products: &[ProductRef]) -> String {
    products
        .iter()
        .map(|p| format!("{} ({})", p.name, p.sku))
        .collect::<Vec<_>>()
        .join(", ")
}

impl CatalogError {
    pub fn code(&self) -> &'static str {
        match self {
            CatalogError::Invalid(_) => "validation_failed",
            CatalogError::NotPermitted(e) => e.code(),
            CatalogError::NotFound(_) => "not_found",
            CatalogError::CategoryInUse { .. } => "category_in_use",
            CatalogError::Taken { what, .. } => match *what {
                "category" => "category_name_taken",
                "product" => "sku_taken",
                "modifier" => "modifier_name_taken",
                _ => "table_code_taken",
            },
            CatalogError::TableInUse { .. } => "table_in_use",
            CatalogError::CurrencyInUse { .. } => "currency_in_use",
            CatalogError::StockBelowZero { .. } => "stock_below_zero",
            CatalogError::StockNotTracked => "stock_not_tracked",
            CatalogError::Store(_) => "store",
        }
    }

    /// The request field a refusal concerns.
    pub fn field(&self) -> Option<String> {
        match self {
            CatalogError::Invalid(e) => Some(e.field.clone()),
            CatalogError::Taken { field, .. } => Some((*field).to_owned()),
            CatalogError::CurrencyInUse { .. } => Some("currency".to_owned()),
            CatalogError::StockBelowZero { .. } | CatalogError::StockNotTracked => Some("adjust".to_owned()),
            _ => None,
        }
    }
}

/// The unique constraints of the catalog tables, as the rules they keep.
impl From<StoreError> for CatalogError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { entity } => CatalogError::NotFound(entity),
            StoreError::Conflict { constraint } => match constraint.as_str() {
                "categories_name_key" => CatalogError::Taken {
                    what: "category",
                    field: "name",
                },
                "products_sku_key" => CatalogError::Taken {
                    what: "product",
                    field: "sku",
                },
                "modifiers_product_name_key" => CatalogError::Taken {
                    what: "modifier",
                    field: "name",
                },
                "dining_tables_code_key" => CatalogError::Taken {
                    what: "table",
                    field: "code",
                },
                _ => CatalogError::Store(StoreError::Conflict { constraint }),
            },
            StoreError::ForeignKeyViolation { constraint } if constraint.contains("category") => {
                ValidationError::new("category_id", "no such category").into()
            }
            other => CatalogError::Store(other),
        }
    }
}
