//! The collector: reads a live host or a mounted root filesystem into an [`Inventory`].
//!
//! [`collect`] identifies the operating system, reads the package database of
//! its family and, on the live system, the running kernel. Only the dpkg
//! database (Debian, Ubuntu and derivatives) is read so far. For other
//! families the inventory lists no packages, and a [`Problem`] records the reason.

mod dpkg;
mod error;
mod host;
mod kernel;
mod os;
mod rootfs;

use std::path::PathBuf;

use chrono::{SecondsFormat, Utc};
use vulnloop_inventory::{Host, Inventory, Problem, SCHEMA_VERSION};
use vulnloop_platform::Family;

pub use dpkg::{parse_status, DpkgPackages, StatusFile, STATUS_D_PATH, STATUS_PATH};
pub use error::CollectError;
pub use os::{detect_os, DetectedOs, OS_OVERRIDE_SOURCE};

use rootfs::RootFs;

/// Options of one collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectOptions {
    /// Root filesystem to scan: `/` for the running system, or the directory
    /// where an image or container root is mounted.
    pub root: PathBuf,
    /// The OS as `ID:VERSION` (`debian:12`), replacing detection (`--os`).
    pub os_override: Option<String>,
}

/// Collects the inventory of the system under `root`.
///
/// Returns `Ok` with problems in the inventory when parts of the package
/// database could not be read. Fails when the root is not a directory, the
/// OS cannot be identified, or the package database is missing or unreadable.
pub fn collect(options: &CollectOptions) -> Result<Inventory, CollectError> {
    let rootfs = RootFs::open(&options.root)?;
    let detected = os::detect_in(&rootfs, options.os_override.as_deref())?;
    let (packages, problems) = collect_packages(&rootfs, &detected)?;

    let host = Host {
        hostname: host::hostname(&rootfs),
        root: (!rootfs.is_live()).then(|| options.root.display().to_string()),
        os: detected.os,
        kernel: kernel::running_kernel(&rootfs),
    };
    Ok(Inventory {
        schema_version: SCHEMA_VERSION,
        collected_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        host,
        packages,
        problems,
    })
}

/// Reads the package database of the OS family.
fn collect_packages(
    rootfs: &RootFs,
    detected: &DetectedOs,
) -> Result<(Vec<vulnloop_inventory::Package>, Vec<Problem>), CollectError> {
    match detected.family() {
        Family::Debian => {
            let database = dpkg::read_database(rootfs, &detected.os.id)?;
            Ok((database.packages, database.problems))
        }
        Family::RedHat | Family::Suse | Family::Alpine | Family::Other => {
            // TODO: read the rpm and apk databases; until then these hosts get no package findings.
            let problem = Problem {
                location: detected.os.source.clone(),
                message: format!(
                    "reading the package database of {} is not supported yet (only dpkg is), so no packages \
                     were collected",
                    detected.os.id
                ),
            };
            Ok((Vec::new(), vec![problem]))
        }
    }
}
