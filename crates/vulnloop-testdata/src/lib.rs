//! Test support for the real feeds and inventories kept beside the repository.
//!
//! The data lives in `shared/data`, a sibling of the repository checkout, and
//! is never copied into the repository. `VULNLOOP_SHARED_DATA` overrides the
//! location. A missing directory fails the test with a message instead of
//! skipping it, so that CI cannot pass without the data.

#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// Returns the shared data directory, panicking with advice when it is missing.
pub fn data_dir() -> PathBuf {
    let dir = match std::env::var_os("VULNLOOP_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("../shared/data"),
    };
    assert!(
        dir.join("MANIFEST.md").is_file(),
        "shared test data not found at {}: check out the data beside the repository \
         (../shared/data) or set VULNLOOP_SHARED_DATA",
        dir.display()
    );
    dir
}

/// Returns a path inside the shared data directory, panicking when it is missing.
pub fn data_file(relative: &str) -> PathBuf {
    let path = data_dir().join(relative);
    assert!(
        path.exists(),
        "shared test data file missing: {}",
        path.display()
    );
    path
}

/// Returns the repository root (the workspace directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Unpacks a `.tar`, `.tar.zst`, `.tar.gz` or `.tar.bz2` file from the shared
/// data into a new temporary directory.
pub fn unpack(relative: &str) -> TempDir {
    let path = data_file(relative);
    let dir = tempfile::tempdir().unwrap();
    let mut archive = tar::Archive::new(open_decompressed(&path).unwrap());
    archive.unpack(dir.path()).unwrap_or_else(|error| {
        panic!("failed to unpack {}: {error}", path.display());
    });
    dir
}

/// Reads a shared data file whole, decompressing `.zst`, `.gz` and `.bz2`.
pub fn read_decompressed(relative: &str) -> Vec<u8> {
    let path = data_file(relative);
    let mut bytes = Vec::new();
    open_decompressed(&path)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

/// Opens a file through the decompressor its extension names.
pub fn open_decompressed(path: &Path) -> io::Result<Box<dyn Read>> {
    let file = File::open(path)?;
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".zst") {
        Box::new(zstd::Decoder::new(file)?)
    } else if name.ends_with(".gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else if name.ends_with(".bz2") {
        Box::new(bzip2::read::BzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// Compares version pairs with the real `dpkg --compare-versions`, in one shell run.
///
/// Returns one ordering per pair. Panics when dpkg is missing or rejects a
/// version, because a test that cannot consult dpkg must not pass.
pub fn dpkg_compare(pairs: &[(String, String)]) -> Vec<std::cmp::Ordering> {
    use std::fmt::Write as _;

    let mut script = String::new();
    for (a, b) in pairs {
        assert!(
            !a.contains('\'') && !b.contains('\''),
            "quote in version {a:?} or {b:?}"
        );
        let _ = writeln!(
            script,
            "if dpkg --compare-versions '{a}' lt '{b}'; then echo lt; \
             elif dpkg --compare-versions '{a}' eq '{b}'; then echo eq; else echo gt; fi"
        );
    }
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("failed to run sh for dpkg --compare-versions; is dpkg installed?");
    assert!(
        output.status.success(),
        "dpkg comparison script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Vec<std::cmp::Ordering> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| match line {
            "lt" => std::cmp::Ordering::Less,
            "eq" => std::cmp::Ordering::Equal,
            _ => std::cmp::Ordering::Greater,
        })
        .collect();
    assert_eq!(
        verdicts.len(),
        pairs.len(),
        "dpkg printed {} verdicts for {} pairs",
        verdicts.len(),
        pairs.len()
    );
    verdicts
}

/// One installed package from a dpkg status file, read by a deliberately
/// small parser so that tests do not depend on the collector they check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    pub name: String,
    pub version: String,
    pub source_name: String,
    pub source_version: String,
}

/// Reads the installed packages of a dpkg status file.
pub fn read_dpkg_status(text: &str) -> Vec<StatusEntry> {
    let mut entries = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|line| {
                    line.strip_prefix(name)
                        .and_then(|rest| rest.strip_prefix(':'))
                })
                .map(|value| value.trim().to_string())
        };
        let (Some(name), Some(version), Some(status)) =
            (field("Package"), field("Version"), field("Status"))
        else {
            continue;
        };
        if !status.ends_with(" installed") {
            continue;
        }
        let (source_name, source_version) = match field("Source") {
            Some(source) => match source.split_once(' ') {
                Some((source, version)) => (
                    source.to_string(),
                    version.trim_matches(|c| c == '(' || c == ')').to_string(),
                ),
                None => (source, version.clone()),
            },
            None => (name.clone(), version.clone()),
        };
        entries.push(StatusEntry {
            name,
            version,
            source_name,
            source_version,
        });
    }
    entries
}
