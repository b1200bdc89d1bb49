use async_trait::async_trait;
use diesel::prelude::*;
use pos_domain::StoreError;
use pos_domain::ids::StaffId;
use pos_domain::ports::StaffStore;
use pos_domain::staff::{NewStaff, Staff, StaffCredentials};
use pos_domain::validate::Username;
use uuid::Uuid;

use super::PgStore;
use crate::error::DbError;
use crate::rows::{NewStaffRow, StaffRow};
use crate::schema::staff;

fn staff_by_ids(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<(Uuid, StaffRow)>, DbError> {
    let rows: Vec<StaffRow> = staff::table
        .filter(staff::id.eq_any(ids))
        .select(StaffRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}

#[async_trait]
impl StaffStore for PgStore {
    async fn create_staff(&self, new: NewStaff) -> Result<Staff, StoreError> {
        let row = self
            .interact(move |conn| {
                Ok(diesel::insert_into(staff::table)
                    .values(NewStaffRow::from_domain(&new))
                    .returning(StaffRow::as_returning())
                    .get_result(conn)?)
            })
            .await?;
        row.into_staff()
    }

    /// Read on every authenticated request: coalesced with the reads arriving meanwhile.
    async fn get_staff(&self, id: StaffId) -> Result<Staff, StoreError> {
        let found = self
            .read_coalesced(&self.staff_reads, vec![id.as_uuid()], staff_by_ids)
            .await?;
        found
            .get(&id.as_uuid())
            .cloned()
            .ok_or_else(|| StoreError::not_found("staff"))?
            .into_staff()
    }

    async fn find_credentials(&self, username: &Username) -> Result<Option<StaffCredentials>, StoreError> {
        let username = username.as_str().to_owned();
        let row = self
            .interact(move |conn| {
                Ok(staff::table
                    .filter(staff::username.eq(username))
                    .select(StaffRow::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?;
        row.map(StaffRow::into_credentials).transpose()
    }

    async fn list_staff(&self) -> Result<Vec<Staff>, StoreError> {
        let rows = self
            .interact(|conn| {
                Ok(staff::table
                    .order((staff::active.desc(), staff::username.asc()))
                    .select(StaffRow::as_select())
                    .load(conn)?)
            })
            .await?;
        rows.into_iter().map(StaffRow::into_staff).collect()
    }
}
