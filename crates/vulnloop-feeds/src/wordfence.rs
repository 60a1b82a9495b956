//! WordPress core, plugin and theme vulnerabilities from Wordfence
//! Intelligence, as JSON Lines: one record per Wordfence id with
//! `software_type` (`core`, `plugin`, `theme`), the wordpress.org `slug`
//! and `affected_version_constraints`, a list of ranges each given as
//! constraints that must all hold (`[[">= 6.2", "< 6.2.1"]]`).

use std::io::{BufRead, BufReader, Read};

use serde::Deserialize;
use vulnloop_advisory::{AppAdvisory, Severity};
use vulnloop_inventory::AppEcosystem;

use crate::app_constraint::parse_range;
use crate::skipped::Skipped;
use crate::{FeedError, FeedKind, FeedSummary};

#[derive(Deserialize)]
struct Record {
    wordfence_id: String,
    cve: Option<String>,
    software_type: String,
    slug: String,
    title: Option<String>,
    severity: Option<String>,
    cvss_score: Option<f64>,
    affected_version_constraints: Vec<Vec<String>>,
}

/// Reads the JSON Lines and hands each record to `sink`.
pub(crate) fn parse(
    reader: Box<dyn Read + '_>,
    name: &str,
    sink: &mut dyn FnMut(AppAdvisory),
) -> Result<FeedSummary, FeedError> {
    let mut skipped = Skipped::default();
    let mut records = 0;
    for (index, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(|error| FeedError::read(name, error))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&line).map_err(|error| {
            let location = format!("{name} line {}", index + 1);
            FeedError::json(&location, "Wordfence JSON Lines", error)
        })?;
        match advisory(record) {
            Ok(advisory) => {
                records += 1;
                sink(advisory);
            }
            Err((reason, id)) => skipped.add(reason, &id),
        }
    }
    Ok(FeedSummary {
        kind: FeedKind::Wordfence,
        snapshot: None,
        records,
        skipped: skipped.into_lines(),
    })
}

fn advisory(record: Record) -> Result<AppAdvisory, (String, String)> {
    let ecosystem = match record.software_type.as_str() {
        "core" => AppEcosystem::WordpressCore,
        "plugin" => AppEcosystem::WordpressPlugin,
        "theme" => AppEcosystem::WordpressTheme,
        other => {
            return Err((
                format!("software_type {other:?} is not core, plugin or theme"),
                record.wordfence_id,
            ))
        }
    };
    let mut ranges = Vec::new();
    for constraints in &record.affected_version_constraints {
        let range = parse_range(constraints.iter().map(String::as_str))
            .map_err(|reason| (reason, record.wordfence_id.clone()))?;
        ranges.push(range);
    }
    if ranges.is_empty() {
        return Err((
            "no affected_version_constraints".to_string(),
            record.wordfence_id,
        ));
    }
    let severity_raw = record
        .cvss_score
        .map(|score| format!("CVSS {score}"))
        .or(record.severity.clone());
    Ok(AppAdvisory {
        source: FeedKind::Wordfence.source_name().to_string(),
        url: Some(format!(
            "https://www.wordfence.com/threat-intel/vulnerabilities/id/{}",
            record.wordfence_id
        )),
        id: record.wordfence_id,
        cves: record.cve.into_iter().collect(),
        title: record.title,
        severity: record
            .severity
            .as_deref()
            .map(Severity::from_vendor)
            .unwrap_or(Severity::Unknown),
        severity_raw,
        modified: None,
        ecosystem,
        package: record.slug,
        ranges,
    })
}
