//! The bridge to the domain's access services ([`pos_domain::access`]): building them from
//! the app state, the requester of an authenticated request, and how their refusals answer.
//! Every code is the rule's name (`last_active_admin`, `pin_taken`, …), never a table or a
//! database constraint.

use pos_domain::access::{
    AccessError, AccessPorts, ApprovalService, AuditService, AuthService, Requester, StaffService,
    TerminalService,
};

use super::credentials::BoundedSecrets;
use super::extractor::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;

impl AppState {
    /// The ports the access services run over (cheap: clones of `Arc`s).
    pub fn access_ports(&self) -> AccessPorts {
        AccessPorts {
            staff: self.staff.clone(),
            terminals: self.terminals.clone(),
            auth: self.auth.clone(),
            audit: self.audit.clone(),
            secrets: std::sync::Arc::new(BoundedSecrets::new(self.hasher.clone())),
            clock: self.clock.clone(),
            lockout: self.sessions.config().lockout,
        }
    }

    pub fn auth_service(&self) -> AuthService {
        AuthService::new(self.access_ports())
    }

    pub fn staff_service(&self) -> StaffService {
        StaffService::new(self.access_ports())
    }

    pub fn terminal_service(&self) -> TerminalService {
        TerminalService::new(self.access_ports())
    }

    pub fn approval_service(&self) -> ApprovalService {
        ApprovalService::new(self.access_ports())
    }

    pub fn audit_service(&self) -> AuditService {
        AuditService::new(self.access_ports())
    }
}

impl Authenticated {
    /// Who is asking, for the domain's services: the token's staff member and terminal.
    pub fn requester(&self) -> Requester {
        Requester::new(self.actor, self.terminal_id())
    }
}

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        let detail = error.to_string();
        match error {
            AccessError::Invalid(invalid) => invalid.into(),
            AccessError::NotPermitted(refusal) => refusal.into(),
            AccessError::InvalidCredentials => ApiError::unauthorized("invalid_credentials", detail),
            AccessError::InvalidApproval | AccessError::TerminalNotRegistered => {
                ApiError::forbidden(error_code(&error), detail)
            }
            AccessError::Locked { retry_after_secs, .. } => ApiError::TooManyRequests {
                code: "account_locked",
                detail,
                retry_after_secs,
            },
            AccessError::Rule(_)
            | AccessError::UsernameTaken
            | AccessError::PinTaken
            | AccessError::TerminalCodeTaken
            | AccessError::NotLocked { .. } => ApiError::conflict(error_code(&error), detail),
            AccessError::NotFound(entity) => ApiError::NotFound(format!("{entity} not found")),
            AccessError::Store(store) => store.into(),
            AccessError::Hash(failure) => ApiError::internal(failure),
        }
    }
}

fn error_code(error: &AccessError) -> &'static str {
    error.code()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use actix_web::ResponseError;
    use actix_web::body::to_bytes;
    use pos_domain::staff::StaffRuleError;

    use super::*;

    async fn body(error: AccessError) -> (u16, serde_json::Value) {
        let api = ApiError::from(error);
        let response = api.error_response();
        let status = response.status().as_u16();
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[actix_web::test]
    async fn refusals_name_the_rule_never_a_table_or_constraint() {
        for (error, status, code) in [
            (
                AccessError::Rule(StaffRuleError::LastActiveAdmin),
                409,
                "last_active_admin",
            ),
            (AccessError::UsernameTaken, 409, "username_taken"),
            (AccessError::PinTaken, 409, "pin_taken"),
            (AccessError::TerminalCodeTaken, 409, "terminal_code_taken"),
            (
                AccessError::NotLocked {
                    scope: "user:grace".into(),
                },
                409,
                "not_locked",
            ),
            (AccessError::InvalidCredentials, 401, "invalid_credentials"),
            (AccessError::InvalidApproval, 403, "invalid_approval"),
            (AccessError::TerminalNotRegistered, 403, "terminal_not_registered"),
            (AccessError::NotFound("staff"), 404, "not_found"),
        ] {
            let (got_status, body) = body(error).await;
            assert_eq!(
                (got_status, body["code"].as_str()),
                (status, Some(code)),
                "{body}"
            );
            let text = body.to_string();
            for leak in [
                "_key",
                "_check",
                "constraint",
                "staff_",
                "account_locks",
                "login_attempts",
            ] {
                assert!(!text.contains(leak), "{code}: {text}");
            }
        }
    }
}
