//! Lists of installed updates: `wmic qfe` and `Get-HotFix` tables, and their
//! `list full` / `Format-List` forms (`HotFixID=KB…`, `HotFixID : KB…`).

use crate::error::WindowsError;
use crate::text::decode;
use vulnloop_inventory::InstalledUpdate;

/// A parsed list of installed updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotfixList {
    /// `wmic-qfe` (with a `Caption` or `FixComments` column) or `get-hotfix` (with `Source`).
    pub format: &'static str,
    pub updates: Vec<InstalledUpdate>,
}

/// Returns whether bytes look like a `wmic qfe` or `Get-HotFix` list.
pub fn looks_like_hotfix_list(bytes: &[u8]) -> bool {
    let text = decode(&bytes[..bytes.len().min(16 * 1024)]).text;
    text.lines().any(|line| {
        let trimmed = line.trim_start();
        (trimmed.contains("HotFixID") && trimmed.contains("Description"))
            || trimmed.starts_with("HotFixID=")
            || trimmed.starts_with("HotFixID ")
    })
}

/// Parses a `wmic qfe` or `Get-HotFix` list; `file` names the input in errors.
///
/// An empty table (a header and no rows) is a valid list without updates.
pub fn parse(bytes: &[u8], file: &str) -> Result<HotfixList, WindowsError> {
    let text = decode(bytes).text;
    if text.trim().is_empty() {
        // `wmic qfe` writes nothing to its output when no update is installed.
        return Ok(HotfixList {
            format: "wmic-qfe",
            updates: Vec::new(),
        });
    }
    let lines: Vec<&str> = text.lines().collect();
    if let Some(header) = lines
        .iter()
        .position(|line| line.contains("HotFixID") && line.contains("Description"))
    {
        return Ok(parse_table(&lines[header..]));
    }
    let updates = parse_key_values(&lines);
    if updates.is_empty()
        && !lines
            .iter()
            .any(|line| line.trim_start().starts_with("HotFixID"))
    {
        return Err(WindowsError::HotfixList {
            file: file.to_string(),
        });
    }
    let format = if text.contains("HotFixID=") {
        "wmic-qfe"
    } else {
        "get-hotfix"
    };
    Ok(HotfixList { format, updates })
}

/// Reads a table whose columns start where the header's names start.
fn parse_table(lines: &[&str]) -> HotfixList {
    let header: Vec<char> = lines[0].chars().collect();
    let mut columns: Vec<(String, usize)> = Vec::new();
    let mut index = 0;
    while index < header.len() {
        if header[index].is_whitespace() {
            index += 1;
            continue;
        }
        let start = index;
        while index < header.len() && !header[index].is_whitespace() {
            index += 1;
        }
        columns.push((header[start..index].iter().collect(), start));
    }
    let format = if columns.iter().any(|(name, _)| name == "Source") {
        "get-hotfix"
    } else {
        "wmic-qfe"
    };

    let cell = |row: &[char], name: &str| -> Option<String> {
        let position = columns.iter().position(|(column, _)| column == name)?;
        let start = columns[position].1;
        let end = columns
            .get(position + 1)
            .map_or(row.len(), |(_, next)| *next)
            .min(row.len());
        let value: String = row.get(start..end)?.iter().collect();
        Some(value.trim().to_string()).filter(|v| !v.is_empty())
    };
    let mut updates = Vec::new();
    for line in &lines[1..] {
        if line.trim().is_empty() || line.trim_start().starts_with("---") {
            continue;
        }
        let row: Vec<char> = line.chars().collect();
        // A value wider than its column shifts the rest of the row, which
        // leaves the column empty; the id is then the first KB-like word of
        // the row. A placeholder such as Windows XP's `File 1` is no update id.
        let id = match cell(&row, "HotFixID") {
            Some(id) if id.contains(' ') => continue,
            Some(id) => id,
            None => match line.split_whitespace().find(|word| word.starts_with("KB")) {
                Some(word) => word.to_string(),
                None => continue,
            },
        };
        updates.push(InstalledUpdate {
            id,
            description: cell(&row, "Description"),
            installed_on: cell(&row, "InstalledOn"),
        });
    }
    HotfixList { format, updates }
}

/// Reads `Key=Value` (`wmic qfe list full`) or `Key : Value` (`Format-List`) records.
fn parse_key_values(lines: &[&str]) -> Vec<InstalledUpdate> {
    let mut updates: Vec<InstalledUpdate> = Vec::new();
    let mut description = None;
    let mut installed_on = None;
    for line in lines {
        let Some((key, value)) = line.split_once('=').or_else(|| line.split_once(" : ")) else {
            if line.trim().is_empty() {
                description = None;
                installed_on = None;
            }
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "Description" => description = Some(value.to_string()).filter(|v| !v.is_empty()),
            "InstalledOn" => {
                installed_on = Some(value.to_string()).filter(|v| !v.is_empty());
                if let Some(last) = updates.last_mut().filter(|u| u.installed_on.is_none()) {
                    last.installed_on.clone_from(&installed_on);
                }
            }
            "HotFixID" if !value.is_empty() => updates.push(InstalledUpdate {
                id: value.to_string(),
                description: description.clone(),
                installed_on: installed_on.clone(),
            }),
            _ => {}
        }
    }
    updates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_hotfix_table_read() {
        let text = "\r\nSource        Description      HotFixID      InstalledBy          InstalledOn\r\n\
                    ------        -----------      --------      -----------          -----------\r\n\
                    WIN-1         Security Update  KB5034127     NT AUTHORITY\\SYSTEM  1/10/2024 12:00:00 AM\r\n";
        let list = parse(text.as_bytes(), "hotfix.txt").unwrap();
        assert_eq!(list.format, "get-hotfix");
        assert_eq!(list.updates.len(), 1);
        assert_eq!(list.updates[0].id, "KB5034127");
        assert_eq!(
            list.updates[0].description.as_deref(),
            Some("Security Update")
        );
        assert_eq!(
            list.updates[0].installed_on.as_deref(),
            Some("1/10/2024 12:00:00 AM")
        );
    }

    #[test]
    fn list_full_read() {
        let text = "\r\nCaption=http://support.microsoft.com/?kbid=4480116\r\nDescription=Security Update\r\nHotFixID=KB4480116\r\nInstalledOn=1/13/2019\r\n\r\n";
        let list = parse(text.as_bytes(), "qfe.txt").unwrap();
        assert_eq!(list.format, "wmic-qfe");
        assert_eq!(list.updates[0].id, "KB4480116");
        assert_eq!(list.updates[0].installed_on.as_deref(), Some("1/13/2019"));
    }

    #[test]
    fn unrelated_text_rejected() {
        let error = parse(b"hello\r\n", "notes.txt").unwrap_err();
        assert!(error.to_string().contains("notes.txt"), "{error}");
    }
}
