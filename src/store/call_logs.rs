//! Call logs: one row per call placed through VAPI, filled in as its reports arrive.

use serde::Serialize;
use sqlx::FromRow;
use uuid::Uuid;

use super::{Store, StoreError, StoreResult, bind_all, read, stats::CallLogFilter, write};
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
    /// Everything the assistant's structured analysis returned (e.g. `callback_requested_at`).
    #[serde(serialize_with = "json_text")]
    #[schema(value_type = Option<Object>)]
    pub structured_data: Option<String>,
    /// The Cal.com booking made during this call, if any.
    pub booking_uid: Option<String>,
    /// The contact asked not to be called again during this call.
    pub opted_out: bool,
    #[serde(with = "crate::domain::serde_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(with = "crate::domain::serde_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
}

const COLUMNS: &str = "id, lead_id, vapi_call_id, attempt, call_status, initiated_at, ended_at, \
    ended_reason, recording_url, stereo_recording_url, duration_seconds, cost, summary, transcript, \
    outcome, structured_data, booking_uid, opted_out, created_at, updated_at";

/// What an end-of-call report fills in its call log, as a `SET` list whose eleven values are
/// numbered from `$first`; [`bind_report!`] binds them in that order. The settlement's
/// transaction and PostgreSQL's one-statement settlement number them differently, so the
/// list is written once here and numbered by each. Idempotent: the same report twice writes
/// the same values.
pub(crate) fn report_columns(first: usize) -> String {
    [
        "ended_at",
        "ended_reason",
        "recording_url",
        "stereo_recording_url",
        "duration_seconds",
        "cost",
        "summary",
        "transcript",
        "outcome",
        "report",
        "structured_data",
    ]
    .iter()
    .enumerate()
    .fold("call_status = 'ended'".to_owned(), |set, (i, column)| {
        format!("{set}, {column} = ${}", first + i)
    })
}

/// Binds [`report_columns`]' eleven values from `$report` (an `Option<&CallReport>`; all
/// null when absent) to `$query`, in their order.
macro_rules! bind_report {
    ($query:expr, $report:expr) => {{
        let r: Option<&$crate::store::call_logs::CallReport> = $report;
        let text = |f: fn(&$crate::store::call_logs::CallReport) -> &Option<String>| {
            r.and_then(|r| f(r).as_deref())
        };
        $query
            .bind(r.and_then(|r| r.ended_at))
            .bind(text(|r| &r.ended_reason))
            .bind(text(|r| &r.recording_url))
            .bind(text(|r| &r.stereo_recording_url))
            .bind(r.and_then(|r| r.duration_seconds))
            .bind(r.and_then(|r| r.cost))
            .bind(text(|r| &r.summary))
            .bind(text(|r| &r.transcript))
            .bind(text(|r| &r.outcome))
            .bind(text(|r| &r.raw))
            .bind(text(|r| &r.structured_data))
    }};
}
pub(crate) use bind_report;

/// Writes stored JSON text as JSON (null when absent or unreadable).
fn json_text<S: serde::Serializer>(text: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    let value = text
        .as_deref()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok());
    serde::Serialize::serialize(&value, s)
}

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
    /// Call logs newest first, filtered, with the total count.
    pub async fn list_call_logs(
        &self,
        filter: &CallLogFilter,
        page: u32,
        per_page: u32,
    ) -> StoreResult<(Vec<CallLog>, i64)> {
        let (where_sql, binds) = filter.where_clause();
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
        Ok(
            write!(self, notify Calls; pool => sqlx::query_as::<_, CallLog>(&sql)
            .bind(Uuid::now_v7())
            .bind(new.lead_id)
            .bind(&new.vapi_call_id)
            .bind(new.attempt)
            .bind(new.initiated_at)
            .bind(&new.initial_response)
            .bind(now)
            .fetch_one(pool)
            .await?),
        )
    }

    /// Stores VAPI's id and answer for a call it accepted, and clears the lead's failure count.
    pub async fn call_accepted(
        &self,
        lead_id: Uuid,
        attempt: i64,
        vapi_call_id: &str,
        response: &str,
        status: Option<&str>,
    ) -> StoreResult<()> {
        let now = crate::domain::now_millis();
        write!(self, notify Calls; pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE call_logs SET vapi_call_id = $1, initial_response = $2, \
                 call_status = CASE WHEN call_status IS NULL OR call_status = 'dialing' THEN $3 ELSE call_status END, \
                 updated_at = $4 WHERE lead_id = $5 AND attempt = $6",
            )
            .bind(vapi_call_id)
            .bind(response)
            .bind(status.unwrap_or("queued"))
            .bind(now)
            .bind(lead_id)
            .bind(attempt)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE leads SET dial_failures = 0, updated_at = $1 WHERE id = $2 AND dial_failures <> 0")
                .bind(now)
                .bind(lead_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The (lead, attempt) a VAPI call belongs to: by its id, or by the metadata we sent
    /// with it when the create-call response has not been recorded yet.
    pub async fn locate_call(
        &self,
        vapi_call_id: &str,
        meta: Option<(Uuid, i64)>,
    ) -> StoreResult<Option<(Uuid, i64)>> {
        let found: Option<(Uuid, i64)> = read!(self, pool =>
            sqlx::query_as::<_, (Uuid, i64)>("SELECT lead_id, attempt FROM call_logs WHERE vapi_call_id = $1")
                .bind(vapi_call_id).fetch_optional(pool).await?);
        if found.is_some() {
            return Ok(found);
        }
        self.attach_call_id(vapi_call_id, meta).await
    }

    /// Records `vapi_call_id` on the attempt named by the metadata we sent with the call,
    /// for a call whose id no call log holds yet; the (lead, attempt) when it was attached.
    pub async fn attach_call_id(
        &self,
        vapi_call_id: &str,
        meta: Option<(Uuid, i64)>,
    ) -> StoreResult<Option<(Uuid, i64)>> {
        let Some((lead_id, attempt)) = meta else {
            return Ok(None);
        };
        // The webhook beat the create-call response: attach the id to the attempt's row. The
        // response may be recorded at this very moment by the server that dialed, so a row
        // that already holds this same id counts as found, not as someone else's call.
        let attached = write!(self, notify Calls; pool => sqlx::query(
            "UPDATE call_logs SET vapi_call_id = $1, updated_at = $2 WHERE lead_id = $3 AND attempt = $4 \
             AND (vapi_call_id IS NULL OR vapi_call_id = $1)",
        )
        .bind(vapi_call_id)
        .bind(crate::domain::now_millis())
        .bind(lead_id)
        .bind(attempt)
        .execute(pool)
        .await?
        .rows_affected());
        Ok((attached == 1).then_some((lead_id, attempt)))
    }

    /// Updates the live status of a call; an `ended` call never goes back to an earlier one.
    pub async fn set_call_status(
        &self,
        lead_id: Uuid,
        attempt: i64,
        status: &str,
    ) -> StoreResult<()> {
        write!(self, notify Calls; pool => sqlx::query(
            "UPDATE call_logs SET call_status = $1, updated_at = $2 WHERE lead_id = $3 AND attempt = $4 \
             AND (call_status IS NULL OR call_status <> 'ended')",
        )
        .bind(status)
        .bind(crate::domain::now_millis())
        .bind(lead_id)
        .bind(attempt)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// What the call log knows that decides the outcome: (booking uid, opted out).
    pub async fn call_facts(
        &self,
        lead_id: Uuid,
        attempt: i64,
    ) -> StoreResult<(Option<String>, bool)> {
        read!(self, pool => sqlx::query_as::<_, (Option<String>, bool)>(
            "SELECT booking_uid, opted_out FROM call_logs WHERE lead_id = $1 AND attempt = $2",
        )
        .bind(lead_id)
        .bind(attempt)
        .fetch_optional(pool)
        .await?)
        .ok_or(StoreError::NotFound)
    }
}

/// The parts of an end-of-call report we keep in columns (the whole report goes in `raw`).
#[derive(Debug, Clone, Default)]
pub struct CallReport {
    pub ended_at: Option<Millis>,
    pub ended_reason: Option<String>,
    pub recording_url: Option<String>,
    pub stereo_recording_url: Option<String>,
    pub duration_seconds: Option<f64>,
    pub cost: Option<f64>,
    pub summary: Option<String>,
    pub transcript: Option<String>,
    pub outcome: Option<String>,
    /// The analysis' structured data, as JSON text.
    pub structured_data: Option<String>,
    pub raw: Option<String>,
}
