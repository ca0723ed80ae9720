//! `GET /api/leads/export`: the leads matching the list's filters as a streamed CSV.

use axum::{
    body::Body,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use tokio::sync::mpsc;

use super::leads::LeadListParams;
use crate::{
    http::{
        AppState,
        auth::CurrentUser,
        error::{AppResult, ErrorBody},
        extract::Query,
    },
    store::leads::Lead,
};

/// Export the leads matching the filters as CSV (all pages).
#[utoipa::path(get, path = "/api/leads/export", tag = "leads", params(LeadListParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422, body = ErrorBody)))]
pub async fn export_leads(
    State(state): State<AppState>,
    _user: CurrentUser,
    Query(params): Query<LeadListParams>,
) -> AppResult<Response> {
    let filter = params.filter()?;
    let (sort, order) = params.sort()?;
    let (rows_tx, rows_rx) = mpsc::channel::<Lead>(256);
    let (fail_tx, fail_rx) = tokio::sync::oneshot::channel::<()>();
    let store = state.store.clone();
    tokio::spawn(async move {
        if let Err(err) = store.stream_leads(&filter, sort, order, rows_tx).await {
            tracing::error!(error.cause_chain = ?err, "lead export stopped early");
            let _ = fail_tx.send(());
        }
    });
    let header_line = csv_line(&EXPORT_HEADER.map(String::from));
    let stream = futures_util::stream::unfold(
        (rows_rx, Some(fail_rx), Some(header_line)),
        |(mut rx, fail, first)| async move {
            if let Some(first) = first {
                return Some((Ok::<_, std::io::Error>(first), (rx, fail, None)));
            }
            match rx.recv().await {
                Some(lead) => Some((Ok(csv_line(&export_row(&lead))), (rx, fail, None))),
                // A failed query ends the body with an error, so the client sees a broken
                // download instead of a short file that looks complete.
                None => match fail?.await {
                    Ok(()) => Some((
                        Err(std::io::Error::other("export failed")),
                        (rx, None, None),
                    )),
                    Err(_) => None,
                },
            }
        },
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"leads.csv\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

const EXPORT_HEADER: [&str; 13] = [
    "id",
    "company_name",
    "contact_name",
    "phone",
    "email",
    "status",
    "status_reason",
    "timezone",
    "call_attempts",
    "last_called_at",
    "next_call_at",
    "cal_booking_uid",
    "created_at",
];

fn export_row(l: &Lead) -> [String; 13] {
    let ts = |v: Option<i64>| v.map(crate::domain::millis_to_rfc3339).unwrap_or_default();
    [
        l.id.to_string(),
        formula_safe(&l.company_name),
        formula_safe(&l.contact_name),
        l.phone.clone(),
        formula_safe(&l.email),
        l.status.as_str().into(),
        formula_safe(l.status_reason.as_deref().unwrap_or("")),
        l.timezone.clone(),
        l.call_attempts.to_string(),
        ts(l.last_called_at),
        ts(l.next_call_at),
        l.cal_booking_uid.clone().unwrap_or_default(),
        ts(Some(l.created_at)),
    ]
}

/// Spreadsheets run cells that start with `=`, `+`, `-` or `@` as formulas; a leading
/// apostrophe keeps imported text inert. Phone numbers (always `+digits`) are left alone.
fn formula_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

fn csv_line(fields: &[String]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(fields);
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(formula_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(formula_safe("Acme"), "Acme");
    }

    #[test]
    fn csv_lines_quote_when_needed() {
        assert_eq!(csv_line(&["a,b".into(), "c".into()]), b"\"a,b\",c\n");
    }
}
