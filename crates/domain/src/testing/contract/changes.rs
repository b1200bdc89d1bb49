//! The contract's checks of numbering, saving, versions and idempotency claims.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "contract checks are test code: a broken expectation must panic"
)]

#[allow(clippy::wildcard_imports)]
use super::*;

/// Numbers of one business date are distinct and increasing; a refused create writes no
/// order (it may leave its number unused: numbers are not gap-free, fiscal documents are).
pub async fn numbers_increase_and_refusals_write_no_order<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let first = create(store, f, &[]).await;
    assert!(first.number >= 1);
    assert_eq!((first.business_date, first.version), (f.business_date, 1));
    let refusal = refused(
        store
            .create_order(f.business_date, None, Box::new(|_| Err(OrderError::EmptyOrder)))
            .await,
    );
    assert_eq!((refusal.error, refusal.current), (OrderError::EmptyOrder, None));
    let second = create(store, f, &[]).await;
    assert!(second.number > first.number, "numbers increase");
    let listed = store
        .list_orders(&OrderFilter {
            business_date: Some(f.business_date),
            limit: 1_000,
            ..OrderFilter::default()
        })
        .await
        .unwrap();
    assert!(listed.iter().any(|o| o.id == second.id));
    assert!(
        !listed
            .iter()
            .any(|o| o.number > first.number && o.number < second.number),
        "the refused create wrote no order"
    );
}

/// What a unit saves is what a read returns; removed pending items are gone; the version goes
/// up by one per unit.
pub async fn aggregates_round_trip_and_removed_items_go<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let created = create(store, f, &[(f.stocked, 1), (f.untracked, 2)]).await;
    assert_eq!(store.get_order(created.id).await.unwrap(), created);
    let remove = created.items[1].id;
    let at = now();
    let saved = committed(
        store
            .mutate_order(
                OrderTarget::Order(created.id),
                Some(1),
                None,
                Box::new(move |order| {
                    assert_eq!(order.version, 2, "the work sees the version it is saved with");
                    order.remove_item(remove, at)?;
                    Ok(output(OrderChange::ItemRemoved(remove)))
                }),
            )
            .await,
    );
    assert_eq!(saved.order.version, 2);
    assert_eq!(saved.order.items.len(), 1);
    assert_eq!(saved.change, OrderChange::ItemRemoved(remove));
    let read = store.get_order(created.id).await.unwrap();
    assert_eq!(read, saved.order);
    let filter = OrderFilter {
        statuses: vec![OrderStatus::Open],
        table_id: Some(f.table),
        limit: 500,
        ..OrderFilter::default()
    };
    let listed = store.list_orders(&filter).await.unwrap();
    assert!(listed.iter().all(|o| filter.matches(o)));
    assert_eq!(listed.iter().find(|o| o.id == created.id), Some(&read));
    let newest_first = listed
        .windows(2)
        .all(|w| (w[0].created_at, w[0].id) >= (w[1].created_at, w[1].id));
    assert!(newest_first, "lists are newest first");
    let closed_only = OrderFilter {
        statuses: vec![OrderStatus::Closed],
        table_id: Some(f.table),
        limit: 500,
        ..OrderFilter::default()
    };
    assert!(
        !store
            .list_orders(&closed_only)
            .await
            .unwrap()
            .iter()
            .any(|o| o.id == created.id)
    );
    assert_eq!(
        store.get_order(OrderId::new()).await,
        Err(StoreError::not_found("order"))
    );
}

/// A stale expected version is refused with the order as it is; nothing changes.
pub async fn stale_versions_are_refused_with_the_current_order<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let order = create(store, f, &[(f.untracked, 1)]).await;
    let refusal = refused(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                Some(7),
                None,
                Box::new(|_| panic!("the work of a stale edit must not run")),
            )
            .await,
    );
    assert_eq!(
        refusal.error,
        OrderError::StaleVersion {
            expected: 7,
            current: 1
        }
    );
    assert_eq!(refusal.current.as_ref(), Some(&order));
    assert_eq!(refusal.response, None);
    let at = now();
    let refusal = refused(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                Some(1),
                None,
                Box::new(move |order| {
                    order.set_preparation_notes(None, at)?;
                    Err(OrderError::NothingToSend)
                }),
            )
            .await,
    );
    assert_eq!(refusal.error, OrderError::NothingToSend);
    assert_eq!(
        refusal.current.as_ref(),
        Some(&order),
        "a refusal shows the order as loaded"
    );
    assert_eq!(
        store.get_order(order.id).await.unwrap(),
        order,
        "a refused work changes nothing"
    );
}

/// Claims: replay of the same request, 422 for another request, per-staff scope, refusals
/// stored, and a unit that fails with a store error keeps no claim.
pub async fn idempotency_claims_replay_mismatch_and_roll_back<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let key = fresh_key();
    let work = create_work(store, f, &[]).await;
    let first = committed(
        store
            .create_order(f.business_date, Some(claim(f.staff, &key, "a")), work)
            .await,
    );
    let stored = first
        .response
        .clone()
        .expect("a claimed unit returns its stored response");
    assert_eq!(
        stored,
        render(RenderInput::Committed {
            order: &first.order,
            other: None,
            change: &first.change,
        })
    );
    let again = create_work(store, f, &[]).await;
    assert_eq!(
        store
            .create_order(f.business_date, Some(claim(f.staff, &key, "a")), again)
            .await,
        Ok(Mutation::Replayed(stored))
    );
    let other_body = create_work(store, f, &[]).await;
    assert_eq!(
        store
            .create_order(f.business_date, Some(claim(f.staff, &key, "b")), other_body)
            .await,
        Ok(Mutation::KeyMismatch)
    );
    // The replay and the mismatch wrote no order.
    let next = create(store, f, &[]).await;
    assert!(next.number > first.order.number);
    let day = OrderFilter {
        business_date: Some(f.business_date),
        limit: 1_000,
        ..OrderFilter::default()
    };
    let between = store.list_orders(&day).await.unwrap();
    assert!(
        !between
            .iter()
            .any(|o| o.number > first.order.number && o.number < next.number),
        "a replay or a mismatch writes no order"
    );
    // Keys are per staff member.
    let theirs = create_work(store, f, &[]).await;
    committed(
        store
            .create_order(f.business_date, Some(claim(f.other_staff, &key, "a")), theirs)
            .await,
    );

    // A refusal is stored and replayed.
    let refused_key = fresh_key();
    let refusal = refused(
        store
            .mutate_order(
                OrderTarget::Order(next.id),
                None,
                Some(claim(f.staff, &refused_key, "send")),
                Box::new(|_| Err(OrderError::NothingToSend)),
            )
            .await,
    );
    let stored = refusal
        .response
        .expect("a claimed refusal returns its stored response");
    assert_eq!(stored.status, 409);
    assert_eq!(
        store
            .mutate_order(
                OrderTarget::Order(next.id),
                None,
                Some(claim(f.staff, &refused_key, "send")),
                Box::new(|_| panic!("a replay must not run the work")),
            )
            .await,
        Ok(Mutation::Replayed(stored))
    );

    // A store error rolls the claim back: the same key executes afterwards.
    let lost_key = fresh_key();
    assert_eq!(
        store
            .mutate_order(
                OrderTarget::Order(OrderId::new()),
                None,
                Some(claim(f.staff, &lost_key, "x")),
                Box::new(|_| panic!("no order, no work")),
            )
            .await,
        Err(StoreError::not_found("order"))
    );
    let at = now();
    let notes = committed(
        store
            .mutate_order(
                OrderTarget::Order(next.id),
                None,
                Some(claim(f.staff, &lost_key, "x")),
                Box::new(move |order| {
                    order.set_preparation_notes(None, at)?;
                    Ok(output(OrderChange::PreparationNotesSet))
                }),
            )
            .await,
    );
    assert_eq!(notes.order.version, next.version + 1);
}
