#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The auth store against a real database: lockout counting and its races, the PIN pepper,
//! PIN uniqueness, token versions, the last-admin rule, and every change audited atomically.

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use diesel::sql_types::{BigInt, Integer, Text, Timestamptz};
use diesel::{QueryableByName, RunQueryDsl, sql_query};
use pos_domain::audit::{AuditQuery, AuditStore, GENESIS_HASH, NewAuditEntry, verify_chain};
use pos_domain::auth::{
    ActiveLock, AuthStore, FailureOutcome, LockoutPolicy, LoginScope, PinSecret, StaffChanges,
    pin_lookup_digest,
};
use pos_domain::ids::StaffId;
use pos_domain::ports::StaffStore;
use pos_domain::staff::{NewStaff, Staff, StaffChangeError, StaffRuleError};
use pos_domain::validate::{PersonName, Pin, Username};
use pos_domain::{Role, StoreError};
use pos_postgres::{AUDIT_PAGE_MAX, PgStore};
use pos_testkit::TestDb;
use tokio::sync::Barrier;

async fn store(db: &TestDb, pool_size: usize) -> PgStore {
    PgStore::connect(db.url(), pool_size).await.unwrap()
}

fn audit(action: &str) -> NewAuditEntry {
    NewAuditEntry::new(action, "test")
}

/// An entry the database refuses (its actor does not exist): the change it accompanies
/// must be rolled back with it.
fn refused_audit() -> NewAuditEntry {
    audit("test.refused").actor(Some(StaffId::new()))
}

fn refused() -> StoreError {
    StoreError::ForeignKeyViolation {
        constraint: "audit_log_actor_id_fkey".to_owned(),
    }
}

fn new_staff(username: &str, role: Role) -> NewStaff {
    NewStaff {
        username: Username::parse(username).unwrap(),
        full_name: PersonName::parse("Test Person").unwrap(),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        pin_hash: None,
        must_change_password: false,
    }
}

async fn create(store: &PgStore, username: &str, role: Role) -> Staff {
    store
        .create_staff_audited(new_staff(username, role), None, audit("staff.created"))
        .await
        .unwrap()
}

fn pin(digits: &str) -> PinSecret {
    PinSecret {
        hash: format!("$argon2id$pin-{digits}"),
        lookup: pin_lookup_digest(b"test pepper", &Pin::parse(digits).unwrap()),
    }
}

/// The store side of a staff change's refusal (these tests expect no rule to refuse).
fn store_error(error: StaffChangeError) -> StoreError {
    match error {
        StaffChangeError::Store(store) => store,
        StaffChangeError::Rule(rule) => panic!("unexpected refusal: {rule}"),
    }
}

fn user(name: &str) -> LoginScope {
    LoginScope::Username(name.to_owned())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(store: &PgStore, sql: &'static str) -> i64 {
    store
        .interact(move |c| Ok(sql_query(sql).get_result::<Count>(c)?.n))
        .await
        .unwrap()
}

async fn audit_rows(store: &PgStore) -> i64 {
    count(store, "SELECT count(*) AS n FROM audit_log").await
}

async fn insert_failures(store: &PgStore, scope: &LoginScope, at: DateTime<Utc>, how_many: i32) {
    let key = scope.key();
    store
        .interact(move |c| {
            Ok(sql_query(
                "INSERT INTO login_attempts (scope, attempted_at, succeeded) \
                 SELECT $1, $2, false FROM generate_series(1, $3)",
            )
            .bind::<Text, _>(key)
            .bind::<Timestamptz, _>(at)
            .bind::<Integer, _>(how_many)
            .execute(c)?)
        })
        .await
        .unwrap();
}

async fn insert_lock(store: &PgStore, scope: &LoginScope, locked_at: DateTime<Utc>, until: DateTime<Utc>) {
    let key = scope.key();
    store
        .interact(move |c| {
            Ok(
                sql_query("INSERT INTO account_locks (scope, locked_at, locked_until) VALUES ($1, $2, $3)")
                    .bind::<Text, _>(key)
                    .bind::<Timestamptz, _>(locked_at)
                    .bind::<Timestamptz, _>(until)
                    .execute(c)?,
            )
        })
        .await
        .unwrap();
}

async fn fail(store: &PgStore, scope: &LoginScope, now: DateTime<Utc>) -> FailureOutcome {
    store
        .record_failure(scope, LockoutPolicy::default(), now, audit("auth.login_failed"))
        .await
        .unwrap()
}

async fn whole_log_verifies(store: &PgStore) {
    let rows = store.audit_page(0, AUDIT_PAGE_MAX).await.unwrap();
    assert!(rows.len() < AUDIT_PAGE_MAX as usize);
    assert!(verify_chain(GENESIS_HASH, &rows).is_ok());
}

#[tokio::test]
async fn the_fifth_failure_in_the_window_locks_the_scope_for_the_lock_time() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let scope = user("phiona");
    let t0 = Utc::now();

    for (i, remaining) in [4, 3, 2, 1].into_iter().enumerate() {
        let now = t0 + Duration::seconds(i as i64);
        assert_eq!(
            fail(&store, &scope, now).await,
            FailureOutcome::Counted { remaining }
        );
        assert_eq!(store.active_lock(&scope, now).await.unwrap(), None);
    }
    let t5 = t0 + Duration::seconds(4);
    let until = (t5 + Duration::minutes(15)).trunc_subsecs(6);
    assert_eq!(
        fail(&store, &scope, t5).await,
        FailureOutcome::LockedNow { until }
    );

    let lock = ActiveLock {
        scope: "user:phiona".to_owned(),
        locked_until: until,
    };
    assert_eq!(store.active_lock(&scope, t5).await.unwrap(), Some(lock.clone()));
    assert_eq!(
        store
            .active_lock(&scope, until - Duration::seconds(1))
            .await
            .unwrap(),
        Some(lock.clone())
    );
    assert_eq!(
        store.active_lock(&scope, until).await.unwrap(),
        None,
        "expired at locked_until"
    );
    assert_eq!(store.active_locks(t5).await.unwrap(), vec![lock]);
    assert_eq!(store.active_locks(until).await.unwrap(), vec![]);
    // Other scopes are not touched: a PIN scope with the same name, another user.
    assert_eq!(
        store
            .active_lock(&LoginScope::TerminalPin("phiona".into()), t5)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.active_lock(&user("other"), t5).await.unwrap(), None);

    // The five failures and the lock, in the audit log, in one chain.
    let failed = store
        .list_audit(&AuditQuery {
            action_prefix: Some("auth.login_failed".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 5);
    let locked = store
        .list_audit(&AuditQuery {
            action_prefix: Some("auth.locked".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].entry.entity_id.as_deref(), Some("user:phiona"));
    assert_eq!(locked[0].entry.after.as_ref().unwrap()["failures"], 5);
    assert_eq!(
        locked[0].entry.after.as_ref().unwrap()["locked_until"],
        serde_json::to_value(until).unwrap()
    );
    assert_eq!(
        locked[0].id,
        failed[0].id + 1,
        "written with the failure that locked"
    );
    whole_log_verifies(&store).await;
}

#[tokio::test]
async fn failures_outside_the_window_are_not_counted() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let scope = user("phiona");
    let now = Utc::now();
    insert_failures(
        &store,
        &scope,
        now - Duration::minutes(15) - Duration::seconds(1),
        10,
    )
    .await;
    insert_failures(&store, &user("someone"), now - Duration::minutes(1), 10).await;
    insert_failures(&store, &scope, now - Duration::minutes(14), 3).await;

    assert_eq!(
        fail(&store, &scope, now).await,
        FailureOutcome::Counted { remaining: 1 }
    );
    assert_eq!(
        fail(&store, &scope, now).await,
        FailureOutcome::LockedNow {
            until: (now + Duration::minutes(15)).trunc_subsecs(6)
        }
    );
}

#[tokio::test]
async fn an_expired_lock_is_ignored_and_the_failures_it_punished_do_not_count_again() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let scope = LoginScope::TerminalPin("pos-1".into());
    let now = Utc::now();
    insert_failures(&store, &scope, now - Duration::minutes(6), 5).await;
    insert_lock(
        &store,
        &scope,
        now - Duration::minutes(6),
        now - Duration::minutes(1),
    )
    .await;

    assert_eq!(store.active_lock(&scope, now).await.unwrap(), None);
    assert_eq!(store.active_locks(now).await.unwrap(), vec![]);
    assert_eq!(
        fail(&store, &scope, now).await,
        FailureOutcome::Counted { remaining: 4 }
    );
    for _ in 0..3 {
        fail(&store, &scope, now).await;
    }
    let until = (now + Duration::minutes(15)).trunc_subsecs(6);
    assert_eq!(
        fail(&store, &scope, now).await,
        FailureOutcome::LockedNow { until }
    );
    assert_eq!(
        store
            .active_lock(&scope, now)
            .await
            .unwrap()
            .map(|l| l.locked_until),
        Some(until),
        "the expired lock was replaced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_failures_on_one_scope_lock_it_exactly_once() {
    let db = TestDb::new();
    // Two instances sharing the database, each with enough connections for its tasks.
    let stores = [store(&db, 6).await, store(&db, 6).await];
    let scope = user("phiona");
    let barrier = Arc::new(Barrier::new(10));
    let tasks: Vec<_> = (0..10)
        .map(|task| {
            let store = stores[task % 2].clone();
            let scope = scope.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                fail(&store, &scope, Utc::now()).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }

    let locks: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            FailureOutcome::LockedNow { until } => Some(*until),
            FailureOutcome::Counted { .. } => None,
        })
        .collect();
    assert_eq!(locks.len(), 1, "{outcomes:?}");
    let mut remaining: Vec<u32> = outcomes
        .iter()
        .filter_map(|o| match o {
            FailureOutcome::Counted { remaining } => Some(*remaining),
            FailureOutcome::LockedNow { .. } => None,
        })
        .collect();
    remaining.sort_unstable();
    assert_eq!(
        remaining,
        [0, 0, 0, 0, 0, 1, 2, 3, 4],
        "each count seen once, then locked"
    );

    // Failures made while locked neither extend the lock nor lock again.
    assert_eq!(
        stores[1]
            .active_lock(&scope, Utc::now())
            .await
            .unwrap()
            .map(|l| l.locked_until),
        Some(locks[0])
    );
    assert_eq!(
        count(&stores[0], "SELECT count(*) AS n FROM login_attempts").await,
        10
    );
    assert_eq!(
        count(
            &stores[0],
            "SELECT count(*) AS n FROM audit_log WHERE action = 'auth.login_failed'"
        )
        .await,
        10
    );
    assert_eq!(
        count(
            &stores[0],
            "SELECT count(*) AS n FROM audit_log WHERE action = 'auth.locked'"
        )
        .await,
        1
    );
    whole_log_verifies(&stores[0]).await;
}

#[tokio::test]
async fn a_success_forgets_the_failures_and_an_expired_lock_but_not_a_lock_in_force() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let scope = user("phiona");
    let now = Utc::now();
    for _ in 0..4 {
        fail(&store, &scope, now).await;
    }
    insert_lock(
        &store,
        &scope,
        now - Duration::hours(1),
        now - Duration::minutes(30),
    )
    .await;
    store
        .record_success(&scope, now, audit("auth.login"))
        .await
        .unwrap();
    assert_eq!(count(&store, "SELECT count(*) AS n FROM login_attempts").await, 0);
    assert_eq!(count(&store, "SELECT count(*) AS n FROM account_locks").await, 0);
    assert_eq!(
        fail(&store, &scope, now).await,
        FailureOutcome::Counted { remaining: 4 }
    );

    let pin_scope = LoginScope::TerminalPin("pos-1".into());
    for _ in 0..5 {
        fail(&store, &pin_scope, now).await;
    }
    store
        .record_success(&pin_scope, now, audit("auth.login"))
        .await
        .unwrap();
    assert!(store.active_lock(&pin_scope, now).await.unwrap().is_some());
    assert_eq!(
        count(
            &store,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'auth.login'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn unlock_lifts_a_lock_and_forgets_failures_and_is_not_found_without_one() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let scope = user("phiona");
    let now = Utc::now();

    let before = audit_rows(&store).await;
    assert_eq!(
        store.unlock(&scope, audit("auth.unlocked")).await,
        Err(StoreError::not_found("lock"))
    );
    assert_eq!(
        audit_rows(&store).await,
        before,
        "nothing unlocked, nothing audited"
    );

    // Only an expired lock: not found either, and the row stays for record_failure.
    insert_lock(
        &store,
        &scope,
        now - Duration::hours(1),
        now - Duration::minutes(30),
    )
    .await;
    assert_eq!(
        store.unlock(&scope, audit("auth.unlocked")).await,
        Err(StoreError::not_found("lock"))
    );
    assert_eq!(count(&store, "SELECT count(*) AS n FROM account_locks").await, 1);

    for _ in 0..5 {
        fail(&store, &scope, now).await;
    }
    assert!(store.active_lock(&scope, now).await.unwrap().is_some());
    store.unlock(&scope, audit("auth.unlocked")).await.unwrap();
    assert_eq!(store.active_lock(&scope, now).await.unwrap(), None);
    assert_eq!(store.active_locks(now).await.unwrap(), vec![]);
    assert_eq!(
        fail(&store, &scope, now).await,
        FailureOutcome::Counted { remaining: 4 }
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'auth.unlocked'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn active_locks_lists_the_locks_in_force_soonest_to_expire_first() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let now = Utc::now().trunc_subsecs(6);
    insert_lock(&store, &user("later"), now, now + Duration::minutes(10)).await;
    insert_lock(
        &store,
        &user("expired"),
        now - Duration::hours(1),
        now - Duration::minutes(1),
    )
    .await;
    insert_lock(
        &store,
        &LoginScope::TerminalPin("pos-2".into()),
        now,
        now + Duration::minutes(2),
    )
    .await;
    assert_eq!(
        store.active_locks(now).await.unwrap(),
        vec![
            ActiveLock {
                scope: "pin:pos-2".into(),
                locked_until: now + Duration::minutes(2)
            },
            ActiveLock {
                scope: "user:later".into(),
                locked_until: now + Duration::minutes(10)
            },
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pin_pepper_is_created_once_and_shared_by_every_instance() {
    let db = TestDb::new();
    let stores: Vec<PgStore> = vec![store(&db, 4).await, store(&db, 4).await, store(&db, 4).await];
    let barrier = Arc::new(Barrier::new(6));
    let tasks: Vec<_> = (0..6)
        .map(|task| {
            let store = stores[task % 3].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.pin_pepper().await.unwrap()
            })
        })
        .collect();
    let mut peppers = Vec::new();
    for task in tasks {
        peppers.push(task.await.unwrap());
    }
    assert_eq!(peppers[0].len(), 32);
    assert!(
        peppers.iter().all(|p| *p == peppers[0]),
        "every instance derives the same digests"
    );
    assert_eq!(
        count(&stores[0], "SELECT count(*) AS n FROM app_secrets").await,
        1
    );

    // A new instance reads the same; the value is kept from then on (no further reads).
    let fresh = store(&db, 1).await;
    assert_eq!(fresh.pin_pepper().await.unwrap(), peppers[0]);
    let mut su = db.connect();
    sql_query("ALTER TABLE app_secrets DISABLE TRIGGER ALL")
        .execute(&mut su)
        .unwrap();
    sql_query("DELETE FROM app_secrets").execute(&mut su).unwrap();
    assert_eq!(
        fresh.pin_pepper().await.unwrap(),
        peppers[0],
        "cached after the first read"
    );
    assert_eq!(
        fresh.clone().pin_pepper().await.unwrap(),
        peppers[0],
        "clones share the cache"
    );
    // The secret can't be rewritten by the application.
    sql_query("ALTER TABLE app_secrets ENABLE TRIGGER ALL")
        .execute(&mut su)
        .unwrap();
    let other = store(&db, 1).await;
    let replacement = other.pin_pepper().await.unwrap();
    assert_ne!(replacement, peppers[0], "a new pepper is random");
    let changed = other
        .interact(|c| Ok(sql_query("UPDATE app_secrets SET value = value || '\\x00'::bytea").execute(c)?))
        .await;
    assert!(changed.is_err(), "{changed:?}");
}

#[tokio::test]
async fn pins_are_unique_among_active_staff_only() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let amos = create(&store, "amos", Role::Waiter).await;
    let beth = create(&store, "beth", Role::Cashier).await;
    let taken = Err(StoreError::Conflict {
        constraint: "staff_pin_lookup_key".to_owned(),
    });

    let with_pin = store
        .set_pin(amos.id, Some(pin("1234")), audit("staff.pin_set"))
        .await
        .unwrap();
    assert!(with_pin.has_pin);
    let found = store
        .find_by_pin_lookup(&pin("1234").lookup)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.staff.id, amos.id);
    assert_eq!(found.pin_hash.as_deref(), Some("$argon2id$pin-1234"));
    assert_eq!(store.find_by_pin_lookup(&pin("4321").lookup).await.unwrap(), None);
    assert_eq!(
        store
            .set_pin(beth.id, Some(pin("1234")), audit("staff.pin_set"))
            .await
            .map(|s| s.id),
        taken.clone()
    );
    assert_eq!(
        store
            .create_staff_audited(
                NewStaff {
                    pin_hash: Some("$argon2id$pin-1234".into()),
                    ..new_staff("cleo", Role::Bar)
                },
                Some(pin("1234").lookup),
                audit("staff.created"),
            )
            .await
            .map(|s| s.id),
        taken.clone()
    );

    // Deactivated: the PIN no longer finds amos, and beth may take it.
    store
        .update_staff(
            amos.id,
            StaffChanges {
                active: Some(false),
                ..StaffChanges::default()
            },
            audit("staff.deactivated"),
        )
        .await
        .unwrap();
    assert_eq!(store.find_by_pin_lookup(&pin("1234").lookup).await.unwrap(), None);
    store
        .set_pin(beth.id, Some(pin("1234")), audit("staff.pin_set"))
        .await
        .unwrap();
    assert_eq!(
        store
            .find_by_pin_lookup(&pin("1234").lookup)
            .await
            .unwrap()
            .unwrap()
            .staff
            .id,
        beth.id
    );
    // Reactivating amos would make two active holders of one PIN.
    assert_eq!(
        store
            .update_staff(
                amos.id,
                StaffChanges {
                    active: Some(true),
                    ..StaffChanges::default()
                },
                audit("staff.activated"),
            )
            .await
            .map(|s| s.id),
        taken.map_err(StaffChangeError::Store)
    );

    let cleared = store
        .set_pin(beth.id, None, audit("staff.pin_cleared"))
        .await
        .unwrap();
    assert!(!cleared.has_pin);
    assert_eq!(store.credentials(beth.id).await.unwrap().pin_hash, None);
    assert_eq!(store.find_by_pin_lookup(&pin("1234").lookup).await.unwrap(), None);
    assert_eq!(
        store
            .set_pin(StaffId::new(), None, audit("staff.pin_cleared"))
            .await,
        Err(StoreError::not_found("staff"))
    );
}

#[tokio::test]
async fn token_version_bumps_on_every_change_that_must_end_sessions_and_only_then() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let _admin = create(&store, "root", Role::Admin).await;
    let amos = create(&store, "amos", Role::Cashier).await;
    assert_eq!(amos.token_version, 0);
    let version = |s: Result<Staff, StoreError>| s.unwrap().token_version;
    let changes = |f: fn(&mut StaffChanges)| {
        let mut c = StaffChanges::default();
        f(&mut c);
        c
    };

    assert_eq!(
        version(store.bump_token_version(amos.id, audit("auth.logout_all")).await),
        1
    );

    let reset = store
        .set_password(
            amos.id,
            "$argon2id$new".into(),
            true,
            audit("staff.password_reset"),
        )
        .await
        .unwrap();
    assert_eq!(reset.token_version, 2);
    assert!(reset.must_change_password);
    let creds = store.credentials(amos.id).await.unwrap();
    assert_eq!(creds.password_hash, "$argon2id$new");
    assert_eq!(creds.staff, reset);
    let changed = store
        .set_password(
            amos.id,
            "$argon2id$own".into(),
            false,
            audit("staff.password_changed"),
        )
        .await
        .unwrap();
    assert_eq!((changed.token_version, changed.must_change_password), (3, false));

    let to_manager = || StaffChanges {
        role: Some(Role::Manager),
        ..StaffChanges::default()
    };
    assert_eq!(
        version(
            store
                .update_staff(amos.id, to_manager(), audit("staff.role_changed"))
                .await
                .map_err(store_error)
        ),
        4
    );
    assert_eq!(
        version(
            store
                .update_staff(amos.id, to_manager(), audit("staff.role_changed"))
                .await
                .map_err(store_error)
        ),
        4,
        "the same role again is no change"
    );
    let renamed = store
        .update_staff(
            amos.id,
            changes(|c| c.full_name = Some(PersonName::parse("Amos Renamed").unwrap())),
            audit("staff.updated"),
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.token_version, renamed.full_name.as_str()),
        (4, "Amos Renamed")
    );
    assert_eq!(renamed.role, Role::Manager);
    let nothing = store
        .update_staff(amos.id, StaffChanges::default(), audit("staff.updated"))
        .await
        .unwrap();
    assert_eq!(nothing.token_version, 4);
    assert_eq!(
        version(
            store
                .update_staff(
                    amos.id,
                    changes(|c| c.active = Some(false)),
                    audit("staff.deactivated")
                )
                .await
                .map_err(store_error)
        ),
        5
    );
    assert_eq!(
        version(
            store
                .update_staff(
                    amos.id,
                    changes(|c| c.active = Some(true)),
                    audit("staff.activated")
                )
                .await
                .map_err(store_error)
        ),
        6
    );
    assert_eq!(
        version(
            store
                .set_pin(amos.id, Some(pin("2468")), audit("staff.pin_set"))
                .await
        ),
        6,
        "a new PIN does not end sessions"
    );
    assert_eq!(store.credentials(amos.id).await.unwrap().staff.token_version, 6);

    let unknown = StaffId::new();
    assert_eq!(
        store.bump_token_version(unknown, audit("x.y")).await,
        Err(StoreError::not_found("staff"))
    );
    assert_eq!(
        store.set_password(unknown, "h".into(), false, audit("x.y")).await,
        Err(StoreError::not_found("staff"))
    );
    assert_eq!(
        store.update_staff(unknown, to_manager(), audit("x.y")).await,
        Err(StaffChangeError::Store(StoreError::not_found("staff")))
    );
    assert_eq!(
        store.credentials(unknown).await,
        Err(StoreError::not_found("staff"))
    );
    whole_log_verifies(&store).await;
}

#[tokio::test]
async fn the_last_active_admin_can_be_neither_demoted_nor_deactivated() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let last = Err(StaffChangeError::Rule(StaffRuleError::LastActiveAdmin));
    let ada = create(&store, "ada", Role::Admin).await;
    let demote = StaffChanges {
        role: Some(Role::Manager),
        ..StaffChanges::default()
    };
    let deactivate = StaffChanges {
        active: Some(false),
        ..StaffChanges::default()
    };

    let audits = audit_rows(&store).await;
    assert_eq!(
        store
            .update_staff(ada.id, demote.clone(), audit("x"))
            .await
            .map(|s| s.id),
        last.clone()
    );
    assert_eq!(
        store
            .update_staff(ada.id, deactivate.clone(), audit("x"))
            .await
            .map(|s| s.id),
        last.clone()
    );
    assert_eq!(store.credentials(ada.id).await.unwrap().staff, ada, "unchanged");
    assert_eq!(
        audit_rows(&store).await,
        audits,
        "a refused change is not audited"
    );
    // Renaming the last admin, or "changing" it to what it is, is fine.
    let renamed = store
        .update_staff(
            ada.id,
            StaffChanges {
                full_name: Some(PersonName::parse("Ada L").unwrap()),
                role: Some(Role::Admin),
                active: Some(true),
            },
            audit("staff.updated"),
        )
        .await
        .unwrap();
    assert_eq!(renamed.token_version, 0);

    // An inactive admin does not count.
    let bob = create(&store, "bob", Role::Admin).await;
    store
        .update_staff(bob.id, deactivate.clone(), audit("x"))
        .await
        .unwrap();
    assert_eq!(
        store
            .update_staff(ada.id, demote.clone(), audit("x"))
            .await
            .map(|s| s.id),
        last.clone()
    );

    // With a second active admin the first can go; then the second is the last.
    let cleo = create(&store, "cleo", Role::Manager).await;
    store
        .update_staff(
            cleo.id,
            StaffChanges {
                role: Some(Role::Admin),
                ..StaffChanges::default()
            },
            audit("x"),
        )
        .await
        .unwrap();
    let demoted = store
        .update_staff(ada.id, demote.clone(), audit("x"))
        .await
        .unwrap();
    assert_eq!(demoted.role, Role::Manager);
    assert_eq!(
        store
            .update_staff(cleo.id, deactivate, audit("x"))
            .await
            .map(|s| s.id),
        last.clone()
    );
    assert_eq!(
        store
            .update_staff(cleo.id, demote, audit("x"))
            .await
            .map(|s| s.id),
        last
    );
    // Reactivating bob (an admin) makes room again.
    store
        .update_staff(
            bob.id,
            StaffChanges {
                active: Some(true),
                ..StaffChanges::default()
            },
            audit("x"),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_demotions_of_the_last_two_admins_let_exactly_one_win() {
    let db = TestDb::new();
    let stores = [store(&db, 3).await, store(&db, 3).await];
    let ada = create(&stores[0], "ada", Role::Admin).await;
    let bob = create(&stores[0], "bob", Role::Admin).await;
    let restore = StaffChanges {
        role: Some(Role::Admin),
        active: Some(true),
        ..StaffChanges::default()
    };
    for round in 0..10 {
        let barrier = Arc::new(Barrier::new(2));
        // Round by round: demote both, deactivate both, or one of each.
        let changes = [
            StaffChanges {
                role: (round % 3 != 1).then_some(Role::Manager),
                active: (round % 3 == 1).then_some(false),
                ..StaffChanges::default()
            },
            StaffChanges {
                role: (round % 3 == 0).then_some(Role::Cashier),
                active: (round % 3 != 0).then_some(false),
                ..StaffChanges::default()
            },
        ];
        let tasks: Vec<_> = [ada.id, bob.id]
            .into_iter()
            .zip(changes)
            .enumerate()
            .map(|(i, (id, change))| {
                let store = stores[i].clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.update_staff(id, change, audit("staff.updated")).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {results:?}");
        assert!(results.contains(&Err(StaffChangeError::Rule(StaffRuleError::LastActiveAdmin))));
        assert_eq!(
            count(
                &stores[0],
                "SELECT count(*) AS n FROM staff WHERE role = 'admin' AND active"
            )
            .await,
            1
        );
        for id in [ada.id, bob.id] {
            stores[0]
                .update_staff(id, restore.clone(), audit("x"))
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_change_whose_audit_entry_is_refused_is_rolled_back_with_it() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let root = create(&store, "root", Role::Admin).await;
    let amos = create(&store, "amos", Role::Cashier).await;
    let now = Utc::now();
    let scope = user("amos");
    let audits = audit_rows(&store).await;

    assert_eq!(
        store.bump_token_version(amos.id, refused_audit()).await,
        Err(refused())
    );
    assert_eq!(
        store
            .set_password(amos.id, "$argon2id$x".into(), true, refused_audit())
            .await,
        Err(refused())
    );
    assert_eq!(
        store.set_pin(amos.id, Some(pin("1234")), refused_audit()).await,
        Err(refused())
    );
    assert_eq!(
        store
            .update_staff(
                amos.id,
                StaffChanges {
                    role: Some(Role::Manager),
                    full_name: Some(PersonName::parse("Changed").unwrap()),
                    active: Some(false),
                },
                refused_audit(),
            )
            .await,
        Err(StaffChangeError::Store(refused()))
    );
    let creds = store.credentials(amos.id).await.unwrap();
    assert_eq!(creds.staff, amos, "nothing changed");
    assert_eq!(
        creds.password_hash,
        new_staff("amos", Role::Cashier).password_hash
    );
    assert_eq!(creds.pin_hash, None);
    assert_eq!(
        store
            .create_staff_audited(new_staff("cleo", Role::Bar), None, refused_audit())
            .await,
        Err(refused())
    );
    assert_eq!(
        store
            .find_credentials(&Username::parse("cleo").unwrap())
            .await
            .unwrap(),
        None
    );

    // Lockout: the failure is not counted, so the fifth "failure" locks nothing.
    for _ in 0..4 {
        fail(&store, &scope, now).await;
    }
    let audits = audits + 4;
    assert_eq!(
        store
            .record_failure(&scope, LockoutPolicy::default(), now, refused_audit())
            .await,
        Err(refused())
    );
    assert_eq!(store.active_lock(&scope, now).await.unwrap(), None);
    assert_eq!(count(&store, "SELECT count(*) AS n FROM login_attempts").await, 4);
    assert_eq!(
        store.record_success(&scope, now, refused_audit()).await,
        Err(refused())
    );
    assert_eq!(count(&store, "SELECT count(*) AS n FROM login_attempts").await, 4);
    fail(&store, &scope, now).await;
    let audits = audits + 2;
    assert_eq!(store.unlock(&scope, refused_audit()).await, Err(refused()));
    assert!(
        store.active_lock(&scope, now).await.unwrap().is_some(),
        "still locked"
    );

    assert_eq!(audit_rows(&store).await, audits);
    assert_eq!(store.get_staff(root.id).await.unwrap(), root);
    whole_log_verifies(&store).await;
}

#[tokio::test]
async fn staff_lookups_return_what_the_api_needs_to_decide() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let _root = create(&store, "root", Role::Admin).await;
    let created = store
        .create_staff_audited(
            NewStaff {
                pin_hash: Some("$argon2id$pin-9999".into()),
                ..new_staff("amos", Role::Waiter)
            },
            Some(pin("9999").lookup),
            audit("staff.created").after(serde_json::json!({"username": "amos"})),
        )
        .await
        .unwrap();
    assert!(created.has_pin);
    assert_eq!(created.token_version, 0);
    let entry = store
        .list_audit(&AuditQuery {
            action_prefix: Some("staff.created".into()),
            limit: 1,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        entry[0].entry.entity_id,
        Some(created.id.to_string()),
        "filled in by the store"
    );
    assert_eq!(
        store
            .create_staff_audited(new_staff("amos", Role::Bar), None, audit("staff.created"))
            .await
            .map(|s| s.id),
        Err(StoreError::Conflict {
            constraint: "staff_username_key".to_owned()
        })
    );

    store
        .update_staff(
            created.id,
            StaffChanges {
                active: Some(false),
                ..StaffChanges::default()
            },
            audit("staff.deactivated"),
        )
        .await
        .unwrap();
    // Password login finds a deactivated account (the API answers it like a wrong password);
    // PIN login does not find it at all.
    let creds = store
        .find_credentials(&Username::parse("amos").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!creds.staff.active);
    assert!(creds.staff.has_pin);
    assert_eq!(creds.pin_hash.as_deref(), Some("$argon2id$pin-9999"));
    assert_eq!(store.find_by_pin_lookup(&pin("9999").lookup).await.unwrap(), None);
    let by_id = store.credentials(created.id).await.unwrap();
    assert_eq!(by_id.staff, creds.staff);
    assert_eq!(by_id.staff.token_version, 1);
}
