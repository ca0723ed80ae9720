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

-- Substring search through a trigram index. The searchable text lives in a table of its
-- own, so the status changes of dialing (claims, settlements) never touch the trigram
-- index: a row update that changes an indexed column rewrites every index of its table.
-- The four columns are joined by a unit separator so no match spans two of them.
CREATE TABLE lead_search (
    lead_id UUID PRIMARY KEY REFERENCES leads (id) ON DELETE CASCADE,
    doc     TEXT NOT NULL
);
CREATE FUNCTION lead_search_doc(company TEXT, contact TEXT, email TEXT, phone TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE AS $$ SELECT lower(company || E'\x1f' || contact || E'\x1f' || email || E'\x1f' || phone) $$;
INSERT INTO lead_search (lead_id, doc)
SELECT id, lead_search_doc(company_name, contact_name, email, phone) FROM leads;
-- Imports insert many rows per statement: one statement-level insert keeps up with them.
CREATE FUNCTION lead_search_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_search (lead_id, doc)
    SELECT id, lead_search_doc(company_name, contact_name, email, phone) FROM new_rows;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_search_insert AFTER INSERT ON leads REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_search_inserted();
-- Edits touch one lead at a time, and only statements naming these columns fire this.
CREATE FUNCTION lead_search_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE lead_search SET doc = lead_search_doc(NEW.company_name, NEW.contact_name, NEW.email, NEW.phone)
    WHERE lead_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_search_update AFTER UPDATE OF company_name, contact_name, email, phone ON leads
    FOR EACH ROW EXECUTE FUNCTION lead_search_updated();

-- How many leads the planner expects a search pattern to match, from its statistics: the
-- list reads few matches through the trigram index, and walks its sort order for many.
CREATE FUNCTION lead_search_estimate(pattern TEXT) RETURNS BIGINT LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plan JSON;
BEGIN
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM lead_search WHERE doc LIKE %L', pattern) INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::BIGINT;
END $$;

-- pg_trgm ships with PostgreSQL and is a trusted extension; where it cannot be created,
-- search still works by scanning.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%); lead search will scan the table', SQLERRM;
END $$;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX idx_lead_search_doc ON lead_search USING gin (doc gin_trgm_ops)';
    END IF;
END $$;

-- Never-called leads sort last in both directions. PostgreSQL orders NULL last when
-- ascending, so the ascending sort walks (column, id); a descending one walks these.
CREATE INDEX idx_leads_last_called_at_desc ON leads (last_called_at DESC NULLS LAST, id DESC);
CREATE INDEX idx_leads_next_call_at_desc ON leads (next_call_at DESC NULLS LAST, id DESC);
