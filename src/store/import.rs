//! Bulk lead insertion for CSV imports, through each engine's fast path, so an import that
//! fails half-way writes nothing and a dry run never takes a write lock.
//!
//! Valid rows are first staged in a temporary table: with `COPY` on PostgreSQL, with batched
//! multi-row inserts on SQLite (on a connection of their own, so the upload never holds the
//! database's single write lock). [`ImportTx::finish`] then moves them into `leads` with one
//! `INSERT ... SELECT ... ON CONFLICT (phone) DO NOTHING`; a number already stored, or repeated
//! earlier in the file, is skipped and counted as a duplicate.

use sqlx::{Connection, Postgres, SqliteConnection, Transaction};
use uuid::Uuid;

use super::{Pools, Store, StoreResult};
use crate::domain::{lead::NewLead, now_millis};

/// Rows per staging insert on SQLite (8 bound values each, far under its limit).
const SQLITE_ROWS_PER_INSERT: usize = 250;

const STAGING_COLUMNS: &str = "ord BIGINT NOT NULL, id UUID NOT NULL, company_name TEXT NOT NULL, \
    contact_name TEXT NOT NULL, phone TEXT NOT NULL, email TEXT NOT NULL, timezone TEXT NOT NULL";

/// Moves staged rows into `leads`; the first occurrence of a repeated number wins. The
/// `WHERE TRUE` keeps SQLite from reading `ON CONFLICT` as a join constraint.
const MOVE_STAGED: &str = "INSERT INTO leads (id, company_name, contact_name, phone, email, timezone, created_at, updated_at) \
    SELECT id, company_name, contact_name, phone, email, timezone, $1, $1 FROM import_staging WHERE TRUE \
    ORDER BY ord ON CONFLICT (phone) DO NOTHING";

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
    /// Stages a batch of valid leads, in file order.
    pub async fn add(&mut self, leads: &[NewLead]) -> StoreResult<()> {
        match &mut self.inner {
            Inner::Sqlite(conn) => {
                for chunk in leads.chunks(SQLITE_ROWS_PER_INSERT) {
                    let values = (0..chunk.len())
                        .map(|i| {
                            let b = i * 7;
                            format!(
                                "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                                b + 1,
                                b + 2,
                                b + 3,
                                b + 4,
                                b + 5,
                                b + 6,
                                b + 7
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!(
                        "INSERT INTO import_staging (ord, id, company_name, contact_name, phone, email, timezone) VALUES {values}"
                    );
                    let mut q = sqlx::query(&sql);
                    for lead in chunk {
                        self.staged += 1;
                        q = q
                            .bind(self.staged)
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
                for lead in leads {
                    self.staged += 1;
                    push_copy_row(&mut data, self.staged, Uuid::now_v7(), lead);
                }
                let mut copy = tx
                    .copy_in_raw("COPY import_staging (ord, id, company_name, contact_name, phone, email, timezone) FROM STDIN")
                    .await?;
                copy.send(data).await?;
                copy.finish().await?;
            }
        }
        Ok(())
    }

    /// Writes the staged rows into `leads`; returns how many were inserted.
    pub async fn finish(self) -> StoreResult<u64> {
        let changes = self.changes.clone();
        let inserted = match self.inner {
            Inner::Sqlite(mut conn) => {
                // The one moment the import needs SQLite's write lock.
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                let done = sqlx::query(MOVE_STAGED)
                    .bind(self.now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                let _ = conn.close().await;
                done.rows_affected()
            }
            Inner::Postgres(mut tx) => {
                let done = sqlx::query(MOVE_STAGED)
                    .bind(self.now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                done.rows_affected()
            }
        };
        changes.bump(super::changes::Topic::Leads);
        Ok(inserted)
    }

    /// Counts how many staged rows [`ImportTx::finish`] would insert, then discards them.
    pub async fn count_new(self) -> StoreResult<u64> {
        let count: i64 = match self.inner {
            Inner::Sqlite(mut conn) => {
                let n = sqlx::query_scalar(COUNT_NEW).fetch_one(&mut conn).await?;
                let _ = conn.close().await;
                n
            }
            Inner::Postgres(mut tx) => {
                let n = sqlx::query_scalar(COUNT_NEW).fetch_one(&mut *tx).await?;
                tx.rollback().await?;
                n
            }
        };
        Ok(u64::try_from(count).unwrap_or(0))
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

/// Appends one row in COPY's text format (tab-separated, backslash escapes).
fn push_copy_row(out: &mut Vec<u8>, ord: i64, id: Uuid, lead: &NewLead) {
    out.extend_from_slice(ord.to_string().as_bytes());
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
