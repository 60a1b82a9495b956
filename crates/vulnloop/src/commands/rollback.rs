//! `vulnloop fix --rollback`: return the packages that an apply run changed
//! to the versions they had before it.
//!
//! The versions come from the apply run's journal. Each journal step that
//! changed a version becomes one `apt-get install --allow-downgrades` of
//! `NAME=VERSION` arguments, and the packages the step newly installed are
//! then removed with `dpkg --remove`. Commands run without a shell and, for
//! a journal of another root, as `chroot ROOT argv…`. The steps run in
//! reverse order.
//! The lock check, confirmation and time limit are those of `--apply`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::bail;
use vulnloop_inventory::{Inventory, PackageManager};
use vulnloop_remediate::Tool;
use vulnloop_state::{FindingKey, Status};
use vulnloop_version::Scheme;

use crate::cli::FixArgs;
use crate::exit::Code;
use crate::output::{plural, print_stdout};

use super::apply::{self, Target};
use super::execute::{self, Finished};
use super::journal::{
    EndRecord, Journal, JournalWriter, Outcome, PackageChange, Record, RunKind, RunRecord,
    StepRecord, JOURNAL_VERSION,
};
use super::{state, verify};

/// Maximum length of a version in a journal, as for package names.
const MAX_VERSION_LEN: usize = 200;

/// One binary package to return to its version before the apply run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Revert {
    name: String,
    arch: Option<String>,
    /// Version the apply run left, `None` when the run removed the package.
    applied: Option<String>,
    /// Version before the apply run, `None` when the run newly installed the package.
    previous: Option<String>,
}

/// The rollback of one journal step.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RollbackStep {
    /// Index of the apply step this rolls back.
    index: usize,
    /// Package the advisories name (a source package on Debian).
    package: String,
    /// The apply step's target version, which the rollback leaves.
    applied_version: String,
    /// The apply step's installed version, which the rollback returns to.
    previous_version: String,
    packages: Vec<Revert>,
    argv: Vec<String>,
}

/// Rolls back the apply run of `--journal`, or the newest one in the journal directory.
///
/// Returns [`Code::Clean`] when every package is back at its version before
/// the run, and `Findings(1)` when a step failed, timed out or was skipped.
///
/// The findings that a rolled-back step had closed return to `unfixed` in
/// the finding history.
pub fn run(args: &FixArgs, state_path: &Path) -> anyhow::Result<Code> {
    if !execute::is_root() {
        bail!(
            "rolling back needs root, because apt-get installs packages and chroot enters the journal's root; \
             run vulnloop as root (for example with sudo)"
        );
    }
    let journal_dir = args
        .journal_dir
        .clone()
        .unwrap_or_else(super::journal::default_dir);
    let journal = match &args.journal {
        Some(path) => Journal::read(path)?,
        None => Journal::newest_apply_in(&journal_dir)?,
    };
    if journal.run.kind == RunKind::Rollback {
        bail!(
            "journal {} records a rollback, not an apply run; pass the journal of a `vulnloop fix --apply` run with --journal",
            journal.path.display()
        );
    }
    if let Some(program) = rpm_tool_of(&journal) {
        let advice = match program {
            "zypper" => "reinstall the versions before the run with `zypper install --oldpackage NAME-VERSION` \
                         (the journal lists them; add --root ROOT for a root filesystem)"
                .to_string(),
            _ => format!(
                "undo it with `{program} history undo last` ({program} keeps its own transaction history; \
                 add --installroot=ROOT for a root filesystem)"
            ),
        };
        bail!(
            "journal {} records a {program} run, and --rollback undoes apt runs only; {advice}",
            journal.path.display()
        );
    }
    if journal.end.is_none() {
        eprintln!(
            "warning: journal {} has no end record: the run was interrupted",
            journal.path.display()
        );
    }
    let root = verify::root(args.source.root.as_deref(), &journal)?;
    let target = Target {
        root,
        os_override: args.source.os.clone(),
        tool: Tool::Apt,
    };

    let steps = rollback_steps(&journal)?;
    if steps.is_empty() {
        eprintln!(
            "nothing to roll back: no step of journal {} changed an installed version",
            journal.path.display()
        );
        return Ok(Code::Clean);
    }
    if let Some(held) = apply::held_lock(&target)? {
        bail!(
            "the package manager is busy: {held}; nothing was rolled back. \
             Wait for that apt or dpkg run to finish, then run `vulnloop fix --rollback` again"
        );
    }

    print_stdout(&render_plan(&journal, &steps, &target))?;
    let question = format!(
        "roll back {} in {}?",
        plural(steps.len(), "step"),
        target.root.display()
    );
    if !args.yes && !apply::confirm(&question, "roll back the steps above")? {
        eprintln!("nothing rolled back: the run was not confirmed");
        return Ok(Code::Failure);
    }

    let mut writer = JournalWriter::create(&journal_dir)?;
    writer.append(&Record::Run(RunRecord {
        journal_version: JOURNAL_VERSION,
        tool: format!("vulnloop {}", env!("CARGO_PKG_VERSION")),
        started_at: apply::now(),
        root: target.root.display().to_string(),
        steps: steps.len(),
        kind: RunKind::Rollback,
        rolls_back: Some(journal.path.display().to_string()),
    }))?;

    let timeout = Duration::from_secs(args.timeout);
    let mut current = target.collect()?;
    let mut records = Vec::new();
    let mut lock_error = None;
    let mut history = state::open(state_path);
    let target_name = state::target_of(&current);
    for step in &steps {
        let (record, after) = run_step(step, &target, &current, timeout)?;
        writer.append(&Record::Step(record.clone()))?;
        if record.outcome == Outcome::Succeeded {
            let detail = format!("rolled back to {} {}", step.package, step.previous_version);
            let keys = reopened_findings(&journal, step);
            state::set_status(
                history.as_mut(),
                &target_name,
                &keys,
                Status::Unfixed,
                &detail,
                Some(writer.path()),
            );
        }
        let lock_held = record.error.as_deref().is_some_and(apply::is_lock_message);
        if lock_held {
            lock_error = record.error.clone();
        }
        records.push(record);
        if let Some(after) = after {
            current = after;
        }
        if lock_held {
            break;
        }
    }

    let count = |outcome: Outcome| records.iter().filter(|r| r.outcome == outcome).count();
    let end = EndRecord {
        ended_at: apply::now(),
        succeeded: count(Outcome::Succeeded),
        failed: count(Outcome::Failed) + count(Outcome::TimedOut),
        skipped: count(Outcome::Skipped) + steps.len() - records.len(),
    };
    writer.append(&Record::End(end.clone()))?;
    print_stdout(&summary(&records, &end, &journal.path, writer.path()))?;

    if let Some(error) = lock_error {
        bail!("stopped the rollback because the package manager is locked: {error}; the journal is {}", writer.path().display());
    }
    Ok(if end.failed == 0 && end.skipped == 0 {
        Code::Clean
    } else {
        Code::Findings(1)
    })
}

/// Returns `dnf`, `yum` or `zypper` when a step of the journal ran one of them.
fn rpm_tool_of(journal: &Journal) -> Option<&'static str> {
    let programs = journal
        .steps
        .iter()
        .filter_map(|step| match step.argv.as_slice() {
            [chroot, _, program, ..] if chroot == "chroot" => Some(program.as_str()),
            [program, ..] => Some(program.as_str()),
            [] => None,
        });
    programs
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .find_map(|program| match program {
            "dnf" => Some("dnf"),
            "yum" => Some("yum"),
            "zypper" => Some("zypper"),
            _ => None,
        })
}

/// Returns the findings that the apply step undone by `step` was to close.
fn reopened_findings(journal: &Journal, step: &RollbackStep) -> Vec<FindingKey> {
    let applied = journal
        .steps
        .iter()
        .filter(|applied| applied.index == step.index);
    applied
        .flat_map(|applied| applied.closes.iter())
        .map(|closed| FindingKey {
            id: closed.id.clone(),
            package: step.package.clone(),
        })
        .collect()
}

/// Builds the rollback of each journal step that changed an installed
/// version, last step first: one step that reinstalls the previous versions,
/// then one that removes the packages the apply step newly installed.
///
/// Fails on a journal whose names or versions are not valid dpkg names and
/// versions, because they become arguments of apt-get and dpkg.
fn rollback_steps(journal: &Journal) -> anyhow::Result<Vec<RollbackStep>> {
    let mut steps = Vec::new();
    for step in journal.steps.iter().rev() {
        if step.argv.is_empty() {
            continue;
        }
        let mut packages = Vec::new();
        for change in &step.packages {
            let invalid = |reason: String| {
                anyhow::anyhow!(
                    "invalid journal {}: step {}: {reason}",
                    journal.path.display(),
                    step.index
                )
            };
            validate_package_name(&change.name).map_err(&invalid)?;
            if let Some(arch) = &change.arch {
                if !vulnloop_remediate::is_valid_arch(arch) {
                    return Err(invalid(format!(
                        "invalid architecture {arch:?} of package {}",
                        change.name
                    )));
                }
            }
            for version in change.before.iter().chain(&change.after) {
                validate_version(version)
                    .map_err(|reason| invalid(format!("package {}: {reason}", change.name)))?;
            }
            if change.before != change.after {
                packages.push(Revert {
                    name: change.name.clone(),
                    arch: change.arch.clone(),
                    applied: change.after.clone(),
                    previous: change.before.clone(),
                });
            }
        }
        let (reinstall, remove): (Vec<Revert>, Vec<Revert>) =
            packages.into_iter().partition(|p| p.previous.is_some());
        for (packages, argv) in [
            (reinstall.clone(), rollback_argv(&reinstall)),
            (remove.clone(), removal_argv(&remove)),
        ] {
            if packages.is_empty() {
                continue;
            }
            steps.push(RollbackStep {
                index: step.index,
                package: step.package.clone(),
                applied_version: step.target_version.clone(),
                previous_version: step.installed_version.clone(),
                packages,
                argv,
            });
        }
    }
    Ok(steps)
}

/// Returns `dpkg --remove NAME…` for packages an apply step newly installed.
///
/// dpkg, unlike apt-get, removes nothing else: when another package still
/// depends on one of them, it fails and leaves every package installed.
fn removal_argv(packages: &[Revert]) -> Vec<String> {
    let mut argv: Vec<String> = ["dpkg", "--remove"].map(String::from).to_vec();
    argv.extend(
        packages
            .iter()
            .map(|package| qualified_name(package, packages)),
    );
    argv
}

/// Returns the package's name, with `:ARCH` where `packages` lists the name
/// for several architectures.
fn qualified_name(package: &Revert, packages: &[Revert]) -> String {
    let repeated = packages
        .iter()
        .filter(|other| other.name == package.name)
        .count()
        > 1;
    match (&package.arch, repeated) {
        (Some(arch), true) if arch != "all" => format!("{}:{arch}", package.name),
        _ => package.name.clone(),
    }
}

/// Returns `apt-get install -y --allow-downgrades --no-remove NAME=VERSION…`.
///
/// A name is qualified with its architecture (`libc6:amd64=…`) where the
/// step lists it for several architectures. `--no-remove` makes apt-get stop
/// instead of removing packages that conflict with an old version.
fn rollback_argv(packages: &[Revert]) -> Vec<String> {
    let mut argv: Vec<String> = [
        "apt-get",
        "install",
        "-y",
        "--allow-downgrades",
        "--no-remove",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    for package in packages {
        let previous = package.previous.as_deref().unwrap_or_default();
        argv.push(format!("{}={previous}", qualified_name(package, packages)));
    }
    argv
}

fn validate_package_name(name: &str) -> Result<(), String> {
    vulnloop_remediate::validate_package_name(PackageManager::Dpkg, name)
        .map_err(|reason| format!("invalid package name {name:?}: {reason}"))
}

/// Checks a Debian version: `[EPOCH:]UPSTREAM[-REVISION]` of letters,
/// digits and `.+~:-`, where the upstream part starts with a digit.
fn validate_version(version: &str) -> Result<(), String> {
    let invalid = |reason: &str| Err(format!("invalid version {version:?}: {reason}"));
    if version.is_empty() || version.len() > MAX_VERSION_LEN {
        return invalid("a version has 1 to 200 characters");
    }
    if !version
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | ':' | '-'))
    {
        return invalid("a version may contain only letters, digits, '.', '+', '~', ':' and '-'");
    }
    let upstream = version.split_once(':').map_or(version, |(_, rest)| rest);
    if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
        return invalid("the upstream version must start with a digit");
    }
    Scheme::Dpkg
        .compare(version, version)
        .map(|_| ())
        .or_else(|error| invalid(&error.to_string()))
}

/// Checks, runs and records the rollback of one step. Returns the record
/// and the inventory read after it, which is `None` when the command did not run.
fn run_step(
    step: &RollbackStep,
    target: &Target,
    before: &Inventory,
    timeout: Duration,
) -> anyhow::Result<(StepRecord, Option<Inventory>)> {
    let started_at = apply::now();
    let mut record = StepRecord {
        index: step.index,
        package: step.package.clone(),
        installed_version: step.applied_version.clone(),
        target_version: step.previous_version.clone(),
        argv: Vec::new(),
        started_at: started_at.clone(),
        ended_at: started_at,
        outcome: Outcome::Skipped,
        exit_code: None,
        error: None,
        stdout_tail: String::new(),
        stderr_tail: String::new(),
        packages: changes(step, before, None),
        closes: Vec::new(),
    };

    let precheck = check_step(step, before).and_then(|()| match apply::held_lock(target) {
        Ok(None) => Ok(()),
        Ok(Some(held)) => Err(format!("the package manager is busy: {held}")),
        Err(error) => Err(format!("{error:#}")),
    });
    if let Err(reason) = precheck {
        record.error = Some(reason);
        record.ended_at = apply::now();
        return Ok((record, None));
    }

    eprintln!("rolling back step {}: {}", step.index, step.argv.join(" "));
    let (command, finished) = target.run(&step.argv, timeout)?;
    let after = target.collect()?;

    record.argv = command;
    record.ended_at = apply::now();
    record.exit_code = finished.exit_code;
    record.packages = changes(step, before, Some(&after));
    let (outcome, error) = judge(
        step.argv.first().map_or("apt-get", String::as_str),
        &finished,
        &record.packages,
        timeout,
    );
    record.outcome = outcome;
    record.error = error;
    record.stdout_tail = finished.stdout_tail;
    record.stderr_tail = finished.stderr_tail;
    Ok((record, Some(after)))
}

/// Checks that every package is still at the version the apply run left,
/// so the rollback does not undo a later change that no journal records.
fn check_step(step: &RollbackStep, inventory: &Inventory) -> Result<(), String> {
    for package in &step.packages {
        let installed = apply::find_package(inventory, &package.name, package.arch.as_deref())
            .map(|p| p.version.as_str());
        if installed == package.applied.as_deref() {
            continue;
        }
        let now = installed.map_or_else(
            || "not installed".to_string(),
            |version| format!("at {version}"),
        );
        let applied = package.applied.as_deref().map_or_else(
            || "removed it".to_string(),
            |version| format!("left {version}"),
        );
        return Err(format!(
            "package {} is {now}, but the apply run {applied}; it changed since, so this step is not rolled back",
            package.name
        ));
    }
    Ok(())
}

/// Lists the step's packages with their versions before and, when known, after the rollback.
fn changes(
    step: &RollbackStep,
    before: &Inventory,
    after: Option<&Inventory>,
) -> Vec<PackageChange> {
    step.packages
        .iter()
        .map(|package| {
            let version_in = |inventory: &Inventory| {
                apply::find_package(inventory, &package.name, package.arch.as_deref())
                    .map(|p| p.version.clone())
            };
            PackageChange {
                name: package.name.clone(),
                arch: package.arch.clone(),
                before: version_in(before),
                after: after.and_then(version_in),
                target_version: package.previous.clone(),
                target_source_version: None,
                side_effect: false,
            }
        })
        .collect()
}

/// Decides a rollback step's outcome from the command's exit and the versions after it.
fn judge(
    program: &str,
    finished: &Finished,
    changes: &[PackageChange],
    timeout: Duration,
) -> (Outcome, Option<String>) {
    let program = program.rsplit('/').next().unwrap_or(program);
    let messages = match apply::command_result(program, finished, changes, timeout) {
        Ok(messages) => messages,
        Err((outcome, error)) => return (outcome, Some(error)),
    };
    let with_messages = |text: String| apply::append_messages(text, &messages);
    let not_back: Vec<String> = changes
        .iter()
        .filter(|change| change.after != change.target_version)
        .map(|change| {
            let now = change
                .after
                .as_deref()
                .map_or_else(|| "not installed".to_string(), |v| format!("at {v}"));
            match change.target_version.as_deref() {
                Some(previous) => format!("{} is {now}, not back at {previous}", change.name),
                None => format!(
                    "{} is {now}, but it was not installed before the run",
                    change.name
                ),
            }
        })
        .collect();
    if not_back.is_empty() {
        return (Outcome::Succeeded, None);
    }
    (
        Outcome::Failed,
        Some(with_messages(format!(
            "{program} exited with status 0, but {}",
            not_back.join("; ")
        ))),
    )
}

fn render_plan(journal: &Journal, steps: &[RollbackStep], target: &Target) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "rollback of journal {} (root {}, run started {})",
        journal.path.display(),
        target.root.display(),
        journal.run.started_at
    );
    let _ = writeln!(
        out,
        "each command below runs as shown, without a shell, after the checks before each step\n"
    );
    for step in steps {
        let _ = writeln!(
            out,
            "step {}: {} {} -> {}",
            step.index, step.package, step.applied_version, step.previous_version
        );
        for package in &step.packages {
            let applied = package.applied.as_deref().unwrap_or("not installed");
            let previous = package.previous.as_deref().unwrap_or("removed");
            let _ = writeln!(out, "  {}: {applied} -> {previous}", package.name);
        }
        let _ = writeln!(out, "  command: {}", step.argv.join(" "));
    }
    out
}

fn summary(records: &[StepRecord], end: &EndRecord, rolled_back: &Path, journal: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nrolled back journal {}: {} succeeded, {} failed, {} skipped",
        rolled_back.display(),
        end.succeeded,
        end.failed,
        end.skipped
    );
    super::journal::write_step_lines(&mut out, records);
    let _ = writeln!(out, "journal: {}", journal.display());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::PathBuf;

    use super::*;

    fn change(name: &str, before: Option<&str>, after: Option<&str>) -> PackageChange {
        PackageChange {
            name: name.into(),
            arch: Some("amd64".into()),
            before: before.map(String::from),
            after: after.map(String::from),
            target_version: Some("1.0-2".into()),
            target_source_version: None,
            side_effect: false,
        }
    }

    fn step(index: usize, argv: &[&str], packages: Vec<PackageChange>) -> StepRecord {
        StepRecord {
            index,
            package: format!("source{index}"),
            installed_version: "1.0-1".into(),
            target_version: "1.0-2".into(),
            argv: argv.iter().map(|a| a.to_string()).collect(),
            started_at: String::new(),
            ended_at: String::new(),
            outcome: Outcome::Succeeded,
            exit_code: Some(0),
            error: None,
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            packages,
            closes: Vec::new(),
        }
    }

    fn journal(steps: Vec<StepRecord>) -> Journal {
        Journal {
            path: PathBuf::from("/var/lib/test.jsonl"),
            run: RunRecord {
                journal_version: JOURNAL_VERSION,
                tool: "vulnloop test".into(),
                started_at: "2026-12-05T00:00:00Z".into(),
                root: "/".into(),
                steps: steps.len(),
                kind: RunKind::Apply,
                rolls_back: None,
            },
            steps,
            end: None,
        }
    }

    #[test]
    fn steps_reversed_and_unchanged_left_out() {
        let journal = journal(vec![
            step(
                1,
                &["apt-get"],
                vec![change("libdemo1", Some("1.0-1"), Some("1.0-2"))],
            ),
            step(
                2,
                &["apt-get"],
                vec![change("libsame", Some("2.0-1"), Some("2.0-1"))],
            ),
            step(3, &[], vec![change("libskipped", Some("3.0-1"), None)]),
            step(
                4,
                &["apt-get"],
                vec![
                    change("libc6", Some("2.36-9"), Some("2.36-9+deb12u9")),
                    change("linux-image-6.1.0-30-amd64", None, Some("6.1.124-1")),
                    change("gone", Some("1:1.2-3"), None),
                ],
            ),
        ]);
        let steps = rollback_steps(&journal).unwrap();
        let indexes: Vec<usize> = steps.iter().map(|s| s.index).collect();
        assert_eq!(
            indexes,
            [4, 4, 1],
            "last step first; unchanged and skipped steps left out"
        );
        assert_eq!(
            steps[0].argv,
            [
                "apt-get",
                "install",
                "-y",
                "--allow-downgrades",
                "--no-remove",
                "libc6=2.36-9",
                "gone=1:1.2-3"
            ]
        );
        assert_eq!(
            steps[1].argv,
            ["dpkg", "--remove", "linux-image-6.1.0-30-amd64"],
            "new packages removed after"
        );
        assert_eq!(steps[1].packages[0].applied.as_deref(), Some("6.1.124-1"));
        assert_eq!(steps[2].argv[5], "libdemo1=1.0-1");
    }

    #[test]
    fn repeated_names_get_architecture() {
        let mut i386 = change("libc6", Some("2.36-9"), Some("2.36-9+deb12u9"));
        i386.arch = Some("i386".into());
        let journal = journal(vec![step(
            1,
            &["apt-get"],
            vec![
                change("libc6", Some("2.36-9"), Some("2.36-9+deb12u9")),
                i386,
            ],
        )]);
        let steps = rollback_steps(&journal).unwrap();
        assert_eq!(
            steps[0].argv[5..],
            ["libc6:amd64=2.36-9", "libc6:i386=2.36-9"]
        );
    }

    #[test]
    fn invalid_journal_values_rejected() {
        let cases = [
            (
                change("--config=x", Some("1.0-1"), Some("1.0-2")),
                "invalid package name \"--config=x\"",
            ),
            (
                change("demo", Some("1.0-1; rm -rf /"), Some("1.0-2")),
                "invalid version \"1.0-1; rm -rf /\"",
            ),
            (
                change("demo", Some("abc"), Some("1.0-2")),
                "must start with a digit",
            ),
            (
                change("demo", Some(""), Some("1.0-2")),
                "1 to 200 characters",
            ),
        ];
        for (change, expected) in cases {
            let error = rollback_steps(&journal(vec![step(7, &["apt-get"], vec![change])]))
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("invalid journal /var/lib/test.jsonl: step 7"),
                "{error}"
            );
            assert!(error.contains(expected), "{expected:?} not in {error}");
        }
        let mut bad_arch = change("demo", Some("1.0-1"), Some("1.0-2"));
        bad_arch.arch = Some("amd64 x".into());
        let error = rollback_steps(&journal(vec![step(1, &["apt-get"], vec![bad_arch])]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("invalid architecture"), "{error}");
    }

    #[test]
    fn judge_requires_previous_versions() {
        let finished = |code: i32, stderr: &str| Finished {
            exit_code: Some(code),
            signal: None,
            timed_out: false,
            stdout_tail: String::new(),
            stderr_tail: stderr.to_string(),
        };
        let mut back = change("demo", Some("1.0-2"), Some("1.0-1"));
        back.target_version = Some("1.0-1".into());
        let timeout = Duration::from_secs(60);
        assert_eq!(
            judge(
                "apt-get",
                &finished(0, ""),
                std::slice::from_ref(&back),
                timeout
            ),
            (Outcome::Succeeded, None)
        );

        let missing = "E: Version '1.0-1' for 'demo' was not found\n";
        let (outcome, error) = judge(
            "apt-get",
            &finished(100, missing),
            std::slice::from_ref(&back),
            timeout,
        );
        assert_eq!(outcome, Outcome::Failed);
        assert_eq!(
            error.unwrap(),
            "apt-get exited with status 100: E: Version '1.0-1' for 'demo' was not found"
        );

        let mut stayed = back.clone();
        stayed.after = Some("1.0-2".into());
        let (outcome, error) = judge("apt-get", &finished(0, ""), &[stayed], timeout);
        assert_eq!(outcome, Outcome::Failed);
        assert_eq!(
            error.unwrap(),
            "apt-get exited with status 0, but demo is at 1.0-2, not back at 1.0-1"
        );

        let mut new = change("demo-extra", Some("1.0-2"), Some("1.0-2"));
        new.target_version = None;
        let depends = "dpkg: dependency problems prevent removal of demo-extra:\n";
        let (outcome, error) = judge(
            "dpkg",
            &finished(1, depends),
            std::slice::from_ref(&new),
            timeout,
        );
        assert_eq!(outcome, Outcome::Failed);
        assert_eq!(
            error.unwrap(),
            "dpkg exited with status 1: dpkg: dependency problems prevent removal of demo-extra:"
        );
        new.after = None;
        assert_eq!(
            judge("dpkg", &finished(0, ""), &[new], timeout),
            (Outcome::Succeeded, None)
        );
    }
}
