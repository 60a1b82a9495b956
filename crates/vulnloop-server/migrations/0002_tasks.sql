-- Task lifecycle: which findings a task acts on, and how agents claim tasks.
--
-- Rows written before this migration, and scan tasks that other server code
-- inserts with only (kind, payload_json = '{}', state = 'queued'), stay
-- valid: every new column may be NULL.

-- Set when an agent claims the task (state queued -> running). One UPDATE
-- writes the same random claim_id on every task it moves, so the claimer
-- reads back exactly the tasks it took, on SQLite and PostgreSQL alike.
ALTER TABLE tasks ADD COLUMN claim_id TEXT;
ALTER TABLE tasks ADD COLUMN claimed_at TEXT;
ALTER TABLE tasks ADD COLUMN finished_at TEXT;
-- The fix task whose success queued this verify task.
ALTER TABLE tasks ADD COLUMN parent_task_id TEXT REFERENCES tasks (id);

CREATE INDEX tasks_by_claim ON tasks (claim_id);

-- The findings a fix or verify task acts on.
CREATE TABLE task_findings (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    host_id TEXT NOT NULL,
    vulnerability_id TEXT NOT NULL,
    package TEXT NOT NULL,
    -- The finding's status before the task changed it, restored when a
    -- dry-run fix changes nothing on the host.
    previous_status TEXT NOT NULL,
    PRIMARY KEY (task_id, vulnerability_id, package),
    FOREIGN KEY (host_id, vulnerability_id, package) REFERENCES findings (host_id, vulnerability_id, package)
);

CREATE INDEX task_findings_by_finding ON task_findings (host_id, vulnerability_id, package);
