//! The web application part of a scan report: each application with its
//! findings and the step that fixes them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use vulnloop_inventory::Application;
use vulnloop_match::{AppFinding, AppMatchReport};
use vulnloop_remediate::{app_steps, AppFixStep};

use crate::{Filter, ScanReport};

/// One application with findings.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationGroup {
    pub application: Application,
    /// The fix, absent when an OS package owns the application.
    pub fix: Option<AppFixStep>,
    pub findings: Vec<AppFinding>,
}

impl ScanReport {
    /// Adds the application findings, filtered by severity and
    /// `--ignore-unfixed`, and their coverage notes.
    pub fn add_applications(&mut self, matched: AppMatchReport, filter: &Filter) {
        for note in matched.notes {
            self.coverage.complete &= !note.incomplete;
            self.coverage.notes.push(note);
        }
        let mut groups: BTreeMap<(String, String), Vec<AppFinding>> = BTreeMap::new();
        for finding in matched.findings {
            // Application advisories carry the feed's severity only; the
            // priority filters (--priority, --kev) apply to OS package findings.
            let severity_ok =
                filter.severities.is_empty() || filter.severities.contains(&finding.severity);
            let fix_ok = !filter.ignore_unfixed
                || !matches!(finding.status, vulnloop_match::AppFindingStatus::NoFixYet);
            if !(severity_ok && fix_ok) {
                self.summary.hidden += 1;
                continue;
            }
            let key = (
                finding.application.path.clone(),
                finding.application.name.clone(),
            );
            groups.entry(key).or_default().push(finding);
        }
        for findings in groups.into_values() {
            let fix = app_steps(&findings).into_iter().next();
            self.applications.push(ApplicationGroup {
                application: findings[0].application.clone(),
                fix,
                findings,
            });
        }
    }

    /// Returns the number of application findings the host's owner acts on directly.
    pub fn actionable_application_findings(&self) -> usize {
        self.applications
            .iter()
            .flat_map(|group| &group.findings)
            .filter(|finding| finding.is_actionable())
            .count()
    }
}

/// Writes each application with its findings, then a one-line summary.
pub(crate) fn write_applications(out: &mut String, report: &ScanReport) {
    if report.applications.is_empty() {
        return;
    }
    let _ = writeln!(out, "web applications:");
    for group in &report.applications {
        let app = &group.application;
        let owner = match &app.owner {
            Some(owner) => format!(
                ", owned by {} package {} {}",
                serde_plain(&owner.manager),
                owner.name,
                owner.version
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{} {} [{}] at {}{owner}",
            app.name,
            app.version,
            app.ecosystem.as_str(),
            app.path
        );
        for finding in &group.findings {
            let title = finding.title.as_deref().unwrap_or("");
            let _ = writeln!(
                out,
                "  {:<18} {:<9} {:<20} {}  ({})",
                finding.id,
                finding.severity.as_str(),
                finding.status.as_str(),
                title,
                finding.evidence.comparison
            );
        }
        if let Some(owner) = &app.owner {
            let _ = writeln!(
                out,
                "  the {} package may carry backported fixes: its distribution's advisories decide, and the \
                 finding on that package, if any, is the one to fix",
                owner.name
            );
        }
        if let Some(fix) = &group.fix {
            let command = if fix.command.is_empty() {
                String::new()
            } else {
                format!(": {}", fix.command.join(" "))
            };
            let _ = writeln!(out, "  fix: {}{command}", fix.instruction);
        }
    }
    let total: usize = report
        .applications
        .iter()
        .map(|group| group.findings.len())
        .sum();
    let actionable = report.actionable_application_findings();
    let _ = writeln!(
        out,
        "{actionable} web application vulnerabilities to fix; {} more on applications owned by OS packages",
        total - actionable
    );
    let _ = writeln!(out);
}

fn serde_plain(manager: &vulnloop_inventory::PackageManager) -> String {
    serde_json::to_value(manager)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}
