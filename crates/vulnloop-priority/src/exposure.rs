//! Exposure of a finding on the host: does anything running use the package?

use serde::Serialize;
use vulnloop_inventory::{Inventory, PackageManager};
use vulnloop_match::Finding;

/// Use of the vulnerable package by what runs on the host at scan time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Exposure {
    /// No runtime data: a root filesystem or an inventory without it.
    Unknown,
    /// The host's processes were read and none maps a file of the package.
    NotRunning,
    /// Running processes map a file of the package; none of them listens
    /// on a network address other than loopback.
    Loaded {
        /// `command (pid N)` of each process.
        processes: Vec<String>,
    },
    /// A process that maps a file of the package listens on a network
    /// address other than loopback.
    Listening {
        /// `command (pid N)` of each process that maps the package.
        processes: Vec<String>,
        /// The non-loopback sockets of those processes (`tcp [::]:22`).
        sockets: Vec<String>,
    },
    /// The package is the running kernel.
    RunningKernel,
}

/// Most processes named in a reason; the rest is counted.
const MAX_NAMED: usize = 5;

/// Judges the exposure of a finding from the inventory's runtime data.
pub fn exposure_of(finding: &Finding, inventory: &Inventory) -> Exposure {
    if is_running_kernel(finding, inventory) {
        return Exposure::RunningKernel;
    }
    let Some(runtime) = &inventory.runtime else {
        return Exposure::Unknown;
    };
    let mut processes = Vec::new();
    let mut sockets = Vec::new();
    for process in &runtime.processes {
        let maps_package = finding
            .binaries
            .iter()
            .any(|b| process.packages.iter().any(|p| p == &b.name));
        if !maps_package {
            continue;
        }
        processes.push(format!("{} (pid {})", process.command, process.pid));
        sockets.extend(
            process
                .listening
                .iter()
                .filter(|l| !l.is_loopback())
                .map(|l| l.to_string()),
        );
    }
    sockets.sort();
    sockets.dedup();
    if processes.len() > MAX_NAMED {
        let more = processes.len() - MAX_NAMED;
        processes.truncate(MAX_NAMED);
        processes.push(format!("{more} more"));
    }
    match (processes.is_empty(), sockets.is_empty()) {
        (true, _) => Exposure::NotRunning,
        (false, true) => Exposure::Loaded { processes },
        (false, false) => Exposure::Listening { processes, sockets },
    }
}

/// Returns whether one of the finding's binaries is the running kernel's image.
///
/// Debian and Ubuntu name the image after the release (`linux-image-6.1.0-28-amd64`);
/// rpm distributions install `kernel` or `kernel-core` with the release as
/// version-release.arch (`5.14.0-362.8.1.el9_3.x86_64`).
fn is_running_kernel(finding: &Finding, inventory: &Inventory) -> bool {
    let Some(kernel) = &inventory.host.kernel else {
        return false;
    };
    let release = kernel.release.as_str();
    finding.binaries.iter().any(|binary| match finding.manager {
        PackageManager::Dpkg => {
            binary.name.starts_with("linux-image-") && binary.name.ends_with(release)
        }
        PackageManager::Rpm => {
            let kernel_package = binary.name.starts_with("kernel")
                && !binary.name.contains("headers")
                && !binary.name.contains("devel")
                && !binary.name.contains("tools");
            let version = binary.version.rsplit(':').next().unwrap_or(&binary.version);
            kernel_package && release.starts_with(version)
        }
        // Alpine: `linux-lts` 6.6.58-r0 runs as `6.6.58-0-lts`.
        PackageManager::Apk => match (
            binary.name.strip_prefix("linux-"),
            binary.version.split_once("-r"),
        ) {
            (Some(flavor), Some((version, _))) => {
                release.starts_with(version) && release.ends_with(flavor)
            }
            _ => false,
        },
        // A Windows host's kernel is its build, not a package with a release.
        PackageManager::Windows => false,
    })
}
