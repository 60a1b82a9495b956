//! `vulnloop db update`: read feeds from a directory, a mirror or the
//! official URLs into a new database.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use vulnloop_feeds::{FeedKind, FeedSummary};

use crate::builder::Builder;
use crate::error::DbError;
use crate::sources::official_feeds;

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
}

/// Builds a new database at `db_path` from `origin` and swaps it in.
///
/// A file that fails is reported, and its records in the database being
/// replaced are carried over; the other files are still imported. When no
/// file at all could be imported, the old database stays and
/// [`DbError::NothingImported`] is returned.
pub fn update(db_path: &Path, origin: &FeedOrigin, progress: &mut dyn Progress) -> Result<UpdateReport, DbError> {
    let mut builder = Builder::create(db_path)?;
    let mut report = UpdateReport::default();
    match origin {
        FeedOrigin::Directory(dir) => import_directory(&mut builder, dir, &mut report, progress)?,
        FeedOrigin::Mirror(base) => import_mirror(&mut builder, db_path, base, &mut report, progress)?,
        FeedOrigin::Official => import_official(&mut builder, db_path, &mut report, progress)?,
    }
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
    builder.commit()?;
    Ok(report)
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
        record_result(builder, result, &display, kind, report, progress)?;
    }
    Ok(())
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), DbError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DbError::Io { action: "read directory", path: dir.to_path_buf(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| DbError::Io { action: "read directory", path: dir.to_path_buf(), source })?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|source| DbError::Io { action: "inspect", path: path.clone(), source })?;
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
    kind: FeedKind,
    report: &mut UpdateReport,
    progress: &mut dyn Progress,
) -> Result<(), DbError> {
    match result? {
        Ok(summary) => {
            progress.file_finished(display, summary.records);
            report.imported.push((display.to_string(), kind.source_name().to_string(), summary.records));
            report.skipped_records.extend(summary.skipped.into_iter().map(|s| format!("{display}: {s}")));
        }
        Err(error) => {
            let carried_over = builder.carry_over(&base_name(display), kind.source_name())?;
            let feed = display;
            tracing::debug!(feed, carried_over, error = %error, "feed file failed to import");
            progress.file_finished(display, 0);
            report.failures.push(FeedFailure { file: display.to_string(), carried_over, error });
        }
    }
    Ok(())
}

/// Returns the last path or URL segment, which identifies a feed file across origins.
pub(crate) fn base_name(path_or_url: &str) -> String {
    path_or_url.rsplit('/').next().unwrap_or(path_or_url).to_string()
}

fn http_agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(60))
        .user_agent(concat!("vulnloop/", env!("CARGO_PKG_VERSION")))
        .build()
}

fn import_mirror(
    builder: &mut Builder,
    db_path: &Path,
    base: &str,
    report: &mut UpdateReport,
    progress: &mut dyn Progress,
) -> Result<(), DbError> {
    let agent = http_agent();
    let base = base.trim_end_matches('/');
    let index_url = format!("{base}/SHA256SUMS");
    let index = fetch_text(&agent, &index_url)?;
    let entries = parse_sha256sums(&index_url, &index)?;
    for (checksum, relative) in entries {
        let url = format!("{base}/{relative}");
        let Some(kind) = vulnloop_feeds::detect(Path::new(&relative)) else {
            report.unrecognized.push(url);
            continue;
        };
        import_download(builder, db_path, &agent, &url, &relative, Some(&checksum), kind, "mirror", report, progress)?;
    }
    Ok(())
}

fn import_official(
    builder: &mut Builder,
    db_path: &Path,
    report: &mut UpdateReport,
    progress: &mut dyn Progress,
) -> Result<(), DbError> {
    let agent = http_agent();
    for feed in official_feeds() {
        let Some(kind) = vulnloop_feeds::detect(Path::new(feed.file_name)) else {
            report.unrecognized.push(feed.url.to_string());
            continue;
        };
        import_download(builder, db_path, &agent, feed.url, feed.file_name, None, kind, "official", report, progress)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn import_download(
    builder: &mut Builder,
    db_path: &Path,
    agent: &ureq::Agent,
    url: &str,
    relative: &str,
    checksum: Option<&str>,
    kind: FeedKind,
    origin: &str,
    report: &mut UpdateReport,
    progress: &mut dyn Progress,
) -> Result<(), DbError> {
    let file_name = Path::new(relative).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = tempfile::tempdir_in(db_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")))
        .map_err(|source| DbError::Io { action: "create a download directory next to", path: db_path.to_path_buf(), source })?;
    let local = dir.path().join(&file_name);
    let downloaded = download(agent, url, &local, checksum, progress);
    let result = match downloaded {
        Ok(()) => builder.import_file(&local, kind, origin, url),
        Err(error) => Ok(Err(Box::new(error) as Box<dyn std::error::Error + Send + Sync>)),
    };
    record_result(builder, result, url, kind, report, progress)
}

/// Downloads `url` to `path`, checking the SHA-256 digest when one is given.
fn download(
    agent: &ureq::Agent,
    url: &str,
    path: &Path,
    checksum: Option<&str>,
    progress: &mut dyn Progress,
) -> Result<(), DbError> {
    let failed = |message: String| DbError::Download { url: url.to_string(), message };
    let response = agent.get(url).call().map_err(|e| failed(e.to_string()))?;
    let size = response.header("Content-Length").and_then(|v| v.parse().ok());
    progress.file_started(url, size);
    let mut reader = response.into_reader();
    let mut file = std::fs::File::create(path).map_err(|source| DbError::Io { action: "create", path: path.to_path_buf(), source })?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = reader.read(&mut buffer).map_err(|e| failed(format!("connection failed mid-transfer: {e}")))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        file.write_all(&buffer[..read]).map_err(|source| DbError::Io { action: "write", path: path.to_path_buf(), source })?;
        progress.bytes_downloaded(read as u64);
    }
    if let Some(expected) = checksum {
        let actual = format!("{:x}", hasher.finalize());
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(failed(format!("SHA-256 mismatch: the index lists {expected}, the download has {actual}")));
        }
    }
    Ok(())
}

fn fetch_text(agent: &ureq::Agent, url: &str) -> Result<String, DbError> {
    let failed = |message: String| DbError::Download { url: url.to_string(), message };
    let response = agent.get(url).call().map_err(|e| failed(e.to_string()))?;
    let mut text = String::new();
    response.into_reader().take(16 * 1024 * 1024).read_to_string(&mut text).map_err(|e| failed(e.to_string()))?;
    Ok(text)
}

/// Parses `sha256sum` output: `<64 hex digits>  <relative path>` per line.
fn parse_sha256sums(url: &str, text: &str) -> Result<Vec<(String, String)>, DbError> {
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let invalid = || DbError::Index { url: url.to_string(), line: number + 1, text: line.chars().take(80).collect() };
        let (digest, path) = line.split_once(char::is_whitespace).ok_or_else(invalid)?;
        let path = path.trim_start().trim_start_matches('*');
        let safe = !path.is_empty() && !path.starts_with('/') && !path.split('/').any(|part| part == "..");
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) || !safe {
            return Err(invalid());
        }
        entries.push((digest.to_string(), path.to_string()));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256sums_parsed() {
        let text = format!("{}  feeds/a.xml.bz2\n{} *b.json\n", "a".repeat(64), "B".repeat(64));
        let entries = parse_sha256sums("u", &text).expect("valid index");
        assert_eq!(entries[0].1, "feeds/a.xml.bz2");
        assert_eq!(entries[1].1, "b.json");
    }

    #[test]
    fn sha256sums_rejects_escape() {
        let text = format!("{}  ../etc/passwd\n", "a".repeat(64));
        assert!(parse_sha256sums("u", &text).is_err());
    }

    #[test]
    fn sha256sums_rejects_html() {
        let error = parse_sha256sums("http://x/SHA256SUMS", "<html>\n").expect_err("not an index");
        assert!(error.to_string().contains("line 1"), "{error}");
    }
}
