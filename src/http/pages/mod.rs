//! Server-rendered pages (askama, auto-escaped) and the static assets they use. Pages read
//! and write only through the store calls and API handlers the JSON API uses, so the same
//! validation and authorization apply to both.

pub mod calls;
pub mod errors;
pub mod format;
pub mod import;
pub mod lead_detail;
pub mod leads;
pub mod login;
pub mod settings;
pub mod shell;

use askama::Template;
use axum::{
    Form,
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::error::AppError;

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

const APP_CSS: &str = include_str!("../../../static/app.css");
const APP_JS: &str = include_str!("../../../static/app.js");

/// `GET /static/app.css`, embedded in the binary.
pub async fn app_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        APP_CSS,
    )
}

/// `GET /static/app.js`: the one script, a module that enhances the server's pages.
pub async fn app_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        APP_JS,
    )
}

#[derive(Deserialize)]
pub struct ThemeForm {
    theme: String,
}

/// `POST /theme`: remembers the theme in a cookie (the form works without the script, which
/// sets the same cookie itself), then returns to the page it came from.
pub async fn set_theme(headers: HeaderMap, Form(form): Form<ThemeForm>) -> Response {
    let Some(theme) = shell::Theme::parse(&form.theme) else {
        return AppError::invalid("theme", "use light, dark or system").into_response();
    };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.parse::<axum::http::Uri>().ok())
        .and_then(|u| u.path_and_query().map(|p| p.as_str().to_owned()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    (
        [(
            header::SET_COOKIE,
            format!(
                "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                shell::THEME_COOKIE,
                theme.as_str()
            ),
        )],
        Redirect::to(&back),
    )
        .into_response()
}
