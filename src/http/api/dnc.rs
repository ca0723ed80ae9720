//! `/api/dnc`: the do-not-call list.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;

use super::{Paged, page_params};
use crate::{
    domain::{
        phone::{Phone, Region},
        required_text,
    },
    http::{
        AppState,
        auth::CurrentUser,
        error::{AppError, AppResult, ErrorBody},
        extract::{Json, Path, Query},
    },
    store::{StoreError, dnc::DncEntry},
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DncParams {
    page: Option<u32>,
    per_page: Option<u32>,
}

/// Numbers that are never called, newest first.
#[utoipa::path(get, path = "/api/dnc", tag = "dnc", params(DncParams), responses((status = 200, body = Paged<DncEntry>)))]
pub async fn list_dnc(
    State(state): State<AppState>,
    _user: CurrentUser,
    Query(p): Query<DncParams>,
) -> AppResult<Json<Paged<DncEntry>>> {
    let (page, per_page) = page_params(p.page, p.per_page)?;
    let (items, total) = state.store.list_dnc(page, per_page).await?;
    Ok(Json(Paged {
        items,
        total,
        page,
        per_page,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddDncRequest {
    /// Any common notation; stored as E.164 using the default region.
    phone: String,
    note: Option<String>,
}

async fn region(state: &AppState) -> AppResult<Region> {
    Ok(Region::parse(&state.store.settings().await?.default_region).unwrap_or(Region::US))
}

/// Add a number (201; 200 when it was already listed).
#[utoipa::path(post, path = "/api/dnc", tag = "dnc", request_body = AddDncRequest,
    responses((status = 201), (status = 200), (status = 422, body = ErrorBody)))]
pub async fn add_dnc(
    State(state): State<AppState>,
    _user: CurrentUser,
    Json(body): Json<AddDncRequest>,
) -> AppResult<StatusCode> {
    let phone = Phone::parse(&body.phone, region(&state).await?)?;
    let note = match body
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(n) => Some(required_text("note", n, 500)?),
        None => None,
    };
    let added = state
        .store
        .add_dnc(phone.as_str(), "manual", note.as_deref())
        .await?;
    Ok(if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    })
}

/// Remove a number, e.g. `DELETE /api/dnc/%2B14155552671`.
#[utoipa::path(delete, path = "/api/dnc/{number}", tag = "dnc", params(("number" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_dnc(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(number): Path<String>,
) -> AppResult<StatusCode> {
    let phone = Phone::parse(&number, region(&state).await?)?;
    state
        .store
        .remove_dnc(phone.as_str())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => AppError::not_found("number on the do-not-call list"),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
