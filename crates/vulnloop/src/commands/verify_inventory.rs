//! `vulnloop verify --before OLD --inventory NEW`: for hosts whose fixes
//! vulnloop did not apply (Windows updates installed by an administrator),
//! report for each finding of the old inventory whether the new one still has it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use vulnloop_match::{Coverage, Finding, FindingStatus};

use crate::cli::{ReportFormat, SourceArgs};
use crate::exit::Code;
use crate::output::print_stdout;

use super::pipeline;
use super::verify::Verdict;

/// One finding of the old inventory and its verdict.
#[derive(Debug, Clone, Serialize)]
struct InventoryVerdict {
    verdict: Verdict,
    id: String,
    /// The update or advisory that was to fix it (`KB5034127`).
    advisory_id: String,
    package: String,
    /// Installed version (a Windows build) before and after.
    before: String,
    after: Option<String>,
}

/// The JSON document of `verify --inventory --format json`.
#[derive(Debug, Serialize)]
struct Document<'a> {
    before: String,
    inventory: String,
    coverage: &'a Coverage,
    findings: &'a [InventoryVerdict],
}

/// Matches both inventories and prints a verdict per finding of `before`.
///
/// Exits 0 when every finding is gone, 1 when one remains, and 2 when the
/// new inventory's coverage is incomplete, because a finding missing for
/// lack of data would look fixed.
pub fn run(
    before: &Path,
    after: &Path,
    format: ReportFormat,
    db_path: &Path,
) -> anyhow::Result<Code> {
    // Both inventories come from files, so nothing is collected or discovered.
    let source = SourceArgs {
        root: None,
        os: None,
        web_roots: Vec::new(),
        no_webapps: true,
        webapp_max_entries: vulnloop_webapp::DiscoveryOptions::DEFAULT_MAX_ENTRIES,
    };
    let old = pipeline::analyze(&source, Some(before), db_path, 0)?;
    let new = pipeline::analyze(&source, Some(after), db_path, 0)?;

    let remaining: BTreeSet<(&str, &str)> = new
        .matched
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.package.as_str()))
        .collect();
    let verdicts: Vec<InventoryVerdict> = old
        .matched
        .findings
        .iter()
        .filter(|f| !matches!(f.status, FindingStatus::Undetermined { .. }))
        .map(|finding| judge(finding, &remaining, &new.matched.findings))
        .collect();

    let coverage = &new.matched.coverage;
    let text = match format {
        ReportFormat::Table => render(&verdicts, coverage),
        ReportFormat::Json => {
            let document = Document {
                before: before.display().to_string(),
                inventory: after.display().to_string(),
                coverage,
                findings: &verdicts,
            };
            serde_json::to_string_pretty(&document)? + "\n"
        }
    };
    print_stdout(&text)?;
    Ok(if !coverage.complete {
        Code::Failure
    } else if verdicts.iter().any(|v| v.verdict == Verdict::FixFailed) {
        Code::Findings(1)
    } else {
        Code::Clean
    })
}

fn judge(
    finding: &Finding,
    remaining: &BTreeSet<(&str, &str)>,
    new: &[Finding],
) -> InventoryVerdict {
    let still = remaining.contains(&(finding.id.as_str(), finding.package.as_str()));
    let after = new
        .iter()
        .find(|f| f.package == finding.package)
        .map(|f| f.installed_version.clone());
    InventoryVerdict {
        verdict: if still {
            Verdict::FixFailed
        } else {
            Verdict::Fixed
        },
        id: finding.id.clone(),
        advisory_id: finding.advisory_id.clone(),
        package: finding.package.clone(),
        before: finding.installed_version.clone(),
        after,
    }
}

fn render(verdicts: &[InventoryVerdict], coverage: &Coverage) -> String {
    let mut out = String::new();
    let fixed = verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Fixed)
        .count();
    for verdict in verdicts.iter().filter(|v| v.verdict == Verdict::FixFailed) {
        let _ = writeln!(
            out,
            "fix failed  {}  {}  {} ({})",
            verdict.package, verdict.id, verdict.advisory_id, verdict.before
        );
    }
    let _ = writeln!(
        out,
        "{fixed} of {} findings fixed, {} remain",
        verdicts.len(),
        verdicts.len() - fixed
    );
    for note in &coverage.notes {
        let _ = writeln!(out, "note: {}", note.message);
    }
    out
}
