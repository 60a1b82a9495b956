//! Handlers of the `/api/v1` routes.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::{JsonRejection, QueryRejection};
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
use crate::tasks::{self, NewTask, TaskFilter, TaskResult};
use crate::{ingest, rules, secret, settings, webhooks, AppState};

/// Maximum lifetime of an enrollment token, in hours (30 days).
const MAX_ENROLLMENT_HOURS: i64 = 24 * 30;

pub async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    sqlx::query("SELECT 1").execute(state.store.pool()).await?;
    Ok(Json(
        json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }),
    ))
}

/// Trims a display name from a request body and checks that it has 1 to
/// `max` bytes.
pub(crate) fn checked_name(raw: &str, max: usize) -> Result<&str, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.len() > max {
        return Err(ApiError::Unprocessable(format!(
            "name must have 1 to {max} characters"
        )));
    }
    Ok(name)
}

pub async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEnrollmentToken {
    /// Hours until the token expires.
    #[serde(default = "default_enrollment_hours")]
    expires_in_hours: i64,
    /// How many agents may enroll with it.
    #[serde(default = "default_max_uses")]
    max_uses: i64,
}

fn default_enrollment_hours() -> i64 {
    24
}

fn default_max_uses() -> i64 {
    1
}

pub async fn create_enrollment_token(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<NewEnrollmentToken>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user_id = principal.require(Role::Admin)?.to_string();
    let Json(request) = body.map_err(|rejection| ApiError::Unprocessable(rejection.body_text()))?;
    if !(1..=MAX_ENROLLMENT_HOURS).contains(&request.expires_in_hours) {
        return Err(ApiError::Unprocessable(format!(
            "expires_in_hours must be between 1 and {MAX_ENROLLMENT_HOURS}, not {}",
            request.expires_in_hours
        )));
    }
    if request.max_uses < 1 {
        return Err(ApiError::Unprocessable(format!(
            "max_uses must be at least 1, not {}",
            request.max_uses
        )));
    }

    let issued = secret::issue(secret::ENROLLMENT_TOKEN, &secret::new_id()?)?;
    let expires_at = (chrono::Utc::now() + chrono::Duration::hours(request.expires_in_hours))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut transaction = state.store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO enrollment_tokens (id, secret_hash, created_by, created_at, expires_at, max_uses, uses)
         VALUES ($1, $2, $3, $4, $5, $6, 0)",
    )
    .bind(&issued.id)
    .bind(&issued.secret_hash)
    .bind(&user_id)
    .bind(now())
    .bind(&expires_at)
    .bind(request.max_uses)
    .execute(&mut *transaction)
    .await?;
    let detail = json!({ "expires_at": expires_at, "max_uses": request.max_uses });
    audit(
        &mut transaction,
        &principal.actor(),
        "enrollment_token.create",
        Some(&issued.id),
        detail,
    )
    .await?;
    transaction.commit().await?;

    let body = json!({ "id": issued.id, "token": issued.token, "expires_at": expires_at, "max_uses": request.max_uses });
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    enrollment_token: String,
    /// Host name the agent reports; the server keeps it for display only.
    name: String,
}

pub async fn enroll(
    State(state): State<AppState>,
    body: Result<Json<EnrollRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(request) = body.map_err(|rejection| ApiError::Unprocessable(rejection.body_text()))?;
    let name = checked_name(&request.name, 253)?;
    let (token_id, token_secret) =
        secret::parse(secret::ENROLLMENT_TOKEN, &request.enrollment_token)
            .ok_or(ApiError::Unauthorized)?;

    let row = sqlx::query(
        "SELECT secret_hash, expires_at, max_uses, uses FROM enrollment_tokens WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(token_id)
    .fetch_optional(state.store.pool())
    .await?
    .ok_or(ApiError::Unauthorized)?;
    let secret_hash: String = row.try_get("secret_hash")?;
    if !secret::verify(token_secret, &secret_hash) {
        return Err(ApiError::Unauthorized);
    }
    let expires_at: String = row.try_get("expires_at")?;
    let at = now();
    if expires_at <= at {
        return Err(ApiError::Forbidden("the enrollment token has expired"));
    }

    let host_id = secret::new_id()?;
    let issued = secret::issue(secret::AGENT_TOKEN, &host_id)?;
    let mut transaction = state.store.pool().begin().await?;
    // The use count is checked and raised in one statement, so two agents
    // enrolling at once cannot both take the last use.
    let claimed = sqlx::query(
        "UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = $1 AND uses < max_uses",
    )
    .bind(token_id)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    if claimed == 0 {
        return Err(ApiError::Forbidden("the enrollment token has no uses left"));
    }
    sqlx::query(
        "INSERT INTO hosts (id, name, agent_secret_hash, enrollment_token_id, enrolled_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&host_id)
    .bind(name)
    .bind(&issued.secret_hash)
    .bind(token_id)
    .bind(&at)
    .execute(&mut *transaction)
    .await?;
    let actor = format!("agent:{host_id}");
    audit(
        &mut transaction,
        &actor,
        "host.enroll",
        Some(&host_id),
        json!({ "name": name, "enrollment_token": token_id }),
    )
    .await?;
    transaction.commit().await?;

    tracing::info!(host = %host_id, enrollment_token = %token_id, "agent enrolled");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "host_id": host_id, "agent_token": issued.token })),
    ))
}

pub async fn upload_inventory(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let host_id = principal.require_agent()?.to_string();
    let result = match body {
        Ok(body) => ingest::store_inventory(&state, &host_id, &body).await,
        Err(rejection) => Err(ApiError::Rejected(
            rejection.status(),
            rejection.body_text(),
        )),
    };
    match result {
        Ok(summary) => Ok(Json(summary)),
        Err(
            error @ (ApiError::BadRequest(_) | ApiError::Unprocessable(_) | ApiError::Rejected(..)),
        ) => {
            record_rejected_upload(&state, &host_id, &error).await;
            Err(error)
        }
        Err(error) => Err(error),
    }
}

/// Logs a rejected upload and records it in the audit log, so an admin can
/// see which agent sends broken or oversized inventories.
///
/// A failure to write the record is logged and does not change the response.
async fn record_rejected_upload(state: &AppState, host_id: &str, error: &ApiError) {
    let status = error.status().as_u16();
    tracing::warn!(host = %host_id, status, error = %error, "inventory upload rejected");
    let detail = json!({ "status": status, "error": error.to_string() });
    let recorded = async {
        let mut transaction = state.store.pool().begin().await?;
        audit(
            &mut transaction,
            &format!("agent:{host_id}"),
            "host.inventory.reject",
            Some(host_id),
            detail,
        )
        .await?;
        transaction.commit().await?;
        anyhow::Ok(())
    };
    if let Err(error) = recorded.await {
        tracing::error!(host = %host_id, error = format!("{error:#}"), "failed to record a rejected inventory upload");
    }
}

pub async fn list_hosts(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    let rows = sqlx::query(
        "SELECT h.id, h.name, h.os, h.host_group, h.enrolled_at, h.last_seen_at, h.inventory_at, h.stopped_uploading_at,
                (SELECT COUNT(*) FROM findings f WHERE f.host_id = h.id AND f.status <> 'no_longer_present') AS open_findings
         FROM hosts h ORDER BY h.name, h.id",
    )
    .fetch_all(state.store.pool())
    .await?;
    let hosts = rows.iter().map(host_json).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "hosts": hosts })))
}

fn host_json(row: &AnyRow) -> Result<Value, sqlx::Error> {
    Ok(json!({
        "id": text(row, "id")?,
        "name": text(row, "name")?,
        "os": text(row, "os")?,
        "group": text(row, "host_group")?,
        "enrolled_at": text(row, "enrolled_at")?,
        "last_seen_at": text(row, "last_seen_at")?,
        "inventory_at": text(row, "inventory_at")?,
        // Set by the expiry job when the last upload is older than the
        // host_stale_hours setting; null while the host uploads.
        "stopped_uploading_at": text(row, "stopped_uploading_at")?,
        "open_findings": row.try_get::<i64, _>("open_findings")?,
    }))
}

pub async fn host_findings(
    State(state): State<AppState>,
    principal: Principal,
    Path(host_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match &principal {
        // An agent reads only its own host. Another host's id gets 404, so
        // agent tokens cannot probe which hosts exist.
        Principal::Agent { host_id: own } if *own != host_id => {
            return Err(ApiError::NotFound(format!("host {host_id} not found")));
        }
        Principal::Agent { .. } => {}
        Principal::User { .. } => {
            principal.require(Role::Viewer)?;
        }
    }
    let exists = sqlx::query("SELECT id FROM hosts WHERE id = $1")
        .bind(&host_id)
        .fetch_optional(state.store.pool())
        .await?;
    if exists.is_none() {
        return Err(ApiError::NotFound(format!("host {host_id} not found")));
    }

    let rows = sqlx::query(
        "SELECT host_id, vulnerability_id, package, advisory_id, source, severity, installed_version, fixed_version,
                vendor_status, status, first_seen_at, last_seen_at, status_changed_at
         FROM findings WHERE host_id = $1 ORDER BY package, vulnerability_id",
    )
    .bind(&host_id)
    .fetch_all(state.store.pool())
    .await?;
    let findings = rows
        .iter()
        .map(finding_json)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "host_id": host_id, "findings": findings })))
}

fn finding_json(row: &AnyRow) -> Result<Value, sqlx::Error> {
    let mut finding = serde_json::Map::new();
    for column in [
        "host_id",
        "vulnerability_id",
        "package",
        "advisory_id",
        "source",
        "severity",
        "installed_version",
        "fixed_version",
        "vendor_status",
        "status",
        "first_seen_at",
        "last_seen_at",
        "status_changed_at",
    ] {
        finding.insert(column.to_string(), json!(text(row, column)?));
    }
    Ok(Value::Object(finding))
}

pub async fn vulnerability(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    // NOTE: a lookup by CVE finds per-CVE records and records whose own id is
    // that CVE; the CVE aliases of a DSA or USN record are not stored yet.
    let rows = sqlx::query(
        "SELECT f.host_id, h.name AS host_name, f.vulnerability_id, f.package, f.advisory_id, f.source, f.severity,
                f.installed_version, f.fixed_version, f.vendor_status, f.status, f.first_seen_at, f.last_seen_at,
                f.status_changed_at
         FROM findings f JOIN hosts h ON h.id = f.host_id
         WHERE f.vulnerability_id = $1 OR f.advisory_id = $1
         ORDER BY h.name, f.host_id, f.package",
    )
    .bind(&id)
    .fetch_all(state.store.pool())
    .await?;

    let mut findings = Vec::new();
    let mut affected = std::collections::BTreeMap::new();
    for row in &rows {
        let mut finding = finding_json(row)?;
        let host_name = text(row, "host_name")?;
        finding["host_name"] = json!(host_name);
        let status = text(row, "status")?.unwrap_or_default();
        if !matches!(status.as_str(), "no_longer_present" | "fixed") {
            let host_id = text(row, "host_id")?.unwrap_or_default();
            affected.insert(host_id, host_name);
        }
        findings.push(finding);
    }
    let affected_hosts: Vec<Value> = affected
        .into_iter()
        .map(|(id, name)| json!({ "id": id, "name": name }))
        .collect();
    Ok(Json(
        json!({ "id": id, "affected_hosts": affected_hosts, "findings": findings }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    name: String,
    role: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<NewUser>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(Role::Admin)?;
    let Json(request) = body.map_err(|rejection| ApiError::Unprocessable(rejection.body_text()))?;
    let name = checked_name(&request.name, 100)?;
    let role = Role::parse(&request.role).ok_or_else(|| {
        ApiError::Unprocessable(format!(
            "role must be admin, operator or viewer, not {:?}",
            request.role
        ))
    })?;

    let mut transaction = state.store.pool().begin().await?;
    let taken = sqlx::query("SELECT id FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *transaction)
        .await?;
    if taken.is_some() {
        return Err(ApiError::Conflict(format!("a user named {name:?} exists")));
    }
    let created =
        crate::store::create_user(&mut transaction, &principal.actor(), name, role).await?;
    transaction.commit().await?;

    let body = json!({ "id": created.user_id, "name": name, "role": role.as_str(), "token": created.token });
    Ok((StatusCode::CREATED, Json(body)))
}

pub async fn create_task(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<NewTask>, JsonRejection>,
) -> Result<(StatusCode, Json<tasks::Task>), ApiError> {
    principal.require(Role::Operator)?;
    let Json(request) =
        body.map_err(|rejection| ApiError::Rejected(rejection.status(), rejection.body_text()))?;
    let task = tasks::create(&state, &principal, request).await?;
    Ok((StatusCode::CREATED, Json(task)))
}

pub async fn list_tasks(
    State(state): State<AppState>,
    principal: Principal,
    filter: Result<Query<TaskFilter>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    let Query(filter) = filter
        .map_err(|rejection| ApiError::Rejected(rejection.status(), rejection.body_text()))?;
    let tasks = tasks::list(&state, &filter).await?;
    Ok(Json(json!({ "tasks": tasks })))
}

pub async fn get_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<tasks::Task>, ApiError> {
    principal.require(Role::Viewer)?;
    Ok(Json(tasks::get(&state, &id).await?))
}

pub async fn claim_tasks(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    let host_id = principal.require_agent()?;
    let tasks = tasks::claim(&state, host_id).await?;
    Ok(Json(json!({ "tasks": tasks })))
}

pub async fn report_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: Result<Json<TaskResult>, JsonRejection>,
) -> Result<Json<tasks::Task>, ApiError> {
    let host_id = principal.require_agent()?;
    let Json(result) =
        body.map_err(|rejection| ApiError::Rejected(rejection.status(), rejection.body_text()))?;
    Ok(Json(tasks::report(&state, host_id, &id, result).await?))
}

pub async fn create_ignore_rule(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<rules::NewIgnoreRule>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(Role::Operator)?;
    let Json(request) = body.map_err(|rejection| ApiError::Unprocessable(rejection.body_text()))?;
    let rule = rules::create(&state.store, &principal.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

pub async fn list_ignore_rules(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    Ok(Json(
        json!({ "ignore_rules": rules::list(&state.store).await? }),
    ))
}

pub async fn delete_ignore_rule(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Operator)?;
    let restored = rules::delete(&state.store, &principal.actor(), &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("ignore rule {id} not found")))?;
    Ok(Json(json!({ "id": id, "restored_findings": restored })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostGroup {
    /// The group name, or null to remove the host from its group.
    group: Option<String>,
}

pub async fn set_host_group(
    State(state): State<AppState>,
    principal: Principal,
    Path(host_id): Path<String>,
    body: Result<Json<HostGroup>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Operator)?;
    let Json(request) = body.map_err(|rejection| ApiError::Unprocessable(rejection.body_text()))?;
    if !rules::set_host_group(
        &state.store,
        &principal.actor(),
        &host_id,
        request.group.as_deref(),
    )
    .await?
    {
        return Err(ApiError::NotFound(format!("host {host_id} not found")));
    }
    let group = request.group.as_deref().map(str::trim);
    Ok(Json(json!({ "id": host_id, "group": group })))
}

pub async fn get_settings(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    Ok(Json(settings::load(&state.store).await?.to_json()))
}

pub async fn update_settings(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<settings::SettingsUpdate>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Admin)?;
    let Json(request) = body.map_err(|rejection| ApiError::Unprocessable(rejection.body_text()))?;
    Ok(Json(
        settings::update(&state.store, &principal.actor(), request)
            .await?
            .to_json(),
    ))
}

pub async fn create_webhook(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<webhooks::NewWebhook>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(Role::Admin)?;
    let Json(request) = body.map_err(|rejection| ApiError::Unprocessable(rejection.body_text()))?;
    let webhook = webhooks::create(&state.store, &principal.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(webhook)))
}

pub async fn list_webhooks(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Admin)?;
    Ok(Json(
        json!({ "webhooks": webhooks::list(&state.store).await? }),
    ))
}

pub async fn delete_webhook(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    principal.require(Role::Admin)?;
    if !webhooks::delete(&state.store, &principal.actor(), &id).await? {
        return Err(ApiError::NotFound(format!("webhook {id} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRunsQuery {
    job: Option<String>,
}

pub async fn list_job_runs(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<axum::extract::Query<JobRunsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Admin)?;
    let axum::extract::Query(query) =
        query.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let runs = crate::jobs::recent_runs(&state.store, query.job.as_deref()).await?;
    Ok(Json(json!({ "runs": runs })))
}
