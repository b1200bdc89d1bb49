//! Creates, committed in groups.
//!
//! Every create takes the next number of its business day from one counter row, and that
//! row stays locked until COMMIT so that numbers have no gaps. One create per transaction
//! made that row the bottleneck: every create waited for the previous one's inserts, events
//! and WAL flush (measured: 5 of 7 busy backends queued on it). Here the creates waiting in
//! this process are taken together: one transaction claims all their idempotency keys,
//! takes as many numbers as there are creates in one statement, inserts every order, item,
//! event and stored answer with one statement each, and commits once. A create pays a
//! share of about ten statements instead of nine of its own, and the lock is held once per
//! group.
//!
//! Each create keeps the contract of `OrderStore::create_order` exactly:
//! - a refused create takes no number (numbers go to the next create of the group), and
//!   with a claim its refusal is stored, in the same transaction;
//! - a key claimed twice in one group: the first runs, the second gets what a replay would
//!   give once the first commits (its stored answer, or 422 for another request);
//! - a key already on record is decided as a lone create would (replay, 422, 409, take-over);
//! - anything that fails before the first create is built (a claim waiting on another
//!   instance's request, the counter held too long, a lost connection) sends every create
//!   of the group down the one-create-per-transaction path of `unit`, which waits and
//!   answers one by one; a failure after that fails the whole group, each create getting
//!   the error a lone create would have got (nothing of any of them is written).
//!
//! One spawned task per kind drains the queue while it is not empty, group after group
//! (two at once measured slower: smaller groups, more CPU per order); groups of other
//! instances take the counter lock in turn.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bytea, Integer, Text, Uuid as SqlUuid};
use pos_domain::StoreError;
use pos_domain::idempotency::{IdempotencyKey, StoredResponse};
use pos_domain::ids::StaffId;
use pos_domain::order::Order;
use pos_domain::order_ports::{
    Committed, CreateWork, IDEMPOTENCY_CLAIM_WAIT, IdempotencyClaim, Mutation, Refusal, RenderInput,
    WorkOutput,
};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::idempotency::{set_lock_timeout, take_key};
use super::item_rows::insert_items;
use super::rows::{NewPrintJobRow, OrderItemRow, OrderRow, order_to_rows};
use super::unit::{self, Abort, Locked, Plan};
use crate::error::DbError;
use crate::prepared::{Prepared, statement};
use crate::schema::{order_number_counters, orders, print_jobs};
use crate::store::PgStore;
use crate::store::append_audit;
use crate::store::events::append_events_after_write;

/// Most requests one transaction takes (the rest wait for the next group).
const MAX_GROUP: usize = 64;

/// How long the group's claim may wait on a key another instance holds before the group
/// falls back to one transaction per request (which then waits the full
/// `IDEMPOTENCY_CLAIM_WAIT` for that key alone).
const GROUP_CLAIM_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// A unit of work that can be committed in a group.
pub(crate) trait GroupRequest: Send + Sized + 'static {
    fn claim(&self) -> Option<&IdempotencyClaim>;
    /// Requests with the same lock key never share a group (the later waits for the next).
    fn lock_key(&self) -> Option<Uuid>;
    fn queue(store: &PgStore) -> &Arc<GroupQueue<Self>>;
    /// The group in one transaction.
    fn run_group(conn: &mut PgConnection, requests: Vec<Self>) -> GroupOutcome<Self>;
    /// One request in its own transaction (`unit::run`).
    fn run_alone(store: PgStore, request: Self) -> AloneFuture;
}

pub(crate) type AloneFuture = Pin<Box<dyn Future<Output = Result<Mutation, StoreError>> + Send>>;

/// What a group transaction ended with.
pub(crate) enum GroupOutcome<R> {
    /// One answer per request, in order.
    Answered(Vec<Result<Mutation, StoreError>>),
    /// Nothing was written and no work ran: run each request alone.
    OneByOne(Vec<R>),
}

/// What `PgStore::create_order` hands over: one create.
pub(crate) struct CreateRequest {
    pub business_date: NaiveDate,
    pub claim: Option<IdempotencyClaim>,
    pub work: CreateWork,
}

impl GroupRequest for CreateRequest {
    fn claim(&self) -> Option<&IdempotencyClaim> {
        self.claim.as_ref()
    }

    fn lock_key(&self) -> Option<Uuid> {
        None
    }

    fn queue(store: &PgStore) -> &Arc<GroupQueue<Self>> {
        &store.creates
    }

    fn run_group(conn: &mut PgConnection, requests: Vec<Self>) -> GroupOutcome<Self> {
        run_in_transaction(conn, requests, in_transaction)
    }

    fn run_alone(store: PgStore, request: Self) -> AloneFuture {
        Box::pin(async move {
            let CreateRequest {
                business_date,
                claim,
                work,
            } = request;
            let plan = Plan::Create { business_date, work };
            store
                .interact(move |conn| unit::run(conn, claim, |_| Ok(Locked::Nothing), plan))
                .await
        })
    }
}

struct Waiting<R> {
    request: R,
    reply: oneshot::Sender<Result<Mutation, StoreError>>,
}

/// The requests of one kind waiting in this process, shared by every clone of the store.
pub(crate) struct GroupQueue<R> {
    state: Mutex<QueueState<R>>,
}

impl<R> Default for GroupQueue<R> {
    fn default() -> Self {
        Self {
            state: Mutex::new(QueueState {
                waiting: VecDeque::new(),
                draining: false,
            }),
        }
    }
}

struct QueueState<R> {
    waiting: VecDeque<Waiting<R>>,
    /// A task is draining the queue.
    draining: bool,
}

impl<R: GroupRequest> GroupQueue<R> {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState<R>> {
        // Only plain pushes and pops happen under the lock: it never holds a half-change.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next group: in arrival order, at most [`MAX_GROUP`], one request per lock key.
    fn next_group(&self) -> Option<Vec<Waiting<R>>> {
        let mut state = self.lock();
        if state.waiting.is_empty() {
            state.draining = false;
            return None;
        }
        let mut group = Vec::new();
        let mut keys = std::collections::HashSet::new();
        let mut later = VecDeque::new();
        while let Some(waiting) = state.waiting.pop_front() {
            if group.len() == MAX_GROUP {
                later.push_back(waiting);
                continue;
            }
            match waiting.request.lock_key() {
                Some(key) if !keys.insert(key) => later.push_back(waiting),
                _ => group.push(waiting),
            }
        }
        state.waiting = later;
        Some(group)
    }
}

/// Ends the draining if its task panics, so a panic in a group cannot leave later requests
/// queued for ever (they are answered "unavailable" instead).
struct DrainGuard<R: GroupRequest>(Arc<GroupQueue<R>>);

impl<R: GroupRequest> Drop for DrainGuard<R> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.lock();
            state.waiting.clear();
            state.draining = false;
        }
    }
}

impl PgStore {
    /// Queues one request and waits for its group's answer.
    pub(crate) async fn in_group<R: GroupRequest>(&self, request: R) -> Result<Mutation, StoreError> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut state = R::queue(self).lock();
            state.waiting.push_back(Waiting { request, reply });
            !std::mem::replace(&mut state.draining, true)
        };
        if start {
            let store = self.clone();
            tokio::spawn(async move { store.drain::<R>().await });
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the request was dropped before it ran".into(),
            ))
        })
    }

    async fn drain<R: GroupRequest>(&self) {
        let guard = DrainGuard(Arc::clone(R::queue(self)));
        while let Some(group) = guard.0.next_group() {
            self.run_group(group).await;
        }
    }

    async fn run_group<R: GroupRequest>(&self, group: Vec<Waiting<R>>) {
        let (requests, replies): (Vec<R>, Vec<_>) = group.into_iter().map(|w| (w.request, w.reply)).unzip();
        let (size, started) = (requests.len(), std::time::Instant::now());
        let outcome = self
            .interact(move |conn| {
                let ran = std::time::Instant::now();
                Ok((R::run_group(conn, requests), ran.elapsed()))
            })
            .await;
        tracing::debug!(
            kind = std::any::type_name::<R>(),
            size,
            transaction_us = outcome.as_ref().map_or(0, |(_, t)| t.as_micros()),
            total_us = started.elapsed().as_micros(),
            "group ran"
        );
        match outcome.map(|(outcome, _)| outcome) {
            Ok(GroupOutcome::Answered(answers)) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            Ok(GroupOutcome::OneByOne(requests)) => {
                for (reply, request) in replies.into_iter().zip(requests) {
                    let store = self.clone();
                    tokio::spawn(async move {
                        let _ = reply.send(R::run_alone(store, request).await);
                    });
                }
            }
            // No connection (or it was lost before the group could say): nothing committed
            // that the group did not answer, so every request gets the error.
            Err(error) => {
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// What the claim step decided for one request.
pub(crate) enum Claimed {
    /// Runs (no claim, a fresh claim, or a record taken over).
    Run,
    /// Answered from the record on file.
    Answered(Mutation),
    /// The same key as request `first` of this group, whose claim is fresh: answered as
    /// a replay of it (`same_request`) or as a mismatch once it has run.
    SameKeyAs { first: usize, same_request: bool },
}

/// A request that ran its work.
struct Built {
    index: usize,
    order: Order,
    output: WorkOutput,
}

pub(crate) enum GroupAbort {
    /// Before any work ran: hand the requests back.
    Early(DbError),
    Db(DbError),
}

impl From<diesel::result::Error> for GroupAbort {
    fn from(e: diesel::result::Error) -> Self {
        GroupAbort::Db(DbError::Diesel(e))
    }
}

impl From<StoreError> for GroupAbort {
    fn from(e: StoreError) -> Self {
        GroupAbort::Db(DbError::Store(e))
    }
}

pub(crate) fn early(e: impl Into<DbError>) -> GroupAbort {
    GroupAbort::Early(e.into())
}

/// Runs `body` in one transaction over the group. The requests stay whole (for the
/// one-by-one path) until `body` takes them out, which it does only once it can no longer
/// go back: an [`GroupAbort::Early`] failure hands them back.
pub(crate) fn run_in_transaction<R: GroupRequest>(
    conn: &mut PgConnection,
    requests: Vec<R>,
    body: impl FnOnce(
        &mut PgConnection,
        &mut [Option<R>],
    ) -> Result<Vec<Result<Mutation, StoreError>>, GroupAbort>,
) -> GroupOutcome<R> {
    let mut requests: Vec<Option<R>> = requests.into_iter().map(Some).collect();
    let result = conn.transaction::<_, GroupAbort, _>(|conn| body(conn, &mut requests));
    match result {
        Ok(answers) => GroupOutcome::Answered(answers),
        Err(GroupAbort::Early(e)) => {
            tracing::debug!(error = %StoreError::from(e), "the requests of a group go one by one");
            GroupOutcome::OneByOne(requests.into_iter().flatten().collect())
        }
        Err(GroupAbort::Db(e)) => {
            let error = StoreError::from(e);
            GroupOutcome::Answered(requests.iter().map(|_| Err(error.clone())).collect())
        }
    }
}

/// The answers of the group, the twins of fresh keys included (what a replay gives once
/// the first commits); every request must have one.
fn final_answers(
    claimed: &[Claimed],
    responses: &HashMap<usize, StoredResponse>,
    mut answers: Vec<Option<Result<Mutation, StoreError>>>,
) -> Result<Vec<Result<Mutation, StoreError>>, GroupAbort> {
    for (index, claimed) in claimed.iter().enumerate() {
        if let Claimed::SameKeyAs { first, same_request } = claimed {
            answers[index] = Some(Ok(match (responses.get(first), same_request) {
                (Some(response), true) => Mutation::Replayed(response.clone()),
                (Some(_), false) => Mutation::KeyMismatch,
                (None, _) => Mutation::KeyInProgress,
            }));
        }
    }
    answers
        .into_iter()
        .map(|answer| {
            answer.ok_or_else(|| StoreError::Internal("a request of the group went unanswered".into()).into())
        })
        .collect()
}

/// The answers known before any work runs: those decided from a record on file.
pub(crate) fn answered_early(claimed: &[Claimed]) -> Vec<Option<Result<Mutation, StoreError>>> {
    claimed
        .iter()
        .map(|c| match c {
            Claimed::Answered(m) => Some(Ok(m.clone())),
            _ => None,
        })
        .collect()
}

fn in_transaction(
    conn: &mut PgConnection,
    requests: &mut [Option<CreateRequest>],
) -> Result<Vec<Result<Mutation, StoreError>>, GroupAbort> {
    let claimed = claim_keys(conn, requests)?;

    // Numbers: as many as there are creates to run, per business day (one, but for a group
    // that straddles the day's start), the counter row locked until COMMIT.
    let mut wanted: HashMap<NaiveDate, i32> = HashMap::new();
    for (request, claimed) in requests.iter().zip(&claimed) {
        if let (Some(request), Claimed::Run) = (request, claimed) {
            *wanted.entry(request.business_date).or_default() += 1;
        }
    }
    // Back to the wait a lone unit allows, for the counter and the rest of the group.
    set_lock_timeout(conn, IDEMPOTENCY_CLAIM_WAIT).map_err(early)?;
    let mut next: HashMap<NaiveDate, (i32, i32)> = HashMap::new();
    for (&date, &count) in &wanted {
        let last = take_numbers(conn, date, count).map_err(early)?;
        next.insert(date, (last - count, 0));
    }

    // From here on the works run: the group cannot hand its requests back any more.
    let answers = answered_early(&claimed);
    let mut built: Vec<Built> = Vec::new();
    let mut refused: Vec<(usize, Refusal)> = Vec::new();
    let mut claims: HashMap<usize, IdempotencyClaim> = HashMap::new();
    for (index, claimed) in claimed.iter().enumerate() {
        let Some(request) = requests[index].take() else {
            continue;
        };
        if !matches!(claimed, Claimed::Run) {
            continue;
        }
        let CreateRequest {
            business_date,
            claim,
            work,
        } = request;
        if let Some(claim) = claim {
            claims.insert(index, claim);
        }
        let (base, used) = next.entry(business_date).or_default();
        let number = *base + *used + 1;
        match work(number) {
            Ok((order, output)) => {
                if order.number != number || order.business_date != business_date || order.version != 1 {
                    return Err(StoreError::Internal(
                        "the created order does not carry its allocated number, date and version 1".into(),
                    )
                    .into());
                }
                if !output.effects.stock.is_empty() {
                    return Err(StoreError::Internal("a create moved stock".into()).into());
                }
                *used += 1;
                built.push(Built { index, order, output });
            }
            Err(error) => refused.push((
                index,
                Refusal {
                    error,
                    current: None,
                    response: None,
                },
            )),
        }
    }
    for (date, (base, used)) in &next {
        if wanted.get(date).is_some_and(|&count| *used < count) {
            give_back(conn, *date, base + used)?;
        }
    }

    insert_orders(conn, &mut built)?;
    let committed = built.into_iter().map(|b| (b.index, b.order, b.output)).collect();
    conclude(conn, &claimed, answers, claims, committed, refused)
}

/// The end every group shares, once its aggregates are saved: print jobs, audit rows, each
/// claim's answer rendered once and all stored with one statement, the events (last, in
/// request order, one statement), and every request's answer. `committed` holds each saved
/// unit as `(request index, order as saved, what its work did)`.
pub(crate) fn conclude(
    conn: &mut PgConnection,
    claimed: &[Claimed],
    mut answers: Vec<Option<Result<Mutation, StoreError>>>,
    mut claims: HashMap<usize, IdempotencyClaim>,
    committed: Vec<(usize, Order, WorkOutput)>,
    mut refused: Vec<(usize, Refusal)>,
) -> Result<Vec<Result<Mutation, StoreError>>, GroupAbort> {
    let jobs: Vec<NewPrintJobRow<'_>> = committed
        .iter()
        .flat_map(|(_, _, output)| output.effects.print_jobs.iter().map(NewPrintJobRow::from_domain))
        .collect();
    if !jobs.is_empty() {
        diesel::insert_into(print_jobs::table)
            .values(&jobs)
            .execute(conn)?;
    }
    for (_, _, output) in &committed {
        super::payment_rows::write(conn, &output.effects.payments)?;
        for entry in &output.effects.audit {
            append_audit(conn, entry.clone(), chrono::Utc::now())?;
        }
    }

    let mut stored: Vec<(StaffId, IdempotencyKey, StoredResponse)> = Vec::new();
    let mut responses: HashMap<usize, StoredResponse> = HashMap::new();
    for (index, order, output) in &committed {
        if let Some(claim) = claims.remove(index) {
            let response = (claim.render)(RenderInput::Committed {
                order,
                other: None,
                change: &output.change,
            });
            stored.push((claim.staff_id, claim.key, response.clone()));
            responses.insert(*index, response);
        }
    }
    for (index, refusal) in &mut refused {
        if let Some(claim) = claims.remove(index) {
            let response = (claim.render)(RenderInput::Refused {
                error: &refusal.error,
                current: refusal.current.as_ref(),
            });
            stored.push((claim.staff_id, claim.key, response.clone()));
            refusal.response = Some(response.clone());
            responses.insert(*index, response);
        }
    }
    store_responses(conn, &stored)?;

    let all: Vec<_> = committed
        .iter()
        .flat_map(|(_, _, output)| output.effects.events.iter().cloned())
        .collect();
    let mut appended = append_events_after_write(conn, &all)?.into_iter();
    for (index, order, output) in committed {
        let WorkOutput { change, effects } = output;
        let events = appended.by_ref().take(effects.events.len()).collect();
        answers[index] = Some(Ok(Mutation::Committed(Box::new(Committed {
            order,
            other: None,
            change,
            events,
            print_jobs: effects.print_jobs.iter().map(|j| j.id).collect(),
            response: responses.get(&index).cloned(),
        }))));
    }
    for (index, refusal) in refused {
        answers[index] = Some(Ok(Mutation::Refused(Box::new(refusal))));
    }
    final_answers(claimed, &responses, answers)
}

/// Step 1 for the group: one INSERT for every fresh key; the keys already on record are
/// decided one by one as a lone unit would.
pub(crate) fn claim_keys<R: GroupRequest>(
    conn: &mut PgConnection,
    requests: &[Option<R>],
) -> Result<Vec<Claimed>, GroupAbort> {
    let mut claimed = Vec::with_capacity(requests.len());
    let mut first_of: HashMap<(Uuid, &str), usize> = HashMap::new();
    let (mut staff, mut keys, mut fingerprints) = (Vec::new(), Vec::new(), Vec::new());
    for (index, request) in requests.iter().enumerate() {
        let Some(claim) = request.as_ref().and_then(GroupRequest::claim) else {
            claimed.push(Claimed::Run);
            continue;
        };
        let id = (claim.staff_id.as_uuid(), claim.key.as_str());
        if let Some(&first) = first_of.get(&id) {
            let same_request = requests[first]
                .as_ref()
                .and_then(GroupRequest::claim)
                .is_some_and(|f| f.fingerprint == claim.fingerprint);
            claimed.push(Claimed::SameKeyAs { first, same_request });
            continue;
        }
        first_of.insert(id, index);
        staff.push(claim.staff_id.as_uuid());
        keys.push(claim.key.as_str().to_owned());
        fingerprints.push(claim.fingerprint.as_str().to_owned());
        claimed.push(Claimed::Run);
    }
    if keys.is_empty() {
        return Ok(claimed);
    }
    set_lock_timeout(conn, GROUP_CLAIM_WAIT).map_err(early)?;
    #[derive(QueryableByName)]
    struct Fresh {
        #[diesel(sql_type = SqlUuid)]
        staff_id: Uuid,
        #[diesel(sql_type = Text)]
        key: String,
    }
    let fresh: Vec<Fresh> = Prepared::<ClaimKeys>::new()
        .bind::<Array<SqlUuid>, _>(&staff)
        .bind::<Array<Text>, _>(&keys)
        .bind::<Array<Text>, _>(&fingerprints)
        .load(conn)
        .map_err(early)?;
    let fresh: std::collections::HashSet<(Uuid, String)> =
        fresh.into_iter().map(|f| (f.staff_id, f.key)).collect();
    for (index, request) in requests.iter().enumerate() {
        let Some(claim) = request.as_ref().and_then(GroupRequest::claim) else {
            continue;
        };
        let is_fresh =
            |c: &IdempotencyClaim| fresh.contains(&(c.staff_id.as_uuid(), c.key.as_str().to_owned()));
        match claimed[index] {
            Claimed::Run if !is_fresh(claim) => {}
            // A twin of a key on record is decided from the record, like its first.
            Claimed::SameKeyAs { .. } if !is_fresh(claim) => {}
            _ => continue,
        }
        claimed[index] = match take_key(conn, claim) {
            Ok(()) => Claimed::Run,
            // Replays and mismatches are answers; anything else (a wait that timed out
            // leaves the transaction aborted) goes one by one.
            Err(Abort::Answer(answer @ (Mutation::Replayed(_) | Mutation::KeyMismatch))) => {
                Claimed::Answered(answer)
            }
            Err(Abort::Answer(_) | Abort::Refused(_)) => {
                return Err(early(StoreError::SerializationFailure));
            }
            Err(Abort::Db(e)) => return Err(early(e)),
        };
    }
    Ok(claimed)
}

statement!(
    ClaimKeys = "INSERT INTO idempotency_records (staff_id, key, fingerprint, created_at) \
         SELECT s, k, f, now() FROM unnest($1::uuid[], $2::text[], $3::text[]) AS c(s, k, f) \
         ON CONFLICT (staff_id, key) DO NOTHING RETURNING staff_id, key"
);

statement!(
    TakeNumbers = "INSERT INTO order_number_counters (business_date, last_number) VALUES ($1, $2) \
         ON CONFLICT (business_date) DO UPDATE \
         SET last_number = order_number_counters.last_number + $2 RETURNING last_number"
);

/// Takes `count` numbers of `business_date`; returns the last of them.
fn take_numbers(conn: &mut PgConnection, business_date: NaiveDate, count: i32) -> QueryResult<i32> {
    #[derive(QueryableByName)]
    struct Last {
        #[diesel(sql_type = Integer)]
        last_number: i32,
    }
    Prepared::<TakeNumbers>::new()
        .bind::<diesel::sql_types::Date, _>(&business_date)
        .bind::<Integer, _>(&count)
        .get_result::<Last>(conn)
        .map(|last| last.last_number)
}

/// Refused creates took no number: the counter ends at the last one used (still locked).
fn give_back(conn: &mut PgConnection, business_date: NaiveDate, last_used: i32) -> Result<(), GroupAbort> {
    diesel::update(order_number_counters::table.find(business_date))
        .set(order_number_counters::last_number.eq(last_used))
        .execute(conn)?;
    Ok(())
}

/// The new orders and their items, one INSERT each. Each order's items end in the order a
/// read gives them back (`created_at, id`), as a lone create leaves them.
fn insert_orders(conn: &mut PgConnection, built: &mut [Built]) -> Result<(), GroupAbort> {
    if built.is_empty() {
        return Ok(());
    }
    let mut order_rows: Vec<OrderRow> = Vec::with_capacity(built.len());
    let mut item_rows: Vec<OrderItemRow> = Vec::new();
    for b in built.iter_mut() {
        b.order.items.sort_by_key(|item| (item.created_at, item.id));
        let (row, items) = order_to_rows(&b.order)?;
        order_rows.push(row);
        item_rows.extend(items);
    }
    diesel::insert_into(orders::table)
        .values(&order_rows)
        .execute(conn)?;
    if !item_rows.is_empty() {
        insert_items(conn, &item_rows)?;
    }
    Ok(())
}

statement!(
    StoreAnswers = "UPDATE idempotency_records AS r SET status_code = v.status, response_body = v.body, \
         content_type = v.content_type, completed_at = now() \
         FROM unnest($1::uuid[], $2::text[], $3::int4[], $4::bytea[], $5::text[]) \
         AS v(staff_id, key, status, body, content_type) \
         WHERE r.staff_id = v.staff_id AND r.key = v.key"
);

/// Every stored answer in one statement. A server error is never stored: the group fails.
pub(crate) fn store_responses(
    conn: &mut PgConnection,
    stored: &[(StaffId, IdempotencyKey, StoredResponse)],
) -> Result<(), GroupAbort> {
    if stored.is_empty() {
        return Ok(());
    }
    if let Some((_, _, response)) = stored.iter().find(|(_, _, r)| !r.is_storable()) {
        return Err(StoreError::Internal(format!(
            "a request rendered a {} response: the group rolled back with its claims",
            response.status
        ))
        .into());
    }
    let staff: Vec<Uuid> = stored.iter().map(|(s, _, _)| s.as_uuid()).collect();
    let keys: Vec<&str> = stored.iter().map(|(_, k, _)| k.as_str()).collect();
    let statuses: Vec<i32> = stored.iter().map(|(_, _, r)| i32::from(r.status)).collect();
    let bodies: Vec<&[u8]> = stored.iter().map(|(_, _, r)| r.body.as_slice()).collect();
    let types: Vec<&str> = stored.iter().map(|(_, _, r)| r.content_type.as_str()).collect();
    let updated = Prepared::<StoreAnswers>::new()
        .bind::<Array<SqlUuid>, _>(&staff)
        .bind::<Array<Text>, _>(&keys)
        .bind::<Array<Integer>, _>(&statuses)
        .bind::<Array<Bytea>, _>(&bodies)
        .bind::<Array<Text>, _>(&types)
        .execute(conn)?;
    if updated == stored.len() {
        Ok(())
    } else {
        Err(StoreError::Internal("a claimed idempotency record is gone".into()).into())
    }
}
