//! A Debian bookworm chroot with a tiny `vulnloop-demo` package for the
//! tests that apply fixes with the real apt-get and dpkg.
//!
//! The chroot is unpacked from the tarball that `scripts/debian-chroot.sh`
//! caches, whose path is in `VULNLOOP_TEST_CHROOT`. Two versions of
//! `vulnloop-demo` are built with `dpkg-deb` and served from a flat apt
//! repository on the chroot's filesystem, 1.0-1 is installed, and a database
//! is built from one OSV record that names 1.0-2 as the fix. Nothing leaves
//! the machine. Setting one up needs root, because chroot and dpkg do.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use tempfile::TempDir;

use super::run_setup as run;

pub const CHROOT_VARIABLE: &str = "VULNLOOP_TEST_CHROOT";
pub const DEMO: &str = "vulnloop-demo";
/// A package that no version of `vulnloop-demo` needs but [`DEPENDENT_VERSION`].
pub const EXTRA: &str = "vulnloop-demo-extra";
pub const DEPENDENT_VERSION: &str = "1.0-3";
pub const ADVISORY: &str = "VULNLOOP-TEST-2026-0001";
/// Directory of the flat apt repository, inside the chroot.
pub const REPOSITORY: &str = "srv/vulnloop-repo";
pub const CHROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Executable that `vulnloop-demo` installs, inside the chroot: a copy of `sleep`.
pub const DEMO_SLEEP: &str = "/usr/lib/vulnloop-demo/demo-sleep";

/// A fresh chroot with `vulnloop-demo` 1.0-1 installed, its repository and a database.
pub struct DemoChroot {
    pub dir: TempDir,
    pub root: PathBuf,
    /// Directory of the built packages and the database, outside the chroot.
    pub work: PathBuf,
    pub db: PathBuf,
}

impl DemoChroot {
    /// Sets up the chroot; `repository_versions` are the versions the apt repository offers.
    pub fn new(repository_versions: &[&str]) -> Self {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the fix --apply tests need root, because chroot and dpkg do; run them as root (CI does)"
        );
        let tarball = chroot_tarball();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        run(Command::new("tar")
            .arg("-C")
            .arg(&root)
            .args(["--numeric-owner", "-I", "zstd", "-xf"])
            .arg(&tarball));

        for version in ["1.0-1", "1.0-2"] {
            build_deb(&root, &work, version);
        }
        write_repository(&root, &work, repository_versions);
        std::fs::copy(
            work.join(deb_name("1.0-1")),
            root.join("tmp").join(deb_name("1.0-1")),
        )
        .unwrap();
        run(&mut in_chroot(
            &root,
            &["dpkg", "-i", &format!("/tmp/{}", deb_name("1.0-1"))],
        ));
        run(&mut in_chroot(&root, &["apt-get", "update"]));

        let feeds = work.join("feeds");
        std::fs::create_dir_all(&feeds).unwrap();
        std::fs::write(feeds.join(format!("{ADVISORY}.json")), osv_record()).unwrap();
        let db = super::build_db(&feeds, &work);
        Self {
            dir,
            root,
            work,
            db,
        }
    }

    /// Returns the version of `vulnloop-demo` that dpkg has installed in the chroot.
    pub fn installed_version(&self) -> String {
        let output = run(&mut in_chroot(
            &self.root,
            &["dpkg-query", "-W", "-f=${Version}", DEMO],
        ));
        String::from_utf8(output.stdout).unwrap()
    }
}

/// Returns the cached chroot tarball, failing with how to make one when it is missing.
pub fn chroot_tarball() -> PathBuf {
    let instructions = format!(
        "build it as root with `scripts/debian-chroot.sh DIR` (needs debootstrap and Debian's archive) \
         and set {CHROOT_VARIABLE} to the tarball path it prints; .ci/run does both"
    );
    let Some(path) = std::env::var_os(CHROOT_VARIABLE) else {
        panic!(
            "{CHROOT_VARIABLE} is not set, so there is no Debian chroot to test in: {instructions}"
        );
    };
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "the chroot tarball {} is missing: {instructions}",
        path.display()
    );
    path
}

/// Returns a command that runs `argv` inside `root` as apt runs there.
pub fn in_chroot(root: &Path, argv: &[&str]) -> Command {
    let mut command = Command::new("chroot");
    command
        .arg(root)
        .args(argv)
        .env("PATH", CHROOT_PATH)
        .env("DEBIAN_FRONTEND", "noninteractive");
    command
}

pub fn deb_name(version: &str) -> String {
    format!("{DEMO}_{version}_all.deb")
}

/// Returns the control file of `vulnloop-demo` at `version`; version
/// [`DEPENDENT_VERSION`] depends on [`EXTRA`], which earlier ones do not.
pub fn control(version: &str) -> String {
    let depends = if version == DEPENDENT_VERSION {
        format!("Depends: {EXTRA}\n")
    } else {
        String::new()
    };
    format!(
        "Package: {DEMO}\nVersion: {version}\nArchitecture: all\nMaintainer: vulnloop tests <tests@localhost>\n\
         {depends}Description: package for the vulnloop fix tests\n"
    )
}

/// Builds [`EXTRA`] 1.0-1, a package with one file, in `work` and returns its path.
pub fn build_extra_deb(work: &Path) -> PathBuf {
    let tree = work.join("tree-extra");
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(tree.join("usr/share/vulnloop-demo-extra")).unwrap();
    let control = format!(
        "Package: {EXTRA}\nVersion: 1.0-1\nArchitecture: all\nMaintainer: vulnloop tests <tests@localhost>\n\
         Description: dependency that vulnloop-demo {DEPENDENT_VERSION} adds\n"
    );
    std::fs::write(tree.join("DEBIAN/control"), control).unwrap();
    std::fs::write(tree.join("usr/share/vulnloop-demo-extra/README"), "extra\n").unwrap();
    let deb = work.join(format!("{EXTRA}_1.0-1_all.deb"));
    run(Command::new("dpkg-deb")
        .arg("--root-owner-group")
        .arg("--build")
        .arg(&tree)
        .arg(&deb));
    deb
}

/// Builds `vulnloop-demo_VERSION_all.deb` in `work` with a version file and
/// [`DEMO_SLEEP`], a copy of the chroot's own `sleep`.
pub fn build_deb(root: &Path, work: &Path, version: &str) {
    let tree = work.join(format!("tree-{version}"));
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(tree.join("usr/share/vulnloop-demo")).unwrap();
    std::fs::create_dir_all(tree.join("usr/lib/vulnloop-demo")).unwrap();
    std::fs::write(tree.join("DEBIAN/control"), control(version)).unwrap();
    std::fs::write(
        tree.join("usr/share/vulnloop-demo/VERSION"),
        format!("{version}\n"),
    )
    .unwrap();
    std::fs::copy(
        root.join("usr/bin/sleep"),
        tree.join(DEMO_SLEEP.trim_start_matches('/')),
    )
    .unwrap();
    run(Command::new("dpkg-deb")
        .arg("--root-owner-group")
        .arg("--build")
        .arg(&tree)
        .arg(work.join(deb_name(version))));
}

/// Writes a flat repository with the given versions and points the chroot's apt at it.
pub fn write_repository(root: &Path, work: &Path, versions: &[&str]) {
    let repository = root.join(REPOSITORY);
    std::fs::create_dir_all(&repository).unwrap();
    let mut index = String::new();
    for version in versions {
        let deb = std::fs::read(work.join(deb_name(version))).unwrap();
        std::fs::write(repository.join(deb_name(version)), &deb).unwrap();
        let sha256: String = Sha256::digest(&deb)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        index.push_str(&control(version));
        index.push_str(&format!(
            "Filename: ./{}\nSize: {}\nSHA256: {sha256}\n\n",
            deb_name(version),
            deb.len()
        ));
    }
    std::fs::write(repository.join("Packages"), index).unwrap();

    std::fs::write(
        root.join("etc/apt/sources.list"),
        format!("deb [trusted=yes] file:/{REPOSITORY} ./\n"),
    )
    .unwrap();
    let sources_dir = root.join("etc/apt/sources.list.d");
    if sources_dir.is_dir() {
        for entry in std::fs::read_dir(&sources_dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    }
    std::fs::write(
        root.join("etc/apt/apt.conf.d/99vulnloop-test"),
        "Acquire::Languages \"none\";\nAPT::Install-Recommends \"false\";\n",
    )
    .unwrap();
}

pub fn osv_record() -> String {
    serde_json::json!({
        "schema_version": "1.6.0",
        "id": ADVISORY,
        "modified": "2026-12-04T00:00:00Z",
        "summary": "test advisory: vulnloop-demo before 1.0-2 is vulnerable",
        "affected": [{
            "package": { "ecosystem": "Debian:12", "name": DEMO },
            "ranges": [{ "type": "ECOSYSTEM", "events": [{ "introduced": "0" }, { "fixed": "1.0-2" }] }]
        }]
    })
    .to_string()
}
