//! Console login, logout and sessions.
//!
//! A person logs in with a user API token (`vlu_…`). The server checks it as
//! it checks a bearer token, then stores a session row and sets the cookie
//! `vulnloop_session=<id>_<secret>`: HttpOnly, SameSite=Strict, limited to
//! `/console`, and Secure when the server serves TLS. The login form itself
//! is protected by a double-submit CSRF cookie, because no session exists yet.

use axum::extract::{FromRequestParts, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::error::ConsoleError;
use super::layout::page;
use crate::auth::{authenticate_user, Principal, Role};
use crate::error::ApiError;
use crate::store::{audit, now};
use crate::{secret, AppState};

const SESSION_COOKIE: &str = "vulnloop_session";
const LOGIN_COOKIE: &str = "vulnloop_login_csrf";
/// Lifetime of a console session in hours; a person logs in again after it.
const SESSION_HOURS: i64 = 8;

/// Request extension that marks a server serving TLS, so cookies get the
/// Secure attribute. [`crate::run`] adds it to the TLS router only.
#[derive(Debug, Clone, Copy)]
pub struct ServedOverTls;

/// The logged-in user of a console request.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub user_name: String,
    pub role: Role,
    /// Token that every POST form of this session must send back.
    pub csrf: String,
}

impl Session {
    /// Rejects the request with 403 unless the user has at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ConsoleError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(
                "your role does not allow this request",
            ))
        }
    }

    /// Rejects the request with 403 unless `token` is this session's CSRF token.
    pub fn check_csrf(&self, token: &str) -> Result<(), ConsoleError> {
        if constant_time_eq(token.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(
                "the form's CSRF token is missing or wrong; reload the page and try again",
            ))
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let cookie =
            cookie_value(&parts.headers, SESSION_COOKIE).ok_or(ConsoleError::LoginRequired)?;
        let (id, secret) = split_session_cookie(&cookie).ok_or(ConsoleError::LoginRequired)?;
        let row = sqlx::query(
            "SELECT s.secret_digest, s.csrf_token, s.expires_at, u.id AS user_id, u.name, u.role
             FROM console_sessions s
             JOIN users u ON u.id = s.user_id
             JOIN api_tokens t ON t.id = s.token_id AND t.revoked_at IS NULL
             WHERE s.id = $1",
        )
        .bind(id)
        .fetch_optional(state.store.pool())
        .await?
        .ok_or(ConsoleError::LoginRequired)?;

        let stored: String = row.try_get("secret_digest")?;
        if !constant_time_eq(digest(secret).as_bytes(), stored.as_bytes()) {
            return Err(ConsoleError::LoginRequired);
        }
        let expires_at: String = row.try_get("expires_at")?;
        if expires_at <= now() {
            return Err(ConsoleError::LoginRequired);
        }
        let role: String = row.try_get("role")?;
        let role = Role::parse(&role)
            .ok_or_else(|| anyhow::anyhow!("user has the unknown role {role:?}"))?;
        Ok(Session {
            id: id.to_string(),
            user_id: row.try_get("user_id")?,
            user_name: row.try_get("name")?,
            role,
            csrf: row.try_get("csrf_token")?,
        })
    }
}

/// Whether the request came over TLS, which decides the cookies' Secure attribute.
pub struct Transport {
    tls: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Transport {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Transport {
            tls: parts.extensions.get::<ServedOverTls>().is_some(),
        })
    }
}

impl Transport {
    fn cookie(&self, name: &str, value: &str, path: &str, max_age_seconds: i64) -> String {
        let secure = if self.tls { "; Secure" } else { "" };
        format!("{name}={value}; Path={path}; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict{secure}")
    }
}

pub async fn login_page(transport: Transport) -> Result<Response, ConsoleError> {
    login_form(&transport, StatusCode::OK, None)
}

/// Renders the login form with a fresh CSRF cookie, and `message` above it.
fn login_form(
    transport: &Transport,
    status: StatusCode,
    message: Option<&str>,
) -> Result<Response, ConsoleError> {
    let csrf = secret::random_hex(32)?;
    let body = html! {
        h1 { "Log in" }
        @if let Some(message) = message {
            p.error role="alert" { (message) }
        }
        form.login method="post" action="/console/login" {
            input type="hidden" name="csrf" value=(csrf);
            label for="token" { "API token" }
            input #token type="password" name="token" autocomplete="off" required placeholder="vlu_…";
            button type="submit" { "Log in" }
        }
        p.hint {
            "Paste a user API token. The first admin's token is printed once when the server starts for the \
             first time; an admin creates more users and tokens with POST /api/v1/users."
        }
    };
    let cookie = transport.cookie(LOGIN_COOKIE, &csrf, "/console/login", 3600);
    Ok((status, [(SET_COOKIE, cookie)], page("Log in", None, body)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login(
    State(state): State<AppState>,
    transport: Transport,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    let expected = cookie_value(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return login_form(
            &transport,
            StatusCode::FORBIDDEN,
            Some("The login form expired. Paste the token again."),
        );
    }
    let token = form.token.trim();
    let Some((token_id, token_secret)) = secret::parse(secret::USER_TOKEN, token) else {
        let message = "This is not a user API token: a user token starts with vlu_ followed by two hex parts.";
        return login_form(&transport, StatusCode::UNAUTHORIZED, Some(message));
    };
    let user_id = match authenticate_user(&state, token_id, token_secret).await {
        Ok(Principal::User { id, .. }) => id,
        Ok(Principal::Agent { .. }) | Err(ApiError::Unauthorized) => {
            tracing::info!(token = %token_id, "console login rejected");
            let message = "The token is unknown, revoked or wrong.";
            return login_form(&transport, StatusCode::UNAUTHORIZED, Some(message));
        }
        Err(error) => return Err(error.into()),
    };

    let session_id = secret::new_id()?;
    let session_secret = secret::random_hex(32)?;
    let csrf = secret::random_hex(32)?;
    let at = now();
    let expires_at = (chrono::Utc::now() + chrono::Duration::hours(SESSION_HOURS))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut transaction = state.store.pool().begin().await?;
    // Expired sessions are deleted at each login, so sessions that were
    // never logged out of do not pile up in the table.
    sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
        .bind(&at)
        .execute(&mut *transaction)
        .await?;
    sqlx::query(
        "INSERT INTO console_sessions (id, secret_digest, user_id, token_id, csrf_token, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&session_id)
    .bind(digest(&session_secret))
    .bind(&user_id)
    .bind(token_id)
    .bind(&csrf)
    .bind(&at)
    .bind(&expires_at)
    .execute(&mut *transaction)
    .await?;
    let detail = serde_json::json!({ "token": token_id, "expires_at": expires_at });
    audit(
        &mut transaction,
        &format!("user:{user_id}"),
        "console.login",
        Some(&session_id),
        detail,
    )
    .await?;
    transaction.commit().await?;

    tracing::info!(user = %user_id, "console login");
    let cookie = transport.cookie(
        SESSION_COOKIE,
        &format!("{session_id}_{session_secret}"),
        "/console",
        SESSION_HOURS * 3600,
    );
    let clear_login = transport.cookie(LOGIN_COOKIE, "", "/console/login", 0);
    let mut response = Redirect::to("/console").into_response();
    response
        .headers_mut()
        .append(SET_COOKIE, header_value(&cookie)?);
    response
        .headers_mut()
        .append(SET_COOKIE, header_value(&clear_login)?);
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    transport: Transport,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    session.check_csrf(&form.csrf)?;
    let mut transaction = state.store.pool().begin().await?;
    sqlx::query("DELETE FROM console_sessions WHERE id = $1")
        .bind(&session.id)
        .execute(&mut *transaction)
        .await?;
    audit(
        &mut transaction,
        &format!("user:{}", session.user_id),
        "console.logout",
        Some(&session.id),
        serde_json::json!({}),
    )
    .await?;
    transaction.commit().await?;

    let cookie = transport.cookie(SESSION_COOKIE, "", "/console", 0);
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/console/login")).into_response())
}

fn header_value(text: &str) -> Result<axum::http::HeaderValue, ConsoleError> {
    axum::http::HeaderValue::from_str(text).map_err(|error| {
        ConsoleError::Internal(anyhow::Error::new(error).context("invalid Set-Cookie value"))
    })
}

/// Returns the value of the cookie `name` from the request's Cookie headers.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// Splits a session cookie value into its id and secret, both hex.
fn split_session_cookie(value: &str) -> Option<(&str, &str)> {
    let (id, secret) = value.split_once('_')?;
    let hex = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_hexdigit());
    (hex(id) && hex(secret)).then_some((id, secret))
}

/// Returns the SHA-256 digest of `secret` as lowercase hex.
fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_value_finds_named_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            "a=1; vulnloop_session=ab_cd; b=2"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(
            cookie_value(&headers, SESSION_COOKIE).as_deref(),
            Some("ab_cd")
        );
        assert_eq!(cookie_value(&headers, "missing"), None);
    }

    #[test]
    fn session_cookie_needs_hex_parts() {
        assert_eq!(split_session_cookie("ab_cd"), Some(("ab", "cd")));
        assert_eq!(split_session_cookie("ab_"), None);
        assert_eq!(split_session_cookie("xy_cd"), None);
        assert_eq!(split_session_cookie("abcd"), None);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
