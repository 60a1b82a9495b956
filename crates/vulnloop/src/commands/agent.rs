//! `vulnloop agent`: enroll with a fleet server, upload this host's
//! inventory, and carry out the server's scan, fix and verify tasks.
//!
//! The agent keeps its token in `<state dir>/agent.json` (mode 0600). Each
//! upload writes the inventory to `<state dir>/spool/inventory.json` first
//! and removes it after the server accepted it, so an inventory collected
//! while the server is down survives a restart and is sent later.

mod policy;
mod tasks;

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use vulnloop_server::tasks::{Task, TaskKind, TaskResult};

use crate::cli::AgentArgs;
use crate::exit::Code;

/// Timeout of one HTTP request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// First and largest wait between retries of a failed upload.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Retries of one upload with `--once` before the agent gives up.
const ONCE_RETRIES: u32 = 3;

/// Enrollment state, stored in `<state dir>/agent.json`.
#[derive(Serialize, Deserialize)]
struct Enrollment {
    server: String,
    host_id: String,
    agent_token: String,
}

/// Failure of an upload, split by whether a retry can help.
enum UploadError {
    /// The server was unreachable or returned a 5xx status.
    Retry(anyhow::Error),
    /// The server rejected the request (4xx); sending it again changes nothing.
    Rejected(anyhow::Error),
}

pub fn run(args: &AgentArgs) -> anyhow::Result<Code> {
    let server = args.server.trim_end_matches('/').to_string();
    check_server_url(&server, args.insecure_http)?;
    create_private_dir(&args.state_dir)?;
    let http = ureq::AgentBuilder::new().timeout(REQUEST_TIMEOUT).build();
    let enrollment = enrollment(args, &server, &http)?;
    let mut agent = Agent {
        args,
        http,
        enrollment,
        last_digest: None,
    };

    if args.once {
        agent.upload_now(true)?;
        agent.run_queued_tasks()?;
        return Ok(Code::Clean);
    }
    let interval = Duration::from_secs(args.interval);
    let mut next_upload = Instant::now();
    loop {
        // An upload is due on the interval, and on every poll whose
        // inventory differs from the last one the server accepted.
        let due = Instant::now() >= next_upload;
        match agent.upload_if(due) {
            Ok(true) => next_upload = Instant::now() + interval,
            Ok(false) => {}
            Err(error) => tracing::error!(
                error = format!("{error:#}"),
                "inventory upload failed; the next poll tries again"
            ),
        }
        if let Err(error) = agent.run_queued_tasks() {
            tracing::error!(
                error = format!("{error:#}"),
                "task polling failed; the next poll tries again"
            );
        }
        std::thread::sleep(Duration::from_secs(args.poll));
    }
}

/// A running agent: its settings, HTTP client and enrollment.
struct Agent<'a> {
    args: &'a AgentArgs,
    http: ureq::Agent,
    enrollment: Enrollment,
    /// Digest of the last inventory the server accepted, without its collection time.
    last_digest: Option<u64>,
}

impl Agent<'_> {
    /// Collects the inventory and uploads it; with `once`, gives up after a few retries.
    fn upload_now(&mut self, once: bool) -> anyhow::Result<()> {
        let (spooled, digest) = collect_and_spool(self.args)?;
        upload_with_retries(&self.http, &self.enrollment, &spooled, once)?;
        self.last_digest = digest;
        Ok(())
    }

    /// Collects the inventory and uploads it when `due` or when it changed;
    /// returns whether it uploaded.
    fn upload_if(&mut self, due: bool) -> anyhow::Result<bool> {
        let (spooled, digest) = collect_and_spool(self.args)?;
        let changed = digest.is_none() || digest != self.last_digest;
        if !due && !changed {
            std::fs::remove_file(&spooled)
                .with_context(|| format!("failed to remove {}", spooled.display()))?;
            return Ok(false);
        }
        if changed && !due {
            tracing::info!("the inventory changed since the last upload");
        }
        upload_with_retries(&self.http, &self.enrollment, &spooled, false)?;
        self.last_digest = digest;
        Ok(true)
    }

    /// Claims and runs the host's queued tasks until the server has none left,
    /// so a verify task that a fix queues runs in the same pass.
    fn run_queued_tasks(&mut self) -> anyhow::Result<()> {
        loop {
            let claimed = self.claim()?;
            if claimed.is_empty() {
                return Ok(());
            }
            for task in claimed {
                let result = self.run_task(&task);
                self.report(&task, &result)?;
            }
        }
    }

    fn claim(&self) -> anyhow::Result<Vec<Task>> {
        #[derive(Deserialize)]
        struct Claimed {
            tasks: Vec<Task>,
        }
        let response = self
            .http
            .get(&format!(
                "{}/api/v1/agents/self/tasks",
                self.enrollment.server
            ))
            .set(
                "Authorization",
                &format!("Bearer {}", self.enrollment.agent_token),
            )
            .call()
            .map_err(|error| describe(error, "task poll"))?;
        let claimed: Claimed =
            serde_json::from_str(&response.into_string()?).context("invalid task poll reply")?;
        Ok(claimed.tasks)
    }

    fn run_task(&mut self, task: &Task) -> TaskResult {
        tracing::info!(task = %task.id, kind = task.kind.as_str(), "task started");
        let result = match task.kind {
            TaskKind::Fix => tasks::run_fix(&self.task_context(), task),
            TaskKind::Scan | TaskKind::Verify => match self.scan_for(task) {
                Ok(result) => result,
                Err(error) => tasks::failure(format!("{error:#}")),
            },
        };
        tracing::info!(task = %task.id, outcome = ?result.outcome, "task finished");
        result
    }

    /// Collects and uploads the inventory; for a verify task, also checks
    /// whether a running process still uses replaced files.
    fn scan_for(&mut self, task: &Task) -> anyhow::Result<TaskResult> {
        debug_assert!(tasks::uploads_first(task.kind));
        let inventory = read_inventory(self.args)?;
        self.upload_now(true)?;
        if task.kind == TaskKind::Scan {
            return Ok(tasks::succeeded(
                vec!["inventory uploaded".to_string()],
                false,
            ));
        }
        let (restart, processes) = tasks::restart_needed(task, &inventory)?;
        let mut messages = vec!["inventory uploaded".to_string()];
        if let Some(processes) = processes {
            messages.push(format!(
                "these processes still use replaced files and need a restart: {processes}"
            ));
        } else if inventory.runtime.is_none() {
            messages.push(
                "the inventory has no process data, so a needed restart cannot be seen".to_string(),
            );
        }
        Ok(tasks::succeeded(messages, restart))
    }

    fn task_context(&self) -> tasks::TaskContext {
        tasks::TaskContext {
            root: self
                .args
                .source
                .root
                .clone()
                .unwrap_or_else(|| PathBuf::from("/")),
            os_override: self.args.source.os.clone(),
            policy_path: policy::path(self.args.policy.as_deref()),
            journal_dir: tasks::journal_dir(&self.args.state_dir),
        }
    }

    fn report(&self, task: &Task, result: &TaskResult) -> anyhow::Result<()> {
        self.http
            .post(&format!(
                "{}/api/v1/agents/self/tasks/{}/result",
                self.enrollment.server, task.id
            ))
            .set(
                "Authorization",
                &format!("Bearer {}", self.enrollment.agent_token),
            )
            .set("Content-Type", "application/json")
            .send_string(&serde_json::to_string(result)?)
            .map_err(|error| describe(error, "task result"))?;
        Ok(())
    }
}

/// Rejects an http:// URL to another machine, which would carry the agent token in clear.
fn check_server_url(server: &str, insecure_http: bool) -> anyhow::Result<()> {
    if server.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = server.strip_prefix("http://") else {
        anyhow::bail!("invalid server URL {server:?}: it must start with https:// or http://");
    };
    let host = rest.split('/').next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(host, _port)| host);
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback && !insecure_http {
        anyhow::bail!("the server URL {server} is plain HTTP to another machine; use https:// or pass --insecure-http");
    }
    Ok(())
}

fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("failed to create the state directory {}", path.display()))
}

/// Reads the stored enrollment, or enrolls with `--enroll` and stores it.
fn enrollment(args: &AgentArgs, server: &str, http: &ureq::Agent) -> anyhow::Result<Enrollment> {
    let path = args.state_dir.join("agent.json");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("failed to read {}", path.display()))?;
        let stored: Enrollment = serde_json::from_str(&text)
            .with_context(|| format!("invalid agent state file {}", path.display()))?;
        if stored.server != server {
            anyhow::bail!(
                "{} belongs to the server {}, not {server}; use another --state-dir to enroll with a second server",
                path.display(),
                stored.server
            );
        }
        return Ok(stored);
    }

    let token = args.enroll.as_deref().with_context(|| {
        format!(
            "this agent has not enrolled yet ({} does not exist); give --enroll TOKEN",
            path.display()
        )
    })?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => read_inventory(args)?
            .host
            .hostname
            .context("the inventory has no host name; give --name")?,
    };
    let body = serde_json::json!({ "enrollment_token": token, "name": name });
    let response = http
        .post(&format!("{server}/api/v1/agents/enroll"))
        .set("Content-Type", "application/json")
        .send_string(&body.to_string())
        .map_err(|error| describe(error, "enrollment"))?;
    let reply: serde_json::Value = serde_json::from_str(&response.into_string()?)?;
    let enrollment = Enrollment {
        server: server.to_string(),
        host_id: reply["host_id"]
            .as_str()
            .context("the enrollment reply has no host_id")?
            .to_string(),
        agent_token: reply["agent_token"]
            .as_str()
            .context("the enrollment reply has no agent_token")?
            .to_string(),
    };
    write_private(&path, serde_json::to_string_pretty(&enrollment)?.as_bytes())?;
    tracing::info!(host = %enrollment.host_id, "enrolled");
    Ok(enrollment)
}

fn describe(error: ureq::Error, what: &str) -> anyhow::Error {
    match error {
        ureq::Error::Status(code, response) => {
            let body = response.into_string().unwrap_or_default();
            anyhow::anyhow!("the server rejected the {what} with HTTP {code}: {body}")
        }
        ureq::Error::Transport(transport) => {
            anyhow::anyhow!("the {what} request failed: {transport}")
        }
    }
}

/// Writes `contents` to `path` with mode 0600 through a temporary file and a rename.
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let partial = path.with_extension("partial");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .with_context(|| format!("failed to create {}", partial.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("failed to write {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("failed to replace {}", path.display()))
}

fn read_inventory(args: &AgentArgs) -> anyhow::Result<vulnloop_inventory::Inventory> {
    match &args.inventory {
        Some(path) => Ok(vulnloop_inventory::Inventory::read_json(path)?),
        None => super::collect(&args.source),
    }
}

/// Collects the inventory and writes it to the spool; returns the spool file
/// and the inventory's digest.
///
/// When collection fails but an earlier inventory is still spooled, that one
/// is sent, and the digest is `None`.
fn collect_and_spool(args: &AgentArgs) -> anyhow::Result<(PathBuf, Option<u64>)> {
    let spool = args.state_dir.join("spool");
    create_private_dir(&spool)?;
    let path = spool.join("inventory.json");
    match read_inventory(args) {
        Ok(inventory) => {
            write_private(&path, serde_json::to_string(&inventory)?.as_bytes())?;
            Ok((path, Some(digest(&inventory)?)))
        }
        Err(error) if path.exists() => {
            tracing::error!(
                error = format!("{error:#}"),
                "inventory collection failed; sending the spooled one"
            );
            Ok((path, None))
        }
        Err(error) => Err(error),
    }
}

/// Hashes the inventory without its collection time, which changes on every
/// collection. The digest lives only in memory, so the std hasher, whose
/// output may differ between builds, is enough.
fn digest(inventory: &vulnloop_inventory::Inventory) -> anyhow::Result<u64> {
    let mut unstamped = inventory.clone();
    unstamped.collected_at.clear();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&unstamped)?.hash(&mut hasher);
    Ok(hasher.finish())
}

fn upload_with_retries(
    http: &ureq::Agent,
    enrollment: &Enrollment,
    spooled: &Path,
    once: bool,
) -> anyhow::Result<()> {
    let mut backoff = FIRST_BACKOFF;
    let mut retries = 0;
    loop {
        match upload(http, enrollment, spooled) {
            Ok(summary) => {
                std::fs::remove_file(spooled)
                    .with_context(|| format!("failed to remove {}", spooled.display()))?;
                tracing::info!(host = %enrollment.host_id, %summary, "inventory uploaded");
                return Ok(());
            }
            Err(UploadError::Rejected(error)) => return Err(error),
            Err(UploadError::Retry(error)) if once && retries >= ONCE_RETRIES => {
                return Err(error.context(format!(
                    "gave up after {retries} retries; the inventory stays in {}",
                    spooled.display()
                )));
            }
            Err(UploadError::Retry(error)) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    retry_in_seconds = backoff.as_secs(),
                    "inventory upload failed"
                );
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
                retries += 1;
            }
        }
    }
}

fn upload(
    http: &ureq::Agent,
    enrollment: &Enrollment,
    spooled: &Path,
) -> Result<serde_json::Value, UploadError> {
    let body = std::fs::read_to_string(spooled)
        .with_context(|| format!("failed to read {}", spooled.display()))
        .map_err(UploadError::Rejected)?;
    let response = http
        .put(&format!(
            "{}/api/v1/agents/self/inventory",
            enrollment.server
        ))
        .set(
            "Authorization",
            &format!("Bearer {}", enrollment.agent_token),
        )
        .set("Content-Type", "application/json")
        .send_string(&body);
    match response {
        Ok(response) => {
            let text = response
                .into_string()
                .map_err(|error| UploadError::Retry(error.into()))?;
            Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
        }
        Err(error @ ureq::Error::Status(500..=599, _)) | Err(error @ ureq::Error::Transport(_)) => {
            Err(UploadError::Retry(describe(error, "inventory upload")))
        }
        Err(error) => Err(UploadError::Rejected(describe(error, "inventory upload"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn inventory(collected_at: &str, version: &str) -> vulnloop_inventory::Inventory {
        let text = serde_json::json!({
            "schema_version": vulnloop_inventory::SCHEMA_VERSION,
            "collected_at": collected_at,
            "host": { "hostname": "web1", "os": { "id": "debian", "version_id": "12", "source": "/etc/os-release" } },
            "packages": [{
                "manager": "dpkg", "name": "libssl3", "version": version, "arch": "amd64",
                "source_name": "openssl", "origin": "/var/lib/dpkg/status:10"
            }]
        })
        .to_string();
        vulnloop_inventory::Inventory::from_json(&text, "test").unwrap()
    }

    #[test]
    fn digest_ignores_collection_time() {
        let first = digest(&inventory("2026-12-04T00:00:00Z", "3.0.11-1~deb12u2")).unwrap();
        let later = digest(&inventory("2026-12-05T00:00:00Z", "3.0.11-1~deb12u2")).unwrap();
        assert_eq!(first, later);
    }

    #[test]
    fn digest_changes_with_package_version() {
        let before = digest(&inventory("2026-12-04T00:00:00Z", "3.0.11-1~deb12u2")).unwrap();
        let after = digest(&inventory("2026-12-04T00:00:00Z", "3.0.15-1~deb12u1")).unwrap();
        assert_ne!(before, after);
    }
}
