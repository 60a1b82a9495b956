//! The collector: reads a live host or a mounted root filesystem into an [`Inventory`].
//!
//! [`collect`] identifies the operating system, reads the package database of
//! its family and, on the live system, the running kernel. It reads the dpkg
//! database (Debian, Ubuntu and derivatives), the rpm database (the Red Hat
//! and SUSE families, Amazon Linux, Azure Linux) and the apk database
//! (Alpine). For other distributions the inventory lists no packages, and a
//! [`Problem`] records the reason.
//!
//! On the live system it also reads the running processes from `/proc`, the
//! packages whose files they map and the sockets they listen on, into
//! [`Inventory::runtime`] (see the `runtime` module).

mod apk;
mod applications;
mod dpkg;
mod error;
mod host;
mod kernel;
mod os;
mod remote;
mod rootfs;
mod rpm;
mod runtime;

use std::path::PathBuf;

use chrono::{SecondsFormat, Utc};
use vulnloop_inventory::{Host, Inventory, Problem, SCHEMA_VERSION};
use vulnloop_platform::Family;

pub use apk::{
    parse_apk_installed, record_owners as record_apk_owners, ApkPackages, APK_INSTALLED_PATH,
};
pub use dpkg::{parse_status, DpkgPackages, StatusFile, STATUS_D_PATH, STATUS_PATH};
pub use error::CollectError;
pub use os::{detect_os, detect_os_from_texts, DetectedOs, OS_OVERRIDE_SOURCE};
pub use remote::{remote_inventory, PackageListing, RemoteFacts};
pub use rpm::{
    parse_header, parse_rpm_query, parse_source_rpm, read_file_paths, read_rpm_database,
    read_rpm_file_owners, to_package, HeaderError, RpmBackend, RpmDatabaseError, RpmHeader,
    RpmPackages, RPM_DATABASE_DIRS, RPM_QUERY_FORMAT, RPM_QUERY_FORMAT_WITHOUT_MODULES,
};
pub use runtime::FileOwners;

use rootfs::RootFs;

/// The apk repository list, whose URLs name the Alpine branch.
pub const APK_REPOSITORIES_PATH: &str = "/etc/apk/repositories";

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
/// The runtime is filled only when `root` is `/`.
pub fn collect(options: &CollectOptions) -> Result<Inventory, CollectError> {
    collect_inner(options, None)
}

/// Collects the inventory as [`collect`] does, and the web applications
/// that `discovery` finds, each with the installed package that owns its
/// version file. Discovery problems are added to the inventory's problems.
pub fn collect_with_applications(
    options: &CollectOptions,
    discovery: &vulnloop_webapp::DiscoveryOptions,
) -> Result<Inventory, CollectError> {
    collect_inner(options, Some(discovery))
}

fn collect_inner(
    options: &CollectOptions,
    discovery: Option<&vulnloop_webapp::DiscoveryOptions>,
) -> Result<Inventory, CollectError> {
    let rootfs = RootFs::open(&options.root)?;
    let mut detected = os::detect_in(&rootfs, options.os_override.as_deref())?;
    if detected.family() == Family::Alpine && options.os_override.is_none() {
        apply_alpine_branch(&rootfs, &mut detected);
    }

    // Processes are read first so that the package database reader looks up
    // the owners of their files in the same pass.
    let scan = runtime::scan(&rootfs);
    let discovered = discovery.map(vulnloop_webapp::discover);
    let app_files = discovered
        .as_ref()
        .map(applications::version_files)
        .unwrap_or_default();
    let mut owners = match &scan {
        Some(scan) => Some(scan.file_owners(&rootfs, &app_files)),
        None if !app_files.is_empty() => Some(FileOwners::with_usr_merge(
            app_files.iter().map(String::as_str),
            runtime::RootUsrMerge::detect(rootfs.path()),
        )),
        None => None,
    };
    let (packages, mut problems) = collect_packages(&rootfs, &detected, owners.as_mut())?;
    let applications = match discovered {
        Some(discovered) => {
            problems.extend(discovered.problems.iter().cloned());
            applications::with_owners(discovered.applications, &packages, owners.as_ref())
        }
        None => Vec::new(),
    };
    let runtime = scan.map(|scan| scan.into_runtime(&owners.unwrap_or_default()));

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
        runtime,
        applications,
        windows: None,
    })
}

/// Sets the release of an Alpine host to the branch its repositories name.
///
/// The secdb is per branch, and the branch the packages come from is the one
/// in `/etc/apk/repositories` (`…/alpine/v3.19/main`, `…/alpine/edge/main`),
/// which can differ from os-release: an edge host reports `3.21_alpha…`.
/// Several different branches leave os-release's version in place.
fn apply_alpine_branch(rootfs: &RootFs, detected: &mut DetectedOs) {
    let Ok(Some(bytes)) = rootfs.read(APK_REPOSITORIES_PATH, 64 * 1024) else {
        return;
    };
    apply_alpine_repositories(&String::from_utf8_lossy(&bytes), detected);
}

/// Sets the release of an Alpine host to the branch that the text of its
/// `/etc/apk/repositories` names, as [`collect`] does for a local system.
pub fn apply_alpine_repositories(text: &str, detected: &mut DetectedOs) {
    let mut branches: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(alpine_branch)
        .collect();
    branches.sort();
    branches.dedup();
    if let [branch] = branches.as_slice() {
        detected.os.version_id = Some(branch.clone());
        detected.os.source = format!("{}, /etc/apk/repositories", detected.os.source);
    }
}

/// Returns the branch a repository line names: `3.19` for `…/alpine/v3.19/main`, or `edge`.
fn alpine_branch(line: &str) -> Option<String> {
    let rest = &line[line.find("/alpine/")? + "/alpine/".len()..];
    let segment = rest.split('/').next()?;
    if segment == "edge" {
        return Some(segment.to_string());
    }
    let version = segment.strip_prefix('v')?;
    let valid = version.split('.').count() == 2
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    valid.then(|| version.to_string())
}

/// Reads the package database of the OS family, and records in `owners`
/// the packages that own the paths it looks up.
fn collect_packages(
    rootfs: &RootFs,
    detected: &DetectedOs,
    owners: Option<&mut FileOwners>,
) -> Result<(Vec<vulnloop_inventory::Package>, Vec<Problem>), CollectError> {
    match detected.family() {
        Family::Debian => {
            let database = dpkg::read_database(rootfs, &detected.os.id)?;
            if let Some(owners) = owners {
                dpkg::record_owners(rootfs, &database.packages, owners);
            }
            Ok((database.packages, database.problems))
        }
        Family::RedHat | Family::Suse => {
            let database = rpm::read_database(rootfs, &detected.os.id, owners)?;
            Ok((database.packages, database.problems))
        }
        Family::Alpine => {
            let database = apk::read_database(rootfs, &detected.os.id, owners)?;
            Ok((database.packages, database.problems))
        }
        Family::Other => Ok((Vec::new(), vec![unsupported_family_problem(detected)])),
    }
}

/// Returns the problem recorded for a distribution whose package database is not read.
pub(crate) fn unsupported_family_problem(detected: &DetectedOs) -> Problem {
    // TODO: read the package databases of other distributions (Wolfi's apk, Photon's rpm);
    // until then these hosts get no package findings.
    Problem {
        location: detected.os.source.clone(),
        message: format!(
            "reading the package database of {} is not supported yet (only dpkg, rpm and apk \
             on known distributions are), so no packages were collected",
            detected.os.id
        ),
    }
}

#[cfg(test)]
mod alpine_branch_tests {
    use super::alpine_branch;

    #[test]
    fn branch_read_from_repository_line() {
        assert_eq!(
            alpine_branch("https://dl-cdn.alpinelinux.org/alpine/v3.19/main").as_deref(),
            Some("3.19")
        );
        assert_eq!(
            alpine_branch("@testing https://dl-cdn.alpinelinux.org/alpine/edge/testing").as_deref(),
            Some("edge")
        );
        assert_eq!(alpine_branch("https://example.org/packages/main"), None);
        assert_eq!(
            alpine_branch("https://dl-cdn.alpinelinux.org/alpine/latest-stable/main"),
            None
        );
    }
}
