//! The bounded directory walk that runs the detectors.
//!
//! Each directory is entered once, keyed by device and inode, so a
//! symbolic link loop or two links to one tree cost nothing extra. The walk
//! stops going deeper than the depth limit and stops altogether after the
//! entry limit; the caller reports the second as incomplete coverage.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;

use crate::detect::{detect_directory, Detected, Directory};
use crate::error::DetectError;
use crate::rootfs::{child, Root};

/// Directory names never entered: version control data contains no deployed code.
const SKIPPED_DIRS: &[&str] = &[".git", ".svn", ".hg"];

/// Something found, with the application directory it lies in.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub detected: Detected,
    pub bundled_in: Option<String>,
}

/// Names in a directory, with its subdirectories and symbolic links apart.
#[derive(Default)]
struct Listing {
    names: HashSet<String>,
    dirs: Vec<String>,
    links: Vec<String>,
}

pub(crate) struct Walker<'a> {
    root: &'a Root,
    max_depth: usize,
    max_entries: usize,
    visited: HashSet<(u64, u64)>,
    pub entries: usize,
    pub truncated: bool,
    pub found: Vec<Found>,
    pub problems: Vec<DetectError>,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(root: &'a Root, max_depth: usize, max_entries: usize) -> Self {
        Self {
            root,
            max_depth,
            max_entries,
            visited: HashSet::new(),
            entries: 0,
            truncated: false,
            found: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Walks the tree at `start` (a path inside the root), `context` being
    /// the application directory that contains it, if known.
    pub(crate) fn walk(&mut self, start: &str, context: Option<String>) {
        let Ok(real) = self.root.resolve(start) else {
            tracing::debug!(path = start, "web root missing or unresolvable");
            return;
        };
        let mut stack = vec![(real, 0usize, context)];
        while let Some((dir, depth, context)) = stack.pop() {
            if self.truncated {
                return;
            }
            let Some(listing) = self.enter(&dir) else {
                continue;
            };
            let children = self.visit(&dir, &listing, depth, context);
            stack.extend(children.into_iter().rev());
        }
    }

    /// Probes `dir` for an application without walking it; walks it when one is found.
    pub(crate) fn probe(&mut self, dir: &str) {
        let Ok(real) = self.root.resolve(dir) else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(self.root.host_path(&real)) else {
            return;
        };
        let names: HashSet<String> = entries
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        let directory = Directory {
            root: self.root,
            path: &real,
            names: &names,
        };
        // A broken marker is reported by the walk, which runs the same detector.
        let is_application = match crate::detect::apps::detect(&directory) {
            Ok(found) => !found.is_empty(),
            Err(_) => true,
        };
        if is_application {
            self.walk(&real, None);
        }
    }

    /// Marks `dir` visited and lists it; `None` when it was seen before or cannot be read.
    fn enter(&mut self, dir: &str) -> Option<Listing> {
        let host = self.root.host_path(dir);
        let metadata = std::fs::metadata(&host).ok()?;
        if !metadata.is_dir() || !self.visited.insert((metadata.dev(), metadata.ino())) {
            return None;
        }
        let entries = match std::fs::read_dir(&host) {
            Ok(entries) => entries,
            Err(error) => {
                tracing::debug!(path = dir, %error, "directory not readable");
                return None;
            }
        };
        // The entry types come from the directory listing itself, which
        // saves one stat call per file on file systems that report them.
        let mut listing = Listing::default();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => listing.dirs.push(name.clone()),
                Ok(kind) if kind.is_symlink() => listing.links.push(name.clone()),
                Ok(_) => {}
                Err(_) => listing.links.push(name.clone()),
            }
            listing.names.insert(name);
        }
        self.entries += listing.names.len();
        if self.entries > self.max_entries {
            self.truncated = true;
            return None;
        }
        Some(listing)
    }

    /// Runs the detectors on `dir` and returns its subdirectories to walk.
    fn visit(
        &mut self,
        dir: &str,
        listing: &Listing,
        depth: usize,
        context: Option<String>,
    ) -> Vec<(String, usize, Option<String>)> {
        let directory = Directory {
            root: self.root,
            path: dir,
            names: &listing.names,
        };
        let mut detected = Vec::new();
        let is_application = detect_directory(&directory, &mut detected, &mut self.problems);
        for item in detected {
            let bundled_in = match (&item.archive, item.kind) {
                (Some(archive), _) => Some(archive.clone()),
                (None, vulnloop_inventory::ApplicationKind::Application) => context.clone(),
                (None, _) => context.clone().or_else(|| Some(dir.to_string())),
            };
            self.found.push(Found {
                detected: item,
                bundled_in,
            });
        }
        if depth >= self.max_depth {
            return Vec::new();
        }
        let context = if is_application {
            Some(dir.to_string())
        } else {
            context
        };

        // Links (and entries of unknown type) are resolved inside the root;
        // only those that lead to a directory are walked.
        let mut targets: Vec<(&String, String)> = listing
            .dirs
            .iter()
            .map(|name| (name, child(dir, name)))
            .collect();
        for name in &listing.links {
            if let Ok(real) = self.root.resolve(&child(dir, name)) {
                if self.root.host_path(&real).is_dir() {
                    targets.push((name, real));
                }
            }
        }
        targets.retain(|(name, _)| !SKIPPED_DIRS.contains(&name.as_str()));
        targets.sort();
        targets
            .into_iter()
            .map(|(_, target)| (target, depth + 1, context.clone()))
            .collect()
    }
}
