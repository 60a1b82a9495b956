//! Downloads from a mirror or the official URLs into the download cache.

use std::io::Read;

use sha2::Digest as _;
use std::path::Path;
use std::time::Duration;

use vulnloop_feeds::FeedKind;

use crate::cache::{Cache, FetchStatus, Fetched};
use crate::error::DbError;
use crate::sources::official_feeds;
use crate::update::{Fetch, Progress, UpdateReport};

/// Longest `SHA256SUMS` index read, in bytes.
const MAX_INDEX_BYTES: u64 = 16 * 1024 * 1024;

/// One feed file to import: where it came from and the cached copy, or why the download failed.
pub(crate) struct Download {
    pub url: String,
    /// Base name of the file, which the records are filed under.
    pub file_name: String,
    pub kind: FeedKind,
    /// `mirror` or `official`, as recorded in the `sources` table.
    pub origin: &'static str,
    pub result: Result<Fetched, DbError>,
}

fn http_agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(60))
        .user_agent(concat!("vulnloop/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Fetches a mirror's `SHA256SUMS` and every feed file it lists.
///
/// Returns an error only when the index itself cannot be fetched or read;
/// a feed file that fails is returned as a failed [`Download`].
pub(crate) fn fetch_mirror(
    cache: &mut Cache,
    base: &str,
    report: &mut UpdateReport,
    progress: &mut dyn Progress,
) -> Result<Vec<Download>, DbError> {
    let agent = http_agent();
    let base = base.trim_end_matches('/');
    let index_url = format!("{base}/SHA256SUMS");
    let index = fetch_recorded(
        cache,
        &agent,
        &index_url,
        "SHA256SUMS",
        None,
        report,
        progress,
    )?;
    let text = read_index(&index_url, &index.path)?;
    let entries = parse_sha256sums(&index_url, &text)?;

    let mut downloads = Vec::new();
    for (checksum, relative) in entries {
        let url = format!("{base}/{relative}");
        let Some(kind) = vulnloop_feeds::detect(Path::new(&relative)) else {
            report.unrecognized.push(url);
            continue;
        };
        let file_name = crate::update::base_name(&relative);
        let result = fetch_recorded(
            cache,
            &agent,
            &url,
            &file_name,
            Some(&checksum),
            report,
            progress,
        );
        downloads.push(Download {
            url,
            file_name,
            kind,
            origin: "mirror",
            result,
        });
    }
    Ok(downloads)
}

/// Fetches the vendors' feed files.
pub(crate) fn fetch_official(
    cache: &mut Cache,
    report: &mut UpdateReport,
    progress: &mut dyn Progress,
) -> Vec<Download> {
    let agent = http_agent();
    let mut downloads = Vec::new();
    for feed in official_feeds() {
        let Some(kind) = vulnloop_feeds::detect(Path::new(&feed.file_name)) else {
            report.unrecognized.push(feed.url);
            continue;
        };
        let mut result = fetch_recorded(
            cache,
            &agent,
            &feed.url,
            &feed.file_name,
            None,
            report,
            progress,
        );
        if let (Ok(fetched), Some(meta_url)) = (&result, nvd_meta_url(&feed.url)) {
            if let Err(error) =
                check_nvd_meta(cache, &agent, &meta_url, &fetched.path, report, progress)
            {
                // A file that fails its digest must not be offered again as cached.
                if let Err(forget_error) = cache.forget(&feed.url) {
                    tracing::warn!(url = feed.url, error = %forget_error, "failed to drop a download from the cache");
                }
                result = Err(error);
            }
        }
        downloads.push(Download {
            url: feed.url,
            file_name: feed.file_name,
            kind,
            origin: "official",
            result,
        });
    }
    downloads
}

/// Returns the URL of the `.meta` file that NVD publishes beside a
/// `nvdcve-*.json.gz` feed file, or `None` for other URLs.
fn nvd_meta_url(url: &str) -> Option<String> {
    let name = url.rsplit('/').next()?;
    let stem = name.strip_prefix("nvdcve-")?.strip_suffix(".json.gz")?;
    let base = &url[..url.len() - name.len()];
    Some(format!("{base}nvdcve-{stem}.meta"))
}

/// Fetches the `.meta` file of an NVD feed file and checks the feed against it.
fn check_nvd_meta(
    cache: &mut Cache,
    agent: &ureq::Agent,
    meta_url: &str,
    feed: &Path,
    report: &mut UpdateReport,
    progress: &mut dyn Progress,
) -> Result<(), DbError> {
    let meta_name = crate::update::base_name(meta_url);
    let meta = fetch_recorded(cache, agent, meta_url, &meta_name, None, report, progress)?;
    let text = read_index(meta_url, &meta.path)?;
    verify_nvd_meta(meta_url, &text, feed)
}

/// Checks a gzip-compressed NVD feed file against its `.meta` file, whose
/// `sha256:` line is the SHA-256 of the uncompressed JSON.
pub(crate) fn verify_nvd_meta(meta_url: &str, meta: &str, feed: &Path) -> Result<(), DbError> {
    let failed = |message: String| DbError::Download {
        url: meta_url.to_string(),
        message,
    };
    let expected = meta
        .lines()
        .find_map(|line| line.trim().strip_prefix("sha256:"))
        .map(str::trim)
        .filter(|digest| digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| failed("the .meta file has no valid sha256: line".into()))?;
    let file = std::fs::File::open(feed).map_err(|source| DbError::Io {
        action: "open",
        path: feed.to_path_buf(),
        source,
    })?;
    let mut decoder = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut decoder, &mut hasher).map_err(|e| {
        failed(format!(
            "failed to decompress {} to check it: {e}",
            feed.display()
        ))
    })?;
    let actual = format!("{:x}", sha2::Digest::finalize(hasher));
    if !actual.eq_ignore_ascii_case(expected) {
        return Err(failed(format!(
            "SHA-256 mismatch: the .meta file lists {expected} for the uncompressed JSON, the download has {actual}"
        )));
    }
    Ok(())
}

/// Fetches one URL through the cache and adds the outcome to `report.fetches`.
fn fetch_recorded(
    cache: &mut Cache,
    agent: &ureq::Agent,
    url: &str,
    file_name: &str,
    expected: Option<&str>,
    report: &mut UpdateReport,
    progress: &mut dyn Progress,
) -> Result<Fetched, DbError> {
    let result = cache.fetch(agent, url, file_name, expected, progress);
    let status = match &result {
        Ok(fetched) => fetched.status.clone(),
        Err(error) => FetchStatus::Failed(error.to_string()),
    };
    report.fetches.push(Fetch {
        url: url.to_string(),
        status,
    });
    result
}

fn read_index(url: &str, path: &Path) -> Result<String, DbError> {
    let file = std::fs::File::open(path).map_err(|source| DbError::Io {
        action: "open",
        path: path.to_path_buf(),
        source,
    })?;
    let mut text = String::new();
    file.take(MAX_INDEX_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| DbError::Download {
            url: url.to_string(),
            message: format!("the index is not UTF-8 text ({e})"),
        })?;
    Ok(text)
}

/// Parses `sha256sum` output: `<64 hex digits>  <relative path>` per line.
fn parse_sha256sums(url: &str, text: &str) -> Result<Vec<(String, String)>, DbError> {
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let invalid = || DbError::Index {
            url: url.to_string(),
            line: number + 1,
            text: line.chars().take(80).collect(),
        };
        let (digest, path) = line.split_once(char::is_whitespace).ok_or_else(invalid)?;
        let path = path.trim_start().trim_start_matches('*');
        let safe =
            !path.is_empty() && !path.starts_with('/') && !path.split('/').any(|part| part == "..");
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
        let text = format!(
            "{}  feeds/a.xml.bz2\n{} *b.json\n",
            "a".repeat(64),
            "B".repeat(64)
        );
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

    #[test]
    fn meta_url_sits_beside_the_feed() {
        assert_eq!(
            nvd_meta_url("https://nvd.nist.gov/feeds/json/cve/2.0/nvdcve-2.0-2024.json.gz")
                .as_deref(),
            Some("https://nvd.nist.gov/feeds/json/cve/2.0/nvdcve-2.0-2024.meta")
        );
        assert_eq!(
            nvd_meta_url("https://nvd.nist.gov/feeds/json/cve/2.0/nvdcve-2.0-modified.meta"),
            None
        );
        assert_eq!(
            nvd_meta_url("https://www.cisa.gov/known_exploited_vulnerabilities.json"),
            None
        );
    }

    #[test]
    fn nvd_feed_matches_its_meta() {
        let feed = vulnloop_testdata::data_file("feeds/nvd-json-1.1/nvdcve-1.1-recent.json.gz");
        let meta = std::fs::read_to_string(vulnloop_testdata::data_file(
            "feeds/nvd-json-1.1/nvdcve-1.1-recent.meta",
        ))
        .expect("meta file");
        verify_nvd_meta("u", &meta, &feed).expect("NVD's own digest matches");

        let other = std::fs::read_to_string(vulnloop_testdata::data_file(
            "feeds/nvd-json-1.1/nvdcve-1.1-modified.meta",
        ))
        .expect("meta file");
        let error = verify_nvd_meta("u", &other, &feed).expect_err("another file's digest");
        assert!(error.to_string().contains("SHA-256 mismatch"), "{error}");
        let error = verify_nvd_meta("u", "lastModifiedDate:2025\n", &feed).expect_err("no digest");
        assert!(error.to_string().contains("no valid sha256"), "{error}");
    }
}
