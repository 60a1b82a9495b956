//! The finding history and ignore rules, on the captured Debian 12 host and
//! a database of its changelog-derived OSV records: `scan` records each
//! scan, `vulnloop history` and `vulnloop diff` read them back, and
//! `vulnloop ignore` and ignore files leave accepted findings out.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{
    build_db, code, feed_dir, findings, scan_json, stderr, stdout, vulnloop, ChangelogHost, Seen,
};
use serde_json::Value;
use tempfile::TempDir;

const CHANGELOG_OSV: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";

/// The captured host, a database of its records and an empty history.
struct Fixture {
    host: ChangelogHost,
    work: TempDir,
    db: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let host = ChangelogHost::new();
        let feeds = feed_dir(&[CHANGELOG_OSV]);
        let work = tempfile::tempdir().unwrap();
        let db = build_db(feeds.path(), work.path());
        Self { host, work, db }
    }

    fn state(&self) -> String {
        self.work
            .path()
            .join("state.db")
            .to_str()
            .unwrap()
            .to_string()
    }

    fn root(&self) -> &Path {
        self.host.root.path()
    }

    /// Scans the host with the fixture's history and `extra` arguments.
    fn scan(&self, extra: &[&str]) -> Value {
        let state = self.state();
        let mut args = vec!["--state", state.as_str()];
        args.extend_from_slice(extra);
        scan_json(self.root(), &self.db, &args).1
    }

    /// Runs a command with the fixture's history and returns its JSON output.
    fn json(&self, args: &[&str]) -> Value {
        let state = self.state();
        let mut full = args.to_vec();
        full.extend_from_slice(&["--state", &state, "--format", "json"]);
        let output = vulnloop(&full);
        assert_eq!(code(&output), 0, "{args:?}: {}", stderr(&output));
        serde_json::from_str(&stdout(&output)).unwrap()
    }

    fn ignore(&self, args: &[&str]) -> std::process::Output {
        let state = self.state();
        let mut full = vec!["ignore"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--state", &state]);
        vulnloop(&full)
    }

    /// Sets every installed binary of `source` to `version` in the host's dpkg status.
    fn upgrade_source(&self, source: &str, version: &str) -> usize {
        let path = self.root().join("var/lib/dpkg/status");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut upgraded = 0;
        let paragraphs: Vec<String> = text
            .split("\n\n")
            .map(|paragraph| {
                let built_from = paragraph.lines().any(|line| {
                    line == format!("Package: {source}")
                        || line
                            .strip_prefix("Source: ")
                            .is_some_and(|s| s.split(' ').next() == Some(source))
                });
                if !built_from {
                    return paragraph.to_string();
                }
                upgraded += 1;
                let lines: Vec<String> = paragraph
                    .lines()
                    .map(|line| match line.strip_prefix("Version: ") {
                        Some(_) => format!("Version: {version}"),
                        None => line.to_string(),
                    })
                    .collect();
                lines.join("\n")
            })
            .collect();
        std::fs::write(&path, paragraphs.join("\n\n")).unwrap();
        upgraded
    }
}

/// Returns the affected package with the most findings and its fixed version.
fn busiest_package(report: &Value) -> (String, String) {
    let groups = report["packages"].as_array().unwrap();
    let group = groups
        .iter()
        .filter(|g| g["fixed_version"].is_string())
        .max_by_key(|g| g["findings"].as_array().unwrap().len())
        .unwrap();
    (
        group["package"].as_str().unwrap().to_string(),
        group["fixed_version"].as_str().unwrap().to_string(),
    )
}

fn ids(entries: &Value) -> Vec<String> {
    let mut ids: Vec<String> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn scans_recorded_with_new_and_resolved() {
    let fixture = Fixture::new();
    let first = fixture.scan(&[]);
    let total = findings(&first).len();
    assert!(total > 0, "the captured host has findings");
    assert_eq!(first["history"]["scan"], 1);
    assert_eq!(first["history"]["new"], total);
    assert_eq!(first["history"]["resolved"], 0);

    let (package, fixed) = busiest_package(&first);
    let expected: Vec<Seen> = findings(&first)
        .into_iter()
        .filter(|f| f.package == package)
        .collect();
    assert!(
        fixture.upgrade_source(&package, &fixed) > 0,
        "{package} has installed binaries"
    );
    let second = fixture.scan(&[]);
    assert!(
        findings(&second).iter().all(|f| f.package != package),
        "{package} {fixed} fixes all of them"
    );
    assert_eq!(second["history"]["scan"], 2);
    assert_eq!(second["history"]["new"], 0);
    assert_eq!(second["history"]["resolved"], expected.len());

    let diff = fixture.json(&["diff"]);
    assert_eq!(diff["from"]["scan"], 1);
    assert_eq!(diff["to"]["scan"], 2);
    let mut wanted: Vec<String> = expected.iter().map(|f| f.id.clone()).collect();
    wanted.sort();
    assert_eq!(ids(&diff["resolved"]), wanted);
    assert!(diff["new"].as_array().unwrap().is_empty());
    assert_eq!(
        fixture.json(&["diff", "1", "2"])["resolved"],
        diff["resolved"]
    );

    let scans = fixture.json(&["history"]);
    let scans = scans["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 2);
    assert_eq!(scans[0]["findings"], total);
    assert_eq!(scans[1]["findings"], total - expected.len());
    assert_eq!(scans[1]["complete"], true);

    let states = fixture.json(&["history", "--status"]);
    for state in states["findings"].as_array().unwrap() {
        let expected_status = if state["package"] == package.as_str() {
            "no_longer_present"
        } else {
            "unfixed"
        };
        assert_eq!(state["status"], expected_status, "{state}");
    }

    let output = vulnloop(&[
        "scan",
        "--root",
        fixture.root().to_str().unwrap(),
        "--db",
        fixture.db.to_str().unwrap(),
        "--state",
        &fixture.state(),
    ]);
    let text = stdout(&output);
    assert!(text.contains("recorded as scan 3 of "), "{text}");
    assert!(
        text.contains(": 0 new, 0 resolved since its previous scan"),
        "{text}"
    );
}

#[test]
fn ignore_rule_hides_and_returns() {
    let fixture = Fixture::new();
    let before = fixture.scan(&[]);
    let (package, _) = busiest_package(&before);
    let target = findings(&before)
        .into_iter()
        .find(|f| f.package == package)
        .unwrap();

    let output = fixture.ignore(&[
        "add",
        &target.id,
        "--package",
        &package,
        "--reason",
        "mitigated by the proxy",
        "--expires",
        "2099-12-31",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).contains(&format!(
            "added ignore rule 1 for {} until 2099-12-31",
            target.id
        )),
        "{}",
        stdout(&output)
    );

    let report = fixture.scan(&[]);
    assert!(
        !findings(&report)
            .iter()
            .any(|f| f.id == target.id && f.package == package),
        "the rule hides it"
    );
    assert_eq!(findings(&report).len(), findings(&before).len() - 1);
    assert_eq!(report["summary"]["ignored"], 1);
    let ignored = &report["ignored"][0];
    assert_eq!(ignored["id"], target.id.as_str());
    assert_eq!(ignored["reason"], "mitigated by the proxy");
    assert_eq!(ignored["expires"], "2099-12-31");
    assert_eq!(ignored["rule"], "rule 1 of `vulnloop ignore list`");

    let plan = fixture.json(&[
        "fix",
        "--root",
        fixture.root().to_str().unwrap(),
        "--db",
        fixture.db.to_str().unwrap(),
    ]);
    assert_eq!(plan["ignored"][0]["id"], target.id.as_str());
    let closed: Vec<&str> = plan["plan"]["managers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["steps"].as_array().unwrap())
        .flat_map(|s| s["closes"].as_array().unwrap())
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        !closed.contains(&target.id.as_str()),
        "the plan leaves the ignored finding out: {closed:?}"
    );

    let events = fixture.json(&["history", "--finding", &target.id]);
    let statuses: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["unfixed", "ignored"]);

    let output = fixture.ignore(&["list"]);
    assert!(
        stdout(&output).contains("mitigated by the proxy"),
        "{}",
        stdout(&output)
    );
    let output = fixture.ignore(&["remove", "1"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let after = fixture.scan(&[]);
    assert!(
        findings(&after)
            .iter()
            .any(|f| f.id == target.id && f.package == package),
        "the finding is back"
    );
    let events = fixture.json(&["history", "--finding", &target.id]);
    let last = events["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["status"], "unfixed");
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .contains("no ignore rule applies now"),
        "{last}"
    );
}

#[test]
fn ignore_file_applies_until_expiry() {
    let fixture = Fixture::new();
    let before = fixture.scan(&[]);
    let (package, _) = busiest_package(&before);
    let target = findings(&before)
        .into_iter()
        .find(|f| f.package == package)
        .unwrap();
    let file = fixture.work.path().join("ignore.toml");

    let active = format!(
        "[[ignore]]\nid = \"{}\"\nreason = \"accepted risk\"\nexpires = 2099-01-31\n",
        target.id
    );
    std::fs::write(&file, active).unwrap();
    let report = fixture.scan(&["--ignore-file", file.to_str().unwrap()]);
    assert!(!findings(&report).iter().any(|f| f.id == target.id));
    assert_eq!(
        report["ignored"][0]["rule"],
        format!("ignore file {}", file.display())
    );

    let expired = format!(
        "[[ignore]]\nid = \"{}\"\nreason = \"accepted risk\"\nexpires = 2020-01-31\n",
        target.id
    );
    std::fs::write(&file, expired).unwrap();
    let mut args = vec![
        "scan",
        "--root",
        fixture.root().to_str().unwrap(),
        "--db",
        fixture.db.to_str().unwrap(),
    ];
    let state = fixture.state();
    args.extend_from_slice(&[
        "--state",
        &state,
        "--ignore-file",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let output = vulnloop(&args);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(
        findings(&report).iter().any(|f| f.id == target.id),
        "an expired rule hides nothing"
    );
    assert!(
        stderr(&output).contains("expired on 2020-01-31"),
        "{}",
        stderr(&output)
    );

    std::fs::write(&file, "[[ignore]]\nid = \"CVE-2024-1\"\nreason = \n").unwrap();
    args.truncate(args.len() - 2);
    let output = vulnloop(&args);
    assert_eq!(code(&output), 2);
    let message = stderr(&output);
    assert!(
        message.contains(&format!("invalid ignore file {}", file.display())),
        "{message}"
    );
    assert!(message.contains("line 3"), "{message}");
}

#[test]
fn history_without_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.db");
    let output = vulnloop(&["history", "--state", missing.to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("no finding history at"),
        "{}",
        stderr(&output)
    );
    assert!(!missing.exists(), "reading the history creates no file");
}

#[test]
fn diff_needs_two_scans() {
    let fixture = Fixture::new();
    fixture.scan(&[]);
    let state = fixture.state();
    let output = vulnloop(&["diff", "--state", &state]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("only one scan of"),
        "{}",
        stderr(&output)
    );
    let output = vulnloop(&["diff", "7", "8", "--state", &state]);
    assert!(
        stderr(&output).contains("no scan numbered 7"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn ignore_add_rejects_bad_dates() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let state = state.to_str().unwrap();
    let output = vulnloop(&[
        "ignore",
        "add",
        "CVE-2024-1",
        "--reason",
        "r",
        "--expires",
        "31/12/2027",
        "--state",
        state,
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("invalid --expires \"31/12/2027\""),
        "{}",
        stderr(&output)
    );
    let output = vulnloop(&[
        "ignore",
        "add",
        "CVE-2024-1",
        "--reason",
        "r",
        "--expires",
        "2001-01-01",
        "--state",
        state,
    ]);
    assert!(
        stderr(&output).contains("the date has passed"),
        "{}",
        stderr(&output)
    );
    let output = vulnloop(&[
        "ignore",
        "add",
        "CVE-2024-1",
        "--reason",
        " ",
        "--state",
        state,
    ]);
    assert!(
        stderr(&output).contains("has no reason"),
        "{}",
        stderr(&output)
    );
}
