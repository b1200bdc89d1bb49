use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use pos_domain::StoreError;
use pos_domain::ids::TerminalId;
use pos_domain::ports::TerminalStore;
use pos_domain::staff::{NewTerminal, Station, Terminal, TerminalChanges};

use super::PgStore;
use crate::rows::{NewTerminalRow, TerminalRow};
use crate::schema::terminals;

#[derive(Debug, AsChangeset)]
#[diesel(table_name = terminals)]
struct TerminalChangeset<'a> {
    code: Option<&'a str>,
    name: Option<&'a str>,
    kind: Option<&'a str>,
    // `Some(None)` writes NULL; `None` leaves the column alone.
    station: Option<Option<&'a str>>,
    location: Option<Option<&'a str>>,
    has_printer: Option<bool>,
    has_cash_drawer: Option<bool>,
    active: Option<bool>,
}

impl<'a> TerminalChangeset<'a> {
    fn from_domain(changes: &'a TerminalChanges) -> Self {
        TerminalChangeset {
            code: changes.code.as_deref(),
            name: changes.name.as_ref().map(|n| n.as_str()),
            kind: changes.kind.map(|k| k.as_str()),
            station: changes.station.map(|s| s.map(Station::as_str)),
            location: changes.location.as_ref().map(|l| l.as_deref()),
            has_printer: changes.has_printer,
            has_cash_drawer: changes.has_cash_drawer,
            active: changes.active,
        }
    }

    fn is_empty(&self) -> bool {
        self.code.is_none()
            && self.name.is_none()
            && self.kind.is_none()
            && self.station.is_none()
            && self.location.is_none()
            && self.has_printer.is_none()
            && self.has_cash_drawer.is_none()
            && self.active.is_none()
    }
}

#[async_trait]
impl TerminalStore for PgStore {
    async fn create_terminal(&self, new: NewTerminal) -> Result<Terminal, StoreError> {
        let row = self
            .interact(move |conn| {
                Ok(diesel::insert_into(terminals::table)
                    .values(NewTerminalRow::from_domain(&new))
                    .returning(TerminalRow::as_returning())
                    .get_result(conn)?)
            })
            .await?;
        row.into_terminal()
    }

    async fn find_terminal(&self, code: &str) -> Result<Option<Terminal>, StoreError> {
        let code = code.to_owned();
        let row = self
            .interact(move |conn| {
                Ok(terminals::table
                    .filter(terminals::code.eq(code))
                    .select(TerminalRow::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?;
        row.map(TerminalRow::into_terminal).transpose()
    }

    async fn list_terminals(&self) -> Result<Vec<Terminal>, StoreError> {
        let rows = self
            .interact(|conn| {
                Ok(terminals::table
                    .order(terminals::code.asc())
                    .select(TerminalRow::as_select())
                    .load(conn)?)
            })
            .await?;
        rows.into_iter().map(TerminalRow::into_terminal).collect()
    }

    async fn touch_terminal(&self, id: TerminalId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let touched = self
            .interact(move |conn| {
                // GREATEST: requests finishing out of order never move last_seen_at back.
                Ok(
                    sql_query("UPDATE terminals SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id = $1")
                        .bind::<SqlUuid, _>(id.as_uuid())
                        .bind::<Timestamptz, _>(at)
                        .execute(conn)?,
                )
            })
            .await?;
        if touched == 0 {
            return Err(StoreError::not_found("terminal"));
        }
        Ok(())
    }

    async fn get_terminal(&self, id: TerminalId) -> Result<Terminal, StoreError> {
        let row = self
            .interact(move |conn| {
                Ok(terminals::table
                    .find(id.as_uuid())
                    .select(TerminalRow::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?;
        row.ok_or_else(|| StoreError::not_found("terminal"))?
            .into_terminal()
    }

    async fn update_terminal(
        &self,
        id: TerminalId,
        changes: TerminalChanges,
    ) -> Result<Terminal, StoreError> {
        let row = self
            .interact(move |conn| {
                let changeset = TerminalChangeset::from_domain(&changes);
                let target = terminals::table.find(id.as_uuid());
                // diesel refuses an UPDATE with nothing to set: nothing to change is a read.
                Ok(if changeset.is_empty() {
                    target.select(TerminalRow::as_select()).first(conn).optional()?
                } else {
                    diesel::update(target)
                        .set(&changeset)
                        .returning(TerminalRow::as_returning())
                        .get_result(conn)
                        .optional()?
                })
            })
            .await?;
        row.ok_or_else(|| StoreError::not_found("terminal"))?
            .into_terminal()
    }
}
