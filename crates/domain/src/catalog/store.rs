//! The back office's store port.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::ids::{CategoryId, ModifierId, ProductId, TableId};
use crate::settings::Settings;
use crate::venue::{Category, Modifier, NewCategory, NewProduct, NewTable, Product, Table};

use super::{
    CatalogClaim, CategoryPatch, ChangeContext, Claimed, ModifierPatch, NewModifier, ProductPatch,
    SettingsPatch, StockCommand, StockMovement, TablePatch,
};

/// Filters of the back-office product list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFilter {
    pub category_id: Option<CategoryId>,
    /// Retired products too.
    pub include_inactive: bool,
}

/// The back office's store. Every write is one transaction: lock the row, apply the patch
/// with this module's functions, write, append the audit row and the event from
/// [`change_effects`]; a refusal (any `Err`) writes nothing.
///
/// Errors: an unknown id → `CatalogError::NotFound(<entity>)`; a unique constraint →
/// `CatalogError::Taken` (through `From<StoreError>`).
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Every category, retired ones too, in menu order.
    async fn all_categories(&self) -> Result<Vec<Category>, StoreError>;
    async fn category(&self, id: CategoryId) -> Result<Category, StoreError>;
    async fn create_category(
        &self,
        new: NewCategory,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Category>>,
    ) -> Result<Claimed<Category>, StoreError>;
    async fn update_category(
        &self,
        id: CategoryId,
        patch: CategoryPatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Category>>,
    ) -> Result<Claimed<Category>, StoreError>;
    /// `CatalogError::CategoryInUse` naming every product (retired ones too) that uses it.
    async fn delete_category(
        &self,
        id: CategoryId,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, StoreError>;

    /// Products with all their modifiers (inactive ones too), in menu order.
    async fn all_products(&self, filter: ProductFilter) -> Result<Vec<Product>, StoreError>;
    async fn product(&self, id: ProductId) -> Result<Product, StoreError>;
    /// The product's currency must be the venue's (the service passes it).
    async fn create_product(
        &self,
        new: NewProduct,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError>;
    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError>;
    /// 86 (`false`) or back (`true`).
    async fn set_availability(
        &self,
        id: ProductId,
        available: bool,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError>;
    /// Applies [`apply_stock`] under the product's row lock, records a [`StockMovement`].
    async fn change_stock(
        &self,
        id: ProductId,
        command: StockCommand,
        reason: String,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, StoreError>;
    /// Newest first.
    async fn stock_movements(&self, id: ProductId, limit: i64) -> Result<Vec<StockMovement>, StoreError>;

    async fn create_modifier(
        &self,
        product: ProductId,
        new: NewModifier,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Modifier>>,
    ) -> Result<Claimed<Modifier>, StoreError>;
    async fn update_modifier(
        &self,
        id: ModifierId,
        patch: ModifierPatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Modifier>>,
    ) -> Result<Claimed<Modifier>, StoreError>;
    async fn delete_modifier(
        &self,
        id: ModifierId,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, StoreError>;

    /// Every table, retired ones too, in floor order.
    async fn all_tables(&self) -> Result<Vec<Table>, StoreError>;
    async fn table(&self, id: TableId) -> Result<Table, StoreError>;
    async fn create_table(
        &self,
        new: NewTable,
        image_url: Option<String>,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Table>>,
    ) -> Result<Claimed<Table>, StoreError>;
    async fn update_table(
        &self,
        id: TableId,
        patch: TablePatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Table>>,
    ) -> Result<Claimed<Table>, StoreError>;
    /// Retires the table (orders keep pointing at it); `TableInUse` while it has unfinished
    /// orders.
    async fn delete_table(
        &self,
        id: TableId,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, StoreError>;

    /// Applies `patch` to the stored settings under a row lock, refusing a currency change
    /// while any product is priced in another currency (`CurrencyInUse`).
    async fn update_settings(
        &self,
        patch: SettingsPatch,
        ctx: ChangeContext,
        claim: Option<CatalogClaim<Settings>>,
    ) -> Result<Claimed<Settings>, StoreError>;
}
