//! Enrichment feeds on real data: NVD JSON 1.1 and 2.0, CVE JSON 5, CISA
//! KEV and FIRST EPSS. Counts and spot checks are compared with the raw
//! JSON read independently with serde_json.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vulnloop_advisory::{CveRecord, CvssVersion, Enrichment, EpssScore, KevEntry};
use vulnloop_feeds::{detect, parse_enrichment_file, FeedKind, FeedSummary};

/// CVE counts of the NVD JSON 1.1 files (`CVE_data_numberOfCVEs`, as listed
/// in the data manifest) and the number of `** REJECT **` items in each.
const NVD_11_FILES: [(&str, usize, usize); 21] = [
    ("nvdcve-1.1-2002.json.gz", 6_770, 0),
    ("nvdcve-1.1-2003.json.gz", 1_553, 0),
    ("nvdcve-1.1-2004.json.gz", 2_707, 0),
    ("nvdcve-1.1-2005.json.gz", 4_767, 0),
    ("nvdcve-1.1-2006.json.gz", 7_142, 0),
    ("nvdcve-1.1-2007.json.gz", 6_580, 0),
    ("nvdcve-1.1-2008.json.gz", 7_176, 0),
    ("nvdcve-1.1-2009.json.gz", 5_040, 0),
    ("nvdcve-1.1-2010.json.gz", 5_217, 0),
    ("nvdcve-1.1-2011.json.gz", 4_861, 0),
    ("nvdcve-1.1-2012.json.gz", 5_893, 0),
    ("nvdcve-1.1-2013.json.gz", 6_780, 0),
    ("nvdcve-1.1-2014.json.gz", 8_982, 0),
    ("nvdcve-1.1-2015.json.gz", 8_748, 0),
    ("nvdcve-1.1-2016.json.gz", 10_555, 0),
    ("nvdcve-1.1-2017.json.gz", 17_014, 0),
    ("nvdcve-1.1-2019.snapshot-2020-03-01.json.zip", 14_480, 808),
    (
        "nvdcve-1.1-2021.partial-snapshot-2021-10-05.json.zip",
        11_806,
        347,
    ),
    (
        "nvdcve-1.1-2022.partial-snapshot-2022-11-04.json.gz",
        16_315,
        206,
    ),
    ("nvdcve-1.1-modified.json.gz", 2_146, 0),
    ("nvdcve-1.1-recent.json.gz", 762, 0),
];

/// Parses an enrichment file, failing the test on an error.
fn read(path: &Path, kind: FeedKind) -> (FeedSummary, Vec<Enrichment>) {
    let mut records = Vec::new();
    let summary = parse_enrichment_file(path, kind, &mut |record| records.push(record));
    match summary {
        Ok(summary) => (summary, records),
        Err(error) => panic!("failed to parse {}: {error}", path.display()),
    }
}

fn cve_records(records: Vec<Enrichment>) -> Vec<CveRecord> {
    records
        .into_iter()
        .map(|record| match record {
            Enrichment::Cve(record) => record,
            other => panic!("expected a CVE record, got {other:?}"),
        })
        .collect()
}

fn find<'a>(records: &'a [CveRecord], id: &str) -> &'a CveRecord {
    let mut found = records.iter().filter(|record| record.id == id);
    let Some(first) = found.next() else {
        panic!("{id} not found")
    };
    assert!(found.next().is_none(), "{id} appears twice");
    first
}

/// Returns the count in a skipped line such as `rejected CVE: 206 records (…)`.
fn skipped_count(summary: &FeedSummary, reason: &str) -> usize {
    let prefix = format!("{reason}: ");
    let Some(line) = summary
        .skipped
        .iter()
        .find(|line| line.starts_with(&prefix))
    else {
        return 0;
    };
    let count = line[prefix.len()..].split(' ').next().unwrap_or("");
    count
        .parse()
        .unwrap_or_else(|_| panic!("no count in {line:?}"))
}

fn nvd_path(name: &str) -> PathBuf {
    vulnloop_testdata::data_file(&format!("feeds/nvd-json-1.1/{name}"))
}

fn read_json(path: &Path) -> Value {
    let mut bytes = Vec::new();
    let opened = vulnloop_testdata::open_decompressed(path);
    let read = opened.and_then(|mut reader| std::io::Read::read_to_end(&mut reader, &mut bytes));
    assert!(read.is_ok(), "cannot read {}", path.display());
    match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(error) => panic!("{} is not JSON: {error}", path.display()),
    }
}

#[test]
fn nvd_11_files_all_parse() {
    let dir = vulnloop_testdata::data_file("feeds/nvd-json-1.1");
    let mut listed: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| !name.ends_with(".meta"))
        .collect();
    listed.sort();
    let mut expected: Vec<&str> = NVD_11_FILES.iter().map(|(name, _, _)| *name).collect();
    expected.sort();
    assert_eq!(listed, expected, "the data directory holds other NVD files");

    for (name, cves, rejected) in NVD_11_FILES {
        let path = nvd_path(name);
        assert_eq!(detect(&path), Some(FeedKind::NvdJson11), "{name}");
        let (summary, records) = read(&path, FeedKind::NvdJson11);
        eprintln!(
            "{name}: {} records, skipped {:?}",
            summary.records, summary.skipped
        );
        assert_eq!(summary.records, records.len(), "{name}");
        assert_eq!(summary.records, cves - rejected, "{name}");
        assert_eq!(skipped_count(&summary, "rejected CVE"), rejected, "{name}");
        assert!(summary.snapshot.is_some(), "{name} has no snapshot");
        let records = cve_records(records);
        assert!(
            records.iter().all(|record| record.source == "nvd"),
            "{name}"
        );
    }
}

#[test]
fn nvd_11_counts_match_raw_json() {
    for name in [
        "nvdcve-1.1-modified.json.gz",
        "nvdcve-1.1-recent.json.gz",
        "nvdcve-1.1-2003.json.gz",
    ] {
        let path = nvd_path(name);
        let raw = read_json(&path);
        let stated: usize = raw["CVE_data_numberOfCVEs"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let items = raw["CVE_Items"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(items, stated, "{name}: CVE_data_numberOfCVEs");
        let (summary, _) = read(&path, FeedKind::NvdJson11);
        assert_eq!(summary.records, items, "{name}");
        assert_eq!(
            summary.snapshot.as_deref(),
            raw["CVE_data_timestamp"].as_str(),
            "{name}"
        );
    }
}

#[test]
fn heartbleed_matches_raw_nvd_11() {
    let path = nvd_path("nvdcve-1.1-2014.json.gz");
    let raw = read_json(&path);
    let items = raw["CVE_Items"].as_array().cloned().unwrap_or_default();
    let Some(item) = items
        .iter()
        .find(|item| item["cve"]["CVE_data_meta"]["ID"] == "CVE-2014-0160")
    else {
        panic!("CVE-2014-0160 not in the raw file");
    };
    let (_, records) = read(&path, FeedKind::NvdJson11);
    let records = cve_records(records);
    let record = find(&records, "CVE-2014-0160");

    assert_eq!(record.published.as_deref(), item["publishedDate"].as_str());
    assert_eq!(
        record.modified.as_deref(),
        item["lastModifiedDate"].as_str()
    );
    let description = &item["cve"]["description"]["description_data"][0]["value"];
    assert_eq!(record.description.as_deref(), description.as_str());
    assert_eq!(record.cwes, ["CWE-125"]);

    let mut urls: Vec<&str> = Vec::new();
    for reference in item["cve"]["references"]["reference_data"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let url = reference["url"].as_str().unwrap_or("");
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    assert_eq!(record.references, urls);
    assert!(
        record.references.len() > 100,
        "Heartbleed has hundreds of references"
    );

    let v3 = &item["impact"]["baseMetricV3"]["cvssV3"];
    let v2 = &item["impact"]["baseMetricV2"]["cvssV2"];
    let cvss: Vec<(CvssVersion, &str, f64, &str)> = record
        .cvss
        .iter()
        .map(|c| {
            (
                c.version,
                c.vector.as_str(),
                c.base_score,
                c.scored_by.as_str(),
            )
        })
        .collect();
    assert_eq!(
        cvss,
        [
            (
                CvssVersion::V3_1,
                v3["vectorString"].as_str().unwrap_or(""),
                7.5,
                "nvd@nist.gov"
            ),
            (
                CvssVersion::V2,
                v2["vectorString"].as_str().unwrap_or(""),
                5.0,
                "nvd@nist.gov"
            ),
        ]
    );
    assert_eq!(v3["baseScore"].as_f64(), Some(7.5));
    assert_eq!(v2["baseScore"].as_f64(), Some(5.0));
}

/// Lists the NVD 2.0 feed files and API pages of the format samples.
fn nvd_2_samples(dir: &tempfile::TempDir) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for relative in [
        "pkg/fetch/nvd/feed/cve/v2/testdata/fixtures",
        "pkg/fetch/nvd/api/cve/testdata/fixtures",
    ] {
        collect_files(&dir.path().join(relative), &mut paths);
    }
    paths.sort();
    assert!(paths.len() >= 15, "only {} NVD 2.0 samples", paths.len());
    paths
}

fn collect_files(dir: &Path, paths: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, paths);
        } else {
            paths.push(path);
        }
    }
}

#[test]
fn nvd_2_samples_match_raw_json() {
    let dir = support::format_samples();
    for path in nvd_2_samples(&dir) {
        assert_eq!(detect(&path), Some(FeedKind::NvdCve2), "{}", path.display());
        let raw = read_json(&path);
        let vulnerabilities = raw["vulnerabilities"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let rejected = vulnerabilities
            .iter()
            .filter(|v| v["cve"]["vulnStatus"] == "Rejected")
            .count();
        let (summary, records) = read(&path, FeedKind::NvdCve2);
        assert_eq!(
            summary.records,
            vulnerabilities.len() - rejected,
            "{}",
            path.display()
        );
        assert_eq!(
            skipped_count(&summary, "rejected CVE"),
            rejected,
            "{}",
            path.display()
        );
        assert_eq!(summary.snapshot.as_deref(), raw["timestamp"].as_str());

        for (record, raw) in cve_records(records).iter().zip(
            vulnerabilities
                .iter()
                .filter(|v| v["cve"]["vulnStatus"] != "Rejected"),
        ) {
            let cve = &raw["cve"];
            assert_eq!(Some(record.id.as_str()), cve["id"].as_str());
            assert_eq!(record.published.as_deref(), cve["published"].as_str());
            assert_eq!(record.modified.as_deref(), cve["lastModified"].as_str());
            let metrics: usize = cve["metrics"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(key, _)| key.starts_with("cvssMetric"))
                .map(|(_, list)| list.as_array().map(Vec::len).unwrap_or(0))
                .sum();
            assert_eq!(record.cvss.len(), metrics, "{}", record.id);
        }
    }
}

#[test]
fn nvd_2_feed_record_fields() {
    let dir = support::format_samples();
    let path = support::sample(
        &dir,
        "pkg/fetch/nvd/feed/cve/v2/testdata/fixtures/nvdcve-2.0-2002.json.gz",
    );
    let (_, records) = read(&path, FeedKind::NvdCve2);
    let records = cve_records(records);
    let sendmail = find(&records, "CVE-1999-0095");
    assert_eq!(sendmail.source, "nvd");
    assert_eq!(
        sendmail.description.as_deref(),
        Some("The debug command in Sendmail is enabled, allowing attackers to execute commands as root.")
    );
    assert!(
        sendmail.cwes.is_empty(),
        "NVD-CWE-Other is a placeholder: {:?}",
        sendmail.cwes
    );
    assert_eq!(
        sendmail.references.len(),
        5,
        "duplicate URLs from two sources: {:?}",
        sendmail.references
    );
    assert_eq!(sendmail.cvss.len(), 1);
    assert_eq!(sendmail.cvss[0].vector, "AV:N/AC:L/Au:N/C:C/I:C/A:C");
    assert_eq!(sendmail.cvss[0].base_score, 10.0);
    assert_eq!(sendmail.cvss[0].scored_by, "nvd@nist.gov");
}

#[test]
fn cve5_json_lines_parse() {
    let path = vulnloop_testdata::data_file("feeds/cve5-vulnrichment/cve5-vulnrichment.jsonl.zst");
    assert_eq!(detect(&path), Some(FeedKind::Cve5));
    let (summary, records) = read(&path, FeedKind::Cve5);
    eprintln!(
        "{}: {} records, skipped {:?}",
        path.display(),
        summary.records,
        summary.skipped
    );
    let rejected = skipped_count(&summary, "rejected CVE");
    assert_eq!(
        summary.records + rejected,
        44_130,
        "records per the data manifest"
    );
    assert_eq!(
        summary.skipped.len(),
        usize::from(rejected > 0),
        "{:?}",
        summary.skipped
    );
    assert_eq!(
        summary.snapshot.as_deref(),
        Some("2024-10-24T21:01:12.948Z")
    );
    let records = cve_records(records);
    assert!(records.iter().all(|record| record.source == "cve5"));

    // The CNA (Canonical) and CISA's ADP container score CVE-2021-3600 with different vectors.
    let ebpf = find(&records, "CVE-2021-3600");
    let scores: Vec<(&str, &str, f64)> = ebpf
        .cvss
        .iter()
        .map(|c| (c.scored_by.as_str(), c.vector.as_str(), c.base_score))
        .collect();
    assert!(
        scores.contains(&(
            "canonical",
            "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:C/C:H/I:H/A:H",
            7.8
        )),
        "{scores:?}"
    );
    assert!(
        scores.contains(&(
            "CISA-ADP",
            "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
            7.8
        )),
        "{scores:?}"
    );

    // CVE-1999-0006 has no CNA score. CISA's ADP container adds CVSS 3.1 and a CWE.
    let qpopper = find(&records, "CVE-1999-0006");
    assert_eq!(qpopper.published.as_deref(), Some("1999-09-29T04:00:00"));
    assert_eq!(
        qpopper.modified.as_deref(),
        Some("2024-08-01T18:53:34.621Z")
    );
    assert_eq!(qpopper.cwes, ["CWE-121"]);
    assert_eq!(
        qpopper.references.len(),
        2,
        "the CVE Program container repeats the CNA's URLs"
    );
    assert_eq!(qpopper.cvss.len(), 1);
    assert_eq!(qpopper.cvss[0].scored_by, "CISA-ADP");
    assert_eq!(qpopper.cvss[0].base_score, 9.8);
    assert!(qpopper
        .description
        .as_deref()
        .is_some_and(|text| text.starts_with("Buffer overflow in POP servers")));
}

#[test]
fn cvelist_archive_parses() {
    let dir = support::format_samples();
    let path = support::sample(
        &dir,
        "pkg/fetch/mitre/cve/v5/testdata/fixtures/cvelistV5-main.tar.gz",
    );
    assert_eq!(detect(&path), Some(FeedKind::Cve5));
    let (summary, records) = read(&path, FeedKind::Cve5);
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    let records = cve_records(records);
    let mut ids: Vec<&str> = records.iter().map(|record| record.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "CVE-2022-0001",
            "CVE-2022-0002",
            "CVE-2023-0001",
            "CVE-2023-0002"
        ]
    );

    // The raw record, unpacked independently, must agree with what the parser read.
    let unpacked =
        tempfile::tempdir().unwrap_or_else(|error| panic!("no temporary directory: {error}"));
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()));
    let unpack = tar::Archive::new(flate2::read::GzDecoder::new(file)).unpack(unpacked.path());
    assert!(unpack.is_ok(), "cannot unpack {}", path.display());
    let raw = read_json(
        &unpacked
            .path()
            .join("cvelistV5-main/cves/2023/0xxx/CVE-2023-0001.json"),
    );
    let record = find(&records, "CVE-2023-0001");
    assert_eq!(
        record.modified.as_deref(),
        raw["cveMetadata"]["dateUpdated"].as_str()
    );
    let cna = &raw["containers"]["cna"];
    let short_name = cna["providerMetadata"]["shortName"].as_str().unwrap_or("");
    let raw_vectors: Vec<&str> = cna["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|metric| {
            metric
                .as_object()?
                .values()
                .find_map(|data| data["vectorString"].as_str())
        })
        .collect();
    let vectors: Vec<&str> = record
        .cvss
        .iter()
        .filter(|c| c.scored_by == short_name)
        .map(|c| c.vector.as_str())
        .collect();
    assert!(!raw_vectors.is_empty(), "CVE-2023-0001 has no CNA vector");
    assert_eq!(vectors, raw_vectors);
}

#[test]
fn single_cve5_record_parses() {
    let dir = support::format_samples();
    let archive = support::sample(
        &dir,
        "pkg/fetch/mitre/cve/v5/testdata/fixtures/cvelistV5-main.tar.gz",
    );
    let unpacked =
        tempfile::tempdir().unwrap_or_else(|error| panic!("no temporary directory: {error}"));
    let file = std::fs::File::open(&archive).unwrap_or_else(|error| panic!("cannot open: {error}"));
    let unpack = tar::Archive::new(flate2::read::GzDecoder::new(file)).unpack(unpacked.path());
    assert!(unpack.is_ok(), "cannot unpack {}", archive.display());
    let path = unpacked
        .path()
        .join("cvelistV5-main/cves/2022/0xxx/CVE-2022-0001.json");
    assert_eq!(detect(&path), Some(FeedKind::Cve5));
    let (summary, records) = read(&path, FeedKind::Cve5);
    assert_eq!(summary.records, 1);
    assert_eq!(records[0].cve(), "CVE-2022-0001");
}

#[test]
fn kev_catalog_parses() {
    let path =
        vulnloop_testdata::data_file("feeds/cisa-kev/known_exploited_vulnerabilities.json.gz");
    assert_eq!(detect(&path), Some(FeedKind::CisaKev));
    let schema =
        vulnloop_testdata::data_file("feeds/cisa-kev/known_exploited_vulnerabilities_schema.json");
    assert_eq!(detect(&schema), None);

    let (summary, records) = read(&path, FeedKind::CisaKev);
    assert_eq!(summary.records, 1_404);
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    let raw = read_json(&path);
    assert_eq!(summary.snapshot.as_deref(), raw["dateReleased"].as_str());

    let entries: BTreeMap<String, KevEntry> = records
        .into_iter()
        .map(|record| match record {
            Enrichment::Kev(entry) => (entry.cve.clone(), entry),
            other => panic!("expected a KEV entry, got {other:?}"),
        })
        .collect();
    let raw_entries = raw["vulnerabilities"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(raw_entries.len(), 1_404);
    for raw_entry in &raw_entries {
        let id = raw_entry["cveID"].as_str().unwrap_or("");
        let Some(entry) = entries.get(id) else {
            panic!("{id} missing")
        };
        assert_eq!(
            Some(entry.date_added.as_str()),
            raw_entry["dateAdded"].as_str(),
            "{id}"
        );
        assert_eq!(
            entry.due_date.as_deref(),
            raw_entry["dueDate"].as_str(),
            "{id}"
        );
        assert_eq!(
            entry.vendor.as_deref(),
            raw_entry["vendorProject"].as_str(),
            "{id}"
        );
        let ransomware = match raw_entry["knownRansomwareCampaignUse"].as_str() {
            Some("Known") => Some(true),
            Some("Unknown") => Some(false),
            _ => None,
        };
        assert_eq!(entry.known_ransomware_use, ransomware, "{id}");
    }

    let Some(log4shell) = entries.get("CVE-2021-44228") else {
        panic!("Log4Shell is not in the catalog")
    };
    assert_eq!(log4shell.vendor.as_deref(), Some("Apache"));
    assert_eq!(log4shell.product.as_deref(), Some("Log4j2"));
    assert_eq!(log4shell.date_added, "2021-12-10");
    assert_eq!(log4shell.known_ransomware_use, Some(true));
    assert!(log4shell.required_action.is_some());
}

fn epss_scores(path: &Path) -> (FeedSummary, Vec<EpssScore>) {
    let (summary, records) = read(path, FeedKind::Epss);
    let scores = records
        .into_iter()
        .map(|record| match record {
            Enrichment::Epss(score) => score,
            other => panic!("expected an EPSS score, got {other:?}"),
        })
        .collect();
    (summary, scores)
}

#[test]
fn epss_files_parse() {
    let dir = support::format_samples();
    let fixtures = "pkg/fetch/epss/testdata/fixtures";
    // (file, date, CVE-2020-5902 score, its percentile)
    let cases = [
        ("epss_scores-2021-04-14.csv.gz", "2021-04-14", 0.65117, None),
        (
            "epss_scores-2021-09-01.csv.gz",
            "2021-09-01",
            0.65117,
            Some(0.9981063485700858),
        ),
        (
            "epss_scores-2022-02-04.csv.gz",
            "2022-02-04",
            0.96817,
            Some(0.99999),
        ),
        (
            "epss_scores-2023-03-07.csv.gz",
            "2023-03-07",
            0.97567,
            Some(0.99995),
        ),
    ];
    for (name, date, score, percentile) in cases {
        let path = support::sample(&dir, &format!("{fixtures}/{name}"));
        assert_eq!(detect(&path), Some(FeedKind::Epss), "{name}");
        let (summary, scores) = epss_scores(&path);
        assert_eq!(summary.records, 2, "{name}");
        assert_eq!(summary.snapshot.as_deref(), Some(date), "{name}");
        let first = &scores[0];
        assert_eq!(first.cve, "CVE-2020-5902", "{name}");
        assert_eq!(first.score, score, "{name}");
        assert_eq!(first.percentile, percentile, "{name}");
        assert_eq!(first.date.as_deref(), Some(date), "{name}");
        assert_eq!(scores[1].cve, "CVE-2018-19571", "{name}");
    }
}

#[test]
fn epss_date_from_comment_over_name() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("no temporary directory: {error}"));
    let path = dir.path().join("epss_scores-current.csv");
    let text = "#model_version:v2023.03.01,score_date:2024-01-31T00:00:00+0000\ncve,epss,percentile\nCVE-2024-3094,0.5,0.9\n";
    std::fs::write(&path, text).unwrap_or_else(|error| panic!("cannot write: {error}"));
    let (summary, scores) = epss_scores(&path);
    assert_eq!(summary.snapshot.as_deref(), Some("2024-01-31"));
    assert_eq!(scores[0].date.as_deref(), Some("2024-01-31"));
}
