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
    assert!(path.exists(), "shared test data file missing: {}", path.display());
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
    open_decompressed(&path).unwrap().read_to_end(&mut bytes).unwrap();
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
