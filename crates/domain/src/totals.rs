//! Line and order totals: VAT, service charge, discounts, paid and balance.
//!
//! Everything is computed per line with half-up rounding, and every order figure is a sum
//! of line figures, so a receipt always adds up:
//!
//! - line gross = (unit price + modifier prices) × quantity
//! - line discount = item discount + the line's share of the order discount (an amount is
//!   spread over lines in proportion to their value, largest remainder first; a percentage
//!   is taken from each line)
//! - line net = gross − discount; line tax = net × rate / (10000 + rate) when prices include
//!   tax, else net × rate / 10000 added on top
//! - service charge = (Σ net) × service rate, taxed like a line
//! - total = Σ line totals + service charge; balance = total − paid
//!
//! Arithmetic is checked: an amount that cannot be represented is an error, never a wrap.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::OrderItemId;
use crate::money::{Currency, Money, MoneyError};
use crate::settings::Settings;
use crate::validate::Quantity;

/// 100 % in basis points.
pub const FULL_BP: i64 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TotalsError {
    #[error("amount overflows the representable range")]
    Overflow,
    #[error("amount in {found} where the order is in {expected}")]
    CurrencyMismatch { expected: Currency, found: Currency },
    #[error("prices must not be negative")]
    NegativePrice,
    #[error("discount {0}")]
    InvalidDiscount(&'static str),
    #[error("rate {0}")]
    InvalidRate(&'static str),
}

impl TotalsError {
    /// Stable machine-readable code for problem bodies.
    pub fn code(&self) -> &'static str {
        match self {
            TotalsError::Overflow => "amount_overflow",
            TotalsError::CurrencyMismatch { .. } => "currency_mismatch",
            TotalsError::NegativePrice => "negative_price",
            TotalsError::InvalidDiscount(_) => "invalid_discount",
            TotalsError::InvalidRate(_) => "invalid_rate",
        }
    }
}

impl From<MoneyError> for TotalsError {
    fn from(err: MoneyError) -> Self {
        match err {
            MoneyError::CurrencyMismatch(expected, found) => {
                TotalsError::CurrencyMismatch { expected, found }
            }
            MoneyError::Negative => TotalsError::NegativePrice,
            MoneyError::Overflow | MoneyError::UnknownCurrency(_) => TotalsError::Overflow,
        }
    }
}

/// A reduction of an order or of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discount {
    /// A fixed amount off; capped at the value it applies to.
    Amount { amount: Money },
    /// A percentage off, in basis points (1000 = 10 %).
    Percent { bp: i32 },
}

impl Discount {
    /// Rejects negative amounts, percentages outside 0–100 % and foreign currencies.
    pub fn validate(self, currency: Currency) -> Result<(), TotalsError> {
        match self {
            Discount::Amount { amount } if amount.currency() != currency => {
                Err(TotalsError::CurrencyMismatch {
                    expected: currency,
                    found: amount.currency(),
                })
            }
            Discount::Amount { amount } if amount.is_negative() => {
                Err(TotalsError::InvalidDiscount("must not be negative"))
            }
            Discount::Percent { bp } if !(0..=10_000).contains(&bp) => Err(TotalsError::InvalidDiscount(
                "must be between 0 and 10000 basis points",
            )),
            _ => Ok(()),
        }
    }

    /// What this discount takes off `base`, never more than `base`.
    pub fn amount_of(self, base: Money) -> Result<Money, TotalsError> {
        self.validate(base.currency())?;
        match self {
            Discount::Amount { amount } => Ok(if amount.minor() > base.minor() {
                base
            } else {
                amount
            }),
            Discount::Percent { bp } => Ok(base.mul_ratio_half_up(i64::from(bp), FULL_BP)?),
        }
    }

    /// True when the discount takes more than `limit_bp` of `base` (e.g. the cashier limit).
    pub fn exceeds_limit(self, base: Money, limit_bp: i32) -> bool {
        match self {
            Discount::Percent { bp } => bp > limit_bp,
            Discount::Amount { amount } => {
                // amount / base > limit / 10000, cross-multiplied in i128 to stay exact.
                i128::from(amount.minor()) * i128::from(FULL_BP)
                    > i128::from(limit_bp) * i128::from(base.minor())
            }
        }
    }
}

/// The pricing rules an order is computed with, snapshotted from the settings when the
/// order is created so that a later settings change never rewrites an old receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    pub vat_rate_bp: i32,
    pub prices_include_tax: bool,
    pub service_charge_bp: i32,
}

impl Pricing {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            vat_rate_bp: settings.vat_rate_bp,
            prices_include_tax: settings.prices_include_tax,
            service_charge_bp: settings.service_charge_bp,
        }
    }

    fn validate(self) -> Result<(), TotalsError> {
        if !(0..=10_000).contains(&self.vat_rate_bp) {
            return Err(TotalsError::InvalidRate(
                "VAT must be between 0 and 10000 basis points",
            ));
        }
        if !(0..=10_000).contains(&self.service_charge_bp) {
            return Err(TotalsError::InvalidRate(
                "service charge must be between 0 and 10000 basis points",
            ));
        }
        Ok(())
    }

    /// Tax contained in (inclusive) or added to (exclusive) an amount, rounded half-up.
    pub fn tax_of(self, amount: Money) -> Result<Money, TotalsError> {
        let rate = i64::from(self.vat_rate_bp);
        let tax = if self.prices_include_tax {
            amount.mul_ratio_half_up(rate, FULL_BP + rate)?
        } else {
            amount.mul_ratio_half_up(rate, FULL_BP)?
        };
        Ok(tax)
    }

    /// What the customer pays for `net`: itself when tax is included, else net plus tax.
    fn charged(self, net: Money, tax: Money) -> Result<Money, TotalsError> {
        if self.prices_include_tax {
            Ok(net)
        } else {
            Ok(net.checked_add(tax)?)
        }
    }
}

/// One order line as totals need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInput {
    pub item_id: OrderItemId,
    pub unit_price: Money,
    /// Sum of the chosen modifiers' prices, per unit.
    pub modifiers_price: Money,
    pub quantity: Quantity,
    pub discount: Option<Discount>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTotals {
    pub item_id: OrderItemId,
    /// (unit price + modifiers) × quantity.
    pub gross: Money,
    /// Item discount plus this line's share of the order discount.
    pub discount: Money,
    /// gross − discount.
    pub net: Money,
    pub tax: Money,
    /// What the line costs the customer: net, plus tax when prices exclude it.
    pub total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTotals {
    pub currency: Currency,
    /// Σ line gross.
    pub subtotal: Money,
    /// Σ line discounts (item and order discounts together).
    pub discount: Money,
    /// Service charge as paid by the customer (its tax included).
    pub service_charge: Money,
    /// Σ line tax + the service charge's tax: the tax part a receipt shows.
    pub tax: Money,
    /// Σ line totals + service charge.
    pub total: Money,
    /// Completed payments minus refunds.
    pub paid: Money,
    /// total − paid; zero when settled.
    pub balance: Money,
    pub lines: Vec<LineTotals>,
}

fn ensure(currency: Currency, amount: Money) -> Result<Money, TotalsError> {
    if amount.currency() == currency {
        Ok(amount)
    } else {
        Err(TotalsError::CurrencyMismatch {
            expected: currency,
            found: amount.currency(),
        })
    }
}

fn gross_of(currency: Currency, line: &LineInput) -> Result<Money, TotalsError> {
    let unit = ensure(currency, line.unit_price)?;
    let modifiers = ensure(currency, line.modifiers_price)?;
    if unit.is_negative() || modifiers.is_negative() {
        return Err(TotalsError::NegativePrice);
    }
    Ok(unit
        .checked_add(modifiers)?
        .checked_mul(i64::from(line.quantity.get()))?)
}

/// Splits `discount` (≤ Σ bases) over `bases` in proportion, by largest remainder, so the
/// shares add up to exactly `discount` and none exceeds its base.
fn allocate(discount: i64, bases: &[i64]) -> Result<Vec<i64>, TotalsError> {
    let total: i128 = bases.iter().map(|b| i128::from(*b)).sum();
    if total == 0 {
        return Ok(vec![0; bases.len()]);
    }
    let mut shares = Vec::with_capacity(bases.len());
    let mut remainders = Vec::with_capacity(bases.len());
    for (index, base) in bases.iter().enumerate() {
        let product = i128::from(discount) * i128::from(*base);
        shares.push(i64::try_from(product / total).map_err(|_| TotalsError::Overflow)?);
        remainders.push((product % total, index));
    }
    let allocated: i64 = shares
        .iter()
        .try_fold(0_i64, |acc, s| acc.checked_add(*s))
        .ok_or(TotalsError::Overflow)?;
    let left = usize::try_from(discount - allocated).map_err(|_| TotalsError::Overflow)?;
    // Biggest remainder first; ties go to the earlier line so the result is deterministic.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders.into_iter().take(left) {
        if let Some(share) = shares.get_mut(index) {
            *share += 1;
        }
    }
    Ok(shares)
}

/// Computes the totals of `lines` under `pricing`, with an optional order-level discount and
/// the amount already paid.
pub fn compute(
    currency: Currency,
    pricing: Pricing,
    lines: &[LineInput],
    order_discount: Option<Discount>,
    paid: Money,
) -> Result<OrderTotals, TotalsError> {
    pricing.validate()?;
    let paid = ensure(currency, paid)?;
    if let Some(discount) = order_discount {
        discount.validate(currency)?;
    }

    let mut gross = Vec::with_capacity(lines.len());
    let mut bases = Vec::with_capacity(lines.len());
    for line in lines {
        let line_gross = gross_of(currency, line)?;
        let item_discount = match line.discount {
            Some(d) => d.amount_of(line_gross)?,
            None => Money::zero(currency),
        };
        gross.push((line_gross, item_discount));
        bases.push(line_gross.checked_sub(item_discount)?.minor());
    }

    let shares = match order_discount {
        None => vec![0; lines.len()],
        Some(Discount::Percent { bp }) => bases
            .iter()
            .map(|b| {
                Ok(Money::new(*b, currency)
                    .mul_ratio_half_up(i64::from(bp), FULL_BP)?
                    .minor())
            })
            .collect::<Result<Vec<_>, TotalsError>>()?,
        Some(Discount::Amount { amount }) => {
            let base_sum = bases
                .iter()
                .try_fold(0_i64, |acc, b| acc.checked_add(*b))
                .ok_or(TotalsError::Overflow)?;
            allocate(amount.minor().min(base_sum), &bases)?
        }
    };

    let mut out = Vec::with_capacity(lines.len());
    for ((line, (line_gross, item_discount)), share) in lines.iter().zip(gross).zip(shares) {
        let discount = item_discount.checked_add(Money::new(share, currency))?;
        let net = line_gross.checked_sub(discount)?;
        let tax = pricing.tax_of(net)?;
        out.push(LineTotals {
            item_id: line.item_id,
            gross: line_gross,
            discount,
            net,
            tax,
            total: pricing.charged(net, tax)?,
        });
    }

    let sum = |f: fn(&LineTotals) -> Money| Money::sum(currency, out.iter().map(f));
    let subtotal = sum(|l| l.gross)?;
    let discount = sum(|l| l.discount)?;
    let net = sum(|l| l.net)?;
    let line_tax = sum(|l| l.tax)?;
    let lines_total = sum(|l| l.total)?;

    let service_base = net.mul_ratio_half_up(i64::from(pricing.service_charge_bp), FULL_BP)?;
    let service_tax = pricing.tax_of(service_base)?;
    let service_charge = pricing.charged(service_base, service_tax)?;

    let total = lines_total.checked_add(service_charge)?;
    Ok(OrderTotals {
        currency,
        subtotal,
        discount,
        service_charge,
        tax: line_tax.checked_add(service_tax)?,
        total,
        paid,
        balance: total.checked_sub(paid)?,
        lines: out,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INCLUSIVE_16: Pricing = Pricing {
        vat_rate_bp: 1600,
        prices_include_tax: true,
        service_charge_bp: 0,
    };

    fn line(unit: Money, qty: i64) -> LineInput {
        LineInput {
            item_id: OrderItemId::new(),
            unit_price: unit,
            modifiers_price: Money::zero(unit.currency()),
            quantity: Quantity::parse("quantity", qty).unwrap(),
            discount: None,
        }
    }

    fn ugx(minor: i64) -> Money {
        Money::new(minor, Currency::Ugx)
    }

    fn kes(minor: i64) -> Money {
        Money::new(minor, Currency::Kes)
    }

    #[test]
    fn ugx_30000_at_16_percent_inclusive_has_4138_tax() {
        let t = compute(Currency::Ugx, INCLUSIVE_16, &[line(ugx(30_000), 1)], None, ugx(0)).unwrap();
        assert_eq!(t.tax, ugx(4_138));
        assert_eq!(t.total, ugx(30_000));
        assert_eq!(t.subtotal, ugx(30_000));
        assert_eq!(t.balance, ugx(30_000));
    }

    #[test]
    fn kes_with_decimals_and_modifiers() {
        // Two cappuccinos at KSh 350.50 with a KSh 45.25 extra shot: 2 × 395.75 = 791.50;
        // tax included = 791.50 × 16/116 = 109.1724… → 109.17.
        let mut cappuccino = line(kes(35_050), 2);
        cappuccino.modifiers_price = kes(4_525);
        let t = compute(Currency::Kes, INCLUSIVE_16, &[cappuccino], None, kes(50_000)).unwrap();
        assert_eq!(t.lines[0].gross, kes(79_150));
        assert_eq!(t.tax, kes(10_917));
        assert_eq!(t.total, kes(79_150));
        assert_eq!(t.paid, kes(50_000));
        assert_eq!(t.balance, kes(29_150));
        assert_eq!(t.total.format_receipt(), "KSh 791.50");
    }

    #[test]
    fn exclusive_prices_add_tax_per_line() {
        let pricing = Pricing {
            prices_include_tax: false,
            ..INCLUSIVE_16
        };
        // 3 × KSh 0.33 = 0.99 → tax 0.1584 → 0.16; 1 × KSh 10.00 → tax 1.60.
        let t = compute(
            Currency::Kes,
            pricing,
            &[line(kes(33), 3), line(kes(1_000), 1)],
            None,
            kes(0),
        )
        .unwrap();
        assert_eq!(t.lines[0].tax, kes(16));
        assert_eq!(t.lines[0].total, kes(115));
        assert_eq!(t.tax, kes(176));
        assert_eq!(t.subtotal, kes(1_099));
        assert_eq!(t.total, kes(1_275));
    }

    #[test]
    fn service_charge_is_taxed_like_a_line() {
        let pricing = Pricing {
            service_charge_bp: 1000,
            ..INCLUSIVE_16
        };
        let t = compute(Currency::Ugx, pricing, &[line(ugx(30_000), 1)], None, ugx(0)).unwrap();
        assert_eq!(t.service_charge, ugx(3_000));
        // 4138 on the line + 3000 × 16/116 = 413.8 → 414 on the service charge.
        assert_eq!(t.tax, ugx(4_552));
        assert_eq!(t.total, ugx(33_000));
    }

    #[test]
    fn an_amount_discount_is_spread_by_largest_remainder() {
        let lines = [line(ugx(1_000), 1), line(ugx(1_000), 1), line(ugx(1_000), 1)];
        let t = compute(
            Currency::Ugx,
            INCLUSIVE_16,
            &lines,
            Some(Discount::Amount { amount: ugx(100) }),
            ugx(0),
        )
        .unwrap();
        let shares: Vec<i64> = t.lines.iter().map(|l| l.discount.minor()).collect();
        assert_eq!(shares, vec![34, 33, 33]);
        assert_eq!(t.discount, ugx(100));
        assert_eq!(t.total, ugx(2_900));
    }

    #[test]
    fn discounts_are_capped_at_what_they_apply_to() {
        let mut l = line(ugx(1_000), 1);
        l.discount = Some(Discount::Amount { amount: ugx(5_000) });
        let t = compute(Currency::Ugx, INCLUSIVE_16, &[l, line(ugx(500), 1)], None, ugx(0)).unwrap();
        assert_eq!(t.lines[0].net, ugx(0));
        assert_eq!(t.total, ugx(500));
        let t = compute(
            Currency::Ugx,
            INCLUSIVE_16,
            &[line(ugx(500), 1)],
            Some(Discount::Amount { amount: ugx(900) }),
            ugx(0),
        )
        .unwrap();
        assert_eq!(t.total, ugx(0));
        assert_eq!(t.tax, ugx(0));
    }

    #[test]
    fn percent_discount_applies_per_line() {
        let t = compute(
            Currency::Ugx,
            INCLUSIVE_16,
            &[line(ugx(30_000), 1)],
            Some(Discount::Percent { bp: 1_000 }),
            ugx(0),
        )
        .unwrap();
        assert_eq!(t.discount, ugx(3_000));
        assert_eq!(t.total, ugx(27_000));
        // 27000 × 16/116 = 3724.1 → 3724
        assert_eq!(t.tax, ugx(3_724));
    }

    #[test]
    fn bad_inputs_are_errors() {
        let pricing = Pricing {
            vat_rate_bp: 10_001,
            ..INCLUSIVE_16
        };
        assert_eq!(
            compute(Currency::Ugx, pricing, &[], None, ugx(0)).map_err(|e| e.code()),
            Err("invalid_rate")
        );
        assert_eq!(
            compute(Currency::Ugx, INCLUSIVE_16, &[line(ugx(-1), 1)], None, ugx(0)),
            Err(TotalsError::NegativePrice)
        );
        assert_eq!(
            compute(Currency::Ugx, INCLUSIVE_16, &[line(kes(1), 1)], None, ugx(0)),
            Err(TotalsError::CurrencyMismatch {
                expected: Currency::Ugx,
                found: Currency::Kes
            })
        );
        for bad in [
            Discount::Percent { bp: 10_001 },
            Discount::Percent { bp: -1 },
            Discount::Amount { amount: ugx(-1) },
        ] {
            assert_eq!(
                compute(Currency::Ugx, INCLUSIVE_16, &[], Some(bad), ugx(0)).map_err(|e| e.code()),
                Err("invalid_discount")
            );
        }
    }

    #[test]
    fn huge_amounts_overflow_into_an_error() {
        let t = compute(
            Currency::Ugx,
            INCLUSIVE_16,
            &[line(ugx(i64::MAX / 2), 3)],
            None,
            ugx(0),
        );
        assert_eq!(t, Err(TotalsError::Overflow));
        let lines = [
            line(ugx(i64::MAX / 2), 1),
            line(ugx(i64::MAX / 2), 1),
            line(ugx(10), 1),
        ];
        assert_eq!(
            compute(Currency::Ugx, INCLUSIVE_16, &lines, None, ugx(0)),
            Err(TotalsError::Overflow)
        );
        assert_eq!(
            compute(
                Currency::Ugx,
                INCLUSIVE_16,
                &[line(ugx(1), 1)],
                None,
                ugx(i64::MIN)
            ),
            Err(TotalsError::Overflow)
        );
    }

    #[test]
    fn discount_limit_compares_exactly() {
        let base = ugx(30_000);
        assert!(!Discount::Amount { amount: ugx(3_000) }.exceeds_limit(base, 1_000));
        assert!(Discount::Amount { amount: ugx(3_001) }.exceeds_limit(base, 1_000));
        assert!(!Discount::Percent { bp: 1_000 }.exceeds_limit(base, 1_000));
        assert!(Discount::Percent { bp: 1_001 }.exceeds_limit(base, 1_000));
        assert!(Discount::Amount { amount: ugx(1) }.exceeds_limit(ugx(0), 1_000));
    }

    fn arb_discount() -> impl Strategy<Value = Option<Discount>> {
        prop_oneof![
            Just(None),
            (0_i64..2_000_000).prop_map(|a| Some(Discount::Amount { amount: ugx(a) })),
            (0_i32..=10_000).prop_map(|bp| Some(Discount::Percent { bp })),
        ]
    }

    fn arb_line() -> impl Strategy<Value = LineInput> {
        (0_i64..1_000_000_000, 0_i64..100_000, 1_i64..=999, arb_discount()).prop_map(
            |(unit, modifiers, qty, discount)| LineInput {
                discount,
                modifiers_price: ugx(modifiers),
                ..line(ugx(unit), qty)
            },
        )
    }

    fn arb_pricing() -> impl Strategy<Value = Pricing> {
        (0_i32..=10_000, any::<bool>(), 0_i32..=10_000).prop_map(|(vat, inclusive, service)| Pricing {
            vat_rate_bp: vat,
            prices_include_tax: inclusive,
            service_charge_bp: service,
        })
    }

    proptest! {
        #[test]
        fn totals_add_up(
            lines in proptest::collection::vec(arb_line(), 0..12),
            pricing in arb_pricing(),
            discount in arb_discount(),
        ) {
            let t = compute(Currency::Ugx, pricing, &lines, discount, ugx(0)).unwrap();
            let lines_total = Money::sum(Currency::Ugx, t.lines.iter().map(|l| l.total)).unwrap();
            prop_assert_eq!(t.total.minor(), lines_total.minor() + t.service_charge.minor());
            let added_tax = if pricing.prices_include_tax {
                0
            } else {
                t.lines.iter().map(|l| l.tax.minor()).sum()
            };
            prop_assert_eq!(
                t.total.minor(),
                t.subtotal.minor() - t.discount.minor() + added_tax + t.service_charge.minor()
            );
            prop_assert!(t.tax.minor() <= t.total.minor());
            prop_assert!(t.tax.minor() >= 0);
            prop_assert!(t.total.minor() >= 0);
            prop_assert!(t.discount.minor() <= t.subtotal.minor());
            for l in &t.lines {
                prop_assert!(l.net.minor() >= 0);
                prop_assert!(l.tax.minor() <= l.total.minor());
                prop_assert_eq!(l.gross.minor() - l.discount.minor(), l.net.minor());
            }
            prop_assert_eq!(t.balance.minor(), t.total.minor());
        }

        #[test]
        fn an_amount_discount_is_taken_exactly_up_to_the_subtotal(
            lines in proptest::collection::vec(arb_line(), 1..12),
            amount in 0_i64..10_000_000_000,
        ) {
            let lines: Vec<LineInput> = lines.into_iter().map(|l| LineInput { discount: None, ..l }).collect();
            let t = compute(Currency::Ugx, INCLUSIVE_16, &lines, Some(Discount::Amount { amount: ugx(amount) }), ugx(0)).unwrap();
            prop_assert_eq!(t.discount.minor(), amount.min(t.subtotal.minor()));
        }

        #[test]
        fn huge_inputs_never_panic(
            units in proptest::collection::vec(any::<i64>(), 1..6),
            qty in 1_i64..=999,
            pricing in arb_pricing(),
            paid in any::<i64>(),
        ) {
            let lines: Vec<LineInput> = units.iter().map(|u| line(ugx(*u), qty)).collect();
            match compute(Currency::Ugx, pricing, &lines, None, ugx(paid)) {
                Ok(t) => {
                    prop_assert!(t.total.minor() >= 0);
                    prop_assert_eq!(Some(t.balance.minor()), t.total.minor().checked_sub(paid));
                }
                Err(e) => prop_assert!(matches!(e, TotalsError::Overflow | TotalsError::NegativePrice)),
            }
        }
    }
}
