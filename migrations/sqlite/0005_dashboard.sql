-- The dashboard sorts the lead list by any column; each sort key gets an index ending in id,
-- the list's tie-breaker, so a page is an index walk instead of a sort of every lead.
CREATE INDEX idx_leads_company_name ON leads (company_name, id);
CREATE INDEX idx_leads_contact_name ON leads (contact_name, id);
CREATE INDEX idx_leads_email ON leads (email, id);
CREATE INDEX idx_leads_timezone ON leads (timezone, id);
CREATE INDEX idx_leads_call_attempts ON leads (call_attempts, id);
CREATE INDEX idx_leads_next_call_at ON leads (next_call_at, id);
