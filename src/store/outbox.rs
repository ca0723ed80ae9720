//! The email outbox: rows queued in the same transaction that settles a lead, claimed with a
//! lease (so a crashed sender's emails come back), sent with their id as idempotency key.

use sqlx::FromRow;
use uuid::Uuid;

use super::{Engine, Store, StoreResult, read, write};
use crate::domain::Millis;

/// Sends that may fail before an email is given up on (with back-off capped at an hour,
/// about two and a half days of trying).
pub const MAX_EMAIL_ATTEMPTS: i64 = 60;

/// An email taken from the outbox for sending.
#[derive(Debug, Clone, FromRow)]
pub struct OutboxEmail {
    pub id: Uuid,
    pub lead_id: Uuid,
    pub kind: String,
    pub to_email: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
    /// This sender's lease; results are recorded only while it still holds it.
    pub lease_until: i64,
}

/// A queued email's history, for a lead's page.
#[derive(Debug, Clone, serde::Serialize, FromRow, utoipa::ToSchema)]
pub struct EmailRecord {
    pub id: Uuid,
    pub kind: String,
    /// pending, sending, sent or failed.
    pub status: String,
    pub subject: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    #[serde(with = "crate::domain::serde_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Millis>,
    #[serde(with = "crate::domain::serde_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

impl Store {
    /// Takes up to `limit` emails that are due (or whose sender's lease ran out).
    pub async fn claim_emails(
        &self,
        now: Millis,
        limit: i64,
        lease_ms: i64,
    ) -> StoreResult<Vec<OutboxEmail>> {
        let lock = if self.engine() == Engine::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE email_outbox SET status = 'sending', lease_until = $1, attempts = attempts + 1, updated_at = $2 \
             WHERE id IN (SELECT id FROM email_outbox WHERE (status = 'pending' AND next_attempt_at <= $2) \
               OR (status = 'sending' AND lease_until < $2) ORDER BY next_attempt_at, id LIMIT $3{lock}) \
             RETURNING id, lead_id, kind, to_email, subject, body, attempts, lease_until"
        );
        Ok(write!(self, pool => sqlx::query_as::<_, OutboxEmail>(&sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?))
    }

    pub async fn email_sent(
        &self,
        id: Uuid,
        lead_id: Uuid,
        resend_id: &str,
        now: Millis,
    ) -> StoreResult<()> {
        write!(self, notify Calls; pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE email_outbox SET status = 'sent', resend_id = $1, sent_at = $2, lease_until = NULL, \
                         last_error = NULL, updated_at = $2 WHERE id = $3")
                .bind(resend_id).bind(now).bind(id).execute(&mut *tx).await?;
            sqlx::query("UPDATE leads SET follow_up_email_sent = TRUE, updated_at = $1 WHERE id = $2")
                .bind(now).bind(lead_id).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Puts an email back to be tried again at `next_attempt_at`, or gives up on it, if the
    /// caller still holds the lease it claimed the email with (a sender that overran its
    /// lease must not undo what another sender recorded since).
    pub async fn email_not_sent(
        &self,
        id: Uuid,
        lease_until: Millis,
        next_attempt_at: Option<Millis>,
        error: &str,
        now: Millis,
    ) -> StoreResult<()> {
        let (status, next) = match next_attempt_at {
            Some(at) => ("pending", at),
            None => ("failed", now),
        };
        write!(self, notify Calls; pool => sqlx::query(
            "UPDATE email_outbox SET status = $1, next_attempt_at = $2, last_error = $3, lease_until = NULL, updated_at = $4 \
             WHERE id = $5 AND status = 'sending' AND lease_until = $6",
        )
        .bind(status)
        .bind(next)
        .bind(error)
        .bind(now)
        .bind(id)
        .bind(lease_until)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// The emails queued for a lead, newest first.
    pub async fn lead_emails(&self, lead_id: Uuid) -> StoreResult<Vec<EmailRecord>> {
        Ok(read!(self, pool => sqlx::query_as::<_, EmailRecord>(
            "SELECT id, kind, status, subject, attempts, last_error, sent_at, created_at FROM email_outbox \
             WHERE lead_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(lead_id)
        .fetch_all(pool)
        .await?))
    }
}
