-- The lead list chooses between the trigram index and a walk of the sort order from the
-- planner's estimate of how many leads a search matches (lead_search_estimate, 0007). With
-- the default 100-entry sample that estimate is off by a hundredfold for a word in a few
-- percent of the leads; a 10,000-entry sample keeps it within a few percent. ANALYZE reads
-- up to three million rows for it, and autovacuum keeps it up to date afterwards.
ALTER TABLE lead_search ALTER COLUMN doc SET STATISTICS 10000;
ANALYZE lead_search;
