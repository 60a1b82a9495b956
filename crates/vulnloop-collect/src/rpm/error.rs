//! Errors that stop reading an rpm database.

use std::io;

/// Errors that stop reading an rpm database file.
///
/// A single damaged header blob is not one of them: it becomes a
/// [`Problem`](vulnloop_inventory::Problem) and the other packages are kept.
#[derive(Debug, thiserror::Error)]
pub enum RpmDatabaseError {
    /// The file could not be read.
    #[error("failed to read rpm database {path}; check that it exists and is readable")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },

    /// SQLite could not open or query `rpmdb.sqlite`.
    #[error(
        "failed to read the SQLite rpm database {path}; check that it is a complete copy, or run \
         `rpmdb --rebuilddb` on the system"
    )]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },

    /// The file is not a valid database of its backend.
    #[error(
        "invalid {backend} rpm database {path} at byte offset {offset}: {reason}; check that it is a \
         complete copy, or run `rpmdb --rebuilddb` on the system"
    )]
    Corrupt {
        /// Backend name: `Berkeley DB` or `NDB`.
        backend: &'static str,
        path: String,
        offset: u64,
        reason: String,
    },
}
