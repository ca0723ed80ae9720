//! Turning a finished call, or a dial VAPI could not take, into the lead's next state.

use std::time::Duration;

use jiff::{Timestamp, tz::TimeZone};
use serde_json::Value;

use super::MAX_DIAL_FAILURES;
use crate::{
    domain::{
        Millis,
        outcome::{CallFacts, Settlement, StatedOutcome, settle},
    },
    store::{
        call_logs::CallReport,
        dialer::{ClaimedLead, LeadSettlement},
        settings::Settings,
    },
};

/// What is known when a call has ended.
#[derive(Debug, Clone)]
pub struct FinishedCall {
    pub ended_reason: String,
    /// The assistant's structured `outcome`, when the analysis produced one.
    pub stated: Option<String>,
}

/// Back-off before retrying a call that failed on the provider's side.
const PROVIDER_RETRY: Duration = Duration::from_secs(5 * 60);

/// The first moment at or after `after` inside the lead's calling window.
fn next_in_window(after: Millis, timezone: &str, settings: &Settings) -> Millis {
    let (Ok(ts), Ok(tz)) = (Timestamp::from_millisecond(after), TimeZone::get(timezone)) else {
        return after;
    };
    settings
        .call_window()
        .next_open(ts, &tz)
        .map_or(after, |t| t.as_millisecond())
}

/// Where the lead goes after the call for `attempt` ended.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    finished: &FinishedCall,
    booked: bool,
    opted_out: bool,
    attempt: i64,
    timezone: &str,
    dial_failures: i64,
    now: Millis,
    settings: &Settings,
) -> LeadSettlement {
    let facts = CallFacts {
        ended_reason: &finished.ended_reason,
        booked,
        opted_out,
        stated: finished.stated.as_deref().map(StatedOutcome::parse),
    };
    let base = LeadSettlement {
        status: "error",
        reason: None,
        next_call_at: None,
        refund_attempt: false,
        dial_failures: 0,
        do_not_call: false,
        email: None,
    };
    match settle(&facts) {
        Settlement::Scheduled => LeadSettlement {
            status: "scheduled",
            ..base
        },
        Settlement::NotInterested { do_not_call } => LeadSettlement {
            status: "not_interested",
            reason: do_not_call.then(|| "asked not to be called again".to_owned()),
            do_not_call,
            ..base
        },
        Settlement::Retry { reason } if attempt >= settings.max_attempts => LeadSettlement {
            status: "no_answer",
            reason: Some(format!("{reason}; no attempts left after {attempt}")),
            ..base
        },
        Settlement::Retry { reason } => LeadSettlement {
            status: "no_answer",
            reason: Some(reason),
            next_call_at: Some(next_in_window(
                now + settings.retry_interval * 60_000,
                timezone,
                settings,
            )),
            ..base
        },
        Settlement::RetryFree { reason } => {
            let failures = dial_failures + 1;
            if failures >= MAX_DIAL_FAILURES {
                return LeadSettlement {
                    reason: Some(format!("{reason}; gave up after {failures} failures")),
                    ..base
                };
            }
            LeadSettlement {
                status: if attempt <= 1 { "pending" } else { "no_answer" },
                reason: Some(reason),
                next_call_at: Some(next_in_window(
                    now + PROVIDER_RETRY.as_millis() as i64,
                    timezone,
                    settings,
                )),
                refund_attempt: true,
                dial_failures: failures,
                ..base
            }
        }
        Settlement::Error { reason } => LeadSettlement {
            reason: Some(reason),
            ..base
        },
    }
}

/// A dial VAPI could not take right now (timeout, 429, 5xx): back to the queue with an
/// exponential back-off from `base` (and never sooner than VAPI's `Retry-After`), the
/// attempt given back; `error` after too many in a row.
pub fn transient_failure(
    lead: &ClaimedLead,
    now: Millis,
    retry_after: Option<Duration>,
    base: Duration,
    message: &str,
    settings: &Settings,
) -> LeadSettlement {
    let failures = lead.dial_failures + 1;
    if failures >= MAX_DIAL_FAILURES {
        return LeadSettlement {
            status: "error",
            reason: Some(format!(
                "the call could not be placed after {failures} tries: {message}"
            )),
            next_call_at: None,
            refund_attempt: true,
            dial_failures: failures,
            do_not_call: false,
            email: None,
        };
    }
    let backoff = (base * (1 << (failures - 1).clamp(0, 10))).max(retry_after.unwrap_or_default());
    LeadSettlement {
        status: if lead.call_attempts <= 1 {
            "pending"
        } else {
            "no_answer"
        },
        reason: Some(format!("will retry: {message}")),
        next_call_at: Some(next_in_window(
            now + backoff.as_millis() as i64,
            &lead.timezone,
            settings,
        )),
        refund_attempt: true,
        dial_failures: failures,
        do_not_call: false,
        email: None,
    }
}

/// A non-empty string field, without NUL characters (PostgreSQL refuses them in text).
fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| s.replace('\0', ""))
}

fn instant(v: Option<&Value>) -> Option<Millis> {
    match v? {
        Value::String(s) => s.parse::<Timestamp>().ok().map(|t| t.as_millisecond()),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Reads an end-of-call report (or a `Call` from `GET /call/{id}`): current fields under
/// `artifact`/`analysis` first, the legacy top-level copies as a fallback.
pub fn report_from_call(raw: &Value) -> CallReport {
    let artifact = raw.get("artifact");
    let analysis = raw.get("analysis");
    let ended_at = instant(raw.get("endedAt"));
    let started_at = instant(raw.get("startedAt"));
    let duration = raw
        .get("durationSeconds")
        .and_then(Value::as_f64)
        .or_else(|| {
            raw.get("durationMs")
                .and_then(Value::as_f64)
                .map(|ms| ms / 1000.0)
        })
        .or_else(|| Some((ended_at? - started_at?) as f64 / 1000.0));
    let structured = analysis
        .and_then(|a| a.get("structuredData"))
        .filter(|d| d.as_object().is_some_and(|o| !o.is_empty()));
    let outcome = structured
        .and_then(|d| d.get("outcome"))
        .and_then(|o| match o {
            Value::String(s) => Some(s.clone()),
            _ => None,
        });
    CallReport {
        ended_at,
        ended_reason: text(raw.get("endedReason")),
        recording_url: text(artifact.and_then(|a| a.get("recordingUrl")))
            .or_else(|| text(raw.get("recordingUrl"))),
        stereo_recording_url: text(artifact.and_then(|a| a.get("stereoRecordingUrl")))
            .or_else(|| text(raw.get("stereoRecordingUrl"))),
        duration_seconds: duration,
        cost: raw.get("cost").and_then(Value::as_f64),
        summary: text(analysis.and_then(|a| a.get("summary"))).or_else(|| text(raw.get("summary"))),
        transcript: text(artifact.and_then(|a| a.get("transcript")))
            .or_else(|| text(raw.get("transcript"))),
        outcome,
        structured_data: structured.map(|d| d.to_string().replace("\\u0000", "")),
        // serde_json writes NUL as the escape \u0000, which PostgreSQL also refuses in text.
        raw: Some(raw.to_string().replace("\\u0000", "")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings() -> Settings {
        Settings {
            automation_enabled: true,
            max_calls_batch: 10,
            retry_interval: 15,
            max_attempts: 3,
            default_region: "US".into(),
            default_timezone: "America/New_York".into(),
            call_window_start: 540,
            call_window_end: 1200,
            call_days: "mon,tue,wed,thu,fri,sat,sun".into(),
            email_confirmation_subject: None,
            email_confirmation_body: None,
            email_thank_you_subject: None,
            email_thank_you_body: None,
            email_final_subject: None,
            email_final_body: None,
            updated_at: 0,
        }
    }

    fn ms(s: &str) -> Millis {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn finished(reason: &str) -> FinishedCall {
        FinishedCall {
            ended_reason: reason.into(),
            stated: None,
        }
    }

    #[test]
    fn unanswered_calls_retry_inside_the_window_until_attempts_run_out() {
        let now = ms("2026-11-25T15:00:00Z"); // 10:00 in New York
        let s = decide(
            &finished("customer-did-not-answer"),
            false,
            false,
            1,
            "America/New_York",
            0,
            now,
            &settings(),
        );
        assert_eq!(s.status, "no_answer");
        assert_eq!(s.next_call_at, Some(now + 15 * 60_000));
        // At 19:50 local the retry falls after 20:00: next morning at 09:00.
        let late = ms("2026-11-26T00:50:00Z");
        let s = decide(
            &finished("customer-busy"),
            false,
            false,
            2,
            "America/New_York",
            0,
            late,
            &settings(),
        );
        assert_eq!(s.next_call_at, Some(ms("2026-11-26T14:00:00Z")));
        let s = decide(
            &finished("voicemail"),
            false,
            false,
            3,
            "America/New_York",
            0,
            now,
            &settings(),
        );
        assert_eq!(
            (s.status, s.next_call_at),
            ("no_answer", None),
            "no attempts left"
        );
    }

    #[test]
    fn provider_faults_give_the_attempt_back() {
        let now = ms("2026-11-25T15:00:00Z");
        let s = decide(
            &finished("call.in-progress.error-vapifault-transport-never-connected"),
            false,
            false,
            1,
            "America/New_York",
            0,
            now,
            &settings(),
        );
        assert_eq!(s.status, "pending");
        assert!(s.refund_attempt);
        assert_eq!(s.dial_failures, 1);
        let s = decide(
            &finished("worker-shutdown"),
            false,
            false,
            2,
            "America/New_York",
            4,
            now,
            &settings(),
        );
        assert_eq!(s.status, "error", "too many in a row");
    }

    #[test]
    fn reports_read_current_and_legacy_fields() {
        let current = json!({
            "endedReason": "customer-ended-call", "startedAt": "2026-11-25T15:00:00Z", "endedAt": "2026-11-25T15:02:30Z",
            "cost": 0.42, "artifact": {"recordingUrl": "https://r/1.wav", "stereoRecordingUrl": "https://r/2.wav", "transcript": "AI: hi"},
            "analysis": {"summary": "Booked.", "structuredData": {"outcome": "scheduled"}}
        });
        let r = report_from_call(&current);
        assert_eq!(r.duration_seconds, Some(150.0));
        assert_eq!(r.recording_url.as_deref(), Some("https://r/1.wav"));
        assert_eq!(r.outcome.as_deref(), Some("scheduled"));
        assert_eq!(r.summary.as_deref(), Some("Booked."));
        let legacy = json!({"endedReason": "voicemail", "recordingUrl": "https://r/3.wav", "summary": "VM", "durationSeconds": 12.5});
        let r = report_from_call(&legacy);
        assert_eq!(r.recording_url.as_deref(), Some("https://r/3.wav"));
        assert_eq!(r.duration_seconds, Some(12.5));
        assert_eq!(r.ended_at, None);
    }
}
