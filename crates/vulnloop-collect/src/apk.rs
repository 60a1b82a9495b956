//! The apk database of Alpine Linux, `/lib/apk/db/installed`.
//!
//! The file is a sequence of records separated by blank lines, each a list
//! of `X:value` lines with a one-letter key.
//! The collector reads `P` (name), `V` (version), `A` (architecture) and `o`
//! (origin, the source package the binary package was built from).
//! The file does not record which repository a package came from: the
//! `@tag` pinning lives in `/etc/apk/world` and the repository list in
//! `/etc/apk/repositories`, so `repository` stays empty.
//!
//! For runtime exposure, [`record_owners`] also reads each record's file
//! list: an `F:` line names a directory relative to the root, and the `R:`
//! lines after it name the files in that directory.

use vulnloop_inventory::{Package, PackageManager, Problem};

use crate::error::CollectError;
use crate::rootfs::RootFs;
use crate::runtime::FileOwners;

/// Path of the apk database inside the system.
pub const APK_INSTALLED_PATH: &str = "/lib/apk/db/installed";

/// Problems listed per file before the rest are only counted.
const MAX_PROBLEMS: usize = 20;

/// The installed packages read from the apk database, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApkPackages {
    /// Installed packages in file order.
    pub packages: Vec<Package>,
    /// Skipped records and lines, each with file and line.
    pub problems: Vec<Problem>,
}

/// One record being read: its first line and the fields kept.
#[derive(Default)]
struct Record<'a> {
    line: usize,
    name: Option<&'a str>,
    version: Option<&'a str>,
    arch: Option<&'a str>,
    origin: Option<&'a str>,
    /// A key that repeats, which means a blank line between two records is missing.
    repeated: Option<char>,
}

/// Parses the text of an apk `installed` file.
///
/// `path` is the file's absolute path inside the scanned system; package
/// origins and problem locations are `path:line`.
pub fn parse_apk_installed(bytes: &[u8], path: &str) -> ApkPackages {
    let text = String::from_utf8_lossy(bytes);
    let mut result = ApkPackages::default();
    let mut skipped: Vec<(usize, String)> = Vec::new();
    let mut current: Option<Record<'_>> = None;

    for (index, raw_line) in text.split('\n').enumerate() {
        let number = index + 1;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if line.trim().is_empty() {
            finish(current.take(), path, &mut result.packages, &mut skipped);
            continue;
        }
        let Some((key, value)) = split_line(line) else {
            skipped.push((
                number,
                format!("line {:?} is not a `X:value` line; skipped", excerpt(line)),
            ));
            continue;
        };
        let record = current.get_or_insert_with(|| Record {
            line: number,
            ..Record::default()
        });
        record.set(key, value);
    }
    finish(current, path, &mut result.packages, &mut skipped);

    skipped.sort_by_key(|(line, _)| *line);
    let unlisted = skipped.len().saturating_sub(MAX_PROBLEMS);
    for (line, message) in skipped.into_iter().take(MAX_PROBLEMS) {
        result.problems.push(Problem {
            location: format!("{path}:{line}"),
            message,
        });
    }
    if unlisted > 0 {
        result.problems.push(Problem {
            location: path.to_string(),
            message: format!("{unlisted} more problems in this file are not listed"),
        });
    }
    result
}

impl<'a> Record<'a> {
    fn set(&mut self, key: char, value: &'a str) {
        let slot = match key {
            'P' => &mut self.name,
            'V' => &mut self.version,
            'A' => &mut self.arch,
            'o' => &mut self.origin,
            _ => return,
        };
        if slot.is_some() {
            self.repeated.get_or_insert(key);
        }
        *slot = Some(value);
    }
}

/// Splits `X:value` into its one-character key and value.
fn split_line(line: &str) -> Option<(char, &str)> {
    let mut characters = line.chars();
    let key = characters.next().filter(char::is_ascii_alphanumeric)?;
    let value = characters.as_str().strip_prefix(':')?;
    Some((key, value.trim()))
}

/// Turns a finished record into a package, or a skipped record into a problem.
fn finish(
    record: Option<Record<'_>>,
    path: &str,
    packages: &mut Vec<Package>,
    skipped: &mut Vec<(usize, String)>,
) {
    let Some(record) = record else {
        return;
    };
    if let Some(key) = record.repeated {
        let message = format!(
            "record has more than one {key}: line, so a blank line between two packages is missing; skipped"
        );
        skipped.push((record.line, message));
        return;
    }
    let name = record.name.filter(|name| !name.is_empty());
    let version = record
        .version
        .filter(|version| !version.is_empty() && !version.contains(char::is_whitespace));
    let (Some(name), Some(version)) = (name, version) else {
        let what = record
            .name
            .map_or("record".to_string(), |name| format!("package {name:?}"));
        skipped.push((
            record.line,
            format!("{what} has no valid P: name and V: version; skipped"),
        ));
        return;
    };
    packages.push(Package {
        manager: PackageManager::Apk,
        name: name.to_string(),
        version: version.to_string(),
        arch: record
            .arch
            .filter(|arch| !arch.is_empty())
            .map(str::to_string),
        source_name: record
            .origin
            .filter(|origin| !origin.is_empty())
            .map(str::to_string),
        source_version: None,
        origin: format!("{path}:{}", record.line),
        vendor: None,
        module: None,
        repository: None,
    });
}

/// Returns the start of a line for messages.
fn excerpt(line: &str) -> String {
    line.chars().take(40).collect()
}

/// Records which packages of an apk `installed` file list a path that `owners` looks up.
///
/// A record's files are credited to its `P:` name wherever that line is in
/// the record. A record without a name credits nobody.
pub fn record_owners(bytes: &[u8], owners: &mut FileOwners) {
    if owners.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(bytes);
    let mut name: Option<&str> = None;
    let mut directory = "";
    let mut files: Vec<String> = Vec::new();

    for raw_line in text.split('\n') {
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if line.trim().is_empty() {
            credit(name.take(), &mut files, owners);
            directory = "";
            continue;
        }
        match split_line(line) {
            Some(('P', value)) => name = Some(value),
            Some(('F', value)) => directory = value.trim_matches('/'),
            Some(('R', value)) if directory.is_empty() => files.push(format!("/{value}")),
            Some(('R', value)) => files.push(format!("/{directory}/{value}")),
            _ => {}
        }
    }
    credit(name, &mut files, owners);
}

/// Records the files of one finished record for its package, and clears them.
fn credit(name: Option<&str>, files: &mut Vec<String>, owners: &mut FileOwners) {
    if let Some(name) = name.filter(|name| !name.is_empty()) {
        for path in files.iter() {
            owners.record(path, name);
        }
    }
    files.clear();
}

/// Reads the apk database of the system under `rootfs`.
///
/// Fails when the file is missing or unreadable; `os_id` names the
/// distribution in that error. When `owners` is given, the packages that
/// list its paths are recorded in it.
pub(crate) fn read_database(
    rootfs: &RootFs,
    os_id: &str,
    owners: Option<&mut FileOwners>,
) -> Result<ApkPackages, CollectError> {
    let database_error = |source| CollectError::PackageDatabase {
        manager: "apk",
        path: rootfs.display(APK_INSTALLED_PATH),
        os: os_id.to_string(),
        source,
    };
    let bytes = rootfs
        .read(APK_INSTALLED_PATH, u64::MAX)
        .map_err(database_error)?
        .ok_or_else(|| {
            database_error(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "file not found",
            ))
        })?;

    let mut result = parse_apk_installed(&bytes, APK_INSTALLED_PATH);
    if let Some(owners) = owners {
        record_owners(&bytes, owners);
    }
    flag_empty_database(&mut result);
    Ok(result)
}

/// Adds a problem when the database lists no package and no problem, since
/// an Alpine system always has packages.
pub(crate) fn flag_empty_database(result: &mut ApkPackages) {
    if result.packages.is_empty() && result.problems.is_empty() {
        result.problems.push(Problem {
            location: APK_INSTALLED_PATH.to_string(),
            message: "the apk database lists no packages, but an Alpine system always has some; \
                      the database is damaged or was not copied completely"
                .to_string(),
        });
    }
}
