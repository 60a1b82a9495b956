//! The description a Windows host gives of itself: the OS release, its build
//! and revision, and the installed updates.

use serde::{Deserialize, Serialize};

/// A Windows host's OS release and installed updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowsHost {
    /// Product name as the host states it (`Microsoft Windows Server 2019 Datacenter`).
    pub product: String,
    /// Edition (`ServerDatacenter`, `Professional`), when the collector read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
    /// Marketing release (`1809`, `21H2`, `24H2`), stated or derived from the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Kernel version `major.minor.build` (`10.0.17763`).
    pub version: String,
    /// OS build number (`17763`).
    pub build: u32,
    /// Update build revision (UBR, the registry value `UBR`), which each
    /// cumulative update raises. `None` when the source does not state it
    /// (`systeminfo` never does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ubr: Option<u32>,
    /// Service pack (`Service Pack 1`), for releases before Windows 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_pack: Option<String>,
    /// Processor architecture (`x64`, `x86`, `arm64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Installed updates, in the order the source lists them.
    pub installed_updates: Vec<InstalledUpdate>,
    /// Whether the list of installed updates was read. `false` means the
    /// source had no such list, so a missing KB proves nothing.
    pub updates_listed: bool,
    /// Version of the servicing stack, when the collector read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servicing_stack: Option<String>,
    /// Format the host description was read from (`systeminfo`, `wmic-qfe`,
    /// `get-hotfix`, `collector-json`).
    pub source_format: String,
}

impl WindowsHost {
    /// Returns the `major.minor.build.ubr` version, or `major.minor.build` without a UBR.
    pub fn full_build(&self) -> String {
        match self.ubr {
            Some(ubr) => format!("{}.{ubr}", self.version),
            None => self.version.clone(),
        }
    }

    /// Returns the KB numbers of the installed updates, without the `KB` prefix.
    pub fn installed_kb_numbers(&self) -> Vec<String> {
        self.installed_updates
            .iter()
            .filter_map(|update| update.kb_number().map(str::to_string))
            .collect()
    }
}

/// One installed update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledUpdate {
    /// Identifier as listed (`KB5034127`, or an old `Q147222`).
    pub id: String,
    /// Description (`Security Update`, `Update`), when listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Installation date as the source wrote it, when listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_on: Option<String>,
}

impl InstalledUpdate {
    /// Returns the KB number (`5034127`) when the id is a KB article id.
    pub fn kb_number(&self) -> Option<&str> {
        let digits = self
            .id
            .strip_prefix("KB")
            .or_else(|| self.id.strip_prefix("kb"))?;
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        (end >= 4).then(|| &digits[..end])
    }
}
