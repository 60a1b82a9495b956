//! File access inside the root filesystem being scanned.
//!
//! A mounted image or container root often contains absolute symbolic links
//! (`/etc/os-release -> /usr/lib/os-release`). Followed by the operating
//! system, they would read the scanning host's files instead of the image's.
//! [`RootFs::resolve`] follows them inside the root, as `chroot` would.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use crate::error::CollectError;

/// How many symbolic links one path may pass through, as Linux allows (`MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// A directory scanned as the root filesystem of a system.
#[derive(Debug, Clone)]
pub(crate) struct RootFs {
    root: PathBuf,
    live: bool,
}

impl RootFs {
    /// Opens `root`, failing when it is not a directory.
    pub(crate) fn open(root: &Path) -> Result<Self, CollectError> {
        let root_error = |source| CollectError::Root {
            root: root.display().to_string(),
            source,
        };
        let canonical = fs::canonicalize(root).map_err(root_error)?;
        if !canonical.is_dir() {
            return Err(root_error(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a directory",
            )));
        }
        let live = canonical == Path::new("/");
        Ok(Self {
            root: canonical,
            live,
        })
    }

    /// Returns whether the root is `/`, the system this process runs on.
    pub(crate) fn is_live(&self) -> bool {
        self.live
    }

    /// Returns the canonical root directory.
    pub(crate) fn path(&self) -> &Path {
        &self.root
    }

    /// Returns the host path of `inner` for messages, without following symbolic links.
    pub(crate) fn display(&self, inner: &str) -> String {
        self.root
            .join(inner.trim_start_matches('/'))
            .display()
            .to_string()
    }

    /// Returns the host path of `inner`, an absolute path inside the scanned system.
    ///
    /// Symbolic links are followed inside the root, `..` stops at the root,
    /// and a missing component ends the resolution (the file then reads as
    /// not found). Fails on a loop of symbolic links.
    pub(crate) fn resolve(&self, inner: &str) -> io::Result<PathBuf> {
        if self.live {
            return Ok(PathBuf::from(inner));
        }

        let mut pending: VecDeque<OsString> = normal_components(Path::new(inner)).collect();
        let mut resolved = PathBuf::new();
        let mut links_followed = 0;

        while let Some(component) = pending.pop_front() {
            if component == ".." {
                resolved.pop();
                continue;
            }
            let candidate = self.root.join(&resolved).join(&component);
            let Ok(target) = fs::read_link(&candidate) else {
                resolved.push(component);
                continue;
            };

            links_followed += 1;
            if links_followed > MAX_SYMLINKS {
                let message = format!("too many levels of symbolic links resolving {inner}");
                return Err(io::Error::other(message));
            }
            if target.is_absolute() {
                resolved = PathBuf::new();
            }
            for (index, part) in normal_components(&target).enumerate() {
                pending.insert(index, part);
            }
        }
        Ok(self.root.join(resolved))
    }

    /// Reads a regular file inside the system, or returns `None` when it does not exist.
    ///
    /// Fails when the file is not a regular file (a FIFO or device in an
    /// image would block or never end) or is longer than `max_bytes`.
    pub(crate) fn read(&self, inner: &str, max_bytes: u64) -> io::Result<Option<Vec<u8>>> {
        let path = self.resolve(inner)?;
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let metadata = file.metadata()?;
        if !metadata.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }

        // Reserving the file's size lets `read_to_end` fill the buffer in one
        // read call instead of growing it step by step, which matters when
        // hundreds of dpkg file lists are read.
        let expected_len = metadata.len().min(max_bytes).saturating_add(1);
        let mut bytes = Vec::with_capacity(usize::try_from(expected_len).unwrap_or(0));
        file.take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > max_bytes {
            let message = format!("file is larger than {max_bytes} bytes");
            return Err(io::Error::new(io::ErrorKind::InvalidData, message));
        }
        Ok(Some(bytes))
    }

    /// Lists the names of the entries of a directory inside the system, sorted,
    /// or returns `None` when the directory does not exist.
    pub(crate) fn list_dir(&self, inner: &str) -> io::Result<Option<Vec<String>>> {
        let path = self.resolve(inner)?;
        let entries = match fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let mut names = Vec::new();
        for entry in entries {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(Some(names))
    }
}

/// Returns the components of a path other than the root and `.`, with `..` kept.
fn normal_components(path: &Path) -> impl Iterator<Item = OsString> + '_ {
    path.components().filter_map(|component| match component {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::symlink;

    use super::*;

    fn image() -> (tempfile::TempDir, RootFs) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc")).unwrap();
        fs::create_dir_all(dir.path().join("usr/lib")).unwrap();
        fs::write(dir.path().join("usr/lib/os-release"), "ID=debian\n").unwrap();
        let root = RootFs::open(dir.path()).unwrap();
        (dir, root)
    }

    #[test]
    fn absolute_symlink_stays_inside_root() {
        let (dir, root) = image();
        symlink("/usr/lib/os-release", dir.path().join("etc/os-release")).unwrap();
        let bytes = root.read("/etc/os-release", 1024).unwrap();
        assert_eq!(bytes.as_deref(), Some(&b"ID=debian\n"[..]));
    }

    #[test]
    fn relative_symlink_with_parent() {
        let (dir, root) = image();
        symlink("../usr/lib/os-release", dir.path().join("etc/os-release")).unwrap();
        let bytes = root.read("/etc/os-release", 1024).unwrap();
        assert_eq!(bytes.as_deref(), Some(&b"ID=debian\n"[..]));
    }

    #[test]
    fn parent_stops_at_root() {
        let (dir, root) = image();
        symlink(
            "../../../../../usr/lib/os-release",
            dir.path().join("etc/os-release"),
        )
        .unwrap();
        let resolved = root.resolve("/etc/os-release").unwrap();
        assert_eq!(resolved, root.path().join("usr/lib/os-release"));
    }

    #[test]
    fn symlink_loop_fails() {
        let (dir, root) = image();
        symlink("/etc/b", dir.path().join("etc/a")).unwrap();
        symlink("/etc/a", dir.path().join("etc/b")).unwrap();
        let error = root.read("/etc/a", 1024).unwrap_err();
        assert!(error.to_string().contains("symbolic links"), "{error}");
    }

    #[test]
    fn missing_file_reads_as_none() {
        let (_dir, root) = image();
        assert_eq!(root.read("/etc/lsb-release", 1024).unwrap(), None);
    }

    #[test]
    fn oversized_file_fails() {
        let (_dir, root) = image();
        let error = root.read("/usr/lib/os-release", 4).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn directory_is_not_a_file() {
        let (_dir, root) = image();
        let error = root.read("/etc", 1024).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn missing_root_fails() {
        let error = RootFs::open(Path::new("/nonexistent/vulnloop-root")).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/vulnloop-root"),
            "{error}"
        );
    }
}
