//! Identity management through the router, over a fresh database per test
//! on SQLite and on PostgreSQL: listing and revoking user, enrollment and agent tokens, the audit
//! log and its paging, and the audit records of rejected uploads.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::Backend;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use vulnloop_server::{app, AppState, Store, MAX_INVENTORY_BYTES};

struct Server {
    _dir: tempfile::TempDir,
    state: AppState,
    admin: String,
}

impl Server {
    async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = common::fresh_database(backend, dir.path()).await;
        let store = Store::connect(&url).await.unwrap();
        let admin = store.create_first_admin().await.unwrap().unwrap();
        Server {
            _dir: dir,
            state: AppState::new(store, None),
            admin,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Body,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = app(self.state.clone())
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
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
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        self.send(method, path, token, Body::from(body.to_string()))
            .await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, Some(token), Body::empty())
            .await
    }

    /// Creates a user and returns its id and token.
    async fn user(&self, name: &str, role: &str) -> (String, String) {
        let (status, body) = self
            .json(
                Method::POST,
                "/api/v1/users",
                Some(&self.admin),
                json!({ "name": name, "role": role }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["id"].as_str().unwrap().to_string(),
            body["token"].as_str().unwrap().to_string(),
        )
    }

    /// Creates an enrollment token and returns its id and token.
    async fn enrollment_token(&self) -> (String, String) {
        let (status, body) = self
            .json(
                Method::POST,
                "/api/v1/enrollment-tokens",
                Some(&self.admin),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["id"].as_str().unwrap().to_string(),
            body["token"].as_str().unwrap().to_string(),
        )
    }

    /// Enrolls an agent and returns its host id and agent token.
    async fn agent(&self, name: &str) -> (String, String) {
        let (_, enrollment) = self.enrollment_token().await;
        let (status, body) = self
            .json(
                Method::POST,
                "/api/v1/agents/enroll",
                None,
                json!({ "enrollment_token": enrollment, "name": name }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["host_id"].as_str().unwrap().to_string(),
            body["agent_token"].as_str().unwrap().to_string(),
        )
    }

    async fn admin_id(&self) -> String {
        let (_, users) = self.get("/api/v1/users", &self.admin).await;
        let admin = users["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|user| user["name"] == "admin")
            .unwrap();
        admin["id"].as_str().unwrap().to_string()
    }
}

async fn admin_lists_users(backend: Backend) {
    let server = Server::new(backend).await;
    server.user("vera", "viewer").await;
    let (status, body) = server.get("/api/v1/users", &server.admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let users = body["users"].as_array().unwrap();
    let names: Vec<&str> = users
        .iter()
        .map(|user| user["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "vera"]);
    assert_eq!(users[1]["role"], "viewer");
    assert_eq!(users[1]["active_tokens"], 1);
}

async fn non_admins_get_403(backend: Backend) {
    let server = Server::new(backend).await;
    let (_, viewer) = server.user("vera", "viewer").await;
    let (_, operator) = server.user("otto", "operator").await;
    let (host_id, _) = server.agent("web1").await;
    let admin_id = server.admin_id().await;
    let routes = [
        (Method::GET, "/api/v1/users".to_string()),
        (Method::POST, format!("/api/v1/users/{admin_id}/tokens")),
        (Method::DELETE, format!("/api/v1/users/{admin_id}/tokens")),
        (Method::GET, "/api/v1/enrollment-tokens".to_string()),
        (Method::DELETE, "/api/v1/enrollment-tokens/00".to_string()),
        (Method::GET, "/api/v1/agent-tokens".to_string()),
        (Method::DELETE, format!("/api/v1/agent-tokens/{host_id}")),
        (Method::GET, "/api/v1/audit-log".to_string()),
    ];
    for token in [&viewer, &operator] {
        for (method, path) in &routes {
            let (status, body) = server
                .json(method.clone(), path, Some(token), json!({ "name": "x" }))
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        }
    }
}

async fn revoked_user_tokens_get_401(backend: Backend) {
    let server = Server::new(backend).await;
    let (user_id, first) = server.user("vera", "viewer").await;
    let (status, created) = server
        .json(
            Method::POST,
            &format!("/api/v1/users/{user_id}/tokens"),
            Some(&server.admin),
            json!({ "name": "ci" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let second = created["token"].as_str().unwrap();
    let (status, _) = server.get("/api/v1/hosts", second).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = server
        .send(
            Method::DELETE,
            &format!("/api/v1/users/{user_id}/tokens"),
            Some(&server.admin),
            Body::empty(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revoked"], 2);
    for token in [first.as_str(), second] {
        let (status, _) = server.get("/api/v1/hosts", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // The admin's own token still works.
    let (status, _) = server.get("/api/v1/hosts", &server.admin).await;
    assert_eq!(status, StatusCode::OK);
}

async fn last_admin_keeps_a_token(backend: Backend) {
    let server = Server::new(backend).await;
    let admin_id = server.admin_id().await;
    let path = format!("/api/v1/users/{admin_id}/tokens");
    let (status, body) = server
        .send(Method::DELETE, &path, Some(&server.admin), Body::empty())
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = server.get("/api/v1/users", &server.admin).await;
    assert_eq!(status, StatusCode::OK);

    // With a second admin, the first one's tokens can go.
    let (_, second_admin) = server.user("ada", "admin").await;
    let (status, body) = server
        .send(Method::DELETE, &path, Some(&second_admin), Body::empty())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = server.get("/api/v1/users", &server.admin).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn token_for_unknown_user_is_404(backend: Backend) {
    let server = Server::new(backend).await;
    let (status, body) = server
        .json(
            Method::POST,
            "/api/v1/users/00/tokens",
            Some(&server.admin),
            json!({ "name": "ci" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = server
        .json(
            Method::POST,
            "/api/v1/users/00/tokens",
            Some(&server.admin),
            json!({ "name": "" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn revoked_enrollment_token_cannot_enroll(backend: Backend) {
    let server = Server::new(backend).await;
    let (token_id, token) = server.enrollment_token().await;
    let (status, body) = server.get("/api/v1/enrollment-tokens", &server.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["enrollment_tokens"][0]["id"], token_id.as_str());
    assert_eq!(body["enrollment_tokens"][0]["state"], "active");
    assert!(
        body["enrollment_tokens"][0].get("token").is_none(),
        "{body}"
    );

    let path = format!("/api/v1/enrollment-tokens/{token_id}");
    let (status, _) = server
        .send(Method::DELETE, &path, Some(&server.admin), Body::empty())
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .send(Method::DELETE, &path, Some(&server.admin), Body::empty())
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, body) = server.get("/api/v1/enrollment-tokens", &server.admin).await;
    assert_eq!(body["enrollment_tokens"][0]["state"], "revoked");

    let enroll = json!({ "enrollment_token": token, "name": "web1" });
    let (status, _) = server
        .json(Method::POST, "/api/v1/agents/enroll", None, enroll)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server
        .send(
            Method::DELETE,
            "/api/v1/enrollment-tokens/00",
            Some(&server.admin),
            Body::empty(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn revoked_agent_gets_401(backend: Backend) {
    let server = Server::new(backend).await;
    let (host_id, agent) = server.agent("web1").await;
    let (other_id, other_agent) = server.agent("db1").await;
    let findings = format!("/api/v1/hosts/{host_id}/findings");
    let (status, _) = server.get(&findings, &agent).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = server
        .send(
            Method::DELETE,
            &format!("/api/v1/agent-tokens/{host_id}"),
            Some(&server.admin),
            Body::empty(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = server.get(&findings, &agent).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server
        .json(
            Method::PUT,
            "/api/v1/agents/self/inventory",
            Some(&agent),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The other agent is untouched, and the list shows both states.
    let (status, _) = server
        .get(&format!("/api/v1/hosts/{other_id}/findings"), &other_agent)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = server.get("/api/v1/agent-tokens", &server.admin).await;
    let states: Vec<(&str, &str)> = body["agent_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|agent| {
            (
                agent["host_name"].as_str().unwrap(),
                agent["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [("db1", "active"), ("web1", "revoked")]);
}

async fn audit_log_filters_and_pages(backend: Backend) {
    let server = Server::new(backend).await;
    let (user_id, _) = server.user("vera", "viewer").await;
    for name in ["web1", "web2", "web3"] {
        server.agent(name).await;
    }
    let (status, body) = server
        .send(
            Method::DELETE,
            &format!("/api/v1/users/{user_id}/tokens"),
            Some(&server.admin),
            Body::empty(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, all) = server.get("/api/v1/audit-log", &server.admin).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let actions: Vec<&str> = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.len(), 9, "{actions:?}");
    assert_eq!(actions[0], "api_token.revoke_all");
    assert_eq!(actions[8], "user.create");
    assert_eq!(all["next"], Value::Null);

    let (_, enrolls) = server
        .get("/api/v1/audit-log?action=host.enroll", &server.admin)
        .await;
    assert_eq!(enrolls["entries"].as_array().unwrap().len(), 3);
    let actor = all["entries"][0]["actor"].as_str().unwrap();
    let (_, by_admin) = server
        .get(&format!("/api/v1/audit-log?actor={actor}"), &server.admin)
        .await;
    assert_eq!(
        by_admin["entries"].as_array().unwrap().len(),
        5,
        "{by_admin}"
    );

    // Pages of two, following `next`, return every entry once, in order.
    let mut paged = Vec::new();
    let mut path = "/api/v1/audit-log?limit=2".to_string();
    loop {
        let (status, page) = server.get(&path, &server.admin).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        paged.extend(
            page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        if page["next"].is_null() {
            break;
        }
        let until = page["next"]["until"].as_str().unwrap().replace('+', "%2B");
        path = format!(
            "/api/v1/audit-log?limit=2&until={until}&until_id={}",
            page["next"]["until_id"].as_str().unwrap()
        );
    }
    let expected: Vec<Value> = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(paged, expected);

    // A time window: nothing after the newest entry.
    let newest = all["entries"][0]["at"].as_str().unwrap();
    let later =
        chrono::DateTime::parse_from_rfc3339(newest).unwrap() + chrono::Duration::microseconds(1);
    let since = later.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (_, none) = server
        .get(&format!("/api/v1/audit-log?since={since}"), &server.admin)
        .await;
    assert_eq!(none["entries"], json!([]));
}

async fn audit_log_rejects_bad_query(backend: Backend) {
    let server = Server::new(backend).await;
    for query in [
        "since=yesterday",
        "limit=0",
        "limit=1001",
        "until_id=00",
        "color=red",
    ] {
        let (status, body) = server
            .get(&format!("/api/v1/audit-log?{query}"), &server.admin)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["error"].is_string(), "{query}: {body}");
    }
}

async fn rejected_uploads_are_recorded(backend: Backend) {
    let server = Server::new(backend).await;
    let (host_id, agent) = server.agent("web1").await;
    let cases = [
        (
            Body::from(vec![b' '; MAX_INVENTORY_BYTES + 1]),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            Body::from("{\"schema_version\": 1,"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Body::from("{\"schema_version\": 1}"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (body, expected) in cases {
        let (status, body) = server
            .send(
                Method::PUT,
                "/api/v1/agents/self/inventory",
                Some(&agent),
                body,
            )
            .await;
        assert_eq!(status, expected, "{body}");
    }

    let (_, log) = server
        .get(
            "/api/v1/audit-log?action=host.inventory.reject",
            &server.admin,
        )
        .await;
    let entries = log["entries"].as_array().unwrap();
    let statuses: Vec<&Value> = entries
        .iter()
        .map(|entry| &entry["detail"]["status"])
        .collect();
    assert_eq!(statuses, [&json!(422), &json!(400), &json!(413)]);
    for entry in entries {
        assert_eq!(entry["actor"], format!("agent:{host_id}"));
        assert_eq!(entry["target"], host_id.as_str());
        assert!(entry["detail"]["error"].is_string(), "{entry}");
    }
}

on_each_backend!(
    admin_lists_users,
    non_admins_get_403,
    revoked_user_tokens_get_401,
    last_admin_keeps_a_token,
    token_for_unknown_user_is_404,
    revoked_enrollment_token_cannot_enroll,
    revoked_agent_gets_401,
    audit_log_filters_and_pages,
    audit_log_rejects_bad_query,
    rejected_uploads_are_recorded,
);
