//! `POST /api/integrations/{provider}/test`: a harmless read against VAPI, Cal.com or
//! Resend with the configured key, so an admin can see the set-up works before dialing.

use axum::extract::State;
use serde::Serialize;

use crate::http::{
    AppState,
    auth::Admin,
    error::{AppError, AppResult, ErrorBody},
    extract::{Json, Path},
};

/// The outcome of a connection test.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckResult {
    pub ok: bool,
    /// What was tried and what came back, for people (no secrets).
    pub message: String,
}

/// Test the connection to `vapi`, `calcom` or `resend` (admins only; changes nothing there).
#[utoipa::path(post, path = "/api/integrations/{provider}/test", tag = "settings",
    params(("provider" = String, Path, description = "vapi, calcom or resend")),
    responses((status = 200, body = CheckResult), (status = 404, body = ErrorBody)))]
pub async fn test_integration(
    State(state): State<AppState>,
    _admin: Admin,
    Path(provider): Path<String>,
) -> AppResult<Json<CheckResult>> {
    let not_configured = |name: &str| CheckResult {
        ok: false,
        message: format!("{name} is not configured; set its environment variables and restart."),
    };
    let result = match provider.as_str() {
        "vapi" => match &state.dialer.vapi {
            None => not_configured("VAPI"),
            Some(c) => match c.check().await {
                Ok(()) => ok("VAPI accepted the key and found the assistant."),
                Err(e) => failed(e),
            },
        },
        "calcom" => match &state.calcom {
            None => not_configured("Cal.com"),
            Some(c) => match c.check().await {
                Ok(n) => ok(&format!(
                    "Cal.com accepted the key; the event type has {n} free slot(s) in the next 24 hours."
                )),
                Err(e) => failed(e),
            },
        },
        "resend" => match &state.dialer.resend {
            None => not_configured("Resend"),
            Some(c) => match c.check().await {
                Ok(()) => ok("Resend accepted the key."),
                Err(e) => failed(e),
            },
        },
        _ => {
            return Err(AppError::NotFound(
                "no such integration; use vapi, calcom or resend".into(),
            ));
        }
    };
    Ok(Json(result))
}

fn ok(message: &str) -> CheckResult {
    CheckResult {
        ok: true,
        message: message.to_owned(),
    }
}

fn failed(e: crate::integrations::ProviderError) -> CheckResult {
    CheckResult {
        ok: false,
        message: e.to_string(),
    }
}
