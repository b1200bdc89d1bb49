//! Customer receipts (spec §10): an order's receipt is numbered without gaps when the order
//! closes (see [`crate::order::unit_of_work::receipts_to_issue`]), and rendered from the
//! order, its payments and the venue's settings. A receipt asked for again is a copy.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::error::StoreError;
use crate::ids::{OrderId, PaymentId, PrintJobId};
use crate::money::Money;
use crate::order::{Order, OrderError};
use crate::payment::{Payment, PaymentError, PaymentMethod};
use crate::print_job::{NewPrintJob, PrintJobKind};
use crate::printing::{
    CashTender, FiscalData, Paper, ReceiptData, ReceiptLine, TaxLine, render_receipt_escpos,
    render_receipt_text,
};
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
    pub id: PaymentId,
    pub method: PaymentMethod,
    pub amount: Money,
    pub tendered: Option<Money>,
    pub change: Option<Money>,
    /// Printed apart from the sale.
    pub tip: Money,
}

impl From<&Payment> for ReceiptPayment {
    fn from(p: &Payment) -> Self {
        Self {
            id: p.id,
            method: p.method,
            amount: p.amount,
            tendered: p.tendered,
            change: p.change,
            tip: p.tip,
        }
    }
}

/// The printer receipts are queued for at close (what the till's print agent polls).
pub const RECEIPT_PRINTER: &str = "receipt";
/// The paper receipts are rendered for at close; other widths come from
/// `GET /api/orders/{id}/receipt?paper=58mm`.
pub const RECEIPT_PAPER: Paper = Paper::Mm80;

/// What a receipt shows besides the order, read in the closing unit's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFacts {
    pub settings: Settings,
    /// The name of who opened the order.
    pub staff_name: String,
    pub table: Option<String>,
    /// The order's received payments stored before the unit, in the order they were taken.
    pub payments: Vec<ReceiptPayment>,
}

/// The receipt print job of `order` (pure): numbered `record`, listing the payments stored
/// before (`facts`) with the unit's own (`taken`, which replace stored ones of the same
/// id), and marked as a copy when printed again.
pub fn receipt_print_job(
    order: &Order,
    facts: &ReceiptFacts,
    taken: &[Payment],
    record: &ReceiptRecord,
    copy: bool,
) -> Result<NewPrintJob, OrderError> {
    let mut payments: Vec<ReceiptPayment> = facts
        .payments
        .iter()
        .filter(|p| !taken.iter().any(|t| t.id == p.id))
        .copied()
        .collect();
    payments.extend(
        taken
            .iter()
            .filter(|p| p.order_id == order.id && p.status.received())
            .map(ReceiptPayment::from),
    );
    let context = ReceiptContext {
        staff_name: facts.staff_name.clone(),
        table: facts.table.clone(),
        printed_at: record.issued_at,
        copy,
    };
    let data = receipt_data(order, &facts.settings, Some(record), &payments, context)?;
    Ok(NewPrintJob {
        id: PrintJobId::new(),
        kind: PrintJobKind::Receipt,
        printer: RECEIPT_PRINTER.to_owned(),
        order_id: Some(order.id),
        shift_id: None,
        paper: RECEIPT_PAPER,
        payload_text: render_receipt_text(&data, RECEIPT_PAPER),
        payload_escpos: render_receipt_escpos(&data, RECEIPT_PAPER),
    })
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
    let tip = Money::sum(order.currency, payments.iter().map(|p| p.tip)).map_err(PaymentError::from)?;
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
        tip: (!tip.is_zero()).then_some(tip),
        fiscal: record.and_then(|r| r.fiscal.clone()),
    })
}
