//! Payments, refunds and closing on the in-memory fake of the order ports: the shift read
//! in the unit, tips apart from the balance, refunds within what was paid, the receipt
//! printed at close, and an order paid early closing when its last item is ready.

use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::approval::Actor;
use crate::order::{
    CreateOrderCmd, Edit, ItemRequest, OrderService, OrderServiceConfig, OrderStatus, OrderType,
};
use crate::permissions::Role;
use crate::print_job::PrintJobKind;
use crate::staff::Station;
use crate::testing::{InMemoryStore, ManualClock, RecordingBus};
use crate::validate::Quantity;

struct Till {
    store: Arc<InMemoryStore>,
    orders: OrderService<InMemoryStore, ManualClock>,
    payments: PaymentService,
    cashier: Caller,
    manager: Actor,
    kitchen: Caller,
    rolex: crate::venue::Product,
}

fn till() -> Till {
    let clock = ManualClock::at(Utc.with_ymd_and_hms(2024, 3, 15, 7, 0, 0).single().unwrap());
    let store = Arc::new(InMemoryStore::new(Arc::new(clock.clone())));
    let bus: Arc<dyn EventBus> = Arc::new(RecordingBus::default());
    let cashier = Caller::new(store.add_staff(Role::Cashier, "carl"), None);
    let manager = store.add_staff(Role::Manager, "mary");
    let kitchen = Caller::new(store.add_staff(Role::Kitchen, "kit"), None);
    let food = store.add_category("Food", Some(Station::Kitchen));
    let rolex = store.add_product(food.id, "Rolex", 8_000, Some(Station::Kitchen));
    let orders = OrderService::new(
        Arc::clone(&store),
        Arc::clone(&bus),
        clock.clone(),
        OrderServiceConfig::default(),
    );
    let payments = PaymentService::new(store.clone(), bus, Arc::new(clock));
    Till {
        store,
        orders,
        payments,
        cashier,
        manager,
        kitchen,
        rolex,
    }
}

impl Till {
    /// A takeaway of one rolex (8 000), sent to the kitchen.
    async fn sent_order(&self) -> Order {
        let cmd = CreateOrderCmd {
            order_type: OrderType::Takeaway,
            table_id: None,
            shift_id: None,
            preparation_notes: None,
            items: vec![ItemRequest::new(
                self.rolex.id,
                Quantity::parse("quantity", 1).unwrap(),
            )],
        };
        let order = self
            .orders
            .create_order(self.cashier, cmd, None)
            .await
            .unwrap()
            .applied()
            .unwrap()
            .order;
        self.orders
            .send(self.cashier, Edit::new(order.id, None), None)
            .await
            .unwrap()
            .applied()
            .unwrap()
            .order
    }

    async fn pay(&self, order: &Order, amount: i64, tip: Option<i64>) -> Result<Outcome, OrderServiceError> {
        let cmd = PayCmd {
            order: order.id,
            method: PaymentMethod::Cash,
            share: Share::Amount(amount),
            tendered: None,
            reference: None,
            tip,
        };
        self.payments.pay(self.cashier, cmd, None).await
    }
}

fn code(result: Result<Outcome, OrderServiceError>) -> &'static str {
    match result {
        Err(e) => e.code(),
        Ok(_) => "ok",
    }
}

#[tokio::test]
async fn a_payment_needs_the_open_shift_read_in_its_unit() {
    let t = till();
    let order = t.sent_order().await;
    assert_eq!(code(t.pay(&order, 1_000, None).await), "no_open_shift");
    assert!(t.store.payments().is_empty());
    let shift = t.store.open_shift_for(t.cashier.actor.id);
    let paid = t.pay(&order, 1_000, None).await.unwrap().applied().unwrap();
    let OrderChange::PaymentTaken(payment) = paid.change else {
        panic!("not a payment");
    };
    assert_eq!(payment.shift_id, Some(shift));
    assert_eq!(paid.order.shift_id, Some(shift));
}

#[tokio::test]
async fn a_tip_never_settles_the_order_and_an_early_payment_closes_when_the_item_is_ready() {
    let t = till();
    t.store.open_shift_for(t.cashier.actor.id);
    let order = t.sent_order().await;
    let total = order.totals().unwrap().total.minor();
    assert_eq!(code(t.pay(&order, 100, Some(-1)).await), "negative_tip");
    let paid = t
        .pay(&order, total, Some(2_000))
        .await
        .unwrap()
        .applied()
        .unwrap();
    // Fully paid, the rolex still at the kitchen: not closed, no receipt yet.
    assert_eq!(paid.order.paid.minor(), total);
    assert_eq!(paid.order.status, OrderStatus::Sent);
    assert_eq!(t.store.receipt_number(order.id), None);
    assert_eq!(t.store.payments()[0].tip.minor(), 2_000);
    let item = order.items[0].id;
    t.orders.bump_item(t.kitchen, item, None).await.unwrap();
    assert_eq!(t.store.order(order.id).unwrap().status, OrderStatus::Sent);
    let ready = t
        .orders
        .bump_item(t.kitchen, item, None)
        .await
        .unwrap()
        .applied()
        .unwrap();
    assert_eq!(ready.order.status, OrderStatus::Closed);
    assert_eq!(t.store.receipt_number(order.id), Some(1));
    assert!(ready.events.iter().any(|e| e.event_type == "order.closed"));
    let receipts: Vec<_> = t
        .store
        .print_jobs()
        .into_iter()
        .filter(|j| j.kind == PrintJobKind::Receipt)
        .collect();
    assert_eq!(receipts.len(), 1);
    assert!(
        receipts[0].payload_text.contains("Receipt"),
        "{}",
        receipts[0].payload_text
    );
    assert!(
        receipts[0].payload_text.contains("Tip"),
        "{}",
        receipts[0].payload_text
    );
}

#[tokio::test]
async fn refunds_stay_within_what_was_paid_and_need_a_manager() {
    let t = till();
    t.store.open_shift_for(t.cashier.actor.id);
    let order = t.sent_order().await;
    let paid = t.pay(&order, 5_000, None).await.unwrap().applied().unwrap();
    let OrderChange::PaymentTaken(payment) = paid.change else {
        panic!("not a payment");
    };
    let refund = |amount, approval| RefundCmd {
        payment: payment.id,
        amount,
        reason: crate::validate::Note::parse("cold").unwrap(),
        approval,
    };
    let without = t
        .payments
        .refund(t.cashier, refund(1_000, None), None, None)
        .await;
    assert_eq!(code(without), "approval_required");
    let above = t
        .payments
        .refund(t.cashier, refund(5_001, Some(t.manager)), None, None)
        .await;
    assert_eq!(code(above), "refund_exceeds_remaining");
    assert!(t.store.refunds().is_empty());
    let done = t
        .payments
        .refund(t.cashier, refund(2_000, Some(t.manager)), None, None)
        .await
        .unwrap()
        .applied()
        .unwrap();
    assert_eq!(done.order.paid.minor(), 3_000);
    let refunds = t.store.refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (refunds[0].staff_id, refunds[0].approved_by),
        (t.cashier.actor.id, t.manager.id)
    );
    assert_eq!(t.store.payments()[0].refunded.minor(), 2_000);
    assert_eq!(
        code(
            t.payments
                .refund(t.cashier, refund(3_001, Some(t.manager)), None, None)
                .await
        ),
        "refund_exceeds_remaining"
    );
}

/// A provider that records the refunds it is asked for.
#[derive(Default)]
struct Provider {
    asked: std::sync::Mutex<Vec<crate::ports::GatewayRefund>>,
}

#[async_trait::async_trait]
impl PaymentGateway for Provider {
    async fn submit_order(
        &self,
        _order: crate::ports::GatewayOrder,
    ) -> Result<crate::ports::GatewayRedirect, crate::error::GatewayError> {
        Err(crate::error::GatewayError::NotConfigured)
    }
    async fn transaction_status(
        &self,
        _id: &str,
    ) -> Result<crate::ports::GatewayStatus, crate::error::GatewayError> {
        Err(crate::error::GatewayError::NotConfigured)
    }
    async fn request_refund(&self, refund: GatewayRefund) -> Result<(), crate::error::GatewayError> {
        self.asked.lock().unwrap().push(refund);
        Ok(())
    }
}

#[tokio::test]
async fn online_refunds_go_through_the_provider_mobile_money_only_in_full() {
    let t = till();
    t.store.open_shift_for(t.cashier.actor.id);
    let order = t.sent_order().await;
    let total = order.totals().unwrap().total;
    let tender = PaymentRequest {
        method: PaymentMethod::Pesapal,
        amount: total,
        tendered: None,
        reference: None,
        tip: None,
    }
    .validate(total)
    .unwrap();
    let mut payment = Payment::new(tender, order.id, t.cashier.actor.id, None, Utc::now());
    payment.complete(Utc::now()).unwrap();
    t.store
        .put_payment(payment.clone(), Some("MTN Mobile Money"), Some("PSP-77"));
    let refund = |amount| RefundCmd {
        payment: payment.id,
        amount,
        reason: crate::validate::Note::parse("double charge").unwrap(),
        approval: Some(t.manager),
    };
    // Without a provider: refused, nothing written.
    assert_eq!(
        code(t.payments.refund(t.cashier, refund(1_000), None, None).await),
        "gateway_unavailable"
    );
    let provider = Provider::default();
    assert_eq!(
        code(
            t.payments
                .refund(t.cashier, refund(1_000), None, Some(&provider))
                .await
        ),
        "partial_mobile_money_refund"
    );
    assert!(provider.asked.lock().unwrap().is_empty());
    assert!(t.store.refunds().is_empty());
    let done = t
        .payments
        .refund(t.cashier, refund(total.minor()), None, Some(&provider))
        .await
        .unwrap()
        .applied()
        .unwrap();
    assert_eq!(done.order.paid.minor(), 0);
    let asked = provider.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        (asked[0].confirmation_code.as_str(), asked[0].amount),
        ("PSP-77", total)
    );
    assert_eq!(t.store.refunds().len(), 1);
    // Once only, as Pesapal allows.
    assert_eq!(
        code(
            t.payments
                .refund(t.cashier, refund(1), None, Some(&provider))
                .await
        ),
        "not_refundable"
    );
    assert_eq!(provider.asked.lock().unwrap().len(), 1);
}
