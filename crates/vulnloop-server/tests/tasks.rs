//! The task routes driven without sockets: an advisory database built from
//! the Debian 12 changelog feed, the captured Debian 12 host's inventory
//! uploaded by an enrolled agent, and fix and verify tasks that move its
//! openssl findings through the lifecycle.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sqlx::Row;
use tower::ServiceExt;
use vulnloop_inventory::Inventory;
use vulnloop_server::{app, AppState, Store};

const CHANGELOG_OSV: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";

struct Quiet;

impl vulnloop_db::Progress for Quiet {
    fn file_started(&mut self, _name: &str, _size: Option<u64>) {}
    fn bytes_downloaded(&mut self, _bytes: u64) {}
    fn file_finished(&mut self, _name: &str, _records: usize) {}
}

/// The advisory database and the host inventory, built once per test binary.
struct Fixture {
    _dir: tempfile::TempDir,
    db: PathBuf,
    inventory: Inventory,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let feeds = dir.path().join("feeds");
        std::fs::create_dir(&feeds).unwrap();
        let feed = vulnloop_testdata::data_file(CHANGELOG_OSV);
        std::os::unix::fs::symlink(&feed, feeds.join(feed.file_name().unwrap())).unwrap();
        let db = dir.path().join("advisories.db");
        vulnloop_db::update(&db, &vulnloop_db::FeedOrigin::Directory(feeds), &mut Quiet).unwrap();

        let unpacked = vulnloop_testdata::unpack(CHANGELOG_OSV);
        let base = unpacked.path().join("debian12-changelog-osv");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
        std::fs::copy(base.join("host-os-release"), root.join("etc/os-release")).unwrap();
        std::fs::copy(
            base.join("host-dpkg-status"),
            root.join("var/lib/dpkg/status"),
        )
        .unwrap();
        let options = vulnloop_collect::CollectOptions {
            root,
            os_override: None,
        };
        let inventory = vulnloop_collect::collect(&options).unwrap();
        Fixture {
            _dir: dir,
            db,
            inventory,
        }
    })
}

/// Returns the inventory with every binary of `source` raised to `version`,
/// as the host reads after a successful upgrade.
fn upgraded(inventory: &Inventory, source: &str, version: &str) -> Inventory {
    let mut upgraded = inventory.clone();
    for package in &mut upgraded.packages {
        if package.source_name() == source {
            package.version = version.to_string();
            if package.source_version.is_some() {
                package.source_version = Some(version.to_string());
            }
        }
    }
    upgraded
}

struct Server {
    _dir: tempfile::TempDir,
    state: AppState,
    admin: String,
}

impl Server {
    async fn new(advisory_db: Option<&Path>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("server.db").display()
        );
        let store = Store::connect(&url).await.unwrap();
        let admin = store.create_first_admin().await.unwrap().unwrap();
        let state = AppState::new(store, advisory_db.map(Path::to_path_buf));
        Server {
            _dir: dir,
            state,
            admin,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Body,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(body)
            .unwrap();
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&bytes) }));
        (status, body)
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        self.send(method, path, token, Body::from(body.to_string()))
            .await
    }

    async fn user(&self, name: &str, role: &str) -> String {
        let (status, body) = self
            .json(
                Method::POST,
                "/api/v1/users",
                &self.admin,
                json!({ "name": name, "role": role }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Enrolls an agent and returns its host id and agent token.
    async fn agent(&self, name: &str) -> (String, String) {
        let (status, body) = self
            .json(
                Method::POST,
                "/api/v1/enrollment-tokens",
                &self.admin,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let enrollment = body["token"].as_str().unwrap().to_string();
        let request = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/agents/enroll")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({ "enrollment_token": enrollment, "name": name }).to_string(),
            ))
            .unwrap();
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value =
            serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes())
                .unwrap();
        (
            body["host_id"].as_str().unwrap().to_string(),
            body["agent_token"].as_str().unwrap().to_string(),
        )
    }

    async fn upload(&self, agent: &str, inventory: &Inventory) -> Value {
        let body = Body::from(serde_json::to_string(inventory).unwrap());
        let (status, summary) = self
            .send(Method::PUT, "/api/v1/agents/self/inventory", agent, body)
            .await;
        assert_eq!(status, StatusCode::OK, "{summary}");
        summary
    }

    async fn findings(&self, host_id: &str) -> Vec<Value> {
        let (status, body) = self
            .json(
                Method::GET,
                &format!("/api/v1/hosts/{host_id}/findings"),
                &self.admin,
                json!(null),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["findings"].as_array().unwrap().clone()
    }

    async fn status_of(&self, host_id: &str, finding: &Value) -> String {
        let findings = self.findings(host_id).await;
        let row = findings
            .iter()
            .find(|f| {
                f["vulnerability_id"] == finding["vulnerability_id"]
                    && f["package"] == finding["package"]
            })
            .unwrap();
        row["status"].as_str().unwrap().to_string()
    }

    async fn claim(&self, agent: &str) -> Vec<Value> {
        let (status, body) = self
            .json(Method::GET, "/api/v1/agents/self/tasks", agent, json!(null))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["tasks"].as_array().unwrap().clone()
    }

    async fn report(&self, agent: &str, task_id: &str, result: Value) -> (StatusCode, Value) {
        self.json(
            Method::POST,
            &format!("/api/v1/agents/self/tasks/{task_id}/result"),
            agent,
            result,
        )
        .await
    }
}

/// A server with the advisory database and one agent whose host uploaded
/// the captured inventory; returns the host id, the agent token and one
/// openssl finding with a fixed version.
async fn host_with_openssl() -> (Server, String, String, Value) {
    let fixture = fixture();
    let server = Server::new(Some(&fixture.db)).await;
    let (host_id, agent) = server.agent("debian12-web").await;
    server.upload(&agent, &fixture.inventory).await;
    let findings = server.findings(&host_id).await;
    let openssl = findings
        .iter()
        .find(|f| f["package"] == "openssl" && f["fixed_version"].is_string())
        .expect("the captured host has an openssl finding with a fixed version")
        .clone();
    (server, host_id, agent, openssl)
}

fn finding_ref(finding: &Value) -> Value {
    json!({ "vulnerability_id": finding["vulnerability_id"], "package": finding["package"] })
}

async fn create_fix(
    server: &Server,
    token: &str,
    host_id: &str,
    finding: &Value,
) -> (StatusCode, Value) {
    let request = json!({ "host_id": host_id, "kind": "fix", "findings": [finding_ref(finding)] });
    server
        .json(Method::POST, "/api/v1/tasks", token, request)
        .await
}

#[tokio::test]
async fn operator_creates_fix_task() {
    let (server, host_id, _agent, openssl) = host_with_openssl().await;
    let operator = server.user("otto", "operator").await;

    let (status, task) = create_fix(&server, &operator, &host_id, &openssl).await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    assert_eq!(task["state"], "queued");
    assert_eq!(task["kind"], "fix");
    assert_eq!(task["payload"]["package_manager"], "apt");
    assert_eq!(task["payload"]["os"], "debian:12");
    let package = &task["payload"]["packages"][0];
    assert_eq!(package["package"], "openssl");
    assert_eq!(package["installed_version"], openssl["installed_version"]);
    assert_eq!(
        package["vulnerabilities"][0]["vulnerability_id"],
        openssl["vulnerability_id"]
    );
    assert_eq!(task["findings"], json!([finding_ref(&openssl)]));
    assert_eq!(server.status_of(&host_id, &openssl).await, "fixing");

    let (status, read) = server
        .json(
            Method::GET,
            &format!("/api/v1/tasks/{}", task["id"].as_str().unwrap()),
            &operator,
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["id"], task["id"]);
    let actions: Vec<String> = sqlx::query("SELECT action FROM audit_log")
        .fetch_all(server.state.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get("action").unwrap())
        .collect();
    assert!(actions.contains(&"task.create".to_string()), "{actions:?}");
}

#[tokio::test]
async fn fix_target_is_highest_fixed_version() {
    let (server, host_id, _agent, _) = host_with_openssl().await;
    let findings = server.findings(&host_id).await;
    let openssl: Vec<Value> = findings
        .iter()
        .filter(|f| f["package"] == "openssl" && f["fixed_version"].is_string())
        .cloned()
        .collect();
    let refs: Vec<Value> = openssl.iter().map(finding_ref).collect();
    let request = json!({ "host_id": host_id, "kind": "fix", "findings": refs });
    let (status, task) = server
        .json(Method::POST, "/api/v1/tasks", &server.admin, request)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    let packages = task["payload"]["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1);
    assert_eq!(
        packages[0]["vulnerabilities"].as_array().unwrap().len(),
        openssl.len()
    );
    let target = packages[0]["target_version"].as_str().unwrap();
    for finding in &openssl {
        let fixed = finding["fixed_version"].as_str().unwrap();
        let order = vulnloop_version::Scheme::Dpkg
            .compare(target, fixed)
            .unwrap();
        assert_ne!(
            order,
            std::cmp::Ordering::Less,
            "target {target} is below the fixed version {fixed}"
        );
    }
}

#[tokio::test]
async fn viewer_cannot_create_task() {
    let (server, host_id, agent, openssl) = host_with_openssl().await;
    let viewer = server.user("vera", "viewer").await;
    let (status, body) = create_fix(&server, &viewer, &host_id, &openssl).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = create_fix(&server, &agent, &host_id, &openssl).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(server.status_of(&host_id, &openssl).await, "unfixed");

    let (status, body) = server
        .json(Method::GET, "/api/v1/tasks", &viewer, json!(null))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["tasks"], json!([]));
}

#[tokio::test]
async fn agent_claims_only_own_tasks() {
    let (server, host_id, agent, openssl) = host_with_openssl().await;
    let (_other_id, other_agent) = server.agent("db1").await;
    let (_, task) = create_fix(&server, &server.admin, &host_id, &openssl).await;
    let task_id = task["id"].as_str().unwrap();

    assert_eq!(server.claim(&other_agent).await, Vec::<Value>::new());
    let claimed = server.claim(&agent).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0]["id"], task["id"]);
    assert_eq!(claimed[0]["state"], "running");
    assert_eq!(claimed[0]["payload"], task["payload"]);
    assert_eq!(
        server.claim(&agent).await,
        Vec::<Value>::new(),
        "a second poll got the task again"
    );

    let (status, _) = server
        .report(&other_agent, task_id, json!({ "outcome": "succeeded" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .json(
            Method::GET,
            &format!("/api/v1/tasks/{task_id}"),
            &agent,
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn failed_fix_marks_fix_failed() {
    let (server, host_id, agent, openssl) = host_with_openssl().await;
    let (_, task) = create_fix(&server, &server.admin, &host_id, &openssl).await;
    let task_id = task["id"].as_str().unwrap();
    server.claim(&agent).await;

    let result = json!({ "outcome": "refused", "messages": ["fixes are not allowed by /etc/vulnloop/agent-policy.toml"] });
    let (status, finished) = server.report(&agent, task_id, result).await;
    assert_eq!(status, StatusCode::OK, "{finished}");
    assert_eq!(finished["state"], "failed");
    assert_eq!(finished["result"]["outcome"], "refused");
    assert_eq!(
        finished["result"]["messages"][0],
        "fixes are not allowed by /etc/vulnloop/agent-policy.toml"
    );
    assert_eq!(server.status_of(&host_id, &openssl).await, "fix_failed");

    let (status, _) = server
        .report(&agent, task_id, json!({ "outcome": "succeeded" }))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a finished task took a second result"
    );
}

#[tokio::test]
async fn finished_task_queues_webhook_event() {
    let (server, host_id, agent, openssl) = host_with_openssl().await;
    let (status, webhook) = server
        .json(
            Method::POST,
            "/api/v1/webhooks",
            &server.admin,
            json!({ "url": "http://127.0.0.1:9/hook", "secret": "s3cret-for-signing" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    let (_, task) = create_fix(&server, &server.admin, &host_id, &openssl).await;
    let task_id = task["id"].as_str().unwrap();
    server.claim(&agent).await;
    let (status, _) = server
        .report(
            &agent,
            task_id,
            json!({ "outcome": "failed", "messages": ["apt-get failed"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let rows = sqlx::query("SELECT payload_json FROM webhook_outbox WHERE event = 'task.finished'")
        .fetch_all(server.state.store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one task.finished event per webhook");
    let payload: Value =
        serde_json::from_str(&rows[0].try_get::<String, _>("payload_json").unwrap()).unwrap();
    let text = payload.to_string();
    assert!(text.contains(task_id), "{text}");
    assert!(text.contains("\"failed\""), "{text}");
    assert!(text.contains("fix_failed"), "{text}");
}

#[tokio::test]
async fn fix_then_verify_marks_fixed() {
    let (server, host_id, agent, openssl) = host_with_openssl().await;
    let (_, task) = create_fix(&server, &server.admin, &host_id, &openssl).await;
    let fix_id = task["id"].as_str().unwrap();
    let target = task["payload"]["packages"][0]["target_version"]
        .as_str()
        .unwrap()
        .to_string();
    server.claim(&agent).await;

    // The agent uploads on change before it reports: the finding is gone,
    // but the fix explains that, so it stays fixing.
    let after = upgraded(&fixture().inventory, "openssl", &target);
    server.upload(&agent, &after).await;
    assert_eq!(server.status_of(&host_id, &openssl).await, "fixing");

    let result = json!({ "outcome": "succeeded", "packages": [{ "name": "libssl3", "before": openssl["installed_version"], "after": target }] });
    let (status, finished) = server.report(&agent, fix_id, result).await;
    assert_eq!(status, StatusCode::OK, "{finished}");
    assert_eq!(finished["state"], "succeeded");
    let verify_id = finished["result"]["verify_task_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(server.status_of(&host_id, &openssl).await, "verifying");

    let claimed = server.claim(&agent).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0]["id"], verify_id.as_str());
    assert_eq!(claimed[0]["kind"], "verify");
    assert_eq!(claimed[0]["parent_task_id"], fix_id);
    assert_eq!(claimed[0]["payload"]["packages"], json!(["openssl"]));

    server.upload(&agent, &after).await;
    let (status, verified) = server
        .report(&agent, &verify_id, json!({ "outcome": "succeeded" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(server.status_of(&host_id, &openssl).await, "fixed");

    // A later upload keeps the fixed finding fixed.
    server.upload(&agent, &after).await;
    assert_eq!(server.status_of(&host_id, &openssl).await, "fixed");
}

async fn verify_task(server: &Server, host_id: &str, agent: &str, finding: &Value) -> String {
    let request =
        json!({ "host_id": host_id, "kind": "verify", "findings": [finding_ref(finding)] });
    let (status, task) = server
        .json(Method::POST, "/api/v1/tasks", &server.admin, request)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    assert_eq!(server.status_of(host_id, finding).await, "verifying");
    let claimed = server.claim(agent).await;
    assert_eq!(claimed.len(), 1);
    task["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn verify_still_reported_is_fix_failed() {
    let (server, host_id, agent, openssl) = host_with_openssl().await;
    let task_id = verify_task(&server, &host_id, &agent, &openssl).await;
    server.upload(&agent, &fixture().inventory).await;
    let (status, body) = server
        .report(&agent, &task_id, json!({ "outcome": "succeeded" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(server.status_of(&host_id, &openssl).await, "fix_failed");
}

#[tokio::test]
async fn verify_with_restart_is_restart_pending() {
    let (server, host_id, agent, openssl) = host_with_openssl().await;
    let task_id = verify_task(&server, &host_id, &agent, &openssl).await;
    let fixed = openssl["fixed_version"].as_str().unwrap();
    let after = upgraded(&fixture().inventory, "openssl", fixed);
    // Other openssl findings may need a later version; only this one is checked.
    server.upload(&agent, &after).await;
    let (status, body) = server
        .report(
            &agent,
            &task_id,
            json!({ "outcome": "succeeded", "restart_needed": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        server.status_of(&host_id, &openssl).await,
        "restart_pending"
    );
}

#[tokio::test]
async fn verify_result_needs_upload() {
    let (server, host_id, agent, openssl) = host_with_openssl().await;
    let task_id = verify_task(&server, &host_id, &agent, &openssl).await;
    let (status, body) = server
        .report(&agent, &task_id, json!({ "outcome": "succeeded" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains("upload"), "{body}");
    assert_eq!(server.status_of(&host_id, &openssl).await, "verifying");
}

#[tokio::test]
async fn dry_run_restores_status() {
    let (server, host_id, agent, openssl) = host_with_openssl().await;
    let (_, task) = create_fix(&server, &server.admin, &host_id, &openssl).await;
    server.claim(&agent).await;
    let commands = json!([[
        "apt-get",
        "install",
        "--only-upgrade",
        "-y",
        "libssl3",
        "openssl"
    ]]);
    let result = json!({ "outcome": "succeeded", "dry_run": true, "commands": commands });
    let (status, finished) = server
        .report(&agent, task["id"].as_str().unwrap(), result)
        .await;
    assert_eq!(status, StatusCode::OK, "{finished}");
    assert_eq!(finished["result"]["commands"], commands);
    assert!(
        finished["result"].get("verify_task_id").is_none(),
        "{finished}"
    );
    assert_eq!(server.status_of(&host_id, &openssl).await, "unfixed");
    assert_eq!(server.claim(&agent).await, Vec::<Value>::new());
}

#[tokio::test]
async fn finding_in_open_task_is_409() {
    let (server, host_id, _agent, openssl) = host_with_openssl().await;
    let (status, _) = create_fix(&server, &server.admin, &host_id, &openssl).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = create_fix(&server, &server.admin, &host_id, &openssl).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains(openssl["vulnerability_id"].as_str().unwrap()),
        "{body}"
    );
}

#[tokio::test]
async fn finding_without_fixed_version_is_422() {
    let (server, host_id, _agent, openssl) = host_with_openssl().await;
    sqlx::query("UPDATE findings SET fixed_version = NULL WHERE host_id = $1 AND vulnerability_id = $2 AND package = $3")
        .bind(&host_id)
        .bind(openssl["vulnerability_id"].as_str().unwrap())
        .bind("openssl")
        .execute(server.state.store.pool())
        .await
        .unwrap();
    let (status, body) = create_fix(&server, &server.admin, &host_id, &openssl).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("no fixed version"), "{message}");
    assert!(
        message.contains(openssl["vulnerability_id"].as_str().unwrap()),
        "{message}"
    );
    assert_eq!(server.status_of(&host_id, &openssl).await, "unfixed");
}

#[tokio::test]
async fn bad_task_requests_are_4xx() {
    let (server, host_id, _agent, openssl) = host_with_openssl().await;
    let cases = [
        (
            json!({ "host_id": host_id, "kind": "reboot" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "host_id": host_id, "kind": "fix" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "host_id": host_id, "kind": "scan", "findings": [finding_ref(&openssl)] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "host_id": host_id, "kind": "fix", "findings": [{ "vulnerability_id": "CVE-0000-0000", "package": "openssl" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "host_id": "no-such-host", "kind": "scan" }),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({ "host_id": host_id, "kind": "scan", "priority": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (request, expected) in cases {
        let (status, body) = server
            .json(
                Method::POST,
                "/api/v1/tasks",
                &server.admin,
                request.clone(),
            )
            .await;
        assert_eq!(status, expected, "{request} -> {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    let (status, _) = server
        .send(
            Method::POST,
            "/api/v1/tasks",
            &server.admin,
            Body::from("{\"host_id\":"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = server
        .json(
            Method::GET,
            "/api/v1/tasks?state=done",
            &server.admin,
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = server
        .json(
            Method::GET,
            "/api/v1/tasks/no-such-task",
            &server.admin,
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_results_are_4xx() {
    let (server, host_id, agent, _openssl) = host_with_openssl().await;
    let (_, task) = server
        .json(
            Method::POST,
            "/api/v1/tasks",
            &server.admin,
            json!({ "host_id": host_id, "kind": "scan" }),
        )
        .await;
    let task_id = task["id"].as_str().unwrap();

    let (status, _) = server
        .report(&agent, task_id, json!({ "outcome": "succeeded" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a queued task took a result");
    server.claim(&agent).await;
    let cases = [
        json!({ "outcome": "done" }),
        json!({ "messages": [] }),
        json!({ "outcome": "failed", "commands": [[]] }),
        json!({ "outcome": "failed", "messages": vec!["x"; 101] }),
        json!({ "outcome": "failed", "exit": 1 }),
    ];
    for result in cases {
        let (status, body) = server.report(&agent, task_id, result.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{result} -> {body}"
        );
    }
    let (status, body) = server
        .report(&agent, task_id, json!({ "outcome": "succeeded" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "succeeded");
}

#[tokio::test]
async fn scheduled_scan_row_is_claimed() {
    let server = Server::new(None).await;
    let (host_id, agent) = server.agent("web1").await;
    // Other server code queues scans with a plain INSERT.
    sqlx::query(
        "INSERT INTO tasks (id, host_id, kind, payload_json, state, created_by, created_at, updated_at)
         VALUES ('scheduled-1', $1, 'scan', '{}', 'queued', 'server', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    )
    .bind(&host_id)
    .execute(server.state.store.pool())
    .await
    .unwrap();

    let claimed = server.claim(&agent).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0]["id"], "scheduled-1");
    assert_eq!(claimed[0]["payload"], json!({}));
    let (status, body) = server
        .report(&agent, "scheduled-1", json!({ "outcome": "succeeded" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = server
        .json(
            Method::GET,
            &format!("/api/v1/tasks?host_id={host_id}&state=succeeded"),
            &server.admin,
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["tasks"].as_array().unwrap().len(), 1);
}

/// An upload of the same inventory, collected later, confirms the findings
/// of the last match without matching again: the same findings stay open
/// and show the new upload's time. A finding that the expiry job closed
/// while the host was silent opens again, as after a match.
#[tokio::test]
async fn same_inventory_confirms_findings() {
    let (server, host_id, agent, openssl) = host_with_openssl().await;
    let before = server.findings(&host_id).await;
    sqlx::query(
        "UPDATE findings SET status = 'expired' WHERE host_id = $1 AND vulnerability_id = $2 AND package = $3",
    )
    .bind(&host_id)
    .bind(openssl["vulnerability_id"].as_str().unwrap())
    .bind(openssl["package"].as_str().unwrap())
    .execute(server.state.store.pool())
    .await
    .unwrap();

    let mut later = fixture().inventory.clone();
    later.collected_at = "2030-01-01T00:00:00Z".to_string();
    let summary = server.upload(&agent, &later).await;
    assert_eq!(summary["matched"], true, "{summary}");
    assert_eq!(summary["findings"], json!(before.len()), "{summary}");
    assert!(
        summary["note"].as_str().unwrap().contains("confirmed"),
        "{summary}"
    );

    let after = server.findings(&host_id).await;
    assert_eq!(after.len(), before.len());
    let newest_before = before
        .iter()
        .map(|f| f["last_seen_at"].as_str().unwrap())
        .max()
        .unwrap();
    assert!(
        after
            .iter()
            .all(|f| f["last_seen_at"].as_str().unwrap() > newest_before),
        "{after:?}"
    );
    assert!(after.iter().all(|f| f["status"] == "unfixed"), "{after:?}");

    // Another package version is matched again, and its finding closes.
    let fixed = openssl["fixed_version"].as_str().unwrap();
    let summary = server
        .upload(&agent, &upgraded(&later, "openssl", fixed))
        .await;
    assert!(summary.get("note").is_none(), "{summary}");
    assert_eq!(
        server.status_of(&host_id, &openssl).await,
        "no_longer_present"
    );
}

/// A confirmed upload closes findings as a match would: a `fix_failed`
/// finding that the inventory no longer reports becomes `fixed`.
#[tokio::test]
async fn confirmed_upload_closes_missing_findings() {
    let (server, host_id, agent, openssl) = host_with_openssl().await;
    let fixed = openssl["fixed_version"].as_str().unwrap();
    let upgraded = upgraded(&fixture().inventory, "openssl", fixed);
    server.upload(&agent, &upgraded).await;
    assert_eq!(
        server.status_of(&host_id, &openssl).await,
        "no_longer_present"
    );
    // As when a fix task reports failure after the upgrade was uploaded.
    sqlx::query(
        "UPDATE findings SET status = 'fix_failed' WHERE host_id = $1 AND vulnerability_id = $2 AND package = $3",
    )
    .bind(&host_id)
    .bind(openssl["vulnerability_id"].as_str().unwrap())
    .bind(openssl["package"].as_str().unwrap())
    .execute(server.state.store.pool())
    .await
    .unwrap();

    let summary = server.upload(&agent, &upgraded).await;
    assert!(
        summary["note"].as_str().unwrap().contains("confirmed"),
        "{summary}"
    );
    assert_eq!(server.status_of(&host_id, &openssl).await, "fixed");
}
