//! Matching of inventories against the advisory database file, shared by
//! uploads and re-matching.
//!
//! Opening the database costs more than matching one small host, so open
//! handles are kept and reused until the file at the path changes (`vulnloop
//! db update` renames a new file into place). Matching is CPU-bound, so at
//! most one match per CPU runs at a time; further requests wait for a permit.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;
use vulnloop_db::Database;
use vulnloop_inventory::Inventory;
use vulnloop_match::MatchReport;

use crate::error::ApiError;

/// Identity and version of the file at a path: a rename of a new file into
/// place changes the inode, an in-place rewrite changes the size or mtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    device: u64,
    inode: u64,
    size: u64,
    modified_ns: i128,
}

impl FileStamp {
    /// Reads the stamp of the file at `path`.
    pub fn of(path: &Path) -> std::io::Result<Self> {
        let metadata = std::fs::metadata(path)?;
        Ok(Self {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.size(),
            modified_ns: i128::from(metadata.mtime()) * 1_000_000_000
                + i128::from(metadata.mtime_nsec()),
        })
    }

    /// Returns whether the file was rewritten in place rather than replaced by a rename.
    pub fn same_file(&self, other: &FileStamp) -> bool {
        self.device == other.device && self.inode == other.inode
    }
}

/// An open advisory database and the stamp of the file when it was opened.
pub struct OpenDatabase {
    pub stamp: FileStamp,
    pub database: Database,
}

/// Open handles of one advisory database file, and the permits that bound
/// concurrent matching.
pub struct MatchPool {
    path: PathBuf,
    permits: Semaphore,
    idle: Mutex<Vec<OpenDatabase>>,
}

impl MatchPool {
    /// Creates a pool for the database at `path` that runs at most `parallel` matches at once.
    pub fn new(path: PathBuf, parallel: usize) -> Self {
        Self {
            path,
            permits: Semaphore::new(parallel.max(1)),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Returns the database file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Matches `inventory` on a blocking thread, because the database is read
    /// through synchronous SQLite calls.
    pub async fn match_inventory(
        self: &Arc<Self>,
        inventory: Inventory,
    ) -> Result<MatchReport, ApiError> {
        let _permit = self.permits.acquire().await.map_err(|error| {
            ApiError::Internal(anyhow::Error::new(error).context("matching permits closed"))
        })?;
        let pool = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || {
            let handle = pool.checkout()?;
            let report =
                vulnloop_match::match_inventory(&inventory, &handle.database).map_err(|error| {
                    ApiError::Internal(anyhow::Error::new(error).context("matching failed"))
                });
            pool.checkin(handle);
            report
        });
        task.await.map_err(|error| {
            ApiError::Internal(anyhow::Error::new(error).context("matching task failed"))
        })?
    }

    /// Takes an idle handle of the current file, or opens a new one.
    ///
    /// The stamp is read before the file is opened, so a handle is never
    /// labelled newer than its content: a file replaced in between only
    /// costs one more open on the next checkout.
    pub fn checkout(&self) -> Result<OpenDatabase, ApiError> {
        let stamp = FileStamp::of(&self.path).map_err(|error| self.unavailable(&error))?;
        {
            let mut idle = self.lock_idle();
            idle.retain(|handle| handle.stamp == stamp);
            if let Some(handle) = idle.pop() {
                return Ok(handle);
            }
        }
        let database = Database::open(&self.path).map_err(|error| self.unavailable(&error))?;
        Ok(OpenDatabase { stamp, database })
    }

    /// Returns a handle for reuse.
    pub fn checkin(&self, handle: OpenDatabase) {
        self.lock_idle().push(handle);
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<OpenDatabase>> {
        // A panic while the lock was held leaves only a list of handles,
        // which is still valid.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn unavailable(&self, error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(path = %self.path.display(), %error, "advisory database cannot be opened");
        ApiError::Unavailable(
            "the advisory database is not available; the inventory was not stored",
        )
    }
}
