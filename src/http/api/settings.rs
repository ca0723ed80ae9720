//! `/api/settings`: everyone may read them; only admins may change them.

use axum::extract::State;
use serde::Deserialize;

use crate::{
    domain::{
        FieldError,
        phone::Region,
        timezone::TimeZoneName,
        window::{Weekdays, parse_hhmm},
    },
    http::{
        AppState,
        auth::{Admin, CurrentUser},
        error::{AppError, AppResult, ErrorBody},
        extract::{Json, non_null},
    },
    store::settings::{Settings, SettingsPatch},
};

/// Bounds on each numeric setting, also enforced by the schema.
pub const MAX_CALLS_BATCH: (i64, i64) = (1, 1000);
pub const RETRY_INTERVAL: (i64, i64) = (1, 10_080);
pub const MAX_ATTEMPTS: (i64, i64) = (1, 20);
/// Longest template subject and body, in characters.
const MAX_SUBJECT: usize = 200;
const MAX_BODY: usize = 5000;

/// Read the dialer settings.
#[utoipa::path(get, path = "/api/settings", tag = "settings", responses((status = 200, body = Settings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> AppResult<Json<Settings>> {
    Ok(Json(state.store.settings().await?))
}

/// Fields to change; the rest stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettingsRequest {
    #[serde(default, deserialize_with = "non_null")]
    automation_enabled: Option<bool>,
    /// 1–1000 calls in progress at once.
    #[serde(default, deserialize_with = "non_null")]
    max_calls_batch: Option<i64>,
    /// 1–10080 minutes.
    #[serde(default, deserialize_with = "non_null")]
    retry_interval: Option<i64>,
    /// 1–20 calls per lead.
    #[serde(default, deserialize_with = "non_null")]
    max_attempts: Option<i64>,
    /// ISO 3166-1 alpha-2, e.g. `US`.
    #[serde(default, deserialize_with = "non_null")]
    default_region: Option<String>,
    /// IANA time zone, e.g. `America/Chicago`.
    #[serde(default, deserialize_with = "non_null")]
    default_timezone: Option<String>,
    /// `HH:MM`; calls never start before 08:00 local whatever this says.
    #[serde(default, deserialize_with = "non_null")]
    call_window_start: Option<String>,
    /// `HH:MM`; calls never start at or after 21:00 local whatever this says.
    #[serde(default, deserialize_with = "non_null")]
    call_window_end: Option<String>,
    /// Comma-separated weekdays, e.g. `mon,tue,wed,thu,fri`.
    #[serde(default, deserialize_with = "non_null")]
    call_days: Option<String>,
    /// Email templates; an empty string restores the default.
    #[serde(default, deserialize_with = "non_null")]
    email_confirmation_subject: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    email_confirmation_body: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    email_thank_you_subject: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    email_thank_you_body: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    email_final_subject: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    email_final_body: Option<String>,
}

fn bounded(
    field: &'static str,
    v: Option<i64>,
    (lo, hi): (i64, i64),
    errors: &mut Vec<FieldError>,
) -> Option<i64> {
    let v = v?;
    if (lo..=hi).contains(&v) {
        Some(v)
    } else {
        errors.push(FieldError::new(
            field,
            format!("must be between {lo} and {hi}"),
        ));
        None
    }
}

/// Change dialer settings (admins only).
#[utoipa::path(patch, path = "/api/settings", tag = "settings", request_body = UpdateSettingsRequest,
    responses((status = 200, body = Settings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_settings(
    State(state): State<AppState>,
    _admin: Admin,
    Json(body): Json<UpdateSettingsRequest>,
) -> AppResult<Json<Settings>> {
    let mut errors = Vec::new();
    let patch = SettingsPatch {
        automation_enabled: body.automation_enabled,
        max_calls_batch: bounded(
            "max_calls_batch",
            body.max_calls_batch,
            MAX_CALLS_BATCH,
            &mut errors,
        ),
        retry_interval: bounded(
            "retry_interval",
            body.retry_interval,
            RETRY_INTERVAL,
            &mut errors,
        ),
        max_attempts: bounded("max_attempts", body.max_attempts, MAX_ATTEMPTS, &mut errors),
        default_region: body.default_region.as_deref().and_then(|r| {
            Region::parse(r)
                .map(|r| r.code())
                .map_err(|e| errors.push(e))
                .ok()
        }),
        default_timezone: body.default_timezone.as_deref().and_then(|tz| {
            TimeZoneName::parse(tz)
                .map(TimeZoneName::into_string)
                .map_err(|e| errors.push(FieldError::new("default_timezone", e.message)))
                .ok()
        }),
        ..SettingsPatch::default()
    };
    let mut patch = patch;
    let minutes = |t: jiff::civil::Time| i64::from(t.hour()) * 60 + i64::from(t.minute());
    let start = body.call_window_start.as_deref().and_then(|s| {
        parse_hhmm("call_window_start", s)
            .map(minutes)
            .map_err(|e| errors.push(e))
            .ok()
    });
    let end = body.call_window_end.as_deref().and_then(|s| {
        // "24:00" is a natural way to say "until midnight".
        if s.trim() == "24:00" {
            Some(1440)
        } else {
            parse_hhmm("call_window_end", s)
                .map(minutes)
                .map_err(|e| errors.push(e))
                .ok()
        }
    });
    patch.call_days = body.call_days.as_deref().and_then(|d| {
        Weekdays::parse(d)
            .map(Weekdays::to_list)
            .map_err(|e| errors.push(e))
            .ok()
    });
    if start.is_some() || end.is_some() {
        let current = state.store.settings().await?;
        let (s, e) = (
            start.unwrap_or(current.call_window_start),
            end.unwrap_or(current.call_window_end),
        );
        if s >= e {
            errors.push(FieldError::new(
                "call_window_end",
                "must be later than call_window_start",
            ));
        }
    }
    for (column, value, max) in [
        (
            "email_confirmation_subject",
            &body.email_confirmation_subject,
            MAX_SUBJECT,
        ),
        (
            "email_confirmation_body",
            &body.email_confirmation_body,
            MAX_BODY,
        ),
        (
            "email_thank_you_subject",
            &body.email_thank_you_subject,
            MAX_SUBJECT,
        ),
        ("email_thank_you_body", &body.email_thank_you_body, MAX_BODY),
        (
            "email_final_subject",
            &body.email_final_subject,
            MAX_SUBJECT,
        ),
        ("email_final_body", &body.email_final_body, MAX_BODY),
    ] {
        if let Some(text) = value {
            match crate::email::validate(column, text, max) {
                Ok(text) => patch.email_templates.push((column, text)),
                Err(e) => errors.push(e),
            }
        }
    }
    patch.call_window_start = start;
    patch.call_window_end = end;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(Json(state.store.update_settings(&patch).await?))
}

/// A template to try out.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// booking_confirmation, thank_you or final_follow_up.
    kind: String,
    subject: String,
    body: String,
}

/// A template rendered with example values.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PreviewResponse {
    subject: String,
    body: String,
}

/// Render an email template with example values, exactly as it would be sent (admins only).
#[utoipa::path(post, path = "/api/settings/email-preview", tag = "settings", request_body = PreviewRequest,
    responses((status = 200, body = PreviewResponse), (status = 422, body = ErrorBody)))]
pub async fn email_preview(
    State(state): State<AppState>,
    _admin: Admin,
    Json(body): Json<PreviewRequest>,
) -> AppResult<Json<PreviewResponse>> {
    use crate::email::{EmailKind, Template, Values, render};
    let kind = [
        EmailKind::BookingConfirmation,
        EmailKind::ThankYou,
        EmailKind::FinalFollowUp,
    ]
    .into_iter()
    .find(|k| k.as_str() == body.kind)
    .ok_or_else(|| {
        AppError::invalid(
            "kind",
            "use booking_confirmation, thank_you or final_follow_up",
        )
    })?;
    let subject = crate::email::validate("subject", &body.subject, MAX_SUBJECT)?;
    let text = crate::email::validate("body", &body.body, MAX_BODY)?;
    let link = if state.dialer.options.booking_link.is_empty() {
        "https://cal.com/your-team/intro"
    } else {
        state.dialer.options.booking_link.as_str()
    };
    let (subject, body) = render(
        kind,
        &Template {
            subject: Some(subject).filter(|s| !s.is_empty()),
            body: Some(text).filter(|s| !s.is_empty()),
        },
        &Values {
            contact_name: "Jordan Lee",
            company_name: "Acme Realty",
            meeting_time: "Thursday, November 26, 2026 at 2:30 PM EST",
            booking_link: link,
        },
    );
    Ok(Json(PreviewResponse { subject, body }))
}
