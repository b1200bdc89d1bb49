//! The fake's side of the smaller ports: staff, tables, menu, settings, receipts and the
//! idempotency purge, over the same in-memory state as the orders.

use super::*;

#[async_trait]
impl IdempotencyPurge for InMemoryStore {
    async fn purge_idempotency_records(&self, created_before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.idempotency.len();
        state.idempotency.retain(|_, r| r.created_at >= created_before);
        Ok(u64::try_from(before - state.idempotency.len()).unwrap_or(u64::MAX))
    }
}

#[async_trait]
impl StaffStore for InMemoryStore {
    async fn create_staff(&self, new: NewStaff) -> Result<Staff, StoreError> {
        let now = self.clock.now();
        let mut state = self.state();
        if state.staff.values().any(|c| c.staff.username == new.username) {
            return Err(StoreError::Conflict {
                constraint: "staff_username_key".into(),
            });
        }
        let staff = Staff {
            id: StaffId::new(),
            username: new.username,
            full_name: new.full_name,
            role: new.role,
            active: true,
            must_change_password: new.must_change_password,
            token_version: 1,
            has_pin: new.pin_hash.is_some(),
            created_at: now,
            updated_at: now,
        };
        state.staff.insert(
            staff.id,
            StaffCredentials {
                staff: staff.clone(),
                password_hash: new.password_hash,
                pin_hash: new.pin_hash,
            },
        );
        Ok(staff)
    }

    async fn get_staff(&self, id: StaffId) -> Result<Staff, StoreError> {
        self.state()
            .staff
            .get(&id)
            .map(|c| c.staff.clone())
            .ok_or(StoreError::not_found("staff"))
    }

    async fn find_credentials(&self, username: &Username) -> Result<Option<StaffCredentials>, StoreError> {
        Ok(self
            .state()
            .staff
            .values()
            .find(|c| &c.staff.username == username)
            .cloned())
    }

    async fn list_staff(&self) -> Result<Vec<Staff>, StoreError> {
        let mut staff: Vec<Staff> = self.state().staff.values().map(|c| c.staff.clone()).collect();
        staff.sort_by(|a, b| {
            b.active
                .cmp(&a.active)
                .then_with(|| a.username.as_str().cmp(b.username.as_str()))
        });
        Ok(staff)
    }
}

#[async_trait]
impl TableStore for InMemoryStore {
    async fn list_tables(&self) -> Result<Vec<Table>, StoreError> {
        let mut tables: Vec<Table> = self.state().tables.iter().filter(|t| t.active).cloned().collect();
        tables.sort_by_key(|t| t.sort_order);
        Ok(tables)
    }
}

#[async_trait]
impl MenuStore for InMemoryStore {
    async fn list_categories(&self) -> Result<Vec<Category>, StoreError> {
        let mut categories: Vec<Category> = self
            .state()
            .categories
            .iter()
            .filter(|c| c.active)
            .cloned()
            .collect();
        categories.sort_by_key(|c| c.sort_order);
        Ok(categories)
    }

    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        let state = self.state();
        let category_rank = |id: CategoryId| {
            state
                .categories
                .iter()
                .find(|c| c.id == id)
                .map_or(i32::MAX, |c| c.sort_order)
        };
        let mut products: Vec<Product> = state
            .products
            .values()
            .filter(|p| p.active)
            .map(|p| {
                let mut p = p.clone();
                p.modifiers.retain(|m| m.active);
                p
            })
            .collect();
        products.sort_by_key(|p| (category_rank(p.category_id), p.sort_order));
        Ok(products)
    }

    /// A digest of everything the menu shows: changes exactly when that does, whichever
    /// of the fake's many writers made the change.
    async fn menu_version(&self) -> Result<i64, StoreError> {
        let state = self.state();
        let products: Vec<&Product> = state.products.values().collect();
        let shown = serde_json::to_vec(&(&state.categories, products, &state.settings))
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(&shown);
        let mut first = [0_u8; 8];
        first.copy_from_slice(&digest[..8]);
        Ok(i64::from_le_bytes(first))
    }
}

#[async_trait]
impl SettingsStore for InMemoryStore {
    async fn get_settings(&self) -> Result<Settings, StoreError> {
        self.state()
            .settings
            .clone()
            .ok_or(StoreError::not_found("settings"))
    }

    async fn put_settings(&self, settings: &Settings) -> Result<Settings, StoreError> {
        self.state().settings = Some(settings.clone());
        Ok(settings.clone())
    }
}

#[async_trait]
impl crate::receipts::ReceiptStore for InMemoryStore {
    async fn receipt_of(
        &self,
        order: OrderId,
    ) -> Result<
        (
            Option<crate::receipts::ReceiptRecord>,
            Vec<crate::receipts::ReceiptPayment>,
        ),
        StoreError,
    > {
        let state = self.state();
        let record = state
            .receipts
            .get(&order)
            .map(|&number| crate::receipts::ReceiptRecord {
                number,
                issued_at: state
                    .orders
                    .get(&order)
                    .and_then(|o| o.closed_at)
                    .unwrap_or_else(|| self.clock.now()),
                fiscal: None,
            });
        let mut paid: Vec<_> = state
            .payments
            .values()
            .filter(|p| p.order_id == order && p.status.received())
            .collect();
        paid.sort_by_key(|p| (p.created_at, p.id));
        let paid = paid
            .into_iter()
            .map(crate::receipts::ReceiptPayment::from)
            .collect();
        Ok((record, paid))
    }
}
