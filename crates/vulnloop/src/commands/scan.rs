use std::path::Path;

use anyhow::{bail, Context as _};
use vulnloop_advisory::Severity;
use vulnloop_priority::{AssetImportance, Context, PriorityLevel};
use vulnloop_report::{Filter, ScanReport};

use crate::cli::{ReportFormat, ScanArgs};
use crate::exit::Code;
use crate::output::print_stdout;

use super::pipeline;

/// `vulnloop scan`: collect → match → report, and the exit code.
pub fn run(args: &ScanArgs, db_path: &Path) -> anyhow::Result<Code> {
    let filter = filter(args)?;
    super::auto_update::refresh_if_due(&args.auto_update, db_path);
    let analysis = pipeline::analyze(&args.source, args.inventory.as_deref(), db_path, args.max_db_age)?;

    let context = Context {
        inventory: &analysis.inventory,
        facts: &analysis.facts,
        importance: asset_importance(&args.asset_importance)?,
        today: chrono::Utc::now().date_naive(),
    };
    let mut report = ScanReport::new(analysis.matched, analysis.database_info, &context, &filter);
    report.add_applications(analysis.applications, &filter);
    let text = match args.format {
        ReportFormat::Table => vulnloop_report::render_table(&report),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    print_stdout(&text)?;

    Ok(if !report.coverage.complete {
        Code::Failure
    } else if report.has_findings() && args.exit_code != 0 {
        Code::Findings(args.exit_code)
    } else {
        Code::Clean
    })
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
    Ok(Filter { severities, ignore_unfixed: args.ignore_unfixed, priorities, kev_only: args.kev })
}

/// Parses the names given to `--priority`.
pub(super) fn priorities(names: &[String]) -> anyhow::Result<Vec<PriorityLevel>> {
    let mut priorities = Vec::new();
    for name in names {
        match PriorityLevel::parse(name) {
            Some(level) => priorities.push(level),
            None => bail!("invalid priority {name:?} in --priority; use fix-now, fix-later or no-need-to-fix"),
        }
    }
    Ok(priorities)
}

pub(super) fn asset_importance(text: &str) -> anyhow::Result<AssetImportance> {
    AssetImportance::parse(text)
        .with_context(|| format!("invalid asset importance {text:?} in --asset-importance; use low, normal or high"))
}
