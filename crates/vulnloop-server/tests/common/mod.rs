//! A server state over a fresh database per test, on SQLite or PostgreSQL,
//! and helpers that drive the router without sockets.
//!
//! PostgreSQL tests read the server URL from `VULNLOOP_TEST_POSTGRES`
//! (`scripts/test-postgres.sh` starts a cluster and prints one). Its role
//! must be allowed to create databases: each test creates its own, named
//! `vulnloop_test_<random>`, so tests run in parallel. The databases are not
//! dropped; the cluster is meant to be thrown away after the run.

#![allow(dead_code, clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use vulnloop_server::{app, AppState, Store};

/// The database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for each named
/// `async fn(Backend)`, in the modules `sqlite` and `postgres`.
#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::common::postgres_url().is_some() {
                        super::$name($crate::common::Backend::Postgres).await
                    }
                }
            )*
        }
    };
}

/// Returns `VULNLOOP_TEST_POSTGRES`. When it is unset the test is skipped
/// with a message, except under `CI=true`, where it fails.
pub fn postgres_url() -> Option<String> {
    match std::env::var("VULNLOOP_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("VULNLOOP_TEST_POSTGRES is not set; .ci/run starts a PostgreSQL cluster and sets it")
        }
        _ => {
            eprintln!("skipped: VULNLOOP_TEST_POSTGRES is not set (scripts/test-postgres.sh starts a cluster)");
            None
        }
    }
}

/// Creates a fresh database, a SQLite file in `dir` or a new PostgreSQL
/// database, and returns its URL.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("server.db").display()),
        Backend::Postgres => {
            let url = postgres_url().expect("VULNLOOP_TEST_POSTGRES is set");
            let name = format!(
                "vulnloop_test_{}",
                vulnloop_server::secret::new_id().unwrap().to_lowercase()
            );
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&url).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let (base, _database) = url
                .rsplit_once('/')
                .expect("the PostgreSQL URL ends with /DATABASE");
            format!("{base}/{name}")
        }
    }
}

pub struct Server {
    pub _dir: tempfile::TempDir,
    pub state: AppState,
    pub admin: String,
}

impl Server {
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database(backend, dir.path()).await;
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

    pub async fn send(
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

    pub async fn json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        self.send(method, path, token, Body::from(body.to_string()))
            .await
    }

    pub async fn user(&self, name: &str, role: &str) -> String {
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
    pub async fn agent(&self, name: &str) -> (String, String) {
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

    pub async fn audit_actions(&self) -> Vec<String> {
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
