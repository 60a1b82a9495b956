-- Agent revocation and the package names that re-matching looks up.
--
-- Since this migration, every secret_hash and agent_secret_hash column holds
-- the SHA-256 digest of the token's secret as lowercase hex, not an Argon2
-- PHC string: the secrets are 256 random bits, so a slow hash adds nothing.

-- Set when an admin revokes the host's agent token; the token then gets 401.
ALTER TABLE hosts ADD COLUMN agent_revoked_at TEXT;

-- SHA-256 of the sorted package names of the host's last matched upload, so
-- an upload with the same packages does not rewrite host_packages.
ALTER TABLE hosts ADD COLUMN package_names_sha256 TEXT;

-- The (ecosystem, kind, name) keys under which the advisory database is
-- looked up for each host's packages: kind is 'source' or 'binary', and
-- ecosystem is the release key such as 'debian:12'. After an advisory
-- database update, only hosts with a key whose records changed are matched
-- again.
CREATE TABLE host_packages (
    host_id TEXT NOT NULL REFERENCES hosts (id),
    ecosystem TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (host_id, ecosystem, kind, name)
);

CREATE INDEX host_packages_by_package ON host_packages (ecosystem, kind, name);
