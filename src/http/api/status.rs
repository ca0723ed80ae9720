//! What this server is connected to, and the sandbox's inbox.

use axum::extract::State;
use jiff::{Timestamp, tz::TimeZone};
use serde::{Deserialize, Serialize};

use crate::{
    dialer::open_zones,
    domain::millis_to_rfc3339,
    http::{
        AppState,
        auth::CurrentUser,
        error::{AppError, AppResult, ErrorBody},
        extract::Json,
    },
    sandbox::SandboxEmail,
    store::{
        settings::SettingsPatch,
        stats::{CallLogFilter, CallTotals, DUE_COUNT_LIMIT, DueQuery},
    },
};

/// How the dialer stands: what is configured, what it is doing, and why it is idle.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StatusResponse {
    /// VAPI, Cal.com and Resend are simulated: nobody is really called or emailed.
    pub sandbox: bool,
    pub vapi_configured: bool,
    pub calcom_configured: bool,
    pub resend_configured: bool,
    pub automation_enabled: bool,
    /// Leads on a call now.
    pub active_calls: i64,
    /// The concurrency cap (`max_calls_batch`).
    pub cap: i64,
    /// Leads the dialer could call right now (inside their window, attempts left, not on
    /// the do-not-call list), before the cap; counted up to 10,000 (see `due_now_more`).
    pub due_now: i64,
    /// More than `due_now` leads are due.
    pub due_now_more: bool,
    /// When the in-process scheduler ticks next (absent when only `/api/cron` drives it).
    pub next_tick_at: Option<String>,
    /// Calls placed since midnight in the settings' default time zone.
    pub today: CallTotals,
    /// Why no call is being placed, when none can be.
    pub idle: Option<Idle>,
}

/// A reason the dialer places no calls right now.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Idle {
    /// `paused`, `not_configured`, `outside_calling_hours`, `cap_reached` or `nothing_due`.
    pub code: &'static str,
    pub message: String,
}

/// How long a computed status is reused. Counting due leads scans the due index, so with many
/// dashboards open (each stream re-reads every two seconds) one reading serves them all.
const STATUS_MAX_AGE: std::time::Duration = std::time::Duration::from_millis(1000);

/// The last status computed, shared by every request and event stream.
pub type StatusCache =
    std::sync::Arc<tokio::sync::Mutex<Option<(std::time::Instant, StatusResponse)>>>;

/// The dashboard's figures, at most [`STATUS_MAX_AGE`] old. Holding the lock while reading
/// means concurrent callers wait for one reading instead of each making their own.
pub async fn live_status(state: &AppState) -> AppResult<StatusResponse> {
    let mut cached = state.status_cache.lock().await;
    if let Some((at, status)) = cached.as_ref()
        && at.elapsed() < STATUS_MAX_AGE
    {
        return Ok(status.clone());
    }
    let status = read_status(state).await?;
    *cached = Some((std::time::Instant::now(), status.clone()));
    Ok(status)
}

/// The status read now (and shared with the next callers of [`live_status`]).
pub async fn fresh_status(state: &AppState) -> AppResult<StatusResponse> {
    let mut cached = state.status_cache.lock().await;
    let status = read_status(state).await?;
    *cached = Some((std::time::Instant::now(), status.clone()));
    Ok(status)
}

/// Reads the figures the dashboard shows.
async fn read_status(state: &AppState) -> AppResult<StatusResponse> {
    let settings = state.store.settings().await?;
    let now = state.dialer.clock.now();
    let zones = open_zones(&settings.call_window(), now);
    let active_calls = state.store.count_calling().await?;
    let due_now = state
        .store
        .count_due(&DueQuery {
            now,
            max_attempts: settings.max_attempts,
            open_zones: Some(&zones),
        })
        .await?;
    // Leads due but for their calling hours, which explain an idle dialer.
    let waiting = if due_now == 0 && settings.automation_enabled {
        state
            .store
            .count_due(&DueQuery {
                now,
                max_attempts: settings.max_attempts,
                open_zones: None,
            })
            .await?
    } else {
        0
    };
    let tz = TimeZone::get(&settings.default_timezone).unwrap_or(TimeZone::UTC);
    let midnight = Timestamp::from_millisecond(now)
        .ok()
        .and_then(|ts| ts.to_zoned(tz).start_of_day().ok())
        .map(|z| z.timestamp().as_millisecond());
    let today = state
        .store
        .call_totals(&CallLogFilter {
            from: midnight,
            ..CallLogFilter::default()
        })
        .await?;
    let vapi_configured = state.dialer.vapi.is_some();
    let idle = |code, message: &str| {
        Some(Idle {
            code,
            message: message.to_owned(),
        })
    };
    let idle = if !vapi_configured {
        idle(
            "not_configured",
            "VAPI is not configured, so no calls can be placed.",
        )
    } else if !settings.automation_enabled {
        idle("paused", "Automation is paused.")
    } else if zones.is_empty() {
        idle(
            "outside_calling_hours",
            "Outside calling hours in every time zone.",
        )
    } else if active_calls >= settings.max_calls_batch {
        idle(
            "cap_reached",
            "The concurrency cap is reached; new calls wait for a free line.",
        )
    } else if waiting > 0 {
        idle(
            "outside_calling_hours",
            &if waiting > DUE_COUNT_LIMIT {
                format!("More than {DUE_COUNT_LIMIT} leads are waiting for their calling hours.")
            } else {
                format!("{waiting} lead(s) are waiting for their calling hours.")
            },
        )
    } else if due_now == 0 {
        idle("nothing_due", "No lead is due for a call right now.")
    } else {
        None
    };
    Ok(StatusResponse {
        sandbox: state.sandbox.is_some(),
        vapi_configured,
        calcom_configured: state.calcom.is_some(),
        resend_configured: state.dialer.resend.is_some(),
        automation_enabled: settings.automation_enabled,
        active_calls,
        cap: settings.max_calls_batch,
        due_now: due_now.min(DUE_COUNT_LIMIT),
        due_now_more: due_now > DUE_COUNT_LIMIT,
        next_tick_at: state.dialer.next_tick_at().map(millis_to_rfc3339),
        today,
        idle,
    })
}

/// How the dialer stands now.
#[utoipa::path(get, path = "/api/status", tag = "dialer", responses((status = 200, body = StatusResponse)))]
pub async fn status(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> AppResult<Json<StatusResponse>> {
    Ok(Json(fresh_status(&state).await?))
}

/// Switches automated dialing on or off.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomationRequest {
    pub enabled: bool,
}

/// Turn automation on or off (any signed-in user; the other settings are for admins).
#[utoipa::path(put, path = "/api/automation", tag = "dialer", request_body = AutomationRequest,
    responses((status = 200, body = StatusResponse), (status = 422, body = ErrorBody)))]
pub async fn set_automation(
    State(state): State<AppState>,
    _user: CurrentUser,
    Json(body): Json<AutomationRequest>,
) -> AppResult<Json<StatusResponse>> {
    state
        .store
        .update_settings(&SettingsPatch {
            automation_enabled: Some(body.enabled),
            ..SettingsPatch::default()
        })
        .await?;
    Ok(Json(fresh_status(&state).await?))
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
