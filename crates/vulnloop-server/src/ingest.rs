//! Inventory uploads: validate, match against the advisory database, and
//! record each host's findings with their lifecycle status.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sqlx::Row;
use vulnloop_inventory::Inventory;
use vulnloop_match::{Finding, MatchReport};

use crate::error::ApiError;
use crate::rematch::PackageNames;
use crate::store::{audit, now};
use crate::{secret, AppState};

/// Validates `body` as an inventory of `host_id`, stores it and its findings,
/// and returns a summary for the agent.
pub async fn store_inventory(
    state: &AppState,
    host_id: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let inventory = parse(body)?;
    let report = match &state.matcher {
        Some(matcher) => Some(matcher.match_inventory(inventory.clone()).await?),
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

    let summary = match &report {
        Some(report) => {
            record_findings(
                &mut transaction,
                host_id,
                &inventory,
                report,
                &upload_id,
                &at,
            )
            .await?
        }
        None => json!({
            "packages": inventory.packages.len(),
            "matched": false,
            "note": "the server has no advisory database (--advisory-db), so the inventory was stored but not matched",
        }),
    };
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

/// Records the findings of `report` and the host's package names inside
/// `transaction`, and returns a summary for the agent or the audit log.
/// `match_id` marks the findings that this match reported; uploads and
/// re-matching both call this.
pub async fn record_findings(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    inventory: &Inventory,
    report: &MatchReport,
    match_id: &str,
    at: &str,
) -> Result<Value, ApiError> {
    let mut summary = json!({ "packages": inventory.packages.len(), "matched": true });
    let findings = unique_findings(report);
    let reported: Vec<&Finding> = findings.values().copied().collect();
    upsert_findings(transaction, host_id, &reported, match_id, at).await?;
    summary["findings"] = json!(findings.len());
    summary["ignored"] = json!(crate::rules::apply_to_host(transaction, host_id, at).await?);
    summary["coverage"] = serde_json::to_value(&report.coverage).map_err(|error| {
        ApiError::Internal(anyhow::Error::new(error).context("failed to serialize coverage"))
    })?;
    // An incomplete inventory may have left packages out, so its silence
    // about a finding proves nothing.
    if inventory.is_complete() {
        summary["no_longer_present"] =
            json!(close_missing(transaction, host_id, match_id, at).await?);
    } else {
        summary["no_longer_present"] = json!(0);
        summary["note"] = json!(
            "the inventory reports collection problems, so findings it did not report stay open"
        );
    }
    record_package_names(transaction, host_id, inventory).await?;
    crate::webhooks::enqueue_status_changes(transaction, at).await?;
    Ok(summary)
}

/// Stores the release and package names of the host's inventory for
/// re-matching, unless the stored ones are the same.
async fn record_package_names(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    inventory: &Inventory,
) -> Result<(), ApiError> {
    let names = crate::rematch::PackageNames::of(inventory);
    let digest = names
        .as_ref()
        .map(|names| secret::hash(&names.digest_text()));
    let stored: Option<String> =
        sqlx::query("SELECT package_names_sha256 FROM hosts WHERE id = $1")
            .bind(host_id)
            .fetch_one(&mut **transaction)
            .await?
            .try_get("package_names_sha256")?;
    if stored.is_some() && stored == digest {
        return Ok(());
    }
    sqlx::query(
        "UPDATE hosts SET package_release = $1, package_names = $2, package_names_sha256 = $3 WHERE id = $4",
    )
    .bind(names.as_ref().map(|names| names.release.clone()))
    .bind(names.as_ref().map(PackageNames::text))
    .bind(digest)
    .bind(host_id)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Parses an upload: 400 for text that is not JSON, 422 for JSON that is not an inventory.
/// The caller logs and records the rejection.
fn parse(body: &[u8]) -> Result<Inventory, ApiError> {
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        return Err(ApiError::BadRequest(format!(
            "the body is not valid JSON: {error}"
        )));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("the body is not UTF-8".to_string()))?;
    Inventory::from_json(text, "request body")
        .map_err(|error| ApiError::Unprocessable(error.to_string()))
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

/// Findings per upsert statement. SQLite looks up a parameter's name by
/// walking the list of all of them, and sqlx looks up every name, so binding
/// costs grow with the square of a statement's parameters. With 200
/// findings (1,603 parameters) a statement, a profile put 17 % of the
/// server's time there. 32 findings keep that small and still save most of
/// the per-statement overhead.
const FINDINGS_PER_UPSERT: usize = 32;

/// Inserts or updates the reported findings, many rows per statement: one
/// statement per finding made the statement overhead of the `Any` driver
/// the largest cost of an upload.
async fn upsert_findings(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    findings: &[&Finding],
    upload_id: &str,
    at: &str,
) -> Result<(), ApiError> {
    for chunk in findings.chunks(FINDINGS_PER_UPSERT) {
        // $1 host, $2 time, $3 upload id; then 8 parameters per finding.
        let rows: Vec<String> = (0..chunk.len())
            .map(|index| {
                let first = 4 + 8 * index;
                let columns: Vec<String> = (first..first + 8)
                    .map(|number| format!("${number}"))
                    .collect();
                format!("($1, {}, 'unfixed', $2, $2, $2, $3)", columns.join(", "))
            })
            .collect();
        // A reported finding that was no longer present, expired, fixed or
        // waiting for a restart opens again. Any other status (fixing,
        // ignored …) is kept.
        let sql = format!(
            "INSERT INTO findings (host_id, vulnerability_id, package, advisory_id, source, severity, installed_version,
                                   fixed_version, vendor_status, status, first_seen_at, last_seen_at, status_changed_at,
                                   last_upload_id)
             VALUES {}
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
            rows.join(",\n                    ")
        );
        let mut query = sqlx::query(&sql).bind(host_id).bind(at).bind(upload_id);
        for finding in chunk {
            query = query
                .bind(&finding.id)
                .bind(&finding.package)
                .bind(&finding.advisory_id)
                .bind(&finding.source)
                .bind(finding.severity.as_str())
                .bind(&finding.installed_version)
                .bind(finding.fixed_version())
                .bind(finding.status.as_str());
        }
        query.execute(&mut **transaction).await?;
    }
    Ok(())
}

/// Updates the host's findings that the upload `upload_id` did not report,
/// and returns how many became `no_longer_present`.
///
/// A fix explains why some findings are gone, so they do not become
/// `no_longer_present`. `fixing` and `verifying` findings stay as they are
/// until their task's result decides them. `fixed` and `restart_pending`
/// ones are already closed by a fix. A `fix_failed` finding that is gone
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
