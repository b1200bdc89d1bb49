//! A manager's approval inside another person's request (spec §2): the `approval` object of
//! a request body. Re-authenticating the approver, with the same checks and lockout
//! accounting as a login, is the domain's [`pos_domain::access::ApprovalService`]; whether
//! the approver's role may approve the action is decided where the action is.

use pos_domain::access::ApproverCredentials;
use pos_domain::approval::Actor;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::error::ApiError;
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

/// Re-authenticates the approver for the caller. A wrong secret counts towards the
/// approver's lockout (username, or PINs on the terminal) like a failed login and answers
/// 403 `invalid_approval`; the failure that locks answers 429 `account_locked`.
pub(crate) async fn verify_approval(
    state: &AppState,
    auth: &Authenticated,
    input: ApprovalInput,
) -> Result<Actor, ApiError> {
    let credentials = ApproverCredentials::parse(input.username, input.password, input.pin)?;
    let approval = state
        .approval_service()
        .approve(auth.requester(), credentials)
        .await?;
    Ok(approval.approver)
}
