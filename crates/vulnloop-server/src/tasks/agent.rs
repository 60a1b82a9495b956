//! The agent's side of tasks: claiming queued tasks and reporting outcomes,
//! which move the findings of each task through the lifecycle.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use vulnloop_inventory::Inventory;

use super::{
    attach_findings, insert, set_status, task_findings, task_from_row, FindingRef, Task, TaskKind,
    TASK_COLUMNS,
};
use crate::error::ApiError;
use crate::store::{audit, now, text};
use crate::{secret, AppState};

/// Limits on a result body's lists and texts, so one report cannot fill the database.
const MAX_MESSAGES: usize = 100;
const MAX_MESSAGE_CHARS: usize = 4096;
const MAX_COMMANDS: usize = 100;
const MAX_COMMAND_ARGS: usize = 1000;
const MAX_PACKAGE_CHANGES: usize = 10_000;

/// Outcome of a task on the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskOutcome {
    Succeeded,
    Failed,
    /// The agent's local policy does not allow the task.
    Refused,
}

/// An agent's report of one task.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskResult {
    pub outcome: TaskOutcome,
    /// The fix ran with the `dry-run` executor: `commands` were listed, not run.
    #[serde(default)]
    pub dry_run: bool,
    /// Messages for people: errors, rejection reasons, notes.
    #[serde(default)]
    pub messages: Vec<String>,
    /// Argument vectors that ran, or that would run in a dry run.
    #[serde(default)]
    pub commands: Vec<Vec<String>>,
    /// Installed versions before and after a fix.
    #[serde(default)]
    pub packages: Vec<PackageChange>,
    /// A running process still uses files that a fix replaced.
    #[serde(default)]
    pub restart_needed: bool,
}

/// One binary package's versions around a fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageChange {
    pub name: String,
    #[serde(default)]
    pub arch: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Moves the host's queued tasks to `running` and returns them, oldest first.
///
/// One UPDATE moves every queued task and stamps it with a new claim id, so
/// two polls at once never both receive a task: the second UPDATE finds no
/// queued row left.
pub async fn claim(state: &AppState, host_id: &str) -> Result<Vec<Task>, ApiError> {
    let claim_id = secret::new_id()?;
    let at = now();
    let mut transaction = state.store.pool().begin().await?;
    let claimed = sqlx::query(
        "UPDATE tasks SET state = 'running', claim_id = $1, claimed_at = $2, updated_at = $2
         WHERE host_id = $3 AND state = 'queued'",
    )
    .bind(&claim_id)
    .bind(&at)
    .bind(host_id)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    if claimed == 0 {
        transaction.commit().await?;
        return Ok(Vec::new());
    }

    let rows = sqlx::query(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE claim_id = $1 ORDER BY created_at, id"
    ))
    .bind(&claim_id)
    .fetch_all(&mut *transaction)
    .await?;
    let mut tasks = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut task = task_from_row(row)?;
        task.findings = task_findings(&mut *transaction, &task.id).await?;
        tasks.push(task);
    }
    let ids: Vec<&str> = tasks.iter().map(|task| task.id.as_str()).collect();
    audit(
        &mut transaction,
        &format!("agent:{host_id}"),
        "task.claim",
        Some(host_id),
        json!({ "tasks": ids }),
    )
    .await?;
    transaction.commit().await?;

    tracing::info!(host = %host_id, tasks = tasks.len(), "tasks claimed");
    Ok(tasks)
}

/// Records an agent's result of a running task of its host and moves the
/// task's findings (see the table in the module above).
///
/// Returns 404 for a task of another host, 409 for a task that is not
/// running or a verify result sent before the inventory upload, and 422 for
/// a result over the size limits.
pub async fn report(
    state: &AppState,
    host_id: &str,
    task_id: &str,
    result: TaskResult,
) -> Result<Task, ApiError> {
    check_result(&result)?;
    let mut transaction = state.store.pool().begin().await?;
    let row =
        sqlx::query("SELECT kind, state, claimed_at FROM tasks WHERE id = $1 AND host_id = $2")
            .bind(task_id)
            .bind(host_id)
            .fetch_optional(&mut *transaction)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("task {task_id} not found")))?;
    let task_state: String = row.try_get("state")?;
    if task_state != "running" {
        return Err(ApiError::Conflict(format!(
            "task {task_id} is {task_state}, not running, so it takes no result"
        )));
    }
    let kind = task_from_kind(&row.try_get::<String, _>("kind")?)?;
    let claimed_at = text(&row, "claimed_at")?.unwrap_or_default();
    let findings: BTreeSet<FindingRef> = task_findings(&mut *transaction, task_id)
        .await?
        .into_iter()
        .collect();

    let mut outcome = Lifecycle {
        notes: Vec::new(),
        statuses: Vec::new(),
        follow_up: None,
    };
    match kind {
        TaskKind::Scan => {}
        TaskKind::Fix => {
            finish_fix(
                &mut transaction,
                host_id,
                task_id,
                &findings,
                &result,
                &mut outcome,
            )
            .await?
        }
        TaskKind::Verify => {
            finish_verify(
                state,
                &mut transaction,
                host_id,
                &claimed_at,
                &findings,
                &result,
                &mut outcome,
            )
            .await?
        }
    }

    let new_state = if result.outcome == TaskOutcome::Succeeded {
        "succeeded"
    } else {
        "failed"
    };
    let mut stored = serde_json::to_value(&result).map_err(|error| {
        ApiError::Internal(anyhow::Error::new(error).context("failed to serialize a task result"))
    })?;
    stored["server_notes"] = json!(outcome.notes);
    stored["finding_statuses"] = Value::Array(
        outcome
            .statuses
            .iter()
            .map(|(finding, status)| json!({ "vulnerability_id": finding.vulnerability_id, "package": finding.package, "status": status }))
            .collect(),
    );
    if let Some(follow_up) = &outcome.follow_up {
        stored["verify_task_id"] = json!(follow_up);
    }
    let at = now();
    let updated = sqlx::query(
        "UPDATE tasks SET state = $1, result_json = $2, finished_at = $3, updated_at = $3 WHERE id = $4 AND state = 'running'",
    )
    .bind(new_state)
    .bind(stored.to_string())
    .bind(&at)
    .bind(task_id)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(ApiError::Conflict(format!(
            "task {task_id} was finished by another request"
        )));
    }
    let detail = json!({ "outcome": result.outcome, "state": new_state, "verify_task_id": outcome.follow_up });
    audit(
        &mut transaction,
        &format!("agent:{host_id}"),
        "task.result",
        Some(task_id),
        detail,
    )
    .await?;
    let event = json!({
        "task_id": task_id,
        "host_id": host_id,
        "kind": kind.as_str(),
        "state": new_state,
        "finding_statuses": stored["finding_statuses"],
        "verify_task_id": outcome.follow_up,
    });
    crate::webhooks::enqueue(&mut transaction, crate::webhooks::TASK_FINISHED, &event).await?;
    transaction.commit().await?;

    tracing::info!(host = %host_id, task = %task_id, kind = kind.as_str(), state = new_state, "task finished");
    super::get(state, task_id).await
}

fn task_from_kind(kind: &str) -> Result<TaskKind, ApiError> {
    TaskKind::parse(kind)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("task has the unknown kind {kind:?}")))
}

fn check_result(result: &TaskResult) -> Result<(), ApiError> {
    let too_long = result
        .messages
        .iter()
        .any(|message| message.chars().count() > MAX_MESSAGE_CHARS);
    let problem = if result.messages.len() > MAX_MESSAGES {
        format!("messages may have at most {MAX_MESSAGES} entries")
    } else if too_long {
        format!("each message may have at most {MAX_MESSAGE_CHARS} characters")
    } else if result.commands.len() > MAX_COMMANDS {
        format!("commands may have at most {MAX_COMMANDS} entries")
    } else if result
        .commands
        .iter()
        .any(|argv| argv.is_empty() || argv.len() > MAX_COMMAND_ARGS)
    {
        format!("each command needs 1 to {MAX_COMMAND_ARGS} arguments")
    } else if result.packages.len() > MAX_PACKAGE_CHANGES {
        format!("packages may have at most {MAX_PACKAGE_CHANGES} entries")
    } else {
        return Ok(());
    };
    Err(ApiError::Unprocessable(problem))
}

/// Status changes and notes that a result caused, stored with the result.
struct Lifecycle {
    notes: Vec<String>,
    statuses: Vec<(FindingRef, String)>,
    /// Id of the verify task that a successful fix queued.
    follow_up: Option<String>,
}

impl Lifecycle {
    async fn set(
        &mut self,
        transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
        host_id: &str,
        finding: &FindingRef,
        status: &str,
    ) -> Result<(), ApiError> {
        set_status(transaction, host_id, finding, status, &now()).await?;
        self.statuses.push((finding.clone(), status.to_string()));
        Ok(())
    }
}

async fn finish_fix(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    task_id: &str,
    findings: &BTreeSet<FindingRef>,
    result: &TaskResult,
    lifecycle: &mut Lifecycle,
) -> Result<(), ApiError> {
    match result.outcome {
        TaskOutcome::Succeeded if result.dry_run => {
            // Nothing changed on the host, so each finding gets back the
            // status it had before the task.
            for finding in findings {
                let previous: String = sqlx::query(
                    "SELECT previous_status FROM task_findings WHERE task_id = $1 AND vulnerability_id = $2 AND package = $3",
                )
                .bind(task_id)
                .bind(&finding.vulnerability_id)
                .bind(&finding.package)
                .fetch_one(&mut **transaction)
                .await?
                .try_get("previous_status")?;
                lifecycle
                    .set(transaction, host_id, finding, &previous)
                    .await?;
            }
            lifecycle.notes.push(
                "dry run: nothing was installed, so the findings keep their status".to_string(),
            );
        }
        TaskOutcome::Succeeded => {
            let verify_id = secret::new_id()?;
            let packages: BTreeSet<String> = findings
                .iter()
                .map(|finding| finding.package.clone())
                .collect();
            let payload = super::VerifyPayload {
                schema_version: super::PAYLOAD_VERSION,
                packages: packages.into_iter().collect(),
            };
            let payload = super::to_value(&payload)?;
            insert(
                transaction,
                &verify_id,
                host_id,
                TaskKind::Verify,
                &payload,
                "server",
                Some(task_id),
            )
            .await?;
            attach_findings(transaction, &verify_id, host_id, findings, "verifying").await?;
            lifecycle.statuses.extend(
                findings
                    .iter()
                    .map(|finding| (finding.clone(), "verifying".to_string())),
            );
            lifecycle
                .notes
                .push(format!("queued verify task {verify_id}"));
            lifecycle.follow_up = Some(verify_id);
        }
        TaskOutcome::Failed | TaskOutcome::Refused => {
            for finding in findings {
                lifecycle
                    .set(transaction, host_id, finding, "fix_failed")
                    .await?;
            }
        }
    }
    Ok(())
}

/// Decides each finding of a verify task from the host's last upload, which
/// the agent sends after claiming the task and before reporting.
async fn finish_verify(
    state: &AppState,
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    claimed_at: &str,
    findings: &BTreeSet<FindingRef>,
    result: &TaskResult,
    lifecycle: &mut Lifecycle,
) -> Result<(), ApiError> {
    if result.outcome != TaskOutcome::Succeeded {
        for finding in findings {
            lifecycle
                .set(transaction, host_id, finding, "fix_failed")
                .await?;
        }
        lifecycle.notes.push(
            "the verify task did not succeed on the agent, so the fix is not confirmed".to_string(),
        );
        return Ok(());
    }

    let host =
        sqlx::query("SELECT last_upload_id, inventory_at, inventory_json FROM hosts WHERE id = $1")
            .bind(host_id)
            .fetch_one(&mut **transaction)
            .await?;
    let uploaded_at = text(&host, "inventory_at")?.unwrap_or_default();
    if uploaded_at.as_str() < claimed_at {
        return Err(ApiError::Conflict(
            "no inventory was uploaded since the verify task was claimed; upload it, then report"
                .to_string(),
        ));
    }
    if state.advisory_db.is_none() {
        lifecycle.notes.push(
            "the server has no advisory database, so the upload was not matched and the findings stay verifying".to_string(),
        );
        return Ok(());
    }
    let complete = match text(&host, "inventory_json")? {
        Some(json) => Inventory::from_json(&json, "stored inventory")
            .is_ok_and(|inventory| inventory.is_complete()),
        None => false,
    };
    let last_upload = text(&host, "last_upload_id")?.unwrap_or_default();

    for finding in findings {
        let reported_by: String = sqlx::query(
            "SELECT last_upload_id FROM findings WHERE host_id = $1 AND vulnerability_id = $2 AND package = $3",
        )
        .bind(host_id)
        .bind(&finding.vulnerability_id)
        .bind(&finding.package)
        .fetch_one(&mut **transaction)
        .await?
        .try_get("last_upload_id")?;
        if reported_by == last_upload {
            lifecycle
                .set(transaction, host_id, finding, "fix_failed")
                .await?;
        } else if !complete {
            // An inventory with collection problems may have left the
            // package out, so its silence does not prove the fix.
            lifecycle
                .statuses
                .push((finding.clone(), "verifying".to_string()));
        } else if result.restart_needed {
            lifecycle
                .set(transaction, host_id, finding, "restart_pending")
                .await?;
        } else {
            lifecycle
                .set(transaction, host_id, finding, "fixed")
                .await?;
        }
    }
    if !complete {
        lifecycle.notes.push(
            "the uploaded inventory reports collection problems, so findings it did not report stay verifying".to_string(),
        );
    }
    Ok(())
}
