//! Parsing of the back office's fields: prices, sort orders, labels, seats, image paths.

use crate::money::{Currency, Money};
use crate::validate::{Label, ValidationError};

/// Largest price accepted, in minor units (a typo guard: 10^12 UGX is far beyond any dish).
pub const MAX_PRICE_MINOR: i64 = 1_000_000_000_000;

/// A price as sent in JSON: a whole, non-negative number of the currency's minor units.
/// `1500.5` is refused for every currency (amounts are minor units), with a message saying
/// so for a currency that has no minor unit (UGX, RWF …).
pub fn price(field: &str, raw: &serde_json::Number, currency: Currency) -> Result<Money, ValidationError> {
    let minor = match raw.as_i64() {
        Some(minor) => minor,
        None if raw.as_u64().is_some() => {
            return Err(ValidationError::new(field, "is too large"));
        }
        None => {
            let message = if currency.exponent() == 0 {
                format!(
                    "must be a whole number: {} has no fractional unit",
                    currency.code()
                )
            } else {
                format!(
                    "must be a whole number of minor units ({} has {} decimals: 12.50 is 1250)",
                    currency.code(),
                    currency.exponent()
                )
            };
            return Err(ValidationError::new(field, message));
        }
    };
    if minor < 0 {
        return Err(ValidationError::new(field, "must not be negative"));
    }
    if minor > MAX_PRICE_MINOR {
        return Err(ValidationError::new(field, "is too large"));
    }
    Ok(Money::new(minor, currency))
}

/// Seats at a table: 1 to 1000.
pub fn seats(field: &str, raw: i64) -> Result<i32, ValidationError> {
    if (1..=1000).contains(&raw) {
        i32::try_from(raw).map_err(|_| ValidationError::new(field, "must be between 1 and 1000"))
    } else {
        Err(ValidationError::new(field, "must be between 1 and 1000"))
    }
}

/// A sort position: -100000 to 100000.
pub fn sort_order(field: &str, raw: i64) -> Result<i32, ValidationError> {
    if (-100_000..=100_000).contains(&raw) {
        i32::try_from(raw).map_err(|_| ValidationError::new(field, "must be between -100000 and 100000"))
    } else {
        Err(ValidationError::new(field, "must be between -100000 and 100000"))
    }
}

/// Optional free text (a section, an area): trimmed, empty means none, at most 80 characters.
pub fn optional_label(field: &str, raw: Option<&str>) -> Result<Option<String>, ValidationError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Label::parse_field(field, text).map(|l| Some(l.as_str().to_owned())),
    }
}

/// An image reference kept on a product or table. Uploads (`/api/admin/images`, helper of
/// issue 11 item 3) store files and hand back a path under `/pos-images/`; only such a path,
/// or an `https://` URL, is kept here — never anything that could climb out of the folder.
pub fn image_url(field: &str, raw: Option<&str>) -> Result<Option<String>, ValidationError> {
    let Some(value) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let allowed_prefix = value.starts_with("/pos-images/") || value.starts_with("https://");
    let clean = value.len() <= 500
        && !value.contains("..")
        && !value.contains('\\')
        && value.chars().all(|c| c.is_ascii_graphic());
    if allowed_prefix && clean {
        Ok(Some(value.to_owned()))
    } else {
        Err(ValidationError::new(
            field,
            "must be a path under /pos-images/ (as the upload returns) or an https:// URL",
        ))
    }
}

/// Why stock changed, kept with each movement: 1 to 200 characters.
pub fn stock_reason(raw: &str) -> Result<String, ValidationError> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > 200 {
        return Err(ValidationError::new("reason", "must be 1 to 200 characters"));
    }
    Ok(trimmed.to_owned())
}
