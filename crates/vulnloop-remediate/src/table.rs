//! The fix plan as text for people.

use std::fmt::Write;

use crate::model::{ClosedFinding, FixPlan, FixStep, PlannedPackage, Restart};

/// Width at which lists of finding ids wrap.
const WRAP_AT: usize = 100;

/// Renders the plan: each step with its packages, command, closed findings,
/// reboot and restart needs, then reboot actions and the not-fixable list.
pub fn render_table(plan: &FixPlan) -> String {
    let mut out = String::new();
    for manager in &plan.managers {
        let _ = writeln!(
            out,
            "{}: {}",
            manager.tool.program(),
            count(manager.steps.len(), "step")
        );
        for step in &manager.steps {
            out.push('\n');
            render_step(&mut out, step);
        }
        out.push('\n');
    }

    if !plan.reboots.is_empty() {
        let _ = writeln!(out, "reboot into an installed fixed kernel:");
        for reboot in &plan.reboots {
            let running = reboot.running_kernel.as_deref().unwrap_or("unknown");
            let _ = writeln!(
                out,
                "  {} {} is running (kernel {running}); an installed kernel has {} or later",
                reboot.package, reboot.installed_version, reboot.fixed_version
            );
            render_closes(&mut out, &reboot.closes);
        }
        out.push('\n');
    }

    if !plan.not_fixable.is_empty() {
        let _ = writeln!(
            out,
            "not fixable by upgrade: {}",
            count(plan.not_fixable.len(), "finding")
        );
        let width = plan
            .not_fixable
            .iter()
            .map(|f| f.package.len())
            .max()
            .unwrap_or(0);
        let id_width = plan
            .not_fixable
            .iter()
            .map(|f| f.id.len())
            .max()
            .unwrap_or(0);
        for entry in &plan.not_fixable {
            let _ = writeln!(
                out,
                "  {:<14}  {:<width$}  {:<id_width$}  {}",
                entry.priority.as_str(),
                entry.package,
                entry.id,
                entry.reason
            );
        }
        out.push('\n');
    }

    render_summary(&mut out, plan);
    out
}

fn render_step(out: &mut String, step: &FixStep) {
    let _ = writeln!(
        out,
        "{}  {} {} -> {} ({} package)",
        step.priority.as_str(),
        step.package,
        step.installed_version,
        step.target_version,
        step.package_kind.as_str()
    );
    let _ = writeln!(out, "  packages:");
    let width = step
        .packages
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    for package in &step.packages {
        let _ = writeln!(
            out,
            "    {:<width$}  {} -> {}",
            package.name,
            package.installed_version,
            target_text(package)
        );
    }
    let _ = writeln!(out, "  command: {}", step.command.join(" "));
    render_closes(out, &step.closes);
    let reboot = match (&step.reboot_needed, &step.reboot_reason) {
        (true, Some(reason)) => format!("needed: {reason}"),
        (true, None) => "needed".to_string(),
        (false, _) => "not needed".to_string(),
    };
    let _ = writeln!(out, "  reboot: {reboot}");
    let _ = writeln!(out, "  restart: {}", restart_text(&step.restart));
    for note in &step.notes {
        let _ = writeln!(out, "  note: {note}");
    }
}

fn target_text(package: &PlannedPackage) -> String {
    match (&package.target_version, &package.target_source_version) {
        (Some(version), _) => format!("{version} or later"),
        (None, Some(source)) => {
            format!("the candidate built from source version {source} or later")
        }
        (None, None) => "the candidate version (see the note)".to_string(),
    }
}

fn restart_text(restart: &Restart) -> String {
    match restart {
        Restart::Unknown => "unknown (the inventory has no runtime data)".to_string(),
        Restart::NotNeeded { uninspected: 0 } => {
            "not needed (no running process maps these packages)".to_string()
        }
        Restart::NotNeeded { uninspected } => {
            format!(
                "not needed by the inspected processes ({} not inspected)",
                count(*uninspected, "process")
            )
        }
        Restart::Needed {
            processes,
            uninspected,
        } => {
            let names: Vec<String> = processes
                .iter()
                .map(|p| match &p.service {
                    Some(service) => format!("{} (pid {}, {service})", p.command, p.pid),
                    None => format!("{} (pid {})", p.command, p.pid),
                })
                .collect();
            let mut text = names.join(", ");
            if *uninspected > 0 {
                let _ = write!(text, "; {} not inspected", count(*uninspected, "process"));
            }
            text
        }
    }
}

/// Writes `closes N findings:` and the ids, wrapped.
fn render_closes(out: &mut String, closes: &[ClosedFinding]) {
    let _ = writeln!(out, "  closes {}:", count(closes.len(), "finding"));
    let mut line = String::new();
    for finding in closes {
        let item = if finding.advisory_id == finding.id {
            finding.id.clone()
        } else {
            format!("{} ({})", finding.id, finding.advisory_id)
        };
        if !line.is_empty() && line.len() + item.len() + 2 > WRAP_AT {
            let _ = writeln!(out, "    {line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push_str(", ");
        }
        line.push_str(&item);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "    {line}");
    }
}

fn render_summary(out: &mut String, plan: &FixPlan) {
    let steps = plan.steps().count();
    let packages: usize = plan.steps().map(|s| s.packages.len()).sum();
    let closed: usize = plan.steps().map(|s| s.closes.len()).sum();
    let reboots: usize = plan.steps().filter(|s| s.reboot_needed).count() + plan.reboots.len();
    let _ = write!(
        out,
        "plan: {} to upgrade {}, closing {}; {}; {} not fixable by upgrade",
        count(steps, "step"),
        count(packages, "package"),
        count(closed, "finding"),
        match reboots {
            0 => "no reboot needed".to_string(),
            _ => "a reboot is needed".to_string(),
        },
        count(plan.not_fixable.len(), "finding")
    );
    if plan.filtered_out > 0 {
        let _ = write!(
            out,
            "; {} left out by the filters",
            count(plan.filtered_out, "finding")
        );
    }
    out.push('\n');
}

fn count(value: usize, noun: &str) -> String {
    match (value, noun) {
        (1, _) => format!("1 {noun}"),
        (_, "process") => format!("{value} processes"),
        _ => format!("{value} {noun}s"),
    }
}
