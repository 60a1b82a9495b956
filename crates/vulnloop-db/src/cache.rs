//! The download cache beside the database, for conditional refreshes.
//!
//! `advisories.db` gets a directory `advisories.db.cache/` with one
//! subdirectory per URL that contains the last good download under its feed
//! file name, and `index.json`, which maps each URL to the file's SHA-256 and
//! the server's `ETag` and `Last-Modified` values. A cached file is sent as
//! `If-None-Match` / `If-Modified-Since` only while its digest still matches
//! the index. A download is written to a temporary file and renamed over the
//! cached file only after its checksum passed, and the index is replaced by
//! renaming too, so an interrupted update never records a partial file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DbError;
use crate::update::Progress;

const INDEX: &str = "index.json";

/// Outcome of one download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchStatus {
    /// The whole file was transferred; `bytes` is the body size.
    Downloaded { bytes: u64 },
    /// The server returned `304 Not Modified` and the cached copy was used.
    Unchanged,
    /// The download failed, for the reason in the message.
    Failed(String),
}

/// A file in the cache, ready to import.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub path: PathBuf,
    pub sha256: String,
    pub status: FetchStatus,
}

/// The cache directory and its index.
///
/// NOTE: two updates of the same database at once do not lock the cache.
/// The later index write wins, and a cached file that no longer matches its
/// entry is only downloaded again in full on the next update.
pub(crate) struct Cache {
    dir: PathBuf,
    index: CacheIndex,
    /// URLs fetched in this update; [`Cache::prune`] drops the others.
    used: BTreeSet<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheIndex {
    entries: BTreeMap<String, CacheEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CacheEntry {
    /// Path of the cached file, relative to the cache directory.
    file: String,
    /// SHA-256 of the cached file, lowercase hex.
    sha256: String,
    etag: Option<String>,
    last_modified: Option<String>,
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DbError {
    let path = path.to_path_buf();
    move |source| DbError::Io {
        action,
        path,
        source,
    }
}

impl Cache {
    /// Opens (creating when needed) the cache of the database at `db_path`.
    ///
    /// An unreadable or invalid index is treated as empty, so every file is
    /// downloaded again in full.
    pub fn open(db_path: &Path) -> Result<Self, DbError> {
        let dir = cache_dir(db_path);
        std::fs::create_dir_all(&dir).map_err(io_error("create directory", &dir))?;
        let index_path = dir.join(INDEX);
        let index = match std::fs::read(&index_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::warn!(path = %index_path.display(), %error, "invalid download cache index; downloading every file again");
                CacheIndex::default()
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => CacheIndex::default(),
            Err(error) => return Err(DbError::Io { action: "read", path: index_path, source: error }),
        };
        Ok(Self {
            dir,
            index,
            used: BTreeSet::new(),
        })
    }

    /// Fetches `url` into the cache, conditionally when a valid copy is cached.
    ///
    /// `expected` is the SHA-256 that the file must have, from a mirror's
    /// `SHA256SUMS`. A cached copy with another digest is not offered to the
    /// server, and a download with another digest is rejected. On failure
    /// the cache keeps its previous copy and index entry.
    pub fn fetch(
        &mut self,
        agent: &ureq::Agent,
        url: &str,
        file_name: &str,
        expected: Option<&str>,
        progress: &mut dyn Progress,
    ) -> Result<Fetched, DbError> {
        self.used.insert(url.to_string());
        let cached = self.valid_entry(url, expected);
        let mut request = agent.get(url);
        if let Some(entry) = &cached {
            if let Some(etag) = &entry.etag {
                request = request.set("If-None-Match", etag);
            }
            if let Some(last_modified) = &entry.last_modified {
                request = request.set("If-Modified-Since", last_modified);
            }
        }
        let failed = |message: String| DbError::Download {
            url: url.to_string(),
            message,
        };
        let response = request.call().map_err(|e| failed(e.to_string()))?;

        if response.status() == 304 {
            let entry = cached.ok_or_else(|| {
                failed(
                    "the server answered 304 Not Modified to a request without a cached copy"
                        .into(),
                )
            })?;
            return Ok(Fetched {
                path: self.dir.join(&entry.file),
                sha256: entry.sha256,
                status: FetchStatus::Unchanged,
            });
        }
        self.download(response, url, file_name, expected, progress)
    }

    /// Writes a 200 response body to a temporary file, checks it and moves it into the cache.
    fn download(
        &mut self,
        response: ureq::Response,
        url: &str,
        file_name: &str,
        expected: Option<&str>,
        progress: &mut dyn Progress,
    ) -> Result<Fetched, DbError> {
        let failed = |message: String| DbError::Download {
            url: url.to_string(),
            message,
        };
        let etag = response.header("ETag").map(String::from);
        let last_modified = response.header("Last-Modified").map(String::from);
        let size = response
            .header("Content-Length")
            .and_then(|v| v.parse().ok());
        progress.file_started(url, size);

        let relative = format!("{}/{file_name}", url_key(url));
        let target = self.dir.join(&relative);
        let parent = target.parent().unwrap_or(&self.dir).to_path_buf();
        std::fs::create_dir_all(&parent).map_err(io_error("create directory", &parent))?;
        let mut temp = tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(&parent)
            .map_err(io_error("create a temporary file in", &parent))?;
        let (bytes, sha256) = copy_hashed(response.into_reader(), temp.as_file_mut(), progress)
            .map_err(|error| match error {
                CopyError::Read(e) => failed(format!("connection failed mid-transfer: {e}")),
                CopyError::Write(e) => DbError::Io {
                    action: "write",
                    path: temp.path().to_path_buf(),
                    source: e,
                },
            })?;
        if let Some(expected) = expected {
            if !sha256.eq_ignore_ascii_case(expected) {
                return Err(failed(format!(
                    "SHA-256 mismatch: the index lists {expected}, the download has {sha256}"
                )));
            }
        }
        temp.as_file()
            .sync_all()
            .map_err(io_error("sync", temp.path()))?;
        temp.persist(&target).map_err(|e| DbError::Io {
            action: "replace",
            path: target.clone(),
            source: e.error,
        })?;

        let entry = CacheEntry {
            file: relative,
            sha256: sha256.clone(),
            etag,
            last_modified,
        };
        self.index.entries.insert(url.to_string(), entry);
        self.save()?;
        Ok(Fetched {
            path: target,
            sha256,
            status: FetchStatus::Downloaded { bytes },
        })
    }

    /// Returns the index entry of `url` when its file is present with the recorded
    /// digest, and that digest is `expected` when one is given.
    fn valid_entry(&self, url: &str, expected: Option<&str>) -> Option<CacheEntry> {
        let entry = self.index.entries.get(url)?;
        if expected.is_some_and(|expected| !expected.eq_ignore_ascii_case(&entry.sha256)) {
            return None;
        }
        let path = self.dir.join(&entry.file);
        let actual = File::open(&path)
            .ok()
            .and_then(|file| copy_hashed(file, &mut std::io::sink(), &mut NoProgress).ok());
        match actual {
            Some((_, digest)) if digest == entry.sha256 => Some(entry.clone()),
            _ => {
                tracing::info!(url, path = %path.display(), "cached file missing or changed; downloading it in full");
                None
            }
        }
    }

    /// Drops the entry and file of `url`, so that the next update downloads it in full.
    pub fn forget(&mut self, url: &str) -> Result<(), DbError> {
        if self.index.entries.remove(url).is_some() {
            // A file that cannot be removed only costs disk space.
            let _ = std::fs::remove_dir_all(self.dir.join(url_key(url)));
            self.save()?;
        }
        Ok(())
    }

    /// Drops the entries and files of URLs that this update did not fetch.
    pub fn prune(&mut self) -> Result<(), DbError> {
        let unused: Vec<String> = self
            .index
            .entries
            .keys()
            .filter(|url| !self.used.contains(*url))
            .cloned()
            .collect();
        if unused.is_empty() {
            return Ok(());
        }
        for url in unused {
            if let Some(entry) = self.index.entries.remove(&url) {
                let dir = self.dir.join(url_key(&url));
                tracing::debug!(
                    url,
                    file = entry.file,
                    "removing a cached file no longer listed"
                );
                // A file that cannot be removed only costs disk space.
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        self.save()
    }

    /// Replaces the index file atomically.
    fn save(&self) -> Result<(), DbError> {
        let path = self.dir.join(INDEX);
        let mut temp = tempfile::Builder::new()
            .prefix(".index-")
            .tempfile_in(&self.dir)
            .map_err(io_error("create a temporary file in", &self.dir))?;
        let json = serde_json::to_vec_pretty(&self.index).unwrap_or_default();
        temp.write_all(&json)
            .map_err(io_error("write", temp.path()))?;
        temp.as_file()
            .sync_all()
            .map_err(io_error("sync", temp.path()))?;
        temp.persist(&path).map_err(|e| DbError::Io {
            action: "replace",
            path: path.clone(),
            source: e.error,
        })?;
        Ok(())
    }
}

/// Returns the cache directory of the database at `db_path`: `<file name>.cache` beside it.
pub fn cache_dir(db_path: &Path) -> PathBuf {
    let mut name = db_path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "advisories.db".into());
    name.push(".cache");
    db_path.with_file_name(name)
}

/// Returns a directory name that is stable per URL.
fn url_key(url: &str) -> String {
    let digest = format!("{:x}", Sha256::digest(url.as_bytes()));
    digest[..16].to_string()
}

enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// Copies `reader` to `out` and returns the byte count and SHA-256 in lowercase hex.
fn copy_hashed(
    mut reader: impl Read,
    out: &mut impl Write,
    progress: &mut dyn Progress,
) -> Result<(u64, String), CopyError> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let read = reader.read(&mut buffer).map_err(CopyError::Read)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        out.write_all(&buffer[..read]).map_err(CopyError::Write)?;
        total += read as u64;
        progress.bytes_downloaded(read as u64);
    }
    Ok((total, format!("{:x}", hasher.finalize())))
}

struct NoProgress;

impl Progress for NoProgress {
    fn file_started(&mut self, _: &str, _: Option<u64>) {}
    fn bytes_downloaded(&mut self, _: u64) {}
    fn file_finished(&mut self, _: &str, _: usize) {}
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_beside_database() {
        assert_eq!(
            cache_dir(Path::new("/var/lib/v/advisories.db")),
            Path::new("/var/lib/v/advisories.db.cache")
        );
        assert_eq!(cache_dir(Path::new("my.db")), Path::new("my.db.cache"));
    }

    #[test]
    fn tampered_cached_file_not_offered() {
        let work = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(&work.path().join("advisories.db")).unwrap();
        let file = cache.dir.join("k/feed.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"original").unwrap();
        let sha256 = format!("{:x}", Sha256::digest(b"original"));
        let entry = CacheEntry {
            file: "k/feed.json".into(),
            sha256: sha256.clone(),
            etag: Some("\"1\"".into()),
            last_modified: None,
        };
        cache
            .index
            .entries
            .insert("http://127.0.0.1/feed.json".into(), entry);

        assert!(cache
            .valid_entry("http://127.0.0.1/feed.json", None)
            .is_some());
        assert!(cache
            .valid_entry("http://127.0.0.1/feed.json", Some(&sha256))
            .is_some());
        assert!(
            cache
                .valid_entry("http://127.0.0.1/feed.json", Some(&"0".repeat(64)))
                .is_none(),
            "another listed digest"
        );
        std::fs::write(&file, b"changed").unwrap();
        assert!(
            cache
                .valid_entry("http://127.0.0.1/feed.json", None)
                .is_none(),
            "file no longer matches the index"
        );
    }
}
