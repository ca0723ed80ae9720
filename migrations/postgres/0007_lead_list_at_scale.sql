-- The lead list stays fast with millions of leads.

-- Exact counts per status, so the list's total is a lookup rather than a count of every
-- matching lead. Triggers append per-statement deltas instead of updating the counters, so
-- concurrent transactions never queue on one counter row; the dialer folds the deltas into
-- `lead_counts` on every tick, and readers add both.
CREATE TABLE lead_counts (
    status TEXT   PRIMARY KEY,
    n      BIGINT NOT NULL
);
INSERT INTO lead_counts (status, n)
SELECT s.status, (SELECT COUNT(*) FROM leads WHERE leads.status = s.status)
FROM (VALUES ('pending'), ('calling'), ('no_answer'), ('scheduled'), ('not_interested'), ('error')) AS s (status);
CREATE TABLE lead_count_deltas (
    status TEXT   NOT NULL,
    delta  BIGINT NOT NULL
);

CREATE FUNCTION lead_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_count_deltas (status, delta) SELECT status, COUNT(*) FROM new_rows GROUP BY status;
    RETURN NULL;
END $$;
CREATE FUNCTION lead_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_count_deltas (status, delta) SELECT status, -COUNT(*) FROM old_rows GROUP BY status;
    RETURN NULL;
END $$;
CREATE FUNCTION lead_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_count_deltas (status, delta)
    SELECT status, SUM(d) FROM (
        SELECT status, -1 AS d FROM old_rows UNION ALL SELECT status, 1 AS d FROM new_rows
    ) AS moves GROUP BY status HAVING SUM(d) <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_counts_insert AFTER INSERT ON leads REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_counts_inserted();
CREATE TRIGGER lead_counts_delete AFTER DELETE ON leads REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_counts_deleted();
CREATE TRIGGER lead_counts_update AFTER UPDATE ON leads REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_counts_updated();

-- Substring search through a trigram index on the four searchable columns, joined by a
-- unit separator so no match spans two of them. pg_trgm ships with PostgreSQL and is a
-- trusted extension; where it cannot be created, search still works by scanning.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%); lead search will scan the table', SQLERRM;
END $$;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE $sql$CREATE INDEX idx_leads_search ON leads USING gin
            ((lower(company_name || E'\x1f' || contact_name || E'\x1f' || email || E'\x1f' || phone)) gin_trgm_ops)$sql$;
    END IF;
END $$;

-- Never-called leads sort last in both directions. PostgreSQL orders NULL last when
-- ascending, so the ascending sort walks (column, id); a descending one walks these.
CREATE INDEX idx_leads_last_called_at_desc ON leads (last_called_at DESC NULLS LAST, id DESC);
CREATE INDEX idx_leads_next_call_at_desc ON leads (next_call_at DESC NULLS LAST, id DESC);
