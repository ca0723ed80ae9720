//! Who is calling: a session cookie (dashboard) or a bearer token (scripts).
//!
//! [`require_user`] guards every private API route, so no handler can forget to; handlers
//! then take [`CurrentUser`] or [`Admin`]. Writes made with a session cookie must echo the
//! session's CSRF token in `X-CSRF-Token`; bearer requests carry no ambient authority and
//! need none.

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{HeaderMap, Method, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use super::{AppState, error::AppError};
use crate::{
    auth::{constant_time_eq, token_digest},
    domain::user::Role,
    store::users::User,
};

/// Name of the HttpOnly session cookie.
pub const SESSION_COOKIE: &str = "dialer_session";
/// Header a cookie-authenticated write must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts.
pub const SESSION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum AuthVia {
    /// A session cookie; keeps its digest (for sign-out) and its CSRF token.
    Session {
        token_digest: String,
        csrf_token: String,
    },
    Token,
}

/// The signed-in user of this request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub via: AuthVia,
}

/// A signed-in admin; anyone else gets 403.
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(AppError::Unauthorized)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        if current.user.role != Role::Admin {
            return Err(AppError::Forbidden("only admins may do this".into()));
        }
        Ok(Admin(current))
    }
}

/// Reads a cookie's value from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Resolves the caller, or says why not.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<CurrentUser, AppError> {
    if let Some(token) = bearer(headers) {
        let user = state
            .store
            .user_for_token(&token_digest(token))
            .await?
            .ok_or(AppError::Unauthorized)?;
        return Ok(CurrentUser {
            user,
            via: AuthVia::Token,
        });
    }
    let cookie = cookie(headers, SESSION_COOKIE).ok_or(AppError::Unauthorized)?;
    let digest = token_digest(cookie);
    let session = state
        .store
        .find_session(&digest)
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok(CurrentUser {
        user: session.user,
        via: AuthVia::Session {
            token_digest: digest,
            csrf_token: session.csrf_token,
        },
    })
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware for the private API: 401 without a valid session or token, 403 for a
/// cookie-authenticated write without the session's CSRF token.
pub async fn require_user(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let current = match authenticate(&state, req.headers()).await {
        Ok(current) => current,
        Err(err) => return err.into_response(),
    };
    if let AuthVia::Session { csrf_token, .. } = &current.via {
        let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !is_safe(req.method()) && !sent.is_some_and(|s| constant_time_eq(s, csrf_token)) {
            return AppError::Forbidden(
                "missing or wrong X-CSRF-Token header (get it from GET /api/me)".into(),
            )
            .into_response();
        }
    }
    req.extensions_mut().insert(current);
    next.run(req).await
}

/// Middleware for pages: sends anyone not signed in to the login page, remembering where
/// they were going.
pub async fn require_page_user(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    match authenticate(&state, req.headers()).await {
        Ok(current) => {
            req.extensions_mut().insert(current);
            next.run(req).await
        }
        Err(AppError::Unavailable) => AppError::Unavailable.into_response(),
        Err(_) => {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            Redirect::to(&format!("/login?next={}", url_encode(target))).into_response()
        }
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `Set-Cookie` value for a new session.
pub fn session_cookie(token: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        SESSION_TTL_MS / 1000,
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Whether cookies should be `Secure`: the public URL is https, or a proxy says the request was.
pub fn wants_secure_cookie(state: &AppState, headers: &HeaderMap) -> bool {
    state
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cookies_among_many() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; dialer_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "bearer dlr_x".parse().unwrap());
        assert_eq!(bearer(&h), Some("dlr_x"));
    }

    #[test]
    fn next_paths_are_encoded() {
        assert_eq!(url_encode("/leads?x=1&y=2"), "/leads%3Fx%3D1%26y%3D2");
    }
}
