//! Signing in (password or terminal PIN), logout, logout everywhere, changing one's password.
//! Tokens are the API's business: these methods answer who signed in, and the API issues
//! the session for them.

use serde_json::json;

use super::{AccessError, AccessPorts, Requester, record_failure, refuse_if_locked};
use crate::audit::NewAuditEntry;
use crate::auth::{LoginScope, pin_lookup_digest};
use crate::ids::TerminalId;
use crate::staff::{Staff, StaffCredentials, Terminal, parse_terminal_code};
use crate::validate::{MAX_PASSWORD_LEN, NewPassword, Pin, Username, ValidationError};

/// The authentication use cases.
#[derive(Clone)]
pub struct AuthService {
    ports: AccessPorts,
}

/// A PIN login that succeeded: who, and on which terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinLogin {
    pub staff: Staff,
    pub terminal: Terminal,
}

impl AuthService {
    pub fn new(ports: AccessPorts) -> Self {
        Self { ports }
    }

    /// Username and password. Unknown usernames, wrong passwords and deactivated accounts
    /// all answer `InvalidCredentials` after the same work; the failure counts towards the
    /// username's lockout (`Locked` once locked).
    pub async fn login(&self, username: &str, password: String) -> Result<Staff, AccessError> {
        let username = Username::parse(username)?;
        check_presented_password("password", &password)?;
        let scope = LoginScope::Username(username.as_str().to_owned());
        let now = self.ports.clock.now();
        refuse_if_locked(&self.ports, &scope, now).await?;

        let credentials = self.ports.staff.find_credentials(&username).await?;
        let hash = credentials.as_ref().map(|c| c.password_hash.clone());
        let matches = self.ports.secrets.verify(password, hash).await?;
        match accepted(credentials, matches) {
            Ok(staff) => {
                let audit = NewAuditEntry::new("auth.login", "staff")
                    .actor(Some(staff.id))
                    .entity_id(staff.id)
                    .after(json!({"method": "password"}));
                self.ports.auth.record_success(&scope, now, audit).await?;
                Ok(staff)
            }
            Err((staff, reason)) => {
                let audit = failed_login_audit(&scope, staff.as_ref(), None, reason);
                Err(record_failure(&self.ports, &scope, audit, now, AccessError::InvalidCredentials).await)
            }
        }
    }

    /// A staff PIN on a registered, active terminal (`TerminalNotRegistered` otherwise).
    /// Wrong PINs count per terminal.
    pub async fn pin_login(&self, terminal: &str, pin: &str) -> Result<PinLogin, AccessError> {
        let code = parse_terminal_code(terminal)?;
        let pin = Pin::parse(pin)?;
        let terminal = self
            .ports
            .terminals
            .find_terminal(&code)
            .await?
            .filter(|t| t.active)
            .ok_or(AccessError::TerminalNotRegistered)?;
        let scope = LoginScope::TerminalPin(code);
        let now = self.ports.clock.now();
        refuse_if_locked(&self.ports, &scope, now).await?;

        let credentials = self.find_by_pin(&pin).await?;
        let hash = credentials.as_ref().and_then(|c| c.pin_hash.clone());
        let matches = self.ports.secrets.verify(pin.expose().to_owned(), hash).await?;
        match accepted(credentials, matches) {
            Ok(staff) => {
                let audit = NewAuditEntry::new("auth.login", "staff")
                    .actor(Some(staff.id))
                    .terminal(Some(terminal.id))
                    .entity_id(staff.id)
                    .after(json!({"method": "pin", "terminal": terminal.code}));
                self.ports.auth.record_success(&scope, now, audit).await?;
                Ok(PinLogin { staff, terminal })
            }
            Err((staff, reason)) => {
                let audit = failed_login_audit(&scope, staff.as_ref(), Some(terminal.id), reason);
                Err(record_failure(&self.ports, &scope, audit, now, AccessError::InvalidCredentials).await)
            }
        }
    }

    /// Records the logout. Never fails: the browser must be able to sign out even when the
    /// log cannot be written (the failure is logged by the caller).
    pub async fn logout(&self, requester: Requester) -> Result<(), AccessError> {
        let audit = NewAuditEntry::new("auth.logout", "staff")
            .actor(Some(requester.actor.id))
            .terminal(requester.terminal_id)
            .entity_id(requester.actor.id);
        self.ports.audit.append_audit(audit).await?;
        Ok(())
    }

    /// Ends every session of the requester's account (the token version moves on).
    pub async fn logout_all(&self, requester: Requester, staff: &Staff) -> Result<Staff, AccessError> {
        let audit = NewAuditEntry::new("auth.logout_all", "staff")
            .actor(Some(requester.actor.id))
            .terminal(requester.terminal_id)
            .entity_id(requester.actor.id)
            .before(json!({"token_version": staff.token_version}));
        Ok(self
            .ports
            .auth
            .bump_token_version(requester.actor.id, audit)
            .await?)
    }

    /// Changes the requester's own password (ending every other session). A wrong current
    /// password counts as a failed login on the username.
    pub async fn change_password(
        &self,
        requester: Requester,
        staff: &Staff,
        current_password: String,
        new_password: &str,
    ) -> Result<Staff, AccessError> {
        check_presented_password("current_password", &current_password)?;
        let new_password = NewPassword::parse("new_password", new_password)?;
        if new_password.expose() == current_password {
            return Err(ValidationError::new("new_password", "must differ from the current password").into());
        }
        let scope = LoginScope::Username(staff.username.as_str().to_owned());
        let now = self.ports.clock.now();
        refuse_if_locked(&self.ports, &scope, now).await?;

        let credentials = self.ports.auth.credentials(requester.actor.id).await?;
        let matches = self
            .ports
            .secrets
            .verify(current_password, Some(credentials.password_hash))
            .await?;
        if !matches {
            let audit = failed_login_audit(
                &scope,
                Some(staff),
                requester.terminal_id,
                "wrong_current_password",
            );
            return Err(
                record_failure(&self.ports, &scope, audit, now, AccessError::InvalidCredentials).await,
            );
        }
        let hash = self.ports.secrets.hash(new_password.expose().to_owned()).await?;
        let audit = NewAuditEntry::new("staff.password_changed", "staff")
            .actor(Some(requester.actor.id))
            .terminal(requester.terminal_id)
            .entity_id(requester.actor.id)
            .before(json!({"must_change_password": staff.must_change_password}))
            .after(json!({"must_change_password": false}));
        Ok(self
            .ports
            .auth
            .set_password(requester.actor.id, hash, false, audit)
            .await?)
    }

    pub(super) async fn find_by_pin(&self, pin: &Pin) -> Result<Option<StaffCredentials>, AccessError> {
        let pepper = self.ports.auth.pin_pepper().await?;
        let lookup = pin_lookup_digest(&pepper, pin);
        Ok(self.ports.auth.find_by_pin_lookup(&lookup).await?)
    }
}

/// A presented (not new) password: non-empty and at most [`MAX_PASSWORD_LEN`] characters,
/// checked before any hashing so the work per request stays bounded.
pub fn check_presented_password(field: &str, password: &str) -> Result<(), ValidationError> {
    if password.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if password.chars().count() > MAX_PASSWORD_LEN {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// The staff member whose secret matched and who may sign in, or why not.
pub(super) fn accepted(
    credentials: Option<StaffCredentials>,
    matches: bool,
) -> Result<Staff, (Option<Staff>, &'static str)> {
    match credentials {
        None => Err((None, "unknown_account")),
        Some(c) if !matches => Err((Some(c.staff), "wrong_secret")),
        // Answered like a wrong secret: a deactivated account's existence is not confirmed.
        Some(c) if !c.staff.active => Err((Some(c.staff), "inactive_account")),
        Some(c) => Ok(c.staff),
    }
}

fn failed_login_audit(
    scope: &LoginScope,
    staff: Option<&Staff>,
    terminal: Option<TerminalId>,
    reason: &str,
) -> NewAuditEntry {
    let after = match staff {
        Some(staff) => json!({"reason": reason, "staff_id": staff.id}),
        None => json!({"reason": reason}),
    };
    NewAuditEntry::new("auth.login_failed", "login")
        .terminal(terminal)
        .entity_id(scope.key())
        .after(after)
}
