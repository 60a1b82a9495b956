//! The on-disk schema. Bump [`SCHEMA_VERSION`] on any change; readers reject
//! other versions and ask for `vulnloop db update`.

/// Version of the database layout written by this build.
pub const SCHEMA_VERSION: u32 = 5;

/// Statements that create an empty database, apart from the Windows
/// table, which `windows.rs` creates.
pub const CREATE: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- One row per feed name; `files` lists the files or URLs it was read from.
CREATE TABLE sources (
    name        TEXT PRIMARY KEY,
    origin      TEXT NOT NULL,
    files       TEXT NOT NULL,
    snapshot    TEXT,
    imported_at TEXT NOT NULL,
    records     INTEGER NOT NULL
);
-- Which feeds speak about which release, and how fresh each is there.
CREATE TABLE coverage (
    source    TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    snapshot  TEXT,
    records   INTEGER NOT NULL,
    PRIMARY KEY (source, ecosystem)
);
-- `file` is the base name of the feed file the record came from, so that a
-- later update whose copy of that file fails can carry the records over.
CREATE TABLE advisories (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    file         TEXT NOT NULL,
    advisory_id  TEXT NOT NULL,
    cves         TEXT NOT NULL,
    title        TEXT,
    severity     TEXT NOT NULL,
    severity_raw TEXT,
    published    TEXT,
    modified     TEXT,
    url          TEXT
);
CREATE TABLE affected (
    advisory  INTEGER NOT NULL REFERENCES advisories (id),
    ecosystem TEXT NOT NULL,
    kind      TEXT NOT NULL,
    package   TEXT NOT NULL,
    status    TEXT NOT NULL,
    fixed     TEXT,
    channel   TEXT,
    note      TEXT,
    pattern   INTEGER NOT NULL
);
-- Facts keyed by CVE, merged over the files that state them. `files` is a
-- JSON array of base names; `record` is a CveRecord as JSON, zstd-compressed
-- with the dictionary in `cve_dictionary`.
CREATE TABLE cve (
    id     TEXT PRIMARY KEY,
    files  TEXT NOT NULL,
    record BLOB NOT NULL
);
-- The zstd dictionary the `cve` records are compressed with (one row, id 1);
-- empty when training failed and records are compressed without one.
CREATE TABLE cve_dictionary (
    id         INTEGER PRIMARY KEY,
    dictionary BLOB NOT NULL
);
CREATE TABLE kev (
    cve             TEXT PRIMARY KEY,
    file            TEXT NOT NULL,
    vendor          TEXT,
    product         TEXT,
    name            TEXT,
    date_added      TEXT NOT NULL,
    due_date        TEXT,
    ransomware      INTEGER,
    required_action TEXT
);
CREATE TABLE epss (
    cve        TEXT PRIMARY KEY,
    file       TEXT NOT NULL,
    score      REAL NOT NULL,
    percentile REAL,
    date       TEXT
);
";

/// Indexes created after the bulk insert, which is faster than keeping them up to date.
pub const CREATE_INDEXES: &str = "
CREATE INDEX advisories_file ON advisories (file);
CREATE INDEX affected_lookup ON affected (ecosystem, kind, package);
CREATE INDEX affected_pattern ON affected (ecosystem) WHERE pattern = 1;
";
