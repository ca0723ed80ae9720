//! What a finished call means for its lead: VAPI's `endedReason` sorted into families, then
//! combined with the booking record and the assistant's structured outcome.
//!
//! A lead becomes `scheduled` only when a booking was actually made during the call; the
//! assistant's own opinion cannot schedule anyone. Unreached calls are retried, opt-outs go
//! on the do-not-call list, configuration and billing errors stop the lead for a person to
//! look at, and faults on VAPI's or its providers' side retry without using up an attempt.

/// The broad meaning of an `endedReason` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedFamily {
    /// Rang out, busy, or failed to connect to the callee.
    NotReached,
    /// An answering machine or voicemail took the call.
    Voicemail,
    /// The number cannot be called (misdialed, rejected as invalid).
    BadNumber,
    /// Someone answered and the call ended normally.
    Connected,
    /// We (or an operator) cancelled the call.
    Cancelled,
    /// VAPI's or a provider's infrastructure failed; worth retrying later.
    ProviderFault,
    /// Our configuration, credentials or billing are wrong; retrying will not help.
    ConfigError,
    /// A value we do not know; stored verbatim.
    Unknown,
}

/// The `endedReason` values of calls someone answered and that ended normally; the call
/// list's connect rate counts these.
pub const CONNECTED_REASONS: &[&str] = &[
    "customer-ended-call",
    "assistant-ended-call",
    "assistant-said-end-call-phrase",
    "assistant-ended-call-after-message-spoken",
    "assistant-ended-call-with-hangup-task",
    "assistant-forwarded-call",
    "customer-ended-call-before-warm-transfer",
    "customer-ended-call-after-warm-transfer-attempt",
    "customer-ended-call-during-transfer",
    "exceeded-max-duration",
    "silence-timed-out",
    "vonage-completed",
    "call.in-progress.twilio-completed-call",
    "call.in-progress.sip-completed-call",
    "call.ending.hook-executed-say",
    "call.ending.hook-executed-transfer",
    "hangup",
];

/// An `endedReason` in words for people reading the call history.
pub fn describe_ended_reason(reason: &str) -> String {
    let words = match reason.trim() {
        "customer-ended-call" => "The contact hung up",
        "assistant-ended-call"
        | "assistant-said-end-call-phrase"
        | "assistant-ended-call-after-message-spoken"
        | "assistant-ended-call-with-hangup-task" => "The assistant ended the call",
        "assistant-forwarded-call" => "The assistant forwarded the call",
        "customer-did-not-answer" => "No answer",
        "customer-busy" => "The line was busy",
        "voicemail" => "Reached voicemail",
        "silence-timed-out" => "Ended after a long silence",
        "exceeded-max-duration" => "Reached the longest allowed call",
        "manually-canceled" => "Cancelled by an operator",
        "twilio-reported-customer-misdialed" => "The number could not be dialed",
        other => {
            return match classify_ended_reason(other) {
                EndedFamily::NotReached => "Could not reach the contact",
                EndedFamily::Voicemail => "Reached voicemail",
                EndedFamily::BadNumber => "The number could not be dialed",
                EndedFamily::Connected => "The call ended normally",
                EndedFamily::Cancelled => "The call was cancelled",
                EndedFamily::ProviderFault => "A provider fault ended the call (it is retried)",
                EndedFamily::ConfigError => "A configuration or billing problem stopped the call",
                EndedFamily::Unknown => "Ended",
            }
            .to_owned()
                + &format!(" ({other})");
        }
    };
    format!("{words} ({reason})")
}

/// Sorts an `endedReason` (about 600 known values, more added over time).
pub fn classify_ended_reason(reason: &str) -> EndedFamily {
    use EndedFamily::*;
    let r = reason.trim();
    match r {
        "customer-did-not-answer"
        | "customer-busy"
        | "twilio-failed-to-connect-call"
        | "vonage-failed-to-connect-call"
        | "vonage-rejected"
        | "call.in-progress.error-sip-outbound-call-failed-to-connect"
        | "call.forwarding.operator-busy"
        | "call.forwarding.no-answer" => return NotReached,
        "voicemail" => return Voicemail,
        "twilio-reported-customer-misdialed" => return BadNumber,
        "manually-canceled" | "scheduled-call-deleted" | "call-deleted" => return Cancelled,
        "worker-shutdown"
        | "phone-call-provider-closed-websocket"
        | "call.start.error-subscription-concurrency-limit-reached"
        | "call.start.error-vapi-number-outbound-daily-limit"
        | "unknown-error"
        | "db-error"
        | "no-server-available" => {
            return ProviderFault;
        }
        r if CONNECTED_REASONS.contains(&r) => return Connected,
        _ => {}
    }
    // SIP answers that mean "rang, nobody took it".
    if r.contains("outbound-sip-408")
        || r.contains("outbound-sip-480")
        || r.contains("outbound-sip-486")
    {
        return NotReached;
    }
    if r.contains("outbound-sip-404") || r.contains("outbound-sip-484") {
        return BadNumber;
    }
    // Credentials, permissions and quota are ours to fix, whichever provider reports them.
    if r.contains("-401-")
        || r.contains("-403-")
        || r.contains("429-exceeded-quota")
        || r.contains("unauthorized")
        || r.contains("invalid-api-key")
        || r.contains("quota")
        || r.contains("out-of-credits")
        || r.contains("requested-payment")
        || r.contains("insufficient-credits")
        || r.contains("subscription-frozen")
        || r.contains("wallet-does-not-exist")
        || r.contains("fraud-check")
    {
        return ConfigError;
    }
    if r.contains("vapifault")
        || r.contains("providerfault")
        || r.contains("-500-")
        || r.contains("-502-")
        || r.contains("-503-")
        || r.contains("-504-")
        || r.contains("server-error")
        || r.contains("overloaded")
        || r.contains("timed-out")
        || r.contains("econnreset")
        || r.contains("socket-hang-up")
    {
        return ProviderFault;
    }
    if r.starts_with("call.start.error")
        || r.starts_with("call-start-error")
        || r.starts_with("assistant-request")
        || r.starts_with("assistant-not")
        || r.starts_with("pipeline-error")
        || r.starts_with("call.start.assistant")
        || r == "assistant-error"
        || r == "license-check-failed"
        || r == "pipeline-no-available-model"
    {
        return ConfigError;
    }
    if r.starts_with("call.in-progress.error") || r.starts_with("sip-gateway") {
        return ProviderFault;
    }
    Unknown
}

/// What the assistant's structured analysis said about the call, when it said anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatedOutcome {
    Scheduled,
    NotInterested,
    /// The person asked not to be called again.
    DoNotCall,
    CallBack,
    Other,
}

impl StatedOutcome {
    pub fn parse(s: &str) -> StatedOutcome {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace([' ', '-'], "_")
            .as_str()
        {
            "scheduled" | "booked" => StatedOutcome::Scheduled,
            "not_interested" => StatedOutcome::NotInterested,
            "do_not_call" | "opt_out" | "opted_out" | "dnc" => StatedOutcome::DoNotCall,
            "callback" | "call_back" | "no_answer" => StatedOutcome::CallBack,
            _ => StatedOutcome::Other,
        }
    }
}

/// Everything known about a finished call.
#[derive(Debug, Clone, Copy)]
pub struct CallFacts<'a> {
    pub ended_reason: &'a str,
    /// A Cal.com booking was made through our tool during this call.
    pub booked: bool,
    /// The `mark_do_not_call` tool was used during this call.
    pub opted_out: bool,
    pub stated: Option<StatedOutcome>,
}

/// Where the lead goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    Scheduled,
    NotInterested {
        do_not_call: bool,
    },
    /// Try again later (if attempts remain); the attempt counts.
    Retry {
        reason: String,
    },
    /// Try again later without using up the attempt (the fault was not the callee's).
    RetryFree {
        reason: String,
    },
    Error {
        reason: String,
    },
}

/// Decides a finished call's effect on its lead.
pub fn settle(facts: &CallFacts<'_>) -> Settlement {
    if facts.booked {
        return Settlement::Scheduled;
    }
    if facts.opted_out || facts.stated == Some(StatedOutcome::DoNotCall) {
        return Settlement::NotInterested { do_not_call: true };
    }
    let reason = facts.ended_reason;
    match classify_ended_reason(reason) {
        EndedFamily::NotReached => Settlement::Retry {
            reason: format!("not reached ({reason})"),
        },
        EndedFamily::Voicemail => Settlement::Retry {
            reason: "voicemail".into(),
        },
        EndedFamily::BadNumber => Settlement::Error {
            reason: format!("the number could not be dialed ({reason})"),
        },
        EndedFamily::ConfigError => Settlement::Error {
            reason: format!("VAPI configuration or billing problem ({reason})"),
        },
        EndedFamily::ProviderFault | EndedFamily::Cancelled => Settlement::RetryFree {
            reason: format!("call failed on the provider's side ({reason})"),
        },
        EndedFamily::Connected | EndedFamily::Unknown => match facts.stated {
            Some(StatedOutcome::NotInterested) => Settlement::NotInterested { do_not_call: false },
            // Talked, but no booking was made and no refusal given: call again later.
            _ => Settlement::Retry {
                reason: "talked without a booking".into(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EndedFamily::*;

    #[test]
    fn families_of_common_reasons() {
        for (reason, family) in [
            ("customer-did-not-answer", NotReached),
            ("customer-busy", NotReached),
            (
                "call.in-progress.error-providerfault-outbound-sip-480-temporarily-unavailable",
                NotReached,
            ),
            ("voicemail", Voicemail),
            ("twilio-reported-customer-misdialed", BadNumber),
            ("customer-ended-call", Connected),
            ("assistant-ended-call", Connected),
            ("silence-timed-out", Connected),
            ("manually-canceled", Cancelled),
            (
                "call.in-progress.error-vapifault-openai-voice-failed",
                ProviderFault,
            ),
            (
                "call.start.error-subscription-concurrency-limit-reached",
                ProviderFault,
            ),
            ("worker-shutdown", ProviderFault),
            ("pipeline-error-openai-401-unauthorized", ConfigError),
            ("pipeline-error-eleven-labs-quota-exceeded", ConfigError),
            (
                "call.start.error-subscription-insufficient-credits",
                ConfigError,
            ),
            ("call.start.error-get-assistant", ConfigError),
            ("assistant-not-found", ConfigError),
            ("pipeline-error-openai-500-server-error", ProviderFault),
            ("something-new-next-year", Unknown),
        ] {
            assert_eq!(classify_ended_reason(reason), family, "{reason}");
        }
    }

    fn facts(reason: &str) -> CallFacts<'_> {
        CallFacts {
            ended_reason: reason,
            booked: false,
            opted_out: false,
            stated: None,
        }
    }

    #[test]
    fn only_a_real_booking_schedules() {
        let mut f = facts("customer-ended-call");
        f.stated = Some(StatedOutcome::Scheduled);
        assert!(
            matches!(settle(&f), Settlement::Retry { .. }),
            "the assistant's word is not a booking"
        );
        f.booked = true;
        assert_eq!(settle(&f), Settlement::Scheduled);
        // Even a voicemail-classified ending keeps a booking made earlier in the call.
        let mut f = facts("voicemail");
        f.booked = true;
        assert_eq!(settle(&f), Settlement::Scheduled);
    }

    #[test]
    fn opt_outs_win_over_everything_but_bookings() {
        let mut f = facts("customer-ended-call");
        f.opted_out = true;
        assert_eq!(settle(&f), Settlement::NotInterested { do_not_call: true });
        let mut f = facts("customer-ended-call");
        f.stated = Some(StatedOutcome::parse("do-not-call"));
        assert_eq!(settle(&f), Settlement::NotInterested { do_not_call: true });
    }

    #[test]
    fn endings_map_to_lead_outcomes() {
        assert!(matches!(
            settle(&facts("customer-busy")),
            Settlement::Retry { .. }
        ));
        assert!(matches!(
            settle(&facts("voicemail")),
            Settlement::Retry { .. }
        ));
        assert!(matches!(
            settle(&facts("twilio-reported-customer-misdialed")),
            Settlement::Error { .. }
        ));
        assert!(matches!(
            settle(&facts("pipeline-error-openai-401-unauthorized")),
            Settlement::Error { .. }
        ));
        assert!(matches!(
            settle(&facts(
                "call.in-progress.error-vapifault-transport-never-connected"
            )),
            Settlement::RetryFree { .. }
        ));
        let mut f = facts("customer-ended-call");
        f.stated = Some(StatedOutcome::parse("Not Interested"));
        assert_eq!(settle(&f), Settlement::NotInterested { do_not_call: false });
    }
}
