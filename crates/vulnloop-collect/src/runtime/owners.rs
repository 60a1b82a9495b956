//! Ownership of a set of files by installed packages.
//!
//! The package databases list each package's files, but a lookup from a file
//! to its package would mean indexing every file of every package. Only the
//! few hundred files that running processes map are of interest, so those
//! are collected first into a [`FileOwners`], and each database reader then
//! records an owner only for a path in it.
//!
//! On a merged-/usr system, `/lib`, `/bin` and `/sbin` are symbolic links
//! into `/usr`. The kernel reports the resolved path
//! (`/usr/lib/x86_64-linux-gnu/libc.so.6`) while a package built before the
//! merge still lists the old one (`/lib/x86_64-linux-gnu/libc.so.6`), and a
//! newer package lists `/usr/...` where an older system has real `/lib`
//! directories. [`UsrMerge`] rewrites both sides through the links that
//! the scanned root actually has, so each file has one spelling.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The top-level directories of a root that are symbolic links to another
/// directory, as on merged-/usr systems (`/lib -> usr/lib`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UsrMerge {
    /// Pairs of prefixes `/lib/` and `/usr/lib/`, the alias first.
    aliases: Vec<(String, String)>,
}

impl UsrMerge {
    /// Reads the links `bin`, `sbin` and `lib*` of the root directory `root`.
    ///
    /// A link is kept when its target is a plain path inside the root
    /// (`usr/lib` or `/usr/lib`). Other entries, and a root that cannot be
    /// listed, give no aliases.
    pub(crate) fn detect(root: &Path) -> Self {
        let Ok(entries) = std::fs::read_dir(root) else {
            return Self::default();
        };
        let mut aliases = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            if !(name == "bin" || name == "sbin" || name.starts_with("lib")) {
                continue;
            }
            let Ok(target) = std::fs::read_link(entry.path()) else {
                continue;
            };
            let Some(target) = target.to_str() else {
                continue;
            };
            let target = target.trim_start_matches('/').trim_end_matches('/');
            let plain = !target.is_empty()
                && target
                    .split('/')
                    .all(|part| !part.is_empty() && part != "." && part != "..");
            if plain {
                aliases.push((format!("/{name}/"), format!("/{target}/")));
            }
        }
        aliases.sort();
        Self { aliases }
    }

    /// Builds the aliases from `(alias, target)` directory pairs such as `("/lib", "/usr/lib")`.
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let aliases = pairs
            .iter()
            .map(|(alias, target)| {
                let alias = alias.trim_end_matches('/');
                let target = target.trim_end_matches('/');
                (format!("{alias}/"), format!("{target}/"))
            })
            .collect();
        Self { aliases }
    }

    /// Returns `path` with an aliased top-level directory replaced by its target.
    pub(crate) fn canonical<'a>(&self, path: &'a str) -> Cow<'a, str> {
        for (alias, target) in &self.aliases {
            if let Some(rest) = path.strip_prefix(alias.as_str()) {
                return Cow::Owned(format!("{target}{rest}"));
            }
        }
        Cow::Borrowed(path)
    }
}

/// Files looked up in a package database, and the packages found to own each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOwners {
    usr_merge: UsrMerge,
    /// Owners by canonical path, with an entry for every path looked up.
    owners: HashMap<String, Vec<String>>,
    /// File names of the paths looked up. A database path with another file
    /// name is passed over before its directory is rewritten, which keeps
    /// scanning hundreds of thousands of listed paths cheap.
    file_names: HashSet<String>,
    /// Bit `length % 64` of word `last byte % 64` is set for each file name in
    /// `file_names`: a check cheaper than hashing that most paths fail.
    name_filter: [u64; 64],
}

impl FileOwners {
    /// Starts a lookup of `paths`, absolute paths compared as written.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        Self::with_usr_merge(paths, UsrMerge::default())
    }

    /// Starts a lookup of `paths` on a merged-/usr root, where each
    /// `(alias, target)` directory pair such as `("/lib64", "/usr/lib64")` names
    /// the same directory.
    pub fn with_aliases<'a>(
        paths: impl IntoIterator<Item = &'a str>,
        aliases: &[(&str, &str)],
    ) -> Self {
        Self::with_usr_merge(paths, UsrMerge::from_pairs(aliases))
    }

    /// Starts a lookup of `paths` on a root with the given top-level aliases.
    pub(crate) fn with_usr_merge<'a>(
        paths: impl IntoIterator<Item = &'a str>,
        usr_merge: UsrMerge,
    ) -> Self {
        let owners: HashMap<String, Vec<String>> = paths
            .into_iter()
            .map(|path| (usr_merge.canonical(path).into_owned(), Vec::new()))
            .collect();
        let file_names: HashSet<String> = owners
            .keys()
            .map(|path| file_name(path).to_string())
            .collect();
        let mut name_filter = [0u64; 64];
        for name in &file_names {
            let (word, bit) = filter_position(name);
            name_filter[word] |= 1 << bit;
        }
        Self {
            usr_merge,
            owners,
            file_names,
            name_filter,
        }
    }

    /// Returns whether no path is looked up, so that readers can skip the file lists.
    pub(crate) fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// Records that `package` lists `path`, when `path` is one looked up.
    pub(crate) fn record(&mut self, path: &str, package: &str) {
        let name = file_name(path);
        let (word, bit) = filter_position(name);
        if self.name_filter[word] & (1 << bit) == 0 || !self.file_names.contains(name) {
            return;
        }
        let canonical = self.usr_merge.canonical(path);
        if let Some(owners) = self.owners.get_mut(canonical.as_ref()) {
            if !owners.iter().any(|owner| owner == package) {
                owners.push(package.to_string());
            }
        }
    }

    /// Returns the packages that list `path`, in the order found. The slice is
    /// empty when no package does or `path` was not looked up.
    pub fn owners(&self, path: &str) -> &[String] {
        self.owners
            .get(self.usr_merge.canonical(path).as_ref())
            .map_or(&[], Vec::as_slice)
    }
}

impl Default for FileOwners {
    /// Returns a lookup of no paths.
    fn default() -> Self {
        Self::new([])
    }
}

/// Returns the word and bit of a file name in [`FileOwners::name_filter`].
fn filter_position(name: &str) -> (usize, usize) {
    let last = name.as_bytes().last().copied().unwrap_or(0);
    (usize::from(last) % 64, name.len() % 64)
}

/// Returns the part of a path after its last `/`.
fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn merged() -> UsrMerge {
        UsrMerge::from_pairs(&[
            ("/bin", "/usr/bin"),
            ("/lib", "/usr/lib"),
            ("/lib64", "/usr/lib64"),
            ("/sbin", "/usr/sbin"),
        ])
    }

    #[test]
    fn alias_rewritten_to_usr() {
        let usr_merge = merged();
        assert_eq!(
            usr_merge.canonical("/lib/x86_64-linux-gnu/libc.so.6"),
            "/usr/lib/x86_64-linux-gnu/libc.so.6"
        );
        assert_eq!(
            usr_merge.canonical("/lib64/ld-linux-x86-64.so.2"),
            "/usr/lib64/ld-linux-x86-64.so.2"
        );
        assert_eq!(usr_merge.canonical("/sbin/sshd"), "/usr/sbin/sshd");
        assert_eq!(
            usr_merge.canonical("/usr/lib/x86_64-linux-gnu/libc.so.6"),
            "/usr/lib/x86_64-linux-gnu/libc.so.6"
        );
    }

    #[test]
    fn alias_needs_whole_component() {
        let usr_merge = merged();
        assert_eq!(usr_merge.canonical("/library/file"), "/library/file");
        assert_eq!(usr_merge.canonical("/lib"), "/lib");
        assert_eq!(usr_merge.canonical("/binaries/x"), "/binaries/x");
    }

    #[test]
    fn owners_found_through_alias_both_ways() {
        let mut owners = FileOwners::with_usr_merge(
            ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/bin/bash"],
            merged(),
        );
        owners.record("/lib/x86_64-linux-gnu/libc.so.6", "libc6");
        owners.record("/usr/bin/bash", "bash");
        owners.record("/usr/bin/dash", "dash");
        assert_eq!(
            owners.owners("/usr/lib/x86_64-linux-gnu/libc.so.6"),
            ["libc6"]
        );
        assert_eq!(owners.owners("/lib/x86_64-linux-gnu/libc.so.6"), ["libc6"]);
        assert_eq!(owners.owners("/bin/bash"), ["bash"]);
        assert!(owners.owners("/usr/bin/dash").is_empty());
    }

    #[test]
    fn no_alias_without_merge() {
        let mut owners = FileOwners::new(["/usr/lib/x86_64-linux-gnu/libc.so.6"]);
        owners.record("/lib/x86_64-linux-gnu/libc.so.6", "libc6");
        assert!(owners
            .owners("/usr/lib/x86_64-linux-gnu/libc.so.6")
            .is_empty());
    }

    #[test]
    fn owner_recorded_once() {
        let mut owners = FileOwners::new(["/usr/bin/python3.11"]);
        owners.record("/usr/bin/python3.11", "python3.11-minimal");
        owners.record("/usr/bin/python3.11", "python3.11-minimal");
        assert_eq!(owners.owners("/usr/bin/python3.11"), ["python3.11-minimal"]);
    }

    #[test]
    fn detect_reads_root_links() -> std::io::Result<()> {
        let root = tempfile::tempdir()?;
        for dir in ["usr/bin", "usr/lib", "usr/lib64", "etc", "var/lib"] {
            std::fs::create_dir_all(root.path().join(dir))?;
        }
        symlink("usr/bin", root.path().join("bin"))?;
        symlink("/usr/lib", root.path().join("lib"))?;
        symlink("usr/lib64/", root.path().join("lib64"))?;
        symlink("../outside", root.path().join("libx32"))?;
        symlink("usr/lib", root.path().join("etc-link"))?;
        std::fs::create_dir(root.path().join("sbin"))?;

        let usr_merge = UsrMerge::detect(root.path());
        let expected = UsrMerge::from_pairs(&[
            ("/bin", "/usr/bin"),
            ("/lib", "/usr/lib"),
            ("/lib64", "/usr/lib64"),
        ]);
        assert_eq!(usr_merge, expected);
        Ok(())
    }
}
