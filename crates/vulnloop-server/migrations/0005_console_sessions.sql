-- Sessions of the web console.
--
-- The session cookie reads `<id>_<secret>`. Only the SHA-256 digest of the
-- 256-bit random secret is stored, so a copy of the database does not yield
-- working cookies; a fast digest is enough because the secret is random and
-- not a password. csrf_token is sent in every form of the session and
-- compared on each POST. token_id is the API token the user logged in with:
-- revoking it ends the session too.
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY,
    secret_digest TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    token_id TEXT NOT NULL REFERENCES api_tokens (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
