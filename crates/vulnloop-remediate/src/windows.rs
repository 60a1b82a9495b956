//! Windows steps: the updates that close a Windows host's findings.
//!
//! A cumulative update contains every earlier one of its product, so one
//! step installs the newest cumulative update among the findings' fixes and
//! closes every finding that a cumulative update fixes. Each other update
//! (a Security Only update, a standalone fix) is a step of its own. Every
//! step installs a downloaded `.msu` with `wusa.exe`, and Windows applies it
//! at the next restart.

use std::collections::BTreeMap;

use vulnloop_advisory::PackageKind;
use vulnloop_inventory::Inventory;
use vulnloop_match::WindowsUpdate;
use vulnloop_priority::PriorityLevel;

use crate::argv::Tool;
use crate::build::{closed_findings_of, Assessed};
use crate::model::{FixStep, PlanError, PlannedPackage, Restart};

/// Builds the steps for a Windows host's findings with a fix.
pub(crate) fn steps(
    findings: &[&Assessed],
    inventory: &Inventory,
) -> Result<Vec<FixStep>, PlanError> {
    let update = |assessed: &Assessed| {
        assessed
            .finding
            .windows_update
            .clone()
            .unwrap_or_else(|| fallback_update(assessed))
    };
    let newest_cumulative = findings
        .iter()
        .map(|a| update(a))
        .filter(|u| u.cumulative)
        .max_by(|a, b| {
            a.released
                .cmp(&b.released)
                .then_with(|| kb_number(&a.kb).cmp(&kb_number(&b.kb)))
        });

    let mut groups: BTreeMap<String, (WindowsUpdate, Vec<&Assessed>)> = BTreeMap::new();
    for assessed in findings {
        let own = update(assessed);
        let chosen = match &newest_cumulative {
            Some(newest) if own.cumulative => newest.clone(),
            _ => own,
        };
        groups
            .entry(chosen.kb.clone())
            .or_insert_with(|| (chosen, Vec::new()))
            .1
            .push(assessed);
    }

    let mut steps = Vec::new();
    for (_, (update, group)) in groups {
        steps.push(step(
            &update,
            &group,
            inventory,
            newest_cumulative.as_ref(),
        )?);
    }
    Ok(steps)
}

fn step(
    update: &WindowsUpdate,
    group: &[&Assessed],
    inventory: &Inventory,
    newest: Option<&WindowsUpdate>,
) -> Result<FixStep, PlanError> {
    let first = group[0].finding;
    let host = inventory.windows.as_ref();
    let mut notes = vec![format!(
        "download the .msu package of {} for this release and architecture from the Microsoft Update Catalog{} \
         and save it as {}.msu in the working directory; in PowerShell as administrator the same step is \
         `Start-Process wusa.exe -ArgumentList '{}.msu','/quiet','/norestart' -Wait`",
        update.kb,
        update.url.as_deref().map(|url| format!(" ({url})")).unwrap_or_default(),
        update.kb,
        update.kb
    )];
    if newest.is_some_and(|n| n.kb == update.kb)
        && group.iter().any(|a| {
            a.finding
                .windows_update
                .as_ref()
                .is_some_and(|u| u.kb != update.kb)
        })
    {
        notes.push(format!(
            "{} is the newest cumulative update among the fixes; it contains the earlier cumulative updates the findings name",
            update.kb
        ));
    }
    if let Some(build) = &update.fixed_build {
        notes.push(format!("after the restart the build is {build} or later"));
    }
    let reboot_reason = match update.restart_required {
        Some(false) => None,
        Some(true) => Some("MSRC states that the update requires a restart".to_string()),
        None => Some("Windows updates take effect after a restart; MSRC does not say whether this one needs it".to_string()),
    };
    let mut step = FixStep {
        tool: Tool::Wusa,
        package: host.map_or_else(|| first.package.clone(), |h| h.product.clone()),
        package_kind: PackageKind::Binary,
        installed_version: first.installed_version.clone(),
        target_version: update.kb.clone(),
        priority: group
            .iter()
            .map(|a| a.level)
            .max()
            .unwrap_or(PriorityLevel::NoNeedToFix),
        packages: vec![PlannedPackage {
            name: host.map_or_else(|| first.package.clone(), |h| h.product.clone()),
            arch: host.and_then(|h| h.architecture.clone()),
            installed_version: first.installed_version.clone(),
            target_version: update.fixed_build.clone(),
            target_source_version: None,
        }],
        closes: closed_findings_of(group),
        reboot_needed: reboot_reason.is_some(),
        reboot_reason,
        restart: Restart::Unknown,
        command: Vec::new(),
        notes,
    };
    step.command = step.argv()?;
    Ok(step)
}

/// Returns `wusa.exe KB5034127.msu /quiet /norestart` after checking that
/// the KB id is `KB` and digits, so that it cannot become an option or a path.
pub(crate) fn wusa_argv(kb: &str) -> Result<Vec<String>, PlanError> {
    let valid = kb.strip_prefix("KB").is_some_and(|digits| {
        !digits.is_empty() && digits.len() <= 8 && digits.chars().all(|c| c.is_ascii_digit())
    });
    if !valid {
        return Err(PlanError::InvalidPackageName {
            manager: "windows",
            name: kb.to_string(),
            reason: "a KB id is KB followed by up to eight digits",
            package: kb.to_string(),
        });
    }
    Ok(vec![
        "wusa.exe".into(),
        format!("{kb}.msu"),
        "/quiet".into(),
        "/norestart".into(),
    ])
}

/// Builds the update of a finding without update details: its fixed KB, not cumulative.
fn fallback_update(assessed: &Assessed) -> WindowsUpdate {
    WindowsUpdate {
        kb: assessed
            .finding
            .fixed_version()
            .unwrap_or(&assessed.finding.advisory_id)
            .to_string(),
        cumulative: false,
        released: assessed.finding.published.clone(),
        fixed_build: None,
        restart_required: None,
        url: assessed.finding.url.clone(),
    }
}

fn kb_number(kb: &str) -> u64 {
    kb.trim_start_matches("KB").parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wusa_argv_checks_kb() {
        assert_eq!(
            wusa_argv("KB5034127").unwrap(),
            ["wusa.exe", "KB5034127.msu", "/quiet", "/norestart"]
        );
        assert!(wusa_argv("KB5034127 /extract:C:\\").is_err());
        assert!(wusa_argv("--help").is_err());
    }
}
