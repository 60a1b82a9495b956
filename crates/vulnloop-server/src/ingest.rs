//! Inventory uploads: validate, match against the advisory database, and
//! record each host's findings with their lifecycle status.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::ser::SerializeStruct;

use serde_json::{json, Value};
use sqlx::Row;
use vulnloop_inventory::Inventory;
use vulnloop_match::{Finding, MatchReport};

use crate::error::ApiError;
use crate::matching::FileStamp;
use crate::rematch::PackageNames;
use crate::store::{audit, now};
use crate::{secret, AppState};

/// Validates `body` as an inventory of `host_id`, stores it and its findings,
/// and returns a summary for the agent.
///
/// An upload whose inventory is the same as the one the host's findings were
/// last matched from, apart from the collection time, against the same
/// advisory database file, cannot change what a match reports. Agents also
/// upload on an interval, so most uploads of a fleet are of that kind. The
/// server then confirms the findings of the last match instead of matching
/// again (see [`confirm_findings`]). The stored inventory text then stays
/// that of the matched upload, whose content is the same; `inventory_at`
/// takes the time of the new upload.
pub async fn store_inventory(
    state: &AppState,
    host_id: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let (text, inventory) = parse(body)?;
    let inventory = Arc::new(inventory);
    let upload_id = secret::new_id()?;

    let Some(matcher) = &state.matcher else {
        let summary = json!({
            "packages": inventory.packages.len(),
            "matched": false,
            "note": "the server has no advisory database (--advisory-db), so the inventory was stored but not matched",
        });
        let mut transaction = state.store.pool().begin().await?;
        update_host(
            &mut transaction,
            host_id,
            (text, &inventory),
            &upload_id,
            &now(),
            None,
        )
        .await?;
        finish_upload(transaction, host_id, &summary).await?;
        return Ok(summary);
    };

    let content = content_digest(&inventory)?;
    let last_match: Option<(Option<String>, Option<String>)> =
        sqlx::query("SELECT matched_sha256, last_upload_id FROM hosts WHERE id = $1")
            .bind(host_id)
            .fetch_optional(state.store.reader())
            .await?
            .map(|row| Ok::<_, sqlx::Error>((row.try_get(0)?, row.try_get(1)?)))
            .transpose()?;
    if let (Some((Some(matched), Some(previous_id))), Ok(stamp)) =
        (&last_match, FileStamp::of(matcher.path()))
    {
        let digest = match_digest(&content, &stamp);
        if *matched == digest {
            let at = now();
            let mut transaction = state.store.pool().begin().await?;
            // The host row was read outside the transaction. If another
            // upload or a re-match committed since, its upload id differs,
            // so this upload is matched in full.
            let unchanged = sqlx::query(
                "UPDATE hosts SET inventory_at = $1, last_seen_at = $1, last_upload_id = $2, stopped_uploading_at = NULL
                 WHERE id = $3 AND last_upload_id = $4 AND matched_sha256 = $5",
            )
            .bind(&at)
            .bind(&upload_id)
            .bind(host_id)
            .bind(previous_id)
            .bind(&digest)
            .execute(&mut *transaction)
            .await?
            .rows_affected()
                == 1;
            if unchanged {
                let summary = confirm_findings(
                    &mut transaction,
                    host_id,
                    &inventory,
                    previous_id,
                    &upload_id,
                    &at,
                )
                .await?;
                finish_upload(transaction, host_id, &summary).await?;
                return Ok(summary);
            }
            transaction.rollback().await?;
        }
    }

    let (report, stamp) = matcher.match_inventory(Arc::clone(&inventory)).await?;
    let digest = match_digest(&content, &stamp);
    let at = now();
    let mut transaction = state.store.pool().begin().await?;
    update_host(
        &mut transaction,
        host_id,
        (text, &inventory),
        &upload_id,
        &at,
        Some(&digest),
    )
    .await?;
    let summary = record_findings(
        &mut transaction,
        host_id,
        &inventory,
        &report,
        &upload_id,
        &at,
    )
    .await?;
    finish_upload(transaction, host_id, &summary).await?;
    Ok(summary)
}

/// Stores the uploaded inventory text in the host row, with the id of this
/// upload, the digest of what was matched (`None` when not matched) and
/// the package names that re-matching looks up.
async fn update_host(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    inventory: (&str, &Inventory),
    upload_id: &str,
    at: &str,
    matched_sha256: Option<&str>,
) -> Result<(), ApiError> {
    let (text, inventory) = inventory;
    let names = PackageNames::of(inventory);
    sqlx::query(
        "UPDATE hosts SET inventory_json = $1, inventory_at = $2, last_seen_at = $2, os = $3, last_upload_id = $4,
                          matched_sha256 = $5, package_release = $6, package_names = $7, stopped_uploading_at = NULL
         WHERE id = $8",
    )
    .bind(text)
    .bind(at)
    .bind(os_name(inventory))
    .bind(upload_id)
    .bind(matched_sha256)
    .bind(names.as_ref().map(|names| names.release.clone()))
    .bind(names.as_ref().map(PackageNames::text))
    .bind(host_id)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Writes the audit row of an upload and commits it.
async fn finish_upload(
    mut transaction: sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    summary: &Value,
) -> Result<(), ApiError> {
    audit(
        &mut transaction,
        &format!("agent:{host_id}"),
        "host.inventory.upload",
        Some(host_id),
        summary.clone(),
    )
    .await?;
    transaction.commit().await?;
    tracing::info!(host = %host_id, summary = %summary, "inventory received");
    Ok(())
}

/// Returns the SHA-256 of the inventory as JSON without its collection
/// time, which changes on every collection.
fn content_digest(inventory: &Inventory) -> Result<String, ApiError> {
    let unstamped = Unstamped(inventory);
    let json = serde_json::to_string(&unstamped).map_err(|error| {
        ApiError::Internal(anyhow::Error::new(error).context("failed to serialize the inventory"))
    })?;
    Ok(secret::hash(&json))
}

/// An inventory that serializes without its collection time.
struct Unstamped<'a>(&'a Inventory);

impl serde::Serialize for Unstamped<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Named field by field, so that a new field of `Inventory` fails to
        // compile here instead of being left out of the digest.
        let Inventory {
            schema_version,
            collected_at: _,
            host,
            packages,
            problems,
            runtime,
            applications,
            windows,
        } = self.0;
        let mut fields = serializer.serialize_struct("Inventory", 7)?;
        fields.serialize_field("schema_version", schema_version)?;
        fields.serialize_field("host", host)?;
        fields.serialize_field("packages", packages)?;
        fields.serialize_field("problems", problems)?;
        fields.serialize_field("runtime", runtime)?;
        fields.serialize_field("applications", applications)?;
        fields.serialize_field("windows", windows)?;
        fields.end()
    }
}

/// The statuses, as an SQL list, of findings that open again as `unfixed`
/// when a match reports them.
const REOPENED: &str = "('no_longer_present', 'expired', 'fixed', 'restart_pending')";

/// Returns the digest that `hosts.matched_sha256` stores: the inventory's
/// content digest and the advisory database file it was matched against.
fn match_digest(content: &str, stamp: &FileStamp) -> String {
    secret::hash(&format!("{content}\n{}", stamp.text()))
}

/// Confirms the findings of the host's last match for an upload that
/// reported the same inventory: they take the new upload's id and time, and
/// those a match would open again (`no_longer_present`, `expired`, `fixed`,
/// `restart_pending`) become `unfixed`, as in [`upsert_findings`]. Ignore
/// rules, the closing of findings that are not reported (for a complete
/// inventory) and webhooks then run as after a match, so the result is that
/// of a new match of the same inventory against the same database.
async fn confirm_findings(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    inventory: &Inventory,
    previous_id: &str,
    upload_id: &str,
    at: &str,
) -> Result<Value, ApiError> {
    let sql = format!(
        "UPDATE findings SET
             last_seen_at = $1,
             last_upload_id = $2,
             status_changed_at = CASE WHEN status IN {REOPENED} THEN $1 ELSE status_changed_at END,
             status = CASE WHEN status IN {REOPENED} THEN 'unfixed' ELSE status END
         WHERE host_id = $3 AND last_upload_id = $4"
    );
    let confirmed = sqlx::query(&sql)
        .bind(at)
        .bind(upload_id)
        .bind(host_id)
        .bind(previous_id)
        .execute(&mut **transaction)
        .await?
        .rows_affected();

    // A finding the last match did not report can still be open, for one
    // when its fix task failed after the package was removed.
    let (ignored, closed) = after_match(transaction, host_id, inventory, upload_id, at).await?;
    Ok(json!({
        "packages": inventory.packages.len(),
        "matched": true,
        "findings": confirmed,
        "ignored": ignored,
        "no_longer_present": closed,
        "note": "the inventory and the advisory database are the same as at the last match, so its findings were confirmed without matching again",
    }))
}

/// Records the findings of `report` inside
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
    summary["coverage"] = serde_json::to_value(&report.coverage).map_err(|error| {
        ApiError::Internal(anyhow::Error::new(error).context("failed to serialize coverage"))
    })?;

    let (ignored, closed) = after_match(transaction, host_id, inventory, match_id, at).await?;
    summary["ignored"] = json!(ignored);
    summary["no_longer_present"] = json!(closed);
    if !inventory.is_complete() {
        summary["note"] = json!(
            "the inventory reports collection problems, so findings it did not report stay open"
        );
    }
    Ok(summary)
}

/// Runs what follows the recording of a match's findings: the active ignore
/// rules, the closing of findings the match `match_id` did not report, and
/// the webhook events of the status changes. Returns how many findings the
/// rules ignored and how many were closed.
async fn after_match(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    inventory: &Inventory,
    match_id: &str,
    at: &str,
) -> Result<(u64, u64), ApiError> {
    let ignored = crate::rules::apply_to_host(transaction, host_id, at).await?;
    // An incomplete inventory may have left packages out, so its silence
    // about a finding proves nothing.
    let closed = if inventory.is_complete() {
        close_missing(transaction, host_id, match_id, at).await?
    } else {
        0
    };
    crate::webhooks::enqueue_status_changes(transaction, at).await?;
    Ok((ignored, closed))
}

/// Parses an upload: 400 for text that is not JSON, 422 for JSON that is not an inventory.
/// Returns the text and the inventory. The caller logs and records the rejection.
fn parse(body: &[u8]) -> Result<(&str, Inventory), ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("the body is not UTF-8".to_string()))?;
    Inventory::from_json(text, "request body")
        .map(|inventory| (text, inventory))
        .map_err(|error| {
            // Only a rejected body is parsed twice, to tell the two cases apart.
            match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Err(syntax) => {
                    ApiError::BadRequest(format!("the body is not valid JSON: {syntax}"))
                }
                Ok(_) => ApiError::Unprocessable(error.to_string()),
            }
        })
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
                 status_changed_at = CASE WHEN findings.status IN {REOPENED}
                                          THEN excluded.status_changed_at ELSE findings.status_changed_at END,
                 status = CASE WHEN findings.status IN {REOPENED} THEN 'unfixed' ELSE findings.status END",
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

/// Updates the host's open findings that the match `upload_id` did not
/// report, in one statement, and returns how many it closed.
///
/// A fix explains why some findings are gone, so they do not become
/// `no_longer_present`. `fixing` and `verifying` findings stay as they are
/// until their task's result decides them. `fixed` and `restart_pending`
/// ones are already closed by a fix. A `fix_failed` finding that is gone
/// becomes `fixed`, because the package was upgraded after the failed task;
/// the count includes those.
async fn close_missing(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    upload_id: &str,
    at: &str,
) -> Result<u64, ApiError> {
    let closed = sqlx::query(
        "UPDATE findings SET
             status = CASE WHEN status = 'fix_failed' THEN 'fixed' ELSE 'no_longer_present' END,
             status_changed_at = $1
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
