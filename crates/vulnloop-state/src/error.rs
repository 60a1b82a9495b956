use std::path::PathBuf;

/// Errors of the state database and of ignore files.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("failed to open the state database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error(
        "the state database {path} has layout version {found}, newer than the {supported} this vulnloop \
         reads; use a newer vulnloop or move the file away to start a new history"
    )]
    NewerLayout {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error("state database {path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error("failed to create the directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("failed to read the ignore file {path}: {source}")]
    ReadIgnoreFile {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("invalid ignore file {path}: {message}")]
    InvalidIgnoreFile { path: PathBuf, message: String },

    #[error("invalid ignore rule: {0}")]
    InvalidRule(String),

    #[error("no ignore rule numbered {0}; `vulnloop ignore list` shows the numbers")]
    NoSuchRule(i64),

    #[error("no scan numbered {0}; `vulnloop history` lists the scans")]
    NoSuchScan(i64),
}
