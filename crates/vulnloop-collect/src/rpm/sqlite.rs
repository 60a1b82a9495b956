//! rpm's SQLite backend, `rpmdb.sqlite` (rpm 4.16 and later).
//!
//! The table `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)` contains one
//! header blob per package. The other tables are indexes that rpm can rebuild.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::{RpmDatabaseError, StoredHeader};

/// How to open the database without disturbing the scanned system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// The running system: open read-only with normal locking, as `rpm -qa`
    /// does, because rpm may be writing at the same time.
    Live,
    /// A file at rest (an image or a copy): never write beside it.
    AtRest,
}

/// Reads the header blobs of `rpmdb.sqlite` at `file`, in `hnum` order.
///
/// A read-only SQLite connection still creates a `-shm` file beside a
/// database in WAL mode, and an immutable one ignores the `-wal` file. So a
/// database at rest is opened as immutable when its `-wal` file is empty or
/// missing, and otherwise copied with its `-wal` file into a temporary
/// directory first. `path` names the file in errors.
pub(crate) fn read_sqlite(
    file: &Path,
    path: &str,
    access: Access,
) -> Result<Vec<StoredHeader>, RpmDatabaseError> {
    let sqlite_error = |source| RpmDatabaseError::Sqlite {
        path: path.to_string(),
        source,
    };
    match access {
        Access::Live => query_headers(file, false).map_err(sqlite_error),
        Access::AtRest if has_wal_content(file) => {
            let (_dir, copy) = copy_with_wal(file).map_err(|source| RpmDatabaseError::Io {
                path: path.to_string(),
                source,
            })?;
            query_headers(&copy, false).map_err(sqlite_error)
        }
        Access::AtRest => query_headers(file, true).map_err(sqlite_error),
    }
}

fn wal_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push("-wal");
    PathBuf::from(name)
}

/// Returns whether the write-ahead log beside `file` contains transactions.
fn has_wal_content(file: &Path) -> bool {
    std::fs::metadata(wal_path(file)).is_ok_and(|metadata| metadata.len() > 0)
}

/// Copies the database and its `-wal` file into a new temporary directory.
fn copy_with_wal(file: &Path) -> std::io::Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir()?;
    let copy = dir.path().join("rpmdb.sqlite");
    std::fs::copy(file, &copy)?;
    std::fs::copy(wal_path(file), wal_path(&copy))?;
    Ok((dir, copy))
}

fn query_headers(file: &Path, immutable: bool) -> Result<Vec<StoredHeader>, rusqlite::Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = if immutable {
        let uri = format!("file:{}?immutable=1", uri_escape(&file.to_string_lossy()));
        Connection::open_with_flags(uri, flags)?
    } else {
        Connection::open_with_flags(file, flags)?
    };

    let mut statement = connection.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")?;
    let rows = statement.query_map([], |row| {
        Ok(StoredHeader {
            id: row.get(0)?,
            blob: row.get(1)?,
        })
    })?;
    rows.collect()
}

/// Escapes the characters that have a meaning in an SQLite URI path.
fn uri_escape(path: &str) -> String {
    let mut escaped = String::with_capacity(path.len());
    for character in path.chars() {
        match character {
            '%' => escaped.push_str("%25"),
            '?' => escaped.push_str("%3f"),
            '#' => escaped.push_str("%23"),
            _ => escaped.push(character),
        }
    }
    escaped
}
