//! Composer package advisories of the FriendsOfPHP security-advisories
//! repository: a tar archive of `VENDOR/PACKAGE/ID.yaml` files, each with
//! `reference: composer://VENDOR/PACKAGE` and one version range per
//! maintained branch (`versions: ['>=4.9.0', '<4.9.5']`).

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;
use vulnloop_advisory::{AppAdvisory, Severity};
use vulnloop_inventory::AppEcosystem;

use crate::app_constraint::parse_range;
use crate::input::for_each_entry;
use crate::skipped::Skipped;
use crate::{FeedError, FeedKind, FeedSummary};

#[derive(Deserialize)]
struct Record {
    title: Option<String>,
    link: Option<String>,
    cve: Option<String>,
    reference: String,
    branches: BTreeMap<String, Branch>,
}

#[derive(Deserialize)]
struct Branch {
    time: Option<serde_yaml::Value>,
    versions: Vec<String>,
}

/// Reads the archive (or one YAML file) and hands each advisory to `sink`.
pub(crate) fn parse(
    reader: Box<dyn Read + '_>,
    name: &str,
    tar: bool,
    sink: &mut dyn FnMut(AppAdvisory),
) -> Result<FeedSummary, FeedError> {
    let mut skipped = Skipped::default();
    let mut records = 0;
    let mut snapshot: Option<String> = None;
    let mut visit = |path: &str, bytes: Vec<u8>| -> Result<(), FeedError> {
        let location = format!("{name}!{path}");
        let record: Record = serde_yaml::from_slice(&bytes).map_err(|error| {
            let line = error.location().map_or(0, |location| location.line());
            FeedError::not_feed(
                &location,
                "FriendsOfPHP advisory YAML",
                format!("line {line}: {error}"),
            )
        })?;
        let id = path
            .trim_end_matches(".yaml")
            .trim_end_matches(".yml")
            .to_string();
        match advisory(record, id.clone()) {
            Ok(advisory) => {
                if let Some(modified) = &advisory.modified {
                    if snapshot.as_ref().is_none_or(|newest| modified > newest) {
                        snapshot = Some(modified.clone());
                    }
                }
                records += 1;
                sink(advisory);
            }
            Err(reason) => skipped.add(reason, &id),
        }
        Ok(())
    };
    if tar {
        let wanted = |path: &str| {
            (path.ends_with(".yaml") || path.ends_with(".yml")) && path.matches('/').count() >= 2
        };
        for_each_entry(reader, name, wanted, |path, bytes| {
            // The archive may hold the repository folder first (`security-advisories/VENDOR/PACKAGE/ID.yaml`).
            visit(path, bytes)
        })?;
    } else {
        let bytes = crate::input::read_all(reader, name)?;
        visit(crate::input::base_name(name), bytes)?;
    }
    Ok(FeedSummary {
        kind: FeedKind::FriendsOfPhp,
        snapshot,
        records,
        skipped: skipped.into_lines(),
    })
}

fn advisory(record: Record, id: String) -> Result<AppAdvisory, String> {
    let Some(package) = record.reference.strip_prefix("composer://") else {
        return Err(format!(
            "reference {:?} is not composer://VENDOR/PACKAGE",
            record.reference
        ));
    };
    let mut ranges = Vec::new();
    let mut modified: Option<String> = None;
    for branch in record.branches.values() {
        ranges.push(parse_range(branch.versions.iter().map(String::as_str))?);
        // The time is a YAML timestamp (`2020-01-18 22:13:03`) or a string; keep the date.
        let time = match &branch.time {
            Some(serde_yaml::Value::String(text)) => Some(text.clone()),
            Some(serde_yaml::Value::Number(number)) => Some(number.to_string()),
            _ => None,
        };
        if let Some(date) = time.and_then(|t| t.get(..10).map(str::to_string)) {
            if modified.as_ref().is_none_or(|newest| &date > newest) {
                modified = Some(date);
            }
        }
    }
    if ranges.is_empty() {
        return Err("no branches".to_string());
    }
    let cves = record
        .cve
        .filter(|cve| cve.starts_with("CVE-"))
        .into_iter()
        .collect();
    Ok(AppAdvisory {
        source: FeedKind::FriendsOfPhp.source_name().to_string(),
        id,
        cves,
        title: record.title,
        severity: Severity::Unknown,
        severity_raw: None,
        url: record.link,
        modified,
        ecosystem: AppEcosystem::Packagist,
        package: package.to_string(),
        ranges,
    })
}
