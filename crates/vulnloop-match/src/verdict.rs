//! Verdicts: one judged statement each, merged per vulnerability and
//! turned into findings with their evidence.

use std::rc::Rc;

use vulnloop_advisory::{Advisory, Status};
use vulnloop_inventory::{Package, PackageManager};
use vulnloop_version::Scheme;

use crate::finding::{Evidence, Finding, FindingStatus, InstalledBinary};
use crate::index::Candidate;

/// A judged statement, before statements from several feeds are merged.
///
/// Most statements clear the package, so a verdict borrows what it can from
/// the inventory and shares the rest: judging allocates nothing per statement.
pub(crate) struct Verdict<'a> {
    pub(crate) candidate: Candidate,
    /// Package group: the source or binary package name the statement was looked up by.
    pub(crate) group: &'a str,
    pub(crate) installed: &'a str,
    pub(crate) binaries: Rc<[&'a Package]>,
    pub(crate) outcome: Outcome<'a>,
    pub(crate) channel_note: Option<&'static str>,
    /// Ordering the comparison used, named in the evidence.
    pub(crate) scheme: Scheme,
}

/// Result of comparing one statement with the installed version.
pub(crate) enum Outcome<'a> {
    /// Older than the fixed version.
    Below,
    /// Older than the fixed version, but this fixed kernel image is installed.
    RebootPending(&'a Package),
    /// At or above the fixed version, or not affected.
    Cleared,
    /// Affected without a released fix, or unsupported: the vendor status decides.
    VendorStatus,
}

impl Outcome<'_> {
    pub(crate) fn is_finding(&self) -> bool {
        !matches!(self, Outcome::Cleared)
    }
}

impl<'a> Verdict<'a> {
    /// Returns the key under which statements are merged: package group,
    /// installed version and vulnerability id.
    pub(crate) fn key(&self) -> (&'a str, &'a str, &str) {
        (
            self.group,
            self.installed,
            vulnerability_id(&self.candidate.advisory),
        )
    }

    /// Describes the comparison or vendor status that decided the verdict.
    fn comparison(&self) -> String {
        let installed = self.installed;
        let scheme = self.scheme.name();
        match (&self.candidate.affected.status, &self.outcome) {
            (Status::Fixed { fixed }, Outcome::Below) => {
                format!("installed {installed} < fixed {fixed} ({scheme} ordering)")
            }
            (Status::Fixed { fixed }, Outcome::RebootPending(image)) => format!(
                "installed {installed} < fixed {fixed} ({scheme} ordering); installed kernel {} {} is fixed",
                image.name, image.version
            ),
            (Status::Fixed { fixed }, _) => format!("installed {installed} >= fixed {fixed} ({scheme} ordering)"),
            (Status::Affected, _) => "vendor status: affected, no fix released".into(),
            (Status::WillNotFix, _) => "vendor status: will not fix".into(),
            (Status::Postponed, _) => "vendor status: fix postponed".into(),
            (Status::NotAffected, _) => "vendor status: not affected".into(),
            (Status::Unsupported, _) => "vendor status: security support ended or limited".into(),
        }
    }

    /// Formats one line naming the record and its verdict, for other records' evidence.
    pub(crate) fn summary(&self) -> String {
        let advisory = &self.candidate.advisory;
        format!("{} {}: {}", advisory.source, advisory.id, self.comparison())
    }

    fn status(&self) -> Option<FindingStatus> {
        let fixed = self
            .candidate
            .affected
            .status
            .fixed_version()
            .map(String::from);
        Some(
            match (&self.candidate.affected.status, &self.outcome, fixed) {
                (_, Outcome::Cleared, _) => return None,
                (_, Outcome::Below, Some(fixed)) => FindingStatus::FixAvailable { fixed },
                (_, Outcome::RebootPending(_), Some(fixed)) => {
                    FindingStatus::FixedRebootPending { fixed }
                }
                (Status::WillNotFix, _, _) => FindingStatus::WillNotFix,
                (Status::Postponed, _, _) => FindingStatus::Postponed,
                (Status::Unsupported, _, _) => FindingStatus::Unsupported,
                _ => FindingStatus::NoFixYet,
            },
        )
    }

    /// Builds the reported finding; `snapshot` is the feed's snapshot date.
    pub(crate) fn into_finding(self, snapshot: &str) -> Finding {
        let status = self.status().unwrap_or(FindingStatus::NoFixYet);
        let comparison = self.comparison();
        let advisory = &self.candidate.advisory;
        let affected = &self.candidate.affected;
        Finding {
            id: vulnerability_id(advisory).to_string(),
            advisory_id: advisory.id.clone(),
            source: advisory.source.clone(),
            cves: advisory.cves.clone(),
            title: advisory.title.clone(),
            published: advisory.published.clone(),
            severity: advisory.severity,
            severity_raw: advisory.severity_raw.clone(),
            url: advisory.url.clone(),
            package: affected.package_display(self.group),
            package_kind: affected.kind,
            manager: self
                .binaries
                .first()
                .map_or(PackageManager::Dpkg, |p| p.manager),
            installed_version: self.installed.to_string(),
            binaries: self.binaries.iter().map(|p| installed_binary(p)).collect(),
            status,
            note: join_notes(affected.note.as_deref(), self.channel_note),
            evidence: Evidence {
                found_in: self.binaries.iter().map(|p| p.origin.clone()).collect(),
                record: record_text(advisory, snapshot),
                comparison,
                other_records: Vec::new(),
            },
            windows_update: None,
        }
    }
}

trait PackageDisplay {
    fn package_display(&self, group: &str) -> String;
}

impl PackageDisplay for vulnloop_advisory::Affected {
    /// Names the finding after the installed package, not a pattern like `golang.*`.
    fn package_display(&self, group: &str) -> String {
        if self.is_pattern() {
            group.to_string()
        } else {
            self.package.clone()
        }
    }
}

fn join_notes(vendor: Option<&str>, channel: Option<&str>) -> Option<String> {
    match (vendor, channel) {
        (Some(vendor), Some(channel)) => Some(format!("{vendor}; {channel}")),
        (vendor, channel) => vendor.or(channel).map(String::from),
    }
}

fn installed_binary(package: &Package) -> InstalledBinary {
    InstalledBinary {
        name: package.name.clone(),
        version: package.version.clone(),
        arch: package.arch.clone(),
        origin: package.origin.clone(),
    }
}

/// Returns the vulnerability id: the CVE of a per-CVE record, else the advisory id.
pub(crate) fn vulnerability_id(advisory: &Advisory) -> &str {
    match advisory.cves.as_slice() {
        [cve] if advisory.id.ends_with(cve.as_str()) => cve,
        _ => &advisory.id,
    }
}

fn record_text(advisory: &Advisory, snapshot: &str) -> String {
    let mut text = format!("{} {}", advisory.source, advisory.id);
    match (&advisory.modified, snapshot) {
        (Some(modified), _) => text.push_str(&format!(" (modified {modified})")),
        (None, "") => {}
        (None, snapshot) => text.push_str(&format!(" (feed snapshot {snapshot})")),
    }
    text
}
