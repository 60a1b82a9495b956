//! Detectors: each looks at one directory or file and reports what it is.
//!
//! A detector gets the directory being walked and the names in it, reads
//! only the marker files it needs, and returns what it found. A marker
//! file that exists but does not hold a version in the expected form is a
//! [`DetectError`] naming the file, the line and the value.

pub mod apps;
pub mod jar;
pub mod libraries;
pub mod wordpress;

use std::collections::HashSet;

use vulnloop_inventory::{AppEcosystem, ApplicationKind};

use crate::error::DetectError;
use crate::rootfs::{child, Root};

/// Size of a version marker file read at most, in bytes.
pub(crate) const MAX_MARKER_BYTES: u64 = 2 * 1024 * 1024;
/// Size of a lock file or package manifest read at most, in bytes.
pub(crate) const MAX_LOCK_BYTES: u64 = 64 * 1024 * 1024;

/// Something a detector found, before ownership and bundling are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub kind: ApplicationKind,
    pub name: String,
    pub version: String,
    pub ecosystem: AppEcosystem,
    /// Marker file, as a real path inside the root (or `ARCHIVE!ENTRY`).
    pub path: String,
    /// Archive the entry was found in, for libraries inside JARs.
    pub archive: Option<String>,
}

/// A directory being walked, with the names of its entries.
pub struct Directory<'a> {
    pub root: &'a Root,
    /// Real path inside the root.
    pub path: &'a str,
    pub names: &'a HashSet<String>,
}

impl Directory<'_> {
    /// Returns the base name of the directory.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or_default()
    }

    /// Returns the parent's base name and the grandparent's.
    pub fn parents(&self) -> (&str, &str) {
        let mut parts = self.path.rsplit('/').skip(1);
        (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        )
    }

    /// Reads `relative` (which may contain `/`) when it exists, returning
    /// its real path and text. Missing files give `Ok(None)`.
    pub fn read(
        &self,
        relative: &str,
        max_bytes: u64,
    ) -> Result<Option<(String, String)>, DetectError> {
        let first = relative.split('/').next().unwrap_or(relative);
        if !self.names.contains(first) {
            return Ok(None);
        }
        read_file(self.root, &child(self.path, relative), max_bytes)
    }
}

/// Reads a file inside the root after resolving its links: `Ok(None)` when it is missing.
pub(crate) fn read_file(
    root: &Root,
    inner: &str,
    max_bytes: u64,
) -> Result<Option<(String, String)>, DetectError> {
    let Ok(real) = root.resolve(inner) else {
        return Ok(None);
    };
    let host = root.host_path(&real);
    let Ok(metadata) = std::fs::metadata(&host) else {
        return Ok(None);
    };
    if !metadata.is_file() {
        return Ok(None);
    }
    if metadata.len() > max_bytes {
        return Err(DetectError::new(
            &real,
            format!(
                "file is {} bytes, larger than the {max_bytes} bytes read",
                metadata.len()
            ),
        ));
    }
    let bytes = std::fs::read(&host)
        .map_err(|error| DetectError::new(&real, format!("failed to read: {error}")))?;
    Ok(Some((real, String::from_utf8_lossy(&bytes).into_owned())))
}

/// Finds the first capture of `pattern` in `text`, with its 1-based line.
pub(crate) fn capture(text: &str, pattern: &regex::Regex) -> Option<(String, usize)> {
    let captures = pattern.captures(text)?;
    let group = captures.get(1)?;
    let line = text[..group.start()].matches('\n').count() + 1;
    Some((group.as_str().trim().to_string(), line))
}

/// Checks that a version read from a file looks like one: it starts with a
/// digit and contains no spaces or quotes. `location` is `FILE:LINE`.
pub(crate) fn check_version(version: &str, location: &str) -> Result<String, DetectError> {
    let version = version.trim();
    let version = version.strip_prefix('v').unwrap_or(version);
    let valid = version.starts_with(|c: char| c.is_ascii_digit())
        && version.len() <= 64
        && !version.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'');
    if valid {
        Ok(version.to_string())
    } else {
        Err(DetectError::new(
            location,
            format!("invalid version {version:?}: expected a version number such as 1.2.3"),
        ))
    }
}

/// Runs every directory detector on `dir`: applications first, so the caller
/// can treat the directory as the one that bundles what lies below it.
pub fn detect_directory(
    dir: &Directory<'_>,
    found: &mut Vec<Detected>,
    problems: &mut Vec<DetectError>,
) -> bool {
    let mut is_application = false;
    let mut keep =
        |result: Result<Vec<Detected>, DetectError>, found: &mut Vec<Detected>| match result {
            Ok(items) => {
                let any = !items.is_empty();
                found.extend(items);
                any
            }
            Err(error) => {
                problems.push(error);
                false
            }
        };
    is_application |= keep(apps::detect(dir), found);
    is_application |= keep(wordpress::detect(dir), found);
    keep(libraries::detect(dir), found);
    is_application
}
