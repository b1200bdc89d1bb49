//! [`ReceiptStore`]: an order's numbered receipt and the payments it lists.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use pos_domain::StoreError;
use pos_domain::ids::{OrderId, PaymentId};
use pos_domain::money::{Currency, Money};
use pos_domain::payment::{PaymentMethod, PaymentStatus};
use pos_domain::printing::FiscalData;
use pos_domain::receipts::{ReceiptPayment, ReceiptRecord, ReceiptStore};

use super::PgStore;
use crate::schema::{payments, receipts};

type ReceiptRow = (DateTime<Utc>, i64, Option<String>, Option<String>, Option<String>);
type PaymentRow = (
    uuid::Uuid,
    String,
    String,
    i64,
    String,
    Option<i64>,
    Option<i64>,
    i64,
);

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("stored {what} is invalid: {e}"))
}

#[async_trait]
impl ReceiptStore for PgStore {
    async fn receipt_of(
        &self,
        order: OrderId,
    ) -> Result<(Option<ReceiptRecord>, Vec<ReceiptPayment>), StoreError> {
        let id = order.as_uuid();
        let (receipt, paid) = self
            .interact(move |conn| {
                let receipt: Option<ReceiptRow> = receipts::table
                    .find(id)
                    .select((
                        receipts::issued_at,
                        receipts::number,
                        receipts::fiscal_document_number,
                        receipts::fiscal_verification_code,
                        receipts::fiscal_qr_payload,
                    ))
                    .first(conn)
                    .optional()?;
                let paid = receipt_payments(conn, id)?;
                Ok((receipt, paid))
            })
            .await?;
        let record = receipt.map(
            |(issued_at, number, document_number, verification_code, qr_payload)| {
                let fiscal =
                    (document_number.is_some() || verification_code.is_some() || qr_payload.is_some())
                        .then_some(FiscalData {
                            document_number,
                            verification_code,
                            qr_payload,
                        });
                ReceiptRecord {
                    number,
                    issued_at,
                    fiscal,
                }
            },
        );
        Ok((record, paid))
    }
}

/// The received payments of `order`, in the order they were taken, as a receipt lists them.
pub(crate) fn receipt_payments(
    conn: &mut PgConnection,
    order: uuid::Uuid,
) -> Result<Vec<ReceiptPayment>, crate::error::DbError> {
    let paid: Vec<PaymentRow> = payments::table
        .filter(payments::order_id.eq(order))
        .order((payments::created_at, payments::id))
        .select((
            payments::id,
            payments::method,
            payments::status,
            payments::amount,
            payments::currency,
            payments::tendered,
            payments::change_given,
            payments::tip,
        ))
        .load(conn)?;
    let mut listed = Vec::new();
    for (id, method, status, amount, currency, tendered, change, tip) in paid {
        let status = PaymentStatus::parse(&status).map_err(|e| corrupt("payments.status", e.message))?;
        if !status.received() {
            continue;
        }
        let currency = Currency::parse(&currency).map_err(|e| corrupt("payments.currency", e))?;
        listed.push(ReceiptPayment {
            id: PaymentId::from_uuid(id),
            method: PaymentMethod::parse(&method).map_err(|e| corrupt("payments.method", e.message))?,
            amount: Money::new(amount, currency),
            tendered: tendered.map(|t| Money::new(t, currency)),
            change: change.map(|c| Money::new(c, currency)),
            tip: Money::new(tip, currency),
        });
    }
    Ok(listed)
}
