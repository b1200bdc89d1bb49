//! Roles and the permission matrix (spec §2), as data.
//!
//! Every "may this actor do X" in the product is answered by [`Role::may`]; the API never
//! compares role names. The matrix is one table so that it can be read, reviewed and
//! walked by tests in one place.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::validate::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    Cashier,
    Waiter,
    Kitchen,
    Bar,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Manager,
        Role::Cashier,
        Role::Waiter,
        Role::Kitchen,
        Role::Bar,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Cashier => "cashier",
            Role::Waiter => "waiter",
            Role::Kitchen => "kitchen",
            Role::Bar => "bar",
        }
    }

    pub fn parse(raw: &str) -> Result<Role, ValidationError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == raw.trim())
            .ok_or_else(|| {
                ValidationError::new(
                    "role",
                    "must be one of admin, manager, cashier, waiter, kitchen, bar",
                )
            })
    }

    /// The one question every guard asks.
    pub fn may(self, action: Action) -> bool {
        action.allowed_roles().contains(&self)
    }

    /// A role that can approve sensitive actions (voids after send, refunds, big discounts).
    pub fn can_approve(self) -> bool {
        self.may(Action::ApproveSensitive)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything an authenticated actor can ask the product to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    // Reading the floor
    ViewMenu,
    ViewTables,
    ViewOrders,
    // Order taking
    CreateOrder,
    EditUnsentItems,
    SendOrder,
    ServeOrder,
    CancelEmptyOrder,
    MoveOrder,
    MergeOrders,
    /// Void an item or order that was already sent to a station.
    VoidSentItems,
    ApplyDiscount,
    ApplyDiscountAboveLimit,
    // Kitchen display
    ViewKdsTickets,
    BumpKdsItems,
    // Money
    TakePayment,
    RefundPayment,
    PrintReceipt,
    // Shifts and reports
    OpenOwnShift,
    CloseOwnShift,
    CloseAnyShift,
    RecordCashMovement,
    ViewXReport,
    RunZReport,
    ViewReports,
    ViewDashboard,
    // Back office
    EditMenu,
    EditTables,
    ManageStaff,
    UnlockAccounts,
    ManageTerminals,
    ManageSettings,
    ManageBackups,
    ViewAuditLog,
    /// Print agents poll and acknowledge jobs.
    ProcessPrintJobs,
    /// Re-authenticate inside another person's request to approve it.
    ApproveSensitive,
    /// Read the realtime feed (what a role sees is filtered further by topic).
    ViewRealtime,
}

use Role::{Admin as A, Bar as B, Cashier as C, Kitchen as K, Manager as M, Waiter as W};

/// The matrix: for each action, the roles that may perform it.
pub const MATRIX: &[(Action, &[Role])] = &[
    (Action::ViewMenu, &[A, M, C, W, K, B]),
    (Action::ViewTables, &[A, M, C, W]),
    (Action::ViewOrders, &[A, M, C, W]),
    (Action::CreateOrder, &[A, M, C, W]),
    (Action::EditUnsentItems, &[A, M, C, W]),
    (Action::SendOrder, &[A, M, C, W]),
    (Action::ServeOrder, &[A, M, C, W]),
    (Action::CancelEmptyOrder, &[A, M, C, W]),
    (Action::MoveOrder, &[A, M, C, W]),
    (Action::MergeOrders, &[A, M, C]),
    (Action::VoidSentItems, &[A, M]),
    (Action::ApplyDiscount, &[A, M, C]),
    (Action::ApplyDiscountAboveLimit, &[A, M]),
    (Action::ViewKdsTickets, &[A, M, K, B]),
    (Action::BumpKdsItems, &[A, M, K, B]),
    (Action::TakePayment, &[A, M, C]),
    (Action::RefundPayment, &[A, M]),
    (Action::PrintReceipt, &[A, M, C]),
    (Action::OpenOwnShift, &[A, M, C]),
    (Action::CloseOwnShift, &[A, M, C]),
    (Action::CloseAnyShift, &[A, M]),
    (Action::RecordCashMovement, &[A, M, C]),
    (Action::ViewXReport, &[A, M, C]),
    (Action::RunZReport, &[A, M]),
    (Action::ViewReports, &[A, M]),
    (Action::ViewDashboard, &[A, M]),
    (Action::EditMenu, &[A, M]),
    (Action::EditTables, &[A, M]),
    (Action::ManageStaff, &[A]),
    (Action::UnlockAccounts, &[A, M]),
    (Action::ManageTerminals, &[A]),
    (Action::ManageSettings, &[A]),
    (Action::ManageBackups, &[A]),
    (Action::ViewAuditLog, &[A, M]),
    (Action::ProcessPrintJobs, &[A, M, C]),
    (Action::ApproveSensitive, &[A, M]),
    (Action::ViewRealtime, &[A, M, C, W, K, B]),
];

impl Action {
    pub fn allowed_roles(self) -> &'static [Role] {
        MATRIX
            .iter()
            .find(|(action, _)| *action == self)
            .map(|(_, roles)| *roles)
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_appears_exactly_once_and_admin_may_do_everything() {
        for (i, (action, roles)) in MATRIX.iter().enumerate() {
            assert!(
                roles.contains(&Role::Admin),
                "{action:?} must be allowed to admin"
            );
            assert!(
                MATRIX.iter().skip(i + 1).all(|(other, _)| other != action),
                "{action:?} listed twice"
            );
        }
    }

    #[test]
    fn hierarchy_admin_over_manager_over_cashier_over_waiter() {
        // Whatever a lower role of the front-of-house chain may do, the roles above it may do too.
        let chain = [Role::Waiter, Role::Cashier, Role::Manager, Role::Admin];
        for (action, _) in MATRIX {
            for pair in chain.windows(2) {
                if pair[0].may(*action) {
                    assert!(
                        pair[1].may(*action),
                        "{:?} may {action:?} but {:?} may not",
                        pair[0],
                        pair[1]
                    );
                }
            }
        }
    }

    #[test]
    fn spec_section_2_rules() {
        assert!(Role::Waiter.may(Action::SendOrder));
        assert!(!Role::Waiter.may(Action::TakePayment));
        assert!(Role::Cashier.may(Action::TakePayment));
        assert!(Role::Cashier.may(Action::OpenOwnShift));
        assert!(!Role::Cashier.may(Action::VoidSentItems));
        assert!(!Role::Cashier.may(Action::RefundPayment));
        assert!(!Role::Cashier.may(Action::ApplyDiscountAboveLimit));
        assert!(Role::Manager.may(Action::RunZReport));
        assert!(Role::Manager.may(Action::EditMenu));
        assert!(!Role::Manager.may(Action::ManageStaff));
        assert!(!Role::Manager.may(Action::ManageBackups));
        assert!(Role::Admin.may(Action::ManageBackups));
        for station in [Role::Kitchen, Role::Bar] {
            assert!(station.may(Action::BumpKdsItems));
            assert!(station.may(Action::ViewKdsTickets));
            assert!(!station.may(Action::CreateOrder));
            assert!(!station.may(Action::TakePayment));
            assert!(!station.may(Action::ViewOrders));
        }
        assert!(Role::Manager.can_approve());
        assert!(!Role::Cashier.can_approve());
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("owner").is_err());
    }
}
