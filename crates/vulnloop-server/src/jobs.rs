//! Periodic background jobs, each run once per period across every server
//! process that shares the database.
//!
//! Every server ticks once a second and, for each job, tries to claim the
//! job's next run with one conditional UPDATE of its `job_schedule` row:
//!
//! ```sql
//! UPDATE job_schedule SET next_run_at = <now + interval>, claimed_by = <instance>, claimed_at = <now>
//! WHERE job = <job> AND next_run_at <= <now>
//! ```
//!
//! The server whose UPDATE changed the row runs the job. `FOR UPDATE SKIP
//! LOCKED` would also work on PostgreSQL, but SQLite has no row locks, and
//! this statement is atomic on both. PostgreSQL locks the row, and a second
//! UPDATE waiting on that lock re-checks `next_run_at <= now` after the first
//! commits (READ COMMITTED), so it changes nothing. SQLite lets one writer at
//! a time change the file. Two runs of a job therefore start at least one
//! interval apart. A run that fails is recorded as failed and is not retried
//! before the next period. NOTE: the claim compares server clocks, so
//! servers whose clocks differ by more than an interval may run a job early.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::Row;

use crate::settings::Settings;
use crate::store::{audit, now};
use crate::{rules, secret, settings, webhooks, Store};

/// The future of one job run; its value is stored in `job_runs.detail_json`.
pub type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<Value>> + Send>>;

/// A periodic job.
#[derive(Clone)]
pub struct Job {
    /// Name in `job_schedule` and `job_runs`.
    pub name: &'static str,
    pub interval: Duration,
    pub run: fn(Store) -> JobFuture,
}

/// Lists the jobs that `vulnloop server` runs. A new job is one more line here.
pub fn default_jobs() -> Vec<Job> {
    vec![
        Job {
            name: "expiry",
            interval: Duration::from_secs(3600),
            run: |store| Box::pin(expire_findings_and_hosts(store)),
        },
        Job {
            name: "ignore_rule_expiry",
            interval: Duration::from_secs(60),
            run: |store| Box::pin(expire_rules(store)),
        },
        Job {
            name: "scheduled_scans",
            interval: Duration::from_secs(60),
            run: |store| Box::pin(queue_scheduled_scans(store)),
        },
        Job {
            name: "webhooks",
            interval: Duration::from_secs(5),
            run: |store| Box::pin(webhooks::deliver_due(store)),
        },
    ]
}

/// Runs `jobs` until the task is dropped or aborted, as server instance `instance_id`.
///
/// Each job has its own task, so a slow run (webhook receivers that time
/// out) delays only later runs of that job. Dropping this future aborts them.
pub async fn run(store: Store, jobs: Vec<Job>, instance_id: String) {
    tracing::info!(instance = %instance_id, jobs = jobs.len(), "jobs runner started");
    let mut tasks = tokio::task::JoinSet::new();
    for job in jobs {
        tasks.spawn(run_job(store.clone(), job, instance_id.clone()));
    }
    while let Some(result) = tasks.join_next().await {
        if let Err(error) = result {
            tracing::error!(%error, "a job task stopped");
        }
    }
}

/// Tries to claim `job` once a second and runs each claimed period.
async fn run_job(store: Store, job: Job, instance_id: String) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match claim(&store, &job, &instance_id).await {
            Ok(Some(claimed_at)) => run_once(&store, &job, &instance_id, &claimed_at).await,
            Ok(None) => {}
            Err(error) => tracing::error!(
                job = job.name,
                error = format!("{error:#}"),
                "failed to claim a job run"
            ),
        }
    }
}

/// Claims the current period of `job` for `instance_id` and returns the claim
/// time, or `None` when the period is not due or another server claimed it.
async fn claim(store: &Store, job: &Job, instance_id: &str) -> anyhow::Result<Option<String>> {
    let at = chrono::Utc::now();
    let at_text = format_time(at);
    // The first server to see a job creates its row, due now.
    sqlx::query(
        "INSERT INTO job_schedule (job, next_run_at) VALUES ($1, $2) ON CONFLICT (job) DO NOTHING",
    )
    .bind(job.name)
    .bind(&at_text)
    .execute(store.pool())
    .await?;
    let next = format_time(at + chrono::Duration::from_std(job.interval)?);
    let claimed = sqlx::query(
        "UPDATE job_schedule SET next_run_at = $1, claimed_by = $2, claimed_at = $3 WHERE job = $4 AND next_run_at <= $3",
    )
    .bind(&next)
    .bind(instance_id)
    .bind(&at_text)
    .bind(job.name)
    .execute(store.pool())
    .await?
    .rows_affected();
    Ok((claimed == 1).then_some(at_text))
}

fn format_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Runs one claimed period of `job` and records it in `job_runs`, with the
/// claim time as `started_at`, so two runs of a job start an interval apart.
async fn run_once(store: &Store, job: &Job, instance_id: &str, claimed_at: &str) {
    let run_id = match record_start(store, job, instance_id, claimed_at).await {
        Ok(id) => id,
        Err(error) => {
            tracing::error!(
                job = job.name,
                error = format!("{error:#}"),
                "failed to record a job run; the run is skipped"
            );
            return;
        }
    };
    let (outcome, detail) = match (job.run)(store.clone()).await {
        Ok(detail) => ("succeeded", detail),
        Err(error) => {
            tracing::error!(job = job.name, run = %run_id, error = format!("{error:#}"), "job run failed");
            ("failed", json!({ "error": format!("{error:#}") }))
        }
    };
    let finished = sqlx::query(
        "UPDATE job_runs SET finished_at = $1, outcome = $2, detail_json = $3 WHERE id = $4",
    )
    .bind(now())
    .bind(outcome)
    .bind(detail.to_string())
    .bind(&run_id)
    .execute(store.pool())
    .await;
    if let Err(error) = finished {
        tracing::error!(job = job.name, run = %run_id, %error, "failed to record the end of a job run");
    }
}

async fn record_start(
    store: &Store,
    job: &Job,
    instance_id: &str,
    claimed_at: &str,
) -> anyhow::Result<String> {
    let id = secret::new_id()?;
    sqlx::query("INSERT INTO job_runs (id, job, instance_id, started_at) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(job.name)
        .bind(instance_id)
        .bind(claimed_at)
        .execute(store.pool())
        .await?;
    Ok(id)
}

fn hours_before(at: chrono::DateTime<chrono::Utc>, hours: i64) -> String {
    format_time(at - chrono::Duration::hours(hours))
}

/// Sets findings that no upload reported for `finding_expiry_days` to
/// `expired`, and marks hosts whose last upload is older than
/// `host_stale_hours` as stopped uploading, in one transaction.
pub async fn expire_findings_and_hosts(store: Store) -> anyhow::Result<Value> {
    let settings = settings::load(&store).await?;
    let at_time = chrono::Utc::now();
    let at = format_time(at_time);
    let mut transaction = store.pool().begin().await?;

    // Fixed and gone findings are closed already; the others expire.
    let expired = sqlx::query(
        "UPDATE findings SET status = 'expired', ignored_by_rule = NULL, status_changed_at = $1
         WHERE last_seen_at < $2 AND status NOT IN ('fixed', 'no_longer_present', 'expired')",
    )
    .bind(&at)
    .bind(hours_before(at_time, settings.finding_expiry_days * 24))
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    webhooks::enqueue_status_changes(&mut transaction, &at).await?;

    let stale = sqlx::query(
        "SELECT id, name, inventory_at, enrolled_at FROM hosts
         WHERE stopped_uploading_at IS NULL AND COALESCE(inventory_at, enrolled_at) < $1 ORDER BY id",
    )
    .bind(hours_before(at_time, settings.host_stale_hours))
    .fetch_all(&mut *transaction)
    .await?;
    for row in &stale {
        let host_id: String = row.try_get("id")?;
        sqlx::query("UPDATE hosts SET stopped_uploading_at = $1 WHERE id = $2")
            .bind(&at)
            .bind(&host_id)
            .execute(&mut *transaction)
            .await?;
        let payload = json!({
            "host_id": host_id,
            "name": row.try_get::<String, _>("name")?,
            "last_upload_at": crate::store::text(row, "inventory_at")?,
        });
        webhooks::enqueue(&mut transaction, webhooks::HOST_STOPPED_UPLOADING, &payload).await?;
    }

    let detail = json!({ "expired_findings": expired, "hosts_stopped_uploading": stale.len() });
    if expired > 0 || !stale.is_empty() {
        audit(
            &mut transaction,
            "server",
            "expiry.run",
            None,
            detail.clone(),
        )
        .await?;
    }
    transaction.commit().await?;
    Ok(detail)
}

async fn expire_rules(store: Store) -> anyhow::Result<Value> {
    Ok(json!({ "expired_rules": rules::expire(&store).await? }))
}

/// Returns the scan interval of a host in `group`: the group's own setting,
/// else the one for all hosts.
fn scan_interval(settings: &Settings, group: Option<&str>) -> Option<i64> {
    group
        .and_then(|group| settings.scan_interval_hours_by_group.get(group).copied())
        .or(settings.scan_interval_hours)
}

/// Queues a `scan` task for each host whose scan interval has passed since
/// its last scan task and that has no scan task queued or running.
pub async fn queue_scheduled_scans(store: Store) -> anyhow::Result<Value> {
    let settings = settings::load(&store).await?;
    if settings.scan_interval_hours.is_none() && settings.scan_interval_hours_by_group.is_empty() {
        return Ok(json!({ "queued": 0 }));
    }
    let at_time = chrono::Utc::now();
    let at = format_time(at_time);
    let mut transaction = store.pool().begin().await?;
    let rows = sqlx::query(
        "SELECT h.id, h.host_group,
                (SELECT MAX(t.created_at) FROM tasks t WHERE t.host_id = h.id AND t.kind = 'scan') AS last_scan_at,
                (SELECT COUNT(*) FROM tasks t WHERE t.host_id = h.id AND t.kind = 'scan'
                                              AND t.state IN ('queued', 'running')) AS pending
         FROM hosts h ORDER BY h.id",
    )
    .fetch_all(&mut *transaction)
    .await?;

    let mut queued = Vec::new();
    for row in &rows {
        let host_id: String = row.try_get("id")?;
        let group = crate::store::text(row, "host_group")?;
        let Some(hours) = scan_interval(&settings, group.as_deref()) else {
            continue;
        };
        if row.try_get::<i64, _>("pending")? > 0 {
            continue;
        }
        let last_scan_at = crate::store::text(row, "last_scan_at")?;
        if last_scan_at.is_some_and(|last| last > hours_before(at_time, hours)) {
            continue;
        }
        sqlx::query(
            "INSERT INTO tasks (id, host_id, kind, payload_json, state, created_by, created_at, updated_at)
             VALUES ($1, $2, 'scan', '{}', 'queued', 'server', $3, $3)",
        )
        .bind(secret::new_id()?)
        .bind(&host_id)
        .bind(&at)
        .execute(&mut *transaction)
        .await?;
        queued.push(host_id);
    }
    let detail = json!({ "queued": queued.len() });
    if !queued.is_empty() {
        audit(
            &mut transaction,
            "server",
            "scan.schedule",
            None,
            json!({ "hosts": queued }),
        )
        .await?;
    }
    transaction.commit().await?;
    Ok(detail)
}

/// Maximum number of runs that [`recent_runs`] returns.
const MAX_LISTED_RUNS: i64 = 500;

/// Lists the latest job runs, newest first, of one job or of all.
pub async fn recent_runs(store: &Store, job: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let columns =
        "SELECT id, job, instance_id, started_at, finished_at, outcome, detail_json FROM job_runs";
    let rows = match job {
        Some(job) => {
            sqlx::query(&format!(
                "{columns} WHERE job = $1 ORDER BY started_at DESC, id LIMIT $2"
            ))
            .bind(job)
            .bind(MAX_LISTED_RUNS)
            .fetch_all(store.pool())
            .await?
        }
        None => {
            sqlx::query(&format!("{columns} ORDER BY started_at DESC, id LIMIT $1"))
                .bind(MAX_LISTED_RUNS)
                .fetch_all(store.pool())
                .await?
        }
    };
    let mut runs = Vec::with_capacity(rows.len());
    for row in &rows {
        let detail = crate::store::text(row, "detail_json")?
            .map(|detail| serde_json::from_str::<Value>(&detail))
            .transpose()?;
        runs.push(json!({
            "id": crate::store::text(row, "id")?,
            "job": crate::store::text(row, "job")?,
            "instance_id": crate::store::text(row, "instance_id")?,
            "started_at": crate::store::text(row, "started_at")?,
            "finished_at": crate::store::text(row, "finished_at")?,
            "outcome": crate::store::text(row, "outcome")?,
            "detail": detail,
        }));
    }
    Ok(runs)
}
