//! OSV records of application ecosystems (npm, PyPI, Maven, Packagist),
//! as GitHub's advisory database (GHSA) and osv.dev publish them: one JSON
//! file, or a tar archive of them.
//!
//! Each `ECOSYSTEM` or `SEMVER` range is a list of events read in order:
//! `introduced` opens a range, `fixed` closes it before that version and
//! `last_affected` closes it at that version. `GIT` ranges name commits,
//! not versions, and are skipped. Without ranges, the `versions` list
//! gives the affected versions one by one.

use std::io::Read;

use serde::Deserialize;
use vulnloop_advisory::{AppAdvisory, Bound, Operator, Severity, VersionRange};
use vulnloop_inventory::AppEcosystem;

use crate::input::{for_each_entry, is_json_entry, read_all};
use crate::skipped::Skipped;
use crate::{FeedError, FeedKind, FeedSummary};

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    summary: Option<String>,
    modified: Option<String>,
    #[serde(default)]
    affected: Vec<Affected>,
    database_specific: Option<serde_json::Value>,
    #[serde(default)]
    references: Vec<Reference>,
}

#[derive(Deserialize)]
struct Affected {
    package: Option<Package>,
    #[serde(default)]
    ranges: Vec<Range>,
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct Package {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct Range {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct Reference {
    url: String,
}

/// Reads one OSV JSON file or a tar archive of them.
pub(crate) fn parse(
    reader: Box<dyn Read + '_>,
    name: &str,
    tar: bool,
    sink: &mut dyn FnMut(AppAdvisory),
) -> Result<FeedSummary, FeedError> {
    let mut skipped = Skipped::default();
    let mut records = 0;
    let mut snapshot: Option<String> = None;
    let mut visit = |location: &str, bytes: Vec<u8>| -> Result<(), FeedError> {
        let record: Record = serde_json::from_slice(&bytes)
            .map_err(|error| FeedError::json(location, "OSV JSON", error))?;
        if let Some(modified) = &record.modified {
            if snapshot.as_ref().is_none_or(|newest| modified > newest) {
                snapshot = Some(modified.clone());
            }
        }
        for advisory in advisories(&record, &mut skipped) {
            records += 1;
            sink(advisory);
        }
        Ok(())
    };
    if tar {
        for_each_entry(reader, name, is_json_entry, |path, bytes| {
            visit(&format!("{name}!{path}"), bytes)
        })?;
    } else {
        visit(name, read_all(reader, name)?)?;
    }
    Ok(FeedSummary {
        kind: FeedKind::OsvApplication,
        snapshot,
        records,
        skipped: skipped.into_lines(),
    })
}

fn advisories(record: &Record, skipped: &mut Skipped) -> Vec<AppAdvisory> {
    let cves: Vec<String> = std::iter::once(&record.id)
        .chain(&record.aliases)
        .filter(|id| id.starts_with("CVE-"))
        .cloned()
        .collect();
    let severity_raw = record
        .database_specific
        .as_ref()
        .and_then(|specific| specific.get("severity"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    let mut out = Vec::new();
    for affected in &record.affected {
        let Some(package) = &affected.package else {
            continue;
        };
        let ecosystem = match package.ecosystem.as_str() {
            "npm" => AppEcosystem::Npm,
            "PyPI" => AppEcosystem::Pypi,
            "Maven" => AppEcosystem::Maven,
            "Packagist" => AppEcosystem::Packagist,
            other => {
                skipped.add(
                    format!("ecosystem {other:?} is not an application ecosystem"),
                    &record.id,
                );
                continue;
            }
        };
        let mut ranges: Vec<VersionRange> = Vec::new();
        for range in affected.ranges.iter().filter(|range| range.kind != "GIT") {
            ranges.extend(event_ranges(&range.events));
        }
        if affected.ranges.is_empty() {
            ranges.extend(affected.versions.iter().map(|version| VersionRange {
                bounds: vec![Bound {
                    operator: Operator::Equal,
                    version: version.clone(),
                }],
            }));
        }
        if ranges.is_empty() {
            skipped.add("no version ranges or versions", &record.id);
            continue;
        }
        // PyPI names compare in PEP 503 form, as the detector writes them.
        let name = match ecosystem {
            AppEcosystem::Pypi => package.name.to_ascii_lowercase().replace(['_', '.'], "-"),
            _ => package.name.clone(),
        };
        out.push(AppAdvisory {
            source: FeedKind::OsvApplication.source_name().to_string(),
            id: record.id.clone(),
            cves: cves.clone(),
            title: record.summary.clone(),
            severity: severity_raw
                .as_deref()
                .map(|raw| Severity::from_vendor(&raw.to_ascii_lowercase()))
                .unwrap_or(Severity::Unknown),
            severity_raw: severity_raw.clone(),
            url: record
                .references
                .first()
                .map(|reference| reference.url.clone()),
            modified: record.modified.clone(),
            ecosystem,
            package: name,
            ranges,
        });
    }
    out
}

fn event_ranges(events: &[serde_json::Map<String, serde_json::Value>]) -> Vec<VersionRange> {
    let mut ranges = Vec::new();
    let mut open: Option<VersionRange> = None;
    for event in events {
        for (key, value) in event {
            let Some(version) = value.as_str() else {
                continue;
            };
            let bound = |operator| Bound {
                operator,
                version: version.to_string(),
            };
            match key.as_str() {
                "introduced" => {
                    let bounds = if version == "0" {
                        Vec::new()
                    } else {
                        vec![bound(Operator::GreaterOrEqual)]
                    };
                    open = Some(VersionRange { bounds });
                }
                "fixed" | "last_affected" => {
                    let operator = if key == "fixed" {
                        Operator::Less
                    } else {
                        Operator::LessOrEqual
                    };
                    let mut range = open.take().unwrap_or_default();
                    range.bounds.push(bound(operator));
                    ranges.push(range);
                }
                _ => {}
            }
        }
    }
    ranges.extend(open);
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ghsa_record_ranges() {
        let json = r#"{"id": "GHSA-jfh8-c2jp-5v3q", "aliases": ["CVE-2021-44228"], "summary": "Remote code injection in Log4j",
            "modified": "2024-01-01T00:00:00Z", "database_specific": {"severity": "CRITICAL"},
            "affected": [{"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.13.0"}, {"fixed": "2.15.0"}]},
                         {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.3.1"}]}]},
              {"package": {"ecosystem": "Go", "name": "x"}, "ranges": []}]}"#;
        let mut found = Vec::new();
        let summary = parse(Box::new(json.as_bytes()), "ghsa.json", false, &mut |a| {
            found.push(a)
        })
        .unwrap();
        assert_eq!(summary.records, 1);
        assert_eq!(summary.skipped.len(), 1);
        let advisory = &found[0];
        assert_eq!(advisory.cves, ["CVE-2021-44228"]);
        assert_eq!(advisory.severity, Severity::Critical);
        assert_eq!(advisory.ranges.len(), 2);
        assert_eq!(advisory.ranges[0].to_string(), ">= 2.13.0, < 2.15.0");
        assert_eq!(advisory.ranges[1].to_string(), "< 2.3.1");
    }
}
