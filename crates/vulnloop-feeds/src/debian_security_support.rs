//! Debian's security-support lists, from the `debian-security-support` package.
//!
//! `security-support-ended.debN` lists source packages whose support in
//! Debian N ends before the release does: name, last supported version,
//! end date (YYYY-MM-DD) and optional details, separated by spaces or tabs.
//! `security-support-limited` lists packages with limited support: name and
//! details. The lists without a `.debN` suffix belong to the release the
//! package was built for, which the list directory names
//! (`debian-security-support-12+2026.06.30`). When a package appears in both
//! `security-support-ended` and `security-support-ended.deb12`, the
//! release-specific line is used and the repeat is counted as skipped.
//!
//! Each line becomes one advisory with [`Status::Unsupported`] for the
//! source package. Some names are patterns (`php-horde.*`, `golang.*`,
//! `node-.*`); they are kept verbatim, and a matcher should treat a trailing
//! `.*` as "any package whose name starts with the text before it".

use std::collections::HashMap;
use std::io::Read;

use vulnloop_advisory::{Advisory, Affected, Ecosystem, PackageKind, Status};

use crate::input::{self, base_name};
use crate::skipped::Skipped;
use crate::{FeedError, FeedKind, FeedSummary};

/// Prefix of the list directory and of the archive name.
const DIRECTORY_PREFIX: &str = "debian-security-support-";

/// The kind of list in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    Ended,
    Limited,
}

/// A list file with the release it is for.
struct List {
    kind: ListKind,
    release: String,
    /// The release came from a `.debN` suffix rather than from the directory.
    release_specific: bool,
    name: String,
    content: Vec<u8>,
}

/// Parses one list file, or every list in a tar archive of them.
pub(crate) fn parse(
    reader: Box<dyn Read>,
    name: &str,
    tar: bool,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    let mut skipped = Skipped::default();
    let lists = if tar {
        read_archive(reader, name, &mut skipped)?
    } else {
        vec![read_single(reader, name)?]
    };
    let advisories = advisories(&lists, &mut skipped);
    let records = advisories.len();
    for advisory in advisories {
        sink(advisory);
    }
    Ok(FeedSummary {
        kind: FeedKind::DebianSecuritySupport,
        snapshot: snapshot_date(name),
        records,
        skipped: skipped.into_lines(),
    })
}

fn read_archive(
    reader: Box<dyn Read>,
    name: &str,
    skipped: &mut Skipped,
) -> Result<Vec<List>, FeedError> {
    let mut lists = Vec::new();
    let wanted = |path: &str| base_name(path).starts_with("security-support-");
    input::for_each_entry(reader, name, wanted, |path, content| {
        let directory_release =
            release_from_directory(path).or_else(|| release_from_directory(name));
        match classify(path, directory_release) {
            Ok(list) => lists.push(List { content, ..list }),
            Err(reason) => skipped.add(reason, path),
        }
        Ok(())
    })?;
    if lists.is_empty() {
        let found = "the archive holds no security-support-ended or security-support-limited file";
        return Err(FeedError::not_feed(
            name,
            "Debian security-support lists",
            found,
        ));
    }
    Ok(lists)
}

fn read_single(reader: Box<dyn Read>, name: &str) -> Result<List, FeedError> {
    let list = classify(name, release_from_directory(name)).map_err(|reason| {
        FeedError::UnknownRelease {
            file: name.to_string(),
            distribution: "Debian",
            reason,
        }
    })?;
    let content = input::read_all(reader, name)?;
    Ok(List { content, ..list })
}

/// Tells the list kind and release from a path; the content is filled in later.
fn classify(path: &str, directory_release: Option<String>) -> Result<List, String> {
    let file = base_name(path);
    let (stem, suffix_release) = match file.split_once(".deb") {
        Some((stem, number)) if is_number(number) => (stem, Some(number.to_string())),
        _ => (file, None),
    };
    let kind = match stem {
        "security-support-ended" => ListKind::Ended,
        "security-support-limited" => ListKind::Limited,
        _ => {
            return Err(format!(
                "{file} is not a security-support-ended or security-support-limited list"
            ))
        }
    };
    let release_specific = suffix_release.is_some();
    let Some(release) = suffix_release.or(directory_release) else {
        return Err(format!(
            "{file} has no .debN suffix and is not in a {DIRECTORY_PREFIX}N+VERSION directory, so its \
             Debian release is unknown; pass the .debN list or the package's list directory"
        ));
    };
    Ok(List {
        kind,
        release,
        release_specific,
        name: file.to_string(),
        content: Vec::new(),
    })
}

/// Reads `12` from a path with a component like `debian-security-support-12+2026.06.30`.
fn release_from_directory(path: &str) -> Option<String> {
    path.split(['/', '\\']).find_map(|component| {
        let version = component.strip_prefix(DIRECTORY_PREFIX)?;
        let number: String = version.chars().take_while(char::is_ascii_digit).collect();
        (!number.is_empty()).then_some(number)
    })
}

/// Reads the list date from a name like `debian-security-support-12+2026.06.30-lists.tar.zst`.
fn snapshot_date(name: &str) -> Option<String> {
    let (_, after_plus) = base_name(name)
        .strip_prefix(DIRECTORY_PREFIX)?
        .split_once('+')?;
    let date = after_plus.get(..10)?;
    let parts: Vec<&str> = date.split('.').collect();
    match parts[..] {
        [year, month, day] if is_number(year) && is_number(month) && is_number(day) => {
            Some(format!("{year}-{month}-{day}"))
        }
        _ => None,
    }
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// Builds the advisories of all lists, preferring release-specific lists for repeated ids.
fn advisories(lists: &[List], skipped: &mut Skipped) -> Vec<Advisory> {
    let mut by_id: HashMap<String, Advisory> = HashMap::new();
    let mut order = Vec::new();
    let mut ordered: Vec<&List> = lists.iter().collect();
    // Release-specific lists first, so that their lines win over repeats.
    ordered.sort_by_key(|list| !list.release_specific);

    for list in ordered {
        for advisory in list_advisories(list, skipped) {
            if let Some(kept) = by_id.get(&advisory.id) {
                let reason = match kept == &advisory {
                    true => format!("{} repeats a line of a release-specific list", list.name),
                    false => format!(
                        "{} differs from a release-specific list, which was used",
                        list.name
                    ),
                };
                skipped.add(reason, &advisory.id);
                continue;
            }
            order.push(advisory.id.clone());
            by_id.insert(advisory.id.clone(), advisory);
        }
    }
    order
        .into_iter()
        .filter_map(|id| by_id.remove(&id))
        .collect()
}

/// Reads the lines of one list.
fn list_advisories(list: &List, skipped: &mut Skipped) -> Vec<Advisory> {
    let text = String::from_utf8_lossy(&list.content);
    let mut advisories = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = match list.kind {
            ListKind::Ended => ended(line, &list.release),
            ListKind::Limited => limited(line, &list.release),
        };
        match parsed {
            Ok(advisory) => advisories.push(advisory),
            Err(reason) => {
                skipped.add(format!("{} line {}: {reason}", list.name, number + 1), line)
            }
        }
    }
    advisories
}

/// Reads `package  last-version  YYYY-MM-DD  details`.
fn ended(line: &str, release: &str) -> Result<Advisory, String> {
    let (fields, details) = split_fields(line, 3);
    let [package, version, date] = fields[..] else {
        return Err("expected a package, its last supported version and an end date".to_string());
    };
    if !is_date(date) {
        return Err(format!("{date:?} is not a YYYY-MM-DD date"));
    }
    let versions = match version {
        "0" => "for all versions".to_string(),
        version => format!("after version {version}"),
    };
    let title =
        format!("Security support for {package} in Debian {release} ends on {date}, {versions}");
    Ok(unsupported("ENDED", package, release, title, details))
}

/// Reads `package  details`.
fn limited(line: &str, release: &str) -> Result<Advisory, String> {
    let (fields, details) = split_fields(line, 1);
    let [package] = fields[..] else {
        return Err("expected a package name".to_string());
    };
    let title = format!("Security support for {package} in Debian {release} is limited");
    Ok(unsupported("LIMITED", package, release, title, details))
}

fn unsupported(list: &str, package: &str, release: &str, title: String, details: &str) -> Advisory {
    let mut advisory = Advisory::new(
        format!("DEBIAN-SUPPORT-{list}-{release}-{package}"),
        FeedKind::DebianSecuritySupport.source_name(),
    );
    advisory.title = Some(title);
    advisory.affected.push(Affected {
        ecosystem: Ecosystem::new("debian", release),
        package: package.to_string(),
        kind: PackageKind::Source,
        status: Status::Unsupported,
        channel: None,
        note: (!details.is_empty()).then(|| details.to_string()),
    });
    advisory
}

/// Splits off up to `count` whitespace-separated fields; the rest of the line,
/// trimmed but with its inner spacing kept, is the details text.
fn split_fields(line: &str, count: usize) -> (Vec<&str>, &str) {
    let mut fields = Vec::with_capacity(count);
    let mut rest = line.trim_start();
    while fields.len() < count && !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        fields.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    (fields, rest.trim_end())
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    matches!(parts[..], [year, month, day] if year.len() == 4 && month.len() == 2 && day.len() == 2
        && is_number(year) && is_number(month) && is_number(day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_on_tabs_and_spaces() {
        let (fields, details) = split_fields("php-horde.*\t0\t\t\t2025-03-22\thttps://x; y  z", 3);
        assert_eq!(fields, ["php-horde.*", "0", "2025-03-22"]);
        assert_eq!(details, "https://x; y  z");
    }

    #[test]
    fn releases_come_from_suffix_or_directory() {
        let suffixed = classify("d/security-support-ended.deb10", None).map(|list| list.release);
        assert_eq!(suffixed, Ok("10".to_string()));
        let directory = release_from_directory(
            "debian-security-support-12+2026.06.30/security-support-limited",
        );
        assert_eq!(directory.as_deref(), Some("12"));
        assert!(classify("security-support-limited", None).is_err());
    }

    #[test]
    fn snapshot_reads_package_version_date() {
        let date = snapshot_date("/x/debian-security-support-12+2026.06.30-lists.tar.zst");
        assert_eq!(date.as_deref(), Some("2026-06-30"));
        assert_eq!(snapshot_date("security-support-limited"), None);
    }
}
