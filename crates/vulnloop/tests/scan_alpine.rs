//! Acceptance tests of `vulnloop scan` on Alpine: real apk databases against
//! the secdb of their branch.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{build_db, feed_dir, findings, scan_json};
use vulnloop_version::Scheme;

const SECDB: &str = "feeds/alpine-secdb/alpine-secdb-v3.2-to-v3.21-and-edge.tar.zst";

/// Installed (origin, version) pairs read from an apk database with a small
/// parser of its own, so the test does not trust the collector it checks.
fn installed_origins(db: &str) -> Vec<(String, String)> {
    let mut origins = Vec::new();
    for record in db.split("\n\n") {
        let field = |key: &str| {
            record
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(str::to_string)
        };
        if let (Some(name), Some(version)) = (field("P:"), field("V:")) {
            origins.push((field("o:").unwrap_or(name), version));
        }
    }
    origins
}

/// (origin, CVE) pairs that the branch's secdb fixes in a version newer than the installed one.
fn expected_findings(
    secdb: &Path,
    branch: &str,
    installed: &[(String, String)],
) -> BTreeSet<(String, String)> {
    let mut expected = BTreeSet::new();
    for repository in ["main", "community"] {
        let path = secdb.join(format!("alpine/{branch}/{repository}.json"));
        let document: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for entry in document["packages"].as_array().unwrap() {
            let name = entry["pkg"]["name"].as_str().unwrap();
            let Some(secfixes) = entry["pkg"]["secfixes"].as_object() else {
                continue;
            };
            for (origin, version) in installed.iter().filter(|(origin, _)| origin == name) {
                for (fixed, ids) in secfixes {
                    let newer = fixed != "0"
                        && Scheme::Apk
                            .compare(version, fixed)
                            .map(|o| o.is_lt())
                            .unwrap_or(false);
                    if !newer {
                        continue;
                    }
                    for id in ids.as_array().unwrap() {
                        let cve = id
                            .as_str()
                            .unwrap()
                            .split_whitespace()
                            .next()
                            .unwrap()
                            .to_string();
                        expected.insert((origin.clone(), cve));
                    }
                }
            }
        }
    }
    expected
}

fn scan_apk_database(relative_db: &str, archive: &str, version_id: &str, branch: &str) {
    let unpacked = vulnloop_testdata::unpack(archive);
    let db_text = std::fs::read_to_string(unpacked.path().join(relative_db)).unwrap();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::create_dir_all(root.path().join("lib/apk/db")).unwrap();
    std::fs::write(
        root.path().join("etc/os-release"),
        format!("ID=alpine\nVERSION_ID={version_id}\n"),
    )
    .unwrap();
    std::fs::write(root.path().join("lib/apk/db/installed"), &db_text).unwrap();
    let secdb = vulnloop_testdata::unpack(SECDB);
    let feeds = feed_dir(&[SECDB]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    let expected = expected_findings(secdb.path(), branch, &installed_origins(&db_text));
    let (_, report) = scan_json(root.path(), &db, &[]);
    let seen: BTreeSet<(String, String)> = findings(&report)
        .into_iter()
        .filter(|f| f.status == "fix_available")
        .map(|f| (f.package, f.id))
        .collect();

    assert!(
        !expected.is_empty(),
        "the {branch} secdb fixes some of these packages later"
    );
    assert_eq!(seen, expected);
    let command = report["packages"][0]["fix_command"]
        .as_str()
        .unwrap_or_default();
    assert!(command.starts_with("apk add --upgrade "), "{command}");
}

#[test]
fn trivy_alpine_3_4_database() {
    scan_apk_database(
        "trivy-testdata/apk/installed",
        "inventories/linux/trivy-testdata-dpkg-apk-osrelease.tar.zst",
        "3.4.6",
        "v3.4",
    );
}

#[test]
fn syft_alpine_3_16_database() {
    scan_apk_database(
        "syft-testdata/syft/pkg/cataloger/alpine/testdata/multiple-2/lib/apk/db/installed",
        "inventories/linux/syft-testdata-dpkg-apk-rpm-osrelease.tar.zst",
        "3.16.2",
        "v3.16",
    );
}

#[test]
fn syft_alpine_3_19_database() {
    scan_apk_database(
        "syft-testdata/syft/pkg/cataloger/alpine/testdata/multiple-1/lib/apk/db/installed",
        "inventories/linux/syft-testdata-dpkg-apk-rpm-osrelease.tar.zst",
        "3.19.1",
        "v3.19",
    );
}

#[test]
fn repositories_file_decides_branch() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc/apk")).unwrap();
    std::fs::create_dir_all(root.path().join("lib/apk/db")).unwrap();
    std::fs::write(
        root.path().join("etc/os-release"),
        "ID=alpine\nVERSION_ID=3.21_alpha20241115\n",
    )
    .unwrap();
    std::fs::write(
        root.path().join("etc/apk/repositories"),
        "# mirrors\nhttps://dl-cdn.alpinelinux.org/alpine/v3.16/main\nhttps://dl-cdn.alpinelinux.org/alpine/v3.16/community\n",
    )
    .unwrap();
    std::fs::write(
        root.path().join("lib/apk/db/installed"),
        "P:musl\nV:1.2.3-r0\nA:x86_64\no:musl\n",
    )
    .unwrap();

    let output = common::vulnloop(&[
        "inventory",
        "--root",
        root.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    let inventory: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    assert_eq!(inventory["host"]["os"]["version_id"], "3.16");
}
