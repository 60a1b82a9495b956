//! Tasks for agents: scan, fix and verify, and the finding statuses they move.
//!
//! [`create`] is the one way to start a task, used by the API and callable
//! by other server code (the console). An agent claims its host's queued
//! tasks with [`claim`] and reports each outcome with [`report`], which moves
//! the findings of the task through the lifecycle:
//!
//! | event | findings of the task become |
//! |---|---|
//! | fix task created | `fixing` |
//! | verify task created | `verifying` |
//! | fix failed or refused | `fix_failed` |
//! | fix succeeded | `verifying`, and a verify task is queued |
//! | dry-run fix | the status they had before the task |
//! | verify: the upload no longer reports the finding | `fixed`, or `restart_pending` |
//! | verify: the upload still reports the finding | `fix_failed` |
//! | verify failed or refused | `fix_failed` |

mod agent;
mod payload;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::store::{audit, now, text};
use crate::{secret, AppState};

pub use agent::{claim, report, PackageChange, TaskOutcome, TaskResult};
pub use payload::{FixPackage, FixPayload, FixedVulnerability, VerifyPayload, PAYLOAD_VERSION};

/// Maximum number of findings that one fix or verify task may name.
pub const MAX_TASK_FINDINGS: usize = 1000;

/// Kind of work a task asks of an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Collect and upload the inventory now.
    Scan,
    /// Upgrade the packages of the structured payload, if the agent's policy allows it.
    Fix,
    /// Collect and upload the inventory, then report whether a restart is needed.
    Verify,
}

impl TaskKind {
    /// Returns the name stored in the database and sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Scan => "scan",
            TaskKind::Fix => "fix",
            TaskKind::Verify => "verify",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "scan" => Some(TaskKind::Scan),
            "fix" => Some(TaskKind::Fix),
            "verify" => Some(TaskKind::Verify),
            _ => None,
        }
    }
}

/// Task states, as the `tasks.state` column stores them.
pub const TASK_STATES: [&str; 4] = ["queued", "running", "succeeded", "failed"];

/// One finding of a host, by the key of the findings table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingRef {
    pub vulnerability_id: String,
    pub package: String,
}

/// Request to start a task.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    pub host_id: String,
    pub kind: TaskKind,
    /// Findings a fix or verify task acts on; empty for a scan.
    #[serde(default)]
    pub findings: Vec<FindingRef>,
}

/// A task as the API returns it; agents read it back with `Deserialize`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub host_id: String,
    pub kind: TaskKind,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub state: String,
    /// Structured work description: [`FixPayload`] for a fix, [`VerifyPayload`] for a verify, `{}` for a scan.
    pub payload: Value,
    /// The agent's report, with the server's notes, once the task finished.
    pub result: Option<Value>,
    /// `user:<id>` for a person, `server` for work the server queued itself.
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub claimed_at: Option<String>,
    pub finished_at: Option<String>,
    /// The fix task whose success queued this verify task.
    pub parent_task_id: Option<String>,
    pub findings: Vec<FindingRef>,
}

/// Creates a task for a host: checks the request, builds the payload, moves
/// the findings of a fix or verify to `fixing` or `verifying`, and writes it
/// all with an audit row in one transaction.
///
/// Needs an operator or admin. Returns 404 for an unknown host, 422 for a
/// request that names no, unknown or unfixable findings, and 409 when a
/// finding already belongs to a queued or running task.
pub async fn create(
    state: &AppState,
    principal: &Principal,
    request: NewTask,
) -> Result<Task, ApiError> {
    principal.require(Role::Operator)?;
    let findings = check_findings(&request)?;

    let mut transaction = state.store.pool().begin().await?;
    let host = sqlx::query("SELECT id, inventory_json FROM hosts WHERE id = $1")
        .bind(&request.host_id)
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("host {} not found", request.host_id)))?;

    let payload = match request.kind {
        TaskKind::Scan => json!({}),
        TaskKind::Fix | TaskKind::Verify => {
            let rows =
                payload::load_findings(&mut transaction, &request.host_id, &findings).await?;
            check_open_tasks(&mut transaction, &request.host_id, &findings).await?;
            match request.kind {
                TaskKind::Fix => {
                    let inventory = text(&host, "inventory_json")?;
                    to_value(&payload::fix_payload(
                        &request.host_id,
                        inventory.as_deref(),
                        &rows,
                    )?)?
                }
                _ => to_value(&payload::verify_payload(&rows))?,
            }
        }
    };

    let task_id = secret::new_id()?;
    let actor = principal.actor();
    insert(
        &mut transaction,
        &task_id,
        &request.host_id,
        request.kind,
        &payload,
        &actor,
        None,
    )
    .await?;
    let status = match request.kind {
        TaskKind::Fix => Some("fixing"),
        TaskKind::Verify => Some("verifying"),
        TaskKind::Scan => None,
    };
    if let Some(status) = status {
        attach_findings(
            &mut transaction,
            &task_id,
            &request.host_id,
            &findings,
            status,
        )
        .await?;
    }
    let detail = json!({ "host_id": request.host_id, "kind": request.kind.as_str(), "findings": findings.len() });
    audit(
        &mut transaction,
        &actor,
        "task.create",
        Some(&task_id),
        detail,
    )
    .await?;
    transaction.commit().await?;

    tracing::info!(task = %task_id, host = %request.host_id, kind = request.kind.as_str(), "task created");
    get(state, &task_id).await
}

/// Checks the findings list against the kind and returns it without duplicates.
fn check_findings(request: &NewTask) -> Result<BTreeSet<FindingRef>, ApiError> {
    let findings: BTreeSet<FindingRef> = request.findings.iter().cloned().collect();
    match request.kind {
        TaskKind::Scan if !findings.is_empty() => Err(ApiError::Unprocessable(
            "a scan task takes no findings; remove the findings list".to_string(),
        )),
        TaskKind::Fix | TaskKind::Verify if findings.is_empty() => {
            Err(ApiError::Unprocessable(format!(
                "a {} task needs at least one finding in findings",
                request.kind.as_str()
            )))
        }
        _ if findings.len() > MAX_TASK_FINDINGS => Err(ApiError::Unprocessable(format!(
            "a task may name at most {MAX_TASK_FINDINGS} findings, not {}",
            findings.len()
        ))),
        _ => Ok(findings),
    }
}

/// Rejects findings that already belong to a queued or running task, so two
/// tasks never move the same finding at once.
async fn check_open_tasks(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    findings: &BTreeSet<FindingRef>,
) -> Result<(), ApiError> {
    let mut busy = Vec::new();
    for finding in findings {
        let open = sqlx::query(
            "SELECT t.id FROM task_findings tf JOIN tasks t ON t.id = tf.task_id
             WHERE tf.host_id = $1 AND tf.vulnerability_id = $2 AND tf.package = $3
               AND t.state IN ('queued', 'running')",
        )
        .bind(host_id)
        .bind(&finding.vulnerability_id)
        .bind(&finding.package)
        .fetch_optional(&mut **transaction)
        .await?;
        if let Some(row) = open {
            let task_id: String = row.try_get("id")?;
            busy.push(format!(
                "{} in {} (task {task_id})",
                finding.vulnerability_id, finding.package
            ));
        }
    }
    if busy.is_empty() {
        return Ok(());
    }
    Err(ApiError::Conflict(format!(
        "these findings already belong to a queued or running task: {}",
        busy.join(", ")
    )))
}

/// Inserts a queued task row.
async fn insert(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    task_id: &str,
    host_id: &str,
    kind: TaskKind,
    payload: &Value,
    created_by: &str,
    parent_task_id: Option<&str>,
) -> Result<(), ApiError> {
    let at = now();
    sqlx::query(
        "INSERT INTO tasks (id, host_id, kind, payload_json, state, created_by, created_at, updated_at, parent_task_id)
         VALUES ($1, $2, $3, $4, 'queued', $5, $6, $6, $7)",
    )
    .bind(task_id)
    .bind(host_id)
    .bind(kind.as_str())
    .bind(payload.to_string())
    .bind(created_by)
    .bind(&at)
    .bind(parent_task_id)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Links the findings to the task and sets their status, keeping the old
/// status in `task_findings.previous_status`.
async fn attach_findings(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    task_id: &str,
    host_id: &str,
    findings: &BTreeSet<FindingRef>,
    status: &str,
) -> Result<(), ApiError> {
    let at = now();
    for finding in findings {
        sqlx::query(
            "INSERT INTO task_findings (task_id, host_id, vulnerability_id, package, previous_status)
             SELECT $1, host_id, vulnerability_id, package, status FROM findings
             WHERE host_id = $2 AND vulnerability_id = $3 AND package = $4",
        )
        .bind(task_id)
        .bind(host_id)
        .bind(&finding.vulnerability_id)
        .bind(&finding.package)
        .execute(&mut **transaction)
        .await?;
        set_status(transaction, host_id, finding, status, &at).await?;
    }
    Ok(())
}

/// Sets one finding's status and, when it changed, its `status_changed_at`.
async fn set_status(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    host_id: &str,
    finding: &FindingRef,
    status: &str,
    at: &str,
) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE findings SET status = $1, status_changed_at = $2
         WHERE host_id = $3 AND vulnerability_id = $4 AND package = $5 AND status <> $1",
    )
    .bind(status)
    .bind(at)
    .bind(host_id)
    .bind(&finding.vulnerability_id)
    .bind(&finding.package)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|error| {
        ApiError::Internal(anyhow::Error::new(error).context("failed to serialize a task payload"))
    })
}

const TASK_COLUMNS: &str =
    "id, host_id, kind, payload_json, state, created_by, created_at, updated_at, result_json,
     claimed_at, finished_at, parent_task_id";

/// Reads one task with its findings; 404 when it does not exist.
pub async fn get(state: &AppState, task_id: &str) -> Result<Task, ApiError> {
    let row = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"))
        .bind(task_id)
        .fetch_optional(state.store.pool())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("task {task_id} not found")))?;
    let mut task = task_from_row(&row)?;
    task.findings = task_findings(state.store.pool(), task_id).await?;
    Ok(task)
}

/// Filters of [`list`]; `None` does not filter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFilter {
    pub host_id: Option<String>,
    pub state: Option<String>,
}

/// Maximum number of tasks that one [`list`] call returns, newest first.
pub const LIST_LIMIT: i64 = 1000;

/// Lists tasks, newest first, at most [`LIST_LIMIT`].
pub async fn list(state: &AppState, filter: &TaskFilter) -> Result<Vec<Task>, ApiError> {
    if let Some(wanted) = &filter.state {
        if !TASK_STATES.contains(&wanted.as_str()) {
            return Err(ApiError::Unprocessable(format!(
                "state must be one of {}, not {wanted:?}",
                TASK_STATES.join(", ")
            )));
        }
    }
    // NULL filters match every row, so one statement serves every combination.
    let rows = sqlx::query(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks
         WHERE ($1 IS NULL OR host_id = $1) AND ($2 IS NULL OR state = $2)
         ORDER BY created_at DESC, id LIMIT $3"
    ))
    .bind(filter.host_id.as_deref())
    .bind(filter.state.as_deref())
    .bind(LIST_LIMIT)
    .fetch_all(state.store.pool())
    .await?;

    let mut tasks = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut task = task_from_row(row)?;
        task.findings = task_findings(state.store.pool(), &task.id).await?;
        tasks.push(task);
    }
    Ok(tasks)
}

async fn task_findings<'e, E>(executor: E, task_id: &str) -> Result<Vec<FindingRef>, ApiError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "SELECT vulnerability_id, package FROM task_findings WHERE task_id = $1 ORDER BY package, vulnerability_id",
    )
    .bind(task_id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(FindingRef {
                vulnerability_id: row.try_get("vulnerability_id")?,
                package: row.try_get("package")?,
            })
        })
        .collect()
}

fn task_from_row(row: &AnyRow) -> Result<Task, ApiError> {
    let kind: String = row.try_get("kind")?;
    let kind = TaskKind::parse(&kind)
        .ok_or_else(|| anyhow::anyhow!("task has the unknown kind {kind:?}"))?;
    let payload: String = row.try_get("payload_json")?;
    let result = text(row, "result_json")?;
    Ok(Task {
        id: row.try_get("id")?,
        host_id: row.try_get("host_id")?,
        kind,
        state: row.try_get("state")?,
        payload: parse_stored_json(&payload)?,
        result: result.as_deref().map(parse_stored_json).transpose()?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        claimed_at: text(row, "claimed_at")?,
        finished_at: text(row, "finished_at")?,
        parent_task_id: text(row, "parent_task_id")?,
        findings: Vec::new(),
    })
}

fn parse_stored_json(stored: &str) -> Result<Value, ApiError> {
    serde_json::from_str(stored).map_err(|error| {
        ApiError::Internal(anyhow::Error::new(error).context("a stored task contains invalid JSON"))
    })
}
