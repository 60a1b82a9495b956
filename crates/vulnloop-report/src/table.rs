//! The readable report: one block per affected package, then coverage notes
//! and a one-line summary. Plain text, no colour, so it reads the same in a
//! terminal, a log file and a CI job.

use std::fmt::Write;

use vulnloop_match::FindingStatus;

use crate::model::{PackageGroup, ReportFinding, ScanReport};

/// Renders the report as text.
pub fn render_table(report: &ScanReport) -> String {
    let mut out = String::new();
    write_header(&mut out, report);
    for group in &report.packages {
        write_group(&mut out, group);
    }
    crate::applications::write_applications(&mut out, report);
    write_notes(&mut out, report);
    write_ignored(&mut out, report);
    write_summary(&mut out, report);
    write_history(&mut out, report);
    out
}

fn write_ignored(out: &mut String, report: &ScanReport) {
    if report.ignored.is_empty() {
        return;
    }
    let _ = writeln!(out, "ignored:");
    for entry in &report.ignored {
        let until = entry
            .expires
            .as_deref()
            .map(|d| format!(" until {d}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} in {} {}{until}: {} ({})",
            entry.id, entry.package, entry.installed_version, entry.reason, entry.rule
        );
    }
    let _ = writeln!(out);
}

fn write_history(out: &mut String, report: &ScanReport) {
    if let Some(history) = &report.history {
        let _ = writeln!(
            out,
            "recorded as scan {} of {}: {} new, {} resolved since its previous scan (`vulnloop diff` lists them)",
            history.scan, history.target, history.new, history.resolved
        );
    }
}

fn write_header(out: &mut String, report: &ScanReport) {
    let host = &report.host;
    let name = host
        .hostname
        .as_deref()
        .or(host.root.as_deref())
        .unwrap_or("host");
    let os = host.os_pretty_name.as_deref().unwrap_or(&host.os);
    let kernel = host
        .kernel
        .as_deref()
        .map(|k| format!(", kernel {k}"))
        .unwrap_or_default();
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
    let target = group
        .fixed_version
        .as_deref()
        .map(|v| format!(" -> {v}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {}{target}  (installed: {})",
        group.package,
        group.installed_version,
        group.binaries.join(", ")
    );

    let rows: Vec<[String; 7]> = group.findings.iter().map(row).collect();
    let header = [
        "PRIORITY",
        "VULNERABILITY",
        "SEVERITY",
        "CVSS",
        "EXPLOIT",
        "STATUS",
        "ADVISORY",
    ]
    .map(String::from);
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .chain(std::iter::once(&header))
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |row: &[String; 7]| {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("  {}", cells.join("  ").trim_end())
    };
    let _ = writeln!(out, "{}", line(&header));
    for (row, finding) in rows.iter().zip(&group.findings) {
        let _ = writeln!(out, "{}", line(row));
        let _ = writeln!(out, "    why: {}", why(finding));
    }
    if let Some(command) = &group.fix_command {
        let _ = writeln!(out, "  fix: {command}");
    }
    let _ = writeln!(out);
}

fn row(shown: &ReportFinding) -> [String; 7] {
    let finding = &shown.finding;
    let assessment = &shown.assessment;
    let cvss = assessment
        .intel
        .cvss
        .as_ref()
        .map(|c| format!("{:.1}", c.cvss.base_score))
        .unwrap_or_else(|| "-".into());
    [
        assessment.priority.level.as_str().to_string(),
        finding.id.clone(),
        assessment.effective_severity.to_string(),
        cvss,
        exploit_text(shown),
        status_text(&finding.status),
        finding.advisory_id.clone(),
    ]
}

/// `KEV` when CISA lists a CVE, then the EPSS score when known.
fn exploit_text(shown: &ReportFinding) -> String {
    let intel = &shown.assessment.intel;
    let mut parts = Vec::new();
    if intel.kev.is_some() {
        parts.push("KEV".to_string());
    }
    if let Some(epss) = &intel.epss {
        parts.push(format!("EPSS {:.2}", epss.score));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// Joins the reasons that moved the score, without the points.
fn why(shown: &ReportFinding) -> String {
    let reasons: Vec<&str> = shown
        .assessment
        .priority
        .reasons
        .iter()
        .filter(|r| !r.starts_with("0 "))
        .map(String::as_str)
        .collect();
    if reasons.is_empty() {
        "no fact moved the score".into()
    } else {
        reasons.join("; ")
    }
}

fn status_text(status: &FindingStatus) -> String {
    match status {
        FindingStatus::FixAvailable { fixed } => format!("fixed in {fixed}"),
        FindingStatus::NoFixYet => "no fix yet".into(),
        FindingStatus::WillNotFix => "will not fix".into(),
        FindingStatus::Postponed => "fix postponed".into(),
        FindingStatus::Unsupported => "security support ended or limited".into(),
        FindingStatus::FixedRebootPending { fixed } => format!("fixed in {fixed}, reboot pending"),
        FindingStatus::Undetermined { reason } => format!("undetermined: {reason}"),
    }
}

fn write_notes(out: &mut String, report: &ScanReport) {
    if report.coverage.notes.is_empty() {
        return;
    }
    let _ = writeln!(out, "coverage:");
    for note in &report.coverage.notes {
        let mark = if note.incomplete {
            "incomplete"
        } else {
            "note"
        };
        let _ = writeln!(out, "  {mark}: {}", note.message);
    }
    let _ = writeln!(out);
}

fn write_summary(out: &mut String, report: &ScanReport) {
    let summary = &report.summary;
    let severities: Vec<String> = ["critical", "high", "medium", "low", "negligible", "unknown"]
        .iter()
        .filter_map(|name| {
            summary
                .by_severity
                .get(*name)
                .map(|count| format!("{name} {count}"))
        })
        .collect();
    let breakdown = if severities.is_empty() {
        String::new()
    } else {
        format!(" ({})", severities.join(", "))
    };
    let hidden = match (summary.hidden, summary.hidden_unknown_severity) {
        (0, _) => String::new(),
        (hidden, 0) => format!("; {hidden} hidden by filters"),
        (hidden, unknown) => {
            format!("; {hidden} hidden by filters, {unknown} of them without a vendor severity")
        }
    };
    let priorities: Vec<String> = ["fix-now", "fix-later", "no-need-to-fix"]
        .iter()
        .filter_map(|name| {
            summary
                .by_priority
                .get(*name)
                .map(|count| format!("{name} {count}"))
        })
        .collect();
    let priorities = if priorities.is_empty() {
        String::new()
    } else {
        format!("; {}", priorities.join(", "))
    };
    let exploited = match summary.known_exploited {
        0 => String::new(),
        n => format!("; {n} known exploited (KEV)"),
    };
    let ignored = match summary.ignored {
        0 => String::new(),
        n => format!("; {n} ignored"),
    };
    let verdict = if report.coverage.complete {
        ""
    } else {
        "; results incomplete, see coverage"
    };
    let _ = writeln!(
        out,
        "{} in {}{breakdown}{priorities}{exploited}{hidden}{ignored}{verdict}",
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
