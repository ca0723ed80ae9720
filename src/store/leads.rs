//! Single-lead queries: the lead as stored, create, read, update, delete. The list is in
//! `lead_list`, bulk actions in `bulk`.

use serde::Serialize;
use sqlx::FromRow;
use uuid::Uuid;

use super::{Bind, Store, StoreError, StoreResult, bind_all, placeholders, read, write};
use crate::domain::{
    Millis,
    lead::{LeadPatch, LeadStatus, NewLead},
    now_millis,
};

/// A lead as stored. Instants are serialised as RFC 3339 UTC strings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Lead {
    pub id: Uuid,
    pub company_name: String,
    pub contact_name: String,
    /// E.164, e.g. `+14155552671`.
    pub phone: String,
    pub email: String,
    pub status: LeadStatus,
    /// Why the lead is in its status, when the dialer set it (e.g. the reason for `error`).
    pub status_reason: Option<String>,
    pub call_attempts: i64,
    /// IANA time zone the lead is called in.
    pub timezone: String,
    #[serde(with = "crate::domain::serde_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_called_at: Option<Millis>,
    #[serde(with = "crate::domain::serde_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_call_at: Option<Millis>,
    pub cal_booking_uid: Option<String>,
    /// When the meeting booked with this lead starts.
    #[serde(with = "crate::domain::serde_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub booking_start_at: Option<Millis>,
    pub follow_up_email_sent: bool,
    /// The number is on the do-not-call list: the lead is never dialed.
    pub do_not_call: bool,
    #[serde(with = "crate::domain::serde_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(with = "crate::domain::serde_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
}

#[derive(FromRow)]
pub(crate) struct LeadRow {
    id: Uuid,
    company_name: String,
    contact_name: String,
    phone: String,
    email: String,
    status: String,
    status_reason: Option<String>,
    call_attempts: i64,
    timezone: String,
    last_called_at: Option<i64>,
    next_call_at: Option<i64>,
    cal_booking_uid: Option<String>,
    booking_start_at: Option<i64>,
    follow_up_email_sent: bool,
    do_not_call: bool,
    created_at: i64,
    updated_at: i64,
}

impl From<LeadRow> for Lead {
    fn from(r: LeadRow) -> Self {
        Lead {
            id: r.id,
            company_name: r.company_name,
            contact_name: r.contact_name,
            phone: r.phone,
            email: r.email,
            // The CHECK constraint admits only known statuses.
            status: LeadStatus::parse(&r.status).unwrap_or(LeadStatus::Error),
            status_reason: r.status_reason,
            call_attempts: r.call_attempts,
            timezone: r.timezone,
            last_called_at: r.last_called_at,
            next_call_at: r.next_call_at,
            cal_booking_uid: r.cal_booking_uid,
            booking_start_at: r.booking_start_at,
            follow_up_email_sent: r.follow_up_email_sent,
            do_not_call: r.do_not_call,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

pub(crate) const LEAD_COLUMNS: &str = "id, company_name, contact_name, phone, email, status, status_reason, \
    call_attempts, timezone, last_called_at, next_call_at, cal_booking_uid, booking_start_at, follow_up_email_sent, \
    EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = leads.phone) AS do_not_call, created_at, updated_at";

/// SQLite limits bound parameters per statement; chunks keep well under it.
pub(crate) const ID_CHUNK: usize = 500;

impl Store {
    pub async fn get_lead(&self, id: Uuid) -> StoreResult<Lead> {
        let sql = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = $1");
        let row: LeadRow = read!(self, pool =>
            sqlx::query_as::<_, LeadRow>(&sql).bind(id).fetch_optional(pool).await?)
        .ok_or(StoreError::NotFound)?;
        Ok(row.into())
    }

    pub async fn create_lead(&self, lead: &NewLead) -> StoreResult<Lead> {
        let now = now_millis();
        let sql = "INSERT INTO leads (id, company_name, contact_name, phone, email, timezone, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id";
        let id: Uuid = write!(self, notify Leads, Calls; pool => sqlx::query_scalar::<_, Uuid>(sql)
            .bind(Uuid::now_v7())
            .bind(&lead.company_name)
            .bind(&lead.contact_name)
            .bind(lead.phone.as_str())
            .bind(lead.email.as_str())
            .bind(lead.timezone.as_str())
            .bind(now)
            .fetch_one(pool)
            .await?);
        self.get_lead(id).await
    }

    /// Applies a validated patch; fields left out keep their values.
    pub async fn update_lead(&self, id: Uuid, patch: &LeadPatch) -> StoreResult<Lead> {
        let mut sets = Vec::new();
        let mut binds = vec![Bind::Int(now_millis())];
        let mut set = |col: &str, value: Bind, sets: &mut Vec<String>| {
            binds.push(value);
            sets.push(format!("{col} = ${}", binds.len()));
        };
        if let Some(v) = &patch.company_name {
            set("company_name", Bind::Text(v.clone()), &mut sets);
        }
        if let Some(v) = &patch.contact_name {
            set("contact_name", Bind::Text(v.clone()), &mut sets);
        }
        if let Some(v) = &patch.phone {
            set("phone", Bind::Text(v.as_str().into()), &mut sets);
        }
        if let Some(v) = &patch.email {
            set("email", Bind::Text(v.as_str().into()), &mut sets);
        }
        if let Some(v) = &patch.timezone {
            set("timezone", Bind::Text(v.as_str().into()), &mut sets);
        }
        if let Some(v) = patch.status {
            set("status", Bind::Text(v.as_str().into()), &mut sets);
            // A reason belongs to the status the dialer chose; a manual change clears it.
            sets.push("status_reason = NULL".into());
        }
        if let Some(v) = patch.call_attempts {
            set("call_attempts", Bind::Int(v), &mut sets);
        }
        binds.push(Bind::Uuid(id));
        let sql = format!(
            "UPDATE leads SET updated_at = $1{comma}{sets} WHERE id = ${id_ph} RETURNING id",
            comma = if sets.is_empty() { "" } else { ", " },
            sets = sets.join(", "),
            id_ph = binds.len(),
        );
        let id: Uuid = write!(self, notify Leads, Calls; pool =>
            bind_all!(sqlx::query_scalar::<_, Uuid>(&sql), &binds).fetch_optional(pool).await?)
        .ok_or(StoreError::NotFound)?;
        self.get_lead(id).await
    }

    pub async fn delete_lead(&self, id: Uuid) -> StoreResult<()> {
        let done = write!(self, notify Leads, Calls; pool =>
            sqlx::query("DELETE FROM leads WHERE id = $1").bind(id).execute(pool).await?.rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Company names of the given leads (missing ones are left out), for lists of calls.
    pub async fn lead_names(
        &self,
        ids: &[Uuid],
    ) -> StoreResult<std::collections::HashMap<Uuid, String>> {
        let mut names = std::collections::HashMap::new();
        for chunk in ids.chunks(ID_CHUNK) {
            let sql = format!(
                "SELECT id, company_name FROM leads WHERE id IN ({})",
                placeholders(0, chunk.len())
            );
            let binds: Vec<Bind> = chunk.iter().map(|id| Bind::Uuid(*id)).collect();
            let rows: Vec<(Uuid, String)> = read!(self, pool =>
                bind_all!(sqlx::query_as::<_, (Uuid, String)>(&sql), &binds).fetch_all(pool).await?);
            names.extend(rows);
        }
        Ok(names)
    }

    /// Number of leads stored; used by the CLI and tests.
    pub async fn count_leads(&self) -> StoreResult<i64> {
        Ok(read!(self, pool =>
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM leads").fetch_one(pool).await?))
    }
}
