//! Rule 6 on real data: a Windows Server 2019 systeminfo sample and hosts
//! derived from it, against the MSRC corpus and the wesng table.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufReader;
use std::sync::OnceLock;

use vulnloop_inventory::{InstalledUpdate, Inventory, WindowsHost};
use vulnloop_match::{FindingStatus, MatchReport};
use vulnloop_windows::systeminfo::SystemInfo;
use vulnloop_windows::{match_windows, msrc, wesng, windows_inventory, FixSource, WindowsFix};

const SAMPLES: &str = "inventories/windows/wesng-validation-systeminfo-qfe.tar.zst";
const SAMPLE: &str = "srv_2019_rtm_datacenter_en-us_systeminfo.txt";
const KEY: &str = "windows-server-2019";

/// Reads every fix statement of Windows Server 2019 from both feeds, once.
fn fixes() -> &'static [WindowsFix] {
    static FIXES: OnceLock<Vec<WindowsFix>> = OnceLock::new();
    FIXES.get_or_init(|| {
        let mut fixes = Vec::new();
        let mut keep = |fix: WindowsFix| {
            if fix.product_key == KEY {
                fixes.push(fix);
            }
        };
        let tar = vulnloop_testdata::data_file(
            "feeds/windows-msrc-cvrf/msrc-cvrf-snapshot-20260706T222806Z.tar",
        );
        msrc::parse_reader(
            Box::new(BufReader::new(File::open(tar).unwrap())),
            "msrc.tar",
            &mut keep,
        )
        .unwrap();
        let zip = vulnloop_testdata::data_file("feeds/windows-wesng/wesng-definitions.zip");
        wesng::parse_zip(File::open(zip).unwrap(), "wesng-definitions.zip", &mut keep).unwrap();
        fixes
    })
}

fn sample_host() -> WindowsHost {
    let dir = vulnloop_testdata::unpack(SAMPLES);
    let bytes = std::fs::read(dir.path().join(SAMPLE)).unwrap();
    SystemInfo::parse(&bytes, SAMPLE).unwrap().to_host()
}

fn scan(host: WindowsHost) -> MatchReport {
    let inventory: Inventory = windows_inventory(host, None, SAMPLE);
    match_windows(
        &inventory,
        fixes(),
        &[],
        vec!["msrc-cvrf".into(), "wesng".into()],
    )
}

/// CVEs whose every MSRC fix on the product is one of `kbs`.
fn cves_fixed_only_by(kbs: &[&str]) -> BTreeSet<String> {
    let mut all: std::collections::BTreeMap<&str, BTreeSet<&str>> =
        std::collections::BTreeMap::new();
    for fix in fixes() {
        all.entry(&fix.cve).or_default().insert(&fix.kb);
    }
    all.into_iter()
        .filter(|(_, fixing)| fixing.iter().all(|kb| kbs.contains(kb)))
        .map(|(cve, _)| cve.to_string())
        .collect()
}

fn reported(report: &MatchReport) -> BTreeSet<String> {
    report.findings.iter().map(|f| f.id.clone()).collect()
}

#[test]
fn server_2019_reports_missing_updates() {
    let report = scan(sample_host());
    assert!(
        report.findings.len() > 1000,
        "{} findings",
        report.findings.len()
    );
    for finding in &report.findings {
        assert!(
            finding.advisory_id.starts_with("KB"),
            "{}: {}",
            finding.id,
            finding.advisory_id
        );
        assert!(
            matches!(finding.status, FindingStatus::FixAvailable { .. }),
            "{}: {:?}",
            finding.id,
            finding.status
        );
        assert!(finding.windows_update.is_some(), "{}", finding.id);
    }
    let with_cve = report
        .findings
        .iter()
        .filter(|f| f.cves.first().is_some_and(|c| c.starts_with("CVE-")))
        .count();
    let with_severity = report
        .findings
        .iter()
        .filter(|f| f.severity != vulnloop_advisory::Severity::Unknown)
        .count();
    assert!(
        with_cve * 100 >= report.findings.len() * 95,
        "{with_cve} of {} name a CVE",
        report.findings.len()
    );
    assert!(
        with_severity * 100 >= report.findings.len() * 95,
        "{with_severity} have a severity"
    );

    // February 2019's cumulative update (KB4487044) came after the host's January one.
    let february = cves_fixed_only_by(&["4487044"]);
    assert!(!february.is_empty());
    let found = reported(&report);
    for cve in &february {
        assert!(
            found.contains(cve),
            "{cve} is fixed only by KB4487044 and must be reported"
        );
    }
    let example = report
        .findings
        .iter()
        .find(|f| february.contains(&f.id))
        .unwrap();
    assert_eq!(example.advisory_id, "KB4487044");
    assert_eq!(
        example.windows_update.as_ref().map(|u| u.cumulative),
        Some(true)
    );
}

#[test]
fn later_cumulative_update_covers_earlier_ones() {
    // The host has KB4480116, January 2019's cumulative update, which
    // supersedes December's (KB4471332) through the out-of-band KB4483235,
    // and so November's (KB4467708) and October's (KB4464330).
    let earlier = cves_fixed_only_by(&["4471332", "4467708"]);
    assert!(earlier.len() > 20, "{} CVEs", earlier.len());
    let found = reported(&scan(sample_host()));
    let wrongly = earlier.intersection(&found).collect::<Vec<_>>();
    assert!(
        wrongly.is_empty(),
        "reported although superseded by KB4480116: {wrongly:?}"
    );

    // The same host with October's update instead of January's misses them.
    let mut older = sample_host();
    for update in &mut older.installed_updates {
        if update.id == "KB4480116" {
            update.id = "KB4464330".into();
        }
    }
    let found = reported(&scan(older));
    for cve in &earlier {
        assert!(
            found.contains(cve),
            "{cve} is fixed after October 2018 and must be reported"
        );
    }
}

fn collector_host(ubr: Option<u32>, updates: &[&str], listed: bool) -> WindowsHost {
    WindowsHost {
        product: "Microsoft Windows Server 2019 Datacenter".into(),
        edition: Some("ServerDatacenter".into()),
        release: Some("1809".into()),
        version: "10.0.17763".into(),
        build: 17763,
        ubr,
        service_pack: None,
        architecture: Some("x64".into()),
        installed_updates: updates
            .iter()
            .map(|id| InstalledUpdate {
                id: id.to_string(),
                description: None,
                installed_on: None,
            })
            .collect(),
        updates_listed: listed,
        servicing_stack: None,
        source_format: "collector-json".into(),
    }
}

#[test]
fn build_revision_decides_first() {
    // 10.0.17763.5329 is the build of January 2024's update (KB5034127).
    let report = scan(collector_host(Some(5329), &[], true));
    let january = cves_fixed_only_by(&["5034127"]);
    let february = cves_fixed_only_by(&["5034768"]);
    assert!(!january.is_empty());
    assert!(!february.is_empty());
    let found = reported(&report);
    assert!(
        january.is_disjoint(&found),
        "the build already has January 2024's fixes"
    );
    let finding = report
        .findings
        .iter()
        .find(|f| february.contains(&f.id))
        .expect("February 2024 CVEs are reported");
    assert!(
        finding.evidence.comparison.contains("10.0.17763.5329 <"),
        "{}",
        finding.evidence.comparison
    );
}

#[test]
fn installed_update_implies_build() {
    let report = scan(collector_host(None, &["KB5034127"], true));
    let found = reported(&report);
    assert!(cves_fixed_only_by(&["5034127"]).is_disjoint(&found));
    assert!(
        report
            .coverage
            .notes
            .iter()
            .any(|n| n.message.contains("implies 10.0.17763.5329")),
        "{:?}",
        report.coverage.notes
    );
}

#[test]
fn unknown_patch_level_is_undetermined() {
    // No update list and no build revision: nothing settles any vulnerability.
    let report = scan(collector_host(None, &[], false));
    assert!(!report.findings.is_empty());
    assert!(report
        .findings
        .iter()
        .all(|f| matches!(f.status, FindingStatus::Undetermined { .. })));
    assert!(!report.coverage.complete);

    // Only KBs newer than the database: supersedence cannot tell either.
    let report = scan(collector_host(None, &["KB9999991"], true));
    assert!(report
        .findings
        .iter()
        .all(|f| matches!(f.status, FindingStatus::Undetermined { .. })));
    assert!(report
        .coverage
        .notes
        .iter()
        .any(|n| n.incomplete && n.message.contains("none of the 1 installed KBs")));
}

#[test]
fn both_feeds_contribute() {
    assert!(fixes().iter().any(|f| f.source == FixSource::MsrcCvrf));
    assert!(fixes().iter().any(|f| f.source == FixSource::Wesng));
}
