use serde::Serialize;
use vulnloop_advisory::{PackageKind, Severity};
use vulnloop_inventory::PackageManager;

/// Matcher output for one host.
#[derive(Debug, Clone, Serialize)]
pub struct MatchReport {
    /// Findings sorted by package name, then vulnerability id.
    pub findings: Vec<Finding>,
    /// Scope of the verdicts and what they could not cover.
    pub coverage: Coverage,
}

/// One vulnerability of one installed package.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Vulnerability id: the CVE for per-CVE records, else the advisory id.
    pub id: String,
    /// Advisory record that decided the verdict.
    pub advisory_id: String,
    /// Feed of that record.
    pub source: String,
    /// CVE ids the record covers.
    pub cves: Vec<String>,
    /// Title or summary from the advisory.
    pub title: Option<String>,
    /// Vendor severity.
    pub severity: Severity,
    /// Severity as the vendor spelled it.
    pub severity_raw: Option<String>,
    /// Link to the vendor's page.
    pub url: Option<String>,
    /// When the advisory was published, as the vendor dates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Package the advisory names (source or binary).
    pub package: String,
    /// Whether `package` is a source or a binary package.
    pub package_kind: PackageKind,
    /// Package manager that installed it.
    pub manager: PackageManager,
    /// Installed version that was compared.
    pub installed_version: String,
    /// Installed binary packages built from `package` (or `package` itself for binary advisories).
    pub binaries: Vec<InstalledBinary>,
    /// The verdict.
    pub status: FindingStatus,
    /// Vendor wording that explains the status.
    pub note: Option<String>,
    /// Package location and the comparison that decided the verdict.
    pub evidence: Evidence,
    /// The Microsoft update that fixes a Windows finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows_update: Option<WindowsUpdate>,
}

/// A Microsoft update (a KB) that fixes a Windows finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowsUpdate {
    /// KB article id (`KB5034127`).
    pub kb: String,
    /// Whether it is a cumulative update (MSRC sub-type `Security Update` on
    /// Windows 10 and later, or `Monthly Rollup`), which contains every earlier one.
    pub cumulative: bool,
    /// Release date of the MSRC document that lists it (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released: Option<String>,
    /// Build the update brings (`10.0.17763.5329`), when MSRC states it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_build: Option<String>,
    /// Whether installing it requires a restart, when MSRC states it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_required: Option<bool>,
    /// Download page (the Microsoft Update Catalog search for the KB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Finding {
    /// The fixed version, when the vendor has one.
    pub fn fixed_version(&self) -> Option<&str> {
        match &self.status {
            FindingStatus::FixAvailable { fixed } | FindingStatus::FixedRebootPending { fixed } => {
                Some(fixed)
            }
            _ => None,
        }
    }

    /// Returns whether a package upgrade available from the vendor fixes the finding.
    pub fn has_fix(&self) -> bool {
        matches!(self.status, FindingStatus::FixAvailable { .. })
    }
}

/// An installed binary package that a finding touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledBinary {
    pub name: String,
    pub version: String,
    pub arch: Option<String>,
    /// Package database location (`/var/lib/dpkg/status:1234`).
    pub origin: String,
}

/// The verdict for one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FindingStatus {
    /// The installed version is older than the vendor's fixed version.
    FixAvailable { fixed: String },
    /// Affected, and the vendor has no fix yet.
    NoFixYet,
    /// Affected, and the vendor will not fix it.
    WillNotFix,
    /// Affected, and the vendor postponed the fix.
    Postponed,
    /// The package has no security support in this release.
    Unsupported,
    /// The running kernel is affected, but a fixed kernel is installed: reboot into it.
    FixedRebootPending { fixed: String },
    /// The data cannot tell whether the fix is installed, for the stated reason.
    Undetermined { reason: String },
}

impl FindingStatus {
    /// Returns the snake_case name used in output.
    pub fn as_str(&self) -> &'static str {
        match self {
            FindingStatus::FixAvailable { .. } => "fix_available",
            FindingStatus::NoFixYet => "no_fix_yet",
            FindingStatus::WillNotFix => "will_not_fix",
            FindingStatus::Postponed => "postponed",
            FindingStatus::Unsupported => "unsupported",
            FindingStatus::FixedRebootPending { .. } => "fixed_reboot_pending",
            FindingStatus::Undetermined { .. } => "undetermined",
        }
    }

    /// Returns whether the vendor has not released a fix (`--ignore-unfixed` hides these).
    pub fn is_unfixed(&self) -> bool {
        matches!(
            self,
            FindingStatus::NoFixYet | FindingStatus::WillNotFix | FindingStatus::Postponed
        )
    }
}

/// Evidence behind a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Package database entries the installed version was read from.
    pub found_in: Vec<String>,
    /// Advisory record: source, id and last modification or snapshot date.
    pub record: String,
    /// The comparison that decided, such as
    /// `installed 3.0.19-1~deb12u2 < fixed 3.0.22-1~deb12u1 (dpkg ordering)`.
    pub comparison: String,
    /// Records of other feeds about the same vulnerability that were outranked.
    pub other_records: Vec<String>,
}

/// Scope of the verdicts of a match.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Release key the host was matched under (`debian:12`).
    pub ecosystem: String,
    /// Feeds that hold advisories for that release.
    pub sources: Vec<String>,
    /// Number of packages compared.
    pub packages: usize,
    /// Whether every package could be judged against vendor data.
    pub complete: bool,
    /// Statements about what was not covered, or covered with a caveat.
    pub notes: Vec<CoverageNote>,
}

/// One statement about coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageNote {
    /// Whether this note makes the result incomplete (exit code 2).
    pub incomplete: bool,
    /// The statement, in a sentence.
    pub message: String,
}
