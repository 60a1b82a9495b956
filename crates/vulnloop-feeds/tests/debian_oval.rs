//! Debian OVAL on the real bookworm file and the bullseye format sample.

mod support;

use std::sync::OnceLock;

use support::{entry, find, find_title, format_samples, read_path, read_shared, sample};
use vulnloop_advisory::{Advisory, PackageKind, Severity, Status};
use vulnloop_feeds::{FeedKind, FeedSummary};

const BOOKWORM: &str = "feeds/debian/oval-definitions-bookworm.xml.bz2";

/// Parses the bookworm file once for all tests of this file.
fn bookworm() -> &'static (FeedSummary, Vec<Advisory>) {
    static PARSED: OnceLock<(FeedSummary, Vec<Advisory>)> = OnceLock::new();
    PARSED.get_or_init(|| read_shared(BOOKWORM, FeedKind::DebianOval))
}

#[test]
fn bookworm_reads_every_definition() {
    let (summary, advisories) = bookworm();

    assert_eq!(summary.kind, FeedKind::DebianOval);
    assert_eq!(summary.records, 25932);
    assert_eq!(advisories.len(), 25932);
    assert_eq!(summary.skipped, Vec::<String>::new());
    assert_eq!(
        summary.snapshot.as_deref(),
        Some("2023-07-14T03:39:10.188-04:00")
    );

    // 24,399 states compare with a fixed version and 1,533 with `0:0` (no fix).
    let fixed = advisories
        .iter()
        .filter(|a| matches!(a.affected[0].status, Status::Fixed { .. }))
        .count();
    let unfixed = advisories
        .iter()
        .filter(|a| a.affected[0].status == Status::Affected)
        .count();
    assert_eq!(fixed, 24399);
    assert_eq!(unfixed, 1533);
    let dsas = advisories
        .iter()
        .filter(|advisory| advisory.id.starts_with("DSA-"))
        .count();
    assert_eq!(dsas, 26);
}

#[test]
fn bookworm_records_have_exact_fields() {
    let (_, advisories) = bookworm();

    let glibc = find_title(advisories, "CVE-1999-0199 glibc");
    assert_eq!(glibc.id, "CVE-1999-0199");
    assert_eq!(glibc.source, "debian-oval");
    assert_eq!(glibc.cves, ["CVE-1999-0199"]);
    assert_eq!(glibc.severity, Severity::Unknown);
    assert_eq!(
        glibc.url.as_deref(),
        Some("https://security-tracker.debian.org/tracker/CVE-1999-0199")
    );
    let entry_glibc = entry(glibc, "glibc", "debian:12");
    assert_eq!(entry_glibc.kind, PackageKind::Source);
    assert_eq!(
        entry_glibc.status,
        Status::Fixed {
            fixed: "2.2-1".into()
        }
    );
    assert_eq!(entry_glibc.note, None);

    // The epoch stays when it is not zero.
    let libx11 = find_title(advisories, "CVE-2023-3138 libx11");
    assert_eq!(
        entry(libx11, "libx11", "debian:12").status,
        Status::Fixed {
            fixed: "2:1.8.4-2+deb12u1".into()
        }
    );
}

#[test]
fn bookworm_unfixed_is_affected_with_note() {
    let (_, advisories) = bookworm();

    // The tracker lists CVE-2005-2541 as unfixed (unimportant) in tar; the
    // OVAL state is `less than 0:0`.
    let tar = find_title(advisories, "CVE-2005-2541 tar");
    let entry_tar = entry(tar, "tar", "debian:12");
    assert_eq!(entry_tar.status, Status::Affected);
    let note = entry_tar.note.as_deref().unwrap_or("");
    assert!(
        note.starts_with("no fixed version in this release"),
        "{note}"
    );
}

#[test]
fn bookworm_dsa_definition_keeps_its_id() {
    let (_, advisories) = bookworm();
    let dsa = find(advisories, "DSA-5418-1");

    assert_eq!(dsa.title.as_deref(), Some("DSA-5418-1 chromium"));
    assert_eq!(dsa.published.as_deref(), Some("2023-06-03"));
    assert_eq!(dsa.cves.len(), 13);
    assert_eq!(dsa.cves.first().map(String::as_str), Some("CVE-2023-2929"));
    assert_eq!(dsa.cves.last().map(String::as_str), Some("CVE-2023-2941"));
    let chromium = entry(dsa, "chromium", "debian:12");
    assert_eq!(
        chromium.status,
        Status::Fixed {
            fixed: "114.0.5735.90-2~deb12u1".into()
        }
    );
}

#[test]
fn bullseye_sample_reads_release_11() {
    let dir = format_samples();
    let path = sample(
        &dir,
        "pkg/fetch/debian/oval/testdata/fixtures/oval-definitions-bullseye.xml.bz2",
    );
    let (summary, advisories) = read_path(&path, FeedKind::DebianOval);

    assert_eq!(summary.records, 4);
    assert_eq!(summary.skipped, Vec::<String>::new());
    assert_eq!(
        summary.snapshot.as_deref(),
        Some("2022-07-12T23:31:28.188-04:00")
    );
    let ids: Vec<&str> = advisories
        .iter()
        .map(|advisory| advisory.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "CVE-2016-5405",
            "CVE-2016-5416",
            "CVE-2022-31625",
            "DSA-5179-1"
        ]
    );

    let fixed = find(&advisories, "CVE-2016-5405");
    assert_eq!(
        entry(fixed, "389-ds-base", "debian:11").status,
        Status::Fixed {
            fixed: "1.3.5.15-1".into()
        }
    );
    // The tracker sample lists CVE-2016-5416 as open and ignored in bullseye.
    let open = find(&advisories, "CVE-2016-5416");
    assert_eq!(
        entry(open, "389-ds-base", "debian:11").status,
        Status::Affected
    );
    // The tracker sample resolves CVE-2012-0833 in version 0 for bullseye
    // (never affected), and the generator writes no definition for that.
    assert!(advisories
        .iter()
        .all(|advisory| advisory.id != "CVE-2012-0833"));
    let dsa = find(&advisories, "DSA-5179-1");
    assert_eq!(dsa.published.as_deref(), Some("2022-07-08"));
    assert_eq!(
        entry(dsa, "php7.4", "debian:11").status,
        Status::Fixed {
            fixed: "7.4.30-1+deb11u1".into()
        }
    );
}
