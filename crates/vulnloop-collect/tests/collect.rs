//! `collect` end to end: the live system, other families, host fields.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::PathBuf;

use vulnloop_collect::{collect, CollectError, CollectOptions};
use vulnloop_inventory::SCHEMA_VERSION;

const SYFT: &str = "inventories/linux/syft-testdata-dpkg-apk-rpm-osrelease.tar.zst";
const GO_RPMDB: &str = "inventories/rpm/go-rpmdb-testdata.tar.zst";
const TRIVY: &str = "inventories/linux/trivy-testdata-dpkg-apk-osrelease.tar.zst";

/// Reads the machine the tests run on, which is a Debian 12 host (as CI is).
#[test]
fn live_debian12_host() {
    let options = CollectOptions {
        root: PathBuf::from("/"),
        os_override: None,
    };
    let inventory = collect(&options).unwrap();

    assert_eq!(inventory.host.os.id, "debian");
    assert_eq!(inventory.host.os.version_id.as_deref(), Some("12"));
    assert_eq!(inventory.host.root, None);
    assert!(inventory.problems.is_empty(), "{:?}", inventory.problems);
    let libssl3 = inventory
        .packages
        .iter()
        .find(|package| package.name == "libssl3");
    assert_eq!(
        libssl3.map(|package| package.source_name()),
        Some("openssl")
    );
}

#[test]
fn live_host_kernel_and_hostname() {
    let options = CollectOptions {
        root: PathBuf::from("/"),
        os_override: None,
    };
    let inventory = collect(&options).unwrap();
    let expected_release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let expected_hostname = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();

    assert_eq!(
        inventory
            .host
            .kernel
            .map(|kernel| kernel.release)
            .as_deref(),
        Some(expected_release.trim())
    );
    assert_eq!(
        inventory.host.hostname.as_deref(),
        Some(expected_hostname.trim())
    );
}

#[test]
fn collected_at_is_rfc3339_utc() {
    let options = CollectOptions {
        root: PathBuf::from("/"),
        os_override: None,
    };
    let inventory = collect(&options).unwrap();
    assert_eq!(inventory.schema_version, SCHEMA_VERSION);
    let parsed = chrono::DateTime::parse_from_rfc3339(&inventory.collected_at);
    assert!(parsed.is_ok(), "{}", inventory.collected_at);
    assert!(
        inventory.collected_at.ends_with('Z'),
        "{}",
        inventory.collected_at
    );
}

#[test]
fn other_family_reports_problem() {
    let dir = vulnloop_testdata::unpack(SYFT);
    let root = dir
        .path()
        .join("syft-testdata/syft/linux/testdata/os/photon");
    let inventory = collect(&CollectOptions {
        root,
        os_override: None,
    })
    .unwrap();

    assert_eq!(inventory.packages, []);
    assert_eq!(inventory.problems.len(), 1);
    assert_eq!(inventory.problems[0].location, "/etc/os-release");
    assert!(
        inventory.problems[0]
            .message
            .contains("photon is not supported yet"),
        "{}",
        inventory.problems[0].message
    );
}

#[test]
fn derivative_uses_dpkg() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    fs::create_dir_all(root.path().join("var/lib/dpkg")).unwrap();
    fs::write(
        root.path().join("etc/os-release"),
        "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\nVERSION_ID=\"21.3\"\n",
    )
    .unwrap();
    fs::write(
        root.path().join("var/lib/dpkg/status"),
        "Package: a\nStatus: install ok installed\nVersion: 1.0\n\n",
    )
    .unwrap();
    let inventory = collect(&CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    })
    .unwrap();
    assert_eq!(inventory.host.os.id, "linuxmint");
    assert_eq!(inventory.packages.len(), 1);
}

#[test]
fn override_without_status_is_error() {
    let root = tempfile::tempdir().unwrap();
    let options = CollectOptions {
        root: root.path().to_path_buf(),
        os_override: Some("debian:12".into()),
    };
    let error = collect(&options).unwrap_err();
    assert!(
        matches!(error, CollectError::PackageDatabase { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("debian system"), "{error}");
}

#[test]
fn hostname_from_root() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    fs::write(
        root.path().join("etc/hostname"),
        "# set by installer\n\nweb1\n",
    )
    .unwrap();
    fs::write(root.path().join("etc/os-release"), "ID=wolfi\n").unwrap();
    let inventory = collect(&CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    })
    .unwrap();
    assert_eq!(inventory.host.hostname.as_deref(), Some("web1"));
    assert_eq!(inventory.host.kernel, None);
}

#[test]
fn root_that_is_a_file_is_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let options = CollectOptions {
        root: file.path().to_path_buf(),
        os_override: None,
    };
    let error = collect(&options).unwrap_err();
    assert!(matches!(error, CollectError::Root { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains(&file.path().display().to_string()),
        "{error}"
    );
}

#[test]
fn rpm_family_without_database_is_error() {
    let dir = vulnloop_testdata::unpack(SYFT);
    let root = dir
        .path()
        .join("syft-testdata/syft/linux/testdata/os/rockylinux/from-os-release");
    let error = collect(&CollectOptions {
        root,
        os_override: None,
    })
    .unwrap_err();
    assert!(
        matches!(error, CollectError::PackageDatabase { manager: "rpm", .. }),
        "{error}"
    );
}

/// Builds a root with an os-release file and one database file copied from the shared data.
fn root_with(os_release: &str, database: &std::path::Path, inner: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    fs::write(root.path().join("etc/os-release"), os_release).unwrap();
    let target = root.path().join(inner);
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    fs::copy(database, target).unwrap();
    root
}

#[test]
fn amazon_linux_reads_sqlite() {
    let data = vulnloop_testdata::unpack(GO_RPMDB);
    let database = data
        .path()
        .join("go-rpmdb-testdata/amazonlinux2023-plain/rpmdb.sqlite");
    let root = root_with(
        "ID=\"amzn\"\nVERSION_ID=\"2023\"\n",
        &database,
        "var/lib/rpm/rpmdb.sqlite",
    );
    let inventory = collect(&CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    })
    .unwrap();
    assert_eq!(inventory.problems, []);
    assert_eq!(inventory.packages.len(), 102);
    assert_eq!(inventory.packages[0].origin, "/var/lib/rpm/rpmdb.sqlite");
}

#[test]
fn suse_reads_ndb_through_symlink() {
    let data = vulnloop_testdata::unpack(GO_RPMDB);
    let database = data.path().join("go-rpmdb-testdata/sle15-bci/Packages.db");
    let root = root_with(
        "ID=\"sles\"\nVERSION_ID=\"15.4\"\n",
        &database,
        "usr/lib/sysimage/rpm/Packages.db",
    );
    fs::create_dir_all(root.path().join("var/lib")).unwrap();
    std::os::unix::fs::symlink("/usr/lib/sysimage/rpm", root.path().join("var/lib/rpm")).unwrap();
    let inventory = collect(&CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    })
    .unwrap();
    assert_eq!(inventory.problems, []);
    assert_eq!(inventory.packages.len(), 36);
    assert_eq!(inventory.packages[0].origin, "/var/lib/rpm/Packages.db");
}

#[test]
fn mariner_reads_sqlite() {
    let data = vulnloop_testdata::unpack(GO_RPMDB);
    let database = data
        .path()
        .join("go-rpmdb-testdata/cbl-mariner-2.0/rpmdb.sqlite");
    let root = root_with(
        "ID=mariner\nVERSION_ID=\"2.0\"\n",
        &database,
        "var/lib/rpm/rpmdb.sqlite",
    );
    let inventory = collect(&CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    })
    .unwrap();
    assert_eq!(inventory.packages.len(), 129);
}

#[test]
fn alpine_reads_apk() {
    let data = vulnloop_testdata::unpack(TRIVY);
    let database = data.path().join("trivy-testdata/apk/installed");
    let root = root_with(
        "ID=alpine\nVERSION_ID=3.4.0\n",
        &database,
        "lib/apk/db/installed",
    );
    let inventory = collect(&CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    })
    .unwrap();
    assert_eq!(inventory.packages.len(), 14);
    assert_eq!(inventory.problems.len(), 1);
}

#[test]
fn sysimage_without_symlink() {
    let data = vulnloop_testdata::unpack(GO_RPMDB);
    let database = data.path().join("go-rpmdb-testdata/sle15-bci/Packages.db");
    let root = root_with(
        "ID=opensuse-tumbleweed\n",
        &database,
        "usr/lib/sysimage/rpm/Packages.db",
    );
    let inventory = collect(&CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    })
    .unwrap();
    assert_eq!(inventory.packages.len(), 36);
    assert_eq!(
        inventory.packages[0].origin,
        "/usr/lib/sysimage/rpm/Packages.db"
    );
}
