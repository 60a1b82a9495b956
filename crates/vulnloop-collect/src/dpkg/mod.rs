//! The dpkg database: `/var/lib/dpkg/status` and the distroless `status.d/`.
//!
//! A damaged database is read as far as it is valid. Each stanza or line
//! that had to be skipped becomes a [`Problem`] naming the file and line,
//! and the inventory then counts as incomplete.

mod files;
mod package;
mod stanza;

use vulnloop_inventory::{Package, Problem};

pub(crate) use files::record_owners;
pub use package::StatusFile;
use package::{read_stanza, StanzaOutcome};
use stanza::parse_stanzas;

use crate::error::CollectError;
use crate::rootfs::RootFs;

/// Path of the dpkg status file inside the system.
pub const STATUS_PATH: &str = "/var/lib/dpkg/status";

/// Directory of per-package status files in distroless images.
pub const STATUS_D_PATH: &str = "/var/lib/dpkg/status.d";

/// Directory where dpkg journals status changes before merging them into the status file.
const UPDATES_PATH: &str = "/var/lib/dpkg/updates";

/// Problems listed per file before the rest are only counted, so that a
/// file of binary garbage does not bury the report.
const MAX_PROBLEMS_PER_FILE: usize = 20;

/// The installed packages read from the dpkg database, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DpkgPackages {
    /// Installed packages in file order.
    pub packages: Vec<Package>,
    /// Skipped stanzas and lines, each with file and line.
    pub problems: Vec<Problem>,
}

impl DpkgPackages {
    fn append(&mut self, mut other: DpkgPackages) {
        self.packages.append(&mut other.packages);
        self.problems.append(&mut other.problems);
    }
}

/// Parses the text of a dpkg status file.
///
/// `path` is the file's absolute path inside the scanned system; package
/// origins and problem locations are `path:line`. Bytes that are not UTF-8
/// are replaced, which only matters in free-text fields such as `Description`.
pub fn parse_status(bytes: &[u8], path: &str, kind: StatusFile) -> DpkgPackages {
    let text = String::from_utf8_lossy(bytes);
    let parsed = parse_stanzas(&text);
    let mut packages = Vec::new();
    let mut skipped: Vec<(usize, String)> = parsed
        .malformed
        .into_iter()
        .map(|line| (line.line, line.message))
        .collect();

    for stanza in &parsed.stanzas {
        let origin = format!("{path}:{}", stanza.line);
        match read_stanza(stanza, kind, origin) {
            Ok(StanzaOutcome::Installed(package)) => packages.push(package),
            Ok(StanzaOutcome::NotInstalled) => {}
            Err(message) => skipped.push((stanza.line, message)),
        }
    }

    // Report in line order, whether a line or a whole stanza was skipped.
    skipped.sort_by_key(|(line, _)| *line);
    let mut problems = ProblemList::new(path);
    for (line, message) in skipped {
        problems.push(Some(line), message);
    }
    let mut problems = problems.finish();
    problems.extend(check_file_end(&text, path, kind));

    DpkgPackages { packages, problems }
}

/// Returns a problem for an empty file or a missing final newline, which
/// dpkg always writes. Either points to a file that was cut short.
fn check_file_end(text: &str, path: &str, kind: StatusFile) -> Option<Problem> {
    if text.trim().is_empty() {
        let message = match kind {
            StatusFile::Database => "the dpkg status file is empty, but a Debian-family system always has at least \
                                     dpkg itself installed; the database is damaged or was not copied completely",
            StatusFile::Distroless => "the file is empty, but each status.d file should describe a package",
        };
        return Some(Problem {
            location: path.to_string(),
            message: message.to_string(),
        });
    }
    if text.ends_with('\n') {
        return None;
    }
    let last_line = text.split('\n').count();
    Some(Problem {
        location: format!("{path}:{last_line}"),
        message: "the file does not end with a newline, so it may be truncated and its last package may be incomplete"
            .to_string(),
    })
}

/// Reads the dpkg database of the system under `rootfs`.
///
/// The status file and the `status.d` directory are both read when present.
/// Fails when neither exists or the status file cannot be read; `os_id`
/// names the distribution in that error.
pub(crate) fn read_database(rootfs: &RootFs, os_id: &str) -> Result<DpkgPackages, CollectError> {
    let database_error = |inner: &str, source| CollectError::PackageDatabase {
        manager: "dpkg",
        path: rootfs.display(inner),
        os: os_id.to_string(),
        source,
    };

    let status = rootfs
        .read(STATUS_PATH, u64::MAX)
        .map_err(|source| database_error(STATUS_PATH, source))?;
    let status_d = rootfs
        .list_dir(STATUS_D_PATH)
        .map_err(|source| database_error(STATUS_D_PATH, source))?;
    if status.is_none() && status_d.is_none() {
        let source = std::io::Error::new(std::io::ErrorKind::NotFound, "file not found");
        return Err(database_error(STATUS_PATH, source));
    }

    let mut result = DpkgPackages::default();
    if let Some(bytes) = status {
        result.append(parse_status(&bytes, STATUS_PATH, StatusFile::Database));
    }
    for name in status_d.unwrap_or_default() {
        result.append(read_status_d_file(rootfs, &name));
    }
    result.problems.extend(pending_updates_problem(rootfs));
    Ok(result)
}

/// Reads one file of `status.d`, turning a read failure into a problem.
fn read_status_d_file(rootfs: &RootFs, name: &str) -> DpkgPackages {
    // Distroless images keep each package's file list beside its stanza.
    if name.ends_with(".md5sums") || name.starts_with('.') {
        return DpkgPackages::default();
    }
    let path = format!("{STATUS_D_PATH}/{name}");
    match rootfs.read(&path, u64::MAX) {
        Ok(Some(bytes)) => parse_status(&bytes, &path, StatusFile::Distroless),
        Ok(None) => DpkgPackages::default(),
        Err(error) => DpkgPackages {
            packages: Vec::new(),
            problems: vec![Problem {
                location: path,
                message: format!("failed to read the file: {error}; skipped"),
            }],
        },
    }
}

/// Returns a problem when dpkg left journal entries unmerged, which happens
/// when a dpkg run was interrupted: the status file is then out of date.
fn pending_updates_problem(rootfs: &RootFs) -> Option<Problem> {
    let names = rootfs.list_dir(UPDATES_PATH).ok().flatten()?;
    let pending = names
        .iter()
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .count();
    (pending > 0).then(|| Problem {
        location: UPDATES_PATH.to_string(),
        message: format!(
            "{pending} dpkg status updates were not merged into {STATUS_PATH} because a dpkg run was \
             interrupted, so package states may be out of date; run `dpkg --configure -a` on the system"
        ),
    })
}

/// Problems of one file, capped at [`MAX_PROBLEMS_PER_FILE`].
struct ProblemList<'a> {
    path: &'a str,
    listed: Vec<Problem>,
    unlisted: usize,
}

impl<'a> ProblemList<'a> {
    fn new(path: &'a str) -> Self {
        Self {
            path,
            listed: Vec::new(),
            unlisted: 0,
        }
    }

    fn push(&mut self, line: Option<usize>, message: String) {
        if self.listed.len() >= MAX_PROBLEMS_PER_FILE {
            self.unlisted += 1;
            return;
        }
        let location = match line {
            Some(line) => format!("{}:{line}", self.path),
            None => self.path.to_string(),
        };
        self.listed.push(Problem { location, message });
    }

    fn finish(mut self) -> Vec<Problem> {
        if self.unlisted > 0 {
            self.listed.push(Problem {
                location: self.path.to_string(),
                message: format!(
                    "{} more problems in this file are not listed",
                    self.unlisted
                ),
            });
        }
        self.listed
    }
}
