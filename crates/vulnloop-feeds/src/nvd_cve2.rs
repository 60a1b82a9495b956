//! NVD CVE API 2.0 responses and the NVD 2.0 feed files
//! (`nvdcve-2.0-YYYY.json.gz`), which share one shape:
//! `{"format": "NVD_CVE", "vulnerabilities": [{"cve": {…}}, …]}`.
//!
//! The `vulnerabilities` array is streamed one record at a time. Each
//! record gives a [`CveRecord`] with source `nvd`:
//!
//! - `cve.id`, dates `published` and `lastModified`;
//! - the English entry of `descriptions`;
//! - CWE ids from `weaknesses[].description[]`, without NVD's placeholders;
//! - `references[].url`, without duplicates;
//! - every vector of `metrics.cvssMetricV2`, `cvssMetricV30`,
//!   `cvssMetricV31` and `cvssMetricV40`, scored by the metric's `source`
//!   (`nvd@nist.gov` or a CNA's contact address).
//!
//! Records with `vulnStatus` `Rejected` are skipped and counted. The
//! snapshot is the response's `timestamp`.
//!
//! [`CveRecord`]: vulnloop_advisory::CveRecord

use std::io::Read;

use serde::Deserialize;
use vulnloop_advisory::CvssVersion;

use crate::enrichment::{is_cve_id, CveBuilder, Output};
use crate::json_stream::{self, Layout};
use crate::{FeedError, FeedKind};

const LAYOUT: Layout = Layout {
    expected: "NVD CVE 2.0 JSON",
    array_key: "vulnerabilities",
    header_keys: &["timestamp", "format"],
};

#[derive(Debug, Deserialize)]
struct RawVulnerability {
    cve: RawCve,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCve {
    id: Option<String>,
    published: Option<String>,
    last_modified: Option<String>,
    vuln_status: Option<String>,
    #[serde(default)]
    descriptions: Vec<RawLangValue>,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    weaknesses: Vec<RawWeakness>,
    #[serde(default)]
    references: Vec<RawReference>,
}

#[derive(Debug, Deserialize)]
struct RawLangValue {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Default, Deserialize)]
struct RawMetrics {
    #[serde(default, rename = "cvssMetricV2")]
    v2: Vec<RawMetric>,
    #[serde(default, rename = "cvssMetricV30")]
    v3_0: Vec<RawMetric>,
    #[serde(default, rename = "cvssMetricV31")]
    v3_1: Vec<RawMetric>,
    #[serde(default, rename = "cvssMetricV40")]
    v4_0: Vec<RawMetric>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetric {
    source: Option<String>,
    cvss_data: RawCvssData,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCvssData {
    vector_string: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawWeakness {
    #[serde(default)]
    description: Vec<RawLangValue>,
}

#[derive(Debug, Deserialize)]
struct RawReference {
    #[serde(default)]
    url: String,
}

/// Streams the records of one NVD 2.0 document and returns the snapshot time.
pub(crate) fn parse(
    reader: Box<dyn Read + '_>,
    name: &str,
    output: &mut Output<'_>,
) -> Result<Option<String>, FeedError> {
    let header = json_stream::stream_records(reader, name, &LAYOUT, |record: RawVulnerability| {
        convert(record.cve, output);
    })?;
    if let Some(format) = header.get("format").filter(|format| *format != "NVD_CVE") {
        return Err(FeedError::not_feed(
            name,
            LAYOUT.expected,
            format!("the format field is {format:?}, not \"NVD_CVE\""),
        ));
    }
    Ok(header.get("timestamp").cloned())
}

fn convert(cve: RawCve, output: &mut Output<'_>) {
    let Some(id) = cve.id.filter(|id| is_cve_id(id)) else {
        output
            .skipped
            .add("record without a valid CVE id", "cve.id");
        return;
    };
    if cve.vuln_status.as_deref() == Some("Rejected") {
        output.skipped.add("rejected CVE", &id);
        return;
    }

    let mut builder = CveBuilder::new(id, FeedKind::NvdCve2);
    builder.dates(cve.published, cve.last_modified);
    builder.description(
        cve.descriptions
            .iter()
            .map(|text| (text.lang.as_str(), text.value.as_str())),
    );
    for weakness in cve
        .weaknesses
        .iter()
        .flat_map(|weakness| &weakness.description)
    {
        builder.cwe(&weakness.value);
    }
    for reference in &cve.references {
        builder.reference(&reference.url);
    }

    let metrics = [
        (CvssVersion::V2, &cve.metrics.v2),
        (CvssVersion::V3_0, &cve.metrics.v3_0),
        (CvssVersion::V3_1, &cve.metrics.v3_1),
        (CvssVersion::V4_0, &cve.metrics.v4_0),
    ];
    for (declared, list) in metrics {
        for metric in list {
            let Some(vector) = metric.cvss_data.vector_string.as_deref() else {
                continue;
            };
            let scored_by = metric.source.as_deref().unwrap_or("unknown");
            builder.cvss(declared, vector, scored_by, &mut output.skipped);
        }
    }
    output.emit(builder.build());
}
