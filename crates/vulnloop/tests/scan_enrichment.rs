//! Acceptance tests of enrichment and priority on the captured Debian 12
//! host: CVSS, KEV and EPSS facts wherever the feed snapshots have them, and
//! a priority with its reasons on every finding.
//!
//! The host's bash, openssl and policykit-1 are lowered to old versions so
//! that the July 2023 bookworm OVAL reports well-known CVEs (Shellshock,
//! Heartbleed, PwnKit) that CISA's KEV catalog and NVD's yearly files list.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use common::{build_db, code, feed_dir, scan_json, stderr, vulnloop, ChangelogHost};
use serde_json::Value;

const BOOKWORM_OVAL: &str = "feeds/debian/oval-definitions-bookworm.xml.bz2";
const KEV: &str = "feeds/cisa-kev/known_exploited_vulnerabilities.json.gz";
const CVE5: &str = "feeds/cve5-vulnrichment/cve5-vulnrichment.jsonl.zst";

/// NVD's yearly files that are complete for their year.
fn nvd_yearly_files() -> Vec<String> {
    (2002..=2017)
        .map(|year| format!("feeds/nvd-json-1.1/nvdcve-1.1-{year}.json.gz"))
        .collect()
}

/// Rewrites the versions of the named source packages' binaries in a dpkg status text.
fn lower_versions(status: &str, lowered: &[(&str, &str)]) -> String {
    let mut stanzas = Vec::new();
    for stanza in status.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(|value| value.trim().to_string())
        };
        let package = field("Package:").unwrap_or_default();
        let source = field("Source:")
            .map(|s| s.split(' ').next().unwrap_or_default().to_string())
            .unwrap_or(package);
        let Some((_, version)) = lowered.iter().find(|(name, _)| *name == source) else {
            stanzas.push(stanza.to_string());
            continue;
        };
        let rewritten: Vec<String> = stanza
            .lines()
            .map(|line| {
                if line.starts_with("Version:") {
                    format!("Version: {version}")
                } else if line.starts_with("Source:") {
                    format!("Source: {source}")
                } else {
                    line.to_string()
                }
            })
            .collect();
        stanzas.push(rewritten.join("\n"));
    }
    stanzas.join("\n\n")
}

/// Reads CISA's catalog independently: CVE id → date added.
fn kev_catalog() -> BTreeMap<String, String> {
    let bytes = vulnloop_testdata::read_decompressed(KEV);
    let catalog: Value = serde_json::from_slice(&bytes).unwrap();
    catalog["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["cveID"].as_str().unwrap().to_string(),
                entry["dateAdded"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Asks Python's json module which of `cves` have a CVSS vector in NVD's
/// yearly files, so the check does not share code with the parsers.
fn nvd_vectors(cves: &BTreeSet<String>) -> BTreeMap<String, Vec<String>> {
    let script = r#"
import gzip, json, sys
wanted = set(sys.argv[2:])
years = sorted({c.split('-')[1] for c in wanted})
found = {}
for year in years:
    with gzip.open(f"{sys.argv[1]}/nvdcve-1.1-{year}.json.gz") as f:
        for item in json.load(f)["CVE_Items"]:
            cve = item["cve"]["CVE_data_meta"]["ID"]
            if cve in wanted:
                impact = item.get("impact", {})
                vectors = [impact[k][m]["vectorString"] for k, m in (("baseMetricV3", "cvssV3"), ("baseMetricV2", "cvssV2")) if k in impact]
                found[cve] = vectors
print(json.dumps(found))
"#;
    let dir = vulnloop_testdata::data_file("feeds/nvd-json-1.1");
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&dir)
        .args(cves)
        .output()
        .expect("python3 is needed for this test: apt-get install python3");
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn every_finding(report: &Value) -> Vec<&Value> {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["findings"].as_array().unwrap())
        .collect()
}

#[test]
fn old_debian_packages_show_cvss_kev_and_priority() {
    let host = ChangelogHost::new();
    let status = lower_versions(
        &host.status_text(),
        &[
            ("bash", "4.3-1"),
            ("openssl", "1.0.1e-2"),
            ("policykit-1", "0.105-25"),
        ],
    );
    std::fs::write(host.root.path().join("var/lib/dpkg/status"), status).unwrap();
    let mut files = vec![BOOKWORM_OVAL, KEV, CVE5];
    let nvd = nvd_yearly_files();
    files.extend(nvd.iter().map(String::as_str));
    let feeds = feed_dir(&files);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    let (_, report) = scan_json(host.root.path(), &db, &[]);
    let findings = every_finding(&report);
    assert!(
        findings.len() > 100,
        "expected many findings on lowered packages, got {}",
        findings.len()
    );

    // A priority with its reasons on every finding.
    for finding in &findings {
        let level = finding["priority"]["level"].as_str().unwrap();
        assert!(
            ["fix-now", "fix-later", "no-need-to-fix"].contains(&level),
            "{finding}"
        );
        assert!(
            !finding["priority"]["reasons"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{finding}"
        );
    }

    // KEV on exactly the findings whose CVEs CISA lists, with CISA's date, ranked fix now.
    let catalog = kev_catalog();
    let mut listed = BTreeSet::new();
    for finding in &findings {
        let id = finding["id"].as_str().unwrap();
        match catalog.get(id) {
            Some(date) => {
                assert_eq!(finding["intel"]["kev"]["date_added"], date.as_str(), "{id}");
                assert_eq!(
                    finding["priority"]["level"], "fix-now",
                    "{id}: {}",
                    finding["priority"]
                );
                listed.insert(id.to_string());
            }
            None => assert!(
                finding["intel"]["kev"].is_null(),
                "{id} is not in the catalog: {}",
                finding["intel"]
            ),
        }
    }
    for known in ["CVE-2014-6271", "CVE-2014-0160", "CVE-2021-4034"] {
        assert!(
            listed.contains(known),
            "{known} missing among KEV findings {listed:?}"
        );
    }

    // CVSS on every finding whose CVE NVD's complete yearly files score.
    let old: BTreeSet<String> = findings
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .filter(|id| {
            id.split('-')
                .nth(1)
                .and_then(|y| y.parse::<u32>().ok())
                .is_some_and(|y| (2002..=2017).contains(&y))
        })
        .collect();
    assert!(old.len() > 50, "{} findings from 2002-2017", old.len());
    let vectors = nvd_vectors(&old);
    for finding in &findings {
        let id = finding["id"].as_str().unwrap();
        let Some(expected) = vectors.get(id) else {
            continue;
        };
        let cvss = &finding["intel"]["cvss"];
        if expected.is_empty() {
            continue;
        }
        let vector = cvss["vector"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no CVSS, NVD has {expected:?}"));
        assert!(cvss["base_score"].as_f64().is_some(), "{id}: {cvss}");
        // A CNA or CISA may score a newer CVSS version than NVD did, and
        // that score is preferred; NVD's own score must be NVD's vector.
        if cvss["scored_by"] == "nvd@nist.gov" {
            assert!(
                expected.iter().any(|v| v == vector),
                "{id}: {vector} is not one of NVD's {expected:?}"
            );
        }
    }

    // The table shows the same facts.
    let output = vulnloop(&[
        "scan",
        "--root",
        host.root.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--kev",
    ]);
    let table = common::stdout(&output);
    assert!(table.contains("KEV"), "{table}");
    assert!(table.contains("CVE-2014-0160"), "{table}");
    assert!(table.contains("why: "), "{table}");
    assert!(
        !table.contains("CVE-2014-0224 "),
        "--kev hides findings CISA does not list: {table}"
    );
}

#[test]
fn listening_service_raises_priority() {
    let host = ChangelogHost::new();
    let status = lower_versions(&host.status_text(), &[("openssh", "1:7.9p1-10")]);
    std::fs::write(host.root.path().join("var/lib/dpkg/status"), status).unwrap();
    let feeds = feed_dir(&[BOOKWORM_OVAL]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());

    // The inventory of the host as an agent would upload it, with sshd
    // listening on all addresses.
    let output = vulnloop(&[
        "inventory",
        "--root",
        host.root.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let mut inventory: Value = serde_json::from_slice(&output.stdout).unwrap();
    inventory["runtime"] = serde_json::json!({
        "processes": [{
            "pid": 812, "command": "sshd",
            "packages": ["libc6", "libssl3", "openssh-server"],
            "listening": [{ "protocol": "tcp", "address": "0.0.0.0", "port": 22 }]
        }],
        "uninspected": 0
    });
    let file = work.path().join("inventory.json");
    std::fs::write(&file, serde_json::to_vec(&inventory).unwrap()).unwrap();

    let scan = |extra: &[&str]| -> Value {
        let mut args = vec![
            "scan",
            "--inventory",
            file.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let output = vulnloop(&args);
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", stderr(&output)))
    };
    let openssh_findings = |report: &Value| -> Vec<Value> {
        let groups = report["packages"].as_array().unwrap();
        let openssh = groups
            .iter()
            .find(|g| g["package"] == "openssh")
            .expect("openssh findings");
        openssh["findings"].as_array().unwrap().clone()
    };

    // The bookworm OVAL gives no severity, so each finding counts as medium
    // (2) plus 1 for the listening sshd: fix later on a normal host.
    let normal = scan(&[]);
    let findings = openssh_findings(&normal);
    assert!(!findings.is_empty());
    for finding in &findings {
        let exposure = &finding["exposure"];
        assert_eq!(exposure["kind"], "listening", "{finding}");
        assert_eq!(exposure["sockets"][0], "tcp 0.0.0.0:22");
        let reasons = finding["priority"]["reasons"].as_array().unwrap();
        assert!(
            reasons
                .iter()
                .any(|r| r.as_str().unwrap().starts_with("+1 used by sshd (pid 812)")),
            "{reasons:?}"
        );
        assert_eq!(
            finding["priority"]["level"], "fix-later",
            "{}",
            finding["priority"]
        );
    }

    // The same host declared important: one more point makes them fix now.
    let important = scan(&["--asset-importance", "high"]);
    for finding in openssh_findings(&important) {
        assert_eq!(
            finding["priority"]["level"], "fix-now",
            "{}",
            finding["priority"]
        );
    }

    // --priority keeps only the levels asked for, and the summary counts the rest as hidden.
    let all = every_finding(&important).len();
    let urgent = scan(&["--asset-importance", "high", "--priority", "fix-now"]);
    let shown = every_finding(&urgent);
    assert!(!shown.is_empty());
    assert!(shown.iter().all(|f| f["priority"]["level"] == "fix-now"));
    assert_eq!(
        urgent["summary"]["hidden"].as_u64().unwrap() as usize,
        all - shown.len()
    );
}
