//! Differential test of CVSS scoring. The parsers score every vector in the
//! real NVD JSON 1.1 files, the NVD 2.0 samples and the CVE JSON 5 JSON
//! Lines, and each computed base score is compared with the score the feed
//! states. The stated scores are read here with separate serde structs.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use vulnloop_advisory::Enrichment;
use vulnloop_feeds::{parse_enrichment_file, FeedKind};

/// A vector as the feed states it: CVE id, scorer, vector, stated base score, version label.
#[derive(Debug, Clone)]
struct Stated {
    cve: String,
    scored_by: String,
    vector: String,
    score: f64,
    version: &'static str,
}

/// Computed scores by (CVE id, scorer, vector).
type Computed = HashMap<(String, String, String), f64>;

/// Per-version counts of compared vectors, and the mismatches found.
#[derive(Default)]
struct Tally {
    compared: BTreeMap<&'static str, usize>,
    mismatches: Vec<String>,
    /// Mismatched vectors with the computed score, for classification.
    mismatched: Vec<(Stated, f64)>,
}

impl Tally {
    fn compare(&mut self, computed: &Computed, stated: &[Stated]) {
        for vector in stated {
            *self.compared.entry(vector.version).or_default() += 1;
            let key = (
                vector.cve.clone(),
                vector.scored_by.clone(),
                vector.vector.clone(),
            );
            match computed.get(&key) {
                Some(score) if *score == vector.score => {}
                Some(score) => {
                    self.mismatches.push(format!(
                        "{} {} {}: stated {}, computed {score}",
                        vector.cve, vector.scored_by, vector.vector, vector.score
                    ));
                    self.mismatched.push((vector.clone(), *score));
                }
                None => self.mismatches.push(format!(
                    "{} {} {}: stated {}, not in the parser's output",
                    vector.cve, vector.scored_by, vector.vector, vector.score
                )),
            }
        }
    }

    fn print(&self, feed: &str) {
        for (version, count) in &self.compared {
            eprintln!("{feed}: CVSS {version}: {count} vectors compared");
        }
        eprintln!("{feed}: {} mismatches", self.mismatches.len());
        for mismatch in self.mismatches.iter().take(20) {
            eprintln!("  {mismatch}");
        }
    }
}

/// Parses a file and returns every computed score.
fn computed_scores(path: &Path, kind: FeedKind) -> Computed {
    let mut computed = Computed::new();
    let mut sink = |record: Enrichment| {
        if let Enrichment::Cve(record) = record {
            for cvss in record.cvss {
                computed.insert(
                    (record.id.clone(), cvss.scored_by, cvss.vector),
                    cvss.base_score,
                );
            }
        }
    };
    if let Err(error) = parse_enrichment_file(path, kind, &mut sink) {
        panic!("failed to parse {}: {error}", path.display());
    }
    computed
}

/// Opens a data file, decompressing gzip, zstd or the one member of a zip.
fn open_raw(path: &Path) -> Box<dyn Read> {
    let open = |path: &Path| {
        std::fs::File::open(path)
            .unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()))
    };
    if path.extension().is_some_and(|extension| extension == "zip") {
        let archive = zip::ZipArchive::new(open(path));
        let mut archive =
            archive.unwrap_or_else(|error| panic!("{} is not a zip: {error}", path.display()));
        let mut bytes = Vec::new();
        let member = archive
            .by_index(0)
            .map(|mut member| member.read_to_end(&mut bytes));
        assert!(
            matches!(member, Ok(Ok(_))),
            "cannot read the member of {}",
            path.display()
        );
        return Box::new(std::io::Cursor::new(bytes));
    }
    match vulnloop_testdata::open_decompressed(path) {
        Ok(reader) => reader,
        Err(error) => panic!("cannot open {}: {error}", path.display()),
    }
}

#[derive(Deserialize)]
struct Nvd11File {
    #[serde(rename = "CVE_Items")]
    items: Vec<Nvd11Item>,
}

#[derive(Deserialize)]
struct Nvd11Item {
    cve: Value,
    impact: Option<Nvd11Impact>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Nvd11Impact {
    base_metric_v3: Option<Nvd11Metric>,
    base_metric_v2: Option<Nvd11Metric>,
}

#[derive(Deserialize)]
struct Nvd11Metric {
    #[serde(alias = "cvssV3", alias = "cvssV2")]
    data: StatedData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatedData {
    vector_string: String,
    base_score: f64,
}

/// Reads the stated NVD JSON 1.1 scores of one file.
fn nvd_11_stated(path: &Path) -> Vec<Stated> {
    let reader = BufReader::new(open_raw(path));
    let file: Nvd11File = serde_json::from_reader(reader)
        .unwrap_or_else(|error| panic!("{} is not NVD JSON 1.1: {error}", path.display()));
    let mut stated = Vec::new();
    for item in file.items {
        let id = item.cve["CVE_data_meta"]["ID"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let rejected = item.cve["description"]["description_data"][0]["value"]
            .as_str()
            .is_some_and(|text| text.starts_with("** REJECT **"));
        let Some(impact) = item.impact.filter(|_| !rejected) else {
            continue;
        };
        for (metric, default_version) in [
            (impact.base_metric_v3, "3.x"),
            (impact.base_metric_v2, "2.0"),
        ] {
            let Some(metric) = metric else { continue };
            let version = if metric.data.vector_string.starts_with("CVSS:3.0/") {
                "3.0"
            } else if metric.data.vector_string.starts_with("CVSS:3.1/") {
                "3.1"
            } else {
                default_version
            };
            stated.push(Stated {
                cve: id.clone(),
                scored_by: "nvd@nist.gov".to_string(),
                vector: metric.data.vector_string,
                score: metric.data.base_score,
                version,
            });
        }
    }
    stated
}

#[test]
fn nvd_11_scores_match_stated() {
    let dir = vulnloop_testdata::data_file("feeds/nvd-json-1.1");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_none_or(|extension| extension != "meta"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 21, "NVD JSON 1.1 files in {}", dir.display());

    let mut tally = Tally::default();
    for path in &paths {
        tally.compare(
            &computed_scores(path, FeedKind::NvdJson11),
            &nvd_11_stated(path),
        );
    }
    tally.print("NVD JSON 1.1");
    assert!(
        tally.compared.values().sum::<usize>() > 200_000,
        "too few vectors compared"
    );
    assert_eq!(tally.mismatches, Vec::<String>::new());
}

/// Label of an NVD 2.0 metric list or a CVE JSON 5 metric key.
fn version_label(key: &str) -> Option<&'static str> {
    match key {
        "cvssMetricV2" | "cvssV2_0" => Some("2.0"),
        "cvssMetricV30" | "cvssV3_0" => Some("3.0"),
        "cvssMetricV31" | "cvssV3_1" => Some("3.1"),
        "cvssMetricV40" | "cvssV4_0" => Some("4.0"),
        _ => None,
    }
}

#[test]
fn nvd_2_scores_match_stated() {
    let dir = support::format_samples();
    let mut tally = Tally::default();
    for relative in [
        "pkg/fetch/nvd/feed/cve/v2/testdata/fixtures/nvdcve-2.0-2002.json.gz",
        "pkg/fetch/nvd/feed/cve/v2/testdata/fixtures/nvdcve-2.0-2021.json.gz",
        "pkg/fetch/nvd/feed/cve/v2/testdata/fixtures/nvdcve-2.0-modified.json.gz",
        "pkg/fetch/nvd/api/cve/testdata/fixtures/moddate/0-1.json",
        "pkg/fetch/nvd/api/cve/testdata/fixtures/ssvc_affected/0-1.json",
        "pkg/fetch/nvd/api/cve/testdata/fixtures/1_item/0-1.json",
        "pkg/fetch/nvd/api/cve/testdata/fixtures/3_pages/0-3.json",
        "pkg/fetch/nvd/api/cve/testdata/fixtures/3_pages/3-3.json",
        "pkg/fetch/nvd/api/cve/testdata/fixtures/3_pages/6-3.json",
    ] {
        let path = support::sample(&dir, relative);
        let raw: Value = serde_json::from_reader(open_raw(&path))
            .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()));
        let mut stated = Vec::new();
        for vulnerability in raw["vulnerabilities"].as_array().into_iter().flatten() {
            let cve = &vulnerability["cve"];
            for (key, metrics) in cve["metrics"].as_object().into_iter().flatten() {
                let Some(version) = version_label(key) else {
                    continue;
                };
                for metric in metrics.as_array().into_iter().flatten() {
                    stated.push(Stated {
                        cve: cve["id"].as_str().unwrap_or("").to_string(),
                        scored_by: metric["source"].as_str().unwrap_or("").to_string(),
                        vector: metric["cvssData"]["vectorString"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                        score: metric["cvssData"]["baseScore"].as_f64().unwrap_or(-1.0),
                        version,
                    });
                }
            }
        }
        tally.compare(&computed_scores(&path, FeedKind::NvdCve2), &stated);
    }
    tally.print("NVD 2.0 samples");
    assert!(
        tally.compared.len() >= 3,
        "versions compared: {:?}",
        tally.compared
    );
    assert_eq!(tally.mismatches, Vec::<String>::new());
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cve5Line {
    cve_metadata: Value,
    containers: Cve5Containers,
}

#[derive(Deserialize)]
struct Cve5Containers {
    cna: Option<Cve5Container>,
    #[serde(default)]
    adp: Vec<Cve5Container>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cve5Container {
    provider_metadata: Value,
    #[serde(default)]
    metrics: Vec<BTreeMap<String, Value>>,
}

#[test]
fn cve5_scores_match_stated() {
    let path = vulnloop_testdata::data_file("feeds/cve5-vulnrichment/cve5-vulnrichment.jsonl.zst");
    let mut stated = Vec::new();
    for (number, line) in BufReader::new(open_raw(&path)).lines().enumerate() {
        let line = line.unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        let record: Cve5Line = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("line {} is not a CVE record: {error}", number + 1));
        if record.cve_metadata["state"] == "REJECTED" {
            continue;
        }
        let cve = record.cve_metadata["cveId"]
            .as_str()
            .unwrap_or("")
            .to_string();
        for container in record.containers.cna.iter().chain(&record.containers.adp) {
            let scored_by = container.provider_metadata["shortName"]
                .as_str()
                .unwrap_or("unknown");
            for (key, data) in container.metrics.iter().flatten() {
                let Some(version) = version_label(key) else {
                    continue;
                };
                stated.push(Stated {
                    cve: cve.clone(),
                    scored_by: scored_by.to_string(),
                    vector: data["vectorString"]
                        .as_str()
                        .unwrap_or("")
                        .trim()
                        .to_string(),
                    score: data["baseScore"].as_f64().unwrap_or(-1.0),
                    version,
                });
            }
        }
    }
    let mut tally = Tally::default();
    tally.compare(&computed_scores(&path, FeedKind::Cve5), &stated);
    tally.print("CVE JSON 5");
    assert!(
        tally.compared.values().sum::<usize>() > 20_000,
        "too few vectors compared"
    );

    // Every vector of the records was scored: none is missing from the output.
    let missing: Vec<&String> = tally
        .mismatches
        .iter()
        .filter(|m| m.ends_with("not in the parser's output"))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");

    // CNAs type the stated score by hand, and several are known to disagree
    // with the CVSS 3.1 equations that NVD's own scores above follow on
    // every vector. The mismatches fall into three groups.
    let mut temporal = 0;
    let mut scope_rounding: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for (stated, computed) in &tally.mismatched {
        if stated.version.starts_with('3') && has_non_base_metrics(&stated.vector) {
            // Fortinet and others state the temporal or environmental score
            // of a vector that carries E, RL, RC or modified metrics.
            temporal += 1;
        } else if stated.version.starts_with('3')
            && stated.scored_by == "GitHub_M"
            && stated.vector.contains("/S:C/")
            && ((stated.score - computed).abs() - 0.1).abs() < 1e-9
        {
            // GitHub's CNA (GitHub_M) states scope-changed scores 0.1 off.
            *scope_rounding.entry(stated.scored_by.as_str()).or_default() += 1;
        } else {
            unexplained.push(format!(
                "{} {} {}",
                stated.cve, stated.scored_by, stated.vector
            ));
        }
    }
    eprintln!("CVE JSON 5: {temporal} temporal or environmental scores stated as base scores");
    eprintln!("CVE JSON 5: scope-changed scores 0.1 off, by scorer: {scope_rounding:?}");
    for line in &unexplained {
        eprintln!("  unexplained: {line}");
    }
    unexplained.sort();
    assert_eq!(unexplained, WRONG_STATED_SCORES);
}

/// Returns whether a v3 vector carries temporal or environmental metrics with a value other than `X`.
fn has_non_base_metrics(vector: &str) -> bool {
    const BASE: [&str; 9] = ["CVSS", "AV", "AC", "PR", "UI", "S", "C", "I", "A"];
    vector
        .split('/')
        .filter_map(|part| part.split_once(':'))
        .any(|(metric, value)| !BASE.contains(&metric) && value != "X")
}

/// CVE JSON 5 vectors whose stated score is neither the base score nor one
/// of the explained groups: stated scores that do not belong to the vector.
///
/// NOTE: the three CVSS 4.0 entries differ by 0.1 to 3.1 from the `cvss`
/// crate's score. They are listed as CNA errors, but no second v4 scorer
/// was run here to rule out a difference in the crate's v4 lookup tables.
const WRONG_STATED_SCORES: [&str; 16] = [
    "CVE-2022-46647 intel CVSS:3.1/AV:L/AC:H/PR:L/UI:R/S:U/C:L/I:N/A:N",
    "CVE-2023-36860 intel CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:H/A:N",
    "CVE-2023-3932 GitLab CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:C/C:H/I:H/A:N",
    "CVE-2023-44154 Acronis CVSS:3.0/AV:N/AC:L/PR:L/UI:R/S:U/C:L/I:N/A:N",
    "CVE-2024-0095 nvidia CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:H/I:L/A:H",
    "CVE-2024-20275 cisco CVSS:3.1/AV:N/AC:L/PR:H/UI:R/S:U/C:H/I:H/A:N",
    "CVE-2024-20848 SamsungMobile CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L",
    "CVE-2024-24552 NCSC.ch CVSS:4.0/AV:N/AC:H/AT:P/PR:H/UI:A/VC:L/VI:H/VA:N/SC:N/SI:N/SA:N",
    "CVE-2024-28568 CISA-ADP CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
    "CVE-2024-28575 CISA-ADP CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
    "CVE-2024-36989 Splunk CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:H/A:N",
    "CVE-2024-36995 Splunk CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
    "CVE-2024-36997 Splunk CVSS:3.1/AV:N/AC:L/PR:H/UI:R/S:C/C:H/I:H/A:N",
    "CVE-2024-38863 Checkmk CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:N/VI:N/VA:N/SC:L/SI:N/SA:N",
    "CVE-2024-46902 trendmicro CVSS:3.1/AV:A/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H",
    "CVE-2024-8642 eclipse CVSS:4.0/AV:N/AC:L/AT:P/PR:H/UI:N/VC:N/VI:N/VA:N/SC:H/SI:H/SA:N/RE:L/U:Green",
];
