//! Bad input gets a clear error, the documented exit code and never a panic.

mod common;

use common::{build_db, code, feed_dir, stderr, stdout, vulnloop, ChangelogHost};

const CHANGELOG_OSV: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";

fn assert_no_panic(output: &std::process::Output) {
    assert!(!stderr(output).contains("panicked"), "{}", stderr(output));
}

#[test]
fn truncated_status_is_incomplete() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    // Cut the file inside a stanza's field name and add a line that is not a field.
    let status = host.status_text();
    let mut cut = status[..status.len() / 2].to_string();
    cut.push_str("\nthis line is garbled\n");
    let root = common::rootfs(&std::fs::read_to_string(host.root.path().join("etc/os-release")).unwrap(), &cut);
    let output = vulnloop(&["scan", "--root", root.path().to_str().unwrap(), "--db", db.to_str().unwrap()]);

    assert_no_panic(&output);
    assert_eq!(code(&output), 2, "{}", stdout(&output));
    assert!(stdout(&output).contains("incomplete: inventory incomplete: /var/lib/dpkg/status:"), "{}", stdout(&output));
}

#[test]
fn unknown_os_suggests_flag() {
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let root = tempfile::tempdir().unwrap();

    let output = vulnloop(&["scan", "--root", root.path().to_str().unwrap(), "--db", db.to_str().unwrap()]);

    assert_no_panic(&output);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("--os"), "{}", stderr(&output));
}

#[test]
fn os_flag_replaces_detection() {
    let host = ChangelogHost::new();
    std::fs::remove_file(host.root.path().join("etc/os-release")).unwrap();
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    let (exit, report) = common::scan_json(host.root.path(), &db, &["--os", "debian:12"]);

    assert_eq!(exit, 1, "coverage: {}", report["coverage"]);
    assert_eq!(report["coverage"]["ecosystem"], "debian:12");
}

#[test]
fn missing_database_says_update() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("absent.db");

    let output = vulnloop(&["scan", "--db", db.to_str().unwrap()]);

    assert_no_panic(&output);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("run `vulnloop db update`"), "{}", stderr(&output));
}

#[test]
fn corrupt_database_says_update() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("advisories.db");
    std::fs::write(&db, b"this is not an SQLite database, it is a text file of some length").unwrap();

    let output = vulnloop(&["scan", "--db", db.to_str().unwrap()]);

    assert_no_panic(&output);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("run `vulnloop db update`"), "{}", stderr(&output));
}

#[test]
fn mislabeled_feed_named_and_others_imported() {
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    std::fs::write(feeds.path().join("oval-definitions-bookworm.xml.bz2"), b"plain text, not bzip2").unwrap();
    std::fs::write(feeds.path().join("com.ubuntu.jammy.usn.oval.xml"), b"{\"json\": \"not xml\"}").unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");

    let output = vulnloop(&["db", "update", "--from", feeds.path().to_str().unwrap(), "--db", db.to_str().unwrap()]);

    assert_no_panic(&output);
    assert_eq!(code(&output), 2, "a failed feed makes the update exit 2");
    assert!(stderr(&output).contains("oval-definitions-bookworm.xml.bz2"), "{}", stderr(&output));
    assert!(stderr(&output).contains("com.ubuntu.jammy.usn.oval.xml"), "{}", stderr(&output));
    let status = vulnloop(&["db", "status", "--db", db.to_str().unwrap()]);
    assert!(stdout(&status).contains("osv"), "the good feed is imported: {}", stdout(&status));
}

#[test]
fn failed_update_keeps_previous_database() {
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let before = std::fs::read(&db).unwrap();
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("oval-definitions-bookworm.xml.bz2"), b"garbage").unwrap();

    let output = vulnloop(&["db", "update", "--from", broken.path().to_str().unwrap(), "--db", db.to_str().unwrap()]);

    assert_no_panic(&output);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("previous database"), "{}", stderr(&output));
    assert_eq!(std::fs::read(&db).unwrap(), before, "the old database is untouched");
}

#[test]
fn invalid_severity_rejected() {
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    let output = vulnloop(&["scan", "--db", db.to_str().unwrap(), "--severity", "urgent"]);

    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("invalid severity \"urgent\""), "{}", stderr(&output));
}
