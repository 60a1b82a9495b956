//! Debian security-support lists from the real `debian-security-support` package.

mod support;

use support::{entry, find, read_path, read_shared};
use vulnloop_advisory::{PackageKind, Status};
use vulnloop_feeds::{FeedError, FeedKind};

const LISTS: &str = "feeds/debian/debian-security-support-12+2026.06.30-lists.tar.zst";

#[test]
fn lists_read_every_line() {
    let (summary, advisories) = read_shared(LISTS, FeedKind::DebianSecuritySupport);

    // ended.deb9 21, ended.deb10 8, ended.deb11 0, ended.deb12 16, limited 32.
    assert_eq!(summary.records, 77);
    assert_eq!(advisories.len(), 77);
    assert_eq!(summary.snapshot.as_deref(), Some("2026-06-30"));
    // The suffix-less ended list is the package's own release (12) and
    // repeats ended.deb12 line for line.
    assert_eq!(summary.skipped.len(), 1);
    let repeats = "security-support-ended repeats a line of a release-specific list: 16 records";
    assert!(
        summary.skipped[0].starts_with(repeats),
        "{:?}",
        summary.skipped
    );
    let releases = |number: &str| {
        advisories
            .iter()
            .filter(|a| a.affected[0].ecosystem.release() == number)
            .count()
    };
    assert_eq!(releases("9"), 21);
    assert_eq!(releases("10"), 8);
    assert_eq!(releases("12"), 48);
}

#[test]
fn ended_entry_keeps_version_date_and_details() {
    let (_, advisories) = read_shared(LISTS, FeedKind::DebianSecuritySupport);
    let wolfssl = find(&advisories, "DEBIAN-SUPPORT-ENDED-12-wolfssl");

    assert_eq!(wolfssl.source, "debian-security-support");
    let title = "Security support for wolfssl in Debian 12 ends on 2026-06-12, after version 5.5.4-2+deb12u2";
    assert_eq!(wolfssl.title.as_deref(), Some(title));
    let ended = entry(wolfssl, "wolfssl", "debian:12");
    assert_eq!(ended.kind, PackageKind::Source);
    assert_eq!(ended.status, Status::Unsupported);
    let details =
        "Crypto library difficult to support in the longterm; see: https://bugs.debian.org/1138294";
    assert_eq!(ended.note.as_deref(), Some(details));
}

#[test]
fn patterns_and_tabs_are_kept_verbatim() {
    let (_, advisories) = read_shared(LISTS, FeedKind::DebianSecuritySupport);

    let horde = find(&advisories, "DEBIAN-SUPPORT-ENDED-12-php-horde.*");
    let title =
        "Security support for php-horde.* in Debian 12 ends on 2025-03-22, for all versions";
    assert_eq!(horde.title.as_deref(), Some(title));
    let details =
        "https://lists.debian.org/debian-lts/2025/03/msg00012.html; incompatible with PHP8";
    assert_eq!(
        entry(horde, "php-horde.*", "debian:12").note.as_deref(),
        Some(details)
    );

    let node = find(&advisories, "DEBIAN-SUPPORT-ENDED-9-node-.*");
    assert_eq!(
        entry(node, "node-.*", "debian:9").status,
        Status::Unsupported
    );

    let golang = find(&advisories, "DEBIAN-SUPPORT-LIMITED-12-golang.*");
    assert_eq!(
        golang.title.as_deref(),
        Some("Security support for golang.* in Debian 12 is limited")
    );
    let note = entry(golang, "golang.*", "debian:12")
        .note
        .as_deref()
        .unwrap_or("");
    assert!(note.ends_with("#golang-static-linking"), "{note}");
}

#[test]
fn single_list_needs_a_release() {
    let dir = tempfile::tempdir();
    let Ok(dir) = dir else {
        panic!("no temporary directory")
    };
    let limited = dir.path().join("security-support-limited");
    assert!(std::fs::write(&limited, "adns  Stub resolver\n").is_ok());
    let result = vulnloop_feeds::parse_file(&limited, FeedKind::DebianSecuritySupport, &mut |_| {});
    assert!(
        matches!(result, Err(FeedError::UnknownRelease { .. })),
        "{result:?}"
    );

    let ended = dir.path().join("security-support-ended.deb11");
    let line = "foo  1.0-1  2024-01-31  no longer maintained\nbar  1.0-1  soon  bad date\n";
    assert!(std::fs::write(&ended, line).is_ok());
    let (summary, advisories) = read_path(&ended, FeedKind::DebianSecuritySupport);
    assert_eq!(summary.records, 1);
    assert_eq!(advisories[0].id, "DEBIAN-SUPPORT-ENDED-11-foo");
    assert_eq!(summary.skipped.len(), 1);
    assert!(
        summary.skipped[0].starts_with("security-support-ended.deb11 line 2"),
        "{:?}",
        summary.skipped
    );
}
