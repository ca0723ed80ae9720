//! `/calls`: every call placed, filtered by outcome and dates, with totals.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};

use super::{format, render, shell::Shell};
use crate::{
    domain::outcome::describe_ended_reason,
    http::{
        AppState,
        api::{
            PAGE_SIZES,
            call_logs::{CallLogParams, filter_zone},
            page_params,
        },
        auth::url_encode,
        error::{AppError, AppResult},
    },
    store::stats::{CallLogFilter, CallOutcome},
};

struct CallRow {
    lead_id: String,
    company: String,
    started: String,
    attempt: i64,
    status: String,
    ended_reason: String,
    duration: String,
    cost: String,
    outcome: String,
    booked: bool,
}

#[derive(Template)]
#[template(path = "calls.html")]
struct CallsPage {
    shell: Shell,
    rows: Vec<CallRow>,
    outcomes: Vec<(&'static str, &'static str, bool)>,
    from: String,
    to: String,
    /// Why a filter field could not be read, shown next to it.
    outcome_error: Option<String>,
    from_error: Option<String>,
    to_error: Option<String>,
    calls: i64,
    connect_rate: String,
    bookings: i64,
    cost: String,
    cost_per_booking: String,
    range: String,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// `GET /calls`
pub async fn calls_page(
    State(state): State<AppState>,
    shell: Shell,
    Query(params): Query<CallLogParams>,
) -> AppResult<Response> {
    let zone = filter_zone(&state).await?;
    // A bad filter is shown next to the form, over the unfiltered list.
    let (filter, error) = match params.filter(&zone) {
        Ok(f) => (f, None),
        Err(AppError::Validation(errors)) => (
            CallLogFilter::default(),
            errors.first().map(|e| (e.field, e.message.clone())),
        ),
        Err(e) => return Err(e),
    };
    let error_for = |name: &str| {
        error
            .as_ref()
            .filter(|(field, _)| *field == name)
            .map(|(_, m)| m.clone())
    };
    let (mut page, per_page) =
        page_params(params.page, params.per_page).unwrap_or((1, PAGE_SIZES[2]));
    let (mut items, total) = state.store.list_call_logs(&filter, page, per_page).await?;
    // Past the end (a hand-edited address, or fewer calls than when the link was made).
    let last_page =
        u32::try_from((total.max(1) as u64).div_ceil(u64::from(per_page))).unwrap_or(u32::MAX);
    if items.is_empty() && page > last_page {
        page = last_page;
        items = state.store.list_call_logs(&filter, page, per_page).await?.0;
    }
    let totals = state.store.call_totals(&filter).await?;
    let names = state
        .store
        .lead_names(&items.iter().map(|c| c.lead_id).collect::<Vec<_>>())
        .await?;
    let zone_name = zone.iana_name().unwrap_or("UTC").to_owned();
    let rows = items
        .into_iter()
        .map(|c| CallRow {
            lead_id: c.lead_id.to_string(),
            company: names
                .get(&c.lead_id)
                .cloned()
                .unwrap_or_else(|| "(deleted lead)".into()),
            started: format::local_time(c.initiated_at.or(Some(c.created_at)), &zone_name),
            attempt: c.attempt,
            status: format::label(c.call_status.as_deref().unwrap_or("queued")),
            ended_reason: c
                .ended_reason
                .as_deref()
                .map(describe_ended_reason)
                .unwrap_or_else(|| "In progress".into()),
            duration: format::duration(c.duration_seconds),
            cost: c.cost.map(format::money).unwrap_or_else(|| "—".into()),
            outcome: c.outcome.as_deref().map(format::label).unwrap_or_default(),
            booked: c.booking_uid.is_some(),
        })
        .collect();
    let href = |p: u32| {
        let mut parts = vec![format!("page={p}"), format!("per_page={per_page}")];
        for (k, v) in [
            ("outcome", &params.outcome),
            ("from", &params.from),
            ("to", &params.to),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", url_encode(v)));
            }
        }
        format!("/calls?{}", parts.join("&"))
    };
    let last_page = (total.max(0) as u64).div_ceil(u64::from(per_page)).max(1);
    let first = (u64::from(page) - 1) * u64::from(per_page) + 1;
    let chosen = params.outcome.as_deref().unwrap_or("");
    Ok(render(
        StatusCode::OK,
        &CallsPage {
            shell: shell.at("calls"),
            rows,
            outcomes: CallOutcome::ALL
                .iter()
                .map(|o| (o.as_str(), o.label(), o.as_str() == chosen))
                .collect(),
            from: params.from.clone().unwrap_or_default(),
            to: params.to.clone().unwrap_or_default(),
            outcome_error: error_for("outcome"),
            from_error: error_for("from"),
            to_error: error_for("to"),
            calls: totals.calls,
            connect_rate: format!("{:.0}%", totals.connect_rate() * 100.0),
            bookings: totals.bookings,
            cost: format::money(totals.cost),
            cost_per_booking: totals
                .cost_per_booking()
                .map(format::money)
                .unwrap_or_else(|| "—".into()),
            range: if total == 0 {
                "No calls".into()
            } else {
                format!(
                    "{first}–{} of {total}",
                    (u64::from(page) * u64::from(per_page)).min(total as u64)
                )
            },
            prev_href: (page > 1).then(|| href(page - 1)),
            next_href: (u64::from(page) < last_page).then(|| href(page + 1)),
        },
    ))
}
