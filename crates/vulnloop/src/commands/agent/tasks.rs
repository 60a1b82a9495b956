//! Carrying out the server's tasks: scan, fix and verify.
//!
//! A fix payload is data (package manager, packages, target versions). The
//! agent checks it against its local policy, builds fix steps from it and
//! its own inventory, and runs them with the same code as `vulnloop fix
//! --apply`, which checks each package, runs the argument vector it builds
//! itself with a timeout, and writes the journal. No command string from the
//! server is ever run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use vulnloop_advisory::PackageKind;
use vulnloop_inventory::{Inventory, PackageManager};
use vulnloop_priority::PriorityLevel;
use vulnloop_remediate::{ClosedFinding, FixStep, PlannedPackage, Restart, Tool};
use vulnloop_server::tasks::{
    FixPayload, PackageChange, Task, TaskKind, TaskOutcome, TaskResult, VerifyPayload,
};

use super::policy::{self, Executor, Loaded};
use crate::commands::apply::{self, Target};
use crate::commands::journal::{
    EndRecord, JournalWriter, Outcome, Record, RunKind, RunRecord, JOURNAL_VERSION,
};

/// Settings of the agent that task execution reads.
pub struct TaskContext {
    /// `/` or the `--root` directory that fixes apply to.
    pub root: PathBuf,
    pub os_override: Option<String>,
    pub policy_path: PathBuf,
    pub journal_dir: PathBuf,
}

/// Runs a fix task and returns the result to report.
pub fn run_fix(context: &TaskContext, task: &Task) -> TaskResult {
    match try_fix(context, task) {
        Ok(result) => result,
        Err(error) => failed(format!("{error:#}")),
    }
}

fn failed(message: String) -> TaskResult {
    TaskResult {
        outcome: TaskOutcome::Failed,
        dry_run: false,
        messages: vec![message],
        commands: Vec::new(),
        packages: Vec::new(),
        restart_needed: false,
    }
}

fn refused(message: String) -> TaskResult {
    TaskResult {
        outcome: TaskOutcome::Refused,
        ..failed(message)
    }
}

fn try_fix(context: &TaskContext, task: &Task) -> anyhow::Result<TaskResult> {
    let payload: FixPayload = serde_json::from_value(task.payload.clone())
        .context("the fix task's payload is not a valid fix payload")?;
    let policy = match policy::load(&context.policy_path) {
        Loaded::Policy(policy) => policy,
        Loaded::Refuse(reason) => return Ok(refused(reason)),
    };
    let names: Vec<&str> = payload
        .packages
        .iter()
        .map(|package| package.package.as_str())
        .collect();
    if let Some(reason) = policy.refusal(&context.policy_path, &payload.package_manager, &names) {
        return Ok(refused(reason));
    }
    let tool = match payload.package_manager.as_str() {
        "apt" => Tool::Apt,
        "dnf" => Tool::Dnf,
        "yum" => Tool::Yum,
        "zypper" => Tool::Zypper,
        other => {
            return Ok(failed(format!(
                "this agent cannot run {other} fixes; it runs apt, dnf, yum and zypper"
            )))
        }
    };

    let target = Target {
        root: context.root.clone(),
        os_override: context.os_override.clone(),
        tool,
    };
    let inventory = target.collect()?;
    let steps = payload
        .packages
        .iter()
        .map(|package| fix_step(tool, package, &inventory))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let argvs = steps
        .iter()
        .map(FixStep::argv)
        .collect::<Result<Vec<_>, _>>()?;

    if policy.executor == Executor::DryRun {
        let commands: Vec<Vec<String>> = argvs.iter().map(|argv| target.command(argv)).collect();
        return Ok(TaskResult {
            outcome: TaskOutcome::Succeeded,
            dry_run: true,
            messages: vec![format!(
                "dry run by the policy file {}: nothing was installed",
                context.policy_path.display()
            )],
            commands,
            packages: Vec::new(),
            restart_needed: false,
        });
    }
    if !crate::commands::execute::is_root() {
        return Ok(failed(
            "applying fixes needs root, and the agent does not run as root".to_string(),
        ));
    }
    apply_steps(
        context,
        &target,
        &steps,
        &argvs,
        &inventory,
        Duration::from_secs(policy.timeout_seconds),
    )
}

/// Builds the fix step for one payload package from the installed binaries.
fn fix_step(
    tool: Tool,
    package: &vulnloop_server::tasks::FixPackage,
    inventory: &Inventory,
) -> anyhow::Result<FixStep> {
    let manager = tool.manager();
    // Debian-family and Alpine advisories name source packages, the Red Hat
    // family and SUSE name binary packages.
    let package_kind = if manager == PackageManager::Rpm {
        PackageKind::Binary
    } else {
        PackageKind::Source
    };
    let mut binaries: Vec<PlannedPackage> = inventory
        .packages
        .iter()
        .filter(|p| p.manager == manager)
        .filter(|p| match package_kind {
            PackageKind::Source => p.source_name() == package.package,
            PackageKind::Binary => p.name == package.package,
        })
        .map(|p| PlannedPackage {
            name: p.name.clone(),
            arch: p.arch.clone(),
            installed_version: p.version.clone(),
            // A binary whose version differs from its source's (a binNMU)
            // can only be checked against the source version.
            target_version: (package_kind == PackageKind::Binary
                || p.version == p.source_version())
            .then(|| package.target_version.clone()),
            target_source_version: (package_kind == PackageKind::Source)
                .then(|| package.target_version.clone()),
        })
        .collect();
    if binaries.is_empty() {
        anyhow::bail!(
            "package {} is not installed in {}",
            package.package,
            inventory.host.root.as_deref().unwrap_or("/")
        );
    }
    binaries.sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));

    let closes = package
        .vulnerabilities
        .iter()
        .map(|v| ClosedFinding {
            id: v.vulnerability_id.clone(),
            advisory_id: v.advisory_id.clone(),
            source: "server".to_string(),
            cves: Vec::new(),
            fixed_version: Some(v.fixed_version.clone()),
            priority: PriorityLevel::FixNow,
        })
        .collect();
    let mut step = FixStep {
        tool,
        package: package.package.clone(),
        package_kind,
        installed_version: package.installed_version.clone(),
        target_version: package.target_version.clone(),
        priority: PriorityLevel::FixNow,
        packages: binaries,
        closes,
        reboot_needed: false,
        reboot_reason: None,
        restart: Restart::Unknown,
        command: Vec::new(),
        notes: Vec::new(),
    };
    step.command = step.argv()?;
    Ok(step)
}

/// Runs the steps with the journal, as `vulnloop fix --apply` does.
fn apply_steps(
    context: &TaskContext,
    target: &Target,
    steps: &[FixStep],
    argvs: &[Vec<String>],
    inventory: &Inventory,
    timeout: Duration,
) -> anyhow::Result<TaskResult> {
    let mut journal = JournalWriter::create(&context.journal_dir)?;
    journal.append(&Record::Run(RunRecord {
        journal_version: JOURNAL_VERSION,
        tool: format!("vulnloop {} agent", env!("CARGO_PKG_VERSION")),
        started_at: apply::now(),
        root: target.root.display().to_string(),
        steps: steps.len(),
        kind: RunKind::Apply,
        rolls_back: None,
    }))?;

    let mut current = inventory.clone();
    let mut result = TaskResult {
        outcome: TaskOutcome::Succeeded,
        ..failed(String::new())
    };
    result.messages.clear();
    let mut succeeded = 0;
    for (index, (step, argv)) in steps.iter().zip(argvs).enumerate() {
        let (record, after) = apply::run_step(index + 1, step, argv, target, &current, timeout)?;
        journal.append(&Record::Step(record.clone()))?;
        result.commands.push(record.argv.clone());
        result
            .packages
            .extend(record.packages.iter().map(|change| PackageChange {
                name: change.name.clone(),
                arch: change.arch.clone(),
                before: change.before.clone(),
                after: change.after.clone(),
            }));
        match (&record.outcome, &record.error) {
            (Outcome::Succeeded, _) => succeeded += 1,
            (outcome, error) => {
                result.outcome = TaskOutcome::Failed;
                let detail = error.as_deref().unwrap_or("no detail");
                result.messages.push(format!(
                    "step {} ({}) {}: {detail}",
                    record.index,
                    step.package,
                    outcome.as_text()
                ));
            }
        }
        if let Some(after) = after {
            current = after;
        }
    }
    result.commands.retain(|argv| !argv.is_empty());
    journal.append(&Record::End(EndRecord {
        ended_at: apply::now(),
        succeeded,
        failed: steps.len() - succeeded,
        skipped: 0,
    }))?;
    result
        .messages
        .push(format!("journal: {}", journal.path().display()));
    Ok(result)
}

/// Returns whether a running process still maps deleted files of the
/// verify payload's packages, from the inventory's runtime data.
pub fn restart_needed(
    task: &Task,
    inventory: &Inventory,
) -> anyhow::Result<(bool, Option<String>)> {
    let payload: VerifyPayload = serde_json::from_value(task.payload.clone())
        .context("the verify task's payload is not a valid verify payload")?;
    // The runtime data names binary packages, and the payload names the
    // packages the advisories name, so both the names and the binaries
    // built from them count.
    let mut names: BTreeSet<&str> = payload.packages.iter().map(String::as_str).collect();
    for package in &inventory.packages {
        if payload
            .packages
            .iter()
            .any(|name| name == package.source_name())
        {
            names.insert(package.name.as_str());
        }
    }
    let processes = crate::commands::verify::processes_to_restart(inventory, &names);
    Ok((processes.is_some(), processes))
}

/// Returns whether a task kind needs a fresh inventory upload before the report.
pub fn uploads_first(kind: TaskKind) -> bool {
    matches!(kind, TaskKind::Scan | TaskKind::Verify)
}

/// Builds the successful result of a scan or verify task.
pub fn succeeded(messages: Vec<String>, restart_needed: bool) -> TaskResult {
    TaskResult {
        outcome: TaskOutcome::Succeeded,
        dry_run: false,
        messages,
        commands: Vec::new(),
        packages: Vec::new(),
        restart_needed,
    }
}

/// Returns the failed result of a task that could not run.
pub fn failure(message: String) -> TaskResult {
    failed(message)
}

/// Returns the journal directory of the agent's fixes.
pub fn journal_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("journal")
}
