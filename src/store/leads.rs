//! Lead queries: listing with filters, sorting and pages; single-lead CRUD; bulk actions.

use serde::Serialize;
use sqlx::FromRow;
use uuid::Uuid;

use super::{Bind, Engine, Store, StoreError, StoreResult, bind_all, placeholders, read, write};
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
struct LeadRow {
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

const LEAD_COLUMNS: &str = "id, company_name, contact_name, phone, email, status, status_reason, \
    call_attempts, timezone, last_called_at, next_call_at, cal_booking_uid, booking_start_at, follow_up_email_sent, \
    EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = leads.phone) AS do_not_call, created_at, updated_at";

/// Columns the lead list can be sorted by: the ones the dashboard's table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadSort {
    CompanyName,
    ContactName,
    Phone,
    Email,
    Status,
    Timezone,
    CallAttempts,
    LastCalledAt,
    NextCallAt,
    CreatedAt,
}

impl LeadSort {
    /// Every sortable column, in the dashboard's column order.
    pub const ALL: [LeadSort; 10] = [
        LeadSort::CompanyName,
        LeadSort::ContactName,
        LeadSort::Phone,
        LeadSort::Email,
        LeadSort::Status,
        LeadSort::Timezone,
        LeadSort::CallAttempts,
        LeadSort::LastCalledAt,
        LeadSort::NextCallAt,
        LeadSort::CreatedAt,
    ];

    /// The column's name, as the API's `sort` parameter takes it.
    pub fn parse(s: &str) -> Option<LeadSort> {
        LeadSort::ALL.into_iter().find(|c| c.column() == s)
    }

    pub fn column(self) -> &'static str {
        match self {
            LeadSort::CompanyName => "company_name",
            LeadSort::ContactName => "contact_name",
            LeadSort::Phone => "phone",
            LeadSort::Email => "email",
            LeadSort::Status => "status",
            LeadSort::Timezone => "timezone",
            LeadSort::CallAttempts => "call_attempts",
            LeadSort::LastCalledAt => "last_called_at",
            LeadSort::NextCallAt => "next_call_at",
            LeadSort::CreatedAt => "created_at",
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    Asc,
    Desc,
}

impl Order {
    fn sql(self) -> &'static str {
        match self {
            Order::Asc => "ASC",
            Order::Desc => "DESC",
        }
    }
}

/// Which leads a list, export or bulk action applies to.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub statuses: Vec<LeadStatus>,
    /// Case-insensitive substring of company, contact, email or phone.
    pub q: Option<String>,
}

impl LeadFilter {
    /// The WHERE clause (or empty) and its bound values, for `engine`.
    pub(crate) fn where_clause(&self, engine: Engine) -> (String, Vec<Bind>) {
        let mut clauses = Vec::new();
        let mut binds = Vec::new();
        if !self.statuses.is_empty() {
            let ph = placeholders(binds.len(), self.statuses.len());
            binds.extend(self.statuses.iter().map(|s| Bind::Text(s.as_str().into())));
            clauses.push(format!("status IN ({ph})"));
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
            binds.push(Bind::Text(pattern));
            let n = binds.len();
            // SQLite's LIKE already ignores ASCII case (and its lower() folds only ASCII), so
            // lower() there would only cost time: a third of a full scan's.
            let fold = |col: &str| match engine {
                Engine::Sqlite => col.to_owned(),
                Engine::Postgres => format!("lower({col})"),
            };
            let mut ors = vec![
                format!("{} LIKE ${n} ESCAPE '\\'", fold("company_name")),
                format!("{} LIKE ${n} ESCAPE '\\'", fold("contact_name")),
                format!("{} LIKE ${n} ESCAPE '\\'", fold("email")),
                format!("phone LIKE ${n} ESCAPE '\\'"),
            ];
            // People type phone numbers with punctuation; stored numbers are bare digits.
            let digits: String = q.chars().filter(char::is_ascii_digit).collect();
            if digits.len() >= 3 && digits.len() != q.len() {
                binds.push(Bind::Text(format!("%{digits}%")));
                ors.push(format!("phone LIKE ${}", binds.len()));
            }
            clauses.push(format!("({})", ors.join(" OR ")));
        }
        if clauses.is_empty() {
            (String::new(), binds)
        } else {
            (format!(" WHERE {}", clauses.join(" AND ")), binds)
        }
    }
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One page of leads.
#[derive(Debug, Clone)]
pub struct LeadPage {
    pub items: Vec<Lead>,
    pub total: i64,
}

/// A request for one page of the lead list.
#[derive(Debug, Clone)]
pub struct LeadListQuery {
    pub filter: LeadFilter,
    pub sort: LeadSort,
    pub order: Order,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

/// The list's order, shared with the export so a download matches the page. Never-called
/// leads go last in both directions; the id keeps equal keys in a stable order.
fn order_by(sort: LeadSort, order: Order) -> String {
    let dir = order.sql();
    format!(" ORDER BY {} {dir} NULLS LAST, id {dir}", sort.column())
}

/// SQLite limits bound parameters per statement; chunks keep well under it.
pub(crate) const ID_CHUNK: usize = 500;

impl Store {
    pub async fn list_leads(&self, query: &LeadListQuery) -> StoreResult<LeadPage> {
        let (where_sql, binds) = query.filter.where_clause(self.engine());
        let sql = format!(
            "SELECT {LEAD_COLUMNS} FROM leads{where_sql}{order_by} LIMIT {limit} OFFSET {offset}",
            order_by = order_by(query.sort, query.order),
            limit = query.per_page,
            offset = u64::from(query.page.saturating_sub(1)) * u64::from(query.per_page),
        );
        let count_sql = format!("SELECT COUNT(*) FROM leads{where_sql}");
        // The page and the count run side by side on two connections: with a search, each
        // may have to scan every lead.
        let (rows, total): (Vec<LeadRow>, i64) = read!(self, pool => {
            tokio::try_join!(
                bind_all!(sqlx::query_as::<_, LeadRow>(&sql), &binds).fetch_all(pool),
                bind_all!(sqlx::query_scalar::<_, i64>(&count_sql), &binds).fetch_one(pool),
            )?
        });
        Ok(LeadPage {
            items: rows.into_iter().map(Lead::from).collect(),
            total,
        })
    }

    /// Sends every lead matching `filter`, in `sort` order, down `out` as the database
    /// yields them; used by the CSV export so memory stays flat however many leads match.
    /// Stops quietly when the receiver goes away (the client disconnected).
    pub async fn stream_leads(
        &self,
        filter: &LeadFilter,
        sort: LeadSort,
        order: Order,
        out: tokio::sync::mpsc::Sender<Lead>,
    ) -> StoreResult<()> {
        use futures_util::TryStreamExt;
        let (where_sql, binds) = filter.where_clause(self.engine());
        let sql = format!(
            "SELECT {LEAD_COLUMNS} FROM leads{where_sql}{}",
            order_by(sort, order)
        );
        read!(self, pool => {
            let mut rows = bind_all!(sqlx::query_as::<_, LeadRow>(&sql), &binds).fetch(pool);
            while let Some(row) = rows.try_next().await? {
                if out.send(row.into()).await.is_err() {
                    break;
                }
            }
        });
        Ok(())
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
    }

    #[test]
    fn filter_builds_numbered_placeholders() {
        let f = LeadFilter {
            statuses: vec![LeadStatus::Pending, LeadStatus::Error],
            q: Some("(415) 555".into()),
        };
        let (sql, binds) = f.where_clause(Engine::Postgres);
        assert!(sql.contains("status IN ($1, $2)"), "{sql}");
        assert!(sql.contains("lower(company_name) LIKE $3"), "{sql}");
        assert!(sql.contains("phone LIKE $4"), "{sql}");
        assert_eq!(binds.len(), 4);
    }
}
