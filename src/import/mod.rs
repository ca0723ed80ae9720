//! CSV lead import: RFC 4180 parsing on a blocking thread, row validation, and insertion
//! through the store's bulk path, streamed in batches so memory stays flat for any file size.
//!
//! Row-level problems (a bad phone, email or time zone, a missing value) are reported and
//! the row skipped; problems with the file itself (not text, ragged rows, missing columns,
//! no rows) reject the whole import and nothing is written.

pub mod header;
pub mod progress;
pub mod reader;

use std::{
    io::{self, Read},
    sync::Arc,
};

use serde::Serialize;
use tokio::sync::mpsc;

use crate::domain::{
    lead::{LeadInput, NewLead},
    phone::Region,
    timezone::TimeZoneName,
};
use crate::store::{
    Store, StoreError,
    import::{DuplicateRow, ImportTx},
};
use header::{ChosenColumns, ColumnMapping, Field};
use progress::{ImportProgress, Phase};

/// Rows validated per batch handed to the database.
const BATCH_ROWS: usize = 2_000;
/// Invalid rows listed in a report; the count covers all of them.
pub const MAX_LISTED_INVALID: usize = 1_000;
/// Longest cell value echoed back in a report.
const MAX_ECHOED_VALUE: usize = 100;
/// Longest cell value kept in a rejected row (enough to fix and import it again).
const MAX_KEPT_VALUE: usize = 1_000;

/// How to interpret and apply an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Validate and count everything, then roll back.
    pub dry_run: bool,
    pub region: Region,
    pub default_timezone: TimeZoneName,
    /// Columns chosen by a person instead of detected.
    pub columns: ChosenColumns,
    /// Counters to report progress into, for a progress bar.
    pub progress: Option<Arc<ImportProgress>>,
}

impl ImportOptions {
    /// Options that read numbers and zones the way the settings say.
    pub fn from_settings(
        settings: &crate::store::settings::Settings,
        dry_run: bool,
    ) -> anyhow::Result<Self> {
        Ok(ImportOptions {
            dry_run,
            region: settings.phone_region(),
            default_timezone: settings.default_tz()?,
            columns: ChosenColumns::default(),
            progress: None,
        })
    }
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvalidRow {
    /// Line of the file where the row starts (the header is line 1).
    pub row: u64,
    /// Header text of the offending column.
    pub column: String,
    pub value: String,
    pub message: String,
    /// The whole row as read, so rejected rows can be downloaded, fixed and imported again.
    pub fields: Vec<String>,
}

/// The outcome of an import (or of a dry run, which reports the same without writing).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub imported: u64,
    /// Rows skipped because the number is already stored or appears earlier in the file.
    pub duplicates: u64,
    /// A dry run lists the first 1,000 of them.
    pub duplicate_rows: Vec<DuplicateRow>,
    /// Up to 1,000 rows that were not imported, with the reason.
    pub invalid: Vec<InvalidRow>,
    /// Every invalid row, including any beyond the listed ones.
    pub invalid_count: u64,
    /// Data rows read (blank lines excluded).
    pub rows: u64,
    pub dry_run: bool,
    /// Which columns were used for which field.
    pub columns: ColumnMapping,
    /// The file's header row, in order.
    pub headers: Vec<String>,
    /// The first few data rows as read, for a preview.
    pub sample: Vec<Vec<String>>,
}

/// Why an import was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not a usable CSV; the message names the problem for the user.
    #[error("{0}")]
    BadFile(String),
    /// The upload broke off or could not be read.
    #[error("could not read the upload: {0}")]
    Io(#[source] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the parser thread hands to the database side.
enum Msg {
    /// Valid leads with the line each starts on.
    Batch(Vec<(u64, NewLead)>),
}

struct ParseSummary {
    rows: u64,
    invalid: Vec<InvalidRow>,
    invalid_count: u64,
    columns: ColumnMapping,
    headers: Vec<String>,
    sample: Vec<Vec<String>>,
}

/// Data rows echoed back for the import preview.
const SAMPLE_ROWS: usize = 5;

/// Imports CSV from a blocking reader (a file, or an upload via [`reader::ChannelReader`]).
pub async fn import_csv<R>(
    store: &Store,
    source: R,
    opts: ImportOptions,
) -> Result<ImportReport, ImportError>
where
    R: Read + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<Msg>(4);
    let region = opts.region;
    let default_tz = opts.default_timezone.clone();
    let chosen = opts.columns.clone();
    let watch = opts.progress.clone();
    let parser = tokio::task::spawn_blocking(move || {
        parse(source, region, &default_tz, &chosen, &tx, watch.as_deref())
    });

    let mut sink: Option<ImportTx> = None;
    let mut valid: u64 = 0;
    while let Some(Msg::Batch(batch)) = rx.recv().await {
        valid += batch.len() as u64;
        let tx = match &mut sink {
            Some(tx) => tx,
            None => sink.insert(store.begin_import().await?),
        };
        if let Err(e) = tx.add(&batch).await {
            // Dropping the receiver stops the parser at its next batch.
            drop(rx);
            if let Some(tx) = sink {
                tx.abort().await;
            }
            return Err(e.into());
        }
    }
    let summary = match parser.await {
        Ok(Ok(summary)) => summary,
        Ok(Err(e)) => {
            if let Some(tx) = sink {
                tx.abort().await;
            }
            return Err(e);
        }
        Err(join) => {
            if let Some(tx) = sink {
                tx.abort().await;
            }
            return Err(ImportError::Io(io::Error::other(join.to_string())));
        }
    };
    let progress = opts.progress.as_deref();
    let (imported, duplicate_rows) = match sink {
        Some(tx) if opts.dry_run => {
            progress.inspect(|p| p.phase(Phase::Checking));
            tx.count_new(MAX_LISTED_INVALID).await?
        }
        Some(tx) => {
            progress.inspect(|p| p.saving(valid));
            (tx.finish(progress).await?, Vec::new())
        }
        None => (0, Vec::new()),
    };
    Ok(ImportReport {
        imported,
        duplicates: valid - imported,
        duplicate_rows,
        invalid: summary.invalid,
        invalid_count: summary.invalid_count,
        rows: summary.rows,
        dry_run: opts.dry_run,
        columns: summary.columns,
        headers: summary.headers,
        sample: summary.sample,
    })
}

fn csv_error(err: csv::Error) -> ImportError {
    let line = err.position().map(|p| p.line());
    match err.into_kind() {
        csv::ErrorKind::Io(e) => ImportError::Io(e),
        other => {
            let at = line.map(|l| format!(" at line {l}")).unwrap_or_default();
            ImportError::BadFile(format!("the file is not valid CSV{at}: {other:?}"))
        }
    }
}

fn utf8_field(bytes: &[u8], line: u64) -> Result<&str, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        ImportError::BadFile(format!(
            "line {line} is not UTF-8 text; export the spreadsheet as CSV (UTF-8)"
        ))
    })?;
    if text.contains('\0') {
        return Err(ImportError::BadFile(format!(
            "line {line} contains binary data; this does not look like a CSV file"
        )));
    }
    Ok(text)
}

fn parse<R: Read>(
    source: R,
    region: Region,
    default_tz: &TimeZoneName,
    chosen: &ChosenColumns,
    out: &mpsc::Sender<Msg>,
    progress: Option<&ImportProgress>,
) -> Result<ParseSummary, ImportError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(source);
    let raw_headers = rdr.byte_headers().map_err(csv_error)?.clone();
    if raw_headers.is_empty() || raw_headers.iter().all(<[u8]>::is_empty) && raw_headers.len() == 1
    {
        return Err(ImportError::BadFile("the file is empty".into()));
    }
    let mut headers = Vec::with_capacity(raw_headers.len());
    for (i, h) in raw_headers.iter().enumerate() {
        let h = if i == 0 {
            h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h)
        } else {
            h
        };
        headers.push(utf8_field(h, 1)?.trim().to_owned());
    }
    let columns = ColumnMapping::detect_with(&headers, chosen).map_err(ImportError::BadFile)?;
    let col = |f: Field| columns.column(f);
    let (company, contact, phone, email) = (
        col(Field::Company).unwrap_or(0),
        col(Field::Contact).unwrap_or(0),
        col(Field::Phone).unwrap_or(0),
        col(Field::Email).unwrap_or(0),
    );
    let tz_col = col(Field::Timezone);

    let mut summary = ParseSummary {
        rows: 0,
        invalid: Vec::new(),
        invalid_count: 0,
        columns: columns.clone(),
        headers: headers.clone(),
        sample: Vec::new(),
    };
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut record = csv::ByteRecord::new();
    while rdr.read_byte_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        if record.len() != headers.len() {
            let extra_blank = record.len() > headers.len()
                && record.iter().skip(headers.len()).all(<[u8]>::is_empty);
            if !extra_blank {
                return Err(ImportError::BadFile(format!(
                    "line {line} has {} fields but the header has {}; check for unquoted commas",
                    record.len(),
                    headers.len()
                )));
            }
        }
        summary.rows += 1;
        if summary.sample.len() < SAMPLE_ROWS {
            summary.sample.push(
                record
                    .iter()
                    .map(|f| {
                        String::from_utf8_lossy(f)
                            .chars()
                            .take(MAX_ECHOED_VALUE)
                            .collect()
                    })
                    .collect(),
            );
        }
        let field = |i: usize| -> Result<&str, ImportError> {
            utf8_field(record.get(i).unwrap_or_default(), line)
        };
        let input = LeadInput {
            company_name: field(company)?,
            contact_name: field(contact)?,
            phone: field(phone)?,
            email: field(email)?,
            timezone: match tz_col {
                Some(i) => Some(field(i)?),
                None => None,
            },
        };
        match NewLead::parse(&input, region, default_tz) {
            Ok(lead) => batch.push((line, lead)),
            Err(errors) => {
                summary.invalid_count += 1;
                let fields: Vec<String> = record
                    .iter()
                    .map(|f| {
                        String::from_utf8_lossy(f)
                            .chars()
                            .take(MAX_KEPT_VALUE)
                            .collect()
                    })
                    .collect();
                for e in errors {
                    if summary.invalid.len() >= MAX_LISTED_INVALID {
                        break;
                    }
                    let value = match e.field {
                        "company_name" => input.company_name,
                        "contact_name" => input.contact_name,
                        "phone" => input.phone,
                        "email" => input.email,
                        _ => input.timezone.unwrap_or_default(),
                    };
                    summary.invalid.push(InvalidRow {
                        row: line,
                        column: columns.header_for(e.field),
                        value: value.chars().take(MAX_ECHOED_VALUE).collect(),
                        message: format!("{} {}", e.field, e.message),
                        fields: fields.clone(),
                    });
                }
            }
        }
        if batch.len() >= BATCH_ROWS {
            progress.inspect(|p| p.read(summary.rows));
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
            if out.blocking_send(Msg::Batch(full)).is_err() {
                // The database side gave up; its error is what the caller reports.
                return Ok(summary);
            }
        }
    }
    if summary.rows == 0 {
        return Err(ImportError::BadFile(
            "the file has a header row but no data rows".into(),
        ));
    }
    progress.inspect(|p| p.read(summary.rows));
    if !batch.is_empty() {
        let _ = out.blocking_send(Msg::Batch(batch));
    }
    Ok(summary)
}
