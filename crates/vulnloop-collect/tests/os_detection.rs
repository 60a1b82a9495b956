//! OS detection on the real release files of many distributions.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use vulnloop_collect::{detect_os, CollectError, OS_OVERRIDE_SOURCE};

const TRIVY: &str = "inventories/linux/trivy-testdata-dpkg-apk-osrelease.tar.zst";
const SYFT: &str = "inventories/linux/syft-testdata-dpkg-apk-rpm-osrelease.tar.zst";
const DEBIAN12: &str = "inventories/linux/debian12-build-machine-dpkg.tar.zst";

/// Expected (file name, id, version_id) for each os-release sample from trivy.
/// `None` as id means the file names no distribution.
const TRIVY_OS_RELEASE: &[(&str, Option<&str>, Option<&str>)] = &[
    ("activestate", Some("activestate"), Some("1.0")),
    ("alma", Some("almalinux"), Some("9.4")),
    ("alpine", Some("alpine"), Some("3.15.4")),
    ("azurelinux-3.0", Some("azurelinux"), Some("3.0")),
    ("bottlerocket", Some("bottlerocket"), Some("1.34.0")),
    ("centos", Some("centos"), Some("7")),
    ("centos-stream", Some("centos"), Some("8")),
    ("coreos", Some("coreos"), Some("3.15.4")),
    ("echo", Some("echo"), Some("1")),
    ("fedora", Some("fedora"), Some("42")),
    ("mariner-1.0", Some("mariner"), Some("1.0")),
    ("mariner-2.0", Some("mariner"), Some("2.0")),
    ("minimos", Some("minimos"), Some("20241031")),
    ("no-id", None, None),
    ("no-version", Some("alpine"), None),
    ("opensuseleap-15.2.1", Some("opensuse-leap"), Some("15.2.1")),
    ("opensuseleap-42.3", Some("opensuse"), Some("42.3")),
    (
        "opensusetumbleweed",
        Some("opensuse-tumbleweed"),
        Some("20220412"),
    ),
    ("oracle", Some("ol"), Some("8.10")),
    ("photon", Some("photon"), Some("4.0")),
    ("rhel", Some("rhel"), Some("9.4")),
    ("rocky", Some("rocky"), Some("9.3")),
    ("slemicro", Some("sle-micro"), Some("5.3")),
    ("slemicro-rancher", Some("sle-micro-rancher"), Some("5.4")),
    ("slemicro6.0", Some("sl-micro"), Some("6.0")),
    ("sles", Some("sles"), Some("15.3")),
    ("unknown", Some("unknown"), Some("4.3.2")),
];

#[test]
fn trivy_os_release_table() {
    let dir = vulnloop_testdata::unpack(TRIVY);
    let samples = dir.path().join("trivy-testdata/os-release");

    let on_disk: BTreeSet<String> = fs::read_dir(&samples)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let in_table: BTreeSet<String> = TRIVY_OS_RELEASE
        .iter()
        .map(|(name, _, _)| name.to_string())
        .collect();
    assert_eq!(
        on_disk, in_table,
        "every sample file needs a row in the table"
    );

    for (name, id, version_id) in TRIVY_OS_RELEASE {
        let text = fs::read_to_string(samples.join(name)).unwrap();
        let identity = vulnloop_platform::parse_os_release(&text);
        let actual_id = identity.as_ref().map(|identity| identity.id.as_str());
        let actual_version = identity
            .as_ref()
            .and_then(|identity| identity.version_id.as_deref());
        assert_eq!(actual_id, *id, "{name}: id");
        assert_eq!(actual_version, *version_id, "{name}: version_id");
    }
}

#[test]
fn trivy_fedora_empty_codename_is_none() {
    let dir = vulnloop_testdata::unpack(TRIVY);
    let text = fs::read_to_string(dir.path().join("trivy-testdata/os-release/fedora")).unwrap();
    let identity = vulnloop_platform::parse_os_release(&text).unwrap();
    assert_eq!(identity.codename, None);
    assert_eq!(
        identity.pretty_name.as_deref(),
        Some("Fedora Linux 42 (Container Image)")
    );
}

/// Expected (root, id, version_id, codename, source) for each syft sample root.
type SyftRow = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

const SYFT_ROOTS: &[SyftRow] = &[
    (
        "almalinux/from-os-release",
        "almalinux",
        Some("8.4"),
        None,
        "/etc/os-release",
    ),
    (
        "almalinux/from-redhat-release",
        "almalinux",
        Some("8.10"),
        None,
        "/etc/redhat-release",
    ),
    ("alpine", "alpine", Some("3.11.6"), None, "/etc/os-release"),
    ("amazon", "amzn", Some("2"), None, "/etc/os-release"),
    ("arch", "arch", None, None, "/etc/os-release"),
    ("centos", "centos", Some("8"), None, "/usr/lib/os-release"),
    (
        "centos5",
        "centos",
        Some("5.7"),
        None,
        "/etc/redhat-release",
    ),
    (
        "centos6",
        "centos",
        Some("6"),
        None,
        "/etc/system-release-cpe",
    ),
    ("custom", "scientific", Some("8"), None, "/etc/os-release"),
    (
        "debian/from-debian_version",
        "debian",
        Some("10"),
        Some("buster"),
        "/etc/os-release, /etc/debian_version",
    ),
    (
        "debian/from-os-release",
        "debian",
        Some("8"),
        Some("jessie"),
        "/usr/lib/os-release",
    ),
    (
        "debian/with-point-release",
        "debian",
        Some("13"),
        Some("trixie"),
        "/etc/os-release",
    ),
    ("fedora", "fedora", Some("36"), None, "/usr/lib/os-release"),
    ("mariner", "mariner", Some("1.0"), None, "/etc/os-release"),
    (
        "opensuse-leap",
        "opensuse-leap",
        Some("15.2"),
        None,
        "/etc/os-release",
    ),
    ("oraclelinux", "ol", Some("8.3"), None, "/etc/os-release"),
    ("photon", "photon", Some("2.0"), None, "/etc/os-release"),
    (
        "redhat/from-os-release",
        "rhel",
        Some("7.3"),
        None,
        "/usr/lib/os-release",
    ),
    (
        "redhat/from-redhat-release",
        "rhel",
        Some("8.10"),
        None,
        "/etc/redhat-release",
    ),
    (
        "rockylinux/from-os-release",
        "rocky",
        Some("8.4"),
        None,
        "/etc/os-release",
    ),
    (
        "rockylinux/from-redhat-release",
        "rocky",
        Some("8.10"),
        None,
        "/etc/redhat-release",
    ),
    (
        "scientific/from-os-release",
        "scientific",
        Some("7.5"),
        None,
        "/etc/os-release",
    ),
    (
        "scientific/from-redhat-release",
        "scientific",
        Some("7.9"),
        None,
        "/etc/redhat-release",
    ),
    ("sles", "sles", Some("15.2"), None, "/etc/os-release"),
    (
        "ubuntu",
        "ubuntu",
        Some("20.04"),
        Some("focal"),
        "/etc/os-release",
    ),
    ("wolfi", "wolfi", Some("20220914"), None, "/etc/os-release"),
];

#[test]
fn syft_roots_table() {
    let dir = vulnloop_testdata::unpack(SYFT);
    let roots = dir.path().join("syft-testdata/syft/linux/testdata/os");

    let mut on_disk = BTreeSet::new();
    collect_roots(&roots, &roots, &mut on_disk);
    let in_table: BTreeSet<String> = SYFT_ROOTS
        .iter()
        .map(|row| row.0.to_string())
        .chain(["empty".into()])
        .collect();
    assert_eq!(
        on_disk, in_table,
        "every sample root needs a row in the table"
    );

    for (root, id, version_id, codename, source) in SYFT_ROOTS {
        let os = detect_os(&roots.join(root), None)
            .unwrap_or_else(|error| panic!("{root}: {error}"))
            .os;
        assert_eq!(os.id, *id, "{root}: id");
        assert_eq!(os.version_id.as_deref(), *version_id, "{root}: version_id");
        assert_eq!(os.codename.as_deref(), *codename, "{root}: codename");
        assert_eq!(os.source, *source, "{root}: source");
    }
}

/// Collects the sample roots: directories that contain `etc` or `usr`.
fn collect_roots(base: &Path, dir: &Path, roots: &mut BTreeSet<String>) {
    if dir.join("etc").is_dir() || dir.join("usr").is_dir() {
        roots.insert(
            dir.strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
        return;
    }
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_roots(base, &path, roots);
        }
    }
}

#[test]
fn syft_empty_os_release_is_unknown() {
    let dir = vulnloop_testdata::unpack(SYFT);
    let root = dir
        .path()
        .join("syft-testdata/syft/linux/testdata/os/empty");
    let error = detect_os(&root, None).unwrap_err();
    assert!(matches!(error, CollectError::UnknownOs { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("/etc/os-release, /usr/lib/os-release, /etc/lsb-release"),
        "{message}"
    );
    assert!(
        message.contains("pass --os ID:VERSION, for example --os debian:12"),
        "{message}"
    );
}

#[test]
fn debian12_build_machine() {
    let dir = vulnloop_testdata::unpack(DEBIAN12);
    let os = detect_os(&dir.path().join("debian12-build-machine"), None)
        .unwrap()
        .os;
    assert_eq!(os.id, "debian");
    assert_eq!(os.version_id.as_deref(), Some("12"));
    assert_eq!(os.codename.as_deref(), Some("bookworm"));
    assert_eq!(
        os.pretty_name.as_deref(),
        Some("Debian GNU/Linux 12 (bookworm)")
    );
    assert_eq!(os.source, "/etc/os-release");
}

#[test]
fn debian_version_only() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("etc")).unwrap();
    fs::write(dir.path().join("etc/debian_version"), "12.7\n").unwrap();
    let os = detect_os(dir.path(), None).unwrap().os;
    assert_eq!(os.id, "debian");
    assert_eq!(os.version_id.as_deref(), Some("12"));
    assert_eq!(os.codename.as_deref(), Some("bookworm"));
    assert_eq!(os.source, "/etc/debian_version");
}

#[test]
fn debian_testing_from_debian_version() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("etc")).unwrap();
    fs::write(dir.path().join("etc/debian_version"), "bookworm/sid\n").unwrap();
    let os = detect_os(dir.path(), None).unwrap().os;
    assert_eq!(os.id, "debian");
    assert_eq!(os.version_id, None);
    assert_eq!(
        os.pretty_name.as_deref(),
        Some("Debian testing or unstable (bookworm/sid)")
    );
}

#[test]
fn lsb_release_only() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("etc")).unwrap();
    fs::write(
        dir.path().join("etc/lsb-release"),
        "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=18.04\nDISTRIB_CODENAME=bionic\nDISTRIB_DESCRIPTION=\"Ubuntu 18.04.6 LTS\"\n",
    )
    .unwrap();
    fs::write(dir.path().join("etc/debian_version"), "buster/sid\n").unwrap();
    let os = detect_os(dir.path(), None).unwrap().os;
    assert_eq!(os.id, "ubuntu");
    assert_eq!(os.version_id.as_deref(), Some("18.04"));
    assert_eq!(os.source, "/etc/lsb-release");
}

#[test]
fn alpine_release_completes_os_release() {
    let dir = vulnloop_testdata::unpack(TRIVY);
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("etc")).unwrap();
    fs::copy(
        dir.path().join("trivy-testdata/os-release/no-version"),
        root.path().join("etc/os-release"),
    )
    .unwrap();
    fs::write(root.path().join("etc/alpine-release"), "3.15.4\n").unwrap();
    let os = detect_os(root.path(), None).unwrap().os;
    assert_eq!(os.version_id.as_deref(), Some("3.15.4"));
    assert_eq!(os.source, "/etc/os-release, /etc/alpine-release");
}

#[test]
fn override_replaces_detection() {
    let dir = tempfile::tempdir().unwrap();
    let os = detect_os(dir.path(), Some("debian:12")).unwrap().os;
    assert_eq!(os.id, "debian");
    assert_eq!(os.version_id.as_deref(), Some("12"));
    assert_eq!(os.codename.as_deref(), Some("bookworm"));
    assert_eq!(os.source, OS_OVERRIDE_SOURCE);
}

#[test]
fn invalid_override_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let error = detect_os(dir.path(), Some("Debian 12")).unwrap_err();
    assert!(
        matches!(error, CollectError::InvalidOsOverride { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("\"Debian 12\""), "{error}");
}

#[test]
fn empty_root_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let error = detect_os(dir.path(), None).unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&dir.path().display().to_string()),
        "{error}"
    );
}
