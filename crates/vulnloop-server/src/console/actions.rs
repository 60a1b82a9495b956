//! The fix, verify and ignore buttons of the finding page and their POST
//! handlers. Fix and verify start tasks through [`crate::tasks::create`].
//! Ignore creates a rule through [`crate::rules::create`]. So the console
//! applies the same checks as the API.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::error::ConsoleError;
use super::finding::FindingKey;
use super::layout::{csrf_field, finding_link};
use super::session::Session;
use crate::auth::{Principal, Role};
use crate::tasks::{FindingRef, NewTask, TaskKind};
use crate::AppState;

/// Statuses in which a fix may start; the task API rejects the others.
const FIXABLE: [&str; 2] = ["unfixed", "fix_failed"];
/// Statuses that an ignore rule changes to `ignored`.
const IGNORABLE: [&str; 2] = ["unfixed", "fix_failed"];
/// Statuses in which a verify would only conflict with a running task or
/// check a package that is gone.
const NOT_VERIFIABLE: [&str; 3] = ["fixing", "verifying", "no_longer_present"];

/// Renders the actions that `session` may take on a finding in `status`.
/// `fixable` is true when an upgrade fixes the finding.
pub fn buttons(session: &Session, key: &FindingKey, status: &str, fixable: bool) -> Markup {
    let hidden = html! {
        (csrf_field(session))
        input type="hidden" name="host" value=(key.host);
        input type="hidden" name="vulnerability" value=(key.vulnerability);
        input type="hidden" name="package" value=(key.package);
    };
    html! {
        section.actions {
            h2 { "Actions" }
            @if session.role < Role::Operator {
                p { "Your role (" (session.role.as_str()) ") reads findings; an operator or admin fixes, verifies and ignores them." }
            } @else {
                @if fixable && FIXABLE.contains(&status) {
                    form.action method="post" action="/console/finding/fix" {
                        (hidden)
                        button.fix type="submit" { "Fix" }
                        span.hint { "Queues a fix task; the host's agent runs the upgrade if its local policy allows fixes." }
                    }
                }
                @if !NOT_VERIFIABLE.contains(&status) {
                    form.action method="post" action="/console/finding/verify" {
                        (hidden)
                        button.verify.secondary type="submit" { "Verify" }
                        span.hint { "Queues a verify task: the agent uploads its inventory and the server checks the finding." }
                    }
                }
                @if IGNORABLE.contains(&status) {
                    form.action.ignore method="post" action="/console/finding/ignore" {
                        (hidden)
                        label for="reason" { "Reason" }
                        input #reason type="text" name="reason" required maxlength="2000" placeholder="why this finding is accepted";
                        label for="scope" { "Scope" }
                        select #scope name="scope" {
                            option value="host" selected { "this host" }
                            option value="all" { "all hosts" }
                        }
                        label for="expires" { "Expires" }
                        input #expires type="date" name="expires";
                        button.ignore.secondary type="submit" { "Ignore" }
                    }
                }
                @if !(fixable && FIXABLE.contains(&status)) && NOT_VERIFIABLE.contains(&status) && !IGNORABLE.contains(&status) {
                    p { "No action applies to a finding that is " (status.replace('_', " ")) "." }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    host: String,
    vulnerability: String,
    package: String,
}

pub async fn fix(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<ActionForm>,
) -> Result<Response, ConsoleError> {
    start_task(&state, &session, form, TaskKind::Fix).await
}

pub async fn verify(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<ActionForm>,
) -> Result<Response, ConsoleError> {
    start_task(&state, &session, form, TaskKind::Verify).await
}

async fn start_task(
    state: &AppState,
    session: &Session,
    form: ActionForm,
    kind: TaskKind,
) -> Result<Response, ConsoleError> {
    session.check_csrf(&form.csrf)?;
    session.require(Role::Operator)?;
    let request = NewTask {
        host_id: form.host.clone(),
        kind,
        findings: vec![FindingRef {
            vulnerability_id: form.vulnerability.clone(),
            package: form.package.clone(),
        }],
    };
    let task = crate::tasks::create(state, &principal(session), request).await?;
    tracing::info!(task = %task.id, host = %form.host, kind = kind.as_str(), "console started a task");
    Ok(Redirect::to(&finding_link(
        &form.host,
        &form.vulnerability,
        &form.package,
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct IgnoreForm {
    #[serde(default)]
    csrf: String,
    host: String,
    vulnerability: String,
    package: String,
    #[serde(default)]
    reason: String,
    /// `host` for this host only, `all` for every host.
    #[serde(default)]
    scope: String,
    /// Day (`YYYY-MM-DD`, UTC) from whose start the rule no longer applies; empty for no expiry.
    #[serde(default)]
    expires: String,
}

pub async fn ignore(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<IgnoreForm>,
) -> Result<Response, ConsoleError> {
    session.check_csrf(&form.csrf)?;
    session.require(Role::Operator)?;
    let host_id = match form.scope.as_str() {
        "host" => Some(form.host.clone()),
        "all" => None,
        other => {
            return Err(ConsoleError::BadRequest(format!(
                "scope must be host or all, not {other:?}"
            )))
        }
    };
    let expires_at = match form.expires.trim() {
        "" => None,
        day => {
            let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|error| {
                ConsoleError::BadRequest(format!(
                    "expires {day:?} is not a date (YYYY-MM-DD): {error}"
                ))
            })?;
            Some(format!("{date}T00:00:00Z"))
        }
    };
    let request = crate::rules::NewIgnoreRule {
        vulnerability_id: form.vulnerability.clone(),
        package: Some(form.package.clone()),
        host_id,
        host_group: None,
        reason: form.reason,
        expires_at,
    };
    crate::rules::create(&state.store, &principal(&session).actor(), request).await?;
    Ok(Redirect::to(&finding_link(
        &form.host,
        &form.vulnerability,
        &form.package,
    ))
    .into_response())
}

fn principal(session: &Session) -> Principal {
    Principal::User {
        id: session.user_id.clone(),
        role: session.role,
    }
}
