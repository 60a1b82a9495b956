//! SUSE OSV on the vuls-data-update format sample (`osv.tar.bz2`: three SUSE
//! records, a record without affected packages and the `all.json` index).
//! Expected counts were computed from the JSON with Python.

mod support;

use support::{entry, find, format_samples, read_path, sample};
use vulnloop_advisory::{PackageKind, Status};
use vulnloop_feeds::FeedKind;

const SAMPLE: &str = "pkg/fetch/suse/osv/testdata/fixtures/osv.tar.bz2";

fn fixed(version: &str) -> Status {
    Status::Fixed {
        fixed: version.to_string(),
    }
}

#[test]
fn sample_archive_reads_suse_records() {
    let dir = format_samples();
    let (summary, advisories) = read_path(&sample(&dir, SAMPLE), FeedKind::Osv);

    assert_eq!(summary.records, 3);
    let openssl = find(&advisories, "SUSE-SU-403");
    // 76 distinct (release, binary, version) triples; the SDK and Workstation
    // Extension products (10 entries) are skipped.
    assert_eq!(openssl.affected.len(), 76);
    let hub = find(&advisories, "openSUSE-SU-2016:1623-1");
    assert_eq!(hub.affected.len(), 19);
}

#[test]
fn sample_archive_lists_skipped_records() {
    let dir = format_samples();
    let (summary, _) = read_path(&sample(&dir, SAMPLE), FeedKind::Osv);
    let has = |text: &str| summary.skipped.iter().any(|line| line.contains(text));

    assert!(
        has("record lists no affected package: 1 record (SUSE-SU-2015:0011-2)"),
        "{:?}",
        summary.skipped
    );
    assert!(
        has("ecosystem SUSE:Linux Enterprise Software Development Kit 12 is not read"),
        "{:?}",
        summary.skipped
    );
    // all.json is the feed's index, a JSON array rather than an OSV record.
    assert!(has("all.json"), "{:?}", summary.skipped);
}

#[test]
fn binaries_become_binary_entries() {
    let dir = format_samples();
    let (_, advisories) = read_path(&sample(&dir, SAMPLE), FeedKind::Osv);
    let advisory = find(&advisories, "SUSE-SU-403");

    assert_eq!(advisory.cves.len(), 54);
    let server = entry(advisory, "libqt4-sql", "sles:12");
    assert_eq!(server.kind, PackageKind::Binary);
    assert_eq!(server.status, fixed("4.8.6-7.1"));
    assert_eq!(server.channel, None);
    let desktop = entry(advisory, "libqt4", "sled:12.1");
    assert_eq!(desktop.kind, PackageKind::Binary);
    let sap = entry(advisory, "libqt4", "sles_sap:12");
    assert_eq!(sap.kind, PackageKind::Binary);
}

#[test]
fn package_hub_is_channel() {
    let dir = format_samples();
    let (_, advisories) = read_path(&sample(&dir, SAMPLE), FeedKind::Osv);
    let advisory = find(&advisories, "openSUSE-SU-2016:1623-1");
    let chromium = entry(advisory, "chromium", "sles:12");
    assert_eq!(chromium.status, fixed("51.0.2704.103-85.3"));
    assert_eq!(chromium.channel.as_deref(), Some("package-hub"));
}
