-- Automated dialing: calling windows, do-not-call list, dial-failure backoff, bookings per call.

-- The calling window in each lead's local time: minutes after midnight, and weekdays.
ALTER TABLE settings ADD COLUMN call_window_start BIGINT NOT NULL DEFAULT 540
    CHECK (call_window_start BETWEEN 0 AND 1439);
ALTER TABLE settings ADD COLUMN call_window_end BIGINT NOT NULL DEFAULT 1200
    CHECK (call_window_end BETWEEN 1 AND 1440);
ALTER TABLE settings ADD COLUMN call_days TEXT NOT NULL DEFAULT 'mon,tue,wed,thu,fri';

-- When the meeting booked during a call starts.
ALTER TABLE leads ADD COLUMN booking_start_at BIGINT;

-- Numbers every call placed to a lead (1, 2, 3, ...). Unlike call_attempts it never goes back
-- (requeue, refunds), so a call log, a webhook and a settlement always name one call.
ALTER TABLE leads ADD COLUMN call_seq BIGINT NOT NULL DEFAULT 0;

-- Consecutive dial attempts VAPI could not take (timeouts, 429, 5xx); reset by a real call.
ALTER TABLE leads ADD COLUMN dial_failures BIGINT NOT NULL DEFAULT 0;

-- The Cal.com booking made during a call, if any: the only way a lead becomes scheduled.
ALTER TABLE call_logs ADD COLUMN booking_uid TEXT;
-- Set when the assistant's mark_do_not_call tool ran during the call.
ALTER TABLE call_logs ADD COLUMN opted_out BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE dnc (
    phone      TEXT   PRIMARY KEY,
    source     TEXT   NOT NULL,
    note       TEXT,
    created_at BIGINT NOT NULL
);

-- The dialer's scan: due leads in schedule order (never-scheduled first).
CREATE INDEX idx_leads_due ON leads (next_call_at ASC NULLS FIRST, id) WHERE status IN ('pending', 'no_answer');
CREATE INDEX idx_leads_calling ON leads (last_called_at) WHERE status = 'calling';
