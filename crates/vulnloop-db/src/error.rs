use std::path::PathBuf;

/// Errors of the advisory database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "advisory database not found at {}; build it with `vulnloop db update --db {}` \
         (add --from DIR or --mirror URL where the official feeds are out of reach)",
        path.display(),
        path.display()
    )]
    Missing { path: PathBuf },

    #[error("advisory database {} is not a file; pass the database file with --db", path.display())]
    NotAFile { path: PathBuf },

    #[error(
        "advisory database {} is unreadable or corrupt; rebuild it with `vulnloop db update --db {}` \
         (add --from DIR or --mirror URL where the official feeds are out of reach)",
        path.display(),
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error(
        "advisory database {} has schema version {found}, but this build reads version {expected}; \
         run `vulnloop db update` to rebuild it",
        path.display()
    )]
    SchemaVersion {
        path: PathBuf,
        found: String,
        expected: u32,
    },

    #[error("failed to query the advisory database {}", path.display())]
    Query {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("failed to write the advisory database {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("failed to {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("failed to download {url}: {message}")]
    Download { url: String, message: String },

    #[error("{url} is not a SHA256SUMS index (line {line}: {text:?}); a mirror must serve `sha256sum` output listing its feed files")]
    Index {
        url: String,
        line: usize,
        text: String,
    },

    #[error("{} is not a usable database bundle: {reason}; the current database was kept", path.display())]
    Bundle { path: PathBuf, reason: String },

    #[error("no feed was imported: {0}; the previous database, if any, was kept")]
    NothingImported(String),
}
