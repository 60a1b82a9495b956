//! Web applications and bundled libraries × application advisories.
//!
//! Each application is compared in its ecosystem's ordering (PHP's
//! `version_compare` for WordPress and Composer, semver for npm, PEP 440
//! for PyPI, Maven's order for JARs) against every range of every
//! advisory about its name. An application whose version file belongs to
//! an OS package gets its findings with the status
//! [`AppFindingStatus::DistributionDecides`]: the distribution backports
//! fixes without changing the upstream version string, so only its own
//! advisories for that package can decide whether the host is vulnerable.

use std::cmp::Ordering;

use serde::Serialize;
use vulnloop_advisory::{AppAdvisory, Severity, VersionRange};
use vulnloop_inventory::{AppEcosystem, Application};
use vulnloop_version::Scheme;

use crate::finding::{CoverageNote, Evidence};

/// Read access to application advisories.
pub trait AppAdvisoryIndex {
    /// Error of the underlying store.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the advisories about `package` in `ecosystem`.
    fn app_advisories(
        &self,
        ecosystem: AppEcosystem,
        package: &str,
    ) -> Result<Vec<AppAdvisory>, Self::Error>;

    /// Returns whether any feed with advisories for `ecosystem` was imported.
    fn has_app_feed(&self, ecosystem: AppEcosystem) -> Result<bool, Self::Error>;
}

/// Application findings of one host and what they could not cover.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppMatchReport {
    /// Findings sorted by application path, then vulnerability id.
    pub findings: Vec<AppFinding>,
    /// Applications without advisories here, versions that could not be compared.
    pub notes: Vec<CoverageNote>,
}

/// One vulnerability of one web application or library.
#[derive(Debug, Clone, Serialize)]
pub struct AppFinding {
    /// The CVE, else the advisory id.
    pub id: String,
    pub advisory_id: String,
    pub source: String,
    pub cves: Vec<String>,
    pub title: Option<String>,
    pub severity: Severity,
    pub severity_raw: Option<String>,
    pub url: Option<String>,
    /// The application as the collector found it.
    pub application: Application,
    #[serde(flatten)]
    pub status: AppFindingStatus,
    /// The range of the advisory that contains the installed version.
    pub affected_range: String,
    pub evidence: Evidence,
}

impl AppFinding {
    /// Returns whether the host's owner should act on this finding itself,
    /// rather than through the OS package that owns the application.
    pub fn is_actionable(&self) -> bool {
        !matches!(self.status, AppFindingStatus::DistributionDecides { .. })
    }
}

/// Verdict for an application finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AppFindingStatus {
    /// The advisory names the first fixed version.
    FixAvailable { fixed: String },
    /// The advisory names only the last affected version: any newer release fixes it.
    FixedAfter { last_affected: String },
    /// The advisory names no fixed version.
    NoFixYet,
    /// The files belong to an OS package, whose distribution may have
    /// backported the fix: its advisories for that package decide, and the
    /// OS package finding, if any, is the one to fix.
    DistributionDecides {
        package: String,
        package_version: String,
    },
}

impl AppFindingStatus {
    /// Returns the snake_case name used in output.
    pub fn as_str(&self) -> &'static str {
        match self {
            AppFindingStatus::FixAvailable { .. } => "fix_available",
            AppFindingStatus::FixedAfter { .. } => "fixed_after",
            AppFindingStatus::NoFixYet => "no_fix_yet",
            AppFindingStatus::DistributionDecides { .. } => "distribution_decides",
        }
    }
}

/// Returns the version ordering of an application ecosystem, `None` for unmatched ones.
pub fn scheme_for_app(ecosystem: AppEcosystem) -> Option<Scheme> {
    match ecosystem {
        AppEcosystem::WordpressCore
        | AppEcosystem::WordpressPlugin
        | AppEcosystem::WordpressTheme
        | AppEcosystem::Packagist => Some(Scheme::Php),
        AppEcosystem::Npm => Some(Scheme::Semver),
        AppEcosystem::Pypi => Some(Scheme::Pep440),
        AppEcosystem::Maven => Some(Scheme::Maven),
        AppEcosystem::Unmatched => None,
    }
}

/// Matches every application of the inventory.
pub fn match_applications<I: AppAdvisoryIndex>(
    applications: &[Application],
    index: &I,
) -> Result<AppMatchReport, I::Error> {
    let mut report = AppMatchReport::default();
    let mut missing_feeds = std::collections::BTreeSet::new();
    for application in applications {
        let Some(scheme) = scheme_for_app(application.ecosystem) else {
            report.notes.push(CoverageNote {
                incomplete: false,
                message: format!(
                    "{} {} at {} was found, but no advisory feed here covers it, so it was not checked",
                    application.name, application.version, application.path
                ),
            });
            continue;
        };
        if !index.has_app_feed(application.ecosystem)? {
            missing_feeds.insert(application.ecosystem);
            continue;
        }
        for advisory in index.app_advisories(application.ecosystem, &application.name)? {
            match judge(application, &advisory, scheme) {
                Ok(Some(finding)) => report.findings.push(finding),
                Ok(None) => {}
                Err(error) => report.notes.push(CoverageNote {
                    incomplete: true,
                    message: format!(
                        "{} at {}: {error}; advisory {} was not checked",
                        application.name, application.path, advisory.id
                    ),
                }),
            }
        }
    }
    for ecosystem in missing_feeds {
        report.notes.push(CoverageNote {
            incomplete: true,
            message: format!(
                "applications of the {} ecosystem were found, but the database holds no advisories for it; \
                 add its feed to `vulnloop db update`",
                ecosystem.as_str()
            ),
        });
    }
    report
        .findings
        .sort_by(|a, b| (&a.application.path, &a.id).cmp(&(&b.application.path, &b.id)));
    Ok(report)
}

/// Judges one advisory: `Ok(None)` when the installed version is in none of its ranges.
fn judge(
    application: &Application,
    advisory: &AppAdvisory,
    scheme: Scheme,
) -> Result<Option<AppFinding>, vulnloop_version::VersionError> {
    let compare = |a: &str, b: &str| scheme.compare(a, b);
    let mut matched: Option<&VersionRange> = None;
    for range in &advisory.ranges {
        if range.contains(&application.version, compare)? {
            matched = Some(range);
            break;
        }
    }
    let Some(range) = matched else {
        return Ok(None);
    };

    let upstream_status = match (range.fixed(), range.last_affected()) {
        (Some(fixed), _) => AppFindingStatus::FixAvailable {
            fixed: fixed.to_string(),
        },
        (None, Some(last)) => AppFindingStatus::FixedAfter {
            last_affected: last.to_string(),
        },
        (None, None) => AppFindingStatus::NoFixYet,
    };
    let comparison = comparison(&application.version, range, &upstream_status, scheme);
    let status = match &application.owner {
        Some(owner) => AppFindingStatus::DistributionDecides {
            package: owner.name.clone(),
            package_version: owner.version.clone(),
        },
        None => upstream_status,
    };
    let record = match &advisory.modified {
        Some(modified) => format!("{} {} (modified {modified})", advisory.source, advisory.id),
        None => format!("{} {}", advisory.source, advisory.id),
    };
    let found_in = vec![application.path.clone()];
    Ok(Some(AppFinding {
        id: advisory
            .cves
            .first()
            .cloned()
            .unwrap_or_else(|| advisory.id.clone()),
        advisory_id: advisory.id.clone(),
        source: advisory.source.clone(),
        cves: advisory.cves.clone(),
        title: advisory.title.clone(),
        severity: advisory.severity,
        severity_raw: advisory.severity_raw.clone(),
        url: advisory.url.clone(),
        application: application.clone(),
        status,
        affected_range: range.to_string(),
        evidence: Evidence {
            found_in,
            record,
            comparison,
            other_records: Vec::new(),
        },
    }))
}

fn comparison(
    installed: &str,
    range: &VersionRange,
    status: &AppFindingStatus,
    scheme: Scheme,
) -> String {
    let ordering = scheme.name();
    match status {
        AppFindingStatus::FixAvailable { fixed } => {
            format!("installed {installed} < fixed {fixed} ({ordering} ordering)")
        }
        AppFindingStatus::FixedAfter { last_affected } => {
            format!("installed {installed} <= last affected {last_affected} ({ordering} ordering)")
        }
        _ => format!("installed {installed} in {range} ({ordering} ordering)"),
    }
}

/// Orders versions in `ecosystem`'s scheme, for callers that pick the highest fix.
pub fn compare_app_versions(ecosystem: AppEcosystem, a: &str, b: &str) -> Option<Ordering> {
    scheme_for_app(ecosystem)?.compare(a, b).ok()
}
