//! The dialer's queries: claiming due leads atomically under the concurrency cap (a dial
//! slot each), starting their calls, recording what VAPI said, and settling calls. Every
//! change to a lead in `calling` is guarded by `status = 'calling' AND call_seq = <call>`,
//! so a late or repeated report cannot touch a lead a person has changed since, or one
//! already settled.

use std::sync::LazyLock;

use sqlx::FromRow;
use uuid::Uuid;

use super::{
    Bind, Engine, Pools, Store, StoreError, StoreResult, bind_all,
    call_logs::{bind_report, report_columns},
    changes::Topic,
    placeholders, read, write,
};
use crate::domain::Millis;

/// Moves a lead still on call `$8` to its settled state: `$1` status, `$2` reason, `$3` next
/// call, `$4` 1 to give the attempt back, `$5` dial failures, `$6` now, `$7` the lead. Its
/// values are bound by [`bind_settlement!`].
const SETTLE_LEAD: &str = "UPDATE leads SET status = $1, status_reason = $2, next_call_at = $3, \
     call_attempts = call_attempts - $4, dial_failures = $5, updated_at = $6 \
     WHERE id = $7 AND status = 'calling' AND call_seq = $8";

/// Binds [`SETTLE_LEAD`]'s eight values, in its order, to `$query` (a query whose first eight
/// parameters are those), for whichever engine runs it.
macro_rules! bind_settlement {
    ($query:expr, $s:expr, $lead_id:expr, $attempt:expr, $now:expr) => {
        $query
            .bind($s.status)
            .bind(&$s.reason)
            .bind($s.next_call_at)
            .bind(i64::from($s.refund_attempt))
            .bind($s.dial_failures)
            .bind($now)
            .bind($lead_id)
            .bind($attempt)
    };
}

/// Serialises claims across every instance sharing one PostgreSQL database.
const CLAIM_LOCK: i64 = 4_200_002;

/// A lead the dialer has just claimed (it holds a dial slot).
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedLead {
    pub id: Uuid,
    pub company_name: String,
    pub contact_name: String,
    pub phone: String,
    pub email: String,
    pub timezone: String,
    /// The lead's attempt count (what `max_attempts` limits); [`Store::begin_call`] counts
    /// this call.
    pub call_attempts: i64,
    pub dial_failures: i64,
    /// The claim holding the lead's slot.
    #[sqlx(skip)]
    pub claim_id: Uuid,
}

/// What starting a claimed call recorded.
#[derive(Debug, Clone, Copy, FromRow)]
pub struct Began {
    /// This call's number for the lead; never reused (call logs and webhooks are keyed by it).
    pub call_seq: i64,
    /// The lead's attempt count with this call.
    pub call_attempts: i64,
}

/// Limits for one claim.
#[derive(Debug, Clone)]
pub struct ClaimRequest<'a> {
    pub now: Millis,
    /// Most dial slots held at once (the settings' `max_calls_batch`).
    pub cap: i64,
    pub max_attempts: i64,
    /// Time zones whose calling window is open now.
    pub open_zones: &'a [String],
}

/// A lead stuck in `calling` long enough to be checked with VAPI.
#[derive(Debug, Clone, FromRow)]
pub struct StaleCall {
    pub lead_id: Uuid,
    pub attempt: i64,
    pub vapi_call_id: Option<String>,
    pub last_called_at: Option<i64>,
}

/// How a lead leaves `calling`.
#[derive(Debug, Clone)]
pub struct LeadSettlement {
    pub status: &'static str,
    pub reason: Option<String>,
    pub next_call_at: Option<Millis>,
    /// Give the attempt back (the call never really happened).
    pub refund_attempt: bool,
    pub dial_failures: i64,
    /// Put the lead's number on the do-not-call list.
    pub do_not_call: bool,
    /// The follow-up email this outcome calls for, already rendered.
    pub email: Option<QueuedEmail>,
}

/// What settling a call reads: the call's booking and opt-out, and the lead's schedule
/// and the fields its follow-up email uses.
#[derive(Debug, Clone, FromRow)]
pub struct SettleFacts {
    pub booking_uid: Option<String>,
    pub opted_out: bool,
    pub timezone: String,
    pub call_attempts: i64,
    pub dial_failures: i64,
    pub email: String,
    pub contact_name: String,
    pub company_name: String,
    pub booking_start_at: Option<Millis>,
}

/// [`SettleFacts`]' columns, read from the call log `c` and its lead `l`.
const SETTLE_FACT_COLUMNS: &str = "c.booking_uid, COALESCE(c.opted_out, FALSE) AS opted_out, \
     l.timezone, l.call_attempts, l.dial_failures, l.email, l.contact_name, l.company_name, \
     l.booking_start_at";

/// An email to queue with a settlement.
#[derive(Debug, Clone)]
pub struct QueuedEmail {
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Store {
    /// Claims up to the free capacity of due leads: each gets a dial slot under one claim id
    /// (see [`Store::begin_call`] for the next step). Only the narrow slot table is written,
    /// so the step every instance waits on stays short. Safe against overlapping ticks,
    /// `/api/cron` and other instances: no lead is claimed twice and the cap holds.
    pub async fn claim_due(&self, req: &ClaimRequest<'_>) -> StoreResult<Vec<ClaimedLead>> {
        if req.open_zones.is_empty() || req.cap <= 0 {
            return Ok(Vec::new());
        }
        // SQLite would rather gather every waiting lead of the open zones and sort them; the
        // due index walked in order stops after the first few due ones, a hundred times
        // faster with a million leads waiting.
        //
        // Leads holding a slot are left out. PostgreSQL reads the slots once into an array:
        // the table is small but, between vacuums, holds dead rows that a per-lead lookup
        // would wade through again for every candidate.
        let (hint, unslotted) = match self.engine() {
            Engine::Postgres => (
                "",
                "leads.id <> ALL (ARRAY(SELECT lead_id FROM dial_slots))",
            ),
            Engine::Sqlite => (
                " INDEXED BY idx_leads_due",
                "NOT EXISTS (SELECT 1 FROM dial_slots s WHERE s.lead_id = leads.id)",
            ),
        };
        let zones = placeholders(3, req.open_zones.len());
        let picked = format!(
            "SELECT id, company_name, contact_name, phone, email, timezone, call_attempts, dial_failures \
             FROM leads{hint} WHERE status IN ('pending', 'no_answer') AND call_attempts < $2 \
             AND (next_call_at IS NULL OR next_call_at <= $1) AND timezone IN ({zones}) \
             AND {unslotted} AND NOT EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = leads.phone) \
             ORDER BY next_call_at NULLS FIRST, id LIMIT"
        );
        let claim_id = Uuid::now_v7();
        let mut binds = vec![
            Bind::Int(req.now),
            Bind::Int(req.max_attempts),
            Bind::Uuid(claim_id),
        ];
        binds.extend(req.open_zones.iter().map(|z| Bind::Text(z.clone())));
        let mut claimed = match self.engine() {
            Engine::Postgres => {
                // One statement: count the slots, pick, take. The picking is the same on every
                // call, so its plan is made once per connection (generic) instead of each time.
                let sql = format!(
                    "WITH picked AS MATERIALIZED ({picked} GREATEST(${cap} - (SELECT COUNT(*) FROM dial_slots), 0)), \
                     taken AS (INSERT INTO dial_slots (lead_id, claim_id, claimed_at) SELECT id, $3, $1 FROM picked) \
                     SELECT * FROM picked",
                    cap = binds.len() + 1,
                );
                binds.push(Bind::Int(req.cap));
                write!(self, notify Calls; pool => {
                    let mut tx = pool.begin().await?;
                    // Claims take turns across instances, so each sees the slots of the one before.
                    // The commit need not wait for the disk: a call starts only after its lead is
                    // moved to `calling` by a durable commit, which makes this one durable too;
                    // a crash before that loses only slots that dialed nobody.
                    sqlx::query(
                        "SELECT pg_advisory_xact_lock($1), set_config('plan_cache_mode', 'force_generic_plan', true), \
                         set_config('synchronous_commit', 'off', true)",
                    )
                        .bind(CLAIM_LOCK)
                        .execute(&mut *tx)
                        .await?;
                    let claimed = bind_all!(sqlx::query_as::<_, ClaimedLead>(&sql), &binds).fetch_all(&mut *tx).await?;
                    tx.commit().await?;
                    claimed
                })
            }
            Engine::Sqlite => {
                let sql = format!("{picked} ${}", binds.len() + 1);
                write!(self, notify Calls; pool => {
                    let mut tx = pool.begin_with(self.begin_read_write()).await?;
                    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dial_slots")
                        .fetch_one(&mut *tx)
                        .await?;
                    let free = (req.cap - held).max(0);
                    let claimed = if free == 0 {
                        Vec::new()
                    } else {
                        let mut binds = binds.clone();
                        binds.push(Bind::Int(free));
                        bind_all!(sqlx::query_as::<_, ClaimedLead>(&sql), &binds).fetch_all(&mut *tx).await?
                    };
                    if !claimed.is_empty() {
                        let rows = (0..claimed.len())
                            .map(|i| format!("(${}, $1, $2)", i + 3))
                            .collect::<Vec<_>>()
                            .join(", ");
                        let insert = format!("INSERT INTO dial_slots (lead_id, claim_id, claimed_at) VALUES {rows}");
                        let mut q = sqlx::query(&insert).bind(claim_id).bind(req.now);
                        for lead in &claimed {
                            q = q.bind(lead.id);
                        }
                        q.execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    claimed
                })
            }
        };
        for lead in &mut claimed {
            lead.claim_id = claim_id;
        }
        Ok(claimed)
    }

    /// Starts a claimed lead's call: moves it to `calling`, counting the attempt and
    /// stamping `last_called_at`, and files the call's log row, in one transaction. Only
    /// while its claim still holds the slot and the lead still waits and may be called;
    /// otherwise (changed, deleted, put on the do-not-call list, or its slot swept) the slot
    /// is let go and `None` says not to dial.
    pub async fn begin_call(&self, lead: &ClaimedLead, now: Millis) -> StoreResult<Option<Began>> {
        Ok(write!(self, notify Leads, Calls; pool => {
            let mut tx = pool.begin_with(self.begin_read_write()).await?;
            let began = sqlx::query_as::<_, Began>(
                "UPDATE leads SET status = 'calling', call_attempts = call_attempts + 1, call_seq = call_seq + 1, \
                 last_called_at = $1, updated_at = $1, status_reason = NULL \
                 WHERE id = $2 AND status IN ('pending', 'no_answer') \
                 AND EXISTS (SELECT 1 FROM dial_slots s WHERE s.lead_id = $2 AND s.claim_id = $3) \
                 AND NOT EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = leads.phone) \
                 RETURNING call_seq, call_attempts",
            )
            .bind(now)
            .bind(lead.id)
            .bind(lead.claim_id)
            .fetch_optional(&mut *tx)
            .await?;
            match &began {
                // Recorded before VAPI is asked, so a webhook that beats the answer finds its row.
                Some(b) => sqlx::query(
                    "INSERT INTO call_logs (id, lead_id, attempt, initiated_at, call_status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'dialing', $4, $4) ON CONFLICT (lead_id, attempt) DO NOTHING",
                )
                .bind(Uuid::now_v7())
                .bind(lead.id)
                .bind(b.call_seq)
                .bind(now)
                .execute(&mut *tx)
                .await?,
                // A call already started under this claim keeps its slot.
                None => sqlx::query(
                    "DELETE FROM dial_slots WHERE lead_id = $1 AND claim_id = $2 \
                     AND NOT EXISTS (SELECT 1 FROM leads WHERE id = $1 AND status = 'calling')",
                )
                    .bind(lead.id)
                    .bind(lead.claim_id)
                    .execute(&mut *tx)
                    .await?,
            };
            tx.commit().await?;
            began
        }))
    }

    /// Lets go of slots claimed before `cutoff` whose lead never reached `calling` (the
    /// claiming process stopped before dialing, or the lead left `calling` by other means):
    /// those leads are due again with nothing counted. Returns how many were freed.
    pub async fn sweep_slots(&self, cutoff: Millis) -> StoreResult<u64> {
        Ok(write!(self, notify Calls; pool => sqlx::query(
            "DELETE FROM dial_slots WHERE claimed_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = dial_slots.lead_id AND l.status = 'calling')",
        )
        .bind(cutoff)
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// The time zones of leads waiting to be called (pending or no answer): a walk of the
    /// zone index, one seek per zone, so it costs little however many leads wait.
    pub async fn waiting_zones(&self) -> StoreResult<Vec<String>> {
        Ok(read!(self, pool => sqlx::query_scalar::<_, String>(
            "WITH RECURSIVE z (tz) AS ( \
               SELECT MIN(timezone) FROM leads WHERE status IN ('pending', 'no_answer') \
               UNION ALL \
               SELECT (SELECT MIN(timezone) FROM leads WHERE status IN ('pending', 'no_answer') AND timezone > z.tz) \
               FROM z WHERE z.tz IS NOT NULL) \
             SELECT tz FROM z WHERE tz IS NOT NULL",
        )
        .fetch_all(pool)
        .await?))
    }

    /// Counts the dial slots in use: calls claimed, being placed or in progress (what the
    /// concurrency cap limits).
    pub async fn count_calling(&self) -> StoreResult<i64> {
        Ok(
            read!(self, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM dial_slots")
            .fetch_one(pool).await?),
        )
    }

    /// Moves waiting leads whose time zone is not a known IANA zone to `error`: they can
    /// never be inside a calling window, and a person should fix them.
    pub async fn fail_unknown_timezones(&self, known: &[String]) -> StoreResult<u64> {
        let sql = format!(
            "UPDATE leads SET status = 'error', status_reason = 'unknown time zone; set a valid IANA zone and requeue', \
             updated_at = $1 WHERE status IN ('pending', 'no_answer') AND timezone NOT IN ({})",
            placeholders(1, known.len())
        );
        let mut binds = vec![Bind::Int(crate::domain::now_millis())];
        binds.extend(known.iter().map(|z| Bind::Text(z.clone())));
        Ok(
            write!(self, notify Leads, Calls; pool => bind_all!(sqlx::query(&sql), &binds).execute(pool).await?.rows_affected()),
        )
    }

    /// Records the booking made during attempt `attempt` on the call log and the lead.
    pub async fn record_booking(
        &self,
        lead_id: Uuid,
        attempt: i64,
        uid: &str,
        start: Millis,
    ) -> StoreResult<()> {
        let now = crate::domain::now_millis();
        write!(self, notify Leads, Calls; pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE call_logs SET booking_uid = $1, updated_at = $2 WHERE lead_id = $3 AND attempt = $4")
                .bind(uid).bind(now).bind(lead_id).bind(attempt).execute(&mut *tx).await?;
            sqlx::query("UPDATE leads SET cal_booking_uid = $1, booking_start_at = $2, updated_at = $3 WHERE id = $4")
                .bind(uid).bind(start).bind(now).bind(lead_id).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// A booking was cancelled in Cal.com: a scheduled lead goes back in the queue (its
    /// attempts kept, but one left if it had none, or it could never be called again) with
    /// the reason. Returns whether a lead changed.
    pub async fn booking_cancelled(
        &self,
        uid: &str,
        reason: &str,
        max_attempts: i64,
    ) -> StoreResult<bool> {
        let done = write!(self, notify Leads, Calls; pool => sqlx::query(
            "UPDATE leads SET status = 'pending', status_reason = $1, cal_booking_uid = NULL, booking_start_at = NULL, \
             next_call_at = NULL, updated_at = $2, \
             call_attempts = CASE WHEN call_attempts >= $4 THEN $4 - 1 ELSE call_attempts END \
             WHERE cal_booking_uid = $3 AND status = 'scheduled'",
        )
        .bind(reason)
        .bind(crate::domain::now_millis())
        .bind(uid)
        .bind(max_attempts)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(done > 0)
    }

    /// A booking moved in Cal.com (a new uid replaces the old one).
    pub async fn booking_rescheduled(
        &self,
        old_uid: &str,
        new_uid: &str,
        start: Millis,
    ) -> StoreResult<bool> {
        let done = write!(self, notify Leads, Calls; pool => sqlx::query(
            "UPDATE leads SET cal_booking_uid = $1, booking_start_at = $2, updated_at = $3 WHERE cal_booking_uid = $4",
        )
        .bind(new_uid)
        .bind(start)
        .bind(crate::domain::now_millis())
        .bind(old_uid)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(done > 0)
    }

    /// Marks that the person asked not to be called again during this call, and adds their
    /// number to the do-not-call list at once.
    pub async fn opt_out_during_call(&self, lead_id: Uuid, attempt: i64) -> StoreResult<()> {
        let now = crate::domain::now_millis();
        write!(self, notify Leads, Calls; pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE call_logs SET opted_out = TRUE, updated_at = $1 WHERE lead_id = $2 AND attempt = $3")
                .bind(now).bind(lead_id).bind(attempt).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO dnc (phone, source, note, created_at) SELECT phone, 'call', 'asked during a call', $1 \
                 FROM leads WHERE id = $2 ON CONFLICT (phone) DO NOTHING",
            )
            .bind(now).bind(lead_id).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Moves a lead out of `calling` for attempt `attempt`; returns false (and changes
    /// nothing) when the lead is no longer in that call. `now` is the dialer's clock, so the
    /// follow-up email is due by the same clock that sends it.
    pub async fn settle_lead(
        &self,
        lead_id: Uuid,
        attempt: i64,
        s: &LeadSettlement,
        now: Millis,
    ) -> StoreResult<bool> {
        self.settle_with_report(lead_id, attempt, s, None, now)
            .await
    }

    /// [`Store::settle_lead`], recording the call's end-of-call report in the same
    /// transaction (the report is kept even when the lead has moved on).
    pub async fn settle_with_report(
        &self,
        lead_id: Uuid,
        attempt: i64,
        s: &LeadSettlement,
        report: Option<&super::call_logs::CallReport>,
        now: Millis,
    ) -> StoreResult<bool> {
        let done = match &self.pools {
            Pools::Postgres(pool) if !s.do_not_call && !s.refund_attempt => {
                settle_in_one_statement(pool, lead_id, attempt, s, report, now).await?
            }
            // Opt-outs and refunds write the call log twice, which one statement cannot.
            _ => write!(self, pool => {
                let mut tx = pool.begin().await?;
                if report.is_some() {
                    static SQL: LazyLock<String> = LazyLock::new(|| {
                        format!(
                            "UPDATE call_logs SET {}, updated_at = $12 WHERE lead_id = $13 AND attempt = $14",
                            report_columns(1)
                        )
                    });
                    bind_report!(sqlx::query(SQL.as_str()), report)
                        .bind(now)
                        .bind(lead_id)
                        .bind(attempt)
                        .execute(&mut *tx)
                        .await?;
                }
                let done = bind_settlement!(sqlx::query(SETTLE_LEAD), s, lead_id, attempt, now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                // An opt-out is honoured even when the lead has moved on (a person changed it
                // during the call, or another report settled it first).
                if s.do_not_call {
                    sqlx::query(
                        "INSERT INTO dnc (phone, source, note, created_at) SELECT phone, 'call', 'opted out', $1 \
                         FROM leads WHERE id = $2 ON CONFLICT (phone) DO NOTHING",
                    )
                    .bind(now).bind(lead_id).execute(&mut *tx).await?;
                }
                if done == 1 && let Some(email) = &s.email {
                    // Once per lead, kind and requeue cycle: a repeated settlement queues nothing.
                    sqlx::query(
                        "INSERT INTO email_outbox (id, lead_id, kind, cycle, to_email, subject, body, status, next_attempt_at, \
                         created_at, updated_at) SELECT $1, id, $2, email_cycle, $3, $4, $5, 'pending', $6, $6, $6 FROM leads \
                         WHERE id = $7 ON CONFLICT (lead_id, kind, cycle) DO NOTHING",
                    )
                    .bind(Uuid::now_v7())
                    .bind(email.kind)
                    .bind(&email.to)
                    .bind(&email.subject)
                    .bind(&email.body)
                    .bind(now)
                    .bind(lead_id)
                    .execute(&mut *tx)
                    .await?;
                }
                if done == 1 {
                    sqlx::query("DELETE FROM dial_slots WHERE lead_id = $1").bind(lead_id).execute(&mut *tx).await?;
                }
                if done == 1 && s.refund_attempt {
                    // The attempt never reached anyone: its number is free for the next try.
                    sqlx::query("DELETE FROM call_logs WHERE lead_id = $1 AND attempt = $2 AND vapi_call_id IS NULL")
                        .bind(lead_id).bind(attempt).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                done == 1
            }),
        };
        self.changes.bump(Topic::Leads);
        self.changes.bump(Topic::Calls);
        Ok(done)
    }

    /// Leads in `calling` since before `cutoff`, and those claimed before `unconfirmed`
    /// whose call VAPI never confirmed (no call id).
    pub async fn stale_calls(
        &self,
        cutoff: Millis,
        unconfirmed: Millis,
    ) -> StoreResult<Vec<StaleCall>> {
        Ok(read!(self, pool => sqlx::query_as::<_, StaleCall>(
            "SELECT l.id AS lead_id, l.call_seq AS attempt, c.vapi_call_id, l.last_called_at FROM leads l \
             LEFT JOIN call_logs c ON c.lead_id = l.id AND c.attempt = l.call_seq \
             WHERE l.status = 'calling' AND (l.last_called_at < $1 OR (l.last_called_at < $2 AND c.vapi_call_id IS NULL)) \
             ORDER BY l.last_called_at LIMIT 500",
        )
        .bind(cutoff)
        .bind(unconfirmed)
        .fetch_all(pool)
        .await?))
    }

    /// Everything settling a call needs to know about it and its lead, in one read.
    pub async fn settle_facts(&self, lead_id: Uuid, attempt: i64) -> StoreResult<SettleFacts> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {SETTLE_FACT_COLUMNS} FROM leads l \
                 LEFT JOIN call_logs c ON c.lead_id = l.id AND c.attempt = $2 WHERE l.id = $1"
            )
        });
        read!(self, pool => sqlx::query_as::<_, SettleFacts>(SQL.as_str())
        .bind(lead_id)
        .bind(attempt)
        .fetch_optional(pool)
        .await?)
        .ok_or(StoreError::NotFound)
    }

    /// The (lead, attempt) of the call VAPI knows as `vapi_call_id`, with what settling it
    /// needs, in one read; `None` when no call log holds that id yet.
    pub async fn settle_facts_by_call_id(
        &self,
        vapi_call_id: &str,
    ) -> StoreResult<Option<(Uuid, i64, SettleFacts)>> {
        #[derive(FromRow)]
        struct Located {
            lead_id: Uuid,
            attempt: i64,
            #[sqlx(flatten)]
            facts: SettleFacts,
        }
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT c.lead_id, c.attempt, {SETTLE_FACT_COLUMNS} \
                 FROM call_logs c JOIN leads l ON l.id = c.lead_id WHERE c.vapi_call_id = $1"
            )
        });
        let found: Option<Located> = read!(self, pool => sqlx::query_as::<_, Located>(SQL.as_str())
        .bind(vapi_call_id)
        .fetch_optional(pool)
        .await?);
        Ok(found.map(|l| (l.lead_id, l.attempt, l.facts)))
    }

    /// The lead's time zone and attempt count, for working out its next call.
    pub async fn lead_schedule_facts(&self, lead_id: Uuid) -> StoreResult<(String, i64, i64)> {
        read!(self, pool => sqlx::query_as::<_, (String, i64, i64)>(
            "SELECT timezone, call_attempts, dial_failures FROM leads WHERE id = $1",
        )
        .bind(lead_id)
        .fetch_optional(pool)
        .await?)
        .ok_or(StoreError::NotFound)
    }
}

/// The usual settlement on PostgreSQL (no opt-out, no refund) as one statement: the same
/// writes as [`Store::settle_with_report`]'s transaction, without its six round trips, which
/// at a thousand reports a second cost more than the writes themselves. Absent parts (no
/// report, no email) are switched off by their flags, so the statement is prepared once.
async fn settle_in_one_statement(
    pool: &sqlx::PgPool,
    lead_id: Uuid,
    attempt: i64,
    s: &LeadSettlement,
    report: Option<&super::call_logs::CallReport>,
    now: Millis,
) -> StoreResult<bool> {
    let email = s.email.as_ref();
    // The slot is deleted by its key ($7) behind `EXISTS (done)`: written as
    // `lead_id IN (SELECT id FROM done)` it could be planned as a scan of every slot held, one
    // per call in flight, and with 20,000 calls in flight each report read them all.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH report AS (\
                 UPDATE call_logs SET {report}, updated_at = $6 WHERE $25 AND lead_id = $7 AND attempt = $8), \
             done AS ({SETTLE_LEAD} RETURNING id, email_cycle), \
             slot AS (DELETE FROM dial_slots WHERE lead_id = $7 AND EXISTS (SELECT 1 FROM done)), \
             mail AS (\
                 INSERT INTO email_outbox (id, lead_id, kind, cycle, to_email, subject, body, status, \
                 next_attempt_at, created_at, updated_at) SELECT $20, id, $21, email_cycle, $22, $23, $24, \
                 'pending', $6, $6, $6 FROM done WHERE $26 ON CONFLICT (lead_id, kind, cycle) DO NOTHING) \
             SELECT COUNT(*) FROM done",
            report = report_columns(9)
        )
    });
    let settle = bind_settlement!(sqlx::query_scalar(SQL.as_str()), s, lead_id, attempt, now);
    let done: i64 = bind_report!(settle, report)
        .bind(Uuid::now_v7())
        .bind(email.map(|e| e.kind))
        .bind(email.map(|e| &e.to))
        .bind(email.map(|e| &e.subject))
        .bind(email.map(|e| &e.body))
        .bind(report.is_some())
        .bind(email.is_some())
        .fetch_one(pool)
        .await?;
    Ok(done == 1)
}
