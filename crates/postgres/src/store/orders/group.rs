//! Order changes that arrive together commit together, through the one unit of work.
//!
//! Every order change of this process (create, items, send, serve, void, KDS bumps, move,
//! merge, payments) is queued here. A writer task takes what is waiting (up to
//! [`MAX_GROUP`]) and runs it as one group: the creates' numbers first, each in its
//! business day's counter statement (outside the transaction, so no counter row stays
//! locked until a commit), then one transaction in which each change is one
//! [`unit_of_work::run`](pos_domain::order::unit_of_work::run) inside a savepoint, then one
//! COMMIT. A lone change is a group of one through the same code; there is no second copy of
//! the writes or the rules.
//!
//! Why: a change costs one WAL flush at COMMIT, and on a small VPS that flush, not the
//! statements, is what bounds the orders per second (docs/benchmarks.md: one transaction per
//! request kept ~36 % of the grouped build's throughput).
//!
//! What a change sees is what it would see alone, in queue order:
//! - a change that fails or refuses rolls back to its savepoint: the others keep their work;
//! - a later change of the group sees the earlier ones' writes (a key claimed twice in one
//!   group replays the first's stored answer; two changes of one order apply in turn);
//! - nothing is answered before the COMMIT, and when the COMMIT fails every change that
//!   wrote gets its error (nothing of any of them is kept);
//! - the claim's lock timeout is set for the whole group, so every change waits on another
//!   transaction's lock at most that long, whatever else is in its group.
//!
//! One writer per process: two writers' groups would lock rows (orders, stock, the receipt
//! counter) in an order no unit chooses, and could deadlock each other. Groups of different
//! replicas still can; PostgreSQL then fails one change (40P01), answered as a conflict.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::NaiveDate;
use diesel::prelude::*;
use pos_domain::StoreError;
use pos_domain::order::ports::{CreateWork, IDEMPOTENCY_CLAIM_WAIT, IdempotencyClaim, Mutation};
use pos_domain::order::unit_of_work::Plan;
use tokio::sync::oneshot;

use super::idempotency::set_lock_timeout;
use super::unit_of_work::{Abort, run_unit, take_numbers};
use crate::error::DbError;
use crate::store::PgStore;

/// Most changes one transaction takes; the rest wait for the next group.
const MAX_GROUP: usize = 64;

/// Writer tasks at most: 1 unless `POS_ORDER_WRITERS` says otherwise (for measuring only:
/// see the module docs on why more than one can deadlock).
fn max_writers() -> usize {
    std::env::var("POS_ORDER_WRITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// What a change sets out to do, before its number is taken.
pub(crate) enum Start {
    /// A new order of `business_date`: numbered when its group runs.
    Create {
        business_date: NaiveDate,
        work: CreateWork,
    },
    /// Any other change.
    Plan(Plan),
}

/// One change to commit.
pub(crate) struct Change {
    pub claim: Option<IdempotencyClaim>,
    pub start: Start,
}

type Answer = Result<Mutation, StoreError>;

struct Waiting {
    change: Change,
    reply: oneshot::Sender<Answer>,
}

struct QueueState {
    waiting: VecDeque<Waiting>,
    /// Writer tasks running.
    writers: usize,
}

/// The changes waiting in this process, shared by every clone of the store.
pub(crate) struct ChangeQueue {
    state: Mutex<QueueState>,
}

impl Default for ChangeQueue {
    fn default() -> Self {
        ChangeQueue {
            state: Mutex::new(QueueState {
                waiting: VecDeque::new(),
                writers: 0,
            }),
        }
    }
}

impl ChangeQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // Only pushes and takes happen under the lock: it never holds a half-change.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ends the writing if the writer task panics, so later changes start a new writer (the
/// waiting ones are answered "unavailable" as their senders drop).
struct WritingGuard(Arc<ChangeQueue>);

impl Drop for WritingGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.lock();
            state.waiting.clear();
            state.writers = state.writers.saturating_sub(1);
        }
    }
}

impl PgStore {
    /// Commits `change` with whatever else is waiting (see the module docs).
    pub(crate) async fn commit_change(&self, change: Change) -> Answer {
        let (reply, answer) = oneshot::channel();
        let start_writer = {
            let mut state = self.order_changes.lock();
            state.waiting.push_back(Waiting { change, reply });
            let start = state.writers < max_writers();
            if start {
                state.writers += 1;
            }
            start
        };
        if start_writer {
            let store = self.clone();
            tokio::spawn(async move { store.write_groups().await });
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the change was dropped before it ran".into(),
            ))
        })
    }

    /// The writer: group after group while changes are waiting.
    async fn write_groups(&self) {
        let guard = WritingGuard(Arc::clone(&self.order_changes));
        loop {
            let group: Vec<Waiting> = {
                let mut state = guard.0.lock();
                if state.waiting.is_empty() {
                    state.writers -= 1;
                    return;
                }
                let take = state.waiting.len().min(MAX_GROUP);
                state.waiting.drain(..take).collect()
            };
            let (changes, replies): (Vec<Change>, Vec<oneshot::Sender<Answer>>) =
                group.into_iter().map(|w| (w.change, w.reply)).unzip();
            let (size, started) = (changes.len(), std::time::Instant::now());
            let answers = self.interact(move |conn| Ok(run_group(conn, changes))).await;
            tracing::debug!(size, elapsed = ?started.elapsed(), "group ran");
            match answers {
                Ok(answers) => {
                    for (reply, answer) in replies.into_iter().zip(answers) {
                        let _ = reply.send(answer);
                    }
                }
                Err(error) => {
                    for reply in replies {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
            }
        }
    }
}

/// How one change of a group ended inside the transaction.
enum Ended {
    /// Written: its answer holds only if the group commits.
    Wrote(Mutation),
    /// Answered without writing anything the COMMIT decides (a replay, a refusal without a
    /// key, an error that rolled its savepoint back).
    Answered(Answer),
}

/// Runs `changes` as one group on `conn`: one answer per change, in order.
pub(crate) fn run_group(conn: &mut PgConnection, changes: Vec<Change>) -> Vec<Answer> {
    let planned = number_creates(conn, changes);
    let mut ended: Vec<Ended> = Vec::with_capacity(planned.len());
    let committed = conn.transaction::<(), DbError, _>(|conn| {
        set_lock_timeout(conn, IDEMPOTENCY_CLAIM_WAIT)?;
        for plan in planned {
            ended.push(match plan {
                Err(error) => Ended::Answered(Err(error)),
                // A nested transaction is a savepoint: a change that fails leaves the others.
                Ok((claim, plan)) => match conn.transaction(|conn| run_unit(conn, claim, plan)) {
                    Ok(mutation) => Ended::Wrote(mutation),
                    Err(Abort::Answer(mutation)) => Ended::Answered(Ok(mutation)),
                    Err(Abort::Db(error)) => Ended::Answered(Err(error.into())),
                },
            });
        }
        Ok(())
    });
    let failed: Option<StoreError> = committed.err().map(StoreError::from);
    ended
        .into_iter()
        .map(|end| match (end, &failed) {
            (Ended::Wrote(mutation), None) => Ok(mutation),
            (Ended::Wrote(_), Some(error)) => Err(error.clone()),
            (Ended::Answered(answer), _) => answer,
        })
        .collect()
}

/// Each change with its plan: creates numbered in queue order, one counter statement per
/// business day (a day whose numbers cannot be taken fails its creates only).
fn number_creates(
    conn: &mut PgConnection,
    changes: Vec<Change>,
) -> Vec<Result<(Option<IdempotencyClaim>, Plan), StoreError>> {
    let mut per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for change in &changes {
        if let Start::Create { business_date, .. } = change.start {
            *per_day.entry(business_date).or_default() += 1;
        }
    }
    let mut next: BTreeMap<NaiveDate, Result<std::ops::RangeInclusive<i32>, StoreError>> = per_day
        .into_iter()
        .map(|(day, count)| (day, take_numbers(conn, day, count).map_err(StoreError::from)))
        .collect();
    changes
        .into_iter()
        .map(|Change { claim, start }| {
            let plan = match start {
                Start::Plan(plan) => plan,
                Start::Create { business_date, work } => {
                    let number = match next.get_mut(&business_date) {
                        Some(Ok(numbers)) => numbers.next(),
                        Some(Err(error)) => return Err(error.clone()),
                        None => None,
                    }
                    .ok_or_else(|| StoreError::Internal("a create without its number".into()))?;
                    Plan::Create {
                        business_date,
                        number,
                        work,
                    }
                }
            };
            Ok((claim, plan))
        })
        .collect()
}
