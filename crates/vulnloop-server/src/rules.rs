//! Ignore (whitelist) rules: a vulnerability, optionally one package, on all
//! hosts, one host group or one host, with a reason and an optional expiry.
//!
//! A rule sets the status of its open findings to `ignored` when it is
//! created and on every later upload. When it is deleted or expires, those
//! findings go back to `unfixed`, unless another active rule covers them.
//! Every function here writes inside the caller's transaction or opens one,
//! with an audit row.

use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::error::ApiError;
use crate::store::{audit, now, text};
use crate::{secret, webhooks, Store};

/// Statuses that a rule changes to `ignored`. A finding being fixed or
/// verified, or already fixed, keeps its status.
const IGNORABLE: &str = "('unfixed', 'fix_failed')";

/// Longest accepted vulnerability id, package name or group name, in bytes.
const MAX_NAME_BYTES: usize = 200;
/// Longest accepted reason, in bytes.
const MAX_REASON_BYTES: usize = 2000;

/// A request to create an ignore rule. Without `host_id` and `host_group`
/// the rule applies to all hosts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewIgnoreRule {
    pub vulnerability_id: String,
    #[serde(default)]
    pub package: Option<String>,
    #[serde(default)]
    pub host_id: Option<String>,
    #[serde(default)]
    pub host_group: Option<String>,
    pub reason: String,
    /// RFC 3339 time after which the rule no longer applies.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// The columns of a rule that decide which findings it covers.
#[derive(Debug, Clone)]
struct RuleScope {
    id: String,
    vulnerability_id: String,
    package: Option<String>,
    host_id: Option<String>,
    host_group: Option<String>,
}

impl RuleScope {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(RuleScope {
            id: row.try_get("id")?,
            vulnerability_id: row.try_get("vulnerability_id")?,
            package: text(row, "package")?,
            host_id: text(row, "host_id")?,
            host_group: text(row, "host_group")?,
        })
    }

    /// Builds a WHERE condition on `findings` with placeholders numbered from
    /// `first`, and the values to bind to them in order.
    fn condition(&self, first: usize) -> (String, Vec<String>) {
        let mut binds = vec![self.vulnerability_id.clone()];
        let mut sql = format!("vulnerability_id = ${first}");
        if let Some(package) = &self.package {
            binds.push(package.clone());
            sql.push_str(&format!(" AND package = ${}", first + binds.len() - 1));
        }
        if let Some(host_id) = &self.host_id {
            binds.push(host_id.clone());
            sql.push_str(&format!(" AND host_id = ${}", first + binds.len() - 1));
        } else if let Some(group) = &self.host_group {
            binds.push(group.clone());
            sql.push_str(&format!(
                " AND host_id IN (SELECT id FROM hosts WHERE host_group = ${})",
                first + binds.len() - 1
            ));
        }
        (sql, binds)
    }
}

/// Checks and normalizes a request: trims names, rejects empty or overlong
/// values and an expiry that is not a future RFC 3339 time.
fn validate(mut rule: NewIgnoreRule, at: &str) -> Result<NewIgnoreRule, ApiError> {
    rule.vulnerability_id = required_name("vulnerability_id", &rule.vulnerability_id)?;
    rule.package = rule
        .package
        .as_deref()
        .map(|package| required_name("package", package))
        .transpose()?;
    rule.host_id = rule
        .host_id
        .as_deref()
        .map(|host| required_name("host_id", host))
        .transpose()?;
    rule.host_group = rule
        .host_group
        .as_deref()
        .map(|group| required_name("host_group", group))
        .transpose()?;
    if rule.host_id.is_some() && rule.host_group.is_some() {
        return Err(ApiError::Unprocessable(
            "give host_id or host_group, not both (neither means all hosts)".to_string(),
        ));
    }
    rule.reason = rule.reason.trim().to_string();
    if rule.reason.is_empty() || rule.reason.len() > MAX_REASON_BYTES {
        return Err(ApiError::Unprocessable(format!(
            "reason must have 1 to {MAX_REASON_BYTES} bytes"
        )));
    }
    if let Some(expires_at) = &rule.expires_at {
        let parsed = chrono::DateTime::parse_from_rfc3339(expires_at).map_err(|error| {
            ApiError::Unprocessable(format!(
                "expires_at {expires_at:?} is not an RFC 3339 time: {error}"
            ))
        })?;
        let normalized = parsed
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        if normalized.as_str() <= at {
            return Err(ApiError::Unprocessable(format!(
                "expires_at {expires_at} is not in the future"
            )));
        }
        rule.expires_at = Some(normalized);
    }
    Ok(rule)
}

fn required_name(field: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_NAME_BYTES {
        return Err(ApiError::Unprocessable(format!(
            "{field} must have 1 to {MAX_NAME_BYTES} bytes"
        )));
    }
    Ok(value.to_string())
}

/// Creates an ignore rule for `actor` (`user:<id>`) and ignores its open
/// findings at once, in one transaction with an audit row.
///
/// Returns the rule as the API shows it, with `ignored_findings`, the number
/// of findings whose status changed to `ignored`. The console calls this
/// directly; the route `POST /api/v1/ignore-rules` checks the role first.
pub async fn create(store: &Store, actor: &str, request: NewIgnoreRule) -> Result<Value, ApiError> {
    let at = now();
    let request = validate(request, &at)?;
    let mut transaction = store.pool().begin().await?;
    if let Some(host_id) = &request.host_id {
        let exists = sqlx::query("SELECT id FROM hosts WHERE id = $1")
            .bind(host_id)
            .fetch_optional(&mut *transaction)
            .await?;
        if exists.is_none() {
            return Err(ApiError::Unprocessable(format!(
                "host_id {host_id} names no enrolled host"
            )));
        }
    }

    let id = secret::new_id()?;
    sqlx::query(
        "INSERT INTO ignore_rules (id, host_id, host_group, vulnerability_id, package, reason, expires_at, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(&request.host_id)
    .bind(&request.host_group)
    .bind(&request.vulnerability_id)
    .bind(&request.package)
    .bind(&request.reason)
    .bind(&request.expires_at)
    .bind(actor)
    .bind(&at)
    .execute(&mut *transaction)
    .await?;
    let scope = RuleScope {
        id: id.clone(),
        vulnerability_id: request.vulnerability_id.clone(),
        package: request.package.clone(),
        host_id: request.host_id.clone(),
        host_group: request.host_group.clone(),
    };
    let ignored = ignore_findings(&mut transaction, &scope, None, &at).await?;

    let mut rule = rule_json(&id, &request, actor, &at);
    audit(
        &mut transaction,
        actor,
        "ignore_rule.create",
        Some(&id),
        json!({ "rule": rule, "ignored_findings": ignored }),
    )
    .await?;
    webhooks::enqueue_status_changes(&mut transaction, &at).await?;
    transaction.commit().await?;

    tracing::info!(rule = %id, vulnerability = %request.vulnerability_id, ignored, "ignore rule created");
    rule["ignored_findings"] = json!(ignored);
    Ok(rule)
}

fn rule_json(id: &str, rule: &NewIgnoreRule, created_by: &str, created_at: &str) -> Value {
    json!({
        "id": id,
        "vulnerability_id": rule.vulnerability_id,
        "package": rule.package,
        "host_id": rule.host_id,
        "host_group": rule.host_group,
        "reason": rule.reason,
        "expires_at": rule.expires_at,
        "created_by": created_by,
        "created_at": created_at,
    })
}

/// Lists every rule, expired ones included until the rule expiry job removes them.
pub async fn list(store: &Store) -> Result<Vec<Value>, ApiError> {
    let rows = sqlx::query(
        "SELECT r.id, r.host_id, r.host_group, r.vulnerability_id, r.package, r.reason, r.expires_at, r.created_by,
                r.created_at, (SELECT COUNT(*) FROM findings f WHERE f.ignored_by_rule = r.id AND f.status = 'ignored') AS ignored_findings
         FROM ignore_rules r ORDER BY r.created_at, r.id",
    )
    .fetch_all(store.pool())
    .await?;
    let mut rules = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut rule = serde_json::Map::new();
        for column in [
            "id",
            "host_id",
            "host_group",
            "vulnerability_id",
            "package",
            "reason",
            "expires_at",
            "created_by",
            "created_at",
        ] {
            rule.insert(column.to_string(), json!(text(row, column)?));
        }
        rule.insert(
            "ignored_findings".to_string(),
            json!(row.try_get::<i64, _>("ignored_findings")?),
        );
        rules.push(Value::Object(rule));
    }
    Ok(rules)
}

/// Deletes a rule and returns its findings to `unfixed` (or to another
/// active rule that covers them), in one transaction with an audit row.
///
/// Returns the number of findings that went back to `unfixed`, or `None`
/// when no rule has that id.
pub async fn delete(store: &Store, actor: &str, id: &str) -> Result<Option<u64>, ApiError> {
    let at = now();
    let mut transaction = store.pool().begin().await?;
    let Some(restored) = remove(&mut transaction, id, &at).await? else {
        return Ok(None);
    };
    audit(
        &mut transaction,
        actor,
        "ignore_rule.delete",
        Some(id),
        json!({ "restored_findings": restored }),
    )
    .await?;
    webhooks::enqueue_status_changes(&mut transaction, &at).await?;
    transaction.commit().await?;
    tracing::info!(rule = %id, restored, "ignore rule deleted");
    Ok(Some(restored))
}

/// Deletes the rules whose expiry has passed, each like [`delete`] with the
/// actor `server`. Returns the number of rules removed.
pub async fn expire(store: &Store) -> anyhow::Result<u64> {
    let at = now();
    let mut transaction = store.pool().begin().await?;
    let rows = sqlx::query(
        "SELECT id FROM ignore_rules WHERE expires_at IS NOT NULL AND expires_at <= $1",
    )
    .bind(&at)
    .fetch_all(&mut *transaction)
    .await?;
    let mut removed = 0;
    for row in &rows {
        let id: String = row.try_get("id")?;
        if let Some(restored) = remove(&mut transaction, &id, &at)
            .await
            .map_err(anyhow::Error::from)?
        {
            audit(
                &mut transaction,
                "server",
                "ignore_rule.expire",
                Some(&id),
                json!({ "restored_findings": restored }),
            )
            .await?;
            removed += 1;
        }
    }
    webhooks::enqueue_status_changes(&mut transaction, &at).await?;
    transaction.commit().await?;
    if removed > 0 {
        tracing::info!(removed, "expired ignore rules removed");
    }
    Ok(removed)
}

/// Removes one rule inside `transaction`: its findings move to another
/// active rule that covers them, or back to `unfixed`.
async fn remove(
    transaction: &mut Transaction<'_, Any>,
    id: &str,
    at: &str,
) -> Result<Option<u64>, ApiError> {
    let deleted = sqlx::query("DELETE FROM ignore_rules WHERE id = $1")
        .bind(id)
        .execute(&mut **transaction)
        .await?;
    if deleted.rows_affected() == 0 {
        return Ok(None);
    }
    for other in active_rules(transaction, at).await? {
        let (condition, binds) = other.condition(3);
        let sql = format!(
            "UPDATE findings SET ignored_by_rule = $1 WHERE ignored_by_rule = $2 AND {condition}"
        );
        let mut query = sqlx::query(&sql).bind(&other.id).bind(id);
        for value in &binds {
            query = query.bind(value);
        }
        query.execute(&mut **transaction).await?;
    }
    let restored = sqlx::query(
        "UPDATE findings SET status = 'unfixed', ignored_by_rule = NULL, status_changed_at = $1
         WHERE ignored_by_rule = $2 AND status = 'ignored'",
    )
    .bind(at)
    .bind(id)
    .execute(&mut **transaction)
    .await?
    .rows_affected();
    // Findings that left `ignored` since (no longer present, expired) keep their status.
    sqlx::query("UPDATE findings SET ignored_by_rule = NULL WHERE ignored_by_rule = $1")
        .bind(id)
        .execute(&mut **transaction)
        .await?;
    Ok(Some(restored))
}

async fn active_rules(
    transaction: &mut Transaction<'_, Any>,
    at: &str,
) -> Result<Vec<RuleScope>, ApiError> {
    let rows = sqlx::query(
        "SELECT id, vulnerability_id, package, host_id, host_group FROM ignore_rules
         WHERE expires_at IS NULL OR expires_at > $1 ORDER BY created_at, id",
    )
    .bind(at)
    .fetch_all(&mut **transaction)
    .await?;
    Ok(rows
        .iter()
        .map(RuleScope::from_row)
        .collect::<Result<_, _>>()?)
}

/// Sets the open findings that `rule` covers to `ignored`, only those of
/// `host_id` when given. Returns how many changed.
async fn ignore_findings(
    transaction: &mut Transaction<'_, Any>,
    rule: &RuleScope,
    host_id: Option<&str>,
    at: &str,
) -> Result<u64, ApiError> {
    let (condition, binds) = rule.condition(3);
    let mut sql = format!(
        "UPDATE findings SET status = 'ignored', ignored_by_rule = $1, status_changed_at = $2
         WHERE status IN {IGNORABLE} AND {condition}"
    );
    if host_id.is_some() {
        sql.push_str(&format!(" AND host_id = ${}", 3 + binds.len()));
    }
    let mut query = sqlx::query(&sql).bind(&rule.id).bind(at);
    for value in &binds {
        query = query.bind(value);
    }
    if let Some(host_id) = host_id {
        query = query.bind(host_id);
    }
    Ok(query.execute(&mut **transaction).await?.rows_affected())
}

/// Applies every active rule to the findings of one host, after an upload
/// or a change of the host's group. Returns how many findings became `ignored`.
///
/// NOTE: this runs one UPDATE per active rule, so an upload's cost grows
/// with the number of rules; not measured with more than a few rules.
pub async fn apply_to_host(
    transaction: &mut Transaction<'_, Any>,
    host_id: &str,
    at: &str,
) -> Result<u64, ApiError> {
    let mut ignored = 0;
    for rule in active_rules(transaction, at).await? {
        ignored += ignore_findings(transaction, &rule, Some(host_id), at).await?;
    }
    Ok(ignored)
}

/// Sets the group of a host (`None` removes it), in one transaction with an
/// audit row. Findings that a rule of the old group ignored go back to
/// `unfixed`, and the rules of the new group apply at once.
///
/// Returns `false` when no host has that id.
pub async fn set_host_group(
    store: &Store,
    actor: &str,
    host_id: &str,
    group: Option<&str>,
) -> Result<bool, ApiError> {
    let group = group
        .map(|group| required_name("group", group))
        .transpose()?;
    let at = now();
    let mut transaction = store.pool().begin().await?;
    let updated = sqlx::query("UPDATE hosts SET host_group = $1 WHERE id = $2")
        .bind(&group)
        .bind(host_id)
        .execute(&mut *transaction)
        .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }

    // Group rules other than those of the new group no longer cover the
    // host. Their findings move to another active rule that covers them, so
    // their status does not change, or else back to `unfixed`.
    let mut stale_rules = "SELECT id FROM ignore_rules WHERE host_group IS NOT NULL".to_string();
    if group.is_some() {
        stale_rules.push_str(" AND host_group <> $3");
    }
    for other in active_rules(&mut transaction, &at).await? {
        let first = if group.is_some() { 4 } else { 3 };
        let (condition, binds) = other.condition(first);
        let sql = format!(
            "UPDATE findings SET ignored_by_rule = $1
             WHERE host_id = $2 AND status = 'ignored' AND ignored_by_rule IN ({stale_rules}) AND {condition}"
        );
        let mut query = sqlx::query(&sql).bind(&other.id).bind(host_id);
        if let Some(group) = &group {
            query = query.bind(group);
        }
        for value in &binds {
            query = query.bind(value);
        }
        query.execute(&mut *transaction).await?;
    }
    let sql = format!(
        "UPDATE findings SET status = 'unfixed', ignored_by_rule = NULL, status_changed_at = $1
         WHERE host_id = $2 AND status = 'ignored' AND ignored_by_rule IN ({stale_rules})"
    );
    let mut query = sqlx::query(&sql).bind(&at).bind(host_id);
    if let Some(group) = &group {
        query = query.bind(group);
    }
    let restored = query.execute(&mut *transaction).await?.rows_affected();
    let ignored = apply_to_host(&mut transaction, host_id, &at).await?;

    let detail =
        json!({ "group": group, "restored_findings": restored, "ignored_findings": ignored });
    audit(
        &mut transaction,
        actor,
        "host.group.set",
        Some(host_id),
        detail,
    )
    .await?;
    webhooks::enqueue_status_changes(&mut transaction, &at).await?;
    transaction.commit().await?;
    Ok(true)
}
