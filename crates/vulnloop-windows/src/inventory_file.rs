//! Reading `vulnloop scan --inventory FILE`: our inventory JSON, or one of
//! the Windows formats, recognized by content.

use std::path::Path;

use vulnloop_inventory::{Host, Inventory, Os, WindowsHost, SCHEMA_VERSION};

use crate::error::WindowsError;

/// Formats of an inventory file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryFormat {
    /// vulnloop's inventory JSON.
    Vulnloop,
    /// `systeminfo` output.
    SystemInfo,
    /// The JSON of `scripts/collect-windows.ps1`.
    CollectorJson,
    /// A `wmic qfe` or `Get-HotFix` list.
    HotfixList,
}

/// Recognizes the format of an inventory file from its content.
pub fn detect_format(bytes: &[u8]) -> InventoryFormat {
    if crate::collector::looks_like_collector_json(bytes) {
        InventoryFormat::CollectorJson
    } else if crate::systeminfo::looks_like_systeminfo(bytes) {
        InventoryFormat::SystemInfo
    } else if crate::hotfix_list::looks_like_hotfix_list(bytes) {
        InventoryFormat::HotfixList
    } else {
        InventoryFormat::Vulnloop
    }
}

/// Errors reading an inventory file of any format.
#[derive(Debug, thiserror::Error)]
pub enum InventoryFileError {
    #[error(transparent)]
    Windows(#[from] WindowsError),
    #[error(transparent)]
    Inventory(#[from] vulnloop_inventory::InventoryError),
}

/// Reads an inventory file in any supported format.
pub fn read_inventory_file(path: &Path) -> Result<Inventory, InventoryFileError> {
    let display = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| WindowsError::read(&display, source))?;
    inventory_from_bytes(&bytes, &display)
}

/// Builds an inventory from the bytes of a file; `origin` names it in errors.
pub fn inventory_from_bytes(bytes: &[u8], origin: &str) -> Result<Inventory, InventoryFileError> {
    let host = match detect_format(bytes) {
        InventoryFormat::Vulnloop => {
            let text = String::from_utf8_lossy(bytes);
            return Ok(Inventory::from_json(&text, origin)?);
        }
        InventoryFormat::SystemInfo => {
            let info = crate::systeminfo::SystemInfo::parse(bytes, origin)?;
            (info.to_host(), info.host_name.clone())
        }
        InventoryFormat::CollectorJson => (
            crate::collector::parse(bytes, origin)?,
            collector_hostname(bytes),
        ),
        InventoryFormat::HotfixList => {
            let list = crate::hotfix_list::parse(bytes, origin)?;
            return Err(WindowsError::UpdatesWithoutRelease {
                file: origin.to_string(),
                format: list.format,
            }
            .into());
        }
    };
    Ok(windows_inventory(host.0, host.1, origin))
}

fn collector_hostname(bytes: &[u8]) -> Option<String> {
    let text = crate::text::decode(bytes).text;
    serde_json::from_str::<crate::collector::CollectorOutput>(&text)
        .ok()?
        .hostname
}

/// Wraps a Windows host description into an inventory (host os id `windows`).
pub fn windows_inventory(host: WindowsHost, hostname: Option<String>, origin: &str) -> Inventory {
    Inventory {
        schema_version: SCHEMA_VERSION,
        collected_at: String::new(),
        host: Host {
            hostname,
            root: None,
            os: Os {
                id: "windows".into(),
                version_id: Some(host.full_build()),
                codename: host.release.clone(),
                pretty_name: Some(host.product.clone()),
                source: origin.to_string(),
            },
            kernel: None,
        },
        packages: Vec::new(),
        problems: Vec::new(),
        runtime: None,
        applications: Vec::new(),
        windows: Some(host),
    }
}
