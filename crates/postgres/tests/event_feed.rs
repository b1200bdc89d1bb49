#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The domain's `EventFeed` port over the real event log: cursors hand out every committed
//! event once, in order, wait at an id a running transaction holds, and survive a failed poll.

use std::sync::mpsc;
use std::time::Duration;

use diesel::Connection;
use pos_domain::StoreError;
use pos_domain::event::NewEvent;
use pos_domain::event_feed::EventFeed;
use pos_postgres::{DbError, PgStore, PoolConfig};
use pos_testkit::TestDb;

fn event(n: i64) -> NewEvent {
    NewEvent::new("test.tick", "orders", serde_json::json!({ "n": n }))
}

fn numbers(events: &[pos_domain::event::Event]) -> Vec<i64> {
    events.iter().map(|e| e.payload["n"].as_i64().unwrap()).collect()
}

/// A transaction that appends `event(n)` and stays open until told to commit (true) or
/// roll back (false).
fn open_writer(
    db: &TestDb,
    n: i64,
) -> (
    mpsc::Sender<bool>,
    std::thread::JoinHandle<diesel::QueryResult<()>>,
) {
    let mut conn = db.connect();
    let (started_tx, started_rx) = mpsc::channel();
    let (decide_tx, decide_rx) = mpsc::channel::<bool>();
    let writer = std::thread::spawn(move || {
        conn.transaction(|conn| {
            pos_postgres::append_event(conn, &event(n))?;
            started_tx.send(()).unwrap();
            if decide_rx.recv().unwrap() {
                Ok(())
            } else {
                Err(diesel::result::Error::RollbackTransaction)
            }
        })
    });
    started_rx.recv().unwrap();
    (decide_tx, writer)
}

#[tokio::test]
async fn the_feed_reports_the_last_id_and_raw_reads() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), 2).await.unwrap();
    let feed: &dyn EventFeed = &store;
    assert_eq!(feed.last_event_id().await.unwrap(), 0);
    let appended = store.append_events((1..=3).map(event).collect()).await.unwrap();
    assert_eq!(feed.last_event_id().await.unwrap(), appended[2].id);
    assert_eq!(feed.events_after(0, 10).await.unwrap(), appended);
    assert_eq!(
        feed.events_after(appended[0].id, 1).await.unwrap(),
        appended[1..2]
    );
    assert!(feed.events_after(appended[2].id, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_cursor_starts_after_the_given_id_and_pages_by_the_limit() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), 2).await.unwrap();
    let appended = store.append_events((1..=5).map(event).collect()).await.unwrap();
    let mut cursor = store.follower(appended[1].id);
    assert_eq!(cursor.position(), appended[1].id);
    assert_eq!(numbers(&cursor.poll(2).await.unwrap()), [3, 4]);
    assert_eq!(numbers(&cursor.poll(2).await.unwrap()), [5]);
    assert!(cursor.poll(2).await.unwrap().is_empty());
    assert_eq!(cursor.position(), appended[4].id);
    assert!(!cursor.is_waiting());
}

#[tokio::test]
async fn a_cursor_waits_for_a_late_commit_and_passes_a_rollback() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), 2).await.unwrap();
    let mut cursor = store.follower(0);

    let (decide, writer) = open_writer(&db, 1);
    store.append_events(vec![event(2)]).await.unwrap();
    for _ in 0..3 {
        assert!(
            cursor.poll(100).await.unwrap().is_empty(),
            "2 waits while 1 may commit"
        );
        assert!(cursor.is_waiting());
        assert_eq!(cursor.position(), 0);
    }
    decide.send(true).unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(numbers(&cursor.poll(100).await.unwrap()), [1, 2]);
    assert!(!cursor.is_waiting());

    let (decide, writer) = open_writer(&db, 3);
    store.append_events(vec![event(4)]).await.unwrap();
    assert!(cursor.poll(100).await.unwrap().is_empty());
    assert!(cursor.is_waiting());
    decide.send(false).unwrap();
    assert!(writer.join().unwrap().is_err());
    assert_eq!(numbers(&cursor.poll(100).await.unwrap()), [4]);
    assert!(!cursor.is_waiting());
}

#[tokio::test]
async fn a_failed_poll_leaves_the_cursor_where_it_was() {
    let db = TestDb::new();
    let config = PoolConfig {
        wait_timeout: Duration::from_millis(200),
        ..PoolConfig::new(1)
    };
    let store = PgStore::with_config(db.url(), config).unwrap();
    let appended = store.append_events((1..=2).map(event).collect()).await.unwrap();
    let mut cursor = store.follower(0);
    assert_eq!(numbers(&cursor.poll(1).await.unwrap()), [1]);

    let held = store.pool().get().await.unwrap();
    let error = cursor.poll(10).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert_eq!(cursor.position(), appended[0].id);
    drop(held);

    assert_eq!(numbers(&cursor.poll(10).await.unwrap()), [2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cursors_hand_out_every_committed_event_once_in_order_under_concurrent_writers() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), 8).await.unwrap();
    const WRITERS: i64 = 4;
    const EACH: i64 = 30;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    let n = w * EACH + i;
                    let _ = store
                        .transaction(move |conn| {
                            pos_postgres::append_event(conn, &event(n))?;
                            // Commit late so later ids become visible first; roll some back.
                            std::thread::sleep(Duration::from_millis(((w * 7 + i * 3) % 5) as u64));
                            if i % 10 == 3 {
                                return Err(DbError::Store(StoreError::not_found("rolled back on purpose")));
                            }
                            Ok(())
                        })
                        .await;
                }
            })
        })
        .collect();

    // Two readers at once, polling with small pages, neither may skip or repeat.
    let mut cursors = [store.follower(0), store.follower(0)];
    let mut seen: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
    while !writers.iter().all(|w| w.is_finished()) {
        for (cursor, seen) in cursors.iter_mut().zip(seen.iter_mut()) {
            seen.extend(cursor.poll(7).await.unwrap().iter().map(|e| e.id));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for w in writers {
        w.await.unwrap();
    }
    let committed: Vec<i64> = store
        .events_after(0, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(committed.len() as i64, WRITERS * (EACH - EACH / 10));
    for (cursor, seen) in cursors.iter_mut().zip(seen.iter_mut()) {
        // Writers are done: what is left is ready, bar one more poll per rolled-back id.
        for _ in 0..committed.len() {
            if cursor.position() == *committed.last().unwrap() {
                break;
            }
            seen.extend(cursor.poll(7).await.unwrap().iter().map(|e| e.id));
        }
        assert_eq!(*seen, committed, "every committed event once, in id order");
        assert!(!cursor.is_waiting());
    }
}

#[tokio::test]
async fn the_settled_last_id_waits_for_transactions_that_may_still_commit_below_it() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), 2).await.unwrap();
    assert_eq!(store.settled_last_event_id().await.unwrap(), 0);

    let (decide, writer) = open_writer(&db, 1);
    let later = store.append_events(vec![event(2)]).await.unwrap();
    let settling = tokio::spawn({
        let store = store.clone();
        async move { store.settled_last_event_id().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!settling.is_finished(), "event 1 may still commit below event 2");

    decide.send(true).unwrap();
    writer.join().unwrap().unwrap();
    let settled = tokio::time::timeout(Duration::from_secs(5), settling)
        .await
        .expect("settles once the writer ended")
        .unwrap()
        .unwrap();
    assert_eq!(settled, later[0].id);
    // Started there, a cursor hands out only what comes next.
    let mut cursor = store.follower(settled);
    store.append_events(vec![event(3)]).await.unwrap();
    assert_eq!(numbers(&cursor.poll(10).await.unwrap()), [3]);
}
