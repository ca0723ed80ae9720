//! `/api/call-logs`: the history of calls placed.

use axum::{extract::State, http::header, response::IntoResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::{Paged, page_params};
use crate::{
    http::{
        AppState,
        auth::CurrentUser,
        error::{AppError, AppResult, ErrorBody, OrNotFound},
        extract::{Json, Path, Query},
    },
    store::{
        call_logs::CallLog,
        stats::{CallLogFilter, CallOutcome, CallTotals},
    },
};

/// Which calls to list or total.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallLogParams {
    /// Only calls to this lead.
    pub lead_id: Option<Uuid>,
    /// booked, connected, not_connected, opted_out or in_progress.
    pub outcome: Option<String>,
    /// Calls placed on or after this day (`YYYY-MM-DD`, in the settings' default time zone)
    /// or instant (RFC 3339).
    pub from: Option<String>,
    /// Calls placed on or before this day (`YYYY-MM-DD`, inclusive) or before this instant.
    pub to: Option<String>,
    pub page: Option<u32>,
    /// 10 (default), 20, 50 or 100.
    pub per_page: Option<u32>,
}

impl CallLogParams {
    /// The store filter these parameters describe; days are read in `tz`.
    pub fn filter(&self, tz: &jiff::tz::TimeZone) -> Result<CallLogFilter, AppError> {
        let outcome = match self.outcome.as_deref().filter(|o| !o.is_empty()) {
            None => None,
            Some(o) => Some(CallOutcome::parse(o).ok_or_else(|| {
                AppError::invalid(
                    "outcome",
                    "use booked, connected, not_connected, opted_out or in_progress",
                )
            })?),
        };
        let from = bound("from", self.from.as_deref(), tz, false)?;
        let to = bound("to", self.to.as_deref(), tz, true)?;
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(AppError::invalid("to", "must not be before from"));
        }
        Ok(CallLogFilter {
            lead_id: self.lead_id,
            outcome,
            from,
            to,
        })
    }
}

/// A day (its start, or the start of the next day when `end_of_day`) or an instant.
fn bound(
    field: &'static str,
    value: Option<&str>,
    tz: &jiff::tz::TimeZone,
    end_of_day: bool,
) -> Result<Option<i64>, AppError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(ts) = value.parse::<jiff::Timestamp>() {
        return Ok(Some(ts.as_millisecond()));
    }
    let day: jiff::civil::Date = value
        .parse()
        .map_err(|_| AppError::invalid(field, "must be a date (YYYY-MM-DD) or an RFC 3339 time"))?;
    let day = if end_of_day {
        day.tomorrow()
            .map_err(|_| AppError::invalid(field, "is out of range"))?
    } else {
        day
    };
    let start = day
        .to_zoned(tz.clone())
        .map_err(|_| AppError::invalid(field, "is out of range"))?;
    Ok(Some(start.timestamp().as_millisecond()))
}

/// The zone day filters are read in.
pub async fn filter_zone(state: &AppState) -> AppResult<jiff::tz::TimeZone> {
    let settings = state.store.settings().await?;
    Ok(jiff::tz::TimeZone::get(&settings.default_timezone).unwrap_or(jiff::tz::TimeZone::UTC))
}

/// List calls, newest first.
#[utoipa::path(get, path = "/api/call-logs", tag = "calls", params(CallLogParams),
    responses((status = 200, body = Paged<CallLog>), (status = 422, body = ErrorBody)))]
pub async fn list_call_logs(
    State(state): State<AppState>,
    _user: CurrentUser,
    Query(params): Query<CallLogParams>,
) -> AppResult<Json<Paged<CallLog>>> {
    let (page, per_page) = page_params(params.page, params.per_page)?;
    let filter = params.filter(&filter_zone(&state).await?)?;
    let (items, total) = state.store.list_call_logs(&filter, page, per_page).await?;
    Ok(Json(Paged {
        items,
        total,
        total_exact: true,
        page,
        per_page,
    }))
}

/// Totals over the calls the filters cover: calls, connected, bookings and cost.
#[utoipa::path(get, path = "/api/call-logs/totals", tag = "calls", params(CallLogParams),
    responses((status = 200, body = CallTotals), (status = 422, body = ErrorBody)))]
pub async fn call_totals(
    State(state): State<AppState>,
    _user: CurrentUser,
    Query(params): Query<CallLogParams>,
) -> AppResult<Json<CallTotals>> {
    let filter = params.filter(&filter_zone(&state).await?)?;
    Ok(Json(state.store.call_totals(&filter).await?))
}

/// Fetch one call.
#[utoipa::path(get, path = "/api/call-logs/{id}", tag = "calls", params(("id" = Uuid, Path)),
    responses((status = 200, body = CallLog), (status = 404, body = ErrorBody)))]
pub async fn get_call_log(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<Uuid>,
) -> AppResult<Json<CallLog>> {
    Ok(Json(
        state
            .store
            .get_call_log(id)
            .await
            .or_not_found("call log")?,
    ))
}

/// The raw end-of-call report VAPI sent for this call, verbatim.
#[utoipa::path(get, path = "/api/call-logs/{id}/report", tag = "calls", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/json", body = Object), (status = 404, body = ErrorBody)))]
pub async fn get_call_report(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<Uuid>,
) -> AppResult<impl IntoResponse> {
    let report = state
        .store
        .call_log_report(id)
        .await
        .or_not_found("call log")?
        .ok_or_else(|| {
            AppError::NotFound("no end-of-call report has arrived for this call yet".into())
        })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], report))
}
