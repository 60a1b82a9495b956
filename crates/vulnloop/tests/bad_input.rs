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
    let root = common::rootfs(
        &std::fs::read_to_string(host.root.path().join("etc/os-release")).unwrap(),
        &cut,
    );
    let output = vulnloop(&[
        "scan",
        "--root",
        root.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);

    assert_no_panic(&output);
    assert_eq!(code(&output), 2, "{}", stdout(&output));
    assert!(
        stdout(&output).contains("incomplete: inventory incomplete: /var/lib/dpkg/status:"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn unknown_os_suggests_flag() {
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let root = tempfile::tempdir().unwrap();

    let output = vulnloop(&[
        "scan",
        "--root",
        root.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);

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
    assert!(
        stderr(&output).contains("`vulnloop db update --db "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn corrupt_database_says_update() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("advisories.db");
    std::fs::write(
        &db,
        b"this is not an SQLite database, it is a text file of some length",
    )
    .unwrap();

    let output = vulnloop(&["scan", "--db", db.to_str().unwrap()]);

    assert_no_panic(&output);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("`vulnloop db update --db "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn mislabeled_feed_named_and_others_imported() {
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    std::fs::write(
        feeds.path().join("oval-definitions-bookworm.xml.bz2"),
        b"plain text, not bzip2",
    )
    .unwrap();
    std::fs::write(
        feeds.path().join("com.ubuntu.jammy.usn.oval.xml"),
        b"{\"json\": \"not xml\"}",
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");

    let output = vulnloop(&[
        "db",
        "update",
        "--from",
        feeds.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);

    assert_no_panic(&output);
    assert_eq!(code(&output), 2, "a failed feed makes the update exit 2");
    assert!(
        stderr(&output).contains("oval-definitions-bookworm.xml.bz2"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("com.ubuntu.jammy.usn.oval.xml"),
        "{}",
        stderr(&output)
    );
    let status = vulnloop(&["db", "status", "--db", db.to_str().unwrap()]);
    assert!(
        stdout(&status).contains("osv"),
        "the good feed is imported: {}",
        stdout(&status)
    );
}

#[test]
fn failed_update_keeps_previous_database() {
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let before = std::fs::read(&db).unwrap();
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(
        broken.path().join("oval-definitions-bookworm.xml.bz2"),
        b"garbage",
    )
    .unwrap();

    let output = vulnloop(&[
        "db",
        "update",
        "--from",
        broken.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);

    assert_no_panic(&output);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("previous database"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the old database is untouched"
    );
}

#[test]
fn invalid_severity_rejected() {
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    let output = vulnloop(&["scan", "--db", db.to_str().unwrap(), "--severity", "urgent"]);

    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("invalid severity \"urgent\""),
        "{}",
        stderr(&output)
    );
}

#[test]
fn failed_feed_keeps_its_earlier_records() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&[
        CHANGELOG_OSV,
        "feeds/debian/debian-security-support-12+2026.06.30-lists.tar.zst",
    ]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let (_, before) = common::scan_json(host.root.path(), &db, &[]);
    let broken = feed_dir(&["feeds/debian/debian-security-support-12+2026.06.30-lists.tar.zst"]);
    std::fs::write(
        broken.path().join("debian12-changelog-osv.tar.zst"),
        b"not zstd",
    )
    .unwrap();

    let update = vulnloop(&[
        "db",
        "update",
        "--from",
        broken.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    let (exit, after) = common::scan_json(host.root.path(), &db, &[]);

    assert_no_panic(&update);
    assert_eq!(code(&update), 2);
    assert!(
        stderr(&update).contains("kept its 2299 records"),
        "{}",
        stderr(&update)
    );
    assert_eq!(exit, 1, "coverage: {}", after["coverage"]);
    assert_eq!(
        common::findings(&after),
        common::findings(&before),
        "the failed feed's findings remain"
    );
    assert!(
        after["coverage"]["notes"]
            .to_string()
            .contains("failed in the last database update"),
        "{}",
        after["coverage"]
    );
}

#[test]
fn failed_feed_without_earlier_records_is_incomplete() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&["feeds/debian/debian-security-support-12+2026.06.30-lists.tar.zst"]);
    std::fs::write(
        feeds.path().join("debian12-changelog-osv.tar.zst"),
        b"not zstd",
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");
    let update = vulnloop(&[
        "db",
        "update",
        "--from",
        feeds.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code(&update), 2);

    let (exit, report) = common::scan_json(host.root.path(), &db, &[]);

    assert_eq!(exit, 2);
    assert!(
        report["coverage"]["notes"]
            .to_string()
            .contains("records are missing"),
        "{}",
        report["coverage"]
    );
}

#[test]
fn single_feed_file_accepted() {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");
    let file = vulnloop_testdata::data_file(CHANGELOG_OSV);

    let output = vulnloop(&[
        "db",
        "update",
        "--from",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);

    assert_eq!(code(&output), 0, "{}", stderr(&output));
}

#[test]
fn empty_feed_directory_named() {
    let work = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");

    let output = vulnloop(&[
        "db",
        "update",
        "--from",
        empty.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);

    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains(empty.path().to_str().unwrap()),
        "{}",
        stderr(&output)
    );
}
