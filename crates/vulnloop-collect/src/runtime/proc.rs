//! Processes read from `/proc/PID`: command name, mapped files and sockets.
//!
//! `maps` lists every file a process has mapped, which includes its
//! executable and each shared library the dynamic loader or `dlopen` loaded.
//! The `exe` link names the executable. Both paths are as the kernel
//! resolved them when the file was opened, so they contain no symbolic
//! links. A file deleted or replaced after it was mapped keeps its old
//! path with ` (deleted)` appended.
//!
//! The kernel writes those paths relative to the root directory of the
//! process that reads them, not of the inspected process. For a process
//! chrooted into `/srv/root`, the scanner reads `/srv/root/usr/bin/sleep`,
//! and [`inspect`] strips that prefix again.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use vulnloop_inventory::Listener;

/// Suffix the kernel appends to the path of a mapped file that was unlinked.
const DELETED_SUFFIX: &str = " (deleted)";

/// Largest `maps` file read, so that a process with millions of mappings
/// cannot exhaust the scanner's memory. Mappings past it are not seen.
const MAX_MAPS_BYTES: u64 = 64 * 1024 * 1024;

/// A file a process maps, with whether it was deleted since.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct MappedFile {
    pub(crate) path: String,
    pub(crate) deleted: bool,
}

/// One process as read from `/proc/PID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScannedProcess {
    pub(crate) pid: u32,
    pub(crate) command: String,
    /// Mapped files and the executable, sorted, without duplicates.
    pub(crate) files: Vec<MappedFile>,
    /// Listening sockets the process holds, sorted, without duplicates.
    pub(crate) listening: Vec<Listener>,
    /// systemd service of the process's control group.
    pub(crate) service: Option<String>,
}

/// Result of inspecting one `/proc/PID`.
#[derive(Debug)]
pub(crate) enum Inspection {
    /// A user-space process of the scanned root filesystem.
    Process(ScannedProcess),
    /// A kernel thread or a zombie: it maps nothing.
    NoMappings,
    /// Not readable, or exited meanwhile.
    Uninspected,
    /// A process whose root directory is not the scanned root filesystem.
    OtherRoot,
}

/// The identity of a root directory: device and inode.
pub(crate) type RootId = (u64, u64);

/// Returns the device and inode of the root directory that `/proc/PID/root` leads to.
pub(crate) fn root_id(proc_dir: &Path) -> Option<RootId> {
    let metadata = fs::metadata(proc_dir.join("root")).ok()?;
    Some((metadata.dev(), metadata.ino()))
}

/// Lists the process ids in `/proc`, the numeric entries.
pub(crate) fn list_pids() -> std::io::Result<Vec<u32>> {
    let mut pids: Vec<u32> = fs::read_dir("/proc")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// The root filesystem whose processes are inspected.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScannedRoot<'a> {
    /// Device and inode of the root directory.
    pub(crate) id: RootId,
    /// Path of the root directory in the scanner's own root: `/` for the
    /// live system, else the canonical `--root` directory.
    pub(crate) path: &'a Path,
}

/// Inspects `/proc/PID`, without its sockets (see [`read_listeners`]).
///
/// A process whose root is another directory than `root` (a container, a
/// chroot) maps files of another system, which the scanned package
/// database does not describe, so it is reported as [`Inspection::OtherRoot`].
pub(crate) fn inspect(pid: u32, root: ScannedRoot<'_>) -> Inspection {
    let dir = Path::new("/proc").join(pid.to_string());

    let maps = match read_limited(&dir.join("maps")) {
        Ok(maps) => maps,
        Err(error) => {
            tracing::debug!(pid, %error, "process maps not readable");
            return Inspection::Uninspected;
        }
    };
    let mut files: BTreeSet<MappedFile> = maps.lines().filter_map(parse_maps_line).collect();
    let exe = fs::read_link(dir.join("exe"))
        .ok()
        .and_then(|target| target.to_str().map(split_deleted));
    if files.is_empty() && exe.is_none() {
        return Inspection::NoMappings;
    }
    match root_id(&dir) {
        Some(id) if id == root.id => {}
        Some(_) => return Inspection::OtherRoot,
        None => return Inspection::Uninspected,
    }
    files.extend(exe.filter(|file| is_file_path(&file.path)));
    let files = files
        .into_iter()
        .filter_map(|file| inside_root(file, root.path))
        .collect::<BTreeSet<_>>();

    let command = fs::read_to_string(dir.join("comm"))
        .map(|text| text.trim_end_matches('\n').to_string())
        .unwrap_or_default();
    let service = fs::read_to_string(dir.join("cgroup"))
        .ok()
        .and_then(|text| service_of_cgroup(&text));
    Inspection::Process(ScannedProcess {
        pid,
        command,
        files: files.into_iter().collect(),
        listening: Vec::new(),
        service,
    })
}

/// Returns the systemd service named by the contents of `/proc/PID/cgroup`:
/// the innermost `.service` component of the unified hierarchy's path
/// (`0::/system.slice/ssh.service`), else of the `name=systemd` one (cgroup
/// v1, and the hybrid layout whose unified path is `/`). Processes in a
/// session scope or outside systemd have none.
pub(crate) fn service_of_cgroup(text: &str) -> Option<String> {
    let unified = text.lines().filter_map(|line| line.strip_prefix("0::"));
    let named = text
        .lines()
        .filter_map(|line| line.split_once(":name=systemd:").map(|(_, path)| path));
    unified.chain(named).find_map(|path| {
        let is_service = |part: &&str| part.ends_with(".service") && part.len() > ".service".len();
        path.split('/').rev().find(is_service).map(String::from)
    })
}

/// Fills in the listeners of the sockets among the process's file descriptors.
///
/// `sockets` maps listening socket inodes to their listeners. Fails when
/// `/proc/PID/fd` cannot be read.
pub(crate) fn read_listeners(
    process: &mut ScannedProcess,
    sockets: &HashMap<u64, Vec<Listener>>,
) -> std::io::Result<()> {
    let dir = Path::new("/proc").join(process.pid.to_string()).join("fd");
    let mut listening = BTreeSet::new();
    for entry in fs::read_dir(dir)? {
        // A descriptor closed between listing and reading its link is skipped.
        let Ok(target) = fs::read_link(entry?.path()) else {
            continue;
        };
        let Some(inode) = target.to_str().and_then(socket_inode) else {
            continue;
        };
        if let Some(listeners) = sockets.get(&inode) {
            listening.extend(listeners.iter().map(|listener| {
                (
                    listener.protocol.clone(),
                    listener.address.clone(),
                    listener.port,
                )
            }));
        }
    }
    process.listening = listening
        .into_iter()
        .map(|(protocol, address, port)| Listener {
            protocol,
            address,
            port,
        })
        .collect();
    Ok(())
}

/// Reads a procfs text file, bounded by [`MAX_MAPS_BYTES`].
fn read_limited(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    fs::File::open(path)?
        .take(MAX_MAPS_BYTES)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// Rewrites a path in the scanner's root to the path inside `root`
/// (`/srv/root/usr/bin/sleep` to `/usr/bin/sleep`), or returns `None` for a
/// file outside `root`, which no package of that root installs.
fn inside_root(file: MappedFile, root: &Path) -> Option<MappedFile> {
    if root == Path::new("/") {
        return Some(file);
    }
    let inner = Path::new(&file.path).strip_prefix(root).ok()?;
    let path = format!("/{}", inner.to_str()?);
    Some(MappedFile {
        path,
        deleted: file.deleted,
    })
}

/// Returns the inode of a `socket:[INODE]` descriptor link.
fn socket_inode(target: &str) -> Option<u64> {
    target
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Parses one `maps` line and returns the file it maps, or `None` for an
/// anonymous mapping, a pseudo-file (`[heap]`, `[vdso]`) or a malformed line.
///
/// A line is `ADDRESS PERMS OFFSET DEV INODE PATH`. The path is the rest of
/// the line after the inode and its padding, so it may contain spaces.
pub(crate) fn parse_maps_line(line: &str) -> Option<MappedFile> {
    let mut rest = line;
    let mut inode = "";
    for _ in 0..5 {
        rest = rest.trim_start_matches(' ');
        let end = rest.find(' ').unwrap_or(rest.len());
        inode = &rest[..end];
        rest = &rest[end..];
    }
    if inode == "0" || inode.is_empty() {
        return None;
    }
    let path = rest.trim_start_matches(' ');
    let file = split_deleted(path);
    is_file_path(&file.path).then_some(file)
}

/// Splits the ` (deleted)` suffix off a path.
fn split_deleted(path: &str) -> MappedFile {
    match path.strip_suffix(DELETED_SUFFIX) {
        Some(path) => MappedFile {
            path: path.to_string(),
            deleted: true,
        },
        None => MappedFile {
            path: path.to_string(),
            deleted: false,
        },
    }
}

/// Returns whether a path can name a file of an installed package.
///
/// `memfd_create` files appear as `/memfd:NAME` and System V shared memory
/// as `/SYSV...`. Neither is a file that a package installs.
fn is_file_path(path: &str) -> bool {
    path.starts_with('/') && !path.starts_with("/memfd:") && !path.starts_with("/SYSV")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_of_cgroup_v2_and_v1() {
        assert_eq!(
            service_of_cgroup("0::/system.slice/ssh.service\n").as_deref(),
            Some("ssh.service")
        );
        let nested = "0::/system.slice/containerd.service/kubepods/app.service/x\n";
        assert_eq!(
            service_of_cgroup(nested).as_deref(),
            Some("app.service"),
            "the innermost service"
        );
        let v1 =
            "12:pids:/system.slice/nginx.service\n1:name=systemd:/system.slice/nginx.service\n";
        assert_eq!(service_of_cgroup(v1).as_deref(), Some("nginx.service"));
        let hybrid = "1:name=systemd:/system.slice/cron.service\n0::/\n";
        assert_eq!(service_of_cgroup(hybrid).as_deref(), Some("cron.service"));
    }

    #[test]
    fn session_or_root_cgroup_has_no_service() {
        assert_eq!(
            service_of_cgroup("0::/user.slice/user-1000.slice/session-3.scope\n"),
            None
        );
        assert_eq!(service_of_cgroup("0::/\n"), None);
        assert_eq!(
            service_of_cgroup("9:name=systemd:/\n4:memory:/x\n0::/\n"),
            None
        );
        assert_eq!(service_of_cgroup(""), None);
        assert_eq!(service_of_cgroup("0::/.service\n"), None);
    }

    fn mapped(path: &str, deleted: bool) -> Option<MappedFile> {
        Some(MappedFile {
            path: path.to_string(),
            deleted,
        })
    }

    #[test]
    fn maps_library_line() {
        let line = "7f3a1c200000-7f3a1c228000 r--p 00000000 fe:01 1837465                    /usr/lib/x86_64-linux-gnu/libc.so.6";
        assert_eq!(
            parse_maps_line(line),
            mapped("/usr/lib/x86_64-linux-gnu/libc.so.6", false)
        );
    }

    #[test]
    fn maps_path_with_spaces() {
        let line =
            "7f3a1c400000-7f3a1c401000 r-xp 00001000 fe:01 2231  /opt/Vendor App/lib/lib plugin.so";
        assert_eq!(
            parse_maps_line(line),
            mapped("/opt/Vendor App/lib/lib plugin.so", false)
        );
    }

    #[test]
    fn maps_deleted_library() {
        let line = "7f3a1c600000-7f3a1c7b5000 r-xp 00028000 fe:01 1837470                    /usr/lib/x86_64-linux-gnu/libssl.so.3 (deleted)";
        assert_eq!(
            parse_maps_line(line),
            mapped("/usr/lib/x86_64-linux-gnu/libssl.so.3", true)
        );
    }

    #[test]
    fn maps_pseudo_and_anonymous_skipped() {
        for line in [
            "55d0c2a1e000-55d0c2a3f000 rw-p 00000000 00:00 0                          [heap]",
            "7ffd2b3e1000-7ffd2b402000 rw-p 00000000 00:00 0                          [stack]",
            "7ffd2b5f2000-7ffd2b5f4000 r-xp 00000000 00:00 0                          [vdso]",
            "7f3a1c9f0000-7f3a1c9f4000 rw-p 00000000 00:00 0 ",
            "7f3a1c9f0000-7f3a1c9f4000 rw-p 00000000 00:00 0",
            "7f3a1ca00000-7f3a1ca10000 rw-s 00000000 00:01 4120                       /memfd:wayland-shm (deleted)",
            "7f3a1ca10000-7f3a1ca20000 rw-s 00000000 00:01 32769                      /SYSV00000000 (deleted)",
            "garbage",
            "",
        ] {
            assert_eq!(parse_maps_line(line), None, "{line:?}");
        }
    }

    #[test]
    fn paths_inside_scanned_root() {
        let root = Path::new("/srv/root");
        let file = |path: &str, deleted| MappedFile {
            path: path.to_string(),
            deleted,
        };
        assert_eq!(
            inside_root(file("/srv/root/usr/lib/demo/demo-sleep", true), root),
            Some(file("/usr/lib/demo/demo-sleep", true))
        );
        assert_eq!(
            inside_root(file("/srv/root", false), root),
            Some(file("/", false))
        );
        assert_eq!(
            inside_root(file("/srv/rootfs/usr/bin/sleep", false), root),
            None,
            "a sibling directory"
        );
        assert_eq!(
            inside_root(file("/usr/lib/libc.so.6", false), root),
            None,
            "a file of the host"
        );
        assert_eq!(
            inside_root(file("/usr/lib/libc.so.6", false), Path::new("/")),
            Some(file("/usr/lib/libc.so.6", false))
        );
    }

    #[test]
    fn socket_link_inode() {
        assert_eq!(socket_inode("socket:[23456]"), Some(23456));
        assert_eq!(socket_inode("pipe:[23456]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
    }
}
