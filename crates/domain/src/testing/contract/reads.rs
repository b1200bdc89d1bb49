//! The contract's checks of item targets, merges and the reads of the floor and the KDS.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "contract checks are test code: a broken expectation must panic"
)]

#[allow(clippy::wildcard_imports)]
use super::*;

/// Units addressed by item find its order; the KDS read finds sent orders of its station.
pub async fn item_targets_and_station_reads<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let order = create(store, f, &[(f.stocked, 1)]).await;
    let item: OrderItemId = order.items[0].id;
    let at = now();
    committed(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                None,
                None,
                Box::new(move |order| Ok(output(OrderChange::Sent(order.send(at)?)))),
            )
            .await,
    );
    let at_kitchen = store.orders_at_station(Station::Kitchen).await.unwrap();
    assert!(at_kitchen.iter().any(|o| o.id == order.id));
    assert!(at_kitchen.iter().all(|o| !o.is_finished()));
    assert!(
        !store
            .orders_at_station(Station::Bar)
            .await
            .unwrap()
            .iter()
            .any(|o| o.id == order.id)
    );
    let bumped = committed(
        store
            .mutate_order(
                OrderTarget::Item(item),
                None,
                None,
                Box::new(move |order| {
                    let status = order.bump_item(item, at)?;
                    Ok(output(OrderChange::ItemBumped { item, status }))
                }),
            )
            .await,
    );
    assert_eq!(bumped.order.id, order.id);
    assert_eq!(
        bumped.order.item(item).map(|i| i.status),
        Ok(ItemStatus::Preparing)
    );
    assert_eq!(
        store
            .mutate_order(
                OrderTarget::Item(OrderItemId::new()),
                None,
                None,
                Box::new(|_| panic!("no item, no work")),
            )
            .await,
        Err(StoreError::not_found("order_item"))
    );
}

/// A merge moves the source's items onto the target and cancels the source.
pub async fn merges_move_items_and_cancel_the_source<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let target = create(store, f, &[(f.untracked, 1)]).await;
    let source = create(store, f, &[(f.untracked, 2)]).await;
    let moved_item = source.items[0].id;
    let stale = refused(
        store
            .merge_orders(
                (target.id, Some(1)),
                (source.id, Some(3)),
                None,
                Box::new(|_, _| panic!("a stale merge must not run")),
            )
            .await,
    );
    assert_eq!(stale.current.as_ref(), Some(&source));
    let at = now();
    let merged = committed(
        store
            .merge_orders(
                (target.id, Some(1)),
                (source.id, Some(1)),
                None,
                Box::new(move |target, source| {
                    assert_eq!((target.version, source.version), (2, 2));
                    let items = target.merge_from(source, at)?;
                    Ok(output(OrderChange::Merged {
                        source: source.id,
                        items,
                    }))
                }),
            )
            .await,
    );
    let (saved_target, saved_source) = (
        store.get_order(target.id).await.unwrap(),
        store.get_order(source.id).await.unwrap(),
    );
    assert_eq!(saved_target, merged.order);
    assert_eq!(Some(&saved_source), merged.other.as_ref());
    assert_eq!(saved_target.items.len(), 2);
    assert!(saved_target.items.iter().any(|i| i.id == moved_item));
    assert_eq!(saved_source.status, OrderStatus::Cancelled);
    assert_eq!(saved_source.merged_into, Some(target.id));
    assert!(saved_source.items.is_empty());
}

/// Popularity counts live items in the window; recent products follow the staff's orders.
pub async fn popularity_and_recent_reads<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    create(store, f, &[(f.untracked, 3)]).await;
    // Item times must differ for "newest first" to mean something.
    std::thread::sleep(std::time::Duration::from_millis(2));
    create(store, f, &[(f.stocked, 1)]).await;
    let since = now() - TimeDelta::days(1);
    let popular = store.popular_products(since, 100).await.unwrap();
    let count = |id| popular.iter().find(|c| c.product_id == id).map(|c| c.quantity);
    assert!(count(f.untracked).is_some_and(|q| q >= 3));
    assert!(count(f.stocked).is_some_and(|q| q >= 1));
    assert!(
        popular.windows(2).all(|w| w[0].quantity >= w[1].quantity),
        "most first"
    );
    assert!(
        store
            .popular_products(now() + TimeDelta::days(1), 100)
            .await
            .unwrap()
            .is_empty()
    );
    let recent = store.recent_products(f.staff, 10).await.unwrap();
    assert_eq!(recent.first(), Some(&f.stocked), "newest first");
    assert!(recent.contains(&f.untracked));
    assert_eq!(
        recent.iter().filter(|p| **p == f.untracked).count(),
        1,
        "distinct"
    );
    assert_eq!(store.recent_products(f.staff, 1).await.unwrap().len(), 1);
    assert!(
        store
            .recent_products(StaffId::new(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
