-- One row per advisory database build that a server re-matched the fleet
-- for. Servers that share the server database insert the build's time
-- stamp here first; only the one whose insert succeeds re-matches.
CREATE TABLE rematch_claims (
    database_built_at TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    claimed_at TEXT NOT NULL
);
