//! Debian security tracker JSON (`https://security-tracker.debian.org/tracker/data/json`).
//!
//! The document maps source packages to issues (CVE or `TEMP-` ids), and each
//! issue to its releases: `{package: {id: {description, releases: {codename:
//! {status, fixed_version, urgency, nodsa, nodsa_reason}}}}}`. One advisory
//! is written per (issue, source package) with one entry per numbered
//! release. The document is grouped by package, so each advisory is
//! complete when its package's entry ends and none waits for the rest of
//! the file.
//!
//! Memory: the document (60 MB and more) is read as a stream. Only one issue
//! is held as a JSON value at a time, so a malformed issue can be skipped
//! without losing the rest of the file.
//!
//! Status mapping, per release:
//!
//! | tracker | status |
//! |---|---|
//! | `resolved`, `fixed_version` `0` | [`Status::NotAffected`] |
//! | `resolved`, a version | [`Status::Fixed`] |
//! | `open` or `undetermined`, urgency `end-of-life` | [`Status::Unsupported`] |
//! | `open`, `nodsa_reason` `ignored` | [`Status::WillNotFix`] |
//! | `open`, `nodsa_reason` `postponed` | [`Status::Postponed`] |
//! | `open` otherwise | [`Status::Affected`] |
//! | `undetermined` | [`Status::Affected`], note `undetermined` |
//!
//! The `nodsa` text goes into the note and the urgency into the severity.
//! Releases without a number (`sid`, `experimental`) are skipped and counted.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufReader, Read};

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use vulnloop_advisory::{Advisory, Affected, Ecosystem, PackageKind, Severity, Status};

use crate::skipped::Skipped;
use crate::{dpkg, FeedError, FeedKind, FeedSummary};

const EXPECTED: &str = "Debian security tracker JSON";

#[derive(Debug, Deserialize)]
struct RawIssue {
    description: Option<String>,
    #[serde(default)]
    releases: BTreeMap<String, RawRelease>,
}

#[derive(Debug, Deserialize)]
struct RawRelease {
    status: String,
    fixed_version: Option<String>,
    urgency: Option<String>,
    nodsa: Option<String>,
    nodsa_reason: Option<String>,
}

/// Parses the tracker document from a decompressed stream.
pub(crate) fn parse(
    reader: Box<dyn Read>,
    name: &str,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    let mut output = Output {
        sink,
        records: 0,
        skipped: Skipped::default(),
    };
    let mut deserializer = serde_json::Deserializer::from_reader(BufReader::new(reader));
    deserializer
        .deserialize_map(PackagesVisitor {
            output: &mut output,
        })
        .map_err(|error| FeedError::json(name, EXPECTED, error))?;
    deserializer
        .end()
        .map_err(|error| FeedError::json(name, EXPECTED, error))?;

    Ok(FeedSummary {
        kind: FeedKind::DebianTracker,
        // The document carries no generation date.
        snapshot: None,
        records: output.records,
        skipped: output.skipped.into_lines(),
    })
}

struct Output<'a> {
    sink: &'a mut dyn FnMut(Advisory),
    records: usize,
    skipped: Skipped,
}

impl Output<'_> {
    /// Converts one issue of one package and hands it to the sink.
    fn issue(&mut self, package: &str, id: &str, value: Value) {
        let label = format!("{id} {package}");
        let raw: RawIssue = match serde_json::from_value(value) {
            Ok(raw) => raw,
            Err(error) => {
                self.skipped
                    .add(format!("invalid issue entry: {error}"), &label);
                return;
            }
        };
        if raw.releases.is_empty() {
            self.skipped.add("issue lists no release", &label);
            return;
        }

        let mut advisory = Advisory::new(id, FeedKind::DebianTracker.source_name());
        advisory.title = raw
            .description
            .filter(|description| !description.trim().is_empty());
        advisory.url = Some(format!("https://security-tracker.debian.org/tracker/{id}"));
        if id.starts_with("CVE-") {
            advisory.cves.push(id.to_string());
        }
        (advisory.severity, advisory.severity_raw) = severity(&raw.releases);

        for (codename, release) in &raw.releases {
            match affected(package, codename, release) {
                Ok(entry) => advisory.affected.push(entry),
                Err(reason) => self.skipped.add(reason, &label),
            }
        }
        if !advisory.affected.is_empty() {
            self.records += 1;
            (self.sink)(advisory);
        }
    }
}

/// Picks the highest urgency among the releases.
fn severity(releases: &BTreeMap<String, RawRelease>) -> (Severity, Option<String>) {
    let urgencies = releases
        .values()
        .filter_map(|release| release.urgency.as_deref());
    match urgencies.max_by_key(|urgency| Severity::from_vendor(urgency)) {
        Some(urgency) => (Severity::from_vendor(urgency), Some(urgency.to_string())),
        None => (Severity::Unknown, None),
    }
}

fn affected(package: &str, codename: &str, release: &RawRelease) -> Result<Affected, String> {
    let Some(number) = vulnloop_platform::debian_release(codename) else {
        return Err(format!("release {codename} has no release number"));
    };
    let (status, note) = status(release)?;
    Ok(Affected {
        ecosystem: Ecosystem::new("debian", number),
        package: package.to_string(),
        kind: PackageKind::Source,
        status,
        channel: None,
        note,
    })
}

/// Maps one release entry by the table in the module documentation.
fn status(release: &RawRelease) -> Result<(Status, Option<String>), String> {
    let mut notes = Vec::new();
    if let Some(nodsa) = release.nodsa.as_deref().filter(|text| !text.is_empty()) {
        notes.push(format!("no-dsa: {nodsa}"));
    }
    let end_of_life = release.urgency.as_deref() == Some("end-of-life");

    let status = match release.status.as_str() {
        "resolved" => match release.fixed_version.as_deref() {
            Some("0") => Status::NotAffected,
            Some(version) => Status::Fixed {
                fixed: dpkg::fixed_version(version)?,
            },
            None => return Err("resolved release without a fixed_version".to_string()),
        },
        "open" | "undetermined" if end_of_life => {
            notes.push("end-of-life".to_string());
            Status::Unsupported
        }
        "open" => match release.nodsa_reason.as_deref() {
            Some("ignored") => Status::WillNotFix,
            Some("postponed") => Status::Postponed,
            _ => Status::Affected,
        },
        "undetermined" => {
            notes.push("undetermined".to_string());
            Status::Affected
        }
        other => return Err(format!("unknown release status {other:?}")),
    };
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    Ok((status, note))
}

/// Visits the top-level map of source packages.
struct PackagesVisitor<'a, 'b> {
    output: &'a mut Output<'b>,
}

impl<'de> Visitor<'de> for PackagesVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a map of source packages to their issues")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(package) = map.next_key::<String>()? {
            map.next_value_seed(IssuesVisitor {
                package: &package,
                output: self.output,
            })?;
        }
        Ok(())
    }
}

/// Visits one package's map of issue ids to issues.
struct IssuesVisitor<'a, 'b> {
    package: &'a str,
    output: &'a mut Output<'b>,
}

impl<'de> DeserializeSeed<'de> for IssuesVisitor<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for IssuesVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "a map of issue ids to issues for package {}",
            self.package
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(id) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            self.output.issue(self.package, &id, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(
        status: &str,
        fixed: Option<&str>,
        urgency: &str,
        reason: Option<&str>,
    ) -> RawRelease {
        RawRelease {
            status: status.to_string(),
            fixed_version: fixed.map(str::to_string),
            urgency: Some(urgency.to_string()),
            nodsa: reason.map(|_| "Minor issue".to_string()),
            nodsa_reason: reason.map(str::to_string),
        }
    }

    #[test]
    fn statuses_follow_the_table() {
        let cases = [
            (
                release("resolved", Some("0"), "low", None),
                Status::NotAffected,
            ),
            (
                release("resolved", Some("1.0-1"), "low", None),
                Status::Fixed {
                    fixed: "1.0-1".into(),
                },
            ),
            (
                release("open", None, "end-of-life", None),
                Status::Unsupported,
            ),
            (
                release("open", None, "low", Some("ignored")),
                Status::WillNotFix,
            ),
            (
                release("open", None, "low", Some("postponed")),
                Status::Postponed,
            ),
            (release("open", None, "low", None), Status::Affected),
            (release("undetermined", None, "low", None), Status::Affected),
        ];
        for (input, expected) in cases {
            assert_eq!(
                status(&input).map(|(status, _)| status),
                Ok(expected),
                "{input:?}"
            );
        }
    }

    #[test]
    fn notes_keep_nodsa_and_undetermined() {
        let ignored = status(&release("open", None, "low", Some("ignored")));
        assert_eq!(
            ignored.map(|(_, note)| note),
            Ok(Some("no-dsa: Minor issue".to_string()))
        );
        let undetermined = status(&release("undetermined", None, "low", None));
        assert_eq!(
            undetermined.map(|(_, note)| note),
            Ok(Some("undetermined".to_string()))
        );
    }
}
