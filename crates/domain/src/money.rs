//! Money as an integer count of minor units of one currency.
//!
//! No float ever touches a price: arithmetic is checked `i64`, formatting splits major and
//! minor units with integer maths, and mixing currencies is an error, not a conversion.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// An ISO 4217 currency the venue can trade in, with its minor-unit exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    /// Ugandan shilling: no minor unit (30000 means USh 30,000).
    #[default]
    Ugx,
    /// Kenyan shilling: two decimals.
    Kes,
    /// Tanzanian shilling: two decimals.
    Tzs,
    /// Rwandan franc: no minor unit.
    Rwf,
    /// US dollar: two decimals.
    Usd,
    /// Euro: two decimals.
    Eur,
    /// Pound sterling: two decimals.
    Gbp,
}

impl Currency {
    pub const ALL: [Currency; 7] = [
        Currency::Ugx,
        Currency::Kes,
        Currency::Tzs,
        Currency::Rwf,
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
    ];

    /// The ISO 4217 alphabetic code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Ugx => "UGX",
            Currency::Kes => "KES",
            Currency::Tzs => "TZS",
            Currency::Rwf => "RWF",
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
        }
    }

    /// Digits after the decimal point (ISO 4217 minor unit).
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Ugx | Currency::Rwf => 0,
            Currency::Kes | Currency::Tzs | Currency::Usd | Currency::Eur | Currency::Gbp => 2,
        }
    }

    /// What a receipt prints before the amount.
    pub fn symbol(self) -> &'static str {
        match self {
            Currency::Ugx => "USh",
            Currency::Kes => "KSh",
            Currency::Tzs => "TSh",
            Currency::Rwf => "FRw",
            Currency::Usd => "$",
            Currency::Eur => "€",
            Currency::Gbp => "£",
        }
    }

    /// Parses an ISO code case-insensitively.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code.trim()))
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("amount overflows the representable range")]
    Overflow,
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("unknown currency code {0:?}")]
    UnknownCurrency(String),
    #[error("amount must not be negative")]
    Negative,
}

/// An amount of money: minor units of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    pub const fn minor(self) -> i64 {
        self.minor
    }

    pub const fn currency(self) -> Currency {
        self.currency
    }

    pub const fn is_negative(self) -> bool {
        self.minor < 0
    }

    pub const fn is_zero(self) -> bool {
        self.minor == 0
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// Sums amounts of one currency; an empty iterator gives zero of `currency`.
    pub fn sum<I: IntoIterator<Item = Money>>(currency: Currency, items: I) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }

    /// `self × numerator / denominator`, rounded half away from zero, in i128 so that
    /// intermediate products of large amounts and basis points cannot overflow.
    pub fn mul_ratio_half_up(self, numerator: i64, denominator: i64) -> Result<Money, MoneyError> {
        if denominator == 0 {
            return Err(MoneyError::Overflow);
        }
        let product = i128::from(self.minor) * i128::from(numerator);
        let den = i128::from(denominator);
        let quotient = product / den;
        let remainder = product % den;
        let rounded = if remainder.abs() * 2 >= den.abs() {
            if (product < 0) != (den < 0) {
                quotient - 1
            } else {
                quotient + 1
            }
        } else {
            quotient
        };
        let minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// The amount in major units with the currency's decimals and thousands separators,
    /// e.g. `30,000` for UGX or `1,234.50` for KES.
    pub fn format_amount(self) -> String {
        let exponent = self.currency.exponent();
        let divisor = 10_u64.pow(exponent);
        let abs = self.minor.unsigned_abs();
        let major = abs / divisor;
        let fraction = abs % divisor;
        let digits = major.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        let sign = if self.minor < 0 { "-" } else { "" };
        if exponent == 0 {
            format!("{sign}{grouped}")
        } else {
            format!("{sign}{grouped}.{fraction:0width$}", width = exponent as usize)
        }
    }

    /// Receipt form: `USh 30,000`, `KSh 1,234.50`.
    pub fn format_receipt(self) -> String {
        format!("{} {}", self.currency.symbol(), self.format_amount())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency.code(), self.format_amount())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ugx_has_no_minor_unit_and_groups_thousands() {
        let m = Money::new(30_000, Currency::Ugx);
        assert_eq!(m.format_receipt(), "USh 30,000");
        assert_eq!(Money::new(1_234_567, Currency::Ugx).format_amount(), "1,234,567");
        assert_eq!(Money::new(999, Currency::Ugx).format_amount(), "999");
    }

    #[test]
    fn two_decimal_currencies_format_with_integer_maths() {
        assert_eq!(
            Money::new(123_450, Currency::Kes).format_receipt(),
            "KSh 1,234.50"
        );
        assert_eq!(Money::new(5, Currency::Usd).format_amount(), "0.05");
        assert_eq!(Money::new(-105, Currency::Usd).format_amount(), "-1.05");
    }

    #[test]
    fn arithmetic_is_checked() {
        let max = Money::new(i64::MAX, Currency::Ugx);
        assert_eq!(
            max.checked_add(Money::new(1, Currency::Ugx)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(max.checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(
            Money::new(1, Currency::Ugx).checked_add(Money::new(1, Currency::Usd)),
            Err(MoneyError::CurrencyMismatch(Currency::Ugx, Currency::Usd))
        );
    }

    #[test]
    fn ratio_rounds_half_up() {
        let m = Money::new(25, Currency::Ugx);
        // 25 * 1/10 = 2.5 -> 3
        assert_eq!(m.mul_ratio_half_up(1, 10).map(Money::minor), Ok(3));
        // 24 * 1/10 = 2.4 -> 2
        assert_eq!(
            Money::new(24, Currency::Ugx)
                .mul_ratio_half_up(1, 10)
                .map(Money::minor),
            Ok(2)
        );
        // negative half rounds away from zero
        assert_eq!(
            Money::new(-25, Currency::Ugx)
                .mul_ratio_half_up(1, 10)
                .map(Money::minor),
            Ok(-3)
        );
        assert_eq!(
            Money::new(i64::MAX, Currency::Ugx)
                .mul_ratio_half_up(10_000, 10_000)
                .map(Money::minor),
            Ok(i64::MAX)
        );
    }

    #[test]
    fn currency_codes_parse() {
        assert_eq!(Currency::parse("ugx"), Ok(Currency::Ugx));
        assert_eq!(Currency::parse("KES").map(Currency::exponent), Ok(2));
        assert!(Currency::parse("XXX").is_err());
    }
}
