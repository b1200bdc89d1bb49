//! The print queue as print agents see it: jobs already rendered and queued by the use cases
//! (see [`crate::print_job::NewPrintJob`]), polled per printer, then acknowledged as printed
//! or reported as failed. A failed attempt puts the job back in the queue until
//! [`MAX_PRINT_ATTEMPTS`] attempts have failed; then it stays `failed` for a person to look at.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::StoreError;
use crate::ids::{OrderId, PrintJobId, ShiftId};
use crate::print_job::PrintJobKind;
use crate::printing::Paper;
use crate::validate::ValidationError;

/// Failed attempts after which a job is given up (status `failed`).
pub const MAX_PRINT_ATTEMPTS: i32 = 5;

/// Longest printer error message kept with a job, in characters.
pub const MAX_PRINT_ERROR_LEN: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintJobStatus {
    /// Waiting for its printer's agent (also after a failed attempt that will be retried).
    Queued,
    /// Taken by an agent (kept for agents that claim jobs; the queue lists it still).
    Printing,
    Printed,
    /// Gave up after [`MAX_PRINT_ATTEMPTS`] failed attempts.
    Failed,
}

impl PrintJobStatus {
    pub const ALL: [PrintJobStatus; 4] = [
        PrintJobStatus::Queued,
        PrintJobStatus::Printing,
        PrintJobStatus::Printed,
        PrintJobStatus::Failed,
    ];

    /// The value of `print_jobs.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrintJobStatus::Queued => "queued",
            PrintJobStatus::Printing => "printing",
            PrintJobStatus::Printed => "printed",
            PrintJobStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        PrintJobStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| ValidationError::new("status", "must be one of queued, printing, printed, failed"))
    }

    /// Still to be printed: what an agent's poll returns.
    pub fn is_pending(self) -> bool {
        matches!(self, PrintJobStatus::Queued | PrintJobStatus::Printing)
    }
}

/// The name of a printer, as agents poll for it: 1–80 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PrinterName(String);

impl PrinterName {
    pub const MAX_LEN: usize = 80;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.chars().count() > Self::MAX_LEN {
            return Err(ValidationError::new(
                "printer",
                format!("must be 1 to {} characters", Self::MAX_LEN),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "printer",
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PrinterName {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<PrinterName> for String {
    fn from(name: PrinterName) -> String {
        name.0
    }
}

/// What a printer said when it could not print: 1–[`MAX_PRINT_ERROR_LEN`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PrinterError(String);

impl PrinterError {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.chars().count() > MAX_PRINT_ERROR_LEN {
            return Err(ValidationError::new(
                "error",
                format!("must be 1 to {MAX_PRINT_ERROR_LEN} characters"),
            ));
        }
        if trimmed.chars().any(|c| c.is_control() && c != '\n') {
            return Err(ValidationError::new(
                "error",
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PrinterError {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<PrinterError> for String {
    fn from(error: PrinterError) -> String {
        error.0
    }
}

/// A queued print job as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintJob {
    pub id: PrintJobId,
    pub kind: PrintJobKind,
    pub printer: String,
    pub order_id: Option<OrderId>,
    pub shift_id: Option<ShiftId>,
    pub paper: Paper,
    pub status: PrintJobStatus,
    /// Failed attempts so far.
    pub attempts: i32,
    pub payload_text: String,
    pub payload_escpos: Vec<u8>,
    /// What the printer said the last time it failed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub printed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrintQueueError {
    #[error("the print job was given up after {attempts} failed attempts")]
    GaveUp { attempts: i32 },
    #[error("the print job was already printed")]
    AlreadyPrinted,
}

impl PrintQueueError {
    /// Stable machine-readable code for problem bodies.
    pub fn code(&self) -> &'static str {
        match self {
            PrintQueueError::GaveUp { .. } => "print_job_failed",
            PrintQueueError::AlreadyPrinted => "print_job_printed",
        }
    }
}

/// What an agent reports about a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintJobUpdate {
    /// It printed.
    Printed,
    /// It did not; the job is retried until `max_attempts` attempts have failed.
    Failed { error: PrinterError, max_attempts: i32 },
}

impl PrintJob {
    /// Applies an agent's report at `now`. Acknowledging a printed job again changes
    /// nothing (the agent retried its ack); a given-up job cannot be acknowledged, and a
    /// printed one cannot fail.
    pub fn apply(&mut self, update: &PrintJobUpdate, now: DateTime<Utc>) -> Result<(), PrintQueueError> {
        match (update, self.status) {
            (PrintJobUpdate::Printed, PrintJobStatus::Printed) => Ok(()),
            (_, PrintJobStatus::Failed) => Err(PrintQueueError::GaveUp {
                attempts: self.attempts,
            }),
            (PrintJobUpdate::Printed, _) => {
                self.status = PrintJobStatus::Printed;
                self.printed_at = Some(now);
                self.updated_at = now;
                Ok(())
            }
            (PrintJobUpdate::Failed { .. }, PrintJobStatus::Printed) => Err(PrintQueueError::AlreadyPrinted),
            (PrintJobUpdate::Failed { error, max_attempts }, _) => {
                self.attempts = self.attempts.saturating_add(1);
                self.last_error = Some(error.as_str().to_owned());
                self.status = if self.attempts >= *max_attempts {
                    PrintJobStatus::Failed
                } else {
                    PrintJobStatus::Queued
                };
                self.updated_at = now;
                Ok(())
            }
        }
    }
}

/// The queue print agents poll. Jobs are written by the order (and payment, shift) units of
/// work in their own transactions; this port reads and updates them.
#[async_trait]
pub trait PrintJobStore: Send + Sync {
    /// The pending jobs ([`PrintJobStatus::is_pending`]) of `printer`, oldest first
    /// (`created_at, id`), at most `limit`.
    async fn pending_print_jobs(
        &self,
        printer: &PrinterName,
        limit: u32,
    ) -> Result<Vec<PrintJob>, StoreError>;

    /// One job. `StoreError::NotFound { entity: "print_job" }` for an unknown id.
    async fn get_print_job(&self, id: PrintJobId) -> Result<PrintJob, StoreError>;

    /// In one transaction: locks the job (`FOR UPDATE`), applies `update` with
    /// [`PrintJob::apply`] at `now` and saves status, attempts, last error, printed and
    /// updated times. A refusal writes nothing and comes back as the inner `Err`.
    /// `StoreError::NotFound { entity: "print_job" }` for an unknown id.
    async fn update_print_job(
        &self,
        id: PrintJobId,
        update: PrintJobUpdate,
        now: DateTime<Utc>,
    ) -> Result<Result<PrintJob, PrintQueueError>, StoreError>;
}

/// An in-memory [`PrintJobStore`] for tests of the layers above.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
pub struct InMemoryPrintQueue {
    jobs: std::sync::Mutex<Vec<PrintJob>>,
}

#[cfg(any(test, feature = "testing"))]
impl InMemoryPrintQueue {
    /// Queues a job as the order units of work do (status queued, no attempts).
    pub fn queue(&self, job: crate::print_job::NewPrintJob, now: DateTime<Utc>) {
        let stored = PrintJob {
            id: job.id,
            kind: job.kind,
            printer: job.printer,
            order_id: job.order_id,
            shift_id: job.shift_id,
            paper: job.paper,
            status: PrintJobStatus::Queued,
            attempts: 0,
            payload_text: job.payload_text,
            payload_escpos: job.payload_escpos,
            last_error: None,
            created_at: now,
            updated_at: now,
            printed_at: None,
        };
        self.lock().push(stored);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PrintJob>> {
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(any(test, feature = "testing"))]
#[async_trait]
impl PrintJobStore for InMemoryPrintQueue {
    async fn pending_print_jobs(
        &self,
        printer: &PrinterName,
        limit: u32,
    ) -> Result<Vec<PrintJob>, StoreError> {
        let mut jobs: Vec<PrintJob> = self
            .lock()
            .iter()
            .filter(|j| j.printer == printer.as_str() && j.status.is_pending())
            .cloned()
            .collect();
        jobs.sort_by_key(|j| (j.created_at, j.id));
        jobs.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(jobs)
    }

    async fn get_print_job(&self, id: PrintJobId) -> Result<PrintJob, StoreError> {
        self.lock()
            .iter()
            .find(|j| j.id == id)
            .cloned()
            .ok_or_else(|| StoreError::not_found("print_job"))
    }

    async fn update_print_job(
        &self,
        id: PrintJobId,
        update: PrintJobUpdate,
        now: DateTime<Utc>,
    ) -> Result<Result<PrintJob, PrintQueueError>, StoreError> {
        let mut jobs = self.lock();
        let job = jobs
            .iter_mut()
            .find(|j| j.id == id)
            .ok_or_else(|| StoreError::not_found("print_job"))?;
        let mut next = job.clone();
        Ok(next.apply(&update, now).map(|()| {
            *job = next.clone();
            next
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::print_job::NewPrintJob;
    use chrono::TimeDelta;

    fn job(printer: &str) -> NewPrintJob {
        NewPrintJob {
            id: PrintJobId::new(),
            kind: PrintJobKind::KitchenTicket,
            printer: printer.to_owned(),
            order_id: Some(OrderId::new()),
            shift_id: None,
            paper: Paper::Mm80,
            payload_text: "ticket\n".to_owned(),
            payload_escpos: vec![0x1b, 0x40],
        }
    }

    fn failed(message: &str) -> PrintJobUpdate {
        PrintJobUpdate::Failed {
            error: PrinterError::parse(message).unwrap(),
            max_attempts: 3,
        }
    }

    #[test]
    fn statuses_round_trip() {
        for status in PrintJobStatus::ALL {
            assert_eq!(PrintJobStatus::parse(status.as_str()), Ok(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert!(PrintJobStatus::parse("done").is_err());
    }

    #[test]
    fn printer_names_and_errors_are_bounded() {
        assert_eq!(PrinterName::parse(" kitchen ").unwrap().as_str(), "kitchen");
        for bad in ["", "   ", "a\u{7}b"] {
            assert_eq!(PrinterName::parse(bad).unwrap_err().field, "printer", "{bad:?}");
        }
        assert!(PrinterName::parse(&"p".repeat(80)).is_ok());
        assert!(PrinterName::parse(&"p".repeat(81)).is_err());
        assert!(PrinterError::parse("paper out").is_ok());
        assert_eq!(PrinterError::parse("").unwrap_err().field, "error");
        assert!(PrinterError::parse(&"e".repeat(MAX_PRINT_ERROR_LEN + 1)).is_err());
    }

    #[tokio::test]
    async fn failures_retry_until_the_limit_then_the_job_is_given_up() {
        let queue = InMemoryPrintQueue::default();
        let now = Utc::now();
        let new = job("kitchen");
        let id = new.id;
        queue.queue(new, now);
        let kitchen = PrinterName::parse("kitchen").unwrap();
        for attempt in 1..=2 {
            let job = queue
                .update_print_job(id, failed("paper out"), now)
                .await
                .unwrap()
                .unwrap();
            assert_eq!((job.status, job.attempts), (PrintJobStatus::Queued, attempt));
            assert_eq!(job.last_error.as_deref(), Some("paper out"));
            assert_eq!(queue.pending_print_jobs(&kitchen, 10).await.unwrap().len(), 1);
        }
        let job = queue
            .update_print_job(id, failed("jammed"), now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((job.status, job.attempts), (PrintJobStatus::Failed, 3));
        assert!(queue.pending_print_jobs(&kitchen, 10).await.unwrap().is_empty());
        assert_eq!(
            queue
                .update_print_job(id, PrintJobUpdate::Printed, now)
                .await
                .unwrap(),
            Err(PrintQueueError::GaveUp { attempts: 3 })
        );
        assert_eq!(
            queue.update_print_job(id, failed("again"), now).await.unwrap(),
            Err(PrintQueueError::GaveUp { attempts: 3 })
        );
    }

    #[tokio::test]
    async fn an_ack_prints_once_and_repeats_harmlessly() {
        let queue = InMemoryPrintQueue::default();
        let now = Utc::now();
        let new = job("bar");
        let id = new.id;
        queue.queue(new, now);
        let later = now + TimeDelta::seconds(5);
        let printed = queue
            .update_print_job(id, PrintJobUpdate::Printed, later)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(printed.status, PrintJobStatus::Printed);
        assert_eq!(printed.printed_at, Some(later));
        let again = queue
            .update_print_job(id, PrintJobUpdate::Printed, later + TimeDelta::seconds(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again, printed, "a repeated ack changes nothing");
        assert_eq!(
            queue.update_print_job(id, failed("late"), later).await.unwrap(),
            Err(PrintQueueError::AlreadyPrinted)
        );
        assert_eq!(
            queue
                .update_print_job(PrintJobId::new(), PrintJobUpdate::Printed, now)
                .await
                .unwrap_err(),
            StoreError::not_found("print_job")
        );
    }

    #[tokio::test]
    async fn a_printer_sees_its_own_pending_jobs_oldest_first() {
        let queue = InMemoryPrintQueue::default();
        let now = Utc::now();
        let first = job("kitchen");
        let second = job("kitchen");
        let (first_id, second_id) = (first.id, second.id);
        queue.queue(second, now + TimeDelta::seconds(1));
        queue.queue(first, now);
        queue.queue(job("bar"), now);
        let kitchen = PrinterName::parse("kitchen").unwrap();
        let ids: Vec<_> = queue
            .pending_print_jobs(&kitchen, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(ids, [first_id, second_id]);
        assert_eq!(queue.pending_print_jobs(&kitchen, 1).await.unwrap().len(), 1);
    }
}
