//! The apply journal: one JSON Lines file per `vulnloop fix --apply` or
//! `vulnloop fix --rollback` run.
//!
//! The first line is a [`RunRecord`], then one [`StepRecord`] per step in
//! the order the steps ran, then an [`EndRecord`] when the run finished.
//! A journal without an end record comes from a run that was interrupted.
//! Each record is written with a single `write` on a file opened with
//! `O_APPEND` and synced before the next step starts, so a crash loses at
//! most the step that was running. The layout is described in `docs/fix-plan.md`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

/// Version of the journal layout. Adding a field keeps it; renaming,
/// removing or changing the meaning of one bumps it.
pub const JOURNAL_VERSION: u32 = 1;

/// Returns the default journal directory, `~/.local/state/vulnloop/journal`.
pub fn default_dir() -> PathBuf {
    dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|home| home.join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("vulnloop")
        .join("journal")
}

/// One line of a journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    Run(RunRecord),
    Step(StepRecord),
    End(EndRecord),
}

/// The first line: what the run applied, and where.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub journal_version: u32,
    /// `vulnloop <version>`.
    pub tool: String,
    pub started_at: String,
    /// Root filesystem the steps ran in: `/` for the running system.
    pub root: String,
    /// Number of steps in the plan.
    pub steps: usize,
    /// Kind of run. Journals written before rollbacks existed lack the
    /// field and are apply runs.
    #[serde(default)]
    pub kind: RunKind,
    /// Path of the journal whose run a rollback undid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolls_back: Option<String>,
}

/// Kind of a journaled run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// `vulnloop fix --apply`: the plan's upgrades.
    #[default]
    Apply,
    /// `vulnloop fix --rollback`: downgrades to the versions before an apply run.
    Rollback,
}

/// One step: the command, its outcome and the package versions around it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    /// Position of the step in the plan, from 1.
    pub index: usize,
    /// Package the advisories name (a source package on Debian).
    pub package: String,
    pub installed_version: String,
    pub target_version: String,
    /// Argument vector as run, program first; empty when the step was skipped.
    pub argv: Vec<String>,
    pub started_at: String,
    pub ended_at: String,
    pub outcome: Outcome,
    /// Exit status of the command; `None` when it did not run, was killed or died of a signal.
    pub exit_code: Option<i32>,
    /// Reason the step failed or was skipped, with the package manager's error when it printed one.
    pub error: Option<String>,
    /// Last lines of the command's stdout and stderr.
    pub stdout_tail: String,
    pub stderr_tail: String,
    pub packages: Vec<PackageChange>,
    /// Findings the step was planned to close.
    pub closes: Vec<ClosedId>,
}

/// Result of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The command exited 0 and every package reached its target.
    Succeeded,
    /// The command failed, or a package stayed below its target.
    Failed,
    /// The command ran longer than `--timeout` and was killed.
    TimedOut,
    /// A check before the step failed, so the command did not run.
    Skipped,
}

impl Outcome {
    /// Returns the outcome as the run summary prints it (`timed out`).
    pub fn as_text(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed out",
            Outcome::Skipped => "skipped",
        }
    }
}

/// Writes one summary block per step record: its outcome, each package's
/// versions before and after, and the error. Apply and rollback share it.
pub fn write_step_lines(out: &mut String, records: &[StepRecord]) {
    use std::fmt::Write as _;
    for record in records {
        let _ = writeln!(
            out,
            "  step {}: {}: {} {} -> {}",
            record.index,
            record.outcome.as_text(),
            record.package,
            record.installed_version,
            record.target_version
        );
        for change in &record.packages {
            let before = change.before.as_deref().unwrap_or("not installed");
            let after = change
                .after
                .as_deref()
                .unwrap_or(if record.argv.is_empty() {
                    "not run"
                } else {
                    "not installed"
                });
            let note = if change.side_effect {
                " (not in the plan)"
            } else {
                ""
            };
            let _ = writeln!(out, "    {}: {before} -> {after}{note}", change.name);
        }
        if let Some(error) = &record.error {
            let _ = writeln!(out, "    error: {error}");
        }
    }
}

/// Versions of one binary package before and after a step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageChange {
    pub name: String,
    pub arch: Option<String>,
    /// Installed version before the step, `None` when it was not installed.
    pub before: Option<String>,
    /// Installed version after the step, read with the collector; `None` when not installed.
    pub after: Option<String>,
    pub target_version: Option<String>,
    pub target_source_version: Option<String>,
    /// True for a package the plan did not name that the step installed,
    /// removed or upgraded, such as a new dependency. Such a change has no
    /// target and does not decide the step's outcome.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub side_effect: bool,
}

/// A finding a step closes, by the ids a scan report shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedId {
    pub id: String,
    pub advisory_id: String,
}

/// The last line of a finished run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndRecord {
    pub ended_at: String,
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// A journal file open for appending.
pub struct JournalWriter {
    path: PathBuf,
    file: File,
}

impl JournalWriter {
    /// Creates a new journal in `dir`, named after the start time and the process id.
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "failed to create the journal directory {}; pass --journal-dir DIR",
                dir.display()
            )
        })?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let path = dir.join(format!("{stamp}-{}.jsonl", std::process::id()));
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("failed to create the journal {}", path.display()))?;
        Ok(Self { path, file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line and syncs it to disk.
    pub fn append(&mut self, record: &Record) -> anyhow::Result<()> {
        let mut line = serde_json::to_string(record)?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("failed to write to the journal {}", self.path.display()))
    }
}

/// A journal read back: its run record and the steps that were recorded.
#[derive(Debug)]
pub struct Journal {
    pub path: PathBuf,
    pub run: RunRecord,
    pub steps: Vec<StepRecord>,
    pub end: Option<EndRecord>,
}

impl Journal {
    /// Reads a journal file, rejecting one that does not start with a run record.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let file = File::open(path)
            .with_context(|| format!("failed to open the journal {}", path.display()))?;
        let mut run = None;
        let mut steps = Vec::new();
        let mut end = None;
        for (number, line) in BufReader::new(file).lines().enumerate() {
            let line =
                line.with_context(|| format!("failed to read the journal {}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let record: Record = serde_json::from_str(&line).with_context(|| {
                format!(
                    "invalid record on line {} of the journal {}",
                    number + 1,
                    path.display()
                )
            })?;
            match (record, &run) {
                (Record::Run(record), None) if number == 0 => run = Some(record),
                (Record::Step(step), Some(_)) => steps.push(step),
                (Record::End(record), Some(_)) => end = Some(record),
                _ => bail!(
                    "invalid journal {}: line {} is out of order; a journal starts with one run record",
                    path.display(),
                    number + 1
                ),
            }
        }
        let Some(run) = run else {
            bail!("invalid journal {}: it is empty", path.display());
        };
        if run.journal_version != JOURNAL_VERSION {
            bail!(
                "journal {} has layout version {}, and this vulnloop reads version {JOURNAL_VERSION}",
                path.display(),
                run.journal_version
            );
        }
        Ok(Self {
            path: path.to_path_buf(),
            run,
            steps,
            end,
        })
    }

    /// Reads the newest journal of an apply run in `dir`, passing over
    /// rollback journals. File names start with the start time, so the
    /// greatest name is the newest.
    pub fn newest_apply_in(dir: &Path) -> anyhow::Result<Self> {
        for path in Self::list(dir)?.into_iter().rev() {
            let journal = Self::read(&path)?;
            if journal.run.kind == RunKind::Apply {
                return Ok(journal);
            }
        }
        bail!("no journal in {} records an apply run; run `vulnloop fix --apply` first or pass --journal FILE", dir.display())
    }

    /// Lists the journal files in `dir`, oldest first.
    fn list(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let entries = std::fs::read_dir(dir).with_context(|| {
            format!("failed to read the journal directory {}; run `vulnloop fix --apply` first or pass --journal FILE", dir.display())
        })?;
        let mut journals = Vec::new();
        for entry in entries {
            let path = entry
                .with_context(|| format!("failed to read the journal directory {}", dir.display()))?
                .path();
            if path.extension().is_some_and(|ext| ext == "jsonl") {
                journals.push(path);
            }
        }
        journals.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        Ok(journals)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn run_record() -> RunRecord {
        RunRecord {
            journal_version: JOURNAL_VERSION,
            tool: "vulnloop test".into(),
            started_at: "2026-12-04T00:00:00Z".into(),
            root: "/".into(),
            steps: 1,
            kind: RunKind::Apply,
            rolls_back: None,
        }
    }

    fn step_record() -> StepRecord {
        StepRecord {
            index: 1,
            package: "openssl".into(),
            installed_version: "3.0.15-1~deb12u1".into(),
            target_version: "3.0.17-1~deb12u3".into(),
            argv: vec!["apt-get".into(), "install".into()],
            started_at: "2026-12-04T00:00:01Z".into(),
            ended_at: "2026-12-04T00:00:02Z".into(),
            outcome: Outcome::Failed,
            exit_code: Some(100),
            error: Some("E: Unable to locate package openssl".into()),
            stdout_tail: String::new(),
            stderr_tail: "E: Unable to locate package openssl\n".into(),
            packages: vec![],
            closes: vec![ClosedId {
                id: "CVE-2024-1".into(),
                advisory_id: "DSA-1".into(),
            }],
        }
    }

    #[test]
    fn journal_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = JournalWriter::create(dir.path()).unwrap();
        writer.append(&Record::Run(run_record())).unwrap();
        writer.append(&Record::Step(step_record())).unwrap();
        let path = writer.path().to_path_buf();

        let journal = Journal::read(&path).unwrap();
        assert_eq!(journal.run.root, "/");
        assert_eq!(journal.steps.len(), 1);
        assert_eq!(journal.steps[0].outcome, Outcome::Failed);
        assert!(
            journal.end.is_none(),
            "an interrupted run has no end record"
        );
        assert_eq!(Journal::newest_apply_in(dir.path()).unwrap().path, path);
    }

    #[test]
    fn journal_without_run_record_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.jsonl");
        let step = serde_json::to_string(&Record::Step(step_record())).unwrap();
        std::fs::write(&path, step + "\n").unwrap();
        let error = Journal::read(&path).unwrap_err().to_string();
        assert!(error.contains("out of order"), "{error}");

        std::fs::write(&path, "not json\n").unwrap();
        let error = Journal::read(&path).unwrap_err().to_string();
        assert!(error.contains("invalid record on line 1"), "{error}");

        std::fs::write(&path, "").unwrap();
        let error = Journal::read(&path).unwrap_err().to_string();
        assert!(error.contains("empty"), "{error}");
    }

    #[test]
    fn newest_apply_skips_rollbacks() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, kind: RunKind| {
            let run = RunRecord {
                kind,
                ..run_record()
            };
            let line = serde_json::to_string(&Record::Run(run)).unwrap();
            std::fs::write(dir.path().join(name), line + "\n").unwrap();
        };
        write("20261205T000000.000Z-1.jsonl", RunKind::Apply);
        write("20261205T000100.000Z-2.jsonl", RunKind::Apply);
        write("20261205T000200.000Z-3.jsonl", RunKind::Rollback);

        let journal = Journal::newest_apply_in(dir.path()).unwrap();
        assert_eq!(
            journal.path,
            dir.path().join("20261205T000100.000Z-2.jsonl")
        );

        let rollbacks = tempfile::tempdir().unwrap();
        let line = serde_json::to_string(&Record::Run(RunRecord {
            kind: RunKind::Rollback,
            ..run_record()
        }))
        .unwrap();
        std::fs::write(rollbacks.path().join("a.jsonl"), line + "\n").unwrap();
        let error = Journal::newest_apply_in(rollbacks.path())
            .unwrap_err()
            .to_string();
        assert!(error.contains("records an apply run"), "{error}");
    }

    #[test]
    fn run_record_without_kind_is_apply() {
        let line = r#"{"record":"run","journal_version":1,"tool":"vulnloop 0.1.0","started_at":"2026-12-05T00:00:00Z","root":"/","steps":1}"#;
        let Record::Run(run) = serde_json::from_str(line).unwrap() else {
            panic!("not a run record: {line}");
        };
        assert_eq!(run.kind, RunKind::Apply);
        assert_eq!(run.rolls_back, None);
    }

    #[test]
    fn newest_in_empty_dir_fails() {
        let dir = tempfile::tempdir().unwrap();
        let error = Journal::newest_apply_in(dir.path())
            .unwrap_err()
            .to_string();
        assert!(error.contains("no journal in"), "{error}");
    }
}
