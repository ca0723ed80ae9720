//! Automated dialing: each tick settles stale calls, claims due leads inside their calling
//! windows up to the concurrency cap, and places their calls through VAPI.

mod emails;

pub mod clock;
pub mod scheduler;
pub mod settle;
pub mod tools;

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use jiff::{Timestamp, tz::TimeZone};
use serde::Serialize;
use serde_json::json;
use tokio::sync::{Mutex, Notify};

use crate::{
    domain::{Millis, window::CallWindow},
    integrations::{
        ProviderError,
        resend::ResendClient,
        vapi::{CallRequest, VapiClient},
    },
    store::{
        Store,
        dialer::{ClaimRequest, ClaimedLead, LeadSettlement},
        settings::Settings,
    },
};
use clock::Clock;

/// Consecutive transient dial failures after which a lead goes to `error`.
pub const MAX_DIAL_FAILURES: i64 = 5;

/// Dialer knobs that come from the environment rather than the settings table.
#[derive(Debug, Clone)]
pub struct DialerOptions {
    /// The assistant's longest call; a lead in `calling` longer than this plus
    /// [`DialerOptions::stale_margin`] is checked with VAPI.
    pub max_call: Duration,
    pub stale_margin: Duration,
    /// A claimed lead whose call VAPI has not confirmed (no call id stored, from its answer
    /// or a webhook) after this long was never placed: its process stopped between claim and
    /// dial. It goes back to the queue without using up the attempt.
    pub dial_grace: Duration,
    /// The first back-off after a dial VAPI could not take (timeout, 429, 5xx); it doubles
    /// with each failure in a row.
    pub retry_base: Duration,
    /// The public booking page offered in emails (`CALCOM_BOOKING_LINK`).
    pub booking_link: String,
}

impl Default for DialerOptions {
    fn default() -> Self {
        DialerOptions {
            max_call: Duration::from_secs(600),
            stale_margin: Duration::from_secs(300),
            dial_grace: Duration::from_secs(120),
            retry_base: Duration::from_secs(60),
            booking_link: String::new(),
        }
    }
}

/// What one tick did, without any personal data.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct TickSummary {
    pub claimed: u64,
    pub dialed: u64,
    pub failed: u64,
    /// Why leads or the whole tick were skipped, with counts.
    pub skipped: BTreeMap<String, u64>,
    /// Stale calls settled from VAPI's record of them.
    pub reconciled: u64,
    /// Follow-up emails sent, and sends that will be retried or were given up.
    pub emails_sent: u64,
    pub emails_failed: u64,
}

impl TickSummary {
    fn skip(&mut self, reason: &str, n: u64) {
        *self.skipped.entry(reason.to_owned()).or_default() += n;
    }
}

/// The dialer shared by the scheduler, `/api/cron` and the webhooks.
#[derive(Clone)]
pub struct Dialer {
    pub store: Store,
    pub vapi: Option<VapiClient>,
    pub resend: Option<ResendClient>,
    pub clock: Clock,
    pub options: DialerOptions,
    /// One tick at a time per process; other processes are kept apart by the claim itself.
    /// Holds when leads with unknown time zones were last swept (see [`TZ_SWEEP_EVERY_MS`]).
    tick_lock: Arc<Mutex<Option<Millis>>>,
    /// When the in-process scheduler last ticked and how often it ticks (milliseconds, 0
    /// when no scheduler runs), for the dashboard's "next tick".
    schedule: Arc<(AtomicI64, AtomicI64)>,
    /// Signalled when a call ends and frees a slot, so the scheduler refills it at once.
    pub(crate) wake: Arc<Notify>,
    zones: Arc<std::sync::Mutex<ZoneCache>>,
}

/// What the claim needs to know about zones, kept between claims: the zones open this
/// minute (windows are set in minutes), and the zones that hold waiting leads (refreshed
/// by every tick). Claims then name only the few zones worth asking for.
#[derive(Default)]
struct ZoneCache {
    open: Option<(Millis, CallWindow, Arc<Vec<String>>)>,
    waiting: Option<Arc<std::collections::HashSet<String>>>,
}

/// Leads with unknown zones are never claimed (the claim takes only open zones), so moving
/// them to `error` can wait: the sweep scans every waiting lead and runs at most this often.
const TZ_SWEEP_EVERY_MS: Millis = 60 * 60 * 1000;

/// Every IANA zone whose calling window is open at `now`.
pub fn open_zones(window: &CallWindow, now: Millis) -> Vec<String> {
    let Ok(ts) = Timestamp::from_millisecond(now) else {
        return Vec::new();
    };
    jiff::tz::db()
        .available()
        .filter_map(|name| {
            let name = name.as_str().to_owned();
            let tz = TimeZone::get(&name).ok()?;
            window.is_open(ts, &tz).then_some(name)
        })
        .collect()
}

/// Every IANA zone name the bundled database knows.
pub fn known_zones() -> Vec<String> {
    jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_owned())
        .collect()
}

impl Dialer {
    pub fn new(
        store: Store,
        vapi: Option<VapiClient>,
        resend: Option<ResendClient>,
        clock: Clock,
        options: DialerOptions,
    ) -> Dialer {
        Dialer {
            store,
            vapi,
            resend,
            clock,
            options,
            tick_lock: Arc::new(Mutex::new(None)),
            schedule: Arc::new((AtomicI64::new(0), AtomicI64::new(0))),
            wake: Arc::new(Notify::new()),
            zones: Arc::default(),
        }
    }

    /// When the in-process scheduler will tick next, if one runs.
    pub fn next_tick_at(&self) -> Option<Millis> {
        let every = self.schedule.1.load(Ordering::Relaxed);
        let last = self.schedule.0.load(Ordering::Relaxed);
        (every > 0 && last > 0).then_some(last + every)
    }

    /// Runs one tick: reconcile, claim, dial. Safe to call from several places at once.
    pub async fn tick(&self) -> anyhow::Result<TickSummary> {
        let mut last_sweep = self.tick_lock.lock().await;
        let mut summary = TickSummary::default();
        let settings = self.store.settings().await?;
        // None of these may stop dialing: a failure is logged and the tick goes on.
        match self.reconcile_stale(&settings).await {
            Ok(n) => summary.reconciled = n,
            Err(err) => tracing::warn!(error.cause_chain = ?err, "reconciling stale calls failed"),
        }
        // Emails go out whether or not automation is on: they follow calls already made.
        match self.send_emails().await {
            Ok((sent, failed)) => (summary.emails_sent, summary.emails_failed) = (sent, failed),
            Err(err) => tracing::warn!(error.cause_chain = ?err, "sending emails failed"),
        }
        if let Err(err) = self.store.fold_lead_counts().await {
            tracing::warn!(error.cause_chain = ?err, "folding lead counts failed");
        }
        if !settings.automation_enabled {
            summary.skip("automation_disabled", 1);
            return Ok(summary);
        }
        if self.vapi.is_none() {
            summary.skip("vapi_not_configured", 1);
            return Ok(summary);
        }
        let now = self.clock.now();
        if last_sweep.is_none_or(|at| now - at >= TZ_SWEEP_EVERY_MS || now < at) {
            let invalid = self.store.fail_unknown_timezones(&known_zones()).await?;
            *last_sweep = Some(now);
            if invalid > 0 {
                summary.skip("invalid_timezone", invalid);
            }
        }
        drop(last_sweep);
        // New leads may be in zones no lead was in before.
        let waiting = self.store.waiting_zones().await?;
        self.zone_cache().waiting = Some(Arc::new(waiting.into_iter().collect()));
        self.dial_due(&settings, &mut summary).await?;
        Ok(summary)
    }

    fn zone_cache(&self) -> std::sync::MutexGuard<'_, ZoneCache> {
        self.zones.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The zones whose window is open at `now` and that hold waiting leads, and whether
    /// leads wait elsewhere (in zones outside their hours).
    async fn dialable_zones(
        &self,
        window: CallWindow,
        now: Millis,
    ) -> anyhow::Result<(Vec<String>, bool)> {
        let minute = now.div_euclid(60_000);
        let cached = {
            let cache = self.zone_cache();
            let open = cache
                .open
                .as_ref()
                .filter(|(m, w, _)| *m == minute && *w == window)
                .map(|(_, _, zones)| zones.clone());
            (open, cache.waiting.clone())
        };
        let open = match cached.0 {
            Some(open) => open,
            None => {
                let open = Arc::new(open_zones(&window, now));
                self.zone_cache().open = Some((minute, window, open.clone()));
                open
            }
        };
        let waiting = match cached.1 {
            Some(waiting) => waiting,
            None => {
                let waiting: Arc<std::collections::HashSet<String>> =
                    Arc::new(self.store.waiting_zones().await?.into_iter().collect());
                self.zone_cache().waiting = Some(waiting.clone());
                waiting
            }
        };
        let zones: Vec<String> = open
            .iter()
            .filter(|z| waiting.contains(*z))
            .cloned()
            .collect();
        Ok((zones, !waiting.is_empty()))
    }

    /// Fills the slots that calls ending have freed: claims only, without the tick's
    /// upkeep, and starts each dial in `dials` rather than waiting for it, so one slow
    /// answer from VAPI holds up no other slot. Runs beside ticks; the claim keeps them from
    /// dialing a lead twice. Returns how many leads it claimed.
    pub async fn refill(&self, dials: &mut tokio::task::JoinSet<bool>) -> anyhow::Result<u64> {
        let settings = self.store.settings().await?;
        if !settings.automation_enabled {
            return Ok(0);
        }
        let mut summary = TickSummary::default();
        let Some((claimed, now)) = self.claim(&settings, &mut summary).await? else {
            return Ok(0);
        };
        let n = claimed.len() as u64;
        let settings = Arc::new(settings);
        for lead in claimed {
            let (dialer, settings) = (self.clone(), settings.clone());
            dials.spawn(async move {
                let Some(vapi) = &dialer.vapi else {
                    return false;
                };
                dialer.dial(vapi, lead, now, &settings).await
            });
        }
        Ok(n)
    }

    /// Claims due leads up to the cap and places their calls.
    async fn dial_due(&self, settings: &Settings, summary: &mut TickSummary) -> anyhow::Result<()> {
        let Some(vapi) = &self.vapi else {
            return Ok(());
        };
        let Some((claimed, now)) = self.claim(settings, summary).await? else {
            return Ok(());
        };
        let dials = claimed
            .into_iter()
            .map(|lead| self.dial(vapi, lead, now, settings));
        for ok in futures_util::future::join_all(dials).await {
            if ok {
                summary.dialed += 1;
            } else {
                summary.failed += 1;
            }
        }
        Ok(())
    }

    /// Claims the leads due now, up to the cap; `None` when there is nothing to dial.
    async fn claim(
        &self,
        settings: &Settings,
        summary: &mut TickSummary,
    ) -> anyhow::Result<Option<(Vec<ClaimedLead>, Millis)>> {
        if self.vapi.is_none() {
            return Ok(None);
        }
        let now = self.clock.now();
        let (zones, waiting) = self.dialable_zones(settings.call_window(), now).await?;
        if zones.is_empty() {
            if waiting {
                summary.skip("outside_calling_hours", 1);
            }
            return Ok(None);
        }
        let claimed = self
            .store
            .claim_due(&ClaimRequest {
                now,
                cap: settings.max_calls_batch,
                max_attempts: settings.max_attempts,
                open_zones: &zones,
            })
            .await?;
        summary.claimed = claimed.len() as u64;
        if claimed.is_empty() {
            let calling = self.store.count_calling().await?;
            if calling >= settings.max_calls_batch {
                summary.skip("concurrency_cap", 1);
            }
            return Ok(None);
        }
        Ok(Some((claimed, now)))
    }

    /// Places one claimed lead's call; true when VAPI accepted it.
    async fn dial(
        &self,
        vapi: &VapiClient,
        mut lead: ClaimedLead,
        now: Millis,
        settings: &Settings,
    ) -> bool {
        let began = match self.store.begin_call(&lead, now).await {
            Ok(Some(began)) => began,
            Ok(None) => {
                tracing::info!(lead.id = %lead.id, "lead changed after it was claimed; not dialed");
                return false;
            }
            Err(err) => {
                // Not dialed: the slot is swept after the dial grace and the lead is due again.
                tracing::error!(lead.id = %lead.id, error.cause_chain = ?err, "could not start the call");
                return false;
            }
        };
        // Call logs, webhooks and the settlement name this call by its sequence number.
        let attempt = began.call_seq;
        lead.call_attempts = began.call_attempts;
        let variables = json!({
            "lead_company_name": lead.company_name,
            "lead_contact_name": lead.contact_name,
            "lead_email": lead.email,
            "lead_phone_number": lead.phone,
            "lead_timezone": lead.timezone,
            "lead_datetime": spoken_local_time(now, &lead.timezone),
        });
        let request = CallRequest {
            phone_e164: &lead.phone,
            customer_name: &lead.contact_name,
            variables,
            lead_id: lead.id,
            attempt,
        };
        match vapi.create_call(&request).await {
            Ok(call) => {
                tracing::info!(lead.id = %lead.id, call.id = %call.id, attempt, "call placed");
                let raw = call.raw.to_string();
                if let Err(err) = self
                    .store
                    .call_accepted(lead.id, attempt, &call.id, &raw, call.status.as_deref())
                    .await
                {
                    tracing::error!(lead.id = %lead.id, error.cause_chain = ?err, "could not record the placed call");
                }
                true
            }
            Err(ProviderError::Unanswered { .. }) => {
                // VAPI may have placed the call: keep the lead in `calling` with its call log,
                // so the call's own webhooks (which carry our metadata) settle it. If none ever
                // come, the stale check hands the lead back.
                tracing::warn!(lead.id = %lead.id, attempt, "VAPI did not answer the call request in time; waiting for its webhooks");
                false
            }
            Err(err) => {
                let settlement = match &err {
                    ProviderError::Rejected { .. } => LeadSettlement {
                        status: "error",
                        reason: Some(format!("the call could not be placed: {err}")),
                        next_call_at: None,
                        refund_attempt: false,
                        dial_failures: 0,
                        do_not_call: false,
                        email: None,
                    },
                    _ => {
                        let retry_after = match &err {
                            ProviderError::Transient { retry_after, .. } => *retry_after,
                            _ => None,
                        };
                        settle::transient_failure(
                            &lead,
                            now,
                            retry_after,
                            self.options.retry_base,
                            &err.to_string(),
                            settings,
                        )
                    }
                };
                tracing::warn!(lead.id = %lead.id, attempt, "call not placed: {}", err.log_summary());
                if let Err(e) = self
                    .store
                    .settle_lead(lead.id, attempt, &settlement, now)
                    .await
                {
                    tracing::error!(lead.id = %lead.id, error.cause_chain = ?e, "could not return the lead after a failed dial");
                }
                false
            }
        }
    }

    /// Settles calls whose reports never came: from VAPI's own record when it has one, or
    /// back to the queue when the call was never placed. No lead stays in `calling` forever.
    async fn reconcile_stale(&self, settings: &Settings) -> anyhow::Result<u64> {
        let now = self.clock.now();
        let limit = (self.options.max_call + self.options.stale_margin).as_millis() as i64;
        let grace = self.options.dial_grace.as_millis() as i64;
        // Claims whose process stopped before starting the call: due again, nothing counted.
        let mut settled = self.store.sweep_slots(now - grace).await?;
        if settled > 0 {
            self.wake.notify_one();
        }
        for stale in self.store.stale_calls(now - limit, now - grace).await? {
            let outcome = match (&stale.vapi_call_id, &self.vapi) {
                (Some(id), Some(vapi)) => match vapi.get_call(id).await {
                    Ok(call) if call.status.as_deref() == Some("ended") => {
                        let report = settle::report_from_call(&call.raw);
                        let finished = settle::FinishedCall {
                            ended_reason: report.ended_reason.clone().unwrap_or_default(),
                            stated: report.outcome.clone(),
                        };
                        if self
                            .finish_call(
                                stale.lead_id,
                                stale.attempt,
                                &finished,
                                settings,
                                Some(&report),
                            )
                            .await?
                        {
                            settled += 1;
                        }
                        None
                    }
                    // Still running (or VAPI is down): wait, unless it is far past any real call.
                    _ if now - stale.last_called_at.unwrap_or(now) < 3 * limit => None,
                    _ => Some(settle::FinishedCall {
                        ended_reason: "lost-track".into(),
                        stated: None,
                    }),
                },
                // Never placed (the process stopped between claim and dial), or VAPI is no
                // longer configured: the lead goes back, due at once, without using up the
                // attempt or counting as a failed dial.
                _ => {
                    if self.hand_back(stale.lead_id, stale.attempt).await? {
                        settled += 1;
                    }
                    None
                }
            };
            if let Some(finished) = outcome
                && self
                    .finish_call(stale.lead_id, stale.attempt, &finished, settings, None)
                    .await?
            {
                settled += 1;
            }
        }
        Ok(settled)
    }

    /// Returns a claimed lead whose call was never placed to the queue, due now.
    async fn hand_back(&self, lead_id: uuid::Uuid, attempt: i64) -> anyhow::Result<bool> {
        let (_, attempts, dial_failures) = self.store.lead_schedule_facts(lead_id).await?;
        let now = self.clock.now();
        let settlement = LeadSettlement {
            // `attempts` still counts the claim that is being given back.
            status: if attempts <= 1 {
                "pending"
            } else {
                "no_answer"
            },
            reason: Some("handed back: the server that claimed it stopped before dialing".into()),
            next_call_at: Some(now),
            refund_attempt: true,
            dial_failures,
            do_not_call: false,
            email: None,
        };
        let done = self
            .store
            .settle_lead(lead_id, attempt, &settlement, now)
            .await?;
        if done {
            self.wake.notify_one();
        }
        Ok(done)
    }

    /// Applies a finished call to its lead (once: later reports change nothing), and
    /// files its end-of-call report when there is one, in the same transaction.
    pub async fn finish_call(
        &self,
        lead_id: uuid::Uuid,
        attempt: i64,
        finished: &settle::FinishedCall,
        settings: &Settings,
        report: Option<&crate::store::call_logs::CallReport>,
    ) -> anyhow::Result<bool> {
        let facts = self.store.settle_facts(lead_id, attempt).await?;
        self.finish_call_with(lead_id, attempt, &facts, finished, settings, report)
            .await
    }

    /// [`Dialer::finish_call`] with the facts already read (a webhook reads them with the
    /// call it locates).
    pub async fn finish_call_with(
        &self,
        lead_id: uuid::Uuid,
        attempt: i64,
        facts: &crate::store::dialer::SettleFacts,
        finished: &settle::FinishedCall,
        settings: &Settings,
        report: Option<&crate::store::call_logs::CallReport>,
    ) -> anyhow::Result<bool> {
        let now = self.clock.now();
        // `attempt` names the call; the lead's attempt count is what max_attempts limits.
        let mut settlement = settle::decide(
            finished,
            facts.booking_uid.is_some(),
            facts.opted_out,
            facts.call_attempts,
            &facts.timezone,
            facts.dial_failures,
            now,
            settings,
        );
        settlement.email = self.follow_up_for(facts, &settlement, settings);
        let settled = self
            .store
            .settle_with_report(lead_id, attempt, &settlement, report, now)
            .await?;
        if settled {
            self.wake.notify_one();
        }
        Ok(settled)
    }
}

/// "Tuesday, December 3, 2024 at 2:21 PM" in the lead's zone, for the assistant to speak.
pub fn spoken_local_time(now: Millis, timezone: &str) -> String {
    let Ok(ts) = Timestamp::from_millisecond(now) else {
        return String::new();
    };
    let Ok(tz) = TimeZone::get(timezone) else {
        return String::new();
    };
    ts.to_zoned(tz)
        .strftime("%A, %B %-d, %Y at %-I:%M %p")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spoken_time_is_local() {
        // 2024-12-03 22:21 UTC is 2:21 PM in Los Angeles.
        let ms = "2024-12-03T22:21:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        assert_eq!(
            spoken_local_time(ms, "America/Los_Angeles"),
            "Tuesday, December 3, 2024 at 2:21 PM"
        );
        assert_eq!(spoken_local_time(ms, "Not/AZone"), "");
    }

    #[test]
    fn open_zones_follow_the_sun() {
        let window = CallWindow::default();
        // Wednesday 14:00 UTC: 09:00 in New York, 06:00 in Los Angeles.
        let ms = "2026-11-25T14:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        let zones = open_zones(&window, ms);
        assert!(zones.iter().any(|z| z == "America/New_York"));
        assert!(!zones.iter().any(|z| z == "America/Los_Angeles"));
        assert!(zones.iter().any(|z| z == "Europe/London"));
    }
}
