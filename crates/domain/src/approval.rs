//! Who is acting, and who approved it.
//!
//! Sensitive actions (voids after send, refunds, big discounts, shift variances) are allowed
//! either to an actor whose role may do them, or to a lower role carrying the approval of
//! someone who may. The API re-authenticates the approver inside the same request and
//! hands both people here; the domain only decides whether the pair is enough.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::StaffId;
use crate::permissions::{Action, Role};

/// An authenticated staff member: the id from the verified token and the role it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    pub id: StaffId,
    pub role: Role,
}

impl Actor {
    pub const fn new(id: StaffId, role: Role) -> Self {
        Self { id, role }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApprovalError {
    #[error("{role} may not {action:?}")]
    NotPermitted { role: Role, action: Action },
    #[error("{action:?} needs the approval of a manager")]
    ApprovalRequired { action: Action },
    #[error("the approver ({role}) may not approve {action:?}")]
    ApproverNotAllowed { role: Role, action: Action },
}

impl ApprovalError {
    /// Stable machine-readable code for problem bodies.
    pub fn code(&self) -> &'static str {
        match self {
            ApprovalError::NotPermitted { .. } => "not_permitted",
            ApprovalError::ApprovalRequired { .. } => "approval_required",
            ApprovalError::ApproverNotAllowed { .. } => "approver_not_allowed",
        }
    }
}

/// Checks a plain permission: `NotPermitted` when the actor's role lacks `action`.
pub fn require(actor: Actor, action: Action) -> Result<(), ApprovalError> {
    if actor.role.may(action) {
        Ok(())
    } else {
        Err(ApprovalError::NotPermitted {
            role: actor.role,
            action,
        })
    }
}

/// Who authorises a sensitive `action`: the actor when their own role may do it, otherwise
/// an approver whose role may both do it and approve. The returned id is what the audit log
/// records as `approved_by`.
pub fn approver_for(actor: Actor, approval: Option<Actor>, action: Action) -> Result<StaffId, ApprovalError> {
    if actor.role.may(action) {
        return Ok(actor.id);
    }
    match approval {
        None => Err(ApprovalError::ApprovalRequired { action }),
        Some(approver) if approver.role.may(action) && approver.role.can_approve() => Ok(approver.id),
        Some(approver) => Err(ApprovalError::ApproverNotAllowed {
            role: approver.role,
            action,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor::new(StaffId::new(), role)
    }

    #[test]
    fn a_role_that_may_act_approves_itself() {
        let manager = actor(Role::Manager);
        assert_eq!(approver_for(manager, None, Action::VoidSentItems), Ok(manager.id));
    }

    #[test]
    fn a_lower_role_needs_an_approver_who_may_act() {
        let cashier = actor(Role::Cashier);
        let manager = actor(Role::Manager);
        assert_eq!(
            approver_for(cashier, None, Action::VoidSentItems),
            Err(ApprovalError::ApprovalRequired {
                action: Action::VoidSentItems
            })
        );
        assert_eq!(
            approver_for(cashier, Some(manager), Action::VoidSentItems),
            Ok(manager.id)
        );
        assert_eq!(
            approver_for(cashier, Some(actor(Role::Cashier)), Action::VoidSentItems),
            Err(ApprovalError::ApproverNotAllowed {
                role: Role::Cashier,
                action: Action::VoidSentItems
            })
        );
    }

    #[test]
    fn require_follows_the_matrix() {
        assert_eq!(require(actor(Role::Waiter), Action::SendOrder), Ok(()));
        assert_eq!(
            require(actor(Role::Kitchen), Action::SendOrder).map_err(|e| e.code()),
            Err("not_permitted")
        );
    }
}
