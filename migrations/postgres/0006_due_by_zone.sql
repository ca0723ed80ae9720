-- Counting the leads due now (the dashboard's "due now") looks only at zones whose calling
-- window is open; this index finds them by zone and answers the count from the index alone.
CREATE INDEX idx_leads_due_zone ON leads (timezone, next_call_at, call_attempts)
    WHERE status IN ('pending', 'no_answer');
