//! The `/api/v1` router driven without sockets, over a fresh database per
//! test on SQLite and on PostgreSQL: authentication, roles, enrollment,
//! upload limits and error bodies.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{Backend, Server};
use serde_json::json;
use vulnloop_server::MAX_INVENTORY_BYTES;

async fn health_needs_no_token(backend: Backend) {
    let server = Server::new(backend).await;
    let (status, body) = server
        .json(Method::GET, "/api/v1/health", None, json!(null))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

async fn openapi_lists_every_route(backend: Backend) {
    let server = Server::new(backend).await;
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

async fn request_without_token_is_401(backend: Backend) {
    let server = Server::new(backend).await;
    let (status, body) = server
        .json(Method::GET, "/api/v1/hosts", None, json!(null))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "missing or invalid bearer token");
}

async fn wrong_secret_is_401(backend: Backend) {
    let server = Server::new(backend).await;
    let (prefix, _) = server.admin.rsplit_once('_').unwrap();
    let forged = format!("{prefix}_{}", "0".repeat(64));
    let (status, _) = server
        .json(Method::GET, "/api/v1/hosts", Some(&forged), json!(null))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn viewer_cannot_create_enrollment_token(backend: Backend) {
    let server = Server::new(backend).await;
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

async fn operator_cannot_create_users(backend: Backend) {
    let server = Server::new(backend).await;
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

async fn enrollment_token_is_used_up(backend: Backend) {
    let server = Server::new(backend).await;
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

async fn agent_cannot_read_other_host(backend: Backend) {
    let server = Server::new(backend).await;
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

async fn user_cannot_upload_inventory(backend: Backend) {
    let server = Server::new(backend).await;
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

async fn oversized_upload_is_413(backend: Backend) {
    let server = Server::new(backend).await;
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

async fn malformed_upload_is_400(backend: Backend) {
    let server = Server::new(backend).await;
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

async fn non_inventory_json_is_422(backend: Backend) {
    let server = Server::new(backend).await;
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

async fn server_error_body_names_nothing(backend: Backend) {
    let server = Server::new(backend).await;
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

async fn changes_are_audited(backend: Backend) {
    let server = Server::new(backend).await;
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

async fn first_admin_is_created_once(backend: Backend) {
    let server = Server::new(backend).await;
    assert!(server
        .state
        .store
        .create_first_admin()
        .await
        .unwrap()
        .is_none());
}

on_each_backend!(
    health_needs_no_token,
    openapi_lists_every_route,
    request_without_token_is_401,
    wrong_secret_is_401,
    viewer_cannot_create_enrollment_token,
    operator_cannot_create_users,
    enrollment_token_is_used_up,
    agent_cannot_read_other_host,
    user_cannot_upload_inventory,
    oversized_upload_is_413,
    malformed_upload_is_400,
    non_inventory_json_is_422,
    server_error_body_names_nothing,
    changes_are_audited,
    first_admin_is_created_once,
);
