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

/// A staff rule a change would break. Each has a stable code for problem bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StaffRuleError {
    /// The venue must keep at least one active admin, or nobody could manage staff again.
    #[error("the last active admin cannot be deactivated, demoted or deleted")]
    LastActiveAdmin,
}

impl StaffRuleError {
    pub fn code(self) -> &'static str {
        match self {
            StaffRuleError::LastActiveAdmin => "last_active_admin",
        }
    }
}

/// What a staff-changing port method may refuse with: a domain rule, or the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffChangeError {
    #[error(transparent)]
    Rule(#[from] StaffRuleError),
    #[error(transparent)]
    Store(#[from] crate::error::StoreError),
}

/// The last-active-admin rule: `staff` may stop being an active admin (demotion,
/// deactivation, deletion) only while `other_active_admins` (active admins other than
/// `staff`) is not zero. Stores count the others under a lock that makes concurrent
/// demotions wait for each other, then ask this.
pub fn keeps_an_active_admin(
    staff: &Staff,
    stays_active_admin: bool,
    other_active_admins: usize,
) -> Result<(), StaffRuleError> {
    let is_active_admin = staff.role == Role::Admin && staff.active;
    if is_active_admin && !stays_active_admin && other_active_admins == 0 {
        Err(StaffRuleError::LastActiveAdmin)
    } else {
        Ok(())
    }
}

/// The row a change writes, decided by the domain: the values after the change and the
/// token version (moved on when the change ends the member's sessions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUpdate {
    pub full_name: PersonName,
    pub role: Role,
    pub active: bool,
    pub sessions_end: Option<crate::auth::SessionsEnd>,
    pub token_version: i32,
}

/// Applies `changes` to `current` under the staff rules; `other_active_admins` as for
/// [`keeps_an_active_admin`]. Every store calls this under its lock and writes the result.
pub fn plan_staff_change(
    current: &Staff,
    changes: &crate::auth::StaffChanges,
    other_active_admins: usize,
) -> Result<StaffUpdate, StaffRuleError> {
    let role = changes.role.unwrap_or(current.role);
    let active = changes.active.unwrap_or(current.active);
    keeps_an_active_admin(current, role == Role::Admin && active, other_active_admins)?;
    let sessions_end = crate::auth::sessions_end_on_change(current, role, active);
    Ok(StaffUpdate {
        full_name: changes
            .full_name
            .clone()
            .unwrap_or_else(|| current.full_name.clone()),
        role,
        active,
        sessions_end,
        token_version: crate::auth::next_token_version(current.token_version, sessions_end),
    })
}

/// The audit verb of an update: the most consequential part of it.
pub fn update_action(before: &Staff, changes: &crate::auth::StaffChanges) -> &'static str {
    match (changes.active, changes.role) {
        (Some(false), _) if before.active => "staff.deactivated",
        (Some(true), _) if !before.active => "staff.activated",
        (_, Some(role)) if role != before.role => "staff.role_changed",
        _ => "staff.updated",
    }
}

impl Staff {
    /// What the audit log keeps of a staff member in `before`/`after` (never a secret).
    pub fn audit_picture(&self) -> serde_json::Value {
        serde_json::json!({
            "username": self.username.as_str(),
            "full_name": self.full_name.as_str(),
            "role": self.role,
            "active": self.active,
            "must_change_password": self.must_change_password,
            "has_pin": self.has_pin,
        })
    }
}

impl Terminal {
    /// What the audit log keeps of a terminal in `before`/`after`.
    pub fn audit_picture(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code,
            "name": self.name.as_str(),
            "kind": self.kind,
            "station": self.station,
            "location": self.location,
            "has_printer": self.has_printer,
            "has_cash_drawer": self.has_cash_drawer,
            "active": self.active,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod rule_tests {
    use super::*;
    use crate::auth::{SessionsEnd, StaffChanges};

    fn staff(role: Role, active: bool) -> Staff {
        let now = Utc::now();
        Staff {
            id: StaffId::new(),
            username: Username::parse("grace").unwrap(),
            full_name: PersonName::parse("Grace").unwrap(),
            role,
            active,
            must_change_password: false,
            token_version: 4,
            has_pin: false,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn the_last_active_admin_is_neither_demoted_nor_deactivated_nor_deleted() {
        let admin = staff(Role::Admin, true);
        let demote = StaffChanges {
            role: Some(Role::Manager),
            ..StaffChanges::default()
        };
        let deactivate = StaffChanges {
            active: Some(false),
            ..StaffChanges::default()
        };
        for changes in [&demote, &deactivate] {
            assert_eq!(
                plan_staff_change(&admin, changes, 0),
                Err(StaffRuleError::LastActiveAdmin)
            );
            assert!(plan_staff_change(&admin, changes, 1).is_ok());
        }
        assert_eq!(
            keeps_an_active_admin(&admin, false, 0).map_err(StaffRuleError::code),
            Err("last_active_admin")
        );
        // Renaming the last admin, or changing someone who is not an active admin, is fine.
        let rename = StaffChanges {
            full_name: Some(PersonName::parse("Grace N.").unwrap()),
            ..StaffChanges::default()
        };
        assert_eq!(plan_staff_change(&admin, &rename, 0).unwrap().token_version, 4);
        assert!(plan_staff_change(&staff(Role::Admin, false), &demote, 0).is_ok());
        assert!(plan_staff_change(&staff(Role::Manager, true), &deactivate, 0).is_ok());
    }

    #[test]
    fn role_and_active_changes_move_the_token_version_a_rename_does_not() {
        let cashier = staff(Role::Cashier, true);
        let promote = StaffChanges {
            role: Some(Role::Manager),
            ..StaffChanges::default()
        };
        let update = plan_staff_change(&cashier, &promote, 0).unwrap();
        assert_eq!(update.sessions_end, Some(SessionsEnd::RoleChanged));
        assert_eq!(update.token_version, 5);
        let deactivate = StaffChanges {
            active: Some(false),
            ..StaffChanges::default()
        };
        let update = plan_staff_change(&cashier, &deactivate, 0).unwrap();
        assert_eq!(update.sessions_end, Some(SessionsEnd::Deactivated));
        assert_eq!(update.token_version, 5);
        // The same role again is no change.
        let same = StaffChanges {
            role: Some(Role::Cashier),
            active: Some(true),
            ..StaffChanges::default()
        };
        assert_eq!(plan_staff_change(&cashier, &same, 0).unwrap().sessions_end, None);
        assert_eq!(update_action(&cashier, &deactivate), "staff.deactivated");
        assert_eq!(update_action(&cashier, &promote), "staff.role_changed");
    }
}
