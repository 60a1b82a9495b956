//! The finding page: evidence, the fix command, and the fix, verify and
//! ignore buttons.

use std::path::PathBuf;

use axum::extract::{Query, State};
use axum::response::Html;
use maud::{html, Markup};
use serde::Deserialize;
use vulnloop_inventory::Inventory;
use vulnloop_match::Finding;

use super::error::ConsoleError;
use super::layout::{badge, host_link, optional, page, vulnerability_link};
use super::pages::task_table;
use super::session::Session;
use crate::store::text;
use crate::AppState;

/// The key of one finding, as the finding page's query string carries it.
#[derive(Debug, Deserialize)]
pub struct FindingKey {
    pub host: String,
    pub vulnerability: String,
    pub package: String,
}

/// The result of matching the host's stored inventory again, for one finding.
struct Remediation {
    /// The matcher's evidence, when the finding still matches.
    finding: Option<Finding>,
    /// The command `vulnloop fix` prints for it, program first.
    command: Option<String>,
    /// Reason for a missing command, shown in its place.
    reason: Option<String>,
}

pub async fn page_handler(
    State(state): State<AppState>,
    session: Session,
    Query(key): Query<FindingKey>,
) -> Result<Html<String>, ConsoleError> {
    let pool = state.store.pool();
    let row = sqlx::query(
        "SELECT f.advisory_id, f.source, f.severity, f.installed_version, f.fixed_version, f.vendor_status, f.status,
                f.first_seen_at, f.last_seen_at, f.status_changed_at, h.name AS host_name, h.os, h.inventory_json
         FROM findings f JOIN hosts h ON h.id = f.host_id
         WHERE f.host_id = $1 AND f.vulnerability_id = $2 AND f.package = $3",
    )
    .bind(&key.host)
    .bind(&key.vulnerability)
    .bind(&key.package)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| {
        ConsoleError::NotFound(format!("host {} has no finding {} for {}", key.host, key.vulnerability, key.package))
    })?;
    let tasks = sqlx::query(
        "SELECT t.id, t.host_id, h.name AS host_name, t.kind, t.state, t.payload_json, t.created_by, t.created_at,
                t.updated_at
         FROM tasks t JOIN hosts h ON h.id = t.host_id
         WHERE t.host_id = $1 ORDER BY t.created_at DESC LIMIT 20",
    )
    .bind(&key.host)
    .fetch_all(pool)
    .await?;

    let inventory_json = text(&row, "inventory_json")?;
    let remediation = remediate(state.advisory_db.clone(), inventory_json, &key).await?;
    let status = text(&row, "status")?.unwrap_or_default();
    let host_name = text(&row, "host_name")?.unwrap_or_default();
    let title = format!("{} in {} on {}", key.vulnerability, key.package, host_name);

    let body = html! {
        h1 { (key.vulnerability) " · " (key.package) }
        p {
            "On " a href=(host_link(&key.host)) { (host_name) } " (" (optional(text(&row, "os")?.as_deref())) "). "
            "All hosts with " a href=(vulnerability_link(&key.vulnerability)) { (key.vulnerability) } "."
        }
        dl.facts {
            dt { "Status" } dd #status { (badge(&status)) " since " (text(&row, "status_changed_at")?.unwrap_or_default()) }
            dt { "Severity" } dd { (badge(&text(&row, "severity")?.unwrap_or_default())) }
            dt { "Installed version" } dd { code { (text(&row, "installed_version")?.unwrap_or_default()) } }
            dt { "Fixed version" } dd { code { (optional(text(&row, "fixed_version")?.as_deref())) } }
            dt { "Vendor status" } dd { (text(&row, "vendor_status")?.unwrap_or_default().replace('_', " ")) }
            dt { "Advisory" } dd { (text(&row, "advisory_id")?.unwrap_or_default()) " from " (text(&row, "source")?.unwrap_or_default()) }
            dt { "First seen" } dd { (text(&row, "first_seen_at")?.unwrap_or_default()) }
            dt { "Last seen" } dd { (text(&row, "last_seen_at")?.unwrap_or_default()) }
        }
        (evidence(&remediation))
        section {
            h2 { "Fix command" }
            @match &remediation.command {
                Some(command) => {
                    p { "The command that " code { "vulnloop fix" } " prints for this finding on the host:" }
                    pre.command { code { (command) } }
                }
                None => p { (remediation.reason.as_deref().unwrap_or("No fix command.")) },
            }
        }
        (super::actions::buttons(&session, &key, &status, remediation.command.is_some()))
        section {
            h2 { "Tasks of this host" }
            @if tasks.is_empty() { p { "No tasks." } } @else { (task_table(&tasks)?) }
        }
    };
    Ok(page(&title, Some(&session), body))
}

fn evidence(remediation: &Remediation) -> Markup {
    html! {
        section {
            h2 { "Evidence" }
            @match &remediation.finding {
                Some(finding) => dl.facts {
                    dt { "Comparison" } dd { code { (finding.evidence.comparison) } }
                    dt { "Advisory record" } dd { (finding.evidence.record) }
                    dt { "Found in" } dd { @for place in &finding.evidence.found_in { code { (place) } " " } }
                    @if let Some(title) = &finding.title { dt { "Title" } dd { (title) } }
                    @if !finding.cves.is_empty() { dt { "CVEs" } dd { (finding.cves.join(", ")) } }
                    @if let Some(url) = &finding.url { dt { "Vendor page" } dd { (url) } }
                    @if !finding.evidence.other_records.is_empty() {
                        dt { "Outranked records" } dd { (finding.evidence.other_records.join("; ")) }
                    }
                },
                None => p { "The stored inventory no longer matches this finding, or it could not be matched again; \
                             the facts above are from the last upload that reported it." },
            }
        }
    }
}

/// Matches the host's stored inventory again and plans the fix of one finding,
/// on a blocking thread because the advisory database is read through SQLite.
async fn remediate(
    advisory_db: Option<PathBuf>,
    inventory_json: Option<String>,
    key: &FindingKey,
) -> Result<Remediation, ConsoleError> {
    let Some(path) = advisory_db else {
        return Ok(Remediation::without(
            "The server has no advisory database (--advisory-db), so no fix is planned.",
        ));
    };
    let Some(inventory_json) = inventory_json else {
        return Ok(Remediation::without(
            "The host has not uploaded an inventory.",
        ));
    };
    let vulnerability = key.vulnerability.clone();
    let package = key.package.clone();
    let task = tokio::task::spawn_blocking(move || {
        plan_fix(&path, &inventory_json, &vulnerability, &package)
    });
    task.await.map_err(|error| {
        ConsoleError::Internal(anyhow::Error::new(error).context("fix planning task failed"))
    })?
}

impl Remediation {
    fn without(reason: &str) -> Self {
        Remediation {
            finding: None,
            command: None,
            reason: Some(reason.to_string()),
        }
    }
}

fn plan_fix(
    path: &std::path::Path,
    inventory_json: &str,
    vulnerability: &str,
    package: &str,
) -> Result<Remediation, ConsoleError> {
    let inventory = Inventory::from_json(inventory_json, "stored inventory").map_err(|error| {
        ConsoleError::Internal(anyhow::Error::new(error).context("stored inventory is invalid"))
    })?;
    let database = match vulnloop_db::Database::open(path) {
        Ok(database) => database,
        Err(error) => {
            tracing::error!(path = %path.display(), error = format!("{error:#}"), "advisory database cannot be opened");
            return Ok(Remediation::without(
                "The advisory database cannot be opened, so no fix is planned.",
            ));
        }
    };
    let report = vulnloop_match::match_inventory(&inventory, &database).map_err(|error| {
        ConsoleError::Internal(anyhow::Error::new(error).context("matching failed"))
    })?;
    // The first record for the key wins, as when the upload stored it.
    let Some(finding) = report
        .findings
        .into_iter()
        .find(|f| f.id == vulnerability && f.package == package)
    else {
        return Ok(Remediation::without(
            "The stored inventory no longer matches this finding.",
        ));
    };

    let cves: Vec<&str> = finding.cves.iter().map(String::as_str).collect();
    let facts = database.cve_facts(&cves).map_err(|error| {
        ConsoleError::Internal(anyhow::Error::new(error).context("reading CVE facts failed"))
    })?;
    let context = vulnloop_priority::Context {
        inventory: &inventory,
        facts: &facts,
        importance: vulnloop_priority::AssetImportance::Normal,
        today: chrono::Utc::now().date_naive(),
    };
    let findings = [finding];
    let plan = vulnloop_remediate::plan(
        &findings,
        &context,
        &vulnloop_remediate::PlanFilter::default(),
    )
    .map_err(|error| {
        ConsoleError::Internal(anyhow::Error::new(error).context("fix planning failed"))
    })?;
    let [finding] = findings;

    let command = plan.steps().next().map(|step| step.command.join(" "));
    let reason = match (&command, plan.reboots.first(), plan.not_fixable.first()) {
        (Some(_), _, _) => None,
        (None, Some(_), _) => {
            Some("The fixed kernel is installed; the host must reboot into it.".to_string())
        }
        (None, None, Some(entry)) => {
            Some(format!("No upgrade fixes this finding: {}", entry.reason))
        }
        (None, None, None) => Some("The plan has no step for this finding.".to_string()),
    };
    Ok(Remediation {
        finding: Some(finding),
        command,
        reason,
    })
}
