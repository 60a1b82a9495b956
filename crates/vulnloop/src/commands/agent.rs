//! `vulnloop agent`: enroll with a fleet server and upload this host's inventory.
//!
//! The agent keeps its token in `<state dir>/agent.json` (mode 0600). Each
//! cycle writes the inventory to `<state dir>/spool/inventory.json` before
//! uploading and removes it after the server accepted it, so an inventory
//! collected while the server is down survives a restart and is sent later.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

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

    loop {
        let spooled = collect_and_spool(args)?;
        let uploaded = upload_with_retries(&http, &enrollment, &spooled, args.once);
        if args.once {
            return uploaded.map(|()| Code::Clean);
        }
        if let Err(error) = uploaded {
            tracing::error!(
                error = format!("{error:#}"),
                "inventory upload failed; the next cycle tries again"
            );
        }
        std::thread::sleep(Duration::from_secs(args.interval));
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

/// Collects the inventory and writes it to the spool; returns the spool file.
///
/// When collection fails but an earlier inventory is still spooled, that one is sent.
fn collect_and_spool(args: &AgentArgs) -> anyhow::Result<PathBuf> {
    let spool = args.state_dir.join("spool");
    create_private_dir(&spool)?;
    let path = spool.join("inventory.json");
    match read_inventory(args) {
        Ok(inventory) => {
            write_private(&path, serde_json::to_string(&inventory)?.as_bytes())?;
            Ok(path)
        }
        Err(error) if path.exists() => {
            tracing::error!(
                error = format!("{error:#}"),
                "inventory collection failed; sending the spooled one"
            );
            Ok(path)
        }
        Err(error) => Err(error),
    }
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
