//! The host name of the scanned system.

use crate::rootfs::RootFs;

/// Kernel host name of the live system, the same text as `hostname`.
const KERNEL_HOSTNAME_PATH: &str = "/proc/sys/kernel/hostname";

/// The configured host name, hostname(5).
const HOSTNAME_PATH: &str = "/etc/hostname";

/// Largest `/etc/hostname` read; a host name is at most 64 bytes on Linux.
const MAX_HOSTNAME_FILE_BYTES: u64 = 4096;

/// Returns the host name: the kernel's for the live system, else `/etc/hostname` under the root.
pub(crate) fn hostname(rootfs: &RootFs) -> Option<String> {
    if rootfs.is_live() {
        if let Some(name) = std::fs::read_to_string(KERNEL_HOSTNAME_PATH)
            .ok()
            .and_then(|text| first_name(&text))
        {
            return Some(name);
        }
    }
    match rootfs.read(HOSTNAME_PATH, MAX_HOSTNAME_FILE_BYTES) {
        Ok(bytes) => bytes.and_then(|bytes| first_name(&String::from_utf8_lossy(&bytes))),
        Err(error) => {
            tracing::warn!(path = %rootfs.display(HOSTNAME_PATH), %error, "failed to read the host name");
            None
        }
    }
}

/// Returns the first line that is not blank or a `#` comment, as hostname(5) reads it.
fn first_name(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
}
