//! Debian security tracker JSON on the real API sample and a small fixture
//! for the statuses the sample lacks.

mod support;

use support::{entry, find, format_samples, read_path, sample};
use vulnloop_advisory::{PackageKind, Severity, Status};
use vulnloop_feeds::FeedKind;

#[test]
fn api_sample_maps_every_status() {
    let dir = format_samples();
    let path = sample(
        &dir,
        "pkg/fetch/debian/tracker/api/testdata/fixtures/advisory.json",
    );
    let (summary, advisories) = read_path(&path, FeedKind::DebianTracker);

    assert_eq!(summary.kind, FeedKind::DebianTracker);
    assert_eq!(summary.records, 4);
    assert_eq!(summary.snapshot, None);
    // Every issue also lists sid, which has no release number.
    let sid = "release sid has no release number: 4 records \
               (CVE-2012-0833 389-ds-base, CVE-2016-5405 389-ds-base, CVE-2016-5416 389-ds-base, …)";
    assert_eq!(summary.skipped, [sid]);

    let not_affected = find(&advisories, "CVE-2012-0833");
    assert_eq!(not_affected.source, "debian-tracker");
    assert_eq!(not_affected.cves, ["CVE-2012-0833"]);
    assert_eq!(not_affected.severity, Severity::Negligible);
    assert_eq!(not_affected.severity_raw.as_deref(), Some("unimportant"));
    assert_eq!(
        not_affected.url.as_deref(),
        Some("https://security-tracker.debian.org/tracker/CVE-2012-0833")
    );
    let title = not_affected.title.as_deref().unwrap_or("");
    assert!(
        title.starts_with("The acllas__handle_group_entry function"),
        "{title}"
    );
    assert_eq!(not_affected.affected.len(), 1);
    let bullseye = entry(not_affected, "389-ds-base", "debian:11");
    assert_eq!(bullseye.kind, PackageKind::Source);
    assert_eq!(bullseye.status, Status::NotAffected);

    let fixed = find(&advisories, "CVE-2016-5405");
    assert_eq!(fixed.severity, Severity::Unknown);
    assert_eq!(fixed.severity_raw.as_deref(), Some("not yet assigned"));
    assert_eq!(
        entry(fixed, "389-ds-base", "debian:11").status,
        Status::Fixed {
            fixed: "1.3.5.15-1".into()
        }
    );

    let ignored = find(&advisories, "CVE-2016-5416");
    let ignored_entry = entry(ignored, "389-ds-base", "debian:11");
    assert_eq!(ignored_entry.status, Status::WillNotFix);
    assert_eq!(ignored_entry.note.as_deref(), Some("no-dsa: Minor issue"));

    let temp = find(&advisories, "TEMP-0000000-0CA7E3");
    assert_eq!(temp.cves, Vec::<String>::new());
    assert_eq!(
        entry(temp, "wordpress", "debian:11").status,
        Status::NotAffected
    );
}

const FIXTURE: &str = r#"{
  "openssl": {
    "CVE-2099-0001": {
      "description": "Example issue.",
      "releases": {
        "bookworm": {"status": "open", "urgency": "low", "nodsa": "Minor issue, can be fixed in a point release", "nodsa_reason": "postponed"},
        "bullseye": {"status": "undetermined", "urgency": "not yet assigned"},
        "buster": {"status": "open", "urgency": "end-of-life"},
        "trixie": {"status": "open", "urgency": "medium**"},
        "experimental": {"status": "open", "urgency": "medium"}
      }
    },
    "CVE-2099-0002": {"releases": {"bookworm": "not an object"}}
  }
}"#;

#[test]
fn fixture_maps_postponed_undetermined_and_end_of_life() {
    let dir = tempfile::tempdir();
    let Ok(dir) = dir else {
        panic!("no temporary directory")
    };
    let path = dir.path().join("json");
    assert!(std::fs::write(&path, FIXTURE).is_ok());
    let (summary, advisories) = read_path(&path, FeedKind::DebianTracker);

    assert_eq!(summary.records, 1);
    assert_eq!(summary.skipped.len(), 2, "{:?}", summary.skipped);
    assert!(summary.skipped[0].starts_with("release experimental has no release number"));
    assert!(summary.skipped[1].starts_with("invalid issue entry"));
    let advisory = find(&advisories, "CVE-2099-0001");
    assert_eq!(advisory.severity, Severity::Medium);
    assert_eq!(advisory.severity_raw.as_deref(), Some("medium**"));

    let postponed = entry(advisory, "openssl", "debian:12");
    assert_eq!(postponed.status, Status::Postponed);
    assert_eq!(
        postponed.note.as_deref(),
        Some("no-dsa: Minor issue, can be fixed in a point release")
    );
    let undetermined = entry(advisory, "openssl", "debian:11");
    assert_eq!(undetermined.status, Status::Affected);
    assert_eq!(undetermined.note.as_deref(), Some("undetermined"));
    let end_of_life = entry(advisory, "openssl", "debian:10");
    assert_eq!(end_of_life.status, Status::Unsupported);
    assert_eq!(end_of_life.note.as_deref(), Some("end-of-life"));
    let open = entry(advisory, "openssl", "debian:13");
    assert_eq!(open.status, Status::Affected);
    assert_eq!(open.note, None);
}
