//! `vulnloop verify`: rescan after `vulnloop fix --apply` and report, for
//! each finding the journal's steps were to close, whether it is fixed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::Serialize;
use vulnloop_inventory::Inventory;
use vulnloop_match::{Coverage, Finding, FindingStatus};
use vulnloop_state::{FindingKey, Status};

use crate::cli::{ReportFormat, SourceArgs, VerifyArgs};
use crate::exit::Code;
use crate::output::print_stdout;

use super::journal::{Journal, Outcome, StepRecord};
use super::{pipeline, state};

/// The verdict on one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The rescan no longer reports the finding.
    Fixed,
    /// The fixed code is installed but not yet running: a process maps a
    /// deleted file of an upgraded package, or a newer kernel waits for a reboot.
    FixedRestartPending,
    /// The rescan still reports the finding.
    FixFailed,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Fixed => "fixed",
            Verdict::FixedRestartPending => "fixed, restart pending",
            Verdict::FixFailed => "fix failed",
        }
    }
}

/// One finding of the journal and its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub verdict: Verdict,
    pub id: String,
    pub advisory_id: String,
    pub package: String,
    /// The journal step that was to close the finding.
    pub step: usize,
    /// Installed versions of the step's binary packages now (`name version`).
    pub installed: Vec<String>,
    /// The package manager's error for a failed fix; the processes or the
    /// kernel for a pending restart.
    pub detail: Option<String>,
}

/// The JSON document of `vulnloop verify --format json`.
#[derive(Debug, Serialize)]
struct VerifyDocument<'a> {
    journal: String,
    root: &'a str,
    coverage: &'a Coverage,
    findings: &'a [Verified],
}

/// Rescans the root of a journal and prints each finding's verdict.
///
/// Exits 0 when every finding is fixed (a pending restart included), 1 when
/// a fix failed, and 2 on errors or incomplete coverage, because a finding
/// missing for lack of advisory data would look fixed.
///
/// The finding history records each verdict: fixed as `verified`, a
/// pending restart as `restart_pending` and a failed fix as `fix_failed`.
pub fn run(args: &VerifyArgs, db_path: &Path, state_path: &Path) -> anyhow::Result<Code> {
    if let (Some(after), Some(before)) = (&args.inventory, &args.before) {
        return super::verify_inventory::run(before, after, args.format, db_path);
    }
    let journal = match &args.journal {
        Some(path) => Journal::read(path)?,
        None => Journal::newest_apply_in(
            &args
                .journal_dir
                .clone()
                .unwrap_or_else(super::journal::default_dir),
        )?,
    };
    let path = journal.path.clone();
    let root = root(args.root.as_deref(), &journal)?;
    if journal.end.is_none() {
        eprintln!(
            "warning: journal {} has no end record: the run was interrupted",
            path.display()
        );
    }

    // The journal contains OS package steps only, so web applications are left to `vulnloop scan`.
    let source = SourceArgs {
        root: Some(root.clone()),
        os: None,
        web_roots: Vec::new(),
        no_webapps: true,
        webapp_max_entries: vulnloop_webapp::DiscoveryOptions::DEFAULT_MAX_ENTRIES,
    };
    // The database's age does not matter here: the journal's steps were planned from it.
    let analysis = pipeline::analyze(&source, None, db_path, 0)?;
    let verified = verify(
        &journal.steps,
        &analysis.matched.findings,
        &analysis.inventory,
    );
    let coverage = &analysis.matched.coverage;
    if coverage.complete {
        record(
            state_path,
            &state::target_of(&analysis.inventory),
            &verified,
            &path,
        );
    } else {
        eprintln!("warning: the finding history is not updated, because coverage is incomplete");
    }

    let text = match args.format {
        ReportFormat::Table => render(&journal, &verified, coverage),
        ReportFormat::Json => {
            let document = VerifyDocument {
                journal: path.display().to_string(),
                root: &journal.run.root,
                coverage,
                findings: &verified,
            };
            serde_json::to_string_pretty(&document)? + "\n"
        }
    };
    print_stdout(&text)?;

    Ok(if !coverage.complete {
        Code::Failure
    } else if verified.iter().any(|v| v.verdict == Verdict::FixFailed) {
        Code::Findings(1)
    } else {
        Code::Clean
    })
}

/// Returns the root to rescan: the journal's, which `--root` may repeat but not change.
/// Moves each verified finding to the status of its verdict in the finding history.
fn record(state_path: &Path, target: &str, verified: &[Verified], journal: &Path) {
    let mut history = state::open(state_path);
    for entry in verified {
        let status = match entry.verdict {
            Verdict::Fixed => Status::Verified,
            Verdict::FixedRestartPending => Status::RestartPending,
            Verdict::FixFailed => Status::FixFailed,
        };
        let detail = match &entry.detail {
            Some(detail) => format!("verify: {}: {detail}", entry.verdict.label()),
            None => format!("verify: {}", entry.verdict.label()),
        };
        let key = FindingKey {
            id: entry.id.clone(),
            package: entry.package.clone(),
        };
        state::set_status(
            history.as_mut(),
            target,
            &[key],
            status,
            &detail,
            Some(journal),
        );
    }
}

pub(super) fn root(requested: Option<&Path>, journal: &Journal) -> anyhow::Result<PathBuf> {
    let recorded = PathBuf::from(&journal.run.root);
    let Some(requested) = requested else {
        return Ok(recorded);
    };
    let requested = requested.canonicalize().with_context(|| {
        format!(
            "invalid --root {}: the directory is missing or unreadable",
            requested.display()
        )
    })?;
    if requested != recorded {
        bail!(
            "journal {} records a run in {}, not in {}; pass that --root, or the journal of a run in {} with --journal",
            journal.path.display(),
            recorded.display(),
            requested.display(),
            requested.display()
        );
    }
    Ok(requested)
}

/// Judges every finding that the steps were to close against the rescan's findings.
pub fn verify(steps: &[StepRecord], findings: &[Finding], inventory: &Inventory) -> Vec<Verified> {
    let mut verified = Vec::new();
    for step in steps {
        let names: BTreeSet<&str> = step.packages.iter().map(|p| p.name.as_str()).collect();
        let installed = step
            .packages
            .iter()
            .filter_map(|change| {
                let package = inventory.packages.iter().find(|p| {
                    p.name == change.name && (change.arch.is_none() || p.arch == change.arch)
                });
                package.map(|p| format!("{} {}", p.name, p.version))
            })
            .collect::<Vec<_>>();
        for closed in &step.closes {
            let remaining = findings.iter().find(|f| {
                f.package == step.package
                    && f.id == closed.id
                    && f.advisory_id == closed.advisory_id
            });
            let (verdict, detail) = match remaining.map(|f| &f.status) {
                Some(FindingStatus::FixedRebootPending { fixed }) => (
                    Verdict::FixedRestartPending,
                    Some(format!("a kernel with the fix ({fixed}) is installed but not running: reboot into it")),
                ),
                Some(_) => (Verdict::FixFailed, Some(failure_detail(step, remaining))),
                None => match processes_to_restart(inventory, &names) {
                    Some(processes) => (Verdict::FixedRestartPending, Some(format!("restart {processes}"))),
                    None => (Verdict::Fixed, None),
                },
            };
            verified.push(Verified {
                verdict,
                id: closed.id.clone(),
                advisory_id: closed.advisory_id.clone(),
                package: step.package.clone(),
                step: step.index,
                installed: installed.clone(),
                detail,
            });
        }
    }
    verified
}

/// Explains a finding that is still reported: the step's error when it has one.
fn failure_detail(step: &StepRecord, remaining: Option<&Finding>) -> String {
    if let Some(error) = &step.error {
        return error.clone();
    }
    let installed = remaining.map_or("?", |f| f.installed_version.as_str());
    let fixed = remaining.and_then(Finding::fixed_version).unwrap_or("?");
    match step.outcome {
        Outcome::Succeeded => format!(
            "the step succeeded, but {} is still at {installed}, and the fix is in {fixed}",
            step.package
        ),
        _ => format!(
            "{} is still at {installed}, and the fix is in {fixed}",
            step.package
        ),
    }
}

/// Lists the running processes that map a deleted file of one of `packages`
/// (`sshd (812), cron (455)`), or returns `None` when there are none or the
/// inventory has no runtime data.
pub(super) fn processes_to_restart(
    inventory: &Inventory,
    packages: &BTreeSet<&str>,
) -> Option<String> {
    let runtime = inventory.runtime.as_ref()?;
    let stale = runtime.processes.iter().filter(|p| {
        !p.deleted_files.is_empty()
            && p.packages
                .iter()
                .any(|name| packages.contains(name.as_str()))
    });
    // One entry per systemd service, since restarting the service restarts
    // all its processes; processes outside a service are listed one by one.
    let mut services: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut others = Vec::new();
    for process in stale {
        match &process.service {
            Some(service) => services
                .entry(service)
                .or_default()
                .push(format!("{} {}", process.command, process.pid)),
            None => others.push(format!("{} ({})", process.command, process.pid)),
        }
    }
    let mut entries: Vec<String> = services
        .into_iter()
        .map(|(service, processes)| format!("{service} ({})", processes.join(", ")))
        .collect();
    entries.extend(others);
    (!entries.is_empty()).then(|| entries.join(", "))
}

fn render(journal: &Journal, verified: &[Verified], coverage: &Coverage) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "verify of journal {} (root {}, run started {})",
        journal.path.display(),
        journal.run.root,
        journal.run.started_at
    );
    if verified.is_empty() {
        let _ = writeln!(out, "the journal lists no findings to verify");
    }
    for finding in verified {
        let _ = writeln!(
            out,
            "{:<22}  {}  {} (step {}): {}",
            finding.verdict.label(),
            finding.id,
            finding.package,
            finding.step,
            if finding.installed.is_empty() {
                "not installed".to_string()
            } else {
                finding.installed.join(", ")
            }
        );
        if let Some(detail) = &finding.detail {
            let _ = writeln!(out, "{:<22}  {detail}", "");
        }
    }
    let count = |verdict: Verdict| verified.iter().filter(|v| v.verdict == verdict).count();
    let _ = writeln!(
        out,
        "{} fixed, {} fixed with a restart pending, {} fix failed",
        count(Verdict::Fixed),
        count(Verdict::FixedRestartPending),
        count(Verdict::FixFailed)
    );
    for note in &coverage.notes {
        let mark = if note.incomplete {
            "incomplete"
        } else {
            "note"
        };
        let _ = writeln!(out, "coverage {mark}: {}", note.message);
    }
    if !coverage.complete {
        let _ = writeln!(
            out,
            "the verification is incomplete: a finding may be missing for lack of advisory data"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::commands::journal::{ClosedId, PackageChange};

    /// An inventory with `vulnloop-demo` 1.0-2 and the given runtime processes.
    fn inventory(processes: serde_json::Value) -> Inventory {
        let json = serde_json::json!({
            "schema_version": vulnloop_inventory::SCHEMA_VERSION,
            "collected_at": "2026-12-04T00:00:00Z",
            "host": { "hostname": "test", "root": null, "os": { "id": "debian", "version_id": "12", "codename": "bookworm",
                      "pretty_name": null, "source": "/etc/os-release" }, "kernel": null },
            "packages": [{ "manager": "dpkg", "name": "vulnloop-demo", "version": "1.0-2", "arch": "all",
                           "origin": "/var/lib/dpkg/status:1" }],
            "problems": [],
            "runtime": { "processes": processes, "uninspected": 0 }
        });
        Inventory::from_json(&json.to_string(), "test").unwrap()
    }

    fn step(outcome: Outcome) -> StepRecord {
        StepRecord {
            index: 1,
            package: "vulnloop-demo".into(),
            installed_version: "1.0-1".into(),
            target_version: "1.0-2".into(),
            argv: vec![],
            started_at: String::new(),
            ended_at: String::new(),
            outcome,
            exit_code: Some(0),
            error: None,
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            packages: vec![PackageChange {
                name: "vulnloop-demo".into(),
                arch: Some("all".into()),
                before: Some("1.0-1".into()),
                after: Some("1.0-2".into()),
                target_version: Some("1.0-2".into()),
                target_source_version: Some("1.0-2".into()),
                side_effect: false,
            }],
            closes: vec![ClosedId {
                id: "CVE-2026-0001".into(),
                advisory_id: "DSA-0001-1".into(),
            }],
        }
    }

    #[test]
    fn verify_finding_gone_is_fixed() {
        let verified = verify(
            &[step(Outcome::Succeeded)],
            &[],
            &inventory(serde_json::json!([])),
        );
        assert_eq!(verified.len(), 1);
        assert_eq!(verified[0].verdict, Verdict::Fixed);
        assert_eq!(verified[0].installed, ["vulnloop-demo 1.0-2"]);
        assert_eq!(verified[0].detail, None);
    }

    #[test]
    fn verify_deleted_mapping_is_restart_pending() {
        let processes = serde_json::json!([
            { "pid": 812, "command": "demo-daemon", "packages": ["vulnloop-demo"],
              "deleted_files": ["/usr/lib/libdemo.so.1"] },
            { "pid": 900, "command": "other", "packages": ["bash"], "deleted_files": ["/usr/bin/bash"] },
            { "pid": 901, "command": "idle", "packages": ["vulnloop-demo"] }
        ]);
        let verified = verify(&[step(Outcome::Succeeded)], &[], &inventory(processes));
        assert_eq!(verified[0].verdict, Verdict::FixedRestartPending);
        assert_eq!(
            verified[0].detail.as_deref(),
            Some("restart demo-daemon (812)")
        );
    }

    #[test]
    fn verify_names_service_to_restart() {
        let processes = serde_json::json!([
            { "pid": 812, "command": "sshd", "packages": ["vulnloop-demo"], "deleted_files": ["/usr/lib/libdemo.so.1"],
              "service": "ssh.service" },
            { "pid": 813, "command": "sshd", "packages": ["vulnloop-demo"], "deleted_files": ["/usr/lib/libdemo.so.1"],
              "service": "ssh.service" },
            { "pid": 950, "command": "cron", "packages": ["vulnloop-demo"], "deleted_files": ["/usr/lib/libdemo.so.1"] }
        ]);
        let verified = verify(&[step(Outcome::Succeeded)], &[], &inventory(processes));
        assert_eq!(
            verified[0].detail.as_deref(),
            Some("restart ssh.service (sshd 812, sshd 813), cron (950)")
        );
    }

    #[test]
    fn failure_detail_prefers_step_error() {
        let mut failed = step(Outcome::Failed);
        failed.error = Some(
            "apt-get exited with status 100: E: Unable to locate package vulnloop-demo".into(),
        );
        assert_eq!(
            failure_detail(&failed, None),
            "apt-get exited with status 100: E: Unable to locate package vulnloop-demo"
        );
        let detail = failure_detail(&step(Outcome::Succeeded), None);
        assert!(
            detail.starts_with("the step succeeded, but vulnloop-demo is still at"),
            "{detail}"
        );
    }
}
