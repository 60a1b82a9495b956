//! Ubuntu USN OVAL on the real jammy and noble files and the OCI format sample.

mod support;

use support::{entry, find, format_samples, read_path, read_shared, sample};
use vulnloop_advisory::{PackageKind, Severity, Status};
use vulnloop_feeds::{FeedError, FeedKind, LIVEPATCH_MODULE_PREFIX, RUNNING_KERNEL_PREFIX};

const JAMMY: &str = "feeds/ubuntu-oval/com.ubuntu.jammy.usn.oval.xml.zst";
const NOBLE: &str = "feeds/ubuntu-oval/com.ubuntu.noble.usn.oval.xml.zst";

fn fixed(version: &str) -> Status {
    Status::Fixed {
        fixed: version.to_string(),
    }
}

#[test]
fn jammy_reads_every_notice() {
    let (summary, advisories) = read_shared(JAMMY, FeedKind::UbuntuOval);

    // 625 definitions: 613 USN and 11 LSN patches, and the inventory
    // definition that checks the release, which is not an advisory.
    assert_eq!(summary.records, 624);
    assert_eq!(summary.skipped, Vec::<String>::new());
    assert_eq!(summary.snapshot.as_deref(), Some("2023-10-09"));
    let lsn = advisories
        .iter()
        .filter(|advisory| advisory.id.starts_with("LSN-"))
        .count();
    assert_eq!(lsn, 11);
    // 21 notices name no CVE anywhere (regression fixes, WebKitGTK batches
    // such as USN-5441-1).
    let without_cves: Vec<&str> = advisories
        .iter()
        .filter(|advisory| advisory.cves.is_empty())
        .map(|advisory| advisory.id.as_str())
        .collect();
    assert_eq!(without_cves.len(), 21, "{without_cves:?}");
    assert!(without_cves.contains(&"USN-5441-1"));
}

#[test]
fn noble_reads_every_notice() {
    let (summary, advisories) = read_shared(NOBLE, FeedKind::UbuntuOval);

    // 261 definitions: 255 USN and 5 LSN patches, and the inventory definition.
    assert_eq!(summary.records, 260);
    assert_eq!(advisories.len(), 260);
    assert_eq!(summary.skipped, Vec::<String>::new());
    assert_eq!(summary.snapshot.as_deref(), Some("2024-12-24"));
    let releases_ok = advisories
        .iter()
        .flat_map(|a| &a.affected)
        .all(|e| e.ecosystem.as_str() == "ubuntu:24.04");
    assert!(releases_ok);
}

#[test]
fn jammy_pro_packages_are_in_esm_channel() {
    let (_, advisories) = read_shared(JAMMY, FeedKind::UbuntuOval);
    let usn = find(&advisories, "USN-5181-1");

    assert_eq!(usn.source, "ubuntu-oval");
    assert_eq!(
        usn.title.as_deref(),
        Some("USN-5181-1 -- jQuery UI vulnerability")
    );
    assert_eq!(usn.cves, ["CVE-2021-41184", "CVE-2022-31160"]);
    assert_eq!(usn.severity, Severity::Medium);
    assert_eq!(usn.severity_raw.as_deref(), Some("Medium"));
    assert_eq!(usn.published.as_deref(), Some("2022-09-09"));
    assert_eq!(
        usn.url.as_deref(),
        Some("https://ubuntu.com/security/notices/USN-5181-1")
    );
    let packages: Vec<&str> = usn
        .affected
        .iter()
        .map(|entry| entry.package.as_str())
        .collect();
    assert_eq!(
        packages,
        ["libjs-jquery-ui", "libjs-jquery-ui-docs", "node-jquery-ui"]
    );
    for package in packages {
        let binary = entry(usn, package, "ubuntu:22.04");
        assert_eq!(binary.kind, PackageKind::Binary);
        assert_eq!(binary.status, fixed("1.13.1+dfsg-1ubuntu0.1~esm1"));
        assert_eq!(binary.channel.as_deref(), Some("esm"));
    }

    // Every esm entry has an ~esm fixed version and every other entry has none.
    for advisory in &advisories {
        for entry in &advisory.affected {
            let esm_version = entry
                .status
                .fixed_version()
                .is_some_and(|version| version.contains("esm"));
            let esm_channel = entry.channel.as_deref() == Some("esm");
            assert_eq!(
                esm_version, esm_channel,
                "{} {}",
                advisory.id, entry.package
            );
        }
    }
}

#[test]
fn jammy_kernel_check_names_the_running_kernel() {
    let (_, advisories) = read_shared(JAMMY, FeedKind::UbuntuOval);
    let usn = find(&advisories, "USN-5390-2");

    assert_eq!(usn.severity, Severity::High);
    assert_eq!(
        usn.cves,
        ["CVE-2022-1015", "CVE-2022-1016", "CVE-2022-26490"]
    );
    assert_eq!(usn.affected.len(), 1);
    let package = format!(r"{RUNNING_KERNEL_PREFIX}5.15.0-\d+(-raspi|-raspi-nolpae)");
    let kernel = entry(usn, &package, "ubuntu:22.04");
    assert_eq!(kernel.status, fixed("5.15.0-1006"));
    assert_eq!(kernel.channel, None);
}

#[test]
fn jammy_livepatch_notice_names_modules() {
    let (_, advisories) = read_shared(JAMMY, FeedKind::UbuntuOval);
    let lsn = find(&advisories, "LSN-0086-1");

    assert_eq!(lsn.cves.len(), 7);
    assert_eq!(lsn.affected.len(), 5);
    let package = format!(r"{LIVEPATCH_MODULE_PREFIX}lkp_Ubuntu_5_15_0[_|\d]+_gcp_(\d+)");
    let gcp = entry(lsn, &package, "ubuntu:22.04");
    assert_eq!(gcp.status, fixed("86"));
    assert_eq!(gcp.channel.as_deref(), Some("livepatch"));

    // LSN-0087-1 names its CVEs only in the description.
    let described = find(&advisories, "LSN-0087-1");
    assert_eq!(described.cves, ["CVE-2022-1966", "CVE-2022-1972"]);
}

#[test]
fn noble_openssl_update_lists_binaries() {
    let (_, advisories) = read_shared(NOBLE, FeedKind::UbuntuOval);
    let usn = find(&advisories, "USN-6663-3");

    assert_eq!(usn.severity_raw.as_deref(), Some("None"));
    assert_eq!(usn.published.as_deref(), Some("2024-05-23"));
    assert_eq!(usn.cves, Vec::<String>::new());
    let packages: Vec<&str> = usn
        .affected
        .iter()
        .map(|entry| entry.package.as_str())
        .collect();
    assert_eq!(
        packages,
        ["libssl3t64", "libssl-dev", "libssl-doc", "openssl"]
    );
    assert_eq!(
        entry(usn, "openssl", "ubuntu:24.04").status,
        fixed("3.0.13-0ubuntu3.1")
    );
}

#[test]
fn oci_sample_reads_manifest_checks() {
    let dir = format_samples();
    let path = sample(
        &dir,
        "pkg/fetch/ubuntu/oval/testdata/fixtures/oci.com.ubuntu.jammy.usn.oval.xml.bz2",
    );
    let (summary, advisories) = read_path(&path, FeedKind::UbuntuOval);

    assert_eq!(summary.records, 1);
    assert_eq!(summary.skipped, Vec::<String>::new());
    let usn = find(&advisories, "USN-6561-1");
    assert_eq!(usn.affected.len(), 5);
    assert_eq!(
        entry(usn, "libssh-4", "ubuntu:22.04").status,
        fixed("0.9.6-2ubuntu0.22.04.2")
    );
}

#[test]
fn cve_and_package_flavours_are_rejected() {
    let dir = format_samples();
    for name in [
        "oci.com.ubuntu.jammy.cve.oval.xml.bz2",
        "oci.com.ubuntu.jammy.pkg.oval.xml.bz2",
    ] {
        let path = sample(
            &dir,
            &format!("pkg/fetch/ubuntu/oval/testdata/fixtures/{name}"),
        );
        let result = vulnloop_feeds::parse_file(&path, FeedKind::UbuntuOval, &mut |_| {});
        let message = match result {
            Err(error @ FeedError::NotFeed { .. }) => error.to_string(),
            other => panic!("{name}: expected a NotFeed error, got {other:?}"),
        };
        assert!(
            message.contains("Canonical USN OVAL Generator"),
            "{message}"
        );
    }
}
