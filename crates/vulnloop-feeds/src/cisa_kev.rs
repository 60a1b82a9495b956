//! CISA's Known Exploited Vulnerabilities catalog
//! (`known_exploited_vulnerabilities.json`), one [`KevEntry`] per element of
//! `vulnerabilities`.
//!
//! `knownRansomwareCampaignUse` maps `Known` to `Some(true)` and `Unknown`
//! to `Some(false)`. Any other value, or none, gives `None`. An entry without
//! a CVE id or `dateAdded` is skipped and counted. The snapshot is
//! `dateReleased`, else `catalogVersion`.
//!
//! [`KevEntry`]: vulnloop_advisory::KevEntry

use std::io::Read;

use serde::Deserialize;
use vulnloop_advisory::{Enrichment, KevEntry};

use crate::enrichment::{is_cve_id, Output};
use crate::json_stream::{self, Layout};
use crate::FeedError;

const LAYOUT: Layout = Layout {
    expected: "CISA KEV JSON",
    array_key: "vulnerabilities",
    header_keys: &["dateReleased", "catalogVersion"],
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(rename = "cveID")]
    cve_id: Option<String>,
    vendor_project: Option<String>,
    product: Option<String>,
    vulnerability_name: Option<String>,
    date_added: Option<String>,
    due_date: Option<String>,
    known_ransomware_campaign_use: Option<String>,
    required_action: Option<String>,
}

/// Reads the catalog's entries and returns the release time or catalog version.
pub(crate) fn parse(
    reader: Box<dyn Read + '_>,
    name: &str,
    output: &mut Output<'_>,
) -> Result<Option<String>, FeedError> {
    let header = json_stream::stream_records(reader, name, &LAYOUT, |entry: RawEntry| {
        convert(entry, output);
    })?;
    let snapshot = header
        .get("dateReleased")
        .or_else(|| header.get("catalogVersion"));
    Ok(snapshot.cloned())
}

fn convert(entry: RawEntry, output: &mut Output<'_>) {
    let Some(cve) = entry.cve_id.filter(|id| is_cve_id(id)) else {
        output
            .skipped
            .add("entry without a valid cveID", "vulnerabilities[]");
        return;
    };
    let Some(date_added) = entry.date_added.filter(|date| !date.is_empty()) else {
        output.skipped.add("entry without dateAdded", &cve);
        return;
    };
    let known_ransomware_use = match entry.known_ransomware_campaign_use.as_deref() {
        Some("Known") => Some(true),
        Some("Unknown") => Some(false),
        _ => None,
    };
    output.emit(Enrichment::Kev(KevEntry {
        cve,
        vendor: entry.vendor_project,
        product: entry.product,
        name: entry.vulnerability_name,
        date_added,
        due_date: entry.due_date,
        known_ransomware_use,
        required_action: entry.required_action,
    }));
}
