//! The file lists of installed dpkg packages, `/var/lib/dpkg/info/NAME.list`.
//!
//! dpkg writes one list per installed package with every path the package
//! unpacked, one per line, directories included. A package that is
//! `Multi-Arch: same` has its list under `NAME:ARCH.list`, since several
//! architectures of it can be installed at once. Diversions
//! (`/var/lib/dpkg/diversions`) are not applied, so a diverted file is
//! credited to the package whose list names the path.

use vulnloop_inventory::{Package, PackageManager};

use crate::rootfs::RootFs;
use crate::runtime::FileOwners;

/// Directory of the per-package file lists.
const INFO_PATH: &str = "/var/lib/dpkg/info";

/// Largest list read, so that a damaged file cannot exhaust memory.
const MAX_LIST_BYTES: u64 = 256 * 1024 * 1024;

/// Records, for the dpkg packages among `packages`, which of them list a
/// path that `owners` looks up.
///
/// A package without a list (distroless `status.d` images keep none) or
/// with an unreadable one is skipped with a warning in the log.
pub(crate) fn record_owners(rootfs: &RootFs, packages: &[Package], owners: &mut FileOwners) {
    if owners.is_empty() {
        return;
    }
    let mut missing = 0usize;
    for package in packages.iter().filter(|package| package.manager == PackageManager::Dpkg) {
        match read_list(rootfs, package) {
            Ok(Some(text)) => {
                for path in text.lines() {
                    owners.record(path, &package.name);
                }
            }
            Ok(None) => missing += 1,
            Err((path, error)) => {
                tracing::warn!(path = %rootfs.display(&path), %error, "failed to read a dpkg file list, so processes mapping its files are not linked to the package");
            }
        }
    }
    if missing > 0 {
        tracing::debug!(missing, "dpkg packages without a file list in {INFO_PATH}");
    }
}

/// Reads the list of `package`: `NAME.list`, or else `NAME:ARCH.list`.
///
/// Most packages are not `Multi-Arch: same`, so the plain name is tried first.
fn read_list(rootfs: &RootFs, package: &Package) -> Result<Option<String>, (String, std::io::Error)> {
    let plain = format!("{INFO_PATH}/{}.list", package.name);
    let qualified = package.arch.as_deref().map(|arch| format!("{INFO_PATH}/{}:{arch}.list", package.name));
    for path in [plain].into_iter().chain(qualified) {
        match rootfs.read(&path, MAX_LIST_BYTES) {
            Ok(Some(bytes)) => {
                let text = String::from_utf8(bytes)
                    .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
                return Ok(Some(text));
            }
            Ok(None) => continue,
            Err(error) => return Err((path, error)),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::fs;

    use super::*;
    use crate::runtime::UsrMerge;

    fn package(name: &str, arch: &str) -> Package {
        Package {
            manager: PackageManager::Dpkg,
            name: name.to_string(),
            version: "1".to_string(),
            arch: Some(arch.to_string()),
            source_name: None,
            source_version: None,
            origin: "/var/lib/dpkg/status:1".to_string(),
            vendor: None,
            module: None,
            repository: None,
        }
    }

    #[test]
    fn qualified_and_plain_lists_read() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("var/lib/dpkg/info");
        fs::create_dir_all(&info).unwrap();
        fs::write(info.join("libc6:amd64.list"), "/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n").unwrap();
        fs::write(info.join("bash.list"), "/.\n/bin\n/bin/bash\n").unwrap();
        fs::write(info.join("dash.list"), "/.\n/bin\n/bin/dash\n").unwrap();
        let rootfs = RootFs::open(dir.path()).unwrap();
        let packages = [package("libc6", "amd64"), package("bash", "amd64"), package("zsh", "amd64")];
        let usr_merge = UsrMerge::from_pairs(&[("/bin", "/usr/bin"), ("/lib", "/usr/lib")]);
        let mut owners = FileOwners::with_usr_merge(
            ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/bash", "/usr/bin/dash"],
            usr_merge,
        );

        record_owners(&rootfs, &packages, &mut owners);

        assert_eq!(owners.owners("/usr/lib/x86_64-linux-gnu/libc.so.6"), ["libc6"]);
        assert_eq!(owners.owners("/usr/bin/bash"), ["bash"]);
        // dash is not among the installed packages, so its list is not read.
        assert!(owners.owners("/usr/bin/dash").is_empty());
    }
}
