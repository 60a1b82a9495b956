//! Acceptance tests of `vulnloop fix --apply` and `vulnloop verify` with
//! the real apt-get and dpkg inside a Debian bookworm chroot.
//!
//! Each test unpacks a fresh chroot from the tarball that
//! `scripts/debian-chroot.sh` caches, whose path is in `VULNLOOP_TEST_CHROOT`.
//! It builds two versions of a tiny `vulnloop-demo` package with `dpkg-deb`
//! and serves them from a flat apt repository on the chroot's filesystem.
//! It installs 1.0-1 and builds a database from one OSV record that names
//! 1.0-2 as the fix. Nothing leaves the machine. The tests need root,
//! because chroot and dpkg do.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use common::debian_chroot::{
    build_deb, build_extra_deb, control, deb_name, in_chroot, osv_record, write_repository,
    DemoChroot, ADVISORY, DEMO, DEMO_SLEEP, DEPENDENT_VERSION, EXTRA, REPOSITORY,
};
use common::{code, run_setup as run, scan_json, stderr, stdout, vulnloop, LockHolder};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// A chroot with `vulnloop-demo` 1.0-1 installed, its repository, and a database.
struct Chroot {
    _dir: TempDir,
    root: PathBuf,
    /// Directory of the built packages and the database, outside the chroot.
    work: PathBuf,
    db: PathBuf,
    journal_dir: PathBuf,
    /// Finding history of the scans, applies and verifies of this chroot.
    state: PathBuf,
}

impl Chroot {
    /// Sets up the chroot; `repository_versions` are the versions the apt repository offers.
    fn new(repository_versions: &[&str]) -> Self {
        let DemoChroot {
            dir,
            root,
            work,
            db,
        } = DemoChroot::new(repository_versions);
        let journal_dir = work.join("journal");
        let state = work.join("state.db");
        Self {
            _dir: dir,
            root,
            work,
            db,
            journal_dir,
            state,
        }
    }

    fn root(&self) -> &str {
        self.root.to_str().unwrap()
    }

    /// Runs `vulnloop fix --apply --yes` in the chroot.
    fn apply(&self) -> std::process::Output {
        self.apply_with(&[])
    }

    /// Runs `vulnloop fix --apply --yes` in the chroot with `extra` arguments.
    fn apply_with(&self, extra: &[&str]) -> std::process::Output {
        let mut args = vec![
            "fix",
            "--apply",
            "--yes",
            "--root",
            self.root(),
            "--db",
            self.db.to_str().unwrap(),
            "--journal-dir",
            self.journal_dir.to_str().unwrap(),
            "--state",
            self.state(),
            "--timeout",
            "300",
        ];
        args.extend_from_slice(extra);
        vulnloop(&args)
    }

    fn state(&self) -> &str {
        self.state.to_str().unwrap()
    }

    /// Scans the chroot, recording the scan in the chroot's history.
    fn scan(&self) -> Value {
        scan_json(&self.root, &self.db, &["--state", self.state()]).1
    }

    /// Returns the statuses the history recorded for the demo finding, oldest first.
    fn lifecycle(&self) -> Vec<String> {
        let output = vulnloop(&[
            "history",
            "--state",
            self.state(),
            "--finding",
            ADVISORY,
            "--format",
            "json",
        ]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let document: Value = serde_json::from_str(&stdout(&output)).unwrap();
        let events = document["events"].as_array().unwrap();
        events
            .iter()
            .map(|e| e["status"].as_str().unwrap().to_string())
            .collect()
    }

    /// Runs `vulnloop fix --rollback --yes` on the newest apply journal.
    fn rollback(&self) -> std::process::Output {
        vulnloop(&[
            "fix",
            "--rollback",
            "--yes",
            "--journal-dir",
            self.journal_dir.to_str().unwrap(),
            "--state",
            self.state(),
            "--timeout",
            "300",
        ])
    }

    /// Makes the chroot's apt repository offer only `versions`.
    fn set_repository(&self, versions: &[&str]) {
        write_repository(&self.root, &self.work, versions);
        run(&mut in_chroot(&self.root, &["apt-get", "update"]));
    }

    /// Runs `vulnloop verify --format json` on the chroot and returns the exit code and document.
    fn verify(&self) -> (i32, Value) {
        let output = vulnloop(&[
            "verify",
            "--root",
            self.root(),
            "--db",
            self.db.to_str().unwrap(),
            "--journal-dir",
            self.journal_dir.to_str().unwrap(),
            "--state",
            self.state(),
            "--format",
            "json",
        ]);
        let document = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| {
            panic!("verify printed no JSON ({e}); stderr: {}", stderr(&output))
        });
        (code(&output), document)
    }

    /// Returns the version of `vulnloop-demo` that dpkg has installed in the chroot.
    fn installed_version(&self) -> String {
        let output = run(&mut in_chroot(
            &self.root,
            &["dpkg-query", "-W", "-f=${Version}", DEMO],
        ));
        String::from_utf8(output.stdout).unwrap()
    }

    fn dpkg_status(&self) -> String {
        std::fs::read_to_string(self.root.join("var/lib/dpkg/status")).unwrap()
    }

    /// Returns the records of the only journal in the journal directory.
    fn journal(&self) -> Vec<Value> {
        let mut journals = self.journals();
        assert_eq!(
            journals.len(),
            1,
            "one run writes one journal: {journals:?}"
        );
        journals.remove(0)
    }

    /// Returns the records of every journal, oldest first, with its path.
    fn journals(&self) -> Vec<Vec<Value>> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&self.journal_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        entries
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).unwrap();
                let mut records: Vec<Value> = text
                    .lines()
                    .map(|line| serde_json::from_str(line).unwrap())
                    .collect();
                records[0]["path"] = Value::from(path.to_str().unwrap());
                records
            })
            .collect()
    }
}

/// A process running [`DEMO_SLEEP`] inside the chroot, killed by its pid when dropped.
struct DemoProcess(Child);

impl DemoProcess {
    /// Starts `chroot ROOT demo-sleep 300` and waits until chroot has executed demo-sleep,
    /// which keeps the pid of the chroot process.
    fn start(root: &Path) -> Self {
        let child = in_chroot(root, &[DEMO_SLEEP, "300"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let process = Self(child);
        let exe = PathBuf::from(format!("/proc/{}/exe", process.pid()));
        let expected = root.join(DEMO_SLEEP.trim_start_matches('/'));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::read_link(&exe).ok().as_deref() != Some(expected.as_path()) {
            assert!(
                std::time::Instant::now() < deadline,
                "{} did not start inside the chroot",
                expected.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        process
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's pid only.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn demo_findings(report: &Value) -> Vec<common::Seen> {
    common::findings(report)
        .into_iter()
        .filter(|f| f.package == DEMO)
        .collect()
}

#[test]
fn apply_upgrades_and_verify_reports_fixed() {
    let chroot = Chroot::new(&["1.0-1", "1.0-2"]);

    let report = chroot.scan();
    let found = demo_findings(&report);
    assert_eq!(
        found.len(),
        1,
        "the scan finds the demo package vulnerable: {found:?}"
    );
    assert_eq!(found[0].id, ADVISORY);
    assert_eq!(found[0].installed, "1.0-1");
    assert_eq!(found[0].fixed.as_deref(), Some("1.0-2"));

    let output = chroot.apply();
    assert_eq!(
        code(&output),
        0,
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("1 succeeded, 0 failed, 0 skipped"),
        "{}",
        stdout(&output)
    );
    assert_eq!(chroot.installed_version(), "1.0-2");

    let (exit, verified) = chroot.verify();
    assert_eq!(exit, 0, "{verified:#}");
    let findings = verified["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{verified:#}");
    assert_eq!(findings[0]["verdict"], "fixed");
    assert_eq!(findings[0]["id"], ADVISORY);

    let db = chroot.db.to_str().unwrap();
    let journal_dir = chroot.journal_dir.to_str().unwrap();
    let output = vulnloop(&["verify", "--db", db, "--journal-dir", journal_dir]);
    assert_eq!(
        code(&output),
        0,
        "verify without --root rescans the journal's root: {}",
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("1 fixed, 0 fixed with a restart pending, 0 fix failed"),
        "{}",
        stdout(&output)
    );

    let elsewhere = tempfile::tempdir().unwrap();
    let output = vulnloop(&[
        "verify",
        "--root",
        elsewhere.path().to_str().unwrap(),
        "--db",
        db,
        "--journal-dir",
        journal_dir,
    ]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("records a run in {}", chroot.root())),
        "{}",
        stderr(&output)
    );

    let journal = chroot.journal();
    assert_eq!(journal.len(), 3, "run, step and end records: {journal:?}");
    assert_eq!(journal[0]["record"], "run");
    assert_eq!(journal[0]["root"], chroot.root().to_string());
    let step = &journal[1];
    assert_eq!(step["record"], "step");
    assert_eq!(step["outcome"], "succeeded");
    assert_eq!(step["exit_code"], 0);
    let argv: Vec<&str> = step["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        argv,
        [
            "chroot",
            chroot.root(),
            "apt-get",
            "install",
            "--only-upgrade",
            "-y",
            DEMO
        ]
    );
    assert_eq!(step["packages"][0]["name"], DEMO);
    assert_eq!(step["packages"][0]["before"], "1.0-1");
    assert_eq!(step["packages"][0]["after"], "1.0-2");
    assert!(step["started_at"].as_str().unwrap() <= step["ended_at"].as_str().unwrap());
    assert_eq!(journal[2]["record"], "end");
    assert_eq!(journal[2]["succeeded"], 1);

    assert_eq!(
        chroot.lifecycle(),
        ["unfixed", "fixing", "fixed", "verified"],
        "one verify with --state"
    );
    let report = chroot.scan();
    assert!(demo_findings(&report).is_empty(), "{report:#}");
    assert_eq!(report["history"]["resolved"], 1, "{report:#}");
    let output = vulnloop(&["diff", "--state", chroot.state(), "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let diff: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let resolved: Vec<&str> = diff["resolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(resolved.contains(&ADVISORY), "{diff:#}");
    assert_eq!(diff["new"].as_array().unwrap().len(), 0, "{diff:#}");

    let output = vulnloop(&["history", "--state", chroot.state(), "--finding", ADVISORY]);
    let text = stdout(&output);
    assert!(
        text.contains(&format!("{ADVISORY} in {DEMO} on ")),
        "{text}"
    );
    assert!(text.contains("verified"), "{text}");
}

#[test]
fn verify_names_process_of_replaced_file() {
    let chroot = Chroot::new(&["1.0-1", "1.0-2"]);
    let process = DemoProcess::start(&chroot.root);

    let output = chroot.apply();
    assert_eq!(
        code(&output),
        0,
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(chroot.installed_version(), "1.0-2");

    let (exit, verified) = chroot.verify();
    assert_eq!(exit, 0, "a pending restart counts as fixed: {verified:#}");
    let finding = &verified["findings"][0];
    assert_eq!(finding["verdict"], "fixed_restart_pending", "{verified:#}");
    assert_eq!(finding["id"], ADVISORY);
    let expected = format!("restart demo-sleep ({})", process.pid());
    assert_eq!(finding["detail"], expected.as_str(), "{verified:#}");

    let output = vulnloop(&["inventory", "--root", chroot.root(), "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let inventory: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let processes = inventory["runtime"]["processes"].as_array().unwrap();
    assert_eq!(
        processes.len(),
        1,
        "only the process inside the chroot: {processes:?}"
    );
    assert_eq!(processes[0]["pid"], process.pid());
    assert_eq!(
        processes[0]["deleted_files"][0], DEMO_SLEEP,
        "the path inside the chroot: {processes:?}"
    );
    drop(process);

    let (exit, verified) = chroot.verify();
    assert_eq!(exit, 0, "{verified:#}");
    assert_eq!(
        verified["findings"][0]["verdict"], "fixed",
        "no process runs in the chroot any more: {verified:#}"
    );
}

#[test]
fn apply_without_fixed_version_fails_cleanly() {
    let chroot = Chroot::new(&["1.0-1"]);
    let status_before = chroot.dpkg_status();

    let output = chroot.apply();
    let text = stdout(&output);
    assert_eq!(
        code(&output),
        1,
        "a failed step exits 1; stdout: {text}\nstderr: {}",
        stderr(&output)
    );
    assert!(text.contains("0 succeeded, 1 failed"), "{text}");
    assert!(
        text.contains("vulnloop-demo is already the newest version (1.0-1)"),
        "apt's message: {text}"
    );
    assert_eq!(chroot.installed_version(), "1.0-1");
    assert_eq!(
        chroot.dpkg_status(),
        status_before,
        "the failed run changed the chroot's dpkg status"
    );

    let journal = chroot.journal();
    assert_eq!(journal[1]["outcome"], "failed");
    assert_eq!(journal[1]["packages"][0]["before"], "1.0-1");
    assert_eq!(journal[1]["packages"][0]["after"], "1.0-1");

    let (exit, verified) = chroot.verify();
    assert_eq!(exit, 1, "{verified:#}");
    let finding = &verified["findings"][0];
    assert_eq!(finding["verdict"], "fix_failed");
    let detail = finding["detail"].as_str().unwrap();
    assert!(detail.contains("already the newest version"), "{detail}");
    assert_eq!(
        chroot.lifecycle(),
        ["fixing", "fix_failed", "fix_failed"],
        "no scan recorded before the apply"
    );
}

#[test]
fn refresh_finds_new_fixed_version() {
    let chroot = Chroot::new(&["1.0-1"]);
    // A second repository that apt has not read yet offers the fix. A change
    // to the first one would show without an update, because apt reads the
    // index of a file: source in place.
    let updates = chroot.root.join("srv/vulnloop-updates");
    std::fs::create_dir_all(&updates).unwrap();
    let deb = deb_name("1.0-2");
    let bytes = std::fs::read(chroot.work.join(&deb)).unwrap();
    std::fs::write(updates.join(&deb), &bytes).unwrap();
    let sha256: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let index = format!(
        "{}Filename: ./{deb}\nSize: {}\nSHA256: {sha256}\n\n",
        control("1.0-2"),
        bytes.len()
    );
    std::fs::write(updates.join("Packages"), index).unwrap();
    std::fs::write(
        chroot.root.join("etc/apt/sources.list.d/updates.list"),
        "deb [trusted=yes] file:/srv/vulnloop-updates ./\n",
    )
    .unwrap();

    let output = chroot.apply();
    assert_eq!(
        code(&output),
        1,
        "apt's index does not list 1.0-2 yet: {}",
        stdout(&output)
    );
    assert_eq!(chroot.installed_version(), "1.0-1");

    let output = chroot.apply_with(&["--refresh"]);
    assert_eq!(
        code(&output),
        0,
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    assert!(stderr(&output).contains(&format!(
        "refreshing the package index: chroot {} apt-get update",
        chroot.root()
    )));
    assert_eq!(chroot.installed_version(), "1.0-2");
}

#[test]
fn failed_refresh_applies_nothing() {
    let chroot = Chroot::new(&["1.0-1", "1.0-2"]);
    let status_before = chroot.dpkg_status();
    let sources = chroot.root.join("etc/apt/sources.list.d/broken.list");
    std::fs::write(
        &sources,
        "deb [trusted=yes] file:/srv/missing-repository ./\n",
    )
    .unwrap();

    let output = chroot.apply_with(&["--refresh"]);
    assert_eq!(
        code(&output),
        2,
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    let message = stderr(&output);
    assert!(message.contains("apt-get update` failed"), "{message}");
    assert!(
        message.contains("/srv/missing-repository"),
        "apt's message names the source: {message}"
    );
    assert!(message.contains("nothing was applied"), "{message}");
    assert_eq!(chroot.dpkg_status(), status_before);
    assert!(
        !chroot.journal_dir.exists(),
        "no run started, so no journal"
    );
}

#[test]
fn apply_refuses_held_dpkg_lock() {
    let chroot = Chroot::new(&["1.0-1", "1.0-2"]);
    let status_before = chroot.dpkg_status();
    let holder = LockHolder::start(&chroot.root.join("var/lib/dpkg/lock-frontend"));

    let output = chroot.apply();
    let pid = holder.pid();
    drop(holder);

    let message = stderr(&output);
    assert_eq!(code(&output), 2, "stderr: {message}");
    assert!(message.contains("the package manager is busy"), "{message}");
    assert!(
        message.contains(&format!("held by process {pid}")),
        "{message}"
    );
    assert!(message.contains("nothing was applied"), "{message}");
    assert_eq!(chroot.installed_version(), "1.0-1");
    assert_eq!(chroot.dpkg_status(), status_before);
    assert!(
        !chroot.journal_dir.exists(),
        "a refused run writes no journal"
    );
}

#[test]
fn apply_without_terminal_needs_yes() {
    let feeds = tempfile::tempdir().unwrap();
    std::fs::write(feeds.path().join(format!("{ADVISORY}.json")), osv_record()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = common::build_db(feeds.path(), work.path());
    let status = format!(
        "Package: {DEMO}\nStatus: install ok installed\nArchitecture: all\nVersion: 1.0-1\nMaintainer: tests\n\
         Description: test\n\n"
    );
    let root = common::rootfs(
        "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
        &status,
    );
    let journal_dir = work.path().join("journal");

    let output = vulnloop(&[
        "fix",
        "--apply",
        "--root",
        root.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--journal-dir",
        journal_dir.to_str().unwrap(),
    ]);
    let message = stderr(&output);
    assert_eq!(code(&output), 2, "stderr: {message}");
    assert!(message.contains("stdin is not a terminal"), "{message}");
    assert!(message.contains("pass --yes"), "{message}");
    assert!(
        stdout(&output).contains(DEMO),
        "the plan is shown before the refusal: {}",
        stdout(&output)
    );
    assert!(!journal_dir.exists(), "a refused run writes no journal");
}

#[test]
fn verify_without_journal_fails() {
    let work = tempfile::tempdir().unwrap();
    let journal_dir = work.path().join("journal");
    std::fs::create_dir_all(&journal_dir).unwrap();
    let output = vulnloop(&["verify", "--journal-dir", journal_dir.to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("no journal in"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("fix --apply"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn rollback_restores_previous_version() {
    let chroot = Chroot::new(&["1.0-1", "1.0-2"]);
    let output = chroot.apply();
    assert_eq!(
        code(&output),
        0,
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(chroot.installed_version(), "1.0-2");

    let output = chroot.rollback();
    let text = stdout(&output);
    assert_eq!(
        code(&output),
        0,
        "stdout: {text}\nstderr: {}",
        stderr(&output)
    );
    assert!(text.contains("1 succeeded, 0 failed, 0 skipped"), "{text}");
    assert_eq!(chroot.installed_version(), "1.0-1");

    let journals = chroot.journals();
    assert_eq!(
        journals.len(),
        2,
        "the apply and the rollback journal: {journals:?}"
    );
    let (applied, rollback) = (&journals[0], &journals[1]);
    assert_eq!(applied[0]["kind"], "apply");
    assert_eq!(rollback[0]["kind"], "rollback");
    assert_eq!(rollback[0]["rolls_back"], applied[0]["path"]);
    assert_eq!(rollback[0]["root"], chroot.root().to_string());
    let step = &rollback[1];
    assert_eq!(step["outcome"], "succeeded");
    let argv: Vec<&str> = step["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let expected = [
        "apt-get",
        "install",
        "-y",
        "--allow-downgrades",
        "--no-remove",
        "vulnloop-demo=1.0-1",
    ];
    assert_eq!(argv[..2], ["chroot", chroot.root()]);
    assert_eq!(argv[2..], expected);
    assert_eq!(step["packages"][0]["before"], "1.0-2");
    assert_eq!(step["packages"][0]["after"], "1.0-1");
    assert_eq!(rollback[2]["record"], "end");
    assert_eq!(rollback[2]["succeeded"], 1);
    assert_eq!(
        chroot.lifecycle(),
        ["fixing", "fixed", "unfixed"],
        "the rollback reopens the finding"
    );

    let (exit, verified) = chroot.verify();
    assert_eq!(
        exit, 1,
        "verify checks the apply journal, whose fix is undone: {verified:#}"
    );
    assert_eq!(verified["journal"], applied[0]["path"]);
    assert_eq!(verified["findings"][0]["verdict"], "fix_failed");

    let output = chroot.rollback();
    let text = stdout(&output);
    assert_eq!(
        code(&output),
        1,
        "a second rollback skips the step: {text}\nstderr: {}",
        stderr(&output)
    );
    assert!(text.contains("0 succeeded, 0 failed, 1 skipped"), "{text}");
    assert!(
        text.contains("package vulnloop-demo is at 1.0-1, but the apply run left 1.0-2"),
        "{text}"
    );
    assert_eq!(chroot.installed_version(), "1.0-1");
}

#[test]
fn rollback_removes_new_dependency() {
    let chroot = Chroot::new(&["1.0-1"]);
    build_deb(&chroot.root, &chroot.work, DEPENDENT_VERSION);
    let extra = build_extra_deb(&chroot.work);
    // Offer 1.0-1, the fix 1.0-3 and its new dependency.
    let repository = chroot.root.join(REPOSITORY);
    let mut index = String::new();
    let debs = [
        (control("1.0-1"), chroot.work.join(deb_name("1.0-1"))),
        (
            control(DEPENDENT_VERSION),
            chroot.work.join(deb_name(DEPENDENT_VERSION)),
        ),
        (
            std::fs::read_to_string(chroot.work.join("tree-extra/DEBIAN/control")).unwrap(),
            extra,
        ),
    ];
    for (control, deb) in &debs {
        let bytes = std::fs::read(deb).unwrap();
        let name = deb.file_name().unwrap().to_str().unwrap();
        std::fs::write(repository.join(name), &bytes).unwrap();
        let sha256: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        index.push_str(&format!(
            "{control}Filename: ./{name}\nSize: {}\nSHA256: {sha256}\n\n",
            bytes.len()
        ));
    }
    std::fs::write(repository.join("Packages"), index).unwrap();
    run(&mut in_chroot(&chroot.root, &["apt-get", "update"]));
    let status_before = chroot.dpkg_status();

    let output = chroot.apply();
    assert_eq!(
        code(&output),
        0,
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(chroot.installed_version(), DEPENDENT_VERSION);
    assert!(
        stdout(&output).contains(&format!(
            "{EXTRA}: not installed -> 1.0-1 (not in the plan)"
        )),
        "{}",
        stdout(&output)
    );
    let applied = chroot.journal();
    let packages = applied[1]["packages"].as_array().unwrap();
    assert_eq!(
        packages.len(),
        2,
        "the planned package and the new dependency: {packages:?}"
    );
    assert_eq!(packages[1]["name"], EXTRA);
    assert_eq!(packages[1]["before"], Value::Null);
    assert_eq!(packages[1]["after"], "1.0-1");
    assert_eq!(packages[1]["side_effect"], true);

    let output = chroot.rollback();
    let text = stdout(&output);
    assert_eq!(
        code(&output),
        0,
        "stdout: {text}\nstderr: {}",
        stderr(&output)
    );
    assert!(text.contains("2 succeeded, 0 failed, 0 skipped"), "{text}");
    assert!(
        text.contains(&format!("command: dpkg --remove {EXTRA}")),
        "{text}"
    );
    assert_eq!(chroot.installed_version(), "1.0-1");
    let output = in_chroot(&chroot.root, &["dpkg-query", "-W", EXTRA])
        .output()
        .unwrap();
    assert!(!output.status.success(), "{EXTRA} is removed");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no packages found"),
        "without conffiles dpkg forgets it"
    );
    let status_after = chroot.dpkg_status();
    let installed = |status: &str| -> Vec<String> {
        status
            .split("\n\n")
            .filter(|p| p.contains("Status: install ok installed"))
            .map(|p| p.lines().take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(
        installed(&status_after),
        installed(&status_before),
        "the same packages as before the apply run"
    );
}

#[test]
fn rollback_without_old_version_fails() {
    let chroot = Chroot::new(&["1.0-1", "1.0-2"]);
    let output = chroot.apply();
    assert_eq!(
        code(&output),
        0,
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    chroot.set_repository(&["1.0-2"]);
    let status_before = chroot.dpkg_status();

    let output = chroot.rollback();
    let text = stdout(&output);
    assert_eq!(
        code(&output),
        1,
        "a failed step exits 1; stdout: {text}\nstderr: {}",
        stderr(&output)
    );
    assert!(text.contains("0 succeeded, 1 failed, 0 skipped"), "{text}");
    assert!(
        text.contains("E: Version '1.0-1' for 'vulnloop-demo' was not found"),
        "apt's message: {text}"
    );
    assert_eq!(chroot.installed_version(), "1.0-2");
    assert_eq!(
        chroot.dpkg_status(),
        status_before,
        "the failed rollback changed the chroot's dpkg status"
    );

    let rollback = &chroot.journals()[1];
    assert_eq!(rollback[1]["outcome"], "failed");
    assert_eq!(rollback[1]["exit_code"], 100);
    assert_eq!(rollback[1]["packages"][0]["after"], "1.0-2");
}
