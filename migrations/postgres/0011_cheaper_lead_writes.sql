-- Every call changes its lead twice (to `calling`, then settled), and at a thousand calls a
-- second those writes are most of the database's work. These triggers and this index now do
-- work only for the rows that need it, as SQLite's already did.

-- The counters move only when a status changes, one row at a time: a statement-level
-- trigger built two transition tables and grouped them for every single-lead update.
CREATE FUNCTION lead_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_count_deltas (status, delta) VALUES (OLD.status, -1), (NEW.status, 1);
    RETURN NULL;
END $$;
DROP TRIGGER lead_counts_update ON leads;
DROP FUNCTION lead_counts_updated();
CREATE TRIGGER lead_counts_update AFTER UPDATE OF status ON leads FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION lead_counts_moved();

-- updated_at is stamped only when the statement did not set it itself.
DROP TRIGGER leads_touch_updated_at ON leads;
CREATE TRIGGER leads_touch_updated_at BEFORE UPDATE ON leads FOR EACH ROW
    WHEN (NEW.updated_at = OLD.updated_at) EXECUTE FUNCTION touch_updated_at();
DROP TRIGGER call_logs_touch_updated_at ON call_logs;
CREATE TRIGGER call_logs_touch_updated_at BEFORE UPDATE ON call_logs FOR EACH ROW
    WHEN (NEW.updated_at = OLD.updated_at) EXECUTE FUNCTION touch_updated_at();

-- Most leads have no booking: a partial index takes no entry for them, so a lead's update
-- writes one index entry fewer. Same name, so a clash still reads as one on the booking.
DROP INDEX leads_cal_booking_uid_key;
CREATE UNIQUE INDEX leads_cal_booking_uid_key ON leads (cal_booking_uid) WHERE cal_booking_uid IS NOT NULL;
