//! Call logs: one row per call placed through VAPI, filled in as its reports arrive.

use serde::Serialize;
use sqlx::FromRow;
use uuid::Uuid;

use super::{Bind, Store, StoreError, StoreResult, bind_all, read, write};
use crate::domain::{Millis, now_millis};

/// A call placed to a lead and what is known about how it went.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct CallLog {
    pub id: Uuid,
    pub lead_id: Uuid,
    /// VAPI's id for the call; empty until VAPI has accepted it.
    pub vapi_call_id: Option<String>,
    /// Which attempt on the lead this call was (1-based).
    pub attempt: i64,
    /// Live status reported by VAPI: queued, ringing, in-progress, ended.
    pub call_status: Option<String>,
    #[serde(with = "crate::domain::serde_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub initiated_at: Option<Millis>,
    #[serde(with = "crate::domain::serde_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<Millis>,
    pub ended_reason: Option<String>,
    pub recording_url: Option<String>,
    pub stereo_recording_url: Option<String>,
    pub duration_seconds: Option<f64>,
    /// Total cost in USD as reported by VAPI.
    pub cost: Option<f64>,
    pub summary: Option<String>,
    pub transcript: Option<String>,
    /// The structured outcome the assistant's analysis gave the call.
    pub outcome: Option<String>,
    #[serde(with = "crate::domain::serde_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(with = "crate::domain::serde_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
}

const COLUMNS: &str = "id, lead_id, vapi_call_id, attempt, call_status, initiated_at, ended_at, \
    ended_reason, recording_url, stereo_recording_url, duration_seconds, cost, summary, transcript, \
    outcome, created_at, updated_at";

/// The fields known when a call is created.
#[derive(Debug, Clone)]
pub struct NewCallLog {
    pub lead_id: Uuid,
    pub vapi_call_id: Option<String>,
    pub attempt: i64,
    pub initiated_at: Option<Millis>,
    pub initial_response: Option<String>,
}

impl Store {
    /// Call logs newest first, optionally for one lead, with the total count.
    pub async fn list_call_logs(
        &self,
        lead_id: Option<Uuid>,
        page: u32,
        per_page: u32,
    ) -> StoreResult<(Vec<CallLog>, i64)> {
        let (where_sql, binds) = match lead_id {
            Some(id) => (" WHERE lead_id = $1", vec![Bind::Uuid(id)]),
            None => ("", vec![]),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM call_logs{where_sql} ORDER BY created_at DESC, id DESC LIMIT {per_page} OFFSET {}",
            u64::from(page.saturating_sub(1)) * u64::from(per_page)
        );
        let count_sql = format!("SELECT COUNT(*) FROM call_logs{where_sql}");
        Ok(read!(self, pool => {
            let items = bind_all!(sqlx::query_as::<_, CallLog>(&sql), &binds).fetch_all(pool).await?;
            let total = bind_all!(sqlx::query_scalar::<_, i64>(&count_sql), &binds).fetch_one(pool).await?;
            (items, total)
        }))
    }

    pub async fn get_call_log(&self, id: Uuid) -> StoreResult<CallLog> {
        let sql = format!("SELECT {COLUMNS} FROM call_logs WHERE id = $1");
        read!(self, pool => sqlx::query_as::<_, CallLog>(&sql).bind(id).fetch_optional(pool).await?)
            .ok_or(StoreError::NotFound)
    }

    /// The raw end-of-call report as received, if any (kept verbatim for audits).
    pub async fn call_log_report(&self, id: Uuid) -> StoreResult<Option<String>> {
        let row: Option<Option<String>> = read!(self, pool =>
            sqlx::query_scalar::<_, Option<String>>("SELECT report FROM call_logs WHERE id = $1")
                .bind(id).fetch_optional(pool).await?);
        row.ok_or(StoreError::NotFound)
    }

    pub async fn create_call_log(&self, new: &NewCallLog) -> StoreResult<CallLog> {
        let now = now_millis();
        let sql = format!(
            "INSERT INTO call_logs (id, lead_id, vapi_call_id, attempt, initiated_at, initial_response, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
        );
        Ok(write!(self, pool => sqlx::query_as::<_, CallLog>(&sql)
            .bind(Uuid::now_v7())
            .bind(new.lead_id)
            .bind(&new.vapi_call_id)
            .bind(new.attempt)
            .bind(new.initiated_at)
            .bind(&new.initial_response)
            .bind(now)
            .fetch_one(pool)
            .await?))
    }
}
