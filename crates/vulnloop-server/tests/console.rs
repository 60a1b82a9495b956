//! The console pages driven without sockets or a browser, over a fresh
//! SQLite database per test: sessions, CSRF checks, roles and escaping.

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;
use vulnloop_server::{app, AppState, Store};

struct Server {
    _dir: tempfile::TempDir,
    state: AppState,
    admin: String,
}

/// A response's status, Set-Cookie values and body text.
struct Reply {
    status: StatusCode,
    cookies: Vec<String>,
    location: Option<String>,
    body: String,
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
            state: AppState::new(store, None),
            admin,
        }
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap().to_string())
            .collect();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|value| value.to_str().unwrap().to_string());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            cookies,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str, session: Option<&str>) -> Reply {
        let mut request = Request::builder().uri(path);
        if let Some(session) = session {
            request = request.header(header::COOKIE, format!("vulnloop_session={session}"));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn post_form(&self, path: &str, cookie: &str, form: &str) -> Reply {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie)
            .body(Body::from(form.to_string()))
            .unwrap();
        self.send(request).await
    }

    async fn api_post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.admin))
            .body(Body::from(body.to_string()))
            .unwrap();
        serde_json::from_str(&self.send(request).await.body).unwrap()
    }

    /// Logs in with `token` and returns the session cookie value and the page's CSRF token.
    async fn log_in(&self, token: &str) -> (String, String) {
        let login = self.get("/console/login", None).await;
        let csrf = cookie_value(&login.cookies, "vulnloop_login_csrf").unwrap();
        let form = format!("token={token}&csrf={csrf}");
        let reply = self
            .post_form(
                "/console/login",
                &format!("vulnloop_login_csrf={csrf}"),
                &form,
            )
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let session = cookie_value(&reply.cookies, "vulnloop_session").unwrap();
        let overview = self.get("/console", Some(&session)).await;
        let csrf = hidden_csrf(&overview.body);
        (session, csrf)
    }
}

fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|cookie| {
        let (pair, _) = cookie.split_once(';').unwrap_or((cookie, ""));
        let (key, value) = pair.split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_string())
    })
}

fn hidden_csrf(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    page[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn pages_redirect_without_session() {
    let server = Server::new().await;
    for path in [
        "/console",
        "/console/hosts",
        "/console/vulnerabilities",
        "/console/tasks",
        "/console/settings",
    ] {
        let reply = server.get(path, None).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.location.as_deref(), Some("/console/login"), "{path}");
    }
    let forged = server.get("/console", Some("00_11")).await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_sets_strict_cookie() {
    let server = Server::new().await;
    let login = server.get("/console/login", None).await;
    let csrf = cookie_value(&login.cookies, "vulnloop_login_csrf").unwrap();
    let reply = server
        .post_form(
            "/console/login",
            &format!("vulnloop_login_csrf={csrf}"),
            &format!("token={}&csrf={csrf}", server.admin),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let cookie = reply
        .cookies
        .iter()
        .find(|cookie| cookie.starts_with("vulnloop_session="))
        .unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/console"), "{cookie}");
    // Plain HTTP on loopback: no Secure attribute, or the browser would drop the cookie.
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn login_rejects_wrong_csrf_and_token() {
    let server = Server::new().await;
    let login = server.get("/console/login", None).await;
    let csrf = cookie_value(&login.cookies, "vulnloop_login_csrf").unwrap();

    let cross_site = server
        .post_form(
            "/console/login",
            "",
            &format!("token={}&csrf={csrf}", server.admin),
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    assert!(cookie_value(&cross_site.cookies, "vulnloop_session").is_none());

    let cookie = format!("vulnloop_login_csrf={csrf}");
    let wrong = format!("vlu_{}_{}", "0".repeat(32), "1".repeat(64));
    let reply = server
        .post_form(
            "/console/login",
            &cookie,
            &format!("token={wrong}&csrf={csrf}"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply.body.contains("unknown, revoked or wrong"),
        "{}",
        reply.body
    );

    let reply = server
        .post_form(
            "/console/login",
            &cookie,
            &format!("token=hello&csrf={csrf}"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply.body.contains("not a user API token"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn logout_needs_csrf_token() {
    let server = Server::new().await;
    let (session, csrf) = server.log_in(&server.admin).await;
    let cookie = format!("vulnloop_session={session}");

    let forged = server
        .post_form("/console/logout", &cookie, "csrf=00")
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        server.get("/console", Some(&session)).await.status,
        StatusCode::OK
    );

    let reply = server
        .post_form("/console/logout", &cookie, &format!("csrf={csrf}"))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        server.get("/console", Some(&session)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn viewer_cannot_open_settings() {
    let server = Server::new().await;
    let created = server
        .api_post("/api/v1/users", json!({ "name": "vera", "role": "viewer" }))
        .await;
    let (session, _) = server.log_in(created["token"].as_str().unwrap()).await;
    assert_eq!(
        server.get("/console/settings", Some(&session)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server.get("/console/hosts", Some(&session)).await.status,
        StatusCode::OK
    );

    let (admin_session, _) = server.log_in(&server.admin).await;
    let settings = server.get("/console/settings", Some(&admin_session)).await;
    assert_eq!(settings.status, StatusCode::OK);
    assert!(settings.body.contains("vera"), "{}", settings.body);
}

#[tokio::test]
async fn host_names_are_escaped() {
    let server = Server::new().await;
    let enrollment = server
        .api_post("/api/v1/enrollment-tokens", json!({}))
        .await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/agents/enroll")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({ "enrollment_token": enrollment["token"], "name": "<script>alert(1)</script>" })
                .to_string(),
        ))
        .unwrap();
    assert_eq!(server.send(request).await.status, StatusCode::CREATED);

    let (session, _) = server.log_in(&server.admin).await;
    let hosts = server.get("/console/hosts", Some(&session)).await;
    assert!(
        hosts.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        hosts.body
    );
    assert!(!hosts.body.contains("<script>"), "{}", hosts.body);
}

#[tokio::test]
async fn unknown_finding_is_not_found() {
    let server = Server::new().await;
    let (session, _) = server.log_in(&server.admin).await;
    let reply = server
        .get(
            "/console/finding?host=00&vulnerability=CVE-1&package=x",
            Some(&session),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = server
        .get("/console/vulnerabilities?severity=bogus", Some(&session))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body.contains("severity must be one of"),
        "{}",
        reply.body
    );
}
