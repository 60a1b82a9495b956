use std::fmt::Write as _;
use std::path::Path;

use anyhow::bail;
use serde::Serialize;
use vulnloop_match::Coverage;
use vulnloop_priority::{Context, PriorityLevel};
use vulnloop_remediate::{AppFixStep, FixPlan, PlanFilter};
use vulnloop_report::{DatabaseInfo, HostInfo, IgnoredEntry};

use crate::cli::{FixArgs, ReportFormat};
use crate::exit::Code;
use crate::output::print_stdout;

use super::{apply, pipeline, rollback, scan, state};

const DRY_RUN_NOTE: &str =
    "dry run: nothing is installed; `vulnloop fix --apply` runs each command as shown, without a shell";

/// The JSON document of `vulnloop fix --format json`, described in `docs/fix-plan.md`.
#[derive(Debug, Serialize)]
struct FixPlanDocument<'a> {
    schema_version: u32,
    /// `vulnloop <version>`.
    tool: String,
    /// Always `true`: the JSON plan is printed only by a dry run, never with `--apply`.
    dry_run: bool,
    host: HostInfo,
    database: &'a DatabaseInfo,
    coverage: &'a Coverage,
    filter: FilterEcho,
    plan: &'a FixPlan,
    /// Findings left out of the plan by ignore rules.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    ignored: &'a [IgnoredEntry],
    /// Steps for web applications and libraries, which `--apply` does not run.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    applications: &'a [AppFixStep],
}

/// The filters as the user gave them, so a plan can be read on its own.
#[derive(Debug, Serialize)]
struct FilterEcho {
    priorities: Vec<PriorityLevel>,
    ids: Vec<String>,
    packages: Vec<String>,
}

/// `vulnloop fix`: collect → match → rank → plan, printed as a dry run or
/// applied with `--apply`; or `--rollback` of an applied run.
///
/// A dry run exits 0 with a complete plan and 2 when coverage is incomplete,
/// because a plan for partly matched packages may miss upgrades. `--apply`
/// and `--rollback` exit as [`apply::run`] and [`rollback::run`] describe.
pub fn run(args: &FixArgs, db_path: &Path, state_path: &Path) -> anyhow::Result<Code> {
    if args.rollback {
        return rollback::run(args, state_path);
    }
    let filter = PlanFilter {
        priorities: scan::priorities(&args.priority)?,
        ids: names(&args.cves, "--cve")?,
        packages: names(&args.packages, "--package")?,
    };
    let importance = scan::asset_importance(&args.asset_importance)?;
    let analysis = pipeline::analyze(
        &args.source,
        args.inventory.as_deref(),
        db_path,
        args.max_db_age,
    )?;

    let today = chrono::Utc::now().date_naive();
    let mut state = state::open(state_path);
    let ignores = state::Ignores::load(state.as_ref(), args.ignore_file.as_deref(), today)?;
    let (findings, ignored) = ignores.split(
        analysis.matched.findings.clone(),
        &state::target_of(&analysis.inventory),
    );
    let ignored: Vec<IgnoredEntry> = ignored.iter().map(scan::ignored_entry).collect();

    let context = Context {
        inventory: &analysis.inventory,
        facts: &analysis.facts,
        importance,
        today,
    };
    let plan = vulnloop_remediate::plan(&findings, &context, &filter)?;
    let app_steps = app_steps(&analysis.applications, &filter);
    let mut coverage = analysis.matched.coverage.clone();
    for note in &analysis.applications.notes {
        coverage.complete &= !note.incomplete;
        coverage.notes.push(note.clone());
    }
    let coverage = &coverage;
    let host = vulnloop_report::host_info(&analysis.inventory);
    if args.apply {
        if !app_steps.is_empty() {
            let message = format!(
                "fix --apply does not run the {} web application steps (wp, composer, npm or a manual deploy): \
                 a site update touches its database and files in ways only its owner can judge",
                app_steps.len()
            );
            if plan.managers.is_empty() {
                bail!("{message}; run the commands that `vulnloop fix` prints yourself, then check with `vulnloop scan`");
            }
            eprintln!("warning: {message}; run them from `vulnloop fix` yourself after this run");
        }
        if !coverage.complete {
            eprintln!("warning: coverage is incomplete, so the plan may miss upgrades; see coverage below the plan");
        }
        let mode = "apply: each command below runs as shown, without a shell, after the checks before each step";
        let text = render(
            &host,
            &analysis.database_info,
            coverage,
            &plan,
            &ignored,
            mode,
        );
        return apply::run(args, &plan, &analysis.inventory, &text, state.as_mut());
    }
    let text = match args.format {
        ReportFormat::Table => {
            let mut text = render(
                &host,
                &analysis.database_info,
                coverage,
                &plan,
                &ignored,
                DRY_RUN_NOTE,
            );
            text.push_str(&render_app_steps(&app_steps));
            text
        }
        ReportFormat::Json => {
            let document = FixPlanDocument {
                schema_version: vulnloop_remediate::SCHEMA_VERSION,
                tool: format!("vulnloop {}", env!("CARGO_PKG_VERSION")),
                dry_run: true,
                host,
                database: &analysis.database_info,
                coverage,
                filter: FilterEcho {
                    priorities: filter.priorities.clone(),
                    ids: filter.ids.clone(),
                    packages: filter.packages.clone(),
                },
                plan: &plan,
                ignored: &ignored,
                applications: &app_steps,
            };
            serde_json::to_string_pretty(&document)? + "\n"
        }
    };
    print_stdout(&text)?;
    Ok(if coverage.complete {
        Code::Clean
    } else {
        Code::Failure
    })
}

/// Returns the web application steps that `--cve` and `--package` keep.
/// `--priority` does not apply: application findings are not ranked.
fn app_steps(matched: &vulnloop_match::AppMatchReport, filter: &PlanFilter) -> Vec<AppFixStep> {
    vulnloop_remediate::app_steps(&matched.findings)
        .into_iter()
        .filter(|step| {
            filter.ids.is_empty()
                || step.closes.iter().any(|id| {
                    filter
                        .ids
                        .iter()
                        .any(|wanted| wanted.eq_ignore_ascii_case(id))
                })
        })
        .filter(|step| filter.packages.is_empty() || filter.packages.contains(&step.name))
        .collect()
}

/// Renders the web application steps, which a person runs.
fn render_app_steps(steps: &[AppFixStep]) -> String {
    let mut out = String::new();
    if steps.is_empty() {
        return out;
    }
    let _ = writeln!(out, "web applications (run these yourself, since `vulnloop fix --apply` does not; then check with `vulnloop scan`):");
    for step in steps {
        let _ = writeln!(
            out,
            "  {} {} at {}: {} ({})",
            step.name,
            step.installed_version,
            step.path,
            step.instruction,
            step.closes.join(", ")
        );
        if !step.command.is_empty() {
            let _ = writeln!(out, "    {}", step.command.join(" "));
        }
    }
    out
}

/// Trims the values of a list option and rejects empty ones.
fn names(values: &[String], option: &str) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for value in values {
        let value = value.trim();
        if value.is_empty() {
            bail!("invalid empty value in {option}; give a comma-separated list without empty entries");
        }
        names.push(value.to_string());
    }
    Ok(names)
}

/// Renders the plan as a table; `mode` is the line that states whether anything runs.
fn render(
    host: &HostInfo,
    database: &DatabaseInfo,
    coverage: &Coverage,
    plan: &FixPlan,
    ignored: &[IgnoredEntry],
    mode: &str,
) -> String {
    let mut out = String::new();
    let name = host
        .hostname
        .as_deref()
        .or(host.root.as_deref())
        .unwrap_or("host");
    let os = host.os_pretty_name.as_deref().unwrap_or(&host.os);
    let kernel = host
        .kernel
        .as_deref()
        .map(|k| format!(", kernel {k}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "fix plan for {name}: {os}, {} packages{kernel}",
        host.packages
    );
    let _ = writeln!(
        out,
        "database: {} (built {}; {})",
        database.path,
        database.built_at,
        database.sources.join(", ")
    );
    let _ = writeln!(out, "{mode}");
    out.push('\n');
    out.push_str(&vulnloop_remediate::render_table(plan));
    if !coverage.notes.is_empty() {
        let _ = writeln!(out, "coverage:");
        for note in &coverage.notes {
            let mark = if note.incomplete {
                "incomplete"
            } else {
                "note"
            };
            let _ = writeln!(out, "  {mark}: {}", note.message);
        }
    }
    if !ignored.is_empty() {
        let _ = writeln!(out, "not planned, ignored by rules:");
        for entry in ignored {
            let _ = writeln!(
                out,
                "  {} in {}: {} ({})",
                entry.id, entry.package, entry.reason, entry.rule
            );
        }
    }
    if !coverage.complete {
        let _ = writeln!(out, "the plan is incomplete: see coverage");
    }
    out
}
