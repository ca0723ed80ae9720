//! The do-not-call list: numbers that are never dialed, whatever their lead's status.

use serde::Serialize;
use sqlx::FromRow;

use super::{Store, StoreError, StoreResult, read, write};
use crate::domain::{Millis, now_millis};

/// A number on the do-not-call list.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct DncEntry {
    /// E.164.
    pub phone: String,
    /// Where it came from: `manual`, `call` (asked during a call), `import`.
    pub source: String,
    pub note: Option<String>,
    #[serde(with = "crate::domain::serde_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

impl Store {
    /// Listed numbers, newest first; `digits` keeps those containing that run of digits.
    pub async fn list_dnc(
        &self,
        digits: Option<&str>,
        page: u32,
        per_page: u32,
    ) -> StoreResult<(Vec<DncEntry>, i64)> {
        let filter = if digits.is_some() {
            " WHERE phone LIKE $1"
        } else {
            ""
        };
        let pattern = digits.map(|d| format!("%{d}%"));
        let sql = format!(
            "SELECT phone, source, note, created_at FROM dnc{filter} ORDER BY created_at DESC, phone LIMIT {per_page} OFFSET {}",
            u64::from(page.saturating_sub(1)) * u64::from(per_page)
        );
        let count = format!("SELECT COUNT(*) FROM dnc{filter}");
        Ok(read!(self, pool => {
            let items = sqlx::query_as::<_, DncEntry>(&sql).bind(&pattern).fetch_all(pool).await?;
            let total = sqlx::query_scalar::<_, i64>(&count).bind(&pattern).fetch_one(pool).await?;
            (items, total)
        }))
    }

    /// Adds a number; returns false when it was already listed.
    pub async fn add_dnc(
        &self,
        phone: &str,
        source: &str,
        note: Option<&str>,
    ) -> StoreResult<bool> {
        let added = write!(self, notify Leads; pool => sqlx::query(
            "INSERT INTO dnc (phone, source, note, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (phone) DO NOTHING",
        )
        .bind(phone)
        .bind(source)
        .bind(note)
        .bind(now_millis())
        .execute(pool)
        .await?
        .rows_affected());
        Ok(added == 1)
    }

    pub async fn remove_dnc(&self, phone: &str) -> StoreResult<()> {
        let removed = write!(self, notify Leads; pool => sqlx::query("DELETE FROM dnc WHERE phone = $1")
            .bind(phone).execute(pool).await?.rows_affected());
        if removed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
