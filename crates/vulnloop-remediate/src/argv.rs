//! The upgrade tools and the argument vectors they run.
//!
//! An argument vector is passed to the program as is, without a shell, so
//! no quoting is involved. A package name could still be read as an option
//! (`--config=…`) or name something that is not a package. Every name is
//! therefore checked against the package manager's naming rules before it
//! becomes an argument.

use std::collections::BTreeMap;

use serde::Serialize;
use vulnloop_inventory::PackageManager;

use crate::model::{FixStep, PlanError};

/// The program that installs upgrades on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    /// `apt-get`, on dpkg hosts.
    Apt,
    /// `dnf`, on the Red Hat family from release 8 and Amazon Linux 2023.
    Dnf,
    /// `yum`, on the Red Hat family before release 8 and Amazon Linux 2.
    Yum,
    /// `zypper`, on SUSE Linux Enterprise and openSUSE.
    Zypper,
    /// `apk`, on Alpine.
    Apk,
    /// `wusa.exe`, the Windows Update Standalone Installer, with a
    /// downloaded `.msu` package.
    Wusa,
}

impl Tool {
    /// Returns the tool that upgrades packages of `manager` on the given release.
    pub fn for_host(manager: PackageManager, os_id: &str, os_version: Option<&str>) -> Self {
        match manager {
            PackageManager::Dpkg => Tool::Apt,
            PackageManager::Apk => Tool::Apk,
            PackageManager::Rpm if is_suse(os_id) => Tool::Zypper,
            PackageManager::Rpm if uses_yum(os_id, os_version) => Tool::Yum,
            PackageManager::Rpm => Tool::Dnf,
            PackageManager::Windows => Tool::Wusa,
        }
    }

    /// Returns the program name (`apt-get`).
    pub fn program(self) -> &'static str {
        match self {
            Tool::Apt => "apt-get",
            Tool::Dnf => "dnf",
            Tool::Yum => "yum",
            Tool::Zypper => "zypper",
            Tool::Apk => "apk",
            Tool::Wusa => "wusa.exe",
        }
    }

    /// Returns the package manager whose packages the tool installs.
    pub fn manager(self) -> PackageManager {
        match self {
            Tool::Apt => PackageManager::Dpkg,
            Tool::Dnf | Tool::Yum | Tool::Zypper => PackageManager::Rpm,
            Tool::Apk => PackageManager::Apk,
            Tool::Wusa => PackageManager::Windows,
        }
    }
}

fn is_suse(os_id: &str) -> bool {
    os_id == "sles" || os_id == "sled" || os_id.starts_with("opensuse")
}

/// Returns whether the release's package manager is yum: Amazon Linux 2 and
/// releases 6 and 7 of the Red Hat family.
fn uses_yum(os_id: &str, os_version: Option<&str>) -> bool {
    let major = os_version.and_then(|v| v.split('.').next()).unwrap_or("");
    match os_id {
        "amzn" => major == "2",
        "rhel" | "centos" | "ol" => major == "7" || major == "6",
        _ => false,
    }
}

impl FixStep {
    /// Builds the argument vector (program first) that performs this step.
    ///
    /// apt names every binary package without a version, because
    /// `pkg=version` needs the exact candidate version and the advisories
    /// only give the lowest fixed one. dnf names the vendor advisories when
    /// every finding has one (`RLSA-2024:1234`), else the packages. zypper
    /// names the CVEs when every finding has one, else the packages. A name that occurs
    /// with several architectures is qualified (`libssl3:i386` for apt,
    /// `openssl-libs.i686` for rpm tools).
    ///
    /// Returns an error when a package name or architecture breaks the
    /// package manager's naming rules.
    pub fn argv(&self) -> Result<Vec<String>, PlanError> {
        if self.tool == Tool::Wusa {
            return crate::windows::wusa_argv(&self.target_version);
        }
        let names = self.package_arguments()?;
        let mut argv: Vec<String> = match self.tool {
            Tool::Apt => ["apt-get", "install", "--only-upgrade", "-y"]
                .map(String::from)
                .to_vec(),
            Tool::Apk => ["apk", "add", "--upgrade"].map(String::from).to_vec(),
            Tool::Yum => ["yum", "update", "-y"].map(String::from).to_vec(),
            Tool::Dnf => {
                let mut argv = ["dnf", "upgrade", "-y"].map(String::from).to_vec();
                match self.advisory_ids() {
                    Some(advisories) => {
                        argv.extend(advisories.iter().map(|id| format!("--advisory={id}")));
                        return Ok(argv);
                    }
                    None => argv,
                }
            }
            Tool::Wusa => return crate::windows::wusa_argv(&self.target_version),
            Tool::Zypper => match self.cve_ids() {
                Some(cves) => {
                    let argv = ["zypper", "--non-interactive", "patch"]
                        .map(String::from)
                        .to_vec();
                    return Ok([argv, vec![format!("--cve={}", cves.join(","))]].concat());
                }
                None => ["zypper", "--non-interactive", "update"]
                    .map(String::from)
                    .to_vec(),
            },
        };
        argv.extend(names);
        Ok(argv)
    }

    /// Returns the validated package arguments, arch-qualified where a name repeats.
    fn package_arguments(&self) -> Result<Vec<String>, PlanError> {
        let manager = self.tool.manager();
        let mut arches_per_name: BTreeMap<&str, usize> = BTreeMap::new();
        for package in &self.packages {
            validate_package_name(manager, &package.name).map_err(|reason| {
                PlanError::InvalidPackageName {
                    manager: manager_name(manager),
                    name: package.name.clone(),
                    reason,
                    package: self.package.clone(),
                }
            })?;
            *arches_per_name.entry(&package.name).or_default() += 1;
        }

        let mut arguments = Vec::new();
        for package in &self.packages {
            let repeated = arches_per_name
                .get(package.name.as_str())
                .copied()
                .unwrap_or(0)
                > 1;
            let argument = match (&package.arch, repeated) {
                (Some(arch), true) if arch != "all" && arch != "noarch" => {
                    if !is_valid_arch(arch) {
                        return Err(PlanError::InvalidArchitecture {
                            name: package.name.clone(),
                            arch: arch.clone(),
                            package: self.package.clone(),
                        });
                    }
                    let separator = if manager == PackageManager::Dpkg {
                        ':'
                    } else {
                        '.'
                    };
                    format!("{}{separator}{arch}", package.name)
                }
                _ => package.name.clone(),
            };
            if !arguments.contains(&argument) {
                arguments.push(argument);
            }
        }
        Ok(arguments)
    }

    /// Returns the sorted vendor advisory ids, when every finding has one that dnf accepts.
    fn advisory_ids(&self) -> Option<Vec<&str>> {
        let ids: Vec<&str> = self.closes.iter().map(|f| f.advisory_id.as_str()).collect();
        (!ids.is_empty() && ids.iter().all(|id| is_vendor_advisory_id(id)))
            .then(|| sorted_unique(ids))
    }

    /// Returns the sorted CVE ids, when every finding has at least one.
    fn cve_ids(&self) -> Option<Vec<&str>> {
        let mut cves = Vec::new();
        for finding in &self.closes {
            let valid: Vec<&str> = finding
                .cves
                .iter()
                .map(String::as_str)
                .filter(|c| is_cve_id(c))
                .collect();
            if valid.is_empty() {
                return None;
            }
            cves.extend(valid);
        }
        (!cves.is_empty()).then(|| sorted_unique(cves))
    }
}

fn sorted_unique(mut items: Vec<&str>) -> Vec<&str> {
    items.sort_unstable();
    items.dedup();
    items
}

fn manager_name(manager: PackageManager) -> &'static str {
    match manager {
        PackageManager::Dpkg => "dpkg",
        PackageManager::Rpm => "rpm",
        PackageManager::Apk => "apk",
        PackageManager::Windows => "windows",
    }
}

/// Maximum package name length accepted; real names stay far below it.
const MAX_NAME_LEN: usize = 200;

/// Checks a package name against the package manager's naming rules and
/// returns the rule it breaks.
///
/// dpkg: Debian Policy 5.6.1, lowercase letters, digits, `+`, `-` and `.`,
/// at least two characters, starting with a letter or digit. rpm and apk
/// allow upper case letters and `_` too. All three reject whitespace, shell
/// metacharacters and a leading `-`, which a tool would read as an option.
pub fn validate_package_name(manager: PackageManager, name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return Err("the name is longer than 200 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("a name must start with a letter or a digit");
    }
    let allowed = |c: char| match manager {
        PackageManager::Dpkg => {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.')
        }
        PackageManager::Rpm | PackageManager::Apk => {
            c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_')
        }
        // Windows steps name a KB, which `wusa_argv` checks, never a package.
        PackageManager::Windows => c.is_ascii_alphanumeric(),
    };
    if !name.chars().all(allowed) {
        return Err(match manager {
            PackageManager::Dpkg => {
                "a name may contain only lowercase letters, digits, '+', '-' and '.'"
            }
            PackageManager::Rpm | PackageManager::Apk => {
                "a name may contain only letters, digits, '+', '-', '.' and '_'"
            }
            PackageManager::Windows => "a KB id may contain only letters and digits",
        });
    }
    if manager == PackageManager::Dpkg && name.len() < 2 {
        return Err("a name must have at least two characters");
    }
    Ok(())
}

/// Returns whether `arch` is a valid architecture name (`amd64`, `arm64`, `x86_64`).
pub fn is_valid_arch(arch: &str) -> bool {
    !arch.is_empty()
        && arch.len() <= 32
        && arch.starts_with(|c: char| c.is_ascii_alphanumeric())
        && arch
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Returns whether `id` has the form of a Red Hat-family advisory id
/// (`RHSA-2024:1234`, `ALSA-2024:1234`, `RLSA-2024:1234`, `ELSA-2024-1234`,
/// `ALAS2-2024-1234`).
fn is_vendor_advisory_id(id: &str) -> bool {
    let Some((prefix, rest)) = id.split_once('-') else {
        return false;
    };
    let prefix_ok = prefix.len() >= 2
        && prefix.starts_with(|c: char| c.is_ascii_uppercase())
        && prefix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let rest_ok = rest.len() >= 6
        && rest.starts_with(|c: char| c.is_ascii_digit())
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || c == ':' || c == '-');
    prefix_ok && prefix != "CVE" && rest_ok
}

/// Returns whether `id` is a CVE id (`CVE-2024-12345`).
fn is_cve_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    match rest.split_once('-') {
        Some((year, number)) => {
            year.len() == 4
                && year.chars().all(|c| c.is_ascii_digit())
                && number.len() >= 4
                && number.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}
