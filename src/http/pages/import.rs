//! `/import`: upload a CSV, check it (a dry run through the import API), pick columns,
//! confirm, and see what was imported. The page's script does the uploading.

use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};

use super::{render, shell::Shell};
use crate::http::{AppState, error::AppResult};

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    shell: Shell,
    region: String,
    default_tz: String,
}

/// `GET /import`
pub async fn import_page(State(state): State<AppState>, shell: Shell) -> AppResult<Response> {
    let settings = state.store.settings().await?;
    Ok(render(
        StatusCode::OK,
        &ImportPage {
            shell: shell.at("import"),
            region: settings.default_region,
            default_tz: settings.default_timezone,
        },
    ))
}
