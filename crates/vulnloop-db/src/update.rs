//! `vulnloop db update`: read feeds from a directory, a mirror or the
//! official URLs into a new database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vulnloop_feeds::{FeedKind, FeedSummary};

use crate::builder::Builder;
use crate::cache::{Cache, FetchStatus};
use crate::database::{record_check, Database};
use crate::error::DbError;
use crate::remote::{fetch_mirror, fetch_official, Download};

/// Origin of the feed files.
#[derive(Debug, Clone)]
pub enum FeedOrigin {
    /// A directory of feed files, searched recursively, or one feed file; archives are read as they are.
    Directory(PathBuf),
    /// An HTTP(S) mirror: a base URL serving a `SHA256SUMS` index (the output
    /// of `sha256sum`) and the files it lists, relative to the base.
    Mirror(String),
    /// The vendors' own URLs.
    Official,
}

/// Receives progress events; the CLI draws them on stderr.
pub trait Progress {
    /// Reports that a feed file starts; `size` is in bytes when known.
    fn file_started(&mut self, name: &str, size: Option<u64>);
    /// More bytes of the current file were downloaded.
    fn bytes_downloaded(&mut self, bytes: u64);
    /// Reports that the current file is done, with the number of records imported (0 on failure).
    fn file_finished(&mut self, name: &str, records: usize);
}

/// A feed file that could not be imported, and why.
#[derive(Debug)]
pub struct FeedFailure {
    /// File path or URL.
    pub file: String,
    /// Records of this file kept from the previous database.
    pub carried_over: u64,
    /// The error, with its causes.
    pub error: Box<dyn std::error::Error + Send + Sync>,
}

/// Effect of an update on the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DatabaseChange {
    /// A new database was built and renamed into place.
    #[default]
    Rebuilt,
    /// Every download matched the files the database was built from, so it
    /// was kept and the check time was recorded as `checked_at`.
    UpToDate,
    /// Some downloads failed and the others matched the files the database
    /// was built from, so the database was left as it was, byte for byte.
    Kept,
}

/// One download of an update, and what the server sent.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub url: String,
    pub status: FetchStatus,
}

/// Outcome of an update.
#[derive(Debug, Default)]
pub struct UpdateReport {
    /// Imported files: (file, feed kind, records).
    pub imported: Vec<(String, String, usize)>,
    /// Files that failed; the others were still imported.
    pub failures: Vec<FeedFailure>,
    /// Files that are not a feed format this build reads.
    pub unrecognized: Vec<String>,
    /// Records skipped inside imported files, with why.
    pub skipped_records: Vec<String>,
    /// Downloads from a mirror or the official URLs, in request order (empty for a directory).
    pub fetches: Vec<Fetch>,
    /// Effect on the database file.
    pub database: DatabaseChange,
}

/// Builds a new database at `db_path` from `origin` and swaps it in.
///
/// A file that fails is reported, and its records in the database being
/// replaced are carried over; the other files are still imported. When no
/// file at all could be imported, the old database stays and
/// [`DbError::NothingImported`] is returned.
///
/// Downloads go through a cache beside the database (see [`crate::cache_dir`]) and
/// are conditional. When every downloaded file matches the files the
/// database was built from, by the same vulnloop version, the database is
/// not rebuilt: see [`DatabaseChange`].
pub fn update(
    db_path: &Path,
    origin: &FeedOrigin,
    progress: &mut dyn Progress,
) -> Result<UpdateReport, DbError> {
    let mut report = UpdateReport::default();
    let mut cache;
    let downloads = match origin {
        FeedOrigin::Directory(dir) => {
            let mut builder = Builder::create(db_path)?;
            import_directory(&mut builder, dir, &mut report, progress)?;
            finish(builder, origin, &report)?;
            return Ok(report);
        }
        FeedOrigin::Mirror(base) => {
            cache = Cache::open(db_path)?;
            fetch_mirror(&mut cache, base, &mut report, progress)?
        }
        FeedOrigin::Official => {
            cache = Cache::open(db_path)?;
            fetch_official(&mut cache, &mut report, progress)
        }
    };
    cache.prune()?;
    let mut source_files: BTreeMap<String, Option<String>> = downloads
        .iter()
        .map(|d| {
            (
                d.url.clone(),
                d.result.as_ref().ok().map(|f| f.sha256.clone()),
            )
        })
        .collect();

    if let Some(database) = current_database(db_path, &source_files)? {
        report.database = keep(database, db_path, downloads, &mut report)?;
        return Ok(report);
    }

    let mut builder = Builder::create(db_path)?;
    for download in downloads {
        let url = download.url.clone();
        let downloaded = download.result.is_ok();
        let imported = import_download(&mut builder, download, &mut report, progress)?;
        // A body cut short without an error (a server that closes the
        // connection instead of sending a length) is only caught here. Such a
        // file is not offered to the server again, and it is recorded as not
        // built from, so the next update downloads it and rebuilds.
        if downloaded && !imported {
            cache.forget(&url)?;
            source_files.insert(url, None);
        }
    }
    builder.set_source_files(source_files);
    finish(builder, origin, &report)?;
    Ok(report)
}

/// Commits the new database, or returns [`DbError::NothingImported`] when no file was kept.
fn finish(builder: Builder, origin: &FeedOrigin, report: &UpdateReport) -> Result<(), DbError> {
    if builder.is_empty() {
        let reason = match (report.failures.first(), origin) {
            (Some(failure), _) => format!("{}: {}", failure.file, failure.error),
            (None, FeedOrigin::Directory(dir)) => format!(
                "no feed file this version reads was found in {} (for example oval-definitions-bookworm.xml.bz2, \
                 com.ubuntu.jammy.usn.oval.xml.bz2, an OSV archive, a secdb or a security-tracker JSON file)",
                dir.display()
            ),
            (None, _) => "the mirror lists no feed file this version reads".to_string(),
        };
        return Err(DbError::NothingImported(reason));
    }
    builder.commit()
}

/// Opens the database at `db_path` when it can stay: it was built by this
/// version from exactly the listed URLs, and every file downloaded now has
/// the digest it had then. Failed downloads bring nothing new, so they do
/// not force a rebuild.
fn current_database(
    db_path: &Path,
    source_files: &BTreeMap<String, Option<String>>,
) -> Result<Option<Database>, DbError> {
    // A missing or unreadable database is simply rebuilt.
    let Ok(database) = Database::open(db_path) else {
        return Ok(None);
    };
    let built_by_this_version =
        database.metadata()?.built_by == format!("vulnloop {}", env!("CARGO_PKG_VERSION"));
    let Some(built_from) = database.source_files()? else {
        return Ok(None);
    };
    let same_urls = built_from.keys().eq(source_files.keys());
    let same_files = source_files.iter().all(|(url, sha256)| {
        sha256.is_none() || built_from.get(url).is_some_and(|built| built == sha256)
    });
    Ok((built_by_this_version && same_urls && same_files).then_some(database))
}

/// Leaves the current database in place and reports the failed downloads.
///
/// Without failures the check time is recorded as `checked_at`. With
/// failures nothing is written, because those files were not checked.
fn keep(
    database: Database,
    db_path: &Path,
    downloads: Vec<Download>,
    report: &mut UpdateReport,
) -> Result<DatabaseChange, DbError> {
    let mut change = DatabaseChange::UpToDate;
    for download in downloads {
        if let Err(error) = download.result {
            change = DatabaseChange::Kept;
            let carried_over = database.records_of_file(&download.file_name)?;
            report.failures.push(FeedFailure {
                file: download.url,
                carried_over,
                error: Box::new(error),
            });
        }
    }
    drop(database);
    if change == DatabaseChange::UpToDate {
        record_check(db_path)?;
    }
    Ok(change)
}

fn import_directory(
    builder: &mut Builder,
    dir: &Path,
    report: &mut UpdateReport,
    progress: &mut dyn Progress,
) -> Result<(), DbError> {
    let mut files = Vec::new();
    if dir.is_file() {
        files.push(dir.to_path_buf());
    } else {
        collect_files(dir, &mut files)?;
    }
    files.sort();
    for path in files {
        let display = path.display().to_string();
        let Some(kind) = vulnloop_feeds::detect(&path) else {
            report.unrecognized.push(display);
            continue;
        };
        progress.file_started(&display, std::fs::metadata(&path).ok().map(|m| m.len()));
        let result = builder.import_file(&path, kind, "directory", &display);
        record_result(
            builder,
            result,
            &display,
            &base_name(&display),
            kind,
            report,
            progress,
        )?;
    }
    Ok(())
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), DbError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DbError::Io {
        action: "read directory",
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| DbError::Io {
            action: "read directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|source| DbError::Io {
            action: "inspect",
            path: path.clone(),
            source,
        })?;
        // Directories are entered only when they are real directories, so a
        // symlink loop cannot recurse; symlinks to files are followed.
        if file_type.is_dir() {
            collect_files(&path, files)?;
        } else if path.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

fn record_result(
    builder: &mut Builder,
    result: Result<Result<FeedSummary, Box<dyn std::error::Error + Send + Sync>>, DbError>,
    display: &str,
    file_name: &str,
    kind: FeedKind,
    report: &mut UpdateReport,
    progress: &mut dyn Progress,
) -> Result<bool, DbError> {
    match result? {
        Ok(summary) => {
            progress.file_finished(display, summary.records);
            report.imported.push((
                display.to_string(),
                kind.source_name().to_string(),
                summary.records,
            ));
            report.skipped_records.extend(
                summary
                    .skipped
                    .into_iter()
                    .map(|s| format!("{display}: {s}")),
            );
            Ok(true)
        }
        Err(error) => {
            let carried_over = builder.carry_over(file_name, kind.source_name())?;
            let feed = display;
            tracing::debug!(feed, carried_over, error = %error, "feed file failed to import");
            progress.file_finished(display, 0);
            report.failures.push(FeedFailure {
                file: display.to_string(),
                carried_over,
                error,
            });
            Ok(false)
        }
    }
}

/// Returns the last path or URL segment, which identifies a feed file across origins.
pub(crate) fn base_name(path_or_url: &str) -> String {
    path_or_url
        .rsplit('/')
        .next()
        .unwrap_or(path_or_url)
        .to_string()
}

/// Imports a file from the download cache, or carries the file's records
/// over when its download failed. Returns whether the file was imported.
fn import_download(
    builder: &mut Builder,
    download: Download,
    report: &mut UpdateReport,
    progress: &mut dyn Progress,
) -> Result<bool, DbError> {
    let Download {
        url,
        file_name,
        kind,
        origin,
        result,
    } = download;
    let result = match result {
        Ok(fetched) => {
            progress.file_started(&url, std::fs::metadata(&fetched.path).ok().map(|m| m.len()));
            builder.import_file(&fetched.path, kind, origin, &url)
        }
        Err(error) => Ok(Err(
            Box::new(error) as Box<dyn std::error::Error + Send + Sync>
        )),
    };
    record_result(builder, result, &url, &file_name, kind, report, progress)
}
