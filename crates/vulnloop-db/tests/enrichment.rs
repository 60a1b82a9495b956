//! The enrichment tables on real data: FIRST's EPSS sample files, CISA's
//! KEV catalog and NVD's `recent` file, built into a database and read back.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use vulnloop_db::{update, Database, FeedOrigin, Progress};

const EPSS_DIR: &str = "pkg/fetch/epss/testdata/fixtures";

struct Quiet;

impl Progress for Quiet {
    fn file_started(&mut self, _: &str, _: Option<u64>) {}
    fn bytes_downloaded(&mut self, _: u64) {}
    fn file_finished(&mut self, _: &str, _: usize) {}
}

/// Reads the score rows of an EPSS file by hand: CVE id → (score, percentile).
fn epss_rows(path: &Path) -> BTreeMap<String, (f64, Option<f64>)> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with("CVE-"))
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (
                cells[0].to_string(),
                (
                    cells[1].parse().unwrap(),
                    cells.get(2).map(|p| p.parse().unwrap()),
                ),
            )
        })
        .collect()
}

#[test]
fn epss_and_kev_read_back() {
    let samples =
        vulnloop_testdata::unpack("feeds/format-samples/vuls-data-update-fetch-fixtures.tar.zst");
    let feeds = tempfile::tempdir().unwrap();
    let epss_dir = samples.path().join(EPSS_DIR);
    let mut epss_files: Vec<_> = std::fs::read_dir(&epss_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    epss_files.sort();
    for file in &epss_files {
        std::fs::copy(file, feeds.path().join(file.file_name().unwrap())).unwrap();
    }
    for relative in [
        "feeds/cisa-kev/known_exploited_vulnerabilities.json.gz",
        "feeds/nvd-json-1.1/nvdcve-1.1-recent.json.gz",
    ] {
        let source = vulnloop_testdata::data_file(relative);
        std::os::unix::fs::symlink(&source, feeds.path().join(source.file_name().unwrap()))
            .unwrap();
    }
    let work = tempfile::tempdir().unwrap();
    let db_path = work.path().join("advisories.db");
    let report = update(
        &db_path,
        &FeedOrigin::Directory(feeds.path().to_path_buf()),
        &mut Quiet,
    )
    .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);

    let database = Database::open(&db_path).unwrap();
    // The newest file (by its score date) decides each CVE's score.
    let newest = epss_rows(epss_files.last().unwrap());
    let ids: Vec<&str> = newest.keys().map(String::as_str).collect();
    let facts = database.cve_facts(&ids).unwrap();
    for (cve, (score, percentile)) in &newest {
        let epss = facts[cve].epss.as_ref().unwrap();
        assert_eq!(epss.score, *score, "{cve}");
        assert_eq!(epss.percentile, *percentile, "{cve}");
        assert_eq!(epss.date.as_deref(), Some("2023-03-07"), "{cve}");
    }
    let kev = facts["CVE-2020-5902"].kev.as_ref().unwrap();
    assert_eq!(kev.date_added, "2021-11-03");
    assert_eq!(kev.vendor.as_deref(), Some("F5"));

    // A CVE of NVD's recent file reads back with its description and CVSS.
    let recent = database.cve_facts(&["CVE-2025-1641"]).unwrap();
    let record = &recent["CVE-2025-1641"].records[0];
    assert_eq!(record.source, "nvd");
    assert!(record
        .description
        .as_deref()
        .unwrap()
        .starts_with("A vulnerability was found in Benner ModernaNet"));
    let cvss = recent["CVE-2025-1641"].preferred_cvss().unwrap();
    assert_eq!(cvss.vector, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:L");
    assert_eq!(cvss.base_score, 7.3);
    assert_eq!(
        record.cwes,
        ["CWE-89", "CWE-74"],
        "in the order NVD lists them"
    );
}
