//! `/settings` (admins): automation, integrations, email templates, the do-not-call list,
//! users and API tokens. Forms are sent by the page's script to the same JSON API.

use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};
use serde::Deserialize;

use super::{format, render, shell::Shell};
use crate::{
    email::{EmailKind, VARIABLES},
    http::{
        AppState,
        api::dnc::search_digits,
        auth::{Admin, url_encode},
        error::AppResult,
        extract::Query,
    },
    store::settings::Settings,
};

struct Integration {
    key: &'static str,
    name: &'static str,
    configured: bool,
    /// (label, value) pairs, secrets masked.
    facts: Vec<(&'static str, String)>,
}

struct TemplateView {
    kind: &'static str,
    label: &'static str,
    when: &'static str,
    subject_field: &'static str,
    body_field: &'static str,
    subject: String,
    body: String,
}

struct Row {
    id: String,
    email: String,
    role: &'static str,
    created: String,
    me: bool,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    shell: Shell,
    s: Settings,
    window_start: String,
    window_end: String,
    days: Vec<(&'static str, &'static str, bool)>,
    zones: Vec<(String, String)>,
    integrations: Vec<Integration>,
    templates: Vec<TemplateView>,
    variables: String,
    users: Vec<Row>,
    tokens: Vec<(String, String, String, String)>,
    dnc: Vec<(String, String, String, String)>,
    dnc_total: i64,
    dnc_q: String,
    dnc_range: String,
    dnc_prev: Option<String>,
    dnc_next: Option<String>,
}

/// Which part of the do-not-call list the page shows.
#[derive(Debug, Default, Deserialize)]
pub struct DncView {
    dnc_q: Option<String>,
    dnc_page: Option<u32>,
}

/// Numbers per page of the do-not-call list.
const DNC_PER_PAGE: u32 = 20;

fn hhmm(minutes: i64) -> String {
    format!("{:02}:{:02}", (minutes / 60).min(24), minutes % 60)
}

/// `GET /settings`
pub async fn settings_page(
    State(state): State<AppState>,
    Admin(current): Admin,
    shell: Shell,
    Query(view): Query<DncView>,
) -> AppResult<Response> {
    let s = state.store.settings().await?;
    let tz = s.default_timezone.clone();
    let chosen: Vec<&str> = s.call_days.split(',').map(str::trim).collect();
    let days = [
        ("mon", "Mon"),
        ("tue", "Tue"),
        ("wed", "Wed"),
        ("thu", "Thu"),
        ("fri", "Fri"),
        ("sat", "Sat"),
        ("sun", "Sun"),
    ]
    .into_iter()
    .map(|(v, l)| (v, l, chosen.contains(&v)))
    .collect();
    let vapi = state.dialer.vapi.as_ref().map(|c| c.config());
    let calcom = state.calcom.as_ref().map(|c| c.config());
    let resend = state.dialer.resend.as_ref().map(|c| c.config());
    let integrations = vec![
        Integration {
            key: "vapi",
            name: "VAPI (voice agent)",
            configured: vapi.is_some(),
            facts: vapi
                .map(|c| {
                    vec![
                        ("API key", c.api_key.masked()),
                        ("Assistant id", c.assistant_id.clone()),
                        ("Phone number id", c.phone_number_id.clone()),
                    ]
                })
                .unwrap_or_default(),
        },
        Integration {
            key: "calcom",
            name: "Cal.com (bookings)",
            configured: calcom.is_some(),
            facts: calcom
                .map(|c| {
                    vec![
                        ("API key", c.api_key.masked()),
                        ("Event type id", c.event_type_id.to_string()),
                    ]
                })
                .unwrap_or_default(),
        },
        Integration {
            key: "resend",
            name: "Resend (email)",
            configured: resend.is_some(),
            facts: resend
                .map(|c| vec![("API key", c.api_key.masked()), ("From", c.from.clone())])
                .unwrap_or_default(),
        },
    ];
    let template = |kind: EmailKind, label, when, subject_field, body_field| {
        let (subject, body) = s.email_template(kind).effective(kind);
        TemplateView {
            kind: kind.as_str(),
            label,
            when,
            subject_field,
            body_field,
            subject,
            body,
        }
    };
    let templates = vec![
        template(
            EmailKind::BookingConfirmation,
            "Booking confirmation",
            "Sent when a meeting is booked during a call.",
            "email_confirmation_subject",
            "email_confirmation_body",
        ),
        template(
            EmailKind::ThankYou,
            "Thank you",
            "Sent when a lead is not interested.",
            "email_thank_you_subject",
            "email_thank_you_body",
        ),
        template(
            EmailKind::FinalFollowUp,
            "Final follow-up",
            "Sent after the last unanswered attempt.",
            "email_final_subject",
            "email_final_body",
        ),
    ];
    let users = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| Row {
            me: u.id == current.user.id,
            id: u.id.to_string(),
            email: u.email,
            role: u.role.as_str(),
            created: format::local_time(Some(u.created_at), &tz),
        })
        .collect();
    let tokens = state
        .store
        .list_api_tokens(current.user.id)
        .await?
        .into_iter()
        .map(|t| {
            (
                t.id.to_string(),
                t.name,
                format::local_time(Some(t.created_at), &tz),
                format::local_time(t.last_used_at, &tz),
            )
        })
        .collect();
    let dnc_q = view.dnc_q.unwrap_or_default();
    let digits = search_digits(Some(&dnc_q));
    let mut page = view.dnc_page.unwrap_or(1).clamp(1, 1_000_000);
    let (mut entries, dnc_total) = state
        .store
        .list_dnc(digits.as_deref(), page, DNC_PER_PAGE)
        .await?;
    // Past the end (the last number of the last page was just removed): show the last page.
    let last_page = u32::try_from((dnc_total.max(1) as u64).div_ceil(u64::from(DNC_PER_PAGE)))
        .unwrap_or(u32::MAX);
    if entries.is_empty() && page > last_page {
        page = last_page;
        entries = state
            .store
            .list_dnc(digits.as_deref(), page, DNC_PER_PAGE)
            .await?
            .0;
    }
    let shown_from = u64::from(page - 1) * u64::from(DNC_PER_PAGE);
    let dnc_range = if entries.is_empty() {
        String::new()
    } else {
        format!(
            "{}–{} of {dnc_total}",
            shown_from + 1,
            shown_from + entries.len() as u64
        )
    };
    let href = |p: u32| {
        let q = if dnc_q.is_empty() {
            String::new()
        } else {
            format!("dnc_q={}&", url_encode(&dnc_q))
        };
        format!("/settings?{q}dnc_page={p}#set-dnc")
    };
    let dnc_prev = (page > 1).then(|| href(page - 1));
    let dnc_next =
        (shown_from + (entries.len() as u64) < dnc_total.max(0) as u64).then(|| href(page + 1));
    let dnc = entries
        .into_iter()
        .map(|e| {
            (
                crate::http::auth::url_encode(&e.phone),
                format::label(&e.source),
                format::local_time(Some(e.created_at), &tz),
                e.phone,
            )
        })
        .map(|(url, source, added, phone)| (phone, source, added, url))
        .collect();
    Ok(render(
        StatusCode::OK,
        &SettingsPage {
            shell: shell.at("settings"),
            window_start: hhmm(s.call_window_start),
            window_end: hhmm(s.call_window_end),
            days,
            zones: format::zone_choices(),
            integrations,
            templates,
            variables: VARIABLES
                .iter()
                .map(|v| format!("{{{{{v}}}}}"))
                .collect::<Vec<_>>()
                .join(", "),
            users,
            tokens,
            dnc,
            dnc_total,
            dnc_q,
            dnc_range,
            dnc_prev,
            dnc_next,
            s,
        },
    ))
}
