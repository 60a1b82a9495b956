//! Matching of inventories against the advisory database file, shared by
//! uploads and re-matching.
//!
//! Opening the database costs more than matching one small host, so open
//! handles are kept and reused until the file at the path changes (`vulnloop
//! db update` renames a new file into place). Matching is CPU-bound, so at
//! most one match per CPU runs at a time; further requests wait for a permit.
//!
//! Hosts of one release share most of their packages, so the advisory
//! records of each looked-up package are cached across matches, for the
//! current file only: a changed file empties the cache.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;
use vulnloop_advisory::{Ecosystem, PackageKind};
use vulnloop_db::{Database, DbError};
use vulnloop_inventory::Inventory;
use vulnloop_match::{AdvisoryIndex, Candidate, MatchReport, SourceInfo};

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

    /// Returns the stamp as text, to store beside what was matched with the file.
    pub fn text(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.device, self.inode, self.size, self.modified_ns
        )
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
    cache: Mutex<CandidateCache>,
}

/// Most cached package lookups; the cache is emptied when it would grow
/// past this. NOTE: an estimate of a fleet's distinct (release, kind,
/// package name) keys, not a measured memory bound.
const MAX_CACHED_LOOKUPS: usize = 200_000;

/// Advisory records by (release, kind, package name), valid for the file
/// with `stamp`.
#[derive(Default)]
struct CandidateCache {
    stamp: Option<FileStamp>,
    entries: HashMap<(String, PackageKind, String), Arc<Vec<Candidate>>>,
}

impl MatchPool {
    /// Creates a pool for the database at `path` that runs at most `parallel` matches at once.
    pub fn new(path: PathBuf, parallel: usize) -> Self {
        Self {
            path,
            permits: Semaphore::new(parallel.max(1)),
            idle: Mutex::new(Vec::new()),
            cache: Mutex::new(CandidateCache::default()),
        }
    }

    /// Returns the database file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Matches `inventory` on a blocking thread, because the database is read
    /// through synchronous SQLite calls. Returns the report and the stamp of
    /// the database file it was matched against.
    pub async fn match_inventory(
        self: &Arc<Self>,
        inventory: Arc<Inventory>,
    ) -> Result<(MatchReport, FileStamp), ApiError> {
        let _permit = self.permits.acquire().await.map_err(|error| {
            ApiError::Internal(anyhow::Error::new(error).context("matching permits closed"))
        })?;
        let pool = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || {
            let handle = pool.checkout()?;
            let index = CachedIndex {
                database: &handle.database,
                stamp: handle.stamp,
                cache: &pool.cache,
            };
            let report = vulnloop_match::match_inventory(&inventory, &index).map_err(|error| {
                ApiError::Internal(anyhow::Error::new(error).context("matching failed"))
            });
            let stamp = handle.stamp;
            pool.checkin(handle);
            report.map(|report| (report, stamp))
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
            let mut cache = lock(&self.cache);
            if cache.stamp != Some(stamp) {
                *cache = CandidateCache {
                    stamp: Some(stamp),
                    entries: HashMap::new(),
                };
            }
        }
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
        lock(&self.idle)
    }

    fn unavailable(&self, error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(path = %self.path.display(), %error, "advisory database cannot be opened");
        ApiError::Unavailable(
            "the advisory database is not available; the inventory was not stored",
        )
    }
}

/// Locks `mutex`. A panic while it was held leaves a list of handles or
/// cache entries that are each still valid, so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An open database whose package lookups go through the shared cache
/// while the cache belongs to the same file.
struct CachedIndex<'a> {
    database: &'a Database,
    stamp: FileStamp,
    cache: &'a Mutex<CandidateCache>,
}

impl AdvisoryIndex for CachedIndex<'_> {
    type Error = DbError;

    fn candidates(
        &self,
        ecosystem: &Ecosystem,
        kind: PackageKind,
        name: &str,
    ) -> Result<Vec<Candidate>, DbError> {
        let key = (ecosystem.as_str().to_string(), kind, name.to_string());
        {
            let cache = lock(self.cache);
            if cache.stamp != Some(self.stamp) {
                drop(cache);
                return self.database.candidates(ecosystem, kind, name);
            }
            if let Some(found) = cache.entries.get(&key) {
                return Ok(found.as_ref().clone());
            }
        }

        let found = self.database.candidates(ecosystem, kind, name)?;
        let mut cache = lock(self.cache);
        if cache.stamp == Some(self.stamp) {
            if cache.entries.len() >= MAX_CACHED_LOOKUPS {
                cache.entries.clear();
            }
            cache.entries.insert(key, Arc::new(found.clone()));
        }
        Ok(found)
    }

    fn pattern_candidates(&self, ecosystem: &Ecosystem) -> Result<Vec<Candidate>, DbError> {
        self.database.pattern_candidates(ecosystem)
    }

    fn sources_for(&self, ecosystem: &Ecosystem) -> Result<Vec<SourceInfo>, DbError> {
        self.database.sources_for(ecosystem)
    }
}
