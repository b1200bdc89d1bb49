//! The money side of an order: discounts within the cashier's limit or approved, payments
//! and refunds against the balance.

use super::*;

impl Order {
    /// Sets or clears the order discount. Cashiers may give up to the limit of the current
    /// subtotal; more needs a manager's approval.
    pub fn set_discount(&mut self, change: DiscountChange, now: DateTime<Utc>) -> Result<(), OrderError> {
        self.ensure_not_finished()?;
        let base = match change.discount {
            Some(_) => self.totals()?.subtotal,
            None => Money::zero(self.currency),
        };
        let applied = self.authorise_discount(change, base)?;
        self.edit(now, |order| {
            order.discount = applied;
            Ok(())
        })
    }

    /// Sets or clears one item's discount, under the same limit as [`Order::set_discount`]
    /// measured against the item's line.
    pub fn set_item_discount(
        &mut self,
        id: OrderItemId,
        change: DiscountChange,
        now: DateTime<Utc>,
    ) -> Result<(), OrderError> {
        self.ensure_not_finished()?;
        let item = self.item(id)?;
        if !item.is_live() {
            return Err(OrderError::InvalidItemTransition {
                item: id,
                status: item.status,
                action: "discount",
            });
        }
        let base = item
            .unit_price
            .checked_add(item.modifiers_price()?)
            .and_then(|unit| unit.checked_mul(i64::from(item.quantity.get())))
            .map_err(TotalsError::from)?;
        let applied = self.authorise_discount(change, base)?;
        self.edit(now, |order| {
            order.item_mut(id)?.discount = applied;
            Ok(())
        })
    }

    fn authorise_discount(
        &self,
        change: DiscountChange,
        base: Money,
    ) -> Result<Option<AppliedDiscount>, OrderError> {
        require(change.actor, Action::ApplyDiscount)?;
        let Some(discount) = change.discount else {
            return Ok(None);
        };
        discount.validate(self.currency)?;
        let approved_by = if discount.exceeds_limit(base, change.cashier_limit_bp) {
            Some(approver_for(
                change.actor,
                change.approval,
                Action::ApplyDiscountAboveLimit,
            )?)
        } else {
            None
        };
        Ok(Some(AppliedDiscount {
            discount,
            reason: change.reason,
            by: change.actor.id,
            approved_by,
        }))
    }

    /// Applies a completed payment of `amount`: never more than the balance. Returns the
    /// new balance.
    pub fn record_payment(&mut self, amount: Money, now: DateTime<Utc>) -> Result<Money, OrderError> {
        self.ensure_not_finished()?;
        check_payment_fits(self.balance()?, amount)?;
        self.edit(now, |order| {
            order.paid = order.paid.checked_add(amount).map_err(TotalsError::from)?;
            Ok(order.balance()?)
        })
    }

    /// Takes a refund off the paid amount; allowed on a closed order (that is how a closed
    /// order is corrected). Returns the new paid amount.
    pub fn record_refund(&mut self, amount: Money, now: DateTime<Utc>) -> Result<Money, OrderError> {
        if amount.currency() != self.currency {
            return Err(OrderError::Totals(TotalsError::CurrencyMismatch {
                expected: self.currency,
                found: amount.currency(),
            }));
        }
        if amount.minor() <= 0 {
            return Err(PaymentError::NonPositiveAmount.into());
        }
        if amount.minor() > self.paid.minor() {
            return Err(PaymentError::RefundExceedsRemaining {
                refundable: self.paid,
                amount,
            }
            .into());
        }
        self.edit(now, |order| {
            order.paid = order.paid.checked_sub(amount).map_err(TotalsError::from)?;
            Ok(order.paid)
        })
    }
}
