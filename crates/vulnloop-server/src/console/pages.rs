//! Read-only console pages: overview, vulnerabilities, hosts, tasks and settings.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::Html;
use maud::{html, Markup};
use serde::Deserialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::error::ConsoleError;
use super::layout::{badge, finding_link, host_link, optional, page, vulnerability_link};
use super::session::Session;
use crate::auth::Role;
use crate::store::text;
use crate::AppState;

/// Statuses of findings that still need work; the overview counts these.
pub const OPEN_STATUSES: &str =
    "('unfixed', 'fixing', 'fix_failed', 'restart_pending', 'verifying')";

/// Statuses after which a host no longer counts as affected, as in the API's
/// vulnerability route.
const NOT_AFFECTED_STATUSES: &str = "('no_longer_present', 'fixed')";

/// Severities from the most to the least severe, as the matcher names them.
const SEVERITIES: [&str; 6] = ["critical", "high", "medium", "low", "negligible", "unknown"];

/// Most finding rows the vulnerability list reads; a search narrows it.
const MAX_LIST_ROWS: i64 = 5000;

fn severity_rank(severity: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|known| *known == severity)
        .unwrap_or(SEVERITIES.len())
}

pub async fn overview(
    State(state): State<AppState>,
    session: Session,
) -> Result<Html<String>, ConsoleError> {
    let pool = state.store.pool();
    let by_severity = sqlx::query(&format!(
        "SELECT severity, COUNT(*) AS findings, COUNT(DISTINCT host_id) AS hosts FROM findings
         WHERE status IN {OPEN_STATUSES} GROUP BY severity"
    ))
    .fetch_all(pool)
    .await?;
    let mut severities = Vec::new();
    for row in &by_severity {
        let severity = text(row, "severity")?.unwrap_or_default();
        severities.push((
            severity,
            row.try_get::<i64, _>("findings")?,
            row.try_get::<i64, _>("hosts")?,
        ));
    }
    severities.sort_by_key(|(severity, _, _)| severity_rank(severity));

    let by_status = sqlx::query(
        "SELECT status, COUNT(*) AS findings FROM findings GROUP BY status ORDER BY status",
    )
    .fetch_all(pool)
    .await?;
    let mut statuses = Vec::new();
    for row in &by_status {
        statuses.push((
            text(row, "status")?.unwrap_or_default(),
            row.try_get::<i64, _>("findings")?,
        ));
    }

    let hosts = sqlx::query(&format!(
        "SELECT h.id, h.name, h.os, h.inventory_at, COUNT(*) AS open_findings,
                SUM(CASE WHEN f.severity IN ('critical', 'high') THEN 1 ELSE 0 END) AS severe
         FROM hosts h JOIN findings f ON f.host_id = h.id
         WHERE f.status IN {OPEN_STATUSES}
         GROUP BY h.id, h.name, h.os, h.inventory_at
         ORDER BY severe DESC, open_findings DESC, h.name
         LIMIT 20"
    ))
    .fetch_all(pool)
    .await?;
    let in_progress = sqlx::query(
        "SELECT f.host_id, h.name AS host_name, f.vulnerability_id, f.package, f.status, f.status_changed_at
         FROM findings f JOIN hosts h ON h.id = f.host_id
         WHERE f.status IN ('fixing', 'verifying', 'fix_failed', 'restart_pending')
         ORDER BY f.status_changed_at DESC LIMIT 50",
    )
    .fetch_all(pool)
    .await?;
    let host_count: i64 = sqlx::query("SELECT COUNT(*) FROM hosts")
        .fetch_one(pool)
        .await?
        .try_get(0)?;

    let body = html! {
        h1 { "Overview" }
        p { (host_count) " enrolled hosts." }
        section {
            h2 { "Open findings by severity" }
            p.hint { "Open means unfixed, fixing, fix failed, restart pending or verifying. \
                      The console does not rank findings by priority yet: the priority model needs \
                      CVE facts that the server does not store, so severity is the vendor's." }
            @if severities.is_empty() {
                p { "No open findings." }
            } @else {
                table {
                    thead { tr { th { "Severity" } th.number { "Findings" } th.number { "Hosts" } } }
                    tbody {
                        @for (severity, findings, hosts) in &severities {
                            tr {
                                td { (badge(severity)) }
                                td.number { a href={ "/console/vulnerabilities?severity=" (severity) } { (findings) } }
                                td.number { (hosts) }
                            }
                        }
                    }
                }
            }
            h3 { "All findings by status" }
            ul.inline {
                @for (status, count) in &statuses { li { (badge(status)) " " (count) } }
            }
        }
        section {
            h2 { "Vulnerable hosts" }
            @if hosts.is_empty() {
                p { "No host has open findings." }
            } @else {
                table {
                    thead { tr { th { "Host" } th { "OS" } th { "Last upload" } th.number { "Critical or high" } th.number { "Open findings" } } }
                    tbody {
                        @for row in &hosts {
                            @let id = text(row, "id")?.unwrap_or_default();
                            tr {
                                td { a href=(host_link(&id)) { (text(row, "name")?.unwrap_or_default()) } }
                                td { (optional(text(row, "os")?.as_deref())) }
                                td { (optional(text(row, "inventory_at")?.as_deref())) }
                                td.number { (row.try_get::<i64, _>("severe")?) }
                                td.number { (row.try_get::<i64, _>("open_findings")?) }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Fixes in progress" }
            @if in_progress.is_empty() {
                p { "No finding is being fixed or verified." }
            } @else {
                (finding_rows(&in_progress)?)
            }
        }
    };
    Ok(page("Overview", Some(&session), body))
}

/// Renders findings that have host, vulnerability, package and status columns.
fn finding_rows(rows: &[AnyRow]) -> Result<Markup, ConsoleError> {
    let mut lines = Vec::new();
    for row in rows {
        let host_id = text(row, "host_id")?.unwrap_or_default();
        let vulnerability = text(row, "vulnerability_id")?.unwrap_or_default();
        let package = text(row, "package")?.unwrap_or_default();
        let host_name = text(row, "host_name")?.unwrap_or_default();
        let status = text(row, "status")?.unwrap_or_default();
        let changed = text(row, "status_changed_at")?.unwrap_or_default();
        lines.push(html! {
            tr {
                td { a href=(host_link(&host_id)) { (host_name) } }
                td { a href=(vulnerability_link(&vulnerability)) { (vulnerability) } }
                td { (package) }
                td { a href=(finding_link(&host_id, &vulnerability, &package)) { (badge(&status)) } }
                td { (changed) }
            }
        });
    }
    Ok(html! {
        table {
            thead { tr { th { "Host" } th { "Vulnerability" } th { "Package" } th { "Status" } th { "Since" } } }
            tbody { @for line in &lines { (line) } }
        }
    })
}

#[derive(Debug, Deserialize)]
pub struct VulnerabilityFilter {
    /// Text searched in vulnerability ids, advisory ids and package names.
    #[serde(default)]
    q: String,
    /// Severity to keep; empty keeps all.
    #[serde(default)]
    severity: String,
}

/// One vulnerability in the list with the packages and hosts it affects.
#[derive(Default)]
struct ListedVulnerability {
    advisories: std::collections::BTreeSet<String>,
    packages: std::collections::BTreeSet<String>,
    severity: String,
    hosts: BTreeMap<String, String>,
}

pub async fn vulnerabilities(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<VulnerabilityFilter>,
) -> Result<Html<String>, ConsoleError> {
    let search = filter.q.trim();
    if search.len() > 200 {
        return Err(ConsoleError::BadRequest(
            "the search text must have at most 200 characters".to_string(),
        ));
    }
    if !filter.severity.is_empty() && !SEVERITIES.contains(&filter.severity.as_str()) {
        return Err(ConsoleError::BadRequest(format!(
            "severity must be one of {}, not {:?}",
            SEVERITIES.join(", "),
            filter.severity
        )));
    }

    // LOWER(…) LIKE LOWER(…) matches without case on SQLite and PostgreSQL
    // alike, and the escape clause keeps % and _ in the search literal.
    let pattern = format!(
        "%{}%",
        search
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows = sqlx::query(&format!(
        "SELECT f.vulnerability_id, f.advisory_id, f.package, f.severity, f.host_id, h.name AS host_name
         FROM findings f JOIN hosts h ON h.id = f.host_id
         WHERE f.status NOT IN {NOT_AFFECTED_STATUSES}
           AND (LOWER(f.vulnerability_id) LIKE LOWER($1) ESCAPE '\\'
                OR LOWER(f.advisory_id) LIKE LOWER($1) ESCAPE '\\'
                OR LOWER(f.package) LIKE LOWER($1) ESCAPE '\\')
           AND ($2 = '' OR f.severity = $2)
         ORDER BY f.vulnerability_id, h.name
         LIMIT $3"
    ))
    .bind(&pattern)
    .bind(&filter.severity)
    .bind(MAX_LIST_ROWS)
    .fetch_all(state.store.pool())
    .await?;
    let truncated = rows.len() as i64 >= MAX_LIST_ROWS;

    let mut grouped: BTreeMap<String, ListedVulnerability> = BTreeMap::new();
    for row in &rows {
        let id = text(row, "vulnerability_id")?.unwrap_or_default();
        let entry = grouped.entry(id).or_default();
        entry
            .advisories
            .insert(text(row, "advisory_id")?.unwrap_or_default());
        entry
            .packages
            .insert(text(row, "package")?.unwrap_or_default());
        let severity = text(row, "severity")?.unwrap_or_default();
        if entry.severity.is_empty() || severity_rank(&severity) < severity_rank(&entry.severity) {
            entry.severity = severity;
        }
        entry.hosts.insert(
            text(row, "host_id")?.unwrap_or_default(),
            text(row, "host_name")?.unwrap_or_default(),
        );
    }
    let mut listed: Vec<(&String, &ListedVulnerability)> = grouped.iter().collect();
    listed.sort_by(|a, b| {
        severity_rank(&a.1.severity)
            .cmp(&severity_rank(&b.1.severity))
            .then_with(|| b.1.hosts.len().cmp(&a.1.hosts.len()))
            .then_with(|| a.0.cmp(b.0))
    });

    let body = html! {
        h1 { "Vulnerabilities" }
        form.filter method="get" action="/console/vulnerabilities" {
            label for="q" { "Search" }
            input #q type="search" name="q" value=(search) placeholder="CVE, advisory or package";
            label for="severity" { "Severity" }
            select #severity name="severity" {
                option value="" selected[filter.severity.is_empty()] { "any" }
                @for severity in SEVERITIES {
                    option value=(severity) selected[filter.severity == severity] { (severity) }
                }
            }
            button type="submit" { "Filter" }
        }
        p { (listed.len()) " vulnerabilities with affected hosts." }
        @if truncated {
            p.error { "Only the first " (MAX_LIST_ROWS) " findings were read; narrow the search to see the rest." }
        }
        table.vulnerabilities {
            thead { tr { th { "Vulnerability" } th { "Advisory" } th { "Severity" } th { "Packages" } th { "Affected hosts" } } }
            tbody {
                @for (id, vulnerability) in &listed {
                    tr {
                        td { a href=(vulnerability_link(id)) { (id) } }
                        td { @for advisory in &vulnerability.advisories { (advisory) " " } }
                        td { (badge(&vulnerability.severity)) }
                        td { @for package in &vulnerability.packages { (package) " " } }
                        td.hosts {
                            @for (host_id, host_name) in &vulnerability.hosts {
                                a href=(host_link(host_id)) { (host_name) } " "
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Vulnerabilities", Some(&session), body))
}

pub async fn vulnerability(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    // The same rows as GET /api/v1/vulnerabilities/{id}, so the two agree.
    let rows = sqlx::query(
        "SELECT f.host_id, h.name AS host_name, h.os, f.vulnerability_id, f.package, f.advisory_id, f.source,
                f.severity, f.installed_version, f.fixed_version, f.vendor_status, f.status, f.status_changed_at
         FROM findings f JOIN hosts h ON h.id = f.host_id
         WHERE f.vulnerability_id = $1 OR f.advisory_id = $1
         ORDER BY h.name, f.host_id, f.package",
    )
    .bind(&id)
    .fetch_all(state.store.pool())
    .await?;
    if rows.is_empty() {
        return Err(ConsoleError::NotFound(format!(
            "no host has a finding for {id}"
        )));
    }

    let mut affected = Vec::new();
    let mut resolved = Vec::new();
    for row in &rows {
        let status = text(row, "status")?.unwrap_or_default();
        if matches!(status.as_str(), "no_longer_present" | "fixed") {
            resolved.push(row);
        } else {
            affected.push(row);
        }
    }
    let body = html! {
        h1 { (id) }
        h2 { "Affected hosts (" (affected.len()) ")" }
        (host_findings_table(&affected)?)
        @if !resolved.is_empty() {
            h2 { "Fixed or no longer present (" (resolved.len()) ")" }
            (host_findings_table(&resolved)?)
        }
    };
    Ok(page(&id, Some(&session), body))
}

fn host_findings_table(rows: &[&AnyRow]) -> Result<Markup, ConsoleError> {
    let mut lines = Vec::new();
    for row in rows {
        let host_id = text(row, "host_id")?.unwrap_or_default();
        let vulnerability = text(row, "vulnerability_id")?.unwrap_or_default();
        let package = text(row, "package")?.unwrap_or_default();
        lines.push(html! {
            tr.affected {
                td { a href=(host_link(&host_id)) { (text(row, "host_name")?.unwrap_or_default()) } }
                td { (optional(text(row, "os")?.as_deref())) }
                td { (package) }
                td { (text(row, "advisory_id")?.unwrap_or_default()) }
                td { (text(row, "installed_version")?.unwrap_or_default()) }
                td { (optional(text(row, "fixed_version")?.as_deref())) }
                td { (badge(&text(row, "severity")?.unwrap_or_default())) }
                td { a href=(finding_link(&host_id, &vulnerability, &package)) { (badge(&text(row, "status")?.unwrap_or_default())) } }
            }
        });
    }
    Ok(html! {
        table {
            thead { tr { th { "Host" } th { "OS" } th { "Package" } th { "Advisory" } th { "Installed" } th { "Fixed in" } th { "Severity" } th { "Status" } } }
            tbody { @for line in &lines { (line) } }
        }
    })
}

pub async fn hosts(
    State(state): State<AppState>,
    session: Session,
) -> Result<Html<String>, ConsoleError> {
    let rows = sqlx::query(&format!(
        "SELECT h.id, h.name, h.os, h.enrolled_at, h.inventory_at,
                (SELECT COUNT(*) FROM findings f WHERE f.host_id = h.id AND f.status IN {OPEN_STATUSES}) AS open_findings
         FROM hosts h ORDER BY h.name, h.id"
    ))
    .fetch_all(state.store.pool())
    .await?;
    let mut lines = Vec::new();
    for row in &rows {
        let id = text(row, "id")?.unwrap_or_default();
        lines.push(html! {
            tr {
                td { a href=(host_link(&id)) { (text(row, "name")?.unwrap_or_default()) } }
                td { (optional(text(row, "os")?.as_deref())) }
                td { (optional(text(row, "enrolled_at")?.as_deref())) }
                td { (optional(text(row, "inventory_at")?.as_deref())) }
                td.number { (row.try_get::<i64, _>("open_findings")?) }
            }
        });
    }
    let body = html! {
        h1 { "Hosts" }
        @if lines.is_empty() {
            p { "No host is enrolled. An admin creates an enrollment token (POST /api/v1/enrollment-tokens) \
                 and each host runs vulnloop agent --server URL --enroll TOKEN." }
        } @else {
            table {
                thead { tr { th { "Host" } th { "OS" } th { "Enrolled" } th { "Last upload" } th.number { "Open findings" } } }
                tbody { @for line in &lines { (line) } }
            }
        }
    };
    Ok(page("Hosts", Some(&session), body))
}

pub async fn host(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    let pool = state.store.pool();
    let host = sqlx::query(
        "SELECT id, name, os, enrolled_at, last_seen_at, inventory_at FROM hosts WHERE id = $1",
    )
    .bind(&id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ConsoleError::NotFound(format!("host {id} not found")))?;
    let findings = sqlx::query(
        "SELECT vulnerability_id, package, advisory_id, severity, installed_version, fixed_version, vendor_status,
                status, last_seen_at
         FROM findings WHERE host_id = $1 ORDER BY package, vulnerability_id",
    )
    .bind(&id)
    .fetch_all(pool)
    .await?;

    let name = text(&host, "name")?.unwrap_or_default();
    let mut lines = Vec::new();
    for row in &findings {
        let vulnerability = text(row, "vulnerability_id")?.unwrap_or_default();
        let package = text(row, "package")?.unwrap_or_default();
        let status = text(row, "status")?.unwrap_or_default();
        lines.push(html! {
            tr {
                td { (package) }
                td { a href=(vulnerability_link(&vulnerability)) { (vulnerability) } }
                td { (badge(&text(row, "severity")?.unwrap_or_default())) }
                td { (text(row, "installed_version")?.unwrap_or_default()) }
                td { (optional(text(row, "fixed_version")?.as_deref())) }
                td { (text(row, "vendor_status")?.unwrap_or_default().replace('_', " ")) }
                td { a href=(finding_link(&id, &vulnerability, &package)) { (badge(&status)) } }
            }
        });
    }
    let body = html! {
        h1 { (name) }
        dl.facts {
            dt { "Host id" } dd { code { (id) } }
            dt { "OS" } dd { (optional(text(&host, "os")?.as_deref())) }
            dt { "Enrolled" } dd { (optional(text(&host, "enrolled_at")?.as_deref())) }
            dt { "Last seen" } dd { (optional(text(&host, "last_seen_at")?.as_deref())) }
            dt { "Last upload" } dd { (optional(text(&host, "inventory_at")?.as_deref())) }
        }
        h2 { "Findings (" (lines.len()) ")" }
        @if lines.is_empty() {
            p { "No findings: the host has not uploaded an inventory, the server has no advisory database, \
                 or nothing matched." }
        } @else {
            table {
                thead { tr { th { "Package" } th { "Vulnerability" } th { "Severity" } th { "Installed" } th { "Fixed in" } th { "Vendor status" } th { "Status" } } }
                tbody { @for line in &lines { (line) } }
            }
        }
    };
    Ok(page(&name, Some(&session), body))
}

pub async fn tasks(
    State(state): State<AppState>,
    session: Session,
) -> Result<Html<String>, ConsoleError> {
    let rows = sqlx::query(
        "SELECT t.id, t.host_id, h.name AS host_name, t.kind, t.state, t.payload_json, t.created_by, t.created_at,
                t.updated_at
         FROM tasks t JOIN hosts h ON h.id = t.host_id
         ORDER BY t.created_at DESC LIMIT 200",
    )
    .fetch_all(state.store.pool())
    .await?;
    let body = html! {
        h1 { "Tasks" }
        p.hint { "The 200 most recent tasks. Agents poll for queued tasks and report their result." }
        @if rows.is_empty() {
            p { "No tasks yet." }
        } @else {
            (task_table(&rows)?)
        }
    };
    Ok(page("Tasks", Some(&session), body))
}

/// Renders task rows that have id, host, kind, state, payload and time columns.
pub fn task_table(rows: &[AnyRow]) -> Result<Markup, ConsoleError> {
    let mut lines = Vec::new();
    for row in rows {
        let host_id = text(row, "host_id")?.unwrap_or_default();
        lines.push(html! {
            tr.task {
                td { code { (text(row, "id")?.unwrap_or_default()) } }
                td { a href=(host_link(&host_id)) { (text(row, "host_name")?.unwrap_or_default()) } }
                td { (text(row, "kind")?.unwrap_or_default()) }
                td { (badge(&text(row, "state")?.unwrap_or_default())) }
                td { code.payload { (text(row, "payload_json")?.unwrap_or_default()) } }
                td { (text(row, "created_by")?.unwrap_or_default()) }
                td { (text(row, "created_at")?.unwrap_or_default()) }
                td { (text(row, "updated_at")?.unwrap_or_default()) }
            }
        });
    }
    Ok(html! {
        table.tasks {
            thead { tr { th { "Task" } th { "Host" } th { "Kind" } th { "State" } th { "Payload" } th { "Created by" } th { "Created" } th { "Updated" } } }
            tbody { @for line in &lines { (line) } }
        }
    })
}

pub async fn settings(
    State(state): State<AppState>,
    session: Session,
) -> Result<Html<String>, ConsoleError> {
    session.require(Role::Admin)?;
    let pool = state.store.pool();
    let users = sqlx::query(
        "SELECT u.name, u.role, u.created_at,
                (SELECT COUNT(*) FROM api_tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL) AS tokens
         FROM users u ORDER BY u.name",
    )
    .fetch_all(pool)
    .await?;
    let enrollment = sqlx::query(
        "SELECT id, created_at, expires_at, max_uses, uses, revoked_at FROM enrollment_tokens ORDER BY created_at DESC LIMIT 100",
    )
    .fetch_all(pool)
    .await?;
    let at = crate::store::now();

    let mut user_lines = Vec::new();
    for row in &users {
        user_lines.push(html! {
            tr {
                td { (text(row, "name")?.unwrap_or_default()) }
                td { (text(row, "role")?.unwrap_or_default()) }
                td { (text(row, "created_at")?.unwrap_or_default()) }
                td.number { (row.try_get::<i64, _>("tokens")?) }
            }
        });
    }
    let mut token_lines = Vec::new();
    for row in &enrollment {
        let expires_at = text(row, "expires_at")?.unwrap_or_default();
        let uses: i64 = row.try_get("uses")?;
        let max_uses: i64 = row.try_get("max_uses")?;
        let state = if text(row, "revoked_at")?.is_some() {
            "revoked"
        } else if expires_at <= at {
            "expired"
        } else if uses >= max_uses {
            "used up"
        } else {
            "usable"
        };
        token_lines.push(html! {
            tr {
                td { code { (text(row, "id")?.unwrap_or_default()) } }
                td { (text(row, "created_at")?.unwrap_or_default()) }
                td { (expires_at) }
                td.number { (uses) " / " (max_uses) }
                td { (state) }
            }
        });
    }
    let body = html! {
        h1 { "Settings" }
        section {
            h2 { "Users" }
            table {
                thead { tr { th { "Name" } th { "Role" } th { "Created" } th.number { "Active API tokens" } } }
                tbody { @for line in &user_lines { (line) } }
            }
            p.hint { "Create a user and its first token with POST /api/v1/users {\"name\": …, \"role\": \"viewer\" | \"operator\" | \"admin\"}." }
        }
        section {
            h2 { "Enrollment tokens" }
            @if token_lines.is_empty() {
                p { "No enrollment tokens." }
            } @else {
                table {
                    thead { tr { th { "Id" } th { "Created" } th { "Expires" } th.number { "Uses" } th { "State" } } }
                    tbody { @for line in &token_lines { (line) } }
                }
            }
            p.hint { "Create one with POST /api/v1/enrollment-tokens {\"expires_in_hours\": 24, \"max_uses\": 1}; \
                      the token is shown once in the response." }
        }
        section {
            h2 { "API routes" }
            p { "The full description is the OpenAPI document at " a href="/api/v1/openapi.json" { "/api/v1/openapi.json" } "." }
            table {
                thead { tr { th { "Method" } th { "Path" } } }
                tbody {
                    @for (method, path) in crate::openapi::ROUTES {
                        tr { td { (method.to_uppercase()) } td { code { (path) } } }
                    }
                }
            }
        }
    };
    Ok(page("Settings", Some(&session), body))
}
