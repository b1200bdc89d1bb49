#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The hash-chained audit log against a real database: appends link into one chain even
//! when they race, the chain verifies as read back, and a row rewritten behind the store's
//! back is found.

use std::sync::Arc;

use chrono::Utc;
use diesel::{RunQueryDsl, sql_query};
use pos_domain::Role;
use pos_domain::StoreError;
use pos_domain::audit::{
    AuditEntry, AuditQuery, AuditStore, ChainBreak, GENESIS_HASH, NewAuditEntry, verify_chain,
};
use pos_domain::ids::StaffId;
use pos_domain::ports::StaffStore;
use pos_domain::staff::NewStaff;
use pos_domain::validate::{PersonName, Username};
use pos_postgres::{AUDIT_PAGE_MAX, DbError, PgStore, append_audit};
use pos_testkit::TestDb;
use serde_json::json;
use tokio::sync::Barrier;

async fn store(db: &TestDb, pool_size: usize) -> PgStore {
    PgStore::connect(db.url(), pool_size).await.unwrap()
}

async fn staff_member(store: &PgStore, username: &str) -> StaffId {
    store
        .create_staff(NewStaff {
            username: Username::parse(username).unwrap(),
            full_name: PersonName::parse("Audit Person").unwrap(),
            role: Role::Manager,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
            pin_hash: None,
            must_change_password: false,
        })
        .await
        .unwrap()
        .id
}

/// Every row, oldest first, read in pages the way a verifier would.
async fn whole_log(store: &PgStore) -> Vec<AuditEntry> {
    let mut rows = Vec::new();
    let mut after = 0;
    loop {
        let page = store.audit_page(after, AUDIT_PAGE_MAX).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        rows.extend(page);
    }
    rows
}

#[tokio::test]
async fn appends_link_into_a_chain_that_verifies_as_read_back() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let actor = staff_member(&store, "amos").await;

    let first = store
        .append_audit(
            NewAuditEntry::new("auth.login", "staff")
                .actor(Some(actor))
                .entity_id(actor),
        )
        .await
        .unwrap();
    assert_eq!(first.prev_hash, GENESIS_HASH);
    // jsonb rewrites -0.0 as 0.0 and expands 1e300: the hash must cover what is stored.
    let second = store
        .append_audit(
            NewAuditEntry::new("staff.role_changed", "staff")
                .actor(Some(actor))
                .approver(Some(actor))
                .entity_id("x")
                .before(json!({"role": "cashier", "zero": -0.0}))
                .after(json!({"role": "manager", "big": 1e300, "name": "Zoë 😀"})),
        )
        .await
        .unwrap();
    assert_eq!(second.prev_hash, first.hash);
    assert!(second.id > first.id);
    assert_eq!(
        second.created_at.timestamp_subsec_nanos() % 1000,
        0,
        "microseconds, as stored"
    );

    let log = whole_log(&store).await;
    assert_eq!(
        log,
        vec![first, second.clone()],
        "what the append returned is what is stored"
    );
    assert_eq!(verify_chain(GENESIS_HASH, &log), Ok(second.hash));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_appends_from_several_tasks_form_one_chain() {
    let db = TestDb::new();
    // Two stores: two instances appending to one database.
    let stores = [store(&db, 4).await, store(&db, 4).await];
    let barrier = Arc::new(Barrier::new(5));
    let tasks: Vec<_> = (0..5)
        .map(|task| {
            let store = stores[task % 2].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                for n in 0..4 {
                    let entry = NewAuditEntry::new("test.appended", "task")
                        .entity_id(task)
                        .after(json!({"n": n}));
                    store.append_audit(entry).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }

    let log = whole_log(&stores[0]).await;
    assert_eq!(log.len(), 20);
    assert!(
        verify_chain(GENESIS_HASH, &log).is_ok(),
        "{:?}",
        verify_chain(GENESIS_HASH, &log)
    );
    for task in 0..5 {
        let ns: Vec<_> = log
            .iter()
            .filter(|row| row.entry.entity_id == Some(task.to_string()))
            .map(|row| row.entry.after.clone().unwrap()["n"].clone())
            .collect();
        assert_eq!(
            ns,
            vec![json!(0), json!(1), json!(2), json!(3)],
            "each task's rows in its order"
        );
    }
}

#[tokio::test]
async fn a_row_rewritten_or_removed_behind_the_stores_back_breaks_the_chain() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    for n in 0..5 {
        store
            .append_audit(
                NewAuditEntry::new("staff.updated", "staff").after(json!({"role": "cashier", "n": n})),
            )
            .await
            .unwrap();
    }
    let log = whole_log(&store).await;
    assert!(verify_chain(GENESIS_HASH, &log).is_ok());
    let third = log[2].id;

    // The append-only trigger refuses this from the application; a superuser can still do it.
    let mut su = db.connect();
    let tamper = |su: &mut diesel::PgConnection, sql: String| {
        sql_query("ALTER TABLE audit_log DISABLE TRIGGER ALL")
            .execute(su)
            .unwrap();
        sql_query(sql).execute(su).unwrap();
        sql_query("ALTER TABLE audit_log ENABLE TRIGGER ALL")
            .execute(su)
            .unwrap();
    };
    tamper(
        &mut su,
        format!(r#"UPDATE audit_log SET after = '{{"role": "admin", "n": 2}}' WHERE id = {third}"#),
    );
    let log = whole_log(&store).await;
    assert_eq!(
        verify_chain(GENESIS_HASH, &log),
        Err(ChainBreak::Altered { id: third })
    );

    // Moving the timestamp is found too.
    tamper(
        &mut su,
        format!(
            r#"UPDATE audit_log SET after = '{{"role": "cashier", "n": 2}}', created_at = created_at - interval '1 hour' WHERE id = {third}"#
        ),
    );
    let log = whole_log(&store).await;
    assert_eq!(
        verify_chain(GENESIS_HASH, &log),
        Err(ChainBreak::Altered { id: third })
    );

    tamper(&mut su, format!("DELETE FROM audit_log WHERE id = {third}"));
    let log = whole_log(&store).await;
    assert_eq!(
        verify_chain(GENESIS_HASH, &log),
        Err(ChainBreak::Unlinked { id: third + 1 })
    );
}

#[tokio::test]
async fn an_append_in_a_rolled_back_transaction_leaves_no_trace_in_the_chain() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let kept = store
        .append_audit(NewAuditEntry::new("kept.one", "test"))
        .await
        .unwrap();
    let rolled_back = store
        .transaction(|conn| {
            append_audit(conn, NewAuditEntry::new("rolled.back", "test"), Utc::now())?;
            Err::<(), _>(DbError::Store(StoreError::not_found("thing")))
        })
        .await;
    assert_eq!(rolled_back, Err(StoreError::not_found("thing")));
    let next = store
        .append_audit(NewAuditEntry::new("kept.two", "test"))
        .await
        .unwrap();
    assert_eq!(next.prev_hash, kept.hash, "links to the last committed row");
    let log = whole_log(&store).await;
    assert_eq!(log.len(), 2);
    assert!(verify_chain(GENESIS_HASH, &log).is_ok());
}

#[tokio::test]
async fn an_entry_the_database_refuses_is_an_error_and_appends_nothing() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    assert_eq!(
        store
            .append_audit(NewAuditEntry::new("x.y", "staff").actor(Some(StaffId::new())))
            .await
            .unwrap_err(),
        StoreError::ForeignKeyViolation {
            constraint: "audit_log_actor_id_fkey".to_owned()
        }
    );
    assert_eq!(
        store
            .append_audit(NewAuditEntry::new("", "staff"))
            .await
            .unwrap_err(),
        StoreError::CheckViolation {
            constraint: "audit_log_action_check".to_owned()
        }
    );
    assert!(whole_log(&store).await.is_empty());
}

#[tokio::test]
async fn the_log_is_listed_newest_first_filtered_and_in_capped_pages() {
    let db = TestDb::new();
    let store = store(&db, 4).await;
    let amos = staff_member(&store, "amos").await;
    let beth = staff_member(&store, "beth").await;
    let entries = vec![
        NewAuditEntry::new("auth.login", "staff")
            .actor(Some(amos))
            .entity_id(amos),
        NewAuditEntry::new("auth.locked", "login").entity_id("user:amos"),
        NewAuditEntry::new("authz.denied", "route").actor(Some(beth)),
        NewAuditEntry::new("staff.role_changed", "staff")
            .actor(Some(beth))
            .entity_id(amos),
        NewAuditEntry::new("a_b.x", "test"),
        NewAuditEntry::new("axb.y", "test"),
    ];
    for entry in entries {
        store.append_audit(entry).await.unwrap();
    }
    let actions = |rows: Vec<AuditEntry>| rows.into_iter().map(|r| r.entry.action).collect::<Vec<_>>();
    let list = |query: AuditQuery| {
        let store = store.clone();
        async move { actions(store.list_audit(&query).await.unwrap()) }
    };

    assert_eq!(
        list(AuditQuery::default()).await,
        [
            "axb.y",
            "a_b.x",
            "staff.role_changed",
            "authz.denied",
            "auth.locked",
            "auth.login"
        ]
    );
    assert_eq!(
        list(AuditQuery {
            action_prefix: Some("auth.".into()),
            ..AuditQuery::default()
        })
        .await,
        ["auth.locked", "auth.login"]
    );
    assert_eq!(
        list(AuditQuery {
            action_prefix: Some("a_b".into()),
            ..AuditQuery::default()
        })
        .await,
        ["a_b.x"],
        "LIKE wildcards in the prefix match literally"
    );
    assert_eq!(
        list(AuditQuery {
            actor_id: Some(beth),
            ..AuditQuery::default()
        })
        .await,
        ["staff.role_changed", "authz.denied"]
    );
    assert_eq!(
        list(AuditQuery {
            entity: Some("staff".into()),
            entity_id: Some(amos.to_string()),
            ..AuditQuery::default()
        })
        .await,
        ["staff.role_changed", "auth.login"]
    );
    let newest_two = store
        .list_audit(&AuditQuery {
            limit: 2,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(actions(newest_two.clone()), ["axb.y", "a_b.x"]);
    assert_eq!(
        list(AuditQuery {
            before_id: Some(newest_two[1].id),
            limit: 2,
            ..AuditQuery::default()
        })
        .await,
        ["staff.role_changed", "authz.denied"]
    );

    // Pages are capped; verification continues from one page to the next.
    let actor = Some(amos);
    store
        .transaction(move |conn| {
            for n in 0..AUDIT_PAGE_MAX {
                append_audit(
                    conn,
                    NewAuditEntry::new("bulk.row", "test").actor(actor).entity_id(n),
                    Utc::now(),
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let total = 6 + AUDIT_PAGE_MAX as usize;
    for limit in [0, 10_000] {
        let rows = store
            .list_audit(&AuditQuery {
                limit,
                ..AuditQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), AUDIT_PAGE_MAX as usize);
    }
    let first_page = store.audit_page(0, 10_000).await.unwrap();
    assert_eq!(first_page.len(), AUDIT_PAGE_MAX as usize);
    let tail = verify_chain(GENESIS_HASH, &first_page).unwrap();
    let second_page = store
        .audit_page(first_page.last().unwrap().id, 10_000)
        .await
        .unwrap();
    assert_eq!(first_page.len() + second_page.len(), total);
    assert!(verify_chain(&tail, &second_page).is_ok());
    assert!(
        store
            .audit_page(second_page.last().unwrap().id, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
