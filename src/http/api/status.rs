//! What this server is connected to, and the sandbox's inbox.

use axum::extract::State;
use serde::Serialize;

use crate::{
    http::{
        AppState,
        auth::CurrentUser,
        error::{AppError, AppResult, ErrorBody},
        extract::Json,
    },
    sandbox::SandboxEmail,
};

/// Which providers are set up, and whether they are simulated.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusResponse {
    /// VAPI, Cal.com and Resend are simulated: nobody is really called or emailed.
    pub sandbox: bool,
    pub vapi_configured: bool,
    pub calcom_configured: bool,
    pub resend_configured: bool,
}

/// How the server is connected.
#[utoipa::path(get, path = "/api/status", tag = "dialer", responses((status = 200, body = StatusResponse)))]
pub async fn status(State(state): State<AppState>, _user: CurrentUser) -> Json<StatusResponse> {
    Json(StatusResponse {
        sandbox: state.sandbox.is_some(),
        vapi_configured: state.dialer.vapi.is_some(),
        calcom_configured: state.calcom.is_some(),
        resend_configured: state.dialer.resend.is_some(),
    })
}

/// Emails the sandbox's Resend received, newest first (sandbox mode only).
#[utoipa::path(get, path = "/api/sandbox/emails", tag = "dialer",
    responses((status = 200, body = Vec<SandboxEmail>), (status = 404, body = ErrorBody)))]
pub async fn sandbox_emails(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> AppResult<Json<Vec<SandboxEmail>>> {
    let sandbox = state
        .sandbox
        .as_ref()
        .ok_or_else(|| AppError::NotFound("the server is not in sandbox mode".into()))?;
    let mut emails = sandbox
        .emails
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    emails.reverse();
    Ok(Json(emails))
}
