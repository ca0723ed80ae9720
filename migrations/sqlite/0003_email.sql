-- Follow-up emails: editable templates and a persisted outbox, so an email survives a Resend
-- outage or a restart, and goes out at most once per lead, kind and requeue cycle.

ALTER TABLE settings ADD COLUMN email_confirmation_subject TEXT;
ALTER TABLE settings ADD COLUMN email_confirmation_body TEXT;
ALTER TABLE settings ADD COLUMN email_thank_you_subject TEXT;
ALTER TABLE settings ADD COLUMN email_thank_you_body TEXT;
ALTER TABLE settings ADD COLUMN email_final_subject TEXT;
ALTER TABLE settings ADD COLUMN email_final_body TEXT;

-- Bumped by a requeue, so a lead that starts over can be emailed again.
ALTER TABLE leads ADD COLUMN email_cycle BIGINT NOT NULL DEFAULT 0;

CREATE TABLE email_outbox (
    id              BLOB PRIMARY KEY NOT NULL,
    lead_id         BLOB   NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    kind            TEXT   NOT NULL CHECK (kind IN ('booking_confirmation', 'thank_you', 'final_follow_up')),
    cycle           BIGINT NOT NULL,
    to_email        TEXT   NOT NULL,
    subject         TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    status          TEXT   NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    resend_id       TEXT,
    sent_at         BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE UNIQUE INDEX email_outbox_once_key ON email_outbox (lead_id, kind, cycle);
CREATE INDEX idx_email_outbox_due ON email_outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
