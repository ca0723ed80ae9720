//! `/api/tokens`: the signed-in user's API tokens for scripts.

use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::{new_api_token, token_digest},
    domain::required_text,
    http::{
        AppState,
        auth::CurrentUser,
        error::{AppResult, ErrorBody, OrNotFound},
        extract::{Json, Path},
    },
    store::users::ApiToken,
};

/// The caller's tokens (names and dates only; secrets are never shown again).
#[utoipa::path(get, path = "/api/tokens", tag = "tokens", responses((status = 200, body = Vec<ApiToken>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    current: CurrentUser,
) -> AppResult<Json<Vec<ApiToken>>> {
    Ok(Json(state.store.list_api_tokens(current.user.id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What the token is for, e.g. "nightly CRM sync".
    name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    token: ApiToken,
    /// Send as `Authorization: Bearer <secret>`. Shown only in this response.
    secret: String,
}

/// Create an API token for the caller.
#[utoipa::path(post, path = "/api/tokens", tag = "tokens", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    current: CurrentUser,
    Json(body): Json<CreateTokenRequest>,
) -> AppResult<(StatusCode, Json<CreatedToken>)> {
    let name = required_text("name", &body.name, 100)?;
    let secret = new_api_token();
    let token = state
        .store
        .create_api_token(current.user.id, &name, &token_digest(&secret))
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

/// Revoke one of the caller's tokens.
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "tokens", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_token(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    state
        .store
        .delete_api_token(current.user.id, id)
        .await
        .or_not_found("token")?;
    Ok(StatusCode::NO_CONTENT)
}
