//! Pesapal speaks major units as decimal numbers (`1234.50` KES); we keep integer minor
//! units. Both directions are pure integer and string work: no `f64` ever holds money.

use pos_domain::money::{Currency, Money};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AmountError {
    #[error("amount {0:?} is not a plain non-negative decimal number")]
    Malformed(String),
    #[error("amount {text:?} has more decimals than {currency} allows")]
    TooPrecise { text: String, currency: Currency },
    #[error("amount {0:?} is out of range")]
    OutOfRange(String),
}

/// The decimal literal of `money` in major units: `30000` for UGX 30000, `1234.50` for
/// 123450 minor units of KES, `0.05` for 5 cents.
pub fn to_major_units(money: Money) -> String {
    let exponent = money.currency().exponent();
    let sign = if money.is_negative() { "-" } else { "" };
    let abs = money.minor().unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{abs}");
    }
    let divisor = 10_u64.pow(exponent);
    format!(
        "{sign}{}.{:0width$}",
        abs / divisor,
        abs % divisor,
        width = exponent as usize
    )
}

/// Parses a non-negative decimal literal in major units (`1234.5`, `1234.50`, `30000`,
/// `30000.0`) into minor units of `currency`. Digits beyond the currency's exponent are
/// accepted only when they are zeros: anything finer than a minor unit is an error, never
/// silently rounded.
pub fn from_major_units(text: &str, currency: Currency) -> Result<Money, AmountError> {
    let trimmed = text.trim();
    let malformed = || AmountError::Malformed(text.to_owned());
    let (whole, fraction) = match trimmed.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (trimmed, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(malformed());
    }
    if trimmed.ends_with('.') {
        return Err(malformed());
    }

    let exponent = currency.exponent() as usize;
    let (significant, excess) = fraction.split_at(fraction.len().min(exponent));
    if excess.bytes().any(|b| b != b'0') {
        return Err(AmountError::TooPrecise {
            text: text.to_owned(),
            currency,
        });
    }
    // `significant` right-padded with zeros to the exponent is the minor-unit remainder.
    let digits = format!("{whole}{significant:0<exponent$}");
    let minor: i64 = digits
        .parse()
        .map_err(|_| AmountError::OutOfRange(text.to_owned()))?;
    Ok(Money::new(minor, currency))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn minor_units_become_exact_major_literals() {
        assert_eq!(to_major_units(Money::new(30_000, Currency::Ugx)), "30000");
        assert_eq!(to_major_units(Money::new(123_450, Currency::Kes)), "1234.50");
        assert_eq!(to_major_units(Money::new(150_050, Currency::Kes)), "1500.50");
        assert_eq!(to_major_units(Money::new(5, Currency::Usd)), "0.05");
        assert_eq!(to_major_units(Money::new(100, Currency::Usd)), "1.00");
        assert_eq!(to_major_units(Money::new(0, Currency::Rwf)), "0");
        assert_eq!(to_major_units(Money::new(-105, Currency::Usd)), "-1.05");
        assert_eq!(
            to_major_units(Money::new(i64::MAX, Currency::Kes)),
            "92233720368547758.07"
        );
    }

    #[test]
    fn major_literals_become_exact_minor_units() {
        let kes = |s| from_major_units(s, Currency::Kes).map(Money::minor);
        assert_eq!(kes("1234.5"), Ok(123_450));
        assert_eq!(kes("1234.50"), Ok(123_450));
        assert_eq!(kes("1234.500"), Ok(123_450));
        assert_eq!(kes("1234"), Ok(123_400));
        assert_eq!(kes("0.05"), Ok(5));
        assert_eq!(kes(" 7.1 "), Ok(710));
        assert_eq!(kes("92233720368547758.07"), Ok(i64::MAX));

        let ugx = |s| from_major_units(s, Currency::Ugx).map(Money::minor);
        assert_eq!(ugx("30000"), Ok(30_000));
        assert_eq!(ugx("30000.0"), Ok(30_000));
        assert_eq!(ugx("30000.00"), Ok(30_000));
    }

    #[test]
    fn anything_but_a_plain_exact_decimal_is_refused() {
        let kes = |s| from_major_units(s, Currency::Kes);
        assert!(matches!(kes("1234.505"), Err(AmountError::TooPrecise { .. })));
        assert!(matches!(
            from_major_units("30000.5", Currency::Ugx),
            Err(AmountError::TooPrecise { .. })
        ));
        for bad in ["", "-1", "+1", "1e3", "1.2.3", ".5", "5.", "12a", "NaN", "1 000"] {
            assert!(matches!(kes(bad), Err(AmountError::Malformed(_))), "{bad:?}");
        }
        assert!(matches!(
            kes("92233720368547758.08"),
            Err(AmountError::OutOfRange(_))
        ));
    }

    #[test]
    fn round_trips_for_every_currency() {
        for currency in Currency::ALL {
            for minor in [0, 1, 9, 10, 99, 100, 12_345, 1_000_000_007] {
                let money = Money::new(minor, currency);
                assert_eq!(from_major_units(&to_major_units(money), currency), Ok(money));
            }
        }
    }
}
