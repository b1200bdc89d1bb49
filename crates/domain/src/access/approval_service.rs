//! A manager's approval inside another person's request (spec §2): the approver types their
//! username and password, or their PIN on the requester's registered terminal, and is
//! re-authenticated with the same checks and the same lockout accounting as a login.
//! Whether the approver's role may approve a given action is then
//! [`crate::approval::approver_for`]'s (or a [`crate::approval::ThresholdRule`]'s) call.

use serde_json::json;

use super::auth_service::{AuthService, accepted};
use super::{AccessError, AccessPorts, Requester, record_failure, refuse_if_locked};
use crate::approval::{Actor, Approval, ApprovalMethod};
use crate::audit::NewAuditEntry;
use crate::auth::LoginScope;
use crate::staff::StaffCredentials;
use crate::validate::{MAX_PASSWORD_LEN, Pin, Username, ValidationError};

/// The approver's credentials, validated: a username and password, or a PIN.
#[derive(Clone)]
pub enum ApproverCredentials {
    Password { username: Username, password: String },
    Pin(Pin),
}

impl std::fmt::Debug for ApproverCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApproverCredentials::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .finish_non_exhaustive(),
            ApproverCredentials::Pin(_) => f.write_str("Pin(****)"),
        }
    }
}

impl ApproverCredentials {
    /// From the request's `approval` object: either `username` with `password`, or `pin`.
    /// Field names in errors are `approval.*`.
    pub fn parse(
        username: Option<String>,
        password: Option<String>,
        pin: Option<String>,
    ) -> Result<Self, ValidationError> {
        match (username, password, pin) {
            (Some(username), Some(password), None) => {
                let username = Username::parse(&username)
                    .map_err(|e| ValidationError::new("approval.username", e.message))?;
                if password.is_empty() || password.chars().count() > MAX_PASSWORD_LEN {
                    return Err(ValidationError::new(
                        "approval.password",
                        format!("must be 1 to {MAX_PASSWORD_LEN} characters"),
                    ));
                }
                Ok(ApproverCredentials::Password { username, password })
            }
            (None, None, Some(pin)) => Pin::parse(&pin)
                .map(ApproverCredentials::Pin)
                .map_err(|e| ValidationError::new("approval.pin", e.message)),
            (Some(_), None, None) => Err(ValidationError::new(
                "approval.password",
                "is required with a username",
            )),
            (None, Some(_), None) => Err(ValidationError::new(
                "approval.username",
                "is required with a password",
            )),
            _ => Err(ValidationError::new(
                "approval",
                "give either username and password, or pin",
            )),
        }
    }
}

/// Re-authenticating approvers.
#[derive(Clone)]
pub struct ApprovalService {
    ports: AccessPorts,
}

impl ApprovalService {
    pub fn new(ports: AccessPorts) -> Self {
        Self { ports }
    }

    /// Re-authenticates the approver for `requester`. Success writes `auth.approval` (actor:
    /// the approver, `requested_by`: the requester); the change approved then records both
    /// in its own entry (`actor_id`, `approver_id`). A wrong secret counts towards the
    /// approver's lockout (the username, or PINs on the terminal) and answers
    /// `InvalidApproval`; the failure that locks answers `Locked`.
    pub async fn approve(
        &self,
        requester: Requester,
        credentials: ApproverCredentials,
    ) -> Result<Approval, AccessError> {
        let now = self.ports.clock.now();
        let (scope, method, found, matches) = match credentials {
            ApproverCredentials::Password { username, password } => {
                let scope = LoginScope::Username(username.as_str().to_owned());
                refuse_if_locked(&self.ports, &scope, now).await?;
                let found = self.ports.staff.find_credentials(&username).await?;
                let hash = found.as_ref().map(|c| c.password_hash.clone());
                let matches = self.ports.secrets.verify(password, hash).await?;
                (scope, ApprovalMethod::Password, found, matches)
            }
            ApproverCredentials::Pin(pin) => {
                let terminal = requester.terminal_id.ok_or_else(|| {
                    ValidationError::new(
                        "approval.pin",
                        "PIN approval works only on a registered terminal; give username and password",
                    )
                })?;
                let terminal = self.ports.terminals.get_terminal(terminal).await?;
                let scope = LoginScope::TerminalPin(terminal.code);
                refuse_if_locked(&self.ports, &scope, now).await?;
                let found = AuthService::new(self.ports.clone()).find_by_pin(&pin).await?;
                let hash = found.as_ref().and_then(|c| c.pin_hash.clone());
                let matches = self.ports.secrets.verify(pin.expose().to_owned(), hash).await?;
                (scope, ApprovalMethod::Pin, found, matches)
            }
        };
        match accepted(found.clone(), matches) {
            Ok(staff) => {
                let audit = NewAuditEntry::new("auth.approval", "staff")
                    .actor(Some(staff.id))
                    .terminal(requester.terminal_id)
                    .entity_id(staff.id)
                    .after(json!({"method": method.as_str(), "requested_by": requester.actor.id}));
                self.ports.auth.record_success(&scope, now, audit).await?;
                Ok(Approval {
                    requested_by: requester.actor,
                    approver: Actor::new(staff.id, staff.role),
                    method,
                })
            }
            Err((_, reason)) => {
                let audit = failed_approval_audit(requester, &scope, found.as_ref(), reason);
                Err(record_failure(&self.ports, &scope, audit, now, AccessError::InvalidApproval).await)
            }
        }
    }
}

fn failed_approval_audit(
    requester: Requester,
    scope: &LoginScope,
    found: Option<&StaffCredentials>,
    reason: &str,
) -> NewAuditEntry {
    let mut after = json!({"reason": reason, "requested_by": requester.actor.id});
    if let Some(c) = found {
        after["staff_id"] = json!(c.staff.id);
    }
    NewAuditEntry::new("auth.approval_failed", "login")
        .actor(Some(requester.actor.id))
        .terminal(requester.terminal_id)
        .entity_id(scope.key())
        .after(after)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn field_of(username: Option<&str>, password: Option<&str>, pin: Option<&str>) -> Option<String> {
        ApproverCredentials::parse(
            username.map(str::to_owned),
            password.map(str::to_owned),
            pin.map(str::to_owned),
        )
        .err()
        .map(|e| e.field)
    }

    #[test]
    fn approvals_are_a_password_pair_or_a_pin() {
        assert!(matches!(
            ApproverCredentials::parse(Some("Grace".into()), Some("pw".into()), None),
            Ok(ApproverCredentials::Password { ref username, .. }) if username.as_str() == "grace"
        ));
        assert!(matches!(
            ApproverCredentials::parse(None, None, Some("4821".into())),
            Ok(ApproverCredentials::Pin(_))
        ));
        assert_eq!(field_of(None, None, None).as_deref(), Some("approval"));
        assert_eq!(
            field_of(Some("grace"), None, None).as_deref(),
            Some("approval.password")
        );
        assert_eq!(
            field_of(None, Some("pw"), None).as_deref(),
            Some("approval.username")
        );
        assert_eq!(field_of(None, None, Some("12")).as_deref(), Some("approval.pin"));
        assert_eq!(
            field_of(Some("grace"), Some(""), None).as_deref(),
            Some("approval.password")
        );
        assert_eq!(
            field_of(Some("grace"), Some("pw"), Some("1234")).as_deref(),
            Some("approval")
        );
        // The secret never shows in debug output.
        let shown = format!(
            "{:?}",
            ApproverCredentials::parse(Some("grace".into()), Some("hunter22".into()), None).unwrap()
        );
        assert!(!shown.contains("hunter22"), "{shown}");
    }
}
