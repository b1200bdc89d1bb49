use async_trait::async_trait;
use diesel::prelude::*;
use pos_domain::StoreError;
use pos_domain::ids::StaffId;
use pos_domain::ports::StaffStore;
use pos_domain::staff::{NewStaff, Staff, StaffCredentials};
use pos_domain::validate::Username;

use super::PgStore;
use crate::rows::{NewStaffRow, StaffRow};
use crate::schema::staff;

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

    async fn get_staff(&self, id: StaffId) -> Result<Staff, StoreError> {
        let row = self
            .interact(move |conn| {
                Ok(staff::table
                    .find(id.as_uuid())
                    .select(StaffRow::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?;
        row.ok_or_else(|| StoreError::not_found("staff"))?.into_staff()
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
