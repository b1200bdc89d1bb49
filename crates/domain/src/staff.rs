//! Staff members and terminals: who acts, and from where.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{StaffId, TerminalId};
use crate::permissions::Role;
use crate::validate::{Label, PersonName, Username, ValidationError};

/// A staff member as the rest of the product sees them (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub id: StaffId,
    pub username: Username,
    pub full_name: PersonName,
    pub role: Role,
    pub active: bool,
    pub must_change_password: bool,
    /// Bumped on logout-everywhere, password change, role change and deactivation: a token
    /// carrying an older version is dead.
    pub token_version: i32,
    pub has_pin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The secrets kept for a staff member; only the auth use cases ever see this.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffCredentials {
    pub staff: Staff,
    pub password_hash: String,
    pub pin_hash: Option<String>,
}

impl std::fmt::Debug for StaffCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffCredentials")
            .field("staff", &self.staff)
            .finish_non_exhaustive()
    }
}

/// What creating a staff member needs; the password arrives already hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    pub username: Username,
    pub full_name: PersonName,
    pub role: Role,
    pub password_hash: String,
    pub pin_hash: Option<String>,
    pub must_change_password: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminalKind {
    Pos,
    Kds,
    Manager,
    Mobile,
}

impl TerminalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TerminalKind::Pos => "pos",
            TerminalKind::Kds => "kds",
            TerminalKind::Manager => "manager",
            TerminalKind::Mobile => "mobile",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "pos" => Ok(TerminalKind::Pos),
            "kds" => Ok(TerminalKind::Kds),
            "manager" => Ok(TerminalKind::Manager),
            "mobile" => Ok(TerminalKind::Mobile),
            _ => Err(ValidationError::new(
                "kind",
                "must be one of pos, kds, manager, mobile",
            )),
        }
    }
}

/// Where an item is prepared. Items with no station need no preparation (e.g. bottled water
/// handed over the counter) and go straight to ready when sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Station {
    Kitchen,
    Bar,
}

impl Station {
    pub fn as_str(self) -> &'static str {
        match self {
            Station::Kitchen => "kitchen",
            Station::Bar => "bar",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "kitchen" => Ok(Station::Kitchen),
            "bar" => Ok(Station::Bar),
            _ => Err(ValidationError::new("station", "must be kitchen or bar")),
        }
    }
}

/// A registered device: POS till, kitchen display, manager console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terminal {
    pub id: TerminalId,
    /// Short code typed at PIN login, e.g. `pos-1`.
    pub code: String,
    pub name: Label,
    pub kind: TerminalKind,
    pub station: Option<Station>,
    pub location: Option<String>,
    pub has_printer: bool,
    pub has_cash_drawer: bool,
    pub active: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTerminal {
    pub code: String,
    pub name: Label,
    pub kind: TerminalKind,
    pub station: Option<Station>,
    pub location: Option<String>,
    pub has_printer: bool,
    pub has_cash_drawer: bool,
}

/// Changes an admin makes to a terminal; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerminalChanges {
    pub code: Option<String>,
    pub name: Option<Label>,
    pub kind: Option<TerminalKind>,
    /// `Some(None)` clears the station.
    pub station: Option<Option<Station>>,
    pub location: Option<Option<String>>,
    pub has_printer: Option<bool>,
    pub has_cash_drawer: Option<bool>,
    pub active: Option<bool>,
}

/// Terminal codes: 2–32 of `a-z 0-9 -`, lower-case.
pub fn parse_terminal_code(raw: &str) -> Result<String, ValidationError> {
    let value = raw.trim().to_ascii_lowercase();
    if !(2..=32).contains(&value.len()) || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ValidationError::new(
            "terminal",
            "must be 2 to 32 letters, digits or '-'",
        ));
    }
    Ok(value)
}
