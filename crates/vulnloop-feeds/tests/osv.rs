//! OSV JSON on real records: the Debian 12 changelog archive and the Debian
//! and Ubuntu OSV format samples.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{entry, find, format_samples, read_path, read_shared, sample};
use vulnloop_advisory::{PackageKind, Severity, Status};
use vulnloop_feeds::FeedKind;

const CHANGELOG_ARCHIVE: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";

fn fixed(version: &str) -> Status {
    Status::Fixed {
        fixed: version.to_string(),
    }
}

#[test]
fn changelog_archive_reads_every_record() {
    let (summary, advisories) = read_shared(CHANGELOG_ARCHIVE, FeedKind::Osv);

    assert_eq!(summary.kind, FeedKind::Osv);
    assert_eq!(summary.records, 2299);
    assert_eq!(advisories.len(), 2299);
    // README.md and the host-* files are not JSON and are passed over.
    assert_eq!(summary.skipped, Vec::<String>::new());
    assert_eq!(summary.snapshot.as_deref(), Some("2026-12-04T00:00:00Z"));
    let linux = advisories
        .iter()
        .filter(|advisory| advisory.affected[0].package == "linux")
        .count();
    assert_eq!(linux, 2019);
}

#[test]
fn changelog_record_has_all_fields() {
    let (_, advisories) = read_shared(CHANGELOG_ARCHIVE, FeedKind::Osv);
    let advisory = find(&advisories, "DEB12-CHANGELOG-CVE-2024-53051");

    assert_eq!(advisory.source, "osv");
    assert_eq!(advisory.cves, ["CVE-2024-53051"]);
    let title = "CVE-2024-53051 fixed in Debian 12 package update (derived from the package's Debian changelog)";
    assert_eq!(advisory.title.as_deref(), Some(title));
    assert_eq!(advisory.modified.as_deref(), Some("2026-12-04T00:00:00Z"));
    assert_eq!(advisory.severity, Severity::Unknown);
    assert_eq!(advisory.affected.len(), 1);
    let linux = entry(advisory, "linux", "debian:12");
    assert_eq!(linux.kind, PackageKind::Source);
    assert_eq!(linux.status, fixed("6.1.192-1"));
    assert_eq!(linux.channel, None);
    assert_eq!(linux.note, None);
}

#[test]
fn changelog_openssl_fixes_match_the_archive() {
    let (_, advisories) = read_shared(CHANGELOG_ARCHIVE, FeedKind::Osv);
    let openssl: Vec<_> = advisories
        .iter()
        .filter(|advisory| advisory.affected[0].package == "openssl")
        .collect();

    assert!(!openssl.is_empty(), "no openssl record");
    for advisory in openssl {
        let status = &advisory.affected[0].status;
        assert!(
            matches!(status, Status::Fixed { .. }),
            "{} is {status:?}",
            advisory.id
        );
    }
}

/// Unzips the Debian OSV sample `all.zip` with the `unzip` tool.
fn debian_samples(dir: &tempfile::TempDir) -> PathBuf {
    let zip = sample(dir, "pkg/fetch/debian/osv/testdata/fixtures/all.zip");
    let out = dir.path().join("debian-osv");
    let status = Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(&out)
        .status();
    assert!(
        matches!(status, Ok(status) if status.success()),
        "unzip failed: {status:?}"
    );
    out.join("all")
}

/// Extracts the Ubuntu OSV sample `osv-all.tar.xz` with the `tar` tool.
fn ubuntu_samples(dir: &tempfile::TempDir) -> PathBuf {
    let archive = sample(
        dir,
        "pkg/fetch/ubuntu/osv/testdata/fixtures/happy/osv-all.tar.xz",
    );
    let out = dir.path().join("ubuntu-osv");
    assert!(std::fs::create_dir_all(&out).is_ok());
    let status = Command::new("tar")
        .arg("-xJf")
        .arg(&archive)
        .arg("-C")
        .arg(&out)
        .status();
    assert!(
        matches!(status, Ok(status) if status.success()),
        "tar -xJf failed: {status:?}"
    );
    out.join("osv")
}

fn read_one(path: &Path) -> vulnloop_advisory::Advisory {
    let (summary, mut advisories) = read_path(path, FeedKind::Osv);
    assert_eq!(summary.records, 1, "{}", path.display());
    assert_eq!(summary.skipped, Vec::<String>::new(), "{}", path.display());
    advisories.remove(0)
}

#[test]
fn debian_samples_read_releases_and_fixes() {
    let dir = format_samples();
    let all = debian_samples(&dir);

    // The sample's file name and id differ; the id inside counts.
    let dla = read_one(&all.join("DLA-0010-1.json"));
    assert_eq!(dla.id, "DLA-0001-1");
    assert_eq!(dla.cves, ["CVE-2014-3466"]);
    assert_eq!(dla.title.as_deref(), Some("gnutls26 - security update"));
    assert_eq!(dla.published.as_deref(), Some("2014-06-02T00:00:00Z"));
    assert_eq!(
        dla.url.as_deref(),
        Some("https://www.debian.org/lts/security/2014/dla-0001")
    );
    assert_eq!(
        entry(&dla, "gnutls26", "debian:6.0").status,
        fixed("2.8.6-1+squeeze4")
    );

    let dsa = read_one(&all.join("DSA-135.json"));
    assert_eq!(
        entry(&dsa, "libapache-mod-ssl", "debian:3.0").status,
        fixed("2.8.9-2")
    );

    let dtsa = read_one(&all.join("DTSA-1-1.json"));
    assert_eq!(dtsa.cves, ["CVE-2005-2626", "CVE-2005-2627"]);
    assert_eq!(dtsa.url, None);
    assert_eq!(
        entry(&dtsa, "kismet", "debian:4.0").status,
        fixed("2005.08.R1-0.1etch1")
    );
}

#[test]
fn ubuntu_samples_read_channels_and_priorities() {
    let dir = format_samples();
    let osv = ubuntu_samples(&dir);

    let usn = read_one(&osv.join("usn/USN-7095-1.json"));
    assert_eq!(usn.affected.len(), 3);
    assert_eq!(usn.cves.len(), 196);
    let nvidia = entry(&usn, "linux-nvidia-6.8", "ubuntu:22.04");
    assert_eq!(nvidia.status, fixed("6.8.0-1017.19~22.04.1"));
    assert_eq!(nvidia.kind, PackageKind::Source);
    assert_eq!(nvidia.channel, None);

    let cve = read_one(&osv.join("cve/2024/UBUNTU-CVE-2024-51988.json"));
    assert_eq!(cve.cves, ["CVE-2024-51988"]);
    assert_eq!(cve.severity, Severity::Medium);
    assert_eq!(cve.severity_raw.as_deref(), Some("medium"));
    assert_eq!(
        entry(&cve, "rabbitmq-server", "ubuntu:24.10").status,
        fixed("3.12.1-1ubuntu2")
    );
    assert_eq!(
        entry(&cve, "rabbitmq-server", "ubuntu:20.04").status,
        fixed("3.8.3-0ubuntu0.1")
    );

    let lsn = read_one(&osv.join("lsn/LSN-0108-1.json"));
    let aws = entry(&lsn, "linux-aws", "ubuntu:18.04");
    assert_eq!(aws.status, fixed("4.15.0-1176.189"));
    assert_eq!(aws.channel.as_deref(), Some("livepatch"));
}

#[test]
fn unfixed_and_pro_entries_from_fixture() {
    let dir = tempfile::tempdir();
    let Ok(dir) = dir else {
        panic!("no temporary directory")
    };
    let path = dir.path().join("UBUNTU-CVE-2099-0001.json");
    let record = r#"{
      "id": "UBUNTU-CVE-2099-0001", "related": ["CVE-2099-0001"],
      "severity": [{"type": "Ubuntu", "score": "high"}],
      "affected": [
        {"package": {"ecosystem": "Ubuntu:Pro:18.04:LTS", "name": "openssl"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]},
        {"package": {"ecosystem": "Ubuntu:Pro:FIPS-updates:20.04:LTS", "name": "openssl"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1.1f-1ubuntu2.fips.1"}]}]},
        {"package": {"ecosystem": "Fedora:39", "name": "openssl"}}
      ]}"#;
    assert!(std::fs::write(&path, record).is_ok());

    let (summary, advisories) = read_path(&path, FeedKind::Osv);
    assert_eq!(summary.records, 1);
    assert_eq!(
        summary.skipped,
        ["ecosystem Fedora:39 is not read: 1 record (UBUNTU-CVE-2099-0001)"]
    );
    let advisory = &advisories[0];
    assert_eq!(advisory.severity, Severity::High);
    let esm = entry(advisory, "openssl", "ubuntu:18.04");
    assert_eq!(esm.status, Status::Affected);
    assert_eq!(esm.channel.as_deref(), Some("esm"));
    let fips = entry(advisory, "openssl", "ubuntu:20.04");
    assert_eq!(fips.channel.as_deref(), Some("fips-updates"));
}
