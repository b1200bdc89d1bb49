#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The print queue against a real database: agents see their printer's pending jobs oldest
//! first, failures retry until the limit and then give up, acks are final and repeatable,
//! and concurrent reports on one job serialise on its row.

use chrono::{TimeDelta, Utc};
use diesel::sql_types::{Bytea, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{RunQueryDsl, sql_query};
use pos_domain::StoreError;
use pos_domain::ids::PrintJobId;
use pos_domain::print_job::PrintJobKind;
use pos_domain::print_queue::{
    PrintJobStatus, PrintJobStore, PrintJobUpdate, PrintQueueError, PrinterError, PrinterName,
};
use pos_domain::printing::Paper;
use pos_postgres::PgStore;
use pos_testkit::TestDb;

/// Inserts a queued job the way an order's unit of work does, created `age_secs` ago.
fn queue(db: &TestDb, printer: &str, age_secs: i64) -> PrintJobId {
    let id = PrintJobId::new();
    sql_query(
        "INSERT INTO print_jobs (id, kind, printer, paper, payload_text, payload_escpos, created_at) \
         VALUES ($1, 'kitchen_ticket', $2, '58mm', 'ticket text', $3, $4)",
    )
    .bind::<SqlUuid, _>(id.as_uuid())
    .bind::<Text, _>(printer)
    .bind::<Bytea, _>(vec![0x1b_u8, 0x40, 0x0a])
    .bind::<Timestamptz, _>(Utc::now() - TimeDelta::seconds(age_secs))
    .execute(&mut db.connect())
    .unwrap();
    id
}

fn failure(message: &str, max_attempts: i32) -> PrintJobUpdate {
    PrintJobUpdate::Failed {
        error: PrinterError::parse(message).unwrap(),
        max_attempts,
    }
}

#[tokio::test]
async fn agents_poll_their_printers_pending_jobs_oldest_first() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), 2).await.unwrap();
    let newer = queue(&db, "kitchen", 5);
    let older = queue(&db, "kitchen", 60);
    queue(&db, "bar", 90);
    let kitchen = PrinterName::parse("kitchen").unwrap();

    let jobs = store.pending_print_jobs(&kitchen, 10).await.unwrap();
    let ids: Vec<_> = jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids, [older, newer]);
    let job = &jobs[0];
    assert_eq!(job.kind, PrintJobKind::KitchenTicket);
    assert_eq!(job.paper, Paper::Mm58);
    assert_eq!((job.status, job.attempts), (PrintJobStatus::Queued, 0));
    assert_eq!(job.payload_text, "ticket text");
    assert_eq!(job.payload_escpos, [0x1b, 0x40, 0x0a]);
    assert_eq!(store.pending_print_jobs(&kitchen, 1).await.unwrap().len(), 1);

    store
        .update_print_job(older, PrintJobUpdate::Printed, Utc::now())
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<_> = store
        .pending_print_jobs(&kitchen, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, [newer], "a printed job leaves the queue");
}

#[tokio::test]
async fn failures_are_retried_until_the_limit_and_acks_are_final() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), 2).await.unwrap();
    let id = queue(&db, "bar", 1);
    let now = Utc::now();

    let once = store
        .update_print_job(id, failure("paper out", 2), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((once.status, once.attempts), (PrintJobStatus::Queued, 1));
    assert_eq!(once.last_error.as_deref(), Some("paper out"));
    let twice = store
        .update_print_job(id, failure("cover open", 2), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((twice.status, twice.attempts), (PrintJobStatus::Failed, 2));
    assert_eq!(store.get_print_job(id).await.unwrap(), twice, "saved as returned");
    assert_eq!(
        store
            .update_print_job(id, PrintJobUpdate::Printed, now)
            .await
            .unwrap(),
        Err(PrintQueueError::GaveUp { attempts: 2 })
    );
    assert_eq!(
        store.get_print_job(id).await.unwrap(),
        twice,
        "a refusal writes nothing"
    );

    let other = queue(&db, "bar", 1);
    let printed = store
        .update_print_job(other, PrintJobUpdate::Printed, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(printed.status, PrintJobStatus::Printed);
    assert!(printed.printed_at.is_some());
    let again = store
        .update_print_job(other, PrintJobUpdate::Printed, now + TimeDelta::seconds(3))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        again, printed,
        "a repeated ack changes nothing, updated_at included"
    );
    assert_eq!(
        store
            .update_print_job(other, failure("late", 5), now)
            .await
            .unwrap(),
        Err(PrintQueueError::AlreadyPrinted)
    );
    assert_eq!(
        store.get_print_job(PrintJobId::new()).await.unwrap_err(),
        StoreError::not_found("print_job")
    );
    assert_eq!(
        store
            .update_print_job(PrintJobId::new(), PrintJobUpdate::Printed, now)
            .await
            .unwrap_err(),
        StoreError::not_found("print_job")
    );
}

#[tokio::test]
async fn concurrent_failure_reports_each_count_once() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), 8).await.unwrap();
    let id = queue(&db, "kitchen", 1);
    let reports = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .update_print_job(id, failure("offline", 100), Utc::now())
                .await
        })
    });
    for report in reports {
        report.await.unwrap().unwrap().unwrap();
    }
    let job = store.get_print_job(id).await.unwrap();
    assert_eq!((job.status, job.attempts), (PrintJobStatus::Queued, 8));
}
