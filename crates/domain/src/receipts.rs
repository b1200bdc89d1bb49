//! Customer receipts (spec §10): an order's receipt is numbered without gaps when the order
//! closes (see [`crate::order::unit_of_work::receipts_to_issue`]), and rendered from the
//! order, its payments and the venue's settings. A receipt asked for again is a copy.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::error::StoreError;
use crate::ids::OrderId;
use crate::money::Money;
use crate::order::{Order, OrderError};
use crate::payment::PaymentMethod;
use crate::printing::{CashTender, FiscalData, ReceiptData, ReceiptLine, TaxLine};
use crate::settings::Settings;

/// What the store keeps of a numbered receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRecord {
    pub number: i64,
    pub issued_at: DateTime<Utc>,
    pub fiscal: Option<FiscalData>,
}

/// A payment as a receipt shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptPayment {
    pub method: PaymentMethod,
    pub amount: Money,
    pub tendered: Option<Money>,
    pub change: Option<Money>,
}

/// Reads receipts and the payments they list.
#[async_trait]
pub trait ReceiptStore: Send + Sync {
    /// The order's receipt (`None` until the order closed) and its received payments, in
    /// the order they were taken.
    async fn receipt_of(
        &self,
        order: OrderId,
    ) -> Result<(Option<ReceiptRecord>, Vec<ReceiptPayment>), StoreError>;
}

/// The method as printed.
pub fn method_label(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Cash => "Cash",
        PaymentMethod::Card => "Card",
        PaymentMethod::MtnMomo => "MTN MoMo",
        PaymentMethod::AirtelMoney => "Airtel Money",
        PaymentMethod::Pesapal => "Pesapal",
    }
}

/// Who and where, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptContext {
    pub staff_name: String,
    pub table: Option<String>,
    pub printed_at: DateTime<Utc>,
    /// A receipt printed again is marked as a copy.
    pub copy: bool,
}

/// The receipt of `order` (pure): every amount from the order's totals, the payments as
/// taken, the footer and cafe name from settings.
pub fn receipt_data(
    order: &Order,
    settings: &Settings,
    record: Option<&ReceiptRecord>,
    payments: &[ReceiptPayment],
    context: ReceiptContext,
) -> Result<ReceiptData, OrderError> {
    let totals = order.totals()?;
    let lines = order
        .items
        .iter()
        .filter_map(|item| {
            let line = totals.lines.iter().find(|l| l.item_id == item.id)?;
            Some(ReceiptLine {
                quantity: item.quantity.get(),
                name: item.name.as_str().to_owned(),
                modifiers: item
                    .modifiers
                    .iter()
                    .map(|m| (m.name.as_str().to_owned(), m.price))
                    .collect(),
                line_total: line.gross,
            })
        })
        .collect();
    // The last cash payment that gave change (a receipt shows one tendered/change pair).
    let cash = payments
        .iter()
        .rev()
        .filter(|p| p.method.is_cash())
        .filter_map(|p| Some((p.tendered?, p.change?)))
        .find(|(_, change)| !change.is_zero())
        .map(|(tendered, change)| CashTender { tendered, change });
    let local = context.printed_at + TimeDelta::minutes(i64::from(settings.utc_offset_minutes));
    Ok(ReceiptData {
        cafe_name: settings.cafe_name.clone(),
        header_lines: Vec::new(),
        order_number: order.number,
        table: context.table,
        staff_name: context.staff_name,
        printed_at: local.naive_utc(),
        lines,
        subtotal: totals.subtotal,
        discount: totals.discount,
        service_charge: totals.service_charge,
        tax: (settings.vat_rate_bp > 0).then_some(TaxLine {
            rate_bp: settings.vat_rate_bp,
            amount: totals.tax,
            inclusive: settings.prices_include_tax,
        }),
        total: totals.total,
        payments: payments
            .iter()
            .map(|p| (method_label(p.method).to_owned(), p.amount))
            .collect(),
        cash,
        balance: totals.balance,
        footer: settings.receipt_footer.clone(),
        copy: context.copy,
        open_cash_drawer: false,
        receipt_number: record.map(|r| r.number),
        tip: None,
        fiscal: record.and_then(|r| r.fiscal.clone()),
    })
}
