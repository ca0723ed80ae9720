-- PostgreSQL's twin raises the sample behind its search estimates. SQLite counts a
-- search's matches through the FTS5 index instead (lead_list.rs), so there is nothing to
-- change here; the statement keeps the migration non-empty.
SELECT 1;
