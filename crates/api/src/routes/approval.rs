//! A manager's approval inside another person's request (spec §2): the approver types their
//! username and password, or their PIN on the caller's registered terminal, and is
//! re-authenticated right here with the same checks and the same lockout accounting as a
//! login. Whether the approver's role may approve the action is the domain's call.

use chrono::{DateTime, Utc};
use pos_domain::approval::Actor;
use pos_domain::audit::NewAuditEntry;
use pos_domain::auth::{FailureOutcome, LoginScope, pin_lookup_digest};
use pos_domain::staff::StaffCredentials;
use pos_domain::validate::{MAX_PASSWORD_LEN, Pin, Username, ValidationError};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::auth::credentials::verify_secret;
use crate::error::ApiError;
use crate::routes::auth::refuse_if_locked;
use crate::state::AppState;

/// The approver's credentials: `{"username", "password"}`, or `{"pin"}` when the request
/// comes from a registered terminal.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"pin": "4821"}))]
pub struct ApprovalInput {
    #[schema(schema_with = crate::dto::optional_username_schema)]
    pub username: Option<String>,
    /// 1 to 128 characters; with `username`.
    #[schema(schema_with = crate::dto::optional_password_schema)]
    pub password: Option<String>,
    /// 4 to 6 digits; only on a session opened on a registered terminal.
    #[schema(schema_with = crate::dto::optional_pin_schema)]
    pub pin: Option<String>,
}

enum Presented {
    Password { username: Username, password: String },
    Pin(Pin),
}

fn presented(input: ApprovalInput) -> Result<Presented, ValidationError> {
    match (input.username, input.password, input.pin) {
        (Some(username), Some(password), None) => {
            let username = Username::parse(&username)
                .map_err(|e| ValidationError::new("approval.username", e.message))?;
            if password.is_empty() || password.chars().count() > MAX_PASSWORD_LEN {
                return Err(ValidationError::new(
                    "approval.password",
                    format!("must be 1 to {MAX_PASSWORD_LEN} characters"),
                ));
            }
            Ok(Presented::Password { username, password })
        }
        (None, None, Some(pin)) => Pin::parse(&pin)
            .map(Presented::Pin)
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

/// Re-authenticates the approver. A wrong secret counts towards the approver's lockout
/// (username, or PINs on the terminal) like a failed login and answers 403
/// `invalid_approval`; the failure that locks answers 429 `account_locked`.
pub(crate) async fn verify_approval(
    state: &AppState,
    auth: &Authenticated,
    input: ApprovalInput,
) -> Result<Actor, ApiError> {
    let now = state.clock.now();
    let (scope, method, credentials, matches) = match presented(input)? {
        Presented::Password { username, password } => {
            let scope = LoginScope::Username(username.as_str().to_owned());
            refuse_if_locked(state, &scope, now).await?;
            let credentials = state.staff.find_credentials(&username).await?;
            let hash = credentials.as_ref().map(|c| c.password_hash.clone());
            let matches = verify_secret(state.hasher.clone(), password, hash).await?;
            (scope, "password", credentials, matches)
        }
        Presented::Pin(pin) => {
            let terminal = auth.terminal_id().ok_or_else(|| {
                ValidationError::new(
                    "approval.pin",
                    "PIN approval works only on a registered terminal; give username and password",
                )
            })?;
            let terminal = state.terminals.get_terminal(terminal).await?;
            let scope = LoginScope::TerminalPin(terminal.code);
            refuse_if_locked(state, &scope, now).await?;
            let pepper = state.sessions.pin_pepper(state.auth.as_ref()).await?;
            let lookup = pin_lookup_digest(pepper, &pin);
            let credentials = state.auth.find_by_pin_lookup(&lookup).await?;
            let hash = credentials.as_ref().and_then(|c| c.pin_hash.clone());
            let matches = verify_secret(state.hasher.clone(), pin.expose().to_owned(), hash).await?;
            (scope, "pin", credentials, matches)
        }
    };
    match credentials {
        Some(StaffCredentials { staff, .. }) if matches && staff.active => {
            let audit = NewAuditEntry::new("auth.approval", "staff")
                .actor(Some(staff.id))
                .terminal(auth.terminal_id())
                .entity_id(staff.id)
                .after(json!({"method": method, "requested_by": auth.actor.id}));
            state.auth.record_success(&scope, now, audit).await?;
            Ok(Actor::new(staff.id, staff.role))
        }
        credentials => {
            let reason = match &credentials {
                None => "unknown_account",
                Some(_) if !matches => "wrong_secret",
                Some(_) => "inactive_account",
            };
            Err(approval_failed(state, auth, &scope, credentials, reason, now).await)
        }
    }
}

async fn approval_failed(
    state: &AppState,
    auth: &Authenticated,
    scope: &LoginScope,
    credentials: Option<StaffCredentials>,
    reason: &str,
    now: DateTime<Utc>,
) -> ApiError {
    let mut after = json!({"reason": reason, "requested_by": auth.actor.id});
    if let Some(c) = &credentials {
        after["staff_id"] = json!(c.staff.id);
    }
    let audit = NewAuditEntry::new("auth.approval_failed", "login")
        .actor(Some(auth.actor.id))
        .terminal(auth.terminal_id())
        .entity_id(scope.key())
        .after(after);
    let policy = state.sessions.config().lockout;
    match state.auth.record_failure(scope, policy, now, audit).await {
        Ok(FailureOutcome::Counted { .. }) => {
            ApiError::forbidden("invalid_approval", "the approver's credentials are not valid")
        }
        Ok(FailureOutcome::LockedNow { until }) => {
            let millis = u64::try_from((until - now).num_milliseconds()).unwrap_or(0);
            let retry_after_secs = millis.div_ceil(1000).max(1);
            ApiError::TooManyRequests {
                code: "account_locked",
                detail: format!(
                    "too many failed attempts; try again in {retry_after_secs} seconds or ask a manager to unlock"
                ),
                retry_after_secs,
            }
        }
        Err(error) => error.into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn field_of(input: ApprovalInput) -> Option<String> {
        presented(input).err().map(|e| e.field)
    }

    #[test]
    fn approvals_are_a_password_pair_or_a_pin() {
        let some = |s: &str| Some(s.to_owned());
        assert!(matches!(
            presented(ApprovalInput {
                username: some("Grace"),
                password: some("pw"),
                pin: None
            }),
            Ok(Presented::Password { ref username, .. }) if username.as_str() == "grace"
        ));
        assert!(matches!(
            presented(ApprovalInput {
                pin: some("4821"),
                ..ApprovalInput::default()
            }),
            Ok(Presented::Pin(_))
        ));
        assert_eq!(field_of(ApprovalInput::default()).as_deref(), Some("approval"));
        assert_eq!(
            field_of(ApprovalInput {
                username: some("grace"),
                ..ApprovalInput::default()
            })
            .as_deref(),
            Some("approval.password")
        );
        assert_eq!(
            field_of(ApprovalInput {
                pin: some("12"),
                ..ApprovalInput::default()
            })
            .as_deref(),
            Some("approval.pin")
        );
        assert_eq!(
            field_of(ApprovalInput {
                username: some("grace"),
                password: some(""),
                pin: None
            })
            .as_deref(),
            Some("approval.password")
        );
        assert_eq!(
            field_of(ApprovalInput {
                username: some("grace"),
                password: some("pw"),
                pin: some("1234")
            })
            .as_deref(),
            Some("approval")
        );
    }
}
