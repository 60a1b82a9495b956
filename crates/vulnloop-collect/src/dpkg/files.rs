//! The file lists of installed dpkg packages, `/var/lib/dpkg/info/NAME.list`.
//!
//! dpkg writes one list per installed package with every path the package
//! unpacked, one per line, directories included. A package that is
//! `Multi-Arch: same` has its list under `NAME:ARCH.list`, since several
//! architectures of it can be installed at once. Diversions
//! (`/var/lib/dpkg/diversions`) are not applied, so a diverted file is
//! credited to the package whose list names the path.

use std::collections::HashSet;

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
/// A package without a list (distroless `status.d` images keep none) is
/// skipped, and so is an unreadable list, with a warning in the log.
pub(crate) fn record_owners(rootfs: &RootFs, packages: &[Package], owners: &mut FileOwners) {
    if owners.is_empty() {
        return;
    }
    // Listing the directory once costs less than a failed open for each of
    // the hundreds of library packages whose list carries the architecture.
    let names: HashSet<String> = match rootfs.list_dir(INFO_PATH) {
        Ok(Some(names)) => names.into_iter().collect(),
        Ok(None) => {
            tracing::warn!(path = %rootfs.display(INFO_PATH), "the dpkg info directory is missing, so processes are not linked to packages");
            return;
        }
        Err(error) => {
            tracing::warn!(path = %rootfs.display(INFO_PATH), %error, "failed to list the dpkg info directory, so processes are not linked to packages");
            return;
        }
    };

    let mut missing = 0usize;
    for package in packages
        .iter()
        .filter(|package| package.manager == PackageManager::Dpkg)
    {
        let Some(name) = list_name(package, &names) else {
            missing += 1;
            continue;
        };
        let path = format!("{INFO_PATH}/{name}");
        match rootfs.read(&path, MAX_LIST_BYTES) {
            Ok(Some(bytes)) => {
                let text = String::from_utf8(bytes)
                    .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
                for line in text.lines() {
                    owners.record(line, &package.name);
                }
            }
            Ok(None) => missing += 1,
            Err(error) => {
                tracing::warn!(path = %rootfs.display(&path), %error, "failed to read a dpkg file list, so processes mapping its files are not linked to the package");
            }
        }
    }
    if missing > 0 {
        tracing::debug!(missing, "dpkg packages without a file list in {INFO_PATH}");
    }
}

/// Returns the file name of the list of `package` among `names`:
/// `NAME:ARCH.list`, or else `NAME.list`.
fn list_name(package: &Package, names: &HashSet<String>) -> Option<String> {
    let qualified = package
        .arch
        .as_deref()
        .map(|arch| format!("{}:{arch}.list", package.name));
    let plain = format!("{}.list", package.name);
    qualified
        .into_iter()
        .chain([plain])
        .find(|name| names.contains(name))
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
        fs::write(
            info.join("libc6:amd64.list"),
            "/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n",
        )
        .unwrap();
        fs::write(info.join("bash.list"), "/.\n/bin\n/bin/bash\n").unwrap();
        fs::write(info.join("dash.list"), "/.\n/bin\n/bin/dash\n").unwrap();
        let rootfs = RootFs::open(dir.path()).unwrap();
        let packages = [
            package("libc6", "amd64"),
            package("bash", "amd64"),
            package("zsh", "amd64"),
        ];
        let usr_merge = UsrMerge::from_pairs(&[("/bin", "/usr/bin"), ("/lib", "/usr/lib")]);
        let mut owners = FileOwners::with_usr_merge(
            [
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                "/usr/bin/bash",
                "/usr/bin/dash",
            ],
            usr_merge,
        );

        record_owners(&rootfs, &packages, &mut owners);

        assert_eq!(
            owners.owners("/usr/lib/x86_64-linux-gnu/libc.so.6"),
            ["libc6"]
        );
        assert_eq!(owners.owners("/usr/bin/bash"), ["bash"]);
        // dash is not among the installed packages, so its list is not read.
        assert!(owners.owners("/usr/bin/dash").is_empty());
    }
}
