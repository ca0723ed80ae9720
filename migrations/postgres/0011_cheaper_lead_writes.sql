-- Every call changes its lead twice (to `calling`, then settled), and at a thousand calls a
-- second those writes are most of the database's work. These triggers and this index now do
-- work only for the rows that need it, as SQLite's already did. (The status counters keep
-- their statement-level trigger: a row-level one costs less per single-lead update, but a
-- bulk change of 100,000 leads would leave 200,000 delta rows, and a table bloated by them
-- made every read of the counts scan it.)

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
