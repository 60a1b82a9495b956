//! `vulnloop history` and `vulnloop diff`: read the finding history.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::bail;
use serde::Serialize;
use vulnloop_state::{Diff, DiffEntry, Event, FindingState, ScanRow, StateDb};

use crate::cli::{DiffArgs, HistoryArgs, ReportFormat};
use crate::exit::Code;
use crate::output::{columns, print_stdout};

/// Opens the state file for reading; a missing file is an error, because
/// opening would create an empty history and hide a wrong `--state`.
fn open_existing(path: &Path) -> anyhow::Result<StateDb> {
    if !path.exists() {
        bail!(
            "no finding history at {}: `vulnloop scan` records one there (pass --state FILE or set \
             VULNLOOP_STATE if the scans used another file)",
            path.display()
        );
    }
    Ok(StateDb::open(path)?)
}

#[derive(Serialize)]
struct ScansDocument<'a> {
    scans: &'a [ScanRow],
}

#[derive(Serialize)]
struct EventsDocument<'a> {
    events: &'a [Event],
}

#[derive(Serialize)]
struct FindingsDocument<'a> {
    findings: &'a [FindingState],
}

/// Prints the recorded scans, the events of some findings (`--finding`) or
/// the current status of each finding (`--status`).
pub fn history(args: &HistoryArgs, state_path: &Path) -> anyhow::Result<Code> {
    let state = open_existing(state_path)?;
    let target = args.target.as_deref();
    let text = if let Some(wanted) = args.finding.as_deref() {
        let events = state.events(target, Some(wanted))?;
        if events.is_empty() {
            bail!(
                "no finding with the id or package {wanted:?} in the history at {}",
                state_path.display()
            );
        }
        match args.format {
            ReportFormat::Json => {
                serde_json::to_string_pretty(&EventsDocument { events: &events })? + "\n"
            }
            ReportFormat::Table => render_events(&events),
        }
    } else if args.status {
        let findings = state.findings(target)?;
        match args.format {
            ReportFormat::Json => {
                serde_json::to_string_pretty(&FindingsDocument {
                    findings: &findings,
                })? + "\n"
            }
            ReportFormat::Table => render_findings(&findings),
        }
    } else {
        let scans = state.scans(target)?;
        match args.format {
            ReportFormat::Json => {
                serde_json::to_string_pretty(&ScansDocument { scans: &scans })? + "\n"
            }
            ReportFormat::Table => render_scans(&scans),
        }
    };
    print_stdout(&text)?;
    Ok(Code::Clean)
}

fn render_scans(scans: &[ScanRow]) -> String {
    if scans.is_empty() {
        return "no scans recorded\n".to_string();
    }
    let mut rows = vec![[
        "SCAN",
        "TARGET",
        "SCANNED AT",
        "OS",
        "FINDINGS",
        "NEW",
        "RESOLVED",
        "COVERAGE",
    ]
    .map(String::from)
    .to_vec()];
    for scan in scans {
        rows.push(vec![
            scan.scan.to_string(),
            scan.target.clone(),
            scan.scanned_at.clone(),
            scan.os.clone(),
            scan.findings.to_string(),
            scan.new.to_string(),
            scan.resolved.to_string(),
            if scan.complete {
                "complete"
            } else {
                "incomplete"
            }
            .to_string(),
        ]);
    }
    columns(&rows, "")
}

fn render_events(events: &[Event]) -> String {
    let mut out = String::new();
    let mut current: Option<(&str, &str, &str)> = None;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for event in events {
        let finding = (
            event.target.as_str(),
            event.key.id.as_str(),
            event.key.package.as_str(),
        );
        if current != Some(finding) {
            out.push_str(&columns(&rows, "  "));
            rows.clear();
            let _ = writeln!(out, "{} in {} on {}", finding.1, finding.2, finding.0);
            current = Some(finding);
        }
        let journal = event
            .journal
            .as_deref()
            .map(|j| format!(" (journal {j})"))
            .unwrap_or_default();
        rows.push(vec![
            event.at.clone(),
            event.status.label().to_string(),
            format!("{}{journal}", event.detail),
        ]);
    }
    out.push_str(&columns(&rows, "  "));
    out
}

fn render_findings(findings: &[FindingState]) -> String {
    if findings.is_empty() {
        return "no findings recorded\n".to_string();
    }
    let mut rows = vec![[
        "TARGET",
        "PACKAGE",
        "VULNERABILITY",
        "STATUS",
        "SINCE",
        "DETAIL",
    ]
    .map(String::from)
    .to_vec()];
    for finding in findings {
        rows.push(vec![
            finding.target.clone(),
            finding.key.package.clone(),
            finding.key.id.clone(),
            finding.status.label().to_string(),
            finding.since.clone(),
            finding.detail.clone().unwrap_or_default(),
        ]);
    }
    columns(&rows, "")
}

/// Prints the findings that are new and resolved between two scans.
pub fn diff(args: &DiffArgs, state_path: &Path) -> anyhow::Result<Code> {
    let state = open_existing(state_path)?;
    let (from, to) = scans_to_compare(&state, args)?;
    let diff = state.diff(from, to)?;
    let text = match args.format {
        ReportFormat::Json => serde_json::to_string_pretty(&diff)? + "\n",
        ReportFormat::Table => render_diff(&diff),
    };
    print_stdout(&text)?;
    Ok(Code::Clean)
}

/// Returns the scan numbers to compare: the ones given, else the newest
/// scan (of `--target`, or of any target) and the scan of the same target before it.
fn scans_to_compare(state: &StateDb, args: &DiffArgs) -> anyhow::Result<(i64, i64)> {
    if let (Some(from), Some(to)) = (args.from, args.to) {
        return Ok((from, to));
    }
    let to = match args.from {
        Some(from) => {
            let target = state.scan(from)?.target;
            let newest = state
                .scans(Some(&target))?
                .last()
                .map(|s| s.scan)
                .unwrap_or(from);
            if newest == from {
                bail!("scan {from} is the newest scan of {target}; give a second scan number or scan again");
            }
            return Ok((from, newest));
        }
        None => state.scans(args.target.as_deref())?.last().cloned(),
    };
    let Some(to) = to else {
        match &args.target {
            Some(target) => {
                bail!("no scans of {target} recorded; `vulnloop history` lists the targets")
            }
            None => bail!("no scans recorded; run `vulnloop scan` first"),
        }
    };
    let earlier: Vec<ScanRow> = state
        .scans(Some(&to.target))?
        .into_iter()
        .filter(|s| s.scan < to.scan)
        .collect();
    match earlier.last() {
        Some(from) => Ok((from.scan, to.scan)),
        None => bail!(
            "only one scan of {} is recorded (scan {}); scan again to compare",
            to.target,
            to.scan
        ),
    }
}

fn render_diff(diff: &Diff) -> String {
    let mut out = String::new();
    let describe = |scan: &ScanRow| {
        format!(
            "scan {} of {} at {}",
            scan.scan, scan.target, scan.scanned_at
        )
    };
    let _ = writeln!(out, "from {}", describe(&diff.from));
    let _ = writeln!(out, "to   {}", describe(&diff.to));
    for (title, entries) in [("new", &diff.new), ("resolved", &diff.resolved)] {
        let _ = writeln!(out, "\n{title}: {}", entries.len());
        if !entries.is_empty() {
            out.push_str(&columns(&diff_rows(entries), "  "));
        }
    }
    out
}

fn diff_rows(entries: &[DiffEntry]) -> Vec<Vec<String>> {
    let mut rows = vec![[
        "VULNERABILITY",
        "PACKAGE",
        "INSTALLED",
        "FIXED",
        "SEVERITY",
        "PRIORITY",
        "IGNORED",
    ]
    .map(String::from)
    .to_vec()];
    for entry in entries {
        rows.push(vec![
            entry.key.id.clone(),
            entry.key.package.clone(),
            entry.installed_version.clone(),
            entry.fixed_version.clone().unwrap_or_else(|| "-".into()),
            entry.severity.clone(),
            entry.priority.clone().unwrap_or_default(),
            entry.ignored_by.clone().unwrap_or_default(),
        ]);
    }
    rows
}
