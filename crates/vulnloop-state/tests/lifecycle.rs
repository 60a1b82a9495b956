//! The lifecycle of findings across scans, fixes and verifies, on a real
//! SQLite file.

#![allow(clippy::unwrap_used)]

use vulnloop_state::{FindingKey, ScanFinding, ScanInput, StateDb, Status};

const TARGET: &str = "web-1";

fn key(id: &str, package: &str) -> FindingKey {
    FindingKey {
        id: id.into(),
        package: package.into(),
    }
}

fn finding(id: &str, package: &str, ignored_by: Option<&str>) -> ScanFinding {
    ScanFinding {
        key: key(id, package),
        installed_version: "1.0-1".into(),
        fixed_version: Some("1.0-2".into()),
        severity: "high".into(),
        priority: Some("fix-later".into()),
        ignored_by: ignored_by.map(String::from),
    }
}

fn scan(findings: Vec<ScanFinding>, complete: bool) -> ScanInput {
    ScanInput {
        target: TARGET.into(),
        scanned_at: "2026-12-05T02:00:00Z".into(),
        os: "debian 12".into(),
        database_built_at: Some("2026-12-04T00:00:00Z".into()),
        complete,
        findings,
    }
}

fn status_of(state: &StateDb, id: &str) -> Status {
    state
        .findings(Some(TARGET))
        .unwrap()
        .into_iter()
        .find(|f| f.key.id == id)
        .unwrap()
        .status
}

fn history_of(state: &StateDb, id: &str) -> Vec<Status> {
    state
        .events(Some(TARGET), Some(id))
        .unwrap()
        .into_iter()
        .map(|e| e.status)
        .collect()
}

fn open() -> (tempfile::TempDir, StateDb) {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(&dir.path().join("nested/state.db")).unwrap();
    (dir, state)
}

#[test]
fn full_fix_lifecycle_recorded() {
    let (_dir, mut state) = open();
    let recorded = state
        .record_scan(&scan(vec![finding("CVE-1", "openssl", None)], true))
        .unwrap();
    assert_eq!(recorded.new, 1);
    assert_eq!(status_of(&state, "CVE-1"), Status::Unfixed);

    let keys = [key("CVE-1", "openssl")];
    state
        .set_status(
            TARGET,
            &keys,
            Status::Fixing,
            "step 1 started",
            Some("/j/1.jsonl"),
        )
        .unwrap();
    state
        .set_status(
            TARGET,
            &keys,
            Status::Fixed,
            "step 1 succeeded",
            Some("/j/1.jsonl"),
        )
        .unwrap();
    state
        .set_status(
            TARGET,
            &keys,
            Status::Verified,
            "verify: not reported",
            Some("/j/1.jsonl"),
        )
        .unwrap();

    assert_eq!(
        history_of(&state, "CVE-1"),
        [
            Status::Unfixed,
            Status::Fixing,
            Status::Fixed,
            Status::Verified
        ]
    );
    let events = state.events(Some(TARGET), Some("openssl")).unwrap();
    assert_eq!(events[1].journal.as_deref(), Some("/j/1.jsonl"));
    assert_eq!(events[0].scan, Some(recorded.scan));
}

#[test]
fn diff_lists_new_and_resolved() {
    let (_dir, mut state) = open();
    let first = state.record_scan(&scan(
        vec![
            finding("CVE-1", "openssl", None),
            finding("CVE-2", "curl", None),
        ],
        true,
    ));
    let second = state.record_scan(&scan(
        vec![
            finding("CVE-2", "curl", None),
            finding("CVE-3", "bash", None),
        ],
        true,
    ));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!((second.new, second.resolved), (1, 1));

    let diff = state.diff(first.scan, second.scan).unwrap();
    let new: Vec<&str> = diff.new.iter().map(|f| f.key.id.as_str()).collect();
    let resolved: Vec<&str> = diff.resolved.iter().map(|f| f.key.id.as_str()).collect();
    assert_eq!(new, ["CVE-3"]);
    assert_eq!(resolved, ["CVE-1"]);
    assert_eq!(status_of(&state, "CVE-1"), Status::NoLongerPresent);

    let scans = state.scans(Some(TARGET)).unwrap();
    assert_eq!(scans.len(), 2);
    assert_eq!(scans[1].findings, 2);
}

#[test]
fn incomplete_scan_resolves_nothing() {
    let (_dir, mut state) = open();
    state
        .record_scan(&scan(vec![finding("CVE-1", "openssl", None)], true))
        .unwrap();
    let recorded = state.record_scan(&scan(vec![], false)).unwrap();
    assert!(recorded.changes.is_empty(), "{:?}", recorded.changes);
    assert_eq!(status_of(&state, "CVE-1"), Status::Unfixed);
}

#[test]
fn finding_reported_after_fix_failed() {
    let (_dir, mut state) = open();
    state
        .record_scan(&scan(vec![finding("CVE-1", "openssl", None)], true))
        .unwrap();
    state
        .set_status(
            TARGET,
            &[key("CVE-1", "openssl")],
            Status::Fixed,
            "step 1 succeeded",
            None,
        )
        .unwrap();
    state
        .record_scan(&scan(vec![finding("CVE-1", "openssl", None)], true))
        .unwrap();
    assert_eq!(status_of(&state, "CVE-1"), Status::FixFailed);
}

#[test]
fn ignored_then_unignored() {
    let (_dir, mut state) = open();
    state
        .record_scan(&scan(
            vec![finding("CVE-1", "openssl", Some("mitigated"))],
            true,
        ))
        .unwrap();
    assert_eq!(status_of(&state, "CVE-1"), Status::Ignored);
    let events = state.events(Some(TARGET), Some("CVE-1")).unwrap();
    assert_eq!(events[0].detail, "ignored: mitigated");

    state
        .record_scan(&scan(vec![finding("CVE-1", "openssl", None)], true))
        .unwrap();
    assert_eq!(
        history_of(&state, "CVE-1"),
        [Status::Ignored, Status::Unfixed]
    );
}

#[test]
fn ignore_rules_stored_and_removed() {
    let (_dir, mut state) = open();
    let rule = vulnloop_state::IgnoreRule {
        id: "CVE-1".into(),
        package: Some("openssl".into()),
        target: None,
        reason: "accepted until the migration".into(),
        expires: chrono::NaiveDate::from_ymd_opt(2027, 1, 31),
        source: vulnloop_state::RuleSource::State(0),
    };
    let number = state.add_ignore(&rule).unwrap();
    let stored = state.ignores().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].source, vulnloop_state::RuleSource::State(number));
    assert_eq!(stored[0].expires, rule.expires);
    assert_eq!(stored[0].reason, rule.reason);

    let removed = state.remove_ignore(number).unwrap();
    assert_eq!(removed.id, "CVE-1");
    assert!(state.ignores().unwrap().is_empty());
    let error = state.remove_ignore(number).err().unwrap().to_string();
    assert!(error.contains("vulnloop ignore list"), "{error}");
}

#[test]
fn rule_without_reason_rejected() {
    let (_dir, mut state) = open();
    let rule = vulnloop_state::IgnoreRule {
        id: "CVE-1".into(),
        package: None,
        target: None,
        reason: "  ".into(),
        expires: None,
        source: vulnloop_state::RuleSource::State(0),
    };
    assert!(state.add_ignore(&rule).is_err());
}

#[test]
fn newer_layout_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(StateDb::open(&path).unwrap());
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection.pragma_update(None, "user_version", 99).unwrap();
    drop(connection);
    let error = StateDb::open(&path).err().unwrap().to_string();
    assert!(error.contains("layout version 99"), "{error}");
}

#[test]
fn unknown_scan_rejected() {
    let (_dir, state) = open();
    let error = state.diff(1, 2).err().unwrap().to_string();
    assert!(error.contains("no scan numbered 1"), "{error}");
}
