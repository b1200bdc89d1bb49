//! Who is acting, and who approved it.
//!
//! Sensitive actions (voids after send, refunds, big discounts, shift variances) are allowed
//! either to an actor whose role may do them, or to a lower role carrying the approval of
//! someone who may. The API re-authenticates the approver inside the same request and
//! hands both people here; the domain only decides whether the pair is enough.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::StaffId;
use crate::money::Money;
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

/// An amount rule for approvals: an amount whose size is above `limit` needs the approval
/// of someone whose role may do `above_limit`; at or below it, the actor's own permission
/// for the base action is enough.
///
/// How to use it (cash variance at shift close, a discount, a refund): check the base
/// permission with [`require`] first, then ask the rule with the amount and the approver
/// the API re-authenticated (if any), and record the answer in the audit entry's
/// `approver_id`:
///
/// ```
/// use pos_domain::approval::{Actor, ThresholdRule};
/// use pos_domain::ids::StaffId;
/// use pos_domain::money::{Currency, Money};
/// use pos_domain::permissions::{Action, Role};
///
/// let rule = ThresholdRule::new(Money::new(50_000, Currency::Kes), Action::ApproveSensitive);
/// let cashier = Actor::new(StaffId::new(), Role::Cashier);
/// let manager = Actor::new(StaffId::new(), Role::Manager);
/// // A variance of -300.00 KES is within 500.00: the cashier closes alone.
/// assert_eq!(rule.authorise(cashier, None, Money::new(-30_000, Currency::Kes)), Ok(None));
/// // -800.00 needs a manager; the manager's id goes to the audit log as the approver.
/// let big = Money::new(-80_000, Currency::Kes);
/// assert!(rule.authorise(cashier, None, big).is_err());
/// assert_eq!(rule.authorise(cashier, Some(manager), big), Ok(Some(manager.id)));
/// ```
///
/// The size is compared (a shortage and an overage of the same amount weigh the same). An
/// amount in another currency than the limit always needs approval: it cannot be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdRule {
    pub limit: Money,
    /// Who may go above the limit alone, and approve others doing so (with `can_approve`).
    pub above_limit: Action,
}

impl ThresholdRule {
    pub const fn new(limit: Money, above_limit: Action) -> Self {
        Self { limit, above_limit }
    }

    /// Whether `amount` is above the limit (by size), so that an approval is needed.
    pub fn requires_approval(&self, amount: Money) -> bool {
        amount.currency() != self.limit.currency()
            || amount.minor().unsigned_abs() > self.limit.minor().unsigned_abs()
    }

    /// `Ok(None)` when the amount is within the limit; `Ok(Some(id))` when it is above and
    /// `id` (the actor, if their role may do `above_limit`, else the approver) authorised
    /// it; `ApprovalRequired` / `ApproverNotAllowed` otherwise (see [`approver_for`]).
    pub fn authorise(
        &self,
        actor: Actor,
        approval: Option<Actor>,
        amount: Money,
    ) -> Result<Option<StaffId>, ApprovalError> {
        if !self.requires_approval(amount) {
            return Ok(None);
        }
        approver_for(actor, approval, self.above_limit).map(Some)
    }
}

/// A manager's approval given inside another person's request: who asked, who approved
/// (re-authenticated just now, by `method`). Both go into the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approval {
    pub requested_by: Actor,
    pub approver: Actor,
    pub method: ApprovalMethod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalMethod {
    Password,
    Pin,
}

impl ApprovalMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalMethod::Password => "password",
            ApprovalMethod::Pin => "pin",
        }
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

    #[test]
    fn amounts_above_the_limit_need_an_approver_who_may_go_above_it() {
        use crate::money::Currency;
        let kes = |minor| Money::new(minor, Currency::Kes);
        let rule = ThresholdRule::new(kes(1_000), Action::ApplyDiscountAboveLimit);
        let cashier = actor(Role::Cashier);
        let manager = actor(Role::Manager);
        // At the limit (either sign) the actor acts alone.
        assert!(!rule.requires_approval(kes(1_000)));
        assert!(!rule.requires_approval(kes(-1_000)));
        assert_eq!(rule.authorise(cashier, None, kes(1_000)), Ok(None));
        // One minor unit above: approval.
        assert!(rule.requires_approval(kes(1_001)));
        assert!(rule.requires_approval(kes(-1_001)));
        assert_eq!(
            rule.authorise(cashier, None, kes(1_001)).map_err(|e| e.code()),
            Err("approval_required")
        );
        assert_eq!(
            rule.authorise(cashier, Some(manager), kes(1_001)),
            Ok(Some(manager.id))
        );
        assert_eq!(
            rule.authorise(cashier, Some(actor(Role::Waiter)), kes(5_000))
                .map_err(|e| e.code()),
            Err("approver_not_allowed")
        );
        // A manager above the limit authorises themself.
        assert_eq!(rule.authorise(manager, None, kes(5_000)), Ok(Some(manager.id)));
        // Another currency cannot be compared: approval.
        assert!(rule.requires_approval(Money::new(1, Currency::Usd)));
    }
}
