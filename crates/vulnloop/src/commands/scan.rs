use std::path::Path;

use anyhow::{bail, Context as _};
use vulnloop_advisory::Severity;
use vulnloop_match::Finding;
use vulnloop_priority::{AssetImportance, Context, PriorityLevel};
use vulnloop_report::{Filter, HistoryInfo, IgnoredEntry, ScanReport};
use vulnloop_state::{ScanFinding, ScanInput, StateDb};

use crate::cli::{ReportFormat, ScanArgs};
use crate::exit::Code;
use crate::output::print_stdout;

use super::{pipeline, state};

/// `vulnloop scan`: collect → match → ignore rules → record in the history
/// → report, and the exit code.
pub fn run(args: &ScanArgs, db_path: &Path, state_path: &Path) -> anyhow::Result<Code> {
    if !args.targets.is_empty() || args.ssh.targets_file.is_some() {
        return super::scan_ssh::run(args, db_path, state_path);
    }
    let settings = ReportSettings::from_args(args)?;
    super::auto_update::refresh_if_due(&args.auto_update, db_path);
    let analysis = pipeline::analyze(
        &args.source,
        args.inventory.as_deref(),
        db_path,
        args.max_db_age,
    )?;

    let mut state = state::open(state_path);
    let ignores =
        state::Ignores::load(state.as_ref(), args.ignore_file.as_deref(), settings.today)?;
    let report = build_report(analysis, &settings, &ignores, state.as_mut());
    let text = match args.format {
        ReportFormat::Table => vulnloop_report::render_table(&report),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    print_stdout(&text)?;
    Ok(exit_code(&report, args.exit_code))
}

/// The filters and ranking inputs of one `scan` run, shared by every host it scans.
pub(super) struct ReportSettings {
    filter: Filter,
    importance: AssetImportance,
    pub(super) today: chrono::NaiveDate,
}

impl ReportSettings {
    /// Validates the filter and ranking options of `args`.
    pub(super) fn from_args(args: &ScanArgs) -> anyhow::Result<Self> {
        Ok(Self {
            filter: filter(args)?,
            importance: asset_importance(&args.asset_importance)?,
            today: chrono::Utc::now().date_naive(),
        })
    }
}

/// Applies the ignore rules to an analysis, records it in the history and builds its report.
pub(super) fn build_report(
    mut analysis: pipeline::Analysis,
    settings: &ReportSettings,
    ignores: &state::Ignores,
    state: Option<&mut StateDb>,
) -> ScanReport {
    let target = state::target_of(&analysis.inventory);
    let (shown, ignored) = ignores.split(std::mem::take(&mut analysis.matched.findings), &target);
    analysis.matched.findings = shown;

    let context = Context {
        inventory: &analysis.inventory,
        facts: &analysis.facts,
        importance: settings.importance,
        today: settings.today,
    };
    let history = state.and_then(|state| record(state, &target, &analysis, &ignored, &context));
    let database_info = analysis.database_info;
    let mut report = ScanReport::new(analysis.matched, database_info, &context, &settings.filter);
    report.add_applications(analysis.applications, &settings.filter);
    report.set_ignored(ignored.iter().map(ignored_entry).collect());
    report.history = history;
    report
}

/// Returns the exit code of one report: 2 for incomplete coverage, else
/// `findings_code` when findings are shown and it is not 0, else 0.
pub(super) fn exit_code(report: &ScanReport, findings_code: u8) -> Code {
    if !report.coverage.complete {
        Code::Failure
    } else if report.has_findings() && findings_code != 0 {
        Code::Findings(findings_code)
    } else {
        Code::Clean
    }
}

/// Records the scan in the finding history. Returns `None`, after a
/// warning, when the history cannot be written.
fn record(
    state: &mut StateDb,
    target: &str,
    analysis: &pipeline::Analysis,
    ignored: &[state::IgnoredFinding],
    context: &Context<'_>,
) -> Option<HistoryInfo> {
    let entry = |finding: &Finding, ignored_by: Option<String>| {
        let assessment = vulnloop_priority::assess(finding, context);
        ScanFinding {
            key: state::key_of(finding),
            installed_version: finding.installed_version.clone(),
            fixed_version: finding.fixed_version().map(String::from),
            severity: assessment.effective_severity.as_str().to_string(),
            priority: Some(assessment.priority.level.as_str().to_string()),
            ignored_by,
        }
    };
    let mut findings: Vec<ScanFinding> = analysis
        .matched
        .findings
        .iter()
        .map(|f| entry(f, None))
        .collect();
    findings.extend(
        ignored
            .iter()
            .map(|i| entry(&i.finding, Some(i.rule.reason.clone()))),
    );
    let host = vulnloop_report::host_info(&analysis.inventory);
    let input = ScanInput {
        target: target.to_string(),
        scanned_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        os: host.os,
        database_built_at: Some(analysis.database_info.built_at.clone()),
        complete: analysis.matched.coverage.complete,
        findings,
    };
    match state.record_scan(&input) {
        Ok(recorded) => Some(HistoryInfo {
            scan: recorded.scan,
            target: target.to_string(),
            new: recorded.new,
            resolved: recorded.resolved,
        }),
        Err(error) => {
            eprintln!("warning: the scan is not recorded in the finding history: {error}");
            None
        }
    }
}

pub(super) fn ignored_entry(ignored: &state::IgnoredFinding) -> IgnoredEntry {
    IgnoredEntry {
        id: ignored.finding.id.clone(),
        advisory_id: ignored.finding.advisory_id.clone(),
        package: ignored.finding.package.clone(),
        installed_version: ignored.finding.installed_version.clone(),
        reason: ignored.rule.reason.clone(),
        expires: ignored.rule.expires.map(|d| d.to_string()),
        rule: state::describe_source(&ignored.rule.source),
    }
}

fn filter(args: &ScanArgs) -> anyhow::Result<Filter> {
    let mut severities = Vec::new();
    for name in &args.severity {
        let name = name.trim().to_ascii_lowercase();
        match Severity::parse(&name) {
            Some(severity) => severities.push(severity),
            None => bail!(
                "invalid severity {name:?} in --severity; use critical, high, medium, low, negligible or unknown"
            ),
        }
    }
    let priorities = priorities(&args.priority)?;
    Ok(Filter {
        severities,
        ignore_unfixed: args.ignore_unfixed,
        priorities,
        kev_only: args.kev,
    })
}

/// Parses the names given to `--priority`.
pub(super) fn priorities(names: &[String]) -> anyhow::Result<Vec<PriorityLevel>> {
    let mut priorities = Vec::new();
    for name in names {
        match PriorityLevel::parse(name) {
            Some(level) => priorities.push(level),
            None => bail!(
                "invalid priority {name:?} in --priority; use fix-now, fix-later or no-need-to-fix"
            ),
        }
    }
    Ok(priorities)
}

pub(super) fn asset_importance(text: &str) -> anyhow::Result<AssetImportance> {
    AssetImportance::parse(text).with_context(|| {
        format!("invalid asset importance {text:?} in --asset-importance; use low, normal or high")
    })
}
