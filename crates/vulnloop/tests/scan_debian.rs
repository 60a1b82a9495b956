//! Acceptance tests of `vulnloop scan` on real Debian data: the captured
//! Debian 12 host with its changelog-derived OSV records, this machine, and
//! the July 2023 bookworm OVAL against the build machine's package list.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{build_db, feed_dir, findings, scan_json, ChangelogHost, Seen};
use vulnloop_testdata::{dpkg_compare, read_dpkg_status, StatusEntry};

const CHANGELOG_OSV: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";
const BOOKWORM_OVAL: &str = "feeds/debian/oval-definitions-bookworm.xml.bz2";

/// Findings that the records should produce on a host, computed with the real dpkg.
///
/// A record is expected when its source package is installed with a source
/// version older than the fixed version. Kernel records never are, because
/// neither host runs a packaged Debian kernel.
fn expected_findings(
    entries: &[StatusEntry],
    records: &[(String, String, String, String)],
) -> Vec<Seen> {
    let mut installed: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for entry in entries {
        installed
            .entry(&entry.source_name)
            .or_default()
            .insert(&entry.source_version);
    }
    let mut candidates = Vec::new();
    for (_, cve, source, fixed) in records {
        if source == "linux" {
            continue;
        }
        for version in installed.get(source.as_str()).into_iter().flatten() {
            candidates.push((
                cve.clone(),
                source.clone(),
                version.to_string(),
                fixed.clone(),
            ));
        }
    }
    let pairs: Vec<(String, String)> = candidates
        .iter()
        .map(|(_, _, v, f)| (v.clone(), f.clone()))
        .collect();
    let verdicts = dpkg_compare(&pairs);
    let mut expected: Vec<Seen> = candidates
        .into_iter()
        .zip(verdicts)
        .filter(|(_, verdict)| verdict.is_lt())
        .map(|((cve, source, installed, fixed), _)| Seen {
            package: source,
            id: cve,
            status: "fix_available".into(),
            fixed: Some(fixed),
            installed,
        })
        .collect();
    expected.sort();
    expected
}

#[test]
fn changelog_host_reports_exactly_newer_fixes() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    let (code, report) = scan_json(host.root.path(), &db, &[]);
    let expected = expected_findings(&read_dpkg_status(&host.status_text()), &host.records());
    let seen = findings(&report);

    assert_eq!(
        code, 1,
        "findings present: exit code 1; coverage: {}",
        report["coverage"]
    );
    assert!(
        expected.len() > 200,
        "the captured host lacks hundreds of fixes, expected {}",
        expected.len()
    );
    common::assert_same_findings(&expected, &seen);
}

#[test]
fn changelog_host_names_well_known_packages() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    let (_, report) = scan_json(host.root.path(), &db, &[]);
    let packages: BTreeSet<String> = findings(&report).into_iter().map(|f| f.package).collect();
    for name in ["openssl", "expat", "postgresql-15", "cups"] {
        assert!(packages.contains(name), "{name} missing from {packages:?}");
    }
    assert!(
        !packages.contains("linux"),
        "linux-libc-dev is not a running kernel"
    );

    let openssl = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["package"] == "openssl")
        .unwrap();
    let binaries: Vec<&str> = openssl["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert!(binaries.contains(&"libssl3"), "{binaries:?}");
    assert!(binaries.contains(&"openssl"), "{binaries:?}");
    let command = openssl["fix_command"].as_str().unwrap();
    assert!(
        command.starts_with("apt-get install --only-upgrade "),
        "{command}"
    );
    assert!(command.contains(" libssl3"), "{command}");
    assert!(command.contains(" openssl"), "{command}");
}

#[test]
fn this_machine_scan_follows_same_rules() {
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let host = ChangelogHost::new();

    // The database has no application feeds, so the web applications
    // installed for other tests would make coverage incomplete.
    let output = common::vulnloop(&[
        "scan",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
        "--no-webapps",
    ]);
    let report: serde_json::Value = serde_json::from_str(&common::stdout(&output))
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", common::stderr(&output)));
    let status =
        std::fs::read_to_string("/var/lib/dpkg/status").expect("this machine is a Debian host");
    let expected = expected_findings(&read_dpkg_status(&status), &host.records());

    assert_ne!(common::code(&output), 2, "coverage: {}", report["coverage"]);
    common::assert_same_findings(&expected, &findings(&report));
}

#[test]
fn bookworm_oval_clean_on_build_machine() {
    let machine =
        vulnloop_testdata::unpack("inventories/linux/debian12-build-machine-dpkg.tar.zst");
    let root = machine.path().join("debian12-build-machine");
    let feeds = feed_dir(&[BOOKWORM_OVAL]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    let (_, report) = scan_json(&root, &db, &[]);
    let fixable: Vec<Seen> = findings(&report)
        .into_iter()
        .filter(|f| f.status == "fix_available")
        .collect();
    assert!(
        fixable.is_empty(),
        "{} findings with a newer fixed version, first: {:?}",
        fixable.len(),
        fixable.first()
    );
}

/// Rewrites the status file so every binary of `source` has `version`.
fn lower_source(status: &str, source: &str, version: &str) -> String {
    status
        .split("\n\n")
        .map(|stanza| {
            let from_source = stanza.lines().any(|l| {
                l == format!("Source: {source}") || l.starts_with(&format!("Source: {source} "))
            }) || stanza.lines().any(|l| l == format!("Package: {source}"));
            if !from_source {
                return stanza.to_string();
            }
            stanza
                .lines()
                .map(|line| {
                    if line.starts_with("Version:") {
                        format!("Version: {version}")
                    } else if line.starts_with(&format!("Source: {source} ")) {
                        format!("Source: {source}")
                    } else {
                        line.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Fixed versions per CVE of one source package in the bookworm OVAL.
fn oval_fixes(source: &str) -> Vec<(String, String)> {
    let mut fixes = Vec::new();
    let path = vulnloop_testdata::data_file(BOOKWORM_OVAL);
    let kind = vulnloop_feeds::detect(&path).expect("detected as Debian OVAL");
    vulnloop_feeds::parse_file(&path, kind, &mut |advisory| {
        for affected in &advisory.affected {
            if affected.package == source {
                if let Some(fixed) = affected.status.fixed_version() {
                    fixes.push((advisory.id.clone(), fixed.to_string()));
                }
            }
        }
    })
    .expect("the bookworm OVAL parses");
    fixes
}

#[test]
fn lowered_package_reports_exactly_its_oval_cves() {
    let machine =
        vulnloop_testdata::unpack("inventories/linux/debian12-build-machine-dpkg.tar.zst");
    let base = machine.path().join("debian12-build-machine");
    let status = std::fs::read_to_string(base.join("var/lib/dpkg/status")).unwrap();
    let os_release = std::fs::read_to_string(base.join("etc/os-release")).unwrap();
    let feeds = feed_dir(&[BOOKWORM_OVAL]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    // openssl 3.0.8-1 is older than the 3.0.9-1 update that fixed five CVEs in 2023.
    let lowered = "3.0.8-1";
    let root = common::rootfs(&os_release, &lower_source(&status, "openssl", lowered));
    let (code, report) = scan_json(root.path(), &db, &[]);

    let fixes = oval_fixes("openssl");
    let pairs: Vec<(String, String)> = fixes
        .iter()
        .map(|(_, fixed)| (lowered.to_string(), fixed.clone()))
        .collect();
    let expected: BTreeSet<String> = fixes
        .iter()
        .zip(dpkg_compare(&pairs))
        .filter(|(_, verdict)| verdict.is_lt())
        .map(|((cve, _), _)| cve.clone())
        .collect();
    let seen: BTreeSet<String> = findings(&report)
        .into_iter()
        .filter(|f| f.status == "fix_available")
        .map(|f| {
            assert_eq!(f.package, "openssl", "only openssl was lowered");
            f.id
        })
        .collect();

    assert_eq!(code, 1);
    assert!(
        !expected.is_empty(),
        "the 2023 OVAL has openssl fixes newer than {lowered}"
    );
    assert_eq!(seen, expected);
}

#[test]
fn json_report_lists_evidence() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    let (_, report) = scan_json(host.root.path(), &db, &[]);
    assert_eq!(report["schema_version"], 2);
    let group = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["package"] == "expat")
        .unwrap();
    let finding = &group["findings"][0];
    let evidence = &finding["evidence"];
    assert!(
        evidence["found_in"][0]
            .as_str()
            .unwrap()
            .starts_with("/var/lib/dpkg/status:"),
        "{evidence}"
    );
    assert!(
        evidence["record"]
            .as_str()
            .unwrap()
            .starts_with("osv DEB12-CHANGELOG-CVE-"),
        "{evidence}"
    );
    assert!(
        evidence["comparison"]
            .as_str()
            .unwrap()
            .ends_with("(dpkg ordering)"),
        "{evidence}"
    );
}
