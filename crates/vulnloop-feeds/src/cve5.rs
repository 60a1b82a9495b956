//! CVE JSON 5 records (the CVE Record Format of the CVE Program), in three
//! layouts chosen by the file name:
//!
//! - JSON Lines (`.jsonl`, compressed or not), one record per line, read
//!   line by line;
//! - a single record (`CVE-2024-3094.json`);
//! - a tar archive of record files, such as a cvelistV5 download, whose
//!   `CVE-*.json` entries are read and other entries (`delta.json`) passed over.
//!
//! Each published record gives a [`CveRecord`] with source `cve5`: id
//! `cveMetadata.cveId`, dates `datePublished` and `dateUpdated`, and from
//! the CNA container the English description, `problemTypes[].descriptions[].cweId`,
//! `references[].url` and the `cvssV2_0`, `cvssV3_0`, `cvssV3_1` and
//! `cvssV4_0` vectors of `metrics[]`, scored by the container's
//! `providerMetadata.shortName`. ADP containers (CISA's "CISA ADP
//! Vulnrichment", the CVE Program's own) add their CWE ids, references and
//! vectors the same way, so a CVE can carry both the CNA's and CISA's score.
//!
//! Records in state `REJECTED` are skipped and counted. In JSON Lines, a
//! line that is not valid JSON fails the file with its line number, while a
//! valid JSON line that is not a CVE record is skipped and counted. The
//! snapshot is the newest `dateUpdated`.
//!
//! [`CveRecord`]: vulnloop_advisory::CveRecord

use std::io::{BufRead, BufReader, Read};

use serde::Deserialize;
use serde_json::error::Category;
use vulnloop_advisory::CvssVersion;

use crate::enrichment::{is_cve_id, CveBuilder, Output};
use crate::input;
use crate::{FeedError, FeedKind};

const EXPECTED: &str = "CVE JSON 5";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord {
    cve_metadata: RawMetadata,
    #[serde(default)]
    containers: RawContainers,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetadata {
    cve_id: String,
    state: Option<String>,
    date_published: Option<String>,
    date_updated: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawContainers {
    cna: Option<RawContainer>,
    #[serde(default)]
    adp: Vec<RawContainer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawContainer {
    provider_metadata: Option<RawProvider>,
    #[serde(default)]
    descriptions: Vec<RawDescription>,
    #[serde(default)]
    problem_types: Vec<RawProblemType>,
    #[serde(default)]
    references: Vec<RawReference>,
    #[serde(default)]
    metrics: Vec<RawMetric>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProvider {
    short_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawDescription {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Deserialize)]
struct RawProblemType {
    #[serde(default)]
    descriptions: Vec<RawProblemDescription>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProblemDescription {
    cwe_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawReference {
    #[serde(default)]
    url: String,
}

#[derive(Debug, Deserialize)]
struct RawMetric {
    #[serde(rename = "cvssV2_0")]
    v2_0: Option<RawCvssData>,
    #[serde(rename = "cvssV3_0")]
    v3_0: Option<RawCvssData>,
    #[serde(rename = "cvssV3_1")]
    v3_1: Option<RawCvssData>,
    #[serde(rename = "cvssV4_0")]
    v4_0: Option<RawCvssData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCvssData {
    vector_string: Option<String>,
}

/// Reads one CVE JSON 5 file in the layout its name gives and returns the snapshot.
pub(crate) fn parse(
    reader: Box<dyn Read + '_>,
    name: &str,
    tar: bool,
    output: &mut Output<'_>,
) -> Result<Option<String>, FeedError> {
    let mut newest = Newest::default();
    let lower = name.to_ascii_lowercase();
    let (_, inner) = input::split_compression(&lower);
    if tar {
        parse_archive(reader, name, output, &mut newest)?;
    } else if inner.ends_with(".jsonl") || inner.ends_with(".ndjson") {
        parse_lines(reader, name, output, &mut newest)?;
    } else {
        let json = input::read_all(reader, name)?;
        let record: RawRecord = serde_json::from_slice(&json)
            .map_err(|error| FeedError::json(name, EXPECTED, error))?;
        convert(record, output, &mut newest);
    }
    Ok(newest.0)
}

/// The newest `dateUpdated` seen.
#[derive(Default)]
struct Newest(Option<String>);

impl Newest {
    fn offer(&mut self, date: Option<&str>) {
        if let Some(date) = date {
            if self.0.as_deref().is_none_or(|newest| date > newest) {
                self.0 = Some(date.to_string());
            }
        }
    }
}

fn parse_lines(
    reader: Box<dyn Read + '_>,
    name: &str,
    output: &mut Output<'_>,
    newest: &mut Newest,
) -> Result<(), FeedError> {
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|error| FeedError::read(name, error))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<RawRecord>(&line) {
            Ok(record) => convert(record, output, newest),
            Err(error) if error.classify() == Category::Data => {
                output.skipped.add(
                    format!("line is not a CVE JSON 5 record: {error}"),
                    &format!("line {number}"),
                );
            }
            Err(error) => {
                // serde_json counts lines within the one line it was given.
                let mut failure = FeedError::json(name, EXPECTED, error);
                if let FeedError::Json { line, .. } = &mut failure {
                    *line = number;
                }
                return Err(failure);
            }
        }
    }
}

fn parse_archive(
    reader: Box<dyn Read + '_>,
    name: &str,
    output: &mut Output<'_>,
    newest: &mut Newest,
) -> Result<(), FeedError> {
    let mut records = 0;
    input::for_each_entry(reader, name, is_record_entry, |path, json| {
        records += 1;
        match serde_json::from_slice::<RawRecord>(&json) {
            Ok(record) => convert(record, output, newest),
            Err(error) => {
                let entry = format!("{name}: {path}");
                output
                    .skipped
                    .add(FeedError::json(&entry, EXPECTED, error).to_string(), path);
            }
        }
        Ok(())
    })?;
    if records == 0 {
        return Err(FeedError::not_feed(
            name,
            "an archive of CVE JSON 5 records",
            "the archive holds no CVE-*.json file",
        ));
    }
    Ok(())
}

/// Returns whether an archive entry is a record file (`cves/2024/3xxx/CVE-2024-3094.json`).
fn is_record_entry(path: &str) -> bool {
    input::is_json_entry(path) && input::base_name(path).starts_with("CVE-")
}

fn convert(record: RawRecord, output: &mut Output<'_>, newest: &mut Newest) {
    let metadata = record.cve_metadata;
    if !is_cve_id(&metadata.cve_id) {
        output
            .skipped
            .add("record without a valid CVE id", &metadata.cve_id);
        return;
    }
    if metadata.state.as_deref() == Some("REJECTED") {
        output.skipped.add("rejected CVE", &metadata.cve_id);
        return;
    }
    newest.offer(metadata.date_updated.as_deref());

    let mut builder = CveBuilder::new(metadata.cve_id, FeedKind::Cve5);
    builder.dates(metadata.date_published, metadata.date_updated);
    let containers = record.containers.cna.iter().chain(&record.containers.adp);
    for container in containers {
        add_container(&mut builder, container, output);
    }
    output.emit(builder.build());
}

/// Adds one container's description (the CNA's comes first), CWE ids, references and vectors.
fn add_container(builder: &mut CveBuilder, container: &RawContainer, output: &mut Output<'_>) {
    builder.description(
        container
            .descriptions
            .iter()
            .map(|text| (text.lang.as_str(), text.value.as_str())),
    );
    let cwes = container
        .problem_types
        .iter()
        .flat_map(|problem| &problem.descriptions);
    for cwe in cwes.filter_map(|description| description.cwe_id.as_deref()) {
        builder.cwe(cwe);
    }
    for reference in &container.references {
        builder.reference(&reference.url);
    }

    let scored_by = container
        .provider_metadata
        .as_ref()
        .and_then(|provider| provider.short_name.as_deref())
        .unwrap_or("unknown");
    for metric in &container.metrics {
        let versions = [
            (CvssVersion::V2, &metric.v2_0),
            (CvssVersion::V3_0, &metric.v3_0),
            (CvssVersion::V3_1, &metric.v3_1),
            (CvssVersion::V4_0, &metric.v4_0),
        ];
        for (declared, data) in versions {
            let Some(vector) = data.as_ref().and_then(|data| data.vector_string.as_deref()) else {
                continue;
            };
            builder.cvss(declared, vector, scored_by, &mut output.skipped);
        }
    }
}
