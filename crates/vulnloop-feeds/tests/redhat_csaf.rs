//! Red Hat CSAF on the vuls-data-update format samples: the advisory
//! RHSA-2023:7435 and the VEX document of CVE-2023-6212. Expected counts
//! were computed from the JSON with Python: distinct (release, binary
//! package, EVR, channel) tuples of the fixed products, source RPMs left out.

mod support;

use support::{entry, format_samples, read_path, sample};
use vulnloop_advisory::{Advisory, PackageKind, Severity, Status};
use vulnloop_feeds::{detect, FeedKind, FeedSummary};

const ADVISORY: &str = "pkg/fetch/redhat/csaf/testdata/fixtures/2023/rhsa-2023_7435.json";
const VEX: &str = "pkg/fetch/redhat/vex/v1/testdata/fixtures/2023/cve-2023-6212.json";

fn fixed(version: &str) -> Status {
    Status::Fixed {
        fixed: version.to_string(),
    }
}

fn read_sample(relative: &str) -> (FeedSummary, Advisory) {
    let dir = format_samples();
    let path = sample(&dir, relative);
    assert_eq!(detect(&path), Some(FeedKind::RedHatCsaf), "{relative}");
    let (summary, mut advisories) = read_path(&path, FeedKind::RedHatCsaf);
    assert_eq!(advisories.len(), 1, "{relative}");
    (summary, advisories.remove(0))
}

#[test]
fn advisory_has_all_fields() {
    let (summary, advisory) = read_sample(ADVISORY);

    assert_eq!(summary.kind, FeedKind::RedHatCsaf);
    assert_eq!(summary.records, 1);
    assert_eq!(summary.skipped, Vec::<String>::new());
    assert_eq!(
        summary.snapshot.as_deref(),
        Some("2024-08-11T08:04:44+00:00")
    );
    assert_eq!(advisory.id, "RHSA-2023:7435");
    assert_eq!(advisory.source, "redhat-csaf");
    assert_eq!(advisory.cves, ["CVE-2023-37920", "CVE-2023-43804"]);
    assert_eq!(advisory.severity, Severity::Medium);
    assert_eq!(
        advisory.url.as_deref(),
        Some("https://access.redhat.com/errata/RHSA-2023:7435")
    );
    assert_eq!(
        advisory.published.as_deref(),
        Some("2023-11-21T15:34:29+00:00")
    );
    assert_eq!(advisory.affected.len(), 132);
}

#[test]
fn advisory_streams_are_channels() {
    let (_, advisory) = read_sample(ADVISORY);
    let channels = |package: &str| {
        let mut found: Vec<&str> = advisory
            .affected
            .iter()
            .filter(|entry| entry.package == package)
            .filter_map(|entry| entry.channel.as_deref())
            .collect();
        found.sort();
        found
    };
    assert_eq!(channels("fence-agents-all"), ["aus", "e4s", "tus"]);
    let all = entry(&advisory, "fence-agents-all", "rhel:8");
    assert_eq!(all.kind, PackageKind::Binary);
    assert_eq!(all.status, fixed("4.2.1-41.el8_2.12"));
    let source = advisory
        .affected
        .iter()
        .filter(|e| e.kind == PackageKind::Source)
        .count();
    assert_eq!(source, 0);
}

#[test]
fn vex_fixed_products_per_release() {
    let (summary, advisory) = read_sample(VEX);

    assert_eq!(summary.skipped, Vec::<String>::new());
    assert_eq!(advisory.id, "CVE-2023-6212");
    assert_eq!(advisory.cves, ["CVE-2023-6212"]);
    assert_eq!(advisory.severity, Severity::High);
    // 84 fixed binary entries and the two RHEL 6 source packages.
    assert_eq!(advisory.affected.len(), 86);
    let main = advisory.affected.iter().find(|entry| {
        entry.package == "firefox"
            && entry.ecosystem.as_str() == "rhel:9"
            && entry.channel.is_none()
    });
    let Some(main) = main else {
        panic!("no firefox entry for rhel:9")
    };
    assert_eq!(main.status, fixed("115.5.0-1.el9_3"));
    let eus = advisory.affected.iter().any(|entry| {
        entry.package == "firefox"
            && entry.channel.as_deref() == Some("eus")
            && entry.status == fixed("115.5.0-1.el9_2")
    });
    assert!(eus, "no EUS firefox 115.5.0-1.el9_2 entry");
}

#[test]
fn vex_out_of_support_is_will_not_fix() {
    let (_, advisory) = read_sample(VEX);
    let firefox = entry(&advisory, "firefox", "rhel:6");

    assert_eq!(firefox.kind, PackageKind::Source);
    assert_eq!(firefox.status, Status::WillNotFix);
    assert_eq!(firefox.note.as_deref(), Some("Out of support scope"));
    assert_eq!(firefox.channel, None);
}
