//! The access services over the in-memory fake (the same fake the API's tests use), and the
//! auth contract run against that fake.

use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};

use super::*;
use crate::approval::ApprovalMethod;
use crate::audit::AuditQuery;
use crate::auth::{PinSecret, StaffChanges, pin_lookup_digest};
use crate::permissions::Role;
use crate::staff::{NewStaff, Staff, StaffRuleError};
use crate::testing::{FAKE_PIN_PEPPER, InMemoryAuthStore, ManualClock, PlainSecrets, contract_auth};
use crate::validate::{PersonName, Pin, Username};

struct World {
    store: Arc<InMemoryAuthStore>,
    clock: ManualClock,
    ports: AccessPorts,
}

fn world() -> World {
    let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap());
    let store = Arc::new(InMemoryAuthStore::new(Arc::new(clock.clone())));
    let ports = AccessPorts {
        staff: store.clone(),
        terminals: store.clone(),
        auth: store.clone(),
        audit: store.clone(),
        secrets: Arc::new(PlainSecrets),
        clock: Arc::new(clock.clone()),
        lockout: LockoutPolicy::default(),
    };
    World { store, clock, ports }
}

impl World {
    fn add(&self, username: &str, role: Role, password: &str, pin: Option<&str>) -> Staff {
        let pin = pin.map(|p| PinSecret {
            hash: format!("plain:{p}"),
            lookup: pin_lookup_digest(FAKE_PIN_PEPPER, &Pin::parse(p).unwrap()),
        });
        let (pin_hash, lookup) = match pin {
            Some(PinSecret { hash, lookup }) => (Some(hash), Some(lookup)),
            None => (None, None),
        };
        self.store.insert_staff(
            NewStaff {
                username: Username::parse(username).unwrap(),
                full_name: PersonName::parse(username).unwrap(),
                role,
                password_hash: format!("plain:{password}"),
                pin_hash,
                must_change_password: false,
            },
            lookup,
        )
    }

    fn requester(staff: &Staff) -> Requester {
        Requester::new(Actor::new(staff.id, staff.role), None)
    }
}

#[tokio::test]
async fn the_auth_contract_holds_for_the_fake() {
    let store = InMemoryAuthStore::new(Arc::new(crate::ports::SystemClock));
    contract_auth::run_all(&store).await;
}

#[tokio::test]
async fn the_fifth_wrong_password_locks_and_the_lock_answers_until_it_ends() {
    let w = world();
    w.add("phiona", Role::Cashier, "right password", None);
    let auth = AuthService::new(w.ports.clone());
    for _ in 0..4 {
        assert_eq!(
            auth.login("phiona", "wrong".into()).await,
            Err(AccessError::InvalidCredentials)
        );
    }
    let locked = auth.login("phiona", "wrong".into()).await.unwrap_err();
    assert_eq!(locked.code(), "account_locked");
    assert!(matches!(
        locked,
        AccessError::Locked {
            retry_after_secs: 900,
            ..
        }
    ));
    // Even the right password is refused while locked, without counting.
    w.clock.advance(TimeDelta::minutes(14));
    assert!(matches!(
        auth.login("phiona", "right password".into()).await,
        Err(AccessError::Locked {
            retry_after_secs: 60,
            ..
        })
    ));
    w.clock.advance(TimeDelta::minutes(1));
    assert_eq!(
        auth.login("phiona", "right password".into())
            .await
            .unwrap()
            .username
            .as_str(),
        "phiona"
    );
    let actions = w.store.audit_actions();
    assert_eq!(actions.iter().filter(|a| *a == "auth.login_failed").count(), 5);
    assert_eq!(actions.iter().filter(|a| *a == "auth.locked").count(), 1);
    assert_eq!(actions.last().map(String::as_str), Some("auth.login"));
}

#[tokio::test]
async fn unknown_users_and_deactivated_accounts_look_like_wrong_passwords() {
    let w = world();
    let staff = w.add("grace", Role::Waiter, "secret pass", None);
    let auth = AuthService::new(w.ports.clone());
    assert_eq!(
        auth.login("nobody", "x".into()).await,
        Err(AccessError::InvalidCredentials)
    );
    w.store.edit_staff(staff.id, |s| s.active = false);
    assert_eq!(
        auth.login("grace", "secret pass".into()).await,
        Err(AccessError::InvalidCredentials)
    );
    assert_eq!(
        auth.login("grace", String::new()).await.map_err(|e| e.code()),
        Err("validation_failed")
    );
}

#[tokio::test]
async fn staff_administration_checks_the_matrix_and_the_last_admin_rule() {
    let w = world();
    let admin = w.add("root", Role::Admin, "admin pass", None);
    let cashier = w.add("cash", Role::Cashier, "cash pass", None);
    let staff = StaffService::new(w.ports.clone());
    assert_eq!(
        staff.list(World::requester(&cashier)).await.map_err(|e| e.code()),
        Err("not_permitted")
    );
    let demote = StaffChanges {
        role: Some(Role::Manager),
        ..StaffChanges::default()
    };
    let refused = staff
        .update(World::requester(&admin), admin.id, demote.clone())
        .await
        .unwrap_err();
    assert_eq!(refused, AccessError::Rule(StaffRuleError::LastActiveAdmin));
    assert_eq!(refused.code(), "last_active_admin");
    // With a second admin the demotion goes through and ends the member's sessions.
    let other = w.add("root2", Role::Admin, "admin pass", None);
    let demoted = staff
        .update(World::requester(&other), admin.id, demote)
        .await
        .unwrap();
    assert_eq!((demoted.role, demoted.token_version), (Role::Manager, 1));
    let rows = w.store.audit_rows();
    let last = rows.last().unwrap();
    assert_eq!(last.entry.action, "staff.role_changed");
    assert_eq!(last.entry.actor_id, Some(other.id));
    // A taken username is named as such.
    let taken = staff
        .create(
            World::requester(&other),
            CreateStaff {
                username: Username::parse("cash").unwrap(),
                full_name: PersonName::parse("Cash Two").unwrap(),
                role: Role::Cashier,
                password: crate::validate::NewPassword::parse("password", "long enough pass").unwrap(),
                pin: None,
                must_change_password: true,
            },
        )
        .await;
    assert_eq!(taken.map(|_| ()), Err(AccessError::UsernameTaken));
}

#[tokio::test]
async fn an_approval_reauthenticates_the_approver_and_logs_both_people() {
    let w = world();
    let cashier = w.add("cash", Role::Cashier, "cash pass", None);
    let manager = w.add("boss", Role::Manager, "boss pass", Some("4821"));
    let approvals = ApprovalService::new(w.ports.clone());
    let password = |pw: &str| ApproverCredentials::parse(Some("boss".into()), Some(pw.into()), None).unwrap();
    let approval = approvals
        .approve(World::requester(&cashier), password("boss pass"))
        .await
        .unwrap();
    assert_eq!(approval.approver, Actor::new(manager.id, Role::Manager));
    assert_eq!(approval.requested_by.id, cashier.id);
    assert_eq!(approval.method, ApprovalMethod::Password);
    let row = w.store.audit_rows().pop().unwrap();
    assert_eq!(row.entry.action, "auth.approval");
    assert_eq!(row.entry.actor_id, Some(manager.id));
    assert_eq!(
        row.entry.after.unwrap()["requested_by"],
        serde_json::json!(cashier.id)
    );

    assert_eq!(
        approvals
            .approve(World::requester(&cashier), password("nope"))
            .await,
        Err(AccessError::InvalidApproval)
    );
    let failed = w
        .store
        .list_audit(&AuditQuery {
            action_prefix: Some("auth.approval_failed".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].entry.actor_id, Some(cashier.id));
    assert_eq!(failed[0].entry.entity_id.as_deref(), Some("user:boss"));
    // A PIN approval needs a terminal session.
    let pin = ApproverCredentials::parse(None, None, Some("4821".into())).unwrap();
    assert_eq!(
        approvals
            .approve(World::requester(&cashier), pin)
            .await
            .map_err(|e| e.code()),
        Err("validation_failed")
    );
    assert_eq!(
        ApproverCredentials::parse(Some("boss".into()), None, None)
            .err()
            .map(|e| e.field),
        Some("approval.password".to_owned())
    );
}

#[tokio::test]
async fn a_password_change_ends_other_sessions_and_a_wrong_current_one_counts() {
    let w = world();
    let staff = w.add("phiona", Role::Cashier, "old password", None);
    let auth = AuthService::new(w.ports.clone());
    let me = World::requester(&staff);
    assert_eq!(
        auth.change_password(me, &staff, "wrong".into(), "a new password")
            .await,
        Err(AccessError::InvalidCredentials)
    );
    assert_eq!(w.store.failures(), 1);
    assert_eq!(
        auth.change_password(me, &staff, "old password".into(), "old password")
            .await
            .map_err(|e| e.code()),
        Err("validation_failed")
    );
    let changed = auth
        .change_password(me, &staff, "old password".into(), "a new password")
        .await
        .unwrap();
    assert_eq!(changed.token_version, staff.token_version + 1);
    assert!(auth.login("phiona", "a new password".into()).await.is_ok());
    let out = auth.logout_all(me, &changed).await.unwrap();
    assert_eq!(out.token_version, staff.token_version + 2);
}

#[tokio::test]
async fn the_audit_service_pages_and_finds_a_tampered_row() {
    let w = world();
    let manager = w.add("boss", Role::Manager, "boss pass", None);
    let waiter = w.add("wait", Role::Waiter, "wait pass", None);
    let audit = AuditService::new(w.ports.clone());
    for n in 0..3 {
        w.store
            .append_audit(crate::audit::NewAuditEntry::new(&format!("test.{n}"), "test"))
            .await
            .unwrap();
    }
    assert_eq!(
        audit
            .list(
                World::requester(&waiter),
                AuditQuery {
                    limit: 10,
                    ..AuditQuery::default()
                }
            )
            .await
            .map_err(|e| e.code()),
        Err("not_permitted")
    );
    let (rows, next) = audit
        .list(
            World::requester(&manager),
            AuditQuery {
                limit: 2,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((rows.len(), next), (2, Some(2)));
    assert!(
        audit
            .list(
                World::requester(&manager),
                AuditQuery {
                    limit: 0,
                    ..AuditQuery::default()
                }
            )
            .await
            .is_err()
    );
    assert!(audit.verify(World::requester(&manager)).await.unwrap().valid);
    w.store
        .tamper_audit(1, |row| row.entry.action = "test.forged".into());
    let verdict = audit.verify(World::requester(&manager)).await.unwrap();
    assert_eq!((verdict.valid, verdict.rows_checked), (false, 1));
    assert_eq!(verdict.broken, Some(crate::audit::ChainBreak::Altered { id: 2 }));
}
