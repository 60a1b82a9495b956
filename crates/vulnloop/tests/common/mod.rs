//! Shared fixtures for the tests that drive the `vulnloop` binary.

#![allow(dead_code, clippy::unwrap_used)]

pub mod debian_chroot;
pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

/// Runs the binary with `args`, with a clean environment for its own variables.
///
/// `VULNLOOP_OFFLINE=1` turns off the automatic update before a scan, so
/// that no test ever downloads from the official feed URLs.
pub fn vulnloop(args: &[&str]) -> Output {
    command(args)
        .env("VULNLOOP_OFFLINE", "1")
        .output()
        .expect("failed to start the vulnloop binary")
}

/// Runs the binary like [`vulnloop`] with extra environment variables.
pub fn vulnloop_with_env(args: &[&str], environment: &[(&str, &Path)]) -> Output {
    let mut command = command(args);
    command.env("VULNLOOP_OFFLINE", "1");
    for (name, value) in environment {
        command.env(name, value);
    }
    command
        .output()
        .expect("failed to start the vulnloop binary")
}

/// Runs the binary with the automatic update before a scan allowed.
///
/// `args` must contain `--update-from` with a loopback URL or a local path,
/// because the default source is the official feed URLs.
pub fn vulnloop_auto_update(args: &[&str]) -> Output {
    let from = args
        .iter()
        .position(|a| *a == "--update-from")
        .and_then(|i| args.get(i + 1));
    let local = from
        .is_some_and(|from| from.starts_with("http://127.0.0.1:") || Path::new(from).is_absolute());
    assert!(local, "an automatic update test must pass --update-from with a loopback URL or a local path: {args:?}");
    command(args)
        .output()
        .expect("failed to start the vulnloop binary")
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vulnloop"));
    command.args(args).env("NO_COLOR", "1");
    let variables = [
        "VULNLOOP_DB",
        "RUST_LOG",
        "VULNLOOP_OFFLINE",
        "VULNLOOP_UPDATE_FROM",
        "VULNLOOP_AUTO_UPDATE_AFTER",
        "VULNLOOP_JOURNAL_DIR",
        "VULNLOOP_IGNORE_FILE",
    ];
    for variable in variables {
        command.env_remove(variable);
    }
    // Scans record their findings in the history; keep that out of the
    // user's home. A test that checks the history passes its own --state.
    command.env("VULNLOOP_STATE", shared_state_path());
    command
}

/// Returns the history file that the tests of one test binary share, in
/// Cargo's scratch directory for integration tests.
fn shared_state_path() -> PathBuf {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()));
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("state-{}.db", binary.unwrap_or_default()))
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .expect("the binary was killed by a signal")
}

/// Creates a directory of feed files that are symlinks to shared data files.
pub fn feed_dir(relative_paths: &[&str]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for relative in relative_paths {
        let source = vulnloop_testdata::data_file(relative);
        let link = dir.path().join(source.file_name().unwrap());
        std::os::unix::fs::symlink(&source, link).unwrap();
    }
    dir
}

/// Builds a database from `feeds` with `vulnloop db update --from` and returns its path.
pub fn build_db(feeds: &Path, dir: &Path) -> PathBuf {
    let db = dir.join("advisories.db");
    let output = vulnloop(&[
        "db",
        "update",
        "--from",
        feeds.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "db update failed: {}", stderr(&output));
    db
}

/// Lays out a root filesystem with an os-release and a dpkg status file.
pub fn rootfs(os_release: &str, status: &str) -> TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::create_dir_all(root.path().join("var/lib/dpkg")).unwrap();
    std::fs::write(root.path().join("etc/os-release"), os_release).unwrap();
    std::fs::write(root.path().join("var/lib/dpkg/status"), status).unwrap();
    root
}

/// Scans `root` with `db` and returns the exit code and the JSON report.
pub fn scan_json(root: &Path, db: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "scan",
        "--root",
        root.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let output = vulnloop(&args);
    let report: Value = serde_json::from_str(&stdout(&output))
        .unwrap_or_else(|e| panic!("scan printed no JSON ({e}); stderr: {}", stderr(&output)));
    (code(&output), report)
}

/// One finding of a JSON report, flattened to the fields tests compare.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seen {
    pub package: String,
    pub id: String,
    pub status: String,
    pub fixed: Option<String>,
    pub installed: String,
}

/// Flattens the findings of a JSON report.
pub fn findings(report: &Value) -> Vec<Seen> {
    let mut seen = Vec::new();
    for group in report["packages"].as_array().unwrap() {
        for finding in group["findings"].as_array().unwrap() {
            seen.push(Seen {
                package: finding["package"].as_str().unwrap().to_string(),
                id: finding["id"].as_str().unwrap().to_string(),
                status: finding["status"]["status"].as_str().unwrap().to_string(),
                fixed: finding["fixed_version"].as_str().map(String::from),
                installed: finding["installed_version"].as_str().unwrap().to_string(),
            });
        }
    }
    seen.sort();
    seen
}

/// The changelog-derived Debian 12 host and its OSV records, unpacked.
pub struct ChangelogHost {
    pub unpacked: TempDir,
    pub root: TempDir,
}

impl ChangelogHost {
    pub fn new() -> Self {
        let unpacked = vulnloop_testdata::unpack(
            "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst",
        );
        let base = unpacked.path().join("debian12-changelog-osv");
        let os_release = std::fs::read_to_string(base.join("host-os-release")).unwrap();
        let status = std::fs::read_to_string(base.join("host-dpkg-status")).unwrap();
        let root = rootfs(&os_release, &status);
        Self { unpacked, root }
    }

    pub fn status_text(&self) -> String {
        std::fs::read_to_string(self.root.path().join("var/lib/dpkg/status")).unwrap()
    }

    /// Returns every OSV statement as (id, CVE, source package, fixed version), one per affected package.
    pub fn records(&self) -> Vec<(String, String, String, String)> {
        let dir = self.unpacked.path().join("debian12-changelog-osv/osv");
        let mut records = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let record: Value =
                serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
            for affected in record["affected"].as_array().unwrap() {
                let fixed = affected["ranges"][0]["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find_map(|event| event["fixed"].as_str())
                    .unwrap()
                    .to_string();
                records.push((
                    record["id"].as_str().unwrap().to_string(),
                    record["aliases"][0].as_str().unwrap().to_string(),
                    affected["package"]["name"].as_str().unwrap().to_string(),
                    fixed,
                ));
            }
        }
        records.sort();
        records
    }
}

/// Asserts that two finding lists are equal, naming the first difference each way.
pub fn assert_same_findings(expected: &[Seen], seen: &[Seen]) {
    let missing: Vec<&Seen> = expected.iter().filter(|e| !seen.contains(e)).collect();
    let extra: Vec<&Seen> = seen.iter().filter(|s| !expected.contains(s)).collect();
    assert!(
        missing.is_empty(),
        "{} expected findings missing, first: {:?}",
        missing.len(),
        missing.first()
    );
    assert!(
        extra.is_empty(),
        "{} unexpected findings, first: {:?}",
        extra.len(),
        extra.first()
    );
}

/// A process that holds an fcntl lock on a file (dpkg's, rpm's) until dropped.
pub struct LockHolder(std::process::Child);

impl LockHolder {
    /// Starts python3 to take an fcntl write lock, as apt does, and waits until it holds it.
    pub fn start(lock: &Path) -> Self {
        let script = "import fcntl, sys, time\n\
                      f = open(sys.argv[1], 'a')\n\
                      fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n\
                      print('locked', flush=True)\n\
                      time.sleep(600)\n";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .arg(lock)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("failed to start python3, which holds the lock in this test ({e}); install python3"));
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(
            line.trim(),
            "locked",
            "python3 did not take the lock on {}",
            lock.display()
        );
        Self(child)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's pid only.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a setup command and fails the test with its output when it fails.
pub fn run_setup(command: &mut Command) -> std::process::Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("failed to start {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed with {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
