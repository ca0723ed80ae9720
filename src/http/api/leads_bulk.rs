//! `POST /api/leads/bulk`: one action on many leads, named by id or by the list's filters.

use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use super::leads::LeadListParams;
use crate::{
    domain::lead::LeadStatus,
    http::{
        AppState,
        auth::CurrentUser,
        error::{AppError, AppResult, ErrorBody},
        extract::Json,
    },
    store::bulk::BulkAction,
};

/// Most leads one bulk request may name.
pub const MAX_BULK_IDS: usize = 20_000;

/// Leads matching these filters (the same as the list's `status` and `q`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkMatching {
    status: Option<String>,
    q: Option<String>,
}

/// How many leads a bulk request over `matching` handles at most.
pub const BULK_BATCH: u32 = 2_000;

/// A bulk action on chosen leads: either `ids`, or every lead `matching` the list's filters,
/// one batch per request (send `after` from the previous answer's `next_after`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    #[serde(default)]
    ids: Option<Vec<Uuid>>,
    #[serde(default)]
    matching: Option<BulkMatching>,
    /// With `matching`: continue after this lead id.
    #[serde(default)]
    after: Option<Uuid>,
    /// `delete`, `set_status` (with `status`), `requeue` or `do_not_call`.
    action: String,
    status: Option<String>,
}

/// What a bulk request did.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct BulkResponse {
    /// Leads changed.
    affected: u64,
    /// Leads looked at in this request (with `matching`, the batch size or fewer).
    scanned: u64,
    /// With `matching`: pass as `after` to handle the next batch; absent when done.
    next_after: Option<Uuid>,
}

fn bulk_action(action: &str, status: Option<&str>) -> Result<BulkAction, AppError> {
    Ok(match (action, status) {
        ("delete", None) => BulkAction::Delete,
        ("requeue", None) => BulkAction::Requeue,
        ("do_not_call", None) => BulkAction::DoNotCall,
        ("set_status", Some(s)) => BulkAction::SetStatus(LeadStatus::parse_manual("status", s)?),
        ("set_status", None) => {
            return Err(AppError::invalid("status", "is required for set_status"));
        }
        ("delete" | "requeue" | "do_not_call", Some(_)) => {
            return Err(AppError::invalid("status", "is only used with set_status"));
        }
        (other, _) => {
            return Err(AppError::invalid(
                "action",
                format!("unknown action {other:?}; use delete, set_status, requeue or do_not_call"),
            ));
        }
    })
}

/// Delete, re-status, requeue or do-not-call many leads at once.
#[utoipa::path(post, path = "/api/leads/bulk", tag = "leads", request_body = BulkRequest,
    responses((status = 200, body = BulkResponse), (status = 422, body = ErrorBody)))]
pub async fn bulk_leads(
    State(state): State<AppState>,
    _user: CurrentUser,
    Json(body): Json<BulkRequest>,
) -> AppResult<Json<BulkResponse>> {
    let action = bulk_action(&body.action, body.status.as_deref())?;
    match (body.ids, body.matching) {
        (Some(ids), None) => {
            if body.after.is_some() {
                return Err(AppError::invalid("after", "is only used with matching"));
            }
            if ids.is_empty() {
                return Err(AppError::invalid("ids", "must name at least one lead"));
            }
            if ids.len() > MAX_BULK_IDS {
                return Err(AppError::invalid(
                    "ids",
                    format!("may name at most {MAX_BULK_IDS} leads per request"),
                ));
            }
            let affected = state.store.bulk_leads(&ids, action).await?;
            Ok(Json(BulkResponse {
                affected,
                scanned: ids.len() as u64,
                next_after: None,
            }))
        }
        (None, Some(matching)) => {
            let filter = LeadListParams {
                status: matching.status,
                q: matching.q,
                ..LeadListParams::default()
            }
            .filter()?;
            let (affected, scanned, last) = state
                .store
                .bulk_matching(&filter, body.after, BULK_BATCH, action)
                .await?;
            Ok(Json(BulkResponse {
                affected,
                scanned,
                next_after: last.filter(|_| scanned == u64::from(BULK_BATCH)),
            }))
        }
        _ => Err(AppError::invalid(
            "ids",
            "send either ids or matching (not both)",
        )),
    }
}
