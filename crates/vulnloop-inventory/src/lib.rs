//! The inventory of one host: what the collector found and the matcher reads.
//!
//! The JSON form of [`Inventory`] is a public format. `vulnloop inventory
//! --format json` writes it, `vulnloop scan --inventory FILE` reads it, and
//! agents upload it. Its `schema_version` changes whenever a field changes
//! meaning or a required field is added.

use std::path::Path;

mod windows;

pub use windows::{InstalledUpdate, WindowsHost};

use serde::{Deserialize, Serialize};

/// Version of the inventory JSON format written by this build.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything collected from one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Format version, see [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the collection ran (RFC 3339).
    pub collected_at: String,
    /// Identity of the host and its operating system.
    pub host: Host,
    /// Installed packages, in the order the package database lists them.
    pub packages: Vec<Package>,
    /// Problems met while collecting. A non-empty list means the package list
    /// may be incomplete.
    #[serde(default)]
    pub problems: Vec<Problem>,
    /// Processes running on the host and the packages whose files they map,
    /// read from `/proc` on a live host. `None` when not collected (a root
    /// filesystem, an older inventory): exposure is then unknown, not absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// Web applications found on disk and the libraries they bundle.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<Application>,
    /// OS release and installed updates of a Windows host (os id `windows`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<WindowsHost>,
}

/// Processes of a live host, for judging exposure.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Runtime {
    /// Running processes that map a file of an installed package or listen
    /// on a socket, in pid order.
    pub processes: Vec<RunningProcess>,
    /// Processes that could not be inspected, so their packages are not
    /// listed: another user's without privileges, processes that exited
    /// while being read, and processes with another root filesystem (a
    /// container or a chroot), whose files belong to another system.
    #[serde(default)]
    pub uninspected: usize,
}

/// One running process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningProcess {
    /// Process id.
    pub pid: u32,
    /// Command name (`/proc/PID/comm`).
    pub command: String,
    /// Installed binary packages that own a file the process maps: its
    /// executable and its shared libraries. Sorted, without duplicates.
    pub packages: Vec<String>,
    /// Sockets the process listens on.
    #[serde(default)]
    pub listening: Vec<Listener>,
    /// Packaged files the process maps that were deleted or replaced since
    /// it mapped them, such as a shared library upgraded under a running
    /// daemon: the process still runs the old code until it restarts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_files: Vec<String>,
    /// systemd service whose control group contains the process (`ssh.service`),
    /// from `/proc/PID/cgroup`: the unit to restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Local address (`0.0.0.0`, `::`, `127.0.0.1`).
    pub address: String,
    /// Local port.
    pub port: u16,
}

impl Listener {
    /// Returns whether the socket only accepts connections from this host.
    pub fn is_loopback(&self) -> bool {
        self.address
            .parse::<std::net::IpAddr>()
            .map(|address| address.is_loopback())
            .unwrap_or(false)
    }
}

impl std::fmt::Display for Listener {
    /// Writes `tcp 0.0.0.0:22` or `udp [::1]:53`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.address.contains(':') {
            write!(f, "{} [{}]:{}", self.protocol, self.address, self.port)
        } else {
            write!(f, "{} {}:{}", self.protocol, self.address, self.port)
        }
    }
}

/// Identity of a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// Host name, when known.
    pub hostname: Option<String>,
    /// Root filesystem path that was scanned, when not the running system.
    pub root: Option<String>,
    /// Operating system, as os-release or the older release files state it.
    pub os: Os,
    /// The running kernel, when the collector could see it (not for `--root`).
    pub kernel: Option<Kernel>,
}

/// Operating system identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Os {
    /// Lowercase distribution id (`debian`, `ubuntu`), os-release `ID`.
    pub id: String,
    /// Release number (`12`, `22.04`), os-release `VERSION_ID`.
    pub version_id: Option<String>,
    /// Release code name (`bookworm`, `jammy`).
    pub codename: Option<String>,
    /// Human-readable name, os-release `PRETTY_NAME`.
    pub pretty_name: Option<String>,
    /// File the identity was read from.
    pub source: String,
}

/// The running kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kernel {
    /// Kernel release as `uname -r` prints it (`6.1.0-28-amd64`).
    pub release: String,
}

/// Package manager that owns a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    Dpkg,
    Rpm,
    Apk,
    /// Windows Update: the package is the OS product, its version the build.
    Windows,
}

/// One installed binary package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Package manager whose database lists it.
    pub manager: PackageManager,
    /// Binary package name.
    pub name: String,
    /// Binary package version, with epoch when there is one (`1:2.66-4`).
    pub version: String,
    /// Architecture (`amd64`, `all`).
    pub arch: Option<String>,
    /// Source package name, when it differs from `name` or the database states it.
    pub source_name: Option<String>,
    /// Source package version, when it differs from `version`.
    pub source_version: Option<String>,
    /// Location of the package: the database file, with the line for text databases.
    pub origin: String,
    /// Vendor or packager (rpm `VENDOR`), when the database records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// RHEL module stream the package belongs to (rpm `MODULARITYLABEL`,
    /// `name:stream:version:context`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Repository the package came from, when known (Alpine's repository tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

impl Package {
    /// Returns the source package name: the stated one, or the binary name.
    pub fn source_name(&self) -> &str {
        self.source_name.as_deref().unwrap_or(&self.name)
    }

    /// Returns the source package version: the stated one, or the binary version.
    pub fn source_version(&self) -> &str {
        self.source_version.as_deref().unwrap_or(&self.version)
    }
}

/// A web application, one of its plugins or themes, or a library it bundles,
/// detected from its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// Kind: a web application, a WordPress plugin or theme, or a library.
    pub kind: ApplicationKind,
    /// Name in the ecosystem's advisories: `wordpress`, a plugin slug,
    /// a Composer `vendor/package`, an npm or PyPI name, or Maven `group:artifact`.
    pub name: String,
    /// Version as the files state it.
    pub version: String,
    /// Ecosystem whose advisories and version ordering apply.
    pub ecosystem: AppEcosystem,
    /// File the version was read from. A file inside an archive is written
    /// `ARCHIVE!ENTRY`, one `!` per level of nesting.
    pub path: String,
    /// The installed OS package that owns `path`, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<OwningPackage>,
    /// Directory of the application that bundles this library or plugin, or
    /// the archive it was found in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundled_in: Option<String>,
}

/// Kinds of [`Application`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApplicationKind {
    /// A web application: a CMS, webmail, a database front end.
    Application,
    /// A WordPress plugin.
    Plugin,
    /// A WordPress theme.
    Theme,
    /// A library from a lock file, a package manifest or a JAR.
    Library,
}

/// Ecosystems of web applications and libraries, each with its advisories
/// and its version ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppEcosystem {
    /// WordPress itself.
    WordpressCore,
    /// WordPress plugins, named by their wordpress.org slug.
    WordpressPlugin,
    /// WordPress themes, named by their wordpress.org slug.
    WordpressTheme,
    /// Composer packages (Packagist names), including PHP applications
    /// that are published there, such as `phpmyadmin/phpmyadmin`.
    Packagist,
    /// npm packages.
    Npm,
    /// Python packages.
    Pypi,
    /// Java libraries, named `groupId:artifactId`.
    Maven,
    /// Applications without an advisory feed here (Roundcube, Joomla,
    /// Nextcloud): listed, but not matched.
    Unmatched,
}

impl AppEcosystem {
    /// Every ecosystem, in a fixed order.
    pub const ALL: [AppEcosystem; 8] = [
        AppEcosystem::WordpressCore,
        AppEcosystem::WordpressPlugin,
        AppEcosystem::WordpressTheme,
        AppEcosystem::Packagist,
        AppEcosystem::Npm,
        AppEcosystem::Pypi,
        AppEcosystem::Maven,
        AppEcosystem::Unmatched,
    ];

    /// Returns the name used in JSON and in the database (`wordpress-plugin`).
    pub fn as_str(self) -> &'static str {
        match self {
            AppEcosystem::WordpressCore => "wordpress-core",
            AppEcosystem::WordpressPlugin => "wordpress-plugin",
            AppEcosystem::WordpressTheme => "wordpress-theme",
            AppEcosystem::Packagist => "packagist",
            AppEcosystem::Npm => "npm",
            AppEcosystem::Pypi => "pypi",
            AppEcosystem::Maven => "maven",
            AppEcosystem::Unmatched => "unmatched",
        }
    }

    /// Parses a name written by [`AppEcosystem::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|ecosystem| ecosystem.as_str() == name)
    }
}

/// The OS package that owns an application's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwningPackage {
    /// Package manager whose file lists name the file.
    pub manager: PackageManager,
    /// Binary package name.
    pub name: String,
    /// Installed version of that package.
    pub version: String,
}

/// A problem met while collecting, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// File, with `:line` when known.
    pub location: String,
    /// Description of what failed and what was skipped.
    pub message: String,
}

/// Errors reading an inventory file.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("failed to read inventory file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "inventory file {path} is not valid inventory JSON (line {line}, column {column}: {message}); \
         write it with `vulnloop inventory --format json`"
    )]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("inventory file {path} has schema_version {found}, but this build reads version {SCHEMA_VERSION}")]
    SchemaVersion { path: String, found: u32 },
}

impl Inventory {
    /// Reads and validates an inventory JSON file.
    pub fn read_json(path: &Path) -> Result<Self, InventoryError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Read {
            path: display.clone(),
            source,
        })?;
        Self::from_json(&text, &display)
    }

    /// Parses inventory JSON; `origin` names the input in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, InventoryError> {
        let inventory: Inventory =
            serde_json::from_str(text).map_err(|error| InventoryError::Parse {
                path: origin.to_string(),
                line: error.line(),
                column: error.column(),
                // serde_json's message ends with the position, which the error already names.
                message: error
                    .to_string()
                    .split(" at line ")
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            })?;
        if inventory.schema_version != SCHEMA_VERSION {
            return Err(InventoryError::SchemaVersion {
                path: origin.to_string(),
                found: inventory.schema_version,
            });
        }
        Ok(inventory)
    }

    /// Returns whether the collector reported no problem that may have hidden packages.
    pub fn is_complete(&self) -> bool {
        self.problems.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Inventory {
        Inventory {
            schema_version: SCHEMA_VERSION,
            collected_at: "2026-12-04T00:00:00Z".into(),
            host: Host {
                hostname: Some("web1".into()),
                root: None,
                os: Os {
                    id: "debian".into(),
                    version_id: Some("12".into()),
                    codename: Some("bookworm".into()),
                    pretty_name: None,
                    source: "/etc/os-release".into(),
                },
                kernel: Some(Kernel {
                    release: "6.1.0-28-amd64".into(),
                }),
            },
            packages: vec![Package {
                manager: PackageManager::Dpkg,
                name: "libssl3".into(),
                version: "3.0.19-1~deb12u2".into(),
                arch: Some("amd64".into()),
                source_name: Some("openssl".into()),
                source_version: None,
                origin: "/var/lib/dpkg/status:10".into(),
                vendor: None,
                module: None,
                repository: None,
            }],
            problems: Vec::new(),
            runtime: Some(Runtime {
                processes: vec![RunningProcess {
                    pid: 812,
                    command: "sshd".into(),
                    packages: vec!["libssl3".into(), "openssh-server".into()],
                    listening: vec![Listener {
                        protocol: "tcp".into(),
                        address: "::".into(),
                        port: 22,
                    }],
                    deleted_files: vec!["/usr/lib/x86_64-linux-gnu/libssl.so.3".into()],
                    service: None,
                }],
                uninspected: 0,
            }),
            applications: vec![Application {
                kind: ApplicationKind::Plugin,
                name: "akismet".into(),
                version: "5.0.2".into(),
                ecosystem: AppEcosystem::WordpressPlugin,
                path: "/usr/share/wordpress/wp-content/plugins/akismet/readme.txt".into(),
                owner: Some(OwningPackage {
                    manager: PackageManager::Dpkg,
                    name: "wordpress".into(),
                    version: "6.1.9+dfsg1-0+deb12u1".into(),
                }),
                bundled_in: Some("/usr/share/wordpress".into()),
            }],
            windows: None,
        }
    }

    #[test]
    fn ecosystem_names_round_trip() {
        for ecosystem in AppEcosystem::ALL {
            assert_eq!(AppEcosystem::parse(ecosystem.as_str()), Some(ecosystem));
        }
    }

    #[test]
    fn empty_applications_not_written() {
        let mut inventory = sample();
        inventory.applications.clear();
        let text = serde_json::to_string(&inventory).expect("serializes");
        assert!(!text.contains("applications"), "{text}");
    }

    #[test]
    fn listeners_display_and_loopback() {
        let any = Listener {
            protocol: "tcp".into(),
            address: "::".into(),
            port: 22,
        };
        let local = Listener {
            protocol: "udp".into(),
            address: "127.0.0.1".into(),
            port: 53,
        };
        assert_eq!(any.to_string(), "tcp [::]:22");
        assert_eq!(local.to_string(), "udp 127.0.0.1:53");
        assert!(!any.is_loopback());
        assert!(local.is_loopback());
    }

    #[test]
    fn json_round_trip() {
        let inventory = sample();
        let text = serde_json::to_string(&inventory).expect("serializes");
        assert_eq!(Inventory::from_json(&text, "x").expect("parses"), inventory);
    }

    #[test]
    fn source_falls_back_to_binary() {
        let package = &sample().packages[0];
        assert_eq!(package.source_name(), "openssl");
        assert_eq!(package.source_version(), "3.0.19-1~deb12u2");
    }

    #[test]
    fn wrong_schema_version_rejected() {
        let mut inventory = sample();
        inventory.schema_version = 99;
        let text = serde_json::to_string(&inventory).expect("serializes");
        let error = Inventory::from_json(&text, "inv.json").expect_err("rejects");
        assert!(error.to_string().contains("schema_version 99"), "{error}");
    }

    #[test]
    fn garbled_json_names_line() {
        let error = Inventory::from_json("{\n  \"schema_version\": 1,\n  oops", "inv.json")
            .expect_err("rejects");
        let message = error.to_string();
        assert!(message.contains("inv.json"), "{message}");
        assert!(message.contains("line 3"), "{message}");
    }
}
