//! JSON shapes shared by several route modules, and the OpenAPI names of domain enums.
//!
//! The domain crate knows nothing of utoipa, so its enums (`Role`, `TerminalKind`,
//! `Station`) are serialised as themselves and documented through the schema-only mirrors
//! here; a test keeps each mirror's values equal to the domain's.

use chrono::{DateTime, Utc};
use pos_domain::Role;
use pos_domain::ids::{StaffId, TerminalId};
use pos_domain::staff::{Staff, Station, Terminal, TerminalKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A staff role. admin > manager > cashier > waiter; kitchen and bar see only their station.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = Role)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum RoleSchema {
    Admin,
    Manager,
    Cashier,
    Waiter,
    Kitchen,
    Bar,
}

/// What a terminal is used as.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = TerminalKind)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum TerminalKindSchema {
    Pos,
    Kds,
    Manager,
    Mobile,
}

/// A preparation station.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = Station)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum StationSchema {
    Kitchen,
    Bar,
}

/// A staff member (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffView {
    #[schema(value_type = uuid::Uuid)]
    pub id: StaffId,
    pub username: String,
    pub full_name: String,
    #[schema(value_type = RoleSchema)]
    pub role: Role,
    pub active: bool,
    /// Until the password is changed, only `me`, `change-password` and `logout` answer.
    pub must_change_password: bool,
    /// Whether a PIN is set for terminal login.
    pub has_pin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Staff> for StaffView {
    fn from(staff: &Staff) -> Self {
        Self {
            id: staff.id,
            username: staff.username.as_str().to_owned(),
            full_name: staff.full_name.as_str().to_owned(),
            role: staff.role,
            active: staff.active,
            must_change_password: staff.must_change_password,
            has_pin: staff.has_pin,
            created_at: staff.created_at,
            updated_at: staff.updated_at,
        }
    }
}

impl StaffView {
    /// The audit log's picture of a staff member: what an admin can change.
    pub fn audit_json(staff: &Staff) -> serde_json::Value {
        staff.audit_picture()
    }
}

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TerminalView {
    #[schema(value_type = uuid::Uuid)]
    pub id: TerminalId,
    /// Typed at PIN login, e.g. `pos-1`.
    pub code: String,
    pub name: String,
    #[schema(value_type = TerminalKindSchema)]
    pub kind: TerminalKind,
    #[schema(value_type = Option<StationSchema>)]
    pub station: Option<Station>,
    pub location: Option<String>,
    pub has_printer: bool,
    pub has_cash_drawer: bool,
    pub active: bool,
    /// Last request made from a session on this terminal (updated about once a minute).
    pub last_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&Terminal> for TerminalView {
    fn from(t: &Terminal) -> Self {
        Self {
            id: t.id,
            code: t.code.clone(),
            name: t.name.as_str().to_owned(),
            kind: t.kind,
            station: t.station,
            location: t.location.clone(),
            has_printer: t.has_printer,
            has_cash_drawer: t.has_cash_drawer,
            active: t.active,
            last_seen_at: t.last_seen_at,
            created_at: t.created_at,
        }
    }
}

impl TerminalView {
    pub fn audit_json(t: &Terminal) -> serde_json::Value {
        t.audit_picture()
    }
}

// ----- input rules as schemas -------------------------------------------------------------------
//
// Request fields the domain parses from plain strings get their OpenAPI rule from the same
// bounds the parser uses (`#[schema(schema_with = …)]`), so the document states the rule a
// client breaks instead of describing it; the tests below hold each pattern to its parser.

/// What `Username::parse` accepts: 3–32 of letters, digits, `.`, `_`, `-` (stored lower-case),
/// surrounding blanks ignored.
pub const USERNAME_PATTERN: &str = r"^\s*[A-Za-z0-9._-]{3,32}\s*$";
/// What `Pin::parse` accepts: 4 to 6 digits, surrounding blanks ignored.
pub const PIN_PATTERN: &str = r"^\s*[0-9]{4,6}\s*$";
/// Shortest new password (`NewPassword::parse`).
pub const NEW_PASSWORD_MIN_LEN: usize = 8;

fn string_schema(nullable: bool) -> utoipa::openapi::schema::ObjectBuilder {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let kind = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new().schema_type(kind)
}

pub fn username_schema() -> utoipa::openapi::schema::Object {
    string_schema(false).pattern(Some(USERNAME_PATTERN)).build()
}

pub fn optional_username_schema() -> utoipa::openapi::schema::Object {
    string_schema(true).pattern(Some(USERNAME_PATTERN)).build()
}

pub fn pin_schema() -> utoipa::openapi::schema::Object {
    string_schema(false).pattern(Some(PIN_PATTERN)).build()
}

pub fn optional_pin_schema() -> utoipa::openapi::schema::Object {
    string_schema(true).pattern(Some(PIN_PATTERN)).build()
}

/// A password being presented: 1 to `MAX_PASSWORD_LEN` characters.
pub fn password_schema() -> utoipa::openapi::schema::Object {
    string_schema(false)
        .min_length(Some(1))
        .max_length(Some(pos_domain::validate::MAX_PASSWORD_LEN))
        .build()
}

pub fn optional_password_schema() -> utoipa::openapi::schema::Object {
    string_schema(true)
        .min_length(Some(1))
        .max_length(Some(pos_domain::validate::MAX_PASSWORD_LEN))
        .build()
}

/// A password being set: `NEW_PASSWORD_MIN_LEN` to `MAX_PASSWORD_LEN` characters.
pub fn new_password_schema() -> utoipa::openapi::schema::Object {
    string_schema(false)
        .min_length(Some(NEW_PASSWORD_MIN_LEN))
        .max_length(Some(pos_domain::validate::MAX_PASSWORD_LEN))
        .build()
}

/// `Option<Option<T>>` from JSON: absent → `None` (leave alone), `null` → `Some(None)`
/// (clear), a value → `Some(Some(v))`. Use with `#[serde(default, deserialize_with = …)]`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;
    use utoipa::PartialSchema;

    /// The values a schema's `enum` lists; the schema mirrors of domain enums are checked
    /// against the domain with it (here, in `orders` and in `routes::print_jobs`).
    pub(crate) fn enum_values<T: PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    /// A pattern of the form `^\s*[CLASS]{MIN,MAX}\s*$` checked by hand (no regex engine
    /// here): trim, then length and class.
    fn matches_trimmed_class(pattern: &str, value: &str, class: impl Fn(char) -> bool) -> bool {
        let bounds = pattern.rsplit('{').next().unwrap().split('}').next().unwrap();
        let (min, max) = bounds.split_once(',').unwrap();
        let (min, max): (usize, usize) = (min.parse().unwrap(), max.parse().unwrap());
        let trimmed = value.trim();
        (min..=max).contains(&trimmed.chars().count()) && trimmed.chars().all(class)
    }

    #[test]
    fn input_patterns_accept_exactly_what_the_parsers_accept() {
        use pos_domain::validate::{NewPassword, Pin, Username};
        let username_class = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        for sample in [
            "ab",
            "abc",
            " Phiona ",
            "a.b_c-d",
            &"x".repeat(32),
            &"x".repeat(33),
            "bad name",
            "é-abc",
            "",
        ] {
            assert_eq!(
                matches_trimmed_class(USERNAME_PATTERN, sample, username_class),
                Username::parse(sample).is_ok(),
                "{sample:?}"
            );
        }
        for sample in ["123", "1234", " 123456 ", "1234567", "12a4", "١٢٣٤"] {
            assert_eq!(
                matches_trimmed_class(PIN_PATTERN, sample, |c| c.is_ascii_digit()),
                Pin::parse(sample).is_ok(),
                "{sample:?}"
            );
        }
        assert!(NewPassword::parse("p", &"x".repeat(NEW_PASSWORD_MIN_LEN)).is_ok());
        assert!(NewPassword::parse("p", &"x".repeat(NEW_PASSWORD_MIN_LEN - 1)).is_err());
        let schema = serde_json::to_value(new_password_schema()).unwrap();
        assert_eq!(schema["maxLength"], pos_domain::validate::MAX_PASSWORD_LEN);
    }

    #[test]
    fn schema_mirrors_list_exactly_the_domain_values() {
        let roles: Vec<String> = Role::ALL.iter().map(|r| r.as_str().to_owned()).collect();
        assert_eq!(enum_values::<RoleSchema>(), roles);
        let kinds: Vec<String> = [
            TerminalKind::Pos,
            TerminalKind::Kds,
            TerminalKind::Manager,
            TerminalKind::Mobile,
        ]
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
        assert_eq!(enum_values::<TerminalKindSchema>(), kinds);
        for kind in &kinds {
            assert!(TerminalKind::parse(kind).is_ok());
        }
        assert_eq!(enum_values::<StationSchema>(), ["kitchen", "bar"]);
        // And the serialised domain values are the same strings.
        for role in Role::ALL {
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
    }
}
