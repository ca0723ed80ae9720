-- The assistant's structured analysis of a call (JSON object), shown on the lead's page.
ALTER TABLE call_logs ADD COLUMN structured_data TEXT;
