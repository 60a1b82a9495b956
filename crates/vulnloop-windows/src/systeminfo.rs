//! The output of `systeminfo` in any UI language.
//!
//! Labels are translated (`OS Name`, `Nom du système d'exploitation`,
//! `OS 名称`), so fields are recognized by their values, which are not.
//! The OS name names a Windows release, and the OS version is
//! `major.minor.build` followed by the build. The installed updates are the
//! numbered items (`[01]: KB4480116`) of the field that lists KB ids.
//! The labels of the update field are needed only when it lists nothing.

use crate::error::WindowsError;
use crate::text::decode;
use vulnloop_inventory::{InstalledUpdate, WindowsHost};

/// The fields of one `systeminfo` output that detection reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    /// Encoding the file was decoded from.
    pub encoding: &'static str,
    /// The first field's value (`Host Name`).
    pub host_name: Option<String>,
    /// `OS Name` (`Microsoft Windows Server 2019 Datacenter`).
    pub os_name: String,
    /// `OS Version` up to the build (`10.0.17763`).
    pub os_version: String,
    /// Build number (`17763`).
    pub build: u32,
    /// Service pack, when the version names one (`Service Pack 1`).
    pub service_pack: Option<String>,
    /// Architecture from `System Type` (`x64`, `x86`, `arm64`).
    pub architecture: Option<String>,
    /// Items of the `Hotfix(s)` field, as listed.
    pub hotfixes: Vec<String>,
    /// Count that the `Hotfix(s)` field states, which can differ from the items listed.
    pub hotfix_count_stated: Option<usize>,
}

/// One `Label: value` line with the numbered items under it.
struct Field {
    line: usize,
    label: String,
    value: String,
    items: Vec<String>,
}

/// Labels of the update field in the languages of the known samples, lower
/// case and cut where code page damage starts (`Revisi` of `Revisión(es)`).
const HOTFIX_LABELS: &[&str] = &[
    "hotfix",
    "correctif",
    "revisi",
    "aggiornamenti rapidi",
    "исправлени",
    "修补程序",
];

impl SystemInfo {
    /// Parses `systeminfo` output; `file` names the input in errors.
    pub fn parse(bytes: &[u8], file: &str) -> Result<Self, WindowsError> {
        let decoded = decode(bytes);
        let fields = split_fields(&decoded.text);
        let missing = |what: &'static str| WindowsError::SystemInfoField {
            file: file.to_string(),
            field: what,
        };

        let (name_index, os_name) = fields
            .iter()
            .enumerate()
            .find_map(|(index, field)| {
                is_windows_name(&field.value).then(|| (index, clean_name(&field.value)))
            })
            .ok_or_else(|| {
                missing("OS Name (a value such as \"Microsoft Windows Server 2019 Datacenter\")")
            })?;
        let version_field = fields[name_index..]
            .iter()
            .find(|field| parse_version(&field.value).is_some())
            .ok_or_else(|| {
                missing("OS Version (a value such as \"10.0.17763 N/A Build 17763\")")
            })?;
        let (os_version, build, service_pack) =
            parse_version(&version_field.value).ok_or_else(|| missing("OS Version"))?;
        let hotfix = find_hotfix_field(&fields)
            .ok_or_else(|| missing("Hotfix(s) (the list of installed updates)"))?;

        Ok(SystemInfo {
            encoding: decoded.encoding,
            host_name: fields.first().map(|f| f.value.clone()).filter(|v| !v.is_empty()),
            os_name,
            os_version,
            build,
            service_pack,
            architecture: fields.iter().find_map(|field| architecture(&field.value)),
            hotfixes: hotfix.items.clone(),
            hotfix_count_stated: leading_number(&hotfix.value),
        })
        .inspect(|info| tracing::debug!(file, line = hotfix.line, label = %hotfix.label, updates = info.hotfixes.len(), "read systeminfo"))
    }

    /// Returns the host description that detection reads.
    pub fn to_host(&self) -> WindowsHost {
        let installed_updates = self
            .hotfixes
            .iter()
            .map(|item| InstalledUpdate {
                id: update_id(item),
                description: None,
                installed_on: None,
            })
            .collect();
        WindowsHost {
            product: self.os_name.clone(),
            edition: None,
            release: crate::product::release_of_build(&self.os_name, self.build)
                .map(str::to_string),
            version: self.os_version.clone(),
            build: self.build,
            ubr: None,
            service_pack: self.service_pack.clone(),
            architecture: self.architecture.clone(),
            installed_updates,
            updates_listed: true,
            servicing_stack: None,
            source_format: "systeminfo".into(),
        }
    }
}

/// Returns whether bytes look like `systeminfo` output: not JSON, and a
/// `Label: value` line whose value names a Windows release. A file cut
/// before the version still counts, so that parsing names what is missing.
pub fn looks_like_systeminfo(bytes: &[u8]) -> bool {
    let text = decode(&bytes[..bytes.len().min(16 * 1024)]).text;
    if text.trim_start().starts_with(['{', '[']) {
        return false;
    }
    split_fields(&text)
        .iter()
        .any(|f| is_windows_name(&f.value))
}

fn split_fields(text: &str) -> Vec<Field> {
    let mut fields: Vec<Field> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            // `[01]: KB4480116` or the French `[01] : …`; deeper lines
            // without a number (a network card's addresses) are not items.
            if let (Some(field), Some(item)) = (fields.last_mut(), numbered_item(line.trim())) {
                field.items.push(item);
            }
            continue;
        }
        let Some((label, value)) = split_label(line) else {
            continue;
        };
        fields.push(Field {
            line: number + 1,
            label: label.trim().to_string(),
            value: value.trim().to_string(),
            items: Vec::new(),
        });
    }
    fields
}

/// Splits at the first colon followed by white space or the line end, so
/// that `C:\Windows` and times in values stay whole.
fn split_label(line: &str) -> Option<(&str, &str)> {
    let mut search = 0;
    while let Some(offset) = line[search..].find(':') {
        let colon = search + offset;
        let rest = &line[colon + 1..];
        if rest.is_empty() || rest.starts_with(char::is_whitespace) {
            return Some((&line[..colon], rest));
        }
        search = colon + 1;
    }
    None
}

fn numbered_item(line: &str) -> Option<String> {
    let rest = line.strip_prefix('[')?;
    let (number, rest) = rest.split_once(']')?;
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let item = rest.trim_start().strip_prefix(':')?.trim();
    Some(item.to_string())
}

/// Recognizes the OS name: `Microsoft Windows …`, or with the vendor name
/// translated (`Майкрософт Windows Server 2012 R2 Standard`).
fn is_windows_name(value: &str) -> bool {
    let lower = clean_name(value).to_lowercase();
    let Some(start) = lower.find("windows ") else {
        return false;
    };
    let release = &lower[start + "windows ".len()..];
    let vendor_first = start > 0 && !lower[..start].contains(':') && !lower[..start].contains('\\');
    vendor_first
        && ["server", "1", "7", "8", "xp", "vista", "nt"]
            .iter()
            .any(|word| release.starts_with(word))
}

/// Removes trademark signs, including the `r`/`T` that a code page
/// conversion leaves of them (`Microsoftr Windows Serverr 2008`).
fn clean_name(value: &str) -> String {
    let without_signs = value
        .replace(['®', '™'], "")
        .replace("(R)", "")
        .replace("(TM)", "");
    without_signs
        .split_whitespace()
        .map(|word| match word {
            "Microsoftr" => "Microsoft",
            "Windowsr" => "Windows",
            "Serverr" => "Server",
            "VistaT" | "Vistar" => "Vista",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses `10.0.17763 N/A Build 17763` or `6.1.7601 Service Pack 1 Build 7601`
/// into the version, the build and the service pack.
fn parse_version(value: &str) -> Option<(String, u32, Option<String>)> {
    let first = value.split_whitespace().next()?;
    let parts: Vec<&str> = first.split('.').collect();
    if parts.len() != 3
        || !parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 6 && p.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let build: u32 = parts[2].parse().ok()?;
    let last: u32 = value.split_whitespace().last()?.parse().ok()?;
    if last != build {
        return None;
    }
    let service_pack = value.find("Service Pack").and_then(|start| {
        let words: Vec<&str> = value[start..].split_whitespace().take(3).collect();
        (words.len() == 3 && words[2].chars().all(|c| c.is_ascii_digit())).then(|| words.join(" "))
    });
    Some((first.to_string(), build, service_pack))
}

fn architecture(value: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let arch = lower.strip_suffix("-based pc")?;
    match arch {
        "x64" => Some("x64".into()),
        "x86" => Some("x86".into()),
        "arm64" => Some("arm64".into()),
        "itanium" | "ia64" => Some("itanium".into()),
        _ => None,
    }
}

fn find_hotfix_field(fields: &[Field]) -> Option<&Field> {
    let listed = fields
        .iter()
        .find(|field| field.items.iter().any(|item| looks_like_update_id(item)));
    listed.or_else(|| {
        fields.iter().find(|field| {
            let label = field.label.to_lowercase();
            HOTFIX_LABELS.iter().any(|known| label.contains(known))
        })
    })
}

fn looks_like_update_id(item: &str) -> bool {
    let upper = item.to_ascii_uppercase();
    let digits_after = |prefix: &str| {
        upper
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.chars().take_while(char::is_ascii_digit).count() >= 4)
    };
    digits_after("KB") || digits_after("Q")
}

/// Returns the update id of an item: `KB893803` of `KB893803v2 - Update`,
/// or the item itself when it is no KB id (`File 1`, a GUID).
fn update_id(item: &str) -> String {
    let upper = item.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix("KB") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if digits.len() >= 4 {
            return format!("KB{digits}");
        }
    }
    item.to_string()
}

fn leading_number(value: &str) -> Option<usize> {
    value
        .split(|c: char| !c.is_ascii_digit())
        .find(|part| !part.is_empty())?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_with_service_pack() {
        let parsed = parse_version("6.1.7601 Service Pack 1 Build 7601").unwrap();
        assert_eq!(
            parsed,
            ("6.1.7601".into(), 7601, Some("Service Pack 1".into()))
        );
        assert!(
            parse_version("VMware, Inc. VMW71.00V.9694812.B64.1808210100, 8/21/2018").is_none()
        );
    }

    #[test]
    fn trademark_leftovers_removed() {
        assert_eq!(
            clean_name("Microsoftr Windows Serverr 2008 Standard "),
            "Microsoft Windows Server 2008 Standard"
        );
        assert_eq!(
            clean_name("Microsoft(R) Windows(R) Server 2003, Standard Edition"),
            "Microsoft Windows Server 2003, Standard Edition"
        );
    }

    #[test]
    fn update_ids_normalized() {
        assert_eq!(update_id("KB893803v2 - Update"), "KB893803");
        assert_eq!(update_id("File 1"), "File 1");
    }
}
