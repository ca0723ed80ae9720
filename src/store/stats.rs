//! Read-only figures for the dashboard: leads due now, and call totals over a filter.

use serde::Serialize;
use uuid::Uuid;

use super::{Bind, Store, StoreResult, bind_all, placeholders, read};
use crate::domain::{Millis, outcome::CONNECTED_REASONS};

/// Which calls a list or a total covers.
#[derive(Debug, Clone, Default)]
pub struct CallLogFilter {
    pub lead_id: Option<Uuid>,
    pub outcome: Option<CallOutcome>,
    /// Calls created at or after this instant.
    pub from: Option<Millis>,
    /// Calls created before this instant.
    pub to: Option<Millis>,
}

/// How a call went, as the call list filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// A meeting was booked during the call.
    Booked,
    /// Someone answered and the call ended normally.
    Connected,
    /// The call ended without anyone answering (no answer, busy, voicemail, failures).
    NotConnected,
    /// The contact asked not to be called again.
    OptedOut,
    /// No end-of-call report yet.
    InProgress,
}

impl CallOutcome {
    pub const ALL: [CallOutcome; 5] = [
        CallOutcome::Booked,
        CallOutcome::Connected,
        CallOutcome::NotConnected,
        CallOutcome::OptedOut,
        CallOutcome::InProgress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Booked => "booked",
            CallOutcome::Connected => "connected",
            CallOutcome::NotConnected => "not_connected",
            CallOutcome::OptedOut => "opted_out",
            CallOutcome::InProgress => "in_progress",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CallOutcome::Booked => "Booked",
            CallOutcome::Connected => "Connected",
            CallOutcome::NotConnected => "Not connected",
            CallOutcome::OptedOut => "Opted out",
            CallOutcome::InProgress => "In progress",
        }
    }

    pub fn parse(s: &str) -> Option<CallOutcome> {
        CallOutcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// `ended_reason IN (...)` for connected calls. The list is ours, not user input, so it is
/// written into the SQL rather than bound.
fn connected_sql() -> String {
    let list: Vec<String> = CONNECTED_REASONS.iter().map(|r| format!("'{r}'")).collect();
    format!("ended_reason IN ({})", list.join(", "))
}

impl CallLogFilter {
    pub(crate) fn where_clause(&self) -> (String, Vec<Bind>) {
        let mut clauses = Vec::new();
        let mut binds = Vec::new();
        if let Some(id) = self.lead_id {
            binds.push(Bind::Uuid(id));
            clauses.push(format!("lead_id = ${}", binds.len()));
        }
        if let Some(from) = self.from {
            binds.push(Bind::Int(from));
            clauses.push(format!("created_at >= ${}", binds.len()));
        }
        if let Some(to) = self.to {
            binds.push(Bind::Int(to));
            clauses.push(format!("created_at < ${}", binds.len()));
        }
        match self.outcome {
            Some(CallOutcome::Booked) => clauses.push("booking_uid IS NOT NULL".into()),
            Some(CallOutcome::Connected) => clauses.push(connected_sql()),
            Some(CallOutcome::NotConnected) => clauses.push(format!(
                "ended_at IS NOT NULL AND NOT ({}) AND booking_uid IS NULL",
                connected_sql()
            )),
            Some(CallOutcome::OptedOut) => clauses.push("opted_out".into()),
            Some(CallOutcome::InProgress) => clauses.push("ended_at IS NULL".into()),
            None => {}
        }
        if clauses.is_empty() {
            (String::new(), binds)
        } else {
            (format!(" WHERE {}", clauses.join(" AND ")), binds)
        }
    }
}

/// Sums over the calls a filter covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CallTotals {
    pub calls: i64,
    /// Calls someone answered (see [`CONNECTED_REASONS`]).
    pub connected: i64,
    /// Calls during which a meeting was booked.
    pub bookings: i64,
    /// USD, as VAPI reported it.
    pub cost: f64,
}

impl CallTotals {
    /// Connected calls as a share of ended calls, 0–1.
    pub fn connect_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.connected as f64 / self.calls as f64
        }
    }

    pub fn cost_per_booking(&self) -> Option<f64> {
        (self.bookings > 0).then(|| self.cost / self.bookings as f64)
    }
}

/// Due leads are counted exactly up to this many; beyond it the count says "more".
pub const DUE_COUNT_LIMIT: i64 = 10_000;

/// What the claim would look at now (see [`Store::claim_due`]).
#[derive(Debug, Clone)]
pub struct DueQuery<'a> {
    pub now: Millis,
    pub max_attempts: i64,
    /// Only leads in these zones; `None` counts every zone (leads waiting for their hours).
    pub open_zones: Option<&'a [String]>,
}

impl Store {
    /// Totals over the calls `filter` covers.
    pub async fn call_totals(&self, filter: &CallLogFilter) -> StoreResult<CallTotals> {
        let (where_sql, binds) = filter.where_clause();
        let sql = format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN {connected} THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN booking_uid IS NOT NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(cost), 0.0) FROM call_logs{where_sql}",
            connected = connected_sql()
        );
        let (calls, connected, bookings, cost): (i64, i64, i64, f64) = read!(self, pool =>
            bind_all!(sqlx::query_as::<_, (i64, i64, i64, f64)>(&sql), &binds).fetch_one(pool).await?);
        Ok(CallTotals {
            calls,
            connected,
            bookings,
            cost,
        })
    }

    /// How many leads the dialer could claim now, cap aside: the same conditions as the claim.
    /// Counting stops at [`DUE_COUNT_LIMIT`] + 1, so a dashboard reading it every second costs
    /// milliseconds even with a million leads waiting.
    pub async fn count_due(&self, q: &DueQuery<'_>) -> StoreResult<i64> {
        let zones = match q.open_zones {
            Some([]) => return Ok(0),
            Some(zones) => zones,
            None => &[],
        };
        let zone_clause = if zones.is_empty() {
            String::new()
        } else {
            format!(" AND timezone IN ({})", placeholders(2, zones.len()))
        };
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM leads WHERE status IN ('pending', 'no_answer') AND call_attempts < $2 \
             AND (next_call_at IS NULL OR next_call_at <= $1){zone_clause} \
             AND NOT EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = leads.phone) LIMIT {}) AS due",
            DUE_COUNT_LIMIT + 1
        );
        let mut binds = vec![Bind::Int(q.now), Bind::Int(q.max_attempts)];
        binds.extend(zones.iter().map(|z| Bind::Text(z.clone())));
        Ok(read!(self, pool =>
            bind_all!(sqlx::query_scalar::<_, i64>(&sql), &binds).fetch_one(pool).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip() {
        for o in CallOutcome::ALL {
            assert_eq!(CallOutcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(CallOutcome::parse("nope"), None);
    }

    #[test]
    fn filters_number_their_placeholders() {
        let f = CallLogFilter {
            lead_id: Some(Uuid::nil()),
            outcome: Some(CallOutcome::Booked),
            from: Some(1),
            to: Some(2),
        };
        let (sql, binds) = f.where_clause();
        assert!(
            sql.contains("lead_id = $1") && sql.contains("created_at < $3"),
            "{sql}"
        );
        assert_eq!(binds.len(), 3);
    }
}
