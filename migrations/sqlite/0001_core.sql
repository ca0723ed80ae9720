-- Core schema: settings (exactly one row), leads, call logs, users, sessions, API tokens.
-- Instants are epoch milliseconds (BIGINT) on both engines; ids are UUIDs (16-byte BLOBs here).

CREATE TABLE settings (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    automation_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    max_calls_batch    BIGINT  NOT NULL DEFAULT 10 CHECK (max_calls_batch BETWEEN 1 AND 1000),
    retry_interval     BIGINT  NOT NULL DEFAULT 15 CHECK (retry_interval BETWEEN 1 AND 10080),
    max_attempts       BIGINT  NOT NULL DEFAULT 3  CHECK (max_attempts BETWEEN 1 AND 20),
    default_region     TEXT    NOT NULL DEFAULT 'US',
    default_timezone   TEXT    NOT NULL DEFAULT 'America/Los_Angeles',
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);

INSERT INTO settings (id, created_at, updated_at)
VALUES (1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);

CREATE TABLE leads (
    id                   BLOB    PRIMARY KEY NOT NULL,
    company_name         TEXT    NOT NULL,
    contact_name         TEXT    NOT NULL,
    phone                TEXT    NOT NULL,
    email                TEXT    NOT NULL,
    status               TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'calling', 'no_answer', 'scheduled', 'not_interested', 'error')),
    status_reason        TEXT,
    call_attempts        BIGINT  NOT NULL DEFAULT 0 CHECK (call_attempts >= 0),
    timezone             TEXT    NOT NULL,
    last_called_at       BIGINT,
    next_call_at         BIGINT,
    cal_booking_uid      TEXT,
    follow_up_email_sent BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL
);

-- One lead per number: a dialer must never hold two records that ring the same phone.
CREATE UNIQUE INDEX leads_phone_key ON leads (phone);
CREATE UNIQUE INDEX leads_cal_booking_uid_key ON leads (cal_booking_uid);
CREATE INDEX idx_leads_status ON leads (status, id);
CREATE INDEX idx_leads_last_called_at ON leads (last_called_at, id);
CREATE INDEX idx_leads_created_at ON leads (created_at, id);

CREATE TABLE call_logs (
    id                   BLOB   PRIMARY KEY NOT NULL,
    lead_id              BLOB   NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    vapi_call_id         TEXT,
    attempt              BIGINT NOT NULL DEFAULT 1,
    call_status          TEXT,
    initiated_at         BIGINT,
    ended_at             BIGINT,
    ended_reason         TEXT,
    recording_url        TEXT,
    stereo_recording_url TEXT,
    duration_seconds     DOUBLE PRECISION,
    cost                 DOUBLE PRECISION,
    summary              TEXT,
    transcript           TEXT,
    outcome              TEXT,
    initial_response     TEXT,
    report               TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

CREATE UNIQUE INDEX call_logs_vapi_call_id_key ON call_logs (vapi_call_id);
CREATE UNIQUE INDEX call_logs_lead_attempt_key ON call_logs (lead_id, attempt);
CREATE INDEX idx_call_logs_lead_id ON call_logs (lead_id, created_at);
CREATE INDEX idx_call_logs_created_at ON call_logs (created_at, id);

CREATE TABLE users (
    id            BLOB   PRIMARY KEY NOT NULL,
    email         TEXT   NOT NULL,
    password_hash TEXT   NOT NULL,
    role          TEXT   NOT NULL CHECK (role IN ('admin', 'member')),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE UNIQUE INDEX users_email_key ON users (email);

-- Sessions and API tokens store only a SHA-256 of the secret the client holds.
CREATE TABLE sessions (
    token_hash TEXT   PRIMARY KEY NOT NULL,
    user_id    BLOB   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX idx_sessions_user_id ON sessions (user_id);

CREATE TABLE api_tokens (
    id           BLOB   PRIMARY KEY NOT NULL,
    user_id      BLOB   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT   NOT NULL,
    token_hash   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash);

-- updated_at is maintained by the schema too: an UPDATE that does not set it gets "now".
CREATE TRIGGER settings_touch_updated_at AFTER UPDATE ON settings FOR EACH ROW
WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE settings SET updated_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) WHERE id = NEW.id;
END;

CREATE TRIGGER leads_touch_updated_at AFTER UPDATE ON leads FOR EACH ROW
WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE leads SET updated_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) WHERE id = NEW.id;
END;

CREATE TRIGGER call_logs_touch_updated_at AFTER UPDATE ON call_logs FOR EACH ROW
WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE call_logs SET updated_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) WHERE id = NEW.id;
END;

CREATE TRIGGER users_touch_updated_at AFTER UPDATE ON users FOR EACH ROW
WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE users SET updated_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) WHERE id = NEW.id;
END;
