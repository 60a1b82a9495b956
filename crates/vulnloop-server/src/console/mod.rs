//! The web console: server-rendered HTML pages under `/console` that read
//! the same database as `/api/v1`.
//!
//! A person logs in by pasting a user API token, and the server keeps a
//! session for them ([`session`]). The pages need no JavaScript. Every POST
//! form carries the session's CSRF token. Roles apply as in the API: viewers
//! read, operators also fix, verify and ignore, and admins also see the
//! settings. The stylesheet is compiled into the binary, so the console
//! works without network access.

mod actions;
mod error;
mod finding;
mod layout;
mod pages;
mod session;

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

pub use session::ServedOverTls;

use crate::AppState;

const STYLESHEET: &str = include_str!("../../assets/console.css");

/// Builds the router of the console pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/console", get(pages::overview))
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .route("/console/vulnerabilities", get(pages::vulnerabilities))
        .route("/console/vulnerabilities/{id}", get(pages::vulnerability))
        .route("/console/hosts", get(pages::hosts))
        .route("/console/hosts/{id}", get(pages::host))
        .route("/console/finding", get(finding::page_handler))
        .route("/console/finding/fix", post(actions::fix))
        .route("/console/finding/verify", post(actions::verify))
        .route("/console/finding/ignore", post(actions::ignore))
        .route("/console/tasks", get(pages::tasks))
        .route("/console/settings", get(pages::settings))
        .route("/console/static/console.css", get(stylesheet))
        .layer(axum::middleware::from_fn(security_headers))
}

async fn stylesheet() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET)
}

/// Adds headers that keep pages out of frames and caches and allow only the
/// console's own stylesheet, with no scripts.
async fn security_headers(request: Request<axum::body::Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
