-- Ids of resources we created at providers (VAPI tools and assistant), so publishing again
-- updates them instead of creating duplicates.
CREATE TABLE integration_ids (
    name       TEXT   PRIMARY KEY NOT NULL,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
