//! Bulk lead insertion for CSV imports, through each engine's fast path, so an import that
//! fails half-way writes nothing and a dry run never takes a write lock.
//!
//! Valid rows are first staged in a temporary table: with `COPY` on PostgreSQL, with batched
//! multi-row inserts on SQLite (on a connection of their own, so the upload never holds the
//! database's single write lock). [`ImportTx::finish`] then moves them into `leads` with
//! `INSERT ... SELECT ... ON CONFLICT (phone) DO NOTHING`, in file order and in slices so a
//! progress bar can follow; a number already stored, or repeated earlier in the file, is
//! skipped and counted as a duplicate.

use sqlx::{Connection, Postgres, SqliteConnection, Transaction};
use uuid::Uuid;

use super::{Pools, Store, StoreResult};
use crate::{
    domain::{lead::NewLead, now_millis},
    import::progress::ImportProgress,
};

/// Rows per staging insert on SQLite (8 bound values each, far under its limit).
const SQLITE_ROWS_PER_INSERT: usize = 250;

/// Staged rows moved into `leads` per statement: a slice of the progress bar.
const MOVE_SLICE: i64 = 50_000;

const STAGING_COLUMNS: &str = "ord BIGINT NOT NULL, line BIGINT NOT NULL, id UUID NOT NULL, company_name TEXT NOT NULL, \
    contact_name TEXT NOT NULL, phone TEXT NOT NULL, email TEXT NOT NULL, timezone TEXT NOT NULL";

/// Moves a slice of staged rows into `leads`; the first occurrence of a repeated number
/// wins, slices going in file order. The `WHERE` keeps SQLite from reading `ON CONFLICT` as
/// a join constraint.
const MOVE_STAGED: &str = "INSERT INTO leads (id, company_name, contact_name, phone, email, timezone, created_at, updated_at) \
    SELECT id, company_name, contact_name, phone, email, timezone, $1, $1 FROM import_staging \
    WHERE ord > $2 AND ord <= $3 ORDER BY ord ON CONFLICT (phone) DO NOTHING";

/// The first staged rows that would be skipped, and why: the line, the number, and the
/// line it repeats (none when the number is already stored).
const LIST_DUPLICATES: &str = "SELECT s.line, s.phone, \
    (SELECT MIN(t.line) FROM import_staging t WHERE t.phone = s.phone AND t.ord < s.ord) AS first_line \
    FROM import_staging s WHERE EXISTS (SELECT 1 FROM leads l WHERE l.phone = s.phone) \
    OR EXISTS (SELECT 1 FROM import_staging t WHERE t.phone = s.phone AND t.ord < s.ord) \
    ORDER BY s.ord LIMIT $1";

/// A row an import skips because its number is taken.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DuplicateRow {
    /// Line of the file (the header is line 1).
    pub row: i64,
    pub phone: String,
    /// The earlier line with the same number, when the number repeats in the file; absent
    /// when a stored lead already has it.
    pub repeats_row: Option<i64>,
}

/// How many staged rows would be inserted: distinct numbers not already stored.
const COUNT_NEW: &str = "SELECT COUNT(*) FROM (SELECT DISTINCT phone FROM import_staging) s \
    WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.phone = s.phone)";

/// An import in progress. Feed it batches, then [`ImportTx::finish`] (write) or
/// [`ImportTx::count_new`] (dry run: report only).
pub struct ImportTx {
    inner: Inner,
    staged: i64,
    now: i64,
    changes: super::changes::Changes,
}

enum Inner {
    Sqlite(SqliteConnection),
    Postgres(Transaction<'static, Postgres>),
}

impl Store {
    pub async fn begin_import(&self) -> StoreResult<ImportTx> {
        let inner = match &self.pools {
            Pools::Sqlite { options, .. } => {
                let mut conn = SqliteConnection::connect_with(options).await?;
                sqlx::query(&format!(
                    "CREATE TEMPORARY TABLE import_staging ({STAGING_COLUMNS})"
                ))
                .execute(&mut conn)
                .await?;
                Inner::Sqlite(conn)
            }
            Pools::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(&format!(
                    "CREATE TEMPORARY TABLE import_staging ({STAGING_COLUMNS}) ON COMMIT DROP"
                ))
                .execute(&mut *tx)
                .await?;
                Inner::Postgres(tx)
            }
        };
        Ok(ImportTx {
            inner,
            staged: 0,
            now: now_millis(),
            changes: self.changes.clone(),
        })
    }
}

impl ImportTx {
    /// Stages a batch of valid leads with their line numbers, in file order.
    pub async fn add(&mut self, leads: &[(u64, NewLead)]) -> StoreResult<()> {
        match &mut self.inner {
            Inner::Sqlite(conn) => {
                for chunk in leads.chunks(SQLITE_ROWS_PER_INSERT) {
                    let values = (0..chunk.len())
                        .map(|i| format!("({})", super::placeholders(i * 8, 8)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!(
                        "INSERT INTO import_staging (ord, line, id, company_name, contact_name, phone, email, timezone) VALUES {values}"
                    );
                    let mut q = sqlx::query(&sql);
                    for (line, lead) in chunk {
                        self.staged += 1;
                        q = q
                            .bind(self.staged)
                            .bind(*line as i64)
                            .bind(Uuid::now_v7())
                            .bind(&lead.company_name)
                            .bind(&lead.contact_name)
                            .bind(lead.phone.as_str())
                            .bind(lead.email.as_str())
                            .bind(lead.timezone.as_str());
                    }
                    q.execute(&mut *conn).await?;
                }
            }
            Inner::Postgres(tx) => {
                let mut data = Vec::with_capacity(leads.len() * 96);
                for (line, lead) in leads {
                    self.staged += 1;
                    push_copy_row(&mut data, self.staged, *line, Uuid::now_v7(), lead);
                }
                let mut copy = tx
                    .copy_in_raw("COPY import_staging (ord, line, id, company_name, contact_name, phone, email, timezone) FROM STDIN")
                    .await?;
                copy.send(data).await?;
                copy.finish().await?;
            }
        }
        Ok(())
    }

    /// Writes the staged rows into `leads` in one transaction; returns how many were
    /// inserted. `progress` hears how many staged rows are done after each slice.
    pub async fn finish(self, progress: Option<&ImportProgress>) -> StoreResult<u64> {
        let changes = self.changes.clone();
        let (now, staged) = (self.now, self.staged);
        let mut inserted = 0;
        match self.inner {
            Inner::Sqlite(mut conn) => {
                // The one moment the import needs SQLite's write lock.
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                for from in (0..staged).step_by(MOVE_SLICE as usize) {
                    inserted += move_slice_sqlite(&mut tx, now, from).await?;
                    progress.inspect(|p| p.saved((from + MOVE_SLICE).min(staged) as u64));
                }
                tx.commit().await?;
                let _ = conn.close().await;
            }
            Inner::Postgres(mut tx) => {
                for from in (0..staged).step_by(MOVE_SLICE as usize) {
                    inserted += move_slice_pg(&mut tx, now, from).await?;
                    progress.inspect(|p| p.saved((from + MOVE_SLICE).min(staged) as u64));
                }
                tx.commit().await?;
            }
        }
        changes.bump(super::changes::Topic::Leads);
        Ok(inserted)
    }

    /// Counts how many staged rows [`ImportTx::finish`] would insert and lists the first
    /// `listed` that it would skip, then discards them.
    pub async fn count_new(self, listed: usize) -> StoreResult<(u64, Vec<DuplicateRow>)> {
        // The listing looks rows up by number; an index keeps it from comparing every pair.
        const INDEX: &str = "CREATE INDEX import_staging_phone ON import_staging (phone, ord)";
        let (count, dups): (i64, Vec<DuplicateRow>) = match self.inner {
            Inner::Sqlite(mut conn) => {
                sqlx::query(INDEX).execute(&mut conn).await?;
                let n = sqlx::query_scalar(COUNT_NEW).fetch_one(&mut conn).await?;
                let dups = list_duplicates_sqlite(&mut conn, listed).await?;
                let _ = conn.close().await;
                (n, dups)
            }
            Inner::Postgres(mut tx) => {
                sqlx::query(INDEX).execute(&mut *tx).await?;
                let n = sqlx::query_scalar(COUNT_NEW).fetch_one(&mut *tx).await?;
                let dups = list_duplicates_pg(&mut tx, listed).await?;
                tx.rollback().await?;
                (n, dups)
            }
        };
        Ok((u64::try_from(count).unwrap_or(0), dups))
    }

    /// Discards everything staged.
    pub async fn abort(self) {
        match self.inner {
            Inner::Sqlite(conn) => {
                let _ = conn.close().await;
            }
            Inner::Postgres(tx) => {
                let _ = tx.rollback().await;
            }
        }
    }
}

/// The slice move and the duplicate listing, for each engine's connection type.
macro_rules! on_conn {
    ($name:ident, $conn:ty, $list:ident) => {
        async fn $name(conn: &mut $conn, now: i64, from: i64) -> StoreResult<u64> {
            Ok(sqlx::query(MOVE_STAGED)
                .bind(now)
                .bind(from)
                .bind(from + MOVE_SLICE)
                .execute(conn)
                .await?
                .rows_affected())
        }

        async fn $list(conn: &mut $conn, listed: usize) -> StoreResult<Vec<DuplicateRow>> {
            let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(LIST_DUPLICATES)
                .bind(listed as i64)
                .fetch_all(conn)
                .await?;
            Ok(rows
                .into_iter()
                .map(|(row, phone, repeats_row)| DuplicateRow {
                    row,
                    phone,
                    repeats_row,
                })
                .collect())
        }
    };
}
on_conn!(move_slice_sqlite, SqliteConnection, list_duplicates_sqlite);
on_conn!(move_slice_pg, sqlx::PgConnection, list_duplicates_pg);

/// Appends one row in COPY's text format (tab-separated, backslash escapes).
fn push_copy_row(out: &mut Vec<u8>, ord: i64, line: u64, id: Uuid, lead: &NewLead) {
    out.extend_from_slice(ord.to_string().as_bytes());
    out.push(b'\t');
    out.extend_from_slice(line.to_string().as_bytes());
    out.push(b'\t');
    out.extend_from_slice(id.hyphenated().to_string().as_bytes());
    for field in [
        lead.company_name.as_str(),
        lead.contact_name.as_str(),
        lead.phone.as_str(),
        lead.email.as_str(),
        lead.timezone.as_str(),
    ] {
        out.push(b'\t');
        escape_copy_text(out, field);
    }
    out.push(b'\n');
}

fn escape_copy_text(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_separators() {
        let mut out = Vec::new();
        escape_copy_text(&mut out, "a\tb\\c\nd\re");
        assert_eq!(out, b"a\\tb\\\\c\\nd\\re");
    }
}
