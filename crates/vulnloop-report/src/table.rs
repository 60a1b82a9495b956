//! The readable report: one block per affected package, then coverage notes
//! and a one-line summary. Plain text, no colour, so it reads the same in a
//! terminal, a log file and a CI job.

use std::fmt::Write;

use vulnloop_match::FindingStatus;

use crate::model::{PackageGroup, ScanReport};

/// Renders the report as text.
pub fn render_table(report: &ScanReport) -> String {
    let mut out = String::new();
    write_header(&mut out, report);
    for group in &report.packages {
        write_group(&mut out, group);
    }
    write_notes(&mut out, report);
    write_summary(&mut out, report);
    out
}

fn write_header(out: &mut String, report: &ScanReport) {
    let host = &report.host;
    let name = host.hostname.as_deref().or(host.root.as_deref()).unwrap_or("host");
    let os = host.os_pretty_name.as_deref().unwrap_or(&host.os);
    let kernel = host.kernel.as_deref().map(|k| format!(", kernel {k}")).unwrap_or_default();
    let _ = writeln!(out, "{name}: {os}, {} packages{kernel}", host.packages);
    let _ = writeln!(
        out,
        "database: {} (built {}; {})",
        report.database.path,
        report.database.built_at,
        report.database.sources.join(", ")
    );
    let _ = writeln!(out);
}

fn write_group(out: &mut String, group: &PackageGroup) {
    let target = group.fixed_version.as_deref().map(|v| format!(" -> {v}")).unwrap_or_default();
    let _ = writeln!(out, "{} {}{target}  (installed: {})", group.package, group.installed_version, group.binaries.join(", "));

    let rows: Vec<[String; 4]> = group
        .findings
        .iter()
        .map(|f| {
            let finding = &f.finding;
            [finding.id.clone(), finding.severity.to_string(), status_text(&finding.status), finding.advisory_id.clone()]
        })
        .collect();
    let header = ["VULNERABILITY", "SEVERITY", "STATUS", "ADVISORY"].map(String::from);
    let widths: Vec<usize> = (0..4)
        .map(|i| rows.iter().chain(std::iter::once(&header)).map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
    if let Some(command) = &group.fix_command {
        let _ = writeln!(out, "  fix: {command}");
    }
    let _ = writeln!(out);
}

fn status_text(status: &FindingStatus) -> String {
    match status {
        FindingStatus::FixAvailable { fixed } => format!("fixed in {fixed}"),
        FindingStatus::NoFixYet => "no fix yet".into(),
        FindingStatus::WillNotFix => "will not fix".into(),
        FindingStatus::Postponed => "fix postponed".into(),
        FindingStatus::Unsupported => "security support ended or limited".into(),
        FindingStatus::FixedRebootPending { fixed } => format!("fixed in {fixed}, reboot pending"),
    }
}

fn write_notes(out: &mut String, report: &ScanReport) {
    if report.coverage.notes.is_empty() {
        return;
    }
    let _ = writeln!(out, "coverage:");
    for note in &report.coverage.notes {
        let mark = if note.incomplete { "incomplete" } else { "note" };
        let _ = writeln!(out, "  {mark}: {}", note.message);
    }
    let _ = writeln!(out);
}

fn write_summary(out: &mut String, report: &ScanReport) {
    let summary = &report.summary;
    let severities: Vec<String> = ["critical", "high", "medium", "low", "negligible", "unknown"]
        .iter()
        .filter_map(|name| summary.by_severity.get(*name).map(|count| format!("{name} {count}")))
        .collect();
    let breakdown = if severities.is_empty() { String::new() } else { format!(" ({})", severities.join(", ")) };
    let hidden = match (summary.hidden, summary.hidden_unknown_severity) {
        (0, _) => String::new(),
        (hidden, 0) => format!("; {hidden} hidden by filters"),
        (hidden, unknown) => format!("; {hidden} hidden by filters, {unknown} of them without a vendor severity"),
    };
    let verdict = if report.coverage.complete { "" } else { "; results incomplete, see coverage" };
    let _ = writeln!(
        out,
        "{} in {}{breakdown}{hidden}{verdict}",
        count(summary.findings, "vulnerability", "vulnerabilities"),
        count(summary.packages, "package", "packages")
    );
}

fn count(value: usize, one: &str, many: &str) -> String {
    if value == 1 {
        format!("1 {one}")
    } else {
        format!("{value} {many}")
    }
}
