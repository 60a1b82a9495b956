//! Operating system identity of the scanned system.

use std::path::Path;

use vulnloop_inventory::Os;
use vulnloop_platform::{Family, OsIdentity, ReleaseFile, RELEASE_FILES};

use crate::error::CollectError;
use crate::rootfs::RootFs;

/// Largest release file read, far above the size of any real one.
const MAX_RELEASE_FILE_BYTES: u64 = 64 * 1024;

/// The `source` recorded when the user named the OS with `--os`.
pub const OS_OVERRIDE_SOURCE: &str = "--os";

/// The operating system of a scanned system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectedOs {
    /// The identity as the inventory records it.
    pub os: Os,
    /// The identity with `ID_LIKE`, which the inventory does not record.
    pub identity: OsIdentity,
}

impl DetectedOs {
    /// Returns the package-manager family of the operating system.
    pub fn family(&self) -> Family {
        self.identity.family()
    }
}

/// Identifies the operating system under `root`, or takes it from `os_override`.
///
/// `os_override` is an `ID:VERSION` value such as `debian:12`; when given, no
/// release file is read. Otherwise the release files are read in
/// [`RELEASE_FILES`] order, as [`vulnloop_platform::detect`] describes.
pub fn detect_os(root: &Path, os_override: Option<&str>) -> Result<DetectedOs, CollectError> {
    let rootfs = RootFs::open(root)?;
    detect_in(&rootfs, os_override)
}

pub(crate) fn detect_in(
    rootfs: &RootFs,
    os_override: Option<&str>,
) -> Result<DetectedOs, CollectError> {
    let (identity, source) = match os_override {
        Some(spec) => (parse_override(spec)?, OS_OVERRIDE_SOURCE.to_string()),
        None => detect_from_files(rootfs)?,
    };

    Ok(detected_os(identity, source))
}

/// Identifies the operating system from release file texts fetched from a
/// remote host, in [`RELEASE_FILES`] order, as [`detect_os`] does from files.
///
/// Returns `None` when no text names a distribution.
pub fn detect_os_from_texts(texts: &[(ReleaseFile, String)]) -> Option<DetectedOs> {
    let borrowed: Vec<(ReleaseFile, &str)> = texts
        .iter()
        .map(|(file, text)| (*file, text.as_str()))
        .collect();
    let detection = vulnloop_platform::detect(&borrowed)?;
    Some(detected_os(
        detection.identity,
        detection.sources.join(", "),
    ))
}

/// Builds the inventory's OS record from a detected identity and its sources.
fn detected_os(identity: OsIdentity, source: String) -> DetectedOs {
    if identity.id == "debian" && identity.version_id.is_none() {
        tracing::warn!(
            os = %identity.id,
            codename = identity.codename.as_deref().unwrap_or("unknown"),
            "the system runs Debian testing or unstable, which has no release number, so the inventory has no version_id"
        );
    }

    let os = Os {
        id: identity.id.clone(),
        version_id: identity.version_id.clone(),
        codename: identity.codename.clone(),
        pretty_name: identity.pretty_name.clone(),
        source,
    };
    DetectedOs { os, identity }
}

fn parse_override(spec: &str) -> Result<OsIdentity, CollectError> {
    vulnloop_platform::parse_os_spec(spec).ok_or_else(|| CollectError::InvalidOsOverride {
        value: spec.to_string(),
    })
}

/// Reads the release files that exist and detects the OS from them.
///
/// Returns the identity and its sources joined with `, `.
fn detect_from_files(rootfs: &RootFs) -> Result<(OsIdentity, String), CollectError> {
    let mut texts: Vec<(ReleaseFile, String)> = Vec::new();
    for file in RELEASE_FILES {
        if let Some(text) = read_release_file(rootfs, file.path)? {
            texts.push((*file, text));
        }
    }

    let borrowed: Vec<(ReleaseFile, &str)> = texts
        .iter()
        .map(|(file, text)| (*file, text.as_str()))
        .collect();
    let Some(detection) = vulnloop_platform::detect(&borrowed) else {
        let tried: Vec<&str> = RELEASE_FILES.iter().map(|file| file.path).collect();
        return Err(CollectError::UnknownOs {
            root: rootfs.path().display().to_string(),
            tried: tried.join(", "),
        });
    };
    Ok((detection.identity, detection.sources.join(", ")))
}

fn read_release_file(rootfs: &RootFs, inner: &str) -> Result<Option<String>, CollectError> {
    let bytes = rootfs
        .read(inner, MAX_RELEASE_FILE_BYTES)
        .map_err(|source| CollectError::ReleaseFile {
            path: rootfs.display(inner),
            source,
        })?;
    Ok(bytes.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}
