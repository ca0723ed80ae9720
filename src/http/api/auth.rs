//! Sign-in, sign-out and "who am I".

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode, header},
    response::{AppendHeaders, IntoResponse},
};
use serde::{Deserialize, Serialize};

use crate::{
    auth::{dummy_verify, random_token, token_digest, verify_password},
    domain::now_millis,
    http::{
        AppState,
        auth::{
            AuthVia, CurrentUser, SESSION_TTL_MS, clear_session_cookie, session_cookie,
            wants_secure_cookie,
        },
        error::{AppError, AppResult, ErrorBody},
        extract::Json,
    },
    store::users::User,
};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

/// The signed-in user, plus the CSRF token cookie-authenticated writes must send in
/// `X-CSRF-Token` (absent for bearer-token callers, who need none).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    #[serde(flatten)]
    pub user: User,
    pub csrf_token: Option<String>,
}

/// Signs `email` in with `password`, applying the rate limits; returns the user, the new
/// session token and its CSRF token. Shared by the API and the login form.
pub async fn sign_in(
    state: &AppState,
    peer: SocketAddr,
    email: &str,
    password: &str,
) -> AppResult<(User, String, String)> {
    let ip_key = format!("ip:{}", peer.ip());
    // Nothing that cannot be an address reaches the database or the limiter's memory.
    if email.len() > 254 || email.chars().any(char::is_control) || password.len() > 1024 {
        state.limiter.record_failure(std::slice::from_ref(&ip_key));
        return Err(AppError::InvalidCredentials("wrong email or password"));
    }
    let email_key = email.trim().to_lowercase();
    let keys = [ip_key, format!("email:{email_key}")];
    state
        .limiter
        .attempt(&keys)
        .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })?;
    let creds = state.store.user_credentials(&email_key).await?;
    let verified = match creds {
        Some(c) if verify_password(password.to_owned(), c.password_hash.clone()).await => {
            Some(c.user)
        }
        Some(_) => None,
        None => {
            dummy_verify(password.to_owned()).await;
            None
        }
    };
    let Some(user) = verified else {
        tracing::info!(client.ip = %peer.ip(), "sign-in failed");
        return Err(AppError::InvalidCredentials("wrong email or password"));
    };
    state.limiter.forgive(&keys);
    let token = random_token();
    let csrf = random_token();
    state
        .store
        .create_session(
            user.id,
            &token_digest(&token),
            &csrf,
            now_millis() + SESSION_TTL_MS,
        )
        .await?;
    tracing::info!(user.id = %user.id, "signed in");
    Ok((user, token, csrf))
}

/// Sign in; sets an HttpOnly session cookie.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> AppResult<impl IntoResponse> {
    let (user, token, csrf) = sign_in(&state, peer, &body.email, &body.password).await?;
    let cookie = session_cookie(&token, wants_secure_cookie(&state, &headers));
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        Json(MeResponse {
            user,
            csrf_token: Some(csrf),
        }),
    ))
}

/// Sign out of this session.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
) -> AppResult<impl IntoResponse> {
    if let AuthVia::Session { token_digest, .. } = &current.via {
        state.store.delete_session(token_digest).await?;
    }
    let cookie = clear_session_cookie(wants_secure_cookie(&state, &headers));
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, cookie)]),
    ))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/me", tag = "auth", responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
pub async fn me(current: CurrentUser) -> Json<MeResponse> {
    let csrf_token = match current.via {
        AuthVia::Session { csrf_token, .. } => Some(csrf_token),
        AuthVia::Token => None,
    };
    Json(MeResponse {
        user: current.user,
        csrf_token,
    })
}
