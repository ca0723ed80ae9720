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
        extract::{Json, Query},
    },
    import::{ImportOptions, ImportReport, import_csv, reader::ChannelReader},
};

/// Largest upload accepted.
pub const MAX_UPLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Validate and report without writing anything.
    #[serde(default)]
    dry_run: bool,
}

/// Import leads from CSV. Valid rows are added, duplicates skipped, invalid rows reported.
#[utoipa::path(post, path = "/api/leads/import", tag = "leads", params(ImportParams),
    request_body(content_type = "text/csv", content = String,
        description = "CSV with a header row; or multipart/form-data with the file in any field"),
    responses((status = 200, body = ImportReport), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_leads(
    State(state): State<AppState>,
    _user: CurrentUser,
    Query(params): Query<ImportParams>,
    req: Request,
) -> AppResult<Json<ImportReport>> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let settings = state.store.settings().await?;
    let opts = ImportOptions::from_settings(&settings, params.dry_run)?;
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

async fn feed_body(body: Body, tx: Sender) -> AppResult<()> {
    let mut stream = body.into_data_stream();
    let mut seen = 0u64;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                seen += bytes.len() as u64;
                if seen > MAX_UPLOAD_BYTES {
                    let _ = tx
                        .send(Err(std::io::Error::other("upload too large")))
                        .await;
                    return Err(too_large());
                }
                if tx.send(Ok(bytes)).await.is_err() {
                    // The importer stopped early (bad file); its error is the one to report.
                    return Ok(());
                }
            }
            Err(e) => {
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                return Ok(());
            }
        }
    }
    Ok(())
}

async fn feed_multipart(mut multipart: Multipart, tx: Sender) -> AppResult<()> {
    let mut seen = 0u64;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => {
                let _ = tx.send(Ok(Bytes::new())).await;
                return Ok(());
            }
            Err(e) => {
                let _ = tx.send(Err(std::io::Error::other(e.body_text()))).await;
                return Ok(());
            }
        };
        // The first part that carries a file (or the first part at all) is the CSV.
        if field.file_name().is_none() && field.name() != Some("file") {
            continue;
        }
        let mut field = field;
        loop {
            match field.chunk().await {
                Ok(Some(bytes)) => {
                    seen += bytes.len() as u64;
                    if seen > MAX_UPLOAD_BYTES {
                        let _ = tx
                            .send(Err(std::io::Error::other("upload too large")))
                            .await;
                        return Err(too_large());
                    }
                    if tx.send(Ok(bytes)).await.is_err() {
                        return Ok(());
                    }
                }
                Ok(None) => return Ok(()),
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(e.body_text()))).await;
                    return Ok(());
                }
            }
        }
    }
}
