//! The contract's checks of what a unit moves and appends: stock, availability, events and
//! print jobs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "contract checks are test code: a broken expectation must panic"
)]

#[allow(clippy::wildcard_imports)]
use super::*;

/// Stock: a unit that would take a tracked stock below zero is refused whole; a committed
/// unit moves tracked stock only and ends with a `menu.updated` event of the new levels.
pub async fn stock_is_all_or_nothing_and_reported<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let before = stock_of(store, f.stocked)
        .await
        .expect("the stocked fixture product tracks stock");
    assert_eq!(stock_of(store, f.untracked).await, None);
    let order = create(store, f, &[(f.stocked, 1), (f.untracked, 1)]).await;
    let at = now();
    let (stocked, untracked) = (f.stocked, f.untracked);
    let key = fresh_key();
    let refusal = refused(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                Some(order.version),
                Some(claim(f.staff, &key, "send")),
                Box::new(move |order| {
                    let sent = order.send(at)?;
                    Ok(WorkOutput {
                        change: OrderChange::Sent(sent),
                        effects: Effects {
                            stock: vec![
                                StockChange {
                                    product_id: untracked,
                                    delta: -1,
                                },
                                StockChange {
                                    product_id: stocked,
                                    delta: -(before + 1),
                                },
                            ],
                            events: vec![NewEvent::new(
                                "contract.should_not_exist",
                                "orders",
                                serde_json::json!({}),
                            )],
                            ..Effects::default()
                        },
                    })
                }),
            )
            .await,
    );
    assert_eq!(
        refusal.error,
        OrderError::OutOfStock {
            product: f.stocked,
            left: before
        }
    );
    assert_eq!(refusal.current.as_ref(), Some(&order));
    assert_eq!(refusal.response.map(|r| r.status), Some(409));
    assert_eq!(stock_of(store, f.stocked).await, Some(before));
    assert_eq!(
        store.get_order(order.id).await.unwrap(),
        order,
        "nothing of the unit was saved"
    );

    let sent = committed(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                Some(order.version),
                None,
                Box::new(move |order| {
                    let sent = order.send(at)?;
                    Ok(WorkOutput {
                        change: OrderChange::Sent(sent),
                        effects: Effects {
                            // Two movements of one product are summed.
                            stock: vec![
                                StockChange {
                                    product_id: stocked,
                                    delta: -2,
                                },
                                StockChange {
                                    product_id: untracked,
                                    delta: -1,
                                },
                                StockChange {
                                    product_id: stocked,
                                    delta: 1,
                                },
                            ],
                            events: vec![
                                NewEvent::new("order.sent", "kds", serde_json::json!({}))
                                    .for_station(Station::Kitchen),
                            ],
                            ..Effects::default()
                        },
                    })
                }),
            )
            .await,
    );
    assert_eq!(stock_of(store, f.stocked).await, Some(before - 1));
    assert_eq!(stock_of(store, f.untracked).await, None);
    let types: Vec<&str> = sent.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["order.sent", "menu.updated"]);
    assert_eq!(sent.events[0].station, Some(Station::Kitchen));
    let menu = &sent.events[1];
    assert_eq!(menu.topic, "menu");
    assert_eq!(
        menu.payload["stock"],
        serde_json::json!([{ "product_id": f.stocked, "stock_qty": before - 1, "delta": -1 }])
    );

    let restored = committed(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                None,
                None,
                Box::new(move |_| {
                    Ok(WorkOutput {
                        change: OrderChange::PreparationNotesSet,
                        effects: Effects {
                            stock: vec![StockChange {
                                product_id: stocked,
                                delta: 1,
                            }],
                            ..Effects::default()
                        },
                    })
                }),
            )
            .await,
    );
    assert_eq!(stock_of(store, f.stocked).await, Some(before));
    assert_eq!(restored.events.len(), 1);
}

/// A create's work that lists stock movements is a bug, not a refusal: the store fails the
/// unit and writes nothing (no order, no stock change, no claim kept).
pub async fn a_create_moves_no_stock<S: OrderStore + OrderCatalog + ?Sized>(store: &S, f: &ContractFixture) {
    let before = stock_of(store, f.stocked).await;
    let work = create_work(store, f, &[(f.stocked, 1)]).await;
    let stocked = f.stocked;
    let moving: CreateWork = Box::new(move |number| {
        let (order, mut output) = work(number)?;
        output.effects.stock.push(StockChange {
            product_id: stocked,
            delta: -1,
        });
        Ok((order, output))
    });
    let key = fresh_key();
    let answer = store
        .create_order(f.business_date, Some(claim(f.staff, &key, "moves")), moving)
        .await;
    assert!(matches!(answer, Err(StoreError::Internal(_))), "{answer:?}");
    assert_eq!(stock_of(store, f.stocked).await, before, "no stock moved");
    let day = OrderFilter {
        business_date: Some(f.business_date),
        limit: 1_000,
        ..OrderFilter::default()
    };
    let before_retry = store.list_orders(&day).await.unwrap().len();
    // The claim rolled back with it: the same key runs afresh.
    let retry = create_work(store, f, &[(f.stocked, 1)]).await;
    committed(
        store
            .create_order(f.business_date, Some(claim(f.staff, &key, "moves")), retry)
            .await,
    );
    assert_eq!(store.list_orders(&day).await.unwrap().len(), before_retry + 1);
    assert_eq!(
        stock_of(store, f.stocked).await,
        before,
        "a create moves no stock"
    );
}

/// The catalogue reads a product's availability as stored, and the domain's rule refuses an
/// unavailable product for every create built from what the catalogue read.
pub async fn availability_is_read_as_stored_and_refused_by_the_domain<
    S: OrderStore + OrderCatalog + ?Sized,
>(
    store: &S,
    f: &ContractFixture,
) {
    let mut product = products(store, f.untracked).await;
    assert!(
        product.available && product.active,
        "the fixture product is orderable"
    );
    let quantity = Quantity::parse("quantity", 1).unwrap();
    assert!(
        NewOrderItem::from_product(&product, quantity, ItemChoice::default(), &f.settings, now()).is_ok()
    );
    product.available = false;
    assert_eq!(
        NewOrderItem::from_product(&product, quantity, ItemChoice::default(), &f.settings, now()),
        Err(OrderError::ProductUnavailable(product.id))
    );
}

/// Events come back with increasing ids in the order listed; print jobs are queued; a
/// receipt marks the bill as requested.
pub async fn events_and_print_jobs_are_appended_in_order<S: OrderStore + OrderCatalog + ?Sized>(
    store: &S,
    f: &ContractFixture,
) {
    let order = create(store, f, &[]).await;
    assert!(store.bills_requested(&[order.id]).await.unwrap().is_empty());
    assert!(store.bills_requested(&[]).await.unwrap().is_empty());
    let job = |kind| NewPrintJob {
        id: PrintJobId::new(),
        kind,
        printer: "contract".into(),
        order_id: Some(order.id),
        shift_id: None,
        paper: Paper::Mm58,
        payload_text: "TICKET\n".into(),
        payload_escpos: vec![0x1b, 0x40],
    };
    let (ticket, receipt) = (job(PrintJobKind::KitchenTicket), job(PrintJobKind::Receipt));
    let ids = vec![ticket.id, receipt.id];
    let unit = committed(
        store
            .mutate_order(
                OrderTarget::Order(order.id),
                None,
                None,
                Box::new(move |_| {
                    Ok(WorkOutput {
                        change: OrderChange::PreparationNotesSet,
                        effects: Effects {
                            print_jobs: vec![ticket, receipt],
                            events: vec![
                                NewEvent::new("contract.first", "orders", serde_json::json!({"n": 1})),
                                NewEvent::new("contract.second", "tables", serde_json::json!({"n": 2})),
                            ],
                            ..Effects::default()
                        },
                    })
                }),
            )
            .await,
    );
    assert_eq!(unit.print_jobs, ids);
    let types: Vec<&str> = unit.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["contract.first", "contract.second"]);
    assert!(unit.events[0].id < unit.events[1].id);
    assert_eq!(unit.events[1].payload, serde_json::json!({"n": 2}));
    assert_eq!(
        store.bills_requested(&[order.id, OrderId::new()]).await.unwrap(),
        vec![order.id]
    );
}
