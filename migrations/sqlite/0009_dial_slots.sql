-- A dial slot is held from the moment a lead is claimed until its call is settled: the
-- concurrency cap counts slots, and a lead with a slot is never claimed again. Claiming
-- writes only this narrow table (the serialised step every instance waits on); the lead's
-- own row, with its many list indexes, is updated by the dial that follows. No foreign key:
-- checking it would lock each claimed lead's row; a slot whose lead is gone is swept like
-- any other that never reached `calling`.
CREATE TABLE dial_slots (
    lead_id    BLOB   PRIMARY KEY NOT NULL,
    -- The claim that took it; the dial proceeds only while its claim still holds the slot.
    claim_id   BLOB   NOT NULL,
    claimed_at BIGINT NOT NULL
);

-- Calls already in progress keep their slots across the upgrade.
INSERT INTO dial_slots (lead_id, claim_id, claimed_at)
SELECT id, id, COALESCE(last_called_at, updated_at) FROM leads WHERE status = 'calling';
