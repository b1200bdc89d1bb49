//! A shift store for tests that never reach shifts: every call answers unavailable, so an
//! unexpected one is visible (the PostgreSQL adapter's tests cover the real thing).

use async_trait::async_trait;

use crate::error::StoreError;
use crate::ids::{ShiftId, StaffId};
use crate::shift::{CashFlows, Shift};
use crate::shifts::{ShiftClaim, ShiftEffects, ShiftFilter, ShiftMutation, ShiftStore, ShiftWork};

#[derive(Debug, Default, Clone, Copy)]
pub struct UnusedShiftStore;

fn unused<T>() -> Result<T, StoreError> {
    Err(StoreError::Unavailable(
        "shifts are not wired in this test".into(),
    ))
}

#[async_trait]
impl ShiftStore for UnusedShiftStore {
    async fn open_shift(
        &self,
        _: Shift,
        _: ShiftEffects,
        _: Option<ShiftClaim>,
    ) -> Result<ShiftMutation, StoreError> {
        unused()
    }
    async fn mutate_shift(
        &self,
        _: ShiftId,
        _: Option<ShiftClaim>,
        _: ShiftWork,
    ) -> Result<ShiftMutation, StoreError> {
        unused()
    }
    async fn get_shift(&self, _: ShiftId) -> Result<(Shift, CashFlows), StoreError> {
        unused()
    }
    async fn open_shift_of(&self, _: StaffId) -> Result<Option<(Shift, CashFlows)>, StoreError> {
        unused()
    }
    async fn list_shifts(&self, _: &ShiftFilter) -> Result<Vec<(Shift, CashFlows)>, StoreError> {
        unused()
    }
}
