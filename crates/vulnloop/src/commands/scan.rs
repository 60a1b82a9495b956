use std::path::Path;

use anyhow::{bail, Context as _};
use vulnloop_advisory::Severity;
use vulnloop_db::Database;
use vulnloop_inventory::Inventory;
use vulnloop_match::CoverageNote;
use vulnloop_priority::{AssetImportance, Context, PriorityLevel};
use vulnloop_report::{DatabaseInfo, Filter, ScanReport};

use crate::cli::{ReportFormat, ScanArgs};
use crate::exit::Code;
use crate::output::print_stdout;

/// `vulnloop scan`: collect → match → report, and the exit code.
pub fn run(args: &ScanArgs, db_path: &Path) -> anyhow::Result<Code> {
    let filter = filter(args)?;
    super::auto_update::refresh_if_due(&args.auto_update, db_path);
    let database = Database::open(db_path)?;
    let inventory = match &args.inventory {
        Some(path) => Inventory::read_json(path)?,
        None => super::collect(&args.source)?,
    };

    let mut matched = vulnloop_match::match_inventory(&inventory, &database)
        .with_context(|| format!("failed to match against {}", db_path.display()))?;
    let database_info = database_info(&database)?;
    let refreshed_at = database.metadata()?.refreshed_at();
    let notes = staleness(refreshed_at, args.max_db_age, db_path).into_iter().chain(failed_feed_notes(&database)?);
    for note in notes {
        matched.coverage.complete &= !note.incomplete;
        matched.coverage.notes.push(note);
    }

    let mut cves: Vec<&str> = matched.findings.iter().flat_map(|f| f.cves.iter().map(String::as_str)).collect();
    cves.sort_unstable();
    cves.dedup();
    let facts = database.cve_facts(&cves)?;
    let context = Context {
        inventory: &inventory,
        facts: &facts,
        importance: asset_importance(&args.asset_importance)?,
        today: chrono::Utc::now().date_naive(),
    };
    let report = ScanReport::new(matched, database_info, &context, &filter);
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
    let mut priorities = Vec::new();
    for name in &args.priority {
        match PriorityLevel::parse(name) {
            Some(level) => priorities.push(level),
            None => bail!("invalid priority {name:?} in --priority; use fix-now, fix-later or no-need-to-fix"),
        }
    }
    Ok(Filter { severities, ignore_unfixed: args.ignore_unfixed, priorities, kev_only: args.kev })
}

fn asset_importance(text: &str) -> anyhow::Result<AssetImportance> {
    AssetImportance::parse(text)
        .with_context(|| format!("invalid asset importance {text:?} in --asset-importance; use low, normal or high"))
}

fn database_info(database: &Database) -> anyhow::Result<DatabaseInfo> {
    let metadata = database.metadata()?;
    let sources = database
        .sources()?
        .into_iter()
        .map(|s| match s.snapshot {
            Some(snapshot) => format!("{} ({})", s.name, snapshot.get(..10).unwrap_or(&snapshot)),
            None => s.name,
        })
        .collect();
    Ok(DatabaseInfo { path: database.path().display().to_string(), built_at: metadata.built_at, sources })
}

/// Returns one coverage note per feed file that failed in the last update.
///
/// A file whose earlier records were carried over leaves the results complete
/// but older for that feed. A file with nothing carried over leaves a gap.
fn failed_feed_notes(database: &Database) -> anyhow::Result<Vec<CoverageNote>> {
    let notes = database
        .failed_files()?
        .into_iter()
        .map(|failed| match failed.carried_over {
            0 => CoverageNote {
                incomplete: true,
                message: format!(
                    "feed file {} ({}) failed in the last database update and its records are missing; \
                     fix the file and run `vulnloop db update` again",
                    failed.file, failed.source
                ),
            },
            records => CoverageNote {
                incomplete: false,
                message: format!(
                    "feed file {} ({}) failed in the last database update; its {records} records are \
                     from the database before that update",
                    failed.file, failed.source
                ),
            },
        })
        .collect();
    Ok(notes)
}

/// Returns a coverage note when the database was last refreshed (built, or
/// checked unchanged by `db update`) more than `max_days` ago (0 disables the check).
fn staleness(refreshed_at: Option<chrono::DateTime<chrono::Utc>>, max_days: u32, db_path: &Path) -> Option<CoverageNote> {
    if max_days == 0 {
        return None;
    }
    let age = chrono::Utc::now().signed_duration_since(refreshed_at?);
    (age.num_days() > i64::from(max_days)).then(|| CoverageNote {
        incomplete: true,
        message: format!(
            "the advisory database is {} days {} hours old (limit {max_days} days); refresh it with \
             `vulnloop db update --db {}` (add --from DIR|URL where the official feeds are out of reach)",
            age.num_days(),
            age.num_hours() % 24,
            db_path.display()
        ),
    })
}
