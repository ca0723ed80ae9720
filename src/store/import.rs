//! Bulk lead insertion for CSV imports, through each engine's fast path, inside one
//! transaction so an import that fails half-way writes nothing.
//!
//! PostgreSQL: rows are streamed with `COPY` into a temporary staging table, then moved into
//! `leads` with one `INSERT ... SELECT ... ON CONFLICT (phone) DO NOTHING`. SQLite: batched
//! multi-row `INSERT ... ON CONFLICT (phone) DO NOTHING` statements. Either way a number that
//! is already stored, or repeated in the file, is skipped and counted as a duplicate.

use sqlx::{Postgres, Sqlite, Transaction};
use uuid::Uuid;

use super::{Pools, Store, StoreResult};
use crate::domain::{lead::NewLead, now_millis};

/// SQLite binds per statement stay far below its limit with this many rows of 8 values.
const SQLITE_ROWS_PER_INSERT: usize = 250;

/// An open import transaction. Feed it batches, then [`ImportTx::finish`] (commit) or
/// [`ImportTx::abort`] (roll back, also used for dry runs).
pub struct ImportTx {
    inner: Inner,
    staged: u64,
    inserted: u64,
    now: i64,
}

enum Inner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Store {
    pub async fn begin_import(&self) -> StoreResult<ImportTx> {
        let inner = match &self.pools {
            Pools::Sqlite { write, .. } => Inner::Sqlite(write.begin().await?),
            Pools::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "CREATE TEMPORARY TABLE import_staging (ord BIGINT NOT NULL, id UUID NOT NULL, \
                     company_name TEXT NOT NULL, contact_name TEXT NOT NULL, phone TEXT NOT NULL, \
                     email TEXT NOT NULL, timezone TEXT NOT NULL) ON COMMIT DROP",
                )
                .execute(&mut *tx)
                .await?;
                Inner::Postgres(tx)
            }
        };
        Ok(ImportTx {
            inner,
            staged: 0,
            inserted: 0,
            now: now_millis(),
        })
    }
}

impl ImportTx {
    /// Adds a batch of valid leads, in file order.
    pub async fn add(&mut self, leads: &[NewLead]) -> StoreResult<()> {
        if leads.is_empty() {
            return Ok(());
        }
        match &mut self.inner {
            Inner::Sqlite(tx) => {
                for chunk in leads.chunks(SQLITE_ROWS_PER_INSERT) {
                    let values = (0..chunk.len())
                        .map(|i| {
                            let b = i * 7;
                            format!(
                                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                                b + 1,
                                b + 2,
                                b + 3,
                                b + 4,
                                b + 5,
                                b + 6,
                                b + 7,
                                b + 7
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!(
                        "INSERT INTO leads (id, company_name, contact_name, phone, email, timezone, created_at, updated_at) \
                         VALUES {values} ON CONFLICT (phone) DO NOTHING"
                    );
                    let mut q = sqlx::query(&sql);
                    for lead in chunk {
                        q = q
                            .bind(Uuid::now_v7())
                            .bind(&lead.company_name)
                            .bind(&lead.contact_name)
                            .bind(lead.phone.as_str())
                            .bind(lead.email.as_str())
                            .bind(lead.timezone.as_str())
                            .bind(self.now);
                    }
                    self.inserted += q.execute(&mut **tx).await?.rows_affected();
                }
            }
            Inner::Postgres(tx) => {
                let mut data = Vec::with_capacity(leads.len() * 96);
                for lead in leads {
                    self.staged += 1;
                    push_copy_row(&mut data, self.staged, Uuid::now_v7(), lead);
                }
                let mut copy = tx
                    .copy_in_raw(
                        "COPY import_staging (ord, id, company_name, contact_name, phone, email, timezone) FROM STDIN",
                    )
                    .await?;
                copy.send(data).await?;
                copy.finish().await?;
            }
        }
        Ok(())
    }

    /// Commits and returns how many leads were inserted (the rest were duplicates).
    pub async fn finish(self) -> StoreResult<u64> {
        let (inserted, _) = self.settle(true).await?;
        Ok(inserted)
    }

    /// Rolls back, returning how many leads *would* have been inserted.
    pub async fn abort(self) -> StoreResult<u64> {
        let (inserted, _) = self.settle(false).await?;
        Ok(inserted)
    }

    async fn settle(self, commit: bool) -> StoreResult<(u64, ())> {
        match self.inner {
            Inner::Sqlite(tx) => {
                if commit {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok((self.inserted, ()))
            }
            Inner::Postgres(mut tx) => {
                // The staging order keeps the first occurrence of a repeated number.
                let done = sqlx::query(
                    "INSERT INTO leads (id, company_name, contact_name, phone, email, timezone, created_at, updated_at) \
                     SELECT id, company_name, contact_name, phone, email, timezone, $1, $1 \
                     FROM import_staging ORDER BY ord ON CONFLICT (phone) DO NOTHING",
                )
                .bind(self.now)
                .execute(&mut *tx)
                .await?;
                if commit {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok((done.rows_affected(), ()))
            }
        }
    }
}

/// Appends one row in COPY's text format (tab-separated, `\N` for null, backslash escapes).
fn push_copy_row(out: &mut Vec<u8>, ord: u64, id: Uuid, lead: &NewLead) {
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
