-- SHA-256 of what the host's findings were last matched from: the
-- inventory without its collection time, and the advisory database file.
-- An upload with the same digest confirms the findings without matching.
ALTER TABLE hosts ADD COLUMN matched_sha256 TEXT;
