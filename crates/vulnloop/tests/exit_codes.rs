//! The exit code contract: 0 clean, 1 findings, 2 failure or incomplete coverage.

#![allow(clippy::unwrap_used)]

mod common;

use common::{
    build_db, code, feed_dir, findings, scan_json, stderr, stdout, vulnloop, ChangelogHost,
};

const CHANGELOG_OSV: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";

fn changelog_db(work: &std::path::Path) -> std::path::PathBuf {
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    build_db(feeds.path(), work)
}

#[test]
fn clean_host_exits_zero() {
    let work = tempfile::tempdir().unwrap();
    let db = changelog_db(work.path());
    // expat at the version that fixes every expat record of the feed.
    let status = "Package: libexpat1\nStatus: install ok installed\nArchitecture: amd64\nSource: expat\nVersion: 9.9.9-1\n";
    let root = common::rootfs("ID=debian\nVERSION_ID=\"12\"\n", status);

    let (exit, report) = scan_json(root.path(), &db, &[]);

    assert_eq!(exit, 0, "coverage: {}", report["coverage"]);
    assert_eq!(report["summary"]["findings"], 0);
}

#[test]
fn exit_code_flag_sets_findings_code() {
    let host = ChangelogHost::new();
    let work = tempfile::tempdir().unwrap();
    let db = changelog_db(work.path());

    let (custom, _) = scan_json(host.root.path(), &db, &["--exit-code", "5"]);
    let (disabled, _) = scan_json(host.root.path(), &db, &["--exit-code", "0"]);

    assert_eq!(custom, 5);
    assert_eq!(disabled, 0);
}

#[test]
fn unsupported_release_exits_two() {
    let work = tempfile::tempdir().unwrap();
    let db = changelog_db(work.path());
    let status = "Package: libexpat1\nStatus: install ok installed\nArchitecture: amd64\nSource: expat\nVersion: 2.2.5-3\n";
    let root = common::rootfs("ID=ubuntu\nVERSION_ID=\"18.04\"\n", status);

    let output = vulnloop(&[
        "scan",
        "--root",
        root.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);

    assert_eq!(code(&output), 2);
    assert!(
        stdout(&output).contains("no advisory data for ubuntu:18.04"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn stale_database_exits_two() {
    let host = ChangelogHost::new();
    let work = tempfile::tempdir().unwrap();
    let db = changelog_db(work.path());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE meta SET value = '2020-01-01T00:00:00Z' WHERE key = 'built_at'",
        [],
    )
    .unwrap();
    drop(conn);

    let (exit, report) = scan_json(host.root.path(), &db, &[]);
    let (unchecked, _) = scan_json(host.root.path(), &db, &["--max-db-age", "0"]);

    assert_eq!(exit, 2);
    let notes = report["coverage"]["notes"].to_string();
    assert!(notes.contains(" days "), "{notes}");
    assert!(notes.contains(" hours old (limit 7 days)"), "{notes}");
    assert!(notes.contains("`vulnloop db update --db "), "{notes}");
    assert_eq!(unchecked, 1, "--max-db-age 0 disables the check");
}

#[test]
fn inventory_file_scans_like_root() {
    let host = ChangelogHost::new();
    let work = tempfile::tempdir().unwrap();
    let db = changelog_db(work.path());
    let inventory = vulnloop(&[
        "inventory",
        "--root",
        host.root.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&inventory), 0, "{}", stderr(&inventory));
    let file = work.path().join("inventory.json");
    std::fs::write(&file, inventory.stdout).unwrap();

    let from_file = vulnloop(&[
        "scan",
        "--inventory",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let (_, from_root) = scan_json(host.root.path(), &db, &[]);
    let from_file: serde_json::Value = serde_json::from_str(&stdout(&from_file)).unwrap();

    assert_eq!(findings(&from_file), findings(&from_root));
}

#[test]
fn garbled_inventory_file_named() {
    let work = tempfile::tempdir().unwrap();
    let db = changelog_db(work.path());
    let file = work.path().join("inventory.json");
    std::fs::write(&file, "{\"schema_version\": 1,\n \"host\": [}").unwrap();

    let output = vulnloop(&[
        "scan",
        "--inventory",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);

    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("inventory.json is not valid inventory JSON (line 2"),
        "{}",
        stderr(&output)
    );
}
