//! Detection rules on small hand-written hosts and advisories.

use vulnloop_advisory::{Advisory, Affected, Ecosystem, PackageKind, Status};
use vulnloop_inventory::{Host, Inventory, Kernel, Os, Package, PackageManager, Problem};
use vulnloop_match::{match_inventory, FindingStatus, MatchReport, MemoryIndex};

fn package(name: &str, version: &str, source: Option<(&str, Option<&str>)>) -> Package {
    Package {
        manager: PackageManager::Dpkg,
        name: name.into(),
        version: version.into(),
        arch: Some("amd64".into()),
        source_name: source.map(|(n, _)| n.to_string()),
        source_version: source.and_then(|(_, v)| v.map(String::from)),
        origin: format!("/var/lib/dpkg/status:{}", name.len()),
        vendor: None,
        module: None,
        repository: None,
    }
}

fn host(packages: Vec<Package>, kernel: Option<&str>) -> Inventory {
    Inventory {
        schema_version: vulnloop_inventory::SCHEMA_VERSION,
        collected_at: "2026-12-04T00:00:00Z".into(),
        host: Host {
            hostname: Some("test".into()),
            root: None,
            os: Os {
                id: "debian".into(),
                version_id: Some("12".into()),
                codename: Some("bookworm".into()),
                pretty_name: None,
                source: "/etc/os-release".into(),
            },
            kernel: kernel.map(|release| Kernel {
                release: release.into(),
            }),
        },
        packages,
        problems: Vec::new(),
        runtime: None,
        applications: Vec::new(),
        windows: None,
    }
}

fn advisory(id: &str, source: &str, package: &str, status: Status) -> Advisory {
    let mut advisory = Advisory::new(id, source);
    advisory.cves = vec![id.to_string()];
    advisory.affected.push(Affected {
        ecosystem: Ecosystem::new("debian", "12"),
        package: package.into(),
        kind: PackageKind::Source,
        status,
        channel: None,
        note: None,
    });
    advisory
}

fn fixed(version: &str) -> Status {
    Status::Fixed {
        fixed: version.into(),
    }
}

fn run(inventory: &Inventory, advisories: &[(Advisory, &str)]) -> MatchReport {
    let mut index = MemoryIndex::new();
    for (advisory, snapshot) in advisories {
        index.insert(advisory, Some(snapshot));
    }
    match_inventory(inventory, &index).expect("memory index cannot fail")
}

fn openssl_host() -> Inventory {
    host(
        vec![
            package("libssl3", "3.0.19-1~deb12u2", Some(("openssl", None))),
            package("openssl", "3.0.19-1~deb12u2", None),
        ],
        None,
    )
}

#[test]
fn source_version_below_fix_is_reported() {
    let report = run(
        &openssl_host(),
        &[(
            advisory("CVE-2026-1", "osv", "openssl", fixed("3.0.22-1~deb12u1")),
            "2026-12-04",
        )],
    );
    assert_eq!(report.findings.len(), 1);
    let finding = &report.findings[0];
    assert_eq!(
        finding.status,
        FindingStatus::FixAvailable {
            fixed: "3.0.22-1~deb12u1".into()
        }
    );
    let binaries: Vec<&str> = finding.binaries.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(binaries, ["libssl3", "openssl"]);
    assert_eq!(
        finding.evidence.comparison,
        "installed 3.0.19-1~deb12u2 < fixed 3.0.22-1~deb12u1 (dpkg ordering)"
    );
}

#[test]
fn source_version_at_fix_is_clean() {
    let report = run(
        &openssl_host(),
        &[(
            advisory("CVE-2026-1", "osv", "openssl", fixed("3.0.19-1~deb12u2")),
            "2026-12-04",
        )],
    );
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(report.coverage.complete);
}

#[test]
fn binary_name_not_source_lookup() {
    // libssl3 is not a source package: an advisory naming it as a source must not match.
    let report = run(
        &openssl_host(),
        &[(
            advisory("CVE-2026-1", "osv", "libssl3", fixed("9")),
            "2026-12-04",
        )],
    );
    assert!(report.findings.is_empty());
}

#[test]
fn source_version_in_parentheses_decides() {
    // binNMU: the binary version carries +b1, the source version does not.
    let inventory = host(
        vec![package(
            "libbrotli1",
            "1.0.9-2+b6",
            Some(("brotli", Some("1.0.9-2"))),
        )],
        None,
    );
    let report = run(
        &inventory,
        &[(
            advisory("CVE-2026-2", "osv", "brotli", fixed("1.0.9-2+deb12u1")),
            "2026-12-04",
        )],
    );
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].installed_version, "1.0.9-2");
}

#[test]
fn vendor_statuses_kept() {
    let cases = [
        (Status::Affected, Some(FindingStatus::NoFixYet)),
        (Status::WillNotFix, Some(FindingStatus::WillNotFix)),
        (Status::Postponed, Some(FindingStatus::Postponed)),
        (Status::Unsupported, Some(FindingStatus::Unsupported)),
        (Status::NotAffected, None),
    ];
    for (status, expected) in cases {
        let report = run(
            &openssl_host(),
            &[(
                advisory("CVE-2026-3", "debian-tracker", "openssl", status.clone()),
                "2026-12-04",
            )],
        );
        assert_eq!(
            report.findings.first().map(|f| f.status.clone()),
            expected,
            "vendor status {status:?}"
        );
    }
}

#[test]
fn fresher_feed_outranks_stale_one() {
    let stale = advisory("CVE-2026-4", "debian-oval", "openssl", fixed("3.0.30-1"));
    let fresh = advisory("CVE-2026-4", "osv", "openssl", fixed("3.0.19-1~deb12u1"));
    let report = run(
        &openssl_host(),
        &[(stale, "2023-07-14T03:39:10-04:00"), (fresh, "2026-12-04")],
    );
    assert!(
        report.findings.is_empty(),
        "the fresh feed says fixed: {:?}",
        report.findings
    );
}

#[test]
fn outranked_record_listed_in_evidence() {
    let stale = advisory("CVE-2026-5", "debian-oval", "openssl", fixed("3.0.20-1"));
    let fresh = advisory("CVE-2026-5", "osv", "openssl", fixed("3.0.22-1"));
    let report = run(
        &openssl_host(),
        &[(stale, "2023-07-14"), (fresh, "2026-12-04")],
    );
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].source, "osv");
    assert_eq!(report.findings[0].evidence.other_records.len(), 1);
}

#[test]
fn unknown_release_is_incomplete() {
    let report = run(&openssl_host(), &[]);
    assert!(!report.coverage.complete);
    assert!(
        report.coverage.notes[0]
            .message
            .contains("no advisory data for debian:12"),
        "{:?}",
        report.coverage.notes
    );
}

#[test]
fn inventory_problems_make_result_incomplete() {
    let mut inventory = openssl_host();
    inventory.problems.push(Problem {
        location: "/var/lib/dpkg/status:7".into(),
        message: "garbled line".into(),
    });
    let report = run(
        &inventory,
        &[(
            advisory("CVE-2026-1", "osv", "openssl", fixed("1")),
            "2026-12-04",
        )],
    );
    assert!(!report.coverage.complete);
}

#[test]
fn security_support_pattern_matches_prefix() {
    let inventory = host(
        vec![package(
            "golang-1.19-go",
            "1.19.8-2",
            Some(("golang-1.19", None)),
        )],
        None,
    );
    let report = run(
        &inventory,
        &[(
            advisory(
                "DEBIAN-SUPPORT-LIMITED-12-golang.*",
                "debian-security-support",
                "golang.*",
                Status::Unsupported,
            ),
            "2026-06-30",
        )],
    );
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].package, "golang-1.19");
}

fn kernel_host(running: Option<&str>) -> Inventory {
    host(
        vec![
            package(
                "linux-image-6.1.0-28-amd64",
                "6.1.119-1",
                Some(("linux-signed-amd64", Some("6.1.119+1"))),
            ),
            package(
                "linux-image-6.1.0-30-amd64",
                "6.1.124-1",
                Some(("linux-signed-amd64", Some("6.1.124+1"))),
            ),
            package("linux-libc-dev", "6.1.100-1", Some(("linux", None))),
            package(
                "linux-headers-6.1.0-28-amd64",
                "6.1.119-1",
                Some(("linux", None)),
            ),
        ],
        running,
    )
}

#[test]
fn running_kernel_decides() {
    let report = run(
        &kernel_host(Some("6.1.0-30-amd64")),
        &[(
            advisory("CVE-2026-6", "osv", "linux", fixed("6.1.120-1")),
            "2026-12-04",
        )],
    );
    assert!(
        report.findings.is_empty(),
        "running 6.1.124-1 is fixed: {:?}",
        report.findings
    );
}

#[test]
fn fixed_kernel_not_running_is_reboot_pending() {
    let report = run(
        &kernel_host(Some("6.1.0-28-amd64")),
        &[(
            advisory("CVE-2026-6", "osv", "linux", fixed("6.1.120-1")),
            "2026-12-04",
        )],
    );
    assert_eq!(report.findings.len(), 1);
    assert_eq!(
        report.findings[0].status,
        FindingStatus::FixedRebootPending {
            fixed: "6.1.120-1".into()
        }
    );
    assert_eq!(
        report.findings[0].binaries[0].name,
        "linux-image-6.1.0-28-amd64"
    );
}

#[test]
fn running_kernel_below_every_fix_is_vulnerable() {
    let report = run(
        &kernel_host(Some("6.1.0-30-amd64")),
        &[(
            advisory("CVE-2026-7", "osv", "linux", fixed("6.1.130-1")),
            "2026-12-04",
        )],
    );
    assert_eq!(report.findings.len(), 1);
    assert_eq!(
        report.findings[0].status,
        FindingStatus::FixAvailable {
            fixed: "6.1.130-1".into()
        }
    );
}

#[test]
fn libc_dev_is_not_a_running_kernel() {
    let inventory = host(
        vec![package(
            "linux-libc-dev",
            "6.1.100-1",
            Some(("linux", None)),
        )],
        Some("6.18.44-custom"),
    );
    let report = run(
        &inventory,
        &[(
            advisory("CVE-2026-8", "osv", "linux", fixed("6.1.192-1")),
            "2026-12-04",
        )],
    );
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(report
        .coverage
        .notes
        .iter()
        .any(|n| n.message.contains("6.18.44-custom")));
}

#[test]
fn unknown_kernel_judges_newest_image() {
    let report = run(
        &kernel_host(None),
        &[(
            advisory("CVE-2026-9", "osv", "linux", fixed("6.1.120-1")),
            "2026-12-04",
        )],
    );
    assert!(
        report.findings.is_empty(),
        "the newest image 6.1.124-1 is fixed: {:?}",
        report.findings
    );
}

#[test]
fn esm_fix_reported_with_pro_note() {
    let inventory = openssl_host();
    let mut esm = advisory("USN-1-1", "ubuntu-oval", "openssl", fixed("3.0.20-1~esm1"));
    esm.affected[0].channel = Some("esm".into());
    let report = run(&inventory, &[(esm, "2026-12-04")]);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(
        report.findings[0].note.as_deref(),
        Some("the fix is published through Ubuntu Pro (ESM)")
    );
}

#[test]
fn other_channel_statement_skipped() {
    let inventory = openssl_host();
    let mut eus = advisory("CVE-2026-10", "osv", "openssl", fixed("3.0.20-1"));
    eus.affected[0].channel = Some("eus".into());
    let report = run(&inventory, &[(eus, "2026-12-04")]);
    assert!(report.findings.is_empty());
}

fn ubuntu_host(packages: Vec<Package>, kernel: Option<&str>) -> Inventory {
    let mut inventory = host(packages, kernel);
    inventory.host.os.id = "ubuntu".into();
    inventory.host.os.version_id = Some("22.04".into());
    inventory
}

fn kernel_check(id: &str, expression: &str, fixed_abi: &str) -> Advisory {
    let mut advisory = Advisory::new(id, "ubuntu-oval");
    advisory.cves = vec!["CVE-2022-1015".into()];
    advisory.affected.push(Affected {
        ecosystem: Ecosystem::new("ubuntu", "22.04"),
        package: format!("{}{expression}", vulnloop_advisory::RUNNING_KERNEL_PREFIX),
        kind: PackageKind::Binary,
        status: fixed(fixed_abi),
        channel: None,
        note: None,
    });
    advisory
}

fn ubuntu_kernels() -> Vec<Package> {
    vec![
        package(
            "linux-image-5.15.0-25-generic",
            "5.15.0-25.25",
            Some(("linux-signed", Some("5.15.0-25.25"))),
        ),
        package(
            "linux-image-5.15.0-33-generic",
            "5.15.0-33.34",
            Some(("linux-signed", Some("5.15.0-33.34"))),
        ),
    ]
}

#[test]
fn ubuntu_kernel_check_matches_running_abi() {
    let inventory = ubuntu_host(ubuntu_kernels(), Some("5.15.0-25-generic"));
    let check = kernel_check(
        "USN-5390-1",
        r"5.15.0-\d+(-generic|-lowlatency)",
        "5.15.0-27",
    );
    let report = run(&inventory, &[(check, "2023-10-09")]);
    assert_eq!(report.findings.len(), 1, "{:?}", report.coverage);
    assert_eq!(report.findings[0].package, "linux-image-5.15.0-25-generic");
    assert_eq!(
        report.findings[0].status,
        FindingStatus::FixedRebootPending {
            fixed: "5.15.0-27".into()
        }
    );
}

#[test]
fn ubuntu_kernel_check_other_flavour_ignored() {
    let inventory = ubuntu_host(ubuntu_kernels(), Some("5.15.0-25-generic"));
    let check = kernel_check("USN-5390-1", r"5.15.0-\d+(-aws)", "5.15.0-1005");
    let report = run(&inventory, &[(check, "2023-10-09")]);
    assert!(report.findings.is_empty());
}

#[test]
fn ubuntu_kernel_check_fixed_abi_clean() {
    let inventory = ubuntu_host(ubuntu_kernels(), Some("5.15.0-33-generic"));
    let check = kernel_check("USN-5390-1", r"5.15.0-\d+(-generic)", "5.15.0-27");
    let report = run(&inventory, &[(check, "2023-10-09")]);
    assert!(report.findings.is_empty());
}

#[test]
fn release_keys_follow_feed_naming() {
    use vulnloop_match::release_key;
    assert_eq!(release_key("almalinux", "9.3"), "9");
    assert_eq!(release_key("ol", "8.10"), "8");
    assert_eq!(release_key("alpine", "3.19.1"), "3.19");
    assert_eq!(release_key("alpine", "3.21_alpha20241115"), "edge");
    assert_eq!(release_key("amzn", "2018.03"), "1");
    assert_eq!(release_key("amzn", "2023"), "2023");
    assert_eq!(release_key("debian", "12"), "12");
    assert_eq!(release_key("ubuntu", "22.04"), "22.04");
    assert_eq!(release_key("sles", "15.5"), "15.5");
}

fn rpm_package(name: &str, version: &str) -> Package {
    Package {
        manager: PackageManager::Rpm,
        arch: Some("x86_64".into()),
        vendor: Some("AlmaLinux".into()),
        ..package(name, version, None)
    }
}

fn alma_host(packages: Vec<Package>, kernel: Option<&str>) -> Inventory {
    let mut inventory = host(packages, kernel);
    inventory.host.os.id = "almalinux".into();
    inventory.host.os.version_id = Some("9.4".into());
    inventory
}

fn alma_advisory(id: &str, package: &str, fixed_version: &str) -> Advisory {
    let mut advisory = Advisory::new(id, "osv");
    advisory.cves = vec!["CVE-2024-1086".into()];
    advisory.affected.push(Affected {
        ecosystem: Ecosystem::new("almalinux", "9"),
        package: package.into(),
        kind: PackageKind::Binary,
        status: fixed(fixed_version),
        channel: None,
        note: None,
    });
    advisory
}

fn alma_kernels() -> Vec<Package> {
    vec![
        rpm_package("kernel-core", "5.14.0-362.8.1.el9_3"),
        rpm_package("kernel-core", "5.14.0-427.13.1.el9_4"),
        rpm_package("kernel-headers", "5.14.0-362.8.1.el9_3"),
    ]
}

#[test]
fn rpm_running_kernel_decides() {
    let inventory = alma_host(alma_kernels(), Some("5.14.0-427.13.1.el9_4.x86_64"));
    let report = run(
        &inventory,
        &[(
            alma_advisory("ALSA-2024:1249", "kernel-core", "5.14.0-362.24.1.el9_3"),
            "2026-08-21",
        )],
    );
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn rpm_fixed_kernel_not_running_pending() {
    let inventory = alma_host(alma_kernels(), Some("5.14.0-362.8.1.el9_3.x86_64"));
    let report = run(
        &inventory,
        &[(
            alma_advisory("ALSA-2024:1249", "kernel-core", "5.14.0-362.24.1.el9_3"),
            "2026-08-21",
        )],
    );
    assert_eq!(report.findings.len(), 1);
    assert_eq!(
        report.findings[0].status,
        FindingStatus::FixedRebootPending {
            fixed: "5.14.0-362.24.1.el9_3".into()
        }
    );
}

#[test]
fn rpm_kernel_headers_not_judged() {
    let inventory = alma_host(alma_kernels(), Some("5.14.0-427.13.1.el9_4.x86_64"));
    let report = run(
        &inventory,
        &[(
            alma_advisory("ALSA-2024:9999", "kernel-headers", "5.14.0-500.el9"),
            "2026-08-21",
        )],
    );
    assert_eq!(
        report.findings.len(),
        1,
        "headers are an ordinary package, judged by name"
    );
    assert_eq!(report.findings[0].package, "kernel-headers");
}

#[test]
fn rpm_module_build_skips_main_stream() {
    let mut nodejs = rpm_package("nodejs", "1:18.14.2-2.module_el9.1.0+15+3b7e0d07");
    nodejs.module = Some("nodejs:18:9010020230215:rhel9".into());
    let inventory = alma_host(vec![nodejs], None);
    let main = alma_advisory("ALSA-2024:1", "nodejs", "1:20.0.0-1.el9");
    let mut module = alma_advisory(
        "ALSA-2024:2",
        "nodejs",
        "1:18.20.2-1.module_el9.4.0+97+a2a3e4a5",
    );
    module.affected[0].channel = Some("module:nodejs:18".into());
    let report = run(&inventory, &[(main, "2026-08-21"), (module, "2026-08-21")]);
    let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["ALSA-2024:2"]);
}
