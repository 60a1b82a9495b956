//! The `/api/v1` router driven without sockets, over a fresh SQLite database
//! per test: authentication, roles, enrollment, upload limits and error bodies.

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
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
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("server.db").display()
        );
        let store = Store::connect(&url).await.unwrap();
        let admin = store.create_first_admin().await.unwrap().unwrap();
        Server {
            _dir: dir,
            state: AppState {
                store,
                advisory_db: None,
            },
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

    async fn user(&self, name: &str, role: &str) -> String {
        let (status, body) = self
            .json(
                Method::POST,
                "/api/v1/users",
                Some(&self.admin),
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
                Some(&self.admin),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let enrollment = body["token"].as_str().unwrap();
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

    async fn audit_actions(&self) -> Vec<String> {
        use sqlx::Row;
        let rows = sqlx::query("SELECT action FROM audit_log ORDER BY at")
            .fetch_all(self.state.store.pool())
            .await
            .unwrap();
        rows.iter()
            .map(|row| row.try_get::<String, _>("action").unwrap())
            .collect()
    }
}

#[tokio::test]
async fn health_needs_no_token() {
    let server = Server::new().await;
    let (status, body) = server
        .json(Method::GET, "/api/v1/health", None, json!(null))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let server = Server::new().await;
    let (status, document) = server
        .json(Method::GET, "/api/v1/openapi.json", None, json!(null))
        .await;
    assert_eq!(status, StatusCode::OK);
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(
        paths
            .values()
            .map(|methods| methods.as_object().unwrap().len())
            .sum::<usize>(),
        vulnloop_server::openapi::ROUTES.len()
    );

    // Each documented route exists: the router returns neither the
    // fallback's 404 nor a 405.
    for (method, path) in vulnloop_server::openapi::ROUTES {
        assert!(
            paths[*path].get(*method).is_some(),
            "{method} {path} is not in the document"
        );
        let concrete = path.replace("{id}", "00");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (status, body) = server
            .json(method.clone(), &concrete, None, json!({}))
            .await;
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {concrete}"
        );
        assert_ne!(body["error"], "no such route", "{method} {concrete}");
    }
}

#[tokio::test]
async fn request_without_token_is_401() {
    let server = Server::new().await;
    let (status, body) = server
        .json(Method::GET, "/api/v1/hosts", None, json!(null))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "missing or invalid bearer token");
}

#[tokio::test]
async fn wrong_secret_is_401() {
    let server = Server::new().await;
    let (prefix, _) = server.admin.rsplit_once('_').unwrap();
    let forged = format!("{prefix}_{}", "0".repeat(64));
    let (status, _) = server
        .json(Method::GET, "/api/v1/hosts", Some(&forged), json!(null))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn viewer_cannot_create_enrollment_token() {
    let server = Server::new().await;
    let viewer = server.user("vera", "viewer").await;
    let (status, _) = server
        .json(
            Method::POST,
            "/api/v1/enrollment-tokens",
            Some(&viewer),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server
        .json(Method::GET, "/api/v1/hosts", Some(&viewer), json!(null))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn operator_cannot_create_users() {
    let server = Server::new().await;
    let operator = server.user("otto", "operator").await;
    let (status, _) = server
        .json(
            Method::POST,
            "/api/v1/users",
            Some(&operator),
            json!({ "name": "x", "role": "admin" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn enrollment_token_is_used_up() {
    let server = Server::new().await;
    let (_, body) = server
        .json(
            Method::POST,
            "/api/v1/enrollment-tokens",
            Some(&server.admin),
            json!({ "max_uses": 1 }),
        )
        .await;
    let token = body["token"].as_str().unwrap();
    let enroll = json!({ "enrollment_token": token, "name": "web1" });
    let (first, _) = server
        .json(Method::POST, "/api/v1/agents/enroll", None, enroll.clone())
        .await;
    let (second, body) = server
        .json(Method::POST, "/api/v1/agents/enroll", None, enroll)
        .await;
    assert_eq!(first, StatusCode::CREATED);
    assert_eq!(second, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "the enrollment token has no uses left");
}

#[tokio::test]
async fn agent_cannot_read_other_host() {
    let server = Server::new().await;
    let (own_id, agent) = server.agent("web1").await;
    let (other_id, _) = server.agent("db1").await;

    let (status, _) = server
        .json(
            Method::GET,
            &format!("/api/v1/hosts/{own_id}/findings"),
            Some(&agent),
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .json(
            Method::GET,
            &format!("/api/v1/hosts/{other_id}/findings"),
            Some(&agent),
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .json(Method::GET, "/api/v1/hosts", Some(&agent), json!(null))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn user_cannot_upload_inventory() {
    let server = Server::new().await;
    let (status, _) = server
        .json(
            Method::PUT,
            "/api/v1/agents/self/inventory",
            Some(&server.admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn oversized_upload_is_413() {
    let server = Server::new().await;
    let (_, agent) = server.agent("web1").await;
    let body = Body::from(vec![b' '; MAX_INVENTORY_BYTES + 1]);
    let (status, body) = server
        .send(
            Method::PUT,
            "/api/v1/agents/self/inventory",
            Some(&agent),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body["error"].is_string(), "{body}");
}

#[tokio::test]
async fn malformed_upload_is_400() {
    let server = Server::new().await;
    let (_, agent) = server.agent("web1").await;
    let body = Body::from("{\"schema_version\": 1,");
    let (status, body) = server
        .send(
            Method::PUT,
            "/api/v1/agents/self/inventory",
            Some(&agent),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("the body is not valid JSON"),
        "{body}"
    );
}

#[tokio::test]
async fn non_inventory_json_is_422() {
    let server = Server::new().await;
    let (_, agent) = server.agent("web1").await;
    let (status, body) = server
        .json(
            Method::PUT,
            "/api/v1/agents/self/inventory",
            Some(&agent),
            json!({ "schema_version": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].is_string(), "{body}");
}

#[tokio::test]
async fn server_error_body_names_nothing() {
    let server = Server::new().await;
    sqlx::query("DROP TABLE findings")
        .execute(server.state.store.pool())
        .await
        .unwrap();
    let (status, body) = server
        .json(
            Method::GET,
            "/api/v1/hosts",
            Some(&server.admin),
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, json!({ "error": "internal error" }));
}

#[tokio::test]
async fn changes_are_audited() {
    let server = Server::new().await;
    server.user("vera", "viewer").await;
    server.agent("web1").await;
    let actions = server.audit_actions().await;
    assert_eq!(
        actions,
        [
            "user.create",
            "user.create",
            "enrollment_token.create",
            "host.enroll"
        ]
    );
}

#[tokio::test]
async fn first_admin_is_created_once() {
    let server = Server::new().await;
    assert!(server
        .state
        .store
        .create_first_admin()
        .await
        .unwrap()
        .is_none());
}
