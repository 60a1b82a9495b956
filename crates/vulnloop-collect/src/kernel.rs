//! The running kernel.
//!
//! Only the live system has one. A root filesystem given with `--root` is a
//! mounted image or container that is not running, and the kernel that runs
//! the scanning host is not its kernel, so no kernel is reported for it.
//! Kernel packages installed in the image are still listed as packages.

use std::process::Command;

use vulnloop_inventory::Kernel;

use crate::rootfs::RootFs;

/// Kernel release file of procfs, the same text as `uname -r`.
const OSRELEASE_PATH: &str = "/proc/sys/kernel/osrelease";

/// Returns the running kernel when `rootfs` is the live system, else `None`.
pub(crate) fn running_kernel(rootfs: &RootFs) -> Option<Kernel> {
    if !rootfs.is_live() {
        return None;
    }
    let release = read_procfs().or_else(run_uname)?;
    Some(Kernel { release })
}

fn read_procfs() -> Option<String> {
    match std::fs::read_to_string(OSRELEASE_PATH) {
        Ok(text) => non_empty(&text),
        Err(error) => {
            tracing::debug!(path = OSRELEASE_PATH, %error, "kernel release not readable from procfs; trying uname -r");
            None
        }
    }
}

fn run_uname() -> Option<String> {
    match Command::new("uname").arg("-r").output() {
        Ok(output) if output.status.success() => {
            non_empty(&String::from_utf8_lossy(&output.stdout))
        }
        Ok(output) => {
            tracing::warn!(status = %output.status, "uname -r failed; the running kernel is unknown");
            None
        }
        Err(error) => {
            tracing::warn!(%error, "failed to run uname -r; the running kernel is unknown");
            None
        }
    }
}

fn non_empty(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}
