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
        error::{AppError, AppResult, ErrorBody, OrNotFound},
        extract::{Json, Path, Query},
    },
    store::dnc::DncEntry,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DncParams {
    /// Digits the number contains (punctuation is ignored).
    q: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// The digits of a search, or none when it has none.
pub fn search_digits(q: Option<&str>) -> Option<String> {
    let digits: String = q?.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// Numbers that are never called, newest first.
#[utoipa::path(get, path = "/api/dnc", tag = "dnc", params(DncParams),
    responses((status = 200, body = Paged<DncEntry>), (status = 422, body = ErrorBody)))]
pub async fn list_dnc(
    State(state): State<AppState>,
    _user: CurrentUser,
    Query(p): Query<DncParams>,
) -> AppResult<Json<Paged<DncEntry>>> {
    let (page, per_page) = page_params(p.page, p.per_page)?;
    let digits = search_digits(p.q.as_deref());
    let (items, total) = state
        .store
        .list_dnc(digits.as_deref(), page, per_page)
        .await?;
    Ok(Json(Paged {
        items,
        total,
        total_exact: true,
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
    Ok(state.store.settings().await?.phone_region())
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
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
        .or_not_found("number on the do-not-call list")?;
    Ok(StatusCode::NO_CONTENT)
}

/// Largest do-not-call CSV accepted.
pub const MAX_DNC_UPLOAD: usize = 16 * 1024 * 1024;

/// The result of a do-not-call CSV import.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DncImportReport {
    pub added: u64,
    pub already_listed: u64,
    /// Up to 1,000 rows that are not phone numbers.
    pub invalid: Vec<crate::import::InvalidRow>,
    pub invalid_count: u64,
}

/// Add every number in a CSV (`text/csv` body with a header row and a phone column; an
/// optional `note` column is kept with each number).
#[utoipa::path(post, path = "/api/dnc/import", tag = "dnc", request_body(content_type = "text/csv", content = String),
    responses((status = 200, body = DncImportReport), (status = 422, body = ErrorBody)))]
pub async fn import_dnc(
    State(state): State<AppState>,
    _user: CurrentUser,
    body: axum::body::Bytes,
) -> AppResult<Json<DncImportReport>> {
    use crate::import::header::{Field, classify, normalize};
    let bad = |m: String| AppError::BadRequest {
        status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_csv",
        message: m,
    };
    let text = std::str::from_utf8(&body).map_err(|_| bad("the file is not UTF-8 text".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| bad(format!("the file is not valid CSV: {e}")))?
        .clone();
    let phone_col = headers
        .iter()
        .position(|h| classify(h) == Some(Field::Phone))
        .ok_or_else(|| {
            bad("no phone column: the header row needs a column such as \"phone\"".into())
        })?;
    let note_col = headers.iter().position(|h| {
        matches!(
            normalize(h).as_str(),
            "note" | "notes" | "reason" | "comment"
        )
    });
    let region = region(&state).await?;
    let mut report = DncImportReport {
        added: 0,
        already_listed: 0,
        invalid: Vec::new(),
        invalid_count: 0,
    };
    for record in rdr.records() {
        let record = record.map_err(|e| bad(format!("the file is not valid CSV: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let raw = record.get(phone_col).unwrap_or_default();
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        match Phone::parse(raw, region) {
            Ok(phone) => {
                let note = note_col
                    .and_then(|i| record.get(i))
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(|n| n.chars().take(500).collect::<String>());
                if state
                    .store
                    .add_dnc(phone.as_str(), "import", note.as_deref())
                    .await?
                {
                    report.added += 1;
                } else {
                    report.already_listed += 1;
                }
            }
            Err(e) => {
                report.invalid_count += 1;
                if report.invalid.len() < crate::import::MAX_LISTED_INVALID {
                    report.invalid.push(crate::import::InvalidRow {
                        row: line,
                        column: headers.get(phone_col).unwrap_or("phone").to_owned(),
                        value: raw.chars().take(100).collect(),
                        message: format!("phone {}", e.message),
                        fields: record
                            .iter()
                            .map(|f| f.chars().take(1_000).collect())
                            .collect(),
                    });
                }
            }
        }
    }
    Ok(Json(report))
}
