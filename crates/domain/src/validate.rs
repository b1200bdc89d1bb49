//! Validated newtypes: a value that exists is valid (parse, don't validate).
//!
//! Every `parse` names the field it guards, so the API can answer a 4xx that says which
//! input was wrong without knowing the rule.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// One rejected input: which field, and why, in words a cashier or integrator can act on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

fn bounded_text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, ValidationError> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(if min == 1 {
            ValidationError::new(field, "must not be empty")
        } else {
            ValidationError::new(field, format!("must be at least {min} characters"))
        });
    }
    if len > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = $max;
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                Self::parse_field($field, raw)
            }
            /// Like `parse`, naming `field` in the error (e.g. `items[2].notes`).
            pub fn parse_field(field: &str, raw: &str) -> Result<Self, ValidationError> {
                bounded_text(field, raw, $min, $max).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// A person's display name.
    PersonName, "full_name", 1, 100
);
text_type!(
    /// A short label: table code, terminal name, category or section name.
    Label, "name", 1, 80
);
text_type!(
    /// Free text on an order or item (kitchen notes, void reasons).
    Note, "notes", 0, 500
);

/// A login name: 3–32 of `a-z 0-9 . _ -`, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim().to_ascii_lowercase();
        if !(3..=32).contains(&value.len()) {
            return Err(ValidationError::new("username", "must be 3 to 32 characters"));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err(ValidationError::new(
                "username",
                "may contain only letters, digits, '.', '_' and '-'",
            ));
        }
        Ok(Self(value))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}
impl From<Username> for String {
    fn from(v: Username) -> String {
        v.0
    }
}
impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A terminal PIN: 4 to 6 digits. Never logged, never serialised back out.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        if !(4..=6).contains(&value.len()) || !value.chars().all(|c| c.is_ascii_digit()) {
            return Err(ValidationError::new("pin", "must be 4 to 6 digits"));
        }
        Ok(Self(value.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(****)")
    }
}

/// A password being set: 8–128 characters and not the demo password.
/// (Passwords being *checked* are only length-capped, so that old passwords still work.)
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

/// The password every seeded account starts with; never accepted as a new password.
pub const DEMO_PASSWORD: &str = "password123";
/// Longest password accepted anywhere: bounds the hashing work an attacker can ask for.
pub const MAX_PASSWORD_LEN: usize = 128;

impl NewPassword {
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let len = raw.chars().count();
        if len < 8 {
            return Err(ValidationError::new(field, "must be at least 8 characters"));
        }
        if len > MAX_PASSWORD_LEN {
            return Err(ValidationError::new(
                field,
                format!("must be at most {MAX_PASSWORD_LEN} characters"),
            ));
        }
        if raw == DEMO_PASSWORD {
            return Err(ValidationError::new(field, "must not be the demo password"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(****)")
    }
}

/// A stock-keeping unit: 1–40 of `A-Z 0-9 -  _`, stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim().to_ascii_uppercase();
        if value.is_empty() || value.len() > 40 {
            return Err(ValidationError::new("sku", "must be 1 to 40 characters"));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
        {
            return Err(ValidationError::new(
                "sku",
                "may contain only letters, digits, '-' and '_'",
            ));
        }
        Ok(Self(value))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}
impl From<Sku> for String {
    fn from(v: Sku) -> String {
        v.0
    }
}

/// How many of an item: 1 to 999 (a bigger number is a typo, not an order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(u16);

impl Quantity {
    pub const MAX: u16 = 999;
    pub fn parse(field: &str, raw: i64) -> Result<Self, ValidationError> {
        if raw < 1 || raw > i64::from(Self::MAX) {
            return Err(ValidationError::new(
                field,
                format!("must be between 1 and {}", Self::MAX),
            ));
        }
        u16::try_from(raw)
            .map(Self)
            .map_err(|_| ValidationError::new(field, "out of range"))
    }
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<i64> for Quantity {
    type Error = ValidationError;
    fn try_from(raw: i64) -> Result<Self, Self::Error> {
        Self::parse("quantity", raw)
    }
}
impl From<Quantity> for i64 {
    fn from(q: Quantity) -> i64 {
        i64::from(q.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_bounded() {
        assert_eq!(
            Username::parse("  Phiona ").map(|u| u.as_str().to_owned()),
            Ok("phiona".into())
        );
        assert_eq!(Username::parse("ab").map_err(|e| e.field), Err("username".into()));
        assert!(Username::parse("bad name").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn pins_are_4_to_6_digits() {
        assert!(Pin::parse("1234").is_ok());
        assert!(Pin::parse("123456").is_ok());
        assert!(Pin::parse("123").is_err());
        assert!(Pin::parse("1234567").is_err());
        assert!(Pin::parse("12a4").is_err());
        assert_eq!(format!("{:?}", Pin::parse("1234")), "Ok(Pin(****))");
    }

    #[test]
    fn new_passwords_reject_short_long_and_demo() {
        assert!(NewPassword::parse("new_password", "short").is_err());
        assert!(NewPassword::parse("new_password", DEMO_PASSWORD).is_err());
        assert!(NewPassword::parse("new_password", &"x".repeat(129)).is_err());
        assert!(NewPassword::parse("new_password", "correct horse").is_ok());
    }

    #[test]
    fn quantities_are_1_to_999() {
        assert!(Quantity::parse("quantity", 0).is_err());
        assert!(Quantity::parse("quantity", -1).is_err());
        assert!(Quantity::parse("quantity", 1_000_000_000).is_err());
        assert_eq!(Quantity::parse("quantity", 999).map(Quantity::get), Ok(999));
    }

    #[test]
    fn text_is_trimmed_and_capped() {
        assert_eq!(Label::parse("  T1 ").map(String::from), Ok("T1".to_owned()));
        assert!(Label::parse("").is_err());
        assert!(Note::parse(&"x".repeat(501)).is_err());
        assert!(Note::parse("").is_ok());
        assert_eq!(
            Note::parse_field("items[1].notes", &"x".repeat(501)).map_err(|e| e.field),
            Err("items[1].notes".into())
        );
    }

    #[test]
    fn skus_are_upper_cased() {
        assert_eq!(
            Sku::parse("food-bf-001").map(|s| s.as_str().to_owned()),
            Ok("FOOD-BF-001".into())
        );
        assert!(Sku::parse("bad sku").is_err());
    }
}
