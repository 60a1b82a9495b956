//! Debian DSA and DLA lists from the security tracker's repository.

mod support;

use support::{entry, find, read_shared};
use vulnloop_advisory::{PackageKind, Status};
use vulnloop_feeds::FeedKind;

const DSA_LIST: &str = "feeds/debian/security-tracker-data-DSA-list.zst";
const DLA_LIST: &str = "feeds/debian/security-tracker-data-DLA-list.zst";

/// Returns the count in a skipped line that starts with `reason`.
fn skipped_count(skipped: &[String], reason: &str) -> usize {
    let Some(line) = skipped.iter().find(|line| line.starts_with(reason)) else {
        panic!("no skipped line for {reason:?}: {skipped:?}");
    };
    let count = line[reason.len()..]
        .trim_start_matches(": ")
        .split(' ')
        .next()
        .unwrap_or("");
    count
        .parse()
        .unwrap_or_else(|_| panic!("no count in {line:?}"))
}

#[test]
fn dsa_list_accounts_for_every_advisory() {
    let (summary, advisories) = read_shared(DSA_LIST, FeedKind::DebianAdvisoryList);

    assert_eq!(summary.kind, FeedKind::DebianAdvisoryList);
    assert_eq!(summary.snapshot.as_deref(), Some("2023-03-29"));
    assert_eq!(summary.records, 2793);
    assert_eq!(advisories.len(), 2793);
    // 5,406 headers: 2,793 read, 23 announcements (end-of-life notices, key
    // changes) and 2,590 that only name Debian 3.0 to 6.0, which have no
    // release number in the release table.
    let announcements = skipped_count(&summary.skipped, "announcement without a package line");
    let old_releases = skipped_count(
        &summary.skipped,
        "advisory has no release line that could be read",
    );
    assert_eq!(announcements, 23);
    assert_eq!(old_releases, 2590);
    assert_eq!(summary.records + announcements + old_releases, 5406);
}

#[test]
fn dla_list_accounts_for_every_advisory() {
    let (summary, _) = read_shared(DLA_LIST, FeedKind::DebianAdvisoryList);

    assert_eq!(summary.snapshot.as_deref(), Some("2023-04-01"));
    assert_eq!(summary.records, 3064);
    let announcements = skipped_count(&summary.skipped, "announcement without a package line");
    let old_releases = skipped_count(
        &summary.skipped,
        "advisory has no release line that could be read",
    );
    assert_eq!(summary.records + announcements + old_releases, 3534);
}

#[test]
fn dsa_record_has_all_fields() {
    let (_, advisories) = read_shared(DSA_LIST, FeedKind::DebianAdvisoryList);
    let dsa = find(&advisories, "DSA-5380-1");

    assert_eq!(dsa.source, "debian-advisory-list");
    assert_eq!(dsa.title.as_deref(), Some("xorg-server - security update"));
    assert_eq!(dsa.published.as_deref(), Some("2023-03-29"));
    assert_eq!(dsa.cves, ["CVE-2023-1393"]);
    assert_eq!(
        dsa.url.as_deref(),
        Some("https://security-tracker.debian.org/tracker/DSA-5380-1")
    );
    assert_eq!(dsa.affected.len(), 1);
    let xorg = entry(dsa, "xorg-server", "debian:11");
    assert_eq!(xorg.kind, PackageKind::Source);
    assert_eq!(
        xorg.status,
        Status::Fixed {
            fixed: "2:1.20.11-1+deb11u6".into()
        }
    );
    assert_eq!(xorg.note, None);

    // `<end-of-life>` release lines end support for the package.
    let virtualbox = find(&advisories, "DSA-3699-1");
    assert_eq!(
        entry(virtualbox, "virtualbox", "debian:8").status,
        Status::Unsupported
    );
}

#[test]
fn dla_record_has_all_fields() {
    let (_, advisories) = read_shared(DLA_LIST, FeedKind::DebianAdvisoryList);
    let dla = find(&advisories, "DLA-3380-1");

    assert_eq!(
        dla.title.as_deref(),
        Some("firmware-nonfree - security update")
    );
    assert_eq!(dla.cves.len(), 11);
    let firmware = entry(dla, "firmware-nonfree", "debian:10");
    assert_eq!(
        firmware.status,
        Status::Fixed {
            fixed: "20190114+really20220913-0+deb10u1".into()
        }
    );
}
