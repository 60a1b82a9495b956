//! Inventory uploads: validate, match against the advisory database, and
//! record each host's findings with their lifecycle status.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use vulnloop_inventory::Inventory;
use vulnloop_match::{Finding, MatchReport};

use crate::error::ApiError;
use crate::store::{audit, now};
use crate::{secret, AppState};

/// Validates `body` as an inventory of `host_id`, stores it and its findings,
/// and returns a summary for the agent.
pub async fn store_inventory(
    state: &AppState,
    host_id: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let inventory = parse(host_id, body)?;
    let report = match &state.advisory_db {
        Some(path) => Some(match_in_background(path.clone(), inventory.clone()).await?),
        None => None,
    };

    let upload_id = secret::new_id()?;
    let at = now();
    let os = os_name(&inventory);
    let mut transaction = state.store.pool().begin().await?;
    sqlx::query(
        "UPDATE hosts SET inventory_json = $1, inventory_at = $2, last_seen_at = $2, os = $3, last_upload_id = $4,
                          stopped_uploading_at = NULL
         WHERE id = $5",
    )
    .bind(String::from_utf8_lossy(body).into_owned())
    .bind(&at)
    .bind(&os)
    .bind(&upload_id)
    .bind(host_id)
    .execute(&mut *transaction)
    .await?;

    let mut summary = json!({ "packages": inventory.packages.len(), "matched": report.is_some() });
    if let Some(report) = &report {
        let findings = unique_findings(report);
        for finding in findings.values() {
            upsert_finding(&mut transaction, host_id, finding, &upload_id, &at).await?;
        }
        summary["findings"] = json!(findings.len());
        summary["ignored"] =
            json!(crate::rules::apply_to_host(&mut transaction, host_id, &at).await?);
        summary["coverage"] = serde_json::to_value(&report.coverage).map_err(|error| {
            ApiError::Internal(anyhow::Error::new(error).context("failed to serialize coverage"))
        })?;
        // An incomplete inventory may have left packages out, so its silence
        // about a finding proves nothing.
        if inventory.is_complete() {
            summary["no_longer_present"] =
                json!(close_missing(&mut transaction, host_id, &upload_id, &at).await?);
        } else {
            summary["no_longer_present"] = json!(0);
            summary["note"] = json!("the inventory reports collection problems, so findings it did not report stay open");
        }
    } else {
        summary["note"] = json!("the server has no advisory database (--advisory-db), so the inventory was stored but not matched");
    }
    crate::webhooks::enqueue_status_changes(&mut transaction, &at).await?;
    audit(
        &mut transaction,
        &format!("agent:{host_id}"),
        "host.inventory.upload",
        Some(host_id),
        summary.clone(),
    )
    .await?;
    transaction.commit().await?;

    tracing::info!(host = %host_id, packages = inventory.packages.len(), matched = report.is_some(), "inventory received");
    Ok(summary)
}

/// Parses an upload: 400 for text that is not JSON, 422 for JSON that is not an inventory.
fn parse(host_id: &str, body: &[u8]) -> Result<Inventory, ApiError> {
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        tracing::warn!(host = %host_id, %error, "inventory upload is not JSON");
        return Err(ApiError::BadRequest(format!(
            "the body is not valid JSON: {error}"
        )));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("the body is not UTF-8".to_string()))?;
    Inventory::from_json(text, "request body").map_err(|error| {
        tracing::warn!(host = %host_id, %error, "inventory upload is not a valid inventory");
        ApiError::Unprocessable(error.to_string())
    })
}

/// Runs the matcher on a blocking thread, because the advisory database is
/// read through synchronous SQLite calls.
async fn match_in_background(
    path: std::path::PathBuf,
    inventory: Inventory,
) -> Result<MatchReport, ApiError> {
    let task = tokio::task::spawn_blocking(move || match_with(&path, &inventory));
    task.await.map_err(|error| {
        ApiError::Internal(anyhow::Error::new(error).context("matching task failed"))
    })?
}

fn match_with(path: &Path, inventory: &Inventory) -> Result<MatchReport, ApiError> {
    let database = vulnloop_db::Database::open(path).map_err(|error| {
        tracing::error!(path = %path.display(), error = format!("{error:#}"), "advisory database cannot be opened");
        ApiError::Unavailable("the advisory database is not available; the inventory was not stored")
    })?;
    vulnloop_match::match_inventory(inventory, &database)
        .map_err(|error| ApiError::Internal(anyhow::Error::new(error).context("matching failed")))
}

fn os_name(inventory: &Inventory) -> String {
    let os = &inventory.host.os;
    match &os.version_id {
        Some(version) => format!("{}:{version}", os.id),
        None => os.id.clone(),
    }
}

/// Keys findings by (vulnerability, package), the key of the findings table;
/// the first record the matcher lists for a key wins.
fn unique_findings(report: &MatchReport) -> BTreeMap<(&str, &str), &Finding> {
    let mut unique = BTreeMap::new();
    for finding in &report.findings {
        unique
            .entry((finding.id.as_str(), finding.package.as_str()))
            .or_insert(finding);
    }
    unique
}

async fn upsert_finding(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    finding: &Finding,
    upload_id: &str,
    at: &str,
) -> Result<(), ApiError> {
    // A finding that was no longer present, expired, fixed or waiting for a
    // restart and is reported again opens again; any other status (fixing,
    // ignored …) is kept.
    sqlx::query(
        "INSERT INTO findings (host_id, vulnerability_id, package, advisory_id, source, severity, installed_version,
                               fixed_version, vendor_status, status, first_seen_at, last_seen_at, status_changed_at,
                               last_upload_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'unfixed', $10, $10, $10, $11)
         ON CONFLICT (host_id, vulnerability_id, package) DO UPDATE SET
             advisory_id = excluded.advisory_id,
             source = excluded.source,
             severity = excluded.severity,
             installed_version = excluded.installed_version,
             fixed_version = excluded.fixed_version,
             vendor_status = excluded.vendor_status,
             last_seen_at = excluded.last_seen_at,
             last_upload_id = excluded.last_upload_id,
             status_changed_at = CASE WHEN findings.status IN ('no_longer_present', 'expired', 'fixed', 'restart_pending')
                                      THEN excluded.status_changed_at ELSE findings.status_changed_at END,
             status = CASE WHEN findings.status IN ('no_longer_present', 'expired', 'fixed', 'restart_pending')
                           THEN 'unfixed' ELSE findings.status END",
    )
    .bind(host_id)
    .bind(&finding.id)
    .bind(&finding.package)
    .bind(&finding.advisory_id)
    .bind(&finding.source)
    .bind(finding.severity.as_str())
    .bind(&finding.installed_version)
    .bind(finding.fixed_version())
    .bind(finding.status.as_str())
    .bind(at)
    .bind(upload_id)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Updates the host's findings that the upload `upload_id` did not report,
/// and returns how many became `no_longer_present`.
///
/// A fix explains why some findings are gone, so they do not become
/// `no_longer_present`: `fixing` and `verifying` findings stay as they are
/// until their task's result decides them, `fixed` and `restart_pending`
/// ones are already closed by a fix, and a `fix_failed` finding that is gone
/// becomes `fixed`, because the package was upgraded after the failed task.
async fn close_missing(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    upload_id: &str,
    at: &str,
) -> Result<u64, ApiError> {
    sqlx::query(
        "UPDATE findings SET status = 'fixed', status_changed_at = $1
         WHERE host_id = $2 AND last_upload_id <> $3 AND status = 'fix_failed'",
    )
    .bind(at)
    .bind(host_id)
    .bind(upload_id)
    .execute(&mut **transaction)
    .await?;
    let closed = sqlx::query(
        "UPDATE findings SET status = 'no_longer_present', status_changed_at = $1
         WHERE host_id = $2 AND last_upload_id <> $3
           AND status NOT IN ('no_longer_present', 'fixing', 'verifying', 'fixed', 'restart_pending')",
    )
    .bind(at)
    .bind(host_id)
    .bind(upload_id)
    .execute(&mut **transaction)
    .await?
    .rows_affected();
    Ok(closed)
}
