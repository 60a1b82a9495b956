//! NVD JSON 1.1 feeds: the yearly `nvdcve-1.1-YYYY.json.gz` files, the
//! `-modified` and `-recent` files and their `.json.zip` form.
//!
//! The `CVE_Items` array is streamed one item at a time, because a yearly
//! file is 20 to 70 MB of JSON. Each item gives a [`CveRecord`] with source
//! `nvd`:
//!
//! - id `cve.CVE_data_meta.ID`, dates `publishedDate` and `lastModifiedDate`;
//! - the English text of `cve.description`;
//! - CWE ids from `cve.problemtype`, without `NVD-CWE-Other` and `NVD-CWE-noinfo`;
//! - reference URLs, without duplicates;
//! - the CVSS v3 and v2 vectors of `impact`, scored by `nvd@nist.gov`.
//!
//! Rejected CVEs (description `** REJECT **`) and items without a CVE id are
//! skipped and counted. The snapshot is `CVE_data_timestamp`.
//!
//! [`CveRecord`]: vulnloop_advisory::CveRecord

use std::io::Read;

use serde::Deserialize;
use vulnloop_advisory::CvssVersion;

use crate::enrichment::{is_cve_id, CveBuilder, Output};
use crate::json_stream::{self, Layout};
use crate::{FeedError, FeedKind};

/// The party NVD's own scores are attributed to.
pub(crate) const NVD_SCORER: &str = "nvd@nist.gov";

/// Prefix of the description NVD gives rejected CVEs.
pub(crate) const REJECTED_PREFIX: &str = "** REJECT **";

const LAYOUT: Layout = Layout {
    expected: "NVD JSON 1.1",
    array_key: "CVE_Items",
    header_keys: &["CVE_data_timestamp"],
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawItem {
    cve: RawCve,
    impact: Option<RawImpact>,
    published_date: Option<String>,
    last_modified_date: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawCve {
    #[serde(rename = "CVE_data_meta")]
    meta: RawMeta,
    problemtype: Option<RawProblemTypes>,
    references: Option<RawReferences>,
    description: Option<RawDescriptions>,
}

#[derive(Debug, Deserialize)]
struct RawMeta {
    #[serde(rename = "ID")]
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawProblemTypes {
    #[serde(default)]
    problemtype_data: Vec<RawDescriptions2>,
}

/// A `problemtype_data` entry, whose list is named `description`.
#[derive(Debug, Deserialize)]
struct RawDescriptions2 {
    #[serde(default)]
    description: Vec<RawLangValue>,
}

#[derive(Debug, Deserialize)]
struct RawDescriptions {
    #[serde(default)]
    description_data: Vec<RawLangValue>,
}

#[derive(Debug, Deserialize)]
struct RawLangValue {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Deserialize)]
struct RawReferences {
    #[serde(default)]
    reference_data: Vec<RawReference>,
}

#[derive(Debug, Deserialize)]
struct RawReference {
    #[serde(default)]
    url: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawImpact {
    base_metric_v3: Option<RawMetricV3>,
    base_metric_v2: Option<RawMetricV2>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetricV3 {
    cvss_v3: Option<RawCvssData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetricV2 {
    cvss_v2: Option<RawCvssData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCvssData {
    vector_string: Option<String>,
}

/// Streams the items of one NVD JSON 1.1 document and returns the snapshot time.
pub(crate) fn parse(
    reader: Box<dyn Read + '_>,
    name: &str,
    output: &mut Output<'_>,
) -> Result<Option<String>, FeedError> {
    let header = json_stream::stream_records(reader, name, &LAYOUT, |item: RawItem| {
        convert(item, output);
    })?;
    Ok(header.get("CVE_data_timestamp").cloned())
}

fn convert(item: RawItem, output: &mut Output<'_>) {
    let Some(id) = item.cve.meta.id.filter(|id| is_cve_id(id)) else {
        output
            .skipped
            .add("item without a valid CVE id", "CVE_data_meta.ID");
        return;
    };
    let descriptions = item
        .cve
        .description
        .map(|d| d.description_data)
        .unwrap_or_default();
    if descriptions
        .iter()
        .any(|text| text.value.starts_with(REJECTED_PREFIX))
    {
        output.skipped.add("rejected CVE", &id);
        return;
    }

    let mut builder = CveBuilder::new(id, FeedKind::NvdJson11);
    builder.dates(item.published_date, item.last_modified_date);
    builder.description(
        descriptions
            .iter()
            .map(|text| (text.lang.as_str(), text.value.as_str())),
    );
    let problem_types = item
        .cve
        .problemtype
        .map(|types| types.problemtype_data)
        .unwrap_or_default();
    for cwe in problem_types.iter().flat_map(|entry| &entry.description) {
        builder.cwe(&cwe.value);
    }
    let references = item
        .cve
        .references
        .map(|refs| refs.reference_data)
        .unwrap_or_default();
    for reference in &references {
        builder.reference(&reference.url);
    }

    let impact = item.impact;
    let v3 = impact
        .as_ref()
        .and_then(|impact| impact.base_metric_v3.as_ref()?.cvss_v3.as_ref());
    let v2 = impact
        .as_ref()
        .and_then(|impact| impact.base_metric_v2.as_ref()?.cvss_v2.as_ref());
    // A v3 vector names 3.0 or 3.1 in its prefix, so the declared version matters only without one.
    for (declared, data) in [(CvssVersion::V3_1, v3), (CvssVersion::V2, v2)] {
        if let Some(vector) = data.and_then(|data| data.vector_string.as_deref()) {
            builder.cvss(declared, vector, NVD_SCORER, &mut output.skipped);
        }
    }
    output.emit(builder.build());
}
