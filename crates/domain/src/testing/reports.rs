//! A report store for tests that never read reports: every call answers unavailable, so an
//! unexpected one is visible (the PostgreSQL adapter's tests cover the real thing).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::reports::{DashboardData, ReportKind, ReportRows, ReportStore, ReportWindow, SalesSummary};
use crate::z_report::{CloseDay, StoredZ, ZClaim, ZMutation, ZReportRecord};

#[derive(Debug, Default, Clone, Copy)]
pub struct UnusedReportStore;

fn unused<T>() -> Result<T, StoreError> {
    Err(StoreError::Unavailable(
        "reports are not wired in this test".into(),
    ))
}

#[async_trait]
impl ReportStore for UnusedReportStore {
    async fn summary(&self, _: &ReportWindow) -> Result<SalesSummary, StoreError> {
        unused()
    }
    async fn report(&self, _: ReportKind, _: &ReportWindow) -> Result<ReportRows, StoreError> {
        unused()
    }
    async fn dashboard(&self, _: &ReportWindow, _: DateTime<Utc>) -> Result<DashboardData, StoreError> {
        unused()
    }
    async fn close_day(&self, _: CloseDay, _: Option<ZClaim>) -> Result<ZMutation, StoreError> {
        unused()
    }
    async fn z_reports(&self) -> Result<Vec<ZReportRecord>, StoreError> {
        unused()
    }
    async fn z_report(&self, _: i64) -> Result<ZReportRecord, StoreError> {
        unused()
    }
    async fn z_chain(&self) -> Result<Vec<StoredZ>, StoreError> {
        unused()
    }
}
