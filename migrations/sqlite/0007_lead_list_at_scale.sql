-- The lead list stays fast with millions of leads.

-- Exact counts per status, kept by triggers, so the list's total is a lookup rather than a
-- count of every matching lead. `lead_count_deltas` exists for PostgreSQL's sake (its
-- triggers append there to avoid contention) and stays empty here: SQLite has one writer.
CREATE TABLE lead_counts (
    status TEXT   PRIMARY KEY NOT NULL,
    n      BIGINT NOT NULL
);
INSERT INTO lead_counts (status, n)
SELECT s.status, (SELECT COUNT(*) FROM leads WHERE leads.status = s.status)
FROM (SELECT 'pending' AS status UNION ALL SELECT 'calling' UNION ALL SELECT 'no_answer'
      UNION ALL SELECT 'scheduled' UNION ALL SELECT 'not_interested' UNION ALL SELECT 'error') AS s;
CREATE TABLE lead_count_deltas (
    status TEXT   NOT NULL,
    delta  BIGINT NOT NULL
);

CREATE TRIGGER lead_counts_insert AFTER INSERT ON leads BEGIN
    UPDATE lead_counts SET n = n + 1 WHERE status = NEW.status;
END;
CREATE TRIGGER lead_counts_delete AFTER DELETE ON leads BEGIN
    UPDATE lead_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER lead_counts_update AFTER UPDATE OF status ON leads WHEN NEW.status <> OLD.status BEGIN
    UPDATE lead_counts SET n = n - 1 WHERE status = OLD.status;
    UPDATE lead_counts SET n = n + 1 WHERE status = NEW.status;
END;

-- Substring search through a trigram index (case folded). The full-text table is keyed by
-- `lead_search_ids.rid`, an INTEGER PRIMARY KEY, because a plain table's implicit rowid may
-- change under VACUUM and the index would then point at other leads. Only options SQLite
-- 3.34 knows are used, so the sqlite3 shell of older systems can still write to the file.
CREATE TABLE lead_search_ids (
    rid     INTEGER PRIMARY KEY,
    lead_id BLOB    NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE lead_search USING fts5(
    company_name, contact_name, email, phone, tokenize = 'trigram'
);
INSERT INTO lead_search_ids (lead_id) SELECT id FROM leads ORDER BY created_at, id;
INSERT INTO lead_search (rowid, company_name, contact_name, email, phone)
SELECT s.rid, l.company_name, l.contact_name, l.email, l.phone
FROM leads l JOIN lead_search_ids s ON s.lead_id = l.id;

CREATE TRIGGER lead_search_insert AFTER INSERT ON leads BEGIN
    INSERT INTO lead_search_ids (lead_id) VALUES (NEW.id);
    INSERT INTO lead_search (rowid, company_name, contact_name, email, phone)
    VALUES (last_insert_rowid(), NEW.company_name, NEW.contact_name, NEW.email, NEW.phone);
END;
CREATE TRIGGER lead_search_delete AFTER DELETE ON leads BEGIN
    DELETE FROM lead_search WHERE rowid = (SELECT rid FROM lead_search_ids WHERE lead_id = OLD.id);
    DELETE FROM lead_search_ids WHERE lead_id = OLD.id;
END;
CREATE TRIGGER lead_search_update AFTER UPDATE OF company_name, contact_name, email, phone ON leads BEGIN
    DELETE FROM lead_search WHERE rowid = (SELECT rid FROM lead_search_ids WHERE lead_id = OLD.id);
    INSERT INTO lead_search (rowid, company_name, contact_name, email, phone)
    SELECT rid, NEW.company_name, NEW.contact_name, NEW.email, NEW.phone
    FROM lead_search_ids WHERE lead_id = NEW.id;
END;

-- Never-called leads sort last in both directions. SQLite orders NULL first, so an
-- ascending sort walks this index; a descending one walks (column, id) backwards.
CREATE INDEX idx_leads_last_called_at_nulls_last ON leads ((last_called_at IS NULL), last_called_at, id);
CREATE INDEX idx_leads_next_call_at_nulls_last ON leads ((next_call_at IS NULL), next_call_at, id);
