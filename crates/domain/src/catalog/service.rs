//! The back-office use cases.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::access::Requester;
use crate::approval::{self};
use crate::error::StoreError;
use crate::event::Event;
use crate::ids::{CategoryId, ModifierId, ProductId, TableId};
use crate::money::Currency;
use crate::permissions::Action;
use crate::ports::{Clock, EventBus};
use crate::settings::Settings;
use crate::venue::{Category, Modifier, NewCategory, NewProduct, NewTable, Product, Table};

use super::{
    CatalogClaim, CatalogError, CatalogStore, CategoryPatch, Claimed, ModifierPatch, NewModifier,
    ProductFilter, ProductPatch, SettingsPatch, StockCommand, StockMovement, TablePatch,
};

/// The back-office use cases: the permission check, then the store, then the wake-up of
/// every terminal (best effort: the events are in the log).
#[derive(Clone)]
pub struct CatalogService {
    store: Arc<dyn CatalogStore>,
    settings: Arc<dyn crate::ports::SettingsStore>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
}

impl CatalogService {
    pub fn new(
        store: Arc<dyn CatalogStore>,
        settings: Arc<dyn crate::ports::SettingsStore>,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            settings,
            bus,
            clock,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn publish(&self, events: &[Event]) {
        for event in events {
            // A lost wake-up only delays screens: subscribers catch up from the log.
            let _ = self.bus.publish(event).await;
        }
    }

    /// The venue's currency, in which every price is given.
    pub async fn currency(&self, who: Requester) -> Result<Currency, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        Ok(self.settings.get_settings().await?.currency)
    }

    pub async fn categories(&self, who: Requester) -> Result<Vec<Category>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        Ok(self.store.all_categories().await?)
    }

    pub async fn category(&self, who: Requester, id: CategoryId) -> Result<Category, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        Ok(self.store.category(id).await?)
    }

    /// Publishes what a unit committed (best effort: the events are in the log).
    async fn claimed<T>(&self, unit: Result<Claimed<T>, StoreError>) -> Result<Claimed<T>, CatalogError> {
        let unit = unit?;
        if let Claimed::Committed { events, .. } = &unit {
            self.publish(events).await;
        }
        Ok(unit)
    }

    pub async fn create_category(
        &self,
        who: Requester,
        new: NewCategory,
        claim: Option<CatalogClaim<Category>>,
    ) -> Result<Claimed<Category>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.create_category(new, who.into(), claim).await)
            .await
    }

    pub async fn update_category(
        &self,
        who: Requester,
        id: CategoryId,
        patch: CategoryPatch,
        claim: Option<CatalogClaim<Category>>,
    ) -> Result<Claimed<Category>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.update_category(id, patch, who.into(), claim).await)
            .await
    }

    pub async fn delete_category(
        &self,
        who: Requester,
        id: CategoryId,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.delete_category(id, who.into(), claim).await)
            .await
    }

    pub async fn products(
        &self,
        who: Requester,
        filter: ProductFilter,
    ) -> Result<Vec<Product>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        Ok(self.store.all_products(filter).await?)
    }

    pub async fn product(&self, who: Requester, id: ProductId) -> Result<Product, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        Ok(self.store.product(id).await?)
    }

    pub async fn create_product(
        &self,
        who: Requester,
        new: NewProduct,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.create_product(new, who.into(), claim).await)
            .await
    }

    pub async fn update_product(
        &self,
        who: Requester,
        id: ProductId,
        patch: ProductPatch,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.update_product(id, patch, who.into(), claim).await)
            .await
    }

    /// Retires a product: it leaves the menu; past orders keep pointing at it.
    pub async fn retire_product(
        &self,
        who: Requester,
        id: ProductId,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, CatalogError> {
        let patch = ProductPatch {
            active: Some(false),
            ..ProductPatch::default()
        };
        self.update_product(who, id, patch, claim).await
    }

    pub async fn set_availability(
        &self,
        who: Requester,
        id: ProductId,
        available: bool,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(
            self.store
                .set_availability(id, available, who.into(), claim)
                .await,
        )
        .await
    }

    pub async fn change_stock(
        &self,
        who: Requester,
        id: ProductId,
        command: StockCommand,
        reason: String,
        claim: Option<CatalogClaim<Product>>,
    ) -> Result<Claimed<Product>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(
            self.store
                .change_stock(id, command, reason, who.into(), claim)
                .await,
        )
        .await
    }

    pub async fn stock_movements(
        &self,
        who: Requester,
        id: ProductId,
        limit: i64,
    ) -> Result<Vec<StockMovement>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.store.product(id).await?;
        Ok(self.store.stock_movements(id, limit.clamp(1, 500)).await?)
    }

    pub async fn create_modifier(
        &self,
        who: Requester,
        product: ProductId,
        new: NewModifier,
        claim: Option<CatalogClaim<Modifier>>,
    ) -> Result<Claimed<Modifier>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.create_modifier(product, new, who.into(), claim).await)
            .await
    }

    pub async fn update_modifier(
        &self,
        who: Requester,
        id: ModifierId,
        patch: ModifierPatch,
        claim: Option<CatalogClaim<Modifier>>,
    ) -> Result<Claimed<Modifier>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.update_modifier(id, patch, who.into(), claim).await)
            .await
    }

    pub async fn delete_modifier(
        &self,
        who: Requester,
        id: ModifierId,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, CatalogError> {
        approval::require(who.actor, Action::EditMenu)?;
        self.claimed(self.store.delete_modifier(id, who.into(), claim).await)
            .await
    }

    pub async fn tables(&self, who: Requester) -> Result<Vec<Table>, CatalogError> {
        approval::require(who.actor, Action::EditTables)?;
        Ok(self.store.all_tables().await?)
    }

    pub async fn table(&self, who: Requester, id: TableId) -> Result<Table, CatalogError> {
        approval::require(who.actor, Action::EditTables)?;
        Ok(self.store.table(id).await?)
    }

    pub async fn create_table(
        &self,
        who: Requester,
        new: NewTable,
        image_url: Option<String>,
        claim: Option<CatalogClaim<Table>>,
    ) -> Result<Claimed<Table>, CatalogError> {
        approval::require(who.actor, Action::EditTables)?;
        self.claimed(self.store.create_table(new, image_url, who.into(), claim).await)
            .await
    }

    pub async fn update_table(
        &self,
        who: Requester,
        id: TableId,
        patch: TablePatch,
        claim: Option<CatalogClaim<Table>>,
    ) -> Result<Claimed<Table>, CatalogError> {
        approval::require(who.actor, Action::EditTables)?;
        self.claimed(self.store.update_table(id, patch, who.into(), claim).await)
            .await
    }

    pub async fn delete_table(
        &self,
        who: Requester,
        id: TableId,
        claim: Option<CatalogClaim<()>>,
    ) -> Result<Claimed<()>, CatalogError> {
        approval::require(who.actor, Action::EditTables)?;
        self.claimed(self.store.delete_table(id, who.into(), claim).await)
            .await
    }

    pub async fn settings(&self, who: Requester) -> Result<Settings, CatalogError> {
        approval::require(who.actor, Action::ManageSettings)?;
        Ok(self.settings.get_settings().await?)
    }

    pub async fn update_settings(
        &self,
        who: Requester,
        patch: SettingsPatch,
        claim: Option<CatalogClaim<Settings>>,
    ) -> Result<Claimed<Settings>, CatalogError> {
        approval::require(who.actor, Action::ManageSettings)?;
        self.claimed(self.store.update_settings(patch, who.into(), claim).await)
            .await
    }
}
