//! OSV JSON records (one JSON object per advisory), alone or in a tar archive.
//!
//! The Debian, Ubuntu, AlmaLinux, Rocky Linux, SUSE and openSUSE ecosystems
//! are read. Debian
//! and Ubuntu package names are source packages:
//!
//! - `Debian:12` gives `debian:12`. Old releases keep OSV's spelling
//!   (`Debian:6.0` gives `debian:6.0`).
//! - `Ubuntu:22.04:LTS` and `Ubuntu:24.10` give `ubuntu:22.04` and
//!   `ubuntu:24.10`. `Ubuntu:Pro:18.04:LTS` gives `ubuntu:18.04` in the
//!   channel `esm`; a named Pro flavour such as `Ubuntu:Pro:FIPS-updates:20.04:LTS`
//!   gives that flavour in lowercase (`fips-updates`) as the channel.
//!   Entries marked "Livepatch subscription required" (LSN records) get
//!   the channel `livepatch`, because their fix is a livepatch rather than
//!   the package version.
//!
//! AlmaLinux and Rocky Linux records name binary packages with RPM EVRs:
//!
//! - `AlmaLinux:9` gives `almalinux:9` and `Rocky Linux:8` gives `rocky:8`.
//! - Their records carry no severity field, so the severity is the word
//!   before the first colon of the summary (`Important: openssl security update`).
//! - They carry no module field either. When a fixed version is a module
//!   build (its release contains `module`), the channel is
//!   `module:NAME:STREAM` from the first `NAME:STREAM` word of the summary
//!   (`Important: nodejs:20 security update`).
//!
//! SUSE records name a source package per product and list the binary
//! packages of the update, with their versions, under
//! `ecosystem_specific.binaries`. Each binary becomes a
//! [`PackageKind::Binary`] entry fixed at its version. A record without that
//! list keeps the source name as a source entry. Products map as follows:
//!
//! - `SUSE:Linux Enterprise Server 15 SP5` gives `sles:15.5` and a release
//!   without a service pack (`… 12`) gives `sles:12`. `Server for SAP
//!   Applications` gives `sles_sap`, `Desktop` gives `sled`, and the
//!   `Module for …` repositories of a release give `sles`.
//! - `SUSE:Package Hub 15 SP5` gives `sles:15.5` in the channel
//!   `package-hub`, because Package Hub is a community repository.
//! - `openSUSE:Leap 15.5` gives `opensuse-leap:15.5`.
//! - Other products (Software Development Kit, Workstation Extension, Micro,
//!   Tumbleweed) are skipped and counted.
//!
//! Affected entries of other ecosystems are skipped and counted, so the same
//! parser can serve other distributions later.
//!
//! An `ECOSYSTEM` range gives [`Status::Fixed`] for each `fixed` event and
//! [`Status::Affected`] when it has none. The model has no lower bound, so an
//! `introduced` other than `0` is kept in the note.

use std::io::Read;

use serde::Deserialize;
use serde_json::Value;
use vulnloop_advisory::{Advisory, Affected, PackageKind, Severity, Status};

use crate::input;
use crate::osv_ecosystem::placement;
use crate::skipped::Skipped;
use crate::{dpkg, rpm, FeedError, FeedKind, FeedSummary};

const EXPECTED: &str = "OSV JSON";

/// Keys under `ecosystem_specific` and `database_specific` that carry a vendor severity word.
const SEVERITY_KEYS: [&str; 4] = ["urgency", "ubuntu_priority", "priority", "severity"];

#[derive(Debug, Deserialize)]
struct RawRecord {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
    #[serde(default)]
    upstream: Vec<String>,
    summary: Option<String>,
    published: Option<String>,
    modified: Option<String>,
    withdrawn: Option<String>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    #[serde(default)]
    references: Vec<RawReference>,
    #[serde(default)]
    affected: Vec<RawAffected>,
    database_specific: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Debug, Deserialize)]
struct RawReference {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

#[derive(Debug, Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Vec<RawRange>,
    #[serde(default)]
    versions: Vec<String>,
    ecosystem_specific: Option<Value>,
    database_specific: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<RawEvent>,
}

#[derive(Debug, Deserialize)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
}

/// Parses one OSV JSON file, or every `.json` entry of a tar archive of them.
///
/// Other archive entries (a README, host files) are passed over silently. An
/// entry that is not a valid OSV record is skipped and listed, while a single
/// JSON file that is not one is an error.
pub(crate) fn parse(
    reader: Box<dyn Read>,
    name: &str,
    tar: bool,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    let mut output = Output {
        sink,
        records: 0,
        newest: None,
        skipped: Skipped::default(),
    };
    if tar {
        parse_archive(reader, name, &mut output)?;
    } else {
        let json = input::read_all(reader, name)?;
        let record = parse_record(&json, name, &mut output.skipped)?;
        output.emit(record);
    }
    Ok(FeedSummary {
        kind: FeedKind::Osv,
        snapshot: output.newest,
        records: output.records,
        skipped: output.skipped.into_lines(),
    })
}

fn parse_archive(
    reader: Box<dyn Read>,
    name: &str,
    output: &mut Output<'_>,
) -> Result<(), FeedError> {
    let mut json_entries = 0;
    input::for_each_entry(reader, name, input::is_json_entry, |path, json| {
        json_entries += 1;
        let entry_name = format!("{name}: {path}");
        match parse_record(&json, &entry_name, &mut output.skipped) {
            Ok(record) => output.emit(record),
            Err(error) => output.skipped.add(error.to_string(), path),
        }
        Ok(())
    })?;
    if json_entries == 0 {
        return Err(FeedError::not_feed(
            name,
            "an archive of OSV JSON files",
            "the archive holds no .json file",
        ));
    }
    Ok(())
}

/// Destination of parsed records, with the counts for the summary.
struct Output<'a> {
    sink: &'a mut dyn FnMut(Advisory),
    records: usize,
    /// The newest `modified` date seen, as the snapshot date.
    newest: Option<String>,
    skipped: Skipped,
}

impl Output<'_> {
    fn emit(&mut self, record: Option<Advisory>) {
        let Some(advisory) = record else { return };
        if let Some(modified) = &advisory.modified {
            let newer = match &self.newest {
                Some(newest) => modified > newest,
                None => true,
            };
            if newer {
                self.newest = Some(modified.clone());
            }
        }
        self.records += 1;
        (self.sink)(advisory);
    }
}

/// Reads one OSV JSON document; `name` names it in errors.
///
/// Returns `None` when there is nothing to store: the record is withdrawn or
/// names only ecosystems that are not read (the reasons go to `skipped`).
pub(crate) fn parse_record(
    json: &[u8],
    name: &str,
    skipped: &mut Skipped,
) -> Result<Option<Advisory>, FeedError> {
    let raw: RawRecord =
        serde_json::from_slice(json).map_err(|error| FeedError::json(name, EXPECTED, error))?;
    if raw.withdrawn.is_some() {
        skipped.add("withdrawn record", &raw.id);
        return Ok(None);
    }

    let mut advisory = Advisory::new(raw.id.clone(), crate::FeedKind::Osv.source_name());
    advisory.title = raw
        .summary
        .clone()
        .filter(|summary| !summary.trim().is_empty());
    advisory.published = raw.published.clone();
    advisory.modified = raw.modified.clone();
    advisory.url = advisory_url(&raw.references);
    advisory.cves = cve_ids(&raw);
    advisory.normalize();
    (advisory.severity, advisory.severity_raw) = severity(&raw);

    if raw.affected.is_empty() {
        skipped.add("record lists no affected package", &raw.id);
    }
    for entry in &raw.affected {
        match affected_entries(entry, raw.summary.as_deref().unwrap_or("")) {
            Ok(entries) => push_new(&mut advisory.affected, entries),
            Err(reason) => skipped.add(reason, &raw.id),
        }
    }
    if advisory.affected.is_empty() {
        return Ok(None);
    }
    Ok(Some(advisory))
}

/// Appends the entries not already present; SUSE repeats one product's
/// binary list in each of its source packages' entries.
fn push_new(affected: &mut Vec<Affected>, entries: Vec<Affected>) {
    for entry in entries {
        if !affected.contains(&entry) {
            affected.push(entry);
        }
    }
}

/// Collects CVE ids from the id, `aliases`, `related` and `upstream`.
fn cve_ids(raw: &RawRecord) -> Vec<String> {
    let ids = std::iter::once(&raw.id)
        .chain(&raw.aliases)
        .chain(&raw.related)
        .chain(&raw.upstream);
    ids.filter(|id| id.starts_with("CVE-")).cloned().collect()
}

/// Returns the first `ADVISORY` reference, or the first reference of any type.
fn advisory_url(references: &[RawReference]) -> Option<String> {
    let advisory = references
        .iter()
        .find(|reference| reference.kind == "ADVISORY");
    advisory
        .or(references.first())
        .map(|reference| reference.url.clone())
}

/// Picks the highest vendor severity word found in the record.
fn severity(raw: &RawRecord) -> (Severity, Option<String>) {
    let mut words: Vec<&str> = raw
        .severity
        .iter()
        .filter(|severity| severity.kind == "Ubuntu")
        .map(|severity| severity.score.as_str())
        .collect();
    let specifics = raw
        .affected
        .iter()
        .flat_map(|entry| [&entry.ecosystem_specific, &entry.database_specific]);
    for specific in specifics.chain([&raw.database_specific]).flatten() {
        words.extend(
            SEVERITY_KEYS
                .iter()
                .filter_map(|key| specific.get(key)?.as_str()),
        );
    }
    let highest = words
        .into_iter()
        .max_by_key(|word| Severity::from_vendor(word));
    match highest {
        Some(word) => (Severity::from_vendor(word), Some(word.to_string())),
        None => summary_severity(raw.summary.as_deref()),
    }
}

/// Reads a Red Hat-style severity prefix of a summary, such as `Moderate` in
/// `Moderate: thunderbird security update`.
fn summary_severity(summary: Option<&str>) -> (Severity, Option<String>) {
    let word = summary
        .and_then(|summary| summary.split_once(':'))
        .map(|(word, _)| word.trim());
    match word.map(|word| (Severity::from_vendor(word), word)) {
        Some((severity, word)) if severity != Severity::Unknown => {
            (severity, Some(word.to_string()))
        }
        _ => (Severity::Unknown, None),
    }
}

/// Returns the first `NAME:STREAM` word of a summary after its severity
/// prefix, as the channel `module:NAME:STREAM`.
///
/// NOTE: a summary that names two modules (`virt:rhel and virt-devel:rhel`)
/// gives every module build of the record the first one.
fn summary_module(summary: &str) -> Option<String> {
    let rest = match summary.split_once(": ") {
        Some((prefix, rest))
            if summary_severity(Some(summary)).0 != Severity::Unknown && !prefix.contains(' ') =>
        {
            rest
        }
        _ => summary,
    };
    rest.split_whitespace().find_map(|word| {
        let (name, stream) = word.split_once(':')?;
        let valid = |part: &str| !part.is_empty() && !part.contains(':');
        (valid(name) && valid(stream)).then(|| format!("module:{name}:{stream}"))
    })
}

/// Reads one affected entry into zero or more model entries.
fn affected_entries(entry: &RawAffected, summary: &str) -> Result<Vec<Affected>, String> {
    let package = entry
        .package
        .as_ref()
        .ok_or("affected entry without a package")?;
    let Some(placement) = placement(&package.ecosystem) else {
        return Err(format!("ecosystem {} is not read", package.ecosystem));
    };
    let channel = livepatch_channel(entry).or(placement.channel.clone());
    let base = Affected {
        ecosystem: placement.ecosystem,
        package: package.name.clone(),
        kind: placement.kind,
        status: Status::Affected,
        channel,
        note: None,
    };

    if placement.kind == PackageKind::Binary {
        if let Some(binaries) = suse_binaries(entry) {
            return binaries
                .into_iter()
                .map(|(name, version)| {
                    let fixed = rpm::fixed_version(&version)
                        .map_err(|reason| format!("{name}: {reason}"))?;
                    Ok(Affected {
                        package: name,
                        status: Status::Fixed { fixed },
                        ..base.clone()
                    })
                })
                .collect();
        }
    }
    let ranges: Vec<&RawRange> = entry
        .ranges
        .iter()
        .filter(|range| range.kind == "ECOSYSTEM")
        .collect();
    if ranges.is_empty() {
        return match entry.versions.is_empty() {
            // No range and no version list: the whole package is affected.
            true => Ok(vec![base]),
            false => Err(format!(
                "{} lists affected versions without an ECOSYSTEM range, which is not read",
                package.name
            )),
        };
    }
    let mut entries = Vec::new();
    for range in ranges {
        entries.extend(range_entries(range, &base, summary)?);
    }
    Ok(entries)
}

/// Turns one `ECOSYSTEM` range into entries: one per `fixed` event, or one affected entry.
fn range_entries(
    range: &RawRange,
    base: &Affected,
    summary: &str,
) -> Result<Vec<Affected>, String> {
    let mut entries = Vec::new();
    let mut introduced: Option<&str> = None;
    for event in &range.events {
        if let Some(version) = &event.introduced {
            introduced = Some(version);
        }
        if let Some(version) = &event.last_affected {
            return Err(format!(
                "{} has a last_affected bound {version}, which is not read",
                base.package
            ));
        }
        if let Some(version) = &event.fixed {
            let fixed = fixed_version(base, version)?;
            let mut entry = entry_with(base, Status::Fixed { fixed }, introduced.take());
            if base.kind == PackageKind::Binary && version.contains("module") {
                entry.channel = summary_module(summary);
            }
            entries.push(entry);
        }
    }
    if let Some(version) = introduced {
        entries.push(entry_with(base, Status::Affected, Some(version)));
    }
    Ok(entries)
}

/// Checks a fixed version by the ordering of the entry's release (dpkg or RPM).
fn fixed_version(base: &Affected, version: &str) -> Result<String, String> {
    let checked = match base.kind {
        PackageKind::Binary => rpm::fixed_version(version),
        PackageKind::Source => dpkg::fixed_version(version),
    };
    checked.map_err(|reason| format!("{}: {reason}", base.package))
}

fn entry_with(base: &Affected, status: Status, introduced: Option<&str>) -> Affected {
    let note = introduced
        .filter(|version| *version != "0")
        .map(|version| format!("introduced in {version}"));
    Affected {
        status,
        note,
        ..base.clone()
    }
}

/// Reads SUSE's `ecosystem_specific.binaries`: a list of maps from binary package to version.
fn suse_binaries(entry: &RawAffected) -> Option<Vec<(String, String)>> {
    let lists = entry
        .ecosystem_specific
        .as_ref()?
        .get("binaries")?
        .as_array()?;
    let mut binaries = Vec::new();
    for list in lists {
        for (name, version) in list.as_object()? {
            binaries.push((name.clone(), version.as_str()?.to_string()));
        }
    }
    Some(binaries)
}

/// Returns `livepatch` for entries whose fix needs a Livepatch subscription.
fn livepatch_channel(entry: &RawAffected) -> Option<String> {
    let availability = entry
        .ecosystem_specific
        .as_ref()?
        .get("availability")?
        .as_str()?;
    availability
        .contains("Livepatch")
        .then(|| "livepatch".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_module_stream() {
        let module = summary_module("Important: nodejs:20 security update");
        assert_eq!(module.as_deref(), Some("module:nodejs:20"));
        let first = summary_module("Moderate: virt:rhel and virt-devel:rhel security update");
        assert_eq!(first.as_deref(), Some("module:virt:rhel"));
        assert_eq!(
            summary_module("idm:DL1 bug fix update").as_deref(),
            Some("module:idm:DL1")
        );
        assert_eq!(summary_module("Important: openssl security update"), None);
    }

    #[test]
    fn range_with_two_fixes_gives_two_entries() {
        let json = br#"{"id":"X-1","affected":[{"package":{"ecosystem":"Debian:12","name":"p"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-1"},
            {"introduced":"2.0-1"},{"fixed":"2.0-2"}]}]}]}"#;
        let mut skipped = Skipped::default();
        let record = parse_record(json, "x.json", &mut skipped).ok();
        let Some(Some(advisory)) = record else {
            panic!("the record was not read");
        };
        assert_eq!(advisory.affected.len(), 2);
        assert_eq!(
            advisory.affected[1].status,
            Status::Fixed {
                fixed: "2.0-2".into()
            }
        );
        assert_eq!(
            advisory.affected[1].note.as_deref(),
            Some("introduced in 2.0-1")
        );
    }
}
