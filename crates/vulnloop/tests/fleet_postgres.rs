//! Two real `vulnloop server` processes on one database, on PostgreSQL and
//! on one SQLite file: both serve the API, and each background job run is
//! recorded once per period, never twice. And the real agent's uploads of
//! the captured Debian 12 host, matched and stored on PostgreSQL, with an
//! ignore rule that holds across uploads and webhook events sent to a
//! receiver on a loopback port.
//!
//! The PostgreSQL test reads the cluster URL from `VULNLOOP_TEST_POSTGRES`
//! (`scripts/test-postgres.sh` starts one) and makes its own database
//! there. Without the variable it is skipped, and under `CI=true` it fails.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{build_db, code, feed_dir, stderr, vulnloop, ChangelogHost};
use serde_json::{json, Value};

/// Interval of every job in these tests (`--job-interval`), in seconds.
const JOB_INTERVAL_SECONDS: i64 = 1;

/// A `vulnloop server` child on a free loopback port, killed on drop.
struct ServerProcess {
    child: Child,
    url: String,
    /// The first admin's token, printed only by the server that created it.
    admin_token: Option<String>,
}

impl ServerProcess {
    fn start(database: &str, data_dir: &std::path::Path) -> Self {
        Self::start_with(database, data_dir, &[])
    }

    fn start_with(database: &str, data_dir: &std::path::Path, extra: &[&str]) -> Self {
        let started = common::server::start(
            Command::new(env!("CARGO_BIN_EXE_vulnloop"))
                .args([
                    "server",
                    "--bind",
                    "127.0.0.1:0",
                    "--job-interval",
                    &JOB_INTERVAL_SECONDS.to_string(),
                ])
                .arg("--data-dir")
                .arg(data_dir)
                .args(["--database", database])
                .args(extra),
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
            admin_token,
        }
    }

    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.send("GET", path, token, None)
    }

    fn send(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
        let request = ureq::request(method, &format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {token}"))
            .set("Content-Type", "application/json");
        let response = match body {
            Some(body) => request.send_string(&body.to_string()),
            None => request.call(),
        };
        let response = match response {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(error) => panic!("request failed: {error}"),
        };
        let status = response.status();
        (
            status,
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

/// Creates a database named `name` in the cluster of `VULNLOOP_TEST_POSTGRES`
/// with psql, and returns its URL; `None` skips the test outside CI.
fn postgres_database(name: &str) -> Option<String> {
    let url = match std::env::var("VULNLOOP_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("VULNLOOP_TEST_POSTGRES is not set; .ci/run starts a PostgreSQL cluster and sets it")
        }
        _ => {
            eprintln!("skipped: VULNLOOP_TEST_POSTGRES is not set (scripts/test-postgres.sh starts a cluster)");
            return None;
        }
    };
    let status = Command::new("psql")
        .args([
            url.as_str(),
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .status()
        .expect("psql runs");
    assert!(
        status.success(),
        "psql failed to create the database {name}"
    );
    let (base, _) = url.rsplit_once('/').unwrap();
    Some(format!("{base}/{name}"))
}

/// Starts two servers on `database`, lets the jobs run for a few periods and
/// checks the recorded runs.
fn two_servers_run_each_job_once(database: &str) {
    let data = tempfile::tempdir().unwrap();
    let first = ServerProcess::start(database, data.path());
    let admin = first
        .admin_token
        .clone()
        .expect("the first server created the admin");
    let second = ServerProcess::start(database, data.path());
    assert!(
        second.admin_token.is_none(),
        "the second server found the admin and created none"
    );

    std::thread::sleep(Duration::from_secs(6));
    let (status, hosts) = second.get("/api/v1/hosts", &admin);
    assert_eq!(status, 200, "{hosts}");
    let (status, body) = first.get("/api/v1/job-runs", &admin);
    assert_eq!(status, 200, "{body}");
    drop(first);
    drop(second);

    let mut starts: BTreeMap<String, Vec<chrono::DateTime<chrono::Utc>>> = BTreeMap::new();
    for run in body["runs"].as_array().unwrap() {
        let started_at =
            chrono::DateTime::parse_from_rfc3339(run["started_at"].as_str().unwrap()).unwrap();
        starts
            .entry(run["job"].as_str().unwrap().to_string())
            .or_default()
            .push(started_at.into());
        assert_ne!(run["outcome"], "failed", "{run}");
    }
    assert_eq!(
        starts.keys().collect::<Vec<_>>(),
        [
            "expiry",
            "ignore_rule_expiry",
            "scheduled_scans",
            "webhooks"
        ],
        "{body}"
    );
    for (job, mut times) in starts {
        times.sort();
        assert!(
            times.len() >= 3,
            "{job} ran {} times in 6 seconds with a 1-second interval",
            times.len()
        );
        for pair in times.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(
                gap >= chrono::Duration::seconds(JOB_INTERVAL_SECONDS),
                "{job} started twice within one interval: {} and {}",
                pair[0],
                pair[1]
            );
        }
    }
}

#[test]
fn two_servers_on_postgres() {
    let name = format!("vulnloop_fleet_{}", std::process::id());
    let Some(database) = postgres_database(&name) else {
        return;
    };
    two_servers_run_each_job_once(&database);
}

#[test]
fn two_servers_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("shared.db").display()
    );
    two_servers_run_each_job_once(&database);
}

/// Returns the status of each openssl finding of `host_id`, by vulnerability id.
fn openssl_statuses(
    server: &ServerProcess,
    admin: &str,
    host_id: &str,
) -> BTreeMap<String, String> {
    let (status, body) = server.get(&format!("/api/v1/hosts/{host_id}/findings"), admin);
    assert_eq!(status, 200, "{body}");
    body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["package"] == "openssl")
        .map(|finding| {
            let id = finding["vulnerability_id"].as_str().unwrap().to_string();
            (id, finding["status"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Starts a webhook receiver on a loopback port that stores each event body
/// and responds 200. Returns its URL and the events.
fn start_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", server.server_addr().to_ip().unwrap());
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&events);
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            std::io::Read::read_to_string(request.as_reader(), &mut body).unwrap();
            log.lock()
                .unwrap()
                .push(serde_json::from_str::<Value>(&body).unwrap());
            let _ = request.respond(tiny_http::Response::empty(200));
        }
    });
    (url, events)
}

/// Waits up to 15 seconds for an event with `event` and `vulnerability_id`.
fn wait_for_event(events: &Mutex<Vec<Value>>, event: &str, vulnerability_id: &str) -> Value {
    for _ in 0..150 {
        let found = events
            .lock()
            .unwrap()
            .iter()
            .find(|e| e["event"] == event && e["data"]["vulnerability_id"] == vulnerability_id)
            .cloned();
        if let Some(found) = found {
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no {event} event for {vulnerability_id} arrived in 15 seconds");
}

#[test]
fn ignore_rule_holds_across_uploads_on_postgres() {
    let name = format!("vulnloop_rules_{}", std::process::id());
    let Some(database) = postgres_database(&name) else {
        return;
    };
    let host = ChangelogHost::new();
    let feeds = feed_dir(&["feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst"]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let output = vulnloop(&[
        "inventory",
        "--root",
        host.root.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 0, "inventory failed: {}", stderr(&output));
    let inventory = work.path().join("inventory.json");
    std::fs::write(&inventory, &output.stdout).unwrap();
    let server = ServerProcess::start_with(
        &database,
        work.path(),
        &["--advisory-db", db.to_str().unwrap()],
    );
    let admin = server.admin_token.clone().unwrap();
    let (receiver_url, events) = start_receiver();
    let webhook = json!({ "url": receiver_url, "secret": "fleet-test" });
    let (status, body) = server.send("POST", "/api/v1/webhooks", &admin, Some(&webhook));
    assert_eq!(status, 201, "{body}");

    let (status, enrollment) = server.send(
        "POST",
        "/api/v1/enrollment-tokens",
        &admin,
        Some(&json!({})),
    );
    assert_eq!(status, 201, "{enrollment}");
    let state_dir = work.path().join("agent");
    let upload = || {
        let output = vulnloop(&[
            "agent",
            "--server",
            &server.url,
            "--enroll",
            enrollment["token"].as_str().unwrap(),
            "--state-dir",
            state_dir.to_str().unwrap(),
            "--once",
            "--inventory",
            inventory.to_str().unwrap(),
            "--name",
            "debian12-web",
        ]);
        assert_eq!(code(&output), 0, "agent failed: {}", stderr(&output));
    };
    upload();
    let (_, hosts) = server.get("/api/v1/hosts", &admin);
    let host_id = hosts["hosts"][0]["id"].as_str().unwrap().to_string();
    let before = openssl_statuses(&server, &admin, &host_id);
    assert!(
        before.len() >= 2,
        "the host needs two openssl findings: {before:?}"
    );
    assert!(
        before.values().all(|status| status == "unfixed"),
        "{before:?}"
    );

    // Ignore one openssl vulnerability on this host.
    let ignored_id = before.keys().next().unwrap().clone();
    let rule = json!({ "vulnerability_id": ignored_id, "package": "openssl", "host_id": host_id, "reason": "accepted risk" });
    let (status, rule) = server.send("POST", "/api/v1/ignore-rules", &admin, Some(&rule));
    assert_eq!(status, 201, "{rule}");
    assert_eq!(rule["ignored_findings"], 1);

    // The webhooks job sent the upload's new findings and the rule's change.
    let opened = wait_for_event(&events, "finding.opened", &ignored_id);
    assert_eq!(opened["data"]["host_id"], host_id);
    assert_eq!(opened["data"]["package"], "openssl");
    assert_eq!(opened["data"]["status"], "unfixed");
    let changed = wait_for_event(&events, "finding.status_changed", &ignored_id);
    assert_eq!(changed["data"]["status"], "ignored");

    // The next upload reports the finding again; it stays ignored.
    upload();
    let after = openssl_statuses(&server, &admin, &host_id);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    for (id, status) in &after {
        let expected = if *id == ignored_id {
            "ignored"
        } else {
            "unfixed"
        };
        assert_eq!(status, expected, "{id}");
    }

    let path = format!("/api/v1/ignore-rules/{}", rule["id"].as_str().unwrap());
    let (status, body) = server.send("DELETE", &path, &admin, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["restored_findings"], 1);
    assert_eq!(
        openssl_statuses(&server, &admin, &host_id)[&ignored_id],
        "unfixed"
    );
}
