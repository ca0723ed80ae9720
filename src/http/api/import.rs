//! `POST /api/leads/import`: a CSV upload (raw `text/csv` body or a multipart file field),
//! streamed into the importer so that files of any size use bounded memory.

use axum::{
    body::Body,
    extract::{FromRequest, Multipart, Request, State},
    http::header,
};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::{
    http::{
        AppState,
        auth::CurrentUser,
        error::{AppError, AppResult, ErrorBody},
        extract::{Json, Path, Query},
    },
    import::{
        ImportOptions, ImportReport,
        header::ChosenColumns,
        import_csv,
        progress::{ProgressView, valid_key},
        reader::ChannelReader,
    },
};

/// Largest upload accepted.
pub const MAX_UPLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Validate and report without writing anything.
    #[serde(default)]
    dry_run: bool,
    /// Header of the column to read company names from (instead of the detected one).
    map_company_name: Option<String>,
    map_contact_name: Option<String>,
    map_phone: Option<String>,
    map_email: Option<String>,
    /// Header of the time-zone column; empty to ignore the file's zones.
    map_timezone: Option<String>,
    /// A key of the caller's choosing (8 to 64 letters, digits, `-`, `_`) under which
    /// `GET /api/leads/import/progress/{key}` reports how far this import has come.
    progress: Option<String>,
}

/// Import leads from CSV. Valid rows are added, duplicates skipped, invalid rows reported.
#[utoipa::path(post, path = "/api/leads/import", tag = "leads", params(ImportParams),
    request_body(content_type = "text/csv", content = String,
        description = "CSV with a header row; or multipart/form-data with the file in any field"),
    responses((status = 200, body = ImportReport), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_leads(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ImportParams>,
    req: Request,
) -> AppResult<Json<ImportReport>> {
    if let Some(key) = params.progress.as_deref().filter(|k| !valid_key(k)) {
        return Err(AppError::invalid(
            "progress",
            format!("{key:?} is not 8 to 64 letters, digits, - or _"),
        ));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let settings = state.store.settings().await?;
    let mut opts = ImportOptions::from_settings(&settings, params.dry_run)?;
    opts.columns = ChosenColumns([
        params.map_company_name,
        params.map_contact_name,
        params.map_phone,
        params.map_email,
        params.map_timezone,
    ]);
    let _watching = params.progress.map(|key| {
        let (progress, guard) = state.imports.start(user.user.id, &key);
        opts.progress = Some(progress);
        guard
    });
    let (tx, reader) = ChannelReader::new();
    let import = import_csv(&state.store, reader, opts);
    let feed = async move {
        if content_type.starts_with("multipart/form-data") {
            let multipart = Multipart::from_request(req, &())
                .await
                .map_err(|e| AppError::bad_request("invalid_multipart", e.body_text()))?;
            feed_multipart(multipart, tx).await
        } else if [
            "text/csv",
            "application/csv",
            "text/plain",
            "application/vnd.ms-excel",
        ]
        .iter()
        .any(|t| content_type.starts_with(t))
        {
            feed_body(req.into_body(), tx).await
        } else {
            Err(AppError::BadRequest {
                status: axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code: "unsupported_media_type",
                message: "send the CSV as text/csv or as a multipart/form-data file".into(),
            })
        }
    };
    // Both halves run together: the feed pushes the upload while the importer consumes it.
    let (fed, report) = tokio::join!(feed, import);
    fed?;
    Ok(Json(report?))
}

/// How far an import started with `progress={key}` has come (rows read, then rows saved).
#[utoipa::path(get, path = "/api/leads/import/progress/{key}", tag = "leads",
    params(("key" = String, Path, description = "the key the import was started with")),
    responses((status = 200, body = ProgressView), (status = 404, body = ErrorBody)))]
pub async fn import_progress(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(key): Path<String>,
) -> AppResult<Json<ProgressView>> {
    state
        .imports
        .view(user.user.id, &key)
        .map(Json)
        .ok_or_else(|| AppError::NotFound("no import is running under that key".into()))
}

type Sender = mpsc::Sender<std::io::Result<Bytes>>;

fn too_large() -> AppError {
    AppError::BadRequest {
        status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        code: "payload_too_large",
        message: format!(
            "uploads are limited to {} MiB",
            MAX_UPLOAD_BYTES / 1024 / 1024
        ),
    }
}

/// Hands upload chunks to the importer, enforcing the size limit.
struct Feed {
    tx: Sender,
    seen: u64,
}

impl Feed {
    /// Passes on one chunk (or the upload's failure); `Some(result)` when feeding must stop.
    async fn push(&mut self, chunk: Result<Bytes, String>) -> Option<AppResult<()>> {
        let bytes = match chunk {
            Ok(bytes) => bytes,
            Err(e) => {
                let _ = self.tx.send(Err(std::io::Error::other(e))).await;
                return Some(Ok(()));
            }
        };
        self.seen += bytes.len() as u64;
        if self.seen > MAX_UPLOAD_BYTES {
            let _ = self
                .tx
                .send(Err(std::io::Error::other("upload too large")))
                .await;
            return Some(Err(too_large()));
        }
        // A closed channel means the importer stopped early (bad file); its error is the one to report.
        self.tx.send(Ok(bytes)).await.is_err().then_some(Ok(()))
    }
}

async fn feed_body(body: Body, tx: Sender) -> AppResult<()> {
    let mut stream = body.into_data_stream();
    let mut feed = Feed { tx, seen: 0 };
    while let Some(chunk) = stream.next().await {
        if let Some(done) = feed.push(chunk.map_err(|e| e.to_string())).await {
            return done;
        }
    }
    Ok(())
}

async fn feed_multipart(mut multipart: Multipart, tx: Sender) -> AppResult<()> {
    let mut feed = Feed { tx, seen: 0 };
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            // No file part at all: the importer sees an empty file.
            Ok(None) => return feed.push(Ok(Bytes::new())).await.unwrap_or(Ok(())),
            Err(e) => return feed.push(Err(e.body_text())).await.unwrap_or(Ok(())),
        };
        // The CSV is the first part that is a file, or is named "file".
        if field.file_name().is_none() && field.name() != Some("file") {
            continue;
        }
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(bytes)) => Ok(bytes),
                Ok(None) => return Ok(()),
                Err(e) => Err(e.body_text()),
            };
            if let Some(done) = feed.push(chunk).await {
                return done;
            }
        }
    }
}
