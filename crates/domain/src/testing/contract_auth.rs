//! The contract of the staff, auth and audit ports ([`AuthStore`], [`StaffStore`],
//! [`AuditStore`]), as checks any implementation must pass: the in-memory fake runs them in
//! this crate's tests, the PostgreSQL adapter in `crates/postgres/tests/auth_contract.rs`.
//! Each rule the domain owns is checked through the store that applies it: the last
//! active admin, lockout counting and windows, token-version bumps, PIN and username
//! uniqueness, unlocking, and the audit chain every change extends.
//!
//! The checks make their own staff (fresh usernames) and tolerate other data. The store's
//! `unlock` reads the real time, so lock times are taken relative to `Utc::now()`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "contract checks are test code: a broken expectation must panic"
)]

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use crate::audit::{AuditQuery, AuditStore, GENESIS_HASH, NewAuditEntry, verify_chain};
use crate::auth::{
    AuthStore, FailureOutcome, LockoutPolicy, LoginScope, PinSecret, StaffChanges, pin_lookup_digest,
};
use crate::error::StoreError;
use crate::ids::StaffId;
use crate::permissions::Role;
use crate::ports::StaffStore;
use crate::staff::{NewStaff, Staff, StaffChangeError, StaffRuleError};
use crate::validate::{PersonName, Pin, Username};

/// Everything the checks need of one store.
pub trait AuthPorts: AuthStore + StaffStore + AuditStore {}
impl<T: AuthStore + StaffStore + AuditStore + ?Sized> AuthPorts for T {}

/// Runs every check in turn.
pub async fn run_all<S: AuthPorts + ?Sized>(store: &S) {
    token_versions_move_on_exactly_when_sessions_end(store).await;
    usernames_and_active_pins_are_unique(store).await;
    lockout_counts_failures_within_the_window(store).await;
    a_success_forgets_failures_and_unlock_lifts_locks_in_force_only(store).await;
    every_change_extends_the_audit_chain(store).await;
    // Last: it leaves the store with a single active admin of its own.
    the_last_active_admin_is_neither_demoted_nor_deactivated(store).await;
}

fn unique(prefix: &str) -> String {
    // The random tail of a fresh id (its head is time-ordered).
    let id = StaffId::new().to_string().replace('-', "");
    format!("{prefix}{}", &id[id.len() - 12..])
}

fn new_staff(username: &str, role: Role) -> NewStaff {
    NewStaff {
        username: Username::parse(username).unwrap(),
        full_name: PersonName::parse("Contract Person").unwrap(),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        pin_hash: None,
        must_change_password: false,
    }
}

async fn create<S: AuthPorts + ?Sized>(store: &S, role: Role) -> Staff {
    store
        .create_staff_audited(new_staff(&unique("c"), role), None, audit("staff.created"))
        .await
        .unwrap()
}

fn audit(action: &str) -> NewAuditEntry {
    NewAuditEntry::new(action, "contract")
}

fn pin(digits: &str, salt: &str) -> PinSecret {
    PinSecret {
        hash: format!("$argon2id$pin-{digits}"),
        lookup: pin_lookup_digest(salt.as_bytes(), &Pin::parse(digits).unwrap()),
    }
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

async fn audit_len<S: AuthPorts + ?Sized>(store: &S) -> usize {
    let mut after = 0;
    let mut n = 0;
    loop {
        let rows = store.audit_page(after, 500).await.unwrap();
        let Some(last) = rows.last() else { return n };
        after = last.id;
        n += rows.len();
    }
}

/// Logout-everywhere, a password change, a role change and (de)activation each move the
/// token version on by one; a rename and a PIN change do not.
pub async fn token_versions_move_on_exactly_when_sessions_end<S: AuthPorts + ?Sized>(store: &S) {
    let staff = create(store, Role::Cashier).await;
    let v0 = staff.token_version;
    let bumped = store
        .bump_token_version(staff.id, audit("auth.logout_all"))
        .await
        .unwrap();
    assert_eq!(bumped.token_version, v0 + 1, "logout everywhere");
    let changed = store
        .set_password(
            staff.id,
            "$argon2id$new".into(),
            true,
            audit("staff.password_reset"),
        )
        .await
        .unwrap();
    assert_eq!(changed.token_version, v0 + 2, "password change");
    assert!(changed.must_change_password);
    let credentials = store.credentials(staff.id).await.unwrap();
    assert_eq!(credentials.password_hash, "$argon2id$new");

    let renamed = store
        .update_staff(
            staff.id,
            StaffChanges {
                full_name: Some(PersonName::parse("Renamed Person").unwrap()),
                ..StaffChanges::default()
            },
            audit("staff.updated"),
        )
        .await
        .unwrap();
    assert_eq!(renamed.token_version, v0 + 2, "a rename keeps sessions");
    assert_eq!(renamed.full_name.as_str(), "Renamed Person");
    let with_pin = store
        .set_pin(staff.id, Some(pin("2468", &unique("p"))), audit("staff.pin_set"))
        .await
        .unwrap();
    assert_eq!(with_pin.token_version, v0 + 2, "a PIN change keeps sessions");
    assert!(with_pin.has_pin);

    let promoted = store
        .update_staff(
            staff.id,
            StaffChanges {
                role: Some(Role::Manager),
                ..StaffChanges::default()
            },
            audit("staff.role_changed"),
        )
        .await
        .unwrap();
    assert_eq!(
        (promoted.role, promoted.token_version),
        (Role::Manager, v0 + 3),
        "role change"
    );
    let deactivated = store
        .update_staff(
            staff.id,
            StaffChanges {
                active: Some(false),
                ..StaffChanges::default()
            },
            audit("staff.deactivated"),
        )
        .await
        .unwrap();
    assert_eq!(
        (deactivated.active, deactivated.token_version),
        (false, v0 + 4),
        "deactivation"
    );
    assert_eq!(store.get_staff(staff.id).await.unwrap(), deactivated);

    let unknown = StaffId::new();
    assert_eq!(
        store.bump_token_version(unknown, audit("x")).await.map(|_| ()),
        Err(StoreError::not_found("staff"))
    );
    assert!(matches!(
        store
            .update_staff(unknown, StaffChanges::default(), audit("x"))
            .await,
        Err(StaffChangeError::Store(StoreError::NotFound { .. }))
    ));
}

/// Usernames are unique; PINs are unique among active staff only, and reactivating a
/// member whose PIN another active member took is refused.
pub async fn usernames_and_active_pins_are_unique<S: AuthPorts + ?Sized>(store: &S) {
    let first = create(store, Role::Waiter).await;
    let again = store
        .create_staff_audited(
            new_staff(first.username.as_str(), Role::Cashier),
            None,
            audit("staff.created"),
        )
        .await;
    assert_eq!(
        again.map(|_| ()),
        Err(StoreError::Conflict {
            constraint: "staff_username_key".into()
        })
    );

    let salt = unique("pepper");
    let second = create(store, Role::Waiter).await;
    store
        .set_pin(first.id, Some(pin("1357", &salt)), audit("staff.pin_set"))
        .await
        .unwrap();
    let taken = store
        .set_pin(second.id, Some(pin("1357", &salt)), audit("staff.pin_set"))
        .await;
    assert_eq!(
        taken.map(|_| ()),
        Err(StoreError::Conflict {
            constraint: "staff_pin_lookup_key".into()
        })
    );
    let lookup = pin("1357", &salt).lookup;
    assert_eq!(
        store
            .find_by_pin_lookup(&lookup)
            .await
            .unwrap()
            .map(|c| c.staff.id),
        Some(first.id)
    );

    // Deactivated: the PIN no longer signs in and is free for someone else.
    store
        .update_staff(
            first.id,
            StaffChanges {
                active: Some(false),
                ..StaffChanges::default()
            },
            audit("staff.deactivated"),
        )
        .await
        .unwrap();
    assert_eq!(store.find_by_pin_lookup(&lookup).await.unwrap(), None);
    store
        .set_pin(second.id, Some(pin("1357", &salt)), audit("staff.pin_set"))
        .await
        .unwrap();
    let back = store
        .update_staff(
            first.id,
            StaffChanges {
                active: Some(true),
                ..StaffChanges::default()
            },
            audit("staff.activated"),
        )
        .await;
    assert_eq!(
        back.map(|_| ()),
        Err(StaffChangeError::Store(StoreError::Conflict {
            constraint: "staff_pin_lookup_key".into()
        }))
    );
    assert!(
        !store.get_staff(first.id).await.unwrap().active,
        "nothing written"
    );
    // Clearing the PIN clears it.
    let cleared = store
        .set_pin(second.id, None, audit("staff.pin_cleared"))
        .await
        .unwrap();
    assert!(!cleared.has_pin);
    assert_eq!(store.find_by_pin_lookup(&lookup).await.unwrap(), None);
}

/// `max_failures` failures within `window` lock for `lock_for`; failures that fell out of
/// the window, or that an earlier (expired) lock paid for, do not count; a failure while
/// locked locks nothing more; the lock ends at its instant.
pub async fn lockout_counts_failures_within_the_window<S: AuthPorts + ?Sized>(store: &S) {
    let policy = LockoutPolicy {
        max_failures: 3,
        window: TimeDelta::minutes(10),
        lock_for: TimeDelta::minutes(15),
    };
    let scope = LoginScope::Username(unique("lock"));
    // Far enough in the past that every instant below is before now (unlock reads the clock).
    let t0 = now() - TimeDelta::hours(3);
    let at = |minutes: i64| t0 + TimeDelta::minutes(minutes);
    let fail = |minutes: i64| {
        let scope = scope.clone();
        async move {
            store
                .record_failure(&scope, policy, at(minutes), audit("auth.login_failed"))
                .await
                .unwrap()
        }
    };
    let locks_written = || async {
        store
            .list_audit(&AuditQuery {
                action_prefix: Some("auth.locked".into()),
                entity_id: Some(scope.key()),
                limit: 100,
                ..AuditQuery::default()
            })
            .await
            .unwrap()
            .len()
    };

    assert_eq!(fail(0).await, FailureOutcome::Counted { remaining: 2 });
    assert_eq!(fail(1).await, FailureOutcome::Counted { remaining: 1 });
    // 20 minutes on, the first two fell out of the 10-minute window.
    assert_eq!(fail(20).await, FailureOutcome::Counted { remaining: 2 });
    assert_eq!(fail(21).await, FailureOutcome::Counted { remaining: 1 });
    assert_eq!(store.active_lock(&scope, at(21)).await.unwrap(), None);
    let until = at(22) + policy.lock_for;
    assert_eq!(fail(22).await, FailureOutcome::LockedNow { until });
    assert_eq!(locks_written().await, 1, "the lock is audited once");
    let lock = store.active_lock(&scope, at(23)).await.unwrap().unwrap();
    assert_eq!(
        (lock.scope.as_str(), lock.locked_until),
        (scope.key().as_str(), until)
    );
    assert!(
        store
            .active_locks(at(23))
            .await
            .unwrap()
            .iter()
            .any(|l| l.scope == scope.key()),
        "listed while in force"
    );
    // While locked: counted, nothing more locked.
    assert_eq!(fail(30).await, FailureOutcome::Counted { remaining: 0 });
    assert_eq!(locks_written().await, 1);
    // The lock ends at its instant.
    assert_eq!(store.active_lock(&scope, until).await.unwrap(), None);
    assert!(
        !store
            .active_locks(until)
            .await
            .unwrap()
            .iter()
            .any(|l| l.scope == scope.key())
    );
    // After it, failures before its end (even within the window) were paid for by it.
    assert_eq!(fail(38).await, FailureOutcome::Counted { remaining: 2 });
    assert_eq!(fail(39).await, FailureOutcome::Counted { remaining: 1 });
    let again = at(40) + policy.lock_for;
    assert_eq!(fail(40).await, FailureOutcome::LockedNow { until: again });
    assert_eq!(locks_written().await, 2);
}

/// A success forgets the scope's failures; `unlock` lifts a lock in force (and the
/// failures), and answers `NotFound` when nothing is locked.
pub async fn a_success_forgets_failures_and_unlock_lifts_locks_in_force_only<S: AuthPorts + ?Sized>(
    store: &S,
) {
    let policy = LockoutPolicy {
        max_failures: 2,
        window: TimeDelta::minutes(15),
        lock_for: TimeDelta::minutes(15),
    };
    let scope = LoginScope::TerminalPin(unique("t"));
    let t = now();
    let fail = |at: DateTime<Utc>| {
        let scope = scope.clone();
        async move {
            store
                .record_failure(&scope, policy, at, audit("auth.login_failed"))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        fail(t - TimeDelta::seconds(3)).await,
        FailureOutcome::Counted { remaining: 1 }
    );
    store
        .record_success(&scope, t - TimeDelta::seconds(2), audit("auth.login"))
        .await
        .unwrap();
    assert_eq!(
        fail(t - TimeDelta::seconds(1)).await,
        FailureOutcome::Counted { remaining: 1 },
        "the success forgot the first failure"
    );
    assert!(matches!(fail(t).await, FailureOutcome::LockedNow { .. }));
    assert!(store.active_lock(&scope, t).await.unwrap().is_some());

    store.unlock(&scope, audit("auth.unlocked")).await.unwrap();
    assert_eq!(store.active_lock(&scope, t).await.unwrap(), None);
    assert_eq!(
        store.unlock(&scope, audit("auth.unlocked")).await,
        Err(StoreError::not_found("lock"))
    );
    // Unlocking forgot the failures too: one more is one, not a lock.
    assert_eq!(fail(t).await, FailureOutcome::Counted { remaining: 1 });

    // A lock that already expired is not "locked".
    let old = LoginScope::Username(unique("old"));
    let long_ago = now() - TimeDelta::hours(2);
    for s in [0, 1] {
        store
            .record_failure(
                &old,
                policy,
                long_ago + TimeDelta::seconds(s),
                audit("auth.login_failed"),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store.unlock(&old, audit("auth.unlocked")).await,
        Err(StoreError::not_found("lock"))
    );
}

/// Every change writes its entry; the chain verifies from the genesis hash; the filters
/// and paging of `list_audit` hold.
pub async fn every_change_extends_the_audit_chain<S: AuthPorts + ?Sized>(store: &S) {
    let before = audit_len(store).await;
    let actor = create(store, Role::Manager).await;
    let tagged = unique("e");
    for n in 0..3 {
        store
            .append_audit(
                NewAuditEntry::new(&format!("contract.step_{n}"), "contract")
                    .actor(Some(actor.id))
                    .entity_id(&tagged),
            )
            .await
            .unwrap();
    }
    store
        .bump_token_version(actor.id, audit("auth.logout_all"))
        .await
        .unwrap();
    assert_eq!(
        audit_len(store).await,
        before + 5,
        "created, three appended, one bump"
    );

    let rows = store.audit_page(0, 100_000).await.unwrap();
    assert_eq!(rows.first().map(|r| r.prev_hash.as_str()), Some(GENESIS_HASH));
    verify_chain(GENESIS_HASH, &rows).unwrap();

    let mine = store
        .list_audit(&AuditQuery {
            actor_id: Some(actor.id),
            entity_id: Some(tagged.clone()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = mine.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["contract.step_2", "contract.step_1", "contract.step_0"],
        "newest first"
    );
    let page = store
        .list_audit(&AuditQuery {
            entity_id: Some(tagged.clone()),
            action_prefix: Some("contract.step".into()),
            before_id: Some(mine[0].id),
            limit: 1,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].entry.action, "contract.step_1");
}

/// The venue keeps an active admin: the last one can be neither demoted nor deactivated
/// (a named domain refusal, nothing written); with another admin it can; of two concurrent
/// demotions of the last two admins, exactly one wins.
pub async fn the_last_active_admin_is_neither_demoted_nor_deactivated<S: AuthPorts + ?Sized>(store: &S) {
    let admin = create(store, Role::Admin).await;
    // Make `admin` the only active admin.
    for other in store.list_staff().await.unwrap() {
        if other.id != admin.id && other.active && other.role == Role::Admin {
            store
                .update_staff(
                    other.id,
                    StaffChanges {
                        role: Some(Role::Manager),
                        ..StaffChanges::default()
                    },
                    audit("staff.role_changed"),
                )
                .await
                .unwrap();
        }
    }
    let entries = audit_len(store).await;
    for changes in [
        StaffChanges {
            role: Some(Role::Manager),
            ..StaffChanges::default()
        },
        StaffChanges {
            active: Some(false),
            ..StaffChanges::default()
        },
    ] {
        assert_eq!(
            store
                .update_staff(admin.id, changes, audit("staff.changed"))
                .await,
            Err(StaffChangeError::Rule(StaffRuleError::LastActiveAdmin))
        );
    }
    assert_eq!(store.get_staff(admin.id).await.unwrap(), admin, "nothing written");
    assert_eq!(audit_len(store).await, entries, "no entry for a refused change");
    // Renaming the last admin is fine.
    store
        .update_staff(
            admin.id,
            StaffChanges {
                full_name: Some(PersonName::parse("Still Admin").unwrap()),
                ..StaffChanges::default()
            },
            audit("staff.updated"),
        )
        .await
        .unwrap();

    // Two admins demoting each other at once: one wins, one is refused.
    let second = create(store, Role::Admin).await;
    let demote = |id| {
        store.update_staff(
            id,
            StaffChanges {
                role: Some(Role::Cashier),
                ..StaffChanges::default()
            },
            audit("staff.role_changed"),
        )
    };
    let (a, b) = futures_join(demote(admin.id), demote(second.id)).await;
    let refused = [&a, &b]
        .iter()
        .filter(|r| **r == &Err(StaffChangeError::Rule(StaffRuleError::LastActiveAdmin)))
        .count();
    assert_eq!((refused, a.is_ok() || b.is_ok()), (1, true), "{a:?} {b:?}");
    let admins = store
        .list_staff()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.active && s.role == Role::Admin)
        .count();
    assert_eq!(admins, 1);
}

/// Polls two futures together (the domain has no async runtime of its own).
async fn futures_join<A: std::future::Future, B: std::future::Future>(a: A, b: B) -> (A::Output, B::Output) {
    use std::pin::pin;
    use std::task::Poll;
    let mut a = pin!(a);
    let mut b = pin!(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(move |cx| {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}
