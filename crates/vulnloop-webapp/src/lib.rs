//! Web application discovery: where the web roots are, and which
//! applications, plugins, themes and libraries lie in them.
//!
//! [`discover`] reads the nginx and Apache configurations for web roots,
//! adds the common locations (`/var/www`, `/srv`, `/var/lib/wordpress`, and
//! each directory of `/usr/share` that contains a known application), and
//! walks each tree once with the detectors in [`detect`]. The walk is
//! bounded in depth and in directory entries, and enters every directory
//! once (by device and inode), so symbolic link loops end it early rather
//! than never. The collector then records which OS package owns each
//! version file.

pub mod config;
pub mod detect;
mod error;
pub mod rootfs;
mod walk;

use std::collections::BTreeSet;
use std::path::PathBuf;

use vulnloop_inventory::{Application, Problem};

pub use config::{configured_roots, ConfiguredRoot};
pub use detect::Detected;
pub use error::DetectError;
pub use rootfs::Root;

/// Directories walked whole when they exist.
pub const COMMON_WEB_ROOTS: &[&str] = &["/var/www", "/srv", "/var/lib/wordpress"];
/// Directories whose subdirectories are probed for an application, which is then walked.
pub const APPLICATION_PARENTS: &[&str] = &["/usr/share", "/usr/local/share", "/opt"];

/// Options of one discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryOptions {
    /// Root filesystem: `/` for the running system, or a mounted image.
    pub root: PathBuf,
    /// More web roots to walk, as paths inside the root.
    pub web_roots: Vec<String>,
    /// Whether to read web roots from the nginx and Apache configurations.
    pub read_configs: bool,
    /// Whether to walk [`COMMON_WEB_ROOTS`] and probe [`APPLICATION_PARENTS`].
    pub common_locations: bool,
    /// Directory levels below a web root walked at most.
    pub max_depth: usize,
    /// Directory entries listed at most, over all web roots.
    pub max_entries: usize,
}

impl DiscoveryOptions {
    /// Default depth limit: deep enough for `wp-content/plugins/X/vendor/…`
    /// and `node_modules` two levels down inside an application below a web root.
    pub const DEFAULT_MAX_DEPTH: usize = 16;
    /// Default entry limit, a few times a large WordPress site with plugins.
    pub const DEFAULT_MAX_ENTRIES: usize = 500_000;

    /// Discovery of `root` with every source and the default limits.
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            web_roots: Vec::new(),
            read_configs: true,
            common_locations: true,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_entries: Self::DEFAULT_MAX_ENTRIES,
        }
    }
}

/// Results of one discovery.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Applications and libraries, without their owning OS package yet.
    pub applications: Vec<Application>,
    /// Web roots from the configurations, with the directive that names each.
    pub configured_roots: Vec<ConfiguredRoot>,
    /// Files that could not be read as what they looked like, and limits reached.
    pub problems: Vec<Problem>,
    /// Directory entries listed.
    pub entries: usize,
}

/// Finds the web applications under `options.root`.
pub fn discover(options: &DiscoveryOptions) -> Discovery {
    let root = Root::new(&options.root);
    let configured = if options.read_configs {
        configured_roots(&root)
    } else {
        Vec::new()
    };

    let mut walker = walk::Walker::new(&root, options.max_depth, options.max_entries);
    let explicit = options.web_roots.iter().map(String::as_str);
    let from_configs = configured.iter().map(|found| found.path.as_str());
    let common = COMMON_WEB_ROOTS
        .iter()
        .copied()
        .filter(|_| options.common_locations);
    for start in explicit.chain(from_configs).chain(common) {
        walker.walk(start, None);
    }
    if options.common_locations {
        for parent in APPLICATION_PARENTS {
            probe_children(&root, &mut walker, parent);
        }
    }

    let mut problems: Vec<Problem> = walker
        .problems
        .iter()
        .map(|error| Problem {
            location: error.location.clone(),
            message: error.message.clone(),
        })
        .collect();
    if walker.truncated {
        problems.push(Problem {
            location: options.root.display().to_string(),
            message: format!(
                "web application discovery stopped after listing {} directory entries, so applications \
                 may be missing; raise --webapp-max-entries or name the web roots with --web-root",
                options.max_entries
            ),
        });
    }
    Discovery {
        applications: applications(walker.found),
        configured_roots: configured,
        problems,
        entries: walker.entries,
    }
}

fn probe_children(root: &Root, walker: &mut walk::Walker<'_>, parent: &str) {
    let Ok(entries) = std::fs::read_dir(root.host_path(parent)) else {
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        walker.probe(&rootfs::child(parent, &name));
    }
}

/// Turns walk results into inventory entries: one per version file and
/// name, and one per library version in each application, because
/// `composer.lock` and `vendor/composer/installed.json` list the same packages.
fn applications(found: Vec<walk::Found>) -> Vec<Application> {
    let mut seen = BTreeSet::new();
    let mut applications = Vec::new();
    for item in found {
        let detected = item.detected;
        let place = match (detected.kind, &item.bundled_in) {
            (vulnloop_inventory::ApplicationKind::Library, Some(bundled_in))
                if detected.archive.is_none() =>
            {
                bundled_in.clone()
            }
            _ => detected.path.clone(),
        };
        let key = (
            detected.ecosystem,
            detected.name.clone(),
            detected.version.clone(),
            place,
        );
        if !seen.insert(key) {
            continue;
        }
        applications.push(Application {
            kind: detected.kind,
            name: detected.name,
            version: detected.version,
            ecosystem: detected.ecosystem,
            path: detected.path,
            owner: None,
            bundled_in: item.bundled_in,
        });
    }
    applications
}
