//! The priority model on hand-made findings: each documented rule moves
//! the level as described and adds its reason.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use vulnloop_advisory::{
    CveFacts, CveRecord, Cvss, CvssVersion, EpssScore, KevEntry, PackageKind, Severity,
};
use vulnloop_inventory::{
    Host, Inventory, Kernel, Listener, Os, PackageManager, RunningProcess, Runtime, SCHEMA_VERSION,
};
use vulnloop_match::{Evidence, Finding, FindingStatus, InstalledBinary};
use vulnloop_priority::{assess, AssetImportance, Context, Exposure, PriorityLevel};

const CVE: &str = "CVE-2024-6387";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 4).expect("valid date")
}

fn finding(severity: Severity, status: FindingStatus, binaries: &[&str]) -> Finding {
    Finding {
        id: CVE.into(),
        advisory_id: CVE.into(),
        source: "debian-oval".into(),
        cves: vec![CVE.into()],
        title: None,
        severity,
        severity_raw: None,
        url: None,
        published: None,
        package: "openssh".into(),
        package_kind: PackageKind::Source,
        manager: PackageManager::Dpkg,
        installed_version: "1:9.2p1-2+deb12u2".into(),
        binaries: binaries
            .iter()
            .map(|name| InstalledBinary {
                name: (*name).into(),
                version: "1:9.2p1-2+deb12u2".into(),
                arch: Some("amd64".into()),
                origin: "/var/lib/dpkg/status:1".into(),
            })
            .collect(),
        status,
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

fn fixed() -> FindingStatus {
    FindingStatus::FixAvailable {
        fixed: "1:9.2p1-2+deb12u3".into(),
    }
}

fn host(runtime: Option<Runtime>) -> Inventory {
    Inventory {
        schema_version: SCHEMA_VERSION,
        collected_at: "2026-12-04T00:00:00Z".into(),
        host: Host {
            hostname: Some("web1".into()),
            root: None,
            os: Os {
                id: "debian".into(),
                version_id: Some("12".into()),
                codename: None,
                pretty_name: None,
                source: "/etc/os-release".into(),
            },
            kernel: Some(Kernel {
                release: "6.1.0-28-amd64".into(),
            }),
        },
        packages: vec![],
        problems: vec![],
        runtime,
        applications: Vec::new(),
        windows: None,
    }
}

fn sshd(address: &str) -> Runtime {
    Runtime {
        processes: vec![RunningProcess {
            pid: 812,
            command: "sshd".into(),
            packages: vec!["libc6".into(), "openssh-server".into()],
            listening: vec![Listener {
                protocol: "tcp".into(),
                address: address.into(),
                port: 22,
            }],
            deleted_files: vec![],
            service: None,
        }],
        uninspected: 0,
    }
}

fn facts(
    cvss: Option<f64>,
    kev: bool,
    epss: Option<f64>,
    published: &str,
) -> BTreeMap<String, CveFacts> {
    let record = CveRecord {
        id: CVE.into(),
        source: "nvd".into(),
        published: Some(published.into()),
        modified: None,
        description: Some("signal handler race".into()),
        cwes: vec!["CWE-364".into()],
        references: vec![],
        cvss: cvss
            .map(|score| Cvss {
                version: CvssVersion::V3_1,
                vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
                base_score: score,
                scored_by: "nvd@nist.gov".into(),
            })
            .into_iter()
            .collect(),
    };
    let kev = kev.then(|| KevEntry {
        cve: CVE.into(),
        vendor: Some("OpenBSD".into()),
        product: Some("OpenSSH".into()),
        name: None,
        date_added: "2024-07-10".into(),
        due_date: Some("2024-07-31".into()),
        known_ransomware_use: Some(true),
        required_action: None,
    });
    let epss = epss.map(|score| EpssScore {
        cve: CVE.into(),
        score,
        percentile: Some(0.99),
        date: None,
    });
    let facts = CveFacts {
        id: CVE.into(),
        records: vec![record],
        kev,
        epss,
    };
    BTreeMap::from([(CVE.to_string(), facts)])
}

fn level(
    finding: &Finding,
    inventory: &Inventory,
    facts: &BTreeMap<String, CveFacts>,
) -> (PriorityLevel, Vec<String>) {
    let context = Context {
        inventory,
        facts,
        importance: AssetImportance::Normal,
        today: today(),
    };
    let assessment = assess(finding, &context);
    (assessment.priority.level, assessment.priority.reasons)
}

#[test]
fn listening_high_severity_is_fix_now() {
    let finding = finding(Severity::High, fixed(), &["openssh-server"]);
    let facts = facts(Some(8.1), false, None, "2024-07-01");
    let (listening, reasons) = level(&finding, &host(Some(sshd("::"))), &facts);
    assert_eq!(listening, PriorityLevel::FixNow, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("sshd (pid 812)") && r.contains("tcp [::]:22")),
        "{reasons:?}"
    );

    let (loopback, reasons) = level(&finding, &host(Some(sshd("127.0.0.1"))), &facts);
    assert_eq!(
        loopback,
        PriorityLevel::FixLater,
        "loopback only is not network exposure: {reasons:?}"
    );
}

#[test]
fn known_exploitation_raises_priority() {
    let finding = finding(Severity::Medium, fixed(), &["openssh-client"]);
    let inventory = host(None);
    let (quiet, _) = level(
        &finding,
        &inventory,
        &facts(Some(5.0), false, Some(0.001), "2024-07-01"),
    );
    let (kev, reasons) = level(
        &finding,
        &inventory,
        &facts(Some(5.0), true, None, "2024-07-01"),
    );
    let (epss, _) = level(
        &finding,
        &inventory,
        &facts(Some(5.0), false, Some(0.5), "2024-07-01"),
    );
    assert_eq!(quiet, PriorityLevel::FixLater);
    assert_eq!(kev, PriorityLevel::FixNow);
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("+3") && r.contains("2024-07-10") && r.contains("ransomware")),
        "{reasons:?}"
    );
    assert_eq!(
        epss,
        PriorityLevel::FixLater,
        "EPSS alone adds one point: medium 2 + 1 = 3"
    );
}

#[test]
fn vendor_severity_decides_and_cvss_is_shown() {
    let finding = finding(Severity::Low, fixed(), &["openssh-client"]);
    let context_facts = facts(Some(9.8), false, None, "2024-07-01");
    let inventory = host(None);
    let context = Context {
        inventory: &inventory,
        facts: &context_facts,
        importance: AssetImportance::Normal,
        today: today(),
    };
    let assessment = assess(&finding, &context);
    assert_eq!(assessment.effective_severity, Severity::Low);
    assert_eq!(assessment.priority.level, PriorityLevel::FixLater);
    assert!(assessment.priority.reasons[0]
        .contains("vendor severity low (decides over CVSS 3.1 9.8 (critical"));

    // Without a vendor severity, the CVSS rating is used instead.
    let unrated = self::finding(Severity::Unknown, fixed(), &["openssh-client"]);
    let assessment = assess(&unrated, &context);
    assert_eq!(assessment.effective_severity, Severity::Critical);
    assert_eq!(assessment.priority.level, PriorityLevel::FixNow);
}

#[test]
fn packages_no_process_uses_rank_lower() {
    let finding = finding(Severity::Low, fixed(), &["openssh-sftp-server"]);
    let no_facts = BTreeMap::new();
    let (unknown, _) = level(&finding, &host(None), &no_facts);
    let (not_running, reasons) = level(&finding, &host(Some(sshd("::"))), &no_facts);
    assert_eq!(unknown, PriorityLevel::FixLater);
    assert_eq!(not_running, PriorityLevel::NoNeedToFix, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r == "-1 no running process uses the package"),
        "{reasons:?}"
    );
}

#[test]
fn will_not_fix_and_negligible_need_no_fix() {
    let mut minor = finding(
        Severity::Medium,
        FindingStatus::WillNotFix,
        &["openssh-client"],
    );
    minor.note = Some("no-dsa: Minor issue".into());
    let (level_minor, reasons) = level(&minor, &host(None), &BTreeMap::new());
    assert_eq!(level_minor, PriorityLevel::NoNeedToFix);
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("will not fix it (no-dsa: Minor issue)")),
        "{reasons:?}"
    );

    let negligible = finding(Severity::Negligible, fixed(), &["openssh-client"]);
    assert_eq!(
        level(&negligible, &host(None), &BTreeMap::new()).0,
        PriorityLevel::NoNeedToFix
    );
}

#[test]
fn new_publications_and_important_hosts_count() {
    let finding = finding(Severity::High, fixed(), &["openssh-client"]);
    let inventory = host(None);
    let (old, _) = level(
        &finding,
        &inventory,
        &facts(Some(7.5), false, None, "2020-01-01"),
    );
    let (new, reasons) = level(
        &finding,
        &inventory,
        &facts(Some(7.5), false, None, "2026-11-20"),
    );
    assert_eq!(old, PriorityLevel::FixLater);
    assert_eq!(new, PriorityLevel::FixNow);
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("+1 published 14 days ago")),
        "{reasons:?}"
    );

    let no_facts = BTreeMap::new();
    for (importance, expected) in [
        (AssetImportance::High, PriorityLevel::FixNow),
        (AssetImportance::Normal, PriorityLevel::FixLater),
        (AssetImportance::Low, PriorityLevel::FixLater),
    ] {
        let context = Context {
            inventory: &inventory,
            facts: &no_facts,
            importance,
            today: today(),
        };
        assert_eq!(
            assess(&finding, &context).priority.level,
            expected,
            "{importance:?}"
        );
    }
}

#[test]
fn running_kernel_exposed_headers_not() {
    let mut image = finding(Severity::Medium, fixed(), &["linux-image-6.1.0-28-amd64"]);
    image.package = "linux".into();
    let inventory = host(Some(sshd("::")));
    let context_facts = BTreeMap::new();
    let context = Context {
        inventory: &inventory,
        facts: &context_facts,
        importance: AssetImportance::Normal,
        today: today(),
    };
    assert_eq!(assess(&image, &context).exposure, Exposure::RunningKernel);

    let mut headers = finding(Severity::Medium, fixed(), &["linux-libc-dev"]);
    headers.package = "linux".into();
    assert_eq!(assess(&headers, &context).exposure, Exposure::NotRunning);
}

#[test]
fn several_cves_take_the_strongest_facts() {
    let mut usn = finding(Severity::Unknown, fixed(), &["openssh-client"]);
    usn.cves = vec![CVE.into(), "CVE-2023-0001".into(), "CVE-2099-0404".into()];
    let mut facts = facts(Some(5.3), false, Some(0.02), "2024-07-01");
    let mut other = facts[CVE].clone();
    other.id = "CVE-2023-0001".into();
    other.records[0].cvss[0].base_score = 7.7;
    other.epss = Some(EpssScore {
        cve: "CVE-2023-0001".into(),
        score: 0.3,
        percentile: None,
        date: None,
    });
    facts.insert("CVE-2023-0001".into(), other);
    let inventory = host(None);
    let context = Context {
        inventory: &inventory,
        facts: &facts,
        importance: AssetImportance::Normal,
        today: today(),
    };
    let intel = assess(&usn, &context).intel;
    assert_eq!(
        intel
            .cvss
            .as_ref()
            .map(|c| (c.cve.as_str(), c.cvss.base_score)),
        Some(("CVE-2023-0001", 7.7))
    );
    assert_eq!(intel.epss.map(|e| e.score), Some(0.3));
    assert_eq!(intel.unknown_cves, ["CVE-2099-0404"]);
}

#[test]
fn level_names_agree_everywhere() {
    for level in PriorityLevel::ALL {
        let json = serde_json::to_value(level).expect("serializes");
        assert_eq!(json, level.as_str());
        assert_eq!(PriorityLevel::parse(level.as_str()), Some(level));
        assert_eq!(
            PriorityLevel::parse(&level.as_str().replace('-', "_")),
            Some(level)
        );
    }
    assert_eq!(PriorityLevel::parse("urgent"), None);
}
