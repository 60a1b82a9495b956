//! The MSRC CVRF corpus and the wesng definitions, checked against Python's
//! parsers and against each other.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::process::Command;

use vulnloop_windows::{msrc, wesng, FixSource, WindowsFix};

const MSRC: &str = "feeds/windows-msrc-cvrf/msrc-cvrf-snapshot-20260706T222806Z.tar";
const WESNG: &str = "feeds/windows-wesng/wesng-definitions.zip";

fn read_msrc() -> (msrc::MsrcSummary, Vec<WindowsFix>) {
    let path = vulnloop_testdata::data_file(MSRC);
    let mut fixes = Vec::new();
    let reader = Box::new(BufReader::new(File::open(&path).unwrap()));
    let summary = msrc::parse_reader(
        reader,
        "msrc-cvrf-snapshot-20260706T222806Z.tar",
        &mut |fix| fixes.push(fix),
    )
    .unwrap();
    (summary, fixes)
}

fn read_wesng() -> (wesng::WesngSummary, Vec<WindowsFix>) {
    let path = vulnloop_testdata::data_file(WESNG);
    let mut fixes = Vec::new();
    let summary = wesng::parse_zip(
        File::open(&path).unwrap(),
        "wesng-definitions.zip",
        &mut |fix| fixes.push(fix),
    )
    .unwrap();
    (summary, fixes)
}

/// Runs a Python script of tests/support and parses its JSON output.
fn python(script: &str, argument: &std::path::Path) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(script);
    let output = Command::new("python3")
        .arg(&script)
        .arg(argument)
        .output()
        .expect("python3 is needed as the test oracle");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn msrc_counts_match_python() {
    let (summary, fixes) = read_msrc();

    let dir = tempfile::tempdir().unwrap();
    let mut archive = tar::Archive::new(File::open(vulnloop_testdata::data_file(MSRC)).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry
            .path()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        if let Some(xml) = name.strip_suffix(".zst") {
            let mut bytes = Vec::new();
            zstd::Decoder::new(&mut entry)
                .unwrap()
                .read_to_end(&mut bytes)
                .unwrap();
            std::fs::write(dir.path().join(xml), bytes).unwrap();
        }
    }
    let expected = python("msrc_count.py", dir.path());

    assert_eq!(
        summary.documents as u64,
        expected["documents"].as_u64().unwrap()
    );
    assert_eq!(
        summary.vulnerabilities as u64,
        expected["vulnerabilities"].as_u64().unwrap()
    );
    assert_eq!(
        summary.kb_remediations as u64,
        expected["kb_remediations"].as_u64().unwrap()
    );
    assert_eq!(summary.fixes, fixes.len());
    assert!(
        summary
            .snapshot
            .as_deref()
            .is_some_and(|s| s.starts_with("2026-")),
        "{:?}",
        summary.snapshot
    );
}

#[test]
fn msrc_fix_of_server_2019_complete() {
    let (_, fixes) = read_msrc();
    let fix = fixes
        .iter()
        .find(|f| {
            f.kb == "5034127" && f.product == "Windows Server 2019" && f.document == "2024-Jan"
        })
        .expect("KB5034127 fixes a January 2024 CVE on Windows Server 2019");
    assert_eq!(fix.product_key, "windows-server-2019");
    assert_eq!(fix.fixed_build.as_deref(), Some("10.0.17763.5329"));
    assert_eq!(fix.supersedes, vec!["5033371".to_string()]);
    assert_eq!(fix.restart_required, Some(true));
    assert_eq!(fix.subtype.as_deref(), Some("Security Update"));
    assert_eq!(fix.released.as_deref(), Some("2024-01-09"));
    assert!(fix.severity.is_some());
    assert!(fix.title.is_some());
    assert!(fix.url.is_some());
    assert_eq!(fix.fixed_revision_on("10.0.17763"), Some(5329));

    let same = fixes
        .iter()
        .filter(|f| f.kb == "5034127" && f.cve == fix.cve && f.product_key == fix.product_key)
        .count();
    assert_eq!(same, 1, "Server Core shares the release's key and row");
    assert!(
        fixes
            .iter()
            .all(|f| !f.product.contains(" on Windows")
                || f.product.starts_with("Internet Explorer")),
        "products on Windows other than Internet Explorer are not releases"
    );
}

#[test]
fn wesng_counts_match_python() {
    let (summary, fixes) = read_wesng();
    let dir = tempfile::tempdir().unwrap();
    let mut archive =
        zip::ZipArchive::new(File::open(vulnloop_testdata::data_file(WESNG)).unwrap()).unwrap();
    archive.extract(dir.path()).unwrap();
    let table = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("CVEs_")
        })
        .unwrap();
    let expected = python("wesng_count.py", &table);
    assert_eq!(summary.rows as u64, expected["rows"].as_u64().unwrap());
    assert!(fixes.len() > 100_000, "{} Windows rows", fixes.len());
    assert!(fixes
        .iter()
        .all(|f| f.source == FixSource::Wesng && !f.cve.is_empty() && !f.kb.is_empty()));
    let cves = fixes.iter().filter(|f| f.cve.starts_with("CVE-")).count();
    assert!(
        cves * 100 >= fixes.len() * 95,
        "{cves} of {} rows name a CVE",
        fixes.len()
    );
}

/// MSRC and wesng name the same KBs for the same CVE and product in most
/// cases. wesng is compiled from MSRC, so a low agreement means that a
/// parser or the product normalization is wrong.
#[test]
fn wesng_agrees_with_msrc() {
    let (_, msrc_fixes) = read_msrc();
    let (_, wesng_fixes) = read_wesng();
    let kbs = |fixes: &[WindowsFix]| {
        let mut map: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for fix in fixes
            .iter()
            .filter(|f| f.released.as_deref().is_some_and(|d| d.starts_with("2023")))
        {
            map.entry((fix.cve.clone(), fix.product_key.clone()))
                .or_default()
                .insert(fix.kb.clone());
        }
        map
    };
    let msrc = kbs(&msrc_fixes);
    let wesng = kbs(&wesng_fixes);
    let shared: Vec<_> = msrc.keys().filter(|key| wesng.contains_key(*key)).collect();
    let agreeing = shared
        .iter()
        .filter(|key| !msrc[**key].is_disjoint(&wesng[**key]))
        .count();
    println!(
        "2023: {} MSRC pairs, {} wesng pairs, {} shared, {agreeing} with a common KB",
        msrc.len(),
        wesng.len(),
        shared.len()
    );
    assert!(
        shared.len() * 10 >= msrc.len() * 8,
        "product keys of the two feeds meet for most pairs"
    );
    assert!(
        agreeing * 100 >= shared.len() * 95,
        "the two feeds name a common KB for most pairs"
    );
}
