//! Ids of resources created at providers, by our own name for them.

use super::{Store, StoreResult, read, write};

impl Store {
    pub async fn integration_id(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(
            read!(self, pool => sqlx::query_scalar::<_, String>("SELECT value FROM integration_ids WHERE name = $1")
            .bind(name).fetch_optional(pool).await?),
        )
    }

    pub async fn set_integration_id(&self, name: &str, value: &str) -> StoreResult<()> {
        write!(self, pool => sqlx::query(
            "INSERT INTO integration_ids (name, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(value)
        .bind(crate::domain::now_millis())
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }
}
