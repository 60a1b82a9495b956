//! An inventory built from texts fetched from a remote host.
//!
//! The SSH scanner runs read-only commands on the target and hands their
//! output here. The same parsers as for a local system read it, so a host
//! scanned over SSH and the same host scanned locally have the same
//! packages, OS and kernel. Runtime exposure (processes, mapped files,
//! listening sockets) is not collected remotely.

use chrono::{SecondsFormat, Utc};
use vulnloop_inventory::{Host, Inventory, Kernel, Package, Problem, SCHEMA_VERSION};
use vulnloop_platform::Family;

use crate::apk::{flag_empty_database, parse_apk_installed, APK_INSTALLED_PATH};
use crate::dpkg::{parse_status, StatusFile, STATUS_PATH};
use crate::os::DetectedOs;
use crate::rpm::parse_rpm_query;

/// The package list of a remote host, as its package manager stores or prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageListing {
    /// The bytes of `/var/lib/dpkg/status`.
    DpkgStatus(Vec<u8>),
    /// The output of `rpm -qa` with one of the formats of [`crate::RPM_QUERY_FORMAT`].
    RpmQuery {
        /// The command as it ran, which becomes each package's origin.
        command: String,
        output: String,
    },
    /// The bytes of `/lib/apk/db/installed`.
    ApkInstalled(Vec<u8>),
    /// The distribution's package database is not read (see [`Family::Other`]).
    Unsupported,
}

/// Facts fetched from a remote host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFacts {
    /// The kernel's host name (`uname -n`).
    pub hostname: Option<String>,
    /// The running kernel's release (`uname -r`).
    pub kernel_release: Option<String>,
    pub os: DetectedOs,
    pub packages: PackageListing,
}

/// Builds the inventory of a remote host from the fetched facts.
///
/// `host.root` stays empty because the whole system was read, and
/// `runtime` stays `None`, which the priority model treats as unknown
/// exposure. Parse failures become problems, as for a local system.
pub fn remote_inventory(facts: RemoteFacts) -> Inventory {
    let (packages, problems) = parse_listing(&facts.packages, &facts.os);
    let host = Host {
        hostname: facts.hostname.and_then(|name| non_empty(&name)),
        root: None,
        os: facts.os.os,
        kernel: facts
            .kernel_release
            .and_then(|release| non_empty(&release))
            .map(|release| Kernel { release }),
    };
    Inventory {
        schema_version: SCHEMA_VERSION,
        collected_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        host,
        packages,
        problems,
        runtime: None,
        // NOTE: web applications are not discovered over SSH yet; that
        // needs a bounded remote walk of the web roots.
        applications: Vec::new(),
        windows: None,
    }
}

fn parse_listing(listing: &PackageListing, os: &DetectedOs) -> (Vec<Package>, Vec<Problem>) {
    match listing {
        PackageListing::DpkgStatus(bytes) => {
            let parsed = parse_status(bytes, STATUS_PATH, StatusFile::Database);
            (parsed.packages, parsed.problems)
        }
        PackageListing::RpmQuery { command, output } => {
            let parsed = parse_rpm_query(output, command);
            (parsed.packages, parsed.problems)
        }
        PackageListing::ApkInstalled(bytes) => {
            let mut parsed = parse_apk_installed(bytes, APK_INSTALLED_PATH);
            flag_empty_database(&mut parsed);
            (parsed.packages, parsed.problems)
        }
        PackageListing::Unsupported => {
            debug_assert_eq!(os.family(), Family::Other);
            (Vec::new(), vec![crate::unsupported_family_problem(os)])
        }
    }
}

fn non_empty(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use vulnloop_platform::RELEASE_FILES;

    use super::*;
    use crate::detect_os_from_texts;

    fn debian() -> DetectedOs {
        let os_release = "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n".to_string();
        detect_os_from_texts(&[(RELEASE_FILES[0], os_release)]).unwrap()
    }

    #[test]
    fn dpkg_listing_becomes_packages() {
        let status = "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\n\
                      Source: openssl\nVersion: 3.0.11-1~deb12u2\n\n";
        let facts = RemoteFacts {
            hostname: Some("web1\n".into()),
            kernel_release: Some("6.1.0-18-amd64\n".into()),
            os: debian(),
            packages: PackageListing::DpkgStatus(status.as_bytes().to_vec()),
        };
        let inventory = remote_inventory(facts);
        assert_eq!(inventory.host.hostname.as_deref(), Some("web1"));
        assert_eq!(inventory.host.root, None);
        assert_eq!(inventory.host.kernel.unwrap().release, "6.1.0-18-amd64");
        assert_eq!(inventory.host.os.version_id.as_deref(), Some("12"));
        assert_eq!(inventory.packages.len(), 1);
        assert_eq!(
            inventory.packages[0].source_name.as_deref(),
            Some("openssl")
        );
        assert!(inventory.problems.is_empty(), "{:?}", inventory.problems);
        assert!(inventory.runtime.is_none());
    }

    #[test]
    fn empty_apk_listing_is_a_problem() {
        let facts = RemoteFacts {
            hostname: None,
            kernel_release: Some(String::new()),
            os: debian(),
            packages: PackageListing::ApkInstalled(Vec::new()),
        };
        let inventory = remote_inventory(facts);
        assert_eq!(inventory.host.kernel, None);
        assert_eq!(inventory.problems.len(), 1);
    }
}
