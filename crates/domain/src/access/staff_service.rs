//! Staff accounts, login locks and terminals: the back-office use cases. Every change goes
//! through an `AuthStore` method that writes its audit entry (before and after pictures,
//! never a secret) in the same transaction; the staff rules are
//! [`crate::staff::plan_staff_change`]'s, applied by the store under its lock.

use serde_json::json;

use super::{AccessError, AccessPorts, Requester};
use crate::approval::{Actor, require};
use crate::audit::NewAuditEntry;
use crate::auth::{ActiveLock, LoginScope, PinSecret, StaffChanges, pin_lookup_digest};
use crate::error::StoreError;
use crate::ids::{StaffId, TerminalId};
use crate::permissions::{Action, Role};
use crate::staff::{NewStaff, NewTerminal, Staff, Terminal, TerminalChanges, update_action};
use crate::validate::{NewPassword, PersonName, Pin, Username};

/// A staff member to create, validated; the secrets are hashed by the service.
#[derive(Debug, Clone)]
pub struct CreateStaff {
    pub username: Username,
    pub full_name: PersonName,
    pub role: Role,
    pub password: NewPassword,
    pub pin: Option<Pin>,
    pub must_change_password: bool,
}

/// The staff-administration use cases.
#[derive(Clone)]
pub struct StaffService {
    ports: AccessPorts,
}

impl StaffService {
    pub fn new(ports: AccessPorts) -> Self {
        Self { ports }
    }

    fn admin(requester: Requester) -> Result<Actor, AccessError> {
        require(requester.actor, Action::ManageStaff)?;
        Ok(requester.actor)
    }

    /// Every staff member, active first, then by username.
    pub async fn list(&self, requester: Requester) -> Result<Vec<Staff>, AccessError> {
        Self::admin(requester)?;
        Ok(self.ports.staff.list_staff().await?)
    }

    pub async fn get(&self, requester: Requester, id: StaffId) -> Result<Staff, AccessError> {
        Self::admin(requester)?;
        Ok(self.ports.staff.get_staff(id).await?)
    }

    /// `UsernameTaken` / `PinTaken` when another member has either.
    pub async fn create(&self, requester: Requester, new: CreateStaff) -> Result<Staff, AccessError> {
        let actor = Self::admin(requester)?;
        let password_hash = self.ports.secrets.hash(new.password.expose().to_owned()).await?;
        let pin = match &new.pin {
            Some(pin) => Some(self.pin_secret(pin).await?),
            None => None,
        };
        let audit = NewAuditEntry::new("staff.created", "staff")
            .actor(Some(actor.id))
            .terminal(requester.terminal_id)
            .after(json!({
                "username": new.username.as_str(),
                "full_name": new.full_name.as_str(),
                "role": new.role,
                "active": true,
                "must_change_password": new.must_change_password,
                "has_pin": pin.is_some(),
            }));
        let (pin_hash, pin_lookup) = match pin {
            Some(PinSecret { hash, lookup }) => (Some(hash), Some(lookup)),
            None => (None, None),
        };
        let row = NewStaff {
            username: new.username,
            full_name: new.full_name,
            role: new.role,
            password_hash,
            pin_hash,
            must_change_password: new.must_change_password,
        };
        Ok(self
            .ports
            .auth
            .create_staff_audited(row, pin_lookup, audit)
            .await?)
    }

    /// Name, role, active flag. A role change or (de)activation ends the member's sessions;
    /// the last active admin stays (`Rule(LastActiveAdmin)`). No change: the member as is.
    pub async fn update(
        &self,
        requester: Requester,
        id: StaffId,
        changes: StaffChanges,
    ) -> Result<Staff, AccessError> {
        let actor = Self::admin(requester)?;
        let before = self.ports.staff.get_staff(id).await?;
        if changes == StaffChanges::default() {
            return Ok(before);
        }
        let mut projected = before.clone();
        if let Some(name) = &changes.full_name {
            projected.full_name = name.clone();
        }
        if let Some(role) = changes.role {
            projected.role = role;
        }
        if let Some(active) = changes.active {
            projected.active = active;
        }
        let audit = NewAuditEntry::new(update_action(&before, &changes), "staff")
            .actor(Some(actor.id))
            .terminal(requester.terminal_id)
            .entity_id(id)
            .before(before.audit_picture())
            .after(projected.audit_picture());
        Ok(self.ports.auth.update_staff(id, changes, audit).await?)
    }

    /// A new password the member must change at next login; their sessions end.
    pub async fn reset_password(
        &self,
        requester: Requester,
        id: StaffId,
        password: NewPassword,
    ) -> Result<Staff, AccessError> {
        let actor = Self::admin(requester)?;
        // Refuse an unknown id before spending a hash on it.
        self.ports.staff.get_staff(id).await?;
        let hash = self.ports.secrets.hash(password.expose().to_owned()).await?;
        let audit = NewAuditEntry::new("staff.password_reset", "staff")
            .actor(Some(actor.id))
            .terminal(requester.terminal_id)
            .entity_id(id)
            .after(json!({"must_change_password": true}));
        Ok(self.ports.auth.set_password(id, hash, true, audit).await?)
    }

    /// Sets (`Some`) or clears (`None`) the member's PIN; `PinTaken` when another active
    /// member has it.
    pub async fn set_pin(
        &self,
        requester: Requester,
        id: StaffId,
        pin: Option<Pin>,
    ) -> Result<Staff, AccessError> {
        let actor = Self::admin(requester)?;
        let before = self.ports.staff.get_staff(id).await?;
        let secret = match &pin {
            Some(pin) => Some(self.pin_secret(pin).await?),
            None => None,
        };
        let action = if pin.is_some() {
            "staff.pin_set"
        } else {
            "staff.pin_cleared"
        };
        let audit = NewAuditEntry::new(action, "staff")
            .actor(Some(actor.id))
            .terminal(requester.terminal_id)
            .entity_id(id)
            .before(json!({"has_pin": before.has_pin}))
            .after(json!({"has_pin": pin.is_some()}));
        Ok(self.ports.auth.set_pin(id, secret, audit).await?)
    }

    /// Locks in force, soonest to expire first ([`Action::UnlockAccounts`]).
    pub async fn locks(&self, requester: Requester) -> Result<Vec<ActiveLock>, AccessError> {
        require(requester.actor, Action::UnlockAccounts)?;
        Ok(self.ports.auth.active_locks(self.ports.clock.now()).await?)
    }

    /// Lifts the lock on a member's username.
    pub async fn unlock_staff(&self, requester: Requester, id: StaffId) -> Result<(), AccessError> {
        require(requester.actor, Action::UnlockAccounts)?;
        let staff = self.ports.staff.get_staff(id).await?;
        self.unlock(
            requester,
            &LoginScope::Username(staff.username.as_str().to_owned()),
        )
        .await
    }

    /// Lifts a lock by scope; `NotLocked` when nothing is locked there.
    pub async fn unlock(&self, requester: Requester, scope: &LoginScope) -> Result<(), AccessError> {
        require(requester.actor, Action::UnlockAccounts)?;
        let audit = NewAuditEntry::new("auth.unlocked", "login")
            .actor(Some(requester.actor.id))
            .terminal(requester.terminal_id)
            .entity_id(scope.key());
        match self.ports.auth.unlock(scope, audit).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound { .. }) => Err(AccessError::NotLocked { scope: scope.key() }),
            Err(other) => Err(other.into()),
        }
    }

    /// The stored form of a PIN: its hash and its lookup digest.
    async fn pin_secret(&self, pin: &Pin) -> Result<PinSecret, AccessError> {
        let pepper = self.ports.auth.pin_pepper().await?;
        let lookup = pin_lookup_digest(&pepper, pin);
        let hash = self.ports.secrets.hash(pin.expose().to_owned()).await?;
        Ok(PinSecret { hash, lookup })
    }
}

/// A terminal change that happened, and whether its audit entry could be written (terminal
/// changes and their entries are not one transaction: a failed entry is logged, and the
/// change stands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalWritten {
    pub terminal: Terminal,
    pub audit: Result<(), StoreError>,
}

/// Registering and changing terminals ([`Action::ManageTerminals`]).
#[derive(Clone)]
pub struct TerminalService {
    ports: AccessPorts,
}

impl TerminalService {
    pub fn new(ports: AccessPorts) -> Self {
        Self { ports }
    }

    pub async fn list(&self, requester: Requester) -> Result<Vec<Terminal>, AccessError> {
        require(requester.actor, Action::ManageTerminals)?;
        Ok(self.ports.terminals.list_terminals().await?)
    }

    pub async fn get(&self, requester: Requester, id: TerminalId) -> Result<Terminal, AccessError> {
        require(requester.actor, Action::ManageTerminals)?;
        Ok(self.ports.terminals.get_terminal(id).await?)
    }

    /// `TerminalCodeTaken` when the code is in use.
    pub async fn create(
        &self,
        requester: Requester,
        new: NewTerminal,
    ) -> Result<TerminalWritten, AccessError> {
        require(requester.actor, Action::ManageTerminals)?;
        let terminal = self.ports.terminals.create_terminal(new).await?;
        let audit = NewAuditEntry::new("terminal.created", "terminal")
            .actor(Some(requester.actor.id))
            .terminal(requester.terminal_id)
            .entity_id(terminal.id)
            .after(terminal.audit_picture());
        let audit = self.ports.audit.append_audit(audit).await.map(|_| ());
        Ok(TerminalWritten { terminal, audit })
    }

    /// No change: the terminal as is, nothing written.
    pub async fn update(
        &self,
        requester: Requester,
        id: TerminalId,
        changes: TerminalChanges,
    ) -> Result<TerminalWritten, AccessError> {
        require(requester.actor, Action::ManageTerminals)?;
        let before = self.ports.terminals.get_terminal(id).await?;
        if changes == TerminalChanges::default() {
            return Ok(TerminalWritten {
                terminal: before,
                audit: Ok(()),
            });
        }
        let terminal = self.ports.terminals.update_terminal(id, changes).await?;
        let audit = NewAuditEntry::new("terminal.updated", "terminal")
            .actor(Some(requester.actor.id))
            .terminal(requester.terminal_id)
            .entity_id(terminal.id)
            .before(before.audit_picture())
            .after(terminal.audit_picture());
        let audit = self.ports.audit.append_audit(audit).await.map(|_| ());
        Ok(TerminalWritten { terminal, audit })
    }
}
