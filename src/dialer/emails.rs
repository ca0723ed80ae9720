//! The dialer's follow-up emails: choosing and rendering one when a call settles, and
//! sending what the outbox holds.

use std::time::Duration;

use jiff::{Timestamp, tz::TimeZone};

use super::{Dialer, tools};
use crate::{
    email::{self, EmailKind},
    integrations::{ProviderError, resend::Email as ResendEmail},
    store::{
        dialer::{LeadSettlement, QueuedEmail, SettleFacts},
        outbox::MAX_EMAIL_ATTEMPTS,
        settings::Settings,
    },
};

impl Dialer {
    /// The follow-up email an outcome calls for, rendered for the lead.
    pub(super) fn follow_up_for(
        &self,
        lead: &SettleFacts,
        s: &LeadSettlement,
        settings: &Settings,
    ) -> Option<QueuedEmail> {
        let kind = match (s.status, s.next_call_at) {
            ("scheduled", _) => EmailKind::BookingConfirmation,
            ("not_interested", _) => EmailKind::ThankYou,
            ("no_answer", None) => EmailKind::FinalFollowUp,
            _ => return None,
        };
        let meeting_time = match (lead.booking_start_at, TimeZone::get(&lead.timezone)) {
            (Some(ms), Ok(tz)) => Timestamp::from_millisecond(ms)
                .map(|ts| tools::spoken(ts, &tz))
                .unwrap_or_default(),
            _ => String::new(),
        };
        let values = email::Values {
            contact_name: &lead.contact_name,
            company_name: &lead.company_name,
            meeting_time: &meeting_time,
            booking_link: &self.options.booking_link,
        };
        let (subject, body) = email::render(kind, &settings.email_template(kind), &values);
        Some(QueuedEmail {
            kind: kind.as_str(),
            to: lead.email.clone(),
            subject,
            body,
        })
    }

    /// Sends due emails from the outbox; returns (sent, not sent).
    pub(super) async fn send_emails(&self) -> anyhow::Result<(u64, u64)> {
        let Some(resend) = &self.resend else {
            return Ok((0, 0));
        };
        let now = self.clock.now();
        let (mut sent, mut failed) = (0, 0);
        for email in self.store.claim_emails(now, 50, 5 * 60_000).await? {
            let key = email.id.to_string();
            let request = ResendEmail {
                to: &email.to_email,
                subject: &email.subject,
                text: &email.body,
                idempotency_key: &key,
                kind: &email.kind,
            };
            match resend.send(&request).await {
                Ok(id) => {
                    self.store
                        .email_sent(email.id, email.lead_id, &id, self.clock.now())
                        .await?;
                    sent += 1;
                }
                Err(err) => {
                    failed += 1;
                    // Retrying is safe (same Idempotency-Key) unless Resend refused the email
                    // itself; a refused key or sender (401/403) is a setting an admin can fix.
                    let retryable = match &err {
                        ProviderError::Rejected { status, .. } => matches!(status, 401 | 403),
                        _ => true,
                    };
                    let retry_after = match &err {
                        ProviderError::Transient { retry_after, .. } => *retry_after,
                        _ => None,
                    };
                    let next = match &err {
                        _ if retryable && email.attempts < MAX_EMAIL_ATTEMPTS => {
                            let backoff = Duration::from_secs(
                                (60u64 << (email.attempts - 1).clamp(0, 6)).min(3600),
                            );
                            Some(
                                now + backoff.max(retry_after.unwrap_or_default()).as_millis()
                                    as i64,
                            )
                        }
                        _ => None,
                    };
                    tracing::warn!(email.id = %email.id, email.kind = %email.kind, "email not sent: {}", err.log_summary());
                    self.store
                        .email_not_sent(
                            email.id,
                            email.lease_until,
                            next,
                            &err.to_string(),
                            self.clock.now(),
                        )
                        .await?;
                }
            }
        }
        Ok((sent, failed))
    }
}
