//! OSV JSON of AlmaLinux 8, 9 and 10: every record of the three archives and
//! spot checks of real records.

mod support;

use support::{entry, find, read_shared};
use vulnloop_advisory::{PackageKind, Severity, Status};
use vulnloop_feeds::FeedKind;

const EL8: &str = "feeds/almalinux-osv/almalinux8-osv.tar.zst";
const EL9: &str = "feeds/almalinux-osv/almalinux9-osv.tar.zst";
const EL10: &str = "feeds/almalinux-osv/almalinux10-osv.tar.zst";

fn fixed(version: &str) -> Status {
    Status::Fixed {
        fixed: version.to_string(),
    }
}

#[test]
fn archives_read_every_record() {
    for (archive, expected) in [(EL8, 3237), (EL9, 1783), (EL10, 660)] {
        let (summary, advisories) = read_shared(archive, FeedKind::Osv);
        assert_eq!(summary.records, expected, "{archive}");
        assert_eq!(advisories.len(), expected, "{archive}");
        assert_eq!(summary.skipped, Vec::<String>::new(), "{archive}");
    }
}

#[test]
fn archive_snapshot_is_newest_modified() {
    let (summary, _) = read_shared(EL9, FeedKind::Osv);
    assert_eq!(summary.snapshot.as_deref(), Some("2026-08-21T12:56:10Z"));
    let (summary, _) = read_shared(EL10, FeedKind::Osv);
    assert_eq!(summary.snapshot.as_deref(), Some("2026-08-21T12:52:54Z"));
}

/// Entries per release in each archive, counted from the JSON. Errata that
/// AlmaLinux ships under one id for several releases (such as the Java
/// updates) list every release's packages, and each archive contains them.
#[test]
fn entries_are_binary_per_release() {
    let cases = [
        (EL8, [39_984, 716, 138]),
        (EL9, [745, 23_051, 216]),
        (EL10, [138, 216, 6_125]),
    ];
    for (archive, expected) in cases {
        let (_, advisories) = read_shared(archive, FeedKind::Osv);
        let entries: Vec<_> = advisories
            .iter()
            .flat_map(|advisory| &advisory.affected)
            .collect();
        for (release, count) in ["almalinux:8", "almalinux:9", "almalinux:10"]
            .iter()
            .zip(expected)
        {
            let found = entries
                .iter()
                .filter(|entry| entry.ecosystem.as_str() == *release)
                .count();
            assert_eq!(found, count, "{archive} {release}");
        }
        let source = entries
            .iter()
            .filter(|entry| entry.kind != PackageKind::Binary)
            .count();
        assert_eq!(source, 0, "{archive}");
    }
}

#[test]
fn thunderbird_record_has_all_fields() {
    let (_, advisories) = read_shared(EL9, FeedKind::Osv);
    let advisory = find(&advisories, "ALSA-2024:8793");

    assert_eq!(advisory.source, "osv");
    assert_eq!(advisory.cves.len(), 10);
    assert_eq!(
        advisory.cves.first().map(String::as_str),
        Some("CVE-2024-10458")
    );
    assert_eq!(
        advisory.cves.last().map(String::as_str),
        Some("CVE-2024-10467")
    );
    assert_eq!(
        advisory.title.as_deref(),
        Some("Moderate: thunderbird security update")
    );
    assert_eq!(advisory.severity, Severity::Medium);
    assert_eq!(advisory.severity_raw.as_deref(), Some("Moderate"));
    assert_eq!(advisory.published.as_deref(), Some("2024-11-04T00:00:00Z"));
    assert_eq!(advisory.modified.as_deref(), Some("2024-11-04T23:02:53Z"));
    assert_eq!(
        advisory.url.as_deref(),
        Some("https://access.redhat.com/errata/RHSA-2024:8793")
    );
    assert_eq!(advisory.affected.len(), 1);
    let thunderbird = entry(advisory, "thunderbird", "almalinux:9");
    assert_eq!(thunderbird.status, fixed("128.4.0-1.el9_4.alma.1"));
    assert_eq!(thunderbird.channel, None);
    assert_eq!(thunderbird.note, None);
}

#[test]
fn module_build_gets_module_channel() {
    let (_, advisories) = read_shared(EL8, FeedKind::Osv);
    let advisory = find(&advisories, "ALSA-2023:7205");

    assert_eq!(advisory.severity, Severity::High);
    assert!(advisory.cves.iter().any(|cve| cve == "CVE-2023-44487"));
    assert_eq!(advisory.affected.len(), 8);
    let nodejs = entry(advisory, "nodejs", "almalinux:8");
    assert_eq!(
        nodejs.status,
        fixed("1:20.8.1-1.module_el8.9.0+3675+0258a6d9")
    );
    assert_eq!(nodejs.channel.as_deref(), Some("module:nodejs:20"));
}

#[test]
fn epoch_is_kept_and_zero_epoch_absent() {
    let (_, advisories) = read_shared(EL8, FeedKind::Osv);
    let versions: Vec<&str> = advisories
        .iter()
        .flat_map(|advisory| &advisory.affected)
        .filter_map(|entry| entry.status.fixed_version())
        .collect();
    assert!(versions.iter().any(|version| version.starts_with("1:")));
    assert!(!versions.iter().any(|version| version.starts_with("0:")));
}
