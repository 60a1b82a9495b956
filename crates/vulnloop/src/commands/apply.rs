//! `vulnloop fix --apply`: run the plan's upgrade steps and journal them.
//!
//! Each step runs the argument vector that [`FixStep::argv`] builds, never
//! a command string from outside and never through a shell. With `--root`
//! the vector runs as `chroot ROOT argv…`. Before a step, every package must
//! be installed and older than its target, and the dpkg lock must be free.
//! After a step, the collector reads the packages again, and a package still
//! below its target fails the step even when apt-get exited 0.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use vulnloop_collect::CollectOptions;
use vulnloop_inventory::{Inventory, Package, PackageManager};
use vulnloop_remediate::{FixPlan, FixStep, Tool};
use vulnloop_version::Scheme;

use crate::cli::FixArgs;
use crate::exit::Code;
use crate::output::{plural, print_stdout};

use vulnloop_state::{FindingKey, StateDb, Status};

use super::execute::{self, Finished};
use super::journal::{
    ClosedId, EndRecord, JournalWriter, Outcome, PackageChange, Record, RunKind, RunRecord,
    StepRecord, JOURNAL_VERSION,
};
use super::state;

/// The lock files apt and dpkg take, relative to the root, in the order apt takes them.
const DPKG_LOCKS: [&str; 2] = ["var/lib/dpkg/lock-frontend", "var/lib/dpkg/lock"];

/// The lock file rpm takes in each place its database may be, relative to the root.
const RPM_LOCKS: [&str; 2] = ["var/lib/rpm/.rpm.lock", "usr/lib/sysimage/rpm/.rpm.lock"];

/// The tools that `--apply` runs. apk is left out because no apk-tools
/// package exists here to test it with.
const APPLIED_TOOLS: [Tool; 4] = [Tool::Apt, Tool::Dnf, Tool::Yum, Tool::Zypper];

/// PATH inside a chroot: the host's PATH names the host's directories.
pub(super) const CHROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The root filesystem that the steps run in, and the tool that runs them.
pub(super) struct Target {
    /// `/` for the running system, else the directory given with `--root`.
    pub(super) root: PathBuf,
    pub(super) os_override: Option<String>,
    pub(super) tool: Tool,
}

impl Target {
    fn is_host(&self) -> bool {
        self.root == Path::new("/")
    }

    /// Runs `argv` in the root and returns the argument vector as run with
    /// how it finished. See [`Target::command`] for how a root other than `/` is entered.
    pub(super) fn run(
        &self,
        argv: &[String],
        timeout: Duration,
    ) -> anyhow::Result<(Vec<String>, Finished)> {
        let command = self.command(argv);
        let mut environment = vec![("DEBIAN_FRONTEND", "noninteractive")];
        if command.first().is_some_and(|program| program == "chroot") {
            environment.push(("PATH", CHROOT_PATH));
        }
        let finished = execute::run(&command, &environment, timeout)?;
        Ok((command, finished))
    }

    /// Returns the argument vector that runs `argv` in the root.
    ///
    /// apt-get has no option for another root, so it runs as `chroot ROOT
    /// apt-get …` with the root's own apt. dnf and yum run on the host with
    /// `--installroot=ROOT` and zypper with `--root ROOT`. These options read
    /// the root's repository configuration and rpm database, so the root
    /// needs no package manager of its own.
    pub(super) fn command(&self, argv: &[String]) -> Vec<String> {
        if self.is_host() {
            return argv.to_vec();
        }
        match (self.tool, argv.split_first()) {
            (Tool::Dnf | Tool::Yum, Some((program, rest))) => {
                let mut command = vec![
                    program.clone(),
                    format!("--installroot={}", self.root.display()),
                ];
                command.extend_from_slice(rest);
                command
            }
            (Tool::Zypper, Some((program, rest))) => {
                let mut command = vec![
                    program.clone(),
                    "--root".to_string(),
                    self.root.display().to_string(),
                ];
                command.extend_from_slice(rest);
                command
            }
            _ => {
                let mut command = vec!["chroot".to_string(), self.root.display().to_string()];
                command.extend_from_slice(argv);
                command
            }
        }
    }

    /// Returns the ordering of the tool's package versions.
    fn scheme(&self) -> Scheme {
        vulnloop_match::scheme_for(self.tool.manager())
    }

    pub(super) fn collect(&self) -> anyhow::Result<Inventory> {
        let options = CollectOptions {
            root: self.root.clone(),
            os_override: self.os_override.clone(),
        };
        vulnloop_collect::collect(&options).with_context(|| {
            format!(
                "failed to read the installed packages of {}",
                self.root.display()
            )
        })
    }
}

/// Runs every step of `plan` on the host or root that `inventory` describes.
///
/// `plan_text` is the plan as a table, shown before the confirmation.
/// Returns [`Code::Clean`] when every step succeeded and `Findings(1)` when a
/// step failed, timed out or was skipped.
///
/// Before each step, the findings it closes move to `fixing` in the
/// finding history, and after it to `fixed` or `fix_failed`.
pub fn run(
    args: &FixArgs,
    plan: &FixPlan,
    inventory: &Inventory,
    plan_text: &str,
    mut state: Option<&mut StateDb>,
) -> anyhow::Result<Code> {
    let target = target(args)?;
    let steps: Vec<&FixStep> = plan.steps().collect();
    if steps.is_empty() {
        print_stdout(plan_text)?;
        eprintln!("nothing to apply: the plan has no upgrade steps");
        return Ok(Code::Clean);
    }
    if steps.iter().any(|step| step.tool == Tool::Wusa) {
        bail!(
            "--apply cannot install Windows updates: run the printed wusa.exe commands on the Windows host \
             as administrator, restart it, then check the result with \
             `vulnloop verify --before OLD --inventory NEW`"
        );
    }
    if let Some(step) = steps
        .iter()
        .find(|step| !APPLIED_TOOLS.contains(&step.tool))
    {
        bail!(
            "--apply runs apt, dnf, yum and zypper steps only, and the plan has a {} step for {}; run the plan's \
             commands yourself (`vulnloop fix` prints them)",
            step.tool.program(),
            step.package
        );
    }
    let target = Target {
        tool: steps[0].tool,
        ..target
    };
    if let Some(step) = steps.iter().find(|step| step.tool != target.tool) {
        bail!(
            "the plan mixes {} and {} steps, which --apply does not run in one go; narrow it with --package",
            target.tool.program(),
            step.tool.program()
        );
    }
    let argvs = steps
        .iter()
        .map(|step| step.argv())
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(held) = held_lock(&target)? {
        bail!(
            "the package manager is busy: {held}; nothing was applied. \
             Wait for that {} run to finish, then run `vulnloop fix --apply` again",
            target.tool.program()
        );
    }

    print_stdout(plan_text)?;
    let question = format!(
        "apply {} to {}?",
        plural(steps.len(), "step"),
        target.root.display()
    );
    if !args.yes && !confirm(&question, "apply the plan above")? {
        eprintln!("nothing applied: the run was not confirmed");
        return Ok(Code::Failure);
    }
    if args.refresh {
        refresh_index(&target, Duration::from_secs(args.timeout))?;
    }

    let journal_dir = args
        .journal_dir
        .clone()
        .unwrap_or_else(super::journal::default_dir);
    let mut journal = JournalWriter::create(&journal_dir)?;
    journal.append(&Record::Run(RunRecord {
        journal_version: JOURNAL_VERSION,
        tool: format!("vulnloop {}", env!("CARGO_PKG_VERSION")),
        started_at: now(),
        root: target.root.display().to_string(),
        steps: steps.len(),
        kind: RunKind::Apply,
        rolls_back: None,
    }))?;

    let timeout = Duration::from_secs(args.timeout);
    let mut records = Vec::new();
    let mut current = inventory.clone();
    let mut lock_error = None;
    let target_name = state::target_of(inventory);
    for (index, (step, argv)) in steps.iter().zip(&argvs).enumerate() {
        let keys: Vec<FindingKey> = step
            .closes
            .iter()
            .map(|c| FindingKey {
                id: c.id.clone(),
                package: step.package.clone(),
            })
            .collect();
        let started = format!(
            "step {} started: {} {} -> {}",
            index + 1,
            step.package,
            step.installed_version,
            step.target_version
        );
        state::set_status(
            state.as_deref_mut(),
            &target_name,
            &keys,
            Status::Fixing,
            &started,
            Some(journal.path()),
        );

        let (record, after) = run_step(index + 1, step, argv, &target, &current, timeout)?;
        journal.append(&Record::Step(record.clone()))?;
        let (status, detail) = match (&record.outcome, &record.error) {
            (Outcome::Succeeded, _) => (Status::Fixed, format!("step {} succeeded", record.index)),
            (outcome, Some(error)) => (
                Status::FixFailed,
                format!("step {} {}: {error}", record.index, outcome.as_text()),
            ),
            (outcome, None) => (
                Status::FixFailed,
                format!("step {} {}", record.index, outcome.as_text()),
            ),
        };
        state::set_status(
            state.as_deref_mut(),
            &target_name,
            &keys,
            status,
            &detail,
            Some(journal.path()),
        );
        let lock_held = record.error.as_deref().is_some_and(is_lock_message);
        records.push(record);
        if let Some(after) = after {
            current = after;
        }
        if lock_held {
            lock_error = records.last().and_then(|r| r.error.clone());
            break;
        }
    }

    let count = |outcome: Outcome| records.iter().filter(|r| r.outcome == outcome).count();
    let end = EndRecord {
        ended_at: now(),
        succeeded: count(Outcome::Succeeded),
        failed: count(Outcome::Failed) + count(Outcome::TimedOut),
        skipped: count(Outcome::Skipped) + steps.len() - records.len(),
    };
    journal.append(&Record::End(end.clone()))?;
    print_stdout(&summary(&records, &end, &target.root, journal.path()))?;

    if let Some(error) = lock_error {
        bail!(
            "stopped the run because the package manager is locked: {error}; the journal is {}",
            journal.path().display()
        );
    }
    Ok(if end.failed == 0 && end.skipped == 0 {
        Code::Clean
    } else {
        Code::Findings(1)
    })
}

/// Refreshes the package index in the target (`apt-get update`, `dnf
/// makecache --refresh`, `zypper refresh`), so that the tool finds the fixed
/// versions published since its last refresh. Fails, before anything is installed,
/// when the command fails or times out.
fn refresh_index(target: &Target, timeout: Duration) -> anyhow::Result<()> {
    let argv: Vec<String> = match target.tool {
        Tool::Dnf | Tool::Yum => vec![
            target.tool.program().to_string(),
            "makecache".into(),
            "--refresh".into(),
        ],
        Tool::Zypper => ["zypper", "--non-interactive", "refresh"]
            .map(String::from)
            .to_vec(),
        _ => ["apt-get", "update"].map(String::from).to_vec(),
    };
    eprintln!(
        "refreshing the package index: {}",
        target.command(&argv).join(" ")
    );
    let (command, finished) = target.run(&argv, timeout)?;
    if finished.timed_out {
        bail!(
            "`{}` timed out after {} s; nothing was applied",
            command.join(" "),
            timeout.as_secs()
        );
    }
    if finished.exit_code != Some(0) {
        let messages = package_manager_messages(&finished, &[]);
        let message = if messages.is_empty() {
            finished.stderr_tail.trim().to_string()
        } else {
            messages.join(" ")
        };
        bail!(
            "`{}` failed ({}): {message}; nothing was applied. Fix the repository configuration, or leave \
             out --refresh to install from the current package index",
            command.join(" "),
            exit_text(&finished)
        );
    }
    Ok(())
}

/// Describes how a command ended: `exit status N` or `signal N`.
fn exit_text(finished: &Finished) -> String {
    match (finished.exit_code, finished.signal) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "no exit status".to_string(),
    }
}

/// Reads `--root` and checks that the steps can run there.
fn target(args: &FixArgs) -> anyhow::Result<Target> {
    let os_override = args.source.os.clone();
    if !execute::is_root() {
        bail!(
            "applying fixes needs root, because apt-get installs packages and chroot enters --root; \
             run vulnloop as root (for example with sudo), or leave out --apply to print the plan"
        );
    }
    // The tool is set from the plan's steps once they are known.
    let tool = Tool::Apt;
    let Some(root) = &args.source.root else {
        return Ok(Target {
            root: PathBuf::from("/"),
            os_override,
            tool,
        });
    };
    let root = root.canonicalize().with_context(|| {
        format!(
            "invalid --root {}: the directory is missing or unreadable",
            root.display()
        )
    })?;
    if !root.is_dir() {
        bail!("invalid --root {}: it is not a directory", root.display());
    }
    Ok(Target {
        root,
        os_override,
        tool,
    })
}

/// Returns `PATH is held by process PID` for the first lock file of the
/// target's package manager (dpkg's or rpm's) that another process holds,
/// or `None` when all are free.
pub(super) fn held_lock(target: &Target) -> anyhow::Result<Option<String>> {
    let locks = match target.tool.manager() {
        PackageManager::Rpm => RPM_LOCKS.as_slice(),
        _ => DPKG_LOCKS.as_slice(),
    };
    for lock in locks {
        let path = target.root.join(lock);
        if let Some(pid) = execute::lock_holder(&path)? {
            return Ok(Some(format!("{} is held by process {pid}", path.display())));
        }
    }
    Ok(None)
}

/// Asks `question` on the terminal. Fails when stdin is not a terminal,
/// with a message that suggests `--yes` to `action` without asking.
pub(super) fn confirm(question: &str, action: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "confirmation required, but stdin is not a terminal, so nothing was applied; \
             pass --yes to {action} without asking"
        );
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("failed to read the confirmation from stdin")?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Checks, runs and records one step. Returns the record and the inventory
/// read after the step, which is `None` when the command did not run.
pub(super) fn run_step(
    index: usize,
    step: &FixStep,
    argv: &[String],
    target: &Target,
    before: &Inventory,
    timeout: Duration,
) -> anyhow::Result<(StepRecord, Option<Inventory>)> {
    let started_at = now();
    let mut record = StepRecord {
        index,
        package: step.package.clone(),
        installed_version: step.installed_version.clone(),
        target_version: step.target_version.clone(),
        argv: Vec::new(),
        started_at: started_at.clone(),
        ended_at: started_at,
        outcome: Outcome::Skipped,
        exit_code: None,
        error: None,
        stdout_tail: String::new(),
        stderr_tail: String::new(),
        packages: changes(step, before, None),
        closes: step
            .closes
            .iter()
            .map(|c| ClosedId {
                id: c.id.clone(),
                advisory_id: c.advisory_id.clone(),
            })
            .collect(),
    };

    let precheck =
        check_step(step, before, target.scheme()).and_then(|()| match held_lock(target) {
            Ok(None) => Ok(()),
            Ok(Some(held)) => Err(format!("the package manager is busy: {held}")),
            Err(error) => Err(format!("{error:#}")),
        });
    if let Err(reason) = precheck {
        record.error = Some(reason);
        record.ended_at = now();
        return Ok((record, None));
    }

    eprintln!("running step {index}: {}", target.command(argv).join(" "));
    let (command, finished) = target.run(argv, timeout)?;
    let after = target.collect()?;

    record.argv = command;
    record.ended_at = now();
    record.exit_code = finished.exit_code;
    let planned = changes(step, before, Some(&after));
    let (outcome, error) = judge(step, &finished, &planned, &after, timeout);
    record.packages = planned;
    record
        .packages
        .extend(side_effects(&record.packages, before, &after));
    record.outcome = outcome;
    record.error = error;
    record.stdout_tail = finished.stdout_tail;
    record.stderr_tail = finished.stderr_tail;
    Ok((record, Some(after)))
}

/// Checks that every package of the step is installed and older than its
/// target in the package manager's ordering `scheme`.
fn check_step(step: &FixStep, inventory: &Inventory, scheme: Scheme) -> Result<(), String> {
    let newer = |target: &str, installed: &str| -> Result<bool, String> {
        scheme
            .compare(target, installed)
            .map(|order| order == Ordering::Greater)
            .map_err(|e| format!("failed to compare the versions {target} and {installed}: {e}"))
    };
    if !newer(&step.target_version, &step.installed_version)? {
        return Err(format!(
            "the target version {} of {} is not newer than the installed version {}",
            step.target_version, step.package, step.installed_version
        ));
    }
    for planned in &step.packages {
        let Some(installed) = find_package(inventory, &planned.name, planned.arch.as_deref())
        else {
            return Err(format!("package {} is not installed", planned.name));
        };
        if let Some(target) = &planned.target_version {
            if !newer(target, &installed.version)? {
                return Err(format!(
                    "package {} is already at {}, which is not older than the target {target}",
                    planned.name, installed.version
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn find_package<'a>(
    inventory: &'a Inventory,
    name: &str,
    arch: Option<&str>,
) -> Option<&'a Package> {
    inventory
        .packages
        .iter()
        .find(|p| p.name == name && (arch.is_none() || p.arch.as_deref() == arch))
}

/// Lists the packages outside `planned` whose installed version the step
/// changed: new dependencies, removed packages and upgraded ones.
fn side_effects(
    planned: &[PackageChange],
    before: &Inventory,
    after: &Inventory,
) -> Vec<PackageChange> {
    let key = |package: &Package| (package.name.clone(), package.arch.clone());
    let versions = |inventory: &Inventory| -> BTreeMap<(String, Option<String>), String> {
        inventory
            .packages
            .iter()
            .map(|p| (key(p), p.version.clone()))
            .collect()
    };
    let (old, new) = (versions(before), versions(after));
    let mut names: BTreeSet<&(String, Option<String>)> = old.keys().collect();
    names.extend(new.keys());
    names
        .into_iter()
        .filter(|(name, arch)| {
            !planned
                .iter()
                .any(|c| &c.name == name && (c.arch.is_none() || &c.arch == arch))
        })
        .filter(|name| old.get(*name) != new.get(*name))
        .map(|(name, arch)| PackageChange {
            name: name.clone(),
            arch: arch.clone(),
            before: old.get(&(name.clone(), arch.clone())).cloned(),
            after: new.get(&(name.clone(), arch.clone())).cloned(),
            target_version: None,
            target_source_version: None,
            side_effect: true,
        })
        .collect()
}

/// Lists the step's packages with their versions before and, when known, after the step.
fn changes(step: &FixStep, before: &Inventory, after: Option<&Inventory>) -> Vec<PackageChange> {
    step.packages
        .iter()
        .map(|planned| {
            let version_in = |inventory: &Inventory| {
                find_package(inventory, &planned.name, planned.arch.as_deref())
                    .map(|p| p.version.clone())
            };
            PackageChange {
                name: planned.name.clone(),
                arch: planned.arch.clone(),
                before: version_in(before),
                after: after.and_then(version_in),
                target_version: planned.target_version.clone(),
                target_source_version: planned.target_source_version.clone(),
                side_effect: false,
            }
        })
        .collect()
}

/// Decides a step's outcome from the command's exit and the versions after it.
fn judge(
    step: &FixStep,
    finished: &Finished,
    changes: &[PackageChange],
    after: &Inventory,
    timeout: Duration,
) -> (Outcome, Option<String>) {
    let program = step.tool.program();
    let messages = match command_result(program, finished, changes, timeout) {
        Ok(messages) => messages,
        Err((outcome, error)) => return (outcome, Some(error)),
    };
    let with_messages = |text: String| append_messages(text, &messages);
    let scheme = vulnloop_match::scheme_for(step.tool.manager());
    let below: Vec<String> = changes
        .iter()
        .filter_map(|change| below_target(change, after, scheme))
        .collect();
    if below.is_empty() {
        return (Outcome::Succeeded, None);
    }
    (
        Outcome::Failed,
        Some(with_messages(format!(
            "{program} exited with status 0, but {}",
            below.join("; ")
        ))),
    )
}

/// Judges how a step's command ended. Returns the outcome and error when it
/// timed out, exited non-zero or was killed, else the package manager's
/// messages, for an error that the versions after it may still call for.
pub(super) fn command_result(
    program: &str,
    finished: &Finished,
    changes: &[PackageChange],
    timeout: Duration,
) -> Result<Vec<String>, (Outcome, String)> {
    let messages = package_manager_messages(finished, changes);
    if finished.timed_out {
        let error = format!(
            "{program} ran longer than the time limit of {} seconds and was killed",
            timeout.as_secs()
        );
        return Err((Outcome::TimedOut, append_messages(error, &messages)));
    }
    match (finished.exit_code, finished.signal) {
        (Some(0), _) => Ok(messages),
        (Some(code), _) => Err((
            Outcome::Failed,
            append_messages(format!("{program} exited with status {code}"), &messages),
        )),
        (None, signal) => {
            let signal = signal.map_or_else(|| "a signal".to_string(), |s| format!("signal {s}"));
            Err((
                Outcome::Failed,
                append_messages(format!("{program} was killed by {signal}"), &messages),
            ))
        }
    }
}

/// Appends the package manager's messages to an error, after a colon.
pub(super) fn append_messages(text: String, messages: &[String]) -> String {
    if messages.is_empty() {
        text
    } else {
        format!("{text}: {}", messages.join(" "))
    }
}

/// Returns why a package did not reach its target in the ordering `scheme`,
/// or `None` when it did.
fn below_target(change: &PackageChange, after: &Inventory, scheme: Scheme) -> Option<String> {
    let Some(version) = &change.after else {
        return Some(format!("{} is no longer installed", change.name));
    };
    let at_least = |version: &str, target: &str| {
        scheme
            .compare(version, target)
            .is_ok_and(|order| order != Ordering::Less)
    };
    if let Some(target) = &change.target_version {
        return (!at_least(version, target))
            .then(|| format!("{} is at {version}, below the target {target}", change.name));
    }
    if let Some(target) = &change.target_source_version {
        let package = find_package(after, &change.name, change.arch.as_deref())?;
        let source_version = package.source_version();
        return (!at_least(source_version, target)).then(|| {
            format!("{} {version} was built from source version {source_version}, below the target {target}", change.name)
        });
    }
    // A kernel metapackage has no target of its own: any upgrade counts.
    (change.before.as_deref() == Some(version.as_str()))
        .then(|| format!("{} stayed at {version}", change.name))
}

/// Picks the package manager's own explanation from the output tails: apt's
/// `E:` and `W:` lines, dpkg's `dpkg:` lines, the rpm tools' explanations
/// (see [`is_rpm_tool_message`]), and the lines that name a package of the
/// step (`vulnloop-demo is already the newest version (1.0-1).`).
pub(super) fn package_manager_messages(
    finished: &Finished,
    changes: &[PackageChange],
) -> Vec<String> {
    let errors = finished
        .stderr_tail
        .lines()
        .chain(
            finished
                .stdout_tail
                .lines()
                .filter(|line| is_rpm_tool_message(line)),
        )
        .filter(|line| {
            let apt =
                line.starts_with("E: ") || line.starts_with("W: ") || line.starts_with("dpkg: ");
            apt || is_rpm_tool_message(line)
        });
    let about_packages = finished.stdout_tail.lines().filter(|line| {
        changes
            .iter()
            .any(|c| line.starts_with(&format!("{} ", c.name)))
    });
    let mut messages: Vec<String> = errors
        .chain(about_packages)
        .map(|line| line.trim().to_string())
        .collect();
    messages.dedup();
    messages.truncate(5);
    messages
}

/// Returns whether a line is one of dnf's, yum's or zypper's explanations
/// of a failed or empty transaction.
fn is_rpm_tool_message(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("Error: ")
        || line.starts_with("No match for argument")
        || line.starts_with("No update candidate for")
        || line == "Nothing to do."
}

/// Returns whether apt's message reports that another process holds the dpkg lock.
pub(super) fn is_lock_message(text: &str) -> bool {
    text.contains("Could not get lock") || text.contains("is held by process")
}

fn summary(records: &[StepRecord], end: &EndRecord, root: &Path, journal: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\napplied the plan to {}: {} succeeded, {} failed, {} skipped",
        root.display(),
        end.succeeded,
        end.failed,
        end.skipped
    );
    super::journal::write_step_lines(&mut out, records);
    let _ = writeln!(out, "journal: {}", journal.display());
    let root_option = if root == Path::new("/") {
        String::new()
    } else {
        format!(" --root {}", root.display())
    };
    let _ = writeln!(
        out,
        "check the result with: vulnloop verify{root_option} --journal {}",
        journal.display()
    );
    out
}

pub(super) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use vulnloop_advisory::PackageKind;
    use vulnloop_priority::PriorityLevel;
    use vulnloop_remediate::{PlannedPackage, Restart};

    use super::*;

    /// Builds an inventory with `vulnloop-demo` at `version`, built from source version `source_version`.
    fn inventory(version: &str, source_version: &str) -> Inventory {
        let json = serde_json::json!({
            "schema_version": vulnloop_inventory::SCHEMA_VERSION,
            "collected_at": "2026-12-04T00:00:00Z",
            "host": { "hostname": null, "root": "/srv/root", "kernel": null,
                      "os": { "id": "debian", "version_id": "12", "codename": "bookworm", "pretty_name": null,
                              "source": "/etc/os-release" } },
            "packages": [{ "manager": "dpkg", "name": "vulnloop-demo", "version": version, "arch": "amd64",
                           "source_name": "vulnloop-demo", "source_version": source_version,
                           "origin": "/var/lib/dpkg/status:1" }],
            "problems": []
        });
        Inventory::from_json(&json.to_string(), "test").unwrap()
    }

    fn step(target: &str, package_target: Option<&str>) -> FixStep {
        FixStep {
            tool: Tool::Apt,
            package: "vulnloop-demo".into(),
            package_kind: PackageKind::Source,
            installed_version: "1.0-1".into(),
            target_version: target.into(),
            priority: PriorityLevel::FixLater,
            packages: vec![PlannedPackage {
                name: "vulnloop-demo".into(),
                arch: Some("amd64".into()),
                installed_version: "1.0-1".into(),
                target_version: package_target.map(String::from),
                target_source_version: Some(target.into()),
            }],
            closes: vec![],
            reboot_needed: false,
            reboot_reason: None,
            restart: Restart::Unknown,
            command: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn check_step_accepts_older_package() {
        assert_eq!(
            check_step(
                &step("1.0-2", Some("1.0-2")),
                &inventory("1.0-1", "1.0-1"),
                Scheme::Dpkg
            ),
            Ok(())
        );
    }

    #[test]
    fn check_step_rejects_bad_states() {
        let error = check_step(
            &step("1.0-1", Some("1.0-1")),
            &inventory("1.0-1", "1.0-1"),
            Scheme::Dpkg,
        )
        .unwrap_err();
        assert!(
            error.contains("is not newer than the installed version 1.0-1"),
            "{error}"
        );

        let error = check_step(
            &step("1.0-2", Some("1.0-2")),
            &inventory("1.0-2", "1.0-2"),
            Scheme::Dpkg,
        )
        .unwrap_err();
        assert!(error.contains("already at 1.0-2"), "{error}");

        let mut other = step("1.0-2", Some("1.0-2"));
        other.packages[0].name = "vulnloop-other".into();
        let error = check_step(&other, &inventory("1.0-1", "1.0-1"), Scheme::Dpkg).unwrap_err();
        assert_eq!(error, "package vulnloop-other is not installed");

        let error = check_step(
            &step("1.0-2", Some("not a version!")),
            &inventory("1.0-1", "1.0-1"),
            Scheme::Dpkg,
        )
        .unwrap_err();
        assert!(error.contains("failed to compare the versions"), "{error}");
    }

    #[test]
    fn below_target_by_kind_of_target() {
        let after = inventory("1.0-2+b1", "1.0-2");
        let with_target = changes(
            &step("1.0-2", Some("1.0-2")),
            &inventory("1.0-1", "1.0-1"),
            Some(&after),
        );
        assert_eq!(
            below_target(&with_target[0], &after, Scheme::Dpkg),
            None,
            "1.0-2+b1 is at least 1.0-2"
        );

        let stayed = inventory("1.0-1", "1.0-1");
        let unchanged = changes(&step("1.0-2", Some("1.0-2")), &stayed, Some(&stayed));
        let reason = below_target(&unchanged[0], &stayed, Scheme::Dpkg).unwrap();
        assert_eq!(reason, "vulnloop-demo is at 1.0-1, below the target 1.0-2");

        let binnmu = changes(&step("1.0-3", None), &stayed, Some(&after));
        let reason = below_target(&binnmu[0], &after, Scheme::Dpkg).unwrap();
        assert!(
            reason.contains("built from source version 1.0-2, below the target 1.0-3"),
            "{reason}"
        );

        let removed = changes(
            &step("1.0-2", Some("1.0-2")),
            &stayed,
            Some(&inventory_without_packages()),
        );
        assert_eq!(
            below_target(&removed[0], &stayed, Scheme::Dpkg).unwrap(),
            "vulnloop-demo is no longer installed"
        );
    }

    fn inventory_without_packages() -> Inventory {
        let mut inventory = inventory("1.0-1", "1.0-1");
        inventory.packages.clear();
        inventory
    }

    #[test]
    fn lock_messages_recognized() {
        assert!(is_lock_message(
            "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 42 (python3)"
        ));
        assert!(!is_lock_message(
            "E: Unable to locate package vulnloop-demo"
        ));
    }

    #[test]
    fn chroot_prefix_only_for_other_roots() {
        let argv = vec!["apt-get".to_string(), "install".to_string()];
        let host = Target {
            root: PathBuf::from("/"),
            os_override: None,
            tool: Tool::Apt,
        };
        assert_eq!(host.command(&argv), argv);
        let chroot = Target {
            root: PathBuf::from("/srv/root"),
            os_override: None,
            tool: Tool::Apt,
        };
        assert_eq!(
            chroot.command(&argv),
            ["chroot", "/srv/root", "apt-get", "install"]
        );
    }

    #[test]
    fn rpm_tools_get_root_option() {
        let argv = ["dnf", "upgrade", "-y", "openssl"].map(String::from);
        let host = Target {
            root: PathBuf::from("/"),
            os_override: None,
            tool: Tool::Dnf,
        };
        assert_eq!(host.command(&argv), argv);
        let dnf = Target {
            root: PathBuf::from("/srv/root"),
            os_override: None,
            tool: Tool::Dnf,
        };
        assert_eq!(
            dnf.command(&argv),
            ["dnf", "--installroot=/srv/root", "upgrade", "-y", "openssl"]
        );
        let argv = ["zypper", "--non-interactive", "update", "openssl"].map(String::from);
        let zypper = Target {
            root: PathBuf::from("/srv/root"),
            os_override: None,
            tool: Tool::Zypper,
        };
        assert_eq!(
            zypper.command(&argv),
            [
                "zypper",
                "--root",
                "/srv/root",
                "--non-interactive",
                "update",
                "openssl"
            ]
        );
    }

    #[test]
    fn rpm_tool_lines_picked() {
        let finished = Finished {
            exit_code: Some(0),
            signal: None,
            timed_out: false,
            stdout_tail: "Dependencies resolved.\nNothing to do.\nComplete!\n".into(),
            stderr_tail: "Error: Unable to find a match: nosuch\n".into(),
        };
        assert_eq!(
            package_manager_messages(&finished, &[]),
            ["Error: Unable to find a match: nosuch", "Nothing to do."]
        );
    }
}
