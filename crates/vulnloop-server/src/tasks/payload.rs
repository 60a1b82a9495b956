//! Payloads of fix and verify tasks: structured data that the agent turns
//! into its own upgrade steps, never a command string.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sqlx::Row;
use vulnloop_inventory::{Inventory, PackageManager};
use vulnloop_remediate::Tool;

use super::FindingRef;
use crate::error::ApiError;
use crate::store::text;

/// Version of the fix and verify payload layout. Adding a field keeps it;
/// renaming, removing or changing the meaning of one raises it.
pub const PAYLOAD_VERSION: u32 = 1;

/// Payload of a fix task: the packages the agent upgrades and their target versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixPayload {
    pub schema_version: u32,
    /// Upgrade tool for the host's OS: `apt`, `dnf`, `yum`, `zypper` or `apk`.
    pub package_manager: String,
    /// OS of the host's last inventory (`debian:12`).
    pub os: String,
    pub packages: Vec<FixPackage>,
}

/// One package to raise to a target version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixPackage {
    /// Package the advisories name: a source package on Debian, Ubuntu and
    /// Alpine, a binary package on the Red Hat family and SUSE.
    pub package: String,
    /// Installed version that the advisories were compared with.
    pub installed_version: String,
    /// Highest fixed version among the vulnerabilities, in the package manager's ordering.
    pub target_version: String,
    pub vulnerabilities: Vec<FixedVulnerability>,
}

/// A vulnerability that upgrading a package fixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedVulnerability {
    pub vulnerability_id: String,
    pub advisory_id: String,
    pub fixed_version: String,
}

/// What a verify task checks: the packages whose findings it decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyPayload {
    pub schema_version: u32,
    /// Packages the advisories name, sorted; the agent reports whether a
    /// running process still uses files of their installed binaries.
    pub packages: Vec<String>,
}

/// A finding row as the payload builders need it.
pub(super) struct FindingRow {
    key: FindingRef,
    advisory_id: String,
    installed_version: String,
    fixed_version: Option<String>,
}

/// Loads the named findings of a host; 422 naming those that do not exist
/// or whose status a task must not change.
pub(super) async fn load_findings(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    findings: &BTreeSet<FindingRef>,
) -> Result<Vec<FindingRow>, ApiError> {
    let mut rows = Vec::with_capacity(findings.len());
    let mut missing = Vec::new();
    let mut closed = Vec::new();
    for finding in findings {
        let row = sqlx::query(
            "SELECT advisory_id, installed_version, fixed_version, status FROM findings
             WHERE host_id = $1 AND vulnerability_id = $2 AND package = $3",
        )
        .bind(host_id)
        .bind(&finding.vulnerability_id)
        .bind(&finding.package)
        .fetch_optional(&mut **transaction)
        .await?;
        let Some(row) = row else {
            missing.push(describe(finding));
            continue;
        };
        let status: String = row.try_get("status")?;
        // Ignored and expired findings belong to whitelist rules and expiry,
        // and a finding no longer present has nothing left to fix or verify.
        if matches!(status.as_str(), "ignored" | "expired" | "no_longer_present") {
            closed.push(format!("{} ({status})", describe(finding)));
            continue;
        }
        rows.push(FindingRow {
            key: finding.clone(),
            advisory_id: row.try_get("advisory_id")?,
            installed_version: row.try_get("installed_version")?,
            fixed_version: text(&row, "fixed_version")?,
        });
    }

    if !missing.is_empty() {
        return Err(ApiError::Unprocessable(format!(
            "host {host_id} has no findings {}",
            missing.join(", ")
        )));
    }
    if !closed.is_empty() {
        return Err(ApiError::Unprocessable(format!(
            "these findings are closed, so no task may change them: {}",
            closed.join(", ")
        )));
    }
    Ok(rows)
}

fn describe(finding: &FindingRef) -> String {
    format!("{} in {}", finding.vulnerability_id, finding.package)
}

/// Builds a fix payload from the host's last inventory and the findings.
///
/// The inventory names the package manager of each package; the host's OS
/// then picks the upgrade tool (apt on dpkg hosts, dnf or yum on rpm hosts
/// by release, zypper on SUSE). Returns 422 naming the findings without a
/// fixed version, the packages the inventory lacks, and Windows updates,
/// which no agent task installs yet.
pub(super) fn fix_payload(
    host_id: &str,
    inventory: Option<&str>,
    rows: &[FindingRow],
) -> Result<FixPayload, ApiError> {
    let unfixed: Vec<String> = rows
        .iter()
        .filter(|row| row.fixed_version.is_none())
        .map(|row| describe(&row.key))
        .collect();
    if !unfixed.is_empty() {
        return Err(ApiError::Unprocessable(format!(
            "these findings have no fixed version, so no upgrade fixes them: {}",
            unfixed.join(", ")
        )));
    }
    let inventory = inventory.ok_or_else(|| {
        ApiError::Unprocessable(format!(
            "host {host_id} has not uploaded an inventory, so its package manager is unknown"
        ))
    })?;
    let inventory = Inventory::from_json(inventory, "stored inventory").map_err(|error| {
        ApiError::Internal(anyhow::Error::new(error).context("the stored inventory is invalid"))
    })?;

    let mut managers: Vec<PackageManager> = Vec::new();
    let mut unknown = Vec::new();
    for row in rows {
        let package = &row.key.package;
        match inventory
            .packages
            .iter()
            .find(|p| p.name == *package || p.source_name() == package)
        {
            Some(installed) if !managers.contains(&installed.manager) => {
                managers.push(installed.manager)
            }
            Some(_) => {}
            None => unknown.push(package.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::Unprocessable(format!(
            "these packages are not OS packages of the host's last inventory, so no package manager upgrades them: {}",
            unknown.join(", ")
        )));
    }
    let manager = single_manager(&managers)?;
    let os = &inventory.host.os;
    let tool = Tool::for_host(manager, &os.id, os.version_id.as_deref());
    let os_name = match &os.version_id {
        Some(version) => format!("{}:{version}", os.id),
        None => os.id.clone(),
    };
    Ok(FixPayload {
        schema_version: PAYLOAD_VERSION,
        package_manager: tool_name(tool).to_string(),
        os: os_name,
        packages: fix_packages(manager, rows)?,
    })
}

fn single_manager(managers: &[PackageManager]) -> Result<PackageManager, ApiError> {
    match managers {
        [PackageManager::Windows] => Err(ApiError::Unprocessable(
            "Windows updates cannot be installed through a fix task yet; install the KB by hand".to_string(),
        )),
        [manager] => Ok(*manager),
        _ => Err(ApiError::Unprocessable(
            "the findings belong to packages of several package managers; create one fix task per package manager"
                .to_string(),
        )),
    }
}

/// Returns the payload's name of a tool, the same as the fix plan's JSON.
fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::Apt => "apt",
        Tool::Dnf => "dnf",
        Tool::Yum => "yum",
        Tool::Zypper => "zypper",
        Tool::Apk => "apk",
        Tool::Wusa => "wusa",
    }
}

/// Groups the findings by package; a package's target is its highest fixed version.
fn fix_packages(manager: PackageManager, rows: &[FindingRow]) -> Result<Vec<FixPackage>, ApiError> {
    let scheme = vulnloop_match::scheme_for(manager);
    let mut packages: BTreeMap<&str, FixPackage> = BTreeMap::new();
    for row in rows {
        let fixed = row.fixed_version.clone().unwrap_or_default();
        let entry = packages
            .entry(&row.key.package)
            .or_insert_with(|| FixPackage {
                package: row.key.package.clone(),
                installed_version: row.installed_version.clone(),
                target_version: fixed.clone(),
                vulnerabilities: Vec::new(),
            });
        let order = scheme
            .compare(&fixed, &entry.target_version)
            .map_err(|error| {
                ApiError::Unprocessable(format!(
                    "cannot compare the fixed versions {fixed:?} and {:?} of {}: {error}",
                    entry.target_version, row.key.package
                ))
            })?;
        if order == Ordering::Greater {
            entry.target_version = fixed.clone();
        }
        entry.vulnerabilities.push(FixedVulnerability {
            vulnerability_id: row.key.vulnerability_id.clone(),
            advisory_id: row.advisory_id.clone(),
            fixed_version: fixed,
        });
    }
    Ok(packages.into_values().collect())
}

/// Builds a verify payload: the packages of the findings.
pub(super) fn verify_payload(rows: &[FindingRow]) -> VerifyPayload {
    let packages: BTreeSet<String> = rows.iter().map(|row| row.key.package.clone()).collect();
    VerifyPayload {
        schema_version: PAYLOAD_VERSION,
        packages: packages.into_iter().collect(),
    }
}
