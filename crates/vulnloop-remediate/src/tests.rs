//! Unit tests on hand-made findings and inventories.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use vulnloop_advisory::{PackageKind, Severity};
use vulnloop_inventory::{
    Host, Inventory, Kernel, Os, Package, PackageManager, RunningProcess, Runtime,
};
use vulnloop_match::{Evidence, Finding, FindingStatus, InstalledBinary};
use vulnloop_priority::{AssetImportance, Context, PriorityLevel};

use crate::{plan, FixPlan, PlanError, PlanFilter, Restart, Tool};

fn inventory(os_id: &str, version: &str) -> Inventory {
    Inventory {
        schema_version: vulnloop_inventory::SCHEMA_VERSION,
        collected_at: "2026-12-04T00:00:00Z".into(),
        host: Host {
            hostname: Some("test".into()),
            root: None,
            os: Os {
                id: os_id.into(),
                version_id: Some(version.into()),
                codename: None,
                pretty_name: None,
                source: "/etc/os-release".into(),
            },
            kernel: None,
        },
        packages: Vec::new(),
        problems: Vec::new(),
        runtime: None,
        applications: Vec::new(),
        windows: None,
    }
}

fn binary(name: &str, version: &str) -> InstalledBinary {
    InstalledBinary {
        name: name.into(),
        version: version.into(),
        arch: Some("amd64".into()),
        origin: "status".into(),
    }
}

/// A source-package finding whose binaries all carry the source version.
fn finding(
    manager: PackageManager,
    package: &str,
    id: &str,
    installed: &str,
    fixed: &str,
    binaries: &[&str],
) -> Finding {
    Finding {
        id: id.into(),
        advisory_id: id.into(),
        source: "osv".into(),
        cves: if id.starts_with("CVE-") {
            vec![id.into()]
        } else {
            Vec::new()
        },
        title: None,
        severity: Severity::High,
        severity_raw: None,
        url: None,
        published: None,
        package: package.into(),
        package_kind: PackageKind::Source,
        manager,
        installed_version: installed.into(),
        binaries: binaries
            .iter()
            .map(|name| binary(name, installed))
            .collect(),
        status: FindingStatus::FixAvailable {
            fixed: fixed.into(),
        },
        note: None,
        evidence: Evidence {
            found_in: vec![],
            record: String::new(),
            comparison: String::new(),
            other_records: vec![],
        },
        windows_update: None,
    }
}

fn build(
    findings: &[Finding],
    inventory: &Inventory,
    filter: &PlanFilter,
) -> Result<FixPlan, PlanError> {
    let facts = BTreeMap::new();
    let context = Context {
        inventory,
        facts: &facts,
        importance: AssetImportance::Normal,
        today: chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
    };
    plan(findings, &context, filter)
}

fn debian() -> Inventory {
    inventory("debian", "12")
}

fn openssl(id: &str, fixed: &str) -> Finding {
    finding(
        PackageManager::Dpkg,
        "openssl",
        id,
        "3.0.15-1~deb12u1",
        fixed,
        &["openssl", "libssl3"],
    )
}

#[test]
fn findings_of_one_source_form_one_step() {
    let findings = [
        openssl("CVE-2025-1", "3.0.16-1~deb12u1"),
        openssl("CVE-2025-2", "3.0.17-1~deb12u1"),
    ];
    let plan = build(&findings, &debian(), &PlanFilter::default()).unwrap();

    assert_eq!(plan.managers.len(), 1);
    assert_eq!(plan.managers[0].tool, Tool::Apt);
    let steps: Vec<_> = plan.steps().collect();
    assert_eq!(steps.len(), 1);
    let names: Vec<&str> = steps[0].packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["libssl3", "openssl"]);
    let closed: Vec<&str> = steps[0].closes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(closed, ["CVE-2025-1", "CVE-2025-2"]);
    assert_eq!(steps[0].target_version, "3.0.17-1~deb12u1");
}

#[test]
fn dpkg_tilde_sorts_before_release() {
    let findings = [
        openssl("CVE-2025-1", "3.0.16-1"),
        openssl("CVE-2025-2", "3.0.16-1~deb12u1"),
    ];
    let plan = build(&findings, &debian(), &PlanFilter::default()).unwrap();
    let step = plan.steps().next().unwrap();
    assert_eq!(step.target_version, "3.0.16-1");
    assert_eq!(step.packages[0].target_version.as_deref(), Some("3.0.16-1"));
    assert_eq!(
        step.packages[0].target_source_version.as_deref(),
        Some("3.0.16-1")
    );
}

#[test]
fn rpm_epoch_outranks_version() {
    let mut low = finding(
        PackageManager::Rpm,
        "openssl",
        "ALSA-2025:1",
        "1:3.0.7-1.el9",
        "2:3.0.7-2.el9",
        &["openssl"],
    );
    let mut high = finding(
        PackageManager::Rpm,
        "openssl",
        "ALSA-2025:2",
        "1:3.0.7-1.el9",
        "1:3.5.0-1.el9",
        &["openssl"],
    );
    for finding in [&mut low, &mut high] {
        finding.package_kind = PackageKind::Binary;
    }
    let plan = build(
        &[high, low],
        &inventory("almalinux", "9.5"),
        &PlanFilter::default(),
    )
    .unwrap();
    let step = plan.steps().next().unwrap();
    assert_eq!(step.target_version, "2:3.0.7-2.el9");
    assert_eq!(
        step.packages[0].target_version.as_deref(),
        Some("2:3.0.7-2.el9")
    );
    assert_eq!(step.packages[0].target_source_version, None);
}

#[test]
fn binnmu_binary_gets_source_target_only() {
    let mut brotli = finding(
        PackageManager::Dpkg,
        "brotli",
        "CVE-2025-3",
        "1.0.9-2",
        "1.0.9-2+deb12u1",
        &[],
    );
    brotli.binaries = vec![
        binary("libbrotli1", "1.0.9-2+b6"),
        binary("brotli", "1.0.9-2"),
    ];
    let plan = build(&[brotli], &debian(), &PlanFilter::default()).unwrap();
    let packages = &plan.steps().next().unwrap().packages;

    let rebuilt = packages.iter().find(|p| p.name == "libbrotli1").unwrap();
    assert_eq!(rebuilt.target_version, None);
    assert_eq!(
        rebuilt.target_source_version.as_deref(),
        Some("1.0.9-2+deb12u1")
    );
    let plain = packages.iter().find(|p| p.name == "brotli").unwrap();
    assert_eq!(plain.target_version.as_deref(), Some("1.0.9-2+deb12u1"));
}

#[test]
fn unfixed_statuses_are_not_fixable() {
    let statuses = [
        (FindingStatus::NoFixYet, "no_fix_yet"),
        (FindingStatus::WillNotFix, "will_not_fix"),
        (FindingStatus::Postponed, "postponed"),
        (FindingStatus::Unsupported, "unsupported"),
    ];
    let findings: Vec<Finding> = statuses
        .iter()
        .enumerate()
        .map(|(i, (status, _))| {
            let mut unfixed = finding(
                PackageManager::Dpkg,
                "bash",
                &format!("CVE-2025-{}", 10 + i),
                "5.2-1",
                "",
                &["bash"],
            );
            unfixed.status = status.clone();
            unfixed
        })
        .collect();
    let plan = build(&findings, &debian(), &PlanFilter::default()).unwrap();

    assert_eq!(plan.steps().count(), 0);
    assert!(plan.reboots.is_empty());
    let mut listed: Vec<&str> = plan.not_fixable.iter().map(|n| n.status.as_str()).collect();
    listed.sort_unstable();
    let mut expected: Vec<&str> = statuses.iter().map(|(_, name)| *name).collect();
    expected.sort_unstable();
    assert_eq!(listed, expected);
    assert!(plan.not_fixable.iter().all(|n| !n.reason.is_empty()));
}

fn kernel_host() -> Inventory {
    let mut host = debian();
    host.host.kernel = Some(Kernel {
        release: "6.1.0-28-amd64".into(),
    });
    for (name, version) in [
        ("linux-image-6.1.0-28-amd64", "6.1.119-1"),
        ("linux-image-amd64", "6.1.119-1"),
    ] {
        host.packages.push(Package {
            manager: PackageManager::Dpkg,
            name: name.into(),
            version: version.into(),
            arch: Some("amd64".into()),
            source_name: Some("linux-signed-amd64".into()),
            source_version: Some("6.1.119+1".into()),
            origin: "status".into(),
            vendor: None,
            module: None,
            repository: None,
        });
    }
    host
}

#[test]
fn running_kernel_step_needs_reboot() {
    let kernel = finding(
        PackageManager::Dpkg,
        "linux",
        "CVE-2025-20",
        "6.1.119-1",
        "6.1.123-1",
        &["linux-image-6.1.0-28-amd64"],
    );
    let plan = build(&[kernel], &kernel_host(), &PlanFilter::default()).unwrap();
    let step = plan.steps().next().unwrap();

    assert!(step.reboot_needed);
    assert!(
        step.reboot_reason
            .as_deref()
            .unwrap()
            .contains("6.1.0-28-amd64"),
        "{:?}",
        step.reboot_reason
    );
    let names: Vec<&str> = step.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["linux-image-6.1.0-28-amd64", "linux-image-amd64"]);
    assert_eq!(
        step.command.last().map(String::as_str),
        Some("linux-image-amd64")
    );
    assert_eq!(step.notes.len(), 1);
}

#[test]
fn ordinary_step_needs_no_reboot() {
    let plan = build(
        &[openssl("CVE-2025-1", "3.0.16-1~deb12u1")],
        &kernel_host(),
        &PlanFilter::default(),
    )
    .unwrap();
    let step = plan.steps().next().unwrap();
    assert!(!step.reboot_needed);
    assert_eq!(step.reboot_reason, None);
}

#[test]
fn pending_kernel_becomes_reboot_action() {
    let mut kernel = finding(
        PackageManager::Dpkg,
        "linux",
        "CVE-2025-21",
        "6.1.119-1",
        "6.1.123-1",
        &["linux-image-6.1.0-28-amd64"],
    );
    kernel.status = FindingStatus::FixedRebootPending {
        fixed: "6.1.123-1".into(),
    };
    let plan = build(&[kernel], &kernel_host(), &PlanFilter::default()).unwrap();

    assert_eq!(plan.steps().count(), 0);
    assert_eq!(plan.reboots.len(), 1);
    assert_eq!(plan.reboots[0].fixed_version, "6.1.123-1");
    assert_eq!(
        plan.reboots[0].running_kernel.as_deref(),
        Some("6.1.0-28-amd64")
    );
    assert_eq!(plan.reboots[0].closes[0].id, "CVE-2025-21");
}

fn process(pid: u32, command: &str, packages: &[&str]) -> RunningProcess {
    RunningProcess {
        pid,
        command: command.into(),
        packages: packages.iter().map(|p| p.to_string()).collect(),
        listening: Vec::new(),
        deleted_files: Vec::new(),
        service: None,
    }
}

#[test]
fn restart_lists_processes_mapping_packages() {
    let mut host = debian();
    let mut sshd = process(812, "sshd", &["libssl3", "openssh-server"]);
    sshd.service = Some("ssh.service".into());
    host.runtime = Some(Runtime {
        processes: vec![sshd, process(900, "cron", &["cron", "libc6"])],
        uninspected: 2,
    });
    let plan = build(
        &[openssl("CVE-2025-1", "3.0.16-1~deb12u1")],
        &host,
        &PlanFilter::default(),
    )
    .unwrap();
    let restart = plan.steps().next().unwrap().restart.clone();
    match restart {
        Restart::Needed {
            processes,
            uninspected,
        } => {
            let commands: Vec<&str> = processes.iter().map(|p| p.command.as_str()).collect();
            assert_eq!(commands, ["sshd"]);
            assert_eq!(processes[0].pid, 812);
            assert_eq!(processes[0].service.as_deref(), Some("ssh.service"));
            assert_eq!(uninspected, 2);
        }
        other => panic!("expected a restart, got {other:?}"),
    }
    let text = crate::render_table(&plan);
    assert!(
        text.contains("restart: sshd (pid 812, ssh.service); 2 processes not inspected"),
        "{text}"
    );
}

#[test]
fn restart_unknown_without_runtime() {
    let plan = build(
        &[openssl("CVE-2025-1", "3.0.16-1~deb12u1")],
        &debian(),
        &PlanFilter::default(),
    )
    .unwrap();
    assert_eq!(plan.steps().next().unwrap().restart, Restart::Unknown);
}

#[test]
fn restart_not_needed_when_unmapped() {
    let mut host = debian();
    host.runtime = Some(Runtime {
        processes: vec![process(900, "cron", &["cron"])],
        uninspected: 0,
    });
    let plan = build(
        &[openssl("CVE-2025-1", "3.0.16-1~deb12u1")],
        &host,
        &PlanFilter::default(),
    )
    .unwrap();
    assert_eq!(
        plan.steps().next().unwrap().restart,
        Restart::NotNeeded { uninspected: 0 }
    );
}

#[test]
fn hostile_package_names_rejected() {
    let hostile = [
        "-oAPT::Update::Pre-Invoke::=touch",
        "--allow-downgrades",
        "libssl3 openssl",
        "foo;reboot",
        "$(reboot)",
        "foo`id`",
        "foo\nbar",
        "Libssl3",
        "",
    ];
    for name in hostile {
        let forged = finding(
            PackageManager::Dpkg,
            "openssl",
            "CVE-2025-1",
            "3.0.15-1",
            "3.0.16-1",
            &[name],
        );
        let error = build(&[forged], &debian(), &PlanFilter::default())
            .expect_err(&format!("accepted {name:?}"));
        assert!(
            matches!(error, PlanError::InvalidPackageName { .. }),
            "{name:?}: {error}"
        );
        assert!(
            error.to_string().contains("invalid dpkg package name"),
            "{error}"
        );
    }
}

#[test]
fn hostile_rpm_and_apk_names_rejected() {
    for (manager, os, version) in [
        (PackageManager::Rpm, "almalinux", "9.5"),
        (PackageManager::Apk, "alpine", "3.20"),
    ] {
        let forged = finding(
            manager,
            "curl",
            "CVE-2025-1",
            "8.0-1",
            "8.1-1",
            &["--setopt=x"],
        );
        let error = build(&[forged], &inventory(os, version), &PlanFilter::default())
            .expect_err("accepted a leading '-'");
        assert!(
            matches!(error, PlanError::InvalidPackageName { .. }),
            "{error}"
        );
    }
}

#[test]
fn hostile_architecture_rejected() {
    let mut forged = openssl("CVE-2025-1", "3.0.16-1~deb12u1");
    forged.binaries = vec![
        binary("libssl3", "3.0.15-1~deb12u1"),
        binary("libssl3", "3.0.15-1~deb12u1"),
    ];
    forged.binaries[1].arch = Some("i386 --force".into());
    let error =
        build(&[forged], &debian(), &PlanFilter::default()).expect_err("accepted the architecture");
    assert!(
        matches!(error, PlanError::InvalidArchitecture { .. }),
        "{error}"
    );
}

fn argv_of(findings: &[Finding], host: &Inventory) -> Vec<String> {
    build(findings, host, &PlanFilter::default())
        .unwrap()
        .steps()
        .next()
        .unwrap()
        .command
        .clone()
}

#[test]
fn apt_argv_names_every_binary() {
    let argv = argv_of(&[openssl("CVE-2025-1", "3.0.16-1~deb12u1")], &debian());
    assert_eq!(
        argv,
        [
            "apt-get",
            "install",
            "--only-upgrade",
            "-y",
            "libssl3",
            "openssl"
        ]
    );
}

#[test]
fn apt_argv_qualifies_multiarch() {
    let mut multiarch = openssl("CVE-2025-1", "3.0.16-1~deb12u1");
    multiarch.binaries = vec![
        binary("libssl3", "3.0.15-1~deb12u1"),
        binary("libssl3", "3.0.15-1~deb12u1"),
    ];
    multiarch.binaries[1].arch = Some("i386".into());
    let argv = argv_of(&[multiarch], &debian());
    assert_eq!(
        argv,
        [
            "apt-get",
            "install",
            "--only-upgrade",
            "-y",
            "libssl3:amd64",
            "libssl3:i386"
        ]
    );
}

#[test]
fn dnf_argv_names_advisories() {
    let host = inventory("rocky", "9.5");
    let findings = [
        finding(
            PackageManager::Rpm,
            "openssl",
            "RLSA-2025:2",
            "3.0.7-1.el9",
            "3.0.7-2.el9",
            &["openssl"],
        ),
        finding(
            PackageManager::Rpm,
            "openssl",
            "RLSA-2025:1",
            "3.0.7-1.el9",
            "3.0.7-2.el9",
            &["openssl"],
        ),
    ];
    assert_eq!(
        argv_of(&findings, &host),
        [
            "dnf",
            "upgrade",
            "-y",
            "--advisory=RLSA-2025:1",
            "--advisory=RLSA-2025:2"
        ]
    );
}

#[test]
fn dnf_argv_names_packages_without_advisory() {
    let host = inventory("rhel", "9.4");
    let findings = [finding(
        PackageManager::Rpm,
        "openssl",
        "CVE-2025-5",
        "3.0.7-1.el9",
        "3.0.7-2.el9",
        &["openssl", "openssl-libs"],
    )];
    assert_eq!(
        argv_of(&findings, &host),
        ["dnf", "upgrade", "-y", "openssl", "openssl-libs"]
    );
}

#[test]
fn yum_argv_on_amazon_linux_2() {
    let findings = [finding(
        PackageManager::Rpm,
        "curl",
        "ALAS2-2025-1",
        "7.79-1",
        "7.79-2",
        &["curl", "libcurl"],
    )];
    assert_eq!(
        argv_of(&findings, &inventory("amzn", "2")),
        ["yum", "update", "-y", "curl", "libcurl"]
    );
}

#[test]
fn zypper_argv_names_cves() {
    let mut patched = finding(
        PackageManager::Rpm,
        "openssl-3",
        "SUSE-SU-2025:1",
        "3.1-1",
        "3.1-2",
        &["openssl-3"],
    );
    patched.cves = vec!["CVE-2025-1002".into(), "CVE-2025-1001".into()];
    assert_eq!(
        argv_of(&[patched], &inventory("sles", "15.6")),
        [
            "zypper",
            "--non-interactive",
            "patch",
            "--cve=CVE-2025-1001,CVE-2025-1002"
        ]
    );
}

#[test]
fn zypper_argv_updates_packages_without_cve() {
    // A record without a well-formed CVE id cannot be named with `--cve`.
    let patched = finding(
        PackageManager::Rpm,
        "openssl-3",
        "SUSE-SU-2025:1",
        "3.1-1",
        "3.1-2",
        &["openssl-3"],
    );
    assert_eq!(
        argv_of(&[patched], &inventory("opensuse-leap", "15.6")),
        ["zypper", "--non-interactive", "update", "openssl-3"]
    );
}

#[test]
fn apk_argv_names_packages() {
    let findings = [finding(
        PackageManager::Apk,
        "openssl",
        "CVE-2025-1",
        "3.3.2-r0",
        "3.3.3-r0",
        &["libcrypto3", "libssl3"],
    )];
    assert_eq!(
        argv_of(&findings, &inventory("alpine", "3.20")),
        ["apk", "add", "--upgrade", "libcrypto3", "libssl3"]
    );
}

#[test]
fn filters_narrow_the_plan() {
    let mut bash = finding(
        PackageManager::Dpkg,
        "bash",
        "CVE-2025-9",
        "5.2-1",
        "",
        &["bash"],
    );
    bash.status = FindingStatus::NoFixYet;
    let findings = [
        openssl("CVE-2025-1", "3.0.16-1~deb12u1"),
        openssl("CVE-2025-2", "3.0.17-1~deb12u1"),
        bash,
    ];

    let by_package = PlanFilter {
        packages: vec!["libssl3".into()],
        ..PlanFilter::default()
    };
    let plan = build(&findings, &debian(), &by_package).unwrap();
    assert_eq!(plan.steps().count(), 1);
    assert!(plan.not_fixable.is_empty());
    assert_eq!(plan.filtered_out, 1);

    let by_cve = PlanFilter {
        ids: vec!["cve-2025-1".into()],
        ..PlanFilter::default()
    };
    let plan = build(&findings, &debian(), &by_cve).unwrap();
    let step = plan.steps().next().unwrap();
    assert_eq!(step.closes.len(), 1);
    assert_eq!(step.target_version, "3.0.16-1~deb12u1");
    assert_eq!(plan.filtered_out, 2);

    let none = PlanFilter {
        priorities: vec![PriorityLevel::FixNow],
        ..PlanFilter::default()
    };
    let plan = build(&findings, &debian(), &none).unwrap();
    let levels: Vec<PriorityLevel> = plan
        .steps()
        .flat_map(|s| s.closes.iter().map(|c| c.priority))
        .collect();
    assert!(
        levels.iter().all(|level| *level == PriorityLevel::FixNow),
        "{levels:?}"
    );
    assert_eq!(
        plan.filtered_out + levels.len() + plan.not_fixable.len(),
        findings.len()
    );
}

#[test]
fn table_shows_command_and_targets() {
    let mut brotli = finding(
        PackageManager::Dpkg,
        "brotli",
        "CVE-2025-3",
        "1.0.9-2",
        "1.0.9-2+deb12u1",
        &[],
    );
    brotli.binaries = vec![binary("libbrotli1", "1.0.9-2+b6")];
    let plan = build(&[brotli], &debian(), &PlanFilter::default()).unwrap();
    let text = crate::render_table(&plan);
    assert!(
        text.contains("command: apt-get install --only-upgrade -y libbrotli1"),
        "{text}"
    );
    assert!(
        text.contains("the candidate built from source version 1.0.9-2+deb12u1 or later"),
        "{text}"
    );
    assert!(text.contains("restart: unknown"), "{text}");
}
