//! Reads by key that arrive together share one query.
//!
//! Every request reads the staff row behind its token, and every create the products it
//! orders; each read took a pooled connection, a hop to a blocking thread and back, and a
//! round trip of its own — under load, most of the statements of an order
//! (docs/benchmarks.md). Here a read of a kind that arrives while another of that kind is
//! running waits for it to end, then goes with every read that arrived meanwhile in one
//! query for all their keys.
//!
//! Freshness is what a lone read gives: the query a read joins starts after the read was
//! asked for, so it sees everything committed before that (a logout, a deactivation, an
//! 86'd product). A read never joins a query already running. When nothing else is waiting
//! a read is one query, as before.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use diesel::PgConnection;
use pos_domain::StoreError;
use tokio::sync::oneshot;

use super::PgStore;
use crate::error::DbError;

/// What one query found: the rows by key (a key with no row is absent).
pub(crate) type Found<K, V> = Arc<HashMap<K, V>>;

/// The query of a kind of read, for every key of the reads it serves (sorted, distinct).
pub(crate) type ReadAll<K, V> = fn(&mut PgConnection, &[K]) -> Result<Vec<(K, V)>, DbError>;

struct Waiter<K, V> {
    keys: Vec<K>,
    reply: oneshot::Sender<Result<Found<K, V>, StoreError>>,
}

struct ReadState<K, V> {
    waiting: Vec<Waiter<K, V>>,
    /// A task is running this kind's queries.
    reading: bool,
}

/// The reads of one kind waiting in this process, shared by every clone of the store.
pub(crate) struct ReadQueue<K, V> {
    state: Mutex<ReadState<K, V>>,
}

impl<K, V> Default for ReadQueue<K, V> {
    fn default() -> Self {
        ReadQueue {
            state: Mutex::new(ReadState {
                waiting: Vec::new(),
                reading: false,
            }),
        }
    }
}

impl<K, V> ReadQueue<K, V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, ReadState<K, V>> {
        // Only pushes and takes happen under the lock: it never holds a half-change.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ends the reading if its task panics, so later reads are not left waiting for ever
/// (the waiting ones are answered "unavailable" as their senders drop).
struct ReadingGuard<K, V>(Arc<ReadQueue<K, V>>);

impl<K, V> Drop for ReadingGuard<K, V> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.lock();
            state.waiting.clear();
            state.reading = false;
        }
    }
}

impl PgStore {
    /// The rows of `keys`, read by a query that starts after this call (see the module docs).
    pub(crate) async fn read_coalesced<K, V>(
        &self,
        queue: &Arc<ReadQueue<K, V>>,
        keys: Vec<K>,
        read: ReadAll<K, V>,
    ) -> Result<Found<K, V>, StoreError>
    where
        K: Copy + Ord + Hash + Send + Sync + 'static,
        V: Send + Sync + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut state = queue.lock();
            state.waiting.push(Waiter { keys, reply });
            !std::mem::replace(&mut state.reading, true)
        };
        if start {
            let store = self.clone();
            let queue = Arc::clone(queue);
            tokio::spawn(async move { store.run_reads(queue, read).await });
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the read was dropped before it ran".into(),
            ))
        })
    }

    async fn run_reads<K, V>(&self, queue: Arc<ReadQueue<K, V>>, read: ReadAll<K, V>)
    where
        K: Copy + Ord + Hash + Send + Sync + 'static,
        V: Send + Sync + 'static,
    {
        let guard = ReadingGuard(queue);
        loop {
            let waiting = {
                let mut state = guard.0.lock();
                if state.waiting.is_empty() {
                    state.reading = false;
                    return;
                }
                std::mem::take(&mut state.waiting)
            };
            let mut keys: Vec<K> = waiting.iter().flat_map(|w| w.keys.iter().copied()).collect();
            keys.sort_unstable();
            keys.dedup();
            let found = self
                .interact(move |conn| read(conn, &keys))
                .await
                .map(|rows| Arc::new(rows.into_iter().collect::<HashMap<K, V>>()));
            for waiter in waiting {
                let _ = waiter.reply.send(found.clone());
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Each query's number (1, 2, …) and the keys it was asked for.
    static QUERIES: AtomicUsize = AtomicUsize::new(0);
    static STARTED: AtomicUsize = AtomicUsize::new(0);

    /// Answers every key with the number of the query that read it, slowly enough that
    /// reads pile up behind it.
    fn numbered(_: &mut PgConnection, keys: &[u32]) -> Result<Vec<(u32, usize)>, DbError> {
        let number = QUERIES.fetch_add(1, Ordering::SeqCst) + 1;
        STARTED.store(number, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(150));
        Ok(keys.iter().filter(|k| **k != 0).map(|k| (*k, number)).collect())
    }

    #[tokio::test]
    async fn reads_arriving_together_share_one_query_and_none_joins_one_running() {
        let db = pos_testkit::TestDb::new();
        let store = PgStore::connect(db.url(), 4).await.unwrap();
        let queue: Arc<ReadQueue<u32, usize>> = Arc::default();

        // The first read runs alone; it is under way before the others arrive.
        let first = {
            let (store, queue) = (store.clone(), queue.clone());
            tokio::spawn(async move { store.read_coalesced(&queue, vec![1], numbered).await })
        };
        while STARTED.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let later: Vec<_> = (2..=41u32)
            .map(|key| {
                let (store, queue) = (store.clone(), queue.clone());
                // Key 0 has no row: absent from the answer, like a deleted staff member.
                let keys = if key == 41 { vec![0] } else { vec![key, 1] };
                tokio::spawn(async move { store.read_coalesced(&queue, keys, numbered).await })
            })
            .collect();

        let first = first.await.unwrap().unwrap();
        assert_eq!(first.get(&1), Some(&1));
        assert_eq!(first.len(), 1, "a query reads only the keys asked for");
        for (key, read) in (2..=41u32).zip(later) {
            let found = read.await.unwrap().unwrap();
            if key == 41 {
                assert!(found.get(&0).is_none());
            } else {
                // Asked for after query 1 started: answered by a later one, never by it.
                assert_eq!(found.get(&key), Some(&2), "key {key}");
                assert_eq!(found.get(&1), Some(&2), "key 1 read afresh for {key}");
            }
        }
        assert_eq!(QUERIES.load(Ordering::SeqCst), 2, "41 reads, 2 queries");

        // Idle again: the next read starts a query of its own.
        let alone = store.read_coalesced(&queue, vec![7], numbered).await.unwrap();
        assert_eq!(alone.get(&7), Some(&3));
    }
}
