//! Building a fix plan from a host's findings.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use vulnloop_advisory::PackageKind;
use vulnloop_inventory::{Inventory, PackageManager};
use vulnloop_match::{Finding, FindingStatus};
use vulnloop_priority::{Context, Exposure, PriorityLevel};

use crate::argv::Tool;
use crate::model::{
    ClosedFinding, FixPlan, FixStep, ManagerPlan, NotFixable, PlanError, PlanFilter,
    PlannedPackage, ProcessRef, RebootAction, Restart,
};

/// A finding with what the priority model made of it.
pub(crate) struct Assessed<'a> {
    pub(crate) finding: &'a Finding,
    pub(crate) level: PriorityLevel,
    running_kernel: bool,
}

/// Builds the fix plan for the findings of one host.
///
/// Each finding is ranked with `context` (the host's inventory, CVE facts
/// and importance), and the findings `filter` keeps are sorted into upgrade
/// steps (`fix_available`), reboot actions (`fixed_reboot_pending`) and the
/// not-fixable list (every other status). Returns an error when a package
/// name breaks its package manager's naming rules or a fixed version cannot
/// be ordered.
pub fn plan(
    findings: &[Finding],
    context: &Context<'_>,
    filter: &PlanFilter,
) -> Result<FixPlan, PlanError> {
    let mut selected = Vec::new();
    for finding in findings {
        let assessment = vulnloop_priority::assess(finding, context);
        let level = assessment.priority.level;
        if filter.keeps(finding, level) {
            let running_kernel = assessment.exposure == Exposure::RunningKernel;
            selected.push(Assessed {
                finding,
                level,
                running_kernel,
            });
        }
    }
    let filtered_out = findings.len() - selected.len();

    let mut upgrades: BTreeMap<(Tool, &str, &str), Vec<&Assessed>> = BTreeMap::new();
    let mut pending: BTreeMap<(&str, &str), Vec<&Assessed>> = BTreeMap::new();
    let mut not_fixable = Vec::new();
    let mut windows = Vec::new();
    let os = &context.inventory.host.os;
    for assessed in &selected {
        let finding = assessed.finding;
        let key = (finding.package.as_str(), finding.installed_version.as_str());
        match &finding.status {
            FindingStatus::FixAvailable { .. } if finding.manager == PackageManager::Windows => {
                windows.push(assessed)
            }
            FindingStatus::FixAvailable { .. } => {
                let tool = Tool::for_host(finding.manager, &os.id, os.version_id.as_deref());
                upgrades
                    .entry((tool, key.0, key.1))
                    .or_default()
                    .push(assessed);
            }
            FindingStatus::FixedRebootPending { .. } => {
                pending.entry(key).or_default().push(assessed)
            }
            _ => not_fixable.push(not_fixable_entry(assessed)),
        }
    }

    let mut managers: Vec<ManagerPlan> = Vec::new();
    for ((tool, _, _), group) in upgrades {
        let step = build_step(tool, &group, context.inventory)?;
        match managers.iter_mut().find(|m| m.tool == tool) {
            Some(manager) => manager.steps.push(step),
            None => managers.push(ManagerPlan {
                tool,
                steps: vec![step],
            }),
        }
    }
    if !windows.is_empty() {
        let steps = crate::windows::steps(&windows, context.inventory)?;
        managers.push(ManagerPlan {
            tool: Tool::Wusa,
            steps,
        });
    }
    for manager in &mut managers {
        // Most urgent first; the sort is stable, so package names order each level.
        manager
            .steps
            .sort_by_key(|step| std::cmp::Reverse(step.priority));
    }

    let reboots = pending
        .into_values()
        .map(|group| reboot_action(&group, context.inventory))
        .collect::<Result<Vec<_>, _>>()?;
    not_fixable.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.package.cmp(&b.package))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(FixPlan {
        managers,
        reboots,
        not_fixable,
        filtered_out,
    })
}

fn build_step(
    tool: Tool,
    group: &[&Assessed],
    inventory: &Inventory,
) -> Result<FixStep, PlanError> {
    let first = group[0].finding;
    let target_version = highest_fixed(group)?;
    let mut packages = planned_packages(group, &target_version);
    let mut notes = Vec::new();
    if tool == Tool::Apt {
        add_kernel_metapackages(&mut packages, &mut notes, inventory);
    }
    let (reboot_needed, reboot_reason) = reboot_need(group, &packages, inventory);

    let mut step = FixStep {
        tool,
        package: first.package.clone(),
        package_kind: first.package_kind,
        installed_version: first.installed_version.clone(),
        target_version,
        priority: group
            .iter()
            .map(|a| a.level)
            .max()
            .unwrap_or(PriorityLevel::NoNeedToFix),
        restart: restart_need(&packages, inventory),
        packages,
        closes: closed_findings_of(group),
        reboot_needed,
        reboot_reason,
        command: Vec::new(),
        notes,
    };
    step.command = step.argv()?;
    Ok(step)
}

/// Returns the highest fixed version of a group in its package manager's ordering.
fn highest_fixed(group: &[&Assessed]) -> Result<String, PlanError> {
    let first = group[0].finding;
    let scheme = vulnloop_match::scheme_for(first.manager);
    let mut highest: Option<&str> = None;
    for fixed in group.iter().filter_map(|a| a.finding.fixed_version()) {
        let higher = match highest {
            None => true,
            Some(current) => {
                let order =
                    scheme
                        .compare(fixed, current)
                        .map_err(|source| PlanError::Version {
                            package: first.package.clone(),
                            source,
                        })?;
                order == Ordering::Greater
            }
        };
        if higher {
            highest = Some(fixed);
        }
    }
    // Every finding of a group has a fixed version, so the group is never without one.
    Ok(highest.unwrap_or_default().to_string())
}

/// Returns every installed binary the group's findings name, with its target.
///
/// A binary advisory's fixed version is the binary's own. A source
/// advisory's fixed version is the source's. A binary whose version equals
/// its installed source version gets that version from the fixed source, or
/// a later one after a binNMU (`+bN`). Other binaries, such as a binNMU now or
/// a binary versioned apart from its source, can only be described as built
/// from the fixed source version.
fn planned_packages(group: &[&Assessed], target: &str) -> Vec<PlannedPackage> {
    let first = group[0].finding;
    let mut packages: Vec<PlannedPackage> = Vec::new();
    for binary in group.iter().flat_map(|a| a.finding.binaries.iter()) {
        if packages
            .iter()
            .any(|p| p.name == binary.name && p.arch == binary.arch)
        {
            continue;
        }
        let (target_version, target_source_version) = match first.package_kind {
            PackageKind::Binary => (Some(target.to_string()), None),
            PackageKind::Source if binary.version == first.installed_version => {
                (Some(target.to_string()), Some(target.to_string()))
            }
            PackageKind::Source => (None, Some(target.to_string())),
        };
        packages.push(PlannedPackage {
            name: binary.name.clone(),
            arch: binary.arch.clone(),
            installed_version: binary.version.clone(),
            target_version,
            target_source_version,
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.arch.cmp(&b.arch)));
    packages
}

/// Adds the installed kernel metapackages (`linux-image-amd64`) of a Debian
/// or Ubuntu kernel step.
///
/// Those distributions ship most kernel fixes as a new image package with a
/// new ABI in its name (`linux-image-6.1.0-29-amd64`). Upgrading the running
/// image's package cannot install it, but the metapackage depends on it.
fn add_kernel_metapackages(
    packages: &mut Vec<PlannedPackage>,
    notes: &mut Vec<String>,
    inventory: &Inventory,
) {
    let images: Vec<String> = packages
        .iter()
        .filter(|p| vulnloop_match::is_kernel_image(&p.name))
        .map(|p| p.name.clone())
        .collect();
    if images.is_empty() {
        return;
    }
    let sources: Vec<&str> = inventory
        .packages
        .iter()
        .filter(|p| p.manager == PackageManager::Dpkg && images.contains(&p.name))
        .map(|p| p.source_name())
        .collect();
    let metapackages: Vec<&vulnloop_inventory::Package> = inventory
        .packages
        .iter()
        .filter(|p| p.manager == PackageManager::Dpkg && sources.contains(&p.source_name()))
        .filter(|p| p.name.starts_with("linux-image-") && !vulnloop_match::is_kernel_image(&p.name))
        .collect();
    if metapackages.is_empty() {
        notes.push(format!(
            "the fixed kernel may be a new package with a new ABI in its name, which upgrading {} does not install, \
             and no kernel metapackage (such as linux-image-amd64) is installed: install the newer linux-image \
             package by name",
            images.join(", ")
        ));
        return;
    }
    let names: Vec<&str> = metapackages.iter().map(|p| p.name.as_str()).collect();
    notes.push(format!(
        "the fixed kernel may be a new package with a new ABI in its name; the step upgrades the kernel \
         metapackage {} so that it installs that package",
        names.join(", ")
    ));
    for package in metapackages {
        if packages.iter().any(|p| p.name == package.name) {
            continue;
        }
        packages.push(PlannedPackage {
            name: package.name.clone(),
            arch: package.arch.clone(),
            installed_version: package.version.clone(),
            target_version: None,
            target_source_version: None,
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.arch.cmp(&b.arch)));
}

/// Returns whether the step needs a reboot, and why: it upgrades a kernel.
fn reboot_need(
    group: &[&Assessed],
    packages: &[PlannedPackage],
    inventory: &Inventory,
) -> (bool, Option<String>) {
    let release = inventory.host.kernel.as_ref().map(|k| k.release.as_str());
    if group.iter().any(|a| a.running_kernel) {
        let release = release.unwrap_or("unknown");
        return (
            true,
            Some(format!(
                "upgrades the running kernel ({release}); the fixed kernel runs after a reboot"
            )),
        );
    }
    let manager = group[0].finding.manager;
    let kernels: Vec<&str> = packages
        .iter()
        .filter(|p| is_kernel_package(manager, &p.name))
        .map(|p| p.name.as_str())
        .collect();
    if kernels.is_empty() {
        return (false, None);
    }
    let reason = match release {
        None => format!(
            "upgrades kernel package {}; the running kernel is unknown, and a new kernel runs only after a reboot",
            kernels.join(", ")
        ),
        Some(release) => format!(
            "upgrades kernel package {} (running kernel {release}); a new kernel runs only after a reboot",
            kernels.join(", ")
        ),
    };
    (true, Some(reason))
}

/// Alpine kernel flavours (`linux-lts` runs as `6.6.58-0-lts`).
const APK_KERNELS: &[&str] = &[
    "linux-lts",
    "linux-virt",
    "linux-edge",
    "linux-rpi",
    "linux-stable",
];

fn is_kernel_package(manager: PackageManager, name: &str) -> bool {
    match manager {
        PackageManager::Dpkg => vulnloop_match::is_kernel_image(name),
        PackageManager::Rpm => vulnloop_match::is_rpm_kernel(name),
        PackageManager::Apk => APK_KERNELS.contains(&name),
        PackageManager::Windows => false,
    }
}

/// Returns the running processes that map a file of the step's packages.
fn restart_need(packages: &[PlannedPackage], inventory: &Inventory) -> Restart {
    let Some(runtime) = &inventory.runtime else {
        return Restart::Unknown;
    };
    let processes: Vec<ProcessRef> = runtime
        .processes
        .iter()
        .filter(|process| {
            process
                .packages
                .iter()
                .any(|name| packages.iter().any(|p| &p.name == name))
        })
        .map(|process| ProcessRef {
            pid: process.pid,
            command: process.command.clone(),
            service: process.service.clone(),
        })
        .collect();
    let uninspected = runtime.uninspected;
    if processes.is_empty() {
        Restart::NotNeeded { uninspected }
    } else {
        Restart::Needed {
            processes,
            uninspected,
        }
    }
}

pub(crate) fn closed_findings_of(group: &[&Assessed]) -> Vec<ClosedFinding> {
    let mut closes: Vec<ClosedFinding> = group
        .iter()
        .map(|assessed| {
            let finding = assessed.finding;
            ClosedFinding {
                id: finding.id.clone(),
                advisory_id: finding.advisory_id.clone(),
                source: finding.source.clone(),
                cves: finding.cves.clone(),
                fixed_version: finding.fixed_version().map(String::from),
                priority: assessed.level,
            }
        })
        .collect();
    closes.sort_by(|a, b| {
        a.id.cmp(&b.id)
            .then_with(|| a.advisory_id.cmp(&b.advisory_id))
    });
    closes
}

fn reboot_action(group: &[&Assessed], inventory: &Inventory) -> Result<RebootAction, PlanError> {
    let first = group[0].finding;
    Ok(RebootAction {
        package: first.package.clone(),
        installed_version: first.installed_version.clone(),
        fixed_version: highest_fixed(group)?,
        running_kernel: inventory.host.kernel.as_ref().map(|k| k.release.clone()),
        closes: closed_findings_of(group),
    })
}

fn not_fixable_entry(assessed: &Assessed) -> NotFixable {
    let finding = assessed.finding;
    let reason = match finding.status {
        FindingStatus::NoFixYet => "the vendor has not released a fix yet",
        FindingStatus::WillNotFix => "the vendor will not fix it in this release",
        FindingStatus::Postponed => "the vendor postponed the fix",
        FindingStatus::Unsupported => "the package has no security support in this release",
        FindingStatus::Undetermined { .. } => {
            "the data cannot tell whether the fix is installed; check the host's updates"
        }
        // `plan` sends only the statuses above here.
        FindingStatus::FixAvailable { .. } | FindingStatus::FixedRebootPending { .. } => {
            "a fix is available"
        }
    };
    NotFixable {
        package: finding.package.clone(),
        installed_version: finding.installed_version.clone(),
        id: finding.id.clone(),
        advisory_id: finding.advisory_id.clone(),
        source: finding.source.clone(),
        cves: finding.cves.clone(),
        status: finding.status.as_str().to_string(),
        reason: reason.to_string(),
        note: finding.note.clone(),
        priority: assessed.level,
    }
}
