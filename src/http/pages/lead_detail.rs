//! `/leads/{id}`: everything about one lead, its booking, its emails and its calls.

use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};
use uuid::Uuid;

use super::{format, render, shell::Shell};
use crate::{
    domain::outcome::describe_ended_reason,
    http::{
        AppState,
        error::{AppResult, OrNotFound},
        extract::Path,
    },
    store::{call_logs::CallLog, leads::Lead, outbox::EmailRecord, stats::CallLogFilter},
};

/// Most calls a lead's page lists (a lead is called a handful of times).
const MAX_CALLS: u32 = 100;

struct CallView {
    id: String,
    attempt: i64,
    live_status: String,
    started: String,
    ended: bool,
    ended_reason: String,
    duration: String,
    cost: String,
    summary: String,
    outcome: String,
    /// The rest of the structured analysis, as (label, value) pairs.
    analysis: Vec<(String, String)>,
    booked: bool,
    opted_out: bool,
    transcript: String,
    recording_url: String,
    stereo_recording_url: String,
}

impl CallView {
    fn new(c: CallLog, zone: &str) -> CallView {
        CallView {
            id: c.id.to_string(),
            attempt: c.attempt,
            live_status: format::label(c.call_status.as_deref().unwrap_or("queued")),
            started: format::local_time(c.initiated_at.or(Some(c.created_at)), zone),
            ended: c.ended_at.is_some(),
            ended_reason: c
                .ended_reason
                .as_deref()
                .map(describe_ended_reason)
                .unwrap_or_default(),
            duration: format::duration(c.duration_seconds),
            cost: c.cost.map(format::money).unwrap_or_else(|| "—".into()),
            summary: c.summary.unwrap_or_default(),
            outcome: c.outcome.as_deref().map(format::label).unwrap_or_default(),
            analysis: analysis_facts(c.structured_data.as_deref()),
            booked: c.booking_uid.is_some(),
            opted_out: c.opted_out,
            transcript: c.transcript.unwrap_or_default(),
            recording_url: safe_url(c.recording_url),
            stereo_recording_url: safe_url(c.stereo_recording_url),
        }
    }
}

/// The structured analysis' fields other than `outcome`, for people to read: keys as
/// labels, strings as they are, anything else as compact JSON.
fn analysis_facts(json: Option<&str>) -> Vec<(String, String)> {
    let Some(serde_json::Value::Object(map)) = json.and_then(|j| serde_json::from_str(j).ok())
    else {
        return Vec::new();
    };
    map.into_iter()
        .filter(|(k, v)| k != "outcome" && !v.is_null() && v != "")
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (format::label(&k), value)
        })
        .collect()
}

/// Only http(s) links become `src` attributes; anything else in a report is dropped.
fn safe_url(url: Option<String>) -> String {
    url.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .unwrap_or_default()
}

struct EmailView {
    kind: String,
    status: String,
    subject: String,
    when: String,
    error: String,
}

#[derive(Template)]
#[template(path = "lead.html")]
struct LeadPage {
    shell: Shell,
    lead: Lead,
    status_label: String,
    last_called: String,
    next_call: String,
    created: String,
    booking_time: String,
    calls: Vec<CallView>,
    emails: Vec<EmailView>,
}

/// `GET /leads/{id}`
pub async fn lead_page(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let lead = state.store.get_lead(id).await.or_not_found("lead")?;
    let filter = CallLogFilter {
        lead_id: Some(id),
        ..CallLogFilter::default()
    };
    let (calls, _) = state.store.list_call_logs(&filter, 1, MAX_CALLS).await?;
    let emails = state.store.lead_emails(id).await?;
    let zone = lead.timezone.clone();
    let page = LeadPage {
        shell: shell.at("leads"),
        status_label: format::label(lead.status.as_str()),
        last_called: format::local_time(lead.last_called_at, &zone),
        next_call: format::local_time(lead.next_call_at, &zone),
        created: format::local_time(Some(lead.created_at), &zone),
        booking_time: format::local_time(lead.booking_start_at, &zone),
        calls: calls.into_iter().map(|c| CallView::new(c, &zone)).collect(),
        emails: emails
            .into_iter()
            .map(|e: EmailRecord| EmailView {
                kind: format::label(&e.kind),
                status: format::label(&e.status),
                subject: e.subject,
                when: format::local_time(e.sent_at.or(Some(e.created_at)), &zone),
                error: e.last_error.unwrap_or_default(),
            })
            .collect(),
        lead,
    };
    Ok(render(StatusCode::OK, &page))
}
