//! Vendor statuses other than "fixed" reach the report: the Debian security
//! tracker's open and ignored issues, and Debian's security-support lists.

mod common;

use common::{build_db, feed_dir, findings, scan_json, Seen};

const SECURITY_SUPPORT: &str = "feeds/debian/debian-security-support-12+2026.06.30-lists.tar.zst";

#[test]
fn tracker_statuses_kept() {
    let samples =
        vulnloop_testdata::unpack("feeds/format-samples/vuls-data-update-fetch-fixtures.tar.zst");
    let feeds = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        samples
            .path()
            .join("pkg/fetch/debian/tracker/api/testdata/fixtures/advisory.json"),
        feeds.path().join("debian-security-tracker.json"),
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let status = "Package: 389-ds-base\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.3.5.14-1\n\n\
                  Package: wordpress\nStatus: install ok installed\nArchitecture: all\nVersion: 5.7.5+dfsg1-0+deb11u1\n";
    let root = common::rootfs(
        "ID=debian\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\n",
        status,
    );

    let (code, report) = scan_json(root.path(), &db, &[]);
    let seen = findings(&report);

    assert_eq!(code, 1, "coverage: {}", report["coverage"]);
    let expected = vec![
        Seen {
            package: "389-ds-base".into(),
            id: "CVE-2016-5405".into(),
            status: "fix_available".into(),
            fixed: Some("1.3.5.15-1".into()),
            installed: "1.3.5.14-1".into(),
        },
        Seen {
            package: "389-ds-base".into(),
            id: "CVE-2016-5416".into(),
            status: "will_not_fix".into(),
            fixed: None,
            installed: "1.3.5.14-1".into(),
        },
    ];
    assert_eq!(
        seen, expected,
        "CVE-2012-0833 and the wordpress TEMP issue are not affected"
    );
    let ignored = &report["packages"][0]["findings"][1];
    assert_eq!(
        ignored["note"], "no-dsa: Minor issue",
        "the vendor's no-DSA wording is kept: {ignored}"
    );
}

#[test]
fn ignore_unfixed_hides_and_counts() {
    let samples =
        vulnloop_testdata::unpack("feeds/format-samples/vuls-data-update-fetch-fixtures.tar.zst");
    let feeds = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        samples
            .path()
            .join("pkg/fetch/debian/tracker/api/testdata/fixtures/advisory.json"),
        feeds.path().join("debian-security-tracker.json"),
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let status = "Package: 389-ds-base\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.3.5.14-1\n";
    let root = common::rootfs("ID=debian\nVERSION_ID=\"11\"\n", status);

    let (_, report) = scan_json(root.path(), &db, &["--ignore-unfixed"]);

    let statuses: Vec<String> = findings(&report).into_iter().map(|f| f.status).collect();
    assert_eq!(statuses, ["fix_available"]);
    assert_eq!(
        report["summary"]["hidden"], 1,
        "the hidden finding is counted"
    );
}

#[test]
fn security_support_lists_become_findings() {
    let machine =
        vulnloop_testdata::unpack("inventories/linux/debian12-build-machine-dpkg.tar.zst");
    let root = machine.path().join("debian12-build-machine");
    let feeds = feed_dir(&[SECURITY_SUPPORT]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    let (code, report) = scan_json(&root, &db, &[]);
    let packages: Vec<(String, String)> = findings(&report)
        .into_iter()
        .map(|f| (f.package, f.status))
        .collect();

    assert_eq!(code, 1);
    assert_eq!(
        packages,
        [
            ("binutils".to_string(), "unsupported".to_string()),
            ("rust-rav1e".to_string(), "unsupported".to_string())
        ],
        "binutils is on the limited list, rust-rav1e matches its rust.* family"
    );
}
