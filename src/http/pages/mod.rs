//! Server-rendered pages (askama, auto-escaped) and the static assets they use.

pub mod login;

use askama::Template;
use axum::{
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use super::{
    auth::{AuthVia, CurrentUser},
    error::AppError,
};

/// Renders a template into an HTML response with `status`.
pub fn render<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => AppError::Internal(anyhow::anyhow!(
            "rendering {}: {e}",
            std::any::type_name::<T>()
        ))
        .into_response(),
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    sandbox: bool,
    email: String,
    role: &'static str,
    csrf_token: String,
}

/// `GET /`: the signed-in landing page.
pub async fn home(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    current: CurrentUser,
) -> Response {
    let csrf_token = match current.via {
        AuthVia::Session { csrf_token, .. } => csrf_token,
        AuthVia::Token => String::new(),
    };
    render(
        StatusCode::OK,
        &Home {
            sandbox: state.sandbox.is_some(),
            email: current.user.email,
            role: current.user.role.as_str(),
            csrf_token,
        },
    )
}

const APP_CSS: &str = include_str!("../../../static/app.css");

/// `GET /static/app.css`, embedded in the binary.
pub async fn app_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
}

/// Anything not routed.
pub async fn not_found() -> Response {
    AppError::NotFound("no such page".into()).into_response()
}
