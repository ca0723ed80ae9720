//! Bulk actions: one change applied to many leads, chosen by id or by the list's filters.

use uuid::Uuid;

use super::{
    Bind, Store, StoreResult, bind_all,
    lead_list::{FilterSql, LeadFilter},
    leads::ID_CHUNK,
    placeholders, read, write,
};
use crate::domain::{lead::LeadStatus, now_millis};

/// What a bulk request does to each selected lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Delete,
    SetStatus(LeadStatus),
    /// Back to `pending` with attempts, schedule, reason and follow-up flags reset.
    Requeue,
    /// Put the leads' numbers on the do-not-call list.
    DoNotCall,
}

impl Store {
    /// Applies `action` to every lead in `ids` in one transaction; returns how many leads it
    /// changed (ids that do not exist are skipped).
    pub async fn bulk_leads(&self, ids: &[Uuid], action: BulkAction) -> StoreResult<u64> {
        let now = now_millis();
        let (head, fixed): (String, Vec<Bind>) = match action {
            BulkAction::Delete => ("DELETE FROM leads WHERE".into(), vec![]),
            // A lead on a live call is not made due again: it would be dialed a second time
            // while the first call is still going.
            BulkAction::SetStatus(status) if status.is_due() => (
                "UPDATE leads SET status = $1, status_reason = NULL, updated_at = $2 WHERE status <> 'calling' AND"
                    .into(),
                vec![Bind::Text(status.as_str().into()), Bind::Int(now)],
            ),
            BulkAction::SetStatus(status) => (
                "UPDATE leads SET status = $1, status_reason = NULL, updated_at = $2 WHERE".into(),
                vec![Bind::Text(status.as_str().into()), Bind::Int(now)],
            ),
            BulkAction::DoNotCall => (
                "INSERT INTO dnc (phone, source, created_at) SELECT phone, 'dashboard', $1 FROM leads WHERE"
                    .into(),
                vec![Bind::Int(now)],
            ),
            BulkAction::Requeue => (
                "UPDATE leads SET status = 'pending', status_reason = NULL, call_attempts = 0, \
                 next_call_at = NULL, follow_up_email_sent = FALSE, email_cycle = email_cycle + 1, \
                 dial_failures = 0, updated_at = $1 WHERE status <> 'calling' AND"
                    .into(),
                vec![Bind::Int(now)],
            ),
        };
        let mut affected = 0;
        write!(self, notify Leads, Calls; pool => {
            let mut tx = pool.begin().await?;
            for chunk in ids.chunks(ID_CHUNK) {
                let tail = if action == BulkAction::DoNotCall { " ON CONFLICT (phone) DO NOTHING" } else { "" };
                let sql = format!("{head} id IN ({}){tail}", placeholders(fixed.len(), chunk.len()));
                let binds: Vec<Bind> = fixed.iter().cloned().chain(chunk.iter().map(|id| Bind::Uuid(*id))).collect();
                affected += bind_all!(sqlx::query(&sql), &binds).execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
        });
        Ok(affected)
    }

    /// Applies `action` to the next `limit` leads matching `filter` whose id comes after
    /// `after`, in id order. Returns how many it changed, how many it looked at, and the
    /// last id looked at (the cursor for the next batch; `None` when none were left). Bulk
    /// actions over a whole filter run in such batches, so no request or lock lasts long.
    pub async fn bulk_matching(
        &self,
        filter: &LeadFilter,
        after: Option<Uuid>,
        limit: u32,
        action: BulkAction,
    ) -> StoreResult<(u64, u64, Option<Uuid>)> {
        let FilterSql {
            where_sql,
            mut binds,
            from,
        } = self.plan_list(filter).await?.sql;
        let mut sql = format!("SELECT id{from}{where_sql}");
        if let Some(after) = after {
            binds.push(Bind::Uuid(after));
            let joiner = if where_sql.is_empty() {
                " WHERE"
            } else {
                " AND"
            };
            sql.push_str(&format!("{joiner} id > ${}", binds.len()));
        }
        sql.push_str(&format!(" ORDER BY id LIMIT {limit}"));
        let ids: Vec<Uuid> = read!(self, pool =>
            bind_all!(sqlx::query_scalar::<_, Uuid>(&sql).persistent(false), &binds).fetch_all(pool).await?);
        let Some(&last) = ids.last() else {
            return Ok((0, 0, None));
        };
        let affected = self.bulk_leads(&ids, action).await?;
        Ok((affected, ids.len() as u64, Some(last)))
    }
}
