//! SUSE CSAF on the vuls-data-update format sample (`csaf.tar.bz2`: three
//! advisories with their signatures and an index). Expected counts were
//! computed from the JSON with Python: distinct (release, binary package,
//! version-release, note) tuples of the `recommended` products.

mod support;

use support::{find, format_samples, read_path, sample};
use vulnloop_advisory::{Advisory, PackageKind, Severity, Status};
use vulnloop_feeds::FeedKind;

const SAMPLE: &str = "pkg/fetch/suse/csaf/testdata/fixtures/csaf.tar.bz2";

fn fixed(version: &str) -> Status {
    Status::Fixed {
        fixed: version.to_string(),
    }
}

fn entries<'a>(
    advisory: &'a Advisory,
    package: &str,
    ecosystem: &str,
) -> Vec<&'a vulnloop_advisory::Affected> {
    advisory
        .affected
        .iter()
        .filter(|entry| entry.package == package && entry.ecosystem.as_str() == ecosystem)
        .collect()
}

#[test]
fn sample_archive_reads_every_advisory() {
    let dir = format_samples();
    let (summary, advisories) = read_path(&sample(&dir, SAMPLE), FeedKind::SuseCsaf);

    assert_eq!(summary.kind, FeedKind::SuseCsaf);
    assert_eq!(summary.records, 3);
    assert_eq!(summary.snapshot.as_deref(), Some("2016-07-06T12:21:45Z"));
    assert_eq!(find(&advisories, "SUSE-SU-403").affected.len(), 83);
    assert_eq!(
        find(&advisories, "openSUSE-SU-2016:1623-1").affected.len(),
        19
    );
    assert_eq!(find(&advisories, "SUSE-SU-2015:0011-2").affected.len(), 24);
    let sdk = summary.skipped.iter().any(|line| {
        line.starts_with("platform CPE cpe:/o:suse:sle-sdk:12 is not a supported SUSE release")
    });
    assert!(sdk, "{:?}", summary.skipped);
}

#[test]
fn bind_update_covers_ltss_and_sap() {
    let dir = format_samples();
    let (_, advisories) = read_path(&sample(&dir, SAMPLE), FeedKind::SuseCsaf);
    let advisory = find(&advisories, "SUSE-SU-2015:0011-2");

    assert_eq!(advisory.source, "suse-csaf");
    assert_eq!(advisory.cves.len(), 7);
    assert_eq!(advisory.severity, Severity::Medium);
    let sles = entries(advisory, "bind-libs", "sles:11.2");
    assert_eq!(sles.len(), 2);
    assert!(sles.iter().all(|entry| entry.kind == PackageKind::Binary));
    assert!(sles
        .iter()
        .all(|entry| entry.status == fixed("9.9.4P2-0.6.1")));
    let ltss = sles
        .iter()
        .filter(|entry| entry.note.as_deref() == Some("LTSS"))
        .count();
    assert_eq!(ltss, 1);
    assert_eq!(entries(advisory, "bind-libs", "sles_sap:11.2").len(), 1);
}

#[test]
fn package_hub_is_channel() {
    let dir = format_samples();
    let (_, advisories) = read_path(&sample(&dir, SAMPLE), FeedKind::SuseCsaf);
    let advisory = find(&advisories, "openSUSE-SU-2016:1623-1");
    let chromium = entries(advisory, "chromium", "sles:12");

    assert_eq!(chromium.len(), 1);
    assert_eq!(chromium[0].status, fixed("51.0.2704.103-85.3"));
    assert_eq!(chromium[0].channel.as_deref(), Some("package-hub"));
    assert_eq!(advisory.severity, Severity::High);
}
