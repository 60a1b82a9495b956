//! Oracle Linux ELSA OVAL on the vuls-data-update format sample
//! (`com.oracle.elsa-all.xml.bz2`, two definitions: OL5 bind and OL8
//! `virt:kvm_utils`).

mod support;

use support::{entry, find, format_samples, read_path, sample};
use vulnloop_advisory::{PackageKind, Severity, Status};
use vulnloop_feeds::{detect, FeedKind};

const SAMPLE: &str = "pkg/fetch/oracle/linux/testdata/fixtures/com.oracle.elsa-all.xml.bz2";

fn fixed(version: &str) -> Status {
    Status::Fixed {
        fixed: version.to_string(),
    }
}

#[test]
fn sample_reads_both_definitions() {
    let dir = format_samples();
    let path = sample(&dir, SAMPLE);
    let (summary, advisories) = read_path(&path, FeedKind::OracleOval);

    assert_eq!(detect(&path), Some(FeedKind::OracleOval));
    assert_eq!(summary.kind, FeedKind::OracleOval);
    assert_eq!(summary.records, 2);
    assert_eq!(summary.skipped, Vec::<String>::new());
    assert_eq!(summary.snapshot.as_deref(), Some("2022-04-27"));
    assert_eq!(advisories.len(), 2);
}

#[test]
fn ol5_bind_keeps_epoch_and_severity() {
    let dir = format_samples();
    let (_, advisories) = read_path(&sample(&dir, SAMPLE), FeedKind::OracleOval);
    let advisory = find(&advisories, "ELSA-2007-0057");

    assert_eq!(advisory.source, "oracle-oval");
    assert_eq!(advisory.cves, ["CVE-2007-0493", "CVE-2007-0494"]);
    assert_eq!(advisory.severity, Severity::Medium);
    assert_eq!(advisory.severity_raw.as_deref(), Some("MODERATE"));
    assert_eq!(
        advisory.url.as_deref(),
        Some("https://linux.oracle.com/errata/ELSA-2007-0057.html")
    );
    // Eight packages, each listed once per architecture with the same EVR.
    assert_eq!(advisory.affected.len(), 8);
    let bind = entry(advisory, "bind", "ol:5");
    assert_eq!(bind.kind, PackageKind::Binary);
    assert_eq!(bind.status, fixed("30:9.3.3-8.el5"));
    assert_eq!(bind.channel, None);
}

#[test]
fn ol8_module_stream_is_channel() {
    let dir = format_samples();
    let (_, advisories) = read_path(&sample(&dir, SAMPLE), FeedKind::OracleOval);
    let advisory = find(&advisories, "ELSA-2023-12342");

    assert_eq!(advisory.severity, Severity::High);
    assert_eq!(advisory.cves, ["CVE-2022-4144", "CVE-2023-0664"]);
    let hivex = entry(advisory, "hivex", "ol:8");
    assert_eq!(
        hivex.status,
        fixed("1.3.18-21.module+el8.7.0+21037+8ee66348")
    );
    assert_eq!(hivex.channel.as_deref(), Some("module:virt:kvm_utils"));
}
