//! Alpine secdb JSON: one file per branch and repository (`v3.21/main.json`),
//! alone or in a tar archive of several.
//!
//! A file lists, per origin (source) package, a `secfixes` map from the first
//! fixed `apk` version to the vulnerabilities it fixes. The parser writes one
//! advisory per vulnerability id and file, with one entry per package:
//!
//! - `distroversion` `v3.21` gives the release key `alpine:3.21`, and `edge`
//!   gives `alpine:edge`.
//! - A version key gives [`Status::Fixed`]. The key `0` means that the
//!   package was never affected in this branch and gives [`Status::NotAffected`].
//! - The repository (`main`, `community`) is kept in the entry's note,
//!   together with any extra ids written after the first one
//!   (`CVE-2021-27219 GHSL-2021-045`).
//!
//! The advisory id is the first id of the secfix line (a CVE id, or an
//! `XSA-…`, `GHSA-…` id when there is no CVE). The same id appears once per
//! file, so an archive of all branches gives one advisory per branch and
//! repository. The feed has no dates, severities or titles.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;
use vulnloop_advisory::{Advisory, Affected, Ecosystem, PackageKind, Status};

use crate::input;
use crate::skipped::Skipped;
use crate::{FeedError, FeedKind, FeedSummary};

const EXPECTED: &str = "Alpine secdb JSON";

#[derive(Debug, Deserialize)]
struct RawSecdb {
    distroversion: String,
    reponame: Option<String>,
    #[serde(default)]
    packages: Vec<RawPackageEntry>,
}

#[derive(Debug, Deserialize)]
struct RawPackageEntry {
    pkg: RawPackage,
}

#[derive(Debug, Deserialize)]
struct RawPackage {
    name: String,
    #[serde(default)]
    secfixes: Option<BTreeMap<String, Option<Vec<Option<String>>>>>,
}

/// Parses one secdb JSON file, or every `.json` entry of a tar archive of them.
///
/// In an archive, an entry that is not valid secdb JSON is skipped and listed;
/// a single file that is not one is an error.
pub(crate) fn parse(
    reader: Box<dyn Read>,
    name: &str,
    tar: bool,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    let mut records = 0;
    let mut skipped = Skipped::default();
    let mut emit = |advisory: Advisory| {
        records += 1;
        sink(advisory);
    };

    if tar {
        let mut json_entries = 0;
        input::for_each_entry(reader, name, input::is_json_entry, |path, json| {
            json_entries += 1;
            let entry_name = format!("{name}: {path}");
            match parse_document(&json, &entry_name, &mut skipped) {
                Ok(advisories) => advisories.into_iter().for_each(&mut emit),
                Err(error) => skipped.add(error.to_string(), path),
            }
            Ok(())
        })?;
        if json_entries == 0 {
            return Err(FeedError::not_feed(
                name,
                "an archive of Alpine secdb JSON files",
                "the archive contains no .json file",
            ));
        }
    } else {
        let json = input::read_all(reader, name)?;
        parse_document(&json, name, &mut skipped)?
            .into_iter()
            .for_each(&mut emit);
    }
    Ok(FeedSummary {
        kind: FeedKind::AlpineSecdb,
        snapshot: None,
        records,
        skipped: skipped.into_lines(),
    })
}

/// Reads one branch file into advisories, sorted by id.
fn parse_document(
    json: &[u8],
    name: &str,
    skipped: &mut Skipped,
) -> Result<Vec<Advisory>, FeedError> {
    let raw: RawSecdb =
        serde_json::from_slice(json).map_err(|error| FeedError::json(name, EXPECTED, error))?;
    let ecosystem = ecosystem(&raw.distroversion).ok_or_else(|| {
        let found = format!("distroversion {:?} is not vX.Y or edge", raw.distroversion);
        FeedError::not_feed(name, EXPECTED, found)
    })?;
    let repository = raw.reponame.as_deref().unwrap_or("unknown");

    let mut advisories: BTreeMap<String, Advisory> = BTreeMap::new();
    for entry in &raw.packages {
        let package = &entry.pkg;
        let secfixes = package.secfixes.iter().flatten();
        for (version, ids) in secfixes {
            let Some(status) = status(version) else {
                skipped.add(format!("invalid fixed version {version:?}"), &package.name);
                continue;
            };
            for line in ids.iter().flatten().flatten() {
                let mut words = line.split_whitespace();
                let Some(id) = words.next() else { continue };
                let extra: Vec<&str> = words.collect();
                let advisory = advisories
                    .entry(id.to_string())
                    .or_insert_with(|| new_advisory(id));
                advisory.affected.push(Affected {
                    ecosystem: ecosystem.clone(),
                    package: package.name.clone(),
                    kind: PackageKind::Source,
                    status: status.clone(),
                    channel: None,
                    note: Some(note(repository, &extra)),
                });
            }
        }
    }
    Ok(advisories.into_values().collect())
}

fn new_advisory(id: &str) -> Advisory {
    let mut advisory = Advisory::new(id, FeedKind::AlpineSecdb.source_name());
    if id.starts_with("CVE-") {
        advisory.cves.push(id.to_string());
    }
    advisory
}

/// Maps `v3.21` to `alpine:3.21` and `edge` to `alpine:edge`.
fn ecosystem(distroversion: &str) -> Option<Ecosystem> {
    let version = distroversion.trim();
    if version == "edge" {
        return Some(Ecosystem::new("alpine", "edge"));
    }
    let release = version.strip_prefix('v').unwrap_or(version);
    let (major, minor) = release.split_once('.')?;
    let numeric = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    (numeric(major) && numeric(minor)).then(|| Ecosystem::new("alpine", release))
}

/// Reads a secfix key: `0` for never affected, otherwise the first fixed version.
fn status(version: &str) -> Option<Status> {
    let version = version.trim();
    if version == "0" {
        return Some(Status::NotAffected);
    }
    // apk versions start with a digit; the feed also has keys without the
    // `-rN` suffix (`1.2.6`), which apk reads as release 0.
    let valid =
        version.starts_with(|c: char| c.is_ascii_digit()) && !version.contains(char::is_whitespace);
    valid.then(|| Status::Fixed {
        fixed: version.to_string(),
    })
}

fn note(repository: &str, extra: &[&str]) -> String {
    match extra {
        [] => format!("repository {repository}"),
        _ => format!("repository {repository}; also {}", extra.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_map_to_release_keys() {
        let key = |text| ecosystem(text).map(|e| e.to_string());
        assert_eq!(key("v3.21").as_deref(), Some("alpine:3.21"));
        assert_eq!(key("edge").as_deref(), Some("alpine:edge"));
        assert_eq!(key("3.2").as_deref(), Some("alpine:3.2"));
        assert_eq!(key("latest"), None);
    }

    #[test]
    fn zero_key_means_not_affected() {
        assert_eq!(status("0"), Some(Status::NotAffected));
        assert_eq!(
            status("1.1.1k-r0"),
            Some(Status::Fixed {
                fixed: "1.1.1k-r0".into()
            })
        );
        assert_eq!(status("bad version"), None);
    }
}
