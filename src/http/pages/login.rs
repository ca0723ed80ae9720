//! The sign-in page and the form posts behind it.

use std::net::SocketAddr;

use askama::Template;
use axum::{
    Form,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{AppendHeaders, IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{render, shell::Theme};
use crate::{
    auth::constant_time_eq,
    http::{
        AppState,
        api::auth::sign_in,
        auth::{AuthVia, CurrentUser, clear_session_cookie, session_cookie, wants_secure_cookie},
        error::AppError,
    },
};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    theme: &'static str,
    error: Option<String>,
    email: String,
    next: String,
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// Only same-site paths: `/leads` yes, `//evil.example` or `https://...` no.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && n.len() <= 2048
                && n.parse::<axum::http::uri::PathAndQuery>().is_ok() =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// `GET /login`
pub async fn login_page(headers: HeaderMap, Query(q): Query<NextParam>) -> Response {
    render(
        StatusCode::OK,
        &LoginPage {
            theme: Theme::of(&headers).as_str(),
            error: None,
            email: String::new(),
            next: safe_next(q.next.as_deref()),
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// A cross-site page must not be able to sign a visitor in to our site (login CSRF).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}

/// `POST /login`
pub async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    if !same_origin(&headers) {
        return AppError::Forbidden("cross-site sign-in refused".into()).into_response();
    }
    let page = |status, error: String| {
        render(
            status,
            &LoginPage {
                theme: Theme::of(&headers).as_str(),
                error: Some(error),
                email: form.email.clone(),
                next: next.clone(),
            },
        )
    };
    match sign_in(&state, peer, &form.email, &form.password).await {
        Ok((_, token, _)) => {
            let cookie = session_cookie(&token, wants_secure_cookie(&state, &headers));
            (
                AppendHeaders([(header::SET_COOKIE, cookie)]),
                Redirect::to(&next),
            )
                .into_response()
        }
        Err(AppError::InvalidCredentials(msg)) => {
            page(StatusCode::UNAUTHORIZED, format!("Sign-in failed: {msg}."))
        }
        Err(AppError::RateLimited { retry_after_secs }) => page(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed attempts. Try again in {} minutes.",
                retry_after_secs.div_ceil(60)
            ),
        ),
        Err(other) => other.into_response(),
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf_token: String,
}

/// `POST /logout` from the page's sign-out button.
pub async fn logout_submit(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if let AuthVia::Session {
        token_digest,
        csrf_token,
    } = &current.via
    {
        if !constant_time_eq(&form.csrf_token, csrf_token) {
            return AppError::Forbidden("the sign-out form has expired; reload the page".into())
                .into_response();
        }
        if let Err(e) = state.store.delete_session(token_digest).await {
            return AppError::from(e).into_response();
        }
    }
    let cookie = clear_session_cookie(wants_secure_cookie(&state, &headers));
    (
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        Redirect::to("/login"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_on_site() {
        assert_eq!(safe_next(Some("/leads?page=2")), "/leads?page=2");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/\n")), "/");
        assert_eq!(safe_next(Some("/a b")), "/");
    }

    #[test]
    fn origin_must_match_host() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h));
        h.insert(header::HOST, "dialer.local:3000".parse().unwrap());
        h.insert(header::ORIGIN, "http://dialer.local:3000".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
    }
}
