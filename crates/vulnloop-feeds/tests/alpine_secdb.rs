//! Alpine secdb JSON: the archive of every branch v3.2 to v3.21 and edge,
//! single branch files and spot checks of real entries.

mod support;

use std::path::PathBuf;

use support::{entry, find, read_path, read_shared};
use vulnloop_advisory::{Advisory, PackageKind, Status};
use vulnloop_feeds::{detect, FeedKind};

const ARCHIVE: &str = "feeds/alpine-secdb/alpine-secdb-v3.2-to-v3.21-and-edge.tar.zst";

fn fixed(version: &str) -> Status {
    Status::Fixed {
        fixed: version.to_string(),
    }
}

/// Unpacks the archive and returns the directory and the path of one branch file.
fn branch_file(relative: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = vulnloop_testdata::unpack(ARCHIVE);
    let path = dir.path().join(relative);
    assert!(path.is_file(), "{} missing", path.display());
    (dir, path)
}

fn read_branch(relative: &str) -> Vec<Advisory> {
    let (_dir, path) = branch_file(relative);
    read_path(&path, FeedKind::AlpineSecdb).1
}

#[test]
fn archive_reads_every_branch() {
    let (summary, advisories) = read_shared(ARCHIVE, FeedKind::AlpineSecdb);

    assert_eq!(summary.kind, FeedKind::AlpineSecdb);
    // One advisory per vulnerability id and branch file, counted independently
    // from the JSON: 85,270 secfix lines across 41 files.
    assert_eq!(summary.records, 74_234);
    assert_eq!(advisories.len(), 74_234);
    let entries: usize = advisories
        .iter()
        .map(|advisory| advisory.affected.len())
        .sum();
    assert_eq!(entries, 85_270);
    assert_eq!(summary.skipped, Vec::<String>::new());
    assert_eq!(summary.snapshot, None);
}

#[test]
fn branch_files_have_expected_counts() {
    let cases = [
        ("alpine/v3.21/main.json", 2454, 2533),
        ("alpine/v3.21/community.json", 4085, 5422),
        ("alpine/edge/main.json", 2457, 2536),
        ("alpine/v3.2/main.json", 305, 305),
        ("alpine/v3.3/community.json", 0, 0),
    ];
    let dir = vulnloop_testdata::unpack(ARCHIVE);
    for (relative, records, entries) in cases {
        let (summary, advisories) = read_path(&dir.path().join(relative), FeedKind::AlpineSecdb);
        assert_eq!(summary.records, records, "{relative}");
        let count: usize = advisories
            .iter()
            .map(|advisory| advisory.affected.len())
            .sum();
        assert_eq!(count, entries, "{relative}");
    }
}

#[test]
fn openssl_fix_is_source_package() {
    let advisories = read_branch("alpine/v3.21/main.json");
    let advisory = find(&advisories, "CVE-2024-9143");

    assert_eq!(advisory.source, "alpine-secdb");
    assert_eq!(advisory.cves, ["CVE-2024-9143"]);
    let openssl = entry(advisory, "openssl", "alpine:3.21");
    assert_eq!(openssl.kind, PackageKind::Source);
    assert_eq!(openssl.status, fixed("3.3.2-r3"));
    assert_eq!(openssl.channel, None);
    assert_eq!(openssl.note.as_deref(), Some("repository main"));
}

#[test]
fn zero_version_is_not_affected() {
    let advisories = read_branch("alpine/v3.21/main.json");
    let advisory = find(&advisories, "CVE-2021-26720");
    let avahi = entry(advisory, "avahi", "alpine:3.21");
    assert_eq!(avahi.status, Status::NotAffected);
}

#[test]
fn extra_ids_go_to_note() {
    let advisories = read_branch("alpine/v3.21/main.json");
    let advisory = find(&advisories, "CVE-2021-27219");
    let glib = entry(advisory, "glib", "alpine:3.21");
    assert_eq!(glib.status, fixed("2.66.6-r0"));
    assert_eq!(
        glib.note.as_deref(),
        Some("repository main; also GHSL-2021-045")
    );
}

#[test]
fn edge_branch_maps_to_edge() {
    let advisories = read_branch("alpine/edge/community.json");
    let releases: std::collections::BTreeSet<&str> = advisories
        .iter()
        .flat_map(|advisory| &advisory.affected)
        .map(|entry| entry.ecosystem.as_str())
        .collect();
    assert_eq!(releases.into_iter().collect::<Vec<_>>(), ["alpine:edge"]);
}

#[test]
fn non_cve_ids_have_no_cves() {
    let (_, advisories) = read_shared(ARCHIVE, FeedKind::AlpineSecdb);
    let xsa = advisories
        .iter()
        .find(|advisory| advisory.id.starts_with("XSA-"));
    let Some(xsa) = xsa else {
        panic!("no XSA advisory in the archive")
    };
    assert_eq!(xsa.cves, Vec::<String>::new());
}

#[test]
fn branch_file_is_detected_by_content() {
    let (_dir, path) = branch_file("alpine/v3.19/community.json");
    assert_eq!(detect(&path), Some(FeedKind::AlpineSecdb));
}
