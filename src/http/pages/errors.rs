//! Error pages: a browser that asks for a page and meets an error (a member opening the
//! settings, a lead that was deleted, a mistyped address) gets an HTML page in the app's
//! frame, not the API's JSON error body.

use askama::Template;
use axum::{
    body::to_bytes,
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{
    render,
    shell::{Shell, Theme},
};
use crate::http::{AppState, auth::CurrentUser, error::AppError};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    shell: Shell,
    status: u16,
    title: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "error_plain.html")]
struct PlainErrorPage {
    theme: &'static str,
    status: u16,
    title: &'static str,
    message: String,
}

fn wants_html(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::GET
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}

fn title(status: StatusCode) -> &'static str {
    match status {
        StatusCode::FORBIDDEN => "You don't have access to this page",
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::SERVICE_UNAVAILABLE => "The service is unavailable",
        s if s.is_server_error() => "Something went wrong",
        _ => "This page cannot be shown",
    }
}

/// The message of one of our JSON error bodies.
async fn message_of(response: Response) -> String {
    let bytes = to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .map(|m| {
            let mut chars = m.chars();
            chars.next().map_or(String::new(), |c| {
                c.to_uppercase().chain(chars).collect::<String>() + "."
            })
        })
        .unwrap_or_default()
}

/// Wraps the page routes (inside their sign-in check): error answers to a browser's page
/// request become error pages with the navigation bar.
pub async fn html_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let html = wants_html(req.method(), req.headers());
    let user = req.extensions().get::<CurrentUser>().cloned();
    let theme = Theme::of(req.headers());
    let response = next.run(req).await;
    let status = response.status();
    if !html || status.as_u16() < 400 {
        return response;
    }
    let message = message_of(response).await;
    match user {
        Some(user) => render(
            status,
            &ErrorPage {
                shell: Shell::new(user, theme, &state),
                status: status.as_u16(),
                title: title(status),
                message,
            },
        ),
        None => plain(status, theme, message),
    }
}

fn plain(status: StatusCode, theme: Theme, message: String) -> Response {
    render(
        status,
        &PlainErrorPage {
            theme: theme.as_str(),
            status: status.as_u16(),
            title: title(status),
            message,
        },
    )
}

/// Anything not routed: an HTML page for browsers, our JSON error for everyone else.
pub async fn not_found(headers: HeaderMap, method: Method) -> Response {
    if wants_html(&method, &headers) {
        return plain(
            StatusCode::NOT_FOUND,
            Theme::of(&headers),
            "There is no page at this address.".into(),
        );
    }
    AppError::NotFound("no such page".into()).into_response()
}
