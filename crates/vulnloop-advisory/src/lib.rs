//! The advisory model shared by feed parsers, the database and the matcher.
//!
//! An [`Advisory`] is one vendor record (a DSA, a USN, one CVE entry of a
//! tracker) with the packages it affects. Each [`Affected`] entry keeps the
//! vendor's own status for one package in one release, because a fixed
//! version alone cannot express "no fix yet" or "will not fix".

mod application;
mod ecosystem;
mod enrichment;
mod severity;
mod status;

pub use application::{AppAdvisory, Bound, Operator, VersionRange};
pub use ecosystem::Ecosystem;
pub use enrichment::{CveFacts, CveRecord, Cvss, CvssVersion, Enrichment, EpssScore, KevEntry};
pub use severity::Severity;
pub use status::Status;

use serde::{Deserialize, Serialize};

/// Prefix of the `package` of an Ubuntu OVAL running-kernel check.
///
/// The rest is the regular expression that the running kernel's release
/// (`uname -r`, such as `5.15.0-1005-raspi`) must match, for example
/// `5.15.0-\d+(-raspi|-raspi-nolpae)`. The fixed version (`5.15.0-1006`) is
/// compared with the release's version part (`5.15.0-1005`) in dpkg order.
pub const RUNNING_KERNEL_PREFIX: &str = "running-kernel:";

/// Prefix of the `package` of an Ubuntu OVAL livepatch check (LSN advisories).
///
/// The rest is a regular expression over loaded module names in
/// `/proc/modules`, whose capture group is the livepatch level. The fixed
/// version is the first level that carries the fix.
pub const LIVEPATCH_MODULE_PREFIX: &str = "livepatch-module:";

/// One vendor advisory record with the packages it affects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// Vendor identifier: `DSA-5380-1`, `USN-6564-1`, or a CVE id for per-CVE feeds.
    pub id: String,
    /// Feed the record was read from, such as `debian-oval` or `osv`.
    pub source: String,
    /// CVE ids the record covers, sorted and without duplicates.
    pub cves: Vec<String>,
    /// Short title or summary as the vendor wrote it.
    pub title: Option<String>,
    /// Vendor severity for its own packages.
    pub severity: Severity,
    /// Severity as the vendor spelled it (`unimportant`, `not yet assigned`).
    pub severity_raw: Option<String>,
    /// Publication date (RFC 3339 or `YYYY-MM-DD`), when the feed gives one.
    pub published: Option<String>,
    /// Last modification date (RFC 3339 or `YYYY-MM-DD`), when the feed gives one.
    pub modified: Option<String>,
    /// Link to the vendor's page for the record.
    pub url: Option<String>,
    /// Packages the record speaks about, with their status.
    pub affected: Vec<Affected>,
}

impl Advisory {
    /// Creates a record with no CVEs, metadata or affected packages yet.
    pub fn new(id: impl Into<String>, source: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            source: source.into(),
            cves: Vec::new(),
            title: None,
            severity: Severity::Unknown,
            severity_raw: None,
            published: None,
            modified: None,
            url: None,
            affected: Vec::new(),
        }
    }

    /// Sorts the CVE list and removes duplicates.
    pub fn normalize(&mut self) {
        self.cves.sort();
        self.cves.dedup();
    }
}

/// Kind of package name an advisory uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    /// A source package (Debian, Ubuntu and Alpine advisories).
    Source,
    /// A binary package (Ubuntu USN OVAL, Red Hat-family advisories).
    Binary,
}

impl PackageKind {
    /// Returns the lowercase name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageKind::Source => "source",
            PackageKind::Binary => "binary",
        }
    }

    /// Parses the name written by [`PackageKind::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "source" => Some(PackageKind::Source),
            "binary" => Some(PackageKind::Binary),
            _ => None,
        }
    }
}

/// The status of one package in one release, as an advisory states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// Release the statement is for, such as `debian:12`.
    pub ecosystem: Ecosystem,
    /// Package name as the vendor writes it.
    pub package: String,
    /// Whether `package` names a source or a binary package.
    pub kind: PackageKind,
    /// The vendor's verdict, with the fixed version when there is one.
    pub status: Status,
    /// Channel the statement is limited to (`esm`, a module stream), if any.
    pub channel: Option<String>,
    /// Vendor wording that explains the status (`Minor issue`, `no-dsa`).
    pub note: Option<String>,
}

impl Affected {
    /// Returns whether `package` is a pattern rather than one package's name.
    ///
    /// Patterns are Debian security-support families (`golang.*`, matched as a
    /// name prefix) and Ubuntu kernel checks ([`RUNNING_KERNEL_PREFIX`],
    /// [`LIVEPATCH_MODULE_PREFIX`]). The database stores them apart from the
    /// name index because a lookup by name cannot find them.
    pub fn is_pattern(&self) -> bool {
        self.package.ends_with(".*")
            || self.package.starts_with(RUNNING_KERNEL_PREFIX)
            || self.package.starts_with(LIVEPATCH_MODULE_PREFIX)
    }
}
