//! The fix plan's data types, as `vulnloop fix --format json` prints them.

use serde::Serialize;
use vulnloop_advisory::PackageKind;
use vulnloop_match::Finding;
use vulnloop_priority::PriorityLevel;

use crate::argv::Tool;

/// Version of the fix plan JSON layout (`docs/fix-plan.md`). Adding a field
/// keeps the version; renaming, removing or changing the meaning of one bumps it.
pub const SCHEMA_VERSION: u32 = 1;

/// Selection of the findings a plan covers. An empty list does not filter.
#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    /// Keep findings of these priorities (`--priority`).
    pub priorities: Vec<PriorityLevel>,
    /// Keep findings with one of these ids (`--cve`), compared without case
    /// with the vulnerability id, the finding's CVE ids and the advisory id.
    pub ids: Vec<String>,
    /// Keep findings of these packages (`--package`): the package the
    /// advisory names (a source package on Debian) or one of its installed binaries.
    pub packages: Vec<String>,
}

impl PlanFilter {
    pub(crate) fn keeps(&self, finding: &Finding, level: PriorityLevel) -> bool {
        let priority_ok = self.priorities.is_empty() || self.priorities.contains(&level);
        let id_ok = self.ids.is_empty()
            || self.ids.iter().any(|wanted| {
                finding.id.eq_ignore_ascii_case(wanted)
                    || finding.advisory_id.eq_ignore_ascii_case(wanted)
                    || finding
                        .cves
                        .iter()
                        .any(|cve| cve.eq_ignore_ascii_case(wanted))
            });
        let package_ok = self.packages.is_empty()
            || self.packages.iter().any(|wanted| {
                finding.package == *wanted
                    || finding.binaries.iter().any(|binary| binary.name == *wanted)
            });
        priority_ok && id_ok && package_ok
    }
}

/// The plan for one host: upgrade steps per package manager, reboots, and
/// the findings that no upgrade closes.
#[derive(Debug, Clone, Serialize)]
pub struct FixPlan {
    /// Steps grouped by the tool that runs them.
    pub managers: Vec<ManagerPlan>,
    /// Fixed kernels that are installed but not running.
    pub reboots: Vec<RebootAction>,
    /// Findings without a vendor fix, with the vendor's status.
    pub not_fixable: Vec<NotFixable>,
    /// Findings left out by the filter.
    pub filtered_out: usize,
}

impl FixPlan {
    /// Returns every step, in plan order.
    pub fn steps(&self) -> impl Iterator<Item = &FixStep> {
        self.managers
            .iter()
            .flat_map(|manager| manager.steps.iter())
    }

    /// Returns whether the plan has nothing to do and nothing to report.
    pub fn is_empty(&self) -> bool {
        self.managers.is_empty() && self.reboots.is_empty() && self.not_fixable.is_empty()
    }
}

/// The steps that one package manager runs.
#[derive(Debug, Clone, Serialize)]
pub struct ManagerPlan {
    pub tool: Tool,
    /// The most urgent step first, then by package name.
    pub steps: Vec<FixStep>,
}

/// One upgrade: the binary packages of one affected package and the
/// findings that upgrading them closes.
#[derive(Debug, Clone, Serialize)]
pub struct FixStep {
    pub tool: Tool,
    /// Package the advisories name (a source package on Debian, Ubuntu and Alpine).
    pub package: String,
    /// Whether `package` is a source or a binary package.
    pub package_kind: PackageKind,
    /// Installed version of `package` that the advisories were compared with.
    pub installed_version: String,
    /// Highest fixed version among the findings the step closes, in the
    /// package manager's ordering: the version of `package` to reach.
    pub target_version: String,
    /// The most urgent priority among the findings the step closes.
    pub priority: PriorityLevel,
    /// Installed binary packages to upgrade, sorted by name.
    pub packages: Vec<PlannedPackage>,
    /// Findings the step closes.
    pub closes: Vec<ClosedFinding>,
    /// Whether the host must reboot after the step for the fix to take effect.
    pub reboot_needed: bool,
    /// Reason for the reboot.
    pub reboot_reason: Option<String>,
    /// Running processes that keep the old code until they restart.
    pub restart: Restart,
    /// Argument vector of the upgrade (program first), from [`FixStep::argv`].
    pub command: Vec<String>,
    /// Caveats an executor or a person should read before running the step.
    pub notes: Vec<String>,
}

/// One installed binary package that a step upgrades.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedPackage {
    pub name: String,
    pub arch: Option<String>,
    pub installed_version: String,
    /// Lowest binary version that contains the fix; the upgrade installs
    /// this version or a later one. `None` when the binary's version differs
    /// from its source's (a binNMU `+bN`, or a version of its own), so only
    /// `target_source_version` is known, and for kernel metapackages.
    pub target_version: Option<String>,
    /// For source advisories: the binary must come from a build of this
    /// source version or a later one. `None` for binary advisories and for
    /// kernel metapackages, which a step's notes explain.
    pub target_source_version: Option<String>,
}

/// A finding that a step or a reboot closes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClosedFinding {
    /// Vulnerability id: the CVE for per-CVE records, else the advisory id.
    pub id: String,
    /// Advisory record that decided the verdict.
    pub advisory_id: String,
    /// Feed of that record.
    pub source: String,
    pub cves: Vec<String>,
    /// Version of the affected package that fixes this finding.
    pub fixed_version: Option<String>,
    pub priority: PriorityLevel,
}

/// Processes to restart after a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Restart {
    /// No runtime data (a root filesystem, an inventory without it).
    Unknown,
    /// No inspected process maps a file of the step's packages.
    NotNeeded {
        /// Processes the collector could not inspect, which may still map them.
        uninspected: usize,
    },
    /// These processes map a file of the step's packages.
    Needed {
        processes: Vec<ProcessRef>,
        /// Processes the collector could not inspect.
        uninspected: usize,
    },
}

/// A running process, as the inventory's runtime data lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessRef {
    pub pid: u32,
    /// Command name (`/proc/PID/comm`).
    pub command: String,
    /// systemd service to restart, when the process runs in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A fixed kernel that is installed but not running: a reboot into it closes findings.
#[derive(Debug, Clone, Serialize)]
pub struct RebootAction {
    /// Package the advisories name.
    pub package: String,
    /// Version of the running kernel's package.
    pub installed_version: String,
    /// Highest fixed version among the findings, which an installed kernel already has.
    pub fixed_version: String,
    /// The running kernel release (`uname -r`), when known.
    pub running_kernel: Option<String>,
    pub closes: Vec<ClosedFinding>,
}

/// A finding that no upgrade closes, because the vendor released no fix.
#[derive(Debug, Clone, Serialize)]
pub struct NotFixable {
    pub package: String,
    pub installed_version: String,
    pub id: String,
    pub advisory_id: String,
    pub source: String,
    pub cves: Vec<String>,
    /// The vendor's status: `no_fix_yet`, `will_not_fix`, `postponed` or `unsupported`.
    pub status: String,
    /// The status in a sentence.
    pub reason: String,
    /// The vendor's wording, when it gave one.
    pub note: Option<String>,
    pub priority: PriorityLevel,
}

/// Errors building a plan from an inventory's findings.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "invalid {manager} package name {name:?}: {reason}; the inventory may be corrupt or forged, \
         so no command was built for package {package}"
    )]
    InvalidPackageName {
        manager: &'static str,
        name: String,
        reason: &'static str,
        package: String,
    },
    #[error(
        "invalid architecture {arch:?} of package {name}: it must be lowercase letters, digits and '-'; \
         no command was built for package {package}"
    )]
    InvalidArchitecture {
        name: String,
        arch: String,
        package: String,
    },
    #[error("failed to order the fixed versions of {package}")]
    Version {
        package: String,
        #[source]
        source: vulnloop_version::VersionError,
    },
}
