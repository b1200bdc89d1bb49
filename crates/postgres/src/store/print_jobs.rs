//! The print queue agents poll ([`PrintJobStore`]). Jobs are inserted by the units of work
//! that cause them (a send queues its tickets in its own transaction); this module reads
//! them and records what the agents report.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use pos_domain::StoreError;
use pos_domain::ids::{OrderId, PrintJobId, ShiftId};
use pos_domain::print_job::PrintJobKind;
use pos_domain::print_queue::{PrintJob, PrintJobStatus, PrintJobStore, PrintJobUpdate, PrinterName};
use pos_domain::printing::Paper;
use uuid::Uuid;

use super::PgStore;
use crate::error::DbError;
use crate::schema::print_jobs;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = print_jobs, check_for_backend(diesel::pg::Pg))]
struct PrintJobRow {
    id: Uuid,
    kind: String,
    printer: String,
    order_id: Option<Uuid>,
    shift_id: Option<Uuid>,
    paper: String,
    status: String,
    attempts: i32,
    payload_text: String,
    payload_escpos: Vec<u8>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    printed_at: Option<DateTime<Utc>>,
}

fn corrupt(column: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("stored print_jobs.{column} is invalid: {error}"))
}

impl PrintJobRow {
    fn into_job(self) -> Result<PrintJob, StoreError> {
        Ok(PrintJob {
            id: PrintJobId::from_uuid(self.id),
            kind: PrintJobKind::parse(&self.kind).map_err(|e| corrupt("kind", e))?,
            printer: self.printer,
            order_id: self.order_id.map(OrderId::from_uuid),
            shift_id: self.shift_id.map(ShiftId::from_uuid),
            paper: Paper::parse(&self.paper).map_err(|e| corrupt("paper", e))?,
            status: PrintJobStatus::parse(&self.status).map_err(|e| corrupt("status", e))?,
            attempts: self.attempts,
            payload_text: self.payload_text,
            payload_escpos: self.payload_escpos,
            last_error: self.last_error,
            created_at: self.created_at,
            updated_at: self.updated_at,
            printed_at: self.printed_at,
        })
    }
}

/// What an agent's report changes.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = print_jobs, treat_none_as_null = true)]
struct PrintJobChangeset<'a> {
    status: &'a str,
    attempts: i32,
    last_error: Option<&'a str>,
    printed_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

fn pending_statuses() -> Vec<&'static str> {
    PrintJobStatus::ALL
        .into_iter()
        .filter(|s| s.is_pending())
        .map(PrintJobStatus::as_str)
        .collect()
}

#[async_trait]
impl PrintJobStore for PgStore {
    async fn pending_print_jobs(
        &self,
        printer: &PrinterName,
        limit: u32,
    ) -> Result<Vec<PrintJob>, StoreError> {
        let printer = printer.as_str().to_owned();
        let rows = self
            .interact(move |conn| {
                Ok(print_jobs::table
                    .filter(print_jobs::printer.eq(printer))
                    .filter(print_jobs::status.eq_any(pending_statuses()))
                    .order((print_jobs::created_at.asc(), print_jobs::id.asc()))
                    .limit(i64::from(limit))
                    .select(PrintJobRow::as_select())
                    .load(conn)?)
            })
            .await?;
        rows.into_iter().map(PrintJobRow::into_job).collect()
    }

    async fn get_print_job(&self, id: PrintJobId) -> Result<PrintJob, StoreError> {
        let row = self
            .interact(move |conn| {
                Ok(print_jobs::table
                    .find(id.as_uuid())
                    .select(PrintJobRow::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?;
        row.ok_or_else(|| StoreError::not_found("print_job"))?.into_job()
    }

    async fn update_print_job(
        &self,
        id: PrintJobId,
        update: PrintJobUpdate,
        now: DateTime<Utc>,
    ) -> Result<Result<PrintJob, pos_domain::print_queue::PrintQueueError>, StoreError> {
        self.transaction(move |conn| {
            let row = print_jobs::table
                .find(id.as_uuid())
                .select(PrintJobRow::as_select())
                .for_update()
                .first(conn)
                .optional()?
                .ok_or_else(|| StoreError::not_found("print_job"))?;
            let loaded = row.into_job().map_err(DbError::Store)?;
            let mut job = loaded.clone();
            if let Err(refusal) = job.apply(&update, now) {
                return Ok(Err(refusal));
            }
            if job == loaded {
                // A repeated ack: nothing to write (the updated_at trigger would move it).
                return Ok(Ok(job));
            }
            let saved = diesel::update(print_jobs::table.find(id.as_uuid()))
                .set(&PrintJobChangeset {
                    status: job.status.as_str(),
                    attempts: job.attempts,
                    last_error: job.last_error.as_deref(),
                    printed_at: job.printed_at,
                    updated_at: job.updated_at,
                })
                .returning(PrintJobRow::as_returning())
                .get_result(conn)?;
            Ok(Ok(saved.into_job().map_err(DbError::Store)?))
        })
        .await
    }
}
