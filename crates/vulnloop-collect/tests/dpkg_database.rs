//! The dpkg database reader on real status files and on damaged ones.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::process::Command;
use std::sync::OnceLock;

use vulnloop_collect::{
    collect, parse_status, CollectError, CollectOptions, DpkgPackages, StatusFile, STATUS_PATH,
};
use vulnloop_inventory::Package;

const DEBIAN12: &str = "inventories/linux/debian12-build-machine-dpkg.tar.zst";
const CHANGELOG_HOST: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";
const TRIVY: &str = "inventories/linux/trivy-testdata-dpkg-apk-osrelease.tar.zst";
const SYFT: &str = "inventories/linux/syft-testdata-dpkg-apk-rpm-osrelease.tar.zst";
const SYFT_DEBIAN: &str = "syft-testdata/syft/pkg/cataloger/debian/testdata";

/// Returns the Debian 12 status file, unpacked once per test binary.
fn debian12_status() -> Vec<u8> {
    static STATUS: OnceLock<Vec<u8>> = OnceLock::new();
    STATUS
        .get_or_init(|| {
            let dir = vulnloop_testdata::unpack(DEBIAN12);
            fs::read(
                dir.path()
                    .join("debian12-build-machine/var/lib/dpkg/status"),
            )
            .unwrap()
        })
        .clone()
}

fn find<'a>(packages: &'a [Package], name: &str) -> &'a Package {
    packages
        .iter()
        .find(|package| package.name == name)
        .unwrap_or_else(|| panic!("package {name} not found"))
}

fn count_installed_stanzas(text: &str) -> usize {
    text.lines()
        .filter(|line| *line == "Status: install ok installed")
        .count()
}

#[test]
fn debian12_all_installed_packages() {
    let bytes = debian12_status();
    let expected = count_installed_stanzas(&String::from_utf8(bytes.clone()).unwrap());
    let parsed = parse_status(&bytes, STATUS_PATH, StatusFile::Database);
    assert_eq!(expected, 759);
    assert_eq!(parsed.packages.len(), expected);
    assert_eq!(parsed.problems, []);
}

#[test]
fn debian12_libssl3_from_openssl() {
    let parsed = parse_status(&debian12_status(), STATUS_PATH, StatusFile::Database);
    let libssl3 = find(&parsed.packages, "libssl3");
    assert_eq!(libssl3.version, "3.0.19-1~deb12u2");
    assert_eq!(libssl3.arch.as_deref(), Some("amd64"));
    assert_eq!(libssl3.source_name.as_deref(), Some("openssl"));
    assert_eq!(libssl3.source_version, None);
    assert_eq!(libssl3.source_version(), "3.0.19-1~deb12u2");
}

#[test]
fn debian12_origin_is_stanza_line() {
    let bytes = debian12_status();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let line = text
        .lines()
        .position(|line| line == "Package: libssl3")
        .unwrap()
        + 1;
    let parsed = parse_status(&bytes, STATUS_PATH, StatusFile::Database);
    assert_eq!(
        find(&parsed.packages, "libssl3").origin,
        format!("/var/lib/dpkg/status:{line}")
    );
}

#[test]
fn debian12_source_with_version() {
    let parsed = parse_status(&debian12_status(), STATUS_PATH, StatusFile::Database);
    let bash = find(&parsed.packages, "bash");
    assert_eq!(bash.source_name.as_deref(), Some("bash"));
    assert_eq!(bash.source_version.as_deref(), Some("5.2.15-2"));
    assert_eq!(bash.version, "5.2.15-2+b8");
}

#[test]
fn debian12_source_with_other_version() {
    let parsed = parse_status(&debian12_status(), STATUS_PATH, StatusFile::Database);
    let gcc = find(&parsed.packages, "gcc");
    assert_eq!(gcc.version, "4:12.2.0-3");
    assert_eq!(gcc.source_name.as_deref(), Some("gcc-defaults"));
    assert_eq!(gcc.source_version(), "1.203");
}

/// Runs dpkg-query on a copy of the database and returns, per installed
/// (name, arch), the binary version, source name and source version.
fn dpkg_query(status: &[u8]) -> BTreeMap<(String, String), (String, String, String)> {
    let admin = tempfile::tempdir().unwrap();
    fs::write(admin.path().join("status"), status).unwrap();
    let output = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admin.path().display()))
        .args(["-W", "-f", "${Package}\t${Architecture}\t${Version}\t${source:Package}\t${source:Version}\t${db:Status-Abbrev}\n"])
        .output()
        .expect("dpkg-query runs (install dpkg)");
    assert!(
        output.status.success(),
        "dpkg-query failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut installed = BTreeMap::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, arch, version, source, source_version, abbrev] = fields[..] else {
            panic!("unexpected dpkg-query line {line:?}");
        };
        if abbrev.trim() == "ii" {
            let value = (
                version.to_string(),
                source.to_string(),
                source_version.to_string(),
            );
            installed.insert((name.to_string(), arch.to_string()), value);
        }
    }
    installed
}

fn our_view(parsed: &DpkgPackages) -> BTreeMap<(String, String), (String, String, String)> {
    parsed
        .packages
        .iter()
        .map(|package| {
            let key = (
                package.name.clone(),
                package.arch.clone().unwrap_or_default(),
            );
            let value = (
                package.version.clone(),
                package.source_name().to_string(),
                package.source_version().to_string(),
            );
            (key, value)
        })
        .collect()
}

#[test]
fn debian12_matches_dpkg_query() {
    let bytes = debian12_status();
    let expected = dpkg_query(&bytes);
    let parsed = parse_status(&bytes, STATUS_PATH, StatusFile::Database);
    assert_eq!(expected.len(), 759);
    assert_eq!(our_view(&parsed), expected);
}

#[test]
fn ubuntu1804_matches_dpkg_query() {
    let dir = vulnloop_testdata::unpack(TRIVY);
    let bytes = fs::read(dir.path().join("trivy-testdata/dpkg/dpkg")).unwrap();
    let parsed = parse_status(&bytes, STATUS_PATH, StatusFile::Database);
    assert_eq!(our_view(&parsed), dpkg_query(&bytes));
}

#[test]
fn ubuntu1804_parses_completely() {
    let dir = vulnloop_testdata::unpack(TRIVY);
    let bytes = fs::read(dir.path().join("trivy-testdata/dpkg/dpkg")).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let stanzas = text
        .lines()
        .filter(|line| line.starts_with("Package: "))
        .count();
    let parsed = parse_status(&bytes, STATUS_PATH, StatusFile::Database);

    // 91 stanzas, one of them `deinstall ok config-files` (git): 90 installed.
    assert_eq!(stanzas, 91);
    assert_eq!(parsed.packages.len(), 90);
    assert_eq!(parsed.problems, []);
    assert!(
        parsed.packages.iter().all(|package| package.name != "git"),
        "git has only config files left"
    );
    assert_eq!(
        find(&parsed.packages, "libc6").source_name.as_deref(),
        Some("glibc")
    );
}

#[test]
fn trivy_third_party_epoch_version() {
    let dir = vulnloop_testdata::unpack(TRIVY);
    let bytes = fs::read(dir.path().join("trivy-testdata/dpkg/dpkg-third-party")).unwrap();
    let parsed = parse_status(&bytes, STATUS_PATH, StatusFile::Database);
    assert_eq!(parsed.packages.len(), 2);
    assert_eq!(parsed.problems, []);
    assert_eq!(
        find(&parsed.packages, "docker-ce").version,
        "5:20.10.7~3-0~debian-buster"
    );
}

/// Reads the changelog host's captured `host-os-release` and `host-dpkg-status`
/// from the archive, once per test binary. Only these two of its 2,300 files
/// are needed, so the archive is streamed instead of unpacked.
fn changelog_host_files() -> &'static (Vec<u8>, Vec<u8>) {
    static FILES: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    FILES.get_or_init(|| {
        let path = vulnloop_testdata::data_file(CHANGELOG_HOST);
        let mut archive = tar::Archive::new(vulnloop_testdata::open_decompressed(&path).unwrap());
        let (mut os_release, mut status) = (None, None);
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let slot = match name.as_str() {
                "debian12-changelog-osv/host-os-release" => &mut os_release,
                "debian12-changelog-osv/host-dpkg-status" => &mut status,
                _ => continue,
            };
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            *slot = Some(bytes);
        }
        (
            os_release.expect("host-os-release in archive"),
            status.expect("host-dpkg-status in archive"),
        )
    })
}

/// Lays out the changelog host's captured files as a root filesystem.
fn changelog_host_root() -> tempfile::TempDir {
    let (os_release, status) = changelog_host_files();
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    fs::create_dir_all(root.path().join("var/lib/dpkg")).unwrap();
    fs::write(root.path().join("etc/os-release"), os_release).unwrap();
    fs::write(root.path().join("var/lib/dpkg/status"), status).unwrap();
    root
}

#[test]
fn changelog_host_collects() {
    let root = changelog_host_root();
    let status = fs::read_to_string(root.path().join("var/lib/dpkg/status")).unwrap();
    let options = CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    };
    let inventory = collect(&options).unwrap();

    assert_eq!(inventory.host.os.id, "debian");
    assert_eq!(inventory.host.os.version_id.as_deref(), Some("12"));
    assert_eq!(inventory.packages.len(), count_installed_stanzas(&status));
    assert_eq!(inventory.problems, []);
    assert_eq!(
        inventory.host.kernel, None,
        "a root filesystem runs no kernel"
    );
    assert_eq!(inventory.host.root, Some(root.path().display().to_string()));
}

#[test]
fn changelog_host_openssl_source() {
    let root = changelog_host_root();
    let options = CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    };
    let inventory = collect(&options).unwrap();
    let libssl3 = find(&inventory.packages, "libssl3");
    assert_eq!(libssl3.source_name(), "openssl");
    assert!(
        libssl3.origin.starts_with("/var/lib/dpkg/status:"),
        "{}",
        libssl3.origin
    );
}

fn syft_status_d(name: &str) -> DpkgPackages {
    let dir = vulnloop_testdata::unpack(SYFT);
    let path = dir
        .path()
        .join(SYFT_DEBIAN)
        .join("var/lib/dpkg/status.d")
        .join(name);
    let inner = format!("/var/lib/dpkg/status.d/{name}");
    parse_status(&fs::read(path).unwrap(), &inner, StatusFile::Distroless)
}

fn locations(parsed: &DpkgPackages) -> Vec<&str> {
    parsed
        .problems
        .iter()
        .map(|problem| problem.location.as_str())
        .collect()
}

#[test]
fn syft_status_d_single() {
    let parsed = syft_status_d("single");
    assert_eq!(parsed.problems, []);
    assert_eq!(parsed.packages.len(), 1);
    assert_eq!(parsed.packages[0].name, "apt");
    assert_eq!(parsed.packages[0].source_name.as_deref(), Some("apt-dev"));
    assert_eq!(parsed.packages[0].origin, "/var/lib/dpkg/status.d/single:1");
}

#[test]
fn syft_status_d_relationships() {
    let parsed = syft_status_d("coreutils-relationships");
    assert_eq!(parsed.problems, []);
    assert_eq!(
        find(&parsed.packages, "libc6").source_name.as_deref(),
        Some("glibc")
    );
    assert_eq!(
        find(&parsed.packages, "coreutils").arch.as_deref(),
        Some("arm64")
    );
}

#[test]
fn syft_status_d_deinstall() {
    let parsed = syft_status_d("deinstall");
    let names: Vec<&str> = parsed
        .packages
        .iter()
        .map(|package| package.name.as_str())
        .collect();
    assert_eq!(names, ["linux-image-6.14.0-1012-aws"]);
    assert_eq!(parsed.problems, []);
}

#[test]
fn syft_status_d_multiple() {
    let parsed = syft_status_d("multiple");
    let names: Vec<&str> = parsed
        .packages
        .iter()
        .map(|package| package.name.as_str())
        .collect();
    assert_eq!(names, ["tzdata", "util-linux"]);
    assert_eq!(
        locations(&parsed),
        [
            "/var/lib/dpkg/status.d/multiple:1",
            "/var/lib/dpkg/status.d/multiple:3"
        ]
    );
    assert!(
        parsed.problems[0].message.contains("no Package name"),
        "{}",
        parsed.problems[0].message
    );
    assert!(
        parsed.problems[1]
            .message
            .contains("no-version has no Version"),
        "{}",
        parsed.problems[1].message
    );
}

#[test]
fn syft_status_d_installed_size_4kb() {
    let parsed = syft_status_d("installed-size-4KB");
    assert_eq!(parsed.packages.len(), 1);
    assert_eq!(parsed.problems, []);
}

#[test]
fn syft_status_d_corrupt() {
    let parsed = syft_status_d("corrupt");
    assert_eq!(parsed.packages, []);
    assert_eq!(
        locations(&parsed),
        [
            "/var/lib/dpkg/status.d/corrupt:1",
            "/var/lib/dpkg/status.d/corrupt:5"
        ]
    );
    assert!(
        parsed.problems[0].message.contains("no Package name"),
        "{}",
        parsed.problems[0].message
    );
    assert!(
        parsed.problems[1].message.contains("Insterface"),
        "{}",
        parsed.problems[1].message
    );
}

#[test]
fn syft_status_d_empty_package() {
    let parsed = syft_status_d("empty");
    assert_eq!(parsed.packages, []);
    assert_eq!(
        locations(&parsed),
        [
            "/var/lib/dpkg/status.d/empty:1",
            "/var/lib/dpkg/status.d/empty:1"
        ]
    );
    assert!(
        parsed.problems[1]
            .message
            .contains("does not end with a newline"),
        "{}",
        parsed.problems[1].message
    );
}

#[test]
fn syft_status_d_doc_examples() {
    let parsed = syft_status_d("doc-examples");
    let names: Vec<&str> = parsed
        .packages
        .iter()
        .map(|package| package.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "mutt",
            "made-up-package-1",
            "made-up-package-2",
            "made-up-package-3",
            "made-up-package-4"
        ]
    );
    // The 11 remaining stanzas name a package but no version.
    assert_eq!(parsed.problems.len(), 11);
    assert!(
        parsed
            .problems
            .iter()
            .all(|problem| problem.message.contains("has no Version")),
        "{:?}",
        parsed.problems
    );
}

#[test]
fn syft_image_with_status_d_and_info() {
    let dir = vulnloop_testdata::unpack(SYFT);
    let root = dir.path().join(SYFT_DEBIAN).join("image-dpkg");
    let inventory = collect(&CollectOptions {
        root,
        os_override: None,
    })
    .unwrap();
    assert_eq!(inventory.packages.len(), 1);
    assert_eq!(inventory.packages[0].name, "libpam-runtime");
    assert_eq!(
        locations_of(&inventory.problems),
        ["/var/lib/dpkg/status:1", "/var/lib/dpkg/status:23"]
    );
}

fn locations_of(problems: &[vulnloop_inventory::Problem]) -> Vec<&str> {
    problems
        .iter()
        .map(|problem| problem.location.as_str())
        .collect()
}

#[test]
fn distroless_root_reads_status_d() {
    let dir = vulnloop_testdata::unpack(SYFT);
    let status_d = dir.path().join(SYFT_DEBIAN).join("var/lib/dpkg/status.d");
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    fs::create_dir_all(root.path().join("var/lib/dpkg/status.d")).unwrap();
    fs::write(
        root.path().join("etc/os-release"),
        "ID=debian\nVERSION_ID=\"12\"\n",
    )
    .unwrap();
    for name in ["single", "coreutils-relationships"] {
        fs::copy(
            status_d.join(name),
            root.path().join("var/lib/dpkg/status.d").join(name),
        )
        .unwrap();
    }
    fs::write(
        root.path().join("var/lib/dpkg/status.d/single.md5sums"),
        "not a stanza\n",
    )
    .unwrap();

    let inventory = collect(&CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    })
    .unwrap();
    assert_eq!(inventory.problems, []);
    // coreutils-relationships lists 9 packages, single lists 1; the .md5sums file is skipped.
    assert_eq!(inventory.packages.len(), 10);
    assert_eq!(
        inventory.packages[0].origin,
        "/var/lib/dpkg/status.d/coreutils-relationships:1"
    );
}

#[test]
fn truncated_mid_stanza() {
    let bytes = debian12_status();
    let text = String::from_utf8(bytes).unwrap();
    let cut = text.find("Package: libssl3\n").unwrap()
        + "Package: libssl3\nStatus: install ok installed\nPrio".len();
    let truncated = &text[..cut];
    let last_line = truncated.lines().count();
    let libssl3_line = text
        .lines()
        .position(|line| line == "Package: libssl3")
        .unwrap()
        + 1;

    let parsed = parse_status(truncated.as_bytes(), STATUS_PATH, StatusFile::Database);
    let expected_before = count_installed_stanzas(truncated) - 1;
    assert_eq!(parsed.packages.len(), expected_before);
    assert_eq!(
        locations(&parsed),
        [
            format!("{STATUS_PATH}:{libssl3_line}"),
            format!("{STATUS_PATH}:{last_line}"),
            format!("{STATUS_PATH}:{last_line}")
        ]
    );
    assert!(
        parsed.problems[0]
            .message
            .contains("libssl3 has no Version"),
        "{}",
        parsed.problems[0].message
    );
    assert!(
        parsed.problems[1].message.contains("\"Prio\""),
        "{}",
        parsed.problems[1].message
    );
    assert!(
        parsed.problems[2].message.contains("truncated"),
        "{}",
        parsed.problems[2].message
    );
}

#[test]
fn binary_garbage() {
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let parsed = parse_status(&garbage, STATUS_PATH, StatusFile::Database);
    assert_eq!(parsed.packages, []);
    assert!(!parsed.problems.is_empty());
    assert!(
        parsed.problems.len() <= 22,
        "problems are capped, got {}",
        parsed.problems.len()
    );
    for problem in &parsed.problems {
        assert!(problem.location.starts_with(STATUS_PATH), "{problem:?}");
    }
}

#[test]
fn empty_status_file() {
    let parsed = parse_status(b"", STATUS_PATH, StatusFile::Database);
    assert_eq!(parsed.packages, []);
    assert_eq!(locations(&parsed), [STATUS_PATH]);
    assert!(
        parsed.problems[0].message.contains("empty"),
        "{}",
        parsed.problems[0].message
    );
}

#[test]
fn crlf_status_file() {
    let text =
        "Package: a\r\nStatus: install ok installed\r\nVersion: 1.0-1\r\nSource: b (1.0-0)\r\n\r\n";
    let parsed = parse_status(text.as_bytes(), STATUS_PATH, StatusFile::Database);
    assert_eq!(parsed.problems, []);
    assert_eq!(parsed.packages[0].version, "1.0-1");
    assert_eq!(parsed.packages[0].source_version.as_deref(), Some("1.0-0"));
}

fn debian_root_without_status() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    fs::write(
        root.path().join("etc/os-release"),
        "ID=ubuntu\nVERSION_ID=\"22.04\"\n",
    )
    .unwrap();
    root
}

#[test]
fn missing_status_is_error() {
    let root = debian_root_without_status();
    let error = collect(&CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    })
    .unwrap_err();
    assert!(
        matches!(error, CollectError::PackageDatabase { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("{}/var/lib/dpkg/status", root.path().display())),
        "{message}"
    );
    assert!(message.contains("--root"), "{message}");
}

#[test]
fn status_directory_is_error() {
    let root = debian_root_without_status();
    fs::create_dir_all(root.path().join("var/lib/dpkg/status")).unwrap();
    let error = collect(&CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    })
    .unwrap_err();
    assert!(
        matches!(error, CollectError::PackageDatabase { .. }),
        "{error}"
    );
}

#[test]
fn interrupted_dpkg_run_is_problem() {
    let root = debian_root_without_status();
    let dpkg = root.path().join("var/lib/dpkg");
    fs::create_dir_all(dpkg.join("updates")).unwrap();
    fs::write(
        dpkg.join("status"),
        "Package: a\nStatus: install ok installed\nVersion: 1.0\n\n",
    )
    .unwrap();
    fs::write(
        dpkg.join("updates/0000"),
        "Package: a\nStatus: install ok unpacked\nVersion: 1.1\n\n",
    )
    .unwrap();
    let inventory = collect(&CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    })
    .unwrap();
    assert_eq!(locations_of(&inventory.problems), ["/var/lib/dpkg/updates"]);
    assert!(
        inventory.problems[0]
            .message
            .contains("dpkg --configure -a"),
        "{}",
        inventory.problems[0].message
    );
}

#[test]
fn status_through_absolute_symlink() {
    let root = debian_root_without_status();
    let dpkg = root.path().join("var/lib/dpkg");
    fs::create_dir_all(&dpkg).unwrap();
    fs::create_dir_all(root.path().join("data")).unwrap();
    fs::write(
        root.path().join("data/status"),
        "Package: a\nStatus: install ok installed\nVersion: 1.0\n\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/data/status", dpkg.join("status")).unwrap();
    let inventory = collect(&CollectOptions {
        root: root.path().to_path_buf(),
        os_override: None,
    })
    .unwrap();
    assert_eq!(inventory.packages.len(), 1);
    assert_eq!(inventory.packages[0].name, "a");
}
