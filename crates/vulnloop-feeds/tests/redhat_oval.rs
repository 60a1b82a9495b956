//! Red Hat RHSA OVAL for RHEL 9 and Rocky Linux RLSA OVAL on the real files.
//!
//! The entry counts were computed independently with Python's ElementTree:
//! distinct (package, fixed EVR) pairs per definition from `rpminfo_test`s
//! whose state is `evr` "less than".

mod support;

use support::{entry, find, read_shared};
use vulnloop_advisory::{PackageKind, Severity, Status};
use vulnloop_feeds::FeedKind;

const RHEL9: &str = "feeds/redhat-oval/com.redhat.rhsa-RHEL9.xml.zst";
const ROCKY9: &str = "feeds/rocky-oval/org.rockylinux.rlsa-9.xml.zst";
const ROCKY8: &str = "feeds/rocky-oval/org.rockylinux.rlsa-8.xml.zst";

fn fixed(version: &str) -> Status {
    Status::Fixed {
        fixed: version.to_string(),
    }
}

fn entry_count(advisories: &[vulnloop_advisory::Advisory]) -> usize {
    advisories
        .iter()
        .map(|advisory| advisory.affected.len())
        .sum()
}

#[test]
fn rhel9_reads_every_definition() {
    let (summary, advisories) = read_shared(RHEL9, FeedKind::RedHatOval);

    assert_eq!(summary.kind, FeedKind::RedHatOval);
    assert_eq!(summary.records, 222);
    assert_eq!(summary.skipped, Vec::<String>::new());
    assert_eq!(summary.snapshot.as_deref(), Some("2023-04-05"));
    assert_eq!(entry_count(&advisories), 1720);
}

#[test]
fn rhel9_entries_are_binary_rhel9() {
    let (_, advisories) = read_shared(RHEL9, FeedKind::RedHatOval);
    let foreign = advisories
        .iter()
        .flat_map(|advisory| &advisory.affected)
        .filter(|entry| entry.ecosystem.as_str() != "rhel:9" || entry.kind != PackageKind::Binary)
        .count();
    assert_eq!(foreign, 0);
}

#[test]
fn rhel9_bugfix_record_has_all_fields() {
    let (_, advisories) = read_shared(RHEL9, FeedKind::RedHatOval);
    let advisory = find(&advisories, "RHBA-2022:5749");

    assert_eq!(advisory.source, "redhat-oval");
    assert_eq!(advisory.cves, ["CVE-2022-1650"]);
    assert_eq!(
        advisory.title.as_deref(),
        Some("RHBA-2022:5749: .NET 6.0 bugfix update (Moderate)")
    );
    assert_eq!(advisory.severity, Severity::Medium);
    assert_eq!(advisory.severity_raw.as_deref(), Some("Moderate"));
    assert_eq!(advisory.published.as_deref(), Some("2022-07-28"));
    assert_eq!(
        advisory.url.as_deref(),
        Some("https://access.redhat.com/errata/RHBA-2022:5749")
    );
    assert_eq!(advisory.affected.len(), 11);
    let sdk = entry(advisory, "dotnet-sdk-6.0", "rhel:9");
    assert_eq!(sdk.status, fixed("6.0.107-1.el9_0"));
    assert_eq!(sdk.channel, None);
}

#[test]
fn rhel9_epoch_is_kept() {
    let (_, advisories) = read_shared(RHEL9, FeedKind::RedHatOval);
    let advisory = find(&advisories, "RHSA-2022:8219");
    let mutt = entry(advisory, "mutt", "rhel:9");
    assert_eq!(mutt.status, fixed("5:2.2.6-1.el9"));
}

#[test]
fn rhel9_module_stream_is_channel() {
    let (_, advisories) = read_shared(RHEL9, FeedKind::RedHatOval);
    let advisory = find(&advisories, "RHSA-2022:8832");

    assert_eq!(advisory.affected.len(), 8);
    let nodejs = entry(advisory, "nodejs", "rhel:9");
    assert_eq!(
        nodejs.status,
        fixed("1:18.12.1-1.module+el9.1.0.z+17326+318294bb")
    );
    assert_eq!(nodejs.channel.as_deref(), Some("module:nodejs:18"));
    let unscoped = advisory
        .affected
        .iter()
        .filter(|entry| entry.channel.is_none())
        .count();
    assert_eq!(unscoped, 0);
}

#[test]
fn rocky9_reads_every_definition() {
    let (summary, advisories) = read_shared(ROCKY9, FeedKind::RockyOval);

    assert_eq!(summary.kind, FeedKind::RockyOval);
    assert_eq!(summary.records, 175);
    assert_eq!(summary.snapshot.as_deref(), Some("2024-05-10"));
    // One criterion of RLSA-2023:3661 refers to a test the file does not contain.
    assert_eq!(
        summary.skipped,
        ["criterion refers to the missing test oval:org.rockylinux.rlsa:tst:unk: 1 record (RLSA-2023:3661)"]
    );
    assert_eq!(entry_count(&advisories), 2609);
}

#[test]
fn rocky9_cves_come_from_description() {
    let (_, advisories) = read_shared(ROCKY9, FeedKind::RockyOval);
    let advisory = find(&advisories, "RLSA-2022:4582");

    assert_eq!(advisory.source, "rocky-oval");
    assert_eq!(advisory.cves, ["CVE-2022-1271"]);
    assert_eq!(advisory.severity, Severity::High);
    assert_eq!(
        advisory.url.as_deref(),
        Some("https://errata.rockylinux.org/RLSA-2022:4582")
    );
    let gzip = entry(advisory, "gzip", "rocky:9");
    assert_eq!(gzip.kind, PackageKind::Binary);
    assert_eq!(gzip.status, fixed("1.10-9.el9_0"));
}

/// The file named `rlsa-8` in this snapshot contains Rocky Linux 9
/// definitions (`<platform>Rocky Linux 9</platform>`), so the release comes
/// from the content, not the file name.
#[test]
fn rocky_file_named_8_is_rocky9() {
    let (summary, advisories) = read_shared(ROCKY8, FeedKind::RockyOval);

    assert_eq!(summary.records, 64);
    assert_eq!(summary.skipped, Vec::<String>::new());
    assert_eq!(entry_count(&advisories), 814);
    let foreign = advisories
        .iter()
        .flat_map(|advisory| &advisory.affected)
        .filter(|entry| entry.ecosystem.as_str() != "rocky:9")
        .count();
    assert_eq!(foreign, 0);
}

/// Rocky's state carries its own rebuild suffix where the criterion comment
/// gives Red Hat's version; the state decides.
#[test]
fn rocky_fixed_version_comes_from_state() {
    let (_, advisories) = read_shared(ROCKY8, FeedKind::RockyOval);
    let advisory = find(&advisories, "RLSA-2022:5099");
    let shim = entry(advisory, "shim-x64", "rocky:9");
    assert_eq!(shim.status, fixed("15.6-1.el9.rocky.0.1"));
}

#[test]
fn red_hat_file_is_not_rocky() {
    let path = vulnloop_testdata::data_file(RHEL9);
    let result = vulnloop_feeds::parse_file(&path, FeedKind::RockyOval, &mut |_| {});
    let error = match result {
        Ok(_) => panic!("a Red Hat file was read as Rocky OVAL"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("Red Hat OVAL Patch Definition Merger"),
        "{error}"
    );
}
