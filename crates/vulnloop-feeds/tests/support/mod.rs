//! Helpers shared by the integration tests: read a feed and look up records.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use vulnloop_advisory::{Advisory, Affected};
use vulnloop_feeds::{FeedKind, FeedSummary};

/// Parses a file, failing the test on an error, and prints how long it took.
pub fn read_path(path: &Path, kind: FeedKind) -> (FeedSummary, Vec<Advisory>) {
    let start = Instant::now();
    let mut advisories = Vec::new();
    let summary =
        match vulnloop_feeds::parse_file(path, kind, &mut |advisory| advisories.push(advisory)) {
            Ok(summary) => summary,
            Err(error) => panic!("failed to parse {}: {error}", path.display()),
        };
    eprintln!("parsed {} in {:?}", path.display(), start.elapsed());
    (summary, advisories)
}

/// Parses a file of the shared data directory.
pub fn read_shared(relative: &str, kind: FeedKind) -> (FeedSummary, Vec<Advisory>) {
    read_path(&vulnloop_testdata::data_file(relative), kind)
}

/// Returns the only advisory with this id.
pub fn find<'a>(advisories: &'a [Advisory], id: &str) -> &'a Advisory {
    let mut found = advisories.iter().filter(|advisory| advisory.id == id);
    let Some(first) = found.next() else {
        panic!("advisory {id} not found")
    };
    assert!(
        found.next().is_none(),
        "advisory {id} appears more than once"
    );
    first
}

/// Returns the advisory with this exact title.
pub fn find_title<'a>(advisories: &'a [Advisory], title: &str) -> &'a Advisory {
    match advisories
        .iter()
        .find(|advisory| advisory.title.as_deref() == Some(title))
    {
        Some(advisory) => advisory,
        None => panic!("no advisory titled {title:?}"),
    }
}

/// Returns the entry of an advisory for this package and release.
pub fn entry<'a>(advisory: &'a Advisory, package: &str, ecosystem: &str) -> &'a Affected {
    let found = advisory
        .affected
        .iter()
        .find(|entry| entry.package == package && entry.ecosystem.as_str() == ecosystem);
    match found {
        Some(entry) => entry,
        None => panic!("{} has no entry for {package} in {ecosystem}", advisory.id),
    }
}

/// Unpacks the vuls-data-update format samples into a temporary directory.
pub fn format_samples() -> tempfile::TempDir {
    vulnloop_testdata::unpack("feeds/format-samples/vuls-data-update-fetch-fixtures.tar.zst")
}

/// Returns the path of a file inside the unpacked format samples.
pub fn sample(dir: &tempfile::TempDir, relative: &str) -> PathBuf {
    let path = dir.path().join(relative);
    assert!(path.is_file(), "format sample missing: {}", path.display());
    path
}
