//! Handlers that manage identities (admin only): users and their API tokens,
//! enrollment tokens, agent tokens, and the audit log that records every change.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::store::{audit, now, text};
use crate::AppState;

/// Largest page of the audit log.
const MAX_AUDIT_PAGE: i64 = 1000;
const DEFAULT_AUDIT_PAGE: i64 = 100;

pub async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Admin)?;
    let rows = sqlx::query(
        "SELECT u.id, u.name, u.role, u.created_at,
                (SELECT COUNT(*) FROM api_tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL) AS active_tokens
         FROM users u ORDER BY u.name",
    )
    .fetch_all(state.store.pool())
    .await?;
    let users = rows
        .iter()
        .map(|row| {
            Ok(json!({
                "id": text(row, "id")?,
                "name": text(row, "name")?,
                "role": text(row, "role")?,
                "created_at": text(row, "created_at")?,
                "active_tokens": row.try_get::<i64, _>("active_tokens")?,
            }))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Json(json!({ "users": users })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Label that distinguishes the user's tokens, such as "ci".
    name: String,
}

pub async fn create_user_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(user_id): Path<String>,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(Role::Admin)?;
    let Json(request) = body.map_err(|rejection| ApiError::Unprocessable(rejection.body_text()))?;
    let name = crate::api::checked_name(&request.name, 100)?;

    let mut transaction = state.store.pool().begin().await?;
    require_user(&mut transaction, &user_id).await?;
    let at = now();
    let issued = crate::store::insert_api_token(&mut transaction, &user_id, name, &at).await?;
    let detail = json!({ "user": user_id, "name": name });
    audit(
        &mut transaction,
        &principal.actor(),
        "api_token.create",
        Some(&issued.id),
        detail,
    )
    .await?;
    transaction.commit().await?;

    let body = json!({ "id": issued.id, "user_id": user_id, "name": name, "token": issued.token, "created_at": at });
    Ok((StatusCode::CREATED, Json(body)))
}

/// Revokes every active API token of a user.
///
/// Rejects the request with 409 when it would leave no admin with a working
/// token, because no one could then manage the server through the API.
pub async fn revoke_user_tokens(
    State(state): State<AppState>,
    principal: Principal,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Admin)?;
    let mut transaction = state.store.pool().begin().await?;
    let role = require_user(&mut transaction, &user_id).await?;
    if role == Role::Admin {
        let other_admins: i64 = sqlx::query(
            "SELECT COUNT(DISTINCT u.id) FROM users u JOIN api_tokens t ON t.user_id = u.id
             WHERE u.role = 'admin' AND u.id <> $1 AND t.revoked_at IS NULL",
        )
        .bind(&user_id)
        .fetch_one(&mut *transaction)
        .await?
        .try_get(0)?;
        if other_admins == 0 {
            return Err(ApiError::Conflict(format!(
                "user {user_id} is the only admin with an active token; create another admin first"
            )));
        }
    }

    let revoked = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now())
    .bind(&user_id)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    audit(
        &mut transaction,
        &principal.actor(),
        "api_token.revoke_all",
        Some(&user_id),
        json!({ "revoked": revoked }),
    )
    .await?;
    transaction.commit().await?;
    Ok(Json(json!({ "user_id": user_id, "revoked": revoked })))
}

/// Returns the role of the user `user_id`, or 404 when no such user exists.
async fn require_user(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
) -> Result<Role, ApiError> {
    let row = sqlx::query("SELECT role FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut **transaction)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("user {user_id} not found")))?;
    let role: String = row.try_get("role")?;
    Role::parse(&role).ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "user {user_id} has the unknown role {role:?}"
        ))
    })
}

pub async fn list_enrollment_tokens(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Admin)?;
    let rows = sqlx::query(
        "SELECT id, created_by, created_at, expires_at, max_uses, uses, revoked_at
         FROM enrollment_tokens ORDER BY created_at DESC, id",
    )
    .fetch_all(state.store.pool())
    .await?;
    let at = now();
    let tokens = rows
        .iter()
        .map(|row| enrollment_token_json(row, &at))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "enrollment_tokens": tokens })))
}

fn enrollment_token_json(row: &AnyRow, at: &str) -> Result<Value, sqlx::Error> {
    let expires_at = text(row, "expires_at")?.unwrap_or_default();
    let revoked_at = text(row, "revoked_at")?;
    let max_uses: i64 = row.try_get("max_uses")?;
    let uses: i64 = row.try_get("uses")?;
    let state = if revoked_at.is_some() {
        "revoked"
    } else if expires_at.as_str() <= at {
        "expired"
    } else if uses >= max_uses {
        "used_up"
    } else {
        "active"
    };
    Ok(json!({
        "id": text(row, "id")?,
        "created_by": text(row, "created_by")?,
        "created_at": text(row, "created_at")?,
        "expires_at": expires_at,
        "max_uses": max_uses,
        "uses": uses,
        "revoked_at": revoked_at,
        "state": state,
    }))
}

pub async fn revoke_enrollment_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(token_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Admin)?;
    let mut transaction = state.store.pool().begin().await?;
    let row = sqlx::query("SELECT revoked_at FROM enrollment_tokens WHERE id = $1")
        .bind(&token_id)
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("enrollment token {token_id} not found")))?;
    if text(&row, "revoked_at")?.is_some() {
        return Err(ApiError::Conflict(format!(
            "enrollment token {token_id} is already revoked"
        )));
    }
    let at = now();
    sqlx::query("UPDATE enrollment_tokens SET revoked_at = $1 WHERE id = $2")
        .bind(&at)
        .bind(&token_id)
        .execute(&mut *transaction)
        .await?;
    audit(
        &mut transaction,
        &principal.actor(),
        "enrollment_token.revoke",
        Some(&token_id),
        json!({}),
    )
    .await?;
    transaction.commit().await?;
    Ok(Json(json!({ "id": token_id, "revoked_at": at })))
}

pub async fn list_agent_tokens(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Admin)?;
    let rows = sqlx::query(
        "SELECT id, name, enrollment_token_id, enrolled_at, last_seen_at, agent_revoked_at FROM hosts ORDER BY name, id",
    )
    .fetch_all(state.store.pool())
    .await?;
    let agents = rows
        .iter()
        .map(|row| {
            let revoked_at = text(row, "agent_revoked_at")?;
            Ok(json!({
                "host_id": text(row, "id")?,
                "host_name": text(row, "name")?,
                "enrollment_token_id": text(row, "enrollment_token_id")?,
                "enrolled_at": text(row, "enrolled_at")?,
                "last_seen_at": text(row, "last_seen_at")?,
                "revoked_at": revoked_at,
                "state": if revoked_at.is_some() { "revoked" } else { "active" },
            }))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Json(json!({ "agent_tokens": agents })))
}

/// Revokes the agent token of a host. The host and its findings stay; the
/// agent must enroll again, as a new host, to upload.
pub async fn revoke_agent_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(host_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Admin)?;
    let mut transaction = state.store.pool().begin().await?;
    let row = sqlx::query("SELECT agent_revoked_at FROM hosts WHERE id = $1")
        .bind(&host_id)
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("host {host_id} not found")))?;
    if text(&row, "agent_revoked_at")?.is_some() {
        return Err(ApiError::Conflict(format!(
            "the agent token of host {host_id} is already revoked"
        )));
    }
    let at = now();
    sqlx::query("UPDATE hosts SET agent_revoked_at = $1 WHERE id = $2")
        .bind(&at)
        .bind(&host_id)
        .execute(&mut *transaction)
        .await?;
    audit(
        &mut transaction,
        &principal.actor(),
        "agent_token.revoke",
        Some(&host_id),
        json!({}),
    )
    .await?;
    transaction.commit().await?;
    tracing::info!(host = %host_id, "agent token revoked");
    Ok(Json(json!({ "host_id": host_id, "revoked_at": at })))
}

/// Query of `GET /api/v1/audit-log`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries at or after this RFC 3339 time.
    since: Option<String>,
    /// Entries before this RFC 3339 time; with `until_id`, entries at this
    /// time whose id sorts before `until_id` as well (the next page's cursor).
    until: Option<String>,
    until_id: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    limit: Option<i64>,
}

/// Lists audit entries newest first, one page at a time.
///
/// A full page carries `next`, the `until` and `until_id` values of the
/// following page. Entries are ordered by time and then id, so entries that
/// share a time are neither skipped nor repeated between pages.
pub async fn audit_log(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Admin)?;
    let Query(query) = query.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_AUDIT_PAGE);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_AUDIT_PAGE}, not {limit}"
        )));
    }
    let since = query
        .since
        .as_deref()
        .map(|value| stored_time("since", value))
        .transpose()?;
    let until = query
        .until
        .as_deref()
        .map(|value| stored_time("until", value))
        .transpose()?;
    if query.until_id.is_some() && until.is_none() {
        return Err(ApiError::BadRequest("until_id needs until".to_string()));
    }

    // Each filter is either off (its parameter is NULL) or compares, so one
    // statement serves every combination on SQLite and PostgreSQL alike.
    let rows = sqlx::query(
        "SELECT id, at, actor, action, target, detail_json FROM audit_log
         WHERE ($1 IS NULL OR at >= $1)
           AND ($2 IS NULL OR at < $2 OR (at = $2 AND $3 IS NOT NULL AND id < $3))
           AND ($4 IS NULL OR actor = $4)
           AND ($5 IS NULL OR action = $5)
         ORDER BY at DESC, id DESC
         LIMIT $6",
    )
    .bind(since)
    .bind(until)
    .bind(query.until_id)
    .bind(query.actor)
    .bind(query.action)
    .bind(limit)
    .fetch_all(state.store.pool())
    .await?;

    let entries = rows
        .iter()
        .map(audit_json)
        .collect::<Result<Vec<_>, ApiError>>()?;
    let next = match entries.last() {
        Some(last) if entries.len() as i64 == limit => {
            json!({ "until": last["at"], "until_id": last["id"] })
        }
        _ => Value::Null,
    };
    Ok(Json(json!({ "entries": entries, "next": next })))
}

fn audit_json(row: &AnyRow) -> Result<Value, ApiError> {
    let detail = match text(row, "detail_json")? {
        Some(detail) => serde_json::from_str(&detail).map_err(|error| {
            ApiError::Internal(anyhow::Error::new(error).context("audit detail is not JSON"))
        })?,
        None => Value::Null,
    };
    Ok(json!({
        "id": text(row, "id")?,
        "at": text(row, "at")?,
        "actor": text(row, "actor")?,
        "action": text(row, "action")?,
        "target": text(row, "target")?,
        "detail": detail,
    }))
}

/// Parses an RFC 3339 query time into the stored form (UTC, microseconds),
/// so that comparing the text compares the times.
fn stored_time(parameter: &str, value: &str) -> Result<String, ApiError> {
    let time = chrono::DateTime::parse_from_rfc3339(value).map_err(|error| {
        ApiError::BadRequest(format!("{parameter} must be an RFC 3339 time such as 2026-01-31T12:00:00Z, not {value:?}: {error}"))
    })?;
    Ok(time
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}
