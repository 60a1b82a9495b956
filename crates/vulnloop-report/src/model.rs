use std::collections::BTreeMap;

use serde::Serialize;
use vulnloop_advisory::Severity;
use vulnloop_inventory::Inventory;
use vulnloop_match::{Coverage, Finding, MatchReport};
use vulnloop_priority::{Assessment, Context, PriorityLevel};

use crate::fix::fix_command;

/// Version of the JSON report layout. Adding a field keeps the version;
/// renaming, removing or changing the meaning of one bumps it.
pub const SCHEMA_VERSION: u32 = 2;

/// Filters the user requested.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Show only these severities (`--severity`), compared with the
    /// effective severity (the vendor's, else the CVSS rating); empty shows all.
    pub severities: Vec<Severity>,
    /// Hide findings that the vendor has not fixed (`--ignore-unfixed`).
    pub ignore_unfixed: bool,
    /// Show only these priorities (`--priority`); empty shows all.
    pub priorities: Vec<PriorityLevel>,
    /// Show only findings with a CVE in CISA's KEV catalog (`--kev`).
    pub kev_only: bool,
}

impl Filter {
    fn keeps(&self, finding: &ReportFinding) -> bool {
        let assessment = &finding.assessment;
        let severity_ok =
            self.severities.is_empty() || self.severities.contains(&assessment.effective_severity);
        let fix_ok = !self.ignore_unfixed || !finding.finding.status.is_unfixed();
        let priority_ok =
            self.priorities.is_empty() || self.priorities.contains(&assessment.priority.level);
        let kev_ok = !self.kev_only || assessment.intel.kev.is_some();
        severity_ok && fix_ok && priority_ok && kev_ok
    }
}

/// The result of one scan, as `--format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub schema_version: u32,
    /// `vulnloop <version>`.
    pub tool: String,
    pub host: HostInfo,
    pub database: DatabaseInfo,
    pub coverage: Coverage,
    pub summary: Summary,
    /// Findings grouped by affected package, the most urgent priority
    /// first, then by package name.
    pub packages: Vec<PackageGroup>,
    /// Web applications with findings, in path order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<crate::ApplicationGroup>,
    /// Findings that an ignore rule hides, with the rule's reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<IgnoredEntry>,
    /// Entry of the scan in the local finding history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryInfo>,
}

/// A finding that an ignore rule hides.
#[derive(Debug, Clone, Serialize)]
pub struct IgnoredEntry {
    pub id: String,
    pub advisory_id: String,
    pub package: String,
    pub installed_version: String,
    pub reason: String,
    /// Last day the rule applies (`YYYY-MM-DD`).
    pub expires: Option<String>,
    /// Origin of the rule: a numbered rule of the state database or an ignore file.
    pub rule: String,
}

/// The scan's entry in the local finding history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryInfo {
    /// Number of the scan, as `vulnloop history` and `vulnloop diff` take it.
    pub scan: i64,
    /// Target name the history keeps the scan under.
    pub target: String,
    /// Findings the target's previous scan did not report.
    pub new: usize,
    /// Findings the target's previous scan reported and this one does not.
    pub resolved: usize,
}

/// The scanned host.
#[derive(Debug, Clone, Serialize)]
pub struct HostInfo {
    pub hostname: Option<String>,
    pub root: Option<String>,
    pub os: String,
    pub os_pretty_name: Option<String>,
    pub kernel: Option<String>,
    pub collected_at: String,
    pub packages: usize,
}

/// The advisory database the scan used.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseInfo {
    pub path: String,
    pub built_at: String,
    /// When an update last found every feed unchanged and kept the database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// Feeds and their snapshot dates, `name (snapshot)`.
    pub sources: Vec<String>,
}

/// Counts over the shown findings.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Findings shown.
    pub findings: usize,
    /// Affected packages shown.
    pub packages: usize,
    /// Shown findings per severity name.
    pub by_severity: BTreeMap<String, usize>,
    /// Shown findings per status name.
    pub by_status: BTreeMap<String, usize>,
    /// Shown findings per priority (`fix-now`, `fix-later`, `no-need-to-fix`).
    pub by_priority: BTreeMap<String, usize>,
    /// Shown findings with a CVE in CISA's KEV catalog.
    pub known_exploited: usize,
    /// Findings hidden by `--severity`, `--ignore-unfixed`, `--priority` or `--kev`.
    pub hidden: usize,
    /// Findings hidden by ignore rules, listed in the report's `ignored`.
    pub ignored: usize,
    /// Hidden findings with no severity from the vendor nor CVSS; a
    /// severity filter hides them although they may be severe.
    pub hidden_unknown_severity: usize,
}

/// The findings of one affected package, with the command that fixes them.
#[derive(Debug, Clone, Serialize)]
pub struct PackageGroup {
    /// Package the advisories name (a source package on Debian and Ubuntu).
    pub package: String,
    pub installed_version: String,
    /// Installed binary packages built from it.
    pub binaries: Vec<String>,
    /// Highest fixed version among the findings with a fix.
    pub fixed_version: Option<String>,
    /// Command that installs the fixes, when the vendor released one.
    pub fix_command: Option<String>,
    /// The maximum (most urgent) priority among the findings.
    pub priority: Option<PriorityLevel>,
    pub findings: Vec<ReportFinding>,
}

/// A finding as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportFinding {
    #[serde(flatten)]
    pub finding: Finding,
    /// Fixed version, repeated from `status` for easy filtering.
    pub fixed_version: Option<String>,
    /// Enrichment facts, exposure and priority.
    #[serde(flatten)]
    pub assessment: Assessment,
}

impl ScanReport {
    /// Builds the report from the pipeline's outputs: ranks every finding
    /// with `context`, then applies `filter`.
    pub fn new(
        matched: MatchReport,
        database: DatabaseInfo,
        context: &Context<'_>,
        filter: &Filter,
    ) -> Self {
        let inventory = context.inventory;
        let total = matched.findings.len();
        let assessed: Vec<ReportFinding> = matched
            .findings
            .into_iter()
            .map(|finding| ReportFinding {
                fixed_version: finding.fixed_version().map(String::from),
                assessment: vulnloop_priority::assess(&finding, context),
                finding,
            })
            .collect();
        let unknown = |f: &&ReportFinding| f.assessment.effective_severity == Severity::Unknown;
        let total_unknown = assessed.iter().filter(unknown).count();
        let shown: Vec<ReportFinding> = assessed.into_iter().filter(|f| filter.keeps(f)).collect();
        let hidden_unknown_severity = total_unknown - shown.iter().filter(unknown).count();
        let mut summary = summarize(&shown, total);
        summary.hidden_unknown_severity = hidden_unknown_severity;
        Self {
            schema_version: SCHEMA_VERSION,
            tool: format!("vulnloop {}", env!("CARGO_PKG_VERSION")),
            host: host_info(inventory),
            database,
            coverage: matched.coverage,
            summary,
            packages: group(
                shown,
                &inventory.host.os.id,
                inventory.host.os.version_id.as_deref(),
            ),
            applications: Vec::new(),
            ignored: Vec::new(),
            history: None,
        }
    }

    /// Adds the findings that ignore rules hid before the report was built.
    pub fn set_ignored(&mut self, ignored: Vec<IgnoredEntry>) {
        self.summary.ignored = ignored.len();
        self.ignored = ignored;
    }

    /// Returns whether any finding is shown.
    pub fn has_findings(&self) -> bool {
        self.summary.findings > 0 || self.actionable_application_findings() > 0
    }
}

/// Describes the scanned host as reports and fix plans show it.
pub fn host_info(inventory: &Inventory) -> HostInfo {
    let os = &inventory.host.os;
    HostInfo {
        hostname: inventory.host.hostname.clone(),
        root: inventory.host.root.clone(),
        os: match &os.version_id {
            Some(version) => format!("{} {version}", os.id),
            None => os.id.clone(),
        },
        os_pretty_name: os.pretty_name.clone(),
        kernel: inventory.host.kernel.as_ref().map(|k| k.release.clone()),
        collected_at: inventory.collected_at.clone(),
        packages: inventory.packages.len(),
    }
}

fn summarize(shown: &[ReportFinding], total: usize) -> Summary {
    let mut by_severity = BTreeMap::new();
    let mut by_status = BTreeMap::new();
    let mut by_priority = BTreeMap::new();
    let mut known_exploited = 0;
    let mut packages: Vec<(&str, &str)> = Vec::new();
    for shown in shown {
        let assessment = &shown.assessment;
        *by_severity
            .entry(assessment.effective_severity.as_str().to_string())
            .or_insert(0) += 1;
        *by_priority
            .entry(assessment.priority.level.as_str().to_string())
            .or_insert(0) += 1;
        known_exploited += usize::from(assessment.intel.kev.is_some());
        let finding = &shown.finding;
        *by_status
            .entry(finding.status.as_str().to_string())
            .or_insert(0) += 1;
        let key = (finding.package.as_str(), finding.installed_version.as_str());
        if !packages.contains(&key) {
            packages.push(key);
        }
    }
    Summary {
        findings: shown.len(),
        packages: packages.len(),
        by_severity,
        by_status,
        by_priority,
        known_exploited,
        hidden: total - shown.len(),
        ignored: 0,
        hidden_unknown_severity: 0,
    }
}

fn group(findings: Vec<ReportFinding>, os_id: &str, os_version: Option<&str>) -> Vec<PackageGroup> {
    let mut groups: BTreeMap<(String, String), Vec<ReportFinding>> = BTreeMap::new();
    for shown in findings {
        let key = (
            shown.finding.package.clone(),
            shown.finding.installed_version.clone(),
        );
        groups.entry(key).or_default().push(shown);
    }
    let mut groups: Vec<PackageGroup> = groups
        .into_iter()
        .map(|((package, installed_version), findings)| {
            let plain: Vec<Finding> = findings.iter().map(|f| f.finding.clone()).collect();
            let mut binaries: Vec<String> = plain
                .iter()
                .flat_map(|f| f.binaries.iter().map(|b| b.name.clone()))
                .collect();
            binaries.sort();
            binaries.dedup();
            PackageGroup {
                package,
                installed_version,
                binaries,
                fixed_version: highest_fixed(&plain),
                fix_command: fix_command(&plain, os_id, os_version),
                priority: findings.iter().map(|f| f.assessment.priority.level).max(),
                findings,
            }
        })
        .collect();
    // Most urgent first; the sort is stable, so names order each level.
    groups.sort_by_key(|group| std::cmp::Reverse(group.priority));
    groups
}

/// Returns the highest fixed version in the package manager's ordering;
/// unparsable versions are ignored.
fn highest_fixed(findings: &[Finding]) -> Option<String> {
    let scheme = vulnloop_match::scheme_for(findings.first()?.manager);
    findings
        .iter()
        .filter(|f| f.has_fix())
        .filter_map(|f| f.fixed_version())
        .max_by(|a, b| scheme.compare(a, b).unwrap_or(std::cmp::Ordering::Equal))
        .map(String::from)
}
