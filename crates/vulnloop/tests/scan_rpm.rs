//! Acceptance tests of `vulnloop scan` on RHEL-family data: AlmaLinux OSV.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{build_db, code, feed_dir, findings, stderr, stdout, vulnloop};
use serde_json::json;
use vulnloop_advisory::{Advisory, Ecosystem, PackageKind};
use vulnloop_version::Scheme;

const ALMALINUX9: &str = "feeds/almalinux-osv/almalinux9-osv.tar.zst";

fn almalinux9_advisories() -> Vec<Advisory> {
    let path = vulnloop_testdata::data_file(ALMALINUX9);
    let kind = vulnloop_feeds::detect(&path).expect("detected as OSV");
    let mut advisories = Vec::new();
    vulnloop_feeds::parse_file(&path, kind, &mut |advisory| advisories.push(advisory))
        .expect("the archive parses");
    advisories
}

/// Fixed versions per binary package of AlmaLinux 9's main stream: (advisory id, fixed).
fn fixes_by_package(advisories: &[Advisory]) -> BTreeMap<String, Vec<(String, String)>> {
    let release = Ecosystem::new("almalinux", "9");
    let mut fixes: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for advisory in advisories {
        for affected in &advisory.affected {
            let main_stream = affected.channel.is_none() && affected.kind == PackageKind::Binary;
            if let (true, true, Some(fixed)) = (
                affected.ecosystem == release,
                main_stream,
                affected.status.fixed_version(),
            ) {
                fixes
                    .entry(affected.package.clone())
                    .or_default()
                    .push((advisory.id.clone(), fixed.to_string()));
            }
        }
    }
    fixes
}

fn rpm_package(name: &str, version: &str) -> serde_json::Value {
    json!({
        "manager": "rpm",
        "name": name,
        "version": version,
        "arch": "x86_64",
        "source_name": null,
        "source_version": null,
        "origin": "/var/lib/rpm/rpmdb.sqlite",
        "vendor": "AlmaLinux",
    })
}

fn inventory(packages: Vec<serde_json::Value>) -> serde_json::Value {
    json!({
        "schema_version": 1,
        "collected_at": "2026-12-04T00:00:00Z",
        "host": {
            "hostname": "alma9",
            "root": null,
            "os": { "id": "almalinux", "version_id": "9.4", "codename": null,
                    "pretty_name": "AlmaLinux 9.4 (Seafoam Ocelot)", "source": "/etc/os-release" },
            "kernel": null
        },
        "packages": packages,
        "problems": []
    })
}

#[test]
fn almalinux_older_builds_report_their_advisories() {
    let advisories = almalinux9_advisories();
    let fixes = fixes_by_package(&advisories);
    let scheme = Scheme::Rpm;

    // Each chosen package is installed at the build its oldest advisory shipped,
    // a real AlmaLinux version, so every later advisory of it applies.
    let mut packages = Vec::new();
    let mut expected = BTreeSet::new();
    for name in ["openssl", "sudo", "curl", "vim-enhanced"] {
        let mut builds = fixes
            .get(name)
            .unwrap_or_else(|| panic!("no AlmaLinux 9 fixes for {name}"))
            .clone();
        builds.sort_by(|a, b| scheme.compare(&a.1, &b.1).expect("valid rpm versions"));
        let installed = builds[0].1.clone();
        for (id, fixed) in &builds {
            if scheme
                .compare(&installed, fixed)
                .expect("valid rpm versions")
                .is_lt()
            {
                expected.insert((name.to_string(), id.clone()));
            }
        }
        packages.push(rpm_package(name, &installed));
    }
    let feeds = feed_dir(&[ALMALINUX9]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let file = work.path().join("alma9.json");
    std::fs::write(&file, inventory(packages).to_string()).unwrap();

    let output = vulnloop(&[
        "scan",
        "--inventory",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output))
        .unwrap_or_else(|e| panic!("{e}: {}", stderr(&output)));
    let seen: BTreeSet<(String, String)> = findings(&report)
        .into_iter()
        .map(|f| (f.package, f.id))
        .collect();

    assert_eq!(code(&output), 1, "coverage: {}", report["coverage"]);
    assert!(
        expected.len() >= 8,
        "the packages have several later advisories: {expected:?}"
    );
    assert_eq!(seen, expected);
    let openssl = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["package"] == "openssl")
        .unwrap();
    let command = openssl["fix_command"].as_str().unwrap();
    assert!(
        command.starts_with("dnf upgrade --advisory=ALSA-"),
        "{command}"
    );
    let finding = &openssl["findings"][0];
    assert!(
        !finding["cves"].as_array().unwrap().is_empty(),
        "ALSA findings list their CVEs: {finding}"
    );
    assert!(
        finding["evidence"]["comparison"]
            .as_str()
            .unwrap()
            .ends_with("(rpm ordering)"),
        "{finding}"
    );
}

#[test]
fn other_vendor_package_not_judged() {
    let advisories = almalinux9_advisories();
    let fixes = fixes_by_package(&advisories);
    let oldest = fixes["openssl"]
        .iter()
        .map(|(_, f)| f.clone())
        .min_by(|a, b| Scheme::Rpm.compare(a, b).unwrap())
        .unwrap();
    let mut foreign = rpm_package("openssl", &oldest);
    foreign["vendor"] = json!("Example Third Party Repository");
    let feeds = feed_dir(&[ALMALINUX9]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let file = work.path().join("alma9.json");
    std::fs::write(&file, inventory(vec![foreign]).to_string()).unwrap();

    let output = vulnloop(&[
        "scan",
        "--inventory",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();

    assert_eq!(code(&output), 0, "coverage: {}", report["coverage"]);
    assert!(
        report["coverage"]["notes"]
            .to_string()
            .contains("other vendors"),
        "{}",
        report["coverage"]
    );
}
