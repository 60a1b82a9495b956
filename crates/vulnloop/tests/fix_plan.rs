//! Acceptance tests of `vulnloop fix` (a dry run) on the captured Debian 12
//! host and a database built from its changelog-derived OSV records.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{
    build_db, code, feed_dir, findings, scan_json, stderr, stdout, vulnloop, ChangelogHost,
};
use serde_json::Value;
use tempfile::TempDir;
use vulnloop_testdata::{dpkg_compare, read_dpkg_status, StatusEntry};

const CHANGELOG_OSV: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";

/// The captured host and a database of its records.
struct Fixture {
    host: ChangelogHost,
    _work: TempDir,
    db: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let host = ChangelogHost::new();
        let feeds = feed_dir(&[CHANGELOG_OSV]);
        let work = tempfile::tempdir().unwrap();
        let db = build_db(feeds.path(), work.path());
        Self {
            host,
            _work: work,
            db,
        }
    }

    fn root(&self) -> &str {
        self.host.root.path().to_str().unwrap()
    }

    /// Runs `vulnloop fix` on the host with `extra` arguments and returns the exit code and JSON plan.
    fn plan(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec![
            "fix",
            "--root",
            self.root(),
            "--db",
            self.db.to_str().unwrap(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let output = vulnloop(&args);
        let plan: Value = serde_json::from_str(&stdout(&output))
            .unwrap_or_else(|e| panic!("fix printed no JSON ({e}); stderr: {}", stderr(&output)));
        (code(&output), plan)
    }

    fn status(&self) -> Vec<StatusEntry> {
        read_dpkg_status(&self.host.status_text())
    }

    /// Returns the candidate versions that `apt list --upgradable` showed on the host.
    fn apt_candidates(&self) -> BTreeMap<String, String> {
        let path = self
            .host
            .unpacked
            .path()
            .join("debian12-changelog-osv/host-apt-upgradable.txt");
        let text = std::fs::read_to_string(path).unwrap();
        let mut candidates = BTreeMap::new();
        for line in text.lines() {
            // `libssl3/oldstable-security 3.0.17-1~deb12u3 amd64 [upgradable from: 3.0.15-1~deb12u1]`
            let mut fields = line.split_whitespace();
            let (Some(name), Some(version)) = (fields.next(), fields.next()) else {
                continue;
            };
            let Some((name, _suite)) = name.split_once('/') else {
                continue;
            };
            candidates.insert(name.to_string(), version.to_string());
        }
        candidates
    }
}

fn steps(plan: &Value) -> Vec<&Value> {
    plan["plan"]["managers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["steps"].as_array().unwrap())
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn step_for<'a>(plan: &'a Value, package: &str) -> &'a Value {
    steps(plan)
        .into_iter()
        .find(|s| s["package"] == package)
        .unwrap_or_else(|| panic!("no step for {package}"))
}

/// Installed binaries of a source package at a source version, from the status file.
fn binaries_of(status: &[StatusEntry], source: &str, source_version: &str) -> BTreeSet<String> {
    status
        .iter()
        .filter(|e| e.source_name == source && e.source_version == source_version)
        .map(|e| e.name.clone())
        .collect()
}

#[test]
fn plan_names_every_binary_of_each_source() {
    let fixture = Fixture::new();
    let (exit, plan) = fixture.plan(&[]);
    let status = fixture.status();

    assert_eq!(
        exit, 0,
        "a dry run with complete coverage exits 0; coverage: {}",
        plan["coverage"]
    );
    assert_eq!(plan["schema_version"], 1);
    assert_eq!(plan["dry_run"], true);
    let steps = steps(&plan);
    assert!(
        steps.len() > 20,
        "the captured host lacks fixes in dozens of sources, got {} steps",
        steps.len()
    );
    for step in &steps {
        let source = step["package"].as_str().unwrap();
        let installed = step["installed_version"].as_str().unwrap();
        let target = step["target_version"].as_str().unwrap();
        let expected = binaries_of(&status, source, installed);
        let planned: BTreeSet<String> = step["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(planned, expected, "binaries of {source} {installed}");

        for package in step["packages"].as_array().unwrap() {
            let name = package["name"].as_str().unwrap();
            let entry = status.iter().find(|e| e.name == name).unwrap();
            assert_eq!(
                package["installed_version"].as_str(),
                Some(entry.version.as_str()),
                "{name}"
            );
            assert_eq!(
                package["target_source_version"].as_str(),
                Some(target),
                "{name}"
            );
            let expected_target = (entry.version == entry.source_version).then_some(target);
            assert_eq!(
                package["target_version"].as_str(),
                expected_target,
                "{name} {}",
                entry.version
            );
        }
    }

    let openssl = step_for(&plan, "openssl");
    let names: Vec<&str> = openssl["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"openssl"), "{names:?}");
    assert!(names.contains(&"libssl3"), "{names:?}");
}

#[test]
fn plan_targets_are_highest_fixed() {
    let fixture = Fixture::new();
    let (_, plan) = fixture.plan(&[]);

    // (target, fixed version of each finding the step closes): the target is never lower.
    let mut target_vs_fixed = Vec::new();
    // (installed, target): the installed version is always lower.
    let mut installed_vs_target = Vec::new();
    for step in steps(&plan) {
        let target = step["target_version"].as_str().unwrap().to_string();
        for closed in step["closes"].as_array().unwrap() {
            target_vs_fixed.push((
                target.clone(),
                closed["fixed_version"].as_str().unwrap().to_string(),
            ));
        }
        installed_vs_target.push((
            step["installed_version"].as_str().unwrap().to_string(),
            target,
        ));
    }

    for ((target, fixed), verdict) in target_vs_fixed.iter().zip(dpkg_compare(&target_vs_fixed)) {
        assert!(
            verdict.is_ge(),
            "target {target} is older than the fixed version {fixed}"
        );
    }
    for ((installed, target), verdict) in installed_vs_target
        .iter()
        .zip(dpkg_compare(&installed_vs_target))
    {
        assert!(
            verdict.is_lt(),
            "installed {installed} is not older than the target {target}"
        );
    }
    for step in steps(&plan) {
        let closes = step["closes"].as_array().unwrap();
        assert!(
            closes
                .iter()
                .any(|c| c["fixed_version"] == step["target_version"]),
            "the target of {} is the fixed version of one of its findings",
            step["package"]
        );
    }
}

#[test]
fn plan_targets_match_apt_candidates() {
    let fixture = Fixture::new();
    let (_, plan) = fixture.plan(&[]);
    let candidates = fixture.apt_candidates();

    let mut pairs = Vec::new();
    let mut names = Vec::new();
    for step in steps(&plan) {
        for package in step["packages"].as_array().unwrap() {
            let name = package["name"].as_str().unwrap();
            let candidate = candidates
                .get(name)
                .unwrap_or_else(|| panic!("{name} is planned but apt offered no upgrade"));
            if let Some(target) = package["target_version"].as_str() {
                pairs.push((candidate.clone(), target.to_string()));
                names.push(name.to_string());
            }
        }
    }
    assert!(!pairs.is_empty());
    let mut below_target = Vec::new();
    for (((candidate, target), verdict), name) in pairs.iter().zip(dpkg_compare(&pairs)).zip(&names)
    {
        if verdict.is_lt() {
            below_target.push(format!("{name}: candidate {candidate} < target {target}"));
        }
    }
    // The derived record for python-xmltodict takes its fixed version from
    // the unstable NMU entry (0.13.0-1.1) that the bookworm backport's
    // changelog repeats. The bookworm fix is 0.13.0-1.1~deb12u1, which sorts
    // lower. The plan states the record's version, so an executor that
    // compares apt's candidate with the target must stop at this package.
    assert_eq!(
        below_target,
        ["python3-xmltodict: candidate 0.13.0-1.1~deb12u1 < target 0.13.0-1.1"]
    );
}

#[test]
fn every_scan_finding_is_planned_once() {
    let fixture = Fixture::new();
    let (_, plan) = fixture.plan(&[]);
    let (_, report) = scan_json(fixture.host.root.path(), &fixture.db, &[]);

    let mut planned: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for step in steps(&plan) {
        for closed in step["closes"].as_array().unwrap() {
            let key = (
                step["package"].as_str().unwrap().to_string(),
                step["installed_version"].as_str().unwrap().to_string(),
                closed["id"].as_str().unwrap().to_string(),
            );
            *planned.entry(key).or_default() += 1;
        }
    }
    for entry in plan["plan"]["not_fixable"].as_array().unwrap() {
        let key = (
            entry["package"].as_str().unwrap().to_string(),
            entry["installed_version"].as_str().unwrap().to_string(),
            entry["id"].as_str().unwrap().to_string(),
        );
        *planned.entry(key).or_default() += 1;
    }
    for reboot in plan["plan"]["reboots"].as_array().unwrap() {
        for closed in reboot["closes"].as_array().unwrap() {
            let key = (
                reboot["package"].as_str().unwrap().to_string(),
                reboot["installed_version"].as_str().unwrap().to_string(),
                closed["id"].as_str().unwrap().to_string(),
            );
            *planned.entry(key).or_default() += 1;
        }
    }

    let seen = findings(&report);
    assert!(
        seen.len() > 200,
        "the scan reports hundreds of findings, got {}",
        seen.len()
    );
    for finding in &seen {
        let key = (
            finding.package.clone(),
            finding.installed.clone(),
            finding.id.clone(),
        );
        assert_eq!(
            planned.get(&key),
            Some(&1),
            "{key:?} is not planned exactly once"
        );
    }
    assert_eq!(
        planned.values().sum::<usize>(),
        seen.len(),
        "the plan has findings that the scan does not report"
    );
    assert_eq!(plan["plan"]["filtered_out"], 0);
}

#[test]
fn package_filter_narrows_to_openssl() {
    let fixture = Fixture::new();
    let (exit, plan) = fixture.plan(&["--package", "openssl"]);
    let (_, full) = fixture.plan(&[]);

    assert_eq!(exit, 0);
    let steps = steps(&plan);
    assert_eq!(steps.len(), 1, "one step for openssl");
    let step = steps[0];
    assert_eq!(step["package"], "openssl");
    let binaries = binaries_of(
        &fixture.status(),
        "openssl",
        step["installed_version"].as_str().unwrap(),
    );
    let mut expected = vec!["apt-get", "install", "--only-upgrade", "-y"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    expected.extend(binaries.iter().cloned());
    assert_eq!(strings(&step["command"]), expected);
    assert_eq!(
        step["closes"],
        step_for(&full, "openssl")["closes"],
        "the filter keeps every openssl finding"
    );
    assert!(plan["plan"]["filtered_out"].as_u64().unwrap() > 0);
}

#[test]
fn binary_name_selects_its_source() {
    let fixture = Fixture::new();
    let (_, plan) = fixture.plan(&["--package", "libssl3"]);
    let packages: Vec<&str> = steps(&plan)
        .iter()
        .map(|s| s["package"].as_str().unwrap())
        .collect();
    assert_eq!(packages, ["openssl"]);
}

#[test]
fn cve_filter_narrows_to_one_finding() {
    let fixture = Fixture::new();
    let (_, full) = fixture.plan(&[]);
    let openssl = step_for(&full, "openssl");
    let closes = openssl["closes"].as_array().unwrap();
    assert!(closes.len() > 1, "openssl closes several CVEs on this host");
    let chosen = closes[0]["id"].as_str().unwrap();

    let (exit, plan) = fixture.plan(&["--cve", chosen]);
    assert_eq!(exit, 0);
    let steps = steps(&plan);
    assert_eq!(steps.len(), 1);
    let ids: Vec<&str> = steps[0]["closes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [chosen]);
    assert_eq!(steps[0]["target_version"], closes[0]["fixed_version"]);
    assert_eq!(plan["plan"]["not_fixable"].as_array().unwrap().len(), 0);
}

#[test]
fn table_shows_command_lines() {
    let fixture = Fixture::new();
    let output = vulnloop(&[
        "fix",
        "--root",
        fixture.root(),
        "--db",
        fixture.db.to_str().unwrap(),
        "--package",
        "openssl",
    ]);
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{}", stderr(&output));

    let (_, plan) = fixture.plan(&["--package", "openssl"]);
    let command = strings(&step_for(&plan, "openssl")["command"]).join(" ");
    assert!(text.contains(&format!("command: {command}")), "{text}");
    assert!(text.contains("dry run"), "{text}");
    assert!(
        text.contains("restart: unknown"),
        "a root filesystem has no runtime data: {text}"
    );
}

#[test]
fn invalid_priority_rejected() {
    let fixture = Fixture::new();
    let output = vulnloop(&[
        "fix",
        "--root",
        fixture.root(),
        "--db",
        fixture.db.to_str().unwrap(),
        "--priority",
        "soon",
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("invalid priority \"soon\""),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty());
}

/// Writes the host's inventory with one openssl binary renamed to `name`.
fn forged_inventory(fixture: &Fixture, name: &str, dir: &Path) -> PathBuf {
    let output = vulnloop(&["inventory", "--root", fixture.root(), "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let mut inventory: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let libssl = inventory["packages"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["name"] == "libssl3")
        .unwrap();
    libssl["name"] = Value::from(name);
    let path = dir.join("inventory.json");
    std::fs::write(&path, serde_json::to_vec(&inventory).unwrap()).unwrap();
    path
}

#[test]
fn hostile_inventory_name_rejected() {
    let fixture = Fixture::new();
    let work = tempfile::tempdir().unwrap();
    let inventory = forged_inventory(&fixture, "-oAPT::Update::Pre-Invoke::=reboot", work.path());

    let output = vulnloop(&[
        "fix",
        "--inventory",
        inventory.to_str().unwrap(),
        "--db",
        fixture.db.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 2);
    let message = stderr(&output);
    assert!(
        message.contains("invalid dpkg package name \"-oAPT::Update::Pre-Invoke::=reboot\""),
        "{message}"
    );
    assert!(
        stdout(&output).is_empty(),
        "no plan is printed: {}",
        stdout(&output)
    );
}

#[test]
fn tracker_will_not_fix_is_not_fixable() {
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
    let root = common::rootfs(
        "ID=debian\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\n",
        status,
    );

    let output = vulnloop(&[
        "fix",
        "--root",
        root.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).unwrap();

    let steps = steps(&plan);
    assert_eq!(steps.len(), 1);
    let closed: Vec<&str> = steps[0]["closes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(closed, ["CVE-2016-5405"]);
    assert_eq!(steps[0]["target_version"], "1.3.5.15-1");
    assert_eq!(
        strings(&steps[0]["command"]),
        ["apt-get", "install", "--only-upgrade", "-y", "389-ds-base"]
    );

    let not_fixable = plan["plan"]["not_fixable"].as_array().unwrap();
    assert_eq!(not_fixable.len(), 1);
    assert_eq!(not_fixable[0]["id"], "CVE-2016-5416");
    assert_eq!(not_fixable[0]["status"], "will_not_fix");
    assert_eq!(not_fixable[0]["note"], "no-dsa: Minor issue");
}
