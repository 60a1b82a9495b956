//! Paths inside the scanned root filesystem.
//!
//! Discovery works on paths as they are on the scanned system (`/var/www`),
//! and reads them under the root given with `--root`. A symbolic link is
//! resolved inside that root, so an absolute link target in a mounted image
//! never escapes to the host running the scan.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Links followed while resolving one path, as the Linux kernel's limit (`ELOOP` after 40).
const MAX_LINK_HOPS: usize = 40;

/// The root filesystem being scanned.
#[derive(Debug, Clone)]
pub struct Root {
    path: PathBuf,
}

impl Root {
    /// Uses `path` (`/` for the running system) as the root.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }

    /// Returns the host path of `inner`, an absolute path inside the root, without resolving links.
    pub fn host_path(&self, inner: &str) -> PathBuf {
        self.path.join(inner.trim_start_matches('/'))
    }

    /// Resolves every symbolic link in `inner`, inside the root, and returns
    /// the real path inside the root. Fails on a missing component, and on
    /// a link chain longer than 40 links (a loop).
    pub fn resolve(&self, inner: &str) -> io::Result<String> {
        let mut resolved: Vec<String> = Vec::new();
        let mut pending: Vec<String> = components(inner).into_iter().rev().collect();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "." => continue,
                ".." => {
                    resolved.pop();
                    continue;
                }
                _ => {}
            }
            resolved.push(part);
            let current = join(&resolved);
            let metadata = std::fs::symlink_metadata(self.host_path(&current))?;
            if !metadata.file_type().is_symlink() {
                continue;
            }
            hops += 1;
            if hops > MAX_LINK_HOPS {
                return Err(io::Error::other(format!(
                    "too many levels of symbolic links at {current}"
                )));
            }
            let target = std::fs::read_link(self.host_path(&current))?;
            let target = target.to_string_lossy().into_owned();
            resolved.pop();
            if target.starts_with('/') {
                resolved.clear();
            }
            pending.extend(components(&target).into_iter().rev());
        }
        Ok(join(&resolved))
    }
}

fn components(path: &str) -> Vec<String> {
    Path::new(path)
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_string()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect()
}

fn join(parts: &[String]) -> String {
    if parts.is_empty() {
        "/".to_string()
    } else {
        format!("/{}", parts.join("/"))
    }
}

/// Joins `name` to the inner directory path `dir`.
pub fn child(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_link_stays_in_root() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("usr/share/app"))?;
        std::os::unix::fs::symlink("/usr/share/app", dir.path().join("link"))?;
        let root = Root::new(dir.path());
        assert_eq!(root.resolve("/link")?, "/usr/share/app");
        Ok(())
    }

    #[test]
    fn parent_stops_at_root() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("a"))?;
        std::os::unix::fs::symlink("../../../a", dir.path().join("a/up"))?;
        assert_eq!(Root::new(dir.path()).resolve("/a/up")?, "/a");
        Ok(())
    }

    #[test]
    fn link_loop_fails() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        std::os::unix::fs::symlink("b", dir.path().join("a"))?;
        std::os::unix::fs::symlink("a", dir.path().join("b"))?;
        let error = Root::new(dir.path()).resolve("/a").expect_err("loop");
        assert!(error.to_string().contains("symbolic links"), "{error}");
        Ok(())
    }
}
