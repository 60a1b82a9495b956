-- Host groups, ignore rules, settings, background jobs and webhooks.
--
-- Same conventions as 0001: random text ids, RFC 3339 text times in UTC,
-- BIGINT integers, nothing that only one of SQLite and PostgreSQL accepts.

-- A host's group, the scope of ignore rules and scan schedules. NULL means
-- the host is in no group.
ALTER TABLE hosts ADD COLUMN host_group TEXT;
-- Set by the expiry job when the host's last upload is older than the
-- stale-host setting, cleared by the next upload.
ALTER TABLE hosts ADD COLUMN stopped_uploading_at TEXT;

-- The ignore rule that set a finding's status to 'ignored', so that the
-- finding can go back when the rule is deleted or expires.
ALTER TABLE findings ADD COLUMN ignored_by_rule TEXT;

-- Whitelist rules. A rule with neither host_id nor host_group applies to
-- all hosts; package NULL means every package.
CREATE TABLE ignore_rules (
    id TEXT PRIMARY KEY,
    host_id TEXT REFERENCES hosts (id),
    host_group TEXT,
    vulnerability_id TEXT NOT NULL,
    package TEXT,
    reason TEXT NOT NULL,
    expires_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK (host_id IS NULL OR host_group IS NULL)
);

CREATE INDEX ignore_rules_by_vulnerability ON ignore_rules (vulnerability_id);

-- Server settings as JSON values; a missing key means the default.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value_json TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One row per periodic job. A server runs a job only after it moved
-- next_run_at forward in one conditional UPDATE (see jobs.rs).
CREATE TABLE job_schedule (
    job TEXT PRIMARY KEY,
    next_run_at TEXT NOT NULL,
    claimed_by TEXT,
    claimed_at TEXT
);

-- One row per job run.
CREATE TABLE job_runs (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT CHECK (outcome IN ('succeeded', 'failed')),
    detail_json TEXT
);

CREATE INDEX job_runs_by_job ON job_runs (job, started_at);

-- Webhook receivers. The secret is stored in clear because the server
-- signs each delivery with it (HMAC-SHA256).
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Events waiting for delivery, one row per event and webhook. Written in the
-- transaction of the change that caused the event, delivered by the webhook
-- job.
CREATE TABLE webhook_outbox (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    delivered_at TEXT,
    last_error TEXT
);

CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_at);

-- Finds the findings that one transaction changed, by its time stamp, for
-- webhook events.
CREATE INDEX findings_by_status_change ON findings (status_changed_at);
