//! Files whose content does not match their names: each must give an error that
//! names the file, never a panic or a silent empty result.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use vulnloop_feeds::{FeedError, FeedKind};

/// File names of every feed kind, compressed and not.
const FEED_NAMES: [(&str, FeedKind); 11] = [
    ("oval-definitions-bookworm.xml.bz2", FeedKind::DebianOval),
    ("oval-definitions-bookworm.xml", FeedKind::DebianOval),
    ("com.ubuntu.jammy.usn.oval.xml.zst", FeedKind::UbuntuOval),
    ("com.ubuntu.jammy.usn.oval.xml", FeedKind::UbuntuOval),
    ("debian12-changelog-osv.tar.zst", FeedKind::Osv),
    ("DSA-5380-1.json", FeedKind::Osv),
    ("tracker.json.gz", FeedKind::DebianTracker),
    ("tracker.json", FeedKind::DebianTracker),
    (
        "debian-security-support-12+2026.06.30-lists.tar.zst",
        FeedKind::DebianSecuritySupport,
    ),
    (
        "security-tracker-data-DSA-list.zst",
        FeedKind::DebianAdvisoryList,
    ),
    ("list", FeedKind::DebianAdvisoryList),
];

/// Deterministic bytes that are no known format (a simple linear congruential sequence).
fn garbage() -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    (0..4096)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            state.to_be_bytes()[0]
        })
        .collect()
}

fn temp_dir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("no temporary directory: {error}"),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    assert!(
        fs::write(&path, bytes).is_ok(),
        "cannot write {}",
        path.display()
    );
    path
}

/// Parses and returns the error, failing when parsing succeeds.
fn error_of(path: &Path, kind: FeedKind) -> FeedError {
    match vulnloop_feeds::parse_file(path, kind, &mut |_| {}) {
        Ok(summary) => panic!("{} parsed as {kind:?}: {summary:?}", path.display()),
        Err(error) => error,
    }
}

fn assert_names_file(error: &FeedError, path: &Path) {
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "message does not name the file: {message}"
    );
}

#[test]
fn garbage_with_each_feed_name_is_an_error() {
    let dir = temp_dir();
    for (name, kind) in FEED_NAMES {
        let path = write(dir.path(), name, &garbage());
        let error = error_of(&path, kind);
        assert_names_file(&error, &path);
    }
}

#[test]
fn truncated_compressed_files_are_errors() {
    let dir = temp_dir();
    let cases = [
        (
            "feeds/debian/oval-definitions-bookworm.xml.bz2",
            FeedKind::DebianOval,
        ),
        (
            "feeds/ubuntu-oval/com.ubuntu.noble.usn.oval.xml.zst",
            FeedKind::UbuntuOval,
        ),
        (
            "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst",
            FeedKind::Osv,
        ),
    ];
    for (relative, kind) in cases {
        let bytes = fs::read(vulnloop_testdata::data_file(relative)).unwrap_or_default();
        assert!(bytes.len() > 1000, "{relative} is too small");
        let name = relative.rsplit('/').next().unwrap_or(relative);
        let path = write(dir.path(), name, &bytes[..bytes.len() / 2]);
        let error = error_of(&path, kind);
        assert_names_file(&error, &path);
        assert!(
            matches!(error, FeedError::Read { .. } | FeedError::Archive { .. }),
            "{error}"
        );
    }
}

#[test]
fn truncated_xml_reports_a_line() {
    let dir = temp_dir();
    let xml =
        vulnloop_testdata::read_decompressed("feeds/ubuntu-oval/com.ubuntu.noble.usn.oval.xml.zst");
    let path = write(
        dir.path(),
        "com.ubuntu.noble.usn.oval.xml",
        &xml[..xml.len() / 2],
    );
    let error = error_of(&path, FeedKind::UbuntuOval);
    assert_names_file(&error, &path);
    assert!(
        matches!(error, FeedError::Xml { line, .. } if line > 1),
        "{error}"
    );
}

#[test]
fn json_named_as_xml_rejected() {
    let dir = temp_dir();
    let json = br#"{"id": "DSA-1", "affected": []}"#;
    for (name, kind) in [
        ("oval-definitions-bookworm.xml", FeedKind::DebianOval),
        ("com.ubuntu.jammy.usn.oval.xml", FeedKind::UbuntuOval),
    ] {
        let path = write(dir.path(), name, json);
        let error = error_of(&path, kind);
        assert_names_file(&error, &path);
        assert!(matches!(error, FeedError::NotFeed { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("remove it from the feed directory"),
            "{error}"
        );
    }
}

#[test]
fn xml_where_json_is_expected_reports_position() {
    let dir = temp_dir();
    let path = write(
        dir.path(),
        "tracker.json",
        b"<?xml version='1.0'?>\n<oval_definitions/>\n",
    );
    let error = error_of(&path, FeedKind::DebianTracker);
    assert!(
        matches!(
            error,
            FeedError::Json {
                line: 1,
                column: 1,
                ..
            }
        ),
        "{error}"
    );
    let osv = write(dir.path(), "DSA-1.json", b"<oval_definitions/>");
    assert!(matches!(
        error_of(&osv, FeedKind::Osv),
        FeedError::Json { .. }
    ));
}

#[test]
fn other_vendor_oval_is_not_a_feed() {
    let dir = temp_dir();
    let xml =
        vulnloop_testdata::read_decompressed("feeds/ubuntu-oval/com.ubuntu.noble.usn.oval.xml.zst");
    let path = write(dir.path(), "oval-definitions-bookworm.xml", &xml);
    let error = error_of(&path, FeedKind::DebianOval);
    assert!(matches!(error, FeedError::NotFeed { .. }), "{error}");
    assert!(
        error.to_string().contains("Canonical USN OVAL Generator"),
        "{error}"
    );

    let rhel = vulnloop_testdata::data_file("feeds/redhat-oval/com.redhat.rhsa-RHEL9.xml.zst");
    let error = error_of(&rhel, FeedKind::UbuntuOval);
    assert!(matches!(error, FeedError::NotFeed { .. }), "{error}");
}

#[test]
fn tracker_document_is_not_osv() {
    let dir = temp_dir();
    let tracker = br#"{"openssl": {"CVE-2099-1": {"releases": {}}}}"#;
    let path = write(dir.path(), "DSA-1.json", tracker);
    let error = error_of(&path, FeedKind::Osv);
    assert!(matches!(error, FeedError::Json { .. }), "{error}");
    let osv = br#"{"id": "DSA-1", "affected": []}"#;
    let path = write(dir.path(), "json", osv);
    let error = error_of(&path, FeedKind::DebianTracker);
    assert!(matches!(error, FeedError::Json { .. }), "{error}");
}

#[test]
fn bad_entry_in_osv_archive_is_skipped() {
    let dir = temp_dir();
    let path = dir.path().join("debian-osv.tar");
    let good =
        br#"{"id": "DSA-1", "affected": [{"package": {"ecosystem": "Debian:12", "name": "p"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0-1"}]}]}]}"#;
    let entries: [(&str, &[u8]); 4] = [
        ("osv/DSA-1.json", good),
        ("osv/DSA-2.json", b"{ not json"),
        (
            "osv/DSA-3.json",
            br#"{"id": "DSA-3", "affected": [{"package": {"ecosystem": "Debian:12", "name": "p"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "not a version"}]}]}]}"#,
        ),
        ("README.md", b"not a record"),
    ];
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        assert!(builder.append_data(&mut header, name, content).is_ok());
    }
    let archive = builder.into_inner().unwrap_or_default();
    assert!(fs::write(&path, archive).is_ok());

    let (summary, advisories) = support::read_path(&path, FeedKind::Osv);
    assert_eq!(summary.records, 1);
    assert_eq!(advisories[0].id, "DSA-1");
    assert_eq!(summary.skipped.len(), 2, "{:?}", summary.skipped);
    assert!(
        summary.skipped[0].contains("osv/DSA-2.json"),
        "{:?}",
        summary.skipped
    );
    assert!(
        summary.skipped[1].contains("not a version"),
        "{:?}",
        summary.skipped
    );
}

#[test]
fn unsupported_archives_are_errors() {
    let dir = temp_dir();
    let zip = write(dir.path(), "all.zip", &garbage());
    assert!(matches!(
        error_of(&zip, FeedKind::Osv),
        FeedError::UnsupportedFormat { format: "zip", .. }
    ));
    let xz = write(dir.path(), "osv-all.tar.xz", &garbage());
    assert!(matches!(
        error_of(&xz, FeedKind::Osv),
        FeedError::UnsupportedFormat { format: "xz", .. }
    ));
    let tar = write(dir.path(), "oval.tar", &[]);
    assert!(matches!(
        error_of(&tar, FeedKind::DebianOval),
        FeedError::WrongLayout { .. }
    ));
    let empty = write(dir.path(), "debian-osv.tar", &[]);
    assert!(matches!(
        error_of(&empty, FeedKind::Osv),
        FeedError::NotFeed { .. }
    ));
}

#[test]
fn missing_file_is_a_read_error() {
    let dir = temp_dir();
    let path = dir.path().join("oval-definitions-bookworm.xml.bz2");
    let error = error_of(&path, FeedKind::DebianOval);
    assert!(matches!(error, FeedError::Read { .. }), "{error}");
    assert_names_file(&error, &path);
}

#[test]
fn json_named_as_advisory_list_rejected() {
    let dir = temp_dir();
    let path = write(dir.path(), "list", br#"{"id": "DSA-1", "affected": []}"#);
    let error = error_of(&path, FeedKind::DebianAdvisoryList);
    assert!(matches!(error, FeedError::NotFeed { .. }), "{error}");
    assert!(error.to_string().contains("line 1"), "{error}");
}
