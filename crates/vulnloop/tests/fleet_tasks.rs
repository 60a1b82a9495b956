//! Fix tasks end to end: the real `vulnloop server` on loopback, an
//! operator queuing a fix, and the real `vulnloop agent` claiming it under
//! its local policy file. The policy tests use the captured Debian 12 host
//! and the Debian 12 changelog feed. The apply test upgrades a demo package
//! with apt in a Debian bookworm chroot (see `common::debian_chroot`), so it
//! needs root and `VULNLOOP_TEST_CHROOT`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use common::debian_chroot::{DemoChroot, ADVISORY, DEMO};
use common::{build_db, code, feed_dir, stderr, vulnloop, ChangelogHost};
use serde_json::{json, Value};

const CHANGELOG_OSV: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";

/// A `vulnloop server` child on a free loopback port, killed on drop.
// NOTE: the same helper lives in tests/fleet.rs; move both to tests/common
// when the fleet test files are merged.
struct ServerProcess {
    child: Child,
    url: String,
    admin_token: String,
    _data: tempfile::TempDir,
}

impl ServerProcess {
    fn start(advisory_db: &Path) -> Self {
        let data = tempfile::tempdir().unwrap();
        let started = common::server::start(
            Command::new(env!("CARGO_BIN_EXE_vulnloop"))
                .args(["server", "--bind", "127.0.0.1:0", "--data-dir"])
                .arg(data.path())
                .arg("--advisory-db")
                .arg(advisory_db),
        );
        let common::server::Started {
            child,
            url,
            admin_token,
            ..
        } = started;
        Self {
            child,
            url,
            admin_token: admin_token.unwrap(),
            _data: data,
        }
    }

    fn get(&self, path: &str) -> Value {
        let response = ureq::get(&format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {}", self.admin_token))
            .call()
            .unwrap();
        serde_json::from_str(&response.into_string().unwrap()).unwrap()
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = ureq::post(&format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {}", self.admin_token))
            .set("Content-Type", "application/json")
            .send_string(&body.to_string());
        let response = match response {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(error) => panic!("request failed: {error}"),
        };
        (
            response.status(),
            serde_json::from_str(&response.into_string().unwrap()).unwrap(),
        )
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server, a host root enrolled through one agent run, and the host's findings.
struct Fleet {
    server: ServerProcess,
    work: tempfile::TempDir,
    host_id: String,
}

impl Fleet {
    /// Starts the server and runs the agent once over `root`, which enrolls and uploads.
    fn start(root: &Path, db: &Path, policy: &Path) -> Self {
        let server = ServerProcess::start(db);
        let work = tempfile::tempdir().unwrap();
        let (status, enrollment) = server.post("/api/v1/enrollment-tokens", &json!({}));
        assert_eq!(status, 201, "{enrollment}");
        let mut fleet = Fleet {
            server,
            work,
            host_id: String::new(),
        };
        let output = fleet.run_agent(root, policy, Some(enrollment["token"].as_str().unwrap()));
        assert_eq!(
            code(&output),
            0,
            "first agent run failed: {}",
            stderr(&output)
        );
        let hosts = fleet.server.get("/api/v1/hosts");
        fleet.host_id = hosts["hosts"][0]["id"].as_str().unwrap().to_string();
        fleet
    }

    fn run_agent(
        &self,
        root: &Path,
        policy: &Path,
        enrollment: Option<&str>,
    ) -> std::process::Output {
        let state_dir = self.work.path().join("agent");
        let mut args = vec![
            "agent",
            "--server",
            &self.server.url,
            "--state-dir",
            state_dir.to_str().unwrap(),
            "--once",
            "--root",
            root.to_str().unwrap(),
            "--no-webapps",
            "--policy",
            policy.to_str().unwrap(),
            "--name",
            "debian12-web",
        ];
        if let Some(token) = enrollment {
            args.extend(["--enroll", token]);
        }
        vulnloop(&args)
    }

    fn findings(&self) -> Vec<Value> {
        self.server
            .get(&format!("/api/v1/hosts/{}/findings", self.host_id))["findings"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn status_of(&self, finding: &Value) -> String {
        let findings = self.findings();
        let row = findings
            .iter()
            .find(|f| {
                f["vulnerability_id"] == finding["vulnerability_id"]
                    && f["package"] == finding["package"]
            })
            .unwrap();
        row["status"].as_str().unwrap().to_string()
    }

    /// Queues a fix task for `finding` as an operator and returns its id.
    fn create_fix(&self, finding: &Value) -> String {
        let operator = self
            .server
            .post(
                "/api/v1/users",
                &json!({ "name": "otto", "role": "operator" }),
            )
            .1;
        let token = operator["token"].as_str().unwrap();
        let body = json!({
            "host_id": self.host_id,
            "kind": "fix",
            "findings": [{ "vulnerability_id": finding["vulnerability_id"], "package": finding["package"] }],
        });
        let response = ureq::post(&format!("{}/api/v1/tasks", self.server.url))
            .set("Authorization", &format!("Bearer {token}"))
            .set("Content-Type", "application/json")
            .send_string(&body.to_string())
            .unwrap();
        assert_eq!(response.status(), 201);
        let task: Value = serde_json::from_str(&response.into_string().unwrap()).unwrap();
        assert_eq!(self.status_of(finding), "fixing");
        task["id"].as_str().unwrap().to_string()
    }
}

fn write_policy(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("agent-policy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn openssl_finding(fleet: &Fleet) -> Value {
    fleet
        .findings()
        .into_iter()
        .find(|f| f["package"] == "openssl" && f["fixed_version"].is_string())
        .expect("the captured host has an openssl finding with a fixed version")
}

#[test]
fn dry_run_policy_lists_apt_command() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let policy = write_policy(
        work.path(),
        "allow_fixes = true\nexecutor = \"dry-run\"\npackage_managers = [\"apt\"]\npackages = [\"openssl\"]\n",
    );
    let fleet = Fleet::start(host.root.path(), &db, &policy);
    let openssl = openssl_finding(&fleet);
    let task_id = fleet.create_fix(&openssl);

    let output = fleet.run_agent(host.root.path(), &policy, None);
    assert_eq!(code(&output), 0, "agent failed: {}", stderr(&output));

    let task = fleet.server.get(&format!("/api/v1/tasks/{task_id}"));
    assert_eq!(task["state"], "succeeded", "{task}");
    assert_eq!(task["result"]["dry_run"], true, "{task}");
    let command: Vec<&str> = task["result"]["commands"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap())
        .collect();
    let root = host.root.path().to_str().unwrap();
    assert_eq!(
        command[..6],
        ["chroot", root, "apt-get", "install", "--only-upgrade", "-y"],
        "{command:?}"
    );
    assert!(command.contains(&"libssl3"), "{command:?}");
    assert_eq!(fleet.status_of(&openssl), "unfixed");
    let tasks = fleet
        .server
        .get(&format!("/api/v1/tasks?host_id={}", fleet.host_id));
    assert!(
        tasks["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["kind"] != "verify"),
        "a dry run queued a verify: {tasks}"
    );
}

#[test]
fn missing_policy_refuses_fix() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let policy = work.path().join("no-such-policy.toml");
    let fleet = Fleet::start(host.root.path(), &db, &policy);
    let openssl = openssl_finding(&fleet);
    let task_id = fleet.create_fix(&openssl);

    let output = fleet.run_agent(host.root.path(), &policy, None);
    assert_eq!(code(&output), 0, "agent failed: {}", stderr(&output));

    let task = fleet.server.get(&format!("/api/v1/tasks/{task_id}"));
    assert_eq!(task["state"], "failed", "{task}");
    assert_eq!(task["result"]["outcome"], "refused", "{task}");
    let message = task["result"]["messages"][0].as_str().unwrap();
    assert!(message.contains("no policy file"), "{message}");
    assert!(message.contains("no-such-policy.toml"), "{message}");
    assert_eq!(fleet.status_of(&openssl), "fix_failed");
}

#[test]
fn apply_policy_fixes_chroot_package() {
    let chroot = DemoChroot::new(&["1.0-1", "1.0-2"]);
    let policy = write_policy(
        &chroot.work,
        &format!("allow_fixes = true\nexecutor = \"apply\"\npackage_managers = [\"apt\"]\npackages = [\"{DEMO}\"]\n"),
    );
    let fleet = Fleet::start(&chroot.root, &chroot.db, &policy);
    let demo = fleet
        .findings()
        .into_iter()
        .find(|f| f["package"] == DEMO)
        .expect("the chroot's first upload reports the demo package");
    assert_eq!(demo["vulnerability_id"], ADVISORY);
    assert_eq!(demo["fixed_version"], "1.0-2");
    let task_id = fleet.create_fix(&demo);

    // One agent run claims the fix, applies it with apt in the chroot, and
    // then claims and runs the verify task that the fix's success queued.
    let output = fleet.run_agent(&chroot.root, &policy, None);
    assert_eq!(code(&output), 0, "agent failed: {}", stderr(&output));
    assert_eq!(chroot.installed_version(), "1.0-2");

    let fix = fleet.server.get(&format!("/api/v1/tasks/{task_id}"));
    assert_eq!(fix["state"], "succeeded", "{fix}");
    assert_eq!(fix["result"]["dry_run"], false, "{fix}");
    let argv: Vec<&str> = fix["result"]["commands"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let root = chroot.root.to_str().unwrap();
    assert_eq!(
        argv,
        [
            "chroot",
            root,
            "apt-get",
            "install",
            "--only-upgrade",
            "-y",
            DEMO
        ]
    );
    assert_eq!(fix["result"]["packages"][0]["before"], "1.0-1", "{fix}");
    assert_eq!(fix["result"]["packages"][0]["after"], "1.0-2", "{fix}");

    let verify_id = fix["result"]["verify_task_id"].as_str().unwrap();
    let verify = fleet.server.get(&format!("/api/v1/tasks/{verify_id}"));
    assert_eq!(verify["state"], "succeeded", "{verify}");
    assert_eq!(verify["parent_task_id"], task_id.as_str());
    assert_eq!(fleet.status_of(&demo), "fixed");
}
