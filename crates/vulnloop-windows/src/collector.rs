//! The JSON that `scripts/collect-windows.ps1` writes, on the host or over
//! SSH (a Windows OpenSSH server runs the same script).

use serde::Deserialize;
use vulnloop_inventory::{InstalledUpdate, WindowsHost};

use crate::error::WindowsError;
use crate::text::decode;

/// Value of the `format` member that marks the collector's output.
pub const FORMAT: &str = "vulnloop-windows-collector";

/// The collector's output, as the script writes it (format version 1).
#[derive(Debug, Clone, Deserialize)]
pub struct CollectorOutput {
    pub format: String,
    pub format_version: u32,
    pub collected_at: Option<String>,
    pub hostname: Option<String>,
    /// `Win32_OperatingSystem.Caption` (`Microsoft Windows 11 Pro`). The
    /// registry's `ProductName` reads `Windows 10` on Windows 11, so the
    /// caption names the product.
    pub caption: String,
    /// Registry `EditionID` (`ServerDatacenter`).
    pub edition_id: Option<String>,
    /// Registry `DisplayVersion`, else `ReleaseId` (`21H2`, `1809`).
    pub display_version: Option<String>,
    /// `Win32_OperatingSystem.Version` (`10.0.17763`).
    pub version: String,
    /// Registry `UBR`.
    pub ubr: Option<u32>,
    /// `Win32_OperatingSystem.ServicePackMajorVersion`.
    pub service_pack_major: Option<u32>,
    /// `Win32_OperatingSystem.OSArchitecture` (`64-bit`, `32-bit`, `ARM 64-bit`).
    pub os_architecture: Option<String>,
    /// Version of `TrustedInstaller.exe`, the servicing stack.
    pub servicing_stack: Option<String>,
    /// `Get-HotFix` rows.
    pub hotfixes: Vec<CollectorHotfix>,
}

/// One row of `Get-HotFix`.
#[derive(Debug, Clone, Deserialize)]
pub struct CollectorHotfix {
    #[serde(rename = "HotFixID")]
    pub hotfix_id: String,
    #[serde(rename = "Description")]
    pub description: Option<String>,
    #[serde(rename = "InstalledOn")]
    pub installed_on: Option<String>,
}

/// Returns whether bytes are the collector's JSON.
pub fn looks_like_collector_json(bytes: &[u8]) -> bool {
    let text = decode(&bytes[..bytes.len().min(4096)]).text;
    text.trim_start().starts_with('{') && text.contains(FORMAT)
}

/// Parses the collector's JSON into the host description; `file` names the input in errors.
pub fn parse(bytes: &[u8], file: &str) -> Result<WindowsHost, WindowsError> {
    let text = decode(bytes).text;
    let output: CollectorOutput =
        serde_json::from_str(&text).map_err(|error| WindowsError::CollectorJson {
            file: file.to_string(),
            line: error.line(),
            column: error.column(),
            message: error
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_string(),
        })?;
    let field_error = |field: &'static str, problem: String| WindowsError::CollectorField {
        file: file.to_string(),
        field,
        problem,
    };
    if output.format != FORMAT || output.format_version != 1 {
        return Err(field_error(
            "format",
            format!(
                "is {:?} version {}, expected {FORMAT:?} version 1",
                output.format, output.format_version
            ),
        ));
    }
    let parts: Vec<&str> = output.version.split('.').collect();
    let build = match parts.as_slice() {
        [_, _, build] => build.parse::<u32>().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        field_error(
            "version",
            format!("{:?} is not major.minor.build", output.version),
        )
    })?;
    let architecture = output.os_architecture.as_deref().map(|arch| match arch {
        a if a.contains("ARM") => "arm64",
        a if a.contains("64") => "x64",
        _ => "x86",
    });
    let derived = crate::product::release_of_build(&output.caption, build).map(str::to_string);
    Ok(WindowsHost {
        product: output.caption.trim().to_string(),
        edition: output.edition_id,
        release: output.display_version.filter(|v| !v.is_empty()).or(derived),
        version: output.version.clone(),
        build,
        ubr: output.ubr,
        service_pack: output
            .service_pack_major
            .filter(|sp| *sp > 0)
            .map(|sp| format!("Service Pack {sp}")),
        architecture: architecture.map(str::to_string),
        installed_updates: output
            .hotfixes
            .into_iter()
            .map(|row| InstalledUpdate {
                id: row.hotfix_id,
                description: row.description,
                installed_on: row.installed_on,
            })
            .collect(),
        updates_listed: true,
        servicing_stack: output.servicing_stack,
        source_format: "collector-json".into(),
    })
}
