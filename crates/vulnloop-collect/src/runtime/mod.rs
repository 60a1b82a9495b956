//! Running processes of the live host, with the packages whose files they
//! map and the sockets they listen on.
//!
//! A vulnerable package matters more when its code is loaded in a running
//! process, and more still when that process accepts connections from other
//! hosts. The live system (`/`) has running processes. A root filesystem
//! given with `--root` has them only when it is the root directory of some
//! process, such as a chroot or a container's root, and only root can read
//! them. Without root, or when no process runs in it, the runtime is not
//! collected and exposure stays unknown.
//!
//! The collection runs in three steps:
//!
//! 1. [`scan`] reads the socket tables, then each `/proc/PID`: the files it
//!    maps and the listening sockets among its file descriptors.
//! 2. The package database reader records the owners of exactly the mapped
//!    paths in a [`FileOwners`] (dpkg's `info/*.list`, rpm's
//!    `BASENAMES`/`DIRNAMES`, apk's `F:`/`R:` lines).
//! 3. [`ProcessScan::into_runtime`] turns each process's files into package
//!    names.
//!
//! Reading another user's process needs root (or `CAP_SYS_PTRACE`), so
//! without it most processes count as uninspected.

mod net;
mod owners;
mod proc;

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;

use vulnloop_inventory::{RunningProcess, Runtime};

pub use owners::FileOwners;
pub(crate) use owners::UsrMerge as RootUsrMerge;
pub(crate) use owners::UsrMerge;
use proc::{Inspection, ScannedProcess, ScannedRoot};

use crate::rootfs::RootFs;

/// The processes read from `/proc`, before their files are linked to packages.
#[derive(Debug, Default)]
pub(crate) struct ProcessScan {
    processes: Vec<ScannedProcess>,
    uninspected: usize,
}

/// Reads the running processes of the root filesystem, or returns `None`
/// when it has none that the scanner can read.
///
/// For the live system, processes in another root directory count as
/// uninspected. For a `--root` directory, only the processes whose
/// `/proc/PID/root` is that directory (same device and inode) are read,
/// and only when the scanner runs as root, because they belong to other
/// users. The scanner's own process is left out. Processes that map
/// nothing are kernel threads or zombies and are left out too.
pub(crate) fn scan(rootfs: &RootFs) -> Option<ProcessScan> {
    let root_id = if rootfs.is_live() {
        let Some(own_root) = proc::root_id(std::path::Path::new("/proc/self")) else {
            tracing::warn!(
                "failed to read /proc/self/root, so running processes are not collected"
            );
            return None;
        };
        own_root
    } else {
        if !nix::unistd::geteuid().is_root() {
            tracing::debug!(
                "not running as root, so the processes inside --root are not collected"
            );
            return None;
        }
        let metadata = match std::fs::metadata(rootfs.path()) {
            Ok(metadata) => metadata,
            Err(error) => {
                tracing::warn!(%error, root = %rootfs.path().display(), "failed to read the root directory, so its processes are not collected");
                return None;
            }
        };
        (metadata.dev(), metadata.ino())
    };
    let root = ScannedRoot {
        id: root_id,
        path: rootfs.path(),
    };
    let pids = match proc::list_pids() {
        Ok(pids) => pids,
        Err(error) => {
            tracing::warn!(%error, "failed to list /proc, so running processes are not collected");
            return None;
        }
    };

    // Reading the socket tables takes milliseconds of kernel time (see
    // `net::read_listening_sockets`), so they are read while the processes are.
    let own_pid = std::process::id();
    let (sockets, mut result) = std::thread::scope(|scope| {
        let sockets = scope.spawn(net::read_listening_sockets);
        let mut result = ProcessScan::default();
        for pid in pids.into_iter().filter(|pid| *pid != own_pid) {
            match proc::inspect(pid, root) {
                Inspection::Process(process) => result.processes.push(process),
                Inspection::NoMappings => {}
                // In a --root scan, run as root, a process is unreadable
                // only when it exited meanwhile, and its root is unknown.
                Inspection::Uninspected | Inspection::OtherRoot if rootfs.is_live() => {
                    result.uninspected += 1
                }
                Inspection::Uninspected | Inspection::OtherRoot => {}
            }
        }
        let sockets = sockets.join().unwrap_or_else(|_| {
            tracing::warn!("reading the socket tables failed, so listeners are not collected");
            HashMap::new()
        });
        (sockets, result)
    });

    if !sockets.is_empty() {
        let before = result.processes.len();
        result.processes.retain_mut(|process| match proc::read_listeners(process, &sockets) {
            Ok(()) => true,
            Err(error) => {
                tracing::debug!(pid = process.pid, %error, "process file descriptors not readable");
                false
            }
        });
        result.uninspected += before - result.processes.len();
    }
    if !rootfs.is_live() && result.processes.is_empty() && result.uninspected == 0 {
        // A directory no process runs in is an image or a stopped system:
        // whether its packages will run is unknown, not "never".
        return None;
    }
    Some(result)
}

impl ProcessScan {
    /// Starts a lookup of every file the processes map and of `extra`
    /// paths, with the root's /usr aliases.
    pub(crate) fn file_owners(&self, rootfs: &RootFs, extra: &[String]) -> FileOwners {
        let paths = self
            .processes
            .iter()
            .flat_map(|process| process.files.iter().map(|file| file.path.as_str()))
            .chain(extra.iter().map(String::as_str));
        FileOwners::with_usr_merge(paths, UsrMerge::detect(rootfs.path()))
    }

    /// Links each process's files to the packages that own them.
    ///
    /// A process is kept when it maps a packaged file or listens on a
    /// socket: an unpackaged listener is worth seeing too.
    pub(crate) fn into_runtime(self, owners: &FileOwners) -> Runtime {
        let processes = self
            .processes
            .into_iter()
            .filter_map(|process| running_process(process, owners))
            .collect();
        Runtime {
            processes,
            uninspected: self.uninspected,
        }
    }
}

/// Builds the inventory entry of one process, or `None` when nothing about it matters.
fn running_process(process: ScannedProcess, owners: &FileOwners) -> Option<RunningProcess> {
    let mut packages = BTreeSet::new();
    let mut deleted_files = BTreeSet::new();
    for file in &process.files {
        let file_owners = owners.owners(&file.path);
        packages.extend(file_owners.iter().cloned());
        if file.deleted && !file_owners.is_empty() {
            deleted_files.insert(file.path.clone());
        }
    }
    if packages.is_empty() && process.listening.is_empty() {
        return None;
    }
    Some(RunningProcess {
        pid: process.pid,
        command: process.command,
        packages: packages.into_iter().collect(),
        listening: process.listening,
        deleted_files: deleted_files.into_iter().collect(),
        service: process.service,
    })
}

#[cfg(test)]
mod tests {
    use vulnloop_inventory::Listener;

    use super::proc::MappedFile;
    use super::*;

    fn scanned(pid: u32, files: &[(&str, bool)], listening: Vec<Listener>) -> ScannedProcess {
        ScannedProcess {
            pid,
            command: format!("command{pid}"),
            files: files
                .iter()
                .map(|(path, deleted)| MappedFile {
                    path: path.to_string(),
                    deleted: *deleted,
                })
                .collect(),
            listening,
            service: (pid == 10).then(|| "ssh.service".to_string()),
        }
    }

    #[test]
    fn processes_linked_and_filtered() {
        let listener = Listener {
            protocol: "tcp".into(),
            address: "0.0.0.0".into(),
            port: 8000,
        };
        let scan = ProcessScan {
            processes: vec![
                scanned(
                    10,
                    &[
                        ("/usr/sbin/sshd", false),
                        ("/usr/lib/libssl.so.3", true),
                        ("/usr/lib/libc.so.6", false),
                    ],
                    Vec::new(),
                ),
                scanned(11, &[("/opt/app/server", false)], vec![listener.clone()]),
                scanned(
                    12,
                    &[("/opt/app/worker", false), ("/tmp/cache (x)", true)],
                    Vec::new(),
                ),
            ],
            uninspected: 3,
        };
        let mut owners = FileOwners::new([
            "/usr/sbin/sshd",
            "/usr/lib/libssl.so.3",
            "/usr/lib/libc.so.6",
            "/opt/app/server",
            "/opt/app/worker",
            "/tmp/cache (x)",
        ]);
        owners.record("/usr/sbin/sshd", "openssh-server");
        owners.record("/usr/lib/libssl.so.3", "libssl3");
        owners.record("/usr/lib/libc.so.6", "libc6");

        let runtime = scan.into_runtime(&owners);

        assert_eq!(runtime.uninspected, 3);
        assert_eq!(runtime.processes.len(), 2, "{:?}", runtime.processes);
        let sshd = &runtime.processes[0];
        assert_eq!(sshd.packages, ["libc6", "libssl3", "openssh-server"]);
        assert_eq!(sshd.deleted_files, ["/usr/lib/libssl.so.3"]);
        assert_eq!(sshd.service.as_deref(), Some("ssh.service"));
        let server = &runtime.processes[1];
        assert_eq!(server.service, None);
        assert!(server.packages.is_empty());
        assert_eq!(server.listening, [listener]);
    }
}
