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
    store::call_logs::CallLog,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallLogParams {
    /// Only calls to this lead.
    lead_id: Option<Uuid>,
    page: Option<u32>,
    /// 10 (default), 20, 50 or 100.
    per_page: Option<u32>,
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
    let (items, total) = state
        .store
        .list_call_logs(params.lead_id, page, per_page)
        .await?;
    Ok(Json(Paged {
        items,
        total,
        page,
        per_page,
    }))
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
